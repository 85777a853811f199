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
  /** The site's volume class and how it is encrypted (Site `volumes`), when declared. */
  readonly volumes?: { readonly storageClass: string; readonly encryption: string };
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
      ...(str(r.props, "volumes", "storageClass") && str(r.props, "volumes", "encryption")
        ? { volumes: { storageClass: str(r.props, "volumes", "storageClass")!, encryption: str(r.props, "volumes", "encryption")! } }
        : {}),
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
  /** Cloud kind and region, when the location is a cloud region. */
  readonly cloud?: { readonly kind: SiteKind; readonly region: string };
}

/** What {@link locate} needs of the whole stack. */
export interface PlacementContext {
  /** Provider URN → site, from {@link siteOfProviders}. */
  readonly providerSites: ReadonlyMap<string, SiteFact>;
  /** Every resource of the stack by URN (providers included). */
  readonly byUrn: ReadonlyMap<string, PolicyResource>;
}

/** The context of a stack's resources. */
export function placementContext(resources: readonly PolicyResource[]): PlacementContext {
  return { providerSites: siteOfProviders(resources), byUrn: new Map(resources.map((r) => [r.urn, r])) };
}

/** Kubernetes clusters other providers' resources can be: a Kubernetes provider built from one is on it. */
const CLUSTER_TYPES = new Set(["aws:eks/cluster:Cluster", "digitalocean:index/kubernetesCluster:KubernetesCluster", "azure-native:containerservice:ManagedCluster"]);

/**
 * The cloud region an object-store endpoint URL names: AWS S3 (`s3.<region>.amazonaws.com`,
 * `s3-<region>…`, `s3.amazonaws.com` = us-east-1) and DigitalOcean Spaces (`<region>.digitaloceanspaces.com`).
 * Undefined for any other host (an on-prem or G-Cloud store: its site's declaration is all there is).
 */
export function endpointRegion(endpoint: string): { kind: SiteKind; region: string } | undefined {
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  if (host === "s3.amazonaws.com" || host.endsWith(".s3.amazonaws.com")) return { kind: "aws", region: "us-east-1" };
  const aws = /(?:^|\.)s3[.-](?:dualstack\.|fips\.)*([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com$/.exec(host);
  if (aws) return { kind: "aws", region: aws[1]! };
  const spaces = /(?:^|\.)([a-z]+\d)\.digitaloceanspaces\.com$/.exec(host);
  if (spaces) return { kind: "digitalocean", region: spaces[1]! };
  if (host.endsWith(".blob.core.windows.net")) return { kind: "azure", region: "(account location)" };
  return undefined;
}

/** The region of an ARN (`arn:aws:sns:us-east-1:…`), or undefined when the ARN has none (S3 buckets) or is not one. */
export function arnRegion(arn: string): string | undefined {
  const parts = arn.split(":");
  return parts[0] === "arn" && parts.length >= 6 && parts[3] ? parts[3] : undefined;
}

/** The region a resource's provider names (explicit or default: `aws:region`, `azure-native:location`). */
function providerRegion(r: PolicyResource, pkg: string): string | undefined {
  return r.provider ? str(r.provider.props, pkg === "azure-native" ? "location" : "region") : undefined;
}

/**
 * Finds where a resource is, from its real configuration:
 * - its own region field (AWS provider v7 `region`, Azure `location`, DigitalOcean `region`; the
 *   table's `regionField`);
 * - the site its provider belongs to (a child of a `waris:index:Site`); for an S3-compatible store, the
 *   store's endpoint when it names a cloud region (a G-Cloud site whose store is AWS S3 Singapore is in
 *   Singapore, whatever it declares);
 * - its provider's region, explicit or default (stack config `aws:region`, `azure-native:location`);
 * - an Azure resource group's location; a Kubernetes provider built from a cluster of the stack (EKS,
 *   AKS, DOKS) is where that cluster is.
 *
 * @param regionField - the type's own region field, from the coverage table.
 */
export function locate(r: PolicyResource, ctx: PlacementContext, regionField?: string, defaultRegion?: string, depth = 0): Location {
  const pkg = r.type.split(":")[0] ?? "";
  const kind: SiteKind | undefined = pkg === "aws" ? "aws" : pkg === "azure-native" ? "azure" : pkg === "digitalocean" ? "digitalocean" : undefined;
  const ownRegion = regionField ? str(r.props, ...regionField.split(".")) : undefined;
  if (ownRegion && kind) return cloudLocation(kind, ownRegion);
  const site = r.provider ? ctx.providerSites.get(r.provider.urn) : undefined;
  const customEndpoints = pkg === "aws" && r.provider ? str(r.provider.props, "endpoints") : undefined;
  const storeRegion = site?.objectStoreEndpoint ? endpointRegion(site.objectStoreEndpoint) : undefined;
  if (site && customEndpoints && customEndpoints !== "[]" && storeRegion) {
    const where = cloudLocation(storeRegion.kind, storeRegion.region);
    return { ...where, where: `site "${site.name}"'s object store ${site.objectStoreEndpoint} (${where.where})` };
  }
  if (site) return { site, where: `site "${site.name}" (${site.kind} ${site.region})`, inThailand: site.country === "TH" && isRegionInThailand(site.kind, site.region), country: site.country };
  if (customEndpoints && customEndpoints !== "[]") {
    const host = /https?:\/\/[^"\\]+/.exec(customEndpoints)?.[0];
    const region = host ? endpointRegion(host) : undefined;
    if (region) return cloudLocation(region.kind, region.region);
    return { where: `an S3-compatible endpoint of a provider that belongs to no site (${customEndpoints})` };
  }
  if (pkg === "azure-native") {
    for (const group of r.propertyDependencies?.resourceGroupName ?? []) {
      const location = group.type === "azure-native:resources:ResourceGroup" ? str(group.props, "location") : undefined;
      if (location) return cloudLocation("azure", location);
    }
  }
  const region = providerRegion(r, pkg) ?? defaultRegion;
  if (region && kind) return cloudLocation(kind, region);
  if (pkg === "kubernetes" && r.provider && depth < 3) {
    const provider = ctx.byUrn.get(r.provider.urn);
    const sources = provider ? [...provider.dependencies, ...Object.values(provider.propertyDependencies).flat()] : [];
    const cluster = sources.find((d) => CLUSTER_TYPES.has(d.type));
    if (cluster) {
      const at = locate(cluster, ctx, cluster.type.startsWith("azure-native:") ? "location" : "region", undefined, depth + 1);
      return { ...at, where: `cluster ${cluster.type} "${cluster.name}" in ${at.where}` };
    }
  }
  if (kind) return { where: `no region: neither the resource nor its provider names one (set ${pkg === "azure-native" ? "azure-native:location" : `${pkg}:region`} or the resource's ${regionField ?? "region"})` };
  return { where: "no known site or region (its provider belongs to no waris Site and is built from no cluster of this stack)" };
}

/** A cloud region as a location. */
export function cloudLocation(kind: SiteKind, region: string): Location {
  const inThailand = isRegionInThailand(kind, region);
  return { where: `${kind} region ${region}`, inThailand, country: inThailand ? "TH" : undefined, cloud: { kind, region } };
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
