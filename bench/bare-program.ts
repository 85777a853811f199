/**
 * The baseline of the plan benchmark: a bare program that registers `count` plain custom resources
 * (one component parent per 10) under the same mock recorder, with nothing else: no config, no
 * provider packages, no policies, no report. Prints its own elapsed time and peak memory as JSON.
 */
import * as pulumi from "@pulumi/pulumi";
import { runAsStack, startRecording } from "../plan/mock-runtime";

/** The simplest custom resource: a type token and its inputs. */
class Thing extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    super("bench:index:Thing", name, props, opts);
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? "100");
  const recording = await startRecording({ project: "bare", stack: "bench" });
  await runAsStack(async () => {
    let parent: pulumi.ComponentResource | undefined;
    for (let i = 1; i < count; i++) {
      if (i % 10 === 1) parent = new pulumi.ComponentResource("bench:index:Group", `group-${i}`, {});
      else new Thing(`thing-${i}`, { index: i, labels: { "waris.io/site": "onprem" } }, { parent });
    }
  });
  console.log(JSON.stringify({ resources: recording.resources.length, ms: process.uptime() * 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
