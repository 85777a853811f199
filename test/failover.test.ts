/**
 * Failover and failback proven by invariants over every phase of every procedure and every order in
 * which the engine may apply a phase's changes (test/failover-invariants.ts), on what PostgresCluster
 * and RedisPrimary really register for each situation of the failover model; and the same checks fail on the 0.2.0
 * behaviour (a plain flip of activeSite, and the disaster path without fencing).
 */
import fc from "fast-check";
import type { FailoverSituation } from "../components/failover";
import { cachedRun, runIsolated, stackConfig } from "./harness";
import { discardedSites as discardedSitesOf } from "../components/failover";
import { DATA_BEARING_TYPES, actionsBetween, appliedAfter, checkTransition, permutations, phaseResources, webhookProblems, type History, type Phase, journeys } from "./failover-invariants";

const SITES = ["onprem", "gcloud"] as const;

/** Registers the two sites, PostgreSQL and Redis for one situation, under mocks. */
async function phase(label: string, situation: FailoverSituation): Promise<Phase> {
  const run = await cachedRun(`failover-postgres ${JSON.stringify(situation)}`, () => runIsolated("prod", stackConfig("prod"), async () => {
    const lib = require("../components") as typeof import("../components");
    const onprem = new lib.Site("onprem", { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig: "k", vpnRanges: ["10.10.0.0/16"] });
    const gcloud = new lib.Site("gcloud", {
      kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby", kubeconfig: "k", vpnRanges: ["10.20.0.0/16"],
      objectStore: { endpoint: "https://s3.gdcc.go.th", accessKeyId: "a", secretAccessKey: "s" },
    });
    new lib.PostgresCluster("waris-postgres", {
      sites: [onprem, gcloud], roles: lib.deriveSiteRoles(situation), backupSite: gcloud, backupBucket: "waris-pg",
      replicationHosts: { onprem: "pg.onprem.waris.internal", gcloud: "pg.gcloud.waris.internal" }, appPassword: "p", installOperators: false,
    });
    new lib.RedisPrimary("waris-redis", {
      sites: [onprem, gcloud], roles: lib.deriveSiteRoles(situation), backupSite: gcloud, backupBucket: "waris-redis",
      replicationHosts: { onprem: "redis.onprem.waris.internal", gcloud: "redis.gcloud.waris.internal" }, password: "p",
    });
  }));
  if (run.error) throw run.error;
  return { label, situation, resources: phaseResources(run.recording.resources), discards: discardedSitesOf(situation) };
}

/** The phases of procedures in sequence, each registered once (test/failover-invariants.ts, journeys). */
const { journey, phaseOf } = journeys(SITES, phase);

/** Checks every transition of a journey over every order of its actions (or a fast-check sample when there are many). */
function violationsOf(phases: readonly Phase[]): string[] {
  const history: History = { lostClusters: new Map(), rejoined: new Set() };
  const found: string[] = [];
  // What is really applied: a phase's changes on an unreachable site never happen.
  let applied = phases[0]!;
  for (let i = 1; i < phases.length; i++) {
    const actions = actionsBetween(applied, phases[i]!);
    const orders: Array<readonly (typeof actions)[number][]> = [];
    if (actions.length <= 7) for (const o of permutations(actions)) orders.push(o);
    else fc.assert(fc.property(fc.shuffledSubarray(actions, { minLength: actions.length, maxLength: actions.length }), (o) => void orders.push(o)), { numRuns: 2000 });
    for (const v of checkTransition(applied, phases[i]!, orders, history)) found.push(`${v.invariant} in ${v.transition}: ${v.detail}${v.order.length ? ` after [${v.order.join(", ")}]` : ""}`);
    applied = appliedAfter(applied, phases[i]!);
  }
  return found;
}

describe("the failover model keeps the invariants for PostgreSQL and Redis", () => {
  test("switchover to G-Cloud and back, both sites up", async () => {
    const phases = await journey({ to: "gcloud", procedure: "switchover" }, { to: "onprem", procedure: "switchover" });
    expect(phases.map((p) => p.label)).toEqual(["steady", "switchover demote", "switchover promote", "steady", "switchover demote", "switchover promote", "steady"]);
    expect(violationsOf(phases)).toEqual([]);
  }, 60000);

  test("disaster failover to G-Cloud, fencing, failback by re-cloning on-prem, switchover back", async () => {
    const phases = await journey({ to: "gcloud", procedure: "disaster" }, { to: "onprem", procedure: "failback" });
    expect(phases.map((p) => p.label)).toEqual(["steady", "disaster promote", "disaster fence", "failback rebuild", "failback demote", "failback promote", "steady"]);
    expect(violationsOf(phases)).toEqual([]);
    // The rebuild is the only phase that drops a data-bearing resource from the program, the site's old
    // generation it discards as a live copy, and that resource is retained: the fenced Cluster and its
    // volumes stay until the runbook's decommission step; the new generation is a new resource.
    const dropped = phases.flatMap((p, i) => (i === 0 ? [] : actionsBetween(phases[i - 1]!, p).filter((a) => (a.kind === "replace" || a.kind === "delete") && DATA_BEARING_TYPES.has((a.before ?? a.after)!.type)).map((a) => `${p.label}: ${a.kind} ${a.key.split("::").pop()}${a.before?.retained ? " (retained)" : ""}`)));
    expect(dropped).toEqual(["failback rebuild: delete waris-postgres-onprem (retained)"]);
    const created = actionsBetween(phases[2]!, phases[3]!).filter((a) => a.kind === "create" && a.after!.type === "kubernetes:postgresql.cnpg.io/v1:Cluster").map((a) => (a.after!.inputs["metadata"] as { name: string }).name);
    expect(created).toEqual(["waris-postgres-onprem-g2"]);
    expect(phases[3]!.discards).toEqual(["onprem"]);
    // Redis in each phase: which site's configuration is a primary's, and how many pods each runs.
    const redis = phases.map((p) => {
      const state = (site: string) => {
        const sts = p.resources.get([...p.resources.keys()].find((k) => k.endsWith(`::waris-redis-${site}-redis`))!)!;
        const spec = sts.inputs["spec"] as { replicas: number; template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } };
        const conf = spec.template.spec.containers[0]!.env.find((e) => e.name === "REDIS_CONF")!.value!;
        return `${/^replicaof /m.test(conf) ? `replica of ${/^replicaof redis\.(\w+)\./m.exec(conf)![1]}` : "primary"}${spec.replicas === 0 ? " (scaled to 0)" : ""}`;
      };
      return `${p.label}: onprem ${state("onprem")}, gcloud ${state("gcloud")}`;
    });
    expect(redis).toEqual([
      "steady: onprem primary, gcloud replica of onprem",
      "disaster promote: onprem primary, gcloud primary", // on-prem is lost: unchanged, unreachable, not counted
      "disaster fence: onprem replica of gcloud (scaled to 0), gcloud primary",
      "failback rebuild: onprem replica of gcloud, gcloud primary",
      "failback demote: onprem replica of gcloud, gcloud replica of onprem",
      "failback promote: onprem primary, gcloud replica of onprem",
      "steady: onprem primary, gcloud replica of onprem",
    ]);
  }, 60000);

  test("a second disaster, now of G-Cloud, after on-prem was rebuilt once", async () => {
    const phases = await journey({ to: "onprem", procedure: "disaster", generations: { onprem: 2 } }, { to: "gcloud", procedure: "failback", generations: { onprem: 2 } });
    expect(violationsOf(phases)).toEqual([]);
  }, 60000);

  test("every Cluster a phase creates passes the CloudNativePG webhook's replica and token rules", async () => {
    const phases = await journey({ to: "gcloud", procedure: "disaster" }, { to: "onprem", procedure: "failback" }, { to: "gcloud", procedure: "switchover", generations: { onprem: 2 } });
    const problems = phases.flatMap((p, i) =>
      [...p.resources.values()]
        .filter((r) => r.type === "kubernetes:postgresql.cnpg.io/v1:Cluster")
        .flatMap((r) => {
          const before = i === 0 ? undefined : phases[i - 1]!.resources.get(r.key);
          const creating = !before || (before.inputs["metadata"] as { name: string }).name !== (r.inputs["metadata"] as { name: string }).name;
          return webhookProblems(r, creating).map((m) => `${p.label} ${r.site}: ${m}`);
        }),
    );
    expect(problems).toEqual([]);
  }, 60000);
});

describe("the same invariants fail on the 0.2.0 procedures", () => {
  test("a plain flip of activeSite with both sites up: both clusters can be primary at once", async () => {
    const phases = [await phaseOf("steady", { sites: SITES, activeSite: "onprem", homeSite: "onprem" }), await phaseOf("steady", { sites: SITES, activeSite: "gcloud", homeSite: "onprem" })];
    expect(violationsOf(phases)).toContainEqual(expect.stringMatching(/^at most one writable primary in steady → steady: waris-(postgres|redis) writable on .* after \[.*update waris-(postgres|redis)-gcloud/));
  }, 60000);

  test("the 0.2.0 disaster path: on-prem returns unfenced and still primary", async () => {
    // 0.2.0 flipped activeSite with on-prem unreachable, then ran pulumi up again once it was back.
    const flipped = await phaseOf("steady", { sites: SITES, activeSite: "gcloud", homeSite: "onprem" });
    const lost: Phase = { ...flipped, label: "flip while lost", situation: { ...flipped.situation, conditions: { onprem: "lost" } } };
    const phases = [await phaseOf("steady", { sites: SITES, activeSite: "onprem", homeSite: "onprem" }), lost, { ...flipped, label: "on-prem back" }];
    const violations = violationsOf(phases);
    expect(violations).toContainEqual(expect.stringMatching(/^no change on an unreachable site in steady → flip while lost/));
    expect(violations).toContainEqual(expect.stringMatching(/^at most one writable primary in flip while lost → on-prem back: waris-postgres writable on onprem and gcloud$/));
  }, 60000);

  test("Redis alone: a plain flip makes both sites writable, and a returning lost site serves as primary before it was re-cloned", async () => {
    const redisOnly = (p: Phase): Phase => ({ ...p, resources: new Map([...p.resources].filter(([k]) => k.includes("waris-redis"))) });
    const steadyOnprem = redisOnly(await phaseOf("steady", { sites: SITES, activeSite: "onprem", homeSite: "onprem" }));
    const flipped = redisOnly(await phaseOf("steady", { sites: SITES, activeSite: "gcloud", homeSite: "onprem" }));
    expect(violationsOf([steadyOnprem, flipped])).toContainEqual(expect.stringMatching(/^at most one writable primary in steady → steady: waris-redis writable on (onprem and gcloud|gcloud and onprem) after \[/));
    const lost: Phase = { ...flipped, label: "flip while lost", situation: { ...flipped.situation, conditions: { onprem: "lost" } } };
    const violations = violationsOf([steadyOnprem, lost, { ...flipped, label: "on-prem back" }]);
    expect(violations).toContainEqual("at most one writable primary in flip while lost → on-prem back: waris-redis writable on gcloud and onprem");
    expect(violations).toContainEqual("a lost site serves again only fenced or re-cloned in flip while lost → on-prem back: onprem runs waris-redis as a primary before it was re-cloned as a replica");
  }, 60000);
});
