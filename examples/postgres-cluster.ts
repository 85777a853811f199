// PostgreSQL on-prem with a G-Cloud standby; flip activeSite to fail over.
import * as pulumi from "@pulumi/pulumi";
import { PostgresCluster } from "@waris/hybrid-infra";
import { backups } from "./object-storage-bucket";
import { gcloud, onprem } from "./site";

const config = new pulumi.Config();

export const postgres = new PostgresCluster(
  "waris-postgres",
  {
    sites: [onprem, gcloud],
    activeSite: config.get("activeSite") ?? "onprem",
    homeSite: "onprem",
    backupSite: gcloud,
    backupBucket: backups.bucket,
    replicationHosts: { onprem: "pg.onprem.waris.internal", gcloud: "pg.gcloud.waris.internal" },
    appPassword: config.requireSecret("postgresAppPassword"),
    storageSizeGiB: 200,
  },
  { dependsOn: [backups] },
);

export const guarantees = { rpoMinutes: postgres.rpoMinutes, rtoMinutes: postgres.rtoMinutes };
