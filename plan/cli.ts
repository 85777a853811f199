/**
 * `npm run plan -- --stack prod [--json]`: the offline plan of a stack.
 * Exit codes: 0 plan printed; 2 invalid configuration or arguments; 1 the program failed otherwise.
 */
import { parseArgs } from "node:util";
import { StackConfigError } from "../stack/config";
import { runOfflinePlan } from "./offline-plan";
import { renderPlanText } from "./report";

const USAGE = `usage: npm run plan -- [--stack <dev|prod>] [--config <stack file>] [--json]
  --stack    stack to plan (reads Pulumi.<stack>.yaml); default dev
  --config   read this stack file instead of Pulumi.<stack>.yaml
  --json     print the plan as JSON instead of a tree`;

async function main(): Promise<number> {
  let values: { stack?: string; config?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { stack: { type: "string", default: "dev" }, config: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean" } },
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
    const plan = await runOfflinePlan({ stack: values.stack ?? "dev", stackFile: values.config });
    process.stdout.write(values.json ? `${JSON.stringify(plan, null, 2)}\n` : `${renderPlanText(plan)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof StackConfigError || (err as Error).name === "InvalidArgumentsError") {
      process.stderr.write(`${(err as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`The program failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
