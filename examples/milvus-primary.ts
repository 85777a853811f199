// Milvus on both sites (segments in each site's own store), running on-prem (the primary) and scaled to 0 on
// G-Cloud, backed up hourly into the G-Cloud store; a promote restores the backup on the new primary.
import { MilvusPrimary, ObjectStorageBucket, steadyRoles } from "@waris/hybrid-infra";
import { gcloud, onprem } from "./site";

const backups = new ObjectStorageBucket("milvus-backups", {
  site: gcloud,
  bucket: "waris-example-milvus",
  dataset: "waris-milvus",
  // The backup job prunes old backups; deleted ones stay recoverable 2 days.
  retentionDays: 2,
  objectLockDays: 2,
});

export const milvus = new MilvusPrimary(
  "waris-milvus",
  {
    sites: [onprem, gcloud],
    roles: steadyRoles(["onprem", "gcloud"], "onprem"),
    dataBucket: "waris-example-milvus-data",
    backupSite: gcloud,
    backupBucket: backups.bucket,
    // Defaults: hourly backups (RPO 60 min), kept 14 days, every one of them for the first 48 h.
    dataSizeGiB: 100,
  },
  { dependsOn: [backups] },
);
