import * as pulumi from "@pulumi/pulumi";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import { Release } from "@pulumi/kubernetes/helm/v3/release";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { DATASET_LABEL, DataClass, HelmChartRef, placementLabels } from "./labels";
import { DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND, STANDBY_PROMOTION_MINUTES, estimatedRtoMinutes } from "./recovery";
import { isRegionInThailand } from "./residency";
import { KeyStore, PulumiStateKeys, suppliedSecretProblems } from "./keys";
import { CertificateSpec } from "./pki";
import { KUBECONFIG_SITE_KINDS, Site, crossSiteExposure, peerRangeProblems } from "./site";
import { BackupSchedule } from "./backup-schedule";
import { ObjectStorageBucket, ObjectStorageBucketArgs, checkBucketSdk, validateObjectStorageBucketArgs } from "./object-storage-bucket";
import type { SiteDatastoreRole, SiteRoles } from "./failover";
import { DEFAULT_STORE_ENCRYPTION, barmanEncryption } from "./store-encryption";

/** Pinned charts installed on every database site. */
export const POSTGRES_CHARTS: Readonly<Record<"cloudnativePg" | "barmanCloud" | "certManager", HelmChartRef>> = {
  /** CloudNativePG operator (chart 0.26.x ships operator 1.27). */
  cloudnativePg: { repo: "https://cloudnative-pg.github.io/charts", chart: "cloudnative-pg", version: "0.26.0" },
  /** Barman Cloud CNPG-I plugin: WAL archiving and base backups through the `ObjectStore` CRD. */
  barmanCloud: { repo: "https://cloudnative-pg.github.io/charts", chart: "plugin-barman-cloud", version: "0.4.0" },
  /** cert-manager: the plugin's TLS with the operator needs it. */
  certManager: { repo: "https://charts.jetstack.io", chart: "cert-manager", version: "v1.18.2" },
};

// Defined beside its user, the backup schedule (which this module imports); exported here as before.
export { BARMAN_CLOUD_PLUGIN } from "./backup-schedule";
import { BARMAN_CLOUD_PLUGIN } from "./backup-schedule";


/** The name of a cluster's application password among supplied secrets (Vault KV `stack/<name>`). */
export function postgresAppPasswordName(cluster: string): string {
  return `${cluster}-app-password`;
}

/**
 * Name of a site's CloudNativePG cluster: `<dataset>-<site>`, and `<dataset>-<site>-g<n>` once the site's
 * data was rebuilt into generation n (a new Cluster with a new WAL archive path).
 */
export function postgresClusterName(dataset: string, site: string, generation = 1): string {
  return generation === 1 ? `${dataset}-${site}` : `${dataset}-${site}-g${generation}`;
}

/** CloudNativePG's fencing annotation: a JSON list of instance names, `["*"]` for all (docs/src/fencing.md). */
export const FENCED_INSTANCES_ANNOTATION = "cnpg.io/fencedInstances";

/** Namespace of the CloudNativePG operator and the Barman Cloud plugin (the plugin must share it). */
export const CNPG_OPERATOR_NAMESPACE = "cnpg-system";

/** Arguments of {@link PostgresCluster}. */
export interface PostgresClusterArgs {
  /** Database sites: one (no standby) or two (primary and standby); Kubernetes sites in Thailand. */
  readonly sites: readonly Site[];
  /**
   * Each site's role, from the failover model (`deriveSiteRoles` of `components/failover.ts`; for a stack
   * with no procedure under way, `steadyRoles(sites, activeSite)`). The clusters are rendered from it:
   * CloudNativePG's distributed topology (`spec.replica.primary`), demotion and promotion with the
   * demotion token, fencing of a returning site, and re-cloning into a new generation.
   */
  readonly roles: SiteRoles;
  /** Site whose S3-compatible object store holds the WAL archive and base backups. */
  readonly backupSite: Site;
  /**
   * Name of the bucket in that store that holds the WAL archive and base backups. The cluster creates
   * it (an `ObjectStorageBucket` child named `<name>-backups`: versioned, encrypted, object lock of
   * {@link backupObjectLockDays}) unless {@link existingBackupBucket} is given.
   */
  readonly backupBucket: string;
  /**
   * A bucket made elsewhere to use instead of creating one. The cluster verifies that it is
   * {@link backupBucket} on {@link backupSite} for this dataset (an `InvalidArgumentsError` otherwise,
   * before anything is registered) and waits for it. Default: none, the cluster creates its bucket.
   */
  readonly existingBackupBucket?: ObjectStorageBucket;
  /**
   * The created bucket's object lock (governance mode), days. Default 7. Ignored with {@link existingBackupBucket}.
   *
   * @defaultValue 7
   */
  readonly backupObjectLockDays?: number;
  /** Days base backups and WAL are kept. Default 30. */
  readonly backupRetentionDays?: number;
  /**
   * Host name at which each site's primary is reachable from the other site (over the VPN), keyed by
   * site name. Required with two sites: replication connects to it with `sslmode=verify-full`.
   */
  readonly replicationHosts?: Readonly<Record<string, string>>;
  /** Namespace of the clusters. Default: the component's name, so two clusters on one site never share one. */
  readonly namespace?: string;
  /** PostgreSQL instances per site (1 primary/designated primary + hot standbys). Default 2. */
  readonly instancesPerSite?: number;
  /** Data volume per instance, GiB. Default 100. */
  readonly storageSizeGiB?: number;
  /** WAL volume per instance, GiB. Default 20. */
  readonly walStorageSizeGiB?: number;
  /** Storage class of the volumes. Default: the cluster's default class. */
  readonly storageClass?: string;
  /** CPU request per instance, Kubernetes quantity. Default `"2"`. */
  readonly cpu?: string;
  /** Memory request and limit per instance, GiB. Default 8. */
  readonly memoryGiB?: number;
  /** Application database. Default `waris`. */
  readonly database?: string;
  /** Owner of the application database. Default `waris`. */
  readonly owner?: string;
  /**
   * Password of the owner (a Pulumi secret); becomes a Kubernetes basic-auth Secret. Required with the
   * Pulumi-state key store (the default); ignored with Vault keys, which read it from Vault KV.
   */
  readonly appPassword?: pulumi.Input<string>;
  /** `archive_timeout`: a WAL segment is archived at least this often, minutes. Default 5. */
  readonly archiveTimeoutMinutes?: number;
  /** Replication lag alert threshold, seconds. Default 60. */
  readonly replicationLagTargetSeconds?: number;
  /** RPO the archive must meet, minutes; also the alert on the age of the last archived WAL. Default 60. */
  readonly rpoMinutes?: number;
  /** Restore throughput for the single-site RTO estimate, MiB/s. Default 100. */
  readonly restoreThroughputMiBPerSecond?: number;
  /**
   * Install cert-manager, the CloudNativePG operator and the Barman Cloud plugin (Helm releases `cert-manager`,
   * `cnpg`, `barman-cloud` and their cluster-wide CRDs) on each site. Default false: the cluster uses the
   * platform's operators, which the platform's own stack installs (index.ts sets true); a second stack
   * installing them would co-own them, and its `pulumi destroy` would remove them.
   *
   * @defaultValue false
   */
  readonly installOperators?: boolean;
  /** Class of the data. Default `confidential`. */
  readonly dataClass?: DataClass;
  /**
   * Where the keys come from (components/keys.ts): with two sites the shared CA, each site's server
   * certificate (`<name>-server`) and the replication client certificate (`<name>-replication`); the
   * owner's password (supplied secret `<name>-app-password`: in the Pulumi-state store
   * {@link appPassword}, in Vault KV `stack/<name>-app-password`); Barman Cloud's object-store keys
   * (writer `postgres` on {@link backupSite}). Default `new PulumiStateKeys()`: `@pulumi/tls` and plain
   * Secrets, as before the stores existed.
   */
  readonly keys?: KeyStore;
}

/** Arguments of {@link PostgresCluster.addBackupSchedule}. */
export interface PostgresBackupScheduleArgs {
  /** Five-field cron, UTC, e.g. `0 3 * * 0` (Sundays 03:00). */
  readonly schedule: string;
  /** Days backups are kept. Default: the cluster's `backupRetentionDays` (30). */
  readonly retentionDays?: number;
}

/** The arguments of the bucket a cluster creates for itself (see {@link PostgresClusterArgs.backupBucket}). */
export function postgresBackupBucketArgs(
  name: string,
  args: Pick<PostgresClusterArgs, "backupBucket" | "backupRetentionDays" | "backupObjectLockDays" | "dataClass">,
): Omit<ObjectStorageBucketArgs, "site"> {
  return {
    bucket: args.backupBucket,
    dataset: name,
    retentionDays: args.backupRetentionDays ?? 30,
    objectLockDays: args.backupObjectLockDays ?? 7,
    dataClass: args.dataClass ?? "confidential",
  };
}

/** What is wrong with using `bucket` as the backup bucket of cluster `name` (pure). */
export function existingBucketProblems(name: string, args: Pick<PostgresClusterArgs, "backupBucket" | "backupSite">, bucket: Pick<ObjectStorageBucket, "bucket" | "siteName" | "dataset">): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  if (bucket.bucket !== args.backupBucket) problems.push({ argument: "existingBackupBucket", message: `is bucket ${show(bucket.bucket)}, but backupBucket is ${show(args.backupBucket)}; the archive would go to a bucket nobody created` });
  if (bucket.siteName !== args.backupSite.spec.name) problems.push({ argument: "existingBackupBucket", message: `is on site "${bucket.siteName}", but backupSite is "${args.backupSite.spec.name}"` });
  if (bucket.dataset !== name) problems.push({ argument: "existingBackupBucket", message: `holds dataset ${show(bucket.dataset)}, not "${name}"; the policy pack matches backups to datasets by that tag` });
  return problems;
}

const whole = (n: unknown, min: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= min;

/** Every problem with the arguments (pure: the stack configuration runs it before anything is registered). */
export function validatePostgresClusterArgs(
  args: Omit<PostgresClusterArgs, "sites" | "backupSite" | "appPassword" | "roles"> & {
    readonly roles: { readonly bySite: Readonly<Record<string, unknown>> };
    readonly sites: readonly { readonly name: string; readonly kind: string; readonly region: string; readonly country: string }[];
    readonly backupSite: { readonly name: string; readonly kind: string; readonly region: string; readonly country: string; readonly hasObjectStore: boolean };
  },
): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  const names = args.sites.map((s) => s.name);
  if (names.length === 0 || names.length > 2) add("sites", `lists ${names.length} sites; give one (no standby) or two (primary and standby)`);
  if (new Set(names).size !== names.length) add("sites", `lists site "${names.find((n, i) => names.indexOf(n) !== i)}" twice: the standby must be on a different site from the primary`);
  for (const s of args.sites) {
    if (!(KUBECONFIG_SITE_KINDS as readonly string[]).includes(s.kind)) add("sites", `site "${s.name}" is ${s.kind}; CloudNativePG runs on the onprem/gcloud Kubernetes sites (use the managed variants on clouds)`);
    if (s.country !== "TH" || !isRegionInThailand(s.kind as never, s.region)) add("sites", `site "${s.name}" (${s.kind} ${s.region}, ${s.country}) is outside Thailand; database sites must be in Thailand`);
  }
  const roleSites = Object.keys(args.roles.bySite).sort();
  if (roleSites.join(",") !== [...names].sort().join(",")) add("roles", `cover the sites ${roleSites.join(", ") || "(none)"}; they must cover exactly the database sites ${names.join(", ")}`);
  if (names.length === 2) {
    for (const n of names) if (!args.replicationHosts?.[n]) add(`replicationHosts.${n}`, "is required with two sites: the other site replicates from this host");
  }
  if (!args.backupSite.hasObjectStore) add("backupSite", `site "${args.backupSite.name}" has no S3-compatible object store`);
  if (args.backupSite.country !== "TH" || !isRegionInThailand(args.backupSite.kind as never, args.backupSite.region)) {
    add("backupSite", `site "${args.backupSite.name}" is outside Thailand; backups must stay in Thailand`);
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(args.backupBucket)) add("backupBucket", `is ${show(args.backupBucket)}; an S3 bucket name is 3-63 lowercase letters, digits, '.' and '-'`);
  for (const [field, min] of [["instancesPerSite", 1], ["storageSizeGiB", 1], ["walStorageSizeGiB", 1], ["memoryGiB", 1], ["backupRetentionDays", 1]] as const) {
    const v = args[field];
    if (v !== undefined && !whole(v, min)) add(field, `is ${show(v)}; must be a whole number of at least ${min}`);
  }
  const rpo = args.rpoMinutes ?? 60;
  const lag = args.replicationLagTargetSeconds ?? 60;
  const archive = args.archiveTimeoutMinutes ?? 5;
  if (!(rpo > 0)) add("rpoMinutes", `is ${show(rpo)}; must be a positive number of minutes`);
  if (!(lag > 0)) add("replicationLagTargetSeconds", `is ${show(lag)}; must be a positive number of seconds`);
  else if (lag > rpo * 60) add("replicationLagTargetSeconds", `is ${lag} s, above the RPO of ${rpo} min (${rpo * 60} s)`);
  if (!(archive > 0)) add("archiveTimeoutMinutes", `is ${show(archive)}; must be a positive number of minutes`);
  else if (archive > rpo) add("archiveTimeoutMinutes", `is ${archive} min, above the RPO of ${rpo} min: a quiet database would lose more than the RPO`);
  return problems;
}

/**
 * PostgreSQL on CloudNativePG across one or two sites, in the distributed topology: each site runs a
 * `Cluster`; `spec.replica.primary` names the active one, the other follows by streaming replication
 * (TLS 1.3, `verify-full`) and from the WAL archive in object storage, so it survives a broken link.
 * WAL is archived continuously through the Barman Cloud plugin; base backups are scheduled by
 * `BackupSchedule`. The application reaches the database through one Service name on every site.
 */
export class PostgresCluster extends pulumi.ComponentResource {
  /** CloudNativePG cluster name per site. */
  readonly clusterNames: Readonly<Record<string, string>>;
  /** Name of the Barman `ObjectStore` on every site. */
  readonly objectStoreName: string;
  /** Namespace of the clusters. */
  readonly namespace: string;
  /** Service name applications use, the same on every site; it points at the active site's primary. */
  readonly endpoint: string;
  /** Kubernetes Secret with the application's user name and password. */
  readonly appSecretName: string;
  /** Dataset id (the `waris.io/dataset` label). */
  readonly dataset: string;
  /** Site whose cluster is primary. */
  readonly activeSite: string;
  /** Worst-case RPO, minutes: the archive timeout (streaming usually does better; a broken link does not). */
  readonly rpoMinutes: number;
  /** Estimated RTO, minutes: promotion of the standby, or a restore of the data when there is none. */
  readonly rtoMinutes: number;
  /** The `Cluster` custom resources, by site, for components that need to depend on them. */
  readonly clusters: Readonly<Record<string, apiextensions.CustomResource>>;
  /** The bucket of the WAL archive and base backups: the one the cluster created, or `existingBackupBucket`. */
  readonly backupBucket: ObjectStorageBucket;
  /** Data volume per instance, GiB (the size a restore moves). */
  readonly storageSizeGiB: number;
  private readonly sites: readonly Site[];
  private readonly backupRetentionDays: number;
  private readonly restoreThroughputMiBPerSecond: number;

  /**
   * @param name - dataset name, e.g. `waris-postgres`; cluster names are `<name>-<site>`.
   * @param args - see {@link PostgresClusterArgs}.
   * @param opts - component options.
   */
  constructor(name: string, args: PostgresClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    throwIfInvalid(
      `PostgresCluster "${name}"`,
      [
        ...validatePostgresClusterArgs({
          ...args,
          sites: args.sites.map((s) => s.spec),
          backupSite: { ...args.backupSite.spec, hasObjectStore: args.backupSite.objectStoreAccess !== undefined },
        }),
        ...peerRangeProblems(args.sites),
        ...suppliedSecretProblems("appPassword", args.appPassword, args.keys),
      ],
    );
    const bucketArgs = postgresBackupBucketArgs(name, args);
    if (args.existingBackupBucket) throwIfInvalid(`PostgresCluster "${name}"`, existingBucketProblems(name, args, args.existingBackupBucket));
    else {
      throwIfInvalid(
        `PostgresCluster "${name}"`,
        validateObjectStorageBucketArgs({ ...args.backupSite.spec, hasObjectStore: args.backupSite.objectStoreEndpoint !== undefined }, bucketArgs).map((p) => ({ ...p, argument: `backupBucket (the bucket it creates: ${p.argument})` })),
      );
      checkBucketSdk(args.backupSite, `PostgresCluster "${name}" (its backup bucket)`);
    }
    // Secrets the stack supplies are looked up before anything is registered: a missing one is an error now.
    const keys = args.keys ?? new PulumiStateKeys();
    const appPassword = keys.suppliedSecret(postgresAppPasswordName(name), args.appPassword);
    const archiveKeys = keys.objectStoreKeys(args.backupSite.spec.name, "postgres", args.backupSite.objectStoreWriterKeys("postgres"));
    super("waris:index:PostgresCluster", name, {}, opts);
    // The bucket first: the archive's ObjectStore and the clusters wait for it.
    this.backupBucket = args.existingBackupBucket ?? new ObjectStorageBucket(`${name}-backups`, { ...bucketArgs, site: args.backupSite }, { parent: this });
    this.sites = args.sites;
    this.backupRetentionDays = args.backupRetentionDays ?? 30;
    this.restoreThroughputMiBPerSecond = args.restoreThroughputMiBPerSecond ?? DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND;

    const namespace = args.namespace ?? name;
    const siteNames = args.sites.map((s) => s.spec.name);
    const roleOf = (site: string): SiteDatastoreRole => args.roles.bySite[site]!;
    // A rebuilt site's cluster gets a new name: a new Cluster (new volumes, bootstrapped from the other
    // site) and a new WAL archive path (the Barman serverName defaults to the cluster name), so the
    // re-clone never meets the old archive ("Expected empty archive").
    const clusterName = (site: string): string => postgresClusterName(name, site, roleOf(site).generation);
    const storeName = `${name}-store`;
    const dataClass = args.dataClass ?? "confidential";
    const archiveTimeout = args.archiveTimeoutMinutes ?? 5;
    const lagTarget = args.replicationLagTargetSeconds ?? 60;
    const rpo = args.rpoMinutes ?? 60;
    const storageGiB = args.storageSizeGiB ?? 100;
    const twoSites = args.sites.length === 2;
    const access = args.backupSite.objectStoreAccess!;
    // The SSE header Barman Cloud sends: what the backup store declares (none to a store that encrypts by itself).
    const encryption = barmanEncryption(args.backupSite.objectStoreEncryption ?? DEFAULT_STORE_ENCRYPTION);

    this.namespace = namespace;
    this.dataset = name;
    this.objectStoreName = storeName;
    this.endpoint = `${name}.${namespace}.svc.cluster.local`;
    this.appSecretName = `${name}-app`;
    this.activeSite = args.roles.primarySite;
    this.clusterNames = Object.fromEntries(siteNames.map((s) => [s, clusterName(s)]));
    this.rpoMinutes = archiveTimeout;
    this.storageSizeGiB = storageGiB;
    this.rtoMinutes = twoSites
      ? STANDBY_PROMOTION_MINUTES
      : estimatedRtoMinutes({ datasetSizeGiB: storageGiB, restoreThroughputMiBPerSecond: args.restoreThroughputMiBPerSecond ?? DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND });

    const child = { parent: this, dependsOn: [this.backupBucket] };
    // One CA for both sites: each site must verify the other's server and replication certificates,
    // which the operator's per-cluster generated CAs cannot do across Kubernetes clusters.
    const pki = twoSites ? postgresCertificates(name, namespace, args, clusterName) : undefined;
    const ca = pki ? keys.certificateAuthority(name, `${name} PostgreSQL CA`, child) : undefined;

    const clusters: Record<string, apiextensions.CustomResource> = {};
    for (const site of args.sites) {
      const siteName = site.spec.name;
      const opts = { ...child, provider: site.kubernetesProvider };
      const labels = { ...placementLabels(siteName, dataClass), [DATASET_LABEL]: name };
      const operators = args.installOperators ?? false ? this.installOperators(`${name}-${siteName}`, siteName, opts) : [];
      // Vault keys' cert-manager issuers wait for the cert-manager this installs (components/vault-keys.ts).
      if (operators.length > 0) site.recordInstalled("cert-manager", [operators[0]!]);
      const ns = new corev1.Namespace(`${name}-${siteName}`, { metadata: { name: namespace, labels } }, opts);
      const inNs = (secretName: string) => ({ name: secretName, namespace: ns.metadata.name, labels });
      // Each Secret keeps the resource name it had as a plain Secret: `<name>-<site>-<suffix>`.
      const target = (suffix: string, type?: string) => ({ resourceName: `${name}-${siteName}-${suffix}`, site: siteName, namespace: ns.metadata.name, name: `${name}-${suffix}`, labels, ...(type ? { type } : {}), opts });
      keys.secret(target("app", "kubernetes.io/basic-auth"), { username: { text: args.owner ?? "waris" }, password: appPassword });
      keys.secret(target("backup"), { ACCESS_KEY_ID: archiveKeys.accessKeyId, ACCESS_SECRET_KEY: archiveKeys.secretAccessKey });
      const certSecrets: pulumi.Resource[] = [];
      if (pki && ca) {
        certSecrets.push(
          // The CA certificate alone is public: a plain Secret in either store.
          new corev1.Secret(`${name}-${siteName}-ca`, { metadata: inNs(`${name}-ca`), stringData: { "ca.crt": ca.caCert } }, opts),
          ca.tlsSecret(`${siteName}-server`, target("server"), pki.servers[siteName]!),
          ca.tlsSecret("replication", target("replication"), pki.replication),
        );
      }
      const store = new apiextensions.CustomResource(
        `${name}-${siteName}-store`,
        {
          apiVersion: "barmancloud.cnpg.io/v1",
          kind: "ObjectStore",
          metadata: { name: storeName, namespace: ns.metadata.name, labels },
          spec: {
            retentionPolicy: `${args.backupRetentionDays ?? 30}d`,
            configuration: {
              destinationPath: `s3://${args.backupBucket}/`,
              endpointURL: access.endpoint,
              s3Credentials: {
                accessKeyId: { name: `${name}-backup`, key: "ACCESS_KEY_ID" },
                secretAccessKey: { name: `${name}-backup`, key: "ACCESS_SECRET_KEY" },
              },
              wal: { compression: "gzip", encryption },
              data: { compression: "gzip", encryption, jobs: 2 },
            },
          },
        },
        // The archive goes to the bucket: it must exist first.
        { ...opts, dependsOn: [...operators, this.backupBucket] },
      );

      const other = siteNames.find((n) => n !== siteName);
      const role = roleOf(siteName);
      const externalCluster = (s: string) => ({
        name: clusterName(s),
        connectionParameters: { host: args.replicationHosts?.[s] ?? "", user: "streaming_replica", dbname: "postgres", sslmode: "verify-full" },
        sslKey: { name: `${name}-replication`, key: "tls.key" },
        sslCert: { name: `${name}-replication`, key: "tls.crt" },
        sslRootCert: { name: `${name}-ca`, key: "ca.crt" },
        plugin: { name: BARMAN_CLOUD_PLUGIN, parameters: { barmanObjectName: storeName, serverName: clusterName(s) } },
      });
      // Each generation is its own resource, retained on delete: a rebuild creates the new generation and
      // only drops the old one from the program; the old Cluster stays, fenced, with its volumes (they may
      // hold writes made while the site was cut off) until the runbook's decommission step deletes it.
      clusters[siteName] = new apiextensions.CustomResource(
        role.generation === 1 ? `${name}-${siteName}` : `${name}-${siteName}-g${role.generation}`,
        {
          apiVersion: "postgresql.cnpg.io/v1",
          kind: "Cluster",
          metadata: {
            name: clusterName(siteName),
            namespace: ns.metadata.name,
            labels,
            // A site back from a loss is fenced before users or the other site reach it: CloudNativePG
            // shuts every instance down and keeps the volumes (docs/src/fencing.md).
            annotations: role.role === "fenced" ? { [FENCED_INSTANCES_ANNOTATION]: '["*"]' } : undefined,
          },
          spec: {
            instances: args.instancesPerSite ?? 2,
            // Fenced pods run but are never Ready: the operator's PodDisruptionBudgets would block every node
            // drain on the site until the decommission step (cluster_create.go reconciles them fenced or not).
            ...(role.role === "fenced" ? { enablePDB: false } : {}),
            primaryUpdateStrategy: "unsupervised",
            // The site's declared (encrypted) class unless the caller names one (Site `volumes`).
            storage: { size: `${storageGiB}Gi`, storageClass: args.storageClass ?? site.volumes?.storageClass },
            walStorage: { size: `${args.walStorageSizeGiB ?? 20}Gi`, storageClass: args.storageClass ?? site.volumes?.storageClass },
            resources: {
              requests: { cpu: args.cpu ?? "2", memory: `${args.memoryGiB ?? 8}Gi` },
              limits: { memory: `${args.memoryGiB ?? 8}Gi` },
            },
            postgresql: {
              parameters: {
                ssl_min_protocol_version: "TLSv1.3",
                ssl_max_protocol_version: "TLSv1.3",
                archive_timeout: `${archiveTimeout}min`,
                // Connection logging (issue 23): every connection and its end, in the instance's log on the
                // site (CloudNativePG writes PostgreSQL's log as JSON to the pod's stdout).
                log_connections: "on",
                log_disconnections: "on",
              },
            },
            certificates: pki
              ? { serverCASecret: `${name}-ca`, serverTLSSecret: `${name}-server`, clientCASecret: `${name}-ca`, replicationTLSSecret: `${name}-replication` }
              : undefined,
            plugins: [{ name: BARMAN_CLOUD_PLUGIN, isWALArchiver: true, parameters: { barmanObjectName: storeName } }],
            // Only the home site's first cluster starts empty. Every other cluster (the standby at the first
            // deployment, a rebuilt one) is cloned by pg_basebackup from the other site over the
            // replication link: it needs no base backup in the archive (a recovery bootstrap would wait for
            // the first scheduled one, cloudnative-pg issue 1313), and the webhook accepts a replica only
            // with pg_basebackup or recovery (internal/webhook/v1/cluster_webhook.go, validateReplicaMode).
            bootstrap:
              siteName === args.roles.homeSite && role.generation === 1
                ? { initdb: { database: args.database ?? "waris", owner: args.owner ?? "waris", secret: { name: this.appSecretName } } }
                : { pg_basebackup: { source: clusterName(other!) } },
            replica: other
              ? {
                  self: clusterName(siteName),
                  primary: clusterName(role.follows),
                  source: clusterName(other),
                  promotionToken: role.promotionToken,
                }
              : undefined,
            externalClusters: other ? [externalCluster(siteName), externalCluster(other)] : undefined,
            // A fenced cluster exposes nothing to the other site, and must not: CloudNativePG deletes a managed
            // service dropped from the spec, and refuses to reconcile one another cluster owns ("refusing to
            // reconcile service … not owned by the cluster", internal/controller/cluster_create.go,
            // serviceReconciler). The rebuild's new generation creates the LoadBalancer of the same name, which
            // the old, retained generation must no longer hold.
            managed: twoSites && role.role !== "fenced"
              ? { services: { additional: [{ selectorType: "rw", serviceTemplate: { metadata: { name: `${postgresClusterName(name, siteName)}-rw-lb`, labels }, spec: { type: "LoadBalancer", ...crossSiteExposure(args.sites, siteName) } } }] } }
              : undefined,
            monitoring: { enablePodMonitor: true },
          },
        },
        { ...opts, dependsOn: [store, ...certSecrets, ...operators], retainOnDelete: true },
      );

      new apiextensions.CustomResource(
        `${name}-${siteName}-alerts`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PrometheusRule",
          metadata: { name: `${name}-alerts`, namespace: ns.metadata.name, labels },
          spec: {
            groups: [
              {
                name: `${name}.recovery`,
                rules: [
                  {
                    alert: "PostgresReplicationLagHigh",
                    expr: `max by (namespace, pod) (cnpg_pg_replication_lag{namespace="${namespace}"}) > ${lagTarget}`,
                    for: "2m",
                    labels: { severity: "critical", dataset: name, site: siteName },
                    annotations: { summary: `PostgreSQL ${name} on ${siteName}: replication lag above ${lagTarget} s (the standby would lose more on failover).` },
                  },
                  {
                    alert: "PostgresWalArchiveStale",
                    expr: `max by (namespace, pod) (cnpg_pg_stat_archiver_seconds_since_last_archival{namespace="${namespace}"}) > ${rpo * 60}`,
                    for: "5m",
                    labels: { severity: "critical", dataset: name, site: siteName },
                    annotations: { summary: `PostgreSQL ${name} on ${siteName}: no WAL archived for more than the RPO of ${rpo} min.` },
                  },
                ],
              },
            ],
          },
        },
        opts,
      );

      // The name the applications use. On the serving site it is the local primary; elsewhere, the
      // serving site's primary over the VPN. A site that cannot be reached keeps what it had.
      const serving = role.frozen ? role.follows : args.roles.servingSite;
      const local = siteName === serving;
      new corev1.Service(
        `${name}-${siteName}-endpoint`,
        {
          metadata: { name, namespace: ns.metadata.name, labels, annotations: { "waris.io/active-site": serving } },
          spec: {
            type: "ExternalName",
            externalName: local ? `${clusterName(siteName)}-rw.${namespace}.svc.cluster.local` : args.replicationHosts![serving]!,
            ports: [{ name: "postgres", port: 5432, targetPort: 5432 }],
          },
        },
        opts,
      );
    }
    this.clusters = clusters;

    this.registerOutputs({
      backupBucket: this.backupBucket.url,
      clusterNames: this.clusterNames,
      objectStoreName: this.objectStoreName,
      endpoint: this.endpoint,
      appSecretName: this.appSecretName,
      activeSite: this.activeSite,
      rpoMinutes: this.rpoMinutes,
      rtoMinutes: this.rtoMinutes,
    });
  }

  /**
   * Full backups of this cluster on a cron schedule, with everything else taken from the cluster: the
   * dataset, namespace, each site's cluster name, the archive interval (RPO), the standby promotion or the
   * restore of {@link storageSizeGiB} (RTO) and the bucket. One `BackupSchedule` per database site,
   * suspended where the cluster is not primary (`suspend`), so a failover (new roles) moves the backups
   * with a field, not by re-plumbing or by moving a resource between clusters. The first site's schedule
   * is named `name`, the others `<name>-<site>`.
   *
   * @param name - the schedule's name, e.g. `team-db-weekly`.
   * @param args - when, and how long backups are kept (default: the cluster's `backupRetentionDays`).
   * @returns the schedule on the active (primary) site: its `rpoMinutes`, `rtoMinutes` and `report`
   *   are the cluster's, computed once.
   * @throws InvalidArgumentsError on a bad schedule or retention (from `BackupSchedule`).
   */
  addBackupSchedule(name: string, args: PostgresBackupScheduleArgs): BackupSchedule {
    let active: BackupSchedule | undefined;
    for (const [index, site] of this.sites.entries()) {
      const siteName = site.spec.name;
      const primary = siteName === this.activeSite;
      const schedule = new BackupSchedule(
        index === 0 ? name : `${name}-${siteName}`,
        {
          kind: "postgresql",
          dataset: this.dataset,
          site,
          namespace: this.namespace,
          postgresCluster: this.clusterNames[siteName]!,
          schedule: args.schedule,
          retentionDays: args.retentionDays ?? this.backupRetentionDays,
          continuousArchiveMinutes: this.rpoMinutes,
          ...(this.sites.length === 2 ? { standbyPromotionMinutes: STANDBY_PROMOTION_MINUTES } : {}),
          datasetSizeGiB: this.storageSizeGiB,
          restoreThroughputMiBPerSecond: this.restoreThroughputMiBPerSecond,
          location: `${this.backupBucket.url} on ${this.backupBucket.siteName}`,
          suspend: !primary,
        },
        { parent: this, dependsOn: [this.clusters[siteName]!] },
      );
      if (primary) active = schedule;
    }
    return active!;
  }



  private installOperators(prefix: string, siteName: string, opts: pulumi.CustomResourceOptions): pulumi.Resource[] {
    const labels = placementLabels(siteName, "none");
    const certManager = new Release(
      `${prefix}-cert-manager`,
      {
        name: "cert-manager",
        namespace: "cert-manager",
        createNamespace: true,
        repositoryOpts: { repo: POSTGRES_CHARTS.certManager.repo },
        chart: POSTGRES_CHARTS.certManager.chart,
        version: POSTGRES_CHARTS.certManager.version,
        values: { crds: { enabled: true }, global: { commonLabels: labels } },
        atomic: true,
      },
      opts,
    );
    const operator = new Release(
      `${prefix}-cnpg`,
      {
        name: "cnpg",
        namespace: CNPG_OPERATOR_NAMESPACE,
        createNamespace: true,
        repositoryOpts: { repo: POSTGRES_CHARTS.cloudnativePg.repo },
        chart: POSTGRES_CHARTS.cloudnativePg.chart,
        version: POSTGRES_CHARTS.cloudnativePg.version,
        // The chart has no commonLabels (values.yaml of cloudnative-pg 0.26.0): its pods take podLabels.
        values: { podLabels: labels, monitoring: { podMonitorEnabled: true } },
        atomic: true,
      },
      opts,
    );
    const plugin = new Release(
      `${prefix}-barman-cloud`,
      {
        name: "barman-cloud",
        namespace: CNPG_OPERATOR_NAMESPACE,
        repositoryOpts: { repo: POSTGRES_CHARTS.barmanCloud.repo },
        chart: POSTGRES_CHARTS.barmanCloud.chart,
        version: POSTGRES_CHARTS.barmanCloud.version,
        // plugin-barman-cloud 0.4.0 reads podLabels (templates/deployment.yaml); customLabels is no value of it.
        values: { podLabels: labels },
        atomic: true,
      },
      { ...opts, dependsOn: [certManager, operator] },
    );
    return [certManager, operator, plugin];
  }
}

/** The certificates of a two-site cluster, see {@link postgresCertificates}. */
export interface PostgresCertificates {
  /** Each site's server certificate (`serverTLSSecret`), by site name. */
  readonly servers: Record<string, CertificateSpec>;
  /** The replication client certificate (`replicationTLSSecret`), the same on every site. */
  readonly replication: CertificateSpec;
}

/**
 * The certificates of a two-site cluster (pure), under one CA: each site's server certificate (ids
 * `<site>-server`), naming the site's `rw`/`r`/`ro` Services, the endpoint applications use and the site's
 * replication host; and the replication client certificate (id `replication`), whose CN `streaming_replica`
 * is the identity CloudNativePG authenticates replication by.
 *
 * @param clusterName - the CloudNativePG cluster name of a site.
 */
export function postgresCertificates(
  name: string,
  namespace: string,
  args: Pick<PostgresClusterArgs, "sites" | "replicationHosts">,
  clusterName: (site: string) => string,
): PostgresCertificates {
  const servers: Record<string, CertificateSpec> = {};
  for (const site of args.sites) {
    const cluster = clusterName(site.spec.name);
    const services = ["rw", "r", "ro"].flatMap((s) => [`${cluster}-${s}`, `${cluster}-${s}.${namespace}`, `${cluster}-${s}.${namespace}.svc`, `${cluster}-${s}.${namespace}.svc.cluster.local`]);
    const host = args.replicationHosts?.[site.spec.name];
    // The endpoint applications use (an ExternalName to the serving site's primary) is a name they verify
    // the certificate against with sslmode=verify-full, whichever site answers: every site's cert names it.
    const endpoint = [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
    servers[site.spec.name] = { subject: { commonName: `${cluster}-rw` }, dnsNames: [...services, ...endpoint, ...(host ? [host] : [])], uses: ["server"] };
  }
  return { servers, replication: { subject: { commonName: "streaming_replica" }, uses: ["client"] } };
}
