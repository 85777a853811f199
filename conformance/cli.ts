/**
 * `npm run conformance`: plans every scenario (prod, dev, prod failed over) under the mock runtime and
 * prints, per scenario, how many objects were checked against upstream and the findings by kind.
 * Exit code 0 when nothing is found, 1 otherwise.
 *
 * Each scenario runs in its own process (`--scenario <name> --json`): the Pulumi runtime's state is
 * global, one program per process.
 */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { runAsStack, startRecording } from "../plan/mock-runtime";
import { engineConfigForStack, locateProgram } from "../plan/offline-plan";
import { checkConformance, type ConformanceReport } from "./check";
import { SCENARIOS } from "./scenarios";

async function one(name: string): Promise<ConformanceReport> {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) throw new Error(`unknown scenario "${name}" (known: ${SCENARIOS.map((s) => s.name).join(", ")})`);
  const engine = engineConfigForStack({ stack: scenario.stack });
  const config = { ...engine.config };
  scenario.edit?.(config);
  const recording = await startRecording({ project: engine.project, stack: scenario.stack, config, secretKeys: engine.secretKeys });
  await runAsStack(async () => (await import(locateProgram().entry)) as Record<string, unknown>);
  return checkConformance(recording.resources);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { scenario: { type: "string" }, json: { type: "boolean", default: false } } });
  if (values.scenario) {
    const report = await one(values.scenario);
    process.stdout.write(values.json ? JSON.stringify(report) : `${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  let total = 0;
  for (const scenario of SCENARIOS) {
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, "--scenario", scenario.name, "--json"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (child.status !== 0) {
      process.stderr.write(child.stderr);
      return 1;
    }
    const report = JSON.parse(child.stdout) as ConformanceReport;
    const findings = report.objects.flatMap((o) => o.findings.map((f) => ({ object: o.object, ...f })));
    total += findings.length;
    const kinds = Object.entries(report.byKind).map(([k, n]) => `${k} ${n}`).join(", ");
    process.stdout.write(`${scenario.name}: ${report.checked} objects checked; findings: ${kinds}; ${report.subchartKeys} values keys go to subcharts and ${report.unknownFields} fields are unknown until apply (not checked)\n`);
    for (const f of findings) process.stdout.write(`  ${f.kind}  ${f.object}  ${f.path}: ${f.message}\n`);
  }
  return total === 0 ? 0 : 1;
}

main().then(
  // Exit only once stdout is flushed: exiting right after a large write to a pipe truncates it.
  (code) => process.stdout.write("", () => process.exit(code)),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
