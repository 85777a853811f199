/**
 * What every pod the components create shares, and the facts behind it. Pure data: no resource here.
 */

/**
 * Kubernetes "service links" inject `<SERVICE>_PORT=tcp://<ip>:<port>` (and `_SERVICE_HOST`, …) into every
 * container for every Service in its namespace. A program that reads its own settings from variables
 * with that prefix then reads a URL where it expects a number: vLLM refuses to start when a Service named
 * `vllm` injects `VLLM_PORT` (vllm-project/vllm issue 34199; vLLM docs, "Environment variables": "please
 * do not use `vllm` as the name of a Kubernetes service"). The components reach Services by DNS name only,
 * so every pod template they write turns the links off. Spread it into every pod spec.
 *
 * The `PerconaServerMongoDB` (psmdb 1.22) and `Milvus` (milvus-operator 1.2.7) CRDs have no field for it:
 * their pods keep the links, which is why {@link PROGRAM_ENV_PREFIXES} also rules out colliding Service names.
 */
export const POD_DEFAULTS: PodDefaults = { enableServiceLinks: false };

/** The fields of {@link POD_DEFAULTS}. */
export interface PodDefaults {
  /** Service links off: Services are reached by DNS name only. */
  readonly enableServiceLinks: false;
}

/**
 * Environment prefixes the programs the components run read their own settings from, by program. A
 * Service whose name, as Kubernetes turns it into a variable (upper case, `-` → `_`), starts with one of
 * these would set that program's settings wherever links are on. Sources: vLLM `vllm/envs.py`;
 * mongodb_exporter reads `MONGODB_URI`/`MONGODB_USER`/`MONGODB_PASSWORD`; the AWS CLI reads `AWS_*`;
 * huggingface_hub reads `HF_*`; Milvus maps `MILVUS_*`, `MINIO_*`, `ETCD_*` onto its config keys.
 */
export const PROGRAM_ENV_PREFIXES: Readonly<Record<string, readonly string[]>> = {
  vllm: ["VLLM_", "HF_"],
  "mongodb-exporter": ["MONGODB_"],
  "aws-cli": ["AWS_"],
  milvus: ["MILVUS_", "MINIO_", "ETCD_"],
};

/** The variable prefix Kubernetes derives from a Service name (`model-server` → `MODEL_SERVER_`). */
export function serviceEnvPrefix(serviceName: string): string {
  return `${serviceName.toUpperCase().replace(/-/g, "_")}_`;
}

/**
 * The programs whose settings a Service of this name would collide with (empty when none).
 *
 * @param serviceName - `metadata.name` of a Service.
 * @returns program names from {@link PROGRAM_ENV_PREFIXES}.
 */
export function serviceNameCollisions(serviceName: string): string[] {
  const prefix = serviceEnvPrefix(serviceName);
  return Object.entries(PROGRAM_ENV_PREFIXES)
    .filter(([, prefixes]) => prefixes.some((p) => prefix.startsWith(p)))
    .map(([program]) => program);
}
