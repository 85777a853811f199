/**
 * `npm run bench:policy`: time of the whole policy pack per resource-policy pair, on synthetic stacks
 * of 100 to 10,000 resources (linearity) and on the real prod plan. Figures only; nothing asserted.
 */
import { performance } from "node:perf_hooks";
import { runPolicies } from "../plan/policy-runner";
import { POLICY_PACK_NAME, warisPolicies } from "../policy/policies";
import { syntheticStack } from "./synthetic";

const pack = { name: POLICY_PACK_NAME, version: "bench", enforcementLevel: "mandatory" as const };

async function timeOnce(size: number, repeats: number): Promise<{ resources: number; msPerRun: number; usPerPair: number; cpuUsPerPair: number; diagnostics: number }> {
  const resources = syntheticStack(size);
  let diagnostics = 0;
  await runPolicies(pack, warisPolicies, resources); // warm-up
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    const startCpu = process.cpuUsage();
    diagnostics = (await runPolicies(pack, warisPolicies, resources)).length;
    const used = process.cpuUsage(startCpu);
    times.push(performance.now() - start);
    cpu.push((used.user + used.system) / 1000);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = median(times);
  const pairs = resources.length * warisPolicies.length;
  return { resources: resources.length, msPerRun: ms, usPerPair: (ms * 1000) / pairs, cpuUsPerPair: (median(cpu) * 1000) / pairs, diagnostics };
}

async function main(): Promise<void> {
  console.log(`policy pack: ${warisPolicies.length} policies; median of repeated runs; includes deserializing every resource as the pack's server does`);
  // CPU time as well as wall time: on the shared 2-core machine, wall time grows with the other developers' load.
  console.log(`load average ${(await import("node:os")).loadavg()[0]!.toFixed(1)}`);
  console.log("resources  ms/run    µs per resource-policy pair (wall)  (CPU)  diagnostics");
  for (const [size, repeats] of [[100, 21], [1000, 11], [3000, 7], [10000, 5]] as const) {
    const r = await timeOnce(size, repeats);
    console.log(`${String(r.resources).padStart(9)}  ${r.msPerRun.toFixed(1).padStart(7)}   ${r.usPerPair.toFixed(2).padStart(10)}                   ${r.cpuUsPerPair.toFixed(2).padStart(7)}  ${r.diagnostics}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
