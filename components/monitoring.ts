import * as pulumi from "@pulumi/pulumi";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import { Release } from "@pulumi/kubernetes/helm/v3/release";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { KeyStore, PulumiStateKeys } from "./keys";
import { placementLabels } from "./labels";
import { dashboardJson, siteDashboards } from "./monitoring-dashboards";
import {
  MONITORING_CHARTS,
  MONITORING_NAMESPACE,
  PROBE_JOB,
  PROBE_MODULES,
  EndpointKind,
  ProbeModule,
  ProbeTarget,
  MonitoredDataset,
  ReceiverSettings,
  SEVERITIES,
  Severity,
  alertmanagerConfig,
  monitoringRuleGroups,
  receiverProblems,
  receiversFor,
} from "./monitoring-rules";
import { Site } from "./site";

/** Arguments of {@link Monitoring}. */
export interface MonitoringArgs {
  /** The site monitored; its Kubernetes provider is used. */
  readonly site: Site;
  /**
   * Install the kube-prometheus-stack chart here (Prometheus operator and its CRDs, Prometheus,
   * Alertmanager, Grafana, node-exporter, kube-state-metrics): cluster-wide objects, so one owner per
   * cluster, and off by default (a library user's component then only adds rules, probes, dashboards and the
   * Alertmanager configuration Secret to the cluster's existing stack). The platform's program sets it.
   * @defaultValue false
   */
  readonly installStack?: boolean;
  /** Namespace of the monitoring stack. @defaultValue `monitoring` */
  readonly namespace?: string;
  /** Days Prometheus keeps its data (on this site only). @defaultValue 15 */
  readonly retentionDays?: number;
  /** Prometheus volume, GiB; the data is trimmed at 90 % of it. @defaultValue 100 */
  readonly storageSizeGiB?: number;
  /** Alertmanager volume (silences, notification log), GiB. @defaultValue 5 */
  readonly alertmanagerStorageGiB?: number;
  /** Storage class of the volumes. @defaultValue the cluster's default */
  readonly storageClass?: string;
  /** Endpoints probed from this site: every site's databases, LLM gateway and object store. */
  readonly probes: readonly ProbeTarget[];
  /** Datasets whose backups are watched. */
  readonly datasets: readonly MonitoredDataset[];
  /** Whether the site has GPUs (DCGM alerts and dashboard). @defaultValue false */
  readonly gpus?: boolean;
  /** Whether the stack serves an LLM here (vLLM dashboard). @defaultValue false */
  readonly inference?: boolean;
  /** Who is told, by severity. */
  readonly receivers: ReceiverSettings;
  /** The receivers' secrets: each is required when its receiver is configured. */
  readonly secrets: {
    /** SMTP password (`receivers.email.username` set). */
    readonly smtpPassword?: pulumi.Input<string>;
    /** PagerDuty Events API v2 routing key (`receivers.pagerduty`). */
    readonly pagerdutyRoutingKey?: pulumi.Input<string>;
    /** The LINE Messaging API relay's webhook URL (`receivers.line`). */
    readonly lineWebhookUrl?: pulumi.Input<string>;
  };
  /**
   * Where the Grafana admin password comes from (components/keys.ts; a generated password
   * `<name>-grafana-admin`, with `installStack` only). @defaultValue `new PulumiStateKeys()`: in the Pulumi
   * state, in a plain Secret.
   */
  readonly keys?: KeyStore;
}

const whole = (n: unknown, min: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= min;
const HOST_PORT = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:\d{1,5}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Every problem with the arguments (pure); the secrets are given as presence flags. */
export function validateMonitoringArgs(
  args: Omit<MonitoringArgs, "site" | "secrets"> & { readonly hasSmtpPassword: boolean; readonly hasPagerdutyRoutingKey: boolean; readonly hasLineWebhookUrl: boolean },
): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  if (args.retentionDays !== undefined && !whole(args.retentionDays, 1)) add("retentionDays", `is ${show(args.retentionDays)}; must be a whole number of days, at least 1`);
  if (args.storageSizeGiB !== undefined && !whole(args.storageSizeGiB, 1)) add("storageSizeGiB", `is ${show(args.storageSizeGiB)}; must be a whole number of GiB, at least 1`);
  if (args.alertmanagerStorageGiB !== undefined && !whole(args.alertmanagerStorageGiB, 1)) add("alertmanagerStorageGiB", `is ${show(args.alertmanagerStorageGiB)}; must be a whole number of GiB, at least 1`);
  for (const p of receiverProblems(args.receivers)) add(p.path, p.message);
  const r = args.receivers;
  for (const [name, receiver] of Object.entries(r) as Array<[keyof ReceiverSettings, { severities?: readonly Severity[] } | undefined]>) {
    for (const s of receiver?.severities ?? []) if (!(SEVERITIES as readonly string[]).includes(s)) add(`receivers.${name}.severities`, `has ${show(s)}; allowed: ${SEVERITIES.join(", ")}`);
  }
  if (r.email) {
    if (!r.email.to.length || r.email.to.some((a) => !EMAIL.test(a))) add("receivers.email.to", `is ${show(r.email.to)}; must be one or more e-mail addresses`);
    if (!EMAIL.test(r.email.from)) add("receivers.email.from", `is ${show(r.email.from)}; must be an e-mail address`);
    if (!HOST_PORT.test(r.email.smarthost)) add("receivers.email.smarthost", `is ${show(r.email.smarthost)}; must be host:port of the SMTP server (e.g. smtp.example.go.th:587)`);
    if (r.email.username && !args.hasSmtpPassword) add("secrets.smtpPassword", "is required: receivers.email.username is set");
  }
  if (r.pagerduty && !args.hasPagerdutyRoutingKey) add("secrets.pagerdutyRoutingKey", "is required: receivers.pagerduty is set");
  if (r.line && !args.hasLineWebhookUrl) add("secrets.lineWebhookUrl", "is required: receivers.line is set");
  args.probes.forEach((p, i) => {
    if (!(p.module in PROBE_MODULES)) add(`probes[${i}].module`, `is ${show(p.module)}; allowed: ${Object.keys(PROBE_MODULES).join(", ")}`);
    else if (p.module === "https_reachable" ? !/^https:\/\//.test(p.target) : !HOST_PORT.test(p.target)) {
      add(`probes[${i}].target`, `is ${show(p.target)}; ${p.module === "https_reachable" ? "must be an https:// URL" : "must be host:port"}`);
    }
  });
  return problems;
}

/**
 * The monitoring and alerting of one site, on the kube-prometheus-stack chart: Prometheus (its data kept
 * on the site: a volume there, retention from the arguments, no remote write), Alertmanager with the
 * receivers by severity, Grafana with dashboards as code, node-exporter and kube-state-metrics; the
 * blackbox exporter probing every site's endpoints (the other site's across the VPN, TLS where the
 * service speaks it), so that the loss of a site raises one alert, `SiteUnreachable`, on the survivor; the
 * alert rules of {@link monitoringRuleGroups}. Prometheus selects every PrometheusRule, ServiceMonitor,
 * PodMonitor and Probe of the cluster, so the datastores' own rules are evaluated and routed too.
 *
 * The Alertmanager configuration is a Secret the component writes (`<name>-alertmanager`, key
 * `alertmanager.yaml`), with the receivers' keys as Pulumi secrets; the chart is told to use it
 * (`alertmanager.alertmanagerSpec.useExistingSecret`/`configSecret`). Every name in the namespace derives
 * from the component's name.
 */
export class Monitoring extends pulumi.ComponentResource {
  /** Names of the alerts this component's rules define. */
  readonly alertNames: readonly string[];
  /** Receivers of each severity, in routing order. */
  readonly receiversBySeverity: Readonly<Record<Severity, readonly string[]>>;
  /** In-cluster URL of the site's Prometheus. */
  readonly prometheusUrl: string;
  /** In-cluster URL of the site's Alertmanager. */
  readonly alertmanagerUrl: string;
  /**
   * The Secret (key `alertmanager.yaml`) holding the Alertmanager configuration: `<name>-alertmanager`. With
   * `installStack` the stack's Alertmanager uses it; without, the cluster's stack owner must point theirs at it.
   */
  readonly alertmanagerConfigSecret: string;

  /**
   * @param name - component name.
   * @param args - see {@link MonitoringArgs}.
   * @param opts - component options.
   * @throws InvalidArgumentsError naming each bad argument, before anything is registered.
   */
  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    const { site: _site, secrets, ...rest } = args;
    void _site;
    const problems = validateMonitoringArgs({ ...rest, hasSmtpPassword: secrets.smtpPassword !== undefined, hasPagerdutyRoutingKey: secrets.pagerdutyRoutingKey !== undefined, hasLineWebhookUrl: secrets.lineWebhookUrl !== undefined });
    // The name starts Helm release names (at most 53 characters) and Grafana uids (at most 40).
    if (!/^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$/.test(name)) problems.unshift({ argument: "name", message: `is ${show(name)}; must be lowercase letters, digits and '-', at most 30 characters (it starts the release names and dashboard uids)` });
    throwIfInvalid(`Monitoring "${name}"`, problems);
    if (args.installStack) args.site.claimSingleton("kube-prometheus-stack", `Monitoring "${name}"`, "installStack");
    super("waris:index:Monitoring", name, {}, opts);
    const site = args.site.spec.name;
    const namespace = args.namespace ?? MONITORING_NAMESPACE;
    const labels = placementLabels(site, "internal");
    const o: pulumi.CustomResourceOptions = { parent: this, provider: args.site.kubernetesProvider };
    const id = (suffix: string): string => `${name}-${suffix}`;
    const meta = (n: string, extra: Record<string, string> = {}): { name: string; namespace: string; labels: Record<string, string> } => ({ name: n, namespace, labels: { ...labels, ...extra } });

    const groups = monitoringRuleGroups({ site, probes: args.probes, datasets: args.datasets, gpus: args.gpus ?? false });
    this.alertNames = groups.flatMap((g) => g.rules.map((r) => r.alert));
    this.receiversBySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, receiversFor(args.receivers, s)])) as Record<Severity, string[]>;
    this.prometheusUrl = `http://prometheus-operated.${namespace}.svc:9090`;
    this.alertmanagerUrl = `http://alertmanager-operated.${namespace}.svc:9093`;
    this.alertmanagerConfigSecret = `${name}-alertmanager`;

    const ns = args.installStack ? new corev1.Namespace(id("namespace"), { metadata: { name: namespace, labels } }, o) : undefined;
    const inNs: pulumi.CustomResourceOptions = { ...o, dependsOn: ns ? [ns] : [] };

    const configText = pulumi
      .all([secrets.smtpPassword, secrets.pagerdutyRoutingKey, secrets.lineWebhookUrl])
      // JSON is YAML: Alertmanager reads it as its configuration file (checked with amtool in the tests).
      .apply(([smtpPassword, pagerdutyRoutingKey, lineWebhookUrl]) => JSON.stringify(alertmanagerConfig(site, args.receivers, { smtpPassword, pagerdutyRoutingKey, lineWebhookUrl }), null, 2));
    // Names in the namespace derive from the component's name, so a second Monitoring on the cluster never collides.
    const amSecret = new corev1.Secret(id("alertmanager-config"), { metadata: meta(this.alertmanagerConfigSecret), stringData: { "alertmanager.yaml": pulumi.secret(configText) } }, inNs);

    const after: pulumi.Resource[] = [];
    if (args.installStack) {
      const keys = args.keys ?? new PulumiStateKeys();
      const grafanaPassword = keys.generatedPassword(id("grafana-admin"), 32, { parent: this });
      const grafanaSecret = keys.secret({ resourceName: id("grafana-admin"), site, ...meta(`${name}-grafana-admin`), opts: inNs }, { "admin-user": { text: "admin" }, "admin-password": grafanaPassword });
      const storage = (gib: number): Record<string, unknown> => ({
        volumeClaimTemplate: { spec: { ...(args.storageClass ? { storageClassName: args.storageClass } : {}), accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${gib}Gi` } } } },
      });
      const storageGiB = args.storageSizeGiB ?? 100;
      after.push(
        new Release(
          id("stack"),
          {
            name: "monitoring",
            namespace,
            repositoryOpts: { repo: MONITORING_CHARTS.stack.repo },
            chart: MONITORING_CHARTS.stack.chart,
            version: MONITORING_CHARTS.stack.version,
            values: {
              fullnameOverride: "waris-monitoring",
              commonLabels: labels,
              alertmanager: {
                alertmanagerSpec: {
                  useExistingSecret: true,
                  configSecret: this.alertmanagerConfigSecret,
                  storage: storage(args.alertmanagerStorageGiB ?? 5),
                },
              },
              prometheus: {
                prometheusSpec: {
                  retention: `${args.retentionDays ?? 15}d`,
                  // Prometheus' size units are powers of 2 (GB is GiB; prometheus docs, "Storage"): trim at 90 % of the volume.
                  retentionSize: `${Math.floor(storageGiB * 0.9)}GB`,
                  storageSpec: storage(storageGiB),
                  // Every alert carries the site that raised it.
                  externalLabels: { site },
                  // Select every rule, monitor and probe of the cluster, not only the chart's own (the datastores make theirs).
                  ruleSelectorNilUsesHelmValues: false,
                  serviceMonitorSelectorNilUsesHelmValues: false,
                  podMonitorSelectorNilUsesHelmValues: false,
                  probeSelectorNilUsesHelmValues: false,
                },
              },
              grafana: { admin: { existingSecret: `${name}-grafana-admin`, userKey: "admin-user", passwordKey: "admin-password" } },
            },
            atomic: true,
            timeout: 900,
          },
          { ...inNs, dependsOn: [...(ns ? [ns] : []), amSecret, grafanaSecret] },
        ),
      );
    }
    const crOpts: pulumi.CustomResourceOptions = { ...o, dependsOn: [...(ns ? [ns] : []), ...after] };

    const blackbox = new Release(
      id("blackbox"),
      {
        name: `${name}-blackbox`,
        namespace,
        repositoryOpts: { repo: MONITORING_CHARTS.blackbox.repo },
        chart: MONITORING_CHARTS.blackbox.chart,
        version: MONITORING_CHARTS.blackbox.version,
        values: { fullnameOverride: `${name}-blackbox`, commonLabels: labels, config: { modules: PROBE_MODULES } },
      },
      crOpts,
    );

    // One Probe per probed site, kind of endpoint and module (a Probe has one module and one label set);
    // the labels say whose endpoint it is and what kind, which the rules and the inhibition match on.
    const groupsOfTargets = new Map<string, ProbeTarget[]>();
    // A site's own database and gateway endpoints are its cross-site LoadBalancers, which admit only the
    // other site's VPN ranges (components/network-zones.ts, `loadBalancerSourceRanges`): probed from here
    // they would always fail. They are the other site's to probe; this site probes the other site's, and
    // every object store.
    for (const p of args.probes.filter((t) => t.site !== site || t.kind === "object-store")) {
      const key = `${p.site}/${p.kind}/${p.module}`;
      groupsOfTargets.set(key, [...(groupsOfTargets.get(key) ?? []), p]);
    }
    for (const [key, targets] of groupsOfTargets) {
      const [target, kind, module] = key.split("/") as [string, EndpointKind, ProbeModule];
      const probeName = `${name}-${target}-${kind}-${module.replace(/_/g, "-")}`;
      new apiextensions.CustomResource(
        probeName,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "Probe",
          metadata: meta(probeName),
          spec: {
            jobName: PROBE_JOB,
            interval: "30s",
            module,
            prober: { url: `${name}-blackbox.${namespace}.svc:9115` },
            targets: {
              staticConfig: {
                static: targets.map((t) => t.target),
                labels: { target_site: target, endpoint_kind: kind },
                // Each endpoint's kind and service, as labels of its own series.
                relabelingConfigs: targets.map((t) => ({
                  sourceLabels: ["__param_target"],
                  regex: t.target.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
                  targetLabel: "service",
                  replacement: t.service,
                  action: "replace",
                })),
              },
            },
          },
        },
        { ...crOpts, dependsOn: [...(crOpts.dependsOn as pulumi.Resource[]), blackbox] },
      );
    }
    new apiextensions.CustomResource(
      id("alerts"),
      { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: meta(`${name}-alerts`), spec: { groups } },
      crOpts,
    );

    for (const d of siteDashboards(name, { mongodb: args.datasets.some((x) => x.kind === "mongodb"), inference: args.inference ?? false, gpus: args.gpus ?? false })) {
      new corev1.ConfigMap(id(`dashboard-${d.uid}`), { metadata: meta(`${d.uid}-dashboard`, { grafana_dashboard: "1" }), data: { [`${d.uid}.json`]: dashboardJson(d) } }, inNs);
    }
    if (args.datasets.some((x) => x.kind === "postgresql")) {
      new Release(
        id("cnpg-dashboard"),
        {
          name: `${name}-cnpg-dashboard`,
          namespace,
          repositoryOpts: { repo: MONITORING_CHARTS.cnpgDashboards.repo },
          chart: MONITORING_CHARTS.cnpgDashboards.chart,
          version: MONITORING_CHARTS.cnpgDashboards.version,
          values: { grafanaDashboard: { namespace, configMapName: `${name}-cnpg-dashboard`, labels } },
        },
        inNs,
      );
    }
    this.registerOutputs({ alertNames: this.alertNames, receiversBySeverity: this.receiversBySeverity, prometheusUrl: this.prometheusUrl, alertmanagerUrl: this.alertmanagerUrl, alertmanagerConfigSecret: this.alertmanagerConfigSecret });
  }
}
