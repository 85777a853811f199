/**
 * The WARIS hybrid platform as a Pulumi program (`pulumi up -s prod`).
 *
 * Reads and validates the whole stack configuration first, so a wrong setting stops the program before
 * any resource is registered; then builds the sites and plugs in each component.
 */
import { GpuNodePool, PostgresCluster, Site } from "./components";
import { readStackConfig } from "./stack/config";

const config = readStackConfig();

const sites: Record<string, Site> = {};
for (const spec of config.sites) {
  sites[spec.name] = new Site(spec.name, config.siteArgs[spec.name]!);
}

const gpuPools: Record<string, GpuNodePool> = {};
for (const [name, { site, ...pool }] of Object.entries(config.gpuPools)) {
  gpuPools[name] = new GpuNodePool(name, { ...pool, site: sites[site]! });
}

const dataSites = config.sites.filter((s) => s.role !== "burst").map((s) => sites[s.name]!);

const postgres = config.postgres
  ? new PostgresCluster("waris-postgres", {
      ...config.postgres,
      sites: dataSites,
      activeSite: config.activeSite,
      backupSite: sites[config.postgres.backupSite]!,
      rpoMinutes: config.recovery.rpoMinutes,
      replicationLagTargetSeconds: config.recovery.replicationLagTargetSeconds,
    })
  : undefined;

/** Which site is primary now; flip `activeSite` and run `pulumi up` to fail over or back. */
export const activeSite = config.activeSite;

/** Every site with its current role. */
export const siteRoles = config.sites.map((s) => ({ name: s.name, kind: s.kind, region: s.region, country: s.country, role: s.role }));

/** The recovery targets the stack is held to (minutes, seconds for the lag). */
export const recoveryTargets = config.recovery;

/** S3 endpoints of the sites' own object stores (G-Cloud, on-prem MinIO). */
export const objectStoreEndpoints = Object.fromEntries(
  Object.values(sites)
    .filter((s) => s.objectStoreEndpoint !== undefined)
    .map((s) => [s.spec.name, s.objectStoreEndpoint]),
);

/** Each GPU pool's scheduling contract: what a GPU workload selects, tolerates and runs with. */
export const gpuPoolContracts = Object.fromEntries(
  Object.entries(gpuPools).map(([name, pool]) => [
    name,
    {
      site: pool.site.name,
      gpuModel: pool.gpuModel,
      gpusPerNode: pool.gpusPerNode,
      maxNodes: pool.maxNodes,
      nodeSelector: pool.nodeSelector,
      tolerations: pool.tolerations,
      runtimeClassName: pool.runtimeClassName,
    },
  ]),
);

/** PostgreSQL: the endpoint apps use, the cluster per site, and its recovery guarantees (minutes). */
export const postgresCluster = postgres && {
  endpoint: postgres.endpoint,
  appSecretName: postgres.appSecretName,
  clusterNames: postgres.clusterNames,
  activeSite: postgres.activeSite,
  objectStoreName: postgres.objectStoreName,
  rpoMinutes: postgres.rpoMinutes,
  rtoMinutes: postgres.rtoMinutes,
};
