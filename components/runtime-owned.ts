/**
 * Fields that a controller owns once a resource exists: Pulumi sets them at creation and then leaves them
 * to that controller (`ignoreChanges`), or every `pulumi up` would undo the controller's work. The one
 * table of such fields, by resource type. Pure data.
 *
 * Upstream: pulumi-eks `ignoreScalingChanges` (ignores `scalingConfig.desiredSize` of a managed node
 * group, which the cluster autoscaler changes); AKS `count` under `enableAutoScaling` (Azure docs, "Use the
 * cluster autoscaler in AKS"); KEDA scales a Deployment through its `/scale` subresource (KEDA docs,
 * "ScaledObject specification"), so `spec.replicas` belongs to KEDA's HPA.
 */

/** Fields (Pulumi property paths) a run-time controller owns, by Pulumi resource type. */
export const RUNTIME_OWNED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  /** EKS managed node group under the cluster autoscaler. */
  "aws:eks/nodeGroup:NodeGroup": ["scalingConfig.desiredSize"],
  /** AKS agent pool with `enableAutoScaling`. */
  "azure-native:containerservice:AgentPool": ["count"],
  /** DOKS node pool with `autoScale`. */
  "digitalocean:index/kubernetesNodePool:KubernetesNodePool": ["nodeCount"],
  /** A Deployment that KEDA or an HPA scales. */
  "kubernetes:apps/v1:Deployment": ["spec.replicas"],
};

/**
 * The `ignoreChanges` of a resource of `type`: its run-time-owned fields when a controller scales it,
 * else none (a fixed size is Pulumi's to keep).
 *
 * @param type - Pulumi resource type token, a key of {@link RUNTIME_OWNED_FIELDS}.
 * @param scaledAtRunTime - whether an autoscaler owns the size (min below max).
 * @throws Error when `type` is not in the table (a programming error, caught by the tests).
 */
export function runtimeOwnedFields(type: string, scaledAtRunTime: boolean): string[] {
  const fields = RUNTIME_OWNED_FIELDS[type];
  if (!fields) throw new Error(`runtimeOwnedFields: no entry for ${type}; add it to RUNTIME_OWNED_FIELDS`);
  return scaledAtRunTime ? [...fields] : [];
}
