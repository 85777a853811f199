import * as pulumi from "@pulumi/pulumi";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as corev1 from "@pulumi/kubernetes/core/v1";
import * as nodev1 from "@pulumi/kubernetes/node/v1";
import * as batchv1 from "@pulumi/kubernetes/batch/v1";
import * as rbacv1 from "@pulumi/kubernetes/rbac/v1";
import { Release } from "@pulumi/kubernetes/helm/v3/release";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import {
  CloudKind,
  GPU_MODELS,
  GPU_MODEL_NAMES,
  GpuModel,
  MIG_CONFIG_NAMES,
  MIG_PROFILES,
  MigProfile,
  describeMachineTypes,
  machineTypeFor,
} from "./gpu-catalog";
import {
  DEFAULT_KUBERNETES_DISTRIBUTION,
  GPU_READINESS_IMAGE,
  KubernetesDistribution,
  gpuOperatorProblems,
  gpuOperatorValues,
  gpuReadinessScript,
  hostComponents,
} from "./gpu-operator";
import { DATA_CLASSES, DataClass, HelmChartRef, placementLabels, placementTags } from "./labels";
import { loadOptionalSdk } from "./optional-sdk";
import { POD_DEFAULTS } from "./pod-defaults";
import { isRegionInThailand } from "./residency";
import { runtimeOwnedFields } from "./runtime-owned";
import { KUBECONFIG_SITE_KINDS, Site, SiteSpec } from "./site";

/** What a GPU pool runs. Inference serves users and must never be preempted; training and batch may be. */
export const GPU_WORKLOADS = ["inference", "training", "batch"] as const;

/** A GPU workload; see {@link GPU_WORKLOADS}. */
export type GpuWorkload = (typeof GPU_WORKLOADS)[number];

/** Kubernetes taint effects. */
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

/** A Kubernetes taint effect; see {@link TAINT_EFFECTS}. */
export type TaintEffect = (typeof TAINT_EFFECTS)[number];

/** A node taint. */
export interface NodeTaint {
  /** Taint key. */
  readonly key: string;
  /** Taint value; empty when omitted. */
  readonly value?: string;
  /** What happens to pods that do not tolerate it. */
  readonly effect: TaintEffect;
}

/** A pod toleration, as a Kubernetes pod spec takes it. */
export interface Toleration {
  /** Taint key tolerated. */
  readonly key: string;
  /** `Exists` (any value) or `Equal` (the given value). */
  readonly operator: "Exists" | "Equal";
  /** Value, for `Equal`. */
  readonly value?: string;
  /** Effect tolerated. */
  readonly effect: TaintEffect;
}

/** The taint every GPU node carries, so that only pods asking for GPUs land there. */
export const GPU_TAINT: NodeTaint = { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" };

/** The node label naming a node's GPU pool: the node selector of the scheduling contract. */
export const GPU_POOL_LABEL = "waris.io/gpu-pool";

/** Extended resource a pod requests GPUs with. */
export const GPU_RESOURCE = "nvidia.com/gpu";

/** Name of the device plugin's time-slicing ConfigMap in the operator's namespace. */
const TIME_SLICING_CONFIG_MAP = "time-slicing-config";

/** Pinned NVIDIA GPU Operator Helm chart (repository `https://helm.ngc.nvidia.com/nvidia`). */
export const GPU_OPERATOR_CHART: HelmChartRef = { repo: "https://helm.ngc.nvidia.com/nvidia", chart: "gpu-operator", version: "v25.10.0" };

/** Arguments of {@link GpuNodePool}. Defaults are in each field's documentation. */
export interface GpuNodePoolArgs {
  /** Site the pool is on; its providers are used. */
  readonly site: Site;
  /** GPU model of every node. */
  readonly gpuModel: GpuModel;
  /** GPUs in each node (a whole number, at least 1). */
  readonly gpusPerNode: number;
  /** What the pool runs. */
  readonly workload: GpuWorkload;
  /**
   * Class of data the pool's workloads hold. Default `internal`. Must be `none` on a site outside
   * Thailand or a burst site: only compute that holds no data may run there.
   */
  readonly dataClass?: DataClass;
  /** Cloud sites: nodes to run (fixed size, or the starting size within min/max). Default: `minNodes`, else 1. */
  readonly nodeCount?: number;
  /** Cloud sites: autoscaling lower bound. Inference pools need at least 1; others may scale to 0. */
  readonly minNodes?: number;
  /** Cloud sites: autoscaling upper bound. Default: `nodeCount` (no autoscaling). */
  readonly maxNodes?: number;
  /** Cloud sites (AWS, Azure): allow spot/preemptible capacity. Default false; an error for inference. */
  readonly spot?: boolean;
  /** Extra node labels. Keys under `waris.io/` are reserved. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Extra taints, on top of {@link GPU_TAINT}. */
  readonly extraTaints?: readonly NodeTaint[];
  /**
   * On-prem and G-Cloud: names of the existing Kubernetes nodes that form the pool. The pool labels and
   * taints them (a server-side patch of the Node, a cluster-wide object), so {@link nodeOwner} must say
   * that the stack being run owns them.
   */
  readonly nodeNames?: readonly string[];
  /**
   * On-prem and G-Cloud, required with {@link nodeNames}: the stack that owns those nodes' labels and
   * taints, as `<project>/<stack>` (e.g. `team-program/dev`). The pool patches the nodes only when this
   * is the stack being run; any other stack's constructor throws an `InvalidArgumentsError` before
   * registering anything, so a second stack never force-patches nodes another stack labels (and its
   * `pulumi destroy` never removes their labels).
   */
  readonly nodeOwner?: string;
  /**
   * On-prem and G-Cloud: the NVIDIA driver is on the host. Default: the site's distribution's (true on
   * Talos, where it is a system extension and false is refused; false elsewhere).
   */
  readonly driverOnHost?: boolean;
  /**
   * On-prem and G-Cloud: the NVIDIA container toolkit is on the host. Default: the distribution's (true
   * on Talos, false elsewhere). When true, the operator's toolkit is off and the pool creates the `nvidia`
   * RuntimeClass itself.
   */
  readonly toolkitOnHost?: boolean;
  /**
   * On-prem and G-Cloud: install the GPU Operator (its `gpu-operator` Namespace and Helm release) and,
   * with {@link toolkitOnHost}, the cluster-wide `nvidia` RuntimeClass. Default false: the pool uses the
   * platform's operator and RuntimeClass, which the platform's own stack installs (index.ts sets true).
   * They are one per cluster: with several pools on a site exactly one installs them, or the second
   * pool's constructor throws.
   *
   * @defaultValue false
   */
  readonly installOperator?: boolean;
  /** On-prem and G-Cloud: share each GPU among this many pods by time-slicing (at least 2). Default off. */
  readonly timeSlicingReplicas?: number;
  /** Cut each GPU into MIG slices of this size (A100/H100/H200; on-prem, G-Cloud and Azure). Default off. */
  readonly migProfile?: MigProfile;
  /** Cloud sites: the cluster (EKS cluster name, AKS managed cluster name, DOKS cluster id). */
  readonly clusterName?: pulumi.Input<string>;
  /** AWS: subnets of the node group. */
  readonly subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** Azure: resource group of the AKS cluster. */
  readonly resourceGroupName?: pulumi.Input<string>;
  /** Cloud sites: OS disk size of each node, GiB. Default 200 (model weights are cached on it). */
  readonly diskSizeGiB?: number;
}

/** The pure part of the arguments, without providers or outputs: what {@link validateGpuNodePoolArgs} checks. */
export type GpuNodePoolSettings = Omit<GpuNodePoolArgs, "site" | "clusterName" | "subnetIds" | "resourceGroupName"> & {
  /** Whether a cluster was named (cloud sites). */
  readonly hasCluster?: boolean;
  /** Whether subnets were given (AWS). */
  readonly hasSubnets?: boolean;
  /** Whether a resource group was given (Azure). */
  readonly hasResourceGroup?: boolean;
  /** On-prem and G-Cloud: the site's Kubernetes distribution. Default `containerd`. */
  readonly kubernetesDistribution?: KubernetesDistribution;
};

const isWholeNumber = (n: unknown, min: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= min;

/** The stack being run, as `<project>/<stack>` (what {@link GpuNodePoolArgs.nodeOwner} names). */
export function currentStack(): string {
  return `${pulumi.getProject()}/${pulumi.getStack()}`;
}

/**
 * Whether the stack `stack` may label and taint `nodeNames`: only when `nodeOwner` names it. Pure, for the
 * constructor (which passes {@link currentStack}) and tests.
 */
export function nodeOwnerProblems(nodeNames: readonly string[] | undefined, nodeOwner: string | undefined, stack: string): ArgumentProblem[] {
  if (nodeNames === undefined || nodeNames.length === 0) return [];
  if (nodeOwner === undefined) {
    return [{ argument: "nodeOwner", message: `is required with nodeNames ${show(nodeNames)}: the pool labels and taints those nodes (cluster-wide objects); set it to the stack that owns them, "${stack}" if it is this one` }];
  }
  if (nodeOwner !== stack) {
    return [{ argument: "nodeNames", message: `${show(nodeNames)} are labelled by stack ${show(nodeOwner)} (nodeOwner), not by this stack "${stack}"; a pool patches only its own stack's nodes: use nodes of your own, or schedule on the owner's pool (its nodeSelector and tolerations)` }];
  }
  return [];
}

/** Azure agent pool names: at most 12 lowercase letters and digits, starting with a letter. */
export function azurePoolName(name: string): string {
  return name.replace(/[^a-z0-9]/g, "").slice(0, 12);
}

/**
 * Every problem with a pool's arguments on a site, without creating anything. The stack configuration
 * calls it too, so a wrong pool setting stops the program before any resource is registered.
 */
export function validateGpuNodePoolArgs(name: string, site: SiteSpec, args: GpuNodePoolSettings): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  const onCluster = KUBECONFIG_SITE_KINDS.includes(site.kind);
  const cloud = onCluster ? undefined : (site.kind as CloudKind);

  if (!GPU_MODEL_NAMES.includes(args.gpuModel)) add("gpuModel", `is ${show(args.gpuModel)}; allowed: ${GPU_MODEL_NAMES.join(", ")}`);
  if (!isWholeNumber(args.gpusPerNode, 1)) add("gpusPerNode", `is ${show(args.gpusPerNode)}; must be a whole number of at least 1`);
  if (!(GPU_WORKLOADS as readonly string[]).includes(args.workload)) add("workload", `is ${show(args.workload)}; allowed: ${GPU_WORKLOADS.join(", ")}`);
  const dataClass = args.dataClass ?? "internal";
  if (!(DATA_CLASSES as readonly string[]).includes(dataClass)) add("dataClass", `is ${show(dataClass)}; allowed: ${DATA_CLASSES.join(", ")}`);
  if ((site.role === "burst" || !isRegionInThailand(site.kind, site.region)) && dataClass !== "none") {
    add(
      "dataClass",
      `is ${show(dataClass)} on site "${site.name}" (${site.kind} ${site.region}, role ${site.role}); only data class "none" may run outside Thailand or on a burst site`,
    );
  }
  if (args.spot && args.workload === "inference") add("spot", "is true for an inference pool; inference must not be preempted, only training and batch pools may use spot capacity");
  for (const [key] of Object.entries(args.labels ?? {})) {
    if (key.startsWith("waris.io/")) add(`labels.${key}`, "is reserved: waris.io/ labels are set by the component");
  }
  for (const [i, taint] of (args.extraTaints ?? []).entries()) {
    if (!taint.key) add(`extraTaints[${i}].key`, "must not be empty");
    if (!(TAINT_EFFECTS as readonly string[]).includes(taint.effect)) add(`extraTaints[${i}].effect`, `is ${show(taint.effect)}; allowed: ${TAINT_EFFECTS.join(", ")}`);
  }
  if (args.migProfile !== undefined) {
    if (!(MIG_PROFILES as readonly string[]).includes(args.migProfile)) add("migProfile", `is ${show(args.migProfile)}; allowed: ${MIG_PROFILES.join(", ")}`);
    else if (GPU_MODEL_NAMES.includes(args.gpuModel) && !GPU_MODELS[args.gpuModel].mig) {
      add("migProfile", `is set, but ${args.gpuModel} has no MIG; MIG models: ${GPU_MODEL_NAMES.filter((m) => GPU_MODELS[m].mig).join(", ")}`);
    }
    if (args.timeSlicingReplicas !== undefined) add("migProfile", "and timeSlicingReplicas are both set; choose one way to share GPUs");
  }

  if (onCluster) {
    const nodes = args.nodeNames ?? [];
    if (nodes.length === 0) add("nodeNames", `is empty; a pool on site "${site.name}" (${site.kind}) is made of existing nodes: list them`);
    if (new Set(nodes).size !== nodes.length) add("nodeNames", `has duplicates: ${show(nodes)}`);
    for (const field of ["nodeCount", "minNodes", "maxNodes"] as const) {
      if (args[field] !== undefined) add(field, `is set, but on site "${site.name}" (${site.kind}) a pool's size is its nodeNames; remove it`);
    }
    if (args.spot) add("spot", `is true, but ${site.kind} nodes are owned hardware; spot applies to cloud sites only`);
    problems.push(...gpuOperatorProblems({ distribution: args.kubernetesDistribution ?? DEFAULT_KUBERNETES_DISTRIBUTION, driverOnHost: args.driverOnHost, toolkitOnHost: args.toolkitOnHost }));
    if (args.timeSlicingReplicas !== undefined && !isWholeNumber(args.timeSlicingReplicas, 2)) {
      add("timeSlicingReplicas", `is ${show(args.timeSlicingReplicas)}; must be a whole number of at least 2`);
    }
    return problems;
  }

  // Cloud sites.
  if (args.nodeNames !== undefined) add("nodeNames", `is set, but ${site.kind} nodes are created by the cloud; use nodeCount or minNodes/maxNodes`);
  if (args.timeSlicingReplicas !== undefined) add("timeSlicingReplicas", `is on-prem/G-Cloud only (the pool installs the GPU Operator there); on ${site.kind} configure the cluster's device plugin`);
  if (args.nodeCount !== undefined && !isWholeNumber(args.nodeCount, 1)) add("nodeCount", `is ${show(args.nodeCount)}; must be a whole number of at least 1`);
  const minFloor = args.workload === "inference" ? 1 : 0;
  if (args.minNodes !== undefined && !isWholeNumber(args.minNodes, minFloor)) {
    add("minNodes", `is ${show(args.minNodes)}; must be a whole number of at least ${minFloor}${minFloor === 1 ? " for an inference pool" : ""}`);
  }
  if (args.maxNodes !== undefined && !isWholeNumber(args.maxNodes, 1)) add("maxNodes", `is ${show(args.maxNodes)}; must be a whole number of at least 1`);
  const { min, max, desired } = poolSize(args);
  if (min > max) add("minNodes", `is ${min}, above maxNodes ${max}`);
  else if (desired < min || desired > max) add("nodeCount", `is ${desired}, outside minNodes..maxNodes (${min}..${max})`);
  if (!args.hasCluster) add("clusterName", `is required on a ${site.kind} site: the pool joins an existing cluster`);
  if (cloud === "aws" && !args.hasSubnets) add("subnetIds", "is required on an aws site");
  if (cloud === "azure" && !args.hasResourceGroup) add("resourceGroupName", "is required on an azure site");
  if (cloud === "azure" && !/^[a-z][a-z0-9]{0,11}$/.test(azurePoolName(name))) add("name", `${show(name)} gives no valid AKS pool name (lowercase letters and digits, starting with a letter)`);
  if (cloud === "digitalocean" && args.spot) add("spot", "is true, but DigitalOcean has no spot GPU droplets");
  if (cloud === "aws" && args.migProfile !== undefined) add("migProfile", "is not set up by this component on EKS; use the cluster's GPU Operator MIG manager");
  if (cloud === "digitalocean" && args.migProfile !== undefined) add("migProfile", "is not available on DigitalOcean GPU droplets");
  if (cloud && GPU_MODEL_NAMES.includes(args.gpuModel) && isWholeNumber(args.gpusPerNode, 1) && !machineTypeFor(cloud, args.gpuModel, args.gpusPerNode)) {
    add("gpusPerNode", `${args.gpusPerNode}x ${args.gpuModel} is not offered on ${cloud}; available: ${describeMachineTypes(cloud)}`);
  }
  if (args.diskSizeGiB !== undefined && !isWholeNumber(args.diskSizeGiB, 20)) add("diskSizeGiB", `is ${show(args.diskSizeGiB)}; must be a whole number of GiB, at least 20`);
  return problems;
}

function poolSize(args: Pick<GpuNodePoolArgs, "nodeCount" | "minNodes" | "maxNodes">): { min: number; max: number; desired: number } {
  const desired = args.nodeCount ?? args.minNodes ?? 1;
  const min = args.minNodes ?? desired;
  const max = args.maxNodes ?? Math.max(desired, min);
  return { min, max, desired };
}

/**
 * GPU capacity on a site, with one scheduling contract whatever the site: workloads use
 * {@link GpuNodePool.nodeSelector}, {@link GpuNodePool.tolerations} and {@link GpuNodePool.runtimeClassName}
 * instead of repeating label and taint strings.
 *
 * - `onprem`/`gcloud`: installs the NVIDIA GPU Operator (pinned chart) and labels and taints the named nodes;
 *   optional time-slicing or MIG.
 * - `aws`: an EKS managed node group (NVIDIA AL2023 AMI) with its IAM role.
 * - `azure`: an AKS agent pool.
 * - `digitalocean`: a DOKS node pool.
 */
export class GpuNodePool extends pulumi.ComponentResource {
  /** Node labels a GPU pod selects this pool with. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Tolerations a GPU pod needs on this pool's nodes. */
  readonly tolerations: readonly Toleration[];
  /** RuntimeClass a GPU pod uses, when the site needs one (on-prem and G-Cloud). */
  readonly runtimeClassName?: string;
  /** GPU model of the nodes. */
  readonly gpuModel: GpuModel;
  /** GPUs per node. */
  readonly gpusPerNode: number;
  /** Memory of one GPU, GiB. */
  readonly gpuMemoryGiB: number;
  /** Most nodes the pool can have. */
  readonly maxNodes: number;
  /** The site's spec. */
  readonly site: SiteSpec;
  /** Class of data the pool's workloads may hold. */
  readonly dataClass: DataClass;
  /** Cloud machine type, for cloud pools. */
  readonly machineType?: string;
  /**
   * On-prem and G-Cloud: the readiness gate, a Job that completes only once every node of the pool
   * advertises its `nvidia.com/gpu` as allocatable (Pulumi waits for a Job to complete, up to 30 min, and
   * fails the update when it does not). GPU workloads depend on it (`dependsOn`), as `InferenceCluster`'s do.
   */
  readonly readyGate?: pulumi.Resource;

  /**
   * @param name - pool name, e.g. `onprem-inference`; a DNS-1123 label.
   * @param args - the pool; see {@link GpuNodePoolArgs}.
   * @param opts - component options.
   */
  constructor(name: string, args: GpuNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    const site = args.site.spec;
    throwIfInvalid(
      `GpuNodePool "${name}"`,
      validateGpuNodePoolArgs(name, site, {
        ...args,
        hasCluster: args.clusterName !== undefined,
        hasSubnets: args.subnetIds !== undefined,
        hasResourceGroup: args.resourceGroupName !== undefined,
        kubernetesDistribution: args.site.kubernetesDistribution,
      }),
    );
    throwIfInvalid(`GpuNodePool "${name}"`, nodeOwnerProblems(args.nodeNames, args.nodeOwner, currentStack()));
    // The operator is a cluster-wide singleton: one pool per site owns it; a second owner fails here, before anything is registered.
    if (KUBECONFIG_SITE_KINDS.includes(site.kind) && (args.installOperator ?? false)) args.site.claimSingleton("gpu-operator", `GpuNodePool "${name}"`, "installOperator");
    super("waris:index:GpuNodePool", name, {}, opts);

    this.site = site;
    this.dataClass = args.dataClass ?? "internal";
    this.gpuModel = args.gpuModel;
    this.gpusPerNode = args.gpusPerNode;
    this.gpuMemoryGiB = GPU_MODELS[args.gpuModel].memoryGiB;
    const onCluster = KUBECONFIG_SITE_KINDS.includes(site.kind);
    const size = poolSize(args);
    this.maxNodes = onCluster ? (args.nodeNames ?? []).length : size.max;

    const labels: Record<string, string> = {
      ...args.labels,
      ...placementLabels(site.name, this.dataClass),
      [GPU_POOL_LABEL]: name,
      "waris.io/workload": args.workload,
      "waris.io/gpu-model": args.gpuModel,
    };
    const taints: NodeTaint[] = [GPU_TAINT, ...(args.extraTaints ?? [])];
    const azureSpot = site.kind === "azure" && args.spot === true;
    // AKS puts this taint on every spot node itself; pods must tolerate it too.
    const spotTaint: NodeTaint = { key: "kubernetes.azure.com/scalesetpriority", value: "spot", effect: "NoSchedule" };
    this.nodeSelector = { [GPU_POOL_LABEL]: name };
    this.tolerations = [...taints, ...(azureSpot ? [spotTaint] : [])].map((t) =>
      t === GPU_TAINT ? { key: t.key, operator: "Exists", effect: t.effect } : { key: t.key, operator: "Equal", value: t.value ?? "", effect: t.effect },
    );
    const tags = { ...placementTags(site.name, this.dataClass), "waris-gpu-pool": name, "waris-workload": args.workload };
    const child = { parent: this };

    switch (site.kind) {
      case "onprem":
      case "gcloud":
        this.runtimeClassName = "nvidia";
        this.readyGate = this.buildOnCluster(name, args, labels, taints, child);
        break;
      case "aws": {
        // The Site of kind aws loaded @pulumi/aws already (an optional peer dependency); these are its modules.
        const iam = loadOptionalSdk<typeof import("@pulumi/aws/iam")>("@pulumi/aws", "iam", `GpuNodePool "${name}"`);
        const eks = loadOptionalSdk<typeof import("@pulumi/aws/eks")>("@pulumi/aws", "eks", `GpuNodePool "${name}"`);
        this.machineType = machineTypeFor("aws", args.gpuModel, args.gpusPerNode);
        const provider = { ...child, provider: args.site.awsProvider };
        const role = new iam.Role(
          `${name}-node`,
          {
            assumeRolePolicy: JSON.stringify({
              Version: "2012-10-17",
              Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
            tags,
          },
          provider,
        );
        const attachments = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map(
          (policy) => new iam.RolePolicyAttachment(`${name}-${policy}`, { role: role.name, policyArn: `arn:aws:iam::aws:policy/${policy}` }, provider),
        );
        new eks.NodeGroup(
          name,
          {
            clusterName: args.clusterName!,
            nodeRoleArn: role.arn,
            subnetIds: args.subnetIds!,
            instanceTypes: [this.machineType!],
            amiType: "AL2023_x86_64_NVIDIA",
            capacityType: args.spot ? "SPOT" : "ON_DEMAND",
            diskSize: args.diskSizeGiB ?? 200,
            scalingConfig: { desiredSize: size.desired, minSize: size.min, maxSize: size.max },
            labels,
            taints: taints.map((t) => ({ key: t.key, value: t.value, effect: eksEffect(t.effect) })),
            tags,
          },
          // The cluster autoscaler moves desiredSize within min..max; Pulumi sets it at creation only.
          { ...provider, dependsOn: attachments, ignoreChanges: runtimeOwnedFields("aws:eks/nodeGroup:NodeGroup", size.min !== size.max) },
        );
        break;
      }
      case "azure": {
        const containerservice = loadOptionalSdk<typeof import("@pulumi/azure-native/containerservice")>("@pulumi/azure-native", "containerservice", `GpuNodePool "${name}"`);
        this.machineType = machineTypeFor("azure", args.gpuModel, args.gpusPerNode);
        const autoscale = size.min !== size.max;
        new containerservice.AgentPool(
          name,
          {
            resourceGroupName: args.resourceGroupName!,
            resourceName: args.clusterName!,
            agentPoolName: azurePoolName(name),
            mode: "User",
            osType: "Linux",
            vmSize: this.machineType!,
            osDiskSizeGB: args.diskSizeGiB ?? 200,
            count: size.desired,
            enableAutoScaling: autoscale,
            minCount: autoscale ? size.min : undefined,
            maxCount: autoscale ? size.max : undefined,
            nodeLabels: labels,
            nodeTaints: taints.map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`),
            scaleSetPriority: args.spot ? "Spot" : "Regular",
            scaleSetEvictionPolicy: args.spot ? "Delete" : undefined,
            // -1: pay up to the on-demand price, so eviction happens for capacity only, never for price.
            spotMaxPrice: args.spot ? -1 : undefined,
            gpuInstanceProfile: args.migProfile ? `MIG${args.migProfile}` : undefined,
            tags,
          },
          { ...child, provider: args.site.azureProvider, ignoreChanges: runtimeOwnedFields("azure-native:containerservice:AgentPool", autoscale) },
        );
        break;
      }
      case "digitalocean": {
        const { KubernetesNodePool } = loadOptionalSdk<typeof import("@pulumi/digitalocean/kubernetesNodePool")>("@pulumi/digitalocean", "kubernetesNodePool", `GpuNodePool "${name}"`);
        this.machineType = machineTypeFor("digitalocean", args.gpuModel, args.gpusPerNode);
        const autoscale = size.min !== size.max;
        new KubernetesNodePool(
          name,
          {
            clusterId: args.clusterName!,
            name,
            size: this.machineType!,
            nodeCount: autoscale ? undefined : size.desired,
            autoScale: autoscale,
            minNodes: autoscale ? size.min : undefined,
            maxNodes: autoscale ? size.max : undefined,
            labels,
            taints: taints.map((t) => ({ key: t.key, value: t.value ?? "", effect: t.effect })),
            // DigitalOcean tags are plain strings.
            tags: Object.entries(tags).map(([k, v]) => `${k}:${v}`),
          },
          { ...child, provider: args.site.digitaloceanProvider, ignoreChanges: runtimeOwnedFields("digitalocean:index/kubernetesNodePool:KubernetesNodePool", autoscale) },
        );
        break;
      }
    }

    this.registerOutputs({
      nodeSelector: this.nodeSelector,
      tolerations: this.tolerations,
      runtimeClassName: this.runtimeClassName,
      gpuModel: this.gpuModel,
      gpusPerNode: this.gpusPerNode,
      gpuMemoryGiB: this.gpuMemoryGiB,
      maxNodes: this.maxNodes,
      machineType: this.machineType,
    });
  }

  /**
   * On-prem and G-Cloud: the GPU Operator with the values of the site's distribution, sharing config,
   * RuntimeClass, the nodes' labels and taints, and the readiness gate (returned).
   */
  private buildOnCluster(
    name: string,
    args: GpuNodePoolArgs,
    labels: Record<string, string>,
    taints: readonly NodeTaint[],
    child: pulumi.CustomResourceOptions,
  ): pulumi.Resource {
    const distribution = args.site.kubernetesDistribution;
    const host = hostComponents({ distribution, driverOnHost: args.driverOnHost, toolkitOnHost: args.toolkitOnHost });
    const opts = { ...child, provider: args.site.kubernetesProvider };
    const siteLabels = placementLabels(args.site.spec.name, "none");
    const dependsOn: pulumi.Resource[] = [];
    if (args.installOperator ?? false) {
      const namespace = new corev1.Namespace(
        `${name}-gpu-operator`,
        {
          // The operator's driver and toolkit daemonsets run privileged.
          metadata: { name: "gpu-operator", labels: { ...siteLabels, "pod-security.kubernetes.io/enforce": "privileged" } },
        },
        opts,
      );
      const timeSlicing: pulumi.Resource[] = [];
      if (args.timeSlicingReplicas !== undefined) {
        timeSlicing.push(new corev1.ConfigMap(
          `${name}-time-slicing`,
          {
            metadata: { name: TIME_SLICING_CONFIG_MAP, namespace: namespace.metadata.name, labels: siteLabels },
            data: {
              any: JSON.stringify({
                version: "v1",
                flags: { migStrategy: "none" },
                sharing: { timeSlicing: { resources: [{ name: GPU_RESOURCE, replicas: args.timeSlicingReplicas }] } },
              }),
            },
          },
          opts,
        ));
      }
      const values = gpuOperatorValues({
        distribution,
        ...host,
        mig: args.migProfile !== undefined,
        timeSlicingConfigMap: args.timeSlicingReplicas !== undefined ? TIME_SLICING_CONFIG_MAP : undefined,
        labels: siteLabels,
      });
      dependsOn.push(
        new Release(
          `${name}-gpu-operator`,
          {
            name: "gpu-operator",
            namespace: namespace.metadata.name,
            repositoryOpts: { repo: GPU_OPERATOR_CHART.repo },
            chart: GPU_OPERATOR_CHART.chart,
            version: GPU_OPERATOR_CHART.version,
            values,
            // A failed install is rolled back. The release succeeds before any GPU is usable (the validator may
            // never finish): the pool's readyGate, not the release, says when GPUs are allocatable.
            atomic: true,
            timeout: 900,
          },
          { ...opts, dependsOn: timeSlicing },
        ),
      );
    }
    if (host.toolkitOnHost && (args.installOperator ?? false)) {
      // With the host's toolkit the operator makes no RuntimeClass; containerd on Talos/K3s names its handler `nvidia`.
      new nodev1.RuntimeClass(`${name}-nvidia`, { metadata: { name: "nvidia", labels: siteLabels }, handler: "nvidia" }, opts);
    }
    const migConfig = args.migProfile ? MIG_CONFIG_NAMES[args.gpuModel]?.[args.migProfile] : undefined;
    const patches: pulumi.Resource[] = [];
    for (const node of args.nodeNames ?? []) {
      patches.push(new corev1.NodePatch(
        `${name}-${node}`,
        {
          metadata: {
            name: node,
            labels: { ...labels, ...(migConfig ? { "nvidia.com/mig.config": migConfig } : {}) },
            annotations: { "pulumi.com/patchForce": "true" },
          },
          spec: { taints: taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })) },
        },
        { ...opts, dependsOn },
      ));
    }
    return this.readinessGate(name, args, siteLabels, opts, [...dependsOn, ...patches]);
  }

  /** The Job that completes once every node advertises its GPUs, with the read-only node access it needs. */
  private readinessGate(name: string, args: GpuNodePoolArgs, siteLabels: Record<string, string>, opts: pulumi.CustomResourceOptions, after: pulumi.Resource[]): pulumi.Resource {
    const gate = `${name}-gpu-ready`;
    const namespace = "kube-system";
    const meta = { name: gate, labels: siteLabels };
    const account = new corev1.ServiceAccount(gate, { metadata: { ...meta, namespace } }, opts);
    const role = new rbacv1.ClusterRole(gate, { metadata: meta, rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list"] }] }, opts);
    const binding = new rbacv1.ClusterRoleBinding(
      gate,
      { metadata: meta, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: gate }, subjects: [{ kind: "ServiceAccount", name: gate, namespace }] },
      { ...opts, dependsOn: [account, role] },
    );
    return new batchv1.Job(
      gate,
      {
        metadata: { ...meta, namespace },
        spec: {
          backoffLimit: 0,
          // The operator validates the driver, toolkit and device plugin first: up to 30 minutes.
          activeDeadlineSeconds: 1800,
          template: {
            metadata: { labels: siteLabels },
            spec: {
              ...POD_DEFAULTS,
              serviceAccountName: gate,
              restartPolicy: "Never",
              containers: [
                {
                  name: "wait-for-gpus",
                  image: GPU_READINESS_IMAGE,
                  command: ["/bin/sh", "-c", gpuReadinessScript(args.nodeNames ?? [], args.gpusPerNode)],
                  resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
                },
              ],
            },
          },
        },
      },
      { ...opts, dependsOn: [...after, binding], customTimeouts: { create: "35m", update: "35m" } },
    );
  }
}

function eksEffect(effect: TaintEffect): string {
  return { NoSchedule: "NO_SCHEDULE", PreferNoSchedule: "PREFER_NO_SCHEDULE", NoExecute: "NO_EXECUTE" }[effect];
}
