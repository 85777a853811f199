/**
 * The WARIS hybrid platform as a Pulumi program (`pulumi up -s prod`).
 *
 * Reads and validates the whole stack configuration first, so a wrong setting stops the program before
 * any resource is registered; then builds the sites and plugs in each component.
 */
import { Site } from "./components";
import { readStackConfig } from "./stack/config";

const config = readStackConfig();

const sites: Record<string, Site> = {};
for (const spec of config.sites) {
  sites[spec.name] = new Site(spec.name, config.siteArgs[spec.name]!);
}

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
