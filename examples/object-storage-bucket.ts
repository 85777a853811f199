// A backup bucket in the G-Cloud store: versioned, AES-256, private, 30 days, governance lock.
import { ObjectStorageBucket } from "@waris/hybrid-infra";
import { gcloud } from "./site";

export const backups = new ObjectStorageBucket("postgres-backups", {
  site: gcloud,
  bucket: "waris-example-postgres",
  dataset: "waris-postgres",
  retentionDays: 30,
  objectLockDays: 7,
});
