import * as pulumi from "@pulumi/pulumi";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as appsv1 from "@pulumi/kubernetes/apps/v1";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import * as networkingv1 from "@pulumi/kubernetes/networking/v1";
import * as policyv1 from "@pulumi/kubernetes/policy/v1";
import type * as k8sInput from "@pulumi/kubernetes/types/input";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import type { GpuNodePool } from "./gpu-node-pool";
import type { SiteRoles } from "./failover";
import { DataClass, placementLabels } from "./labels";
import { CertificateAuthority, KeyStore, PulumiStateKeys } from "./keys";
import { POD_DEFAULTS } from "./pod-defaults";
import { runtimeOwnedFields } from "./runtime-owned";
import { Site, crossSiteExposure, peerRangeProblems } from "./site";
import { VLLM_PORT, vllmArgs } from "./vllm";

/**
 * Name of the Service in front of vLLM. Never `vllm`: with service links a Service of that name injects
 * `VLLM_PORT=tcp://…` into pods, which vLLM reads as its own setting (vllm-project/vllm issue 34199).
 */
export const VLLM_SERVICE_NAME = "model-server";

/** Pinned images. */
export const INFERENCE_IMAGES = {
  /** vLLM's OpenAI-compatible server. */
  vllm: "vllm/vllm-openai:v0.11.0",
  /** The gateway in front of it. */
  nginx: "nginx:1.28.0-alpine",
  /** Syncs model weights from the object store into the node's cache volume. */
  awsCli: "amazon/aws-cli:2.27.50",
} as const;

/** A weight precision: `bf16`, `fp16`, `fp8`, `int8`, or the 4-bit quantizations `awq` and `gptq`. */
export type Precision = "bf16" | "fp16" | "fp8" | "int8" | "awq" | "gptq";

/** Bytes per parameter of each weight precision. */
export const PRECISION_BYTES: Readonly<Record<Precision, number>> = { bf16: 2, fp16: 2, fp8: 1, int8: 1, awq: 0.5, gptq: 0.5 };

/** Share of the usable GPU memory that must stay free for the KV cache after the weights are loaded. */
export const MIN_KV_CACHE_SHARE = 0.1;

/** A model deployment. */
export interface InferenceModelArgs {
  /** Name clients ask for (`model` in the OpenAI API), e.g. `waris-llm-70b`. */
  readonly model: string;
  /**
   * Where the weights are: `s3://bucket/prefix` in a Thai object store (synced into a cache volume),
   * `pvc:<claim>/<path>` on a volume already on the site, or `hf://org/name` (dev only: downloads
   * from the public hub at run time, allowed only with `allowHubDownload`).
   */
  readonly source: string;
  /** Parameters, billions (70 for a 70B model). */
  readonly parametersBillions: number;
  /**
   * Format the checkpoint's weights are stored in: `bf16`/`fp16` unquantized, `fp8`/`int8`/`awq`/`gptq`
   * pre-quantized. Decides vLLM's arguments (see `VLLM_CHECKPOINT_ARGS`) and the memory fit.
   */
  readonly precision: Precision;
  /** GPUs one replica spans; must divide the pool's GPUs per node. */
  readonly tensorParallelSize: number;
  /** Context length, tokens. Default 8192. */
  readonly maxModelLen?: number;
  /** Share of each GPU's memory vLLM may use. Default 0.9. */
  readonly gpuMemoryUtilization?: number;
  /** Fewest replicas. Default 1. */
  readonly minReplicas?: number;
  /** Most replicas (autoscaled on queue depth between the two). Default 1. */
  readonly maxReplicas?: number;
  /** CPU request per replica. Default `"8"`. */
  readonly cpu?: string;
  /** Memory request and limit per replica, GiB. Default 64. */
  readonly memoryGiB?: number;
}


/** The name of an inference cluster's API key among supplied secrets (Vault KV `stack/<name>`). */
export function inferenceApiKeyName(cluster: string): string {
  return `${cluster}-api-key`;
}

/** Arguments of {@link InferenceCluster}. */
export interface InferenceClusterArgs {
  /** Sites to serve on: the active one, and optionally the standby for overflow. */
  readonly sites: readonly Site[];
  /** One GPU pool per site (matched by the pool's site). */
  readonly pools: readonly GpuNodePool[];
  /** Site that serves {@link primary}; the other serves {@link overflow}. Flip it with the databases. */
  readonly activeSite: string;
  /**
   * The failover model's roles (components/failover.ts `deriveSiteRoles`). When given, `activeSite` must be
   * its `servingSite`, and a site that cannot be reached (a `frozen` role: the lost site of a disaster
   * promote) keeps the deployment it had, so the phase sends it no change. Without it, every site follows
   * `activeSite` at once (a single-site or library use with no failover procedure).
   */
  readonly roles?: SiteRoles;
  /** The model on the active site. */
  readonly primary: InferenceModelArgs;
  /** The smaller deployment on the other site that takes the spill. Required with two sites. */
  readonly overflow?: InferenceModelArgs;
  /**
   * Bearer token every request must carry (a Pulumi secret). There is no anonymous endpoint. Required
   * with the Pulumi-state key store; a Vault store reads it from Vault KV `stack/<name>-api-key`
   * (property `value`) instead.
   */
  readonly apiKey?: pulumi.Input<string>;
  /** Namespace of the applications: the only one admitted to the gateway. */
  readonly appNamespace: string;
  /** Host name at which each site's gateway is reachable from the other (VPN DNS). Required with two sites. */
  readonly gatewayHosts?: Readonly<Record<string, string>>;
  /** Site whose object store holds `s3://` weights. */
  readonly modelStore?: Site;
  /** Cache volume for synced weights, GiB. Default 300. */
  readonly modelCacheGiB?: number;
  /** Allow `hf://` sources (downloads from the public hub at run time). Default false; never on prod. */
  readonly allowHubDownload?: boolean;
  /** Concurrent requests the local deployment takes before the gateway spills to the other site. Default 64. */
  readonly spillOverConcurrency?: number;
  /** Queue depth (`vllm:num_requests_waiting`) per replica that adds a replica. Default 5. */
  readonly queueDepthTarget?: number;
  /** Prometheus that KEDA reads. Default `http://prometheus-operated.monitoring.svc:9090`. */
  readonly prometheusAddress?: string;
  /** Namespace of Prometheus (admitted to scrape). Default `monitoring`. */
  readonly monitoringNamespace?: string;
  /** p50 time to first token above which to alert, seconds. Default 1. */
  readonly latencyP50Seconds?: number;
  /** Namespace. Default: the component's name, so two clusters on one site never share one. */
  readonly namespace?: string;
  /** Class of the data in prompts. Default `confidential`. */
  readonly dataClass?: DataClass;
  /**
   * Where the keys come from (components/keys.ts): the API key (supplied secret `<name>-api-key`), the
   * model store's read keys (writer `models`), the gateways' CA and certificates. Default
   * `new PulumiStateKeys()`: keys in the Pulumi state, plain Secrets.
   */
  readonly keys?: KeyStore;
}

/** What fits where: weights and the KV cache left, per GPU, GiB. */
export interface ModelFit {
  /** All weights, GiB. */
  readonly weightsGiB: number;
  /** Weights per GPU with tensor parallelism, GiB. */
  readonly weightsPerGpuGiB: number;
  /** GPU memory vLLM may use per GPU, GiB. */
  readonly usablePerGpuGiB: number;
  /** Left for the KV cache per GPU, GiB. */
  readonly kvCachePerGpuGiB: number;
}

/** Weight memory of a model and what it leaves on a GPU of `gpuMemoryGiB`. */
export function modelFit(m: Pick<InferenceModelArgs, "parametersBillions" | "precision" | "tensorParallelSize" | "gpuMemoryUtilization">, gpuMemoryGiB: number): ModelFit {
  const weightsGiB = (m.parametersBillions * 1e9 * PRECISION_BYTES[m.precision]) / 1024 ** 3;
  const weightsPerGpuGiB = weightsGiB / m.tensorParallelSize;
  const usablePerGpuGiB = gpuMemoryGiB * (m.gpuMemoryUtilization ?? 0.9);
  return { weightsGiB, weightsPerGpuGiB, usablePerGpuGiB, kvCachePerGpuGiB: usablePerGpuGiB - weightsPerGpuGiB };
}

const round1 = (n: number): string => n.toFixed(1);
const whole = (n: unknown, min: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= min;

/** A pool as the validation sees it. */
export interface PoolFacts {
  /** Site name. */
  readonly site: string;
  /** GPU model. */
  readonly gpuModel: string;
  /** GPUs per node. */
  readonly gpusPerNode: number;
  /** Memory of one GPU, GiB. */
  readonly gpuMemoryGiB: number;
  /** Most nodes the pool can have. */
  readonly maxNodes: number;
}

function modelProblems(prefix: string, m: InferenceModelArgs, pools: readonly PoolFacts[], allowHub: boolean): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument: `${prefix}.${argument}`, message });
  if (!/^(s3:\/\/[a-z0-9.-]+\/.+|pvc:[a-z0-9-]+\/.+|hf:\/\/[^/]+\/.+)$/.test(m.source)) add("source", `is ${show(m.source)}; use s3://bucket/prefix, pvc:<claim>/<path> or (dev) hf://org/name`);
  if (m.source.startsWith("hf://") && !allowHub) add("source", `is ${show(m.source)}: weights would come from a public hub at run time; copy them to the Thai object store (s3://) or set allowHubDownload on a dev stack`);
  if (!(m.precision in PRECISION_BYTES)) add("precision", `is ${show(m.precision)}; allowed: ${Object.keys(PRECISION_BYTES).join(", ")}`);
  if (!(m.parametersBillions > 0)) add("parametersBillions", `is ${show(m.parametersBillions)}; must be positive`);
  if (!whole(m.tensorParallelSize, 1)) add("tensorParallelSize", `is ${show(m.tensorParallelSize)}; must be a whole number of at least 1`);
  const util = m.gpuMemoryUtilization ?? 0.9;
  if (!(util > 0 && util <= 0.98)) add("gpuMemoryUtilization", `is ${show(util)}; must be in (0, 0.98]`);
  const min = m.minReplicas ?? 1;
  const max = m.maxReplicas ?? Math.max(1, min);
  if (!whole(min, 1)) add("minReplicas", `is ${show(min)}; must be a whole number of at least 1`);
  if (!whole(max, 1)) add("maxReplicas", `is ${show(max)}; must be a whole number of at least 1`);
  else if (whole(min, 1) && min > max) add("minReplicas", `is ${min}, above maxReplicas ${max}`);
  if (problems.length > 0 || !(m.precision in PRECISION_BYTES)) return problems;
  for (const pool of pools) {
    if (pool.gpusPerNode % m.tensorParallelSize !== 0) {
      const divisors = Array.from({ length: pool.gpusPerNode }, (_, i) => i + 1).filter((d) => pool.gpusPerNode % d === 0);
      add("tensorParallelSize", `is ${m.tensorParallelSize}, which does not divide the ${pool.gpusPerNode} GPUs per node of the pool on site "${pool.site}"; allowed: ${divisors.join(", ")}`);
      continue;
    }
    const capacity = pool.maxNodes * (pool.gpusPerNode / m.tensorParallelSize);
    if (whole(max, 1) && max > capacity) {
      add("maxReplicas", `is ${max}, but the pool on site "${pool.site}" holds at most ${capacity} replica(s) of ${m.tensorParallelSize} GPUs (${pool.maxNodes} node(s) × ${pool.gpusPerNode} GPUs)`);
    }
    const fit = modelFit(m, pool.gpuMemoryGiB);
    if (fit.kvCachePerGpuGiB < MIN_KV_CACHE_SHARE * fit.usablePerGpuGiB) {
      add(
        "precision",
        `${m.parametersBillions}B ${m.precision} needs ${round1(fit.weightsGiB)} GiB of weights, ${round1(fit.weightsPerGpuGiB)} GiB per GPU at tensor parallelism ${m.tensorParallelSize}; ` +
          `a ${pool.gpuModel} (${pool.gpuMemoryGiB} GiB × ${util}) on site "${pool.site}" leaves ${round1(fit.kvCachePerGpuGiB)} GiB for the KV cache, under the ${MIN_KV_CACHE_SHARE * 100}% (${round1(MIN_KV_CACHE_SHARE * fit.usablePerGpuGiB)} GiB) minimum; ` +
          `quantize (fp8, awq), raise tensorParallelSize, or use larger GPUs`,
      );
    }
  }
  return problems;
}

/**
 * Every problem with the arguments (pure). Both models are checked against every pool, so flipping
 * `activeSite` can never put a model on GPUs that cannot hold it.
 */
export function validateInferenceClusterArgs(
  args: Omit<InferenceClusterArgs, "sites" | "pools" | "modelStore" | "apiKey" | "roles"> & {
    readonly roles?: Pick<SiteRoles, "servingSite">;
    readonly sites: readonly string[];
    readonly pools: readonly PoolFacts[];
    readonly hasApiKey: boolean;
    readonly hasModelStore: boolean;
  },
): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  if (!args.hasApiKey) add("apiKey", "is required: every request must carry a bearer token; there is no anonymous endpoint");
  if (args.sites.length === 0 || args.sites.length > 2) add("sites", `lists ${args.sites.length} sites; give the active site and optionally one overflow site`);
  if (!args.sites.includes(args.activeSite)) add("activeSite", `is ${show(args.activeSite)}; allowed: ${args.sites.join(", ")}`);
  if (args.roles && args.roles.servingSite !== args.activeSite) add("activeSite", `is ${show(args.activeSite)} but the failover roles serve from "${args.roles.servingSite}"; pass roles.servingSite`);
  for (const site of args.sites) {
    if (args.pools.filter((p) => p.site === site).length !== 1) add("pools", `must hold exactly one GPU pool on site "${site}" (found ${args.pools.filter((p) => p.site === site).length})`);
    if (args.sites.length === 2 && !args.gatewayHosts?.[site]) add(`gatewayHosts.${site}`, "is required with two sites: the other site sends its overflow there");
  }
  if (args.sites.length === 2 && !args.overflow) add("overflow", "is required with two sites: it is what the standby site serves");
  if (args.overflow && args.overflow.model !== args.primary.model) {
    add("overflow.model", `is ${show(args.overflow.model)} but the primary serves ${show(args.primary.model)}; spilled requests are forwarded unchanged, so both must answer to the same model name`);
  }
  const pools = args.pools.filter((p) => args.sites.includes(p.site));
  const allowHub = args.allowHubDownload ?? false;
  problems.push(...modelProblems("primary", args.primary, pools, allowHub));
  if (args.overflow) problems.push(...modelProblems("overflow", args.overflow, pools, allowHub));
  const usesS3 = [args.primary, args.overflow].some((m) => m?.source.startsWith("s3://"));
  if (usesS3 && !args.hasModelStore) add("modelStore", "is required for s3:// weights: the site whose object store holds them");
  if (args.spillOverConcurrency !== undefined && !whole(args.spillOverConcurrency, 1)) add("spillOverConcurrency", `is ${show(args.spillOverConcurrency)}; must be a whole number of at least 1`);
  if (args.queueDepthTarget !== undefined && !(args.queueDepthTarget > 0)) add("queueDepthTarget", `is ${show(args.queueDepthTarget)}; must be positive`);
  return problems;
}

/**
 * Whether a site runs the primary model (pure): the serving site does; a site the failover model freezes
 * (unreachable: the lost site of a disaster `promote`) keeps what it last had, which was the primary
 * model when it was the primary site (`role: primary` of itself), so no change is sent to it.
 *
 * @param site - the site.
 * @param activeSite - {@link InferenceClusterArgs.activeSite}.
 * @param roles - {@link InferenceClusterArgs.roles}, if any.
 */
export function servesPrimaryModel(site: string, activeSite: string, roles?: Pick<SiteRoles, "bySite">): boolean {
  const role = roles?.bySite[site];
  if (role?.frozen) return role.role === "primary";
  return site === activeSite;
}

/** What {@link gatewayNginxConf} renders. */
export interface GatewayNginxConfArgs {
  /** Namespace of vLLM's Service. */
  readonly namespace: string;
  /** Requests in flight to the local vLLM before the gateway spills (nginx `max_conns`). */
  readonly maxConns: number;
  /** The other site's gateway host (VPN DNS); without it nothing spills and there is no TLS listener. */
  readonly remoteHost?: string;
}

/**
 * The gateway's `nginx.conf`: `/v1/` requires `Authorization: Bearer …` (401 without) and goes to the
 * local vLLM; when that answers 502/503/504 or holds `maxConns` requests, the request (body and headers
 * included) goes to the other site's gateway over TLS 1.3, verified against `/etc/nginx/tls/ca.crt` and the
 * remote host name. Port 8443 takes the other site's spill over TLS and serves it locally only. Loaded
 * and exercised by Debian's nginx in `test/gateway-nginx.test.ts`.
 */
export function gatewayNginxConf(c: GatewayNginxConfArgs): string {
  const auth = 'if ($http_authorization !~ "^Bearer .+") { return 401; }';
  const proxy = ["proxy_http_version 1.1;", 'proxy_set_header Connection "";', "proxy_buffering off;", "proxy_read_timeout 600s;"].join(" ");
  return [
    "worker_processes auto;",
    "events { worker_connections 4096; }",
    "http {",
    // Access log (issue 23): who called, what, the answer and which upstream served it, on the container's
    // stdout, so it stays on the site with the node's logs. Never the Authorization header or the body.
    "  log_format gateway '$remote_addr [$time_iso8601] \"$request_method $uri\" $status $body_bytes_sent rt=$request_time upstream=$upstream_addr upstream_status=$upstream_status';",
    "  access_log /dev/stdout gateway;",
    "  client_max_body_size 16m;",
    `  upstream local_vllm { server ${VLLM_SERVICE_NAME}.${c.namespace}.svc.cluster.local:${VLLM_PORT} max_conns=${c.maxConns} max_fails=3 fail_timeout=30s; keepalive 32; }`,
    "  server {",
    "    listen 8080;",
    "    location = /healthz { return 200 'ok'; }",
    "    location /v1/ {",
    `      ${auth}`,
    `      ${proxy}`,
    "      proxy_pass http://local_vllm;",
    // Saturated (max_conns reached) or down: nginx answers 502/503, and the request goes to the other site.
    ...(c.remoteHost ? ["      proxy_intercept_errors on;", "      error_page 502 503 504 = @overflow;"] : []),
    "    }",
    ...(c.remoteHost
      ? [
          "    location @overflow {",
          `      ${proxy}`,
          `      proxy_pass https://${c.remoteHost}:443;`,
          "      proxy_ssl_verify on;",
          "      proxy_ssl_trusted_certificate /etc/nginx/tls/ca.crt;",
          "      proxy_ssl_server_name on;",
          `      proxy_ssl_name ${c.remoteHost};`,
          "      proxy_ssl_protocols TLSv1.3;",
          "    }",
        ]
      : []),
    "    location / { return 404; }",
    "  }",
    ...(c.remoteHost
      ? [
          // The other site's spill arrives here over TLS; it is served locally and never bounced back.
          "  server {",
          "    listen 8443 ssl;",
          "    ssl_protocols TLSv1.3;",
          "    ssl_certificate /etc/nginx/tls/tls.crt;",
          "    ssl_certificate_key /etc/nginx/tls/tls.key;",
          "    location /v1/ {",
          `      ${auth}`,
          `      ${proxy}`,
          "      proxy_pass http://local_vllm;",
          "    }",
          "    location / { return 404; }",
          "  }",
        ]
      : []),
    "}",
  ].join("\n");
}

/**
 * A 70B+ LLM served by vLLM's OpenAI-compatible server on a {@link GpuNodePool}'s GPUs, with tensor
 * parallelism, on the active site, and a smaller deployment on the other site that takes the spill.
 * One endpoint for the applications: a gateway on each site sends requests to the local deployment
 * and, when it is saturated (more than `spillOverConcurrency` requests in flight) or down, to the other
 * site's gateway over TLS. Requests need a bearer token. Autoscaled on queue depth with KEDA.
 */
export class InferenceCluster extends pulumi.ComponentResource {
  /** URL the applications use, the same on every site. */
  readonly endpoint: string;
  /** Model served on the active site. */
  readonly model: string;
  /** Memory fit of each deployment, by site, GiB rounded to a tenth. */
  readonly fit: Readonly<Record<string, ModelFit>>;
  /** Site serving the primary model. */
  readonly activeSite: string;
  /** Namespace of vLLM and the gateway on every site. */
  readonly namespace: string;

  /**
   * @param name - component name.
   * @param args - see {@link InferenceClusterArgs}.
   * @param opts - component options.
   */
  constructor(name: string, args: InferenceClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    const poolFacts = args.pools.map((p) => ({ site: p.site.name, gpuModel: p.gpuModel, gpusPerNode: p.gpusPerNode, gpuMemoryGiB: p.gpuMemoryGiB, maxNodes: p.maxNodes }));
    throwIfInvalid(
      `InferenceCluster "${name}"`,
      validateInferenceClusterArgs({
        ...args,
        sites: args.sites.map((s) => s.spec.name),
        pools: poolFacts,
        // A Vault store reads the key from Vault KV, not from the stack.
        hasApiKey: args.apiKey !== undefined || args.keys?.kind === "vault",
        hasModelStore: args.modelStore?.objectStoreAccess !== undefined,
      }).concat(peerRangeProblems(args.sites)),
    );
    super("waris:index:InferenceCluster", name, {}, opts);

    const namespace = args.namespace ?? name;
    this.namespace = namespace;
    this.endpoint = `http://gateway.${namespace}.svc.cluster.local/v1`;
    this.model = args.primary.model;
    this.activeSite = args.activeSite;
    const twoSites = args.sites.length === 2;
    const keys = args.keys ?? new PulumiStateKeys();
    const ca = twoSites ? keys.certificateAuthority(name, `${name} gateway CA`, { parent: this }) : undefined;
    const fit: Record<string, ModelFit> = {};

    for (const site of args.sites) {
      const siteName = site.spec.name;
      const pool = args.pools.find((p) => p.site.name === siteName)!;
      const model = servesPrimaryModel(siteName, args.activeSite, args.roles) ? args.primary : args.overflow ?? args.primary;
      const f = modelFit(model, pool.gpuMemoryGiB);
      const tenth = (n: number): number => Math.round(n * 10) / 10;
      fit[siteName] = { weightsGiB: tenth(f.weightsGiB), weightsPerGpuGiB: tenth(f.weightsPerGpuGiB), usablePerGpuGiB: tenth(f.usablePerGpuGiB), kvCachePerGpuGiB: tenth(f.kvCachePerGpuGiB) };
      const remote = twoSites ? args.sites.find((s) => s.spec.name !== siteName)!.spec.name : undefined;
      this.buildSite(name, namespace, site, pool, model, remote, args, keys, ca);
    }
    this.fit = fit;
    this.registerOutputs({ endpoint: this.endpoint, model: this.model, activeSite: this.activeSite, fit: this.fit });
  }

  private buildSite(
    name: string,
    namespace: string,
    site: Site,
    pool: GpuNodePool,
    model: InferenceModelArgs,
    remote: string | undefined,
    args: InferenceClusterArgs,
    keys: KeyStore,
    ca: CertificateAuthority | undefined,
  ): void {
    const siteName = site.spec.name;
    const o = { parent: this, provider: site.kubernetesProvider };
    const id = (suffix: string): string => `${name}-${siteName}-${suffix}`;
    const labels = placementLabels(siteName, args.dataClass ?? "confidential");
    const vllmLabels = { ...labels, "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": name };
    const gatewayLabels = { ...labels, "app.kubernetes.io/name": "gateway", "app.kubernetes.io/instance": name };
    const ns = new corev1.Namespace(id("ns"), { metadata: { name: namespace, labels } }, o);
    const meta = (n: string, l: Record<string, string> = labels) => ({ name: n, namespace: ns.metadata.name, labels: l });

    keys.secret({ resourceName: id("api-key"), site: siteName, ...meta("vllm-api-key"), opts: o }, { VLLM_API_KEY: keys.suppliedSecret(inferenceApiKeyName(name), args.apiKey) });

    // Weights: a cache volume filled from the Thai object store, an existing claim, or (dev) the hub.
    const volumes: k8sInput.core.v1.Volume[] = [];
    const mounts: k8sInput.core.v1.VolumeMount[] = [];
    const initContainers: k8sInput.core.v1.Container[] = [];
    let modelPath: string;
    if (model.source.startsWith("s3://")) {
      const store = args.modelStore!;
      const access = store.objectStoreAccess!;
      // Read-only keys of their own on the model store (writer `models`).
      const reader = keys.objectStoreKeys(store.spec.name, "models", store.objectStoreWriterKeys("models"));
      keys.secret({ resourceName: id("model-store"), site: siteName, ...meta("model-store"), opts: o }, { AWS_ACCESS_KEY_ID: reader.accessKeyId, AWS_SECRET_ACCESS_KEY: reader.secretAccessKey });
      new corev1.PersistentVolumeClaim(
        id("model-cache"),
        { metadata: meta("model-cache"), spec: { accessModes: ["ReadWriteOnce"], storageClassName: site.volumes?.storageClass, resources: { requests: { storage: `${args.modelCacheGiB ?? 300}Gi` } } } },
        o,
      );
      volumes.push({ name: "models", persistentVolumeClaim: { claimName: "model-cache" } });
      modelPath = `/models/${model.model}`;
      initContainers.push({
        name: "sync-weights",
        image: INFERENCE_IMAGES.awsCli,
        // Incremental: after the first start only changed files cross the link.
        args: ["s3", "sync", "--only-show-errors", "--endpoint-url", access.endpoint, model.source, modelPath],
        envFrom: [{ secretRef: { name: "model-store" } }],
        env: [{ name: "AWS_DEFAULT_REGION", value: access.signingRegion ?? "us-east-1" }],
        volumeMounts: [{ name: "models", mountPath: "/models" }],
      });
      mounts.push({ name: "models", mountPath: "/models", readOnly: true });
    } else if (model.source.startsWith("pvc:")) {
      const [claim, ...rest] = model.source.slice(4).split("/");
      volumes.push({ name: "models", persistentVolumeClaim: { claimName: claim, readOnly: true } });
      mounts.push({ name: "models", mountPath: "/models", readOnly: true });
      modelPath = `/models/${rest.join("/")}`;
    } else {
      modelPath = model.source.slice("hf://".length);
    }
    const tp = model.tensorParallelSize;
    // NCCL exchanges tensors between the GPUs of a replica through /dev/shm.
    const shmGiB = Math.max(4, 8 * tp);
    volumes.push({ name: "shm", emptyDir: { medium: "Memory", sizeLimit: `${shmGiB}Gi` } });
    mounts.push({ name: "shm", mountPath: "/dev/shm" });
    const health = (periodSeconds: number, failureThreshold: number) => ({ httpGet: { path: "/health", port: "http" }, periodSeconds, failureThreshold, timeoutSeconds: 5 });
    const minReplicas = model.minReplicas ?? 1;
    const maxReplicas = model.maxReplicas ?? Math.max(1, minReplicas);

    new appsv1.Deployment(
      id("vllm"),
      {
        metadata: meta("vllm", vllmLabels),
        spec: {
          replicas: minReplicas,
          // A rolling update would need a second set of GPUs for the new pod while the old one holds them.
          strategy: { type: "Recreate" },
          selector: { matchLabels: { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": name } },
          template: {
            metadata: { labels: vllmLabels },
            spec: {
              ...POD_DEFAULTS,
              nodeSelector: pool.nodeSelector,
              tolerations: [...pool.tolerations],
              runtimeClassName: pool.runtimeClassName,
              initContainers,
              containers: [
                {
                  name: "vllm",
                  image: INFERENCE_IMAGES.vllm,
                  args: vllmArgs(model, modelPath),
                  env: [
                    // vLLM requires `Authorization: Bearer <key>` on /v1 when this is set.
                    { name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "vllm-api-key", key: "VLLM_API_KEY" } } },
                    ...(model.source.startsWith("hf://") ? [] : [{ name: "HF_HUB_OFFLINE", value: "1" }]),
                  ],
                  ports: [{ name: "http", containerPort: VLLM_PORT }],
                  resources: {
                    requests: { cpu: model.cpu ?? "8", memory: `${model.memoryGiB ?? 64}Gi`, "nvidia.com/gpu": String(tp) },
                    limits: { memory: `${model.memoryGiB ?? 64}Gi`, "nvidia.com/gpu": String(tp) },
                  },
                  // A 70B model takes many minutes to load: up to 30 min before liveness starts counting.
                  startupProbe: health(10, 180),
                  readinessProbe: health(10, 3),
                  livenessProbe: health(20, 3),
                  volumeMounts: mounts,
                },
              ],
              volumes,
            },
          },
        },
      },
      // With KEDA scaling it, the replica count is KEDA's after creation. It waits for the pool's GPUs to be allocatable.
      { ...o, ignoreChanges: runtimeOwnedFields("kubernetes:apps/v1:Deployment", maxReplicas > minReplicas), dependsOn: pool.readyGate ? [pool.readyGate] : [] },
    );
    new corev1.Service(
      id("vllm-svc"),
      { metadata: meta(VLLM_SERVICE_NAME, vllmLabels), spec: { type: "ClusterIP", selector: { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": name }, ports: [{ name: "http", port: VLLM_PORT, targetPort: "http" }] } },
      o,
    );
    new policyv1.PodDisruptionBudget(
      id("vllm-pdb"),
      { metadata: meta("vllm", vllmLabels), spec: { maxUnavailable: 1, selector: { matchLabels: { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": name } } } },
      o,
    );
    const monitoringNs = args.monitoringNamespace ?? "monitoring";
    new networkingv1.NetworkPolicy(
      id("vllm-netpol"),
      {
        metadata: meta("vllm", vllmLabels),
        spec: {
          podSelector: { matchLabels: { "app.kubernetes.io/name": "vllm" } },
          policyTypes: ["Ingress"],
          ingress: [
            { from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "gateway" } } }], ports: [{ port: VLLM_PORT }] },
            { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": monitoringNs } } }], ports: [{ port: VLLM_PORT }] },
          ],
        },
      },
      o,
    );
    if (maxReplicas > minReplicas) {
      new apiextensions.CustomResource(
        id("vllm-scaler"),
        {
          apiVersion: "keda.sh/v1alpha1",
          kind: "ScaledObject",
          metadata: meta("vllm", vllmLabels),
          spec: {
            scaleTargetRef: { name: "vllm" },
            minReplicaCount: minReplicas,
            maxReplicaCount: maxReplicas,
            // Loading a 70B model takes minutes: do not scale down on a short lull.
            cooldownPeriod: 900,
            triggers: [
              {
                type: "prometheus",
                metadata: {
                  serverAddress: args.prometheusAddress ?? "http://prometheus-operated.monitoring.svc:9090",
                  query: `sum(vllm:num_requests_waiting{namespace="${namespace}"})`,
                  threshold: String(args.queueDepthTarget ?? 5),
                },
              },
            ],
          },
        },
        o,
      );
    }
    new apiextensions.CustomResource(
      id("vllm-monitor"),
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: meta("vllm", vllmLabels),
        spec: { selector: { matchLabels: { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": name } }, endpoints: [{ port: "http", path: "/metrics", interval: "15s" }] },
      },
      o,
    );
    new apiextensions.CustomResource(
      id("vllm-alerts"),
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: meta("vllm-alerts", vllmLabels),
        spec: {
          groups: [
            {
              name: `${name}.inference`,
              rules: [
                {
                  alert: "InferenceGpuSaturated",
                  expr: `avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL{namespace="${namespace}"}) > 95`,
                  for: "10m",
                  labels: { severity: "warning", site: siteName },
                  annotations: { summary: "GPU utilisation above 95% for 10 minutes: requests will spill to the other site." },
                },
                {
                  // The seed's 100 ms is for API services; a 70B model answers in seconds, so the time to first token is what users feel.
                  alert: "InferenceLatencyHigh",
                  expr: `histogram_quantile(0.5, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{namespace="${namespace}"}[5m]))) > ${args.latencyP50Seconds ?? 1}`,
                  for: "10m",
                  labels: { severity: "warning", site: siteName },
                  annotations: { summary: `p50 time to first token above ${args.latencyP50Seconds ?? 1} s.` },
                },
                {
                  alert: "InferenceErrorRateHigh",
                  expr: `sum(rate(http_requests_total{namespace="${namespace}", status="5xx"}[5m])) / sum(rate(http_requests_total{namespace="${namespace}"}[5m])) > 0.01`,
                  for: "5m",
                  labels: { severity: "critical", site: siteName },
                  annotations: { summary: "More than 1% of inference requests fail." },
                },
              ],
            },
          ],
        },
      },
      o,
    );
    this.buildGateway(id, meta, gatewayLabels, namespace, site, remote, args, ca, o);
  }

  private buildGateway(
    id: (suffix: string) => string,
    meta: (n: string, l?: Record<string, string>) => { name: string; namespace: pulumi.Input<string>; labels: Record<string, string> },
    gatewayLabels: Record<string, string>,
    namespace: string,
    site: Site,
    remote: string | undefined,
    args: InferenceClusterArgs,
    ca: CertificateAuthority | undefined,
    o: pulumi.CustomResourceOptions,
  ): void {
    const siteName = site.spec.name;
    const remoteHost = remote ? args.gatewayHosts![remote]! : undefined;
    const localHost = args.gatewayHosts?.[siteName];
    const conf = gatewayNginxConf({ namespace, maxConns: args.spillOverConcurrency ?? 64, remoteHost });
    new corev1.ConfigMap(id("gateway-conf"), { metadata: meta("gateway-conf", gatewayLabels), data: { "nginx.conf": conf } }, o);
    const volumes: k8sInput.core.v1.Volume[] = [{ name: "conf", configMap: { name: "gateway-conf" } }];
    const mounts: k8sInput.core.v1.VolumeMount[] = [{ name: "conf", mountPath: "/etc/nginx/nginx.conf", subPath: "nginx.conf", readOnly: true }];
    if (ca && localHost) {
      ca.tlsSecret(
        `${siteName}-gateway`,
        { resourceName: id("gateway-tls"), site: siteName, ...meta("gateway-tls", gatewayLabels), opts: o },
        { subject: { commonName: localHost }, dnsNames: [localHost], uses: ["server"] },
      );
      volumes.push({ name: "tls", secret: { secretName: "gateway-tls" } });
      mounts.push({ name: "tls", mountPath: "/etc/nginx/tls", readOnly: true });
    }
    const selector = { "app.kubernetes.io/name": "gateway", "app.kubernetes.io/instance": gatewayLabels["app.kubernetes.io/instance"]! };
    new appsv1.Deployment(
      id("gateway"),
      {
        metadata: meta("gateway", gatewayLabels),
        spec: {
          replicas: 2,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: gatewayLabels },
            spec: {
              ...POD_DEFAULTS,
              containers: [
                {
                  name: "nginx",
                  image: INFERENCE_IMAGES.nginx,
                  ports: [{ name: "http", containerPort: 8080 }, ...(remoteHost ? [{ name: "https", containerPort: 8443 }] : [])],
                  readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 },
                  livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10 },
                  resources: { requests: { cpu: "250m", memory: "128Mi" }, limits: { memory: "256Mi" } },
                  volumeMounts: mounts,
                },
              ],
              volumes,
            },
          },
        },
      },
      o,
    );
    new corev1.Service(id("gateway-svc"), { metadata: meta("gateway", gatewayLabels), spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: 80, targetPort: "http" }] } }, o);
    if (remoteHost) {
      new corev1.Service(
        id("gateway-remote"),
        { metadata: meta("gateway-remote", gatewayLabels), spec: { type: "LoadBalancer", ...crossSiteExposure(args.sites, siteName), selector, ports: [{ name: "https", port: 443, targetPort: "https" }] } },
        o,
      );
    }
    new networkingv1.NetworkPolicy(
      id("gateway-netpol"),
      {
        metadata: meta("gateway", gatewayLabels),
        spec: {
          podSelector: { matchLabels: { "app.kubernetes.io/name": "gateway" } },
          policyTypes: ["Ingress"],
          ingress: [
            // Only the applications' namespace reaches the plain-HTTP listener.
            { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.appNamespace } } }], ports: [{ port: 8080 }] },
            // The other site's gateway arrives through the LoadBalancer, over TLS with a bearer token.
            ...(remoteHost ? [{ ports: [{ port: 8443 }] }] : []),
          ],
        },
      },
      o,
    );
  }
}
