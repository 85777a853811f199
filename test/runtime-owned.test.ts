/**
 * Issue 16, item 6: a field a controller owns at run time (node counts under an autoscaler, replica counts
 * under KEDA) is set at creation only: the resource carries it in `ignoreChanges`, every such field.
 */
import type * as lib from "../components";
import { RUNTIME_OWNED_FIELDS, runtimeOwnedFields } from "../components/runtime-owned";
import { Run, editSetting, resource, runIsolated, runProgram, stackConfig } from "./harness";

type Lib = typeof lib;

async function build(make: (l: Lib) => void): Promise<Run> {
  const run = await runIsolated("test", stackConfig("prod"), async () => {
    make(require("../components") as Lib);
  });
  expect(run.error).toBeUndefined();
  return run;
}

const cloud = { gpuModel: "H100", gpusPerNode: 8, workload: "training", dataClass: "none", clusterName: "c" } as const;
const aws = (l: Lib) => new l.Site("awsth", { kind: "aws", region: "ap-southeast-7", country: "TH", role: "burst" });
const azure = (l: Lib) => new l.Site("azsg", { kind: "azure", region: "southeastasia", country: "SG", role: "burst" });
const doks = (l: Lib) => new l.Site("dosg", { kind: "digitalocean", region: "sgp1", country: "SG", role: "burst" });

describe.each([
  ["EKS node group", "aws:eks/nodeGroup:NodeGroup", (l: Lib, scaled: boolean) => new l.GpuNodePool("p", { ...cloud, site: aws(l), subnetIds: ["s"], minNodes: 1, maxNodes: scaled ? 4 : 1 })],
  ["AKS agent pool", "azure-native:containerservice:AgentPool", (l: Lib, scaled: boolean) => new l.GpuNodePool("p", { ...cloud, site: azure(l), resourceGroupName: "rg", minNodes: 1, maxNodes: scaled ? 4 : 1 })],
  ["DOKS node pool", "digitalocean:index/kubernetesNodePool:KubernetesNodePool", (l: Lib, scaled: boolean) => new l.GpuNodePool("p", { ...cloud, gpusPerNode: 1, site: doks(l), minNodes: 1, maxNodes: scaled ? 4 : 1 })],
] as const)("%s", (_what, type, make) => {
  test("autoscaled: every run-time-owned field is left to the autoscaler after creation", async () => {
    const run = await build((l) => void make(l, true));
    expect(resource(run, type, "p").ignoreChanges).toEqual(RUNTIME_OWNED_FIELDS[type]);
  });
  test("fixed size: Pulumi keeps the size", async () => {
    const run = await build((l) => void make(l, false));
    expect(resource(run, type, "p").ignoreChanges).toEqual([]);
  });
});

test("the vLLM Deployment: replicas are KEDA's when it scales, Pulumi's when the size is fixed", async () => {
  const scaled = await runProgram("prod", (config) => {
    editSetting(config, "gpuPools", (pools) => {
      pools["onprem-inference"].nodeNames = ["waris-gpu-01", "waris-gpu-02"];
      pools["gcloud-overflow"].nodeNames = ["gcloud-gpu-01", "gcloud-gpu-02"];
    });
    editSetting(config, "inference", (inf) => void (inf["primary"].maxReplicas = 2));
  });
  expect(scaled.error).toBeUndefined();
  expect(resource(scaled, "kubernetes:apps/v1:Deployment", "waris-llm-onprem-vllm").ignoreChanges).toEqual(["spec.replicas"]);
  expect(resource(scaled, "kubernetes:keda.sh/v1alpha1:ScaledObject", "waris-llm-onprem-vllm-scaler")).toBeDefined();
  const fixed = await runProgram("prod");
  expect(resource(fixed, "kubernetes:apps/v1:Deployment", "waris-llm-onprem-vllm").ignoreChanges).toEqual([]);
});

test("an unknown type is a programming error, named", () => {
  expect(() => runtimeOwnedFields("kubernetes:apps/v1:StatefulSet", true)).toThrow(/no entry for kubernetes:apps\/v1:StatefulSet/);
});
