/**
 * `npm run bench:plan`: the offline plan of prod against a bare program registering the same number
 * of resources under the same mocks (and the same bare program with the plan's deferred SDK packages),
 * measured in one run, alternating, each a fresh process (what a user runs). Reports medians of wall
 * time, the ratios, and peak memory. Figures only.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { performance } from "node:perf_hooks";

const root = path.resolve(__dirname, "..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");
const runs = Number(process.argv[2] ?? "5");

function timed(args: string[]): { ms: number; stdout: string } {
  const start = performance.now();
  // /usr/bin/time is not on every machine; the children report their own peak memory instead.
  const r = spawnSync(tsx, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - start;
  if (r.status !== 0 && r.status !== 3) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  const first = JSON.parse(timed(["plan/cli.ts", "--stack", "prod", "--json"]).stdout) as { resources: unknown[] };
  const count = first.resources.length;
  const plan: number[] = [];
  const bare: number[] = [];
  const deferred: number[] = [];
  let bareRss = 0;
  for (let i = 0; i < runs; i++) {
    plan.push(timed(["plan/cli.ts", "--stack", "prod", "--json"]).ms);
    const b = timed(["bench/bare-program.ts", String(count)]);
    bare.push(b.ms);
    bareRss = Math.max(bareRss, (JSON.parse(b.stdout) as { maxRssMiB: number }).maxRssMiB);
    deferred.push(timed(["bench/bare-program-deferred.ts", String(count)]).ms);
  }
  const rss = timed(["bench/plan-rss.ts"]).stdout.trim();
  console.log(`prod plan: ${count} resources; ${runs} runs each, alternating, wall time of the whole process (tsx start-up included)`);
  console.log(`  offline plan (program + policy pack + report): median ${median(plan).toFixed(0)} ms  [${plan.map((m) => m.toFixed(0)).join(", ")}]`);
  console.log(`  bare program, same resource count:             median ${median(bare).toFixed(0)} ms  [${bare.map((m) => m.toFixed(0)).join(", ")}]`);
  console.log(`  ratio plan / bare: ${(median(plan) / median(bare)).toFixed(2)}`);
  // The plan's command line defers two packages the SDK loads for function serialization
  // (plan/lazy-require.ts); the bare program above still loads them. Like for like:
  console.log(`  bare program, SDK packages deferred as the plan does: median ${median(deferred).toFixed(0)} ms  [${deferred.map((m) => m.toFixed(0)).join(", ")}]`);
  console.log(`  ratio plan / bare with the same deferral: ${(median(plan) / median(deferred)).toFixed(2)}`);
  console.log(`  peak memory: plan ${rss}; bare ${bareRss.toFixed(0)} MiB`);
}

main();
