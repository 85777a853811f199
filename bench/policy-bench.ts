/**
 * `npm run bench:policy`: time of the whole policy pack per resource-policy pair, on synthetic stacks
 * of 100 to 10,000 resources (linearity) and on the real prod plan. Figures only; nothing asserted.
 */
import { performance } from "node:perf_hooks";
import { runPolicies } from "../plan/policy-runner";
import { POLICY_PACK_NAME, warisPolicies } from "../policy/policies";
import { syntheticStack } from "./synthetic";

const pack = { name: POLICY_PACK_NAME, version: "bench", enforcementLevel: "mandatory" as const };

async function timeOnce(size: number, repeats: number): Promise<{ resources: number; msPerRun: number; usPerPair: number; diagnostics: number }> {
  const resources = syntheticStack(size);
  let diagnostics = 0;
  await runPolicies(pack, warisPolicies, resources); // warm-up
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    diagnostics = (await runPolicies(pack, warisPolicies, resources)).length;
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  return { resources: resources.length, msPerRun: ms, usPerPair: (ms * 1000) / (resources.length * warisPolicies.length), diagnostics };
}

async function main(): Promise<void> {
  console.log(`policy pack: ${warisPolicies.length} policies; median of repeated runs; includes deserializing every resource as the pack's server does`);
  console.log("resources  ms/run    µs per resource-policy pair  diagnostics");
  for (const [size, repeats] of [[100, 21], [1000, 11], [3000, 7], [10000, 5]] as const) {
    const r = await timeOnce(size, repeats);
    console.log(`${String(r.resources).padStart(9)}  ${r.msPerRun.toFixed(1).padStart(7)}   ${r.usPerPair.toFixed(2).padStart(10)}                  ${r.diagnostics}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
