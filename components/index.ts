/**
 * `@waris/hybrid-infra`: Pulumi components for a hybrid on-premise + Thai Government Cloud AI platform.
 *
 * Importing this module registers no resource: it only exports classes and functions.
 *
 * @packageDocumentation
 */
export * from "./errors";
export * from "./labels";
export * from "./residency";
export * from "./site";
export * from "./gpu-catalog";
export * from "./gpu-node-pool";
export * from "./recovery";
export * from "./quantity";
export * from "./failover";
export * from "./postgres-cluster";
export * from "./object-storage-bucket";
export * from "./backup-schedule";
export * from "./pki";
export * from "./inference-cluster";
export * from "./mongo-replica-set";
export * from "./managed-postgres";
export * from "./redis-primary";
export * from "./milvus-primary";
export * from "./pod-defaults";
export * from "./runtime-owned";
export * from "./vllm";
export * from "./store-encryption";
export * from "./gpu-operator";
export * from "./optional-sdk";
export * from "./monitoring-rules";
export * from "./monitoring-dashboards";
export * from "./monitoring";
export * from "./keys";
export * from "./vault-keys";
