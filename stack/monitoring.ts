/**
 * What each site's monitoring probes, derived from the stack settings (pure): every data site's database
 * endpoints, LLM gateway and object store, by the names the other site reaches them at over the VPN. Each
 * site probes them all, its own included (its own object store, its own response times), so the loss of the
 * other site shows as every one of that site's probes failing at once.
 */
import type { ProbeTarget } from "../components/monitoring-rules";
import { REDIS_PORT } from "../components/redis-primary";
import type { StackSettings } from "./config";

/** PostgreSQL's port on the `<cluster>-rw-lb` LoadBalancer (CloudNativePG's services listen on 5432). */
const POSTGRES_PORT = 5432;
/** MongoDB's port on each exposed member (Percona operator `expose`). */
const MONGODB_PORT = 27017;
/** The LLM gateway's `gateway-remote` LoadBalancer port (components/inference-cluster.ts). */
const GATEWAY_REMOTE_PORT = 443;

/** The endpoints of every data site that each site's monitoring probes. */
export function monitoringProbes(settings: Pick<StackSettings, "sites" | "postgres" | "mongodb" | "redis" | "inference">): ProbeTarget[] {
  const probes: ProbeTarget[] = [];
  for (const [site, spec] of Object.entries(settings.sites)) {
    if (spec.role === "burst") continue;
    const pg = settings.postgres?.replicationHosts?.[site];
    if (pg) probes.push({ site, kind: "database", service: "waris-postgres", target: `${pg}:${POSTGRES_PORT}`, module: "tcp_connect" });
    for (const host of settings.mongodb?.memberHosts?.[site] ?? []) probes.push({ site, kind: "database", service: "waris-mongo", target: `${host}:${MONGODB_PORT}`, module: "tcp_tls" });
    const redis = settings.redis?.replicationHosts?.[site];
    if (redis) probes.push({ site, kind: "database", service: "waris-redis", target: `${redis}:${REDIS_PORT}`, module: "tcp_tls" });
    const gateway = settings.inference?.gatewayHosts?.[site];
    if (gateway) probes.push({ site, kind: "llm-gateway", service: "waris-llm", target: `${gateway}:${GATEWAY_REMOTE_PORT}`, module: "tcp_tls" });
    if (spec.objectStore) probes.push({ site, kind: "object-store", service: "object store", target: spec.objectStore.endpoint, module: "https_reachable" });
  }
  return probes;
}
