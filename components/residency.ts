/**
 * Data residency: the one table of which provider regions are in Thailand.
 *
 * Components use it to refuse data on a foreign site; the policy pack uses the same table to deny
 * foreign data-bearing resources, so both always agree.
 */

/** The kinds of site the platform places resources on. */
export const SITE_KINDS = ["onprem", "gcloud", "aws", "azure", "digitalocean"] as const;

/** A kind of site: the PWA on-premise cluster, the Thai Government Cloud, or a public cloud. */
export type SiteKind = (typeof SITE_KINDS)[number];

/** ISO 3166-1 alpha-2 code of Thailand, the only country data may live in by default. */
export const THAILAND = "TH";

/**
 * Regions in Thailand, per site kind. `"*"` means every region of that kind is in Thailand by
 * definition (the on-premise head office and G-Cloud are both Thai). Empty lists are deliberate:
 * Azure and DigitalOcean have no Thai region today (checked 2026-11), so nothing of theirs may hold data.
 */
export const THAI_REGIONS: Readonly<Record<SiteKind, "*" | readonly string[]>> = {
  onprem: "*",
  gcloud: "*",
  aws: ["ap-southeast-7"],
  azure: [],
  digitalocean: [],
};

/** Whether a region of a site kind is in Thailand, according to {@link THAI_REGIONS}. */
export function isRegionInThailand(kind: SiteKind, region: string): boolean {
  const regions = THAI_REGIONS[kind];
  return regions === "*" || regions.includes(region);
}

/** Human-readable list of the Thai regions of a site kind, for error messages. */
export function describeThaiRegions(kind: SiteKind): string {
  const regions = THAI_REGIONS[kind];
  if (regions === "*") return `every ${kind} region`;
  return regions.length === 0 ? `no ${kind} region (none exists in Thailand today)` : regions.join(", ");
}
