/**
 * The policy pack's thresholds applied to this program's own settings, at configuration time: the same
 * numbers the pack enforces on the resources (`policy/thresholds.ts`), so a setting the pack would deny
 * after planning is refused before anything is registered, naming the stack key.
 */
import { RECOVERY_POLICY_DEFAULTS, RETENTION_POLICY_DEFAULTS } from "../policy/thresholds";
import type { StackSettings } from "./config";
import type { SettingIssue } from "./dataset-checks";

/** Each setting the pack bounds, where it is in the settings, and the pack's threshold. */
function boundedSettings(parsed: Partial<StackSettings>): Array<{ path: string[]; value: number | undefined; min?: number; max?: number; policy: string; config: string }> {
  const retention = "waris-backup-retention";
  const objectives = "waris-recovery-objectives";
  const days = RETENTION_POLICY_DEFAULTS.databaseRetentionDays;
  return [
    { path: ["postgres", "backupRetentionDays"], value: parsed.postgres?.backupRetentionDays, min: days, policy: retention, config: "databaseRetentionDays" },
    { path: ["mongodb", "backupRetentionDays"], value: parsed.mongodb?.backupRetentionDays, min: days, policy: retention, config: "databaseRetentionDays" },
    { path: ["redis", "backupRetentionDays"], value: parsed.redis?.backupRetentionDays, min: days, policy: retention, config: "databaseRetentionDays" },
    { path: ["milvus", "backupRetentionDays"], value: parsed.milvus?.backupRetentionDays, min: RETENTION_POLICY_DEFAULTS.vectorRetentionDays, policy: retention, config: "vectorRetentionDays" },
    {
      path: ["backups", "modelArtifactVersions"],
      value: parsed.backups?.modelArtifactsBucket !== undefined ? parsed.backups.modelArtifactVersions : undefined,
      min: RETENTION_POLICY_DEFAULTS.modelArtifactVersions,
      policy: retention,
      config: "modelArtifactVersions",
    },
    { path: ["recovery", "rpoMinutes"], value: parsed.recovery?.rpoMinutes, max: RECOVERY_POLICY_DEFAULTS.rpoMinutes, policy: objectives, config: "rpoMinutes" },
    { path: ["recovery", "rtoMinutes"], value: parsed.recovery?.rtoMinutes, max: RECOVERY_POLICY_DEFAULTS.rtoMinutes, policy: objectives, config: "rtoMinutes" },
  ];
}

/**
 * Every setting of this program that the policy pack bounds, checked against the pack's default
 * thresholds: backup retention (databases, vectors, artifact versions) at least the pack's, recovery
 * targets no looser than the pack's. Pure.
 */
export function policyThresholdIssues(parsed: Partial<StackSettings>): SettingIssue[] {
  const issues: SettingIssue[] = [];
  for (const s of boundedSettings(parsed)) {
    if (s.value === undefined) continue;
    if (s.min !== undefined && s.value < s.min) {
      issues.push({ path: s.path, message: `is ${s.value}, below the ${s.min} that the policy pack requires (${s.policy}, ${s.config}); the plan would be denied` });
    }
    if (s.max !== undefined && s.value > s.max) {
      issues.push({ path: s.path, message: `is ${s.value} min, looser than the ${s.max} min the policy pack holds every dataset to (${s.policy}, ${s.config}); state a target the pack accepts` });
    }
  }
  return issues;
}
