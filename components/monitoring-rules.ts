/**
 * What the monitoring of a site watches and whom it tells (pure, no resources): the alert rules, the
 * blackbox probes of every site's endpoints, the Alertmanager configuration and the alerts each dataset's
 * RPO depends on. `Monitoring` (components/monitoring.ts) renders them; the stack configuration and the
 * tests read them directly.
 *
 * Metric names are the exporters' own:
 * - node-exporter `node_cpu_seconds_total`, `node_memory_MemAvailable_bytes`, `node_filesystem_*`
 *   (prometheus/node_exporter, collector/cpu_linux.go, meminfo.go, filesystem_common.go);
 * - kube-state-metrics `kube_cronjob_status_last_successful_time`, `kube_cronjob_created`,
 *   `kube_cronjob_spec_suspend`, `kube_job_failed{condition}` (kubernetes/kube-state-metrics
 *   docs/metrics/workload/cronjob-metrics.md, job-metrics.md);
 * - the Barman Cloud plugin of CloudNativePG `barman_cloud_cloudnative_pg_io_last_available_backup_timestamp`,
 *   `..._last_failed_backup_timestamp` (cloudnative-pg/plugin-barman-cloud docs, "Observability"), and
 *   CloudNativePG's default `cnpg_pg_replication_in_recovery` (config/manager/default-monitoring.yaml);
 * - Percona's mongodb_exporter `mongodb_pbm_backup_last_transition_ts{status}` (its PBM collector, on with
 *   `--collect-all`, which the MongoDB component passes: percona/mongodb_exporter exporter/exporter.go);
 * - NVIDIA DCGM exporter's default counters `DCGM_FI_DEV_GPU_UTIL`, `DCGM_FI_DEV_GPU_TEMP`,
 *   `DCGM_FI_DEV_XID_ERRORS`, `DCGM_FI_DEV_ROW_REMAP_FAILURE`, `DCGM_FI_DEV_FB_USED`, `DCGM_FI_DEV_FB_FREE`
 *   (NVIDIA/dcgm-exporter etc/default-counters.csv; the GPU Operator runs it with its ServiceMonitor on);
 * - the blackbox exporter's `probe_success`, `probe_duration_seconds` (prometheus/blackbox_exporter prober/).
 */
import type { HelmChartRef } from "./labels";

/** The pinned charts of the monitoring stack (versions checked against the upstream data in `npm test`). */
export const MONITORING_CHARTS: Readonly<Record<"stack" | "blackbox" | "cnpgDashboards", HelmChartRef>> = {
  /** Prometheus (operator and CRDs), Alertmanager, Grafana, node-exporter, kube-state-metrics. */
  stack: { repo: "https://prometheus-community.github.io/helm-charts", chart: "kube-prometheus-stack", version: "88.5.3" },
  /** The blackbox exporter that probes the sites' endpoints. */
  blackbox: { repo: "https://prometheus-community.github.io/helm-charts", chart: "prometheus-blackbox-exporter", version: "11.17.2" },
  /** CloudNativePG's own Grafana dashboard (cloudnative-pg/grafana-dashboards, chart `cluster`). */
  cnpgDashboards: { repo: "https://cloudnative-pg.github.io/grafana-dashboards", chart: "cluster", version: "0.0.5" },
};

/** Namespace of the monitoring stack on every site (the inference autoscaler's default Prometheus address points here). */
export const MONITORING_NAMESPACE = "monitoring";

/** Prometheus job name of every endpoint probe (the Probe resources' `jobName`). */
export const PROBE_JOB = "waris-endpoints";

/** Severities the platform's alerts carry, most urgent first. */
export const SEVERITIES = ["critical", "warning", "info"] as const;

/** A severity; see {@link SEVERITIES}. */
export type Severity = (typeof SEVERITIES)[number];

/**
 * The seed's host and service thresholds (seed 002): CPU above 80 %, memory above 85 %, GPU above 95 %,
 * response time above 100 ms, error rate above 1 %; disk above 85 % used is the same margin as memory.
 */
export const SEED_THRESHOLDS = {
  /** CPU busy, % of a node. */
  cpuPercent: 80,
  /** Memory in use, % of a node. */
  memoryPercent: 85,
  /** Filesystem used, %. */
  diskPercent: 85,
  /** GPU utilisation, %. */
  gpuPercent: 95,
  /** Time to answer a probe of the site's own endpoints, ms. */
  responseMilliseconds: 100,
  /** Failed requests, % (the LLM's: `InferenceErrorRateHigh` of components/inference-cluster.ts). */
  errorRatePercent: 1,
} as const;

/**
 * How the blackbox exporter probes an endpoint:
 * - `tcp_connect`: a TCP connection (PostgreSQL starts TLS inside its own protocol, after an SSLRequest
 *   message the blackbox exporter cannot send, so its port is only connected to);
 * - `tcp_tls`: a TCP connection and a TLS handshake (Redis, MongoDB and the LLM gateway speak TLS at once);
 * - `https_reachable`: an HTTPS request that any HTTP answer satisfies, 403 included (an S3 store answers
 *   an anonymous request with 403: it is up and speaking TLS).
 */
export type ProbeModule = "tcp_connect" | "tcp_tls" | "https_reachable";

/**
 * The blackbox exporter's modules (its `config.modules`; prometheus/blackbox_exporter CONFIGURATION.md).
 * The probes check that an endpoint answers, and with TLS, across the VPN: certificates are verified by
 * the real clients against each dataset's own CA, which the exporter does not hold, so they are not here.
 */
export const PROBE_MODULES: Readonly<Record<ProbeModule, Record<string, unknown>>> = {
  tcp_connect: { prober: "tcp", timeout: "5s", tcp: { preferred_ip_protocol: "ip4" } },
  tcp_tls: { prober: "tcp", timeout: "5s", tcp: { preferred_ip_protocol: "ip4", tls: true, tls_config: { insecure_skip_verify: true } } },
  https_reachable: {
    prober: "http",
    timeout: "5s",
    http: {
      preferred_ip_protocol: "ip4",
      method: "GET",
      fail_if_not_ssl: true,
      valid_status_codes: [200, 204, 301, 302, 400, 401, 403, 404, 405],
      tls_config: { insecure_skip_verify: true },
    },
  },
};

/** What a probed endpoint is. */
export type EndpointKind = "database" | "llm-gateway" | "object-store";

/** One endpoint every site probes. */
export interface ProbeTarget {
  /** The site the endpoint belongs to. */
  readonly site: string;
  /** What it is. */
  readonly kind: EndpointKind;
  /** What it serves, e.g. `waris-postgres` or `object store`. */
  readonly service: string;
  /** `host:port` for TCP modules, an `https://` URL for `https_reachable`. */
  readonly target: string;
  /** How it is probed. */
  readonly module: ProbeModule;
}

/** Kinds of dataset the recovery table lists. */
export type MonitoredDatasetKind = "postgresql" | "mongodb" | "redis" | "milvus" | "model-artifacts";

/** A dataset whose backups the monitoring watches. */
export interface MonitoredDataset {
  /** Dataset id (`waris-postgres`). */
  readonly dataset: string;
  /** Its kind. */
  readonly kind: MonitoredDatasetKind;
  /** Namespace of its store and backup jobs (not for model artifacts). */
  readonly namespace?: string;
  /** Longest time between two scheduled full backups or dumps, minutes (not for model artifacts). */
  readonly backupGapMinutes?: number;
}

/** Minutes one backup may take after its scheduled time before its lateness is an alert. */
export const BACKUP_GRACE_MINUTES = 30;

/**
 * The alerts that fire when a dataset's RPO is at risk, the first being the one the recovery table names.
 * Replication-lag and WAL-archive alerts are made by the datastore components themselves
 * (`PostgresReplicationLagHigh`, `PostgresWalArchiveStale`, `MongoReplicationLagHigh`,
 * `RedisReplicationLagHigh`); the others by {@link monitoringRuleGroups}. Model artifacts are versioned as
 * they are written (RPO 0): they are at risk when their store cannot be reached.
 */
export function datasetRpoAlerts(kind: MonitoredDatasetKind): readonly string[] {
  switch (kind) {
    case "postgresql":
      return ["PostgresWalArchiveStale", "PostgresReplicationLagHigh", "PostgresBackupStale", "PostgresBackupFailed", "BackupJobFailed"];
    case "mongodb":
      return ["MongoReplicationLagHigh", "MongoPitrDisabled", "MongoBackupStale", "MongoBackupFailed", "BackupJobFailed"];
    case "redis":
      return ["RedisReplicationLagHigh", "RedisBackupStale", "BackupJobFailed"];
    case "milvus":
      return ["MilvusBackupStale", "BackupJobFailed"];
    case "model-artifacts":
      return ["ObjectStoreUnreachable"];
    default: {
      const never: never = kind;
      throw new Error(`unknown dataset kind ${String(never)}`);
    }
  }
}

/** An alert's labels. */
export interface AlertLabels {
  /** Decides the receivers (see {@link receiversFor}). */
  readonly severity: Severity;
  /** The dataset the alert is about, for backup alerts. */
  readonly dataset?: string;
}

/** One Prometheus alerting rule (the PrometheusRule CRD's `spec.groups[].rules[]`). */
export interface AlertRule {
  /** Alert name. */
  readonly alert: string;
  /** PromQL expression. */
  readonly expr: string;
  /** How long it must hold, e.g. `5m`. */
  readonly for: string;
  /** Labels; `severity` decides the receivers. */
  readonly labels: AlertLabels;
  /** `summary` (and `description`) for the notification. */
  readonly annotations: Readonly<Record<string, string>>;
}

/** A rule group. */
export interface AlertRuleGroup {
  /** Group name. */
  readonly name: string;
  /** Its rules. */
  readonly rules: readonly AlertRule[];
}

/** What {@link monitoringRuleGroups} needs of a site. */
export interface SiteAlertInput {
  /** The site whose Prometheus evaluates the rules. */
  readonly site: string;
  /** Every endpoint probed from this site (its own and the other sites'). */
  readonly probes: readonly ProbeTarget[];
  /** The datasets whose backups are watched. */
  readonly datasets: readonly MonitoredDataset[];
  /** Whether the site has GPUs (DCGM exporter metrics). */
  readonly gpus: boolean;
}

const minutes = (m: number): string => (m % 60 === 0 ? `${m / 60}h` : `${m}m`);

/** PromQL string literal. */
const lit = (s: string): string => JSON.stringify(s);

/**
 * The alert rule groups of one site's monitoring (pure): the loss of another site (every probe of it
 * failing: one alert, `SiteUnreachable`), an endpoint or object store not answering, the seed's host and
 * service thresholds, GPU health, and for every dataset the age of its last successful backup against its
 * schedule and its failed backup or restore Jobs.
 */
export function monitoringRuleGroups(input: SiteAlertInput): AlertRuleGroup[] {
  const { site } = input;
  const t = SEED_THRESHOLDS;
  const probes = `job=${lit(PROBE_JOB)}`;
  const groups: AlertRuleGroup[] = [];
  const others = [...new Set(input.probes.map((p) => p.site))].filter((s) => s !== site);
  groups.push({
    name: "waris.sites",
    rules: [
      ...(others.length
        ? [
            {
              alert: "SiteUnreachable",
              // Every endpoint of the other site failing at once is the loss of that site (or of the VPN to it):
              // the first step of the failover runbook. The per-endpoint alerts are inhibited meanwhile.
              expr: `max by (target_site) (probe_success{${probes}, target_site!=${lit(site)}}) == 0`,
              for: "3m",
              labels: { severity: "critical" as const },
              annotations: {
                summary: "Site {{ $labels.target_site }} is unreachable from " + site + ": every probed endpoint (databases, LLM gateway, object store) fails.",
                description: "Start the failover runbook (npm run runbook): confirm with the site's staff whether it is lost or only cut off, before any promote phase.",
              },
            },
          ]
        : []),
      {
        alert: "EndpointDown",
        expr: `probe_success{${probes}, endpoint_kind!="object-store"} == 0`,
        for: "3m",
        labels: { severity: "critical" },
        annotations: { summary: `{{ $labels.service }} of site {{ $labels.target_site }} ({{ $labels.instance }}) does not answer from ${site}.` },
      },
      {
        alert: "ObjectStoreUnreachable",
        expr: `probe_success{${probes}, endpoint_kind="object-store"} == 0`,
        for: "5m",
        labels: { severity: "critical" },
        annotations: { summary: `The object store of site {{ $labels.target_site }} ({{ $labels.instance }}) does not answer from ${site}: backups, WAL archive and model artifacts written there are at risk.` },
      },
      {
        alert: "ServiceResponseSlow",
        // Only the site's own endpoints: a probe across the VPN adds the link's delay.
        expr: `probe_duration_seconds{${probes}, target_site=${lit(site)}} > ${t.responseMilliseconds / 1000}`,
        for: "10m",
        labels: { severity: "warning" },
        annotations: { summary: `{{ $labels.service }} on ${site} takes more than ${t.responseMilliseconds} ms to answer a probe.` },
      },
    ],
  });
  groups.push({
    name: "waris.hosts",
    rules: [
      {
        alert: "HostCpuHigh",
        expr: `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))) > ${t.cpuPercent}`,
        for: "15m",
        labels: { severity: "warning" },
        annotations: { summary: `CPU of {{ $labels.instance }} on ${site} above ${t.cpuPercent}% for 15 minutes.` },
      },
      {
        alert: "HostMemoryHigh",
        expr: `100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > ${t.memoryPercent}`,
        for: "15m",
        labels: { severity: "warning" },
        annotations: { summary: `Memory of {{ $labels.instance }} on ${site} above ${t.memoryPercent}% for 15 minutes.` },
      },
      {
        alert: "HostDiskFull",
        expr: `100 * (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}) > ${t.diskPercent}`,
        for: "15m",
        labels: { severity: "warning" },
        annotations: { summary: `Filesystem {{ $labels.mountpoint }} of {{ $labels.instance }} on ${site} above ${t.diskPercent}% used.` },
      },
    ],
  });
  if (input.gpus) {
    groups.push({
      name: "waris.gpus",
      rules: [
        {
          alert: "GpuUtilisationHigh",
          expr: `DCGM_FI_DEV_GPU_UTIL > ${t.gpuPercent}`,
          for: "15m",
          labels: { severity: "warning" },
          annotations: { summary: `GPU {{ $labels.gpu }} of {{ $labels.Hostname }} on ${site} above ${t.gpuPercent}% for 15 minutes.` },
        },
        {
          alert: "GpuXidError",
          // An XID is the driver's report of a GPU fault (NVIDIA "XID Errors"); the gauge holds the last one.
          expr: "DCGM_FI_DEV_XID_ERRORS > 0",
          for: "0m",
          labels: { severity: "critical" },
          annotations: { summary: `GPU {{ $labels.gpu }} of {{ $labels.Hostname }} on ${site} reported XID {{ $value }}.` },
        },
        {
          alert: "GpuRowRemapFailure",
          expr: "DCGM_FI_DEV_ROW_REMAP_FAILURE > 0",
          for: "0m",
          labels: { severity: "critical" },
          annotations: { summary: `GPU {{ $labels.gpu }} of {{ $labels.Hostname }} on ${site}: memory row remapping failed; the GPU needs service.` },
        },
        {
          alert: "GpuTemperatureHigh",
          expr: "DCGM_FI_DEV_GPU_TEMP > 85",
          for: "10m",
          labels: { severity: "warning" },
          annotations: { summary: `GPU {{ $labels.gpu }} of {{ $labels.Hostname }} on ${site} above 85 °C.` },
        },
        {
          alert: "GpuMetricsAbsent",
          expr: "absent(DCGM_FI_DEV_GPU_UTIL)",
          for: "10m",
          labels: { severity: "warning" },
          annotations: { summary: `No DCGM exporter metrics on ${site}: GPU health is not watched.` },
        },
      ],
    });
  }
  const backupRules: AlertRule[] = [];
  const namespaces = input.datasets.map((d) => d.namespace).filter((n): n is string => n !== undefined);
  for (const d of input.datasets) {
    if (d.kind === "model-artifacts" || d.backupGapMinutes === undefined || d.namespace === undefined) continue;
    const allowedSeconds = (d.backupGapMinutes + BACKUP_GRACE_MINUTES) * 60;
    const ns = `namespace=${lit(d.namespace)}`;
    const labels = { severity: "critical" as const, dataset: d.dataset };
    const stale = `${d.dataset} on ${site}: no successful backup for more than ${minutes(d.backupGapMinutes + BACKUP_GRACE_MINUTES)} (its schedule's longest gap, ${minutes(d.backupGapMinutes)}, plus ${BACKUP_GRACE_MINUTES} min).`;
    if (d.kind === "postgresql") {
      // Only the primary's instance reports backups; a replica cluster's are not taken.
      const primary = `on (namespace, pod) (cnpg_pg_replication_in_recovery{${ns}} == 0)`;
      backupRules.push(
        {
          alert: "PostgresBackupStale",
          expr: `(time() - max by (namespace, pod) (barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{${ns}})) > ${allowedSeconds} and ${primary}`,
          for: "15m",
          labels,
          annotations: { summary: stale },
        },
        {
          alert: "PostgresBackupFailed",
          expr: `max by (namespace, pod) (barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp{${ns}}) > max by (namespace, pod) (barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{${ns}})`,
          for: "5m",
          labels,
          annotations: { summary: `${d.dataset} on ${site}: the last base backup failed.` },
        },
      );
    } else if (d.kind === "mongodb") {
      backupRules.push(
        {
          alert: "MongoBackupStale",
          expr: `(time() - max(mongodb_pbm_backup_last_transition_ts{${ns}, status="done"})) > ${allowedSeconds}`,
          for: "15m",
          labels,
          annotations: { summary: stale },
        },
        {
          alert: "MongoPitrDisabled",
          // The RPO of 10 min is the PITR oplog span: with PITR off, only the daily backup is left.
          expr: `max(mongodb_pbm_cluster_pitr_backup_enabled{${ns}}) == 0`,
          for: "15m",
          labels,
          annotations: { summary: `${d.dataset} on ${site}: point-in-time recovery (PBM oplog slicing) is off; only full backups protect the data.` },
        },
        {
          alert: "MongoBackupFailed",
          expr: `max(mongodb_pbm_backup_last_transition_ts{${ns}, status="error"}) > max(mongodb_pbm_backup_last_transition_ts{${ns}, status="done"})`,
          for: "5m",
          labels,
          annotations: { summary: `${d.dataset} on ${site}: the last PBM backup failed.` },
        },
      );
    } else {
      // Redis dumps and Milvus backups are CronJobs named <dataset>-backup (datasetBackupCronJob); the copy
      // suspended where the dataset is not primary is left out. A CronJob that never succeeded has no
      // last-success time: its creation time stands in, so it is stale once the allowed age has passed.
      const cronjob = `${ns}, cronjob=${lit(`${d.dataset}-backup`)}`;
      backupRules.push({
        alert: d.kind === "redis" ? "RedisBackupStale" : "MilvusBackupStale",
        expr: `(time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{${cronjob}} or kube_cronjob_created{${cronjob}})) > ${allowedSeconds} unless on (namespace, cronjob) (kube_cronjob_spec_suspend{${cronjob}} == 1)`,
        for: "15m",
        labels,
        annotations: { summary: stale },
      });
    }
  }
  if (namespaces.length) {
    backupRules.push({
      alert: "BackupJobFailed",
      // Every Job of the datasets' namespaces (backups, dumps, final backups, restores) whose Failed condition
      // is true: it gave up (a pod that failed and was retried successfully is no alert).
      expr: `max by (namespace, job_name) (kube_job_failed{namespace=~${lit([...new Set(namespaces)].join("|"))}, condition="true"}) == 1`,
      for: "0m",
      labels: { severity: "critical" },
      annotations: { summary: `Job {{ $labels.job_name }} in {{ $labels.namespace }} on ${site} failed (a backup, dump or restore did not complete); delete the Job once handled to clear the alert.` },
    });
  }
  if (backupRules.length) groups.push({ name: "waris.backups", rules: backupRules });
  return groups;
}

/** Alerts made by the datastore components that the site's loss makes redundant on the surviving site. */
export const REPLICATION_ALERTS = ["PostgresReplicationLagHigh", "MongoReplicationLagHigh", "RedisReplicationLagHigh", "RedisReplicationLinkDown", "RedisNoReplica"] as const;

/** E-mail receiver (SMTP). */
export interface EmailReceiver {
  /** Addresses notified. */
  readonly to: readonly string[];
  /** Sender address. */
  readonly from: string;
  /** SMTP server, `host:port` (STARTTLS is required). */
  readonly smarthost: string;
  /** SMTP user, when the server authenticates. */
  readonly username?: string;
  /** Severities sent. Default critical, warning, info. */
  readonly severities?: readonly Severity[];
}

/** PagerDuty receiver (Events API v2). */
export interface PagerDutyReceiver {
  /** Severities sent. Default critical. */
  readonly severities?: readonly Severity[];
}

/**
 * A webhook for LINE. LINE Notify was discontinued on 2025-03-31 (LINE's announcement), so the URL must be
 * a relay that receives Alertmanager's webhook JSON and sends it with the LINE Messaging API (a LINE
 * Official Account's channel access token and a push to the operations group).
 */
export interface LineReceiver {
  /** Severities sent. Default critical, warning. */
  readonly severities?: readonly Severity[];
}

/** The receivers a stack configures (secrets apart). */
export interface ReceiverSettings {
  /** E-mail. */
  readonly email?: EmailReceiver;
  /** PagerDuty. */
  readonly pagerduty?: PagerDutyReceiver;
  /** The LINE relay's webhook. */
  readonly line?: LineReceiver;
}

/** The receivers' secrets, as plain strings (the component resolves the Pulumi secrets). */
export interface ReceiverSecrets {
  /** SMTP password, when `email.username` is set. */
  readonly smtpPassword?: string;
  /** PagerDuty Events API v2 routing (integration) key. */
  readonly pagerdutyRoutingKey?: string;
  /** URL of the LINE Messaging API relay (it may carry a token). */
  readonly lineWebhookUrl?: string;
}

/** Default severities of each receiver: the pager only wakes someone for critical alerts. */
export const DEFAULT_RECEIVER_SEVERITIES: Readonly<Record<keyof ReceiverSettings, readonly Severity[]>> = {
  pagerduty: ["critical"],
  line: ["critical", "warning"],
  email: ["critical", "warning", "info"],
};

const RECEIVER_ORDER: ReadonlyArray<keyof ReceiverSettings> = ["pagerduty", "line", "email"];

/** Which configured receivers get alerts of a severity, in routing order. */
export function receiversFor(receivers: ReceiverSettings, severity: Severity): Array<keyof ReceiverSettings> {
  return RECEIVER_ORDER.filter((r) => receivers[r] !== undefined && (receivers[r]!.severities ?? DEFAULT_RECEIVER_SEVERITIES[r]).includes(severity));
}

/** A problem with the receiver settings. */
export interface ReceiverProblem {
  /** Dotted path under the monitoring settings, e.g. `receivers`. */
  readonly path: string;
  /** What is wrong and what is allowed. */
  readonly message: string;
}

/** Problems with receiver settings (pure): none configured, or a severity the alerts use that nobody receives. */
export function receiverProblems(receivers: ReceiverSettings): ReceiverProblem[] {
  const problems: ReceiverProblem[] = [];
  if (!RECEIVER_ORDER.some((r) => receivers[r] !== undefined)) {
    problems.push({ path: "receivers", message: "configures no receiver; set at least one of email, pagerduty, line (nobody would be told of an alert)" });
    return problems;
  }
  for (const severity of ["critical", "warning"] as const) {
    if (receiversFor(receivers, severity).length === 0) {
      problems.push({ path: "receivers", message: `no receiver takes severity "${severity}" alerts; add it to the severities of one of: ${RECEIVER_ORDER.filter((r) => receivers[r]).join(", ")}` });
    }
  }
  return problems;
}

/**
 * The Alertmanager configuration of a site (pure; `alertmanager.yaml`, Alertmanager docs
 * "Configuration"): a receiver per configured channel, routes by severity (each matching receiver gets
 * the alert: `continue: true`), the `Watchdog`/`InfoInhibitor` heartbeats of the stack's default rules
 * to a receiver with no integration, and inhibition so that the loss of a site raises one alert:
 * `SiteUnreachable` silences the per-endpoint alerts of that site and the replication alerts of this one.
 *
 * @throws Error when a configured receiver's secret is missing (the stack configuration reports it first).
 */
export function alertmanagerConfig(site: string, receivers: ReceiverSettings, secrets: ReceiverSecrets): Record<string, unknown> {
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined || value === "") throw new Error(`Monitoring on ${site}: ${what} is required by the configured receiver`);
    return value;
  };
  const defs: Array<Record<string, unknown>> = [{ name: "null" }];
  if (receivers.pagerduty) {
    defs.push({
      name: "pagerduty",
      pagerduty_configs: [{ routing_key: need(secrets.pagerdutyRoutingKey, "the PagerDuty routing key"), severity: "{{ .CommonLabels.severity }}", send_resolved: true }],
    });
  }
  if (receivers.line) defs.push({ name: "line", webhook_configs: [{ url: need(secrets.lineWebhookUrl, "the LINE relay webhook URL"), send_resolved: true }] });
  if (receivers.email) {
    const e = receivers.email;
    defs.push({
      name: "email",
      email_configs: [
        {
          to: e.to.join(", "),
          from: e.from,
          smarthost: e.smarthost,
          require_tls: true,
          send_resolved: true,
          ...(e.username ? { auth_username: e.username, auth_password: need(secrets.smtpPassword, "the SMTP password") } : {}),
        },
      ],
    });
  }
  const routes: Array<Record<string, unknown>> = [{ receiver: "null", matchers: ['alertname=~"Watchdog|InfoInhibitor"'] }];
  for (const r of RECEIVER_ORDER) {
    if (!receivers[r]) continue;
    const severities = SEVERITIES.filter((s) => receiversFor(receivers, s).includes(r));
    if (severities.length) routes.push({ receiver: r, matchers: [`severity=~"${severities.join("|")}"`], continue: true });
  }
  return {
    global: { resolve_timeout: "5m" },
    route: {
      // An alert of no known severity still reaches someone: the first receiver of critical alerts.
      receiver: receiversFor(receivers, "critical")[0] ?? "null",
      group_by: ["alertname", "site", "target_site", "dataset"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes,
    },
    inhibit_rules: [
      { source_matchers: ['alertname="SiteUnreachable"'], target_matchers: ['alertname=~"EndpointDown|ObjectStoreUnreachable"'], equal: ["target_site"] },
      { source_matchers: ['alertname="SiteUnreachable"'], target_matchers: [`alertname=~"${REPLICATION_ALERTS.join("|")}"`], equal: ["site"] },
    ],
    receivers: defs,
  };
}
