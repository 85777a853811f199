/**
 * Grafana dashboards as code (pure): MongoDB, vLLM and the GPUs, as dashboard JSON (Grafana docs,
 * "JSON model") that the stack's Grafana loads from ConfigMaps labelled `grafana_dashboard: "1"` (the
 * kube-prometheus-stack chart's `grafana.sidecar.dashboards` defaults). PostgreSQL's is CloudNativePG's
 * own, installed from its chart (`MONITORING_CHARTS.cnpgDashboards`).
 *
 * Metric names: Percona mongodb_exporter in `--compatible-mode` (`mongodb_mongod_replset_member_replication_lag`,
 * `mongodb_connections`, `mongodb_op_counters_total`; exporter/v1_compatibility.go) and its PBM collector;
 * vLLM 0.11's V1 engine (`vllm:num_requests_running`, `vllm:num_requests_waiting`,
 * `vllm:time_to_first_token_seconds`, `vllm:e2e_request_latency_seconds`, `vllm:generation_tokens_total`,
 * `vllm:kv_cache_usage_perc`; vllm/v1/metrics/loggers.py); DCGM exporter's default counters.
 */

/** One time-series panel. */
export interface DashboardPanel {
  /** Title. */
  readonly title: string;
  /** PromQL query; `{{label}}` legends come from `legend`. */
  readonly expr: string;
  /** Legend format, e.g. `{{pod}}`. */
  readonly legend?: string;
  /** Grafana unit id (`s`, `percent`, `bytes`, `short`, `dateTimeFromNow`). */
  readonly unit: string;
}

/** A dashboard: a stable uid, a title and its panels (two per row). */
export interface DashboardSpec {
  /** Grafana uid (stable across updates). */
  readonly uid: string;
  /** Title. */
  readonly title: string;
  /** Panels. */
  readonly panels: readonly DashboardPanel[];
}

/**
 * The dashboards of a site: MongoDB and vLLM when the stack has them, the GPUs when the site has any.
 *
 * @param prefix - starts every uid (`<prefix>-mongodb`), so two components' dashboards never collide; at
 *   most 30 characters (Grafana uids are at most 40).
 */
export function siteDashboards(prefix: string, has: { readonly mongodb: boolean; readonly inference: boolean; readonly gpus: boolean }): DashboardSpec[] {
  const out: DashboardSpec[] = [];
  if (has.mongodb) {
    out.push({
      uid: `${prefix}-mongodb`,
      title: "WARIS / MongoDB",
      panels: [
        { title: "Replication lag", expr: "max by (name) (mongodb_mongod_replset_member_replication_lag)", legend: "{{name}}", unit: "s" },
        { title: "Connections", expr: 'sum by (pod) (mongodb_connections{state="current"})', legend: "{{pod}}", unit: "short" },
        { title: "Operations per second", expr: "sum by (type) (rate(mongodb_op_counters_total[5m]))", legend: "{{type}}", unit: "ops" },
        { title: "Last successful backup", expr: 'max(mongodb_pbm_backup_last_transition_ts{status="done"}) * 1000', legend: "PBM", unit: "dateTimeFromNow" },
      ],
    });
  }
  if (has.inference) {
    out.push({
      uid: `${prefix}-vllm`,
      title: "WARIS / vLLM",
      panels: [
        { title: "Requests running and waiting", expr: "sum by (__name__) ({__name__=~\"vllm:num_requests_running|vllm:num_requests_waiting\"})", legend: "{{__name__}}", unit: "short" },
        { title: "Time to first token (p50)", expr: "histogram_quantile(0.5, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[5m])))", legend: "p50", unit: "s" },
        { title: "End-to-end latency (p95)", expr: "histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket[5m])))", legend: "p95", unit: "s" },
        { title: "Generated tokens per second", expr: "sum(rate(vllm:generation_tokens_total[5m]))", legend: "tokens/s", unit: "short" },
        { title: "KV cache usage", expr: "max by (pod) (vllm:kv_cache_usage_perc) * 100", legend: "{{pod}}", unit: "percent" },
      ],
    });
  }
  if (has.gpus) {
    out.push({
      uid: `${prefix}-gpus`,
      title: "WARIS / GPUs",
      panels: [
        { title: "GPU utilisation", expr: "DCGM_FI_DEV_GPU_UTIL", legend: "{{Hostname}} GPU {{gpu}}", unit: "percent" },
        { title: "GPU memory used", expr: "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) * 100", legend: "{{Hostname}} GPU {{gpu}}", unit: "percent" },
        { title: "Temperature", expr: "DCGM_FI_DEV_GPU_TEMP", legend: "{{Hostname}} GPU {{gpu}}", unit: "celsius" },
        { title: "Power", expr: "DCGM_FI_DEV_POWER_USAGE", legend: "{{Hostname}} GPU {{gpu}}", unit: "watt" },
        { title: "Last XID error", expr: "DCGM_FI_DEV_XID_ERRORS", legend: "{{Hostname}} GPU {{gpu}}", unit: "short" },
      ],
    });
  }
  return out;
}

/** A dashboard's JSON model (Grafana schemaVersion 39), on the stack's Prometheus data source (uid `prometheus`). */
export function dashboardJson(spec: DashboardSpec): string {
  const datasource = { type: "prometheus", uid: "prometheus" };
  return JSON.stringify({
    uid: spec.uid,
    title: spec.title,
    schemaVersion: 39,
    editable: false,
    time: { from: "now-6h", to: "now" },
    refresh: "1m",
    tags: ["waris"],
    panels: spec.panels.map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      datasource,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: [{ refId: "A", datasource, expr: p.expr, legendFormat: p.legend ?? "__auto" }],
    })),
  });
}
