/**
 * `npm run runbook -- --stack prod --to gcloud --mode disaster|switchover|failback [--no-targets]`:
 * prints the operator's procedure, phase by phase, generated from the failover model.
 *
 * Unless `--no-targets`, every phase is planned offline (a child process per phase, with the phase's
 * settings written into a copy of the stack file) and the resources it changes are listed; when a site
 * is lost, the phase's `pulumi up` targets only the reachable site's changes.
 * Exit codes: 0 printed; 2 bad arguments or stack file; 1 a phase's plan failed.
 */
// First: the SDK's function-serialization packages are loaded only if used (plan/lazy-require.ts).
import "./defer-sdk-packages";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { dump, load } from "js-yaml";
import { PLANNING_PROMOTION_TOKEN, PROCEDURE_PHASES, type FailoverProcedure, type FailoverSituation } from "../components/failover";
import { PROJECT, dataSiteNames, homePrimary, parseStackSettings } from "../stack/config";
import { REPO_ROOT } from "./offline-plan";
import { buildRunbook, renderRunbook, type PhaseChanges, type RunbookStack } from "./runbook";
import { SEVERITIES, receiversFor, type Severity } from "../components/monitoring-rules";

const USAGE = `usage: npm run runbook -- --stack <name> --to <site> --mode switchover|disaster|failback [--no-targets]
  --stack       the stack (reads Pulumi.<stack>.yaml)
  --to          the site that gets the primary role
  --mode        switchover (both sites up), disaster (the other site lost), failback (re-clone the fenced
                site --to, then switch back to it)
  --no-targets  skip the offline plan of each phase (faster; no list of changed resources)`;

interface PlannedResource {
  readonly urn: string;
  readonly site?: string;
  readonly inputs: Record<string, unknown>;
}

/** The stack file with a situation's settings written in. */
function stackFileFor(base: Record<string, unknown>, s: FailoverSituation): string {
  const config = { ...(base["config"] as Record<string, unknown>) };
  config[`${PROJECT}:activeSite`] = s.activeSite;
  const failover: Record<string, unknown> = {};
  if (s.procedure) Object.assign(failover, { procedure: s.procedure.procedure, phase: s.procedure.phase, from: s.procedure.from });
  if (s.procedure?.promotionToken) failover["promotionToken"] = PLANNING_PROMOTION_TOKEN;
  if (s.conditions) failover["conditions"] = s.conditions;
  if (s.generations) failover["generations"] = s.generations;
  if (Object.keys(failover).length) config[`${PROJECT}:failover`] = failover;
  else delete config[`${PROJECT}:failover`];
  return dump({ ...base, config });
}

function planPhase(stack: string, file: string): Map<string, PlannedResource> {
  const child = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, "cli.ts"), "--stack", stack, "--config", file, "--json"], { cwd: REPO_ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (child.status !== 0 && child.status !== 3) throw new Error(`the offline plan of ${file} failed (exit ${child.status}):\n${child.stderr}`);
  const plan = JSON.parse(child.stdout) as { resources: PlannedResource[] };
  return new Map(plan.resources.map((r) => [r.urn, r]));
}

function diff(before: Map<string, PlannedResource>, after: Map<string, PlannedResource>): PhaseChanges {
  const changes: Array<PhaseChanges[number]> = [];
  const name = (r: PlannedResource): unknown => JSON.stringify([(r.inputs["metadata"] as { name?: string } | undefined)?.name, (r.inputs["metadata"] as { namespace?: string } | undefined)?.namespace]);
  for (const [urn, r] of after) {
    const old = before.get(urn);
    if (!old) changes.push({ urn, site: r.site, change: "create" });
    else if (JSON.stringify(old.inputs) !== JSON.stringify(r.inputs)) changes.push({ urn, site: r.site, change: name(old) === name(r) ? "update" : "replace" });
  }
  for (const [urn, r] of before) if (!after.has(urn)) changes.push({ urn, site: r.site, change: "delete" });
  return changes;
}

function main(): number {
  let values: { stack?: string; to?: string; mode?: string; "no-targets"?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { stack: { type: "string" }, to: { type: "string" }, mode: { type: "string" }, "no-targets": { type: "boolean", default: false }, help: { type: "boolean" } } }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const modes = Object.keys(PROCEDURE_PHASES);
  if (!values.stack || !values.to || !values.mode || !modes.includes(values.mode)) {
    process.stderr.write(`--stack, --to and --mode (${modes.join(", ")}) are required\n${USAGE}\n`);
    return 2;
  }
  const file = path.join(REPO_ROOT, `Pulumi.${values.stack}.yaml`);
  const base = load(readFileSync(file, "utf8")) as Record<string, unknown>;
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries((base["config"] ?? {}) as Record<string, unknown>)) {
    if (key.startsWith(`${PROJECT}:`) && (typeof value !== "object" || value === null || !("secure" in value))) raw[key.slice(PROJECT.length + 1)] = typeof value === "string" ? value : JSON.stringify(value);
  }
  const settings = parseStackSettings(raw, values.stack);
  const sites = dataSiteNames(settings.sites);
  if (sites.length !== 2 || !sites.includes(values.to)) {
    process.stderr.write(`--to ${values.to}: the stack's data sites are ${sites.join(", ")}; a procedure needs two and --to must name one\n`);
    return 2;
  }
  const home = homePrimary(settings.sites) ?? sites[0]!;
  const stack: RunbookStack = {
    stack: values.stack,
    sites: [home, ...sites.filter((s) => s !== home)],
    homeSite: home,
    generations: settings.failover.generations ?? {},
    ...(settings.postgres ? { postgres: { dataset: "waris-postgres", namespace: "waris-postgres" } } : {}),
    ...(settings.mongodb ? { mongodb: { dataset: "waris-mongo", namespace: "waris-mongodb", membersPerSite: settings.mongodb.membersPerSite } } : {}),
    ...(settings.redis ? { redis: { dataset: "waris-redis", namespace: "waris-redis" } } : {}),
    ...(settings.milvus ? { milvus: { dataset: "waris-milvus", namespace: "waris-milvus", ...(settings.milvus.restoreBackup ? { restoreBackup: settings.milvus.restoreBackup } : {}) } } : {}),
    ...(settings.monitoring
      ? {
          monitoring: {
            // Who each receiver reaches, as the stack says it (the PagerDuty service and LINE relay are secrets).
            receivers: Object.fromEntries(
              SEVERITIES.map((s) => [
                s,
                receiversFor(settings.monitoring!.receivers, s).map((r) =>
                  r === "email" ? `e-mail to ${(settings.monitoring!.receivers.email?.to ?? []).join(", ")} (through ${settings.monitoring!.receivers.email?.smarthost ?? "the SMTP relay"})` : r === "pagerduty" ? "PagerDuty (the service of the monitoringPagerdutyRoutingKey secret)" : r === "line" ? "LINE (the relay at the monitoringLineWebhookUrl secret)" : r,
                ),
              ]),
            ) as Record<Severity, string[]>,
          },
        }
      : {}),
  };
  const procedure = values.mode as FailoverProcedure;
  let changes: PhaseChanges[] | undefined;
  if (!values["no-targets"]) {
    const phases = buildRunbook(stack, values.to, procedure);
    const dir = mkdtempSync(path.join(tmpdir(), "waris-runbook-"));
    const plans = phases.map((p, i) => {
      const f = path.join(dir, `Pulumi.${values.stack}.phase${i}.yaml`);
      writeFileSync(f, stackFileFor(base, p.step.situation));
      return planPhase(values.stack!, f);
    });
    changes = plans.map((p, i) => (i === 0 ? [] : diff(plans[i - 1]!, p)));
  }
  const phases = buildRunbook(stack, values.to, procedure, PROJECT, changes);
  let text = renderRunbook(stack, values.to, procedure, phases);
  if (changes) {
    text += "\n## Resources each phase changes (offline plan)\n";
    phases.forEach((p, i) => {
      if (i === 0) return;
      text += `\n${i + 1}. ${p.step.label}: ${changes![i]!.length} change(s)\n${changes![i]!.map((c) => `- ${c.change} ${c.urn} (${c.site ?? "no site"})`).join("\n")}\n`;
    });
  }
  process.stdout.write(text);
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
