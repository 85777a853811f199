import type * as lib from "../components";
import { Run, analyzerResourcesOf, editSetting, evaluatePack, resource, runProgram } from "./harness";
import { validateRedisPrimaryArgs } from "../components/redis-primary";

const statefulSet = (run: Run) => resource(run, "kubernetes:apps/v1:StatefulSet", "waris-redis-redis");

describe("RedisPrimary in prod", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram("prod");
  });

  test("one primary on the active site: TLS 1.3 only, AOF every second, a password", () => {
    expect(run.error).toBeUndefined();
    const sts = statefulSet(run);
    expect(sts.provider).toMatch(/providers:kubernetes::onprem$/);
    expect(sts.inputs).toMatchObject({ metadata: { labels: { "waris.io/store": "redis", "waris.io/site": "onprem", "waris.io/data-class": "personal" } }, spec: { replicas: 1 } });
    const args = (sts.inputs["spec"] as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]!.args[0]!;
    for (const flag of ["--port 0 --tls-port 6379", "--tls-protocols TLSv1.3", "--appendonly yes --appendfsync everysec", '--requirepass "$REDIS_PASSWORD"']) expect(args).toContain(flag);
    expect(resource(run, "kubernetes:core/v1:Service", "waris-redis-svc").inputs["spec"]).toMatchObject({ type: "ClusterIP", ports: [{ port: 6379 }] });
  });

  test("an hourly RDB dump to the G-Cloud bucket, which expires dumps after 30 days", () => {
    const job = resource(run, "kubernetes:batch/v1:CronJob", "waris-redis-backup");
    expect(job.inputs).toMatchObject({ metadata: { labels: { "waris.io/backup-of": "waris-redis" }, annotations: { "waris.io/retention-days": "30" } }, spec: { schedule: "0 * * * *" } });
    const upload = (job.inputs["spec"] as { jobTemplate: { spec: { template: { spec: { containers: Array<{ command: string[] }> } } } } }).jobTemplate.spec.template.spec.containers[0]!.command[2]!;
    expect(upload).toMatch(/aws s3 cp --only-show-errors --sse AES256 --endpoint-url https:\/\/s3.gdcc.go.th \/backup\/dump.rdb "s3:\/\/waris-prod-redis\/waris-redis\/dump-/);
    const rules = resource(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "redis-backups").inputs["rules"] as Array<Record<string, unknown>>;
    expect(rules[0]).toMatchObject({ expiration: { days: 30 }, noncurrentVersionExpiration: { noncurrentDays: 30 } });
    expect(run.outputs["redisPrimary"]).toMatchObject({ rpoMinutes: 60, rtoMinutes: 32 });
  });
});

test("activeSite = gcloud moves Redis to G-Cloud", async () => {
  const run = await runProgram("prod", (c) => (c["waris-hybrid:activeSite"] = "gcloud"));
  expect(statefulSet(run).provider).toMatch(/providers:kubernetes::gcloud$/);
});

test("the policy pack denies a Redis dumped only daily (RPO 1440 min)", async () => {
  const resources = await analyzerResourcesOf((kit) => {
    const onprem = new kit.lib.Site("onprem", { kind: "onprem", region: "pwa", country: "TH", role: "primary", kubeconfig: "k" });
    const gcloud = new kit.lib.Site("gcloud", { kind: "gcloud", region: "gdcc", country: "TH", role: "standby", kubeconfig: "k", objectStore: { endpoint: "https://s3.gdcc.go.th", accessKeyId: "a", secretAccessKey: "s" } });
    new (kit.lib as typeof lib).RedisPrimary("sessions", { site: onprem, password: "p", backupSite: gcloud, backupBucket: "b", backupSchedule: "0 2 * * *" });
  });
  const ds = (await evaluatePack(resources)).filter((d) => d.policyName === "waris-recovery-objectives");
  expect(ds.map((d) => d.message)).toEqual([expect.stringMatching(/redis dataset "sessions" .* worst-case RPO 1440 min exceeds 60 min/)]);
});

describe("RedisPrimary refuses bad arguments", () => {
  const th = { name: "onprem", kind: "onprem" as const, region: "pwa", country: "TH", role: "primary" as const };
  const store = { ...th, name: "gcloud", kind: "gcloud" as const, hasObjectStore: true };
  test("the baseline is valid", () => expect(validateRedisPrimaryArgs(th, store, { backupBucket: "b" }).problems).toEqual([]));
  test("a bad cron", () => expect(validateRedisPrimaryArgs(th, store, { backupBucket: "b", backupSchedule: "hourly" }).problems[0]!.message).toMatch(/of Redis: cron "hourly" has 1 fields/));
  test("a cloud site", () => expect(validateRedisPrimaryArgs({ ...th, kind: "aws", region: "ap-southeast-7" }, store, { backupBucket: "b" }).problems[0]!.message).toMatch(/Redis runs on the onprem\/gcloud Kubernetes sites/));
  test("in the stack file: dumps too rare for the RPO", async () => {
    const run = await runProgram("prod", (c) => editSetting(c, "redis", (r) => (r.backupSchedule = "0 2 * * *")));
    expect((run.error as Error).message).toMatch(/waris-hybrid:redis.backupSchedule = "0 2 \* \* \*": dumps up to 1440 min apart, above the RPO of 60 min/);
  });
  test("a missing password names the command", async () => {
    const run = await runProgram("prod", (c) => delete c["waris-hybrid:redisPassword"]);
    expect((run.error as Error).message).toMatch(/waris-hybrid:redisPassword = \(not set\): missing secret .* pulumi config set --secret --stack prod redisPassword/);
  });
});
