/**
 * Checks of what the program will build for each dataset (`stack/datasets.ts`), run with the stack
 * configuration before anything is registered: the components' own validators on the buckets and backup
 * schedules `index.ts` creates, and the RTO the stack states against the estimates the components compute.
 */
import { validateBackupScheduleArgs } from "../components/backup-schedule";
import { validateObjectStorageBucketArgs } from "../components/object-storage-bucket";
import { RECOVERY_POLICY_DEFAULTS } from "../policy/thresholds";
import type { StackSettings } from "./config";
import { DEFAULT_POSTGRES_RETENTION_DAYS, datasetRtos, stackBuckets } from "./datasets";
import { backupSiteName, dataSiteNames } from "./placement";

/** A problem with a setting: its path (without the project prefix) and what is wrong. */
export interface SettingIssue {
  /** Path of the setting, e.g. `["redis", "backupBucket"]`. */
  readonly path: string[];
  /** What is wrong and what is allowed. */
  readonly message: string;
}
type Issue = SettingIssue;

/** The settings the dataset derivations need, when all of them parsed. */
function datasetSettings(parsed: Partial<StackSettings>): (Parameters<typeof stackBuckets>[0] & { sites: StackSettings["sites"] }) | undefined {
  const { sites, backups, recovery } = parsed;
  if (!sites || !backups || !recovery) return undefined;
  return { ...parsed, sites, backups, recovery };
}

/**
 * Every bucket `index.ts` creates passes `ObjectStorageBucket`'s own validator, each problem reported
 * under the setting the argument comes from. A problem already reported under that key (by the
 * datastore's validator) or about the backup site (reported with the sites) is not repeated.
 */
export function bucketIssues(parsed: Partial<StackSettings>, earlier: readonly Issue[]): Issue[] {
  const settings = datasetSettings(parsed);
  if (!settings) return [];
  const store = backupSiteName(settings);
  const site = store ? settings.sites[store] : undefined;
  if (!store || !site) return [];
  const reported = new Set(earlier.map((i) => i.path.join(".")));
  const siteReported = earlier.some((i) => i.path[0] === "sites" || ["backups.site", "postgres.backupSite"].includes(i.path.join(".")));
  const issues: Issue[] = [];
  for (const plan of stackBuckets(settings, store)) {
    const spec = { name: store, kind: site.kind, region: site.region, country: site.country, role: site.role, hasObjectStore: site.objectStore !== undefined };
    for (const problem of validateObjectStorageBucketArgs(spec, plan.args)) {
      if (problem.argument === "site" && siteReported) continue;
      const path = [...(problem.argument === "site" ? ["backups", "site"] : (plan.keys[problem.argument] ?? plan.keys["bucket"]!))];
      if (reported.has(path.join("."))) continue;
      reported.add(path.join("."));
      issues.push({ path, message: `${problem.message} (ObjectStorageBucket "${plan.name}", argument ${problem.argument})` });
    }
  }
  return issues;
}

/**
 * The backup schedules `index.ts` creates (PostgreSQL full backups, MongoDB, model artifacts) pass
 * `BackupSchedule`'s own validator, each problem under the setting it comes from, unless already reported
 * there. The schedule's resources (site, cluster, storage) are checked elsewhere: placeholders stand in.
 */
export function scheduleIssues(parsed: Partial<StackSettings>, earlier: readonly Issue[]): Issue[] {
  const settings = datasetSettings(parsed);
  if (!settings) return [];
  const checks: Array<{ args: Parameters<typeof validateBackupScheduleArgs>[0]; keys: Readonly<Record<string, string[]>> }> = [];
  if (settings.postgres) {
    checks.push({
      args: { kind: "postgresql", dataset: "waris-postgres", hasSite: true, postgresCluster: "(checked with postgres)", location: "", schedule: settings.backups.postgresFullBackupSchedule, retentionDays: settings.postgres.backupRetentionDays ?? DEFAULT_POSTGRES_RETENTION_DAYS, continuousArchiveMinutes: settings.postgres.archiveTimeoutMinutes },
      keys: { schedule: ["backups", "postgresFullBackupSchedule"], retentionDays: ["postgres", "backupRetentionDays"], continuousArchiveMinutes: ["postgres", "archiveTimeoutMinutes"] },
    });
  }
  if (settings.mongodb) {
    const m = settings.mongodb;
    checks.push({
      args: { kind: "mongodb", dataset: "waris-mongo", hasSite: true, mongoStorage: { name: "", bucket: m.backupBucket, endpointUrl: "", region: "", credentialsSecret: "" }, location: "", schedule: m.backupSchedule, retentionDays: m.backupRetentionDays, continuousArchiveMinutes: m.pitrMinutes },
      keys: { schedule: ["mongodb", "backupSchedule"], retentionDays: ["mongodb", "backupRetentionDays"], continuousArchiveMinutes: ["mongodb", "pitrMinutes"] },
    });
  }
  if (settings.backups.modelArtifactsBucket) {
    checks.push({ args: { kind: "model-artifacts", dataset: "model-artifacts", location: "", keepVersions: settings.backups.modelArtifactVersions }, keys: { keepVersions: ["backups", "modelArtifactVersions"] } });
  }
  const reported = new Set(earlier.map((i) => i.path.join(".")));
  const issues: Issue[] = [];
  for (const check of checks) {
    for (const problem of validateBackupScheduleArgs(check.args).problems) {
      const path = check.keys[problem.argument] ?? ["backups"];
      if (reported.has(path.join("."))) continue;
      reported.add(path.join("."));
      issues.push({ path, message: `${problem.message} (BackupSchedule of ${check.args.dataset}, argument ${problem.argument})` });
    }
  }
  return issues;
}

/**
 * The RTO the stack states (`recovery.rtoMinutes`) against every dataset's estimated RTO, computed with
 * the components' own arithmetic from the same inputs (the recovery table's figures). One problem naming
 * each dataset that misses it. (RPO figures are compared where each is set: `postgres.archiveTimeoutMinutes`,
 * `mongodb.pitrMinutes`, `redis.backupSchedule`, `milvus.backupSchedule`.)
 */
export function recoveryTargetIssues(parsed: Partial<StackSettings>, skip: boolean): Issue[] {
  const settings = datasetSettings(parsed);
  if (!settings || skip) return [];
  const target = settings.recovery.rtoMinutes;
  const misses = datasetRtos(settings, dataSiteNames(settings.sites).length).filter((d) => d.rtoMinutes !== undefined && d.rtoMinutes > target);
  if (misses.length === 0) return packThroughputIssues(settings);
  const worst = Math.max(...misses.map((d) => d.rtoMinutes!));
  return [
    {
      path: ["recovery", "rtoMinutes"],
      message:
        `is ${target} min, but the program's own estimates exceed it: ` +
        misses.map((d) => `${d.dataset} ${d.rtoMinutes} min (${d.how})`).join("; ") +
        (worst <= RECOVERY_POLICY_DEFAULTS.rtoMinutes
          ? `; state an RTO of at least ${worst} min, or make those recoveries faster`
          : `; the policy pack allows at most ${RECOVERY_POLICY_DEFAULTS.rtoMinutes} min, so make those recoveries faster (a standby, more throughput, less data)`),
    },
  ];
}

/**
 * The policy pack estimates restores at its own throughput (default 100 MiB/s), whatever the stack
 * states: a faster `recovery.restoreThroughputMiBPerSecond` must not hide an RTO the pack would deny.
 */
function packThroughputIssues(settings: NonNullable<ReturnType<typeof datasetSettings>>): Issue[] {
  const pack = RECOVERY_POLICY_DEFAULTS;
  if (settings.recovery.restoreThroughputMiBPerSecond <= pack.restoreThroughputMiBPerSecond) return [];
  const atPack = { ...settings, recovery: { ...settings.recovery, restoreThroughputMiBPerSecond: pack.restoreThroughputMiBPerSecond } };
  const misses = datasetRtos(atPack, dataSiteNames(settings.sites).length).filter((d) => d.rtoMinutes !== undefined && d.rtoMinutes > pack.rtoMinutes);
  if (misses.length === 0) return [];
  return [
    {
      path: ["recovery", "restoreThroughputMiBPerSecond"],
      message:
        `is ${settings.recovery.restoreThroughputMiBPerSecond} MiB/s, but the policy pack estimates restores at its own ${pack.restoreThroughputMiBPerSecond} MiB/s ` +
        `(waris-recovery-objectives, restoreThroughputMiBPerSecond), at which ${misses.map((d) => `${d.dataset} takes ${d.rtoMinutes} min`).join(", ")}, ` +
        `over its RTO of ${pack.rtoMinutes} min; the plan would be denied`,
    },
  ];
}

