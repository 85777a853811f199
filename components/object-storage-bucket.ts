import * as pulumi from "@pulumi/pulumi";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { DATASET_SIZE_TAG, DATASET_TAG, DataClass, placementTags } from "./labels";
import { loadOptionalSdk } from "./optional-sdk";
import { describeThaiRegions, isRegionInThailand } from "./residency";
import { Site, SiteSpec } from "./site";
import { DEFAULT_STORE_ENCRYPTION, bucketEncryptionDefault } from "./store-encryption";

/** Which API a bucket is made with: the site's S3-compatible store or AWS S3, Azure Blob, DigitalOcean Spaces. */
type BucketBackend = "s3" | "azure-blob" | "spaces";

/** The backend of a bucket on `site`: its own S3-compatible store when it has one, else the cloud's. */
function bucketBackend(site: Site): BucketBackend {
  if (site.objectStoreEndpoint !== undefined) return "s3";
  return site.spec.kind === "azure" ? "azure-blob" : site.spec.kind === "digitalocean" ? "spaces" : "s3";
}

/**
 * The S3 resources a bucket is made of, each loaded from its own module of `@pulumi/aws`: the `s3`
 * index also loads its event mixins and with them the Lambda and IAM modules (a 121 KB enum table
 * among them), which a bucket never uses; the classes are the same either way.
 */
interface S3Sdk {
  Bucket: typeof import("@pulumi/aws/s3/bucket").Bucket;
  BucketVersioning: typeof import("@pulumi/aws/s3/bucketVersioning").BucketVersioning;
  BucketServerSideEncryptionConfiguration: typeof import("@pulumi/aws/s3/bucketServerSideEncryptionConfiguration").BucketServerSideEncryptionConfiguration;
  BucketPublicAccessBlock: typeof import("@pulumi/aws/s3/bucketPublicAccessBlock").BucketPublicAccessBlock;
  BucketLifecycleConfiguration: typeof import("@pulumi/aws/s3/bucketLifecycleConfiguration").BucketLifecycleConfiguration;
  BucketObjectLockConfiguration: typeof import("@pulumi/aws/s3/bucketObjectLockConfiguration").BucketObjectLockConfiguration;
}

/** The SDK module of each backend (all optional peer dependencies of the package). */
interface BackendSdk {
  s3: S3Sdk;
  "azure-blob": typeof import("@pulumi/azure-native/storage");
  spaces: typeof import("@pulumi/digitalocean/spacesBucket");
}

/** Loads the {@link S3Sdk} classes; throws `MissingSdkError` when `@pulumi/aws` is not installed. */
function loadS3(neededBy: string): S3Sdk {
  const load = <M>(module: string): M => loadOptionalSdk<M>("@pulumi/aws", `s3/${module}`, neededBy);
  return {
    Bucket: load<typeof import("@pulumi/aws/s3/bucket")>("bucket").Bucket,
    BucketVersioning: load<typeof import("@pulumi/aws/s3/bucketVersioning")>("bucketVersioning").BucketVersioning,
    BucketServerSideEncryptionConfiguration: load<typeof import("@pulumi/aws/s3/bucketServerSideEncryptionConfiguration")>("bucketServerSideEncryptionConfiguration")
      .BucketServerSideEncryptionConfiguration,
    BucketPublicAccessBlock: load<typeof import("@pulumi/aws/s3/bucketPublicAccessBlock")>("bucketPublicAccessBlock").BucketPublicAccessBlock,
    BucketLifecycleConfiguration: load<typeof import("@pulumi/aws/s3/bucketLifecycleConfiguration")>("bucketLifecycleConfiguration").BucketLifecycleConfiguration,
    BucketObjectLockConfiguration: load<typeof import("@pulumi/aws/s3/bucketObjectLockConfiguration")>("bucketObjectLockConfiguration").BucketObjectLockConfiguration,
  };
}

/** Loads the SDK module of `backend`; throws `MissingSdkError` naming the package when it is not installed. */
function loadBackendSdk<B extends BucketBackend>(backend: B, neededBy: string): BackendSdk[B] {
  if (backend === "s3") return loadS3(neededBy) as BackendSdk[B];
  const [sdk, subpath] = ({ "azure-blob": ["@pulumi/azure-native", "storage"], spaces: ["@pulumi/digitalocean", "spacesBucket"] } as const)[backend as Exclude<BucketBackend, "s3">];
  return loadOptionalSdk<BackendSdk[B]>(sdk, subpath, neededBy);
}

/**
 * Throws `MissingSdkError` when the provider SDK a bucket on `site` needs is not installed; for a component
 * that will create a bucket later, to fail before it registers anything.
 */
export function checkBucketSdk(site: Site, neededBy: string): void {
  loadBackendSdk(bucketBackend(site), neededBy);
}

/** Arguments of {@link ObjectStorageBucket}. */
export interface ObjectStorageBucketArgs {
  /**
   * Site whose store holds the bucket: a site with an S3-compatible object store (G-Cloud, on-prem
   * MinIO), an AWS site (S3), an Azure site (Blob storage) or a DigitalOcean site (Spaces). A bucket holds
   * data, so the site's region must be in Thailand by the residency table: today AWS `ap-southeast-7`
   * is; Azure and DigitalOcean have no Thai region, so buckets there are refused until they do.
   */
  readonly site: Site;
  /**
   * Bucket name, 3-63 lowercase letters, digits, `.` and `-`; explicit so policies can match it before
   * deployment. On Azure it is the container's name, and the storage account is named after it without
   * `.` and `-`, cut to 24 characters.
   */
  readonly bucket: string;
  /** Azure: resource group of the storage account. Required on Azure. */
  readonly resourceGroupName?: pulumi.Input<string>;
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
  /**
   * Versions of each object to keep (newest first), e.g. 5 for model artifacts. S3 stores only: Azure
   * Blob and Spaces lifecycle rules expire versions by age and cannot keep "the newest N", so it is refused there.
   */
  readonly keepVersions?: number;
  /**
   * Days every new object version is locked in governance mode, so that a compromised backup user
   * cannot destroy recent backups. Must not exceed `retentionDays`. Default: off. Azure: an unlocked
   * version-level immutability policy (the same guarantee); Spaces has no object lock, so it is refused there.
   */
  readonly objectLockDays?: number;
  /** Size of the dataset, GiB, tagged for the policy pack's restore-time estimate. */
  readonly datasetSizeGiB?: number;
  /**
   * AWS sites: KMS key for SSE-KMS; default SSE with AES-256. On a site with an S3-compatible store the
   * store's declared encryption (`objectStore.encryption` of the site) decides, and this is refused.
   */
  readonly kmsKeyId?: pulumi.Input<string>;
  /**
   * Leave the bucket and its settings in the store when the component is deleted or replaced. For a
   * bucket that follows the active site (Milvus's segments): a failover must not try to delete a
   * non-empty bucket on a site that is down, and the data there is kept for the failback. Default false.
   */
  readonly retainOnDelete?: boolean;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The Azure storage account of a bucket: its name without `.` and `-`, at most 24 characters. */
export function azureStorageAccountName(bucket: string): string {
  return bucket.replace(/[^a-z0-9]/g, "").slice(0, 24);
}
const whole = (n: unknown, min: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= min;

/** Every problem with a bucket's arguments on a site (pure). */
export function validateObjectStorageBucketArgs(
  site: SiteSpec & { readonly hasObjectStore: boolean },
  args: Omit<ObjectStorageBucketArgs, "site" | "kmsKeyId" | "resourceGroupName"> & { readonly hasKmsKey?: boolean; readonly hasResourceGroup?: boolean },
): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  if (!BUCKET_NAME.test(args.bucket)) add("bucket", `is ${show(args.bucket)}; an S3 bucket name is 3-63 lowercase letters, digits, '.' and '-'`);
  const cloud = site.kind === "azure" || site.kind === "digitalocean" || site.kind === "aws";
  if (!isRegionInThailand(site.kind, site.region) || site.country !== "TH") {
    add("site", `"${site.name}" is in ${site.kind} ${site.region}, outside Thailand; a bucket holds data, so it needs a Thai region: ${describeThaiRegions(site.kind)} (or the G-Cloud/on-prem stores)`);
  } else if (!cloud && !site.hasObjectStore) {
    add("site", `"${site.name}" has no S3-compatible object store; give the site an objectStore endpoint`);
  }
  if (site.kind === "azure" || site.kind === "digitalocean") {
    const store = site.kind === "azure" ? "Azure Blob storage" : "DigitalOcean Spaces";
    if (args.keepVersions !== undefined) add("keepVersions", `cannot be kept on ${store}: its lifecycle rules expire versions by age, never "the newest N"; keep versioned artifacts on an S3 store (G-Cloud, AWS), or use retentionDays`);
    if (args.hasKmsKey) add("kmsKeyId", `applies to AWS only; ${store} encrypts with AES-256 under keys the service manages`);
  }
  if (site.hasObjectStore && args.hasKmsKey) {
    add("kmsKeyId", `is set, but site "${site.name}" has its own S3-compatible store, whose encryption the site declares (objectStore.encryption, objectStore.kmsKeyId); set it there`);
  }
  if (site.kind === "azure") {
    if (args.hasResourceGroup === false) add("resourceGroupName", "is required on azure");
    if (azureStorageAccountName(args.bucket).length < 3) add("bucket", `is ${show(args.bucket)}; on Azure its storage account name (letters and digits only) needs at least 3 characters`);
  }
  if (site.kind === "digitalocean" && args.objectLockDays !== undefined) add("objectLockDays", "cannot be set on DigitalOcean Spaces, which has no object lock; keep locked backups on an S3 store (G-Cloud, AWS)");
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
 * A private, versioned, encrypted bucket in Thailand with lifecycle rules for its retention and,
 * optionally, a governance-mode object lock. Encryption at rest is what the store declares (the site's
 * `objectStore.encryption`): a default SSE-S3 (AES-256) or SSE-KMS rule, or none on a store that encrypts
 * by itself and refuses encryption configurations (`store-managed`). Managed through the AWS provider: AWS S3 itself, or any
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
  /** Dataset whose backups or data it holds (its `waris-dataset` tag). */
  readonly dataset: string;

  /**
   * @param name - component name.
   * @param args - see {@link ObjectStorageBucketArgs}.
   * @param opts - component options.
   */
  constructor(name: string, args: ObjectStorageBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    const site = args.site.spec;
    throwIfInvalid(
      `ObjectStorageBucket "${name}"`,
      validateObjectStorageBucketArgs({ ...site, hasObjectStore: args.site.objectStoreEndpoint !== undefined }, { ...args, hasKmsKey: args.kmsKeyId !== undefined, hasResourceGroup: args.resourceGroupName !== undefined }),
    );
    // The SDK of the store is an optional peer dependency: a missing one fails before anything is registered.
    const backend = bucketBackend(args.site);
    loadBackendSdk(backend, `ObjectStorageBucket "${name}"`);
    super("waris:index:ObjectStorageBucket", name, {}, opts);
    this.bucket = args.bucket;
    this.siteName = site.name;
    this.dataset = args.dataset;
    if (backend === "azure-blob") {
      const account = azureStorageAccountName(args.bucket);
      this.url = `https://${account}.blob.core.windows.net/${args.bucket}/`;
      this.endpoint = `https://${account}.blob.core.windows.net`;
      this.azureBlob(name, args, account);
    } else if (backend === "spaces") {
      this.url = `s3://${args.bucket}/`;
      this.endpoint = `https://${site.region}.digitaloceanspaces.com`;
      this.spaces(name, args);
    } else {
      this.url = `s3://${args.bucket}/`;
      this.endpoint = args.site.objectStoreEndpoint ?? `https://s3.${site.region}.amazonaws.com`;
      this.s3(name, args);
    }
    this.registerOutputs({ bucket: this.bucket, url: this.url, endpoint: this.endpoint, siteName: this.siteName });
  }

  private s3(name: string, args: ObjectStorageBucketArgs): void {
    const s3 = loadBackendSdk("s3", `ObjectStorageBucket "${name}"`);
    const site = args.site.spec;
    const provider = args.site.objectStoreProvider ?? args.site.awsProvider;
    const o = { parent: this, provider, retainOnDelete: args.retainOnDelete };
    const bucketName = args.bucket;
    const tags: Record<string, string> = { ...placementTags(site.name, args.dataClass ?? "confidential"), [DATASET_TAG]: args.dataset };
    if (args.datasetSizeGiB !== undefined) tags[DATASET_SIZE_TAG] = String(args.datasetSizeGiB);

    // Dependent resources name the bucket by its literal name, not the bucket's output: the name is
    // then known during a preview, so the policy pack can match them to the bucket.
    const bucket = new s3.Bucket(name, { bucket: bucketName, objectLockEnabled: args.objectLockDays !== undefined, forceDestroy: false, tags }, o);
    const after = { ...o, dependsOn: [bucket] };
    const versioning = new s3.BucketVersioning(name, { bucket: bucketName, versioningConfiguration: { status: "Enabled" } }, after);
    // What the store accepts: its declared encryption (an S3-compatible store), or SSE-S3/SSE-KMS on AWS.
    // A store that encrypts by itself gets no configuration: it rejects PutBucketEncryption without a KMS.
    const rule = args.site.objectStoreEndpoint !== undefined
      ? bucketEncryptionDefault(args.site.objectStoreEncryption ?? DEFAULT_STORE_ENCRYPTION)
      : args.kmsKeyId
        ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyId }
        : bucketEncryptionDefault(DEFAULT_STORE_ENCRYPTION);
    if (rule) {
      new s3.BucketServerSideEncryptionConfiguration(
        name,
        { bucket: bucketName, rules: [{ applyServerSideEncryptionByDefault: rule, bucketKeyEnabled: args.kmsKeyId !== undefined }] },
        after,
      );
    }
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
  }

  /**
   * Azure Blob: a storage account per bucket (zone-redundant: geo-redundant copies go to the paired
   * region, abroad), HTTPS and TLS 1.2+ only, no public access, AES-256 service encryption, versioning
   * and soft delete for the retention, a lifecycle policy deleting old versions, and the object lock as an
   * unlocked version-level immutability policy.
   */
  private azureBlob(name: string, args: ObjectStorageBucketArgs, accountName: string): void {
    const storage = loadBackendSdk("azure-blob", `ObjectStorageBucket "${name}"`);
    const o = { parent: this, provider: args.site.azureProvider, retainOnDelete: args.retainOnDelete };
    const resourceGroupName = args.resourceGroupName!;
    const tags: Record<string, string> = { ...placementTags(args.site.spec.name, args.dataClass ?? "confidential"), [DATASET_TAG]: args.dataset };
    if (args.datasetSizeGiB !== undefined) tags[DATASET_SIZE_TAG] = String(args.datasetSizeGiB);
    const account = new storage.StorageAccount(
      name,
      {
        accountName,
        resourceGroupName,
        location: args.site.spec.region,
        kind: "StorageV2",
        sku: { name: "Standard_ZRS" },
        minimumTlsVersion: "TLS1_2",
        enableHttpsTrafficOnly: true,
        allowBlobPublicAccess: false,
        encryption: { keySource: "Microsoft.Storage", services: { blob: { enabled: true, keyType: "Account" } }, requireInfrastructureEncryption: true },
        immutableStorageWithVersioning:
          args.objectLockDays !== undefined ? { enabled: true, immutabilityPolicy: { immutabilityPeriodSinceCreationInDays: args.objectLockDays, state: "Unlocked" } } : undefined,
        tags,
      },
      o,
    );
    const after = { ...o, dependsOn: [account] };
    const days = args.retentionDays!;
    new storage.BlobServiceProperties(
      name,
      { accountName, resourceGroupName, blobServicesName: "default", isVersioningEnabled: true, deleteRetentionPolicy: { enabled: true, days }, containerDeleteRetentionPolicy: { enabled: true, days } },
      after,
    );
    new storage.BlobContainer(name, { accountName, resourceGroupName, containerName: args.bucket, publicAccess: "None" }, after);
    new storage.ManagementPolicy(
      name,
      {
        accountName,
        resourceGroupName,
        managementPolicyName: "default",
        policy: {
          rules: [
            {
              name: "retention",
              enabled: true,
              type: "Lifecycle",
              definition: {
                filters: { blobTypes: ["blockBlob"] },
                actions: {
                  version: { delete: { daysAfterCreationGreaterThan: days } },
                  ...(args.expireObjectsAfterDays !== undefined ? { baseBlob: { delete: { daysAfterModificationGreaterThan: args.expireObjectsAfterDays } } } : {}),
                },
              },
            },
          ],
        },
      },
      after,
    );
  }

  /**
   * DigitalOcean Spaces: private, versioned (Spaces encrypts every object at rest with AES-256), with a
   * lifecycle rule per retention. Spaces has neither object lock nor "keep the newest N versions".
   */
  private spaces(name: string, args: ObjectStorageBucketArgs): void {
    const { SpacesBucket } = loadBackendSdk("spaces", `ObjectStorageBucket "${name}"`);
    const o = { parent: this, provider: args.site.digitaloceanProvider, retainOnDelete: args.retainOnDelete };
    new SpacesBucket(
      name,
      {
        name: args.bucket,
        region: args.site.spec.region,
        acl: "private",
        forceDestroy: false,
        versioning: { enabled: true },
        lifecycleRules: [
          {
            id: "retention",
            enabled: true,
            noncurrentVersionExpiration: { days: args.retentionDays! },
            expiration: args.expireObjectsAfterDays !== undefined ? { days: args.expireObjectsAfterDays } : undefined,
            abortIncompleteMultipartUploadDays: 7,
          },
        ],
      },
      o,
    );
  }
}
