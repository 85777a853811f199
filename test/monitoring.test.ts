/**
 * Monitoring and alerting on the prod stack as the program builds it: every dataset names the alerts that
 * fire when its RPO is at risk and every site defines them; every site can raise `SiteUnreachable`; every
 * alert of every site routes to a receiver that notifies someone. The generated rules are loaded by the
 * real `promtool check rules` and the generated Alertmanager configuration by the real `amtool
 * check-config` and `amtool config routes test` (Debian's `prometheus` and `prometheus-alertmanager`;
 * no skip: the test fails when they are missing, `.ci/run` installs them).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProgram } from "./harness";
import { engineConfigForStack } from "../plan/offline-plan";
import { StackConfigError, checkStackConfig } from "../stack/config";
import { Monitoring } from "../components/monitoring";
import { alertmanagerConfig, monitoringRuleGroups, receiverProblems, type ProbeTarget } from "../components/monitoring-rules";
import { validateMonitoringArgs } from "../components/monitoring";

const P = "waris-hybrid";
jest.setTimeout(120_000);

interface Rule {
  alert: string;
  labels: { severity: string };
}
interface RuleResource {
  site: string;
  groups: Array<{ name: string; rules: Rule[] }>;
}

const dir = mkdtempSync(join(tmpdir(), "waris-monitoring-"));

async function prod(): Promise<{ rules: RuleResource[]; amConfigs: Record<string, string>; recovery: Array<{ dataset: string; kind: string; rpoAlert: string; rpoAlerts: string[] }>; monitoring: Record<string, unknown> }> {
  const run = await runProgram("prod");
  expect(run.error).toBeUndefined();
  const rules: RuleResource[] = run.recording.resources
    .filter((r) => r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    .map((r) => ({ site: (r.inputs["metadata"] as { labels: Record<string, string> }).labels["waris.io/site"]!, groups: (r.inputs["spec"] as { groups: RuleResource["groups"] }).groups }));
  const amConfigs = Object.fromEntries(
    run.recording.resources
      .filter((r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs["metadata"] as { name: string }).name.endsWith("-monitoring-alertmanager"))
      .map((r) => [(r.inputs["metadata"] as { labels: Record<string, string> }).labels["waris.io/site"]!, (r.inputs["stringData"] as Record<string, string>)["alertmanager.yaml"]!]),
  );
  return { rules, amConfigs, recovery: run.outputs["recovery"] as never, monitoring: run.outputs["monitoring"] as Record<string, unknown> };
}

const alertsOf = (rules: RuleResource[], site: string): Rule[] => rules.filter((r) => r.site === site).flatMap((r) => r.groups.flatMap((g) => g.rules));

describe("monitoring of the prod stack", () => {
  test("monitoring runs on both sites, and every dataset names alerts that every site defines", async () => {
    const { rules, recovery, monitoring } = await prod();
    expect(Object.keys(monitoring).sort()).toEqual(["gcloud", "onprem"]);
    expect(recovery.map((r) => r.kind).sort()).toEqual(["milvus", "model-artifacts", "mongodb", "postgresql", "redis"]);
    for (const site of ["onprem", "gcloud"]) {
      const defined = new Set(alertsOf(rules, site).map((r) => r.alert));
      for (const d of recovery) {
        expect(d.rpoAlerts.length).toBeGreaterThan(0);
        expect(d.rpoAlert).toBe(d.rpoAlerts[0]);
        for (const alert of d.rpoAlerts) expect([site, d.dataset, alert, defined.has(alert)]).toEqual([site, d.dataset, alert, true]);
      }
      for (const alert of ["SiteUnreachable", "EndpointDown", "ObjectStoreUnreachable", "ServiceResponseSlow", "HostCpuHigh", "HostMemoryHigh", "GpuUtilisationHigh", "GpuXidError", "BackupJobFailed"]) {
        expect([site, alert, defined.has(alert)]).toEqual([site, alert, true]);
      }
    }
  });

  test("every generated rule loads in promtool", async () => {
    const { rules } = await prod();
    const files = rules.map((r, i) => {
      const file = join(dir, `rules-${i}.yml`);
      writeFileSync(file, JSON.stringify({ groups: r.groups }));
      return file;
    });
    const out = execFileSync("promtool", ["check", "rules", ...files], { encoding: "utf8" });
    expect(out).not.toMatch(/FAILED/);
    expect(out.match(/SUCCESS/g)?.length).toBe(files.length);
  });

  test("each site's Alertmanager configuration is valid, and every alert of the site routes to a receiver that notifies", async () => {
    const { rules, amConfigs } = await prod();
    expect(Object.keys(amConfigs).sort()).toEqual(["gcloud", "onprem"]);
    for (const [site, text] of Object.entries(amConfigs)) {
      const file = join(dir, `alertmanager-${site}.yml`);
      // The secrets came from the stack (the offline plan's fakes), not from placeholders of the component.
      expect(text).toContain('"routing_key": "FAKE-SECRET-OFFLINE-PLAN(waris-hybrid:monitoringPagerdutyRoutingKey)"');
      // The LINE relay's URL is a secret too; its offline fake is no URL, which Alertmanager would refuse.
      const fakeUrl = '"url": "FAKE-SECRET-OFFLINE-PLAN(waris-hybrid:monitoringLineWebhookUrl)"';
      expect(text).toContain(fakeUrl);
      writeFileSync(file, text.replace(fakeUrl, '"url": "https://line-relay.invalid/alertmanager"'));
      execFileSync("amtool", ["check-config", file], { encoding: "utf8" });
      const bySeverity = new Map<string, string[]>();
      for (const rule of alertsOf(rules, site)) bySeverity.set(rule.labels.severity, [...(bySeverity.get(rule.labels.severity) ?? []), rule.alert]);
      expect([...bySeverity.keys()].sort()).toEqual(["critical", "warning"]);
      // Routing reads only severity and alertname (the heartbeats go nowhere): one amtool run per severity,
      // with the site's alert names checked to be no heartbeat.
      for (const [severity, alerts] of bySeverity) {
        expect(alerts.filter((a) => /^(Watchdog|InfoInhibitor)$/.test(a))).toEqual([]);
        const receivers = execFileSync("amtool", ["config", "routes", "test", `--config.file=${file}`, `alertname=${alerts[0]!}`, `severity=${severity}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split(",");
        expect([site, severity, receivers.filter((r) => r !== "null").length > 0]).toEqual([site, severity, true]);
      }
      const critical = execFileSync("amtool", ["config", "routes", "test", `--config.file=${file}`, "alertname=SiteUnreachable", "severity=critical"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
      expect(critical).toBe("pagerduty,line,email");
    }
  });
});

describe("the site-loss rules, evaluated by promtool test rules", () => {
  test("SiteUnreachable fires only when every endpoint of the other site fails; one endpoint down is EndpointDown", () => {
    const probes: ProbeTarget[] = [
      { site: "onprem", kind: "database", service: "waris-postgres", target: "pg.onprem.waris.internal:5432", module: "tcp_connect" },
      { site: "onprem", kind: "object-store", service: "object store", target: "https://minio.onprem.waris.internal", module: "https_reachable" },
      { site: "gcloud", kind: "database", service: "waris-postgres", target: "pg.gcloud.waris.internal:5432", module: "tcp_connect" },
    ];
    const groups = monitoringRuleGroups({ site: "gcloud", probes, datasets: [], gpus: false });
    const rules = groups.flatMap((g) => g.rules);
    const annotations = (alert: string, labels: Record<string, string>): Record<string, string> =>
      Object.fromEntries(Object.entries(rules.find((r) => r.alert === alert)!.annotations).map(([k, v]) => [k, v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? "")]));
    const series = (p: ProbeTarget, values: string): Record<string, string> => ({
      series: `probe_success{job="waris-endpoints", instance="${p.target}", target_site="${p.site}", endpoint_kind="${p.kind}", service="${p.service}"}`,
      values,
    });
    const pgDown = { job: "waris-endpoints", instance: probes[0]!.target, target_site: "onprem", endpoint_kind: "database", service: "waris-postgres", severity: "critical" };
    const tests = [
      {
        // Everything on onprem fails from minute 1: one SiteUnreachable (the endpoint alerts fire too, and Alertmanager inhibits them).
        interval: "1m",
        input_series: [series(probes[0]!, "1 0x10"), series(probes[1]!, "1 0x10"), series(probes[2]!, "1x10")],
        alert_rule_test: [
          { eval_time: "3m", alertname: "SiteUnreachable", exp_alerts: [] },
          { eval_time: "5m", alertname: "SiteUnreachable", exp_alerts: [{ exp_labels: { severity: "critical", target_site: "onprem" }, exp_annotations: annotations("SiteUnreachable", { target_site: "onprem" }) }] },
        ],
      },
      {
        // Only onprem's PostgreSQL endpoint fails: no site alert, one endpoint alert.
        interval: "1m",
        input_series: [series(probes[0]!, "1 0x10"), series(probes[1]!, "1x10"), series(probes[2]!, "1x10")],
        alert_rule_test: [
          { eval_time: "10m", alertname: "SiteUnreachable", exp_alerts: [] },
          { eval_time: "10m", alertname: "EndpointDown", exp_alerts: [{ exp_labels: pgDown, exp_annotations: annotations("EndpointDown", pgDown) }] },
        ],
      },
      {
        // gcloud's own endpoint failing is never "gcloud unreachable" on gcloud.
        interval: "1m",
        input_series: [series(probes[0]!, "1x10"), series(probes[1]!, "1x10"), series(probes[2]!, "0x10")],
        alert_rule_test: [{ eval_time: "10m", alertname: "SiteUnreachable", exp_alerts: [] }],
      },
    ];
    writeFileSync(join(dir, "site-rules.yml"), JSON.stringify({ groups }));
    writeFileSync(join(dir, "site-rules.test.yml"), JSON.stringify({ rule_files: ["site-rules.yml"], evaluation_interval: "1m", tests }));
    const out = execFileSync("promtool", ["test", "rules", join(dir, "site-rules.test.yml")], { encoding: "utf8" });
    expect(out).toContain("SUCCESS");
  });
});

describe("receivers and their secrets", () => {
  const engine = engineConfigForStack({ stack: "prod" });
  const raw = (edit: (c: Record<string, string>) => void = () => undefined): Record<string, string> => {
    const c = Object.fromEntries(Object.entries(engine.config).map(([k, v]) => [k.slice(P.length + 1), v]));
    edit(c);
    return c;
  };
  const problems = (c: Record<string, string>): string[] => {
    try {
      checkStackConfig(c, "prod", () => true);
      return [];
    } catch (e) {
      if (!(e instanceof StackConfigError)) throw e;
      return e.problems.map((p) => `${p.key}: ${p.message}`);
    }
  };

  test("a configured receiver without its secret is refused, naming the secret and the command", () => {
    const found = problems(raw((c) => delete c["monitoringPagerdutyRoutingKey"]));
    expect(found).toEqual([expect.stringMatching(/^waris-hybrid:monitoringPagerdutyRoutingKey: missing secret .*pulumi config set --secret --stack prod monitoringPagerdutyRoutingKey/)]);
  });

  test("no receiver, or a severity nobody receives, is refused by key", () => {
    const monitoring = JSON.parse(engine.config[`${P}:monitoring`]!) as Record<string, unknown>;
    expect(problems(raw((c) => (c["monitoring"] = JSON.stringify({ ...monitoring, receivers: {} })))).some((p) => p.startsWith("waris-hybrid:monitoring.receivers: configures no receiver"))).toBe(true);
    const pagerOnly = raw((c) => {
      c["monitoring"] = JSON.stringify({ ...monitoring, receivers: { pagerduty: {} } });
      delete c["monitoringSmtpPassword"];
      delete c["monitoringLineWebhookUrl"];
    });
    expect(problems(pagerOnly)).toEqual([expect.stringContaining('waris-hybrid:monitoring.receivers: no receiver takes severity "warning" alerts')]);
    expect(receiverProblems({ line: {} })).toEqual([]);
  });

  test("the component refuses a receiver without its secret before registering anything", () => {
    expect(validateMonitoringArgs({ probes: [], datasets: [], receivers: { line: {} }, hasSmtpPassword: false, hasPagerdutyRoutingKey: false, hasLineWebhookUrl: false })).toEqual([
      { argument: "secrets.lineWebhookUrl", message: "is required: receivers.line is set" },
    ]);
    const bad: ProbeTarget = { site: "gcloud", kind: "object-store", service: "s3", target: "s3.gdcc.go.th", module: "https_reachable" };
    expect(validateMonitoringArgs({ probes: [bad], datasets: [], receivers: { line: {} }, hasSmtpPassword: false, hasPagerdutyRoutingKey: false, hasLineWebhookUrl: true }).map((p) => p.argument)).toEqual(["probes[0].target"]);
    expect(Monitoring).toBeDefined();
    expect(() => alertmanagerConfig("onprem", { pagerduty: {} }, {})).toThrow(/PagerDuty routing key/);
  });

  test("one SiteUnreachable per lost site: only other sites' probes count, and it inhibits that site's endpoint alerts", () => {
    const probes: ProbeTarget[] = [
      { site: "onprem", kind: "database", service: "waris-postgres", target: "pg.onprem.waris.internal:5432", module: "tcp_connect" },
      { site: "gcloud", kind: "database", service: "waris-postgres", target: "pg.gcloud.waris.internal:5432", module: "tcp_connect" },
    ];
    const rule = monitoringRuleGroups({ site: "onprem", probes, datasets: [], gpus: false })
      .flatMap((g) => g.rules)
      .find((r) => r.alert === "SiteUnreachable")!;
    expect(rule.expr).toContain('target_site!="onprem"');
    expect(rule.expr).toMatch(/^max by \(target_site\)/);
    const inhibit = alertmanagerConfig("onprem", { line: {} }, { lineWebhookUrl: "https://relay.example/line" })["inhibit_rules"] as Array<Record<string, unknown>>;
    expect(inhibit[0]).toEqual({ source_matchers: ['alertname="SiteUnreachable"'], target_matchers: ['alertname=~"EndpointDown|ObjectStoreUnreachable"'], equal: ["target_site"] });
    // A single site has nobody to lose.
    expect(monitoringRuleGroups({ site: "onprem", probes: probes.slice(0, 1), datasets: [], gpus: false }).flatMap((g) => g.rules).map((r) => r.alert)).not.toContain("SiteUnreachable");
  });
});
