import * as pulumi from "@pulumi/pulumi";
import * as s3 from "@pulumi/aws/s3";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { DATASET_SIZE_TAG, DATASET_TAG, DataClass, placementTags } from "./labels";
import { describeThaiRegions, isRegionInThailand } from "./residency";
import { Site, SiteSpec } from "./site";

/** Arguments of {@link ObjectStorageBucket}. */
export interface ObjectStorageBucketArgs {
  /**
   * Site whose store holds the bucket: a site with an S3-compatible object store (G-Cloud, on-prem
   * MinIO), or an AWS site in `ap-southeast-7`. Azure and DigitalOcean have no Thai region, so no
   * bucket holding data can be made there.
   */
  readonly site: Site;
  /** Bucket name, 3-63 lowercase letters, digits, `.` and `-`; explicit so policies can match it before deployment. */
  readonly bucket: string;
  /** Dataset the bucket holds, e.g. `waris-postgres` or `model-artifacts` (tag `waris-dataset`). */
  readonly dataset: string;
  /** Class of the data. Default `confidential`. */
  readonly dataClass?: DataClass;
  /**
   * Days an overwritten or deleted object version stays recoverable. The backup tool (Barman, PBM,
   * the Milvus prune job) deletes old backups itself; this only expires what it deleted.
   */
  readonly retentionDays?: number;
  /**
   * Days after which current objects expire too: for backup files a tool writes but never prunes
   * (timestamped Redis dumps). Leave unset where the backup tool deletes old backups itself.
   */
  readonly expireObjectsAfterDays?: number;
  /** Versions of each object to keep (newest first), e.g. 5 for model artifacts. */
  readonly keepVersions?: number;
  /**
   * Days every new object version is locked in governance mode, so that a compromised backup user
   * cannot destroy recent backups. Must not exceed `retentionDays`. Default: off.
   */
  readonly objectLockDays?: number;
  /** Size of the dataset, GiB, tagged for the policy pack's restore-time estimate. */
  readonly datasetSizeGiB?: number;
  /** KMS key for SSE-KMS (AWS sites); default SSE with AES-256. */
  readonly kmsKeyId?: pulumi.Input<string>;
  /**
   * Leave the bucket and its settings in the store when the component is deleted or replaced. For a
   * bucket that follows the active site (Milvus's segments): a failover must not try to delete a
   * non-empty bucket on a site that is down, and the data there is kept for the failback. Default false.
   */
  readonly retainOnDelete?: boolean;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const whole = (n: unknown, min: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= min;

/** Every problem with a bucket's arguments on a site (pure). */
export function validateObjectStorageBucketArgs(
  site: SiteSpec & { readonly hasObjectStore: boolean },
  args: Omit<ObjectStorageBucketArgs, "site" | "kmsKeyId">,
): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  if (!BUCKET_NAME.test(args.bucket)) add("bucket", `is ${show(args.bucket)}; an S3 bucket name is 3-63 lowercase letters, digits, '.' and '-'`);
  if (site.kind === "azure" || site.kind === "digitalocean") {
    add("site", `"${site.name}" is ${site.kind}, which has ${describeThaiRegions(site.kind)}; a bucket holds data, so it must be on a G-Cloud/on-prem store or AWS ap-southeast-7`);
  } else if (!isRegionInThailand(site.kind, site.region) || site.country !== "TH") {
    add("site", `"${site.name}" (${site.kind} ${site.region}) is outside Thailand; a bucket holds data and must stay in Thailand`);
  } else if (site.kind !== "aws" && !site.hasObjectStore) {
    add("site", `"${site.name}" has no S3-compatible object store; give the site an objectStore endpoint`);
  }
  if (args.retentionDays === undefined && args.keepVersions === undefined) add("retentionDays", "or keepVersions is required: every bucket states how long deleted data stays recoverable");
  if (args.retentionDays !== undefined && !whole(args.retentionDays, 1)) add("retentionDays", `is ${show(args.retentionDays)}; must be a whole number of days, at least 1`);
  if (args.expireObjectsAfterDays !== undefined && !whole(args.expireObjectsAfterDays, 1)) add("expireObjectsAfterDays", `is ${show(args.expireObjectsAfterDays)}; must be a whole number of days, at least 1`);
  if (args.expireObjectsAfterDays !== undefined && args.objectLockDays !== undefined && args.objectLockDays > args.expireObjectsAfterDays) {
    add("objectLockDays", `is ${args.objectLockDays}, above expireObjectsAfterDays ${args.expireObjectsAfterDays}: locked objects could not expire`);
  }
  if (args.keepVersions !== undefined && !whole(args.keepVersions, 1)) add("keepVersions", `is ${show(args.keepVersions)}; must be a whole number, at least 1`);
  if (args.objectLockDays !== undefined) {
    if (!whole(args.objectLockDays, 1)) add("objectLockDays", `is ${show(args.objectLockDays)}; must be a whole number of days, at least 1`);
    else if (args.retentionDays !== undefined && args.objectLockDays > args.retentionDays) {
      add("objectLockDays", `is ${args.objectLockDays}, above retentionDays ${args.retentionDays}: the backup tool could not delete expired backups`);
    }
    if (args.keepVersions !== undefined) add("objectLockDays", "cannot be combined with keepVersions: locked versions could not be pruned to the newest N");
  }
  return problems;
}

/**
 * A private, versioned, AES-256-encrypted bucket in Thailand with lifecycle rules for its retention and,
 * optionally, a governance-mode object lock. Managed through the AWS provider: AWS S3 itself, or any
 * S3-compatible store (G-Cloud) through the site's object-store provider.
 */
export class ObjectStorageBucket extends pulumi.ComponentResource {
  /** Bucket name. */
  readonly bucket: string;
  /** `s3://<bucket>/`. */
  readonly url: string;
  /** HTTPS endpoint of the store (AWS: the regional S3 endpoint). */
  readonly endpoint: string;
  /** Site the bucket is on. */
  readonly siteName: string;

  /**
   * @param name - component name.
   * @param args - see {@link ObjectStorageBucketArgs}.
   * @param opts - component options.
   */
  constructor(name: string, args: ObjectStorageBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    const site = args.site.spec;
    throwIfInvalid(`ObjectStorageBucket "${name}"`, validateObjectStorageBucketArgs({ ...site, hasObjectStore: args.site.objectStoreProvider !== undefined }, args));
    super("waris:index:ObjectStorageBucket", name, {}, opts);

    const provider = args.site.objectStoreProvider ?? args.site.awsProvider;
    const o = { parent: this, provider, retainOnDelete: args.retainOnDelete };
    const bucketName = args.bucket;
    this.bucket = bucketName;
    this.url = `s3://${bucketName}/`;
    this.endpoint = args.site.objectStoreEndpoint ?? `https://s3.${site.region}.amazonaws.com`;
    this.siteName = site.name;
    const tags: Record<string, string> = { ...placementTags(site.name, args.dataClass ?? "confidential"), [DATASET_TAG]: args.dataset };
    if (args.datasetSizeGiB !== undefined) tags[DATASET_SIZE_TAG] = String(args.datasetSizeGiB);

    // Dependent resources name the bucket by its literal name, not the bucket's output: the name is
    // then known during a preview, so the policy pack can match them to the bucket.
    const bucket = new s3.Bucket(name, { bucket: bucketName, objectLockEnabled: args.objectLockDays !== undefined, forceDestroy: false, tags }, o);
    const after = { ...o, dependsOn: [bucket] };
    const versioning = new s3.BucketVersioning(name, { bucket: bucketName, versioningConfiguration: { status: "Enabled" } }, after);
    new s3.BucketServerSideEncryptionConfiguration(
      name,
      {
        bucket: bucketName,
        rules: [
          {
            applyServerSideEncryptionByDefault: args.kmsKeyId ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyId } : { sseAlgorithm: "AES256" },
            bucketKeyEnabled: args.kmsKeyId !== undefined,
          },
        ],
      },
      after,
    );
    new s3.BucketPublicAccessBlock(name, { bucket: bucketName, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, after);
    const noncurrent =
      args.keepVersions !== undefined
        ? // Keep the newest N versions: the current one plus N-1 noncurrent ones; older ones go after a day.
          { noncurrentDays: 1, newerNoncurrentVersions: args.keepVersions - 1 }
        : { noncurrentDays: args.retentionDays! };
    new s3.BucketLifecycleConfiguration(
      name,
      {
        bucket: bucketName,
        rules: [
          {
            id: "retention",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: noncurrent,
            // S3 takes either an age or the delete-marker clean-up in one expiration; an age also removes markers once alone.
            expiration: args.expireObjectsAfterDays !== undefined ? { days: args.expireObjectsAfterDays } : { expiredObjectDeleteMarker: true },
          },
          { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
        ],
      },
      { ...o, dependsOn: [versioning] },
    );
    if (args.objectLockDays !== undefined) {
      new s3.BucketObjectLockConfiguration(name, { bucket: bucketName, rule: { defaultRetention: { mode: "GOVERNANCE", days: args.objectLockDays } } }, { ...o, dependsOn: [versioning] });
    }
    this.registerOutputs({ bucket: this.bucket, url: this.url, endpoint: this.endpoint, siteName: this.siteName });
  }
}
