// Rules, probes, dashboards and the Alertmanager configuration for a team's datastore, on the G-Cloud
// cluster's existing monitoring stack (installStack stays false: the platform owns the cluster's
// kube-prometheus-stack). Critical alerts page; warnings go to the LINE relay (LINE Notify ended 2025-03-31).
import * as pulumi from "@pulumi/pulumi";
import { Monitoring } from "@waris/hybrid-infra";
import { gcloud } from "./site";

const config = new pulumi.Config();

export const monitoring = new Monitoring("team-monitoring", {
  site: gcloud,
  probes: [
    { site: "onprem", kind: "database", service: "team-postgres", target: "pg.onprem.example.internal:5432", module: "tcp_connect" },
    { site: "gcloud", kind: "object-store", service: "object store", target: "https://s3.gdcc.go.th", module: "https_reachable" },
  ],
  // Weekly full backups: stale after 7 days plus the grace.
  datasets: [{ dataset: "team-postgres", kind: "postgresql", namespace: "team-postgres", backupGapMinutes: 7 * 24 * 60 }],
  receivers: { pagerduty: {}, line: { severities: ["critical", "warning"] } },
  secrets: {
    pagerdutyRoutingKey: config.requireSecret("pagerdutyRoutingKey"),
    lineWebhookUrl: config.requireSecret("lineWebhookUrl"),
  },
});
