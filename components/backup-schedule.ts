import * as pulumi from "@pulumi/pulumi";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as batchv1 from "@pulumi/kubernetes/batch/v1";
import type * as k8sInput from "@pulumi/kubernetes/types/input";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { BACKUP_OF_LABEL, DATASET_LABEL, DataClass, RETENTION_DAYS_ANNOTATION, isDns1123Subdomain, placementLabels } from "./labels";
import { POD_DEFAULTS } from "./pod-defaults";
import {
  CronSchedule,
  DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND,
  countCoveringDays,
  estimatedRtoMinutes,
  longestGapMinutes,
  parseCron,
  worstCaseRpoMinutes,
} from "./recovery";
import { Site } from "./site";
import { DEFAULT_STORE_ENCRYPTION, StoreEncryptionSpec, perconaServerSideEncryption } from "./store-encryption";

/** Kinds of dataset a schedule can protect. */
export const BACKUP_DATASET_KINDS = ["postgresql", "mongodb", "milvus", "model-artifacts"] as const;

/** A kind of dataset; see {@link BACKUP_DATASET_KINDS}. */
export type BackupDatasetKind = (typeof BACKUP_DATASET_KINDS)[number];

/** Pinned milvus-backup image (the Milvus project's backup tool). */
export const MILVUS_BACKUP_IMAGE = "milvusdb/milvus-backup:v0.5.7";

/** Name of the Barman Cloud plugin in a CloudNativePG cluster's `spec.plugins` (and of a plugin-method backup). */
export const BARMAN_CLOUD_PLUGIN = "barman-cloud.cloudnative-pg.io";

/** Arguments of {@link BackupSchedule}. */
export interface BackupScheduleArgs {
  /** Kind of dataset; decides the method. */
  readonly kind: BackupDatasetKind;
  /** Dataset id (the `waris.io/dataset` label of its store). */
  readonly dataset: string;
  /** Site where the backup job runs (the active site of the dataset); unused for model artifacts. */
  readonly site?: Site;
  /** Namespace of the dataset's store. */
  readonly namespace?: string;
  /**
   * When full backups run: a 5-field cron (minute hour day-of-month month day-of-week), UTC. Model
   * artifacts have none (every version is kept as it is written).
   */
  readonly schedule?: string;
  /** Days backups are kept (PostgreSQL, MongoDB, Milvus). */
  readonly retentionDays?: number;
  /**
   * Milvus: hours during which every backup is kept. Older backups are thinned to the first of each UTC
   * day until `retentionDays`, so hourly backups (the RPO) cost dozens of copies, not hundreds. Default:
   * every backup is kept for `retentionDays`.
   */
  readonly keepEveryBackupForHours?: number;
  /** Versions kept (model artifacts). */
  readonly keepVersions?: number;
  /**
   * Minutes before a change reaches the continuous archive: PostgreSQL `archive_timeout`, MongoDB PITR
   * oplog span. Absent when nothing archives continuously (Milvus).
   */
  readonly continuousArchiveMinutes?: number;
  /** Minutes to promote a standby on another site, when the dataset has one. */
  readonly standbyPromotionMinutes?: number;
  /** Size of the dataset, GiB, for the restore-time estimate. */
  readonly datasetSizeGiB?: number;
  /** Restore throughput, MiB/s. Default 100. */
  readonly restoreThroughputMiBPerSecond?: number;
  /** Where the backups live, for the recovery report, e.g. `s3://waris-prod-postgres/ on gcloud`. */
  readonly location: string;
  /** PostgreSQL: the CloudNativePG cluster to back up. */
  readonly postgresCluster?: string;
  /**
   * PostgreSQL: the schedule exists but takes no backups (`ScheduledBackup.spec.suspend`). Every data site
   * keeps its own schedule, suspended where the cluster is not primary, so that moving the primary role
   * changes a field on each site instead of moving a resource between clusters (which would need a
   * delete on a site that may be unreachable). Milvus: the CronJob's `spec.suspend`, for the same reason.
   * Default false.
   */
  readonly suspend?: boolean;
  /**
   * Milvus: while a restore runs on the site, the restore Job resumes the CronJob itself (it patches
   * `spec.suspend` to false once `milvus-backup restore` has finished), so Pulumi sets `suspend` only when
   * it creates the CronJob and then ignores the field (`ignoreChanges: ["spec.suspend"]`). Default false.
   */
  readonly suspendOwnedByRestore?: boolean;
  /** Milvus: the Secret holding milvus-backup's `backup.yaml` (Milvus address, bucket, credentials). */
  readonly milvusBackupConfigSecret?: string;
  /** MongoDB: the S3 storage (Percona `spec.backup.storages` entry) backups go to. */
  readonly mongoStorage?: MongoBackupStorage;
  /** Class of the data. Default `confidential`. */
  readonly dataClass?: DataClass;
}

/** An S3 storage of the Percona operator's backups. */
export interface MongoBackupStorage {
  /** Storage name in the Percona CR. */
  readonly name: string;
  /** Bucket. */
  readonly bucket: string;
  /** HTTPS endpoint. */
  readonly endpointUrl: string;
  /** Signing region. */
  readonly region: string;
  /** Secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. */
  readonly credentialsSecret: string;
  /** How the store encrypts at rest (its site's `objectStoreEncryption`). Default `sse-s3`. */
  readonly encryption?: StoreEncryptionSpec;
}

/** A dataset's recovery posture, as the stack's `recovery` output lists it. */
export interface RecoveryReport {
  /** Dataset id. */
  readonly dataset: string;
  /** Kind (`redis` dumps itself; see `RedisPrimary`). */
  readonly kind: BackupDatasetKind | "redis";
  /** Worst-case RPO, minutes (null when unbounded). */
  readonly rpoMinutes: number | null;
  /** Estimated RTO, minutes (null when it cannot be estimated). */
  readonly rtoMinutes: number | null;
  /** Retention, e.g. `30 days` or `5 versions`. */
  readonly retention: string;
  /** How: e.g. `weekly full (0 2 * * 0) + continuous WAL archive (5 min)`. */
  readonly method: string;
  /** The 5-field cron (UTC) of the full backups or dumps, when they run on a schedule. */
  readonly schedule?: string;
  /** Where the backups live. */
  readonly location: string;
}

const whole = (n: unknown, min: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= min;

/** What {@link validateBackupScheduleArgs} finds. */
export interface BackupScheduleValidation {
  /** Every problem, empty when the arguments are valid. */
  readonly problems: ArgumentProblem[];
  /** The parsed schedule, when it is valid. */
  readonly cron?: CronSchedule;
}

/** Every problem with a schedule's arguments (pure), with the cron parsed when it is valid. */
export function validateBackupScheduleArgs(args: Omit<BackupScheduleArgs, "site"> & { readonly hasSite?: boolean }): BackupScheduleValidation {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  let cron: CronSchedule | undefined;
  if (!(BACKUP_DATASET_KINDS as readonly string[]).includes(args.kind)) add("kind", `is ${show(args.kind)}; allowed: ${BACKUP_DATASET_KINDS.join(", ")}`);
  if (args.kind === "model-artifacts") {
    if (!whole(args.keepVersions, 1)) add("keepVersions", `is ${show(args.keepVersions)}; model artifacts keep a whole number of versions, at least 1`);
    if (args.schedule !== undefined) add("schedule", "is set, but model artifacts are versioned as they are written; remove it");
    return { problems };
  }
  if (args.schedule === undefined) add("schedule", `is required for the ${args.kind} dataset "${args.dataset}"`);
  else {
    try {
      cron = parseCron(args.schedule);
    } catch (e) {
      add("schedule", `of dataset "${args.dataset}": ${(e as Error).message}`);
    }
  }
  if (!whole(args.retentionDays, 1)) add("retentionDays", `is ${show(args.retentionDays)} for dataset "${args.dataset}"; must be a whole number of days, at least 1`);
  if (args.keepVersions !== undefined) add("keepVersions", `applies to model artifacts only; ${args.kind} backups are kept by days`);
  if (!args.hasSite) add("site", `is required: the ${args.kind} backup runs on a Kubernetes site`);
  if (args.kind === "postgresql" && !args.postgresCluster) add("postgresCluster", "is required for a PostgreSQL schedule");
  if (args.kind === "milvus" && !args.milvusBackupConfigSecret) add("milvusBackupConfigSecret", "is required for a Milvus schedule");
  if (args.keepEveryBackupForHours !== undefined) {
    if (args.kind !== "milvus") add("keepEveryBackupForHours", `applies to Milvus only; ${args.kind} backups are pruned by their own tool`);
    else if (!whole(args.keepEveryBackupForHours, 1)) add("keepEveryBackupForHours", `is ${show(args.keepEveryBackupForHours)}; must be a whole number of hours, at least 1`);
    else if (whole(args.retentionDays, 1) && args.keepEveryBackupForHours > args.retentionDays! * 24) {
      add("keepEveryBackupForHours", `is ${args.keepEveryBackupForHours} h, beyond retentionDays ${args.retentionDays} (${args.retentionDays! * 24} h); backups are deleted after retentionDays anyway`);
    }
  }
  if (args.kind === "mongodb" && !args.mongoStorage) add("mongoStorage", "is required for a MongoDB schedule");
  if (args.continuousArchiveMinutes !== undefined && !(args.continuousArchiveMinutes > 0)) add("continuousArchiveMinutes", `is ${show(args.continuousArchiveMinutes)}; must be positive`);
  return { problems, cron };
}

/**
 * The estimated RTO, minutes, of a dataset protected by a schedule (pure): the standby's promotion time
 * when there is one, else the restore of `datasetSizeGiB` at the throughput (default 100 MiB/s) plus the
 * fixed overhead; `undefined` when neither a standby nor a size is known. {@link BackupSchedule.rtoMinutes}.
 */
export function backupScheduleRtoMinutes(args: Pick<BackupScheduleArgs, "standbyPromotionMinutes" | "datasetSizeGiB" | "restoreThroughputMiBPerSecond">): number | undefined {
  if (args.standbyPromotionMinutes === undefined && args.datasetSizeGiB === undefined) return undefined;
  return estimatedRtoMinutes({
    standbyPromotionMinutes: args.standbyPromotionMinutes,
    datasetSizeGiB: args.datasetSizeGiB ?? 0,
    restoreThroughputMiBPerSecond: args.restoreThroughputMiBPerSecond ?? DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND,
  });
}

/**
 * The backups of one dataset: the schedule, the method and the retention, and the recovery guarantees
 * they give (worst-case RPO, estimated RTO).
 *
 * - PostgreSQL: a CloudNativePG `ScheduledBackup` (6-field cron, seconds first) of full base backups
 *   through the Barman Cloud plugin; with the continuous WAL archive it bounds the restore time.
 * - MongoDB: the Percona operator's backup tasks with point-in-time recovery (oplog span ≤ the RPO),
 *   given as {@link BackupSchedule.perconaBackupSpec} for the `PerconaServerMongoDB` resource.
 * - Milvus: a CronJob running `milvus-backup create`, then pruning backups older than the retention
 *   (the tool keeps everything otherwise).
 * - Model artifacts: nothing to run; the versioned bucket keeps the newest N versions.
 */
export class BackupSchedule extends pulumi.ComponentResource {
  /** Worst-case RPO, minutes (Infinity when nothing protects the data). */
  readonly rpoMinutes: number;
  /** Estimated RTO, minutes, or undefined when neither a standby nor a size is known. */
  readonly rtoMinutes?: number;
  /** The dataset's recovery posture for reports. */
  readonly report: RecoveryReport;
  /** MongoDB: the `spec.backup` of the Percona resource that implements this schedule. */
  readonly perconaBackupSpec?: Record<string, unknown>;

  /**
   * @param name - component name; for PostgreSQL also the `ScheduledBackup`'s name (a DNS-1123 subdomain),
   *   so two schedules of one cluster never collide.
   * @param args - see {@link BackupScheduleArgs}.
   * @param opts - component options.
   * @throws InvalidArgumentsError naming each wrong argument.
   */
  constructor(name: string, args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    const { problems, cron } = validateBackupScheduleArgs({ ...args, hasSite: args.site !== undefined });
    if (args.kind === "postgresql" && !isDns1123Subdomain(name)) {
      problems.push({ argument: "name", message: `is ${show(name)}; a PostgreSQL schedule's name is its ScheduledBackup's, a DNS-1123 subdomain (lowercase letters, digits, '-', '.')` });
    }
    throwIfInvalid(`BackupSchedule "${name}"`, problems);
    super("waris:index:BackupSchedule", name, {}, opts);

    const schedules = cron ? [cron] : [];
    const continuous = args.kind === "model-artifacts" ? 0 : args.continuousArchiveMinutes;
    this.rpoMinutes = worstCaseRpoMinutes({ continuousArchiveMinutes: continuous, backupSchedules: schedules });
    this.rtoMinutes = backupScheduleRtoMinutes(args);
    const every = cron ? `${describeGap(longestGapMinutes(schedules))} full (${args.schedule})` : "";
    const method: Record<BackupDatasetKind, string> = {
      postgresql: `${every} base backup + continuous WAL archive (${args.continuousArchiveMinutes ?? "?"} min)`,
      mongodb: `${every} backup + PITR oplog (${args.continuousArchiveMinutes ?? "?"} min)`,
      milvus: `${every} milvus-backup`,
      "model-artifacts": "every version on write (bucket versioning)",
    };
    this.report = {
      dataset: args.dataset,
      kind: args.kind,
      rpoMinutes: Number.isFinite(this.rpoMinutes) ? this.rpoMinutes : null,
      rtoMinutes: this.rtoMinutes ?? null,
      retention:
        args.kind === "model-artifacts"
          ? `${args.keepVersions} versions`
          : args.keepEveryBackupForHours !== undefined
            ? `${args.retentionDays} days (every backup for ${args.keepEveryBackupForHours} h, then the first of each day)`
            : `${args.retentionDays} days`,
      method: method[args.kind],
      schedule: args.schedule,
      location: args.location,
    };

    const site = args.site;
    const labels = site ? { ...placementLabels(site.spec.name, args.dataClass ?? "confidential"), [DATASET_LABEL]: args.dataset } : {};
    const o = { parent: this, provider: site?.kubernetesProvider };
    if (args.kind === "postgresql") {
      new apiextensions.CustomResource(
        name,
        {
          apiVersion: "postgresql.cnpg.io/v1",
          kind: "ScheduledBackup",
          // Named after the component: two schedules of one cluster (weekly and daily) never collide.
          metadata: { name, namespace: args.namespace, labels },
          spec: {
            // CloudNativePG's cron has a seconds field first.
            schedule: `0 ${args.schedule}`,
            cluster: { name: args.postgresCluster },
            method: "plugin",
            pluginConfiguration: { name: BARMAN_CLOUD_PLUGIN },
            backupOwnerReference: "self",
            ...(args.suspend ? { suspend: true } : {}),
          },
        },
        o,
      );
    } else if (args.kind === "milvus") {
      this.milvusCronJob(name, args, labels, o);
    } else if (args.kind === "mongodb") {
      const storage = args.mongoStorage!;
      this.perconaBackupSpec = {
        enabled: true,
        storages: {
          [storage.name]: {
            type: "s3",
            s3: {
              bucket: storage.bucket,
              region: storage.region,
              endpointUrl: storage.endpointUrl,
              credentialsSecret: storage.credentialsSecret,
              // What the store accepts: an SSE header for sse-s3/sse-kms, none for a store that encrypts by itself.
              serverSideEncryption: perconaServerSideEncryption(storage.encryption ?? DEFAULT_STORE_ENCRYPTION),
            },
          },
        },
        pitr: { enabled: args.continuousArchiveMinutes !== undefined, oplogSpanMin: args.continuousArchiveMinutes, compressionType: "gzip" },
        tasks: [
          {
            name: "full",
            enabled: true,
            schedule: args.schedule,
            storageName: storage.name,
            type: "physical",
            // Percona keeps backups by count only (CRD 1.22.0: retention.type enum ["count"]): keep as many
            // as the schedule takes in the retention period.
            retention: { type: "count", count: countCoveringDays(args.retentionDays!, cron!), deleteFromStorage: true },
          },
        ],
      };
    }
    this.registerOutputs({ report: this.report, perconaBackupSpec: this.perconaBackupSpec });
  }

  private milvusCronJob(name: string, args: BackupScheduleArgs, labels: Record<string, string>, o: pulumi.CustomResourceOptions): void {
    const days = args.retentionDays!;
    const script = milvusBackupScript(days, args.keepEveryBackupForHours);
    datasetBackupCronJob(
      name,
      {
        dataset: args.dataset,
        namespace: args.namespace,
        schedule: args.schedule!,
        retentionDays: days,
        labels,
        pod: {
          containers: [
            {
              name: "milvus-backup",
              image: MILVUS_BACKUP_IMAGE,
              command: ["/bin/sh", "-c", script],
              volumeMounts: [{ name: "config", mountPath: "/app/configs", readOnly: true }],
              resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "1Gi" } },
            },
          ],
          volumes: [{ name: "config", secret: { secretName: args.milvusBackupConfigSecret } }],
        },
        // Always written (false too): a site that becomes primary again must have its schedule resumed.
        suspend: args.suspend ?? false,
      },
      { ...o, ...(args.suspendOwnedByRestore ? { ignoreChanges: ["spec.suspend"] } : {}) },
    );
  }
}

/** What {@link datasetBackupCronJob} needs. */
export interface DatasetBackupJobArgs {
  /** Dataset backed up (the job's `waris.io/backup-of` label). */
  readonly dataset: string;
  /** Namespace of the job. */
  readonly namespace?: string;
  /** 5-field cron, UTC. */
  readonly schedule: string;
  /** Days the backups are kept (the job's `waris.io/retention-days` annotation). */
  readonly retentionDays: number;
  /** Labels of the job and its pods (site, data class, dataset). */
  readonly labels: Readonly<Record<string, string>>;
  /** The pod that takes the backup; `restartPolicy` is set here. */
  readonly pod: Omit<k8sInput.core.v1.PodSpec, "restartPolicy">;
  /** `spec.suspend` (true: no Jobs are started). Default: the field is left out (not suspended). */
  readonly suspend?: boolean;
}

/**
 * A CronJob that backs up a dataset, labelled as the policy pack reads backup jobs: `waris.io/backup-of`
 * names the dataset and `waris.io/retention-days` how long its backups are kept. One run at a time, in UTC.
 */
export function datasetBackupCronJob(name: string, args: DatasetBackupJobArgs, opts: pulumi.CustomResourceOptions): batchv1.CronJob {
  return new batchv1.CronJob(
    name,
    {
      metadata: {
        name: `${args.dataset}-backup`,
        namespace: args.namespace,
        labels: { ...args.labels, [BACKUP_OF_LABEL]: args.dataset },
        annotations: { [RETENTION_DAYS_ANNOTATION]: String(args.retentionDays) },
      },
      spec: {
        schedule: args.schedule,
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 5,
        ...(args.suspend !== undefined ? { suspend: args.suspend } : {}),
        jobTemplate: { spec: { backoffLimit: 2, template: { metadata: { labels: { ...args.labels } }, spec: { ...args.pod, ...POD_DEFAULTS, restartPolicy: "OnFailure" } } } },
      },
    },
    opts,
  );
}

/**
 * The shell script of the Milvus backup job. milvus-backup has no retention of its own: backups are named
 * with their UTC date and time (`waris_YYYYMMDDHHMM`), and after each successful backup those older than
 * `retentionDays` are deleted; with `keepEveryBackupForHours`, backups older than that are also deleted
 * unless they are the first of their UTC day. Names sort by time, so the first of each day comes first.
 *
 * @param retentionDays - days any backup is kept.
 * @param keepEveryBackupForHours - hours every backup is kept; default: all of `retentionDays`.
 */
export function milvusBackupScript(retentionDays: number, keepEveryBackupForHours?: number): string {
  const thin = keepEveryBackupForHours !== undefined;
  return [
    "set -eu",
    "secs=$(date -u +%s)",
    'now=$(date -u -d "@$secs" +%Y%m%d%H%M)',
    'milvus-backup create -n "waris_${now}"',
    `cutoff=$(date -u -d "@$(( secs - ${retentionDays} * 86400 ))" +%Y%m%d%H%M)`,
    ...(thin ? [`thin=$(date -u -d "@$(( secs - ${keepEveryBackupForHours} * 3600 ))" +%Y%m%d%H%M)`, 'day=""'] : []),
    "milvus-backup list | grep -o 'waris_[0-9]\\{12\\}' | sort -u | while read -r b; do",
    '  t="${b#waris_}"',
    '  if [ "$t" -lt "$cutoff" ]; then milvus-backup delete -n "$b"',
    ...(thin ? ['  elif [ "$t" -lt "$thin" ] && [ "${t%????}" = "$day" ]; then milvus-backup delete -n "$b"'] : []),
    "  fi",
    ...(thin ? ['  day="${t%????}"'] : []),
    "done",
  ].join("\n");
}

function describeGap(minutes: number): string {
  if (minutes === 1440) return "daily";
  if (minutes === 10080) return "weekly";
  if (minutes === 60) return "hourly";
  return `every ${minutes} min`;
}
