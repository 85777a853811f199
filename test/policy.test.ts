/**
 * The policy pack on the real program's resources (both stacks pass) and on hand-made resources
 * built with the real resource classes under mocks (each policy denies bad ones and passes good ones).
 * Arguments reach the policies the way the pack's server builds them (see plan/policy-runner.ts).
 */
import type { AnalyzerResource, PolicyDiagnostic } from "../plan/policy-runner";
import { BuildKit, analyzerResourcesOf, evaluatePack, runProgram } from "./harness";
import { toAnalyzerResources } from "../plan/offline-plan";

type Kit = BuildKit;
type SiteObj = import("../components").Site;

const SITE_ARGS = {
  onprem: { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig: "k", volumes: { storageClass: "local-path", encryption: "node-disk-encryption" } },
  gcloud: {
    kind: "gcloud",
    region: "gdcc-bangkok",
    country: "TH",
    role: "standby",
    kubeconfig: "k",
    objectStore: { endpoint: "https://s3.gdcc.go.th", accessKeyId: "a", secretAccessKey: "s" },
    volumes: { storageClass: "gdcc-block", encryption: "cloud-default" },
  },
  awsth: { kind: "aws", region: "ap-southeast-7", country: "TH", role: "standby" },
  azsg: { kind: "azure", region: "southeastasia", country: "SG", role: "burst" },
  dosg: { kind: "digitalocean", region: "sgp1", country: "SG", role: "burst" },
} as const;

function sites(kit: Kit): Record<keyof typeof SITE_ARGS, SiteObj> {
  const out = {} as Record<keyof typeof SITE_ARGS, SiteObj>;
  for (const [name, args] of Object.entries(SITE_ARGS)) out[name as keyof typeof SITE_ARGS] = new kit.lib.Site(name, args);
  return out;
}

const meta = (name: string, site: string, extra: Record<string, string> = {}) => ({
  name,
  namespace: "data",
  labels: { "waris.io/site": site, "waris.io/data-class": "confidential", "waris.io/dataset": "pg", ...extra },
});

function cr(kit: Kit, site: SiteObj, apiVersion: string, kind: string, name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) {
  return new kit.k8s.apiextensions.CustomResource(
    `${site.spec.name}-${name}`,
    { apiVersion, kind, metadata: meta(name, site.spec.name, labels), spec },
    { provider: site.kubernetesProvider },
  );
}

/** A CloudNativePG cluster in the distributed topology, compliant by default. */
function pgCluster(kit: Kit, site: SiteObj, self: string, primary: string, other: string, override: Record<string, unknown> = {}) {
  return cr(kit, site, "postgresql.cnpg.io/v1", "Cluster", self, {
    instances: 2,
    storage: { size: "200Gi" },
    postgresql: { parameters: { ssl_min_protocol_version: "TLSv1.3", archive_timeout: "5min" } },
    plugins: [{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: "pg-store" } }],
    replica: { self, primary, source: other },
    externalClusters: [{ name: other, connectionParameters: { host: `${other}-rw.data.svc`, user: "streaming_replica", sslmode: "verify-full" } }],
    ...override,
  });
}

function objectStore(kit: Kit, site: SiteObj, override: Record<string, unknown> = {}) {
  return cr(kit, site, "barmancloud.cnpg.io/v1", "ObjectStore", "pg-store", {
    retentionPolicy: "30d",
    configuration: {
      destinationPath: `s3://waris-pg-${site.spec.name}/`,
      endpointURL: "https://s3.gdcc.go.th",
      wal: { encryption: "AES256" },
      data: { encryption: "AES256" },
    },
    ...override,
  });
}

function lagAlert(kit: Kit, site: SiteObj) {
  return cr(kit, site, "monitoring.coreos.com/v1", "PrometheusRule", "pg-lag", {
    groups: [{ name: "pg", rules: [{ alert: "PgLag", expr: "max(cnpg_pg_replication_lag) > 60" }] }],
  });
}

/** A compliant stack: PostgreSQL primary on-prem with a G-Cloud standby, archived and alerted. */
function goodPostgres(kit: Kit, s: Record<string, SiteObj>): void {
  pgCluster(kit, s["onprem"]!, "pg-onprem", "pg-onprem", "pg-gcloud");
  pgCluster(kit, s["gcloud"]!, "pg-gcloud", "pg-onprem", "pg-onprem");
  objectStore(kit, s["onprem"]!);
  objectStore(kit, s["gcloud"]!);
  lagAlert(kit, s["onprem"]!);
}

async function diagnostics(build: (kit: Kit, s: Record<string, SiteObj>) => void): Promise<PolicyDiagnostic[]> {
  const resources = await analyzerResourcesOf((kit) => build(kit, sites(kit)));
  return evaluatePack(resources);
}

const of = (ds: PolicyDiagnostic[], policy: string) => ds.filter((d) => d.policyName === policy);

describe("the real components pass every policy", () => {
  test.each(["prod", "dev"])("stack %s: no diagnostic at all", async (stack) => {
    const run = await runProgram(stack);
    expect(run.error).toBeUndefined();
    const ds = await evaluatePack(toAnalyzerResources(run.recording.resources));
    expect(ds).toEqual([]);
  });

  test("the compliant hand-made stack raises nothing (the control for the cases below)", async () => {
    expect(await diagnostics((kit, s) => goodPostgres(kit, s))).toEqual([]);
  });
});

describe("waris-data-residency", () => {
  const P = "waris-data-residency";
  test("denies a data-bearing resource on a foreign cloud region", async () => {
    const ds = await diagnostics((_kit, s) => {
      const storage = require("@pulumi/azure-native/storage") as typeof import("@pulumi/azure-native/storage");
      new storage.StorageAccount("logs", { resourceGroupName: "rg", kind: "StorageV2", sku: { name: "Standard_LRS" }, minimumTlsVersion: "TLS1_2", tags: { "waris-data-class": "internal" } }, { provider: s.azsg.azureProvider });
      const { DatabaseCluster } = require("@pulumi/digitalocean/databaseCluster") as typeof import("@pulumi/digitalocean/databaseCluster");
      new DatabaseCluster("pg", { engine: "pg", version: "16", size: "db-s-1vcpu-1gb", region: "sgp1", nodeCount: 1 }, { provider: s.dosg.digitaloceanProvider });
    });
    expect(of(ds, P).map((d) => d.message).sort()).toEqual([
      expect.stringMatching(/azure-native:storage:StorageAccount "logs" holds data \(waris.io\/data-class "internal", which does not exempt storage\) but is in site "azsg" \(azure southeastasia\), which is not in TH/),
      expect.stringMatching(/DatabaseCluster "pg" holds data \(waris.io\/data-class not set\) but is in digitalocean region sgp1, which is not in TH/),
    ]);
    expect(of(ds, P).every((d) => d.enforcementLevel === "mandatory" && d.severity === "critical" && d.remediationSteps)).toBe(true);
  });

  test("denies Kubernetes objects whose site label disagrees with their provider, or whose provider is no site's", async () => {
    const ds = await diagnostics((kit, s) => {
      new kit.k8s.core.v1.ConfigMap("cm", { metadata: { labels: { "waris.io/site": "gcloud", "waris.io/data-class": "internal" } }, data: { a: "b" } }, { provider: s.onprem.kubernetesProvider });
      const stray = new kit.k8s.Provider("stray", { kubeconfig: "x" });
      new kit.k8s.core.v1.Secret("sec", { metadata: { labels: { "waris.io/data-class": "personal" } }, stringData: { a: "b" } }, { provider: stray });
    });
    const messages = of(ds, P).map((d) => d.message);
    expect(messages).toContainEqual(expect.stringMatching(/ConfigMap "cm" is deployed to site "onprem" by its provider, but its waris.io\/site label is "gcloud"/));
    expect(messages).toContainEqual(expect.stringMatching(/Secret "sec" holds data \(waris.io\/data-class "personal", which does not exempt storage\) but is in no known site or region.*which cannot be shown to be in TH/));
  });

  test("denies backups and object stores outside Thailand", async () => {
    const ds = await diagnostics((kit, s) => {
      goodPostgres(kit, s);
      cr(kit, s.onprem, "barmancloud.cnpg.io/v1", "ObjectStore", "offshore", {
        retentionPolicy: "30d",
        configuration: { destinationPath: "s3://x/", endpointURL: "https://s3.eu-west-1.amazonaws.com", wal: { encryption: "AES256" }, data: { encryption: "AES256" } },
      });
      const aws = require("@pulumi/aws/provider") as typeof import("@pulumi/aws/provider");
      new aws.Provider("minio-elsewhere", { region: "us-east-1", endpoints: [{ s3: "https://minio.example.com" }] });
    });
    const messages = of(ds, P).map((d) => d.message);
    expect(messages).toContainEqual(expect.stringMatching(/ObjectStore "onprem-offshore": backup destination spec.configuration.endpointURL is "https:\/\/s3.eu-west-1.amazonaws.com", which is not the object store of a site in TH \(known: https:\/\/s3.gdcc.go.th\)/));
    expect(messages).toContainEqual(expect.stringMatching(/AWS provider "minio-elsewhere" points at a custom object-store endpoint/));
  });

  test("passes compute that holds no data on a foreign site, and data in AWS Bangkok", async () => {
    const ds = await diagnostics((kit, s) => {
      new kit.lib.GpuNodePool("do-burst", { site: s.dosg, gpuModel: "H100", gpusPerNode: 1, workload: "batch", dataClass: "none", clusterName: "doks" });
      const s3 = require("@pulumi/aws/s3") as typeof import("@pulumi/aws/s3");
      new s3.Bucket("th-bucket", { bucket: "waris-th", tags: { "waris-data-class": "internal" } }, { provider: s.awsth.awsProvider });
      new s3.BucketServerSideEncryptionConfiguration("th-sse", { bucket: "waris-th", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, { provider: s.awsth.awsProvider });
    });
    expect(of(ds, P)).toEqual([]);
    expect(ds).toEqual([]);
  });
});

describe("waris-encryption-at-rest, waris-bucket-encryption and waris-store-encryption", () => {
  test("deny unencrypted backups, databases and buckets", async () => {
    const ds = await diagnostics((kit, s) => {
      objectStore(kit, s.gcloud, { configuration: { destinationPath: "s3://plain/", endpointURL: "https://s3.gdcc.go.th" } });
      const rds = require("@pulumi/aws/rds") as typeof import("@pulumi/aws/rds");
      new rds.Instance("pg", { instanceClass: "db.t4g.micro", engine: "postgres", allocatedStorage: 20, storageEncrypted: false }, { provider: s.awsth.awsProvider });
      const s3 = require("@pulumi/aws/s3") as typeof import("@pulumi/aws/s3");
      new s3.Bucket("plain", { bucket: "waris-plain" }, { provider: s.gcloud.objectStoreProvider });
      // AWS S3 encrypts every new object with SSE-S3 by default: no configuration needed, named or not.
      new s3.Bucket("unnamed", {}, { provider: s.awsth.awsProvider });
    });
    const stores = of(ds, "waris-store-encryption").map((d) => d.message);
    expect(stores).toContainEqual(expect.stringMatching(/ObjectStore "gcloud-pg-store" spec.configuration.wal.encryption sends no SSE header to site "gcloud"'s store, declared sse-s3 \(send AES256\)/));
    expect(stores).toContainEqual(expect.stringMatching(/ObjectStore "gcloud-pg-store" spec.configuration.data.encryption sends no SSE header/));
    const atRest = of(ds, "waris-encryption-at-rest").map((d) => d.message);
    expect(atRest).toContainEqual(expect.stringMatching(/aws:rds\/instance:Instance "pg": storageEncrypted is false; data at rest must be encrypted/));
    const buckets = of(ds, "waris-bucket-encryption").map((d) => d.message).sort();
    expect(buckets).toEqual([
      expect.stringMatching(/Bucket "plain" \(waris-plain\) is on site "gcloud"'s store https:\/\/s3.gdcc.go.th, which does not encrypt by default, and has no server-side encryption configuration/),
    ]);
  });

  test("deny a weak bucket algorithm and MongoDB with encryption at rest off", async () => {
    const ds = await diagnostics((kit, s) => {
      const s3 = require("@pulumi/aws/s3") as typeof import("@pulumi/aws/s3");
      new s3.BucketServerSideEncryptionConfiguration("weak", { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "none" } }] }, { provider: s.awsth.awsProvider });
      cr(kit, s.onprem, "psmdb.percona.com/v1", "PerconaServerMongoDB", "mongo", {
        tls: { mode: "requireTLS" },
        replsets: [{ name: "rs0", size: 3, configuration: "security:\n  enableEncryption: false\n" }],
        backup: { enabled: true, pitr: { enabled: true }, storages: { th: { type: "s3", s3: { bucket: "m", endpointUrl: "https://s3.gdcc.go.th" } } } },
      });
    });
    const messages = of(ds, "waris-encryption-at-rest").map((d) => d.message);
    expect(messages).toContainEqual(expect.stringMatching(/bucket encryption "weak" uses \["none"\]/));
    expect(messages).toContainEqual(expect.stringMatching(/MongoDB "onprem-mongo" turns encryption at rest off/));
    expect(of(ds, "waris-store-encryption").map((d) => d.message)).toContainEqual(
      expect.stringMatching(/MongoDB "onprem-mongo" backup storage "th" serverSideEncryption.sseAlgorithm sends no SSE header to site "gcloud"'s store, declared sse-s3/),
    );
  });
});

describe("waris-encryption-in-transit", () => {
  const P = "waris-encryption-in-transit";
  test("denies PostgreSQL below TLS 1.3 and replication without verify-full", async () => {
    const ds = await diagnostics((kit, s) => {
      pgCluster(kit, s.onprem, "pg-onprem", "pg-onprem", "pg-gcloud", {
        postgresql: { parameters: { ssl_min_protocol_version: "TLSv1.2" } },
        externalClusters: [{ name: "pg-gcloud", connectionParameters: { host: "pg-gcloud-rw", sslmode: "require" } }],
      });
    });
    expect(of(ds, P).map((d) => d.message)).toEqual([
      expect.stringMatching(/ssl_min_protocol_version is "TLSv1.2"; it must be at least TLSv1.3/),
      expect.stringMatching(/external cluster "pg-gcloud" connects with sslmode "require"; use verify-full/),
    ]);
  });

  test("denies an Ingress without TLS, a plain-HTTP LoadBalancer, MongoDB without requireTLS and an http object store", async () => {
    const ds = await diagnostics((kit, s) => {
      const p = { provider: s.onprem.kubernetesProvider };
      const labels = { "waris.io/site": "onprem", "waris.io/data-class": "internal" };
      new kit.k8s.networking.v1.Ingress("web", { metadata: { labels }, spec: { rules: [{ host: "waris.pwa.co.th" }] } }, p);
      new kit.k8s.networking.v1.Ingress("half", { metadata: { labels }, spec: { tls: [{ hosts: ["a.pwa.co.th"] }], rules: [{ host: "a.pwa.co.th" }, { host: "b.pwa.co.th" }] } }, p);
      new kit.k8s.core.v1.Service("lb", { metadata: { labels }, spec: { type: "LoadBalancer", ports: [{ port: 80, name: "http" }] } }, p);
      cr(kit, s.onprem, "psmdb.percona.com/v1", "PerconaServerMongoDB", "mongo", { tls: { mode: "preferTLS" }, unsafeFlags: { tls: true } });
      objectStore(kit, s.onprem, { configuration: { destinationPath: "s3://x/", endpointURL: "http://s3.gdcc.go.th", wal: { encryption: "AES256" }, data: { encryption: "AES256" } } });
    });
    const messages = of(ds, P).map((d) => d.message);
    expect(messages).toContainEqual(expect.stringMatching(/Ingress "web" has no spec.tls/));
    expect(messages).toContainEqual(expect.stringMatching(/Ingress "half": host b.pwa.co.th is not covered by spec.tls/));
    expect(messages).toContainEqual(expect.stringMatching(/Service "lb" \(LoadBalancer\) exposes plain HTTP outside the cluster on port 80/));
    expect(messages).toContainEqual(expect.stringMatching(/spec.tls.mode is "preferTLS"; it must be requireTLS/));
    expect(messages).toContainEqual(expect.stringMatching(/spec.unsafeFlags.tls is true/));
    expect(messages).toContainEqual(expect.stringMatching(/endpointURL is "http:\/\/s3.gdcc.go.th"; object-store endpoints must be https/));
  });

  test("passes a TLS Ingress and an internal plain Service", async () => {
    const ds = await diagnostics((kit, s) => {
      const p = { provider: s.onprem.kubernetesProvider };
      const labels = { "waris.io/site": "onprem", "waris.io/data-class": "internal" };
      new kit.k8s.networking.v1.Ingress("web", { metadata: { labels }, spec: { tls: [{ hosts: ["waris.pwa.co.th"], secretName: "tls" }], rules: [{ host: "waris.pwa.co.th" }] } }, p);
      new kit.k8s.core.v1.Service("api", { metadata: { labels }, spec: { type: "ClusterIP", ports: [{ port: 80, name: "http" }] } }, p);
    });
    expect(ds).toEqual([]);
  });
});

describe("waris-recovery-objectives", () => {
  const P = "waris-recovery-objectives";
  test("denies a PostgreSQL whose only protection is a daily pg_dump: RPO 1440 min > 60", async () => {
    const ds = await diagnostics((kit, s) => {
      cr(kit, s.onprem, "postgresql.cnpg.io/v1", "Cluster", "pg", { instances: 1, storage: { size: "50Gi" }, postgresql: { parameters: { ssl_min_protocol_version: "TLSv1.3" } } });
      new kit.k8s.batch.v1.CronJob(
        "pg-dump",
        {
          metadata: { labels: { "waris.io/site": "onprem", "waris.io/data-class": "confidential", "waris.io/backup-of": "pg" } },
          spec: { schedule: "0 2 * * *", jobTemplate: { spec: { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "dump", image: "postgres:16", command: ["pg_dump"] }] } } } } },
        },
        { provider: s.onprem.kubernetesProvider },
      );
    });
    expect(of(ds, P).map((d) => d.message)).toEqual([
      expect.stringMatching(/postgresql dataset "pg" .*: worst-case RPO 1440 min exceeds 60 min: its backups \(CronJob pg-dump: 0 2 \* \* \*\) are up to 1440 min apart and nothing archives continuously/),
    ]);
  });

  test("denies a data store with no protection, and one too big to restore within the RTO", async () => {
    const ds = await diagnostics((kit, s) => {
      cr(kit, s.onprem, "postgresql.cnpg.io/v1", "Cluster", "naked", { storage: { size: "10Gi" }, postgresql: { parameters: { ssl_min_protocol_version: "TLSv1.3" } } }, { "waris.io/dataset": "naked" });
      cr(kit, s.onprem, "postgresql.cnpg.io/v1", "Cluster", "huge", {
        storage: { size: "10Ti" },
        postgresql: { parameters: { ssl_min_protocol_version: "TLSv1.3" } },
        plugins: [{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: "pg-store" } }],
      }, { "waris.io/dataset": "huge" });
      objectStore(kit, s.onprem);
    });
    const messages = of(ds, P).map((d) => d.message);
    expect(messages).toContainEqual(expect.stringMatching(/dataset "naked" .* has no standby on another site and no backup/));
    expect(messages).toContainEqual(expect.stringMatching(/dataset "huge" .*: estimated RTO 1778 min exceeds 240 min \(restore of 10240 GiB at 100 MiB\/s\)/));
  });

  test("a bad cron in a ScheduledBackup is reported with the dataset", async () => {
    const ds = await diagnostics((kit, s) => {
      goodPostgres(kit, s);
      cr(kit, s.onprem, "postgresql.cnpg.io/v1", "ScheduledBackup", "weekly", { schedule: "0 0 3 * * SUN", cluster: { name: "pg-onprem" } });
      cr(kit, s.onprem, "postgresql.cnpg.io/v1", "ScheduledBackup", "broken", { schedule: "0 3 * * SUN", cluster: { name: "pg-onprem" } });
    });
    expect(of(ds, P).map((d) => d.message)).toEqual([expect.stringMatching(/dataset "pg" .*ScheduledBackup broken cron "0 3 \* \* SUN" has 5 fields; expected 6/)]);
  });

  test("thresholds are policy config: an RPO of 2 minutes denies a 5-minute archive", async () => {
    const resources = await analyzerResourcesOf((kit) => goodPostgres(kit, sites(kit)));
    const ds = await evaluatePack(resources, { [P]: { rpoMinutes: 2 } });
    expect(of(ds, P).map((d) => d.message)).toEqual([expect.stringMatching(/worst-case RPO 5 min exceeds 2 min: its continuous archive runs every 5 min/)]);
  });

  test("enforcement can be lowered to advisory (as dev may)", async () => {
    const resources = await analyzerResourcesOf((kit) => goodPostgres(kit, sites(kit)));
    const ds = await evaluatePack(resources, { [P]: { rpoMinutes: 2, enforcementLevel: "advisory" } });
    expect(of(ds, P).map((d) => d.enforcementLevel)).toEqual(["advisory"]);
  });
});

describe("waris-backup-retention and waris-replication-lag-alerts", () => {
  test("deny short retention for PostgreSQL and Milvus, too few artifact versions", async () => {
    const ds = await diagnostics((kit, s) => {
      pgCluster(kit, s.onprem, "pg-onprem", "pg-onprem", "pg-gcloud");
      pgCluster(kit, s.gcloud, "pg-gcloud", "pg-onprem", "pg-onprem");
      objectStore(kit, s.onprem, { retentionPolicy: "7d" });
      lagAlert(kit, s.onprem);
      cr(kit, s.onprem, "milvus.io/v1beta1", "Milvus", "vectors", {}, { "waris.io/dataset": "vectors", "waris.io/data-class": "internal" });
      new kit.k8s.batch.v1.CronJob(
        "milvus-backup",
        {
          metadata: { labels: { "waris.io/site": "onprem", "waris.io/data-class": "internal", "waris.io/backup-of": "vectors" }, annotations: { "waris.io/retention-days": "7" } },
          spec: { schedule: "0 1 * * *", jobTemplate: { spec: { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "b", image: "milvus-backup" }] } } } } },
        },
        { provider: s.onprem.kubernetesProvider },
      );
      const s3 = require("@pulumi/aws/s3") as typeof import("@pulumi/aws/s3");
      const p = { provider: s.gcloud.objectStoreProvider };
      new s3.Bucket("models", { bucket: "waris-models", tags: { "waris-dataset": "model-artifacts", "waris-site": "gcloud", "waris-data-class": "internal" } }, p);
      new s3.BucketServerSideEncryptionConfiguration("models", { bucket: "waris-models", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, p);
      new s3.BucketLifecycleConfiguration("models", { bucket: "waris-models", rules: [{ id: "keep", status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: 1, newerNoncurrentVersions: 2 } }] }, p);
    });
    expect(of(ds, "waris-backup-retention").map((d) => d.message)).toEqual([
      expect.stringMatching(/postgresql dataset "pg" .* keeps backups 7 days; keep them at least 30 days/),
      expect.stringMatching(/milvus dataset "vectors" .* keeps backups 7 days; keep them at least 14 days/),
      expect.stringMatching(/model-artifacts dataset .* keeps 3 versions; keep at least 5/),
    ]);
  });

  test("MongoDB retention is a count of backups (Percona's only kind); the days it covers follow from the schedule", async () => {
    const mongo = (count: number, schedule: string) => (kit: Kit, s: Record<keyof typeof SITE_ARGS, SiteObj>) => {
      cr(kit, s.onprem, "psmdb.percona.com/v1", "PerconaServerMongoDB", "docs", {
        backup: { enabled: true, pitr: { enabled: true, oplogSpanMin: 10 }, tasks: [{ name: "full", enabled: true, schedule, retention: { type: "count", count, deleteFromStorage: true } }] },
      }, { "waris.io/dataset": "docs" });
    };
    const retention = async (count: number, schedule: string) => of(await diagnostics(mongo(count, schedule)), "waris-backup-retention").map((d) => d.message);
    // 31 daily backups span 30 days; 31 backups every 12 hours only 15.
    expect(await retention(31, "0 3 * * *")).toEqual([]);
    expect(await retention(31, "0 3,15 * * *")).toEqual([expect.stringMatching(/mongodb dataset "docs" .* keeps backups 15 days; keep them at least 30 days/)]);
  });

  test("deny a standby without a lag alert", async () => {
    const ds = await diagnostics((kit, s) => {
      pgCluster(kit, s.onprem, "pg-onprem", "pg-onprem", "pg-gcloud");
      pgCluster(kit, s.gcloud, "pg-gcloud", "pg-onprem", "pg-onprem");
      objectStore(kit, s.onprem);
      cr(kit, s.onprem, "monitoring.coreos.com/v1", "PrometheusRule", "other", { groups: [{ name: "x", rules: [{ alert: "Up", expr: "up == 0" }] }] });
    });
    expect(of(ds, "waris-replication-lag-alerts").map((d) => d.message)).toEqual([expect.stringMatching(/has a standby but no alert on cnpg_pg_replication_lag/)]);
  });
});

describe("the analyzer's handling of what a preview cannot know", () => {
  test("a value unknown during preview: the encryption configuration is matched by property dependency, not by the unknown name", async () => {
    const resources: AnalyzerResource[] = await analyzerResourcesOf((kit) => {
      const s = sites(kit);
      const s3 = require("@pulumi/aws/s3") as typeof import("@pulumi/aws/s3");
      const bucket = new s3.Bucket("b", {}, { provider: s.awsth.awsProvider });
      // `bucket.bucket` was not an input, so it is unknown during a preview.
      new s3.BucketServerSideEncryptionConfiguration("sse", { bucket: bucket.bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, { provider: s.awsth.awsProvider });
    });
    const ds = await evaluatePack(resources);
    expect(ds).toEqual([]);
  });
});
