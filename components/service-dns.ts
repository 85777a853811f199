import * as pulumi from "@pulumi/pulumi";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import { Release } from "@pulumi/kubernetes/helm/v3/release";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import type { SiteRoles } from "./failover";
import { HelmChartRef, placementLabels } from "./labels";
import { Site } from "./site";

/**
 * Pinned ExternalDNS chart (kubernetes-sigs/external-dns, tag `external-dns-helm-chart-1.21.1`, app
 * 0.21.0; it installs the `DNSEndpoint` CRD from its `crds/` folder).
 */
export const EXTERNAL_DNS_CHART: HelmChartRef = { repo: "https://kubernetes-sigs.github.io/external-dns/", chart: "external-dns", version: "1.21.1" };

/** The DNS server ExternalDNS updates with RFC 2136 dynamic updates, authenticated by TSIG. */
export interface Rfc2136Server {
  /** Host name or address of the authoritative server. It must answer, and accept updates, when either site is lost. */
  readonly host: string;
  /** Port. Default 53. */
  readonly port?: number;
  /** The zone the names belong to, e.g. `waris.internal`. */
  readonly zone: string;
  /** Name of the TSIG key allowed to update the zone. */
  readonly tsigKeyName: string;
  /** TSIG algorithm. Default `hmac-sha256`. */
  readonly tsigAlgorithm?: "hmac-sha256" | "hmac-sha384" | "hmac-sha512";
  /** The TSIG secret (base64, a Pulumi secret); it reaches ExternalDNS through a Kubernetes Secret. */
  readonly tsigSecret: pulumi.Input<string>;
}

/** TSIG algorithms ExternalDNS's RFC 2136 provider takes (`--rfc2136-tsig-secret-alg`). */
export const TSIG_ALGORITHMS = ["hmac-sha256", "hmac-sha384", "hmac-sha512"] as const;

/** Arguments of {@link ServiceDns}. */
export interface ServiceDnsArgs {
  /** The data sites; ExternalDNS runs on each. */
  readonly sites: readonly Site[];
  /** Each site's role from the failover model: the names point at the serving site. */
  readonly roles: SiteRoles;
  /** The DNS server. */
  readonly server: Rfc2136Server;
  /**
   * The names users and other systems reach, each with the host that serves it on every site: e.g.
   * `{ "db.waris.internal": { onprem: "pg.onprem.waris.internal", gcloud: "pg.gcloud.waris.internal" } }`.
   * Each name becomes a CNAME to the serving site's host.
   */
  readonly records: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** TTL of the records, seconds: how long clients may keep the old site after a switch. Default 60. */
  readonly ttlSeconds?: number;
  /** Namespace of ExternalDNS. Default `external-dns`. */
  readonly namespace?: string;
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Every problem with the arguments (pure: the stack configuration runs it before anything is registered). */
export function validateServiceDnsArgs(args: Omit<ServiceDnsArgs, "sites" | "roles" | "server"> & { readonly sites: readonly string[]; readonly server: Omit<Rfc2136Server, "tsigSecret"> }): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  if (!DNS_NAME.test(args.server.zone)) add("server.zone", `is ${show(args.server.zone)}; a DNS zone name (lowercase labels separated by dots)`);
  if (!DNS_NAME.test(args.server.host) && !/^\d{1,3}(\.\d{1,3}){3}$/.test(args.server.host)) add("server.host", `is ${show(args.server.host)}; a host name or an IPv4 address`);
  if (args.server.port !== undefined && !(Number.isInteger(args.server.port) && args.server.port >= 1 && args.server.port <= 65535)) add("server.port", `is ${show(args.server.port)}; a port from 1 to 65535`);
  if (args.server.tsigAlgorithm !== undefined && !(TSIG_ALGORITHMS as readonly string[]).includes(args.server.tsigAlgorithm)) add("server.tsigAlgorithm", `is ${show(args.server.tsigAlgorithm)}; allowed: ${TSIG_ALGORITHMS.join(", ")}`);
  if (args.ttlSeconds !== undefined && !(Number.isInteger(args.ttlSeconds) && args.ttlSeconds >= 5 && args.ttlSeconds <= 3600)) add("ttlSeconds", `is ${show(args.ttlSeconds)}; whole seconds from 5 to 3600 (clients keep the old site this long after a switch)`);
  for (const [name, targets] of Object.entries(args.records)) {
    if (!DNS_NAME.test(name) || !(name === args.server.zone || name.endsWith(`.${args.server.zone}`))) add(`records.${name}`, `is not a name in the zone ${args.server.zone}`);
    for (const site of args.sites) if (!targets[site]) add(`records.${name}.${site}`, `is required: the host that serves ${name} when ${site} is the serving site`);
  }
  return problems;
}

/**
 * DNS names that follow the serving site (the seed's "switch DNS"), kept by ExternalDNS on each data
 * site: a `DNSEndpoint` per site with one CNAME per name, pointing at the serving site's host, written to
 * the zone by RFC 2136 updates with a TSIG key (ExternalDNS docs, `docs/tutorials/rfc2136.md`; the chart
 * passes provider flags as `extraArgs` and the secret as the `EXTERNAL_DNS_RFC2136_TSIG_SECRET` variable).
 *
 * Only the serving site holds the records (a `DNSEndpoint`); ExternalDNS runs on every data site with one
 * TXT owner id and `policy: upsert-only`, so the site that takes over can rewrite the names and no site
 * ever deletes them. A site that cannot be reached keeps what it had (the phase changes nothing there):
 * if it is in fact alive and reaches the DNS server it would write its old records back, which is why a
 * disaster promote requires the lost site to be powered off or cut from its uplinks first (the runbook's
 * precondition), and why its records are removed by the fence phase before it is reconnected.
 */
export class ServiceDns extends pulumi.ComponentResource {
  /** The site the names point at now. */
  readonly servingSite: string;
  /** Namespace of ExternalDNS on every site. */
  readonly namespace: string;

  /**
   * @param name - component name; Kubernetes names derive from it.
   * @param args - see {@link ServiceDnsArgs}.
   * @param opts - component options.
   * @throws InvalidArgumentsError naming each wrong argument.
   */
  constructor(name: string, args: ServiceDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    throwIfInvalid(`ServiceDns "${name}"`, validateServiceDnsArgs({ ...args, sites: args.sites.map((s) => s.spec.name) }));
    super("waris:index:ServiceDns", name, {}, opts);
    const namespace = args.namespace ?? "external-dns";
    this.namespace = namespace;
    const server = args.server;
    this.servingSite = args.roles.servingSite;
    for (const site of args.sites) {
      const siteName = site.spec.name;
      const role = args.roles.bySite[siteName]!;
      // An unreachable site keeps what it had: it was serving then.
      const serving = role.frozen ? role.follows : args.roles.servingSite;
      const o = { parent: this, provider: site.kubernetesProvider };
      const labels = placementLabels(siteName, "none");
      const ns = new corev1.Namespace(`${name}-${siteName}`, { metadata: { name: namespace, labels } }, o);
      const secretName = `${name}-tsig`;
      const secret = new corev1.Secret(
        `${name}-${siteName}-tsig`,
        { metadata: { name: secretName, namespace, labels }, stringData: { secret: pulumi.secret(server.tsigSecret) } },
        { ...o, dependsOn: [ns] },
      );
      const release = new Release(
        `${name}-${siteName}`,
        {
          name: "external-dns",
          namespace,
          repositoryOpts: { repo: EXTERNAL_DNS_CHART.repo },
          chart: EXTERNAL_DNS_CHART.chart,
          version: EXTERNAL_DNS_CHART.version,
          values: {
            provider: { name: "rfc2136" },
            sources: ["crd"],
            // Never delete: a site that stops serving drops its DNSEndpoint, and the other site's
            // upsert takes the names over.
            policy: "upsert-only",
            registry: "txt",
            txtOwnerId: name,
            domainFilters: [server.zone],
            podLabels: labels,
            extraArgs: [
              `--rfc2136-host=${server.host}`,
              `--rfc2136-port=${server.port ?? 53}`,
              `--rfc2136-zone=${server.zone}`,
              `--rfc2136-tsig-keyname=${server.tsigKeyName}`,
              `--rfc2136-tsig-secret-alg=${server.tsigAlgorithm ?? "hmac-sha256"}`,
              "--rfc2136-tsig-axfr",
            ],
            env: [{ name: "EXTERNAL_DNS_RFC2136_TSIG_SECRET", valueFrom: { secretKeyRef: { name: secretName, key: "secret" } } }],
          },
          atomic: true,
        },
        { ...o, dependsOn: [secret] },
      );
      // Only the site users are sent to holds the records; an unreachable site keeps its own.
      if (serving !== siteName) continue;
      new apiextensions.CustomResource(
        `${name}-${siteName}-records`,
        {
          apiVersion: "externaldns.k8s.io/v1alpha1",
          kind: "DNSEndpoint",
          metadata: { name: `${name}-records`, namespace, labels, annotations: { "waris.io/serving-site": serving } },
          spec: {
            endpoints: Object.entries(args.records).map(([dnsName, targets]) => ({ dnsName, recordType: "CNAME", recordTTL: args.ttlSeconds ?? 60, targets: [targets[serving]!] })),
          },
        },
        { ...o, dependsOn: [release] },
      );
    }
    this.registerOutputs({ servingSite: this.servingSite });
  }
}
