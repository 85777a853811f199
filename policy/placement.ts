/**
 * What the policies read off resources: where a resource is (through the `waris:index:Site` its provider
 * belongs to, or the region fields of a cloud resource) and what data it holds (labels and tags).
 */
import type { PolicyResource } from "@pulumi/policy";
import { DATA_CLASS_LABEL, SITE_LABEL } from "../components/labels";
import { SITE_KINDS, SiteKind, isRegionInThailand } from "../components/residency";
import { STORE_ENCRYPTIONS, StoreEncryptionSpec } from "../components/store-encryption";

/** A site as the `waris:index:Site` component publishes it in its inputs. */
export interface SiteFact {
  /** Site name. */
  readonly name: string;
  /** Site kind. */
  readonly kind: SiteKind;
  /** Region. */
  readonly region: string;
  /** ISO country code. */
  readonly country: string;
  /** Role now. */
  readonly role: string;
  /** HTTPS endpoint of the site's S3-compatible store, if any. */
  readonly objectStoreEndpoint?: string;
  /** How that store encrypts at rest, as declared; undefined when the site declares nothing valid. */
  readonly objectStoreEncryption?: StoreEncryptionSpec;
}

/** Packages whose resources are placed somewhere, and so are subject to residency. */
const PLACED_PACKAGES = new Set(["kubernetes", "aws", "azure-native", "digitalocean"]);

/** Types that hold no data by nature: global identity objects. */
const NO_DATA_TYPE_PREFIXES = ["aws:iam/"];

/** Reads `obj.a.b.c`, giving undefined where a step is missing. Unknown values still throw (as they must). */
export function at(obj: unknown, ...path: Array<string | number>): unknown {
  let value = obj;
  for (const key of path) {
    if (value === null || value === undefined || typeof value !== "object") return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** A string field, or undefined. */
export function str(obj: unknown, ...path: Array<string | number>): string | undefined {
  const v = at(obj, ...path);
  return typeof v === "string" ? v : undefined;
}

/** An array field, or an empty array. */
export function list(obj: unknown, ...path: Array<string | number>): unknown[] {
  const v = at(obj, ...path);
  return Array.isArray(v) ? v : [];
}

/** Whether a resource type is placed on a site (a provider's resource that is not a provider itself). */
export function isPlaced(type: string): boolean {
  if (type.startsWith("pulumi:")) return false;
  if (NO_DATA_TYPE_PREFIXES.some((p) => type.startsWith(p))) return false;
  return PLACED_PACKAGES.has(type.split(":")[0] ?? "");
}

/** Kubernetes labels of a resource, if it has metadata. */
export function labelsOf(props: Record<string, unknown>): Record<string, unknown> | undefined {
  const labels = at(props, "metadata", "labels");
  return labels && typeof labels === "object" ? (labels as Record<string, unknown>) : undefined;
}

/** The data class a resource declares: a Kubernetes label, a cloud tag, or a DigitalOcean `key:value` tag. */
export function dataClassOf(props: Record<string, unknown>): string | undefined {
  const label = labelsOf(props)?.[DATA_CLASS_LABEL];
  if (typeof label === "string") return label;
  const tags = at(props, "tags");
  if (Array.isArray(tags)) {
    const tag = tags.find((t): t is string => typeof t === "string" && t.startsWith("waris-data-class:"));
    return tag?.slice("waris-data-class:".length);
  }
  const tag = at(tags, "waris-data-class");
  return typeof tag === "string" ? tag : undefined;
}

/** The `waris.io/site` label of a Kubernetes object. */
export function siteLabelOf(props: Record<string, unknown>): string | undefined {
  const label = labelsOf(props)?.[SITE_LABEL];
  return typeof label === "string" ? label : undefined;
}

/** Sites of a stack, from its `waris:index:Site` components, keyed by the component's URN. */
export function sitesByUrn(resources: readonly PolicyResource[]): Map<string, SiteFact> {
  const sites = new Map<string, SiteFact>();
  for (const r of resources) {
    if (r.type !== "waris:index:Site") continue;
    const site = at(r.props, "site");
    const kind = str(site, "kind");
    if (!kind || !(SITE_KINDS as readonly string[]).includes(kind)) continue;
    sites.set(r.urn, {
      name: str(site, "name") ?? r.name,
      kind: kind as SiteKind,
      region: str(site, "region") ?? "",
      country: str(site, "country") ?? "",
      role: str(site, "role") ?? "",
      objectStoreEndpoint: str(r.props, "objectStoreEndpoint"),
      objectStoreEncryption: declaredEncryption(at(r.props, "objectStoreEncryption")),
    });
  }
  return sites;
}

/** A store's declared encryption, when it is one of {@link STORE_ENCRYPTIONS}. */
function declaredEncryption(value: unknown): StoreEncryptionSpec | undefined {
  const mode = str(value, "mode");
  if (!mode || !(STORE_ENCRYPTIONS as readonly string[]).includes(mode)) return undefined;
  const kmsKeyId = str(value, "kmsKeyId");
  return { mode: mode as StoreEncryptionSpec["mode"], ...(kmsKeyId ? { kmsKeyId } : {}) };
}

/** Where a resource is, as far as its resources and providers tell. */
export interface Location {
  /** The site, when the resource's provider belongs to one. */
  readonly site?: SiteFact;
  /** Human description, e.g. `site "gcloud" (gcloud gdcc-bangkok)` or `aws region us-east-1`. */
  readonly where: string;
  /** Whether the location is in Thailand; undefined when it cannot be told. */
  readonly inThailand?: boolean;
  /** Country code, when known. */
  readonly country?: string;
}

/**
 * Finds where a resource is: the site its provider belongs to (the provider is a child of a
 * `waris:index:Site`), else the cloud region of the resource or its provider.
 *
 * @param sitesOfProviders - provider URN → site, from {@link siteOfProviders}.
 */
export function locate(r: PolicyResource, sitesOfProviders: ReadonlyMap<string, SiteFact>): Location {
  const pkg = r.type.split(":")[0];
  const site = r.provider ? sitesOfProviders.get(r.provider.urn) : undefined;
  const ownRegion = str(r.props, pkg === "azure-native" ? "location" : "region");
  if (site) {
    // A resource may name its own region, overriding its provider's (AWS provider v7 allows it).
    if (ownRegion && pkg === "aws") return cloudLocation("aws", ownRegion);
    return { site, where: `site "${site.name}" (${site.kind} ${site.region})`, inThailand: site.country === "TH" && isRegionInThailand(site.kind, site.region), country: site.country };
  }
  const providerRegion = r.provider ? str(r.provider.props, pkg === "azure-native" ? "location" : "region") : undefined;
  const customEndpoints = r.provider ? str(r.provider.props, "endpoints") : undefined;
  if (pkg === "aws" && !ownRegion && customEndpoints && customEndpoints !== "[]") {
    return { where: `an S3-compatible endpoint of a provider that belongs to no site (${customEndpoints})` };
  }
  const region = ownRegion ?? providerRegion;
  if (region && (pkg === "aws" || pkg === "azure-native" || pkg === "digitalocean")) {
    return cloudLocation(pkg === "azure-native" ? "azure" : pkg, region);
  }
  return { where: "no known site or region (its provider belongs to no waris Site)" };
}

function cloudLocation(kind: SiteKind, region: string): Location {
  const inThailand = isRegionInThailand(kind, region);
  return { where: `${kind} region ${region}`, inThailand, country: inThailand ? "TH" : undefined };
}

/** Provider URN → the site it belongs to: providers are children of `waris:index:Site` components. */
export function siteOfProviders(resources: readonly PolicyResource[]): Map<string, SiteFact> {
  const sites = sitesByUrn(resources);
  const result = new Map<string, SiteFact>();
  for (const r of resources) {
    if (!r.type.startsWith("pulumi:providers:") || !r.parent) continue;
    const site = sites.get(r.parent.urn);
    if (site) result.set(r.urn, site);
  }
  return result;
}
