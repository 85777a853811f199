import type * as lib from "../components";
import { Run, analyzerResourcesOf, editSetting, evaluatePack, resource, resourcesOfType, runProgram, runProgramWithoutVault } from "./harness";
import { redisConf, redisConfIsPrimary, validateRedisPrimaryArgs } from "../components/redis-primary";

type Pod = { initContainers?: Array<{ name: string }>; containers: Array<{ name: string; image: string; args?: string[]; env?: Array<{ name: string; value?: string }> }> };
const statefulSet = (run: Run, site: string) => resource(run, "kubernetes:apps/v1:StatefulSet", `waris-redis-${site}-redis`);
const podOf = (run: Run, site: string): Pod => (statefulSet(run, site).inputs["spec"] as { template: { spec: Pod } }).template.spec;
const confOf = (run: Run, site: string): string => podOf(run, site).containers[0]!.env!.find((e) => e.name === "REDIS_CONF")!.value!;
const cronJobs = (run: Run) => resourcesOfType(run, "kubernetes:batch/v1:CronJob").filter((r) => r.name.startsWith("waris-redis-"));

describe("RedisPrimary in prod (steady, on-prem active)", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram("prod");
  });

  test("a StatefulSet on both sites: the primary on-prem, a TLS replica of it on G-Cloud", () => {
    expect(run.error).toBeUndefined();
    expect(statefulSet(run, "onprem").provider).toMatch(/providers:kubernetes::onprem$/);
    expect(statefulSet(run, "gcloud").provider).toMatch(/providers:kubernetes::gcloud$/);
    for (const site of ["onprem", "gcloud"]) {
      expect(statefulSet(run, site).inputs).toMatchObject({ metadata: { labels: { "waris.io/store": "redis", "waris.io/site": site, "waris.io/data-class": "personal" } }, spec: { replicas: 1 } });
      const conf = confOf(run, site);
      for (const line of ["port 0", "tls-port 6379", 'tls-protocols "TLSv1.3"', "tls-replication yes", "tls-ca-cert-file /tls/ca.crt", "appendonly yes", "appendfsync everysec"]) expect(conf).toContain(`${line}\n`);
      expect(podOf(run, site).containers[0]!.args![0]).toMatch(/--requirepass "\$REDIS_PASSWORD" --masterauth "\$REDIS_PASSWORD"$/);
    }
    expect(redisConfIsPrimary(confOf(run, "onprem"))).toBe(true);
    expect(confOf(run, "gcloud")).toContain("replicaof redis.onprem.waris.internal 6379\nreplica-read-only yes\n");
    expect(resource(run, "kubernetes:core/v1:Service", "waris-redis-gcloud-replication").inputs["spec"]).toMatchObject({ type: "LoadBalancer", ports: [{ port: 6379 }] });
  });

  test("each site's server certificate names its replication host", () => {
    // Prod takes its keys from Vault: the certificate is cert-manager's, signed through Vault.
    const cert = resource(run, "kubernetes:cert-manager.io/v1:Certificate", "waris-redis-onprem-tls");
    expect((cert.inputs["spec"] as { dnsNames: string[] }).dnsNames).toContain("redis.onprem.waris.internal");
  });

  test("the exporter sidecar and the lag alert at recovery.replicationLagTargetSeconds", () => {
    expect(podOf(run, "gcloud").containers[1]).toMatchObject({ name: "exporter", image: expect.stringMatching(/^oliver006\/redis_exporter:v\d+\.\d+\.\d+$/) });
    const rule = resource(run, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "waris-redis-gcloud-alerts").inputs["spec"] as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const lag = rule.groups[0]!.rules.find((r) => r.alert === "RedisReplicationLagHigh")!;
    expect(lag.expr).toMatch(/redis_master_last_io_seconds_ago\{namespace="waris-redis"\}\) > 60$/);
  });

  test("the hourly dump runs only where the primary is; RPO from the replication", () => {
    expect(cronJobs(run).map((j) => j.name)).toEqual(["waris-redis-onprem-backup"]);
    const job = cronJobs(run)[0]!;
    expect(job.inputs).toMatchObject({ metadata: { labels: { "waris.io/backup-of": "waris-redis" }, annotations: { "waris.io/retention-days": "30" } }, spec: { schedule: "0 * * * *" } });
    const upload = (job.inputs["spec"] as { jobTemplate: { spec: { template: { spec: { containers: Array<{ command: string[] }> } } } } }).jobTemplate.spec.template.spec.containers[0]!.command[2]!;
    expect(upload).toMatch(/aws s3 cp --only-show-errors --sse AES256 --endpoint-url https:\/\/s3.gdcc.go.th \/backup\/dump.rdb "s3:\/\/waris-prod-redis\/waris-redis\/dump-/);
    expect(run.outputs["redisPrimary"]).toMatchObject({ activeSite: "onprem", rpoMinutes: 1, rtoMinutes: 15 });
  });
});

test("a restore from a named dump: fetch and restore init containers on the primary site only", async () => {
  const run = await runProgram("prod", (c) => editSetting(c, "redis", (r) => (r.restoreFromDump = "dump-20261130T100000Z.rdb")));
  expect(run.error).toBeUndefined();
  expect(podOf(run, "onprem").initContainers!.map((c) => c.name)).toEqual(["restore-fetch", "restore"]);
  expect(podOf(run, "gcloud").initContainers).toBeUndefined();
});

test("a switchover's demote phase: both sites replicas, no dump job", async () => {
  const run = await runProgram("prod", (c) => {
    c["waris-hybrid:activeSite"] = "gcloud";
    c["waris-hybrid:failover"] = JSON.stringify({ procedure: "switchover", phase: "demote", from: "onprem" });
  });
  expect(run.error).toBeUndefined();
  expect(confOf(run, "onprem")).toContain("replicaof redis.gcloud.waris.internal 6379");
  expect(confOf(run, "gcloud")).toContain("replicaof redis.onprem.waris.internal 6379");
  expect(cronJobs(run)).toEqual([]);
});

test("the policy pack denies a Redis dumped only daily (RPO 1440 min)", async () => {
  const resources = await analyzerResourcesOf((kit) => {
    const onprem = new kit.lib.Site("onprem", { kind: "onprem", region: "pwa", country: "TH", role: "primary", kubeconfig: "k", volumes: { storageClass: "local-path", encryption: "node-disk-encryption" }, vpnRanges: ["10.10.0.0/16"] });
    const gcloud = new kit.lib.Site("gcloud", { kind: "gcloud", region: "gdcc", country: "TH", role: "standby", kubeconfig: "k", volumes: { storageClass: "local-path", encryption: "node-disk-encryption" }, vpnRanges: ["10.20.0.0/16"], objectStore: { endpoint: "https://s3.gdcc.go.th", accessKeyId: "a", secretAccessKey: "s" } });
    new (kit.lib as typeof lib).RedisPrimary("sessions", { sites: [onprem], roles: kit.lib.steadyRoles(["onprem"], "onprem"), password: "p", backupSite: gcloud, backupBucket: "b", backupSchedule: "0 2 * * *" });
  });
  const ds = (await evaluatePack(resources)).filter((d) => d.policyName === "waris-recovery-objectives");
  expect(ds.map((d) => d.message)).toEqual([expect.stringMatching(/redis dataset "sessions" .* worst-case RPO 1440 min exceeds 60 min/)]);
});

test("the pack takes a two-site Redis's RPO from its alerted replica (1 min), and from the dumps when no alert watches the lag", async () => {
  const build = (kit: Parameters<Parameters<typeof analyzerResourcesOf>[0]>[0]) => {
    const store = { endpoint: "https://s3.gdcc.go.th", accessKeyId: "a", secretAccessKey: "s" };
    const onprem = new kit.lib.Site("onprem", { kind: "onprem", region: "pwa", country: "TH", role: "primary", kubeconfig: "k", volumes: { storageClass: "local-path", encryption: "node-disk-encryption" }, vpnRanges: ["10.10.0.0/16"] });
    const gcloud = new kit.lib.Site("gcloud", { kind: "gcloud", region: "gdcc", country: "TH", role: "standby", kubeconfig: "k", volumes: { storageClass: "local-path", encryption: "node-disk-encryption" }, vpnRanges: ["10.20.0.0/16"], objectStore: store });
    new (kit.lib as typeof lib).RedisPrimary("sessions", {
      sites: [onprem, gcloud], roles: kit.lib.steadyRoles(["onprem", "gcloud"], "onprem"), password: "p", backupSite: gcloud, backupBucket: "b",
      backupSchedule: "0 2 * * *", replicationHosts: { onprem: "r.onprem", gcloud: "r.gcloud" },
    });
  };
  const resources = await analyzerResourcesOf(build);
  // A daily dump alone would be an RPO of 1440 min: the alerted replica is what meets 60, at 1 min.
  expect((await evaluatePack(resources)).filter((d) => d.enforcementLevel === "mandatory")).toEqual([]);
  const strict = (await evaluatePack(resources, { "waris-recovery-objectives": { rpoMinutes: 0.5 } })).filter((d) => d.policyName === "waris-recovery-objectives").map((d) => d.message);
  expect(strict).toEqual([expect.stringMatching(/^redis dataset "sessions" \(kubernetes:apps\/v1:StatefulSet "sessions-onprem-redis" on site onprem\).*worst-case RPO 1 min exceeds 0.5 min/)]);
  // Without the lag alerts the replica bounds nothing: the daily dump is the RPO again, and the lag policy asks for the alert.
  const unwatched = resources.filter((r) => !(r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule" && r.name.startsWith("sessions-")));
  const messages = (await evaluatePack(unwatched)).map((d) => `${d.policyName}: ${d.message}`);
  expect(messages).toContainEqual(expect.stringMatching(/^waris-recovery-objectives: redis dataset "sessions" .*worst-case RPO 1440 min exceeds 60 min/));
  expect(messages).toContainEqual(expect.stringMatching(/^waris-replication-lag-alerts: redis dataset "sessions" .*no alert on redis_connected_slave_lag_seconds/));
}, 60000);

describe("RedisPrimary refuses bad arguments", () => {
  const th = { name: "onprem", kind: "onprem" as const, region: "pwa", country: "TH", role: "primary" as const };
  const gc = { ...th, name: "gcloud", kind: "gcloud" as const };
  const store = { ...gc, hasObjectStore: true };
  const hosts = { onprem: "r.onprem", gcloud: "r.gcloud" };
  test("the baseline is valid", () => expect(validateRedisPrimaryArgs([th, gc], store, { backupBucket: "b", replicationHosts: hosts }).problems).toEqual([]));
  test("a bad cron", () => expect(validateRedisPrimaryArgs([th], store, { backupBucket: "b", backupSchedule: "hourly" }).problems[0]!.message).toMatch(/of Redis: cron "hourly" has 1 fields/));
  test("a cloud site", () => expect(validateRedisPrimaryArgs([{ ...th, kind: "aws", region: "ap-southeast-7" }], store, { backupBucket: "b" }).problems[0]!.message).toMatch(/Redis runs on the onprem\/gcloud Kubernetes sites/));
  test("two sites without a replication host", () => expect(validateRedisPrimaryArgs([th, gc], store, { backupBucket: "b", replicationHosts: { onprem: "r" } }).problems).toEqual([{ argument: "replicationHosts.gcloud", message: expect.stringMatching(/is required with two sites/) }]));
  test("a dump name the job never writes", () => expect(validateRedisPrimaryArgs([th], store, { backupBucket: "b", restoreFromDump: "latest" }).problems[0]!.argument).toBe("restoreFromDump"));
  test("a replica's configuration needs its primary", () => expect(() => redisConf({ role: "replica" })).toThrow(/needs the primary it follows/));
  test("in the stack file: dumps too rare for the RPO", async () => {
    const run = await runProgram("prod", (c) => editSetting(c, "redis", (r) => (r.backupSchedule = "0 2 * * *")));
    expect((run.error as Error).message).toMatch(/waris-hybrid:redis.backupSchedule = "0 2 \* \* \*": dumps up to 1440 min apart, above the RPO of 60 min/);
  });
  test("in the stack file: a missing replication host names the key, before any resource", async () => {
    const run = await runProgram("prod", (c) => editSetting(c, "redis", (r) => delete r.replicationHosts.gcloud));
    expect((run.error as Error).message).toMatch(/waris-hybrid:redis.replicationHosts.gcloud = \(not set\): Redis: is required with two sites/);
    expect(run.recording.resources.filter((r) => r.custom)).toEqual([]);
  });
  test("a missing password names the command", async () => {
    const run = await runProgramWithoutVault("prod", (c) => delete c["waris-hybrid:redisPassword"]);
    expect((run.error as Error).message).toMatch(/waris-hybrid:redisPassword = \(not set\): missing secret .* pulumi config set --secret --stack prod redisPassword/);
  });
});

test("the endpoint leads to the writable primary from every site: local pods on the serving site, the serving site's LoadBalancer elsewhere", async () => {
  const steady = await runProgram("prod");
  if (steady.error) throw steady.error;
  const spec = (run: Run, site: string) => resource(run, "kubernetes:core/v1:Service", `waris-redis-${site}-svc`).inputs["spec"];
  expect(spec(steady, "onprem")).toMatchObject({ type: "ExternalName", externalName: "waris-redis-local.waris-redis.svc.cluster.local" });
  expect(spec(steady, "gcloud")).toMatchObject({ type: "ExternalName", externalName: "redis.onprem.waris.internal" });
  expect(resource(steady, "kubernetes:core/v1:Service", "waris-redis-gcloud-local").inputs["spec"]).toMatchObject({ type: "ClusterIP" });
  const failedOver = await runProgram("prod", (c: Record<string, string>) => (c["waris-hybrid:activeSite"] = "gcloud"));
  if (failedOver.error) throw failedOver.error;
  expect(spec(failedOver, "onprem")).toMatchObject({ externalName: "redis.gcloud.waris.internal" });
  expect(spec(failedOver, "gcloud")).toMatchObject({ externalName: "waris-redis-local.waris-redis.svc.cluster.local" });
}, 60000);
