import type * as lib from "../components";
import type { RecordedResource } from "../plan/mock-runtime";
import { Run, editSetting, resourcesOfType, runIsolated, runProgram, stackConfig } from "./harness";
import { InvalidArgumentsError } from "../components/errors";
import { validateGpuNodePoolArgs, GpuNodePoolSettings } from "../components/gpu-node-pool";
import { SiteSpec } from "../components/site";

type Lib = typeof lib;
/** The stack the tests run as (project of stackConfig("prod"), stack "test"): the owner of their nodes. */
const OWNER = "waris-hybrid/test";
type SiteInit = { name: string } & Omit<import("../components/site").SiteArgs, "kubeconfig">;

const SITES: Record<string, SiteInit> = {
  onprem: { name: "onprem", kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary" },
  gcloud: { name: "gcloud", kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby" },
  awsth: { name: "awsth", kind: "aws", region: "ap-southeast-7", country: "TH", role: "burst" },
  azsg: { name: "azsg", kind: "azure", region: "southeastasia", country: "SG", role: "burst" },
  dosg: { name: "dosg", kind: "digitalocean", region: "sgp1", country: "SG", role: "burst" },
};

/** Builds one site and whatever `build` makes on it, under mocks; returns the run and the pool. */
async function onSite(siteKey: string, build: (l: Lib, site: lib.Site) => lib.GpuNodePool): Promise<{ run: Run; pool?: lib.GpuNodePool }> {
  let pool: lib.GpuNodePool | undefined;
  const run = await runIsolated("test", stackConfig("prod"), async () => {
    const l = require("../components") as Lib;
    const { name, ...args } = SITES[siteKey]!;
    const site = new l.Site(name, { ...args, kubeconfig: args.kind === "onprem" || args.kind === "gcloud" ? "fake-kubeconfig" : undefined });
    pool = build(l, site);
  });
  return { run, pool };
}

const one = (run: Run, type: string): RecordedResource => {
  const found = resourcesOfType(run, type);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe("GpuNodePool on on-prem and G-Cloud (existing Kubernetes nodes)", () => {
  test("onprem inference pool on Talos: operator without driver/toolkit, RuntimeClass, labelled and tainted nodes", async () => {
    const { run, pool } = await onSite("onprem", (l, site) =>
      new l.GpuNodePool("onprem-inference", {
        site,
        gpuModel: "H100",
        gpusPerNode: 2,
        workload: "inference",
        dataClass: "confidential",
        nodeNames: ["gpu-01", "gpu-02"],
        nodeOwner: OWNER,
        installOperator: true,
        driverOnHost: true,
        toolkitOnHost: true,
        extraTaints: [{ key: "waris.io/dedicated", value: "llm", effect: "NoSchedule" }],
      }),
    );
    expect(run.error).toBeUndefined();
    const release = one(run, "kubernetes:helm.sh/v3:Release");
    expect(release.inputs).toMatchObject({
      chart: "gpu-operator",
      version: "v25.10.0",
      repositoryOpts: { repo: "https://helm.ngc.nvidia.com/nvidia" },
      namespace: "gpu-operator",
      values: { driver: { enabled: false }, toolkit: { enabled: false }, mig: { strategy: "none" } },
    });
    expect(release.provider).toMatch(/waris:index:Site\$pulumi:providers:kubernetes::onprem$/);
    expect(one(run, "kubernetes:core/v1:Namespace").inputs).toMatchObject({
      metadata: { name: "gpu-operator", labels: { "pod-security.kubernetes.io/enforce": "privileged", "waris.io/site": "onprem" } },
    });
    expect(one(run, "kubernetes:node.k8s.io/v1:RuntimeClass").inputs).toMatchObject({ metadata: { name: "nvidia" }, handler: "nvidia" });
    const patches = resourcesOfType(run, "kubernetes:core/v1:NodePatch");
    expect(patches.map((p) => (p.inputs["metadata"] as { name: string }).name)).toEqual(["gpu-01", "gpu-02"]);
    expect(patches[0]!.inputs).toMatchObject({
      metadata: {
        labels: {
          "waris.io/site": "onprem",
          "waris.io/data-class": "confidential",
          "waris.io/gpu-pool": "onprem-inference",
          "waris.io/workload": "inference",
          "waris.io/gpu-model": "H100",
        },
      },
      spec: {
        taints: [
          { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" },
          { key: "waris.io/dedicated", value: "llm", effect: "NoSchedule" },
        ],
      },
    });
    expect(pool!.nodeSelector).toEqual({ "waris.io/gpu-pool": "onprem-inference" });
    expect(pool!.tolerations).toEqual([
      { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" },
      { key: "waris.io/dedicated", operator: "Equal", value: "llm", effect: "NoSchedule" },
    ]);
    expect(pool!.runtimeClassName).toBe("nvidia");
    expect(pool!.gpuMemoryGiB).toBe(80);
    expect(pool!.maxNodes).toBe(2);
  });

  test("gcloud pool with time-slicing: operator installs the driver, device plugin reads the sharing config", async () => {
    const { run } = await onSite("gcloud", (l, site) =>
      new l.GpuNodePool("gcloud-batch", { site, gpuModel: "L40S", gpusPerNode: 1, workload: "batch", nodeNames: ["g-01"], nodeOwner: OWNER, installOperator: true, timeSlicingReplicas: 4 }),
    );
    expect(run.error).toBeUndefined();
    const config = one(run, "kubernetes:core/v1:ConfigMap");
    expect(JSON.parse((config.inputs["data"] as { any: string }).any)).toEqual({
      version: "v1",
      flags: { migStrategy: "none" },
      sharing: { timeSlicing: { resources: [{ name: "nvidia.com/gpu", replicas: 4 }] } },
    });
    expect(one(run, "kubernetes:helm.sh/v3:Release").inputs).toMatchObject({
      values: { driver: { enabled: true }, toolkit: { enabled: true }, devicePlugin: { config: { name: "time-slicing-config", default: "any" } } },
    });
    expect(resourcesOfType(run, "kubernetes:node.k8s.io/v1:RuntimeClass")).toHaveLength(0);
  });

  test("MIG on-prem sets the single strategy and the MIG manager's node label", async () => {
    const { run } = await onSite("onprem", (l, site) =>
      new l.GpuNodePool("onprem-mig", { site, gpuModel: "A100", gpusPerNode: 2, workload: "batch", nodeNames: ["gpu-01"], nodeOwner: OWNER, migProfile: "3g", installOperator: true }),
    );
    expect(one(run, "kubernetes:helm.sh/v3:Release").inputs).toMatchObject({ values: { mig: { strategy: "single" } } });
    expect(one(run, "kubernetes:core/v1:NodePatch").inputs).toMatchObject({ metadata: { labels: { "nvidia.com/mig.config": "all-3g.40gb" } } });
  });

  test("by default (a library user) the pool installs nothing cluster-wide: no operator, no RuntimeClass", async () => {
    const { run, pool } = await onSite("onprem", (l, site) =>
      new l.GpuNodePool("second", { site, gpuModel: "H100", gpusPerNode: 2, workload: "training", nodeNames: ["gpu-02"], nodeOwner: OWNER, driverOnHost: true, toolkitOnHost: true }),
    );
    expect(run.error).toBeUndefined();
    expect(resourcesOfType(run, "kubernetes:helm.sh/v3:Release")).toHaveLength(0);
    expect(resourcesOfType(run, "kubernetes:core/v1:Namespace")).toHaveLength(0);
    expect(resourcesOfType(run, "kubernetes:node.k8s.io/v1:RuntimeClass")).toHaveLength(0);
    // The platform's RuntimeClass, by its name.
    expect(pool!.runtimeClassName).toBe("nvidia");
    expect(resourcesOfType(run, "kubernetes:core/v1:NodePatch")).toHaveLength(1);
  });

  test.each([
    ["without nodeOwner", undefined, /nodeOwner: is required with nodeNames \["gpu-02"\]: the pool labels and taints those nodes \(cluster-wide objects\); set it to the stack that owns them, "waris-hybrid\/test" if it is this one/],
    ["owned by another stack", "waris-hybrid/prod", /nodeNames: \["gpu-02"\] are labelled by stack "waris-hybrid\/prod" \(nodeOwner\), not by this stack "waris-hybrid\/test"/],
  ])("nodes %s: refused before anything is registered", async (_, nodeOwner, message) => {
    const { run } = await onSite("onprem", (l, site) =>
      new l.GpuNodePool("second", { site, gpuModel: "H100", gpusPerNode: 2, workload: "training", nodeNames: ["gpu-02"], ...(nodeOwner ? { nodeOwner } : {}) }),
    );
    expect((run.error as Error).name).toBe("InvalidArgumentsError");
    expect((run.error as Error).message).toMatch(message);
    expect(run.recording.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers"))).toEqual([]);
  });
});

describe("GpuNodePool on clouds", () => {
  test("AWS: EKS managed node group, NVIDIA AMI, spot training, its IAM role", async () => {
    const { run, pool } = await onSite("awsth", (l, site) =>
      new l.GpuNodePool("aws-training", {
        site,
        gpuModel: "H100",
        gpusPerNode: 8,
        workload: "training",
        dataClass: "none",
        spot: true,
        minNodes: 0,
        maxNodes: 4,
        clusterName: "waris-eks",
        subnetIds: ["subnet-a", "subnet-b"],
      }),
    );
    expect(run.error).toBeUndefined();
    const group = one(run, "aws:eks/nodeGroup:NodeGroup");
    expect(group.inputs).toMatchObject({
      clusterName: "waris-eks",
      instanceTypes: ["p5.48xlarge"],
      amiType: "AL2023_x86_64_NVIDIA",
      capacityType: "SPOT",
      diskSize: 200,
      scalingConfig: { desiredSize: 0, minSize: 0, maxSize: 4 },
      subnetIds: ["subnet-a", "subnet-b"],
      labels: { "waris.io/gpu-pool": "aws-training", "waris.io/site": "awsth", "waris.io/data-class": "none" },
      taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE" }],
      tags: { "waris-site": "awsth", "waris-data-class": "none", "waris-gpu-pool": "aws-training" },
    });
    expect(group.provider).toMatch(/pulumi:providers:aws::awsth$/);
    const role = one(run, "aws:iam/role:Role");
    expect(JSON.parse(role.inputs["assumeRolePolicy"] as string).Statement[0].Principal).toEqual({ Service: "ec2.amazonaws.com" });
    expect(resourcesOfType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((a) => a.inputs["policyArn"])).toEqual([
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    ]);
    expect(pool!.machineType).toBe("p5.48xlarge");
    expect(pool!.runtimeClassName).toBeUndefined();
    expect(pool!.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  });

  test("Azure: AKS agent pool with an NC GPU size, spot, MIG and autoscaling; spot taint tolerated", async () => {
    const { run, pool } = await onSite("azsg", (l, site) =>
      new l.GpuNodePool("az-batch", {
        site,
        gpuModel: "A100",
        gpusPerNode: 1,
        workload: "batch",
        dataClass: "none",
        spot: true,
        migProfile: "1g",
        minNodes: 0,
        maxNodes: 3,
        clusterName: "waris-aks",
        resourceGroupName: "waris-rg",
      }),
    );
    expect(run.error).toBeUndefined();
    expect(one(run, "azure-native:containerservice:AgentPool").inputs).toMatchObject({
      resourceGroupName: "waris-rg",
      resourceName: "waris-aks",
      agentPoolName: "azbatch",
      mode: "User",
      vmSize: "Standard_NC24ads_A100_v4",
      count: 0,
      enableAutoScaling: true,
      minCount: 0,
      maxCount: 3,
      scaleSetPriority: "Spot",
      scaleSetEvictionPolicy: "Delete",
      spotMaxPrice: -1,
      gpuInstanceProfile: "MIG1g",
      nodeTaints: ["nvidia.com/gpu=present:NoSchedule"],
      nodeLabels: { "waris.io/gpu-pool": "az-batch", "waris.io/data-class": "none" },
      tags: { "waris-site": "azsg" },
    });
    expect(pool!.tolerations).toContainEqual({ key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule" });
  });

  test("DigitalOcean: DOKS node pool with a GPU droplet, autoscaling, labels, taints and tags", async () => {
    const { run } = await onSite("dosg", (l, site) =>
      new l.GpuNodePool("do-batch", { site, gpuModel: "H100", gpusPerNode: 1, workload: "batch", dataClass: "none", nodeCount: 1, maxNodes: 2, clusterName: "doks-id" }),
    );
    expect(run.error).toBeUndefined();
    const nodePool = one(run, "digitalocean:index/kubernetesNodePool:KubernetesNodePool");
    expect(nodePool.inputs).toMatchObject({
      clusterId: "doks-id",
      size: "gpu-h100x1-80gb",
      autoScale: true,
      minNodes: 1,
      maxNodes: 2,
      labels: { "waris.io/gpu-pool": "do-batch", "waris.io/site": "dosg" },
      taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }],
      tags: ["waris-site:dosg", "waris-data-class:none", "waris-gpu-pool:do-batch", "waris-workload:batch"],
    });
    expect(nodePool.provider).toMatch(/pulumi:providers:digitalocean::dosg$/);
  });
});

describe("GpuNodePool refuses bad arguments, naming the argument", () => {
  const spec = (key: string): SiteSpec => {
    const { name, kind, region, country, role } = SITES[key]!;
    return { name, kind, region, country, role };
  };
  const base: GpuNodePoolSettings = { gpuModel: "H100", gpusPerNode: 2, workload: "inference", nodeNames: ["gpu-01"] };
  const cloud: GpuNodePoolSettings = { gpuModel: "H100", gpusPerNode: 1, workload: "batch", dataClass: "none", hasCluster: true, hasSubnets: true, hasResourceGroup: true };
  const cases: Array<[string, string, GpuNodePoolSettings, string, RegExp]> = [
    ["unknown GPU model", "onprem", { ...base, gpuModel: "B300" as never }, "gpuModel", /"B300"; allowed: A100, H100, H200, L40S, L4/],
    ["zero GPUs per node", "onprem", { ...base, gpusPerNode: 0 }, "gpusPerNode", /0; must be a whole number of at least 1/],
    ["zero nodes (cloud)", "dosg", { ...cloud, nodeCount: 0 }, "nodeCount", /0; must be a whole number of at least 1/],
    ["zero nodes (on-prem)", "onprem", { ...base, nodeNames: [] }, "nodeNames", /is empty/],
    ["min > max", "dosg", { ...cloud, minNodes: 3, maxNodes: 2 }, "minNodes", /is 3, above maxNodes 2/],
    ["spot inference", "awsth", { ...cloud, workload: "inference", spot: true }, "spot", /inference must not be preempted/],
    ["inference scaled to zero", "awsth", { ...cloud, workload: "inference", minNodes: 0, maxNodes: 2 }, "minNodes", /at least 1 for an inference pool/],
    ["impossible GPU count, listing what exists", "dosg", { ...cloud, gpusPerNode: 2 }, "gpusPerNode", /2x H100 is not offered on digitalocean; available: 1x H100 \(gpu-h100x1-80gb\), 8x H100 \(gpu-h100x8-640gb\)/],
    ["impossible GPU count on AWS", "awsth", { ...cloud, gpusPerNode: 2 }, "gpusPerNode", /2x H100 is not offered on aws; available: .*1x H100 \(p5.4xlarge\), 8x H100 \(p5.48xlarge\)/],
    ["data on a site outside Thailand", "azsg", { ...cloud, dataClass: "internal" }, "dataClass", /only data class "none" may run outside Thailand/],
    ["spot on owned hardware", "onprem", { ...base, workload: "training", spot: true }, "spot", /spot applies to cloud sites only/],
    ["MIG on a GPU without MIG", "onprem", { ...base, gpuModel: "L40S", migProfile: "1g" }, "migProfile", /L40S has no MIG/],
    ["MIG and time-slicing at once", "onprem", { ...base, migProfile: "1g", timeSlicingReplicas: 2 }, "migProfile", /choose one way to share GPUs/],
    ["time-slicing of 1", "onprem", { ...base, timeSlicingReplicas: 1 }, "timeSlicingReplicas", /at least 2/],
    ["reserved label", "onprem", { ...base, labels: { "waris.io/site": "elsewhere" } }, "labels.waris.io/site", /reserved/],
    ["missing cluster", "dosg", { ...cloud, hasCluster: false }, "clusterName", /required/],
    ["missing subnets on AWS", "awsth", { ...cloud, hasSubnets: false }, "subnetIds", /required on an aws site/],
    ["spot on DigitalOcean", "dosg", { ...cloud, spot: true }, "spot", /DigitalOcean has no spot GPU droplets/],
    ["node names on a cloud", "dosg", { ...cloud, nodeNames: ["x"] }, "nodeNames", /created by the cloud/],
  ];

  test.each(cases)("%s", (_name, siteKey, settings, argument, message) => {
    const problems = validateGpuNodePoolArgs("pool", spec(siteKey), settings);
    const problem = problems.find((p) => p.argument === argument);
    expect(problem).toBeDefined();
    expect(problem!.message).toMatch(message);
  });

  test("the valid baselines have no problem (the cases above fail for their own reason)", () => {
    expect(validateGpuNodePoolArgs("pool", spec("onprem"), base)).toEqual([]);
    expect(validateGpuNodePoolArgs("pool", spec("dosg"), cloud)).toEqual([]);
    expect(validateGpuNodePoolArgs("pool", spec("awsth"), cloud)).toEqual([]);
    expect(validateGpuNodePoolArgs("pool", spec("azsg"), { ...cloud, gpuModel: "A100" })).toEqual([]);
  });

  test("the constructor throws before registering anything", async () => {
    const { run } = await onSite("onprem", (l, site) => new l.GpuNodePool("bad", { site, gpuModel: "H100", gpusPerNode: 2, workload: "inference", nodeNames: [], spot: true }));
    expect(run.error).toBeInstanceOf(Error);
    expect((run.error as InvalidArgumentsError).name).toBe("InvalidArgumentsError");
    expect((run.error as Error).message).toMatch(/GpuNodePool "bad" has invalid arguments:\n {2}- spot: .*\n {2}- nodeNames: is empty.*\n {2}- spot: .*owned hardware/);
    expect(resourcesOfType(run, "waris:index:GpuNodePool")).toHaveLength(0);
  });

  test("a bad pool in the stack file is reported with its config key before anything is registered", async () => {
    const run = await runProgram("prod", (config) =>
      editSetting(config, "gpuPools", (pools) => {
        pools["onprem-inference"].gpusPerNode = 0;
        pools["gcloud-overflow"].site = "mars";
      }),
    );
    expect((run.error as Error).message).toMatch(/waris-hybrid:gpuPools.onprem-inference.gpusPerNode = 0: is 0; must be a whole number of at least 1/);
    expect((run.error as Error).message).toMatch(/waris-hybrid:gpuPools.gcloud-overflow.site = "mars": names no site; allowed: onprem, gcloud/);
    expect(run.recording.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});

describe("GpuNodePool in the program", () => {
  test("prod has the on-prem and the G-Cloud pool; dev has one time-sliced lab GPU", async () => {
    const prod = await runProgram("prod");
    expect(prod.recording.resources.filter((r) => r.type === "waris:index:GpuNodePool").map((r) => r.name)).toEqual(["onprem-inference", "gcloud-overflow"]);
    expect(prod.outputs["gpuPoolContracts"]).toMatchObject({
      "onprem-inference": { site: "onprem", gpuModel: "H100", gpusPerNode: 2, nodeSelector: { "waris.io/gpu-pool": "onprem-inference" }, runtimeClassName: "nvidia" },
      "gcloud-overflow": { site: "gcloud", gpuModel: "A100" },
    });
    const dev = await runProgram("dev");
    expect(dev.recording.resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name.startsWith("lab-gpu")).map((r) => r.name)).toEqual(["lab-gpu-time-slicing"]);
  });
});
