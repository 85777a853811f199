/**
 * Issue 21: the library on a cluster it shares with the platform and with other teams. Two instances of
 * every component on the same sites, with a library user's defaults, under mocks: no two objects of one
 * cluster (or one cloud account) share a name, and nothing cluster-wide is installed or patched that the
 * platform owns (operators, CRDs, the RuntimeClass, other stacks' nodes).
 */
import type * as lib from "../components";
import type { RecordedResource } from "../plan/mock-runtime";
import { Run, runIsolated, stackConfig } from "./harness";

type Lib = typeof lib;
/** The stack these runs are (project of stackConfig("prod"), stack "test"): the owner of its own GPU nodes. */
const OWNER = "waris-hybrid/test";

/** Kubernetes kinds that are not namespaced: a name of one of these is cluster-wide. */
const CLUSTER_SCOPED = /:(Namespace|ClusterRole|ClusterRoleBinding|RuntimeClass|CustomResourceDefinition|NodePatch|Node|PriorityClass|StorageClass|(Validating|Mutating)WebhookConfiguration|ClusterIssuer)$/;

/** One team's use of every component, all named `<prefix>-…`, with the library's defaults. */
function everyComponent(l: Lib, p: string, s: { onprem: lib.Site; gcloud: lib.Site; aws: lib.Site }): void {
  const roles = l.steadyRoles(["onprem", "gcloud"], "onprem");
  const hosts = (what: string) => ({ onprem: `${p}-${what}.onprem.test.internal`, gcloud: `${p}-${what}.gcloud.test.internal` });
  const pools = [
    new l.GpuNodePool(`${p}-gpus`, { site: s.onprem, gpuModel: "L40S", gpusPerNode: 2, workload: "inference", nodeNames: [`${p}-gpu-01`], nodeOwner: OWNER }),
    new l.GpuNodePool(`${p}-gpus-dr`, { site: s.gcloud, gpuModel: "L40S", gpusPerNode: 2, workload: "inference", nodeNames: [`${p}-gpu-dr-01`], nodeOwner: OWNER }),
  ];
  new l.InferenceCluster(`${p}-llm`, {
    sites: [s.onprem, s.gcloud],
    pools,
    activeSite: "onprem",
    primary: { model: "m-8b", source: "s3://models/m-8b/", parametersBillions: 8, precision: "fp8", tensorParallelSize: 1 },
    overflow: { model: "m-8b", source: "s3://models/m-8b/", parametersBillions: 8, precision: "fp8", tensorParallelSize: 1 },
    apiKey: "k",
    appNamespace: `${p}-app`,
    gatewayHosts: hosts("llm"),
    modelStore: s.gcloud,
  });
  const db = new l.PostgresCluster(`${p}-db`, { sites: [s.onprem, s.gcloud], roles, backupSite: s.gcloud, backupBucket: `${p}-db-backups`, replicationHosts: hosts("db"), appPassword: "pw", storageSizeGiB: 20 });
  db.addBackupSchedule(`${p}-db-weekly`, { schedule: "0 3 * * 0" });
  const mongoBucket = new l.ObjectStorageBucket(`${p}-mongo-backups`, { site: s.gcloud, bucket: `${p}-mongo-backups`, dataset: `${p}-mongo`, retentionDays: 30, objectLockDays: 7 });
  const mongoBackups = new l.BackupSchedule(`${p}-mongo-full`, {
    kind: "mongodb",
    dataset: `${p}-mongo`,
    site: s.onprem,
    schedule: "0 3 * * *",
    retentionDays: 30,
    continuousArchiveMinutes: 10,
    mongoStorage: { name: "gcloud", bucket: mongoBucket.bucket, endpointUrl: mongoBucket.endpoint, region: "us-east-1", credentialsSecret: `${p}-mongo-backup` },
    location: mongoBucket.url,
  });
  new l.MongoReplicaSet(`${p}-mongo`, {
    sites: [s.onprem, s.gcloud],
    roles,
    memberHosts: { onprem: [0, 1, 2].map((i) => `${p}-mongo-${i}.onprem.test.internal`), gcloud: [0, 1, 2].map((i) => `${p}-mongo-${i}.gcloud.test.internal`) },
    backup: mongoBackups.perconaBackupSpec,
    backupSite: s.gcloud,
    backupCredentialsSecret: `${p}-mongo-backup`,
  });
  const dumps = new l.ObjectStorageBucket(`${p}-redis-backups`, { site: s.gcloud, bucket: `${p}-redis-backups`, dataset: `${p}-redis`, retentionDays: 30, expireObjectsAfterDays: 30, objectLockDays: 7 });
  new l.RedisPrimary(`${p}-redis`, { sites: [s.onprem, s.gcloud], roles, replicationHosts: hosts("redis"), password: "pw", backupSite: s.gcloud, backupBucket: dumps.bucket });
  const milvusBackups = new l.ObjectStorageBucket(`${p}-milvus-backups`, { site: s.gcloud, bucket: `${p}-milvus-backups`, dataset: `${p}-milvus`, retentionDays: 2, objectLockDays: 2 });
  new l.MilvusPrimary(`${p}-milvus`, { sites: [s.onprem, s.gcloud], roles, dataBucket: `${p}-milvus-data`, backupSite: s.gcloud, backupBucket: milvusBackups.bucket, dataSizeGiB: 10 });
  new l.Monitoring(`${p}-monitoring`, {
    site: s.onprem,
    probes: [{ site: "onprem", kind: "database", service: `${p}-db`, target: `${p}-db.onprem.test.internal:5432`, module: "tcp_connect" }],
    datasets: [{ dataset: `${p}-db`, kind: "postgresql", namespace: `${p}-db`, backupGapMinutes: 7 * 24 * 60 }],
    receivers: { pagerduty: { severities: ["critical", "warning"] } },
    secrets: { pagerdutyRoutingKey: "rk" },
  });
  new l.ManagedPostgres(`${p}-reports`, { site: s.aws, subnetGroupName: "private", securityGroupIds: ["sg-1"], password: "pw", readReplicas: 1 });
}

/** The name under which an object is known to its cluster or cloud account: provider, kind, namespace, name. */
function identity(r: RecordedResource): string | undefined {
  const inputs = r.inputs as { metadata?: { name?: string; namespace?: string }; name?: string; namespace?: string; bucket?: string; identifier?: string };
  if (r.type === "kubernetes:helm.sh/v3:Release") return `${r.provider}|Release|${inputs.namespace}|${inputs.name}`;
  if (r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:")) {
    // A patch names the object it patches.
    const kind = r.type.replace(/Patch$/, "");
    return `${r.provider}|${kind}|${CLUSTER_SCOPED.test(r.type) ? "" : inputs.metadata?.namespace}|${inputs.metadata?.name}`;
  }
  if (r.type === "aws:s3/bucket:Bucket") return `${r.provider}|s3|${inputs.bucket}`;
  if (r.type === "aws:rds/instance:Instance") return `${r.provider}|rds|${inputs.identifier}`;
  return undefined;
}

describe("two teams' instances of every component on the same sites, with the library's defaults", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runIsolated("test", stackConfig("prod"), async () => {
      const l = require("../components") as Lib;
      const store = (host: string) => ({ endpoint: `https://${host}`, accessKeyId: "k", secretAccessKey: "s" });
      const s = {
        onprem: new l.Site("onprem", { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig: "k", vpnRanges: ["10.10.0.0/16"], objectStore: store("minio.onprem.test") }),
        gcloud: new l.Site("gcloud", { kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby", kubeconfig: "k", vpnRanges: ["10.20.0.0/16"], objectStore: store("s3.gdcc.go.th") }),
        aws: new l.Site("aws", { kind: "aws", region: "ap-southeast-7", country: "TH", role: "burst" }),
      };
      everyComponent(l, "a", s);
      everyComponent(l, "b", s);
    });
  }, 120000);

  test("both build without error, and every component type is there twice", () => {
    expect(run.error).toBeUndefined();
    const count = new Map<string, number>();
    for (const r of run.recording.resources) if (r.type.startsWith("waris:index:") && r.type !== "waris:index:Site") count.set(r.type, (count.get(r.type) ?? 0) + 1);
    expect([...count.keys()].sort()).toEqual(
      ["BackupSchedule", "GpuNodePool", "InferenceCluster", "ManagedPostgres", "MilvusPrimary", "MongoReplicaSet", "Monitoring", "ObjectStorageBucket", "PostgresCluster", "RedisPrimary"].map((c) => `waris:index:${c}`),
    );
    for (const n of count.values()) expect(n % 2).toBe(0);
  });

  test("no two objects of one cluster or account share kind, namespace and name", () => {
    const seen = new Map<string, string>();
    const collisions: string[] = [];
    let counted = 0;
    for (const r of run.recording.resources) {
      const id = identity(r);
      if (id === undefined) continue;
      counted++;
      if (seen.has(id)) collisions.push(`${id}: ${seen.get(id)} and ${r.urn}`);
      else seen.set(id, r.urn);
    }
    expect(counted).toBeGreaterThan(100);
    expect(collisions).toEqual([]);
  });

  test("nothing the platform owns is installed or patched: no operator chart, CRD or RuntimeClass; cluster-wide names and releases are the team's own", () => {
    const types = run.recording.resources.map((r) => r.type);
    for (const t of ["kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "kubernetes:node.k8s.io/v1:RuntimeClass"]) expect(types).not.toContain(t);
    // Helm releases only of the team's own (named after the component, e.g. Monitoring's blackbox exporter);
    // none of an operator chart, whose CRDs and controllers are one per cluster.
    const releases = run.recording.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs as { name: string; chart: string });
    for (const r of releases) {
      expect(r.name).toMatch(/^[ab]-/);
      expect(r.chart).not.toMatch(/operator|cloudnative-pg|barman|cert-manager|kube-prometheus-stack/);
    }
    const clusterWide = run.recording.resources.filter((r) => r.type.startsWith("kubernetes:") && CLUSTER_SCOPED.test(r.type));
    expect(clusterWide.length).toBeGreaterThan(0);
    for (const r of clusterWide) expect([r.type, (r.inputs["metadata"] as { name: string }).name]).toEqual([r.type, expect.stringMatching(/^[ab]-/)]);
  });
});
