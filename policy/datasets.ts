/**
 * Datasets as the policies see them: each primary data store of the stack with what protects it
 * (standbys on other sites, a continuous archive, backup schedules) and what bounds its recovery,
 * read from the resources alone.
 */
import type { PolicyResource } from "@pulumi/policy";
import { DATASET_LABEL, BACKUP_OF_LABEL, DATASET_SIZE_ANNOTATION, DATASET_SIZE_TAG, DATASET_TAG, REPLICA_OF_TAG, RETENTION_DAYS_ANNOTATION, STORE_LABEL } from "../components/labels";
import { CronSchedule, DIGITALOCEAN_BACKUP_DAYS, REDIS_LAG_METRIC, daysCoveredByCount, RDS_LOG_UPLOAD_MINUTES, parseCron, postgresDurationToMinutes, quantityToGiB, retentionToDays } from "../components/recovery";
import { at, list, siteLabelOf, str } from "./placement";
import { SkippedCheck, firstUnknown, unknownIn } from "./unknowns";

/** Kinds of dataset, which decide the retention they need. */
export type DatasetKind = "postgresql" | "mongodb" | "milvus" | "redis" | "model-artifacts";

/** A backup schedule found for a dataset, or why it could not be read. */
export interface FoundSchedule {
  /** Resource that carries it. */
  readonly source: string;
  /** The schedule, when it parsed. */
  readonly schedule?: CronSchedule;
  /** Why it did not parse. */
  readonly error?: string;
}

/** One dataset of the stack. */
export interface Dataset {
  /** Dataset id: the `waris.io/dataset` label, else the resource name. */
  readonly id: string;
  /** Kind. */
  readonly kind: DatasetKind;
  /** The primary store. */
  readonly primary: PolicyResource;
  /** Site of the primary (its label). */
  readonly site?: string;
  /** Standby/replica stores on other sites. */
  readonly standbys: PolicyResource[];
  /** Continuous archive interval, minutes, when there is one. */
  readonly continuousArchiveMinutes?: number;
  /** Backup schedules. */
  readonly schedules: FoundSchedule[];
  /** Size, GiB, when the resources tell. */
  readonly sizeGiB?: number;
  /** Backup retention, days, when the resources tell. */
  readonly retentionDays?: number;
  /** Versions kept (model artifacts). */
  readonly retentionVersions?: number;
  /** Why the store takes no backups at all, when a setting says so (e.g. RDS `backupRetentionPeriod: 0`). */
  readonly backupsDisabled?: string;
  /** Problems reading the protection (malformed settings). */
  readonly problems: string[];
}

const CNPG_CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster";
const CNPG_SCHEDULED_BACKUP = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup";
const BARMAN_OBJECT_STORE = "kubernetes:barmancloud.cnpg.io/v1:ObjectStore";
const PSMDB = "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB";
const MILVUS = "kubernetes:milvus.io/v1beta1:Milvus";
const CRONJOB = "kubernetes:batch/v1:CronJob";
const STATEFULSET = "kubernetes:apps/v1:StatefulSet";
const BUCKET = "aws:s3/bucket:Bucket";
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";
const RDS_INSTANCE = "aws:rds/instance:Instance";
/** Azure Database for PostgreSQL flexible server. */
export const AZURE_POSTGRES_SERVER = "azure-native:dbforpostgresql:Server";
/** DigitalOcean managed database cluster and its read replica. */
export const DO_DATABASE_CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster";
const DO_DATABASE_REPLICA = "digitalocean:index/databaseReplica:DatabaseReplica";
/** The Barman Cloud plugin's name in a CloudNativePG cluster's `spec.plugins`. */
export const BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io";
/** CloudNativePG's default `archive_timeout`. */
const CNPG_DEFAULT_ARCHIVE_TIMEOUT = "5min";
/** Percona's default PITR oplog upload interval, minutes. */
const PSMDB_DEFAULT_OPLOG_SPAN_MINUTES = 10;

const name = (r: PolicyResource): string => str(r.props, "metadata", "name") ?? r.name;
const label = (r: PolicyResource, key: string): string | undefined => {
  const v = at(r.props, "metadata", "labels", key);
  return typeof v === "string" ? v : undefined;
};
const annotation = (r: PolicyResource, key: string): string | undefined => {
  const v = at(r.props, "metadata", "annotations", key);
  return typeof v === "string" ? v : undefined;
};
const datasetId = (r: PolicyResource): string => label(r, DATASET_LABEL) ?? name(r);

function schedule(source: string, expression: string | undefined, withSeconds: boolean): FoundSchedule {
  if (expression === undefined) return { source, error: "has no schedule" };
  try {
    return { source, schedule: parseCron(expression, withSeconds) };
  } catch (e) {
    return { source, error: (e as Error).message };
  }
}

function sizeOf(r: PolicyResource, ...path: string[]): number | undefined {
  const declared = annotation(r, DATASET_SIZE_ANNOTATION);
  const quantity = declared !== undefined ? `${declared}Gi` : str(r.props, ...path);
  if (quantity === undefined) return undefined;
  try {
    return quantityToGiB(quantity);
  } catch {
    return undefined;
  }
}

/** Backup CronJobs (label `waris.io/backup-of: <dataset>`), by dataset id. */
function cronJobBackups(resources: readonly PolicyResource[]): Map<string, PolicyResource[]> {
  return groupBy(
    resources.filter((r) => r.type === CRONJOB && label(r, BACKUP_OF_LABEL) !== undefined),
    (r) => label(r, BACKUP_OF_LABEL)!,
  );
}

/** Groups items by a key, in one pass. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function postgresDatasets(resources: readonly PolicyResource[], cronJobs: Map<string, PolicyResource[]>): Dataset[] {
  const clusters = resources.filter((r) => r.type === CNPG_CLUSTER);
  const stores = new Map(resources.filter((r) => r.type === BARMAN_OBJECT_STORE).map((r) => [`${siteLabelOf(r.props)}/${name(r)}`, r]));
  const scheduled = groupBy(
    resources.filter((r) => r.type === CNPG_SCHEDULED_BACKUP),
    (r) => `${siteLabelOf(r.props)}/${str(r.props, "spec", "cluster", "name")}`,
  );
  const isPrimary = (r: PolicyResource): boolean => {
    const replica = at(r.props, "spec", "replica");
    if (replica === undefined) return true;
    const primary = str(replica, "primary");
    if (primary !== undefined) return primary === str(replica, "self");
    return at(replica, "enabled") !== true;
  };
  const replicasByDataset = groupBy(
    clusters.filter((c) => !isPrimary(c)),
    (c) => datasetId(c),
  );
  return clusters.filter(isPrimary).map((primary) => {
    const id = datasetId(primary);
    const site = siteLabelOf(primary.props);
    const problems: string[] = [];
    const standbys = (replicasByDataset.get(id) ?? []).filter((c) => siteLabelOf(c.props) !== site);
    const archiver = list(primary.props, "spec", "plugins").find((p) => str(p, "name") === BARMAN_PLUGIN && at(p, "isWALArchiver") === true);
    let continuousArchiveMinutes: number | undefined;
    let retentionDays: number | undefined;
    if (archiver) {
      const timeout = str(primary.props, "spec", "postgresql", "parameters", "archive_timeout") ?? CNPG_DEFAULT_ARCHIVE_TIMEOUT;
      try {
        continuousArchiveMinutes = postgresDurationToMinutes(timeout);
      } catch (e) {
        problems.push(`archive_timeout: ${(e as Error).message}`);
      }
      const storeName = str(archiver, "parameters", "barmanObjectName");
      const store = storeName ? stores.get(`${site}/${storeName}`) : undefined;
      const retention = store ? str(store.props, "spec", "retentionPolicy") : undefined;
      if (retention !== undefined) {
        try {
          retentionDays = retentionToDays(retention);
        } catch (e) {
          problems.push(`ObjectStore ${storeName} retentionPolicy: ${(e as Error).message}`);
        }
      }
    }
    const schedules = [
      ...(scheduled.get(`${site}/${name(primary)}`) ?? []).map((r) => schedule(`ScheduledBackup ${name(r)}`, str(r.props, "spec", "schedule"), true)),
      ...(cronJobs.get(id) ?? []).map((r) => schedule(`CronJob ${name(r)}`, str(r.props, "spec", "schedule"), false)),
    ];
    return { id, kind: "postgresql", primary, site, standbys, continuousArchiveMinutes, schedules, sizeGiB: sizeOf(primary, "spec", "storage", "size"), retentionDays, problems };
  });
}

function mongoDatasets(resources: readonly PolicyResource[], cronJobs: Map<string, PolicyResource[]>): Dataset[] {
  const all = resources.filter((r) => r.type === PSMDB);
  const unmanagedByDataset = groupBy(
    all.filter((r) => at(r.props, "spec", "unmanaged") === true),
    (r) => datasetId(r),
  );
  return all
    .filter((r) => at(r.props, "spec", "unmanaged") !== true)
    .map((primary) => {
      const id = datasetId(primary);
      const site = siteLabelOf(primary.props);
      const standbys = (unmanagedByDataset.get(id) ?? []).filter((r) => siteLabelOf(r.props) !== site);
      const pitr = at(primary.props, "spec", "backup", "pitr");
      const backupOn = at(primary.props, "spec", "backup", "enabled") !== false;
      const pitrMinutes = at(pitr, "oplogSpanMin");
      const tasks = list(primary.props, "spec", "backup", "tasks").filter((t) => at(t, "enabled") !== false);
      const schedules = [
        ...(backupOn ? tasks.map((t) => schedule(`backup task ${str(t, "name")}`, str(t, "schedule"), false)) : []),
        ...(cronJobs.get(id) ?? []).map((r) => schedule(`CronJob ${name(r)}`, str(r.props, "spec", "schedule"), false)),
      ];
      // Percona retention is a count of backups (the only type its CRD allows); the days it covers follow
      // from the task's schedule.
      const days = tasks
        .map((t) => {
          const count = Number(at(t, "retention", "count"));
          if (at(t, "retention", "type") !== "count" || !Number.isFinite(count)) return NaN;
          try {
            return daysCoveredByCount(count, parseCron(str(t, "schedule") ?? ""));
          } catch {
            return NaN;
          }
        })
        .filter((n) => Number.isFinite(n));
      return {
        id,
        kind: "mongodb" as const,
        primary,
        site,
        standbys,
        continuousArchiveMinutes: backupOn && at(pitr, "enabled") === true ? (typeof pitrMinutes === "number" ? pitrMinutes : PSMDB_DEFAULT_OPLOG_SPAN_MINUTES) : undefined,
        schedules,
        sizeGiB: sizeOf(primary, "spec", "replsets", "0", "volumeSpec", "persistentVolumeClaim", "resources", "requests", "storage"),
        retentionDays: days.length > 0 ? Math.max(...days) : undefined,
        problems: [],
      };
    });
}

const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";

/** Whether a copy of a CronJob-backed store runs and takes writes: Redis with no `replicaof`, any Milvus not scaled to zero. */
function servesWrites(r: PolicyResource): boolean {
  if (r.type === MILVUS) {
    const components = (at(r.props, "spec", "components") ?? {}) as Record<string, unknown>;
    const replicas = ["standalone", "proxy"].map((c) => at(components, c, "replicas")).filter((n) => n !== undefined);
    return replicas.length === 0 || replicas.some((n) => n !== 0);
  }
  return at(r.props, "spec", "replicas") !== 0 && !/^\s*replicaof\s/m.test(redisConf(r));
}

/** The configuration a Redis StatefulSet's `redis` container is given (`REDIS_CONF`, components/redis-primary.ts). */
function redisConf(r: PolicyResource): string {
  const redis = list(r.props, "spec", "template", "spec", "containers").find((c) => str(c, "name") === "redis");
  return str(list(redis, "env").find((e) => str(e, "name") === "REDIS_CONF"), "value") ?? "";
}

/**
 * The lag (seconds) above which the stack alerts on a Redis dataset's replicas, from the PrometheusRules
 * of its namespace (`redis_connected_slave_lag_seconds{…} > N`); undefined when none does. An unwatched
 * replica bounds nothing: its lag can grow unseen, so only an alerted one gives an RPO.
 */
function redisLagAlertSeconds(rules: readonly PolicyResource[], namespace: string | undefined): number | undefined {
  const thresholds = rules
    .filter((r) => str(r.props, "metadata", "namespace") === namespace)
    .flatMap((r) => list(r.props, "spec", "groups").flatMap((g) => list(g, "rules").map((rule) => str(rule, "expr") ?? "")))
    .flatMap((e) => [...e.matchAll(new RegExp(`${REDIS_LAG_METRIC}\\{[^}]*\\}\\)?\\s*>\\s*([0-9.]+)`, "g"))].map((m) => Number(m[1])))
    .filter((n) => Number.isFinite(n));
  return thresholds.length > 0 ? Math.max(...thresholds) : undefined;
}

/**
 * Stores kept by backup CronJobs: Milvus (its own CR) and Redis (a StatefulSet labelled `waris.io/store:
 * redis`), one dataset per `waris.io/dataset` whatever the number of sites. The primary is the copy that
 * takes writes; Redis copies on other sites that replicate from it (running, with `replicaof`) are its
 * standbys, and with a lag alert on them the RPO is that lag (rounded up to whole minutes), not the dumps'.
 */
function jobBackedDatasets(resources: readonly PolicyResource[], cronJobs: Map<string, PolicyResource[]>): Dataset[] {
  const rules = resources.filter((r) => r.type === PROMETHEUS_RULE);
  const stores = resources.filter((r) => r.type === MILVUS || (r.type === STATEFULSET && label(r, STORE_LABEL) === "redis"));
  return [...groupBy(stores, datasetId)].map(([id, copies]) => {
    const primary = copies.find(servesWrites) ?? copies[0]!;
    const site = siteLabelOf(primary.props);
    const isRedis = primary.type === STATEFULSET;
    const standbys = isRedis ? copies.filter((c) => c !== primary && siteLabelOf(c.props) !== site && at(c.props, "spec", "replicas") !== 0 && /^\s*replicaof\s/m.test(redisConf(c))) : [];
    const lagSeconds = standbys.length > 0 ? redisLagAlertSeconds(rules, str(primary.props, "metadata", "namespace")) : undefined;
    const jobs = cronJobs.get(id) ?? [];
    const days = jobs.map((j) => Number(annotation(j, RETENTION_DAYS_ANNOTATION))).filter((n) => Number.isFinite(n));
    return {
      id,
      kind: isRedis ? ("redis" as const) : ("milvus" as const),
      primary,
      site,
      standbys,
      ...(lagSeconds !== undefined ? { continuousArchiveMinutes: Math.max(1, Math.ceil(lagSeconds / 60)) } : {}),
      schedules: jobs.map((r) => schedule(`CronJob ${name(r)}`, str(r.props, "spec", "schedule"), false)),
      sizeGiB: sizeOf(primary),
      retentionDays: days.length > 0 ? Math.min(...days) : undefined,
      problems: [],
    };
  });
}

function modelArtifactDatasets(resources: readonly PolicyResource[]): Dataset[] {
  const lifecycles = new Map(resources.filter((r) => r.type === LIFECYCLE).map((l) => [str(l.props, "bucket"), l]));
  return resources
    .filter((r) => r.type === BUCKET && str(r.props, "tags", DATASET_TAG) === "model-artifacts")
    .map((bucket) => {
      const lifecycle = lifecycles.get(str(bucket.props, "bucket"));
      const newer = list(lifecycle?.props, "rules")
        .filter((rule) => str(rule, "status") === "Enabled")
        .map((rule) => at(rule, "noncurrentVersionExpiration", "newerNoncurrentVersions"))
        .map((n) => (typeof n === "number" ? n : Number(n)))
        .filter((n) => Number.isFinite(n));
      return {
        id: "model-artifacts",
        kind: "model-artifacts" as const,
        primary: bucket,
        site: str(bucket.props, "tags", "waris-site"),
        standbys: [],
        // Every version of an artifact is kept as it is written: nothing is lost between "backups".
        continuousArchiveMinutes: 0,
        schedules: [],
        sizeGiB: Number(str(bucket.props, "tags", DATASET_SIZE_TAG) ?? NaN) || undefined,
        retentionVersions: newer.length > 0 ? Math.min(...newer) + 1 : undefined,
        problems: [],
      };
    });
}

/** Amazon RDS PostgreSQL: automated backups give point-in-time recovery; read replicas are standbys. */
function rdsDatasets(resources: readonly PolicyResource[]): Dataset[] {
  const instances = resources.filter((r) => r.type === RDS_INSTANCE);
  const replicasOf = groupBy(
    instances.filter((r) => str(r.props, "replicateSourceDb") !== undefined),
    (r) => str(r.props, "replicateSourceDb")!,
  );
  return instances
    .filter((r) => str(r.props, "replicateSourceDb") === undefined)
    .map((primary) => {
      const retention = at(primary.props, "backupRetentionPeriod");
      const days = typeof retention === "number" ? retention : 0;
      const size = at(primary.props, "allocatedStorage");
      return {
        id: str(primary.props, "tags", DATASET_TAG) ?? str(primary.props, "identifier") ?? primary.name,
        kind: "postgresql" as const,
        primary,
        site: str(primary.props, "tags", "waris-site"),
        standbys: replicasOf.get(str(primary.props, "identifier") ?? "") ?? [],
        // Without automated backups there is no point-in-time recovery at all.
        continuousArchiveMinutes: days > 0 ? RDS_LOG_UPLOAD_MINUTES : undefined,
        schedules: [],
        sizeGiB: typeof size === "number" ? size : undefined,
        retentionDays: days > 0 ? days : undefined,
        // 0 is not a retention: "Setting the backup retention period to 0 disables automated backups"
        // (Amazon RDS User Guide, "Backup retention period"; RDS API CreateDBInstance, BackupRetentionPeriod).
        ...(retention === 0 ? { backupsDisabled: "backupRetentionPeriod is 0, which disables its automated backups (and with them point-in-time recovery)" } : {}),
        problems: [],
      };
    });
}

/** A DigitalOcean `key:value` string tag. */
const doTag = (r: PolicyResource, key: string): string | undefined =>
  list(r.props, "tags")
    .find((t): t is string => typeof t === "string" && t.startsWith(`${key}:`))
    ?.slice(key.length + 1);

/**
 * Azure flexible servers: automated backups give point-in-time recovery (logs every 5 minutes); read
 * replicas (`createMode: Replica`) are standbys, linked by their `waris-replica-of` tag.
 */
function azurePostgresDatasets(resources: readonly PolicyResource[]): Dataset[] {
  const servers = resources.filter((r) => r.type === AZURE_POSTGRES_SERVER);
  const replicasOf = groupBy(
    servers.filter((r) => str(r.props, "createMode") === "Replica"),
    (r) => str(r.props, "tags", REPLICA_OF_TAG) ?? "",
  );
  return servers
    .filter((r) => str(r.props, "createMode") !== "Replica")
    .map((primary) => {
      const retention = at(primary.props, "backup", "backupRetentionDays");
      const size = at(primary.props, "storage", "storageSizeGB");
      return {
        id: str(primary.props, "tags", DATASET_TAG) ?? str(primary.props, "serverName") ?? primary.name,
        kind: "postgresql" as const,
        primary,
        site: str(primary.props, "tags", "waris-site"),
        standbys: replicasOf.get(str(primary.props, "serverName") ?? primary.name) ?? [],
        // Azure always takes automated backups (7 days unless more are asked for).
        continuousArchiveMinutes: RDS_LOG_UPLOAD_MINUTES,
        schedules: [],
        sizeGiB: typeof size === "number" ? size : undefined,
        retentionDays: typeof retention === "number" ? retention : 7,
        problems: [],
      };
    });
}

/** DigitalOcean PostgreSQL clusters: daily backups with point-in-time recovery kept 7 days, replicas linked by tag. */
function digitaloceanPostgresDatasets(resources: readonly PolicyResource[]): Dataset[] {
  const replicasOf = groupBy(
    resources.filter((r) => r.type === DO_DATABASE_REPLICA),
    (r) => doTag(r, REPLICA_OF_TAG) ?? "",
  );
  return resources
    .filter((r) => r.type === DO_DATABASE_CLUSTER && str(r.props, "engine") === "pg")
    .map((primary) => {
      const mib = Number(str(primary.props, "storageSizeMib") ?? NaN);
      return {
        id: doTag(primary, DATASET_TAG) ?? str(primary.props, "name") ?? primary.name,
        kind: "postgresql" as const,
        primary,
        site: doTag(primary, "waris-site"),
        standbys: replicasOf.get(str(primary.props, "name") ?? primary.name) ?? [],
        continuousArchiveMinutes: RDS_LOG_UPLOAD_MINUTES,
        schedules: [],
        sizeGiB: Number.isFinite(mib) ? mib / 1024 : undefined,
        retentionDays: DIGITALOCEAN_BACKUP_DAYS,
        problems: [],
      };
    });
}

/** Types the datasets are read from. */
const DATASET_TYPES = new Set([CNPG_CLUSTER, CNPG_SCHEDULED_BACKUP, BARMAN_OBJECT_STORE, PSMDB, MILVUS, CRONJOB, STATEFULSET, BUCKET, LIFECYCLE, RDS_INSTANCE, AZURE_POSTGRES_SERVER, DO_DATABASE_CLUSTER, DO_DATABASE_REPLICA]);

/** Whether the recovery policies read datasets from resources of this type. */
export function isDatasetType(type: string): boolean {
  return DATASET_TYPES.has(type);
}

/**
 * The top-level fields the recovery checks read, for types whose other fields are usually unknown in a
 * first preview (an RDS instance's `parameterGroupName`, `kmsKeyId`, security groups and subnet group come
 * from other resources). Only an unknown among these skips the resource's recovery checks; every other type
 * is skipped on any unknown value. Keep in step with `rdsDatasets` and the recovery policies.
 */
const RECOVERY_FIELDS: Readonly<Record<string, readonly string[]>> = {
  [RDS_INSTANCE]: ["replicateSourceDb", "backupRetentionPeriod", "allocatedStorage", "tags", "identifier"],
};

/** The first unknown value among some top-level fields of a resource, or undefined. */
function unknownAmong(r: PolicyResource, fields: readonly string[]): string | undefined {
  for (const field of fields) {
    const unknown = firstUnknown(() => (r.props as Record<string, unknown>)[field]);
    if (unknown !== undefined) return unknown;
  }
  return undefined;
}

/** Whether the values the recovery checks read are known; when not, the skipped checks are recorded in `skipped`. */
function fullyKnown(r: PolicyResource, skipped?: SkippedCheck[]): boolean {
  const fields = RECOVERY_FIELDS[r.type];
  const unknown = fields ? unknownAmong(r, fields) : unknownIn(r);
  if (unknown !== undefined) skipped?.push({ urn: r.urn, message: `recovery checks of ${r.type} "${r.name}" skipped during preview: ${unknown}` });
  return unknown === undefined;
}

/**
 * Every dataset of the stack. A resource with a value unknown during preview is left out (recorded in
 * `skipped`), so only its dataset goes unchecked, not the whole stack.
 */
export function collectDatasets(all: readonly PolicyResource[], skipped?: SkippedCheck[]): Dataset[] {
  const resources = all.filter((r) => !DATASET_TYPES.has(r.type) || fullyKnown(r, skipped));
  const cronJobs = cronJobBackups(resources);
  return [
    ...postgresDatasets(resources, cronJobs),
    ...rdsDatasets(resources),
    ...azurePostgresDatasets(resources),
    ...digitaloceanPostgresDatasets(resources),
    ...mongoDatasets(resources, cronJobs),
    ...jobBackedDatasets(resources, cronJobs),
    ...modelArtifactDatasets(resources),
  ];
}
