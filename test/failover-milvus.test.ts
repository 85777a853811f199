/**
 * Milvus on the failover model (issue 18), on what MilvusPrimary really registers in every phase of a
 * switchover there and back, and of a disaster followed by a failback: only the primary's Milvus runs, a
 * promote restores a named backup with the schedule suspended until then, a demote takes the final backup,
 * nothing data-bearing is ever deleted or replaced, and nothing is sent to an unreachable site.
 */
import type { FailoverSituation } from "../components/failover";
import { milvusFinalBackupName, milvusRestoreScript, milvusSitePlan } from "../components/milvus-primary";
import { SAMPLE_PROMOTION_TOKEN, cachedRun, runIsolated, stackConfig } from "./harness";
import { DATA_BEARING_TYPES, actionsBetween, appliedAfter, phaseResources, type Phase } from "./failover-invariants";

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const SITES = ["onprem", "gcloud"] as const;

async function phaseOf(label: string, situation: FailoverSituation): Promise<Phase> {
  const run = await cachedRun(`failover-milvus ${JSON.stringify(situation)}`, () =>
    runIsolated("prod", stackConfig("prod"), async () => {
      const lib = require("../components") as typeof import("../components");
      const store = (host: string) => ({ endpoint: `https://${host}`, accessKeyId: "a", secretAccessKey: "s" });
      const onprem = new lib.Site("onprem", { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig: "k", vpnRanges: ["10.10.0.0/16"], objectStore: store("minio.onprem") });
      const gcloud = new lib.Site("gcloud", { kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby", kubeconfig: "k", vpnRanges: ["10.20.0.0/16"], objectStore: store("s3.gdcc.go.th") });
      new lib.MilvusPrimary("waris-milvus", { sites: [onprem, gcloud], roles: lib.deriveSiteRoles(situation), dataBucket: "waris-milvus-data", backupSite: gcloud, backupBucket: "waris-milvus", installOperator: false });
    }),
  );
  if (run.error) throw run.error;
  return { label, situation, resources: phaseResources(run.recording.resources) };
}

async function journey(...legs: Array<{ to: string; procedure: "switchover" | "disaster" | "failback"; generations?: Record<string, number> }>): Promise<Phase[]> {
  const { procedurePhases } = require("../components/failover") as typeof import("../components/failover");
  const phases: Phase[] = [];
  for (const leg of legs) {
    for (const step of procedurePhases(SITES, leg.to, leg.procedure, leg.generations, SAMPLE_PROMOTION_TOKEN)) {
      const p = await phaseOf(step.label, { ...step.situation, homeSite: "onprem" });
      if (phases.length === 0 || JSON.stringify(phases.at(-1)!.situation) !== JSON.stringify(p.situation)) phases.push(p);
    }
  }
  return phases;
}

const find = (p: Phase, suffix: string) => [...p.resources.values()].find((r) => r.key.endsWith(`::${suffix}`));

/** Per site: running or stopped, the schedule's suspend, and the Jobs of the phase. */
function describePhase(p: Phase): string {
  const sites = SITES.map((site) => {
    const cr = find(p, `waris-milvus-${site}-milvus`)!;
    const replicas = (cr.inputs["spec"] as Spec)["components"]["standalone"]["replicas"] as number;
    const cron = find(p, site === "onprem" ? "waris-milvus-backup" : `waris-milvus-${site}-backup`)!;
    const jobs = ["restore", "final-backup"].filter((j) => find(p, `waris-milvus-${site}-${j}`));
    return `${site} ${replicas === 1 ? "runs" : "stopped"}${(cron.inputs["spec"] as Spec)["suspend"] ? " (schedule suspended)" : ""}${jobs.length ? ` +${jobs.join("+")}` : ""}`;
  });
  return `${p.label}: ${sites.join(", ")}`;
}

/** Data-bearing deletes or replaces, and any change on a site that is not reachable, over a journey. */
function violations(phases: readonly Phase[]): string[] {
  const found: string[] = [];
  let applied = phases[0]!;
  for (let i = 1; i < phases.length; i++) {
    const to = phases[i]!;
    for (const a of actionsBetween(applied, to)) {
      const type = (a.before ?? a.after)!.type;
      if ((a.kind === "delete" || a.kind === "replace") && DATA_BEARING_TYPES.has(type)) found.push(`${to.label}: ${a.kind} ${a.key.split("::").pop()}`);
      if (a.site && (to.situation.conditions?.[a.site] ?? "up") === "lost") found.push(`${to.label}: ${a.kind} ${a.key.split("::").pop()} on lost ${a.site}`);
    }
    applied = appliedAfter(applied, to);
  }
  return found;
}

test("switchover to G-Cloud and back: final backup in demote, restore of it in promote, one Milvus running", async () => {
  const phases = await journey({ to: "gcloud", procedure: "switchover" }, { to: "onprem", procedure: "switchover" });
  expect(phases.map(describePhase)).toEqual([
    "steady: onprem runs, gcloud stopped (schedule suspended)",
    "switchover demote: onprem runs (schedule suspended) +final-backup, gcloud stopped (schedule suspended)",
    "switchover promote: onprem stopped (schedule suspended), gcloud runs (schedule suspended) +restore",
    "steady: onprem stopped (schedule suspended), gcloud runs",
    "switchover demote: onprem stopped (schedule suspended), gcloud runs (schedule suspended) +final-backup",
    "switchover promote: onprem runs (schedule suspended) +restore, gcloud stopped (schedule suspended)",
    "steady: onprem runs, gcloud stopped (schedule suspended)",
  ]);
  expect(violations(phases)).toEqual([]);
  // The promote restores what the demote took, by name.
  const restore = find(phases[2]!, "waris-milvus-gcloud-restore")!;
  const pod = (restore.inputs["spec"] as Spec)["template"]["spec"];
  expect(pod.initContainers[0].command[2]).toBe(milvusRestoreScript("waris_final_onprem"));
  expect(pod.initContainers[0].command[2]).toContain('milvus-backup restore -n "$name" --restore_index --drop_exist_collection');
  expect((find(phases[1]!, "waris-milvus-onprem-final-backup")!.inputs["spec"] as Spec)["template"]["spec"]["containers"][0]["command"][2]).toContain('milvus-backup create -n "waris_final_onprem"');
  expect(pod.enableServiceLinks).toBe(false);
  expect(pod.serviceAccountName).toBe("waris-milvus-restore");
  expect(pod.containers[0].command[2]).toBe(`kubectl -n waris-milvus patch cronjob waris-milvus-backup --type merge -p '{"spec":{"suspend":false}}'`);
}, 60000);

test("the restore Job may patch only the one CronJob, which Pulumi leaves suspended until the Job resumes it", async () => {
  const [, promote] = await journey({ to: "gcloud", procedure: "disaster" });
  expect(find(promote!, "waris-milvus-gcloud-restore-role")!.inputs["rules"]).toEqual([{ apiGroups: ["batch"], resources: ["cronjobs"], resourceNames: ["waris-milvus-backup"], verbs: ["get", "patch"] }]);
  const run = await cachedRun(`failover-milvus ${JSON.stringify(promote!.situation)}`, () => Promise.reject(new Error("cached above")));
  const cron = run.recording.resources.find((r) => r.name === "waris-milvus-gcloud-backup" && r.type === "kubernetes:batch/v1:CronJob")!;
  expect(cron.ignoreChanges).toEqual(["spec.suspend"]);
  expect((cron.inputs["spec"] as Spec)["suspend"]).toBe(true);
  // In a disaster there is no final backup: the newest hourly one is restored.
  expect(((find(promote!, "waris-milvus-gcloud-restore")!.inputs["spec"] as Spec)["template"]["spec"]["initContainers"][0]["command"][2] as string)).toBe(milvusRestoreScript());
}, 60000);

test("disaster to G-Cloud, fence, failback: nothing on lost on-prem, nothing data-bearing deleted, on-prem kept stopped", async () => {
  const phases = await journey({ to: "gcloud", procedure: "disaster" }, { to: "onprem", procedure: "failback" });
  expect(phases.map(describePhase)).toEqual([
    "steady: onprem runs, gcloud stopped (schedule suspended)",
    "disaster promote: onprem runs, gcloud runs (schedule suspended) +restore", // on-prem lost: unchanged, unreachable
    "disaster fence: onprem stopped (schedule suspended), gcloud runs (schedule suspended) +restore",
    "failback rebuild: onprem stopped (schedule suspended), gcloud runs",
    "failback demote: onprem stopped (schedule suspended), gcloud runs (schedule suspended) +final-backup",
    "failback promote: onprem runs (schedule suspended) +restore, gcloud stopped (schedule suspended)",
    "steady: onprem runs, gcloud stopped (schedule suspended)",
  ]);
  expect(violations(phases)).toEqual([]);
  // The rebuild gives on-prem a new generation's data root (bucket prefix, etcd root, channel prefix) while
  // it is stopped, so the restore of the promote fills an empty Milvus; the old generation's data stays put.
  const config = (p: Phase) => (find(p, "waris-milvus-onprem-milvus")!.inputs["spec"] as Spec)["config"];
  expect(config(phases[2]!)).toMatchObject({ minio: { rootPath: "waris-milvus" } });
  expect(config(phases[2]!)["etcd"]).toBeUndefined();
  expect(config(phases[3]!)).toMatchObject({ minio: { rootPath: "waris-milvus-g2" }, etcd: { rootPath: "waris-milvus-g2" }, msgChannel: { chanNamePrefix: { cluster: "waris-milvus-g2" } } });
  expect(describePhase(phases[3]!)).toContain("onprem stopped");
}, 60000);

test("milvusSitePlan: a named backup (milvus.restoreBackup) wins; the final backup name is per site", () => {
  const { deriveSiteRoles } = require("../components/failover") as typeof import("../components/failover");
  const roles = deriveSiteRoles({ sites: [...SITES], activeSite: "gcloud", procedure: { procedure: "disaster", phase: "promote", from: "onprem" }, conditions: { onprem: "lost" } });
  expect(milvusSitePlan(roles.bySite["gcloud"]!, roles, "waris_202611301400")).toEqual({ running: true, backupSuspended: true, restore: { backup: "waris_202611301400" } });
  expect(milvusSitePlan(roles.bySite["onprem"]!, roles)).toEqual({ running: true, backupSuspended: false });
  expect(milvusFinalBackupName("g-cloud.2")).toBe("waris_final_g_cloud_2");
});
