/**
 * The NVIDIA GPU Operator's Helm values per Kubernetes distribution, and the readiness check of a GPU
 * pool. Pure: the tables and the functions that read them; `GpuNodePool` registers the resources.
 *
 * Every key set here exists in the chart's `values.yaml` (gpu-operator v25.10.0) or is read by its
 * templates (`validator.driver.env`, rendered into the ClusterPolicy's `spec.validator.driver.env`).
 */
import { ArgumentProblem, show } from "./errors";

/**
 * Kubernetes distributions a site with a kubeconfig runs, as far as the GPU Operator cares:
 * - `talos`: Talos Linux. The NVIDIA driver and container toolkit are system extensions on the host
 *   (Talos docs, "NVIDIA GPU (proprietary drivers)": `nonfree-kmod-nvidia` + `nvidia-container-toolkit`);
 *   the operator's driver container cannot build modules on it (siderolabs/talos issue 8402) and its toolkit
 *   must not rewrite containerd's config, which Talos owns.
 * - `k3s`: K3s, whose embedded containerd keeps its config and socket under `/var/lib/rancher/k3s` and
 *   `/run/k3s` (K3s docs, "Advanced options: NVIDIA container runtime support").
 * - `containerd`: a distribution with containerd at its standard paths (kubeadm and most others).
 */
export const KUBERNETES_DISTRIBUTIONS = ["talos", "k3s", "containerd"] as const;

/** A Kubernetes distribution; see {@link KUBERNETES_DISTRIBUTIONS}. */
export type KubernetesDistribution = (typeof KUBERNETES_DISTRIBUTIONS)[number];

/** What a site runs when it does not say. */
export const DEFAULT_KUBERNETES_DISTRIBUTION: KubernetesDistribution = "containerd";

/** The facts of a distribution that decide the operator's values. */
export interface DistributionFacts {
  /** The driver is always on the host (the operator must not install one). */
  readonly driverOnHost: boolean;
  /** The container toolkit is always on the host (the operator must not install one). */
  readonly toolkitOnHost: boolean;
  /** Values merged in when the operator's toolkit runs (it must find the distribution's containerd). */
  readonly toolkitValues: Readonly<Record<string, unknown>>;
  /** Values merged in when the driver is on the host (the validator must find it). */
  readonly hostDriverValues: Readonly<Record<string, unknown>>;
}

const env = (vars: Readonly<Record<string, string>>) => Object.entries(vars).map(([name, value]) => ({ name, value }));

/** Per distribution: what is on the host and the values the operator needs there. */
export const DISTRIBUTIONS: Readonly<Record<KubernetesDistribution, DistributionFacts>> = {
  talos: {
    driverOnHost: true,
    toolkitOnHost: true,
    toolkitValues: {},
    // The driver root is the host's root: without this the validator looks for a driver container's root,
    // never finds it and loops on "Attempting to validate a driver container installation", so nothing
    // advertises nvidia.com/gpu (NVIDIA/gpu-operator issues 1687 and 1276). Talos's /dev is managed by
    // the OS, so the validator's /dev/char symlinks are skipped (the variable its own error names,
    // NVIDIA/gpu-operator issue 671); the same settings as cozystack/cozystack pull request 3585.
    hostDriverValues: {
      hostPaths: { driverInstallDir: "/" },
      validator: { driver: { env: env({ DRIVER_ROOT: "/", NVIDIA_DRIVER_ROOT: "/", DISABLE_DEV_CHAR_SYMLINK_CREATION: "true" }) } },
    },
  },
  k3s: {
    driverOnHost: false,
    toolkitOnHost: false,
    // NVIDIA GPU Operator docs, "Installing the GPU Operator: containerd options" (K3s): the toolkit edits
    // K3s's containerd config and restarts it through K3s's socket, and registers the `nvidia` runtime.
    toolkitValues: {
      toolkit: {
        env: env({
          CONTAINERD_CONFIG: "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
          CONTAINERD_SOCKET: "/run/k3s/containerd/containerd.sock",
          CONTAINERD_RUNTIME_CLASS: "nvidia",
        }),
      },
    },
    hostDriverValues: {},
  },
  containerd: { driverOnHost: false, toolkitOnHost: false, toolkitValues: {}, hostDriverValues: {} },
};

/** A pool's settings as the operator's values see them. */
export interface GpuOperatorSettings {
  /** The site's distribution. */
  readonly distribution: KubernetesDistribution;
  /** The driver is on the host. Default: the distribution's ({@link DistributionFacts.driverOnHost}). */
  readonly driverOnHost?: boolean;
  /** The toolkit is on the host. Default: the distribution's. */
  readonly toolkitOnHost?: boolean;
  /** MIG in use (strategy `single`). */
  readonly mig: boolean;
  /** ConfigMap of the device plugin's time-slicing config, when GPUs are shared. */
  readonly timeSlicingConfigMap?: string;
  /** Labels of the operator's and its daemonsets' pods. */
  readonly labels: Readonly<Record<string, string>>;
}

/** What is on a pool's hosts. */
export interface HostComponents {
  /** The NVIDIA driver. */
  readonly driverOnHost: boolean;
  /** The NVIDIA container toolkit. */
  readonly toolkitOnHost: boolean;
}

/** Whether the driver and the toolkit are on the host, the distribution's facts applied. */
export function hostComponents(s: Pick<GpuOperatorSettings, "distribution" | "driverOnHost" | "toolkitOnHost">): HostComponents {
  const facts = DISTRIBUTIONS[s.distribution];
  return { driverOnHost: s.driverOnHost ?? facts.driverOnHost, toolkitOnHost: s.toolkitOnHost ?? facts.toolkitOnHost };
}

/** Every problem with a pool's host settings on its distribution (pure): Talos has both on the host, always. */
export function gpuOperatorProblems(s: Pick<GpuOperatorSettings, "distribution" | "driverOnHost" | "toolkitOnHost">): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  if (!(KUBERNETES_DISTRIBUTIONS as readonly string[]).includes(s.distribution)) {
    problems.push({ argument: "site.kubernetesDistribution", message: `is ${show(s.distribution)}; allowed: ${KUBERNETES_DISTRIBUTIONS.join(", ")}` });
    return problems;
  }
  const facts = DISTRIBUTIONS[s.distribution];
  for (const field of ["driverOnHost", "toolkitOnHost"] as const) {
    if (facts[field] && s[field] === false) {
      problems.push({ argument: field, message: `is false, but on ${s.distribution} the ${field === "driverOnHost" ? "driver" : "container toolkit"} is part of the host OS (a system extension) and the operator cannot install one; remove it` });
    }
  }
  return problems;
}

function merge(target: Record<string, unknown>, source: Readonly<Record<string, unknown>>): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    target[key] =
      value && typeof value === "object" && !Array.isArray(value) && existing && typeof existing === "object" && !Array.isArray(existing)
        ? merge({ ...(existing as Record<string, unknown>) }, value as Record<string, unknown>)
        : value;
  }
  return target;
}

/**
 * The GPU Operator chart's values for a pool on its distribution: driver and toolkit only where the host
 * lacks them, the distribution's paths for the toolkit, the host driver root for the validator, DCGM
 * metrics, MIG or time-slicing.
 */
export function gpuOperatorValues(s: GpuOperatorSettings): Record<string, unknown> {
  const facts = DISTRIBUTIONS[s.distribution];
  const host = hostComponents(s);
  const values: Record<string, unknown> = {
    driver: { enabled: !host.driverOnHost },
    toolkit: { enabled: !host.toolkitOnHost },
    dcgmExporter: { enabled: true, serviceMonitor: { enabled: true } },
    mig: { strategy: s.mig ? "single" : "none" },
    daemonsets: { labels: { ...s.labels } },
    operator: { labels: { ...s.labels } },
  };
  if (!host.toolkitOnHost) merge(values, facts.toolkitValues);
  if (host.driverOnHost) merge(values, facts.hostDriverValues);
  if (s.timeSlicingConfigMap) values["devicePlugin"] = { config: { name: s.timeSlicingConfigMap, default: "any" } };
  return values;
}

/** Pinned image of the readiness check (kubectl and a shell). */
export const GPU_READINESS_IMAGE = "alpine/k8s:1.33.4";

/**
 * The readiness check's script: waits until every node of the pool advertises at least `gpusPerNode`
 * allocatable `nvidia.com/gpu` (time-slicing and MIG advertise more, never fewer), polling every 10 s.
 * A Helm release reports success long before that (the validator may never finish), so this Job, which
 * Pulumi awaits until it completes, is what makes `pulumi up` wait for usable GPUs, and fail when none come.
 */
export function gpuReadinessScript(nodeNames: readonly string[], gpusPerNode: number): string {
  return [
    "set -eu",
    `for node in ${nodeNames.join(" ")}; do`,
    `  until n=$(kubectl get node "$node" -o jsonpath='{.status.allocatable.nvidia\\.com/gpu}') && [ "\${n:-0}" -ge ${gpusPerNode} ]; do`,
    `    echo "$node: \${n:-0} of ${gpusPerNode} nvidia.com/gpu allocatable; waiting"; sleep 10`,
    "  done",
    `  echo "$node: $n nvidia.com/gpu allocatable"`,
    "done",
  ].join("\n");
}
