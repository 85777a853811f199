/**
 * Network zones as code: the seed's security section asks for a DMZ (web and API), an internal AI zone and
 * a database zone behind the firewall. Every namespace the program creates is in one zone, refuses all
 * ingress by default, and admits only the flows of one table ({@link warisZoneTable}): which namespace (or
 * the other site, by its VPN address ranges) reaches which namespace, on which ports, and why.
 *
 * Egress is not restricted: the operators' instance managers talk to the Kubernetes API server and every
 * backup writer to its object store, whose addresses are site-specific and outside the cluster; a wrong
 * egress rule stops replication or backups silently, which is worse than the exposure it removes.
 *
 * Kubernetes semantics relied on (kubernetes.io "Network Policies"): policies are additive, a pod selected
 * by any ingress policy admits only what some policy allows; `ipBlock` matches the packet's source as the
 * pod sees it, so cross-site Services use `externalTrafficPolicy: Local` (the client address is kept; with
 * `Cluster` it is rewritten to a node's) and the peer's ranges are also the LoadBalancer's
 * `loadBalancerSourceRanges`. A webhook called by the API server arrives from a node or control-plane
 * address, which no selector names: those ports are open to any source, as the operators' charts document.
 */
import * as pulumi from "@pulumi/pulumi";
import * as networkingv1 from "@pulumi/kubernetes/networking/v1";
import type * as k8sInput from "@pulumi/kubernetes/types/input";
import { placementLabels } from "./labels";
import type { Site } from "./site";

/** The seed's zones, plus the platform's operators. */
export type Zone =
  /** Web and API entry points: the LLM gateway and the applications' namespace. */
  | "dmz"
  /** Inference: vLLM and its model cache. */
  | "ai"
  /** Databases behind the firewall: PostgreSQL, MongoDB, Redis, Milvus. */
  | "data"
  /** Operators, their webhooks, DNS and GPU management. */
  | "platform";

/** Who may open a connection. */
export type FlowSource =
  /** Pods of the same namespace (a datastore's members, its operator, its backup Jobs). */
  | { readonly kind: "same-namespace" }
  /** Pods of another namespace of this cluster. */
  | { readonly kind: "namespace"; readonly namespace: string }
  /** The other data site, by its VPN address ranges (`sites.<name>.vpnRanges`). */
  | { readonly kind: "peer-site" }
  /** The API server calling a webhook: its source is a node or control-plane address, so any source. */
  | { readonly kind: "api-server" };

/** One allowed flow into a namespace. */
export interface Flow {
  readonly from: FlowSource;
  /** TCP ports; empty: every port. */
  readonly ports: readonly number[];
  /** Why the architecture needs it. */
  readonly why: string;
}

/** A namespace, its zone and what may reach it. */
export interface NamespaceZone {
  readonly namespace: string;
  readonly zone: Zone;
  readonly flows: readonly Flow[];
}

/** Ports the table names (each from the component or chart that opens it). */
export const ZONE_PORTS = {
  postgres: 5432,
  /** CloudNativePG's instance manager: the operator reads each instance's status there (CNPG docs, "Networking"). */
  cnpgStatus: 8000,
  /** CloudNativePG's metrics exporter. */
  cnpgMetrics: 9187,
  mongodb: 27017,
  /** The mongodb_exporter sidecar (components/mongo-replica-set.ts). */
  mongoExporter: 9216,
  redis: 6379,
  redisExporter: 9121,
  milvusGrpc: 19530,
  /** Milvus's metrics and management port (milvus-backup's gcPause). */
  milvusManagement: 9091,
  /** The etcd of a Milvus: the milvus-operator checks its health (pkg/controllers/conditions.go). */
  etcd: 2379,
  vllm: 8000,
  gatewayHttp: 8080,
  gatewayTls: 8443,
  /** CloudNativePG operator's webhook (cloudnative-pg chart values `webhook.port`). */
  cnpgWebhook: 9443,
  /** cert-manager's webhook (chart values `webhook.securePort`). */
  certManagerWebhook: 10250,
  /** milvus-operator's webhook (chart `templates/deployment.yaml` containerPort). */
  milvusOperatorWebhook: 9443,
  /** The Prometheus operator's admission webhook (kube-prometheus-stack values `prometheusOperator.tls.internalPort`). */
  prometheusOperatorWebhook: 10250,
  /** External Secrets' webhook (external-secrets chart values `webhook.port`). */
  externalSecretsWebhook: 10250,
  /** Prometheus's API, which KEDA's Prometheus scaler queries. */
  prometheus: 9090,
} as const;

/** The namespace KEDA's documentation installs it in (KEDA docs, "Deploying KEDA": Helm `--namespace keda`). */
export const DEFAULT_KEDA_NAMESPACE = "keda";

/** What the program runs, as {@link warisZoneTable} needs it: each namespace present, by role. */
export interface ZoneTableInput {
  /** Namespace Prometheus scrapes from. */
  readonly monitoringNamespace: string;
  /** The applications' namespace, admitted to every datastore and the gateway; none: no application flow. */
  readonly appNamespace?: string;
  /**
   * Namespace KEDA runs in (its Prometheus scaler reads vLLM's queue depth); admitted to Prometheus when
   * `inference` is set. The program does not install KEDA: it is the cluster's.
   *
   * @defaultValue {@link DEFAULT_KEDA_NAMESPACE}
   */
  readonly kedaNamespace?: string;
  readonly postgres?: { readonly namespace: string; readonly operatorNamespace: string; readonly installsOperators: boolean };
  /** `operatorNamespace`: where the Percona operator runs when not in the replica set's own namespace. */
  readonly mongodb?: { readonly namespace: string; readonly operatorNamespace?: string };
  readonly redis?: { readonly namespace: string };
  readonly milvus?: { readonly namespace: string; readonly operatorNamespace?: string };
  readonly inference?: { readonly namespace: string };
  readonly dns?: { readonly namespace: string };
  readonly gpuOperator?: { readonly namespace: string };
  /** The site's monitoring stack (components/monitoring.ts, installed by this program). */
  readonly monitoring?: { readonly namespace: string };
  /**
   * Keys from Vault (components/vault-keys.ts): the namespace of the key plumbing (no pods: generators,
   * pushes, a ServiceAccount) and, when this program installs it, External Secrets' namespace.
   */
  readonly keys?: { readonly namespace: string; readonly externalSecretsNamespace?: string };
  /** Whether the datastores are replicated to the other site (two data sites). */
  readonly twoSites: boolean;
}

const same: Flow = { from: { kind: "same-namespace" }, ports: [], why: "the namespace's own pods: members, operator, backup and restore Jobs" };
const scrape = (input: ZoneTableInput, ports: readonly number[]): Flow => ({ from: { kind: "namespace", namespace: input.monitoringNamespace }, ports, why: "Prometheus scrapes the metrics" });
const apps = (input: ZoneTableInput, ports: readonly number[], what: string): Flow[] =>
  input.appNamespace ? [{ from: { kind: "namespace", namespace: input.appNamespace }, ports, why: `the applications use ${what}` }] : [];
/** An operator's namespace: its own pods, the API server on its webhook port (`what` is called), Prometheus. */
const operatorZone = (input: ZoneTableInput, namespace: string, webhookPort: number, what: string): NamespaceZone => ({
  namespace,
  zone: "platform",
  flows: [same, { from: { kind: "api-server" }, ports: [webhookPort], why: `the API server calls ${what}` }, scrape(input, [])],
});
const peer = (input: ZoneTableInput, ports: readonly number[], why: string): Flow[] => (input.twoSites ? [{ from: { kind: "peer-site" }, ports, why }] : []);

/**
 * The zone table of the WARIS program (pure): for every namespace it creates, its zone and the flows
 * admitted into it. The applications' namespace is not the program's (it only reaches in).
 */
export function warisZoneTable(input: ZoneTableInput): NamespaceZone[] {
  const P = ZONE_PORTS;
  const table: NamespaceZone[] = [];
  if (input.postgres) {
    const pg = input.postgres;
    table.push({
      namespace: pg.namespace,
      zone: "data",
      flows: [
        same,
        ...apps(input, [P.postgres], "PostgreSQL"),
        ...peer(input, [P.postgres], "the other site's replica cluster streams WAL (and clones by pg_basebackup) over TLS"),
        { from: { kind: "namespace", namespace: pg.operatorNamespace }, ports: [P.cnpgStatus, P.postgres], why: "the CloudNativePG operator reads each instance's status and manages it" },
        scrape(input, [P.cnpgMetrics]),
      ],
    });
    if (pg.installsOperators) {
      table.push(operatorZone(input, pg.operatorNamespace, P.cnpgWebhook, "the CloudNativePG webhooks"), operatorZone(input, "cert-manager", P.certManagerWebhook, "cert-manager's webhook"));
    }
  }
  if (input.keys) {
    // No pod runs here: the default deny is the whole policy.
    table.push({ namespace: input.keys.namespace, zone: "platform", flows: [same] });
    if (input.keys.externalSecretsNamespace) {
      table.push(operatorZone(input, input.keys.externalSecretsNamespace, P.externalSecretsWebhook, "External Secrets' webhook"));
    }
  }
  if (input.mongodb) {
    table.push({
      namespace: input.mongodb.namespace,
      zone: "data",
      flows: [
        same,
        ...apps(input, [P.mongodb], "MongoDB"),
        ...peer(input, [P.mongodb], "the replica set's members on the two sites replicate and vote (x509 over TLS)"),
        ...(input.mongodb.operatorNamespace && input.mongodb.operatorNamespace !== input.mongodb.namespace
          ? [{ from: { kind: "namespace" as const, namespace: input.mongodb.operatorNamespace }, ports: [P.mongodb], why: "the Percona operator manages the members" }]
          : []),
        scrape(input, [P.mongoExporter]),
      ],
    });
  }
  if (input.redis) {
    table.push({
      namespace: input.redis.namespace,
      zone: "data",
      flows: [
        same,
        ...apps(input, [P.redis], "Redis"),
        ...peer(input, [P.redis], "the other site's replica follows the primary (TLS replication), and its applications reach the primary"),
        scrape(input, [P.redisExporter]),
      ],
    });
  }
  if (input.milvus) {
    const mv = input.milvus;
    table.push({
      namespace: mv.namespace,
      zone: "data",
      flows: [
        same,
        ...apps(input, [P.milvusGrpc], "Milvus"),
        ...(mv.operatorNamespace ? [{ from: { kind: "namespace" as const, namespace: mv.operatorNamespace }, ports: [P.etcd, P.milvusManagement], why: "the milvus-operator checks etcd's and Milvus's health" }] : []),
        scrape(input, [P.milvusManagement]),
      ],
    });
    if (mv.operatorNamespace) {
      table.push(operatorZone(input, mv.operatorNamespace, P.milvusOperatorWebhook, "the milvus-operator's webhook"));
    }
  }
  if (input.inference) {
    table.push({
      namespace: input.inference.namespace,
      zone: "ai",
      flows: [
        same,
        ...apps(input, [P.gatewayHttp], "the LLM gateway"),
        ...peer(input, [P.gatewayTls], "the other site's gateway spills requests over TLS"),
        scrape(input, [P.vllm]),
      ],
    });
  }
  if (input.dns) table.push({ namespace: input.dns.namespace, zone: "platform", flows: [same, scrape(input, [])] });
  if (input.monitoring) {
    table.push({
      namespace: input.monitoring.namespace,
      zone: "platform",
      flows: [
        same,
        { from: { kind: "api-server" }, ports: [P.prometheusOperatorWebhook], why: "the API server calls the Prometheus operator's admission webhook" },
        ...(input.inference ? [{ from: { kind: "namespace" as const, namespace: input.kedaNamespace ?? DEFAULT_KEDA_NAMESPACE }, ports: [P.prometheus], why: "KEDA's Prometheus scaler reads vLLM's queue depth" }] : []),
      ],
    });
  }
  if (input.gpuOperator) table.push({ namespace: input.gpuOperator.namespace, zone: "platform", flows: [same, scrape(input, [])] });
  return table;
}

/** The NetworkPolicy ingress rule of a flow; `peerRanges` are the other site's VPN ranges. */
export function flowRule(flow: Flow, peerRanges: readonly string[]): k8sInput.networking.v1.NetworkPolicyIngressRule {
  const ports = flow.ports.length > 0 ? { ports: flow.ports.map((port) => ({ protocol: "TCP", port })) } : {};
  switch (flow.from.kind) {
    case "same-namespace":
      return { from: [{ podSelector: {} }], ...ports };
    case "namespace":
      return { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": flow.from.namespace } } }], ...ports };
    case "peer-site":
      return { from: peerRanges.map((cidr) => ({ ipBlock: { cidr } })), ...ports };
    case "api-server":
      return { ...ports };
  }
}

/** Arguments of {@link NetworkZones}. */
export interface NetworkZonesArgs {
  /** The site whose cluster gets the policies. */
  readonly site: Site;
  /** The other data site, whose `vpnRanges` are admitted by the peer flows. Required when a flow is a peer flow. */
  readonly peer?: Site;
  /** The namespaces and their flows ({@link warisZoneTable}). */
  readonly namespaces: readonly NamespaceZone[];
}

/**
 * The zone table on one site: per namespace, a `default-deny-ingress` NetworkPolicy selecting every pod
 * with no ingress rule, and a `zone-ingress` one admitting the table's flows. Each namespace is labelled
 * with its zone through the policies' labels (`waris.io/zone`).
 *
 * @throws Error naming `sites.<peer>.vpnRanges` when a peer flow has no ranges to admit.
 */
export class NetworkZones extends pulumi.ComponentResource {
  constructor(name: string, args: NetworkZonesArgs, opts?: pulumi.ComponentResourceOptions) {
    const peerRanges = args.peer?.vpnRanges ?? [];
    const needsPeer = args.namespaces.some((n) => n.flows.some((f) => f.from.kind === "peer-site"));
    if (needsPeer && peerRanges.length === 0) {
      throw new Error(`NetworkZones "${name}": sites.${args.peer?.spec.name ?? "<the other data site>"}.vpnRanges is required: the cross-site flows admit only the other site's VPN address ranges (CIDRs)`);
    }
    super("waris:index:NetworkZones", name, {}, opts);
    const siteName = args.site.spec.name;
    const o = { parent: this, provider: args.site.kubernetesProvider };
    for (const ns of args.namespaces) {
      const labels = { ...placementLabels(siteName, "none"), "waris.io/zone": ns.zone };
      const meta = (n: string) => ({ name: n, namespace: ns.namespace, labels });
      new networkingv1.NetworkPolicy(`${name}-${ns.namespace}-deny`, { metadata: meta("default-deny-ingress"), spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [] } }, o);
      new networkingv1.NetworkPolicy(
        `${name}-${ns.namespace}-allow`,
        { metadata: meta("zone-ingress"), spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: ns.flows.map((f) => flowRule(f, peerRanges)) } },
        o,
      );
    }
    this.registerOutputs({});
  }
}
