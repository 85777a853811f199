/**
 * The policy pack's default thresholds, in one place: the policies' config schemas take their defaults
 * from here, and the stack configuration checks this program's own settings against the same numbers
 * before anything is registered. Dependency-free, so `stack/config.ts` can import it without the pack.
 */
import { DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND, STANDBY_PROMOTION_MINUTES } from "../components/recovery";

/** Defaults of `waris-recovery-objectives`: RPO and RTO in minutes, restore throughput MiB/s, promotion minutes. */
export const RECOVERY_POLICY_DEFAULTS = {
  /** Worst-case RPO every dataset must meet, minutes. */
  rpoMinutes: 60,
  /** Estimated RTO every dataset must meet, minutes. */
  rtoMinutes: 240,
  /** Restore throughput from object storage assumed for datasets without a standby, MiB/s. */
  restoreThroughputMiBPerSecond: DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND,
  /** Minutes to promote a standby on another site. */
  standbyPromotionMinutes: STANDBY_PROMOTION_MINUTES,
} as const;

/** Defaults of `waris-backup-retention`: days databases and the vector database keep backups, artifact versions kept. */
export const RETENTION_POLICY_DEFAULTS = {
  /** Days database (PostgreSQL, MongoDB, Redis) backups are kept, at least. */
  databaseRetentionDays: 30,
  /** Days vector database (Milvus) backups are kept, at least. */
  vectorRetentionDays: 14,
  /** Versions of model artifacts kept, at least. */
  modelArtifactVersions: 5,
} as const;
