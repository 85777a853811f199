/**
 * Sanity bounds and formats of stack settings: sizes cannot exceed what real hardware has, and names
 * are parsed as Kubernetes and DNS define them (host names with `validator`'s RFC 1123 check, quantities
 * with Kubernetes' grammar). Each is a zod schema, so a wrong value is reported under its stack key.
 */
import isFQDN from "validator/lib/isFQDN";
import { z } from "zod";
import { isDns1123Subdomain } from "../components/labels";
import { parseQuantity } from "../components/quantity";

/**
 * The largest machines and volumes that exist, as upper bounds of the sizes a stack may state: figures
 * from the vendors' published maxima as known when this was written (not re-checked against the vendors
 * here); raise them when larger hardware appears. A value above them is a typo (1048576 for 1024), not a plan.
 */
export const HARDWARE_LIMITS = {
  /** CPU cores of one pod: the largest single machine, AWS u7in-32tb.224xlarge, has 896 vCPUs. */
  cpuCores: 896,
  /** GiB of memory of one pod: the same machine has 32 TiB, the most of any server sold. */
  memoryGiB: 32768,
  /** GiB of one persistent volume: 64 TiB, the ceiling of EBS io2, Azure Ultra/Premium v2 and GCP Hyperdisk. */
  volumeGiB: 65536,
  /** GPUs in one node: 16 (HGX-2/DGX-2 class; HGX H100/H200/B200 boards have 8). */
  gpusPerNode: 16,
  /** Nodes in one Kubernetes cluster: 5,000, the largest cluster Kubernetes is tested for. */
  clusterNodes: 5000,
} as const;

/** A whole number of GiB of memory for one pod, 1 to {@link HARDWARE_LIMITS}.memoryGiB. */
export const memoryGiB = z
  .number()
  .int()
  .min(1)
  .max(HARDWARE_LIMITS.memoryGiB, `is more memory than any machine has (the largest has ${HARDWARE_LIMITS.memoryGiB} GiB)`);

/** A whole number of GiB of one volume, 1 to {@link HARDWARE_LIMITS}.volumeGiB. */
export const volumeGiB = z
  .number()
  .int()
  .min(1)
  .max(HARDWARE_LIMITS.volumeGiB, `is larger than any single volume (at most ${HARDWARE_LIMITS.volumeGiB} GiB, 64 TiB)`);

/** A number of nodes in one cluster, 0 to {@link HARDWARE_LIMITS}.clusterNodes. */
export const nodeCount = z
  .number()
  .int()
  .min(0)
  .max(HARDWARE_LIMITS.clusterNodes, `is more nodes than a Kubernetes cluster holds (at most ${HARDWARE_LIMITS.clusterNodes})`);

/**
 * GPUs in one node, at most {@link HARDWARE_LIMITS}.gpusPerNode (the lower bound and wholeness are
 * `GpuNodePool`'s own check, run on the stack settings too).
 */
export const gpusPerNode = z
  .number()
  .max(HARDWARE_LIMITS.gpusPerNode, `is more GPUs than one node holds (at most ${HARDWARE_LIMITS.gpusPerNode})`);

/** A Kubernetes CPU quantity (`"4"`, `"500m"`, `"1.5"`), above 0 and at most {@link HARDWARE_LIMITS}.cpuCores. */
export const cpuQuantity = z.string().superRefine((text, ctx) => {
  const cores = parseQuantity(text);
  if (cores === undefined) ctx.addIssue({ code: "custom", message: 'is not a Kubernetes CPU quantity such as "4", "1.5" or "500m"' });
  else if (!(cores > 0)) ctx.addIssue({ code: "custom", message: "must be above 0 cores" });
  else if (cores > HARDWARE_LIMITS.cpuCores) ctx.addIssue({ code: "custom", message: `is ${cores} cores, more than any machine has (the largest has ${HARDWARE_LIMITS.cpuCores})` });
});

/**
 * Whether `name` is a DNS host name: RFC 1123 labels of at most 63 characters joined by dots, no trailing
 * dot, as `validator` checks it, and at most 253 characters in all (which `validator` leaves unchecked).
 */
export function isHostName(name: string): boolean {
  return name.length <= 253 && isFQDN(name, { require_tld: false, allow_underscores: false, allow_trailing_dot: false, allow_numeric_tld: false, allow_wildcard: false });
}

/** A DNS host name, e.g. `pg.onprem.waris.internal`. */
export const hostName = z.string().refine(isHostName, { message: "is not a DNS host name (letters, digits and '-' in labels of at most 63 characters, joined by '.')" });

/** A Kubernetes object name that is a DNS-1123 subdomain (nodes, storage classes): {@link isDns1123Subdomain}. */
export const kubernetesName = z
  .string()
  .refine(isDns1123Subdomain, { message: "is not a Kubernetes name (DNS-1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 characters)" });

/** A Kubernetes namespace name: a DNS-1123 label (lowercase, at most 63 characters, no dots). */
export const kubernetesLabelName = z
  .string()
  .refine((n) => !n.includes(".") && n === n.toLowerCase() && isHostName(n), { message: "is not a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit)" });

/** The name part of a Kubernetes qualified name or a label value: at most 63 alphanumerics, '-', '_', '.' inside. */
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** Whether `key` is a Kubernetes label key or taint key: `[prefix/]name`, the prefix a DNS-1123 subdomain. */
export function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = key.slice(slash + 1);
  return QUALIFIED_NAME_PART.test(name) && (prefix === undefined || isDns1123Subdomain(prefix));
}

/** A Kubernetes label key or taint key. */
export const qualifiedName = z.string().refine(isQualifiedName, { message: "is not a Kubernetes label key ([prefix/]name: name at most 63 letters, digits, '-', '_', '.'; prefix a DNS subdomain)" });

/** A Kubernetes label value: empty, or at most 63 letters, digits, '-', '_', '.' starting and ending alphanumeric. */
export const labelValue = z.string().refine((v) => v === "" || QUALIFIED_NAME_PART.test(v), { message: "is not a Kubernetes label value (at most 63 letters, digits, '-', '_', '.')" });
