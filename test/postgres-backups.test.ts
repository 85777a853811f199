/**
 * Issue 21: a PostgresCluster wires its own backups. It creates its bucket (or verifies the one it is
 * given), and `addBackupSchedule` takes everything but the cron from the cluster, so the recovery figures
 * are the cluster's and the schedule follows a failover (new roles) by a field.
 */
import type * as lib from "../components";
import { Run, resourcesOfType, runIsolated, stackConfig } from "./harness";
import { existingBucketProblems } from "../components/postgres-cluster";

type Lib = typeof lib;

/** Two sites and whatever `build` makes on them, under mocks. */
async function onTwoSites(build: (l: Lib, s: { hq: lib.Site; dr: lib.Site }) => void): Promise<Run> {
  return runIsolated("test", stackConfig("prod"), async () => {
    const l = require("../components") as Lib;
    const store = { endpoint: "https://s3.gdcc.go.th", accessKeyId: "k", secretAccessKey: "s" };
    build(l, {
      hq: new l.Site("hq", { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig: "k", vpnRanges: ["10.10.0.0/16"] }),
      dr: new l.Site("dr", { kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby", kubeconfig: "k", vpnRanges: ["10.20.0.0/16"], objectStore: store }),
    });
  });
}

const cluster = (l: Lib, s: { hq: lib.Site; dr: lib.Site }, active: string, extra: Partial<lib.PostgresClusterArgs> = {}): lib.PostgresCluster =>
  new l.PostgresCluster("team-db", {
    sites: [s.hq, s.dr],
    roles: l.steadyRoles(["hq", "dr"], active),
    backupSite: s.dr,
    backupBucket: "team-db-backups",
    replicationHosts: { hq: "db.hq", dr: "db.dr" },
    appPassword: "pw",
    storageSizeGiB: 50,
    ...extra,
  });

describe("PostgresCluster's backups, wired by the cluster", () => {
  test("it creates its bucket on the backup site, and the archive waits for it", async () => {
    let db: lib.PostgresCluster | undefined;
    const run = await onTwoSites((l, s) => void (db = cluster(l, s, "hq")));
    expect(run.error).toBeUndefined();
    const [bucket] = resourcesOfType(run, "aws:s3/bucket:Bucket");
    expect(bucket).toMatchObject({ name: "team-db-backups", inputs: { bucket: "team-db-backups", objectLockEnabled: true, tags: { "waris-dataset": "team-db" } } });
    expect(bucket!.provider).toMatch(/pulumi:providers:aws::dr-object-store$/);
    expect(resourcesOfType(run, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")[0]!.inputs).toMatchObject({ rule: { defaultRetention: { mode: "GOVERNANCE", days: 7 } } });
    // A dependency on a component is sent as its resources.
    const stores = resourcesOfType(run, "kubernetes:barmancloud.cnpg.io/v1:ObjectStore");
    expect(stores).toHaveLength(2);
    for (const store of stores) expect(store.dependencies).toContain(bucket!.urn);
    expect(db!.backupBucket.url).toBe("s3://team-db-backups/");
  });

  test("addBackupSchedule: the cluster's dataset, namespace, clusters and figures; one schedule per site, suspended off the primary", async () => {
    for (const active of ["hq", "dr"]) {
      let db: lib.PostgresCluster | undefined;
      let weekly: lib.BackupSchedule | undefined;
      const run = await onTwoSites((l, s) => {
        db = cluster(l, s, active);
        weekly = db.addBackupSchedule("team-db-weekly", { schedule: "0 3 * * 0" });
      });
      expect(run.error).toBeUndefined();
      expect([weekly!.rpoMinutes, weekly!.rtoMinutes]).toEqual([db!.rpoMinutes, db!.rtoMinutes]);
      expect(weekly!.report).toMatchObject({ dataset: "team-db", rpoMinutes: 5, rtoMinutes: 15, retention: "30 days", location: "s3://team-db-backups/ on dr" });
      const scheduled = resourcesOfType(run, "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup").map((r) => r.inputs as { metadata: { namespace: string }; spec: { cluster: { name: string }; suspend?: boolean } });
      expect(scheduled.map((b) => [b.metadata.namespace, b.spec.cluster.name, b.spec.suspend === true]).sort()).toEqual([
        ["team-db", "team-db-dr", active !== "dr"],
        ["team-db", "team-db-hq", active !== "hq"],
      ]);
    }
  });

  test("two schedules of one cluster (weekly and daily) name their ScheduledBackups apart", async () => {
    const run = await onTwoSites((l, s) => {
      const db = cluster(l, s, "hq");
      db.addBackupSchedule("team-db-weekly", { schedule: "0 3 * * 0" });
      db.addBackupSchedule("team-db-daily", { schedule: "0 1 * * *" });
    });
    expect(run.error).toBeUndefined();
    const names = resourcesOfType(run, "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup").map((r) => (r.inputs as { metadata: { name: string } }).metadata.name);
    expect(names.sort()).toEqual(["team-db-daily", "team-db-daily-dr", "team-db-weekly", "team-db-weekly-dr"]);
  });

  test("a bucket made elsewhere is verified: name, site and dataset, before anything is registered", async () => {
    const run = await onTwoSites((l, s) => {
      const other = new l.ObjectStorageBucket("other", { site: s.dr, bucket: "other-backups", dataset: "other", retentionDays: 30 });
      cluster(l, s, "hq", { existingBackupBucket: other });
    });
    expect((run.error as Error).name).toBe("InvalidArgumentsError");
    expect((run.error as Error).message).toMatch(/existingBackupBucket: is bucket "other-backups", but backupBucket is "team-db-backups"/);
    expect((run.error as Error).message).toMatch(/existingBackupBucket: holds dataset "other", not "team-db"/);
    expect(run.recording.resources.filter((r) => r.type === "waris:index:PostgresCluster")).toEqual([]);
    expect(existingBucketProblems("team-db", { backupBucket: "team-db-backups", backupSite: { spec: { name: "dr" } } as lib.Site }, { bucket: "team-db-backups", siteName: "dr", dataset: "team-db" })).toEqual([]);
  });
});

describe("optional provider SDKs", () => {
  test("a component that needs a missing one names the package to install", () => {
    const { MissingSdkError, loadOptionalSdk } = require("../components/optional-sdk") as typeof import("../components/optional-sdk");
    expect(() => loadOptionalSdk("@pulumi/aws", "no-such-module-here", 'Site "x"')).toThrow(Error);
    const err = new MissingSdkError("@pulumi/aws", 'Site "dr": a bucket on its objectStore');
    expect(err.message).toBe('Site "dr": a bucket on its objectStore needs the provider SDK @pulumi/aws, an optional peer dependency of @waris/hybrid-infra that is not installed: npm install @pulumi/aws@"^7.48.0"');
  });
});
