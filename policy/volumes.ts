/**
 * Encryption at rest of Kubernetes volumes (issue 23): every volume claim, whether a PersistentVolumeClaim,
 * a StatefulSet's claim template, or what an operator's resource claims for it (CloudNativePG
 * `spec.storage`/`spec.walStorage`, Percona `replsets[].volumeSpec.persistentVolumeClaim`, the Milvus
 * operator's in-cluster etcd `persistence`, RocksMQ volume and in-cluster Pulsar's ZooKeeper and BookKeeper
 * volumes), uses a StorageClass that is shown to be encrypted:
 * - on a WARIS `Site`, by the site's declaration (`volumes`: its class and how it is encrypted; with
 *   `node-disk-encryption` or `cloud-default` every class of the site is);
 * - elsewhere, by a StorageClass of the same stack whose provisioner encrypts (`parameters.encrypted: "true"`
 *   for the EBS CSI driver, Longhorn and Ceph RBD), or by a cluster on a cloud whose block storage is always
 *   encrypted at rest (Azure managed disks: "Server-side encryption of Azure Disk Storage"; DigitalOcean
 *   volumes: "Block Storage Volumes ... are encrypted at rest").
 * A claim that names no class gets the cluster's default, which no preview can see: denied unless the site
 * encrypts every class.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { at, list, locate, placementContext, str, type PlacementContext } from "./placement";
import { guarded } from "./unknowns";

/** Provisioners whose volumes are encrypted at rest whatever the parameters. */
const ALWAYS_ENCRYPTED_PROVISIONERS = new Set(["disk.csi.azure.com", "file.csi.azure.com", "dobs.csi.digitalocean.com", "pd.csi.storage.gke.io"]);
/** Clouds whose Kubernetes volumes are always encrypted at rest. */
const ALWAYS_ENCRYPTED_CLOUDS = new Set(["azure", "digitalocean"]);

/** A volume a resource claims: what it is, and the StorageClass it names (undefined: the cluster default). */
interface Claim {
  readonly what: string;
  readonly storageClass: string | undefined;
}

function claims(r: PolicyResource): Claim[] {
  const name = str(r.props, "metadata", "name") ?? r.name;
  switch (r.type) {
    case "kubernetes:core/v1:PersistentVolumeClaim":
      return [{ what: `PersistentVolumeClaim "${name}"`, storageClass: str(r.props, "spec", "storageClassName") }];
    case "kubernetes:apps/v1:StatefulSet":
      return list(r.props, "spec", "volumeClaimTemplates").map((t) => ({ what: `StatefulSet "${name}" claim template "${str(t, "metadata", "name") ?? "?"}"`, storageClass: str(t, "spec", "storageClassName") }));
    case "kubernetes:postgresql.cnpg.io/v1:Cluster":
      return (["storage", "walStorage"] as const)
        .filter((k) => at(r.props, "spec", k) !== undefined)
        .map((k) => ({ what: `PostgreSQL cluster "${name}" ${k}`, storageClass: str(r.props, "spec", k, "storageClass") ?? str(r.props, "spec", k, "pvcTemplate", "storageClassName") }));
    case "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB":
      return list(r.props, "spec", "replsets")
        .filter((rs) => at(rs, "volumeSpec", "persistentVolumeClaim") !== undefined)
        .map((rs) => ({ what: `MongoDB "${name}" replset ${str(rs, "name") ?? "?"} volumes`, storageClass: str(rs, "volumeSpec", "persistentVolumeClaim", "storageClassName") }));
    case "kubernetes:milvus.io/v1beta1:Milvus":
      return [
        ...(at(r.props, "spec", "dependencies", "etcd", "inCluster") !== undefined
          ? [{ what: `Milvus "${name}" etcd volumes`, storageClass: str(r.props, "spec", "dependencies", "etcd", "inCluster", "values", "persistence", "storageClass") }]
          : []),
        ...(at(r.props, "spec", "dependencies", "rocksmq", "persistence", "enabled") === true && at(r.props, "spec", "dependencies", "rocksmq", "persistence", "persistentVolumeClaim", "existingClaim") === undefined
          ? [{ what: `Milvus "${name}" RocksMQ volume`, storageClass: str(r.props, "spec", "dependencies", "rocksmq", "persistence", "persistentVolumeClaim", "spec", "storageClassName") }]
          : []),
        ...milvusPulsarClaims(r, name),
      ];
    default:
      return [];
  }
}

/**
 * The volumes of the Pulsar a cluster-mode Milvus gets from its operator (msgStreamType `pulsar`, the
 * default of `cluster` mode, and not `external`), as the Pulsar chart 3.3.0 claims them
 * (templates/zookeeper-statefulset.yaml, bookkeeper-statefulset.yaml): none when persistence is off;
 * ZooKeeper's `data`; BookKeeper's `common` volume, or its `journal` and `ledgers` (each a list of
 * `multiVolumes` when `useMultiVolumes`).
 */
function milvusPulsarClaims(r: PolicyResource, name: string): Claim[] {
  const dep = at(r.props, "spec", "dependencies");
  const stream = str(dep, "msgStreamType") ?? (str(r.props, "spec", "mode") === "cluster" ? "pulsar" : undefined);
  if (stream !== "pulsar" || at(dep, "pulsar", "external") === true) return [];
  const values = at(dep, "pulsar", "inCluster", "values");
  if (at(values, "persistence") === false || at(values, "volumes", "persistence") === false) return [];
  const claim = (what: string, ...path: string[]): Claim => ({ what: `Milvus "${name}" Pulsar ${what} volume`, storageClass: str(values, ...path, "storageClassName") });
  const bookie = (v: "journal" | "ledgers"): Claim[] =>
    at(values, "bookkeeper", "volumes", v, "useMultiVolumes") === true
      ? list(values, "bookkeeper", "volumes", v, "multiVolumes").map((m) => ({ what: `Milvus "${name}" Pulsar BookKeeper ${str(m, "name") ?? v} volume`, storageClass: str(m, "storageClassName") }))
      : [claim(`BookKeeper ${v}`, "bookkeeper", "volumes", v)];
  return [
    ...(at(values, "zookeeper", "volumes", "persistence") === false ? [] : [claim("ZooKeeper data", "zookeeper", "volumes", "data")]),
    ...(at(values, "bookkeeper", "volumes", "persistence") === false
      ? []
      : at(values, "bookkeeper", "volumes", "useSingleCommonVolume") === true
        ? [claim("BookKeeper common", "bookkeeper", "volumes", "common")]
        : [...bookie("journal"), ...bookie("ledgers")]),
  ];
}

/** StorageClasses of the stack that encrypt, by name. */
function encryptedClasses(resources: readonly PolicyResource[]): Set<string> {
  const names = new Set<string>();
  for (const r of resources) {
    if (r.type !== "kubernetes:storage.k8s.io/v1:StorageClass") continue;
    guarded(r, "waris-volume-encryption", () => {
      const name = str(r.props, "metadata", "name");
      if (name && (str(r.props, "parameters", "encrypted") === "true" || ALWAYS_ENCRYPTED_PROVISIONERS.has(str(r.props, "provisioner") ?? ""))) names.add(name);
    });
  }
  return names;
}

/** Why a claim cannot be shown encrypted, or undefined when it can. */
function problem(r: PolicyResource, c: Claim, ctx: PlacementContext, stackClasses: ReadonlySet<string>): string | undefined {
  const cls = c.storageClass === undefined ? "the cluster's default StorageClass" : `StorageClass "${c.storageClass}"`;
  const site = r.provider ? ctx.providerSites.get(r.provider.urn) : undefined;
  if (site) {
    const v = site.volumes;
    if (!v) return `${c.what} is on site "${site.name}", which does not declare how its volumes are encrypted (Site volumes: storageClass and encryption; stack setting sites.${site.name}.volumes).`;
    if (v.encryption === "node-disk-encryption" || v.encryption === "cloud-default" || c.storageClass === v.storageClass) return undefined;
    return `${c.what} uses ${cls}; site "${site.name}" encrypts only its class "${v.storageClass}" (${v.encryption}): use it.`;
  }
  if (c.storageClass !== undefined && stackClasses.has(c.storageClass)) return undefined;
  const cloud = locate(r, ctx).cloud?.kind;
  if (cloud && ALWAYS_ENCRYPTED_CLOUDS.has(cloud)) return undefined;
  return `${c.what} uses ${cls}, which nothing in the stack shows to be encrypted at rest: declare a StorageClass whose provisioner encrypts (parameters.encrypted: "true" for the EBS CSI driver, Longhorn, Ceph RBD) and name it, or place the cluster on a Site that declares its volume encryption.`;
}

/** Every volume claim that cannot be shown encrypted (unknown values skip that resource only). */
export function volumeEncryptionFindings(resources: readonly PolicyResource[], report: (message: string, urn: string) => void): void {
  const ctx = placementContext(resources);
  const stackClasses = encryptedClasses(resources);
  for (const r of resources) {
    if (!r.type.startsWith("kubernetes:")) continue;
    guarded(r, "waris-volume-encryption", () => {
      for (const c of claims(r)) {
        const p = problem(r, c, ctx, stackClasses);
        if (p) report(p, r.urn);
      }
    });
  }
}

/** Every volume claim uses a StorageClass shown to be encrypted at rest. */
export const volumeEncryptionPolicy: StackValidationPolicy = {
  name: "waris-volume-encryption",
  description: "Every Kubernetes volume claim (PVCs, StatefulSet templates, CloudNativePG, Percona and Milvus volumes) uses a StorageClass shown to be encrypted at rest.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "On a WARIS Site, declare volumes: { storageClass, encryption } (node-disk-encryption, encrypted-storage-class, cloud-default) and let the claims use that class; " +
    "elsewhere, create a StorageClass with parameters.encrypted: \"true\" (EBS CSI, Longhorn, Ceph RBD) and name it in storageClassName.",
  validateStack: (args, reportViolation) => volumeEncryptionFindings(args.resources, (m, urn) => reportViolation(m, urn)),
};
