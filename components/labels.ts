/**
 * The labels and tags through which components tell the policy pack where a resource lives and what it holds.
 * Policies see only resources, so these keys are a contract: change them only together with `policy/`.
 */

/** Kubernetes label naming the site a Kubernetes object is placed on. */
export const SITE_LABEL = "waris.io/site";
/** Kubernetes label naming the class of data a Kubernetes object holds. */
export const DATA_CLASS_LABEL = "waris.io/data-class";

/**
 * Classes of data, from none to the most sensitive. `none` marks compute that holds no data (a burst GPU
 * pool), the only class allowed outside Thailand; `personal` is data under the Thai PDPA.
 */
export const DATA_CLASSES = ["none", "internal", "confidential", "personal"] as const;

/** A class of data a resource holds; see {@link DATA_CLASSES}. */
export type DataClass = (typeof DATA_CLASSES)[number];

/** The two labels every Kubernetes object of the platform carries. */
export function placementLabels(siteName: string, dataClass: DataClass): Record<string, string> {
  return { [SITE_LABEL]: siteName, [DATA_CLASS_LABEL]: dataClass };
}

/**
 * The same facts as cloud resource tags. Cloud tag keys cannot hold `/` everywhere (Azure forbids it),
 * so the tag keys use `waris-site` and `waris-data-class`.
 */
export function placementTags(siteName: string, dataClass: DataClass): Record<string, string> {
  return { "waris-site": siteName, "waris-data-class": dataClass };
}

/** Label naming the dataset a data store (or each site's copy of it) belongs to, e.g. `waris-postgres`. */
export const DATASET_LABEL = "waris.io/dataset";
/** Label marking a workload as a data store of a kind (`redis`), for stores without their own resource type. */
export const STORE_LABEL = "waris.io/store";
/** Label on a backup CronJob naming the dataset it backs up. */
export const BACKUP_OF_LABEL = "waris.io/backup-of";
/** Annotation declaring a dataset's size in GiB where its resource does not state a storage size. */
export const DATASET_SIZE_ANNOTATION = "waris.io/dataset-size-gib";
/** Annotation on a pruning backup job: days its backups are kept. */
export const RETENTION_DAYS_ANNOTATION = "waris.io/retention-days";
/** Cloud tag naming the dataset a cloud resource holds (buckets, managed databases). */
export const DATASET_TAG = "waris-dataset";
/** Cloud tag declaring a dataset's size in GiB (on buckets). */
export const DATASET_SIZE_TAG = "waris-dataset-size-gib";
/**
 * Cloud tag on a managed read replica naming its primary (server or cluster name): the replica's link to
 * its source is an id only known after deployment, and policies must match them during a preview.
 */
export const REPLICA_OF_TAG = "waris-replica-of";
/** Cloud tag on a lag alert naming the replica it watches, for the same reason. */
export const LAG_ALERT_FOR_TAG = "waris-lag-alert-for";

/** A pinned Helm chart. */
export interface HelmChartRef {
  /** Chart repository URL. */
  readonly repo: string;
  /** Chart name. */
  readonly chart: string;
  /** Exact chart version. */
  readonly version: string;
}

/** A DNS-1123 subdomain: DNS-1123 labels (lowercase alphanumerics and '-', alphanumeric at both ends) joined by '.'. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Whether `name` is a Kubernetes object name of the DNS-1123 subdomain kind (StorageClasses, nodes, most
 * objects; the prefix of a label key): lowercase letters, digits, '-' and '.', each dot-separated part
 * starting and ending alphanumeric, at most 253 characters. Kubernetes' own definition
 * (k8s.io/apimachinery/pkg/util/validation/validation.go, `IsDNS1123Subdomain`: this regular expression and
 * `DNS1123SubdomainMaxLength` 253; no length limit per part), the one check of it in the project.
 */
export function isDns1123Subdomain(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
}
