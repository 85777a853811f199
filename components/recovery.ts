/**
 * Recovery arithmetic shared by the components (which expose their guarantees) and the policy pack
 * (which checks them from the resources alone): cron schedules to intervals, worst-case RPO, estimated RTO.
 */
import { CronExpression, CronExpressionParser } from "cron-parser";
import { parseQuantity } from "./quantity";

/** A parsed cron schedule: the sets of values each field fires on. */
export interface CronSchedule {
  /** The expression as given. */
  readonly expression: string;
  /** Minutes 0-59. */
  readonly minutes: ReadonlySet<number>;
  /** Hours 0-23. */
  readonly hours: ReadonlySet<number>;
  /** Days of month 1-31. */
  readonly daysOfMonth: ReadonlySet<number>;
  /** Months 1-12. */
  readonly months: ReadonlySet<number>;
  /** Days of week 0-6, Sunday 0. */
  readonly daysOfWeek: ReadonlySet<number>;
  /** Whether day-of-month was restricted (not `*`); cron ORs the two day fields when both are. */
  readonly domRestricted: boolean;
  /** Whether day-of-week was restricted. */
  readonly dowRestricted: boolean;
}

/** Cron characters the gap arithmetic cannot walk, and that Kubernetes CronJobs (robfig/cron) refuse. */
const UNSUPPORTED_CRON = /[LW#]/i;

const FIELD_NAMES = ["minute", "hour", "day-of-month", "month", "day-of-week"] as const;

/**
 * Parses a cron expression with `cron-parser`: 5 fields (minute hour day-of-month month day-of-week),
 * or 6 with seconds first (`withSeconds`, as CloudNativePG's ScheduledBackup takes it). Names (`MON`,
 * `JAN`), `?` and the `@daily`-style macros are accepted; `L`, `W` and `#` are not (Kubernetes CronJobs
 * refuse them). Throws an `Error` saying what is wrong.
 */
export function parseCron(expression: string, withSeconds = false): CronSchedule {
  const trimmed = expression.trim();
  const expected = withSeconds ? 6 : 5;
  const fields = trimmed.split(/\s+/);
  const names = `${withSeconds ? "second " : ""}${FIELD_NAMES.join(" ")}`;
  if (!trimmed.startsWith("@") && fields.length !== expected) {
    throw new Error(`cron ${JSON.stringify(expression)} has ${fields.length} fields; expected ${expected} (${names})`);
  }
  if (UNSUPPORTED_CRON.test(trimmed.startsWith("@") ? "" : trimmed)) {
    throw new Error(`cron ${JSON.stringify(expression)} uses L, W or #, which Kubernetes CronJobs do not support`);
  }
  let parsed: CronExpression;
  try {
    // cron-parser takes 5 fields, or 6 with seconds first; macros it expands itself.
    parsed = CronExpressionParser.parse(trimmed, { tz: "UTC" });
  } catch (e) {
    throw new Error(`cron ${JSON.stringify(expression)} is not valid (${names}): ${(e as Error).message}`, { cause: e });
  }
  const f = parsed.fields;
  const numbers = (values: readonly (number | string)[]): Set<number> => new Set(values.filter((v): v is number => typeof v === "number"));
  return {
    expression,
    minutes: numbers(f.minute.values),
    hours: numbers(f.hour.values),
    daysOfMonth: numbers(f.dayOfMonth.values),
    months: numbers(f.month.values),
    // Day of week 7 is Sunday too.
    daysOfWeek: new Set([...numbers(f.dayOfWeek.values)].map((d) => d % 7)),
    domRestricted: !f.dayOfMonth.isWildcard,
    dowRestricted: !f.dayOfWeek.isWildcard,
  };
}

function firesOnDay(s: CronSchedule, date: Date): boolean {
  if (!s.months.has(date.getUTCMonth() + 1)) return false;
  const dom = s.daysOfMonth.has(date.getUTCDate());
  const dow = s.daysOfWeek.has(date.getUTCDay());
  if (s.domRestricted && s.dowRestricted) return dom || dow;
  if (s.domRestricted) return dom;
  if (s.dowRestricted) return dow;
  return true;
}

const MINUTES_PER_DAY = 1440;
/** Four years from 2028-01-01, a leap year: covers every day-of-month, weekday and February 29 pattern. */
const WINDOW_START = Date.UTC(2028, 0, 1);
const WINDOW_DAYS = 1461;

/**
 * The longest time, in minutes, between two consecutive runs of one or more schedules together
 * (wrapping around a four-year window, so yearly and leap-day schedules are measured too).
 * Infinity when the schedules never fire.
 */
export function longestGapMinutes(schedules: readonly CronSchedule[]): number {
  // The same schedules are measured by the stack configuration, the components and the policy pack, and
  // each measure walks four years: remember the answers.
  const key = schedules.map(scheduleKey).join("\n");
  let gap = gapCache.get(key);
  if (gap === undefined) {
    gap = measureLongestGap(schedules);
    gapCache.set(key, gap);
  }
  return gap;
}

const gapCache = new Map<string, number>();

/** What a schedule fires on, as a string: equal for equal schedules however they were written. */
function scheduleKey(s: CronSchedule): string {
  const set = (values: ReadonlySet<number>): string => [...values].sort((a, b) => a - b).join(",");
  return [set(s.minutes), set(s.hours), set(s.daysOfMonth), set(s.months), set(s.daysOfWeek), s.domRestricted, s.dowRestricted].join("|");
}

function measureLongestGap(schedules: readonly CronSchedule[]): number {
  const dayMinutes = schedules.map((s) => {
    const list: number[] = [];
    for (const h of [...s.hours].sort((a, b) => a - b)) for (const m of [...s.minutes].sort((a, b) => a - b)) list.push(h * 60 + m);
    return list;
  });
  let first: number | undefined;
  let previous: number | undefined;
  let longest = 0;
  const visit = (t: number): void => {
    if (previous !== undefined) longest = Math.max(longest, t - previous);
    else first = t;
    previous = t;
  };
  for (let day = 0; day < WINDOW_DAYS; day++) {
    const date = new Date(WINDOW_START + day * MINUTES_PER_DAY * 60000);
    const base = day * MINUTES_PER_DAY;
    if (schedules.length === 1) {
      // One schedule: its times of day are already sorted and distinct.
      if (firesOnDay(schedules[0]!, date)) for (const t of dayMinutes[0]!) visit(base + t);
      continue;
    }
    const times = new Set<number>();
    schedules.forEach((s, i) => {
      if (firesOnDay(s, date)) for (const t of dayMinutes[i]!) times.add(base + t);
    });
    for (const t of [...times].sort((a, b) => a - b)) visit(t);
  }
  if (first === undefined || previous === undefined) return Infinity;
  return Math.max(longest, first + WINDOW_DAYS * MINUTES_PER_DAY - previous);
}

/** How a dataset is protected, for the RPO arithmetic. */
export interface ProtectionSettings {
  /**
   * Longest time, in minutes, before a change reaches a continuous archive or a streaming standby
   * (PostgreSQL `archive_timeout`, MongoDB oplog upload interval). Absent when there is none.
   */
  readonly continuousArchiveMinutes?: number;
  /** Cron expressions (5-field) of the full/incremental backups. */
  readonly backupSchedules?: readonly CronSchedule[];
}

/**
 * Worst-case RPO in minutes: the continuous archive interval when there is one (base backups then only
 * bound the restore time); otherwise the longest gap between backups. Infinity when nothing protects the data.
 */
export function worstCaseRpoMinutes(p: ProtectionSettings): number {
  if (p.continuousArchiveMinutes !== undefined) return p.continuousArchiveMinutes;
  if (!p.backupSchedules || p.backupSchedules.length === 0) return Infinity;
  return longestGapMinutes(p.backupSchedules);
}

/** What the RTO of a dataset depends on. */
export interface RestoreSettings {
  /** Minutes to promote a running standby on another site, when one exists. */
  readonly standbyPromotionMinutes?: number;
  /** Size of the dataset, GiB. */
  readonly datasetSizeGiB: number;
  /** Restore throughput from object storage, MiB per second. */
  readonly restoreThroughputMiBPerSecond: number;
  /** Minutes of fixed work around a restore (provisioning, WAL replay start, checks). Default 30. */
  readonly restoreOverheadMinutes?: number;
}

/** Default fixed work around a restore, minutes: provisioning the cluster, starting replay, checking. */
export const DEFAULT_RESTORE_OVERHEAD_MINUTES = 30;

/**
 * Estimated RTO in minutes: the standby's promotion time when there is a standby; otherwise the time to
 * restore the dataset from object storage at the given throughput, plus the fixed overhead.
 */
export function estimatedRtoMinutes(r: RestoreSettings): number {
  if (r.standbyPromotionMinutes !== undefined) return r.standbyPromotionMinutes;
  const seconds = (r.datasetSizeGiB * 1024) / r.restoreThroughputMiBPerSecond;
  return Math.ceil(seconds / 60) + (r.restoreOverheadMinutes ?? DEFAULT_RESTORE_OVERHEAD_MINUTES);
}

/** Parses a Kubernetes quantity of bytes (`500Gi`, `1Ti`, `200G`) to GiB. Throws when it is not a quantity. */
export function quantityToGiB(quantity: string): number {
  const bytes = parseQuantity(quantity.trim());
  if (bytes === undefined) throw new Error(`${JSON.stringify(quantity)} is not a storage quantity such as "500Gi"`);
  return bytes / 1024 ** 3;
}

/** Parses a Barman/CloudNativePG retention policy (`30d`, `4w`, `3m`) to days. */
export function retentionToDays(policy: string): number {
  const match = /^(\d+)([dwm])$/.exec(policy.trim());
  if (!match) throw new Error(`${JSON.stringify(policy)} is not a retention such as "30d", "4w" or "1m"`);
  return Number(match[1]) * { d: 1, w: 7, m: 30 }[match[2] as "d" | "w" | "m"];
}

/**
 * Default restore throughput from object storage, MiB/s: what one barman-cloud or PBM restore stream
 * sustains from an S3-compatible store over a 10 GbE link in practice (disk and decompression bound,
 * well under the link's ~1 GiB/s). Deliberately conservative; measure yours and set the stack setting.
 */
export const DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND = 100;

/**
 * Minutes to promote a running standby on another site and move the application endpoint:
 * demotion/promotion by the operator (a few minutes), the Service/DNS switch and clients reconnecting,
 * plus the operator's checks in the runbook. An estimate, not a measurement.
 */
export const STANDBY_PROMOTION_MINUTES = 15;

/** Parses a PostgreSQL duration setting (`5min`, `300s`, `1h`, `300` = seconds) to minutes. */
export function postgresDurationToMinutes(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?$/.exec(value.trim());
  if (!match) throw new Error(`${JSON.stringify(value)} is not a PostgreSQL duration such as "5min" or "300s"`);
  const n = Number(match[1]);
  return n * { ms: 1 / 60000, s: 1 / 60, min: 1, h: 60, d: 1440 }[(match[2] ?? "s") as "ms" | "s" | "min" | "h" | "d"];
}

/** How often Amazon RDS ships transaction logs to its point-in-time-recovery store, minutes. */
export const RDS_LOG_UPLOAD_MINUTES = 5;

/** redis_exporter's lag of each connected replica, seconds, as the primary reports it: what Redis lag alerts watch and the pack reads the RPO from. */
export const REDIS_LAG_METRIC = "redis_connected_slave_lag_seconds";

/** The Azure Monitor metric of a flexible-server read replica's lag, seconds: what lag alerts watch. */
export const AZURE_REPLICATION_DELAY_METRIC = "physical_replication_delay_in_seconds";

/** Days DigitalOcean keeps the backups (and point-in-time recovery) of a managed database; fixed by the service. */
export const DIGITALOCEAN_BACKUP_DAYS = 7;

/**
 * The shortest time, in minutes, between two consecutive runs of a schedule (over the same four-year
 * window as {@link longestGapMinutes}); Infinity when it fires at most once.
 */
export function shortestGapMinutes(schedule: CronSchedule): number {
  const times: number[] = [];
  for (const h of [...schedule.hours].sort((a, b) => a - b)) for (const m of [...schedule.minutes].sort((a, b) => a - b)) times.push(h * 60 + m);
  let previous: number | undefined;
  let shortest = Infinity;
  for (let day = 0; day < WINDOW_DAYS; day++) {
    if (!firesOnDay(schedule, new Date(WINDOW_START + day * MINUTES_PER_DAY * 60000))) continue;
    for (const t of times) {
      const at = day * MINUTES_PER_DAY + t;
      if (previous !== undefined) shortest = Math.min(shortest, at - previous);
      previous = at;
    }
  }
  return shortest;
}

/**
 * Retention by count (the only kind the Percona operator has: `retention.type: count`, CRD 1.22.0)
 * expressed in days: with backups at least `shortestGapMinutes` apart, keeping `count` of them covers
 * at least `(count - 1)` such gaps back from the newest.
 */
export function daysCoveredByCount(count: number, schedule: CronSchedule): number {
  return ((count - 1) * shortestGapMinutes(schedule)) / MINUTES_PER_DAY;
}

/** The fewest backups of `schedule` to keep so that they cover `days` ({@link daysCoveredByCount}). */
export function countCoveringDays(days: number, schedule: CronSchedule): number {
  return Math.ceil((days * MINUTES_PER_DAY) / shortestGapMinutes(schedule)) + 1;
}
