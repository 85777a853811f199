/**
 * Recovery: every primary data store has a standby on another site or a backup schedule; its worst-case
 * RPO and estimated RTO, computed from the resources with the components' own arithmetic, are within the
 * targets; backups are kept long enough; standbys have replication-lag alerts.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { AZURE_REPLICATION_DELAY_METRIC, CronSchedule, REDIS_LAG_METRIC, estimatedRtoMinutes, worstCaseRpoMinutes } from "../components/recovery";
import { RECOVERY_POLICY_DEFAULTS, RETENTION_POLICY_DEFAULTS } from "./thresholds";
import { LAG_ALERT_FOR_TAG } from "../components/labels";
import { AZURE_POSTGRES_SERVER, DO_DATABASE_CLUSTER, Dataset, collectDatasets } from "./datasets";
import { at, list, str } from "./placement";
import type { PolicyResource } from "@pulumi/policy";
import { COVERAGE } from "./coverage";
import { SkippedCheck, guarded } from "./unknowns";

/** Config of {@link recoveryObjectivesPolicy}. */
export interface RecoveryConfig {
  /** Recovery point objective, minutes. Default 60. */
  readonly rpoMinutes: number;
  /** Recovery time objective, minutes. Default 240. */
  readonly rtoMinutes: number;
  /** Restore throughput from object storage, MiB/s, for datasets without a standby. Default 100. */
  readonly restoreThroughputMiBPerSecond: number;
  /** Minutes to promote a standby on another site. Default 15. */
  readonly standbyPromotionMinutes: number;
}

const describe = (d: Dataset): string => `${d.kind} dataset "${d.id}" (${d.primary.type} "${d.primary.name}"${d.site ? ` on site ${d.site}` : ""})`;

/** The figures the policy computes for one dataset; exported so tests and the plan can show them. */
export function recoveryFigures(d: Dataset, config: RecoveryConfig): { rpoMinutes: number; rtoMinutes?: number } {
  const schedules = d.schedules.map((s) => s.schedule).filter((s): s is CronSchedule => s !== undefined);
  const rpoMinutes = worstCaseRpoMinutes({ continuousArchiveMinutes: d.continuousArchiveMinutes, backupSchedules: schedules });
  const rtoMinutes =
    d.standbys.length > 0
      ? config.standbyPromotionMinutes
      : d.sizeGiB !== undefined
        ? estimatedRtoMinutes({ datasetSizeGiB: d.sizeGiB, restoreThroughputMiBPerSecond: config.restoreThroughputMiBPerSecond })
        : undefined;
  return { rpoMinutes, rtoMinutes };
}

/** Protection, RPO and RTO of every dataset. */
export const recoveryObjectivesPolicy: StackValidationPolicy = {
  name: "waris-recovery-objectives",
  description: "Every primary data store has a standby on another site or a backup schedule, and meets the RPO and RTO.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Add continuous archiving (CloudNativePG WAL archiving through the Barman Cloud plugin, Percona PITR) for an RPO of minutes, " +
    "a standby on the other site for an RTO of minutes, or backups frequent enough for the RPO; a daily dump alone cannot meet a 1-hour RPO.",
  configSchema: {
    properties: {
      rpoMinutes: { type: "number", exclusiveMinimum: 0, default: RECOVERY_POLICY_DEFAULTS.rpoMinutes },
      rtoMinutes: { type: "number", exclusiveMinimum: 0, default: RECOVERY_POLICY_DEFAULTS.rtoMinutes },
      restoreThroughputMiBPerSecond: { type: "number", exclusiveMinimum: 0, default: RECOVERY_POLICY_DEFAULTS.restoreThroughputMiBPerSecond },
      standbyPromotionMinutes: { type: "number", exclusiveMinimum: 0, default: RECOVERY_POLICY_DEFAULTS.standbyPromotionMinutes },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<RecoveryConfig>();
    for (const d of collectDatasets(args.resources)) {
      for (const problem of d.problems) reportViolation(`${describe(d)}: ${problem}`, d.primary.urn);
      for (const s of d.schedules) if (s.error) reportViolation(`${describe(d)}: ${s.source} ${s.error}`, d.primary.urn);
      if (d.standbys.length === 0 && d.schedules.length === 0 && d.continuousArchiveMinutes === undefined) {
        reportViolation(`${describe(d)} has no standby on another site and no backup${d.backupsDisabled ? ` (${d.backupsDisabled})` : ""}; it cannot be recovered.`, d.primary.urn);
        continue;
      }
      const { rpoMinutes, rtoMinutes } = recoveryFigures(d, config);
      if (rpoMinutes > config.rpoMinutes) {
        const how = d.continuousArchiveMinutes !== undefined ? `its continuous archive runs every ${d.continuousArchiveMinutes} min` : `its backups (${d.schedules.map((s) => `${s.source}: ${s.schedule?.expression ?? "?"}`).join("; ")}) are up to ${rpoMinutes === Infinity ? "never" : `${rpoMinutes} min`} apart and nothing archives continuously`;
        reportViolation(`${describe(d)}: worst-case RPO ${rpoMinutes === Infinity ? "unbounded" : `${rpoMinutes} min`} exceeds ${config.rpoMinutes} min: ${how}.`, d.primary.urn);
      }
      if (rtoMinutes === undefined) {
        reportViolation(`${describe(d)}: no standby and no known size, so its RTO cannot be estimated; add a standby or a storage size.`, d.primary.urn);
      } else if (rtoMinutes > config.rtoMinutes) {
        reportViolation(
          `${describe(d)}: estimated RTO ${rtoMinutes} min exceeds ${config.rtoMinutes} min (restore of ${d.sizeGiB} GiB at ${config.restoreThroughputMiBPerSecond} MiB/s); add a standby on the other site.`,
          d.primary.urn,
        );
      }
    }
  },
};

/** Config of {@link backupRetentionPolicy}. */
export interface RetentionConfig {
  /** Days database backups are kept. Default 30. */
  readonly databaseRetentionDays: number;
  /** Days vector database backups are kept. Default 14. */
  readonly vectorRetentionDays: number;
  /** Versions of model artifacts kept. Default 5. */
  readonly modelArtifactVersions: number;
}

/**
 * Retention of the managed databases the coverage table gives a retention field (Aurora, DocumentDB,
 * Redshift, Azure MySQL): the field, or the service's default when unset, against the database minimum.
 *
 * @param only - which resources to check (all by default).
 */
export function cloudRetentionFindings(
  resources: readonly PolicyResource[],
  config: RetentionConfig,
  report: (message: string, urn: string) => void,
  skipped?: SkippedCheck[],
  only: (r: PolicyResource) => boolean = () => true,
): void {
  for (const r of resources) {
    const rule = COVERAGE[r.type]?.retentionDays;
    if (!rule || !only(r)) continue;
    guarded(
      r,
      "waris-backup-retention",
      () => {
        const value = at(r.props, ...rule.field.split("."));
        const days = typeof value === "number" ? value : rule.default;
        if (days < config.databaseRetentionDays) {
          report(`${r.type} "${r.name}" keeps backups ${days} days (${rule.field}${value === undefined ? " not set: the service's default" : ""}); keep them at least ${config.databaseRetentionDays} days.`, r.urn);
        }
      },
      skipped,
    );
  }
}

/** Retention of every dataset's backups. */
export const backupRetentionPolicy: StackValidationPolicy = {
  name: "waris-backup-retention",
  description: "Backups are kept long enough: databases 30 days, the vector database 14 days, model artifacts 5 versions.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set the CloudNativePG ObjectStore retentionPolicy (e.g. \"30d\"), the Percona backup task retention, the Milvus backup job's waris.io/retention-days, " +
    "or the artifact bucket's noncurrentVersionExpiration.newerNoncurrentVersions.",
  configSchema: {
    properties: {
      databaseRetentionDays: { type: "number", minimum: 1, default: RETENTION_POLICY_DEFAULTS.databaseRetentionDays },
      vectorRetentionDays: { type: "number", minimum: 1, default: RETENTION_POLICY_DEFAULTS.vectorRetentionDays },
      modelArtifactVersions: { type: "number", minimum: 1, default: RETENTION_POLICY_DEFAULTS.modelArtifactVersions },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<RetentionConfig>();
    cloudRetentionFindings(args.resources, config, reportViolation);
    for (const d of collectDatasets(args.resources)) {
      if (d.kind === "model-artifacts") {
        if ((d.retentionVersions ?? 0) < config.modelArtifactVersions) {
          reportViolation(`${describe(d)} keeps ${d.retentionVersions ?? "an unknown number of"} versions; keep at least ${config.modelArtifactVersions}.`, d.primary.urn);
        }
        continue;
      }
      const needed = d.kind === "milvus" ? config.vectorRetentionDays : config.databaseRetentionDays;
      if (!d.backupsDisabled && d.retentionDays === undefined && d.standbys.length > 0 && d.schedules.length === 0 && d.continuousArchiveMinutes === undefined) continue;
      if (d.backupsDisabled) {
        reportViolation(`${describe(d)} keeps no backups: ${d.backupsDisabled}; keep them at least ${needed} days.`, d.primary.urn);
      } else if ((d.retentionDays ?? 0) < needed) {
        reportViolation(`${describe(d)} keeps backups ${d.retentionDays === undefined ? "for an unknown time" : `${d.retentionDays} days`}; keep them at least ${needed} days.`, d.primary.urn);
      }
    }
  },
};

/** Every dataset with a standby has an alert on its replication lag. */
export const replicationLagAlertPolicy: StackValidationPolicy = {
  name: "waris-replication-lag-alerts",
  description: "Every dataset with a standby has a Prometheus alert on its replication lag.",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "Add a PrometheusRule whose expression uses cnpg_pg_replication_lag (PostgreSQL) or the MongoDB replication lag metric for the dataset; " +
    "for RDS, a CloudWatch alarm on AWS/RDS ReplicaLag for each replica; for Azure flexible servers, an Azure Monitor alert on " +
    "physical_replication_delay_in_seconds per replica.",
  validateStack: (args, reportViolation) => {
    const expressions = args.resources
      .filter((r) => r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
      .flatMap((r) => list(r.props, "spec", "groups").flatMap((g) => list(g, "rules").map((rule) => str(rule, "expr") ?? "")));
    // RDS reports lag to CloudWatch: an alarm on ReplicaLag per replica.
    const replicaLagAlarms = new Set(
      args.resources
        .filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && str(r.props, "namespace") === "AWS/RDS" && str(r.props, "metricName") === "ReplicaLag")
        .map((r) => str(r.props, "dimensions", "DBInstanceIdentifier")),
    );
    // Azure reports lag to Azure Monitor: a metric alert per replica, tagged with the replica it watches.
    const azureLagAlerts = new Set(
      args.resources
        .filter((r) => r.type === "azure-native:monitor:MetricAlert" && list(r.props, "criteria", "allOf").some((c) => str(c, "metricName") === AZURE_REPLICATION_DELAY_METRIC))
        .map((r) => str(r.props, "tags", LAG_ALERT_FOR_TAG)),
    );
    const metric: Record<string, string> = { postgresql: "cnpg_pg_replication_lag", mongodb: "mongodb_mongod_replset_member_replication_lag", redis: REDIS_LAG_METRIC };
    for (const d of collectDatasets(args.resources)) {
      if (d.standbys.length === 0) continue;
      if (d.primary.type === "aws:rds/instance:Instance") {
        for (const replica of d.standbys) {
          const id = str(replica.props, "identifier") ?? replica.name;
          if (!replicaLagAlarms.has(id)) reportViolation(`${describe(d)}: replica ${id} has no CloudWatch alarm on ReplicaLag; add one.`, replica.urn);
        }
        continue;
      }
      if (d.primary.type === AZURE_POSTGRES_SERVER) {
        for (const replica of d.standbys) {
          const id = str(replica.props, "serverName") ?? replica.name;
          if (!azureLagAlerts.has(id)) reportViolation(`${describe(d)}: replica ${id} has no Azure Monitor alert on ${AZURE_REPLICATION_DELAY_METRIC} (tagged ${LAG_ALERT_FOR_TAG}: ${id}); add one.`, replica.urn);
        }
        continue;
      }
      if (d.primary.type === DO_DATABASE_CLUSTER) {
        reportViolation(`${describe(d)} has read replicas, but DigitalOcean offers no replica-lag alert through its API; scrape the cluster's metrics endpoint into Prometheus and alert there, or keep no replica.`, d.primary.urn);
        continue;
      }
      const m = metric[d.kind];
      if (m && !expressions.some((e) => e.includes(m))) {
        reportViolation(`${describe(d)} has a standby but no alert on ${m}; add a PrometheusRule.`, d.primary.urn);
      }
    }
  },
};
