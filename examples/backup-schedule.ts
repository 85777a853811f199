// Weekly full base backups of the PostgreSQL primary, with the WAL archive's guarantees.
import { BackupSchedule, STANDBY_PROMOTION_MINUTES } from "@waris/hybrid-infra";
import { backups } from "./object-storage-bucket";
import { postgres } from "./postgres-cluster";
import { onprem } from "./site";

export const weekly = new BackupSchedule("waris-postgres-full", {
  kind: "postgresql",
  dataset: postgres.dataset,
  site: onprem,
  namespace: postgres.namespace,
  postgresCluster: postgres.clusterNames["onprem"],
  schedule: "0 2 * * 0",
  retentionDays: 30,
  continuousArchiveMinutes: postgres.rpoMinutes,
  standbyPromotionMinutes: STANDBY_PROMOTION_MINUTES,
  datasetSizeGiB: 200,
  location: `${backups.url} on ${backups.siteName}`,
});

export const recovery = weekly.report;
