import * as pulumi from "@pulumi/pulumi";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as batchv1 from "@pulumi/kubernetes/batch/v1";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import * as rbacv1 from "@pulumi/kubernetes/rbac/v1";
import type * as k8sInput from "@pulumi/kubernetes/types/input";
import { Release } from "@pulumi/kubernetes/helm/v3/release";
import { BackupSchedule, MILVUS_BACKUP_IMAGE, RecoveryReport, backupScheduleRtoMinutes, validateBackupScheduleArgs } from "./backup-schedule";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { DATASET_LABEL, DATASET_SIZE_ANNOTATION, DataClass, HelmChartRef, STORE_LABEL, placementLabels } from "./labels";
import { ObjectStorageBucket, validateObjectStorageBucketArgs } from "./object-storage-bucket";
import type { SiteDatastoreRole, SiteRoles } from "./failover";
import { KeyStore, KeyValue, PulumiStateKeys, SecretTemplate } from "./keys";
import { POD_DEFAULTS } from "./pod-defaults";
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

/** Pinned image of the restore Job's resume step (kubectl and a shell; the same image as the GPU readiness check). */
export const MILVUS_RESUME_IMAGE = "alpine/k8s:1.33.4";

/** Arguments of {@link MilvusPrimary}. */
export interface MilvusPrimaryArgs {
  /**
   * The data sites (one or two). Each gets its own Milvus, etcd volume and data bucket (on its own object
   * store); only the primary's runs (see {@link milvusSitePlan}).
   */
  readonly sites: readonly Site[];
  /** The failover model's roles of `sites` (components/failover.ts `deriveSiteRoles`); must cover exactly `sites`. */
  readonly roles: SiteRoles;
  /**
   * Bucket for Milvus's segments and indexes, made on every site's object store. It is never deleted by a
   * change of role (`retainOnDelete`).
   */
  readonly dataBucket: string;
  /**
   * Name of the milvus-backup backup that a promote phase restores (stack setting `milvus.restoreBackup`),
   * e.g. `waris_202611301400`. Default: in a switchover or failback, the final backup the demote phase
   * took ({@link milvusFinalBackupName}); in a disaster, the newest `waris_YYYYMMDDHHMM` backup listed.
   */
  readonly restoreBackup?: string;
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
  /** Namespace. Default: the component's name, so two instances on one site never share one. */
  readonly namespace?: string;
  /**
   * Install the Milvus operator (Helm release `milvus-operator` and its cluster-wide CRDs) on the site.
   * Default false: the platform's operator, installed by the platform's own stack (index.ts sets true).
   *
   * @defaultValue false
   */
  readonly installOperator?: boolean;
  /** Restore throughput for the RTO estimate, MiB/s. Default 100. */
  readonly restoreThroughputMiBPerSecond?: number;
  /** Class of the data (embeddings of confidential documents are as sensitive). Default `confidential`. */
  readonly dataClass?: DataClass;
  /**
   * Where the keys come from (components/keys.ts): the CA and server certificate, the root password, the
   * object-store keys of Milvus (writer `milvus`, on each site's store) and of milvus-backup (writer
   * `milvus-backup`, on `backupSite`'s store). Default `new PulumiStateKeys()`: keys in the Pulumi state,
   * plain Secrets.
   */
  readonly keys?: KeyStore;
}

const whole = (n: unknown, min: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= min;

/** Every problem with the arguments (pure), the backup schedule's included. */
export function validateMilvusPrimaryArgs(
  site: SiteSpec & { readonly hasObjectStore: boolean },
  backupSite: SiteSpec & { readonly hasObjectStore: boolean },
  args: Omit<MilvusPrimaryArgs, "sites" | "roles" | "backupSite">,
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
  if (args.restoreBackup !== undefined && !/^[A-Za-z0-9_]{1,128}$/.test(args.restoreBackup)) add("restoreBackup", `is ${show(args.restoreBackup)}; a milvus-backup backup name (letters, digits, _), as milvus-backup list shows it`);
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

type k8sPodSpec = k8sInput.core.v1.PodSpec;

/** What a site's Milvus resources render in a role ({@link milvusSitePlan}). */
export interface MilvusSitePlan {
  /** Whether Milvus runs (standalone: `replicas` 1; cluster: every component at its size). False: every component at 0. */
  readonly running: boolean;
  /** The backup CronJob's `spec.suspend` as rendered (for a restoring site: at creation only, see `restore`). */
  readonly backupSuspended: boolean;
  /**
   * A restore runs on this site: a Job restores `backup` (undefined: the newest `waris_YYYYMMDDHHMM` one
   * listed) and then resumes the backup CronJob; Pulumi ignores the CronJob's `spec.suspend` meanwhile.
   */
  readonly restore?: {
    /** Backup name to restore; undefined: the newest `waris_YYYYMMDDHHMM` one `milvus-backup list` shows. */
    readonly backup?: string;
  };
  /** A final backup is taken on this site under this name (the demote phase of a switchover or failback). */
  readonly finalBackup?: string;
}

/**
 * The name of the final backup a switchover's (or failback's) `demote` phase takes on the old primary
 * `site`, and that the `promote` phase restores: `waris_final_<site>` (non-alphanumerics of the site as
 * `_`; milvus-backup names are letters, digits and `_`). One name per site: each switchover away from the
 * site replaces the previous one. The hourly pruning only deletes `waris_YYYYMMDDHHMM` names, never this.
 */
export function milvusFinalBackupName(site: string): string {
  return `waris_final_${site.replace(/[^A-Za-z0-9]/g, "_")}`;
}

/**
 * What a site's Milvus does in its role (pure; {@link MilvusPrimary} renders it, the runbook prints it):
 * - `primary`: runs, backed up hourly. In a `promote` phase (and a disaster's `fence`, which follows it)
 *   the site has just become primary through a procedure: a restore Job restores `restoreBackup`, else
 *   the old primary's final backup (switchover, failback), else the newest backup (disaster), and the
 *   backup CronJob is created suspended until the Job has finished, so that no backup of the still empty
 *   instance becomes "the newest backup".
 * - `demoted`: keeps running (no application is sent to it any more) so that a Job takes the final backup
 *   {@link milvusFinalBackupName}; its schedule is suspended.
 * - `replica`, `fenced`, `rebuilding`: scaled to zero, schedule suspended. Nothing is deleted: the
 *   `Milvus` resource, its etcd volume (`deletionPolicy: Retain`, `pvcDeletion: false`) and the data bucket stay.
 * - frozen (unreachable): exactly what it had, which the model gives as `primary` with no procedure.
 *
 * @param role - the site's role (`roles.bySite[site]`).
 * @param roles - all roles (for the procedure and phase).
 * @param restoreBackup - {@link MilvusPrimaryArgs.restoreBackup}.
 */
export function milvusSitePlan(role: SiteDatastoreRole, roles: SiteRoles, restoreBackup?: string): MilvusSitePlan {
  const p = roles.situation.procedure;
  if (role.frozen) return { running: true, backupSuspended: false };
  if (role.role === "primary") {
    const restoring = p !== undefined && (p.phase === "promote" || p.phase === "fence");
    if (!restoring) return { running: true, backupSuspended: false };
    const backup = restoreBackup ?? (p.procedure === "disaster" ? undefined : milvusFinalBackupName(p.from));
    return { running: true, backupSuspended: true, restore: backup === undefined ? {} : { backup } };
  }
  if (role.role === "demoted") return { running: true, backupSuspended: true, finalBackup: milvusFinalBackupName(role.site) };
  return { running: false, backupSuspended: true };
}

/**
 * The shell script of the restore Job's first container (milvus-backup image): waits for Milvus to answer
 * (`milvus-backup check`, up to 30 min: the `Milvus` resource was scaled up by the same `pulumi up`), then
 * `milvus-backup restore -n <name> --restore_index --drop_exist_collection` (milvus-backup README and the
 * Milvus docs "Back up and Restore Data Using Commands", 0.5.x CLI guide: `restore -n <backup name>`;
 * `--restore_index` "restore index", `--drop_exist_collection` "drop existing target collection before
 * create"). The site's stopped Milvus kept its older copy (a fenced site's data from before the disaster,
 * the standby's from its last time as primary): the backup replaces every collection it holds, and a retry
 * of the Job after a partial restore starts over instead of failing on the collections already made.
 * Without a name, the newest `waris_YYYYMMDDHHMM` backup of `milvus-backup list` (names sort by time, as
 * the backup script writes them).
 *
 * @param backup - backup name, or undefined for the newest.
 * @throws nothing; the script exits non-zero when no backup is found or the restore fails (the Job retries).
 */
export function milvusRestoreScript(backup?: string): string {
  return [
    "set -eu",
    "i=0",
    "until milvus-backup check; do i=$((i + 1)); [ \"$i\" -lt 180 ] || { echo 'Milvus did not answer in 30 min' >&2; exit 1; }; sleep 10; done",
    backup !== undefined ? `name=${JSON.stringify(backup)}` : "name=$(milvus-backup list | grep -o 'waris_[0-9]\\{12\\}' | sort -u | tail -n 1)",
    "[ -n \"$name\" ] || { echo 'no waris_YYYYMMDDHHMM backup to restore' >&2; exit 1; }",
    'echo "restoring $name"',
    'milvus-backup restore -n "$name" --restore_index --drop_exist_collection',
  ].join("\n");
}

/**
 * The shell script of the final backup Job of a `demote` phase: replaces the site's previous final backup
 * of the same name (milvus-backup refuses to create a name that exists) with one of everything Milvus holds.
 */
export function milvusFinalBackupScript(name: string): string {
  return ["set -eu", `milvus-backup delete -n ${JSON.stringify(name)} || true`, `milvus-backup create -n ${JSON.stringify(name)}`].join("\n");
}

/**
 * Where a site's Milvus keeps its data for a generation of the failover model (pure): generation 1 under
 * the dataset's name (the bucket's `minio.rootPath`; etcd's `rootPath` and the channel prefix default to
 * the resource's name, the same), a rebuilt generation n under `<dataset>-g<n>` for all three, so the
 * rebuilt Milvus starts empty and the restore fills it, while the old generation's segments, metadata and
 * messages stay where they were (nothing is deleted) until the runbook's decommission step removes them.
 */
export function milvusDataRoot(dataset: string, generation: number): string {
  return generation > 1 ? `${dataset}-g${generation}` : dataset;
}

/** RocksMQ's volume (standalone), GiB: the message log until segments are flushed, plus its retention (milvus.yaml `rocksmq.retentionSizeInMB` 8 GiB by default). */
export const ROCKSMQ_STORAGE_GIB = 20;

/**
 * The Pulsar chart the Milvus operator installs for a cluster-mode Milvus (`dependencies.pulsar.inCluster.
 * chartVersion`): `pulsar-v3` is apache/pulsar-helm-chart 3.3.0 as packed by milvus-helm milvus-4.2.48
 * (milvus-operator v1.2.7 Makefile `docker-prepare`; its webhook gives a new Milvus `pulsar-v3` when unset,
 * apis/milvus.io/v1beta1/milvus_webhook.go). Pinned because {@link milvusPulsarVolumeValues} names that
 * chart's keys.
 */
export const MILVUS_PULSAR_CHART_VERSION = "pulsar-v3";

/**
 * Pulsar values (cluster mode) that put every Pulsar volume on the site's StorageClass: ZooKeeper's `data`,
 * BookKeeper's `journal` and `ledgers` (pure). Without them the claims name no class and get the cluster's
 * default, which nothing shows encrypted: the Milvus defaults (milvus-helm values.yaml `pulsarv3`) set
 * sizes, not classes. The keys are those the chart's templates read (pulsar-helm-chart 3.3.0
 * `templates/zookeeper-statefulset.yaml`, `templates/bookkeeper-statefulset.yaml`: `storageClassName`
 * wins over `storageClass` and `local_storage`); the operator deep-merges them over its defaults
 * (pkg/util/util.go MergeValues). Pulsar manager, the only other chart component with a volume, is off.
 *
 * @param storageClass - the site's declared class (`Site.volumes.storageClass`).
 * @returns `dependencies.pulsar.inCluster.values`.
 */
export function milvusPulsarVolumeValues(storageClass: string): Record<string, unknown> {
  const on = { storageClassName: storageClass };
  return { zookeeper: { volumes: { data: on } }, bookkeeper: { volumes: { journal: on, ledgers: on } } };
}

/** Cluster-mode components, each set to 0 when Milvus is stopped (Milvus operator CRD v1.2.7, `spec.components.<name>.replicas`). */
const CLUSTER_COMPONENTS = ["rootCoord", "dataCoord", "queryCoord", "indexCoord", "dataNode", "indexNode", "proxy", "queryNode"] as const;

/**
 * Milvus on the failover model (components/failover.ts): on every data site the Milvus operator's
 * `Milvus` resource with its segments in the site's own S3-compatible store (a versioned, AES-256 bucket),
 * TLS on the gRPC port, authentication with a generated root password, and a {@link BackupSchedule} that
 * runs milvus-backup into the backup site's store and prunes it. Only the primary site's Milvus runs; the
 * others are scaled to zero with their etcd volume and data bucket kept ({@link milvusSitePlan}).
 *
 * Milvus has no replication: a site that becomes primary through a procedure restores a named backup
 * (a Job the program creates in the `promote` phase), with its backup schedule suspended until the
 * restore has finished; a switchover's `demote` phase first takes a final backup on the old primary.
 *
 * Upgrade from one-site 0.2.x: the home site's resources keep their old logical names through aliases
 * (the `Milvus` resource, namespace, secrets, operator release; the data bucket and backup schedule had
 * their names already), so prod's Milvus is updated in place, not replaced.
 */
export class MilvusPrimary extends pulumi.ComponentResource {
  /** gRPC host:port applications connect to (TLS, server name = the host); the same name on every site. */
  readonly endpoint: string;
  /** Secret with the root user's password (`password`). */
  readonly rootSecretName: string;
  /** Secret with the CA that signs Milvus's certificate (`ca.crt`), for clients. */
  readonly tlsSecretName: string;
  /** Namespace. */
  readonly namespace: string;
  /** The site whose Milvus runs (the model's `primarySite`). */
  readonly activeSite: string;
  /** The backups of the primary site's Milvus. */
  readonly backup: BackupSchedule;
  /** What each site renders, by site name ({@link milvusSitePlan}). */
  readonly plans: Readonly<Record<string, MilvusSitePlan>>;
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
   * @throws InvalidArgumentsError naming the argument, from {@link validateMilvusPrimaryArgs} (for every
   *   site), and when `roles` do not cover exactly `sites`.
   */
  constructor(name: string, args: MilvusPrimaryArgs, opts?: pulumi.ComponentResourceOptions) {
    const hasStore = (s: Site) => ({ ...s.spec, hasObjectStore: s.objectStoreAccess !== undefined });
    const siteNames = args.sites.map((s) => s.spec.name);
    const problems: ArgumentProblem[] = [];
    const seen = new Set<string>();
    for (const site of args.sites) {
      for (const p of validateMilvusPrimaryArgs(hasStore(site), hasStore(args.backupSite), args)) {
        const key = `${p.argument}: ${p.message}`;
        if (!seen.has(key)) problems.push({ argument: p.argument === "site" ? "sites" : p.argument, message: p.message });
        seen.add(key);
      }
    }
    const roleSites = Object.keys(args.roles.bySite).sort();
    if (roleSites.join(",") !== [...siteNames].sort().join(",")) problems.push({ argument: "roles", message: `cover the sites ${roleSites.join(", ") || "(none)"}; they must cover exactly ${siteNames.join(", ")}` });
    throwIfInvalid(`MilvusPrimary "${name}"`, problems);
    super("waris:index:MilvusPrimary", name, {}, opts);
    const namespace = args.namespace ?? name;
    const mode = args.mode ?? "standalone";
    const dataSizeGiB = milvusDataSizeGiB(args);
    const memoryGiB = args.memoryGiB ?? 16;
    const dataClass = args.dataClass ?? "confidential";
    const service = `${name}-milvus`;
    const host = `${service}.${namespace}.svc.cluster.local`;
    this.namespace = namespace;
    this.endpoint = `${host}:${GRPC_PORT}`;
    this.rootSecretName = `${name}-root`;
    this.tlsSecretName = `${name}-tls`;
    this.activeSite = args.roles.primarySite;
    const storageSecret = `${name}-storage`;
    const backupConfigSecret = `${name}-backup-config`;
    const cronJobName = `${name}-backup`;
    const homeSite = args.roles.homeSite;
    const parent = { parent: this };

    // One password and one CA for every site: the restored Milvus is reached with the same credentials.
    const keys = args.keys ?? new PulumiStateKeys();
    const rootPassword = keys.generatedPassword(`${name}-root`, 32, parent);
    const ca = keys.certificateAuthority(name, `${name} Milvus CA`, parent);
    const serverCert = { subject: { commonName: host }, dnsNames: [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, host], uses: ["server" as const] };
    // milvus-backup writes into the backup site's store with keys of its own (writer `milvus-backup`).
    const backupKeys = keys.objectStoreKeys(args.backupSite.spec.name, "milvus-backup", args.backupSite.objectStoreWriterKeys("milvus-backup"));
    const backupStore = args.backupSite.objectStoreAccess!;
    const backupAt = hostAndPort(backupStore.endpoint);
    const plans: Record<string, MilvusSitePlan> = {};
    const schedules: Record<string, BackupSchedule> = {};

    for (const site of args.sites) {
      const siteName = site.spec.name;
      const role = args.roles.bySite[siteName]!;
      const plan = milvusSitePlan(role, args.roles, args.restoreBackup);
      plans[siteName] = plan;
      const id = (suffix: string): string => `${name}-${siteName}-${suffix}`;
      const dataRoot = milvusDataRoot(name, role.generation);
      // The home site's resources had these names when Milvus had one site: aliases keep them (and the
      // etcd volume under the Milvus resource) instead of deleting them and creating new ones.
      const alias = (oldName: string): pulumi.CustomResourceOptions => (siteName === homeSite ? { aliases: [{ name: oldName }] } : {});
      const o = { parent: this, provider: site.kubernetesProvider };
      const labels = { ...placementLabels(siteName, dataClass), [DATASET_LABEL]: name };
      const meta = (n: string) => ({ name: n, namespace, labels });

      // The bucket is named per site (it always was); it is kept when the role moves and on delete.
      const dataBucket = new ObjectStorageBucket(
        `${name}-${siteName}-data`,
        { site, bucket: args.dataBucket, dataset: name, dataClass, retentionDays: DATA_BUCKET_RETENTION_DAYS, retainOnDelete: true },
        parent,
      );

      // Deleting the namespace would delete the etcd volume: it is retained even if dropped from the program.
      const ns = new corev1.Namespace(id("ns"), { metadata: { name: namespace, labels } }, { ...o, ...alias(`${name}-ns`), retainOnDelete: true });
      const inNamespace = { ...o, dependsOn: [ns] };
      const operator =
        args.installOperator ?? false
          ? [
              new Release(
                id("operator"),
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
                { ...o, ...alias(`${name}-operator`) },
              ),
            ]
          : [];

      const store = site.objectStoreAccess!;
      const data = hostAndPort(store.endpoint);
      // Milvus's own keys on this site's store (writer `milvus`); milvus-backup reads (and, restoring,
      // writes) the segments with them too.
      const dataKeys = keys.objectStoreKeys(siteName, "milvus", site.objectStoreWriterKeys("milvus"));
      const target = (resourceName: string, secretName: string, oldName: string) => ({ resourceName, site: siteName, namespace, name: secretName, labels, opts: { ...inNamespace, ...alias(oldName) } });
      const secrets = [
        keys.secret(target(id("root"), this.rootSecretName, `${name}-root`), { password: rootPassword }),
        ca.tlsSecret("server", target(id("tls"), this.tlsSecretName, `${name}-tls`), serverCert),
        // The operator reads the store's keys from `accesskey` / `secretkey`.
        keys.secret(target(id("storage"), storageSecret, `${name}-storage`), { accesskey: dataKeys.accessKeyId, secretkey: dataKeys.secretAccessKey }),
        keys.secret(target(id("backup-config"), backupConfigSecret, `${name}-backup-config`), {
          "ca.crt": { text: ca.caCert },
          "backup.yaml": milvusBackupConfigTemplate(
            {
              host,
              dataStore: { ...data, region: store.signingRegion, bucket: args.dataBucket },
              backupStore: { ...backupAt, region: backupStore.signingRegion, bucket: args.backupBucket },
              rootPath: dataRoot,
              backupRootPath: name,
              // Always streamed, even where Milvus and its backups share a store (G-Cloud): a server-side
              // copy runs with one client, the backup store's keys, which would have to read Milvus's bucket
              // (zilliztech/milvus-backup#642: "aws copy object ... Access Denied" with separate backup
              // keys); each writer's keys are limited to its own bucket (OBJECT_STORE_WRITER_ACTIONS).
              crossStorage: true,
            },
            { password: rootPassword, dataAccessKeyId: dataKeys.accessKeyId, dataSecretAccessKey: dataKeys.secretAccessKey, backupAccessKeyId: backupKeys.accessKeyId, backupSecretAccessKey: backupKeys.secretAccessKey },
          ),
        }),
      ];

      const resources = { requests: { cpu: args.cpu ?? "4", memory: `${memoryGiB}Gi` }, limits: { memory: `${memoryGiB}Gi` } };
      // Stopped = every component at 0 replicas (Milvus operator CRD v1.2.7: spec.components.<component>.replicas,
      // integer, minimum -1; the CRD has no "stopped" switch, and `paused` only stops the operator's reconciling).
      const size = (n: number): number => (plan.running ? n : 0);
      const clusterSizes = Object.fromEntries(CLUSTER_COMPONENTS.map((c) => [c, { replicas: size(c === "proxy" || c === "queryNode" ? 2 : 1) }]));
      const milvus = new apiextensions.CustomResource(
        id("milvus"),
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
              ...(mode === "standalone"
                ? { standalone: { replicas: size(1), serviceType: "ClusterIP", resources } }
                : { ...clusterSizes, proxy: { ...clusterSizes["proxy"], serviceType: "ClusterIP" }, queryNode: { ...clusterSizes["queryNode"], resources } }),
            },
            config: {
              common: { security: { authorizationEnabled: true, tlsMode: 1 } },
              tls: { serverPemPath: `${CERT_DIR}/tls.crt`, serverKeyPath: `${CERT_DIR}/tls.key`, caPemPath: `${CERT_DIR}/ca.crt` },
              minio: { bucketName: args.dataBucket, rootPath: dataRoot, useSSL: true, region: store.signingRegion ?? "us-east-1" },
              // A rebuilt generation starts from empty metadata and channels too: the operator defaults both
              // to the resource's name (config/assets/templates/milvus.yaml.tmpl) and merges spec.config
              // over its defaults (pkg/controllers/configmaps.go, updateConfigMap).
              ...(role.generation > 1 ? { etcd: { rootPath: dataRoot }, msgChannel: { chanNamePrefix: { cluster: dataRoot } } } : {}),
            },
            dependencies: {
              storage: { external: true, type: "MinIO", endpoint: `${data.host}:${data.port}`, secretRef: storageSecret },
              etcd: {
                inCluster: {
                  deletionPolicy: "Retain",
                  pvcDeletion: false,
                  values: { replicaCount: mode === "standalone" ? 1 : 3, persistence: { size: `${args.etcdStorageGiB ?? 10}Gi`, ...(site.volumes ? { storageClass: site.volumes.storageClass } : {}) } },
                },
              },
              msgStreamType: mode === "standalone" ? "rocksmq" : "pulsar",
              // RocksMQ keeps the inserts not yet flushed to segments under /var/lib/milvus, which the operator
              // mounts from a volume only with persistence enabled (milvus-operator v1.2.7 pvc.go,
              // deployment_updater.go; docs/administration/manage-dependencies/message-storage.md): without
              // it they are lost at every restart, and at every stop of a role change.
              ...(mode === "standalone"
                ? {
                    rocksmq: {
                      persistence: {
                        enabled: true,
                        pvcDeletion: false,
                        persistentVolumeClaim: {
                          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${ROCKSMQ_STORAGE_GIB}Gi` } }, ...(site.volumes ? { storageClassName: site.volumes.storageClass } : {}) },
                        },
                      },
                    },
                  }
                : {}),
              ...(mode === "cluster"
                ? {
                    pulsar: {
                      inCluster: {
                        chartVersion: MILVUS_PULSAR_CHART_VERSION,
                        deletionPolicy: "Retain",
                        pvcDeletion: false,
                        ...(site.volumes ? { values: milvusPulsarVolumeValues(site.volumes.storageClass) } : {}),
                      },
                    },
                  }
                : {}),
            },
          },
        },
        { ...o, ...alias(`${name}-milvus`), dependsOn: [...operator, ...secrets, dataBucket], retainOnDelete: true },
      );

      // The home site's schedule keeps the name it has always had (as PostgreSQL's does).
      const schedule = new BackupSchedule(
        siteName === homeSite ? `${name}-backup` : id("backup"),
        {
          kind: "milvus",
          dataset: name,
          site,
          namespace,
          schedule: args.backupSchedule ?? "0 * * * *",
          retentionDays: args.backupRetentionDays ?? 14,
          keepEveryBackupForHours: args.keepEveryBackupForHours ?? 48,
          milvusBackupConfigSecret: backupConfigSecret,
          datasetSizeGiB: dataSizeGiB,
          restoreThroughputMiBPerSecond: args.restoreThroughputMiBPerSecond ?? DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND,
          location: `s3://${args.backupBucket}/${name}/ on ${args.backupSite.spec.name}`,
          dataClass,
          suspend: plan.backupSuspended,
          suspendOwnedByRestore: plan.restore !== undefined,
        },
        { parent: this, dependsOn: secrets },
      );
      schedules[siteName] = schedule;

      const jobPod = (containers: k8sPodSpec["containers"], extra: Partial<k8sPodSpec> = {}): k8sPodSpec => ({
        ...extra,
        containers,
        volumes: [{ name: "config", secret: { secretName: backupConfigSecret } }],
        ...POD_DEFAULTS,
        restartPolicy: "OnFailure",
      });
      const backupContainer = (containerName: string, script: string) => ({
        name: containerName,
        image: MILVUS_BACKUP_IMAGE,
        command: ["/bin/sh", "-c", script],
        volumeMounts: [{ name: "config", mountPath: "/app/configs", readOnly: true }],
        resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "1Gi" } },
      });
      // Jobs are awaited by the `kubectl wait` of the runbook, not by `pulumi up` (a restore may take longer
      // than the provider's await timeout): `pulumi.com/skipAwait`.
      const jobMeta = (n: string) => ({ ...meta(n), annotations: { "pulumi.com/skipAwait": "true" } });

      if (plan.finalBackup !== undefined) {
        new batchv1.Job(
          id("final-backup"),
          {
            metadata: jobMeta(`${name}-final-backup`),
            spec: { backoffLimit: 2, template: { metadata: { labels }, spec: jobPod([backupContainer("milvus-backup", milvusFinalBackupScript(plan.finalBackup))]) } },
          },
          { ...o, dependsOn: [milvus, ...secrets] },
        );
      }

      if (plan.restore !== undefined) {
        // Who resumes the schedule: the restore Job itself, once `milvus-backup restore` has exited 0 (the
        // resume container runs only after the restore init container succeeded). Chosen over a later
        // `pulumi up` because nothing else knows when the restore has finished, and over a CronJob guard
        // (a marker checked by every run) because the suspended CronJob is visible state. Its service
        // account may only get and patch this one CronJob (Role `resourceNames`); Pulumi sets `suspend`
        // when it creates the CronJob and ignores the field in this phase (BackupSchedule
        // `suspendOwnedByRestore`), so a second `pulumi up` does not suspend it again; the next phase
        // (steady state) writes `suspend: false`, which is then what the Job has already set.
        const account = `${name}-restore`;
        const sa = new corev1.ServiceAccount(id("restore-sa"), { metadata: meta(account) }, inNamespace);
        const roleRes = new rbacv1.Role(
          id("restore-role"),
          { metadata: meta(account), rules: [{ apiGroups: ["batch"], resources: ["cronjobs"], resourceNames: [cronJobName], verbs: ["get", "patch"] }] },
          inNamespace,
        );
        const binding = new rbacv1.RoleBinding(
          id("restore-binding"),
          {
            metadata: meta(account),
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: account },
            subjects: [{ kind: "ServiceAccount", name: account, namespace }],
          },
          inNamespace,
        );
        new batchv1.Job(
          id("restore"),
          {
            metadata: { ...jobMeta(`${name}-restore`), annotations: { "pulumi.com/skipAwait": "true", "waris.io/restore-backup": plan.restore.backup ?? "newest" } },
            spec: {
              backoffLimit: 6,
              template: {
                metadata: { labels },
                spec: jobPod(
                  [
                    {
                      name: "resume-backups",
                      image: MILVUS_RESUME_IMAGE,
                      command: ["/bin/sh", "-c", `kubectl -n ${namespace} patch cronjob ${cronJobName} --type merge -p '{"spec":{"suspend":false}}'`],
                      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
                    },
                  ],
                  { serviceAccountName: account, initContainers: [backupContainer("restore", milvusRestoreScript(plan.restore.backup))] },
                ),
              },
            },
          },
          { ...o, dependsOn: [milvus, sa, roleRes, binding, schedule, ...secrets] },
        );
      }
    }

    this.plans = plans;
    this.backup = schedules[args.roles.primarySite] ?? schedules[siteNames[0]!]!;
    this.rpoMinutes = this.backup.rpoMinutes;
    this.rtoMinutes = this.backup.rtoMinutes!;
    this.report = {
      ...this.backup.report,
      method: `${this.backup.report.method}; restore: a Job of the promote phase (milvus-backup restore -n <name>: the old primary's final backup after a switchover, else the newest or milvus.restoreBackup), the schedule suspended until it has finished`,
    };
    this.registerOutputs({ endpoint: this.endpoint, rootSecretName: this.rootSecretName, tlsSecretName: this.tlsSecretName, activeSite: this.activeSite, rpoMinutes: this.rpoMinutes, rtoMinutes: this.rtoMinutes });
  }
}

/** What a site's Milvus does in a role, in words (pure; the runbook prints it for each phase). */
export function milvusRoleEffect(role: SiteDatastoreRole, roles: SiteRoles, dataset = "waris-milvus", restoreBackup?: string): string {
  if (role.frozen) return `Milvus ${dataset}: unreachable, left exactly as it was (no change is sent there)`;
  const plan = milvusSitePlan(role, roles, restoreBackup);
  if (plan.restore) {
    return `Milvus ${dataset}: scaled up; Job ${dataset}-restore restores ${plan.restore.backup ?? "the newest waris_YYYYMMDDHHMM backup"} (milvus-backup restore), then resumes the backup CronJob ${dataset}-backup (created suspended)`;
  }
  if (plan.finalBackup) return `Milvus ${dataset}: still running, no longer served; Job ${dataset}-final-backup takes the final backup ${plan.finalBackup}; backup CronJob suspended`;
  if (plan.running) return `Milvus ${dataset}: running (primary), hourly backups`;
  return `Milvus ${dataset}: scaled to 0 (the Milvus resource, its etcd volume and data bucket are kept); backup CronJob suspended`;
}

/** An S3-compatible store as milvus-backup's config names it, without its keys. */
export interface MilvusBackupStoreLocation {
  /** Host name of the S3 endpoint (TLS). */
  readonly host: string;
  /** Port, 443 unless the endpoint says otherwise. */
  readonly port: number;
  /** Signing region. Default `us-east-1`. */
  readonly region?: string;
  /** Bucket. */
  readonly bucket: string;
}

/** An S3-compatible store as milvus-backup's config names it. */
export interface MilvusBackupStore extends MilvusBackupStoreLocation {
  /** Access key id. */
  readonly accessKeyId: string;
  /** Secret access key. */
  readonly secretAccessKey: string;
}

/** What {@link milvusBackupConfig} writes into `backup.yaml`. */
export interface MilvusBackupConfigArgs extends MilvusBackupLayout {
  /** The root user's password. */
  readonly password: string;
  /** The store Milvus keeps its segments in. */
  readonly dataStore: MilvusBackupStore;
  /** The store backups go to. */
  readonly backupStore: MilvusBackupStore;
}

/** Everything of `backup.yaml` but its secrets ({@link milvusBackupConfigTemplate}). */
export interface MilvusBackupLayout {
  /** Milvus's service host; also the TLS server name checked against its certificate. */
  readonly host: string;
  /** The store Milvus keeps its segments in. */
  readonly dataStore: MilvusBackupStoreLocation;
  /** The store backups go to. */
  readonly backupStore: MilvusBackupStoreLocation;
  /** Milvus's root path in its bucket ({@link milvusDataRoot}: changes with the site's generation). */
  readonly rootPath: string;
  /** The backups' root path in the backup bucket: the dataset's name, the same for every site and generation, so a rebuilt site lists the backups made before. */
  readonly backupRootPath: string;
  /**
   * Whether milvus-backup streams the data through itself, reading with the data store's keys and writing
   * with the backup store's, rather than copying it server-side with the backup store's keys only. Needed
   * when the stores differ, or when each store's keys reach only their own bucket (as here).
   */
  readonly crossStorage: boolean;
}

/** The secrets `backup.yaml` holds, by their names in {@link milvusBackupConfigTemplate}'s values. */
export const MILVUS_BACKUP_CONFIG_SECRETS = ["password", "dataAccessKeyId", "dataSecretAccessKey", "backupAccessKeyId", "backupSecretAccessKey"] as const;

/** One of {@link MILVUS_BACKUP_CONFIG_SECRETS}. */
export type MilvusBackupConfigSecret = (typeof MILVUS_BACKUP_CONFIG_SECRETS)[number];

/**
 * milvus-backup's `backup.yaml`: Milvus over TLS (verifying its certificate with the CA mounted next to
 * the file) as root, Milvus's own store and the backup store. milvus-backup (like Milvus) sends no SSE
 * header, which every store mode accepts: an `sse-s3`/`sse-kms` store encrypts through its bucket's default
 * encryption (`ObjectStorageBucket`), a `store-managed` one by itself. JSON strings are valid YAML scalars, so
 * every value is written with `JSON.stringify`.
 */
export function milvusBackupConfig(c: MilvusBackupConfigArgs): string {
  const values: Record<MilvusBackupConfigSecret, string> = {
    password: c.password,
    dataAccessKeyId: c.dataStore.accessKeyId,
    dataSecretAccessKey: c.dataStore.secretAccessKey,
    backupAccessKeyId: c.backupStore.accessKeyId,
    backupSecretAccessKey: c.backupStore.secretAccessKey,
  };
  return backupConfigText(c, (n) => JSON.stringify(values[n]));
}

/**
 * `backup.yaml` ({@link milvusBackupConfig}) as a key store's template: the layout here, the secrets
 * (named as in {@link MILVUS_BACKUP_CONFIG_SECRETS}) written by the store as JSON strings, so the Vault
 * store's file is the same text once External Secrets has filled it in.
 */
export function milvusBackupConfigTemplate(c: MilvusBackupLayout, values: Readonly<Record<MilvusBackupConfigSecret, KeyValue>>): SecretTemplate {
  return { values, render: (ref) => backupConfigText(c, (n) => ref.json(n)) };
}

/** The text of `backup.yaml`; `secret(name)` writes a secret as a YAML scalar. */
function backupConfigText(c: MilvusBackupLayout, secret: (name: MilvusBackupConfigSecret) => string): string {
  const q = JSON.stringify;
  // The backup store's keys are the data store's with a `backup` prefix (`address` → `backupAddress`).
  const store = (prefix: "" | "backup", s: MilvusBackupStoreLocation): string[] =>
    Object.entries({
      storageType: q("minio"),
      address: q(s.host),
      port: String(s.port),
      region: q(s.region ?? "us-east-1"),
      accessKeyID: secret(prefix ? "backupAccessKeyId" : "dataAccessKeyId"),
      secretAccessKey: secret(prefix ? "backupSecretAccessKey" : "dataSecretAccessKey"),
      useSSL: "true",
      bucketName: q(s.bucket),
      rootPath: q(prefix === "backup" ? c.backupRootPath : c.rootPath),
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
    `  password: ${secret("password")}`,
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
