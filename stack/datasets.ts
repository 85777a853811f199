/**
 * What the program builds for each dataset, derived from the settings as plain data: the arguments of
 * the buckets `index.ts` creates and the inputs of each dataset's restore estimate. `index.ts` builds
 * from these, and the stack configuration validates them with the components' own validators and
 * recovery arithmetic, before any resource is registered (one derivation, two users).
 */
import { backupScheduleRtoMinutes } from "../components/backup-schedule";
import { milvusDataSizeGiB, milvusRtoMinutes } from "../components/milvus-primary";
import type { ObjectStorageBucketArgs } from "../components/object-storage-bucket";
import { STANDBY_PROMOTION_MINUTES } from "../components/recovery";
import { redisRtoMinutes } from "../components/redis-primary";
import type { StackSettings } from "./config";

/** Days PostgreSQL backups are kept when `postgres.backupRetentionDays` is not set. */
export const DEFAULT_POSTGRES_RETENTION_DAYS = 30;
/** GiB of a PostgreSQL or MongoDB volume when `storageSizeGiB` is not set (the components' default). */
export const DEFAULT_DATABASE_STORAGE_GIB = 100;

/** The settings the derivations read; each datastore only when the stack has it. */
export type DatasetSettings = Pick<StackSettings, "backups" | "recovery"> & Partial<Pick<StackSettings, "postgres" | "mongodb" | "redis" | "milvus">>;

/** A bucket `index.ts` creates, as data. */
export interface BucketPlan {
  /** Component name, e.g. `postgres-backups`. */
  readonly name: string;
  /** The site whose store holds it: the backup site. */
  readonly siteName: string;
  /** Its arguments, without the site. */
  readonly args: Omit<ObjectStorageBucketArgs, "site">;
  /**
   * The stack setting (path without the project prefix) each argument comes from, e.g.
   * `{ bucket: ["redis", "backupBucket"] }`; a problem with an argument is reported under it.
   */
  readonly keys: Readonly<Record<string, readonly string[]>>;
}

/**
 * The backup and artifact buckets of the stack, in the order `index.ts` creates them.
 *
 * @param settings - validated settings.
 * @param backupSite - name of the site that keeps the backups.
 */
export function stackBuckets(settings: DatasetSettings, backupSite: string): BucketPlan[] {
  const lock = settings.backups.objectLockDays;
  const lockKey = ["backups", "objectLockDays"];
  const plans: BucketPlan[] = [];
  const pg = settings.postgres;
  if (pg) {
    plans.push({
      name: "postgres-backups",
      siteName: backupSite,
      args: { bucket: pg.backupBucket, dataset: "waris-postgres", retentionDays: pg.backupRetentionDays ?? DEFAULT_POSTGRES_RETENTION_DAYS, objectLockDays: lock },
      keys: { bucket: ["postgres", "backupBucket"], retentionDays: ["postgres", "backupRetentionDays"], objectLockDays: lockKey },
    });
  }
  const mongo = settings.mongodb;
  if (mongo) {
    plans.push({
      name: "mongodb-backups",
      siteName: backupSite,
      args: { bucket: mongo.backupBucket, dataset: "waris-mongo", retentionDays: mongo.backupRetentionDays, objectLockDays: lock },
      keys: { bucket: ["mongodb", "backupBucket"], retentionDays: ["mongodb", "backupRetentionDays"], objectLockDays: lockKey },
    });
  }
  const redis = settings.redis;
  if (redis) {
    plans.push({
      name: "redis-backups",
      siteName: backupSite,
      // The dump job never prunes: the bucket expires dumps, and a lock keeps the newest safe.
      args: { bucket: redis.backupBucket, dataset: "waris-redis", retentionDays: redis.backupRetentionDays, expireObjectsAfterDays: redis.backupRetentionDays, objectLockDays: lock },
      keys: { bucket: ["redis", "backupBucket"], retentionDays: ["redis", "backupRetentionDays"], expireObjectsAfterDays: ["redis", "backupRetentionDays"], objectLockDays: lockKey },
    });
  }
  const milvus = settings.milvus;
  if (milvus) {
    // The job deletes thinned and expired backups itself. Deleted versions (and the lock on new ones) last
    // only as long as every backup is kept anyway: longer, and hourly backups would pile up as versions.
    const everyBackupDays = Math.ceil(milvus.keepEveryBackupForHours / 24);
    plans.push({
      name: "milvus-backups",
      siteName: backupSite,
      args: { bucket: milvus.backupBucket, dataset: "waris-milvus", retentionDays: everyBackupDays, objectLockDays: Math.min(lock, everyBackupDays) },
      keys: { bucket: ["milvus", "backupBucket"], retentionDays: ["milvus", "keepEveryBackupForHours"], objectLockDays: lockKey },
    });
  }
  if (settings.backups.modelArtifactsBucket) {
    plans.push({
      name: "model-artifacts",
      siteName: backupSite,
      args: {
        bucket: settings.backups.modelArtifactsBucket,
        dataset: "model-artifacts",
        dataClass: "internal",
        keepVersions: settings.backups.modelArtifactVersions,
        datasetSizeGiB: settings.backups.modelArtifactsSizeGiB,
      },
      keys: { bucket: ["backups", "modelArtifactsBucket"], keepVersions: ["backups", "modelArtifactVersions"], datasetSizeGiB: ["backups", "modelArtifactsSizeGiB"] },
    });
  }
  return plans;
}

/** What a dataset's restore estimate depends on (the RTO inputs of its `BackupSchedule`). */
export interface RestoreInputs {
  /** Minutes to promote the standby on another site, when there is one. */
  readonly standbyPromotionMinutes?: number;
  /** GiB to restore from object storage, when known. */
  readonly datasetSizeGiB?: number;
  /** Restore throughput, MiB/s (the stack's `recovery.restoreThroughputMiBPerSecond`). */
  readonly restoreThroughputMiBPerSecond: number;
}

/** The restore inputs of a database with a standby when the stack has two data sites. */
function databaseRestore(settings: DatasetSettings, dataSiteCount: number, storageSizeGiB: number | undefined): RestoreInputs {
  return {
    standbyPromotionMinutes: dataSiteCount > 1 ? STANDBY_PROMOTION_MINUTES : undefined,
    datasetSizeGiB: storageSizeGiB ?? DEFAULT_DATABASE_STORAGE_GIB,
    restoreThroughputMiBPerSecond: settings.recovery.restoreThroughputMiBPerSecond,
  };
}

/** Restore inputs of PostgreSQL's full-backup schedule. */
export function postgresRestore(settings: DatasetSettings, dataSiteCount: number): RestoreInputs {
  return databaseRestore(settings, dataSiteCount, settings.postgres?.storageSizeGiB);
}

/** Restore inputs of MongoDB's backup schedule. */
export function mongodbRestore(settings: DatasetSettings, dataSiteCount: number): RestoreInputs {
  return databaseRestore(settings, dataSiteCount, settings.mongodb?.storageSizeGiB);
}

/** Restore inputs of the model artifacts (no standby: the versioned bucket is restored). */
export function modelArtifactsRestore(settings: DatasetSettings): RestoreInputs {
  return { datasetSizeGiB: settings.backups.modelArtifactsSizeGiB, restoreThroughputMiBPerSecond: settings.recovery.restoreThroughputMiBPerSecond };
}

/** A dataset's estimated RTO as the program computes it, and the settings it comes from. */
export interface DatasetRto {
  /** Dataset id, as in the recovery table. */
  readonly dataset: string;
  /** Estimated RTO, minutes; `undefined` when it cannot be estimated (no standby, no size). */
  readonly rtoMinutes: number | undefined;
  /** What it is: e.g. `standby promotion` or `restore of 200 GiB at 100 MiB/s`. */
  readonly how: string;
}

/**
 * Every dataset's estimated RTO, computed with the components' own functions from the same inputs the
 * program gives them (the numbers of the recovery table).
 *
 * @param settings - validated settings.
 * @param dataSiteCount - number of data sites (a standby exists when there are two).
 */
export function datasetRtos(settings: DatasetSettings, dataSiteCount: number): DatasetRto[] {
  const throughput = settings.recovery.restoreThroughputMiBPerSecond;
  const restore = (gib: number | undefined, key: string): string => `restore of ${gib ?? "?"} GiB (${key}) at ${throughput} MiB/s`;
  const scheduled = (dataset: string, inputs: RestoreInputs, sizeKey: string): DatasetRto => ({
    dataset,
    rtoMinutes: backupScheduleRtoMinutes(inputs),
    how: inputs.standbyPromotionMinutes !== undefined ? "promotion of the standby on the other site" : restore(inputs.datasetSizeGiB, sizeKey),
  });
  const rtos: DatasetRto[] = [];
  if (settings.postgres) rtos.push(scheduled("waris-postgres", postgresRestore(settings, dataSiteCount), "postgres.storageSizeGiB"));
  if (settings.mongodb) rtos.push(scheduled("waris-mongo", mongodbRestore(settings, dataSiteCount), "mongodb.storageSizeGiB"));
  if (settings.backups.modelArtifactsBucket) rtos.push(scheduled("model-artifacts", modelArtifactsRestore(settings), "backups.modelArtifactsSizeGiB"));
  if (settings.milvus) {
    const args = { dataSizeGiB: settings.milvus.dataSizeGiB, restoreThroughputMiBPerSecond: throughput };
    rtos.push({ dataset: "waris-milvus", rtoMinutes: milvusRtoMinutes(args), how: restore(milvusDataSizeGiB(args), "milvus.dataSizeGiB") });
  }
  if (settings.redis) {
    rtos.push({
      dataset: "waris-redis",
      rtoMinutes: redisRtoMinutes({ ...settings.redis, restoreThroughputMiBPerSecond: throughput }, dataSiteCount),
      how: dataSiteCount > 1 ? "promotion of the live replica on the other site" : `restore of its dump (the size of redis.memoryGiB) at ${throughput} MiB/s`,
    });
  }
  return rtos;
}
