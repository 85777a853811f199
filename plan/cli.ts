/**
 * `npm run plan -- --stack prod [--json]`: the offline plan of a stack.
 * Exit codes: 0 plan printed; 2 invalid configuration, stack file or arguments; 3 mandatory policy
 * violations; 1 the program failed otherwise.
 */
// First: the SDK's function-serialization packages are loaded only if used (plan/lazy-require.ts).
import "./defer-sdk-packages";
import { parseArgs } from "node:util";
import * as path from "node:path";
// Only js-yaml: a stack file that cannot be used is reported before the program's SDKs are loaded.
import { existsSync, statSync } from "node:fs";
import { StackFileError, checkProgramInstalled, readStackFile, readTextFile } from "./stack-file";

const USAGE = `usage: npm run plan -- [--stack <name>] [--config <stack file>] [--program <dir|file>] [--json]
  --stack     stack to plan (reads Pulumi.<stack>.yaml next to the program); default dev,
              or the <name> of a --config file called Pulumi.<name>.yaml
  --config    read this stack file instead of Pulumi.<stack>.yaml
  --program   plan another Pulumi TypeScript program (its directory or entry file) and run
              this repository's policy pack on it; default: this repository's index.ts
  --policy-config  policy config file, as for pulumi preview --policy-pack-config
              (e.g. policy/dev-advisory.json)
  --json      print the plan as JSON instead of a tree

exit codes: 0 plan printed and no mandatory policy violation; 2 invalid configuration or
arguments; 3 mandatory policy violations; 1 the program failed otherwise`;

async function main(): Promise<number> {
  let values: { stack?: string; config?: string; program?: string; "policy-config"?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { stack: { type: "string" }, config: { type: "string" }, program: { type: "string" }, "policy-config": { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean" } },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const fromFile = values.config ? /^Pulumi\.(.+)\.yaml$/.exec(path.basename(values.config))?.[1] : undefined;
    const stack = values.stack ?? fromFile ?? "dev";
    if (values.config) readStackFile(values.config, "(file check)");
    if (values.program && existsSync(values.program)) {
      checkProgramInstalled(statSync(values.program).isDirectory() ? path.resolve(values.program) : path.dirname(path.resolve(values.program)));
    }
    const policyFile = values["policy-config"];
    const policyText = policyFile ? readTextFile(policyFile, "policy/dev-advisory.json") : undefined;
    const { parsePolicyConfig } = await import("./policy-runner.js");
    const { policyPackIdentity, runOfflinePlan } = await import("./offline-plan.js");
    const { renderPlanText, renderPolicyText } = await import("./report.js");
    let policyConfig: ReturnType<typeof parsePolicyConfig> | undefined;
    try {
      policyConfig = policyFile && policyText !== undefined ? parsePolicyConfig(policyText, policyFile) : undefined;
    } catch (e) {
      // Its own messages start with the file; JSON's do not.
      const problem = (e as Error).message.replace(`${policyFile}: `, "");
      throw new StackFileError(policyFile!, e instanceof SyntaxError ? `JSON syntax error: ${problem}` : problem);
    }
    const plan = await runOfflinePlan({ stack, stackFile: values.config, program: values.program, policyConfig });
    const pack = policyPackIdentity();
    process.stdout.write(values.json ? `${JSON.stringify(plan, null, 2)}\n` : `${renderPlanText(plan)}\n\n${renderPolicyText(plan, `${pack.name}@v${pack.version} (local: policy)`)}\n`);
    return plan.mandatoryViolations > 0 ? 3 : 0;
  } catch (err) {
    // By name: `StackConfigError` comes from the program's own copy of stack/config.
    if (err instanceof StackFileError || ["StackConfigError", "InvalidArgumentsError"].includes((err as Error).name)) {
      process.stderr.write(`${(err as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`The program failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

// Exit once stdout is drained: process.exit() with a large plan still queued on a pipe cut the --json
// output short under load (a half-written JSON document).
main().then(
  // Exit only once stdout is flushed: exiting right after a large write to a pipe truncates it.
  (code) => void process.stdout.write("", () => process.exit(code)),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
