/**
 * `npx waris-plan --program .`: the offline plan and the policy pack, as the package ships them
 * (bin/waris-plan.js, built by scripts/build-pack.mjs). The same command line as `npm run plan`
 * (plan/cli.ts), with two differences for a program outside this repository: `--program` defaults to
 * the working directory, and a TypeScript program is loaded the way `pulumi preview` loads it, with
 * ts-node as the program's `@pulumi/pulumi` finds it (the program's own ts-node and typescript, else the
 * copies the SDK vendors), transpiling only: `tsc` is the type check.
 */
import * as path from "node:path";

/** The TypeScript loader of the Pulumi SDK that resolves from `programDir` (its `tsutils`, as cmd/run uses it). */
function registerTypeScript(programDir: string): void {
  const sdkRoot = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [programDir] }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program's SDK, located at run time
  const tsutils = require(path.join(sdkRoot, "tsutils.js")) as { typeScriptRequireStrings(): { tsnodeRequire: string; typescriptRequire: string } };
  const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
  const tsNode = require(tsnodeRequire) as { register(options: Record<string, unknown>): unknown };
  // CommonJS output, understood by every ts-node and typescript the SDK may pick (it vendors typescript 3.8).
  tsNode.register({
    transpileOnly: true,
    skipProject: true,
    compiler: typescriptRequire,
    compilerOptions: { module: "commonjs", target: "es2019", esModuleInterop: true, sourceMap: true },
  });
}

const args = process.argv.slice(2);
if (!args.some((a) => a === "--program" || a.startsWith("--program="))) args.push("--program", ".");
const at = args.indexOf("--program");
const program = at >= 0 ? args[at + 1] : args.find((a) => a.startsWith("--program="))?.slice("--program=".length);
if (program !== undefined && !args.includes("--help")) {
  const resolved = path.resolve(program);
  try {
    registerTypeScript(path.extname(resolved) === "" ? resolved : path.dirname(resolved));
  } catch (err) {
    process.stderr.write(`waris-plan: cannot load TypeScript programs from ${resolved}: @pulumi/pulumi does not resolve from there (${(err as Error).message.split("\n")[0]})\n`);
    process.exit(2);
  }
}
process.argv.splice(2, process.argv.length - 2, ...args);
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the loader: cli.ts runs on import
require("./cli");
