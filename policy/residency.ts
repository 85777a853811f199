/**
 * Data residency: no data leaves Thailand. Every data-bearing resource must be in an allowed country:
 * cloud resources by their region, Kubernetes objects by the site their provider belongs to (and
 * their `waris.io/site` label must name that site), object-store endpoints and backup destinations by
 * the site whose store they are.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { SITE_LABEL, DATA_CLASS_LABEL } from "../components/labels";
import { isRegionInThailand } from "../components/residency";
import { COVERAGE, CopyRule, DataKind, coverageOf, valuesAt } from "./coverage";
import { Location, PlacementContext, SiteFact, arnRegion, at, cloudLocation, dataClassOf, endpointRegion, isPlaced, labelsOf, locate, placementContext, siteLabelOf, sitesByUrn, str } from "./placement";
import { SkippedCheck, guarded, peek } from "./unknowns";

/** Config of {@link dataResidencyPolicy}. */
export interface ResidencyConfig {
  /** ISO 3166-1 alpha-2 countries data may live in. Default `["TH"]`. */
  readonly allowedCountries: readonly string[];
}

const THAI_AWS_S3_ENDPOINT = /^https:\/\/s3[.-](ap-southeast-7)\.amazonaws\.com\/?$/;

function allowed(country: string | undefined, config: ResidencyConfig): boolean {
  return country !== undefined && config.allowedCountries.includes(country);
}

/** Object-store endpoints that are in an allowed country: the stores of allowed sites and Thai AWS S3. */
function allowedEndpoints(sites: Iterable<SiteFact>, config: ResidencyConfig): Set<string> {
  const endpoints = new Set<string>();
  for (const site of sites) {
    if (site.objectStoreEndpoint && allowed(site.country, config)) endpoints.add(site.objectStoreEndpoint.replace(/\/$/, ""));
  }
  return endpoints;
}

/** Backup destinations named inside Kubernetes custom resources: [description, endpoint] pairs. */
function backupDestinations(r: PolicyResource): Array<[string, string | undefined]> {
  if (r.type === "kubernetes:barmancloud.cnpg.io/v1:ObjectStore") {
    return [["spec.configuration.endpointURL", str(r.props, "spec", "configuration", "endpointURL")]];
  }
  if (r.type === "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB") {
    const storages = at(r.props, "spec", "backup", "storages");
    if (!storages || typeof storages !== "object") return [];
    return Object.entries(storages as Record<string, unknown>)
      .filter(([, s]) => at(s, "s3") !== undefined)
      .map(([name, s]) => [`spec.backup.storages.${name}.s3.endpointUrl`, str(s, "s3", "endpointUrl")]);
  }
  return [];
}

const DATA_CLASS_EXEMPT = ["none", "public"];

/** Where a copy goes: an ARN's region, an S3 bucket ARN looked up in the stack, or a region name. */
function copyDestination(r: PolicyResource, rule: CopyRule, value: unknown, ctx: PlacementContext, buckets: ReadonlyMap<string, PolicyResource>): Location | undefined {
  const kind = r.type.startsWith("azure-native:") ? "azure" : r.type.startsWith("digitalocean:") ? "digitalocean" : "aws";
  if (rule.as === "region") {
    if (typeof value === "string") return cloudLocation(kind, value);
    return rule.missingIsOwnRegion === false ? { where: "a destination region that is not set" } : undefined;
  }
  if (typeof value !== "string") {
    // No literal ARN (under mocks an output of another resource): the resources the field came from.
    const top = rule.field.split(".")[0]!;
    const own = new Set((r.propertyDependencies.bucket ?? []).map((d) => d.urn));
    const from = (r.propertyDependencies[top] ?? []).filter((d) => !own.has(d.urn) && coverageOf(d.type).known && COVERAGE[d.type]?.data === "storage");
    if (from.length === 0) return value === undefined ? undefined : { where: `destination ${JSON.stringify(value)}` };
    const at = locate(from[0]!, ctx, COVERAGE[from[0]!.type]?.regionField);
    return { ...at, where: `${from[0]!.type} "${from[0]!.name}" in ${at.where}` };
  }
  const region = arnRegion(value);
  if (region) return cloudLocation(kind, region);
  const bucketName = /^arn:[^:]+:s3:::([^/]+)$/.exec(value)?.[1];
  const bucket = bucketName ? buckets.get(bucketName) : undefined;
  if (bucket) {
    const at = locate(bucket, ctx, "region");
    return { ...at, where: `bucket ${bucketName} in ${at.where}` };
  }
  return { where: `${value}, which names no region and no bucket of this stack (another account's bucket can be anywhere)` };
}

/**
 * Residency findings of a stack, resource by resource: what a resource that may hold data is placed
 * on, where its copies go, where object-store endpoints and backup destinations are. A check that reads
 * a value unknown during preview is skipped for that resource only (recorded in `skipped`).
 *
 * @param only - which resources to check (all by default); the others still give their context.
 */
export function residencyFindings(
  resources: readonly PolicyResource[],
  config: ResidencyConfig,
  report: (message: string, urn: string) => void,
  skipped?: SkippedCheck[],
  only: (r: PolicyResource) => boolean = () => true,
): void {
  const ctx = placementContext(resources);
  const endpoints = allowedEndpoints(sitesByUrn(resources).values(), config);
  const countries = config.allowedCountries.join(", ");
  const buckets = new Map<string, PolicyResource>();
  for (const r of resources) {
    if (r.type !== "aws:s3/bucket:Bucket" && r.type !== "aws:s3/bucketV2:BucketV2") continue;
    const name = peek(() => str(r.props, "bucket"));
    if (name) buckets.set(name, r);
  }
  for (const r of resources) {
    if (only(r)) guarded(r, "waris-data-residency", () => residencyOf(r), skipped);
  }

  function residencyOf(r: PolicyResource): void {
    if (r.type === "waris:index:Site") {
      const endpoint = str(r.props, "objectStoreEndpoint");
      const cloud = endpoint ? endpointRegion(endpoint) : undefined;
      if (endpoint && cloud && !isRegionInThailand(cloud.kind, cloud.region)) {
        report(`Site "${r.name}" declares ${str(r.props, "site", "country") ?? "?"} but its object store ${endpoint} is ${cloud.kind} region ${cloud.region}, outside ${countries}: every backup written there leaves the country.`, r.urn);
      }
      return;
    }
    if (r.type === "pulumi:providers:aws") {
      const s3 = str(r.props, "endpoints");
      if (s3 && s3 !== "[]") {
        const site = ctx.providerSites.get(r.urn);
        if (!site || !allowed(site.country, config)) {
          report(`AWS provider "${r.name}" points at a custom object-store endpoint (${s3}) that belongs to no site in ${countries}; create it through a waris Site whose store is in Thailand.`, r.urn);
        }
      }
      return;
    }
    // Geo-redundant storage replicates every object to the paired region, in another country.
    if (r.type === "azure-native:storage:StorageAccount" && /GRS/.test(str(r.props, "sku", "name") ?? "")) {
      report(`Storage account "${r.name}" uses ${str(r.props, "sku", "name")}, which replicates its data to the paired region outside ${countries}; use Standard_LRS or Standard_ZRS.`, r.urn);
    }
    // Geo-redundant backups of an Azure flexible server are copied to the paired region, in another country.
    if ((r.type === "azure-native:dbforpostgresql:Server" || r.type === "azure-native:dbformysql:Server") && str(r.props, "backup", "geoRedundantBackup") === "Enabled") {
      report(`Azure ${r.type === "azure-native:dbformysql:Server" ? "MySQL" : "PostgreSQL"} server "${r.name}" has geo-redundant backup on, which copies its backups to the paired region outside ${countries}; set backup.geoRedundantBackup to Disabled.`, r.urn);
    }
    for (const [field, endpoint] of backupDestinations(r)) {
      const normalized = endpoint?.replace(/\/$/, "");
      if (!normalized || !(endpoints.has(normalized) || THAI_AWS_S3_ENDPOINT.test(normalized))) {
        report(
          `${r.type} "${r.name}": backup destination ${field} is ${endpoint === undefined ? "not set (an implicit AWS endpoint of unknown region)" : JSON.stringify(endpoint)}, which is not the object store of a site in ${countries} (known: ${[...endpoints].join(", ") || "none"}).`,
          r.urn,
        );
      }
    }
    const coverage = coverageOf(r.type);
    const entry = coverage.known ? coverage.entry : undefined;
    for (const rule of entry?.copies ?? []) {
      for (const value of valuesAt(r.props, rule.field)) {
        const destination = copyDestination(r, rule, value, ctx, buckets);
        if (destination && !(destination.inThailand && allowed(destination.country, config))) {
          report(`${r.type} "${r.name}" copies data (${rule.field}) to ${destination.where}, which ${destination.inThailand === false ? "is not" : "cannot be shown to be"} in ${countries}.`, r.urn);
        }
      }
    }
    if (!isPlaced(r.type)) return;
    const data: DataKind = entry ? entry.data : "storage";
    if (data === "none" || data === "setting") return;
    const location = entry?.global ? { where: "edge locations worldwide (a global service)", inThailand: false } : locate(r, ctx, entry?.regionField ?? defaultRegionField(r.type), entry?.defaultRegion);
    if (location.site && labelsOf(r.props) !== undefined) {
      const label = siteLabelOf(r.props);
      if (label !== location.site.name) {
        report(
          `${r.type} "${r.name}" is deployed to site "${location.site.name}" by its provider, but its ${SITE_LABEL} label is ${label === undefined ? "missing" : JSON.stringify(label)}; the label must name the site the object is really on.`,
          r.urn,
        );
      }
    }
    const dataClass = dataClassOf(r.props);
    // A self-declared tag exempts what holds data only while it runs, never storage.
    if (data === "compute" && dataClass !== undefined && DATA_CLASS_EXEMPT.includes(dataClass)) return;
    if (location.inThailand && allowed(location.country, config)) return;
    const what = entry ? (data === "storage" ? "holds data" : "may hold data") : "is a type the pack does not know (it may hold data)";
    report(
      `${r.type} "${r.name}" ${what} (${DATA_CLASS_LABEL} ${dataClass === undefined ? "not set" : JSON.stringify(dataClass)}${data === "storage" && dataClass !== undefined ? ", which does not exempt storage" : ""}) but is in ${location.where}, ${location.inThailand === false ? "which is not" : "which cannot be shown to be"} in ${countries}.`,
      r.urn,
    );
  }
}

/** The region field of a type the table does not list: the package's usual one. */
function defaultRegionField(type: string): string | undefined {
  const pkg = type.split(":")[0];
  return pkg === "azure-native" ? "location" : pkg === "aws" || pkg === "digitalocean" ? "region" : undefined;
}

/** Schema of {@link dataResidencyPolicy}'s config, with its default. */
export const RESIDENCY_CONFIG_SCHEMA = {
  properties: {
    allowedCountries: { type: "array" as const, items: { type: "string" as const, pattern: "^[A-Z]{2}$" }, default: ["TH"] },
  },
};

/** The residency policy (a stack policy: it needs the sites, buckets and clusters of the whole stack). */
export const dataResidencyPolicy: StackValidationPolicy = {
  name: "waris-data-residency",
  description: "No data leaves Thailand: every data-bearing resource, its copies (replication, snapshot copies, replicas, backup copies, notifications), object-store endpoints and backup destinations are in an allowed country.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Place the resource in Thailand: AWS ap-southeast-7 (the resource's region, its provider's, or aws:region in the stack file), or a Thai site (onprem, gcloud) through its provider; " +
    "point copies, replicas and backups at a Thai region or a Thai site's object store; compute that holds no data (a burst GPU pool) may carry " +
    `${DATA_CLASS_LABEL}=none (tag waris-data-class=none on clouds); storage cannot be exempted.`,
  configSchema: RESIDENCY_CONFIG_SCHEMA,
  validateStack: (args, reportViolation) => {
    residencyFindings(args.resources, args.getConfig<ResidencyConfig>(), (message, urn) => reportViolation(message, urn));
  },
};
