/**
 * Allow-lists (issue 23): a Kubernetes Service reachable from outside its cluster admits only listed
 * source ranges. The seed asks for IP allow-lists and a database zone behind the firewall; a LoadBalancer
 * without `loadBalancerSourceRanges` answers whatever reaches its address.
 *
 * What exposes a Service, by type (each a field of the upstream schema):
 * - a core `Service` of `type: LoadBalancer` (`spec.loadBalancerSourceRanges`) or `NodePort` (every node's
 *   address, which no Service field restricts);
 * - CloudNativePG's managed services (`spec.managed.services.additional[].serviceTemplate.spec`);
 * - Percona's member exposure (`spec.replsets[].expose`, `spec.sharding.mongos.expose`: `type` or the older
 *   `exposeType`, with `loadBalancerSourceRanges`);
 * - CloudNativePG's `Pooler` (`spec.serviceTemplate.spec`);
 * - the Milvus operator's `serviceType` on the standalone or proxy component (its CRD has no source ranges:
 *   a LoadBalancer there is always open).
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { at, list, str } from "./placement";
import { guarded } from "./unknowns";

/** Source ranges that admit everyone. */
const EVERYONE = ["0.0.0.0/0", "::/0"];

/** Where a resource exposes something outside its cluster: a label, the exposure's type and its source ranges. */
interface Exposure {
  readonly what: string;
  readonly type: string | undefined;
  readonly ranges: readonly unknown[];
}

function exposures(r: PolicyResource): Exposure[] {
  switch (r.type) {
    case "kubernetes:core/v1:Service":
      return [{ what: `Service "${str(r.props, "metadata", "name") ?? r.name}"`, type: str(r.props, "spec", "type"), ranges: list(r.props, "spec", "loadBalancerSourceRanges") }];
    case "kubernetes:postgresql.cnpg.io/v1:Cluster":
      return list(r.props, "spec", "managed", "services", "additional").map((s) => ({
        what: `PostgreSQL cluster "${r.name}" managed service "${str(s, "serviceTemplate", "metadata", "name") ?? "?"}"`,
        type: str(s, "serviceTemplate", "spec", "type"),
        ranges: list(s, "serviceTemplate", "spec", "loadBalancerSourceRanges"),
      }));
    case "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB": {
      const expose = (e: unknown, what: string): Exposure[] =>
        e !== undefined && at(e, "enabled") === true ? [{ what, type: str(e, "type") ?? str(e, "exposeType"), ranges: list(e, "loadBalancerSourceRanges") }] : [];
      return [
        ...list(r.props, "spec", "replsets").flatMap((rs) => expose(at(rs, "expose"), `MongoDB "${r.name}" replset ${str(rs, "name") ?? "?"} members`)),
        ...expose(at(r.props, "spec", "sharding", "mongos", "expose"), `MongoDB "${r.name}" mongos`),
      ];
    }
    case "kubernetes:postgresql.cnpg.io/v1:Pooler":
      return [{ what: `PgBouncer pooler "${r.name}"`, type: str(r.props, "spec", "serviceTemplate", "spec", "type"), ranges: list(r.props, "spec", "serviceTemplate", "spec", "loadBalancerSourceRanges") }];
    case "kubernetes:milvus.io/v1beta1:Milvus":
      // The Milvus CRD (v1.2.7) has `serviceType` on the standalone and proxy components and no source-range field.
      return ["standalone", "proxy"].map((c) => ({ what: `Milvus "${r.name}" ${c} service`, type: str(r.props, "spec", "components", c, "serviceType"), ranges: [] }));
    default:
      return [];
  }
}

/** Every exposure of the resources without an allow-list, as messages (unknown values skip that resource only). */
export function allowListFindings(resources: readonly PolicyResource[], report: (message: string, urn: string) => void): void {
  for (const r of resources) {
    guarded(r, "waris-service-allow-list", () => {
      for (const e of exposures(r)) {
        if (e.type === "NodePort") report(`${e.what} is a NodePort: every node's address admits it, and no Service field restricts the sources; use a LoadBalancer with loadBalancerSourceRanges (or an Ingress behind the DMZ).`, r.urn);
        if (e.type !== "LoadBalancer") continue;
        if (e.ranges.length === 0) report(`${e.what} is a LoadBalancer without loadBalancerSourceRanges: whatever reaches its address can connect; list the sources allowed (the other site's VPN range, the DMZ).`, r.urn);
        else if (e.ranges.some((x) => EVERYONE.includes(String(x)))) report(`${e.what} admits ${e.ranges.filter((x) => EVERYONE.includes(String(x))).join(", ")} (everyone); list only the sources allowed.`, r.urn);
      }
    });
  }
}

/** Services reachable from outside their cluster admit only listed sources. */
export const serviceAllowListPolicy: StackValidationPolicy = {
  name: "waris-service-allow-list",
  description: "Every Service reachable from outside its cluster (LoadBalancer, NodePort, CloudNativePG managed services, Percona member exposure) admits only listed source ranges.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set loadBalancerSourceRanges to the sources allowed (the other site's VPN range, the DMZ), never 0.0.0.0/0; for CloudNativePG on managed.services.additional[].serviceTemplate.spec, for Percona on replsets[].expose. " +
    "Replace NodePort Services with a LoadBalancer that has an allow-list.",
  validateStack: (args, reportViolation) => allowListFindings(args.resources, (m, urn) => reportViolation(m, urn)),
};
