import { EditableSetting, Run, editSetting, resource, runProgram } from "./harness";
import { PoolFacts, modelFit, validateInferenceClusterArgs } from "../components/inference-cluster";

const P = "waris-hybrid";
type Pod = {
  nodeSelector: Record<string, string>;
  tolerations: unknown[];
  runtimeClassName?: string;
  initContainers: Array<{ args: string[]; image: string }>;
  containers: Array<{ args: string[]; env: Array<{ name: string; value?: string; valueFrom?: unknown }>; resources: { limits: Record<string, string> }; startupProbe: { failureThreshold: number; periodSeconds: number } }>;
  volumes: Array<{ name: string; emptyDir?: { medium: string; sizeLimit: string } }>;
};
const deployment = (run: Run, site: string) => resource(run, "kubernetes:apps/v1:Deployment", `waris-llm-${site}-vllm`).inputs["spec"] as { strategy: unknown; replicas: number; template: { spec: Pod } };
const nginxConf = (run: Run, site: string) => (resource(run, "kubernetes:core/v1:ConfigMap", `waris-llm-${site}-gateway-conf`).inputs["data"] as Record<string, string>)["nginx.conf"]!;
const editInference = (edit: (inf: EditableSetting) => void) => (config: Record<string, string>) => editSetting(config, "inference", edit);

describe("InferenceCluster in prod: 70B on the on-prem H100s, overflow on G-Cloud", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram("prod");
  });

  test("vLLM with tensor parallelism 2 on the pool's GPUs, Recreate, shared memory, long startup probe", () => {
    expect(run.error).toBeUndefined();
    const spec = deployment(run, "onprem");
    expect(spec.strategy).toEqual({ type: "Recreate" });
    const pod = spec.template.spec;
    expect(pod.nodeSelector).toEqual({ "waris.io/gpu-pool": "onprem-inference" });
    expect(pod.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(pod.runtimeClassName).toBe("nvidia");
    const c = pod.containers[0]!;
    expect(c.args).toEqual([
      "--model", "/models/waris-llm-70b", "--served-model-name", "waris-llm-70b", "--tensor-parallel-size", "2", "--max-model-len", "16384",
      "--gpu-memory-utilization", "0.92", "--port", "8000",
    ]);
    expect(c.resources.limits["nvidia.com/gpu"]).toBe("2");
    expect(c.startupProbe).toMatchObject({ httpGet: { path: "/health" }, periodSeconds: 10, failureThreshold: 180 });
    expect(pod.volumes).toContainEqual({ name: "shm", emptyDir: { medium: "Memory", sizeLimit: "16Gi" } });
  });

  test("weights come from the Thai object store, never the hub; requests need the bearer token", () => {
    const pod = deployment(run, "onprem").template.spec;
    expect(pod.initContainers[0]!.args).toEqual(["s3", "sync", "--only-show-errors", "--endpoint-url", "https://s3.gdcc.go.th", "s3://waris-prod-model-artifacts/llm-70b-instruct-fp8/", "/models/waris-llm-70b"]);
    expect(pod.containers[0]!.env).toEqual([
      { name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "vllm-api-key", key: "VLLM_API_KEY" } } },
      { name: "HF_HUB_OFFLINE", value: "1" },
    ]);
    // prod takes its keys from Vault: the key's Secret is written by External Secrets from Vault KV.
    const apiKey = resource(run, "kubernetes:external-secrets.io/v1:ExternalSecret", "waris-llm-onprem-api-key").inputs["spec"] as { target: { name: string }; data: unknown[] };
    expect(apiKey.target.name).toBe("vllm-api-key");
    expect(apiKey.data).toEqual([{ secretKey: "v0", remoteRef: { key: "stack/waris-llm-api-key", property: "value" } }]);
  });

  test("the standby site runs the smaller AWQ deployment of the same model name", () => {
    const args = deployment(run, "gcloud").template.spec.containers[0]!.args;
    expect(args).toEqual(expect.arrayContaining(["--served-model-name", "waris-llm-70b", "--model", "/models/waris-llm-70b"]));
    // A pre-quantized AWQ checkpoint: vLLM detects it and picks the Marlin kernel (see test/vllm.test.ts).
    expect(args).not.toContain("--quantization");
    expect(deployment(run, "gcloud").template.spec.nodeSelector).toEqual({ "waris.io/gpu-pool": "gcloud-overflow" });
  });

  test("PDB, Service, a NetworkPolicy admitting the gateway and Prometheus only, ServiceMonitor and the seed's alerts", () => {
    expect(resource(run, "kubernetes:policy/v1:PodDisruptionBudget", "waris-llm-onprem-vllm-pdb").inputs["spec"]).toMatchObject({ maxUnavailable: 1 });
    expect(resource(run, "kubernetes:core/v1:Service", "waris-llm-onprem-vllm-svc").inputs["spec"]).toMatchObject({ type: "ClusterIP", ports: [{ port: 8000 }] });
    expect((resource(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "waris-llm-onprem-vllm-netpol").inputs["spec"] as { ingress: unknown }).ingress).toEqual([
      { from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "gateway" } } }], ports: [{ port: 8000 }] },
      { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }], ports: [{ port: 8000 }] },
    ]);
    expect((resource(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "waris-llm-onprem-gateway-netpol").inputs["spec"] as { ingress: unknown[] }).ingress[0]).toEqual({
      from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "waris-app" } } }],
      ports: [{ port: 8080 }],
    });
    expect(resource(run, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "waris-llm-onprem-vllm-monitor").inputs["spec"]).toMatchObject({ endpoints: [{ port: "http", path: "/metrics" }] });
    const rules = (resource(run, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "waris-llm-onprem-vllm-alerts").inputs["spec"] as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups[0]!.rules;
    expect(rules.map((r) => r.alert)).toEqual(["InferenceGpuSaturated", "InferenceLatencyHigh", "InferenceErrorRateHigh"]);
    expect(rules[0]!.expr).toMatch(/DCGM_FI_DEV_GPU_UTIL.*> 95$/);
    expect(rules[2]!.expr).toMatch(/> 0.01$/);
  });

  test("one endpoint: the on-prem gateway spills to G-Cloud over verified TLS when saturated or down", () => {
    const conf = nginxConf(run, "onprem");
    expect(conf).toContain("server model-server.waris-inference.svc.cluster.local:8000 max_conns=64 max_fails=3 fail_timeout=30s;");
    expect(conf).toContain("error_page 502 503 504 = @overflow;");
    expect(conf).toContain("proxy_pass https://llm.gcloud.waris.internal:443;");
    expect(conf).toContain("proxy_ssl_verify on;");
    expect(conf).toMatch(/if \(\$http_authorization !~ "\^Bearer \.\+"\) \{ return 401; \}/);
    expect(conf).toContain("listen 8443 ssl;");
    expect(resource(run, "kubernetes:core/v1:Service", "waris-llm-onprem-gateway-remote").inputs["spec"]).toMatchObject({ type: "LoadBalancer", ports: [{ name: "https", port: 443 }] });
    expect(run.outputs["llm"]).toMatchObject({ endpoint: "http://gateway.waris-inference.svc.cluster.local/v1", model: "waris-llm-70b", activeSite: "onprem" });
  });
});

test("activeSite = gcloud moves the primary role: G-Cloud runs the FP8 model, on-prem takes the spill", async () => {
  const run = await runProgram("prod", (c) => (c[`${P}:activeSite`] = "gcloud"));
  expect(run.error).toBeUndefined();
  expect(deployment(run, "gcloud").template.spec.containers[0]!.args).toEqual(expect.arrayContaining(["--model", "/models/waris-llm-70b", "--max-model-len", "16384"]));
  expect(deployment(run, "onprem").template.spec.containers[0]!.args).toEqual(expect.arrayContaining(["--model", "/models/waris-llm-70b", "--max-model-len", "8192"]));
  expect(nginxConf(run, "gcloud")).toContain("proxy_pass https://llm.onprem.waris.internal:443;");
});

test("autoscaling on queue depth with KEDA when the pools have room for more replicas", async () => {
  const run = await runProgram("prod", (c) => {
    editSetting(c, "gpuPools", (pools) => {
      // Both sites need the room: after a failover G-Cloud runs the primary deployment.
      pools["onprem-inference"].nodeNames = ["waris-gpu-01", "waris-gpu-02"];
      pools["gcloud-overflow"].nodeNames = ["gcloud-gpu-01", "gcloud-gpu-02"];
    });
    editInference((inf) => (inf.primary.maxReplicas = 2))(c);
  });
  expect(run.error).toBeUndefined();
  expect(resource(run, "kubernetes:keda.sh/v1alpha1:ScaledObject", "waris-llm-onprem-vllm-scaler").inputs["spec"]).toMatchObject({
    scaleTargetRef: { name: "vllm" },
    minReplicaCount: 1,
    maxReplicaCount: 2,
    triggers: [{ type: "prometheus", metadata: { query: 'sum(vllm:num_requests_waiting{namespace="waris-inference"})', threshold: "5" } }],
  });
});

test("dev: a small model on the lab GPU, from the hub (dev only), no cross-site gateway", async () => {
  const run = await runProgram("dev");
  expect(run.error).toBeUndefined();
  const pod = deployment(run, "lab").template.spec;
  expect(pod.containers[0]!.args.slice(0, 4)).toEqual(["--model", "Qwen/Qwen2.5-7B-Instruct", "--served-model-name", "waris-llm-dev"]);
  expect(pod.containers[0]!.env.map((e) => e.name)).toEqual(["VLLM_API_KEY"]);
  // No Vault on dev: the key is the stack's, in a plain Secret, kept secret in the state.
  expect(resource(run, "kubernetes:core/v1:Secret", "waris-llm-lab-api-key").secretPaths.length).toBeGreaterThan(0);
  expect(pod.initContainers).toEqual([]);
  expect(run.recording.resources.some((r) => r.name === "waris-llm-lab-gateway-remote")).toBe(false);
  expect(nginxConf(run, "lab")).not.toContain("@overflow");
});

describe("InferenceCluster refuses bad arguments", () => {
  const h100: PoolFacts = { site: "onprem", gpuModel: "H100", gpusPerNode: 2, gpuMemoryGiB: 80, maxNodes: 1 };
  const model = { model: "m", source: "s3://models/m/", parametersBillions: 70, precision: "fp8" as const, tensorParallelSize: 2 };
  const base = { sites: ["onprem"], pools: [h100], activeSite: "onprem", primary: model, appNamespace: "app", hasApiKey: true, hasModelStore: true };
  const problem = (args: Partial<Parameters<typeof validateInferenceClusterArgs>[0]>, argument: string): string => {
    const found = validateInferenceClusterArgs({ ...base, ...args }).find((p) => p.argument === argument);
    expect(found).toBeDefined();
    return found!.message;
  };
  test("the baseline is valid", () => expect(validateInferenceClusterArgs(base)).toEqual([]));
  test("a tensor-parallel size that does not divide the GPUs", () =>
    expect(problem({ primary: { ...model, tensorParallelSize: 3 } }, "primary.tensorParallelSize")).toMatch(/3, which does not divide the 2 GPUs per node .* allowed: 1, 2/));
  test("a 70B bf16 model on GPUs that cannot hold it", () => {
    expect(problem({ primary: { ...model, precision: "bf16" } }, "primary.precision")).toMatch(
      /70B bf16 needs 130.4 GiB of weights, 65.2 GiB per GPU at tensor parallelism 2; a H100 \(80 GiB × 0.9\) on site "onprem" leaves 6.8 GiB for the KV cache, under the 10% \(7.2 GiB\) minimum/,
    );
    expect(problem({ pools: [{ ...h100, gpuModel: "L40S", gpuMemoryGiB: 48 }], primary: { ...model, precision: "bf16" } }, "primary.precision")).toMatch(/leaves -22.0 GiB/);
  });
  test("min replicas above max", () => expect(problem({ primary: { ...model, minReplicas: 3, maxReplicas: 2 } }, "primary.minReplicas")).toMatch(/3, above maxReplicas 2/));
  test("more replicas than the pool holds", () => expect(problem({ primary: { ...model, maxReplicas: 2 } }, "primary.maxReplicas")).toMatch(/holds at most 1 replica/));
  test("an unauthenticated endpoint", () => expect(problem({ hasApiKey: false }, "apiKey")).toMatch(/bearer token; there is no anonymous endpoint/));
  test("weights from a public hub without leave", () => expect(problem({ primary: { ...model, source: "hf://meta/llama" } }, "primary.source")).toMatch(/public hub at run time/));
  test("an overflow answering to another model name", () =>
    expect(problem({ sites: ["onprem", "gcloud"], pools: [h100, { ...h100, site: "gcloud" }], gatewayHosts: { onprem: "a", gcloud: "b" }, overflow: { ...model, model: "other" } }, "overflow.model")).toMatch(/same model name/));
  test("the fit arithmetic", () => expect(modelFit({ parametersBillions: 70, precision: "awq", tensorParallelSize: 2 }, 80).weightsPerGpuGiB).toBeCloseTo(16.3, 1));

  test("in the stack file: hub downloads are refused on prod, with the key, before anything is registered", async () => {
    const run = await runProgram("prod", editInference((inf) => (inf.allowHubDownload = true)));
    expect((run.error as Error).message).toMatch(/waris-hybrid:inference.allowHubDownload = true: is true on prod/);
    expect(run.recording.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });

  test("a missing bearer token secret names the command (without Vault, where it comes from the stack)", async () => {
    const run = await runProgram("dev", (c) => delete c[`${P}:inferenceApiKey`]);
    expect((run.error as Error).message).toMatch(/waris-hybrid:inferenceApiKey = \(not set\): missing secret .* pulumi config set --secret --stack dev inferenceApiKey/);
  });
});
