// Redis on-prem with a live replica on G-Cloud (TLS replication over the VPN, lag alerted), AOF, a
// password, dumped hourly to the G-Cloud store from the primary site. Roles come from the failover model:
// steady state here; deriveSiteRoles() of a switchover, disaster or failback phase moves the primary.
import * as pulumi from "@pulumi/pulumi";
import { ObjectStorageBucket, RedisPrimary, steadyRoles } from "@waris/hybrid-infra";
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
  {
    sites: [onprem, gcloud],
    roles: steadyRoles(["onprem", "gcloud"], config.get("activeSite") ?? "onprem"),
    replicationHosts: { onprem: "redis.onprem.waris.internal", gcloud: "redis.gcloud.waris.internal" },
    password: config.requireSecret("redisPassword"),
    backupSite: gcloud,
    backupBucket: dumps.bucket,
  },
  { dependsOn: [dumps] },
);
