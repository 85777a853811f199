/**
 * Issue 16, item 3: GPU Operator values per Kubernetes distribution (Talos, K3s, plain containerd) chosen by
 * the site setting `kubernetesDistribution`; a pool is not ready until `nvidia.com/gpu` is allocatable on
 * its nodes (its readiness Job, which GPU workloads depend on); the operator is one per site.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as lib from "../components";
import { DISTRIBUTIONS, KUBERNETES_DISTRIBUTIONS, gpuOperatorProblems, gpuOperatorValues, gpuReadinessScript } from "../components/gpu-operator";
import { Run, editSetting, resource, resourcesOfType, runIsolated, runProgram, stackConfig } from "./harness";

type Lib = typeof lib;
type Values = { driver: { enabled: boolean }; toolkit: { enabled: boolean; env?: Array<{ name: string; value: string }> }; hostPaths?: { driverInstallDir: string }; validator?: { driver: { env: Array<{ name: string; value: string }> } } };
const envOf = (list?: Array<{ name: string; value: string }>) => Object.fromEntries((list ?? []).map((e) => [e.name, e.value]));
const labels = { "waris.io/site": "s" };

describe("values per distribution (each from the distribution's defaults)", () => {
  test.each(KUBERNETES_DISTRIBUTIONS)("%s", (distribution) => {
    const v = gpuOperatorValues({ distribution, mig: false, labels }) as unknown as Values;
    const facts = DISTRIBUTIONS[distribution];
    expect([v.driver.enabled, v.toolkit.enabled]).toEqual([!facts.driverOnHost, !facts.toolkitOnHost]);
    if (distribution === "talos") {
      // The validator looks for the driver at the host's root, not a driver container's (gpu-operator 1687, 1276).
      expect(v.hostPaths).toEqual({ driverInstallDir: "/" });
      expect(envOf(v.validator?.driver.env)).toEqual({ DRIVER_ROOT: "/", NVIDIA_DRIVER_ROOT: "/", DISABLE_DEV_CHAR_SYMLINK_CREATION: "true" });
      expect(v.toolkit.env).toBeUndefined();
    } else if (distribution === "k3s") {
      expect(envOf(v.toolkit.env)).toEqual({
        CONTAINERD_CONFIG: "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
        CONTAINERD_SOCKET: "/run/k3s/containerd/containerd.sock",
        CONTAINERD_RUNTIME_CLASS: "nvidia",
      });
      expect(v.hostPaths).toBeUndefined();
    } else {
      expect([v.toolkit.env, v.hostPaths, v.validator]).toEqual([undefined, undefined, undefined]);
    }
  });

  test("K3s with the driver on the host: the toolkit still gets K3s's paths; no driver container", () => {
    const v = gpuOperatorValues({ distribution: "k3s", driverOnHost: true, mig: false, labels }) as unknown as Values;
    expect(v.driver.enabled).toBe(false);
    expect(envOf(v.toolkit.env)["CONTAINERD_SOCKET"]).toBe("/run/k3s/containerd/containerd.sock");
  });

  test("Talos refuses an operator-installed driver or toolkit, naming the argument", () => {
    expect(gpuOperatorProblems({ distribution: "talos", driverOnHost: false, toolkitOnHost: false }).map((p) => p.argument)).toEqual(["driverOnHost", "toolkitOnHost"]);
    expect(gpuOperatorProblems({ distribution: "k3s", driverOnHost: false })).toEqual([]);
  });
});

describe("the plans: each site's operator gets its distribution's values, and vLLM waits for the GPUs", () => {
  const runs: Record<string, Run> = {};
  beforeAll(async () => {
    runs["prod"] = await runProgram("prod");
    runs["dev"] = await runProgram("dev");
  });
  const POOLS = { onprem: "onprem-inference", gcloud: "gcloud-overflow", lab: "lab-gpu" } as const;

  test.each([
    ["prod", "onprem", "talos"],
    ["prod", "gcloud", "containerd"],
    ["dev", "lab", "k3s"],
  ] as const)("%s, site %s (%s): the release's values; vLLM depends on the readiness Job, which polls allocatable nvidia.com/gpu", (stack, site, distribution) => {
    const run = runs[stack]!;
    expect(run.error).toBeUndefined();
    const pool = POOLS[site];
    const values = resource(run, "kubernetes:helm.sh/v3:Release", `${pool}-gpu-operator`).inputs["values"] as Values;
    const expected = gpuOperatorValues({ distribution, driverOnHost: stack === "dev" ? true : undefined, mig: false, timeSlicingConfigMap: stack === "dev" ? "time-slicing-config" : undefined, labels: { "waris.io/site": site, "waris.io/data-class": "none" } });
    expect(values).toEqual(expected);
    const job = resource(run, "kubernetes:batch/v1:Job", `${pool}-gpu-ready`);
    const script = (job.inputs["spec"] as { template: { spec: { containers: Array<{ command: string[] }> } } }).template.spec.containers[0]!.command[2]!;
    expect(script).toContain("nvidia\\.com/gpu");
    expect(resource(run, "kubernetes:apps/v1:Deployment", `waris-llm-${site}-vllm`).dependencies).toContain(job.urn);
  });
});

test("the readiness script completes only once every node advertises its GPUs", () => {
  const dir = mkdtempSync(join(tmpdir(), "gpu-ready-"));
  // A fake kubectl: node a has no GPUs for two polls, then 2; node b has 2 at once. A fake sleep.
  writeFileSync(join(dir, "kubectl"), `#!/bin/sh\nn=$(cat "${dir}/$3" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${dir}/$3"\nif [ "$3" = a ] && [ $n -le 2 ]; then echo ""; else echo 2; fi\n`);
  writeFileSync(join(dir, "sleep"), "#!/bin/sh\nexit 0\n");
  chmodSync(join(dir, "kubectl"), 0o755);
  chmodSync(join(dir, "sleep"), 0o755);
  const out = execFileSync("sh", ["-c", gpuReadinessScript(["a", "b"], 2)], { env: { ...process.env, PATH: `${dir}:${process.env["PATH"]}` }, encoding: "utf8" });
  expect(out).toBe(["a: 0 of 2 nvidia.com/gpu allocatable; waiting", "a: 0 of 2 nvidia.com/gpu allocatable; waiting", "a: 2 nvidia.com/gpu allocatable", "b: 2 nvidia.com/gpu allocatable", ""].join("\n"));
  expect(readFileSync(join(dir, "a"), "utf8").trim()).toBe("3");
});

describe("the operator is one per site", () => {
  // The platform's way: every pool asks for the operator unless told not to (index.ts).
  const pool = (l: Lib, site: lib.Site, name: string, installOperator = true) =>
    new l.GpuNodePool(name, { site, gpuModel: "H100", gpusPerNode: 2, workload: "inference", nodeNames: [`${name}-01`], nodeOwner: "waris-hybrid/test", installOperator });
  const onOneSite = (second?: boolean) =>
    runIsolated("test", stackConfig("prod"), async () => {
      const l = require("../components") as Lib;
      const site = new l.Site("onprem", { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig: "k", kubernetesDistribution: "talos" });
      pool(l, site, "pool-a");
      pool(l, site, "pool-b", second);
    });

  test("two pools: the second asking for it fails, naming installOperator and the owner", async () => {
    const run = await onOneSite();
    // The run's own copy of the module (an isolated registry): compared by name.
    expect((run.error as Error).name).toBe("InvalidArgumentsError");
    expect((run.error as Error).message).toMatch(/GpuNodePool "pool-b"[\s\S]*installOperator: asks for the gpu-operator, but GpuNodePool "pool-a" already installs it on site "onprem"/);
    expect(resourcesOfType(run, "kubernetes:helm.sh/v3:Release")).toHaveLength(1);
  });

  test("with installOperator: false on the second: one Namespace and one Release, two readiness gates", async () => {
    const run = await onOneSite(false);
    expect(run.error).toBeUndefined();
    expect(resourcesOfType(run, "kubernetes:core/v1:Namespace")).toHaveLength(1);
    expect(resourcesOfType(run, "kubernetes:helm.sh/v3:Release")).toHaveLength(1);
    expect(resourcesOfType(run, "kubernetes:batch/v1:Job").map((j) => j.name).sort()).toEqual(["pool-a-gpu-ready", "pool-b-gpu-ready"]);
  });

  test("the stack configuration refuses it before any resource", async () => {
    const run = await runProgram("prod", (config) =>
      editSetting(config, "gpuPools", (pools) => void (pools["onprem-batch"] = { site: "onprem", gpuModel: "H100", gpusPerNode: 2, workload: "batch", nodeNames: ["waris-gpu-02"] })),
    );
    expect((run.error as Error).name).toBe("StackConfigError");
    expect((run.error as Error).message).toMatch(/gpuPools\.onprem-batch\.installOperator = \(not set\): installs the GPU Operator on site "onprem", as pool "onprem-inference" does/);
    expect(run.recording.resources.filter((r) => r.custom)).toEqual([]);
  });
});
