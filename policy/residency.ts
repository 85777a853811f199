/**
 * Data residency: no data leaves Thailand. Every data-bearing resource must be in an allowed country:
 * cloud resources by their region, Kubernetes objects by the site their provider belongs to (and
 * their `waris.io/site` label must name that site), object-store endpoints and backup destinations by
 * the site whose store they are.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { SITE_LABEL, DATA_CLASS_LABEL } from "../components/labels";
import { SiteFact, at, dataClassOf, isPlaced, labelsOf, locate, siteLabelOf, siteOfProviders, sitesByUrn, str } from "./placement";

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

/** The residency policy (a stack policy: it needs the sites of the whole stack). */
export const dataResidencyPolicy: StackValidationPolicy = {
  name: "waris-data-residency",
  description: "No data leaves Thailand: every data-bearing resource, object-store endpoint and backup destination is in an allowed country.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Place the resource on a Thai site (onprem, gcloud or AWS ap-southeast-7) by creating it with that site's provider; " +
    "point backups at a Thai site's object store; if the resource holds no data at all (a burst GPU pool), " +
    `label it ${DATA_CLASS_LABEL}=none (tag waris-data-class=none on clouds).`,
  configSchema: {
    properties: {
      allowedCountries: { type: "array", items: { type: "string", pattern: "^[A-Z]{2}$" }, default: ["TH"] },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<ResidencyConfig>();
    const providerSites = siteOfProviders(args.resources);
    const endpoints = allowedEndpoints(sitesByUrn(args.resources).values(), config);
    for (const r of args.resources) {
      if (r.type === "pulumi:providers:aws") {
        const s3 = str(r.props, "endpoints");
        if (s3 && s3 !== "[]") {
          const site = providerSites.get(r.urn);
          if (!site || !allowed(site.country, config)) {
            reportViolation(`AWS provider "${r.name}" points at a custom object-store endpoint (${s3}) that belongs to no site in ${config.allowedCountries.join(", ")}; create it through a waris Site whose store is in Thailand.`, r.urn);
          }
        }
        continue;
      }
      // Geo-redundant storage replicates every object to the paired region, in another country.
      if (r.type === "azure-native:storage:StorageAccount" && /GRS/.test(str(r.props, "sku", "name") ?? "")) {
        reportViolation(`Storage account "${r.name}" uses ${str(r.props, "sku", "name")}, which replicates its data to the paired region outside ${config.allowedCountries.join(", ")}; use Standard_LRS or Standard_ZRS.`, r.urn);
      }
      // Geo-redundant backups of an Azure flexible server are copied to the paired region, in another country.
      if (r.type === "azure-native:dbforpostgresql:Server" && str(r.props, "backup", "geoRedundantBackup") === "Enabled") {
        reportViolation(`Azure PostgreSQL server "${r.name}" has geo-redundant backup on, which copies its backups to the paired region outside ${config.allowedCountries.join(", ")}; set backup.geoRedundantBackup to Disabled.`, r.urn);
      }
      for (const [field, endpoint] of backupDestinations(r)) {
        const normalized = endpoint?.replace(/\/$/, "");
        if (!normalized || !(endpoints.has(normalized) || THAI_AWS_S3_ENDPOINT.test(normalized))) {
          reportViolation(
            `${r.type} "${r.name}": backup destination ${field} is ${endpoint === undefined ? "not set (an implicit AWS endpoint of unknown region)" : JSON.stringify(endpoint)}, which is not the object store of a site in ${config.allowedCountries.join(", ")} (known: ${[...endpoints].join(", ") || "none"}).`,
            r.urn,
          );
        }
      }
      if (!isPlaced(r.type)) continue;
      const location = locate(r, providerSites);
      const dataClass = dataClassOf(r.props);
      if (location.site && labelsOf(r.props) !== undefined) {
        const label = siteLabelOf(r.props);
        if (label !== location.site.name) {
          reportViolation(
            `${r.type} "${r.name}" is deployed to site "${location.site.name}" by its provider, but its ${SITE_LABEL} label is ${label === undefined ? "missing" : JSON.stringify(label)}; the label must name the site the object is really on.`,
            r.urn,
          );
        }
      }
      if (dataClass === "none") continue;
      if (location.inThailand && allowed(location.country, config)) continue;
      reportViolation(
        `${r.type} "${r.name}" may hold data (${DATA_CLASS_LABEL} ${dataClass === undefined ? "not set" : JSON.stringify(dataClass)}) but is in ${location.where}, ${location.inThailand === undefined ? "which cannot be shown to be" : "which is not"} in ${config.allowedCountries.join(", ")}.`,
        r.urn,
      );
    }
  },
};
