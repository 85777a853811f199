// Redis on the active site with AOF, TLS and a password, dumped hourly to the G-Cloud store.
import * as pulumi from "@pulumi/pulumi";
import { ObjectStorageBucket, RedisPrimary } from "@waris/hybrid-infra";
import { gcloud, onprem } from "./site";

const config = new pulumi.Config();
const dumps = new ObjectStorageBucket("redis-backups", {
  site: gcloud,
  bucket: "waris-example-redis",
  dataset: "waris-redis",
  retentionDays: 30,
  expireObjectsAfterDays: 30,
  objectLockDays: 7,
});

export const redis = new RedisPrimary(
  "waris-redis",
  { site: onprem, password: config.requireSecret("redisPassword"), backupSite: gcloud, backupBucket: dumps.bucket },
  { dependsOn: [dumps] },
);
