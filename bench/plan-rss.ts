/** Runs the prod plan in-process and prints its peak resident memory, for bench/plan-bench.ts. */
import { runOfflinePlan } from "../plan/offline-plan";

runOfflinePlan({ stack: "prod" }).then(
  () => console.log(`${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
