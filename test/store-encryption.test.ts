/**
 * Issue 16, item 4: how a store encrypts at rest is a property of the store (`sites.<name>.objectStore.encryption`),
 * every writer sends what that store accepts, and the pack checks the declared property. Every mode, every
 * writer: Barman Cloud `ObjectStore` (`wal`/`data`), Percona backup storage, bucket encryption configurations,
 * the Redis dump upload (milvus-backup and Milvus send no SSE header in any mode).
 */
import { STORE_ENCRYPTIONS, SSE_ALGORITHM, StoreEncryption, awsCliSseArgs, storeEncryptionProblems } from "../components/store-encryption";
import { analyzerResourcesOf, Run, editSetting, evaluatePack, resource, resourcesOfType, runProgram } from "./harness";

const withLabStore = (mode: StoreEncryption) => (config: Record<string, string>) =>
  editSetting(config, "sites", (sites) => {
    sites["lab"].objectStore.encryption = mode;
    if (mode === "sse-kms") sites["lab"].objectStore.kmsKeyId = "waris-backups";
  });

describe.each(STORE_ENCRYPTIONS)("dev with its MinIO declared %s", (mode) => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram("dev", withLabStore(mode));
  });

  test("Barman Cloud, Percona, the buckets and the Redis dump send exactly what the store accepts", () => {
    expect(run.error).toBeUndefined();
    const algorithm = SSE_ALGORITHM[mode];
    const store = resource(run, "kubernetes:barmancloud.cnpg.io/v1:ObjectStore", "waris-postgres-lab-store").inputs["spec"] as { configuration: Record<string, { encryption?: string }> };
    expect([store.configuration["wal"]!.encryption, store.configuration["data"]!.encryption]).toEqual([algorithm, algorithm]);
    const mongo = resource(run, "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB", "waris-mongo-lab-cluster").inputs["spec"] as { backup: { storages: Record<string, { s3: { serverSideEncryption?: unknown } }> } };
    expect(mongo.backup.storages["lab"]!.s3.serverSideEncryption).toEqual(algorithm ? { sseAlgorithm: algorithm, ...(mode === "sse-kms" ? { kmsKeyID: "waris-backups" } : {}) } : undefined);
    const buckets = resourcesOfType(run, "aws:s3/bucket:Bucket");
    const configs = resourcesOfType(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
    expect(buckets.length).toBeGreaterThan(3);
    expect(configs).toHaveLength(algorithm ? buckets.length : 0);
    for (const c of configs) expect((c.inputs["rules"] as Array<{ applyServerSideEncryptionByDefault: { sseAlgorithm: string } }>)[0]!.applyServerSideEncryptionByDefault.sseAlgorithm).toBe(algorithm);
    const job = resourcesOfType(run, "kubernetes:batch/v1:CronJob").find((j) => /^waris-redis-[a-z]+-backup$/.test(j.name))!.inputs["spec"] as { jobTemplate: { spec: { template: { spec: { containers: Array<{ command: string[] }> } } } } };
    const upload = job.jobTemplate.spec.template.spec.containers[0]!.command.join(" ");
    const sse = awsCliSseArgs({ mode, kmsKeyId: mode === "sse-kms" ? "waris-backups" : undefined });
    if (sse.length > 0) expect(upload).toContain(`aws s3 cp --only-show-errors ${sse.join(" ")} --endpoint-url`);
    else expect(upload).not.toContain("--sse");
  });

  test("the pack passes it: the store's declaration, not one header, is what it checks", async () => {
    const { toAnalyzerResources } = require("../plan/offline-plan") as typeof import("../plan/offline-plan");
    const ds = await evaluatePack(toAnalyzerResources(run.recording.resources));
    expect(ds.filter((d) => ["waris-store-encryption", "waris-bucket-encryption", "waris-encryption-at-rest"].includes(d.policyName))).toEqual([]);
  });
});

test("the pack denies a writer that sends a header the store refuses, or omits one it needs", async () => {
  const resources = await analyzerResourcesOf(({ lib, k8s }) => {
    const kubeconfig = "fake";
    const lab = new lib.Site("lab", { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig, objectStore: { endpoint: "https://minio.lab", accessKeyId: "a", secretAccessKey: "s", encryption: "store-managed" } });
    const g = new lib.Site("g", { kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby", kubeconfig, objectStore: { endpoint: "https://s3.gdcc.go.th", accessKeyId: "a", secretAccessKey: "s", encryption: "sse-kms" } });
    const store = (site: typeof lab, name: string, endpointURL: string, encryption?: string) =>
      new k8s.apiextensions.CustomResource(name, { apiVersion: "barmancloud.cnpg.io/v1", kind: "ObjectStore", metadata: { name, namespace: "x" }, spec: { configuration: { destinationPath: "s3://b/", endpointURL, wal: { encryption }, data: { encryption } } } }, { provider: site.kubernetesProvider });
    store(lab, "to-minio", "https://minio.lab", "AES256");
    store(lab, "to-gdcc", "https://s3.gdcc.go.th", "AES256");
    const s3 = require("@pulumi/aws/s3") as typeof import("@pulumi/aws/s3");
    new s3.BucketServerSideEncryptionConfiguration("minio-sse", { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, { provider: lab.objectStoreProvider });
    void g;
  });
  const messages = (await evaluatePack(resources)).filter((d) => d.policyName === "waris-store-encryption").map((d) => d.message).sort();
  expect(messages).toEqual([
    expect.stringMatching(/^Bucket encryption "minio-sse" sends "AES256" to site "lab"'s store, declared store-managed \(send no SSE header\)/),
    expect.stringMatching(/^CloudNativePG ObjectStore "to-gdcc" spec.configuration.data.encryption sends "AES256" to site "g"'s store, declared sse-kms \(send aws:kms\)/),
    expect.stringMatching(/^CloudNativePG ObjectStore "to-gdcc" spec.configuration.wal.encryption sends "AES256"/),
    expect.stringMatching(/^CloudNativePG ObjectStore "to-minio" spec.configuration.data.encryption sends "AES256" to site "lab"'s store, declared store-managed/),
    expect.stringMatching(/^CloudNativePG ObjectStore "to-minio" spec.configuration.wal.encryption sends "AES256"/),
  ]);
});

test("a wrong declaration names the setting and the allowed values", () => {
  expect(storeEncryptionProblems({ mode: "aes" }, "objectStore")).toEqual([{ argument: "objectStore.encryption", message: 'is "aes"; allowed: sse-s3, sse-kms, store-managed' }]);
  expect(storeEncryptionProblems({ mode: "sse-s3", kmsKeyId: "k" }, "objectStore").map((p) => p.argument)).toEqual(["objectStore.kmsKeyId"]);
});
