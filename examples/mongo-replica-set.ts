// MongoDB with electable members on-prem and non-voting members in G-Cloud, PITR backups to G-Cloud.
import { BackupSchedule, MongoReplicaSet, ObjectStorageBucket, steadyRoles } from "@waris/hybrid-infra";
import { gcloud, onprem } from "./site";

const bucket = new ObjectStorageBucket("mongodb-backups", { site: gcloud, bucket: "waris-example-mongodb", dataset: "waris-mongo", retentionDays: 30, objectLockDays: 7 });

const backups = new BackupSchedule("waris-mongo-full", {
  kind: "mongodb",
  dataset: "waris-mongo",
  site: onprem,
  schedule: "0 3 * * *",
  retentionDays: 30,
  continuousArchiveMinutes: 10,
  mongoStorage: { name: "gcloud", bucket: bucket.bucket, endpointUrl: bucket.endpoint, region: "us-east-1", credentialsSecret: "waris-mongo-backup" },
  location: bucket.url,
});

export const mongo = new MongoReplicaSet(
  "waris-mongo",
  {
    sites: [onprem, gcloud],
    roles: steadyRoles(["onprem", "gcloud"], "onprem"),
    memberHosts: {
      onprem: ["mongo-0.onprem.waris.internal", "mongo-1.onprem.waris.internal", "mongo-2.onprem.waris.internal"],
      gcloud: ["mongo-0.gcloud.waris.internal", "mongo-1.gcloud.waris.internal", "mongo-2.gcloud.waris.internal"],
    },
    backup: backups.perconaBackupSpec,
    backupSite: gcloud,
    backupCredentialsSecret: "waris-mongo-backup",
  },
  { dependsOn: [bucket] },
);
