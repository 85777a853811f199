/**
 * Typed stack configuration: every setting of a stack is read here, validated with zod schemas, and
 * turned into the values the program builds from. A wrong setting stops the program before any resource
 * is registered, with a message naming the key, the value and what is allowed.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { SITE_KINDS, SITE_ROLES, SITE_NAME_PATTERN, SiteArgs, SiteRole, SiteSpec, KUBECONFIG_SITE_KINDS, siteSpecProblems, cidrProblems, siteVolumesProblems, VOLUME_ENCRYPTIONS } from "../components/site";
import { GPU_MODEL_NAMES, MIG_PROFILES } from "../components/gpu-catalog";
import { GPU_WORKLOADS, TAINT_EFFECTS, validateGpuNodePoolArgs } from "../components/gpu-node-pool";
import { DATA_CLASSES } from "../components/labels";
import { validatePostgresClusterArgs } from "../components/postgres-cluster";
import { TSIG_ALGORITHMS, validateServiceDnsArgs } from "../components/service-dns";
import { PROCEDURE_PHASES, deriveSiteRoles, promotionTokenProblem, validateSituation, type FailoverPhase, type FailoverProcedure, type FailoverSituation, type SiteRoles } from "../components/failover";
import { DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND, longestGapMinutes, parseCron } from "../components/recovery";
import { GPU_MODELS } from "../components/gpu-catalog";
import { PRECISION_BYTES, Precision, validateInferenceClusterArgs } from "../components/inference-cluster";
import { validateMongoReplicaSetArgs } from "../components/mongo-replica-set";
import { validateRedisPrimaryArgs } from "../components/redis-primary";
import { MILVUS_MODES, validateMilvusPrimaryArgs } from "../components/milvus-primary";
import { knownNamespaces, unknownNamespaceKeys } from "./namespaces";
import { policyThresholdIssues } from "./policy-checks";
import * as limits from "./limits";
import { SettingIssue, bucketIssues, recoveryTargetIssues, scheduleIssues } from "./dataset-checks";
import { backupSiteName, dataSiteNames, hasKubeconfig, homePrimary } from "./placement";

export { backupSiteName, dataSiteNames, homePrimary };
import { RECOVERY_POLICY_DEFAULTS } from "../policy/thresholds";
import { STORE_ENCRYPTIONS } from "../components/store-encryption";
import { KUBERNETES_DISTRIBUTIONS } from "../components/gpu-operator";
import { SEVERITIES, receiverProblems } from "../components/monitoring-rules";
import { vaultSettingsProblems } from "../components/vault-keys";
import { ObjectStoreKeyPair, ObjectStoreWriter } from "../components/keys";
import { SUPPLIED_SECRETS, WRITER_SECRET_SUFFIXES, keySites, objectStoreWriterUses, suppliedSecretsNeeded, writerSecretSuffixes } from "./keys";

/** The Pulumi project name; config keys are `waris-hybrid:<key>`. */
export const PROJECT = "waris-hybrid";

const siteSettingsSchema = z.strictObject({
  kind: z.enum(SITE_KINDS),
  region: z.string().min(1),
  country: z.string().regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code such as \"TH\""),
  role: z.enum(SITE_ROLES),
  description: z.string().optional(),
  /** Cloud sites only: whether the platform is handed a kubeconfig for a cluster on it. */
  kubernetes: z.boolean().optional(),
  /** onprem/gcloud: the cluster's Kubernetes distribution (decides the GPU Operator's values). */
  kubernetesDistribution: z.enum(KUBERNETES_DISTRIBUTIONS).optional(),
  /** The site's address ranges on the inter-site VPN (CIDRs); the other site's LoadBalancers and NetworkPolicies admit only these. */
  vpnRanges: z.array(z.string()).optional(),
  /** onprem/gcloud: the StorageClass every volume claim uses and how it is encrypted at rest (components/site.ts, SiteVolumes). */
  volumes: z.strictObject({ storageClass: z.string().min(1), encryption: z.enum(VOLUME_ENCRYPTIONS) }).optional(),
  objectStore: z
    .strictObject({
      endpoint: z.url({ protocol: /^https$/, error: "must be an https:// URL (TLS in transit)" }),
      signingRegion: z.string().min(1).optional(),
      /** How the store encrypts at rest; decides the SSE headers every writer sends. */
      encryption: z.enum(STORE_ENCRYPTIONS).default("sse-s3"),
      /** sse-kms only: the KMS key id. */
      kmsKeyId: z.string().min(1).optional(),
    })
    .superRefine((store, ctx) => {
      if (store.kmsKeyId !== undefined && store.encryption !== "sse-kms") {
        ctx.addIssue({ code: "custom", path: ["kmsKeyId"], message: `is set, but encryption is "${store.encryption}"; a KMS key applies to sse-kms only` });
      }
    })
    .optional(),
});

const recoverySchema = z.strictObject({
  rpoMinutes: z.number().positive().default(RECOVERY_POLICY_DEFAULTS.rpoMinutes),
  rtoMinutes: z.number().positive().default(RECOVERY_POLICY_DEFAULTS.rtoMinutes),
  replicationLagTargetSeconds: z.number().positive().default(60),
  restoreThroughputMiBPerSecond: z.number().positive().default(DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND),
});

const backupsSchema = z.strictObject({
  /** The data site whose object store keeps every backup; needed once more than one data site has a store. */
  site: z.string().min(1).optional(),
  postgresFullBackupSchedule: z.string().default("0 2 * * 0"),
  modelArtifactsBucket: z.string().min(1).optional(),
  modelArtifactVersions: z.number().int().positive().default(5),
  modelArtifactsSizeGiB: z.number().positive().optional(),
  objectLockDays: z.number().int().positive().default(7),
});

/** Backup settings as written (`waris-hybrid:backups`), defaults applied. */
export type BackupSettings = z.infer<typeof backupsSchema>;

const sitesSchema = z
  .record(z.string(), siteSettingsSchema)
  // Runs once every site parsed: placement needs a complete site.
  .superRefine((sites, ctx) => {
    for (const [name, site] of Object.entries(sites)) {
      const spec: SiteSpec = { name, kind: site.kind, region: site.region, country: site.country, role: site.role };
      for (const problem of siteSpecProblems(spec)) {
        const field = problem.argument === "name" ? [] : [problem.argument];
        ctx.addIssue({ code: "custom", path: [name, ...field], message: problem.message });
      }
      if (site.kubernetesDistribution !== undefined && !KUBECONFIG_SITE_KINDS.includes(site.kind)) {
        ctx.addIssue({ code: "custom", path: [name, "kubernetesDistribution"], message: `is set on a ${site.kind} site; it applies to the onprem/gcloud clusters (${KUBECONFIG_SITE_KINDS.join(", ")})` });
      }
      for (const problem of siteVolumesProblems(site.volumes, "volumes")) ctx.addIssue({ code: "custom", path: [name, ...problem.argument.split(".")], message: problem.message });
      if (site.volumes !== undefined && !KUBECONFIG_SITE_KINDS.includes(site.kind)) ctx.addIssue({ code: "custom", path: [name, "volumes"], message: `is set on a ${site.kind} site; it applies to the onprem/gcloud clusters (${KUBECONFIG_SITE_KINDS.join(", ")})` });
      for (const problem of cidrProblems(site.vpnRanges ?? [], "vpnRanges")) ctx.addIssue({ code: "custom", path: [name, problem.argument], message: problem.message });
      if (site.kubernetes === false && KUBECONFIG_SITE_KINDS.includes(site.kind)) {
        ctx.addIssue({ code: "custom", path: [name, "kubernetes"], message: `cannot be false for a ${site.kind} site: Kubernetes is how it is reached` });
      }
    }
    // Two data sites replicate across the VPN: each one's LoadBalancers admit only the other's ranges.
    const replicating = dataSiteNames(sites).filter((n) => KUBECONFIG_SITE_KINDS.includes(sites[n]!.kind));
    if (replicating.length >= 2) {
      for (const name of replicating) {
        if ((sites[name]!.vpnRanges ?? []).length === 0) ctx.addIssue({ code: "custom", path: [name, "vpnRanges"], message: "is required with two data sites: the other site's cross-site LoadBalancers and NetworkPolicies admit only these ranges (CIDRs); no Service is exposed without an allow-list" });
      }
    }
    const names = Object.keys(sites);
    if (names.length === 0) ctx.addIssue({ code: "custom", path: [], message: "needs at least one site" });
    const primaries = names.filter((n) => sites[n]?.role === "primary");
    if (names.length > 0 && primaries.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: `must have exactly one site with role "primary" (the home primary), found ${primaries.length}: ${primaries.join(", ") || "none"}`,
      });
    }
  });

const gpuPoolSchema = z.strictObject({
  site: z.string().min(1),
  gpuModel: z.enum(GPU_MODEL_NAMES),
  gpusPerNode: limits.gpusPerNode,
  workload: z.enum(GPU_WORKLOADS),
  dataClass: z.enum(DATA_CLASSES).optional(),
  nodeNames: z.array(limits.kubernetesName).optional(),
  nodeCount: limits.nodeCount.optional(),
  minNodes: limits.nodeCount.optional(),
  maxNodes: limits.nodeCount.optional(),
  spot: z.boolean().optional(),
  driverOnHost: z.boolean().optional(),
  toolkitOnHost: z.boolean().optional(),
  installOperator: z.boolean().optional(),
  timeSlicingReplicas: z.number().optional(),
  migProfile: z.enum(MIG_PROFILES).optional(),
  labels: z.record(limits.qualifiedName, limits.labelValue).optional(),
  extraTaints: z.array(z.strictObject({ key: limits.qualifiedName, value: limits.labelValue.optional(), effect: z.enum(TAINT_EFFECTS) })).optional(),
  clusterName: z.string().min(1).optional(),
  subnetIds: z.array(z.string().min(1)).optional(),
  resourceGroupName: z.string().min(1).optional(),
  diskSizeGiB: limits.volumeGiB.optional(),
});

/** One GPU pool as written in the stack file (`waris-hybrid:gpuPools.<name>`). */
export type GpuPoolSettings = z.infer<typeof gpuPoolSchema>;

const positiveWhole = z.number().int().positive();
const postgresSchema = z.strictObject({
  backupBucket: z.string().min(1),
  backupSite: z.string().min(1).optional(),
  backupRetentionDays: positiveWhole.optional(),
  replicationHosts: z.record(z.string(), limits.hostName).optional(),
  instancesPerSite: positiveWhole.optional(),
  storageSizeGiB: limits.volumeGiB.optional(),
  walStorageSizeGiB: limits.volumeGiB.optional(),
  storageClass: limits.kubernetesName.optional(),
  cpu: limits.cpuQuantity.optional(),
  memoryGiB: limits.memoryGiB.optional(),
  archiveTimeoutMinutes: z.number().positive().optional(),
});

/** PostgreSQL settings as written in the stack file (`waris-hybrid:postgres`). */
export type PostgresSettings = z.infer<typeof postgresSchema>;

const mongodbSchema = z.strictObject({
  backupBucket: z.string().min(1),
  backupSchedule: z.string().default("0 3 * * *"),
  backupRetentionDays: z.number().int().positive().default(30),
  pitrMinutes: z.number().positive().default(10),
  membersPerSite: z.number().int().optional(),
  storageSizeGiB: limits.volumeGiB.optional(),
  storageClass: limits.kubernetesName.optional(),
  memberHosts: z.record(z.string(), z.array(limits.hostName)).optional(),
});

/** MongoDB settings as written (`waris-hybrid:mongodb`), defaults applied. */
export type MongodbSettings = z.infer<typeof mongodbSchema>;

const redisSchema = z.strictObject({
  backupBucket: z.string().min(1),
  backupSchedule: z.string().default("0 * * * *"),
  backupRetentionDays: z.number().int().positive().default(30),
  memoryGiB: limits.memoryGiB.optional(),
  storageSizeGiB: limits.volumeGiB.optional(),
  /** Per data site, the name at which its Redis replication LoadBalancer is reached over the VPN. */
  replicationHosts: z.record(z.string(), limits.hostName).optional(),
  /** A dump to restore into the primary site's Redis (`dump-YYYYMMDDTHHMMSSZ.rdb`). */
  restoreFromDump: z.string().optional(),
});

/** Redis settings as written (`waris-hybrid:redis`), defaults applied. */
export type RedisSettings = z.infer<typeof redisSchema>;

const milvusSchema = z.strictObject({
  dataBucket: z.string().min(1),
  backupBucket: z.string().min(1),
  backupSchedule: z.string().default("0 * * * *"),
  backupRetentionDays: z.number().int().positive().default(14),
  keepEveryBackupForHours: z.number().int().positive().default(48),
  mode: z.enum(MILVUS_MODES).optional(),
  dataSizeGiB: z.number().int().positive().optional(),
  etcdStorageGiB: limits.volumeGiB.optional(),
  cpu: limits.cpuQuantity.optional(),
  memoryGiB: limits.memoryGiB.optional(),
  /** Backup a promote phase restores (milvus-backup name); default: the final backup of a switchover, else the newest. */
  restoreBackup: z.string().min(1).optional(),
});

/** Milvus settings as written (`waris-hybrid:milvus`), defaults applied. */
export type MilvusSettings = z.infer<typeof milvusSchema>;

const modelSchema = z.strictObject({
  model: z.string().min(1),
  source: z.string().min(1),
  parametersBillions: z.number().positive(),
  precision: z.enum(Object.keys(PRECISION_BYTES) as [Precision, ...Precision[]]),
  tensorParallelSize: z.number().int().positive(),
  maxModelLen: z.number().int().positive().optional(),
  gpuMemoryUtilization: z.number().optional(),
  minReplicas: z.number().int().optional(),
  maxReplicas: z.number().int().optional(),
  cpu: limits.cpuQuantity.optional(),
  memoryGiB: limits.memoryGiB.optional(),
});

const inferenceSchema = z.strictObject({
  /** Site name → the GPU pool (in `gpuPools`) that serves there. */
  pools: z.record(z.string(), z.string()),
  appNamespace: limits.kubernetesLabelName,
  primary: modelSchema,
  overflow: modelSchema.optional(),
  gatewayHosts: z.record(z.string(), limits.hostName).optional(),
  modelCacheGiB: limits.volumeGiB.optional(),
  allowHubDownload: z.boolean().optional(),
  spillOverConcurrency: z.number().int().optional(),
  queueDepthTarget: z.number().optional(),
  latencyP50Seconds: z.number().positive().optional(),
  prometheusAddress: z.string().url().optional(),
  /** Namespace of the cluster's KEDA on every inference site (admitted to Prometheus by the zones). */
  kedaNamespace: limits.kubernetesLabelName.optional(),
});

/** Inference settings as written (`waris-hybrid:inference`). */
export type InferenceSettings = z.infer<typeof inferenceSchema>;

const dnsSchema = z.strictObject({
  server: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().optional(),
    zone: z.string().min(1),
    tsigKeyName: z.string().min(1),
    tsigAlgorithm: z.enum(TSIG_ALGORITHMS).optional(),
  }),
  /** The names users reach, per service. */
  names: z.strictObject({ postgres: z.string().min(1).optional(), llm: z.string().min(1).optional() }),
  ttlSeconds: z.number().int().optional(),
});

/** User-facing DNS as written (`waris-hybrid:dns`): names that follow the serving site. */
export type DnsSettings = z.infer<typeof dnsSchema>;

const severitiesSchema = z.array(z.enum(SEVERITIES)).min(1).optional();
const monitoringSchema = z.strictObject({
  retentionDays: positiveWhole.max(3650).default(15),
  storageSizeGiB: limits.volumeGiB.default(100),
  alertmanagerStorageGiB: limits.volumeGiB.default(5),
  storageClass: limits.kubernetesName.optional(),
  receivers: z.strictObject({
    email: z
      .strictObject({
        to: z.array(z.email()).min(1),
        from: z.email(),
        smarthost: z.string().regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:\d{1,5}$/i, "must be host:port of the SMTP server, e.g. smtp.pwa.co.th:587"),
        username: z.string().min(1).optional(),
        severities: severitiesSchema,
      })
      .optional(),
    pagerduty: z.strictObject({ severities: severitiesSchema }).optional(),
    line: z.strictObject({ severities: severitiesSchema }).optional(),
  }),
});

/** Monitoring and alerting as written (`waris-hybrid:monitoring`), defaults applied. */
export type MonitoringSettings = z.infer<typeof monitoringSchema>;

/**
 * The records of the user-facing names: each name → the host serving it on every site (PostgreSQL's
 * `replicationHosts`, the LLM gateway's `gatewayHosts`). One definition for the checks and the program.
 */
export function dnsRecords(settings: Pick<StackSettings, "dns" | "postgres" | "inference">): Record<string, Record<string, string>> {
  const records: Record<string, Record<string, string>> = {};
  if (settings.dns?.names.postgres) records[settings.dns.names.postgres] = { ...(settings.postgres?.replicationHosts ?? {}) };
  if (settings.dns?.names.llm) records[settings.dns.names.llm] = { ...(settings.inference?.gatewayHosts ?? {}) };
  return records;
}

const failoverSchema = z.strictObject({
  procedure: z.enum(Object.keys(PROCEDURE_PHASES) as [FailoverProcedure, ...FailoverProcedure[]]).optional(),
  phase: z.enum([...new Set(Object.values(PROCEDURE_PHASES).flat())] as [FailoverPhase, ...FailoverPhase[]]).optional(),
  from: z.string().min(1).optional(),
  promotionToken: z.string().min(1).optional(),
  conditions: z.record(z.string(), z.enum(["up", "isolated", "lost"])).optional(),
  generations: z.record(z.string(), z.number().int()).optional(),
});

/** The failover situation as written (`waris-hybrid:failover`); see components/failover.ts. */
export type FailoverSettings = z.infer<typeof failoverSchema>;

const vaultSchema = z.strictObject({
  /** Vault's https:// address. */
  address: z.url({ protocol: /^https$/, error: "must be an https:// URL (Vault tokens travel on it)" }),
  /** PEM of the CA of Vault's TLS certificate, when it is not publicly trusted. */
  caBundle: z.string().min(1).optional(),
  /** Path prefix of the PKI mounts (one per CA). Default waris-pki. */
  pkiPath: z.string().min(1).optional(),
  /** Path of the KV v2 mount. Default waris. */
  kvPath: z.string().min(1).optional(),
  /** Per site with a cluster: the Kubernetes auth mount Vault has for it. */
  authMounts: z.record(z.string(), z.string().min(1)),
  /** Install External Secrets on each site (Helm). Default true: the platform's stack owns its clusters. */
  installOperator: z.boolean().default(true),
});

/** Vault settings as written (`waris-hybrid:vault`), defaults applied. */
export type VaultStackSettings = z.infer<typeof vaultSchema>;

const poolNameSchema = z.string().regex(SITE_NAME_PATTERN, "a pool name must be lowercase letters, digits and '-', start with a letter, at most 24 characters");

/**
 * The schema of each non-secret setting, keyed by config key (without the project prefix). Each is
 * validated on its own, so one broken setting never hides the problems of another.
 */
export const settingSchemas = {
  sites: sitesSchema,
  activeSite: z.string().min(1),
  recovery: recoverySchema.default({
    rpoMinutes: RECOVERY_POLICY_DEFAULTS.rpoMinutes,
    rtoMinutes: RECOVERY_POLICY_DEFAULTS.rtoMinutes,
    replicationLagTargetSeconds: 60,
    restoreThroughputMiBPerSecond: DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND,
  }),
  backups: backupsSchema.default({ postgresFullBackupSchedule: "0 2 * * 0", modelArtifactVersions: 5, objectLockDays: 7 }),
  gpuPools: z.record(poolNameSchema, gpuPoolSchema).default({}),
  postgres: postgresSchema.optional(),
  inference: inferenceSchema.optional(),
  mongodb: mongodbSchema.optional(),
  redis: redisSchema.optional(),
  milvus: milvusSchema.optional(),
  failover: failoverSchema.default({}),
  dns: dnsSchema.optional(),
  monitoring: monitoringSchema.optional(),
  vault: vaultSchema.optional(),
};

/** Config keys of the non-secret settings (scalars are plain strings; the rest are objects). */
export const SETTING_KEYS = Object.keys(settingSchemas) as ReadonlyArray<keyof typeof settingSchemas>;
const SCALAR_SETTING_KEYS: readonly string[] = ["activeSite"];

/** The validated non-secret settings of a stack. */
export interface StackSettings {
  /** The sites, keyed by name, with their home roles (before `activeSite` is applied). */
  readonly sites: Readonly<Record<string, SiteSettings>>;
  /** Name of the data site that is primary now. */
  readonly activeSite: string;
  /** Recovery targets. */
  readonly recovery: RecoveryTargets;
  /** GPU pools, keyed by pool name. */
  readonly gpuPools: Readonly<Record<string, GpuPoolSettings>>;
  /** PostgreSQL, when the stack has it. */
  readonly postgres?: PostgresSettings;
  /** Backups. */
  readonly backups: BackupSettings;
  /** LLM inference, when the stack has it. */
  readonly inference?: InferenceSettings;
  /** MongoDB, when the stack has it. */
  readonly mongodb?: MongodbSettings;
  /** Redis, when the stack has it. */
  readonly redis?: RedisSettings;
  /** Milvus, when the stack has it. */
  readonly milvus?: MilvusSettings;
  /** The failover situation (procedure, phase, site conditions, generations); empty in steady state. */
  readonly failover: FailoverSettings;
  /** User-facing DNS names that follow the serving site, when configured. */
  readonly dns?: DnsSettings;
  /** Monitoring and alerting on every data site, when configured. */
  readonly monitoring?: MonitoringSettings;
  /** Keys from Vault (components/vault-keys.ts), when the stack has Vault; else from the Pulumi state. */
  readonly vault?: VaultStackSettings;
}

/** A problem found between settings: the config path and what is wrong. */
type Issue = SettingIssue;

/** `activeSite` names a data site (checked against the raw sites when they did not parse). */
function activeSiteIssues(parsed: Partial<StackSettings>, rawSites: unknown): Issue[] {
  const issues: Issue[] = [];
  // Site roles from the parsed sites, or, when they did not parse, from whatever the raw value holds.
  const source: Record<string, unknown> =
    parsed.sites ?? (rawSites && typeof rawSites === "object" && !Array.isArray(rawSites) ? (rawSites as Record<string, unknown>) : {});
  const roles = new Map(Object.entries(source).map(([name, site]) => [name, (site as { role?: unknown } | null)?.role]));
  if (parsed.activeSite !== undefined && roles.size > 0) {
    const dataSites = [...roles.keys()].filter((n) => roles.get(n) !== "burst");
    if (!roles.has(parsed.activeSite)) {
      issues.push({ path: ["activeSite"], message: `names no site; allowed: ${dataSites.join(", ")}` });
    } else if (roles.get(parsed.activeSite) === "burst") {
      issues.push({ path: ["activeSite"], message: `names burst site "${parsed.activeSite}", which holds no data; allowed: ${dataSites.join(", ")}` });
    }
  }
  return issues;
}

/** Each GPU pool is on a known site and passes the pool's own validator. */
function gpuPoolsIssues(parsed: Partial<StackSettings>): Issue[] {
  const issues: Issue[] = [];
  for (const [poolName, pool] of Object.entries(parsed.gpuPools ?? {})) {
    if (!parsed.sites) break;
    const site = parsed.sites[pool.site];
    if (!site) {
      issues.push({ path: ["gpuPools", poolName, "site"], message: `names no site; allowed: ${Object.keys(parsed.sites).join(", ")}` });
      continue;
    }
    const spec: SiteSpec = { name: pool.site, kind: site.kind, region: site.region, country: site.country, role: site.role };
    const settings = {
      ...pool,
      hasCluster: pool.clusterName !== undefined,
      hasSubnets: pool.subnetIds !== undefined,
      hasResourceGroup: pool.resourceGroupName !== undefined,
      kubernetesDistribution: site.kubernetesDistribution,
    };
    for (const problem of validateGpuNodePoolArgs(poolName, spec, settings)) {
      issues.push({ path: ["gpuPools", poolName, problem.argument], message: problem.message });
    }
  }
  // The GPU Operator is one per cluster: at most one pool per onprem/gcloud site installs it.
  const installers = new Map<string, string[]>();
  for (const [poolName, pool] of Object.entries(parsed.gpuPools ?? {})) {
    const site = parsed.sites?.[pool.site];
    if (!site || !KUBECONFIG_SITE_KINDS.includes(site.kind) || pool.installOperator === false) continue;
    installers.set(pool.site, [...(installers.get(pool.site) ?? []), poolName]);
  }
  for (const [site, pools] of installers) {
    for (const poolName of pools.slice(1)) {
      issues.push({
        path: ["gpuPools", poolName, "installOperator"],
        message: `installs the GPU Operator on site "${site}", as pool "${pools[0]}" does; it is one per cluster: set installOperator: false on every pool of the site but one`,
      });
    }
  }
  return issues;
}

/**
 * The failover situation the settings state: the data sites (the home primary first), `activeSite`, and
 * `failover` (procedure, phase, from, promotion token, site conditions, generations).
 */
export function failoverSituation(settings: Pick<StackSettings, "sites" | "activeSite" | "failover">): FailoverSituation {
  const { procedure, phase, from, promotionToken, conditions, generations } = settings.failover;
  const home = homePrimary(settings.sites);
  return {
    sites: dataSiteNames(settings.sites),
    activeSite: settings.activeSite,
    ...(home ? { homeSite: home } : {}),
    ...(procedure && phase && from ? { procedure: { procedure, phase, from, ...(promotionToken !== undefined ? { promotionToken } : {}) } } : {}),
    ...(conditions ? { conditions } : {}),
    ...(generations ? { generations } : {}),
  };
}

/**
 * The user-facing names pass ServiceDns's own validator, each name served on every data site. A service
 * whose own setting is written but broken is reported there only (one mistake, one problem).
 */
/** The receivers reach someone for every severity the alerts use. */
function monitoringIssues(parsed: Partial<StackSettings>): Issue[] {
  if (!parsed.monitoring) return [];
  return receiverProblems(parsed.monitoring.receivers).map((p) => ({ path: ["monitoring", ...p.path.split(".")], message: p.message }));
}

function dnsIssues(parsed: Partial<StackSettings>, written: ReadonlySet<string>): Issue[] {
  if (!parsed.dns || !parsed.sites) return [];
  const dns = parsed.dns;
  const issues: Issue[] = [];
  const broken = (key: "postgres" | "inference"): boolean => written.has(key) && !parsed[key];
  if (broken("postgres") || broken("inference")) return [];
  if (dns.names.postgres && !parsed.postgres) issues.push({ path: ["dns", "names", "postgres"], message: "is set, but the stack has no postgres" });
  if (dns.names.llm && !parsed.inference) issues.push({ path: ["dns", "names", "llm"], message: "is set, but the stack has no inference" });
  const names = Object.fromEntries(Object.entries(dns.names).map(([service, name]) => [name, service]));
  for (const p of validateServiceDnsArgs({ sites: dataSiteNames(parsed.sites), server: dns.server, records: dnsRecords(parsed as StackSettings), ...(dns.ttlSeconds !== undefined ? { ttlSeconds: dns.ttlSeconds } : {}) })) {
    const [head, name, site] = p.argument.startsWith("records.") ? ["records", ...splitRecord(p.argument.slice("records.".length), Object.keys(names))] : [p.argument];
    const path =
      head === "records"
        ? site
          ? [names[name!] === "postgres" ? "postgres" : "inference", names[name!] === "postgres" ? "replicationHosts" : "gatewayHosts", site]
          : ["dns", "names", names[name!]!]
        : ["dns", ...p.argument.split(".")];
    issues.push({ path, message: `DNS: ${p.message}` });
  }
  return issues;
}

/** `<name>.<site>` or `<name>` of a record argument, the name being one of `names` (which contain dots). */
function splitRecord(rest: string, names: readonly string[]): [string, string | undefined] {
  const name = names.find((n) => rest === n || rest.startsWith(`${n}.`))!;
  return [name, rest === name ? undefined : rest.slice(name.length + 1)];
}

/** The failover situation is one the model accepts (components/failover.ts, validateSituation). */
function failoverIssues(parsed: Partial<StackSettings>): Issue[] {
  if (!parsed.sites || parsed.activeSite === undefined || !parsed.failover || !parsed.sites[parsed.activeSite]) return [];
  const f = parsed.failover;
  if ((f.procedure || f.phase || f.from || f.promotionToken) && !(f.procedure && f.phase && f.from)) {
    const missing = (["procedure", "phase", "from"] as const).filter((k) => !f[k]);
    return [{ path: ["failover", missing[0]!], message: `is required with the other procedure settings: a procedure is stated by procedure, phase and from together` }];
  }
  // The model's paths (procedure.phase, conditions.onprem, ...) as stack keys (failover.phase, ...).
  const keyOf = (path: string): string[] =>
    path === "activeSite" ? ["activeSite"] : path === "homeSite" ? ["sites"] : ["failover", ...(path === "procedure" ? ["procedure"] : path.replace(/^procedure\./, "").split("."))];
  const tokenProblem = f.promotionToken !== undefined ? promotionTokenProblem(f.promotionToken) : undefined;
  return [
    ...validateSituation(failoverSituation(parsed as StackSettings)).map((p) => ({ path: keyOf(p.path), message: p.message })),
    ...(tokenProblem ? [{ path: ["failover", "promotionToken"], message: tokenProblem }] : []),
  ];
}

/** PostgreSQL passes the component's own validator, with the sites, backup site and recovery targets it will get. */
function postgresIssues(parsed: Partial<StackSettings>, assumeStore: boolean): Issue[] {
  const issues: Issue[] = [];
  if (parsed.postgres && parsed.sites && parsed.activeSite !== undefined) {
    const sites = parsed.sites;
    const backupSite = backupSiteName({ sites, postgres: parsed.postgres, backups: parsed.backups });
    const backup = backupSite ? sites[backupSite] : undefined;
    // A backup site that names no site is reported once, by backupSiteIssues.
    if (backup) {
      const problems = validatePostgresClusterArgs({
        ...parsed.postgres,
        sites: dataSiteNames(sites).map((n) => ({ name: n, ...sites[n]! })),
        roles: { bySite: Object.fromEntries(dataSiteNames(sites).map((n) => [n, n])) },
        backupSite: { name: backupSite!, ...backup, hasObjectStore: assumeStore || backup.objectStore !== undefined },
        rpoMinutes: parsed.recovery?.rpoMinutes,
        replicationLagTargetSeconds: parsed.recovery?.replicationLagTargetSeconds,
      });
      for (const problem of problems) {
        // Arguments that come from other settings are reported under those settings.
        const path =
          problem.argument === "activeSite"
            ? ["activeSite"]
            : problem.argument === "sites"
              ? ["sites"]
              : problem.argument === "replicationLagTargetSeconds" || problem.argument === "rpoMinutes"
                ? ["recovery", problem.argument]
                : ["postgres", ...problem.argument.split(".")];
        issues.push({ path, message: `PostgreSQL: ${problem.message}` });
      }
    }
  }
  return issues;
}

/**
 * Inference: its pools exist on its sites, no hub downloads on prod, and the component's own validator.
 * Skipped when one of its pools is itself invalid (that problem is reported under the pool).
 */
function inferenceIssues(parsed: Partial<StackSettings>, stack: string, brokenPools: ReadonlySet<string>, assumeStore: boolean): Issue[] {
  const issues: Issue[] = [];
  if (parsed.inference && Object.values(parsed.inference.pools).some((pool) => brokenPools.has(pool))) return issues;
  if (parsed.inference && parsed.sites && parsed.activeSite !== undefined) {
    const inf = parsed.inference;
    const sites = parsed.sites;
    const pools = [];
    for (const [site, poolName] of Object.entries(inf.pools)) {
      const pool = parsed.gpuPools?.[poolName];
      if (!sites[site]) issues.push({ path: ["inference", "pools", site], message: `names no site; allowed: ${Object.keys(sites).join(", ")}` });
      else if (!pool || pool.site !== site) issues.push({ path: ["inference", "pools", site], message: `is ${JSON.stringify(poolName)}, not a GPU pool on site "${site}"; pools there: ${Object.entries(parsed.gpuPools ?? {}).filter(([, p]) => p.site === site).map(([n]) => n).join(", ") || "none"}` });
      else pools.push({ site, gpuModel: pool.gpuModel, gpusPerNode: pool.gpusPerNode, gpuMemoryGiB: GPU_MODELS[pool.gpuModel as keyof typeof GPU_MODELS]?.memoryGiB ?? 0, maxNodes: pool.nodeNames?.length ?? pool.maxNodes ?? pool.nodeCount ?? 1 });
    }
    if (inf.allowHubDownload && stack === "prod") {
      issues.push({ path: ["inference", "allowHubDownload"], message: "is true on prod; weights must come from the Thai object store or a volume, never from a public hub at run time" });
    }
    const store = backupSiteName({ sites, postgres: parsed.postgres, backups: parsed.backups });
    for (const problem of validateInferenceClusterArgs({
      ...inf,
      sites: Object.keys(inf.pools),
      pools,
      activeSite: parsed.activeSite,
      hasApiKey: true, // a secret: checked with the other secrets
      hasModelStore: assumeStore || (store !== undefined && sites[store]?.objectStore !== undefined),
    })) {
      const path = problem.argument === "activeSite" ? ["activeSite"] : ["inference", ...problem.argument.split(".")];
      issues.push({ path, message: `Inference: ${problem.message}` });
    }
  }
  return issues;
}

/** MongoDB passes the component's own validator; its backup schedule parses and PITR fits the RPO. */
function mongodbIssues(parsed: Partial<StackSettings>, assumeStore: boolean): Issue[] {
  const issues: Issue[] = [];
  if (parsed.mongodb && parsed.sites && parsed.activeSite !== undefined) {
    const sites = parsed.sites;
    const mongo = parsed.mongodb;
    const store = backupSiteName({ sites, postgres: parsed.postgres, backups: parsed.backups });
    for (const problem of validateMongoReplicaSetArgs({
      ...mongo,
      sites: dataSiteNames(sites).map((n) => ({ name: n, ...sites[n]! })),
      roles: { bySite: Object.fromEntries(dataSiteNames(sites).map((n) => [n, n])) },
      backup: {},
      hasBackupStore: assumeStore || (store !== undefined && sites[store]?.objectStore !== undefined),
      replicationLagTargetSeconds: parsed.recovery?.replicationLagTargetSeconds,
    })) {
      const path = problem.argument === "activeSite" ? ["activeSite"] : problem.argument === "sites" ? ["sites"] : ["mongodb", ...problem.argument.split(".")];
      issues.push({ path, message: `MongoDB: ${problem.message}` });
    }
    try {
      parseCron(mongo.backupSchedule);
    } catch (e) {
      issues.push({ path: ["mongodb", "backupSchedule"], message: `MongoDB backups: ${(e as Error).message}` });
    }
    if (parsed.recovery && mongo.pitrMinutes > parsed.recovery.rpoMinutes) {
      issues.push({ path: ["mongodb", "pitrMinutes"], message: `is ${mongo.pitrMinutes} min, above the RPO of ${parsed.recovery.rpoMinutes} min: the oplog span bounds what a restore can lose` });
    }
  }
  return issues;
}

/** Redis passes the component's own validator (its sites, replication hosts, dump), and its dumps are frequent enough for the RPO. */
function redisIssues(parsed: Partial<StackSettings>, assumeStore: boolean): Issue[] {
  const issues: Issue[] = [];
  const redis = parsed.redis;
  if (!redis || !parsed.sites || parsed.activeSite === undefined || !parsed.sites[parsed.activeSite]) return issues;
  const sites = parsed.sites;
  const store = backupSiteName({ sites, postgres: parsed.postgres, backups: parsed.backups });
  const backup = store ? sites[store] : undefined;
  const spec = (name: string, s: SiteSettings): SiteSpec => ({ name, kind: s.kind, region: s.region, country: s.country, role: s.role });
  const dataSites = dataSiteNames(sites);
  const { problems, cron } = validateRedisPrimaryArgs(
    dataSites.map((n) => spec(n, sites[n]!)),
    backup ? { ...spec(store!, backup), hasObjectStore: assumeStore || backup.objectStore !== undefined } : { ...spec("(none)", sites[parsed.activeSite]!), hasObjectStore: assumeStore },
    { ...redis, replicationLagTargetSeconds: parsed.recovery?.replicationLagTargetSeconds },
  );
  for (const problem of problems) {
    const path = problem.argument === "sites" ? ["sites"] : problem.argument === "replicationLagTargetSeconds" ? ["recovery", problem.argument] : ["redis", ...problem.argument.split(".")];
    issues.push({ path, message: `Redis: ${problem.message}` });
  }
  // Replication copies a FLUSHALL too: the dumps stay the backup against logical loss, held to the RPO.
  if (cron && parsed.recovery) {
    const gap = longestGapMinutes([cron]);
    if (gap > parsed.recovery.rpoMinutes) {
      issues.push({ path: ["redis", "backupSchedule"], message: `dumps up to ${gap} min apart, above the RPO of ${parsed.recovery.rpoMinutes} min` });
    }
  }
  return issues;
}

/** Milvus passes the component's own validator on the active site, and its backups are frequent enough for the RPO. */
function milvusIssues(parsed: Partial<StackSettings>, assumeStore: boolean): Issue[] {
  const issues: Issue[] = [];
  const milvus = parsed.milvus;
  if (!milvus || !parsed.sites || parsed.activeSite === undefined || !parsed.sites[parsed.activeSite]) return issues;
  const sites = parsed.sites;
  const store = backupSiteName({ sites, postgres: parsed.postgres, backups: parsed.backups });
  const withStore = (name: string, s: SiteSettings) => ({ name, kind: s.kind, region: s.region, country: s.country, role: s.role, hasObjectStore: s.objectStore !== undefined });
  const backup = store && sites[store] ? withStore(store, sites[store]!) : { ...withStore("(none)", sites[parsed.activeSite]!), hasObjectStore: false };
  if (assumeStore) backup.hasObjectStore = true;
  for (const problem of validateMilvusPrimaryArgs(withStore(parsed.activeSite, sites[parsed.activeSite]!), backup, milvus)) {
    const path = problem.argument === "site" ? ["activeSite"] : problem.argument === "backupSite" ? ["backups", "site"] : ["milvus", problem.argument];
    issues.push({ path, message: `Milvus: ${problem.message}` });
  }
  // Milvus exists on every data site (scaled to 0 where not primary), each with its own data bucket.
  for (const [name, site] of Object.entries(sites)) {
    if (name !== parsed.activeSite && site.role !== "burst" && site.objectStore === undefined && !assumeStore) {
      issues.push({ path: ["sites", name, "objectStore"], message: `is not set; Milvus keeps a (stopped) copy on every data site, with its segments in that site's own object store` });
    }
  }
  let gap: number | undefined;
  try {
    gap = longestGapMinutes([parseCron(milvus.backupSchedule)]);
  } catch {
    // reported by the validator above
  }
  if (gap !== undefined && parsed.recovery && gap > parsed.recovery.rpoMinutes) {
    issues.push({ path: ["milvus", "backupSchedule"], message: `backs up ${gap} min apart, above the RPO of ${parsed.recovery.rpoMinutes} min; Milvus has no continuous archive, so the backup interval is its RPO` });
  }
  return issues;
}

/**
 * The site that keeps the backups (`backups.site`, else `postgres.backupSite`, else the only data site
 * with an object store) is a data site with an object store, when anything is backed up or stored there.
 * Reported once: the datastores' own checks then take the store as given.
 */
function backupSiteIssues(parsed: Partial<StackSettings>): Issue[] {
  const sites = parsed.sites;
  const needed = parsed.postgres || parsed.mongodb || parsed.redis || parsed.milvus || parsed.backups?.modelArtifactsBucket !== undefined;
  if (!sites || !needed) return [];
  const withStore = dataSiteNames(sites).filter((n) => sites[n]!.objectStore !== undefined);
  const allowed = withStore.join(", ") || "none (give a data site an objectStore)";
  const store = backupSiteName({ sites, postgres: parsed.postgres, backups: parsed.backups });
  const path = parsed.backups?.site === undefined && parsed.postgres ? ["postgres", "backupSite"] : ["backups", "site"];
  if (store === undefined) return [{ path, message: "is not set and no single data site has an objectStore to default to; name the site that keeps the backups in backups.site" }];
  if (!sites[store]) return [{ path, message: `names no site; allowed: ${allowed}` }];
  if (!withStore.includes(store)) return [{ path, message: `is not a data site with an objectStore; allowed: ${allowed}` }];
  return [];
}

/** Backup schedules parse and locks fit the retention (the artifacts' store: {@link backupSiteIssues}). */
function backupsIssues(parsed: Partial<StackSettings>): Issue[] {
  const issues: Issue[] = [];
  if (parsed.backups) {
    try {
      parseCron(parsed.backups.postgresFullBackupSchedule);
    } catch (e) {
      issues.push({ path: ["backups", "postgresFullBackupSchedule"], message: `PostgreSQL full backups: ${(e as Error).message}` });
    }
    if (parsed.postgres && parsed.backups.objectLockDays > (parsed.postgres.backupRetentionDays ?? 30)) {
      issues.push({ path: ["backups", "objectLockDays"], message: `is above the PostgreSQL retention of ${parsed.postgres.backupRetentionDays ?? 30} days: Barman could not delete expired backups` });
    }
  }
  return issues;
}

/** The replication lag target fits within the RPO. */
function recoveryIssues(parsed: Partial<StackSettings>): Issue[] {
  const issues: Issue[] = [];
  if (parsed.recovery) {
    const { rpoMinutes, replicationLagTargetSeconds } = parsed.recovery;
    if (replicationLagTargetSeconds > rpoMinutes * 60) {
      issues.push({
        path: ["recovery", "replicationLagTargetSeconds"],
        message: `is ${replicationLagTargetSeconds} s, above the RPO of ${rpoMinutes} min (${rpoMinutes * 60} s); a standby that far behind loses more than the RPO`,
      });
    }
  }
  return issues;
}

/** Checks between settings, run on whichever settings parsed. */
/** With Vault: its settings against the sites that get Secrets (components/vault-keys.ts). */
function vaultIssues(parsed: Partial<StackSettings>): Issue[] {
  if (!parsed.vault || !parsed.sites) return [];
  return vaultSettingsProblems(parsed.vault, keySites({ sites: parsed.sites })).map((p) => ({ path: p.path.split("."), message: p.message }));
}

function crossSettingIssues(parsed: Partial<StackSettings>, rawSites: unknown, stack: string, brokenPools: ReadonlySet<string>, written: ReadonlySet<string>): Issue[] {
  const poolIssues = gpuPoolsIssues(parsed);
  // One mistake, one problem: what is built on a pool already reported is not checked again.
  const broken = new Set([...brokenPools, ...poolIssues.map((i) => i.path[1]!)]);
  const backupSite = backupSiteIssues(parsed);
  // A backup site already reported: the datastores take its store as given instead of reporting it again.
  const assumeStore = backupSite.length > 0;
  const found = [
    ...activeSiteIssues(parsed, rawSites),
    ...failoverIssues(parsed),
    ...backupSite,
    ...poolIssues,
    ...postgresIssues(parsed, assumeStore),
    ...inferenceIssues(parsed, stack, broken, assumeStore),
    ...mongodbIssues(parsed, assumeStore),
    ...redisIssues(parsed, assumeStore),
    ...milvusIssues(parsed, assumeStore),
    ...backupsIssues(parsed),
    ...recoveryIssues(parsed),
    ...policyThresholdIssues(parsed),
    ...dnsIssues(parsed, written),
    ...monitoringIssues(parsed),
    ...vaultIssues(parsed),
  ];
  // One problem per key: the first found is the root (an activeSite naming no site is not reported again
  // by every datastore that was given it).
  const seen = new Set<string>();
  const issues = found.filter((i) => {
    const key = i.path.join(".");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // Sizes and bounds already refused say nothing new about restore times.
  const sized = issues.some((i) => i.path[0] === "recovery" || /SizeGiB$|memoryGiB$/.test(i.path.at(-1) ?? ""));
  const buckets = bucketIssues(parsed, issues);
  const schedules = scheduleIssues(parsed, [...issues, ...buckets]);
  return [...issues, ...buckets, ...schedules, ...recoveryTargetIssues(parsed, sized)];
}

/** The settings of one site as written in the stack file. */
export type SiteSettings = z.infer<typeof siteSettingsSchema>;

/** Recovery targets of the stack. */
export interface RecoveryTargets {
  /** Recovery point objective: the most data, in minutes, a disaster may lose. Default 60. */
  readonly rpoMinutes: number;
  /** Recovery time objective: how long, in minutes, service may be down. Default 240. */
  readonly rtoMinutes: number;
  /** Replication lag, in seconds, above which the standby is alerted on. Default 60. */
  readonly replicationLagTargetSeconds: number;
  /** Restore throughput from object storage, MiB/s, for RTO estimates without a standby. Default 100. */
  readonly restoreThroughputMiBPerSecond: number;
}

/** A secret the stack needs, with the command that sets it. */
export interface SecretRequirement {
  /** Config key, without the project prefix. */
  readonly key: string;
  /** What the secret is. */
  readonly purpose: string;
  /** Exact command that sets it. */
  readonly command: string;
}

/** One problem with one stack setting. */
export interface SettingProblem {
  /** Full config key with a path inside it, e.g. `waris-hybrid:sites.onprem.kind`. */
  readonly key: string;
  /** The value found, rendered as JSON, or `(not set)`. */
  readonly value: string;
  /** What is wrong and what is allowed. */
  readonly message: string;
}

/** Thrown when a stack's configuration is invalid; its message lists every problem. */
export class StackConfigError extends Error {
  /** Every problem found. */
  readonly problems: readonly SettingProblem[];

  /**
   * @param stack - stack name.
   * @param problems - at least one problem.
   */
  constructor(stack: string, problems: readonly SettingProblem[]) {
    super(
      `Invalid configuration of stack "${stack}" (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.key} = ${p.value}: ${p.message}`).join("\n"),
    );
    this.name = "StackConfigError";
    this.problems = problems;
  }
}

/** The whole configuration of a stack, validated, with its secrets as Pulumi secrets. */
export interface StackConfig {
  /** Stack name (`dev`, `prod`). */
  readonly stack: string;
  /** Name of the site that is primary now. */
  readonly activeSite: string;
  /** The sites with their current roles: `activeSite` is primary, the other data sites standby. */
  readonly sites: readonly SiteSpec[];
  /** Arguments for building each {@link Site}, secrets included, keyed by site name. */
  readonly siteArgs: Readonly<Record<string, SiteArgs>>;
  /** Recovery targets. */
  readonly recovery: RecoveryTargets;
  /** GPU pools as written, keyed by pool name; each names its site. */
  readonly gpuPools: Readonly<Record<string, GpuPoolSettings>>;
  /** PostgreSQL, when configured: settings with the derived backup and home sites, and the password secret. */
  readonly postgres?: PostgresSettings & { readonly backupSite: string; readonly appPassword?: pulumi.Output<string> };
  /** Backup settings, defaults applied. */
  readonly backups: BackupSettings;
  /** MongoDB, when configured. */
  readonly mongodb?: MongodbSettings;
  /** Redis, when configured, with its password secret. */
  readonly redis?: RedisSettings & { readonly password?: pulumi.Output<string> };
  /** Milvus, when configured. */
  readonly milvus?: MilvusSettings;
  /** The site whose object store keeps the backups and model artifacts, when there is one. */
  readonly backupSite?: string;
  /** LLM inference, when configured, with its bearer token secret. */
  readonly inference?: InferenceSettings & { readonly apiKey?: pulumi.Output<string> };
  /** Vault, when the stack has it: keys come from Vault, and the pods' secrets are not stack secrets. */
  readonly vault?: VaultStackSettings;
  /** Every data site's role in the failover situation the stack states (components/failover.ts). */
  readonly roles: SiteRoles;
  /** User-facing DNS, when configured: the server with its TSIG secret, and the records ({@link dnsRecords}). */
  readonly dns?: DnsSettings & { readonly tsigSecret: pulumi.Output<string>; readonly records: Record<string, Record<string, string>> };
  /** Monitoring, when configured, with the secrets of its configured receivers. */
  readonly monitoring?: MonitoringSettings & {
    readonly secrets: { readonly smtpPassword?: pulumi.Output<string>; readonly pagerdutyRoutingKey?: pulumi.Output<string>; readonly lineWebhookUrl?: pulumi.Output<string> };
  };
  /** The validated settings as written (roles as configured, before `activeSite`). */
  readonly settings: StackSettings;
}

/** camelCase config key for a per-site secret: (`gcloud`, `ObjectStoreAccessKeyId`) → `gcloudObjectStoreAccessKeyId`. */
export function siteSecretKey(site: string, suffix: string): string {
  return site.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()) + suffix;
}

/** The secrets that validated settings require, with the command that sets each. */
export function requiredSecrets(settings: StackSettings, stack: string): SecretRequirement[] {
  const set = (key: string, from: string): string => `pulumi config set --secret --stack ${stack} ${key}${from}`;
  const secrets: SecretRequirement[] = [];
  for (const [name, site] of Object.entries(settings.sites)) {
    if (hasKubeconfig(site)) {
      const key = siteSecretKey(name, "Kubeconfig");
      secrets.push({ key, purpose: `kubeconfig of the ${name} cluster`, command: set(key, ` < ./${name}-kubeconfig.yaml`) });
    }
    if (site.objectStore) {
      for (const [suffix, what] of [
        ["ObjectStoreAccessKeyId", "access key id"],
        ["ObjectStoreSecretAccessKey", "secret access key"],
      ] as const) {
        const key = siteSecretKey(name, suffix);
        secrets.push({ key, purpose: `${what} of the ${name} object store (the program creates buckets with it; no pod gets it)`, command: set(key, "") });
      }
    }
  }
  // With Vault, the pods' secrets are read from Vault KV (stack/keys.ts, vaultSupplyCommands): none is a stack secret.
  if (!settings.vault) {
    for (const use of objectStoreWriterUses(settings)) {
      const suffixes = writerSecretSuffixes(use.writer);
      for (const [field, what] of [["accessKeyId", "access key id"], ["secretAccessKey", "secret access key"]] as const) {
        const key = siteSecretKey(use.site, suffixes[field]);
        secrets.push({ key, purpose: `${what} of ${use.writer}'s own user on the ${use.site} store, limited to bucket ${use.bucket}`, command: set(key, "") });
      }
    }
    for (const key of suppliedSecretsNeeded(settings).filter((k) => k !== "inferenceApiKey")) {
      secrets.push({ key, purpose: SUPPLIED_SECRETS[key].purpose, command: set(key, "") });
    }
  }
  if (settings.dns) {
    secrets.push({ key: "dnsTsigSecret", purpose: "TSIG secret ExternalDNS signs its DNS updates with", command: set("dnsTsigSecret", "") });
  }
  if (settings.inference && !settings.vault) {
    secrets.push({ key: "inferenceApiKey", purpose: SUPPLIED_SECRETS.inferenceApiKey.purpose, command: set("inferenceApiKey", "") });
  }
  const receivers = settings.monitoring?.receivers;
  if (receivers?.email?.username) {
    secrets.push({ key: "monitoringSmtpPassword", purpose: "password of monitoring.receivers.email.username on the SMTP server", command: set("monitoringSmtpPassword", "") });
  }
  if (receivers?.pagerduty) {
    secrets.push({ key: "monitoringPagerdutyRoutingKey", purpose: "PagerDuty Events API v2 routing key of monitoring.receivers.pagerduty", command: set("monitoringPagerdutyRoutingKey", "") });
  }
  if (receivers?.line) {
    secrets.push({ key: "monitoringLineWebhookUrl", purpose: "URL of the LINE Messaging API relay of monitoring.receivers.line (LINE Notify ended on 2025-03-31)", command: set("monitoringLineWebhookUrl", "") });
  }
  return secrets;
}

function effectiveRole(configured: SiteRole, isActive: boolean): SiteRole {
  if (configured === "burst") return "burst";
  return isActive ? "primary" : "standby";
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = root;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function render(value: unknown): string {
  return value === undefined ? "(not set)" : JSON.stringify(value);
}

/**
 * Validates raw config values (as the engine hands them to a program: strings, objects JSON-encoded).
 * Pure: no Pulumi runtime needed. Throws {@link StackConfigError}.
 *
 * @param raw - config values keyed by key without the project prefix.
 * @param stack - stack name, for messages and commands.
 */
export function parseStackSettings(raw: Readonly<Record<string, string | undefined>>, stack: string): StackSettings {
  const problems: SettingProblem[] = [];
  const input: Record<string, unknown> = {};
  const known = new Set<string>(SETTING_KEYS);
  const unparsable = new Set<string>();
  for (const [key, text] of Object.entries(raw)) {
    if (text === undefined) continue;
    if (SCALAR_SETTING_KEYS.includes(key)) {
      input[key] = text;
      continue;
    }
    if (!known.has(key)) {
      input[key] = text;
      continue;
    }
    try {
      input[key] = JSON.parse(text);
    } catch {
      unparsable.add(key);
      problems.push({ key: `${PROJECT}:${key}`, value: render(text), message: "must be a YAML/JSON object" });
    }
  }
  const parsed: { -readonly [K in keyof StackSettings]?: StackSettings[K] } = {};
  for (const key of Object.keys(input)) {
    if (!known.has(key)) {
      problems.push({ key: `${PROJECT}:${key}`, value: render(input[key]), message: `unknown setting; known settings: ${SETTING_KEYS.join(", ")}` });
    }
  }
  for (const key of SETTING_KEYS) {
    if (unparsable.has(key)) continue;
    const result = settingSchemas[key].safeParse(input[key]);
    if (result.success) {
      (parsed as Record<string, unknown>)[key] = result.data;
      continue;
    }
    for (const issue of result.error.issues) {
      const base = [key, ...issue.path.map(String)];
      const extras = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...base, k]) : [base];
      for (const path of extras) {
        problems.push({
          key: `${PROJECT}:${path.join(".")}`,
          value: render(valueAt(input, path)),
          message:
            issue.code === "unrecognized_keys"
              ? "unknown setting"
              : // A bad record key (a pool name, a label key): zod's own words are only "Invalid key in record".
                issue.code === "invalid_key"
                ? issue.issues.map((i) => i.message).join("; ")
                : issue.message,
        });
      }
    }
  }
  // A pool that does not parse is reported under its own key; the valid pools are still checked.
  const brokenPools = new Set<string>();
  const rawPools = input["gpuPools"];
  if (parsed.gpuPools === undefined && !unparsable.has("gpuPools") && rawPools !== null && typeof rawPools === "object" && !Array.isArray(rawPools)) {
    const valid: Record<string, GpuPoolSettings> = {};
    for (const [name, pool] of Object.entries(rawPools)) {
      const result = gpuPoolSchema.safeParse(pool);
      if (result.success && poolNameSchema.safeParse(name).success) valid[name] = result.data;
      else brokenPools.add(name);
    }
    parsed.gpuPools = valid;
  }
  for (const issue of crossSettingIssues(parsed, input["sites"], stack, brokenPools, new Set(Object.keys(input)))) {
    problems.push({ key: `${PROJECT}:${issue.path.join(".")}`, value: render(valueAt(input, issue.path)), message: issue.message });
  }
  if (problems.length === 0) return parsed as StackSettings;
  throw new StackConfigError(stack, problems);
}

/** Suffixes of per-site secret keys; a config key ending in one of them is a secret, never a setting. */
export const SITE_SECRET_SUFFIXES = ["Kubeconfig", "ObjectStoreAccessKeyId", "ObjectStoreSecretAccessKey"] as const;

/**
 * The stack-wide secrets Pulumi itself uses (not the pods' secrets, which are {@link SUPPLIED_SECRETS}), each
 * with the setting it belongs to.
 */
const PULUMI_SECRETS = {
  dnsTsigSecret: "dns",
  monitoringSmtpPassword: "monitoring",
  monitoringPagerdutyRoutingKey: "monitoring",
  monitoringLineWebhookUrl: "monitoring",
} as const satisfies Readonly<Record<string, keyof typeof settingSchemas>>;

/**
 * The setting each stack-wide secret belongs to (site secrets belong to `sites`): the supplied secrets' own
 * (stack/keys.ts, {@link SUPPLIED_SECRETS}) and those of {@link PULUMI_SECRETS}.
 */
const SECRET_OWNER: Readonly<Record<string, keyof typeof settingSchemas>> = {
  ...Object.fromEntries(Object.entries(SUPPLIED_SECRETS).map(([key, s]) => [key, s.setting])),
  ...PULUMI_SECRETS,
};

/** Secrets of the whole stack (not per site). */
export const STACK_SECRET_KEYS: readonly string[] = Object.keys(SECRET_OWNER);

function isSecretKey(key: string): boolean {
  return [...SITE_SECRET_SUFFIXES, ...WRITER_SECRET_SUFFIXES].some((suffix) => key.endsWith(suffix)) || STACK_SECRET_KEYS.includes(key);
}

function ownerOfSecret(key: string): string {
  return SECRET_OWNER[key] ?? "sites";
}

/** A problem for each key in a namespace nobody reads (a misspelt project name drops its setting silently). */
function namespaceProblems(otherKeys: readonly string[]): SettingProblem[] {
  return unknownNamespaceKeys(otherKeys, PROJECT).map((u) => ({
    key: u.key,
    value: "(not shown)",
    message:
      `is in namespace "${u.namespace}", which nothing reads, so this setting would be ignored` +
      (u.suggestion ? ` (did you mean ${u.suggestion}:${u.name}?)` : "") +
      `; known namespaces: ${knownNamespaces(PROJECT).join(", ")}`,
  }));
}

/**
 * Validates settings and secrets together, from raw config values and a secret lookup.
 * Throws {@link StackConfigError}: keys in unknown namespaces and settings problems first; then missing
 * secrets (with the command that sets each), secrets stored in plain text, and secrets no setting needs
 * (except those whose setting sits in a misspelt namespace: one mistake, one problem).
 *
 * @param raw - config values keyed by key without the project prefix.
 * @param stack - stack name.
 * @param isSecret - whether a key was stored as a secret (`pulumi config set --secret`).
 * @param otherKeys - the full keys (`<namespace>:<key>`) of the stack outside the project's namespace;
 *   each must be in `pulumi:` or a provider's namespace. Default none.
 */
export function checkStackConfig(
  raw: Readonly<Record<string, string | undefined>>,
  stack: string,
  isSecret: (key: string) => boolean,
  otherKeys: readonly string[] = [],
): { settings: StackSettings; secrets: SecretRequirement[] } {
  const misplaced = namespaceProblems(otherKeys);
  let settings: StackSettings;
  try {
    settings = parseStackSettings(Object.fromEntries(Object.entries(raw).filter(([key]) => !isSecretKey(key))), stack);
  } catch (e) {
    if (e instanceof StackConfigError && misplaced.length > 0) throw new StackConfigError(stack, [...misplaced, ...e.problems]);
    throw e;
  }
  const secrets = requiredSecrets(settings, stack);
  const problems: SettingProblem[] = [...misplaced];
  for (const need of secrets) {
    if (raw[need.key] === undefined) {
      problems.push({ key: `${PROJECT}:${need.key}`, value: "(not set)", message: `missing secret (${need.purpose}); run: ${need.command}` });
    } else if (!isSecret(need.key)) {
      problems.push({
        key: `${PROJECT}:${need.key}`,
        value: "(plain text, not shown)",
        message: `is stored in plain text; it must be a secret. Run: ${need.command}`,
      });
    }
  }
  const misplacedSettings = new Set(unknownNamespaceKeys(otherKeys, PROJECT).map((u) => u.name.split(".")[0]));
  for (const key of Object.keys(raw)) {
    if (isSecretKey(key) && raw[key] !== undefined && !secrets.some((s) => s.key === key) && !misplacedSettings.has(ownerOfSecret(key))) {
      problems.push({
        key: `${PROJECT}:${key}`,
        value: "(secret, not shown)",
        message: `no site needs this secret; the secrets this stack needs are: ${secrets.map((s) => s.key).join(", ") || "none"}`,
      });
    }
  }
  if (problems.length > 0) throw new StackConfigError(stack, problems);
  return { settings, secrets };
}

/**
 * Whether a config key was stored as a secret. The SDK's own check is marked internal (missing from its
 * typings) but is the only reader of the secret-key list the engine passes; without it, assume secret.
 */
function isConfigSecret(fullKey: string): boolean {
  const check = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  return check ? check(fullKey) : true;
}

/**
 * Reads and validates the configuration of the running stack. Call it before registering any resource.
 * Throws {@link StackConfigError} naming every wrong key, and every missing secret with its command.
 */
export function readStackConfig(): StackConfig {
  const stack = pulumi.getStack();
  const prefix = `${PROJECT}:`;
  const raw: Record<string, string> = {};
  const otherKeys: string[] = [];
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (fullKey.startsWith(prefix)) raw[fullKey.slice(prefix.length)] = value;
    else otherKeys.push(fullKey);
  }
  const { settings, secrets } = checkStackConfig(raw, stack, (key) => isConfigSecret(prefix + key), otherKeys);
  const config = new pulumi.Config(PROJECT);
  const secret = (key: string): pulumi.Output<string> => config.requireSecret(key);

  const writerUses = objectStoreWriterUses(settings);
  const writerKeys = (site: string): Partial<Record<ObjectStoreWriter, ObjectStoreKeyPair>> =>
    Object.fromEntries(
      writerUses
        .filter((u) => u.site === site)
        .map((u) => {
          const suffixes = writerSecretSuffixes(u.writer);
          return [u.writer, { accessKeyId: secret(siteSecretKey(site, suffixes.accessKeyId)), secretAccessKey: secret(siteSecretKey(site, suffixes.secretAccessKey)) }];
        }),
    );
  const sites: SiteSpec[] = [];
  const siteArgs: Record<string, SiteArgs> = {};
  for (const [name, site] of Object.entries(settings.sites)) {
    const role = effectiveRole(site.role, name === settings.activeSite);
    sites.push({ name, kind: site.kind, region: site.region, country: site.country, role });
    const kubeconfigKey = siteSecretKey(name, "Kubeconfig");
    siteArgs[name] = {
      kind: site.kind,
      region: site.region,
      country: site.country,
      role,
      kubeconfig: secrets.some((s) => s.key === kubeconfigKey) ? secret(kubeconfigKey) : undefined,
      kubernetesDistribution: site.kubernetesDistribution,
      vpnRanges: site.vpnRanges,
      volumes: site.volumes,
      objectStore: site.objectStore
        ? {
            endpoint: site.objectStore.endpoint,
            signingRegion: site.objectStore.signingRegion,
            encryption: site.objectStore.encryption,
            kmsKeyId: site.objectStore.kmsKeyId,
            accessKeyId: secret(siteSecretKey(name, "ObjectStoreAccessKeyId")),
            secretAccessKey: secret(siteSecretKey(name, "ObjectStoreSecretAccessKey")),
            // Each writer's own keys (with Vault, the writers read theirs from Vault KV instead).
            ...(settings.vault ? {} : { writers: writerKeys(name) }),
          }
        : undefined,
    };
  }
  const postgres = settings.postgres
    ? { ...settings.postgres, backupSite: backupSiteName(settings)!, appPassword: settings.vault ? undefined : secret("postgresAppPassword") }
    : undefined;
  const dns = settings.dns && { ...settings.dns, tsigSecret: secret("dnsTsigSecret"), records: dnsRecords(settings) };
  const needed = (key: string): pulumi.Output<string> | undefined => (secrets.some((s) => s.key === key) ? secret(key) : undefined);
  const monitoring = settings.monitoring && {
    ...settings.monitoring,
    secrets: { smtpPassword: needed("monitoringSmtpPassword"), pagerdutyRoutingKey: needed("monitoringPagerdutyRoutingKey"), lineWebhookUrl: needed("monitoringLineWebhookUrl") },
  };
  return { stack, dns, roles: deriveSiteRoles(failoverSituation(settings)), activeSite: settings.activeSite, sites, siteArgs, recovery: settings.recovery, gpuPools: settings.gpuPools, postgres, backups: settings.backups, mongodb: settings.mongodb, backupSite: backupSiteName(settings), redis: settings.redis && { ...settings.redis, password: settings.vault ? undefined : secret("redisPassword") }, milvus: settings.milvus, inference: settings.inference && { ...settings.inference, apiKey: settings.vault ? undefined : secret("inferenceApiKey") }, monitoring, vault: settings.vault, settings };
}
