// PostgreSQL as Amazon RDS in Bangkok with a read replica, for a team running on the AWS site.
import * as pulumi from "@pulumi/pulumi";
import { ManagedPostgres, Site } from "@waris/hybrid-infra";

const config = new pulumi.Config();
const bangkok = new Site("aws-bkk", { kind: "aws", region: "ap-southeast-7", country: "TH", role: "standby" });

export const reports = new ManagedPostgres("waris-reports", {
  site: bangkok,
  subnetGroupName: "waris-private",
  securityGroupIds: ["sg-0a1b2c3d4e5f"],
  password: config.requireSecret("reportsDbPassword"),
  readReplicas: 1,
});

export const endpoint = reports.endpoint;
