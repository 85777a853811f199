/**
 * What GPUs exist and which cloud machine carries (GPU model × GPUs per node). One table per cloud:
 * a combination missing from a table is an error that lists the ones that exist.
 *
 * Sources: the clouds' published instance families as of 2026-11 (AWS p4de/p5/p5e/g6/g6e, Azure
 * NC A100 v4 / NC H100 v5 / ND v4 / ND H100 v5, DigitalOcean GPU droplets). Availability in a given
 * region is not guaranteed by a table entry; the cloud's API is the final word at `pulumi up`.
 */

/** What the platform needs to know of a GPU model. */
export interface GpuModelSpec {
  /** Memory of one GPU, GiB. */
  readonly memoryGiB: number;
  /** Whether the GPU can be cut into MIG slices. */
  readonly mig: boolean;
}

/** A GPU model the platform knows; see {@link GPU_MODELS}. */
export type GpuModel = "A100" | "H100" | "H200" | "L40S" | "L4";

/** GPU models the platform knows, with the memory of one GPU. */
export const GPU_MODELS: Readonly<Record<GpuModel, GpuModelSpec>> = {
  /** NVIDIA A100 80 GB (SXM/PCIe). */
  A100: { memoryGiB: 80, mig: true },
  /** NVIDIA H100 80 GB. */
  H100: { memoryGiB: 80, mig: true },
  /** NVIDIA H200 141 GB. */
  H200: { memoryGiB: 141, mig: true },
  /** NVIDIA L40S 48 GB. */
  L40S: { memoryGiB: 48, mig: false },
  /** NVIDIA L4 24 GB. */
  L4: { memoryGiB: 24, mig: false },
};

/** The GPU model names, for validation and messages. */
export const GPU_MODEL_NAMES = Object.keys(GPU_MODELS) as GpuModel[];

/** MIG slice sizes (compute slices of a GPU). */
export const MIG_PROFILES = ["1g", "2g", "3g", "4g", "7g"] as const;

/** A MIG slice size; see {@link MIG_PROFILES}. */
export type MigProfile = (typeof MIG_PROFILES)[number];

/**
 * The NVIDIA MIG manager's configuration name that cuts every GPU of a node into slices of one size
 * (`nvidia.com/mig.config` node label), per model. Names follow the default mig-parted config.
 */
export const MIG_CONFIG_NAMES: Readonly<Partial<Record<GpuModel, Readonly<Record<MigProfile, string>>>>> = {
  A100: { "1g": "all-1g.10gb", "2g": "all-2g.20gb", "3g": "all-3g.40gb", "4g": "all-4g.40gb", "7g": "all-7g.80gb" },
  H100: { "1g": "all-1g.10gb", "2g": "all-2g.20gb", "3g": "all-3g.40gb", "4g": "all-4g.40gb", "7g": "all-7g.80gb" },
  H200: { "1g": "all-1g.18gb", "2g": "all-2g.35gb", "3g": "all-3g.71gb", "4g": "all-4g.71gb", "7g": "all-7g.141gb" },
};

/** Cloud site kinds whose GPU machines come from a catalog. */
export type CloudKind = "aws" | "azure" | "digitalocean";

/** Machine type per (model, GPUs per node), per cloud. */
export const GPU_MACHINE_TYPES: Readonly<Record<CloudKind, Readonly<Partial<Record<GpuModel, Readonly<Record<number, string>>>>>>> = {
  aws: {
    A100: { 8: "p4de.24xlarge" },
    H100: { 1: "p5.4xlarge", 8: "p5.48xlarge" },
    H200: { 8: "p5e.48xlarge" },
    L40S: { 1: "g6e.xlarge", 4: "g6e.12xlarge", 8: "g6e.48xlarge" },
    L4: { 1: "g6.xlarge", 4: "g6.12xlarge", 8: "g6.48xlarge" },
  },
  azure: {
    A100: { 1: "Standard_NC24ads_A100_v4", 2: "Standard_NC48ads_A100_v4", 4: "Standard_NC96ads_A100_v4", 8: "Standard_ND96amsr_A100_v4" },
    H100: { 1: "Standard_NC40ads_H100_v5", 2: "Standard_NC80adis_H100_v5", 8: "Standard_ND96isr_H100_v5" },
  },
  digitalocean: {
    H100: { 1: "gpu-h100x1-80gb", 8: "gpu-h100x8-640gb" },
  },
};

/** Every (model, count) a cloud offers, as `2x A100 (Standard_NC48ads_A100_v4)`, for error messages. */
export function describeMachineTypes(cloud: CloudKind): string {
  const entries: string[] = [];
  for (const [model, byCount] of Object.entries(GPU_MACHINE_TYPES[cloud])) {
    for (const [count, type] of Object.entries(byCount ?? {})) entries.push(`${count}x ${model} (${type})`);
  }
  return entries.join(", ");
}

/** The machine type for a combination, or undefined when the cloud has none. */
export function machineTypeFor(cloud: CloudKind, model: GpuModel, gpusPerNode: number): string | undefined {
  return GPU_MACHINE_TYPES[cloud][model]?.[gpusPerNode];
}
