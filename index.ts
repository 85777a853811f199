/**
 * The WARIS hybrid platform as a Pulumi program (`pulumi up -s prod`).
 *
 * Reads and validates the whole stack configuration first, so a wrong setting stops the program before
 * any resource is registered; then builds the sites and plugs in each component.
 */
// Each component from its own module, not the package index: the program then loads only the provider
// SDK modules it uses (not RDS, Azure or DigitalOcean databases), which the offline plan's time shows.
import { BackupSchedule } from "./components/backup-schedule";
import { GpuNodePool, currentStack } from "./components/gpu-node-pool";
import { InferenceCluster } from "./components/inference-cluster";
import { MilvusPrimary } from "./components/milvus-primary";
import { MongoReplicaSet } from "./components/mongo-replica-set";
import { Monitoring } from "./components/monitoring";
import { MONITORING_NAMESPACE } from "./components/monitoring-rules";
import { datasetRpoAlerts, type MonitoredDataset } from "./components/monitoring-rules";
import { NetworkZones, warisZoneTable, type NamespaceZone } from "./components/network-zones";
import { ObjectStorageBucket } from "./components/object-storage-bucket";
import { longestGapMinutes, parseCron } from "./components/recovery";
import { CNPG_OPERATOR_NAMESPACE, PostgresCluster } from "./components/postgres-cluster";
import { RedisPrimary } from "./components/redis-primary";
import { ServiceDns } from "./components/service-dns";
import { Site } from "./components/site";
import { PulumiStateKeys, type KeyStore } from "./components/keys";
import { VAULT_DEFAULTS, EXTERNAL_SECRETS_CHART, VaultKeys } from "./components/vault-keys";
import { PROGRAM_COMPONENTS, PROGRAM_NAMESPACES, keySites, objectStoreWriterSetup, vaultSupplyCommands } from "./stack/keys";
import { readStackConfig } from "./stack/config";
import { DEFAULT_POSTGRES_RETENTION_DAYS, modelArtifactsRestore, mongodbRestore, postgresRestore, stackBuckets } from "./stack/datasets";
import { monitoringProbes } from "./stack/monitoring";

const config = readStackConfig();
// Every datastore and the inference cluster take their site from the failover model, never from
// activeSite directly (components/failover.ts).
const roles = config.roles;

const sites: Record<string, Site> = {};
for (const spec of config.sites) {
  sites[spec.name] = new Site(spec.name, config.siteArgs[spec.name]!);
}

// Where every key comes from (components/keys.ts): Vault when the stack has it, else the Pulumi state.
const vault = config.vault;
const keyStore: KeyStore = vault
  ? new VaultKeys("waris-keys", {
      settings: vault,
      sites: Object.fromEntries(keySites(config.settings).map((n) => [n, sites[n]!])),
      installOperator: vault.installOperator,
      namespaces: [...Object.values(PROGRAM_NAMESPACES), MONITORING_NAMESPACE],
    })
  : new PulumiStateKeys();

const gpuPools: Record<string, GpuNodePool> = {};
for (const [name, { site, ...pool }] of Object.entries(config.gpuPools)) {
  // The platform's stack owns the cluster-wide GPU objects: the operator (once per site, checked by the
  // stack configuration) and its nodes' labels. A library user's defaults install and patch none of them.
  gpuPools[name] = new GpuNodePool(name, { ...pool, installOperator: pool.installOperator ?? true, nodeOwner: currentStack(), site: sites[site]! });
}

const dataSites = config.sites.filter((s) => s.role !== "burst").map((s) => sites[s.name]!);

const schedules: BackupSchedule[] = [];

// The buckets' arguments are derived (and were validated) by the stack configuration.
const bucketPlans = config.backupSite ? stackBuckets(config.settings, config.backupSite) : [];
function makeBucket(name: string): ObjectStorageBucket {
  const plan = bucketPlans.find((b) => b.name === name)!;
  return new ObjectStorageBucket(name, { ...plan.args, site: sites[plan.siteName]! });
}

let postgres: PostgresCluster | undefined;
if (config.postgres) {
  const pg = config.postgres;
  const backupSite = sites[pg.backupSite]!;
  const bucket = makeBucket("postgres-backups");
  postgres = new PostgresCluster(
    PROGRAM_COMPONENTS.postgres,
    {
      ...pg,
      namespace: PROGRAM_NAMESPACES.postgres,
      // The platform installs the operators the library's users rely on (their default is false).
      installOperators: true,
      sites: dataSites,
      roles,
      backupSite,
      // The stack's bucket, made with the others (stackBuckets); the cluster checks it is its own.
      existingBackupBucket: bucket,
      rpoMinutes: config.recovery.rpoMinutes,
      replicationLagTargetSeconds: config.recovery.replicationLagTargetSeconds,
      restoreThroughputMiBPerSecond: config.recovery.restoreThroughputMiBPerSecond,
      keys: keyStore,
    },
    { dependsOn: [bucket] },
  );
  // A schedule on every data site, suspended where the cluster is not primary: moving the role changes
  // a field on each site, never moves a resource between clusters (which needs the old site reachable).
  // The home site's keeps the logical name it has always had.
  for (const site of dataSites) {
    const siteName = site.spec.name;
    const primary = roles.bySite[siteName]!.role === "primary";
    const schedule = new BackupSchedule(siteName === roles.homeSite ? "waris-postgres-full" : `waris-postgres-full-${siteName}`, {
      ...postgresRestore(config.settings, dataSites.length),
      kind: "postgresql",
      dataset: postgres.dataset,
      site,
      namespace: postgres.namespace,
      postgresCluster: postgres.clusterNames[siteName]!,
      schedule: config.backups.postgresFullBackupSchedule,
      retentionDays: pg.backupRetentionDays ?? DEFAULT_POSTGRES_RETENTION_DAYS,
      continuousArchiveMinutes: postgres.rpoMinutes,
      location: `${bucket.url} on ${bucket.siteName}`,
      suspend: !primary,
    });
    if (siteName === roles.primarySite) schedules.push(schedule);
  }
}

let mongodb: MongoReplicaSet | undefined;
if (config.mongodb) {
  const mongo = config.mongodb;
  // The stack configuration has checked that a backup site with an object store exists.
  const backupSite = sites[config.backupSite!]!;
  const bucket = makeBucket("mongodb-backups");
  const schedule = new BackupSchedule("waris-mongo-full", {
    ...mongodbRestore(config.settings, dataSites.length),
    kind: "mongodb",
    dataset: "waris-mongo",
    site: sites[roles.primarySite]!,
    schedule: mongo.backupSchedule,
    retentionDays: mongo.backupRetentionDays,
    continuousArchiveMinutes: mongo.pitrMinutes,
    mongoStorage: {
      name: backupSite.spec.name,
      bucket: mongo.backupBucket,
      endpointUrl: bucket.endpoint,
      region: backupSite.objectStoreAccess?.signingRegion ?? "us-east-1",
      credentialsSecret: "waris-mongo-backup",
      encryption: backupSite.objectStoreEncryption,
    },
    location: `${bucket.url} on ${bucket.siteName}`,
  });
  schedules.push(schedule);
  mongodb = new MongoReplicaSet(
    "waris-mongo",
    {
      // Its namespace predates the default (the component's name); kept, so nothing is replaced.
      namespace: PROGRAM_NAMESPACES.mongodb,
      ...mongo,
      installOperator: true,
      sites: dataSites,
      roles,
      backup: schedule.perconaBackupSpec,
      backupSite,
      backupCredentialsSecret: "waris-mongo-backup",
      replicationLagTargetSeconds: config.recovery.replicationLagTargetSeconds,
      restoreThroughputMiBPerSecond: config.recovery.restoreThroughputMiBPerSecond,
      keys: keyStore,
    },
    { dependsOn: [bucket] },
  );
}

let redis: RedisPrimary | undefined;
if (config.redis) {
  const { password, backupBucket, backupRetentionDays, ...sizes } = config.redis;
  const backupSite = sites[config.backupSite!]!;
  const bucket = makeBucket("redis-backups");
  redis = new RedisPrimary(
    PROGRAM_COMPONENTS.redis,
    {
      ...sizes,
      namespace: PROGRAM_NAMESPACES.redis,
      sites: dataSites,
      roles,
      password,
      backupSite,
      backupBucket,
      backupRetentionDays,
      replicationLagTargetSeconds: config.recovery.replicationLagTargetSeconds,
      restoreThroughputMiBPerSecond: config.recovery.restoreThroughputMiBPerSecond,
      keys: keyStore,
    },
    { dependsOn: [bucket] },
  );
}

let milvus: MilvusPrimary | undefined;
if (config.milvus) {
  const { backupBucket, backupSchedule, backupRetentionDays, ...rest } = config.milvus;
  const backupSite = sites[config.backupSite!]!;
  const bucket = makeBucket("milvus-backups");
  milvus = new MilvusPrimary(
    "waris-milvus",
    {
      ...rest,
      namespace: PROGRAM_NAMESPACES.milvus,
      installOperator: true,
      sites: dataSites,
      roles,
      backupSite,
      backupBucket,
      backupSchedule,
      backupRetentionDays,
      restoreThroughputMiBPerSecond: config.recovery.restoreThroughputMiBPerSecond,
      keys: keyStore,
    },
    { dependsOn: [bucket] },
  );
}

if (config.backups.modelArtifactsBucket) {
  const artifacts = makeBucket("model-artifacts");
  schedules.push(
    new BackupSchedule("model-artifacts", {
      ...modelArtifactsRestore(config.settings),
      kind: "model-artifacts",
      dataset: "model-artifacts",
      keepVersions: config.backups.modelArtifactVersions,
      location: `${artifacts.url} on ${artifacts.siteName} (MLflow artifact store)`,
    }),
  );
}

let inference: InferenceCluster | undefined;
if (config.inference) {
  const { pools, apiKey, ...inf } = config.inference;
  const servingSites = Object.keys(pools);
  const store = config.backupSite;
  inference = new InferenceCluster(PROGRAM_COMPONENTS.inference, {
    // Its namespace predates the default (the component's name); kept, so nothing is replaced.
    namespace: PROGRAM_NAMESPACES.inference,
    ...inf,
    sites: servingSites.map((s) => sites[s]!),
    pools: servingSites.map((s) => gpuPools[pools[s]!]!),
    activeSite: roles.servingSite,
    roles,
    apiKey,
    modelStore: store ? sites[store] : undefined,
    keys: keyStore,
  });
}

// The names users reach follow the serving site (the seed's "switch DNS"), through ExternalDNS.
const dns =
  config.dns &&
  new ServiceDns("waris-dns", {
    sites: dataSites,
    roles,
    server: { ...config.dns.server, tsigSecret: config.dns.tsigSecret },
    records: config.dns.records,
    ...(config.dns.ttlSeconds !== undefined ? { ttlSeconds: config.dns.ttlSeconds } : {}),
  });

const reports = [...schedules.map((s) => s.report), ...(milvus ? [milvus.report] : []), ...(redis ? [redis.report] : [])];

// Monitoring on every data site with a cluster: the platform owns each cluster's monitoring stack.
const monitors: Record<string, Monitoring> = {};
if (config.monitoring) {
  const { receivers, secrets, ...sizes } = config.monitoring;
  const namespaces: Record<string, string | undefined> = { postgresql: postgres?.namespace, mongodb: mongodb?.namespace, redis: redis?.namespace, milvus: milvus?.namespace };
  const datasets: MonitoredDataset[] = reports.map((r) => ({
    dataset: r.dataset,
    kind: r.kind,
    ...(namespaces[r.kind] ? { namespace: namespaces[r.kind] } : {}),
    ...(r.schedule ? { backupGapMinutes: longestGapMinutes([parseCron(r.schedule)]) } : {}),
  }));
  const probes = monitoringProbes(config.settings);
  for (const site of dataSites.filter((s) => s.kubernetesProvider !== undefined)) {
    const name = site.spec.name;
    monitors[name] = new Monitoring(`${name}-monitoring`, {
      ...sizes,
      site,
      installStack: true,
      probes,
      datasets,
      gpus: Object.values(gpuPools).some((p) => p.site.name === name),
      inference: config.inference !== undefined && config.inference.pools[name] !== undefined,
      receivers,
      secrets,
      keys: keyStore,
    });
  }
}

// Network zones (components/network-zones.ts): every namespace the program made on a Kubernetes site
// refuses ingress but for the zone table's flows; the cross-site flows admit the other site's VPN ranges.
const zoneTables: Record<string, NamespaceZone[]> = {};
for (const site of dataSites.filter((s) => s.kubernetesProvider !== undefined)) {
  const siteName = site.spec.name;
  const gpuOperatorHere = Object.entries(config.gpuPools).some(([, p]) => p.site === siteName && p.installOperator !== false);
  const table = warisZoneTable({
    monitoringNamespace: MONITORING_NAMESPACE,
    ...(monitors[siteName] ? { monitoring: { namespace: MONITORING_NAMESPACE } } : {}),
    twoSites: dataSites.length === 2,
    ...(postgres ? { postgres: { namespace: postgres.namespace, operatorNamespace: CNPG_OPERATOR_NAMESPACE, installsOperators: true } } : {}),
    ...(mongodb ? { mongodb: { namespace: mongodb.namespace } } : {}),
    ...(redis ? { redis: { namespace: redis.namespace } } : {}),
    ...(milvus ? { milvus: { namespace: milvus.namespace, operatorNamespace: "milvus-operator" } } : {}),
    ...(config.inference ? { appNamespace: config.inference.appNamespace } : {}),
    ...(config.inference?.kedaNamespace ? { kedaNamespace: config.inference.kedaNamespace } : {}),
    ...(inference && config.inference!.pools[siteName] ? { inference: { namespace: inference.namespace } } : {}),
    ...(dns ? { dns: { namespace: dns.namespace } } : {}),
    ...(gpuOperatorHere ? { gpuOperator: { namespace: "gpu-operator" } } : {}),
    ...(keyStore instanceof VaultKeys ? { keys: { namespace: keyStore.namespace, ...(vault!.installOperator ? { externalSecretsNamespace: EXTERNAL_SECRETS_CHART.namespace } : {}) } } : {}),
  });
  zoneTables[siteName] = table;
  const peer = dataSites.find((s) => s !== site);
  new NetworkZones(`waris-zones-${siteName}`, { site, ...(peer ? { peer } : {}), namespaces: table }, {
    dependsOn: [postgres, mongodb, redis, milvus, inference, dns, monitors[siteName], ...Object.values(gpuPools)].filter((c): c is NonNullable<typeof c> => c !== undefined),
  });
}

/** Each site's network zones: per namespace, its zone and the flows admitted into it (everything else is refused). */
export const networkZones = Object.fromEntries(
  Object.entries(zoneTables).map(([site, table]) => [site, table.map((n) => ({ namespace: n.namespace, zone: n.zone, flows: n.flows.map((f) => `${f.from.kind === "namespace" ? f.from.namespace : f.from.kind}${f.ports.length ? `:${f.ports.join(",")}` : ""}`) }))]),
);

/**
 * Where the keys come from (`pulumi-state` or `vault`); with Vault, the `vault kv put` commands that supply
 * what the pods read (run before the first `pulumi up`); and each backup writer's object-store user and
 * the policy limiting it to its bucket, with the MinIO commands that create them.
 */
export const keys = {
  store: keyStore.kind,
  vaultKvPut: vault ? vaultSupplyCommands(config.settings, vault.kvPath ?? VAULT_DEFAULTS.kvPath) : [],
  objectStoreWriters: objectStoreWriterSetup(config.settings, config.stack),
};

/** Which site holds the primary copies now (see `npm run runbook` to move it). */
export const activeSite = roles.primarySite;

/** The failover situation and each data site's role in it (components/failover.ts). */
export const failover = {
  procedure: roles.situation.procedure ? `${roles.situation.procedure.procedure} ${roles.situation.procedure.phase}` : "none",
  servingSite: roles.servingSite,
  dnsNames: dns ? Object.keys(config.dns!.records) : [],
  roles: Object.fromEntries(Object.values(roles.bySite).map((r) => [r.site, { role: r.role, follows: r.follows, generation: r.generation, condition: r.condition, ...(r.frozen ? { unchanged: true } : {}) }])),
};

/** Every site with its current role. */
export const siteRoles = config.sites.map((s) => ({ name: s.name, kind: s.kind, region: s.region, country: s.country, role: s.role }));

/** The recovery targets the stack is held to (minutes, seconds for the lag). */
export const recoveryTargets = config.recovery;

/** S3 endpoints of the sites' own object stores (G-Cloud, on-prem MinIO). */
export const objectStoreEndpoints = Object.fromEntries(
  Object.values(sites)
    .filter((s) => s.objectStoreEndpoint !== undefined)
    .map((s) => [s.spec.name, s.objectStoreEndpoint]),
);

/** Each GPU pool's scheduling contract: what a GPU workload selects, tolerates and runs with. */
export const gpuPoolContracts = Object.fromEntries(
  Object.entries(gpuPools).map(([name, pool]) => [
    name,
    {
      site: pool.site.name,
      gpuModel: pool.gpuModel,
      gpusPerNode: pool.gpusPerNode,
      maxNodes: pool.maxNodes,
      nodeSelector: pool.nodeSelector,
      tolerations: pool.tolerations,
      runtimeClassName: pool.runtimeClassName,
    },
  ]),
);

/** PostgreSQL: the endpoint apps use, the cluster per site, and its recovery guarantees (minutes). */
export const postgresCluster = postgres && {
  endpoint: postgres.endpoint,
  appSecretName: postgres.appSecretName,
  clusterNames: postgres.clusterNames,
  activeSite: postgres.activeSite,
  objectStoreName: postgres.objectStoreName,
  rpoMinutes: postgres.rpoMinutes,
  rtoMinutes: postgres.rtoMinutes,
};

/**
 * Every dataset's recovery posture: RPO and RTO in minutes, retention, method, where the backups live, and
 * the alerts that fire when its RPO is at risk (`rpoAlert` first; components/monitoring-rules.ts).
 */
export const recovery = reports.map((r) => {
  const alerts = datasetRpoAlerts(r.kind);
  return { ...r, rpoAlert: alerts[0]!, rpoAlerts: alerts };
});

/** Each site's monitoring: its Prometheus and Alertmanager (in-cluster URLs) and who receives each severity. */
export const monitoring = Object.fromEntries(
  Object.entries(monitors).map(([site, m]) => [site, { prometheusUrl: m.prometheusUrl, alertmanagerUrl: m.alertmanagerUrl, receivers: m.receiversBySeverity, alerts: m.alertNames.length }]),
);

/** The LLM endpoint the applications use (bearer token required), the model, and where it runs. */
export const llm = inference && { endpoint: inference.endpoint, model: inference.model, activeSite: inference.activeSite, fit: inference.fit };

/** MongoDB: the host apps connect to on the active site, and its recovery guarantees (minutes). */
export const mongoReplicaSet = mongodb && { endpoint: mongodb.endpoint, usersSecretName: mongodb.usersSecretName, rpoMinutes: mongodb.rpoMinutes, rtoMinutes: mongodb.rtoMinutes };

/** Redis: the TLS host apps connect to, the site of its primary, and its recovery guarantees (minutes). */
export const redisPrimary = redis && { endpoint: redis.endpoint, passwordSecretName: redis.passwordSecretName, activeSite: redis.activeSite, rpoMinutes: redis.rpoMinutes, rtoMinutes: redis.rtoMinutes };

/** Milvus: the TLS gRPC endpoint (the same name on every site), its secrets, the site whose Milvus runs, and its recovery guarantees (minutes). */
export const milvusPrimary = milvus && { endpoint: milvus.endpoint, rootSecretName: milvus.rootSecretName, tlsSecretName: milvus.tlsSecretName, activeSite: milvus.activeSite, rpoMinutes: milvus.rpoMinutes, rtoMinutes: milvus.rtoMinutes };
