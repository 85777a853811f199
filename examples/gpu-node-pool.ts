// GPU pools on the on-prem server (Talos: driver and toolkit on the host) and a spot training pool
// in AWS Bangkok; workloads schedule with each pool's contract.
import { GpuNodePool, Site } from "@waris/hybrid-infra";
import { onprem } from "./site";

const inference = new GpuNodePool("onprem-inference", {
  site: onprem,
  gpuModel: "H100",
  gpusPerNode: 2,
  workload: "inference",
  dataClass: "confidential",
  nodeNames: ["waris-gpu-01"], nodeOwner: "waris-examples/dev",
  driverOnHost: true,
  toolkitOnHost: true,
});

const bangkok = new Site("aws-bkk", { kind: "aws", region: "ap-southeast-7", country: "TH", role: "burst" });
const training = new GpuNodePool("aws-training", {
  site: bangkok,
  gpuModel: "H100",
  gpusPerNode: 8,
  workload: "training",
  dataClass: "none",
  spot: true,
  minNodes: 0,
  maxNodes: 2,
  clusterName: "waris-eks",
  subnetIds: ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
});

export const inferenceScheduling = { nodeSelector: inference.nodeSelector, tolerations: inference.tolerations, runtimeClassName: inference.runtimeClassName };
export const trainingMachine = training.machineType;
