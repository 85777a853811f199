/**
 * The failover invariants, checked on what the components really register in each phase: the changes
 * from one phase to the next are the engine's actions (one per created, updated, replaced or deleted
 * resource); the engine may apply them in any order (they are independent resources on two clusters),
 * and the actions on a site that cannot be reached are never applied. After every prefix of every
 * order, a model of the operators (CloudNativePG here) says which copies are writable.
 *
 * CloudNativePG semantics used (docs/src/replica_cluster.md, "Distributed topology"; docs/src/fencing.md;
 * webhook internal/webhook/v1/cluster_webhook.go, v1.27):
 * - a Cluster is primary when `spec.replica.primary` names itself; one that names the other demotes;
 * - promotion without a `promotionToken` is immediate (a failover); with one, the cluster waits until it
 *   has replayed up to the token, which exists only once the other cluster has demoted;
 * - `cnpg.io/fencedInstances: ["*"]` stops every instance: a fenced cluster writes nothing;
 * - a Cluster created as a replica must bootstrap by `pg_basebackup` or `recovery`, and a promotion token
 *   is only allowed on a cluster that names itself primary.
 *
 * Redis semantics used (redis.io "Redis replication"; components/redis-primary.ts): a site's Redis is a
 * writable primary when the configuration in its StatefulSet's pod template has no `replicaof`, the
 * StatefulSet has replicas > 0, and the site is up. A replica that (re)connects to a primary does a full
 * resync and discards its own data, so a returning site whose Redis has once run as a replica is
 * re-cloned; before that it must not be a writable primary.
 *
 * The checks are per dataset (the `waris.io/dataset` label): at most one writable primary of each.
 */
import type { RecordedResource } from "../plan/mock-runtime";
import { PLANNING_PROMOTION_TOKEN, procedurePhases, type FailoverProcedure, type FailoverSituation, type SiteCondition } from "../components/failover";
import { redisConfIsPrimary } from "../components/redis-primary";

/** One resource as a phase registers it. */
export interface PhaseResource {
  readonly key: string;
  readonly type: string;
  readonly site: string | undefined;
  /** The provider (mock URN): a resource whose provider changes is deleted on one cluster and made on another. */
  readonly provider?: string | undefined;
  readonly inputs: Record<string, unknown>;
  /** `retainOnDelete` (or `protect`): dropping it from the program leaves the object, and its data, in place. */
  readonly retained?: boolean;
}

/** One phase: its situation and what it registers. */
export interface Phase {
  readonly label: string;
  readonly situation: FailoverSituation;
  readonly resources: ReadonlyMap<string, PhaseResource>;
  /** What the phase declares it discards (a rebuild): `<site>` of each data-bearing resource it may delete. */
  readonly discards?: readonly string[];
}

/** An engine action: bring one resource from its state in one phase to its state in the next. */
export interface Action {
  readonly key: string;
  readonly site: string | undefined;
  readonly kind: "create" | "update" | "replace" | "delete";
  readonly before?: PhaseResource;
  readonly after?: PhaseResource;
}

/** Types whose deletion destroys data (the database's own objects and what holds its volumes). */
export const DATA_BEARING_TYPES = new Set([
  "kubernetes:postgresql.cnpg.io/v1:Cluster",
  "kubernetes:core/v1:PersistentVolumeClaim",
  "kubernetes:core/v1:Namespace",
  "kubernetes:apps/v1:StatefulSet",
  "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB",
  "kubernetes:milvus.io/v1beta1:Milvus",
  "aws:s3/bucket:Bucket",
]);

const CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster";
const STATEFULSET = "kubernetes:apps/v1:StatefulSet";

const labelOf = (r: PhaseResource, key: string): string | undefined => ((r.inputs["metadata"] as { labels?: Record<string, string> } | undefined)?.labels ?? {})[key];

/** The registered resources of a run, keyed by URN (the engine's identity of a resource). */
export function phaseResources(resources: readonly RecordedResource[]): Map<string, PhaseResource> {
  return new Map(
    resources
      .filter((r) => r.custom)
      .map((r) => {
        const labels = ((r.inputs["metadata"] as { labels?: Record<string, string> } | undefined)?.labels ?? {}) as Record<string, string>;
        return [r.urn, { key: r.urn, type: r.type, site: labels["waris.io/site"], provider: r.provider, inputs: r.inputs, retained: r.retainOnDelete || r.protect }];
      }),
  );
}

const metaName = (r: PhaseResource | undefined): string | undefined => (r?.inputs["metadata"] as { name?: string } | undefined)?.name;
const metaNamespace = (r: PhaseResource | undefined): string | undefined => (r?.inputs["metadata"] as { namespace?: string } | undefined)?.namespace;

/**
 * The engine's actions between two phases (a changed name or namespace is a replacement, as the
 * Kubernetes provider does it). A changed provider is a replacement across clusters: a create on the new
 * site and a delete on the old one, each needing its site.
 */
export function actionsBetween(from: Phase, to: Phase): Action[] {
  const actions: Action[] = [];
  for (const [key, after] of to.resources) {
    const before = from.resources.get(key);
    if (!before) actions.push({ key, site: after.site, kind: "create", after });
    else if (before.provider !== after.provider) {
      actions.push({ key: `${key} (new provider)`, site: after.site, kind: "create", after });
      actions.push({ key: `${key} (old provider)`, site: before.site, kind: "delete", before });
    }
    else if (JSON.stringify(before.inputs) !== JSON.stringify(after.inputs)) {
      const replaced = metaName(before) !== metaName(after) || metaNamespace(before) !== metaNamespace(after);
      actions.push({ key, site: after.site ?? before.site, kind: replaced ? "replace" : "update", before, after });
    }
  }
  for (const [key, before] of from.resources) if (!to.resources.has(key)) actions.push({ key, site: before.site, kind: "delete", before });
  return actions;
}

/** A copy of a dataset as applied on a site: a PostgreSQL Cluster or a Redis StatefulSet. */
interface ClusterState {
  readonly dataset: string;
  readonly kind: "postgres" | "redis";
  readonly name: string;
  readonly claimsPrimary: boolean;
  readonly token: boolean;
  readonly fenced: boolean;
  readonly bootstrap: string;
  readonly generationName: string;
}

function clusterState(r: PhaseResource): ClusterState {
  const spec = r.inputs["spec"] as { replica?: { self: string; primary: string; promotionToken?: string }; bootstrap?: Record<string, unknown> };
  const annotations = (r.inputs["metadata"] as { annotations?: Record<string, string> }).annotations ?? {};
  const fenced = JSON.parse(annotations["cnpg.io/fencedInstances"] ?? "[]") as string[];
  return {
    dataset: labelOf(r, "waris.io/dataset") ?? metaName(r)!,
    kind: "postgres",
    name: metaName(r)!,
    claimsPrimary: !spec.replica || spec.replica.primary === spec.replica.self,
    token: spec.replica?.promotionToken !== undefined,
    fenced: fenced.includes("*"),
    bootstrap: Object.keys(spec.bootstrap ?? {})[0] ?? "none",
    generationName: metaName(r)!,
  };
}

/** A Redis StatefulSet as applied: primary when its configuration has no replicaof; fenced when scaled to 0. */
function redisState(r: PhaseResource): ClusterState {
  const spec = r.inputs["spec"] as { replicas?: number; template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } } };
  const conf = spec.template.spec.containers.find((c) => c.name === "redis")?.env?.find((e) => e.name === "REDIS_CONF")?.value ?? "";
  return { dataset: labelOf(r, "waris.io/dataset") ?? metaName(r)!, kind: "redis", name: metaName(r)!, claimsPrimary: redisConfIsPrimary(conf), token: false, fenced: (spec.replicas ?? 1) === 0, bootstrap: "replicaof", generationName: metaName(r)! };
}

/** The copy of a dataset a resource is, if it is one (a PostgreSQL Cluster, a Redis StatefulSet). */
function copyState(r: PhaseResource): ClusterState | undefined {
  if (r.type === CLUSTER) return clusterState(r);
  if (r.type === STATEFULSET && labelOf(r, "waris.io/store") === "redis") return redisState(r);
  return undefined;
}

/** Key of a copy: `<dataset>@<site>`. */
const copyKey = (c: ClusterState, site: string): string => `${c.dataset}@${site}`;
const siteOfKey = (key: string): string => key.slice(key.lastIndexOf("@") + 1);

/**
 * What is really on the sites after a transition: the previous state with the reachable sites' actions
 * applied (an unreachable site keeps what it had, whatever the phase wanted there).
 */
export function appliedAfter(from: Phase, to: Phase): Phase {
  const condition = (site: string | undefined): SiteCondition => (site === undefined ? "up" : (to.situation.conditions?.[site] ?? "up"));
  const resources = new Map(from.resources);
  for (const a of actionsBetween(from, to)) {
    if (condition(a.site) === "lost") continue;
    const key = a.key.replace(/ \((new|old) provider\)$/, "");
    if (a.after) resources.set(key, a.after);
    else if (resources.get(key)?.provider === a.before?.provider) resources.delete(key);
  }
  return { ...to, resources };
}

/** A violated invariant, with the order of actions that shows it. */
export interface Violation {
  readonly invariant: string;
  readonly transition: string;
  readonly order: readonly string[];
  readonly detail: string;
}

/** The sites on which each dataset is writable, given the copies as applied so far (keyed `<dataset>@<site>`). */
function writablePrimaries(clusters: ReadonlyMap<string, ClusterState>, conditions: (site: string) => SiteCondition): Map<string, string[]> {
  const writable = new Map<string, string[]>();
  for (const [key, c] of clusters) {
    const site = siteOfKey(key);
    if (!c.claimsPrimary || c.fenced || conditions(site) !== "up") continue;
    // With a token the promotion waits for the other cluster's demotion (its token exists only then).
    const othersStillPrimary = [...clusters].some(([k, o]) => k !== key && o.dataset === c.dataset && o.claimsPrimary && !o.fenced);
    if (c.token && othersStillPrimary) continue;
    writable.set(c.dataset, [...(writable.get(c.dataset) ?? []), site]);
  }
  return writable;
}

/** Every order of a list (Heap's algorithm); the lists here are a handful of actions long. */
export function* permutations<T>(items: readonly T[]): Generator<T[]> {
  const a = [...items];
  const c = new Array<number>(a.length).fill(0);
  yield [...a];
  let i = 1;
  while (i < a.length) {
    if (c[i]! < i) {
      const j = i % 2 === 0 ? 0 : c[i]!;
      [a[j], a[i]] = [a[i]!, a[j]!];
      yield [...a];
      c[i]!++;
      i = 1;
    } else {
      c[i] = 0;
      i++;
    }
  }
}

/**
 * The history a check needs: the name of each copy (`<dataset>@<site>`) when its site was lost, and the
 * lost Redis copies that have since run as replicas (re-cloned by the full resync).
 */
export interface History {
  readonly lostClusters: Map<string, string>;
  readonly rejoined?: Set<string>;
}

/**
 * Checks one transition over the given orders of its actions.
 *
 * @param orders - the orders to try (every permutation, or a sample of them).
 */
export function checkTransition(from: Phase, to: Phase, orders: Iterable<readonly Action[]>, history: History): Violation[] {
  const violations: Violation[] = [];
  const transition = `${from.label} → ${to.label}`;
  const condition = (site: string): SiteCondition => to.situation.conditions?.[site] ?? "up";
  const reachable = (site: string | undefined): boolean => site === undefined || condition(site) !== "lost";
  const actions = actionsBetween(from, to);

  // A phase run while a site is unreachable needs no change there.
  for (const a of actions) {
    if (!reachable(a.site)) violations.push({ invariant: "no change on an unreachable site", transition, order: [], detail: `${a.kind} ${a.key} on ${a.site}` });
  }
  // No data-bearing resource is deleted or replaced by any phase, the rebuild included: a rebuild makes a
  // new generation and only drops the old one from the program, retained (`retainOnDelete`), so its
  // volumes stay until the runbook's decommission step. A replacement re-creates the same object, so
  // retention does not save it.
  for (const a of actions) {
    const r = (a.before ?? a.after)!;
    if (!DATA_BEARING_TYPES.has(r.type)) continue;
    if (a.kind === "replace" || (a.kind === "delete" && !a.before?.retained)) {
      violations.push({ invariant: "no data-bearing resource deleted or replaced", transition, order: [], detail: `${a.kind} ${a.key}${to.discards?.includes(a.site ?? "") ? " (even in a phase that discards the site's copy: retain it until the decommission step)" : ""}` });
    }
  }

  // What is dropped retained lives on outside the program: a copy must be fenced when it is dropped, so it
  // can never serve again (CloudNativePG fencing; a Redis StatefulSet scaled to 0).
  for (const a of actions) {
    const c = a.kind === "delete" && a.before?.retained ? copyState(a.before) : undefined;
    if (c && !c.fenced) violations.push({ invariant: "a copy dropped from the program is fenced", transition, order: [], detail: `${a.key} (${c.name}) is dropped retained while it can still serve` });
    // CloudNativePG refuses to reconcile a managed service another Cluster owns: what the retained one still
    // holds would stop the new generation's reconciliation.
    const managed = a.kind === "delete" && a.before?.retained && a.before.type === CLUSTER ? ((a.before.inputs["spec"] as { managed?: { services?: { additional?: unknown[] } } }).managed?.services?.additional ?? []) : [];
    if (managed.length > 0) violations.push({ invariant: "a copy dropped from the program is fenced", transition, order: [], detail: `${a.key} is dropped retained while it still owns managed services (the new generation's LoadBalancer name)` });
  }

  const rejoined = history.rejoined ?? new Set<string>();
  const start = new Map<string, ClusterState>();
  for (const r of from.resources.values()) {
    const c = copyState(r);
    if (c && r.site) start.set(copyKey(c, r.site), c);
  }
  for (const order of orders) {
    const clusters = new Map(start);
    const steps: string[] = [];
    const rejoinedNow = new Set(rejoined);
    const check = (): void => {
      for (const [dataset, writers] of writablePrimaries(clusters, condition)) {
        if (writers.length > 1) violations.push({ invariant: "at most one writable primary", transition, order: [...steps], detail: `${dataset} writable on ${writers.join(" and ")}` });
      }
      for (const [key, lostName] of history.lostClusters) {
        const c = clusters.get(key);
        const site = siteOfKey(key);
        if (condition(site) !== "up" || !c || c.fenced) continue;
        if (c.kind === "postgres" && (c.name === lostName || c.bootstrap !== "pg_basebackup")) {
          violations.push({ invariant: "a lost site serves again only fenced or re-cloned", transition, order: [...steps], detail: `${site} runs ${c.name} (${c.bootstrap}) unfenced` });
        }
        if (c.kind === "redis") {
          if (!c.claimsPrimary) rejoinedNow.add(key);
          else if (!rejoinedNow.has(key)) violations.push({ invariant: "a lost site serves again only fenced or re-cloned", transition, order: [...steps], detail: `${site} runs ${c.dataset} as a primary before it was re-cloned as a replica` });
        }
      }
    };
    check();
    for (const a of order.filter((x) => reachable(x.site))) {
      steps.push(`${a.kind} ${a.key.split("::").pop()}`);
      // A retained delete leaves the (fenced) object as it was: nothing changes on the site.
      const before = a.before && !(a.kind === "delete" && a.before.retained) ? copyState(a.before) : undefined;
      const after = a.after && copyState(a.after);
      if (a.site && (before || after)) {
        if (before) clusters.delete(copyKey(before, a.site));
        if (after) clusters.set(copyKey(after, a.site), after);
      }
      check();
    }
    if (violations.length > 0) break;
  }
  // Record the copy of each site that this phase loses, for the rejoin rule; and the lost Redis copies
  // that the applied phase runs as replicas on an up site (re-cloned from then on).
  for (const [key, c] of start) if (condition(siteOfKey(key)) === "lost" && !history.lostClusters.has(key)) history.lostClusters.set(key, c.name);
  for (const r of to.resources.values()) {
    const c = copyState(r);
    if (c?.kind === "redis" && r.site && condition(r.site) === "up" && !c.claimsPrimary && !c.fenced && history.lostClusters.has(copyKey(c, r.site))) rejoined.add(copyKey(c, r.site));
  }
  return violations;
}

/** The CloudNativePG webhook's rules on a Cluster being created (validateReplicaMode, validatePromotionToken). */
export function webhookProblems(r: PhaseResource, creating: boolean): string[] {
  const spec = r.inputs["spec"] as { replica?: { self: string; primary: string; source: string; promotionToken?: string }; bootstrap?: Record<string, unknown>; externalClusters?: Array<{ name: string }> };
  const problems: string[] = [];
  const replica = spec.replica;
  if (!replica) return problems;
  const isReplica = replica.primary !== replica.self;
  if (creating && isReplica && !spec.bootstrap?.["pg_basebackup"] && !spec.bootstrap?.["recovery"]) problems.push("replica mode bootstrap is compatible only with pg_basebackup or recovery");
  if (replica.promotionToken !== undefined && isReplica) problems.push("promotionToken is only allowed for primary clusters");
  const external = new Set((spec.externalClusters ?? []).map((e) => e.name));
  for (const [field, name] of Object.entries({ source: replica.source, self: replica.self, primary: replica.primary })) {
    if (!external.has(name)) problems.push(`replica.${field}: external cluster ${name} not found`);
  }
  return problems;
}

/** One procedure of a journey: the primary role moves to `to`. */
export interface Leg {
  readonly to: string;
  readonly procedure: FailoverProcedure;
  readonly generations?: Record<string, number>;
}

/**
 * The phases of procedures in sequence, with the program's own step list (`procedurePhases`), each
 * registered once by `register` (memoized by situation, `phaseOf`); a step equal to the previous one is
 * skipped.
 */
export function journeys(
  sites: readonly string[],
  register: (label: string, situation: FailoverSituation) => Promise<Phase>,
): { readonly journey: (...legs: Leg[]) => Promise<Phase[]>; readonly phaseOf: (label: string, situation: FailoverSituation) => Promise<Phase> } {
  const registered = new Map<string, Promise<Phase>>();
  const phaseOf = (label: string, situation: FailoverSituation): Promise<Phase> => {
    const key = JSON.stringify(situation);
    if (!registered.has(key)) registered.set(key, register(label, situation));
    return registered.get(key)!;
  };
  const journey = async (...legs: Leg[]): Promise<Phase[]> => {
    const phases: Phase[] = [];
    for (const leg of legs) {
      for (const step of procedurePhases(sites, leg.to, leg.procedure, leg.generations, PLANNING_PROMOTION_TOKEN)) {
        const p = await phaseOf(step.label, { ...step.situation, homeSite: sites[0]! });
        if (phases.length === 0 || JSON.stringify(phases.at(-1)!.situation) !== JSON.stringify(p.situation)) phases.push(p);
      }
    }
    return phases;
  };
  return { journey, phaseOf };
}
