import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as lib from "../components";
import { Run, analyzerResourcesOf, editSetting, evaluatePack, resource, resourcesOfType, runProgram } from "./harness";
import { milvusBackupScript } from "../components/backup-schedule";
import { load as parseYaml } from "js-yaml";
import { milvusBackupConfig, validateMilvusPrimaryArgs } from "../components/milvus-primary";

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const milvusCr = (run: Run, site = "onprem") => resource(run, "kubernetes:milvus.io/v1beta1:Milvus", `waris-milvus-${site}-milvus`);

describe("MilvusPrimary in prod", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram("prod");
  });

  test("Milvus on the active site with its segments in that site's own store, TLS and authentication", () => {
    expect(run.error).toBeUndefined();
    const cr = milvusCr(run);
    expect(cr.provider).toMatch(/providers:kubernetes::onprem$/);
    const spec = cr.inputs["spec"] as Spec;
    expect(cr.inputs["metadata"]).toMatchObject({
      name: "waris-milvus",
      namespace: "waris-milvus",
      labels: { "waris.io/site": "onprem", "waris.io/data-class": "confidential", "waris.io/dataset": "waris-milvus", "waris.io/store": "milvus" },
      annotations: { "waris.io/dataset-size-gib": "200" },
    });
    expect(spec).toMatchObject({
      mode: "standalone",
      config: {
        common: { security: { authorizationEnabled: true, tlsMode: 1 } },
        tls: { serverPemPath: "/milvus/configs/cert/tls.crt", serverKeyPath: "/milvus/configs/cert/tls.key" },
        minio: { bucketName: "waris-prod-milvus-data", rootPath: "waris-milvus", useSSL: true },
      },
      dependencies: { storage: { external: true, endpoint: "minio.onprem.waris.internal:443", secretRef: "waris-milvus-storage" }, msgStreamType: "rocksmq" },
    });
    expect(spec["components"]["image"]).toMatch(/^milvusdb\/milvus:v\d+\.\d+\.\d+$/);
    expect(spec["components"]["env"]).toEqual([
      { name: "COMMON_SECURITY_DEFAULTROOTPASSWORD", valueFrom: { secretKeyRef: { name: "waris-milvus-root", key: "password" } } },
    ]);
    // The data bucket is on the on-prem store, versioned and encrypted, and survives a move of the active site.
    const bucket = resource(run, "aws:s3/bucket:Bucket", "waris-milvus-onprem-data");
    expect(bucket.provider).toMatch(/providers:aws::onprem-object-store$/);
    expect(bucket.inputs).toMatchObject({ bucket: "waris-prod-milvus-data", tags: { "waris-site": "onprem", "waris-dataset": "waris-milvus" } });
    expect(resource(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "waris-milvus-onprem-data").inputs["rules"]).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: false },
    ]);
    expect(resource(run, "kubernetes:helm.sh/v3:Release", "waris-milvus-onprem-operator").inputs).toMatchObject({ chart: "milvus-operator", version: "1.2.7" });
  });

  test("hourly milvus-backup into G-Cloud, every backup kept 48 h then one a day to 14 days: RPO 60 min", () => {
    const job = resource(run, "kubernetes:batch/v1:CronJob", "waris-milvus-backup");
    expect(job.provider).toMatch(/providers:kubernetes::onprem$/);
    expect(job.inputs).toMatchObject({
      metadata: { namespace: "waris-milvus", labels: { "waris.io/backup-of": "waris-milvus" }, annotations: { "waris.io/retention-days": "14" } },
      spec: { schedule: "0 * * * *", concurrencyPolicy: "Forbid" },
    });
    const pod = (job.inputs["spec"] as Spec)["jobTemplate"]["spec"]["template"]["spec"];
    expect(pod.containers[0].command[2]).toBe(milvusBackupScript(14, 48));
    expect(pod.volumes).toEqual([{ name: "config", secret: { secretName: "waris-milvus-backup-config" } }]);
    expect(run.outputs["milvusPrimary"]).toMatchObject({ endpoint: "waris-milvus-milvus.waris-milvus.svc.cluster.local:19530", rpoMinutes: 60, rtoMinutes: 65 });
    expect(run.outputs["recovery"]).toContainEqual(
      expect.objectContaining({ dataset: "waris-milvus", rpoMinutes: 60, retention: "14 days (every backup for 48 h, then the first of each day)", location: "s3://waris-prod-milvus/waris-milvus/ on gcloud" }),
    );
    // Deleted (thinned) backups do not linger as versions: 2 days, the lock too.
    expect(resource(run, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "milvus-backups").inputs["rule"]).toEqual({ defaultRetention: { mode: "GOVERNANCE", days: 2 } });
  });

  test("milvus-backup's config: Milvus over verified TLS, its store and the G-Cloud store, streamed between the two", () => {
    // prod takes its keys from Vault: the Secret is written by External Secrets (its template is tested in
    // vault-keys-milvus-llm-monitoring.test.ts); check it, then the file's text.
    const secret = resource(run, "kubernetes:external-secrets.io/v1:ExternalSecret", "waris-milvus-onprem-backup-config");
    expect(secret.inputs["metadata"]).toMatchObject({ name: "waris-milvus-backup-config", namespace: "waris-milvus" });
    const store = { port: 443, accessKeyId: "AK", secretAccessKey: "SK" };
    const yaml = milvusBackupConfig({
      host: "waris-milvus-milvus.waris-milvus.svc.cluster.local",
      password: "pw",
      dataStore: { ...store, host: "minio.onprem.waris.internal", bucket: "waris-prod-milvus-data" },
      backupStore: { ...store, host: "s3.gdcc.go.th", region: "th-bangkok-1", bucket: "waris-prod-milvus" },
      rootPath: "waris-milvus-g2",
      backupRootPath: "waris-milvus",
      crossStorage: true,
    });
    expect(parseYaml(yaml)).toMatchObject({ milvus: { port: 19530, user: "root", password: "pw" }, minio: { port: 443, useSSL: true, backupUseSSL: true }, backup: { gcPause: { enable: true } } });
    for (const line of [
      'address: "waris-milvus-milvus.waris-milvus.svc.cluster.local"',
      "tlsMode: 1",
      'caCertPath: "/app/configs/ca.crt"',
      'address: "minio.onprem.waris.internal"',
      'bucketName: "waris-prod-milvus-data"',
      'backupAddress: "s3.gdcc.go.th"',
      'backupRegion: "th-bangkok-1"',
      'backupBucketName: "waris-prod-milvus"',
      'crossStorage: "true"',
      // A rebuilt generation's data root; the backups keep one root for every site and generation.
      'rootPath: "waris-milvus-g2"',
      'backupRootPath: "waris-milvus"',
    ]) {
      expect(yaml).toContain(line);
    }
  });
});

test("activeSite = gcloud: Milvus runs on G-Cloud; on-prem's Milvus, etcd volume and bucket stay, scaled to 0", async () => {
  const run = await runProgram("prod", (c) => (c["waris-hybrid:activeSite"] = "gcloud"));
  expect(run.error).toBeUndefined();
  expect(milvusCr(run, "gcloud").provider).toMatch(/providers:kubernetes::gcloud$/);
  expect((milvusCr(run, "gcloud").inputs["spec"] as Spec)["components"]["standalone"]["replicas"]).toBe(1);
  expect((milvusCr(run, "onprem").inputs["spec"] as Spec)["components"]["standalone"]["replicas"]).toBe(0);
  expect((milvusCr(run, "onprem").inputs["spec"] as Spec)["dependencies"]["etcd"]["inCluster"]).toMatchObject({ deletionPolicy: "Retain", pvcDeletion: false });
  const buckets = resourcesOfType(run, "aws:s3/bucket:Bucket").map((b) => b.name);
  expect(buckets).toEqual(expect.arrayContaining(["waris-milvus-onprem-data", "waris-milvus-gcloud-data"]));
  expect(resource(run, "aws:s3/bucket:Bucket", "waris-milvus-gcloud-data").provider).toMatch(/providers:aws::gcloud-object-store$/);
  // Each site's schedule: on-prem's (the home site's, its old name) suspended, G-Cloud's running.
  expect((resource(run, "kubernetes:batch/v1:CronJob", "waris-milvus-backup").inputs["spec"] as Spec)["suspend"]).toBe(true);
  expect((resource(run, "kubernetes:batch/v1:CronJob", "waris-milvus-gcloud-backup").inputs["spec"] as Spec)["suspend"]).toBe(false);
  expect(resourcesOfType(run, "kubernetes:batch/v1:Job").filter((j) => j.name.startsWith("waris-milvus"))).toEqual([]);
});

test("dev: Milvus on the lab with data and backups in two buckets of the lab MinIO", async () => {
  const run = await runProgram("dev");
  expect(run.error).toBeUndefined();
  expect(milvusCr(run, "lab").provider).toMatch(/providers:kubernetes::lab$/);
  expect(resource(run, "aws:s3/bucket:Bucket", "milvus-backups").inputs["bucket"]).toBe("waris-dev-milvus");
});

test("the policy pack denies a Milvus backed up daily (the seed's schedule: RPO 1440 min)", async () => {
  const resources = await analyzerResourcesOf((kit) => {
    const store = { endpoint: "https://s3.gdcc.go.th", accessKeyId: "a", secretAccessKey: "s" };
    const onprem = new kit.lib.Site("onprem", { kind: "onprem", region: "pwa", country: "TH", role: "primary", kubeconfig: "k", volumes: { storageClass: "local-path", encryption: "node-disk-encryption" }, objectStore: { ...store, endpoint: "https://minio.pwa" } });
    const gcloud = new kit.lib.Site("gcloud", { kind: "gcloud", region: "gdcc", country: "TH", role: "standby", kubeconfig: "k", volumes: { storageClass: "local-path", encryption: "node-disk-encryption" }, objectStore: store });
    new (kit.lib as typeof lib).MilvusPrimary("vectors", { sites: [onprem], roles: kit.lib.steadyRoles(["onprem"], "onprem"), dataBucket: "vectors-data", backupSite: gcloud, backupBucket: "vectors-backups", backupSchedule: "0 1 * * *" });
  });
  const ds = (await evaluatePack(resources)).filter((d) => d.enforcementLevel === "mandatory");
  expect(ds.map((d) => d.message)).toEqual([expect.stringMatching(/milvus dataset "vectors" .* worst-case RPO 1440 min exceeds 60 min/)]);
});

test("the policy pack denies a Milvus without TLS, on its port or to its store", async () => {
  const resources = await analyzerResourcesOf((kit) => {
    const site = new kit.lib.Site("onprem", { kind: "onprem", region: "pwa", country: "TH", role: "primary", kubeconfig: "k", volumes: { storageClass: "local-path", encryption: "node-disk-encryption" } });
    new kit.k8s.apiextensions.CustomResource(
      "plain",
      {
        apiVersion: "milvus.io/v1beta1",
        kind: "Milvus",
        metadata: { name: "plain", labels: { "waris.io/site": "onprem", "waris.io/data-class": "internal" } },
        spec: { config: { minio: { useSSL: false } }, dependencies: { storage: { external: true } } },
      },
      { provider: site.kubernetesProvider },
    );
  });
  const ds = (await evaluatePack(resources)).filter((d) => d.policyName === "waris-encryption-in-transit");
  expect(ds.map((d) => d.message)).toEqual([
    expect.stringMatching(/Milvus "plain": spec.config.common.security.tlsMode is undefined; set 1/),
    expect.stringMatching(/Milvus "plain" reaches its object store without TLS/),
  ]);
});

describe("MilvusPrimary refuses bad arguments", () => {
  const onprem = { name: "onprem", kind: "onprem" as const, region: "pwa", country: "TH", role: "primary" as const, hasObjectStore: true };
  const gcloud = { ...onprem, name: "gcloud", kind: "gcloud" as const, role: "standby" as const };
  const ok = { dataBucket: "vectors-data", backupBucket: "vectors-backups" };
  const messages = (...a: Parameters<typeof validateMilvusPrimaryArgs>) => validateMilvusPrimaryArgs(...a).map((p) => `${p.argument}: ${p.message}`);
  test("the baseline is valid", () => expect(messages(onprem, gcloud, ok)).toEqual([]));
  test("a site without its own object store", () =>
    expect(messages({ ...onprem, hasObjectStore: false }, gcloud, ok)).toEqual([expect.stringMatching(/^site: "onprem" has no S3-compatible object store; Milvus keeps its segments/)]));
  test("a cloud site", () => expect(messages({ ...onprem, kind: "aws", region: "ap-southeast-7" }, gcloud, ok)[0]).toMatch(/Milvus runs on the onprem\/gcloud Kubernetes sites/));
  test("a data bucket name S3 refuses", () => expect(messages(onprem, gcloud, { ...ok, dataBucket: "Vectors_Data" })).toEqual([expect.stringMatching(/^dataBucket: is "Vectors_Data"; an S3 bucket name is 3-63 lowercase/)]));
  test("backups in the data bucket", () => expect(messages(onprem, onprem, { dataBucket: "vectors", backupBucket: "vectors" })).toEqual([expect.stringMatching(/^backupBucket: is the data bucket "vectors" on the same store/)]));
  test("a bad cron, zero retention, a bad mode, an impossible size", () =>
    expect(messages(onprem, gcloud, { ...ok, backupSchedule: "hourly", backupRetentionDays: 0, mode: "mesh" as never, memoryGiB: 0.5 })).toEqual([
      expect.stringMatching(/^mode: is "mesh"; allowed: standalone, cluster/),
      expect.stringMatching(/^memoryGiB: is 0.5/),
      expect.stringMatching(/^backupSchedule: of Milvus: cron "hourly" has 1 fields/),
      expect.stringMatching(/^backupRetentionDays: is 0 for Milvus; must be a whole number of days, at least 1/),
    ]));
  test("keeping every backup longer than any backup is kept", () =>
    expect(messages(onprem, gcloud, { ...ok, backupRetentionDays: 1, keepEveryBackupForHours: 48 })).toEqual([expect.stringMatching(/^keepEveryBackupForHours: is 48 h, beyond retentionDays 1/)]));
  test("in the stack file: the seed's daily backups miss the RPO, and the error says why", async () => {
    const run = await runProgram("prod", (c) => editSetting(c, "milvus", (m) => (m.backupSchedule = "0 1 * * *")));
    expect((run.error as Error).message).toMatch(/waris-hybrid:milvus.backupSchedule = "0 1 \* \* \*": backs up 1440 min apart, above the RPO of 60 min/);
  });
  test("in the stack file: an active site without an object store", async () => {
    const run = await runProgram("prod", (c) => editSetting(c, "sites", (s) => delete s.onprem.objectStore));
    expect((run.error as Error).message).toMatch(/waris-hybrid:activeSite = "onprem": Milvus: "onprem" has no S3-compatible object store/);
  });
  test("in the stack file: two stores and no backups.site", async () => {
    const run = await runProgram("prod", (c) => editSetting(c, "backups", (b) => delete b.site));
    expect((run.error as Error).message).toMatch(/waris-hybrid:postgres.backupSite = \(not set\): is not set and no single data site has an objectStore to default to; name the site that keeps the backups in backups.site/);
  });
});

describe("the Milvus backup job's pruning, run in a shell against a fake milvus-backup", () => {
  // Hourly backups over the last 20 days, 30 minutes off the current minute of the hour: the script's
  // cut-off has a minute's resolution, so a backup stamped in the cut-off's own minute would be kept
  // although the test's millisecond cut-off is past it (this failed CI once, run at hh:30).
  const HOUR = 3_600_000;
  const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-T:]/g, "").slice(0, 12);
  const minute = (new Date().getUTCMinutes() + 30) % 60;
  const base = Math.floor(Date.now() / HOUR) * HOUR - HOUR + minute * 60_000;
  const backups = Array.from({ length: 20 * 24 }, (_, i) => base - i * HOUR);

  function prune(script: string): string[] {
    const dir = mkdtempSync(join(tmpdir(), "milvus-prune-"));
    writeFileSync(join(dir, "list.txt"), backups.map((t) => `| waris_${stamp(t)} | 2 collections |`).join("\n") + "\n");
    writeFileSync(
      join(dir, "milvus-backup"),
      `#!/bin/sh\ncase "$1" in\n  list) cat "${dir}/list.txt" ;;\n  create) echo "$3" >> "${dir}/created" ;;\n  delete) echo "$3" >> "${dir}/deleted" ;;\nesac\n`,
    );
    chmodSync(join(dir, "milvus-backup"), 0o755);
    execFileSync("sh", ["-c", script], { env: { ...process.env, PATH: `${dir}:${process.env["PATH"]}` } });
    expect(readFileSync(join(dir, "created"), "utf8")).toMatch(/^waris_\d{12}\n$/);
    try {
      return readFileSync(join(dir, "deleted"), "utf8").trim().split("\n").sort();
    } catch {
      return [];
    }
  }

  test("keeps every backup of the last 48 h and the first of each UTC day until 14 days", () => {
    const now = Date.now();
    const firstOfDay = new Map<string, number>();
    for (const t of [...backups].sort((a, b) => a - b)) if (!firstOfDay.has(stamp(t).slice(0, 8))) firstOfDay.set(stamp(t).slice(0, 8), t);
    const kept = (t: number) => t >= now - 14 * 24 * HOUR && (t >= now - 48 * HOUR || firstOfDay.get(stamp(t).slice(0, 8)) === t);
    const deleted = prune(milvusBackupScript(14, 48));
    expect(deleted).toEqual(backups.filter((t) => !kept(t)).map((t) => `waris_${stamp(t)}`).sort());
    // 48 hourly ones, and one a day for the rest of the 14 days (11 or 12 days, by the time of day).
    expect(backups.length - deleted.length).toBeGreaterThanOrEqual(48 + 11);
    expect(backups.length - deleted.length).toBeLessThanOrEqual(48 + 12);
  });

  test("without thinning, deletes only what is older than the retention", () => {
    const cutoff = Date.now() - 14 * 24 * HOUR;
    expect(prune(milvusBackupScript(14))).toEqual(backups.filter((t) => t < cutoff).map((t) => `waris_${stamp(t)}`).sort());
  });
});
