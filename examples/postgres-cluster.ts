// PostgreSQL on-prem with a G-Cloud standby. Roles come from the failover model: steady state here;
// deriveSiteRoles() of a switchover, disaster or failback phase moves the primary (see npm run runbook).
import * as pulumi from "@pulumi/pulumi";
import { PostgresCluster, steadyRoles } from "@waris/hybrid-infra";
import { backups } from "./object-storage-bucket";
import { gcloud, onprem } from "./site";

const config = new pulumi.Config();

export const postgres = new PostgresCluster(
  "waris-postgres",
  {
    sites: [onprem, gcloud],
    roles: steadyRoles(["onprem", "gcloud"], config.get("activeSite") ?? "onprem"),
    backupSite: gcloud,
    backupBucket: backups.bucket,
    replicationHosts: { onprem: "pg.onprem.waris.internal", gcloud: "pg.gcloud.waris.internal" },
    appPassword: config.requireSecret("postgresAppPassword"),
    storageSizeGiB: 200,
  },
  { dependsOn: [backups] },
);

export const guarantees = { rpoMinutes: postgres.rpoMinutes, rtoMinutes: postgres.rtoMinutes };
