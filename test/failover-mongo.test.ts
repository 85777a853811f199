/**
 * MongoDB on the failover model, checked like PostgreSQL (test/failover.test.ts) over every phase and
 * every apply order, with the Percona operator's semantics (cross-site replication docs, "Fail over
 * services to the replica site"): two operators must never manage the replica set at once, so the main
 * site becomes unmanaged before the replica site becomes managed; a lost site is changed by no phase and
 * serves again only paused (fenced) or rebuilt; only a rebuild replaces a PerconaServerMongoDB.
 */
import type { FailoverSituation, SiteCondition } from "../components/failover";
import { cachedRun, runIsolated, stackConfig } from "./harness";
import { discardedSites as discardedSitesOf } from "../components/failover";
import { actionsBetween, appliedAfter, permutations, phaseResources, type Action, type Phase, type PhaseResource, journeys } from "./failover-invariants";

const SITES = ["onprem", "gcloud"] as const;
const PSMDB = "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB";
const HOSTS = { onprem: ["mongo-0.onprem", "mongo-1.onprem", "mongo-2.onprem"], gcloud: ["mongo-0.gcloud", "mongo-1.gcloud", "mongo-2.gcloud"] };

async function phase(label: string, situation: FailoverSituation): Promise<Phase> {
  const run = await cachedRun(`failover-mongo ns=waris-mongodb ${JSON.stringify(situation)}`, () => runIsolated("prod", stackConfig("prod"), async () => {
    const lib = require("../components") as typeof import("../components");
    const site = (name: string, kind: "onprem" | "gcloud") => new lib.Site(name, { kind, region: kind === "onprem" ? "pwa-hq-bangkok" : "gdcc-bangkok", country: "TH", role: name === "onprem" ? "primary" : "standby", kubeconfig: "k", vpnRanges: [name === "onprem" ? "10.10.0.0/16" : "10.20.0.0/16"] });
    new lib.MongoReplicaSet("waris-mongo", { sites: [site("onprem", "onprem"), site("gcloud", "gcloud")], roles: lib.deriveSiteRoles(situation), memberHosts: HOSTS, installOperator: false, namespace: "waris-mongodb" });
  }));
  if (run.error) throw run.error;
  return { label, situation, resources: phaseResources(run.recording.resources), discards: discardedSitesOf(situation) };
}

/** The phases of procedures in sequence, each registered once (test/failover-invariants.ts, journeys). */
const { journey, phaseOf } = journeys(SITES, phase);

interface MongoState {
  readonly name: string;
  readonly managed: boolean;
  readonly paused: boolean;
}
const mongoState = (r: PhaseResource): MongoState => {
  const spec = r.inputs["spec"] as { unmanaged?: boolean; pause?: boolean };
  return { name: (r.inputs["metadata"] as { name: string }).name, managed: spec.unmanaged !== true && spec.pause !== true, paused: spec.pause === true };
};

/** Every violation over every order of every transition of a journey. */
function violationsOf(phases: readonly Phase[]): string[] {
  const found: string[] = [];
  const lostNames = new Map<string, string>();
  let applied = phases[0]!;
  for (let i = 1; i < phases.length; i++) {
    const to = phases[i]!;
    const label = `${applied.label} → ${to.label}`;
    const condition = (site: string | undefined): SiteCondition => (site ? (to.situation.conditions?.[site] ?? "up") : "up");
    const actions = actionsBetween(applied, to);
    for (const a of actions) if (condition(a.site) === "lost") found.push(`no change on an unreachable site in ${label}: ${a.kind} ${a.key}`);
    for (const a of actions) {
      // Not even the rebuild: it creates the new generation and drops the old one retained (kept, paused, until the decommission step).
      if ((a.kind === "replace" || (a.kind === "delete" && !a.before?.retained)) && (a.before ?? a.after)!.type === PSMDB) found.push(`no data-bearing replacement in ${label}: ${a.kind} ${a.key}`);
      // What is dropped retained lives on unmanaged by the program: it must be paused (no mongod) when dropped.
      if (a.kind === "delete" && a.before?.retained && a.before.type === PSMDB && !mongoState(a.before).paused) found.push(`a dropped generation is paused in ${label}: ${a.key}`);
    }
    // Keyed by site and resource: a rebuild's new generation and the old one (retained) coexist on a site.
    const start = new Map<string, MongoState & { site: string }>();
    const stateKey = (r: PhaseResource): string => `${r.site}/${r.key}`;
    for (const r of applied.resources.values()) if (r.type === PSMDB && r.site) start.set(stateKey(r), { ...mongoState(r), site: r.site });
    const reachableActions = actions.filter((a) => condition(a.site) !== "lost");
    for (const order of permutations<Action>(reachableActions)) {
      const state = new Map(start);
      const check = (steps: number): void => {
        // Operators that can reach each other's members: an isolated or lost site is cut off from the other.
        const managers = [...new Set([...state.values()].filter((m) => m.managed && condition(m.site) === "up").map((m) => m.site))];
        if (managers.length > 1) found.push(`at most one managing operator in ${label}: ${managers.join(" and ")} after ${steps} action(s)`);
        for (const [site, name] of lostNames) {
          for (const m of state.values()) if (m.site === site && condition(site) === "up" && !m.paused && m.name === name) found.push(`a lost site serves again only fenced or rebuilt in ${label}: ${site} runs ${name}`);
        }
      };
      check(0);
      order.forEach((a, n) => {
        const r = (a.before ?? a.after)!;
        if (r.type === PSMDB && a.site) {
          // A retained delete leaves the object as it was (paused, checked above).
          if (a.after) state.set(stateKey(a.after), { ...mongoState(a.after), site: a.site });
          else if (!a.before?.retained) state.delete(stateKey(r));
        }
        check(n + 1);
      });
      if (found.length > 0) break;
    }
    for (const m of start.values()) if (condition(m.site) === "lost" && !lostNames.has(m.site)) lostNames.set(m.site, m.name);
    applied = appliedAfter(applied, to);
  }
  return [...new Set(found)];
}

test("switchover to G-Cloud and back: the main site is unmanaged before the other is managed", async () => {
  const phases = await journey({ to: "gcloud", procedure: "switchover" }, { to: "onprem", procedure: "switchover" });
  expect(violationsOf(phases)).toEqual([]);
  const spec = (p: Phase, site: string) => [...p.resources.values()].find((r) => r.type === PSMDB && r.site === site)!.inputs["spec"] as { unmanaged: boolean };
  expect([spec(phases[1]!, "onprem").unmanaged, spec(phases[1]!, "gcloud").unmanaged]).toEqual([true, true]);
  expect([spec(phases[2]!, "onprem").unmanaged, spec(phases[2]!, "gcloud").unmanaged]).toEqual([true, false]);
}, 60000);

test("disaster to G-Cloud, fence, failback: the survivor forces a reconfiguration; on-prem is paused, then rebuilt", async () => {
  const phases = await journey({ to: "gcloud", procedure: "disaster" }, { to: "onprem", procedure: "failback" });
  expect(violationsOf(phases)).toEqual([]);
  const job = [...phases[1]!.resources.values()].find((r) => r.type === "kubernetes:batch/v1:Job");
  expect(job?.site).toBe("gcloud");
  expect(JSON.stringify(job!.inputs)).toContain("mongo-0.gcloud:27017");
  const onprem = (p: Phase) => [...p.resources.values()].find((r) => r.type === PSMDB && r.site === "onprem")!.inputs as { metadata: { name: string }; spec: { pause?: boolean } };
  expect(onprem(phases[2]!).spec.pause).toBe(true);
  expect(onprem(phases[3]!).metadata.name).toBe("waris-mongo-g2");
  // The endpoint applications use follows the generation: the paused old set's Service has no pod behind it.
  const endpoint = (p: Phase) => ([...p.resources.values()].find((r) => r.key.endsWith("::waris-mongo-onprem-endpoint"))!.inputs["spec"] as { externalName: string }).externalName;
  expect([endpoint(phases[2]!), endpoint(phases[3]!)]).toEqual(["waris-mongo-rs0.waris-mongodb.svc.cluster.local", "waris-mongo-g2-rs0.waris-mongodb.svc.cluster.local"]);
  // The member certificate names the rebuilt cluster's pods too (the forced reconfiguration connects to them by name).
  const cert = [...phases[3]!.resources.values()].find((r) => r.type === "tls:index/certRequest:CertRequest" && r.key.endsWith("::waris-mongo-members"));
  expect(cert?.inputs["dnsNames"]).toEqual(expect.arrayContaining(["*.waris-mongo-g2-rs0.waris-mongodb.svc.cluster.local", "*.waris-mongo-rs0.waris-mongodb.svc.cluster.local"]));
}, 60000);

test("every member announces its cross-site name (replsetOverrides), never the cluster-local one both sites share", async () => {
  const [steady] = await journey({ to: "gcloud", procedure: "switchover" });
  for (const site of SITES) {
    const spec = [...steady!.resources.values()].find((r) => r.type === PSMDB && r.site === site)!.inputs["spec"] as { replsets: Array<{ replsetOverrides: Record<string, { host: string }> }> };
    expect(spec.replsets[0]!.replsetOverrides).toEqual(Object.fromEntries(HOSTS[site].map((h, i) => [`waris-mongo-rs0-${i}`, { host: `${h}:27017` }])));
  }
}, 60000);

test("0.2.0's plain flip lets both operators manage the set in some order", async () => {
  const flip = [await phaseOf("steady", { sites: SITES, activeSite: "onprem", homeSite: "onprem" }), await phaseOf("steady", { sites: SITES, activeSite: "gcloud", homeSite: "onprem" })];
  expect(violationsOf(flip)).toContainEqual(expect.stringMatching(/^at most one managing operator in steady → steady: onprem and gcloud/));
}, 60000);
