import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import { Release } from "@pulumi/kubernetes/helm/v3/release";
import { BackupSchedule, RecoveryReport, backupScheduleRtoMinutes, validateBackupScheduleArgs } from "./backup-schedule";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { DATASET_LABEL, DATASET_SIZE_ANNOTATION, DataClass, HelmChartRef, STORE_LABEL, placementLabels } from "./labels";
import { ObjectStorageBucket, validateObjectStorageBucketArgs } from "./object-storage-bucket";
import { SharedCertificateAuthority } from "./pki";
import { DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND } from "./recovery";
import { isRegionInThailand } from "./residency";
import { KUBECONFIG_SITE_KINDS, Site, SiteSpec } from "./site";

/** Pinned Milvus operator chart (repository `https://zilliztech.github.io/milvus-operator/`). */
export const MILVUS_OPERATOR_CHART: HelmChartRef = { repo: "https://zilliztech.github.io/milvus-operator/", chart: "milvus-operator", version: "1.2.7" };

/** Pinned Milvus server image. */
export const MILVUS_IMAGE = "milvusdb/milvus:v2.5.15";

/** How Milvus runs: one process (`standalone`, RocksMQ) or one deployment per role (`cluster`, Pulsar). */
export const MILVUS_MODES = ["standalone", "cluster"] as const;

/** A Milvus deployment mode; see {@link MILVUS_MODES}. */
export type MilvusMode = (typeof MILVUS_MODES)[number];

/** Milvus's gRPC port (clients, milvus-backup). */
const GRPC_PORT = 19530;
/** Milvus's HTTP management port (health, metrics, the GC pause milvus-backup uses). */
const MANAGEMENT_PORT = 9091;
/** Days deleted segments stay recoverable in the data bucket (Milvus compacts and garbage-collects them itself). */
const DATA_BUCKET_RETENTION_DAYS = 3;
/** Where the TLS Secret is mounted in the Milvus pods. */
const CERT_DIR = "/milvus/configs/cert";

/** Arguments of {@link MilvusPrimary}. */
export interface MilvusPrimaryArgs {
  /** The active site: Milvus runs there only, with its segments in that site's own object store. */
  readonly site: Site;
  /**
   * Bucket for Milvus's segments and indexes, made on `site`'s object store. It follows the active site
   * and is left in place when the site changes (failback restores from the backups).
   */
  readonly dataBucket: string;
  /** Site whose object store keeps the backups (G-Cloud in prod). */
  readonly backupSite: Site;
  /** Bucket for the backups on `backupSite` (created by the caller with `ObjectStorageBucket`). */
  readonly backupBucket: string;
  /** 5-field cron of the backups (UTC). Default hourly, `0 * * * *`: the interval is the RPO. */
  readonly backupSchedule?: string;
  /** Days backups are kept. Default 14 (the seed's vector database retention). */
  readonly backupRetentionDays?: number;
  /**
   * Hours every backup is kept; older ones are thinned to the first of each UTC day. Default 48: with
   * hourly backups and 14 days, 48 + 12 backups are kept rather than 336.
   */
  readonly keepEveryBackupForHours?: number;
  /** Deployment mode. Default `standalone` (the on-prem GPU server is one node). */
  readonly mode?: MilvusMode;
  /** Size of the vector data (segments and indexes), GiB: the restore-time estimate. Default 50. */
  readonly dataSizeGiB?: number;
  /** etcd volume (Milvus metadata), GiB. Default 10. */
  readonly etcdStorageGiB?: number;
  /** CPU request of the Milvus pods, Kubernetes quantity. Default `"4"`. */
  readonly cpu?: string;
  /** Memory of the Milvus pods, GiB (indexes are loaded into memory). Default 16. */
  readonly memoryGiB?: number;
  /** Namespace. Default `waris-milvus`. */
  readonly namespace?: string;
  /** Install the Milvus operator on the site. Default true. */
  readonly installOperator?: boolean;
  /** Restore throughput for the RTO estimate, MiB/s. Default 100. */
  readonly restoreThroughputMiBPerSecond?: number;
  /** Class of the data (embeddings of confidential documents are as sensitive). Default `confidential`. */
  readonly dataClass?: DataClass;
}

const whole = (n: unknown, min: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= min;

/** Every problem with the arguments (pure), the backup schedule's included. */
export function validateMilvusPrimaryArgs(
  site: SiteSpec & { readonly hasObjectStore: boolean },
  backupSite: SiteSpec & { readonly hasObjectStore: boolean },
  args: Omit<MilvusPrimaryArgs, "site" | "backupSite">,
): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  if (!(KUBECONFIG_SITE_KINDS as readonly string[]).includes(site.kind)) add("site", `"${site.name}" is ${site.kind}; Milvus runs on the onprem/gcloud Kubernetes sites`);
  else if (!isRegionInThailand(site.kind, site.region) || site.country !== "TH") add("site", `"${site.name}" is outside Thailand`);
  else if (!site.hasObjectStore) add("site", `"${site.name}" has no S3-compatible object store; Milvus keeps its segments in the object store of its own site, so give the site an objectStore`);
  if (!backupSite.hasObjectStore) add("backupSite", `"${backupSite.name}" has no S3-compatible object store`);
  // The data bucket is made by this component: its name is checked here, before anything is registered.
  for (const p of validateObjectStorageBucketArgs(site, { bucket: args.dataBucket, dataset: "milvus", retentionDays: DATA_BUCKET_RETENTION_DAYS })) {
    if (p.argument === "bucket") add("dataBucket", p.message);
  }
  if (site.name === backupSite.name && args.dataBucket === args.backupBucket) add("backupBucket", `is the data bucket "${args.dataBucket}" on the same store; backups need their own bucket`);
  if (args.mode !== undefined && !(MILVUS_MODES as readonly string[]).includes(args.mode)) add("mode", `is ${show(args.mode)}; allowed: ${MILVUS_MODES.join(", ")}`);
  for (const [field, value] of [["dataSizeGiB", args.dataSizeGiB], ["etcdStorageGiB", args.etcdStorageGiB], ["memoryGiB", args.memoryGiB]] as const) {
    if (value !== undefined && !whole(value, 1)) add(field, `is ${show(value)}; must be a whole number of at least 1`);
  }
  const schedule = validateBackupScheduleArgs({
    kind: "milvus",
    dataset: "milvus",
    hasSite: true,
    schedule: args.backupSchedule ?? "0 * * * *",
    retentionDays: args.backupRetentionDays ?? 14,
    keepEveryBackupForHours: args.keepEveryBackupForHours ?? 48,
    milvusBackupConfigSecret: "backup-config",
    location: "",
  });
  for (const p of schedule.problems) {
    const argument = { schedule: "backupSchedule", retentionDays: "backupRetentionDays" }[p.argument] ?? p.argument;
    problems.push({ argument, message: p.message.replace(/dataset "milvus"/, "Milvus") });
  }
  return problems;
}

/** Size of the vector data, GiB, for the restore estimate: `dataSizeGiB`, default 50. */
export function milvusDataSizeGiB(args: Pick<MilvusPrimaryArgs, "dataSizeGiB">): number {
  return args.dataSizeGiB ?? 50;
}

/**
 * The estimated RTO of Milvus, minutes (pure): it has no standby, so the restore of its data
 * ({@link milvusDataSizeGiB}) at the throughput, plus the fixed overhead. {@link MilvusPrimary.rtoMinutes}.
 */
export function milvusRtoMinutes(args: Pick<MilvusPrimaryArgs, "dataSizeGiB" | "restoreThroughputMiBPerSecond">): number {
  return backupScheduleRtoMinutes({ datasetSizeGiB: milvusDataSizeGiB(args), restoreThroughputMiBPerSecond: args.restoreThroughputMiBPerSecond })!;
}

/** Host and port of an S3 endpoint URL, as Milvus and milvus-backup take them. */
function hostAndPort(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  return { host: url.hostname, port: url.port ? Number(url.port) : 443 };
}

/**
 * Milvus on the active site, as the seed has it ("Milvus primary, its backup in G-Cloud"): the Milvus
 * operator's `Milvus` resource with its segments in the site's own S3-compatible store (a versioned,
 * AES-256 bucket), TLS on the gRPC port, authentication with a generated root password, and a
 * {@link BackupSchedule} that runs milvus-backup into the backup site's store and prunes it.
 *
 * There is no standby Milvus: after a failover Milvus starts empty on the new active site and the
 * latest backup is restored into it (`milvus-backup restore`); the RTO estimate is that restore.
 */
export class MilvusPrimary extends pulumi.ComponentResource {
  /** gRPC host:port applications connect to (TLS, server name = the host). */
  readonly endpoint: string;
  /** Secret with the root user's password (`password`). */
  readonly rootSecretName: string;
  /** Secret with the CA that signs Milvus's certificate (`ca.crt`), for clients. */
  readonly tlsSecretName: string;
  /** Namespace. */
  readonly namespace: string;
  /** The backups of this Milvus. */
  readonly backup: BackupSchedule;
  /** Worst-case RPO, minutes: the longest gap between backups. */
  readonly rpoMinutes: number;
  /** Estimated RTO, minutes: restoring the latest backup. */
  readonly rtoMinutes: number;
  /** The dataset's recovery posture, for the stack's `recovery` output. */
  readonly report: RecoveryReport;

  /**
   * @param name - dataset name and name of the `Milvus` resource, e.g. `waris-milvus`.
   * @param args - see {@link MilvusPrimaryArgs}.
   * @param opts - component options.
   */
  constructor(name: string, args: MilvusPrimaryArgs, opts?: pulumi.ComponentResourceOptions) {
    const hasStore = (s: Site) => ({ ...s.spec, hasObjectStore: s.objectStoreAccess !== undefined });
    throwIfInvalid(`MilvusPrimary "${name}"`, validateMilvusPrimaryArgs(hasStore(args.site), hasStore(args.backupSite), args));
    super("waris:index:MilvusPrimary", name, {}, opts);
    const siteName = args.site.spec.name;
    const namespace = args.namespace ?? "waris-milvus";
    const mode = args.mode ?? "standalone";
    const dataSizeGiB = milvusDataSizeGiB(args);
    const memoryGiB = args.memoryGiB ?? 16;
    const service = `${name}-milvus`;
    const host = `${service}.${namespace}.svc.cluster.local`;
    this.namespace = namespace;
    this.endpoint = `${host}:${GRPC_PORT}`;
    this.rootSecretName = `${name}-root`;
    this.tlsSecretName = `${name}-tls`;
    const storageSecret = `${name}-storage`;
    const backupConfigSecret = `${name}-backup-config`;

    const parent = { parent: this };
    const o = { parent: this, provider: args.site.kubernetesProvider };
    const labels = { ...placementLabels(siteName, args.dataClass ?? "confidential"), [DATASET_LABEL]: name };
    const meta = (n: string) => ({ name: n, namespace, labels });

    // The bucket is named per site so that a failover makes a new one on the new site's store and leaves
    // (retains) the old one, instead of deleting a non-empty bucket on a site that may be down.
    const dataBucket = new ObjectStorageBucket(
      `${name}-${siteName}-data`,
      {
        site: args.site,
        bucket: args.dataBucket,
        dataset: name,
        dataClass: args.dataClass ?? "confidential",
        retentionDays: DATA_BUCKET_RETENTION_DAYS,
        retainOnDelete: true,
      },
      parent,
    );

    const ns = new corev1.Namespace(`${name}-ns`, { metadata: { name: namespace, labels } }, o);
    const inNamespace = { ...o, dependsOn: [ns] };
    const operator =
      args.installOperator ?? true
        ? [
            new Release(
              `${name}-operator`,
              {
                name: "milvus-operator",
                namespace: "milvus-operator",
                createNamespace: true,
                repositoryOpts: { repo: MILVUS_OPERATOR_CHART.repo },
                chart: MILVUS_OPERATOR_CHART.chart,
                version: MILVUS_OPERATOR_CHART.version,
                values: { podLabels: placementLabels(siteName, "none") },
                atomic: true,
              },
              o,
            ),
          ]
        : [];

    const rootPassword = new random.RandomPassword(`${name}-root`, { length: 32, special: false }, parent).result;
    const ca = new SharedCertificateAuthority(name, `${name} Milvus CA`, parent);
    const cert = ca.issueServer("server", host, [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, host]);
    const store = args.site.objectStoreAccess!;
    const backupStore = args.backupSite.objectStoreAccess!;
    const data = hostAndPort(store.endpoint);
    const backup = hostAndPort(backupStore.endpoint);
    const secrets = [
      new corev1.Secret(`${name}-root`, { metadata: meta(this.rootSecretName), stringData: { password: rootPassword } }, inNamespace),
      new corev1.Secret(`${name}-tls`, { metadata: meta(this.tlsSecretName), type: "kubernetes.io/tls", stringData: { "tls.crt": cert.cert, "tls.key": cert.key, "ca.crt": ca.caCert } }, inNamespace),
      // The operator reads the store's keys from `accesskey` / `secretkey`.
      new corev1.Secret(`${name}-storage`, { metadata: meta(storageSecret), stringData: { accesskey: store.accessKeyId, secretkey: store.secretAccessKey } }, inNamespace),
      new corev1.Secret(
        `${name}-backup-config`,
        {
          metadata: meta(backupConfigSecret),
          stringData: {
            "ca.crt": ca.caCert,
            "backup.yaml": pulumi
              .all([rootPassword, store.accessKeyId, store.secretAccessKey, backupStore.accessKeyId, backupStore.secretAccessKey])
              .apply(([password, dataKey, dataSecret, backupKey, backupSecret]) =>
                milvusBackupConfig({
                  host,
                  password,
                  dataStore: { ...data, region: store.signingRegion, accessKeyId: dataKey, secretAccessKey: dataSecret, bucket: args.dataBucket },
                  backupStore: { ...backup, region: backupStore.signingRegion, accessKeyId: backupKey, secretAccessKey: backupSecret, bucket: args.backupBucket },
                  rootPath: name,
                  // Different stores cannot copy server-side: milvus-backup then streams the data itself.
                  crossStorage: store.endpoint !== backupStore.endpoint,
                }),
              ),
          },
        },
        inNamespace,
      ),
    ];

    const resources = { requests: { cpu: args.cpu ?? "4", memory: `${memoryGiB}Gi` }, limits: { memory: `${memoryGiB}Gi` } };
    new apiextensions.CustomResource(
      `${name}-milvus`,
      {
        apiVersion: "milvus.io/v1beta1",
        kind: "Milvus",
        metadata: { ...meta(name), labels: { ...labels, [STORE_LABEL]: "milvus" }, annotations: { [DATASET_SIZE_ANNOTATION]: String(dataSizeGiB) } },
        spec: {
          mode,
          components: {
            image: MILVUS_IMAGE,
            enableRollingUpdate: true,
            podLabels: labels,
            volumes: [{ name: "tls", secret: { secretName: this.tlsSecretName } }],
            volumeMounts: [{ name: "tls", mountPath: CERT_DIR, readOnly: true }],
            // Milvus maps COMMON_SECURITY_DEFAULTROOTPASSWORD to common.security.defaultRootPassword, used
            // when the root user is first created; the password never appears in the resource.
            env: [{ name: "COMMON_SECURITY_DEFAULTROOTPASSWORD", valueFrom: { secretKeyRef: { name: this.rootSecretName, key: "password" } } }],
            ...(mode === "standalone" ? { standalone: { replicas: 1, serviceType: "ClusterIP", resources } } : { proxy: { replicas: 2, serviceType: "ClusterIP" }, queryNode: { replicas: 2, resources } }),
          },
          config: {
            common: { security: { authorizationEnabled: true, tlsMode: 1 } },
            tls: { serverPemPath: `${CERT_DIR}/tls.crt`, serverKeyPath: `${CERT_DIR}/tls.key`, caPemPath: `${CERT_DIR}/ca.crt` },
            minio: { bucketName: args.dataBucket, rootPath: name, useSSL: true, region: store.signingRegion ?? "us-east-1" },
          },
          dependencies: {
            storage: { external: true, type: "MinIO", endpoint: `${data.host}:${data.port}`, secretRef: storageSecret },
            etcd: {
              inCluster: {
                deletionPolicy: "Retain",
                pvcDeletion: false,
                values: { replicaCount: mode === "standalone" ? 1 : 3, persistence: { size: `${args.etcdStorageGiB ?? 10}Gi` } },
              },
            },
            msgStreamType: mode === "standalone" ? "rocksmq" : "pulsar",
            ...(mode === "cluster" ? { pulsar: { inCluster: { deletionPolicy: "Retain", pvcDeletion: false } } } : {}),
          },
        },
      },
      { ...o, dependsOn: [...operator, ...secrets, dataBucket] },
    );

    this.backup = new BackupSchedule(
      `${name}-backup`,
      {
        kind: "milvus",
        dataset: name,
        site: args.site,
        namespace,
        schedule: args.backupSchedule ?? "0 * * * *",
        retentionDays: args.backupRetentionDays ?? 14,
        keepEveryBackupForHours: args.keepEveryBackupForHours ?? 48,
        milvusBackupConfigSecret: backupConfigSecret,
        datasetSizeGiB: dataSizeGiB,
        restoreThroughputMiBPerSecond: args.restoreThroughputMiBPerSecond ?? DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND,
        location: `s3://${args.backupBucket}/${name}/ on ${args.backupSite.spec.name}`,
        dataClass: args.dataClass ?? "confidential",
      },
      { parent: this, dependsOn: secrets },
    );
    this.rpoMinutes = this.backup.rpoMinutes;
    this.rtoMinutes = this.backup.rtoMinutes!;
    this.report = this.backup.report;
    this.registerOutputs({ endpoint: this.endpoint, rootSecretName: this.rootSecretName, tlsSecretName: this.tlsSecretName, rpoMinutes: this.rpoMinutes, rtoMinutes: this.rtoMinutes });
  }
}

/** An S3-compatible store as milvus-backup's config names it. */
export interface MilvusBackupStore {
  /** Host name of the S3 endpoint (TLS). */
  readonly host: string;
  /** Port, 443 unless the endpoint says otherwise. */
  readonly port: number;
  /** Signing region. Default `us-east-1`. */
  readonly region?: string;
  /** Access key id. */
  readonly accessKeyId: string;
  /** Secret access key. */
  readonly secretAccessKey: string;
  /** Bucket. */
  readonly bucket: string;
}

/** What {@link milvusBackupConfig} writes into `backup.yaml`. */
export interface MilvusBackupConfigArgs {
  /** Milvus's service host; also the TLS server name checked against its certificate. */
  readonly host: string;
  /** The root user's password. */
  readonly password: string;
  /** The store Milvus keeps its segments in. */
  readonly dataStore: MilvusBackupStore;
  /** The store backups go to. */
  readonly backupStore: MilvusBackupStore;
  /** Milvus's root path in its bucket; also the backups' root path. */
  readonly rootPath: string;
  /** Whether the stores differ, so milvus-backup must stream data rather than copy it server-side. */
  readonly crossStorage: boolean;
}

/**
 * milvus-backup's `backup.yaml`: Milvus over TLS (verifying its certificate with the CA mounted next to
 * the file) as root, Milvus's own store and the backup store. milvus-backup (like Milvus) sends no SSE
 * header, which every store mode accepts: an `sse-s3`/`sse-kms` store encrypts through its bucket's default
 * encryption (`ObjectStorageBucket`), a `store-managed` one by itself. JSON strings are valid YAML scalars, so
 * every value is written with `JSON.stringify`.
 */
export function milvusBackupConfig(c: MilvusBackupConfigArgs): string {
  const q = JSON.stringify;
  // The backup store's keys are the data store's with a `backup` prefix (`address` → `backupAddress`).
  const store = (prefix: "" | "backup", s: MilvusBackupStore): string[] =>
    Object.entries({
      storageType: q("minio"),
      address: q(s.host),
      port: String(s.port),
      region: q(s.region ?? "us-east-1"),
      accessKeyID: q(s.accessKeyId),
      secretAccessKey: q(s.secretAccessKey),
      useSSL: "true",
      bucketName: q(s.bucket),
      rootPath: q(c.rootPath),
    }).map(([key, value]) => `  ${prefix ? prefix + key[0]!.toUpperCase() + key.slice(1) : key}: ${value}`);
  return [
    "log:",
    "  level: info",
    "  console: true",
    "milvus:",
    `  address: ${q(c.host)}`,
    `  port: ${GRPC_PORT}`,
    "  authorizationEnabled: true",
    `  user: "root"`,
    `  password: ${q(c.password)}`,
    "  tlsMode: 1",
    `  caCertPath: "/app/configs/ca.crt"`,
    `  serverName: ${q(c.host)}`,
    "minio:",
    ...store("", c.dataStore),
    ...store("backup", c.backupStore),
    `  crossStorage: ${q(String(c.crossStorage))}`,
    "backup:",
    "  gcPause:",
    "    enable: true",
    `    address: ${q(`http://${c.host}:${MANAGEMENT_PORT}`)}`,
    "",
  ].join("\n");
}
