/**
 * Issue 16, item 1: no variable Kubernetes injects may collide with a program's own settings
 * (vllm-project/vllm issue 34199). Checked over every pod template and every Service of both plans.
 */
import { Run, runProgram } from "./harness";
import { POD_DEFAULTS, serviceNameCollisions } from "../components/pod-defaults";

/** Where each workload kind keeps its pod template. */
const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  "kubernetes:apps/v1:Deployment": ["spec", "template", "spec"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
  "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};


const at = (value: unknown, path: readonly string[]): unknown => path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value);

describe.each(["prod", "dev"])("the %s plan", (stack) => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram(stack);
  });

  test("every pod template the components write turns service links off", () => {
    expect(run.error).toBeUndefined();
    const templates = run.recording.resources.filter((r) => r.type in POD_TEMPLATE_PATHS);
    expect(templates.length).toBeGreaterThan(3);
    const linksOn = templates.filter((r) => at(r.inputs, POD_TEMPLATE_PATHS[r.type]!.concat("enableServiceLinks")) !== POD_DEFAULTS.enableServiceLinks);
    expect(linksOn.map((r) => `${r.type} ${r.name}`)).toEqual([]);
  });

  test("no Service is named so that its injected variables set a program's own settings", () => {
    const services = run.recording.resources.filter((r) => r.type === "kubernetes:core/v1:Service");
    const colliding = services
      .map((r) => ({ name: (r.inputs["metadata"] as { name: string }).name, programs: serviceNameCollisions((r.inputs["metadata"] as { name: string }).name) }))
      .filter((s) => s.programs.length > 0);
    expect(colliding).toEqual([]);
  });
});

test("the rule itself: a Service named vllm or vllm-anything collides with vLLM; model-server does not", () => {
  expect(serviceNameCollisions("vllm")).toEqual(["vllm"]);
  expect(serviceNameCollisions("vllm-metrics")).toEqual(["vllm"]);
  expect(serviceNameCollisions("mongodb")).toEqual(["mongodb-exporter"]);
  expect(serviceNameCollisions("model-server")).toEqual([]);
});
