// A 70B model (FP8, tensor parallelism 2) on-prem, spilling to an AWQ copy in G-Cloud.
import * as pulumi from "@pulumi/pulumi";
import { GpuNodePool, InferenceCluster } from "@waris/hybrid-infra";
import { gcloud, onprem } from "./site";

const config = new pulumi.Config();
const pools = [
  new GpuNodePool("llm-onprem", { site: onprem, gpuModel: "H100", gpusPerNode: 2, workload: "inference", nodeNames: ["waris-gpu-01"], nodeOwner: "waris-examples/dev" }),
  new GpuNodePool("llm-gcloud", { site: gcloud, gpuModel: "A100", gpusPerNode: 2, workload: "inference", nodeNames: ["gcloud-gpu-01"], nodeOwner: "waris-examples/dev" }),
];

export const llm = new InferenceCluster("waris-llm", {
  sites: [onprem, gcloud],
  pools,
  activeSite: "onprem",
  primary: { model: "waris-llm-70b", source: "s3://waris-models/llm-70b-fp8/", parametersBillions: 70, precision: "fp8", tensorParallelSize: 2 },
  overflow: { model: "waris-llm-70b", source: "s3://waris-models/llm-70b-awq/", parametersBillions: 70, precision: "awq", tensorParallelSize: 2 },
  apiKey: config.requireSecret("inferenceApiKey"),
  appNamespace: "waris-app",
  gatewayHosts: { onprem: "llm.onprem.waris.internal", gcloud: "llm.gcloud.waris.internal" },
  modelStore: gcloud,
});

export const endpoint = llm.endpoint;
