import type * as lib from "../components";
import { Run, editSetting, resource, runIsolated, runProgram, stackConfig } from "./harness";
import { validateBackupScheduleArgs } from "../components/backup-schedule";
import { validateObjectStorageBucketArgs } from "../components/object-storage-bucket";


describe("object storage in Thailand (prod: G-Cloud)", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram("prod");
  });

  test("the PostgreSQL backup bucket: versioned, AES-256, private, 30-day retention, governance lock", () => {
    expect(run.error).toBeUndefined();
    const bucket = resource(run, "aws:s3/bucket:Bucket", "postgres-backups");
    expect(bucket.inputs).toMatchObject({ bucket: "waris-prod-postgres", objectLockEnabled: true, tags: { "waris-site": "gcloud", "waris-dataset": "waris-postgres" } });
    expect(bucket.provider).toMatch(/waris:index:Site\$pulumi:providers:aws::gcloud-object-store$/);
    expect(resource(run, "aws:s3/bucketVersioning:BucketVersioning", "postgres-backups").inputs).toMatchObject({ bucket: "waris-prod-postgres", versioningConfiguration: { status: "Enabled" } });
    expect(resource(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "postgres-backups").inputs).toMatchObject({
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    expect(resource(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "postgres-backups").inputs).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(resource(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "postgres-backups").inputs["rules"]).toEqual([
      { id: "retention", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 30 }, expiration: { expiredObjectDeleteMarker: true } },
      { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
    ]);
    expect(resource(run, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "postgres-backups").inputs).toMatchObject({
      rule: { defaultRetention: { mode: "GOVERNANCE", days: 7 } },
    });
  });

  test("the model artifact store keeps the newest 5 versions and has no lock (it must prune)", () => {
    const rules = resource(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "model-artifacts").inputs["rules"] as Array<Record<string, unknown>>;
    expect(rules[0]).toMatchObject({ noncurrentVersionExpiration: { noncurrentDays: 1, newerNoncurrentVersions: 4 } });
    expect(run.recording.resources.some((r) => r.type === "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration" && r.name === "model-artifacts")).toBe(false);
    expect(resource(run, "aws:s3/bucket:Bucket", "model-artifacts").inputs).toMatchObject({ objectLockEnabled: false, tags: { "waris-dataset": "model-artifacts", "waris-dataset-size-gib": "150" } });
  });

  test("weekly full base backups of the active primary through the Barman Cloud plugin (6-field cron)", () => {
    const backup = resource(run, "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup", "waris-postgres-full");
    expect(backup.inputs["spec"]).toEqual({
      schedule: "0 0 2 * * 0",
      cluster: { name: "waris-postgres-onprem" },
      method: "plugin",
      pluginConfiguration: { name: "barman-cloud.cloudnative-pg.io" },
      backupOwnerReference: "self",
    });
    expect(backup.provider).toMatch(/providers:kubernetes::onprem$/);
  });

  test("the recovery output lists each dataset with RPO, RTO, retention and location", () => {
    expect(run.outputs["recovery"]).toEqual([
      {
        dataset: "waris-postgres",
        kind: "postgresql",
        rpoMinutes: 5,
        rtoMinutes: 15,
        retention: "30 days",
        method: "weekly full (0 2 * * 0) base backup + continuous WAL archive (5 min)",
        schedule: "0 2 * * 0",
        location: "s3://waris-prod-postgres/ on gcloud",
        // The alerts that fire when the RPO is at risk (issue 22): the WAL archive's age is the 5 minutes.
        rpoAlert: "PostgresWalArchiveStale",
        rpoAlerts: ["PostgresWalArchiveStale", "PostgresReplicationLagHigh", "PostgresBackupStale", "PostgresBackupFailed", "BackupJobFailed"],
      },
      {
        dataset: "waris-mongo",
        kind: "mongodb",
        rpoMinutes: 10,
        rtoMinutes: 15,
        retention: "30 days",
        method: "daily full (0 3 * * *) backup + PITR oplog (10 min)",
        schedule: "0 3 * * *",
        location: "s3://waris-prod-mongodb/ on gcloud",
        rpoAlert: "MongoReplicationLagHigh",
        rpoAlerts: ["MongoReplicationLagHigh", "MongoPitrDisabled", "MongoBackupStale", "MongoBackupFailed", "BackupJobFailed"],
      },
      {
        dataset: "model-artifacts",
        kind: "model-artifacts",
        rpoMinutes: 0,
        // 150 GiB at 100 MiB/s = 1536 s -> 26 min, + 30 min overhead.
        rtoMinutes: 56,
        retention: "5 versions",
        method: "every version on write (bucket versioning)",
        location: "s3://waris-prod-model-artifacts/ on gcloud (MLflow artifact store)",
        // Versioned on write: at risk when the store cannot be reached.
        rpoAlert: "ObjectStoreUnreachable",
        rpoAlerts: ["ObjectStoreUnreachable"],
      },
      {
        dataset: "waris-milvus",
        kind: "milvus",
        rpoMinutes: 60,
        // 200 GiB at 100 MiB/s = 2048 s -> 35 min, + 30.
        rtoMinutes: 65,
        retention: "14 days (every backup for 48 h, then the first of each day)",
        method:
          "hourly full (0 * * * *) milvus-backup; restore: a Job of the promote phase (milvus-backup restore -n <name>: the old primary's final backup after a switchover, else the newest or milvus.restoreBackup), the schedule suspended until it has finished",
        schedule: "0 * * * *",
        location: "s3://waris-prod-milvus/waris-milvus/ on gcloud",
        rpoAlert: "MilvusBackupStale",
        rpoAlerts: ["MilvusBackupStale", "BackupJobFailed"],
      },
      {
        dataset: "waris-redis",
        kind: "redis",
        // The live replica on G-Cloud: the lag target (60 s) is the RPO; promoting it is the RTO.
        rpoMinutes: 1,
        rtoMinutes: 15,
        retention: "30 days",
        method: expect.stringMatching(/^live replica on the other site \(TLS replication, lag alerted above 60 s\) .* RDB dump \(0 \* \* \* \*\) from the primary site\. Restore: .*CONFIG SET appendonly yes rewrites the AOF$/),
        schedule: "0 * * * *",
        location: "replica on gcloud; dumps s3://waris-prod-redis/waris-redis/ on gcloud",
        rpoAlert: "RedisReplicationLagHigh",
        rpoAlerts: ["RedisReplicationLagHigh", "RedisBackupStale", "BackupJobFailed"],
      },
    ]);
  });
});

test("after failover the base backups follow the primary to G-Cloud: each site keeps its schedule, suspended where the cluster is not primary", async () => {
  const steady = await runProgram("prod");
  const run = await runProgram("prod", (c) => (c["waris-hybrid:activeSite"] = "gcloud"));
  const spec = (r: typeof steady, name: string) => resource(r, "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup", name).inputs["spec"] as { cluster: unknown; suspend?: boolean };
  expect(spec(steady, "waris-postgres-full")).toMatchObject({ cluster: { name: "waris-postgres-onprem" } });
  expect(spec(steady, "waris-postgres-full").suspend).toBeUndefined();
  expect(spec(steady, "waris-postgres-full-gcloud")).toMatchObject({ cluster: { name: "waris-postgres-gcloud" }, suspend: true });
  expect(spec(run, "waris-postgres-full").suspend).toBe(true);
  expect(spec(run, "waris-postgres-full-gcloud").suspend).toBeUndefined();
  // Never moved between clusters: the same provider in both situations.
  for (const name of ["waris-postgres-full", "waris-postgres-full-gcloud"]) {
    expect(resource(run, "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup", name).provider).toBe(resource(steady, "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup", name).provider);
  }
});

test("dev keeps its backups on the lab's own store", async () => {
  const run = await runProgram("dev");
  expect(run.error).toBeUndefined();
  expect(resource(run, "aws:s3/bucket:Bucket", "postgres-backups").provider).toMatch(/providers:aws::lab-object-store$/);
  expect((run.outputs["recovery"] as Array<{ dataset: string; rtoMinutes: number }>).map((r) => [r.dataset, r.rtoMinutes])).toEqual([
    ["waris-postgres", 34],
    // 10 GiB at 100 MiB/s = 103 s -> 2 min, + 30.
    ["waris-mongo", 32],
    ["model-artifacts", 34],
    ["waris-milvus", 31],
    ["waris-redis", 31],
  ]);
});

describe("BackupSchedule methods and guarantees", () => {
  async function build(make: (l: typeof lib, site: lib.Site) => void): Promise<Run> {
    return runIsolated("test", stackConfig("prod"), async () => {
      const l = require("../components") as typeof lib;
      make(l, new l.Site("onprem", { kind: "onprem", region: "pwa", country: "TH", role: "primary", kubeconfig: "k" }));
    });
  }

  test("Milvus: a daily CronJob that creates a backup and prunes those older than 14 days; RPO 1440 min misses a 1-hour RPO", async () => {
    let schedule: lib.BackupSchedule | undefined;
    const run = await build((l, site) => {
      schedule = new l.BackupSchedule("vectors", { kind: "milvus", dataset: "waris-milvus", site, namespace: "waris-milvus", schedule: "0 1 * * *", retentionDays: 14, milvusBackupConfigSecret: "milvus-backup-config", datasetSizeGiB: 200, location: "s3://waris-prod-milvus/ on gcloud" });
    });
    expect(run.error).toBeUndefined();
    const job = resource(run, "kubernetes:batch/v1:CronJob", "vectors");
    expect(job.inputs).toMatchObject({
      metadata: { name: "waris-milvus-backup", labels: { "waris.io/backup-of": "waris-milvus", "waris.io/site": "onprem" }, annotations: { "waris.io/retention-days": "14" } },
      spec: { schedule: "0 1 * * *", concurrencyPolicy: "Forbid" },
    });
    const container = (job.inputs["spec"] as { jobTemplate: { spec: { template: { spec: { containers: Array<{ image: string; command: string[] }>; volumes: unknown[] } } } } }).jobTemplate.spec.template.spec;
    expect(container.containers[0]!.image).toBe("milvusdb/milvus-backup:v0.5.7");
    expect(container.containers[0]!.command[2]).toMatch(/milvus-backup create -n "waris_\$\{now\}"[\s\S]*- 14 \* 86400[\s\S]*milvus-backup delete -n "\$b"/);
    expect(container.volumes).toEqual([{ name: "config", secret: { secretName: "milvus-backup-config" } }]);
    expect(schedule!.rpoMinutes).toBe(1440);
    // 200 GiB at 100 MiB/s = 2048 s -> 35 min, + 30.
    expect(schedule!.rtoMinutes).toBe(65);
  });

  test("MongoDB: PITR bounds the RPO by the oplog span; the Percona backup spec carries the schedule and 30-day retention", async () => {
    let schedule: lib.BackupSchedule | undefined;
    await build((l, site) => {
      schedule = new l.BackupSchedule("mongo", {
        kind: "mongodb",
        dataset: "waris-mongo",
        site,
        schedule: "0 3 * * *",
        retentionDays: 30,
        continuousArchiveMinutes: 10,
        standbyPromotionMinutes: 15,
        mongoStorage: { name: "gcloud", bucket: "waris-prod-mongo", endpointUrl: "https://s3.gdcc.go.th", region: "th-bangkok-1", credentialsSecret: "mongo-backup" },
        location: "s3://waris-prod-mongo/ on gcloud",
      });
    });
    expect(schedule!.rpoMinutes).toBe(10);
    expect(schedule!.rtoMinutes).toBe(15);
    expect(schedule!.perconaBackupSpec).toEqual({
      enabled: true,
      storages: { gcloud: { type: "s3", s3: { bucket: "waris-prod-mongo", region: "th-bangkok-1", endpointUrl: "https://s3.gdcc.go.th", credentialsSecret: "mongo-backup", serverSideEncryption: { sseAlgorithm: "AES256" } } } },
      pitr: { enabled: true, oplogSpanMin: 10, compressionType: "gzip" },
      tasks: [{ name: "full", enabled: true, schedule: "0 3 * * *", storageName: "gcloud", type: "physical", retention: { type: "count", count: 31, deleteFromStorage: true } }],
    });
  });

  test("an hourly backup without an archive: RPO 60 min", async () => {
    let schedule: lib.BackupSchedule | undefined;
    await build((l, site) => {
      schedule = new l.BackupSchedule("pg", { kind: "postgresql", dataset: "pg", site, postgresCluster: "pg", schedule: "0 * * * *", retentionDays: 30, location: "x" });
    });
    expect(schedule!.rpoMinutes).toBe(60);
  });
});

describe("bad backup arguments are refused", () => {
  const pg = { kind: "postgresql" as const, dataset: "waris-postgres", hasSite: true, postgresCluster: "c", schedule: "0 2 * * 0", retentionDays: 30, location: "x" };
  const problem = (args: Partial<Parameters<typeof validateBackupScheduleArgs>[0]>, argument: string): string => {
    const found = validateBackupScheduleArgs({ ...pg, ...args }).problems.find((p) => p.argument === argument);
    expect(found).toBeDefined();
    return found!.message;
  };
  test("the baseline is valid", () => expect(validateBackupScheduleArgs(pg).problems).toEqual([]));
  test("a bad cron names the dataset", () => expect(problem({ schedule: "0 2 * *" }, "schedule")).toMatch(/of dataset "waris-postgres": cron "0 2 \* \*" has 4 fields; expected 5/));
  test("zero retention", () => expect(problem({ retentionDays: 0 }, "retentionDays")).toMatch(/is 0 for dataset "waris-postgres"; must be a whole number of days, at least 1/));
  test("versions on a database", () => expect(problem({ keepVersions: 5 }, "keepVersions")).toMatch(/applies to model artifacts only/));
  test("thinning for a dataset whose own tool prunes it", () => expect(problem({ keepEveryBackupForHours: 48 }, "keepEveryBackupForHours")).toMatch(/applies to Milvus only; postgresql backups are pruned by their own tool/));
  test("a schedule for model artifacts", () => expect(problem({ kind: "model-artifacts", keepVersions: 5 }, "schedule")).toMatch(/versioned as they are written/));

  const site = { name: "gcloud", kind: "gcloud" as const, region: "gdcc", country: "TH", role: "standby" as const, hasObjectStore: true };
  const bucketProblem = (s: Parameters<typeof validateObjectStorageBucketArgs>[0], args: Partial<Parameters<typeof validateObjectStorageBucketArgs>[1]>, argument: string): string => {
    const found = validateObjectStorageBucketArgs(s, { bucket: "waris-b", dataset: "d", retentionDays: 30, ...args }).find((p) => p.argument === argument);
    expect(found).toBeDefined();
    return found!.message;
  };
  test("the bucket baseline is valid", () => expect(validateObjectStorageBucketArgs(site, { bucket: "waris-b", dataset: "d", retentionDays: 30, objectLockDays: 7 })).toEqual([]));
  test("a bucket on DigitalOcean Spaces (no Thai region)", () =>
    expect(bucketProblem({ ...site, name: "do", kind: "digitalocean", region: "sgp1", country: "SG" }, {}, "site")).toMatch(/no digitalocean region \(none exists in Thailand today\)/));
  test("a bucket on Azure Blob (no Thai region)", () => expect(bucketProblem({ ...site, name: "az", kind: "azure", region: "southeastasia", country: "SG" }, {}, "site")).toMatch(/no azure region/));
  test("zero retention", () => expect(bucketProblem(site, { retentionDays: 0 }, "retentionDays")).toMatch(/at least 1/));
  test("no retention rule at all", () => expect(bucketProblem(site, { retentionDays: undefined }, "retentionDays")).toMatch(/or keepVersions is required/));
  test("a lock longer than the retention", () => expect(bucketProblem(site, { objectLockDays: 40 }, "objectLockDays")).toMatch(/above retentionDays 30/));
  test("a lock with keep-N-versions, which it would defeat", () => expect(bucketProblem(site, { retentionDays: undefined, keepVersions: 5, objectLockDays: 3 }, "objectLockDays")).toMatch(/cannot be combined with keepVersions/));
  test("a site without a store", () => expect(bucketProblem({ ...site, hasObjectStore: false }, {}, "site")).toMatch(/has no S3-compatible object store/));

  test("a bad cron in the stack file is reported under its key before anything is registered", async () => {
    const run = await runProgram("prod", (c) => editSetting(c, "backups", (b) => (b.postgresFullBackupSchedule = "every sunday")));
    expect((run.error as Error).message).toMatch(/waris-hybrid:backups.postgresFullBackupSchedule = "every sunday": PostgreSQL full backups: cron "every sunday" has 2 fields/);
    expect(run.recording.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});
