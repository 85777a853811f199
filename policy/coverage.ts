/**
 * What the pack knows about each resource type, as data: whether it holds data, where its region comes
 * from, and which input fields give encryption at rest, in transit, backup retention and copies made
 * elsewhere. The policies read this table; `test/policy-coverage.test.ts` checks every type token and
 * field path against the providers' own SDK type definitions (`node_modules/@pulumi/*`, the generated
 * `<Type>Args` interfaces), and that a type of a data-holding module missing from the table is reported.
 *
 * Types only: no provider SDK is imported here (they are optional peer dependencies of the package).
 * Field paths are dotted; `*` stands for every element of an array.
 */

/**
 * What a type holds.
 * - `storage`: data at rest (buckets, databases, volumes, queues, caches). A `waris-data-class: none` tag
 *   never exempts it: a self-declared tag cannot make a bucket empty.
 * - `compute`: data only while it runs (instances, clusters, pods, CDN caches); the tag exempts it.
 * - `setting`: configures another resource (bucket versioning, parameter groups); it lives where that
 *   resource lives, and is checked only for the copies and protocols it sets.
 * - `none`: holds no data (identity, networks, firewalls, DNS, alarms).
 */
export type DataKind = "storage" | "compute" | "setting" | "none";

/** How a type is encrypted at rest. */
export type AtRestRule =
  /** The service encrypts everything, always; the string cites where that is documented. */
  | { readonly always: string }
  /**
   * A field that must equal `equals` (every value, for a `*` path). `default` is the service's value when
   * the field is not set; `inheritedWhen` names a field that, when set, makes the resource inherit its
   * source's encryption (a read replica); `byAccountDefault` accepts an `aws:ebs/encryptionByDefault`
   * resource enabled in the same region.
   */
  | {
      readonly field: string;
      readonly equals: unknown;
      readonly default?: unknown;
      readonly inheritedWhen?: string;
      readonly byAccountDefault?: true;
      /** Whether a missing field (an absent block) counts as the default; default true. */
      readonly presentRequired?: boolean;
    }
  /** A field that must be set to any value (a KMS key). */
  | { readonly fieldSet: string }
  /** The type cannot be encrypted at rest; the string says what to use instead. */
  | { readonly unsupported: string };

/** One in-transit requirement: the field's value (or its default) must be one of `allowed`. */
export interface TransitRule {
  /** Dotted path. */
  readonly field: string;
  /** Values that mean TLS. */
  readonly allowed: readonly unknown[];
  /** The service's value when the field is not set. */
  readonly default?: unknown;
}

/** A field naming where a copy of the data goes. */
export interface CopyRule {
  /** Dotted path (`*` for arrays). */
  readonly field: string;
  /** What the field holds: an ARN (region inside, or an S3 bucket to look up), or a region name. */
  readonly as: "arn" | "region";
  /** For `region`: whether a missing value means the resource's own region (true) or must be shown (false). Default true. */
  readonly missingIsOwnRegion?: boolean;
}

/** The pack's knowledge of one resource type. */
export interface TypeCoverage {
  /** What it holds. */
  readonly data: DataKind;
  /** Own field naming its region or location, overriding the provider's (AWS provider v7 `region`, Azure `location`). */
  readonly regionField?: string;
  /** The region when neither the resource nor its provider names one (DigitalOcean Spaces: nyc3). */
  readonly defaultRegion?: string;
  /** A global service: its data sits in edge locations worldwide. */
  readonly global?: true;
  /** Encryption at rest. */
  readonly atRest?: AtRestRule;
  /** Encryption in transit (all must hold), or the name of a check in policy/rules.ts that needs more than one field. */
  readonly inTransit?: readonly TransitRule[] | "lb-listener" | "cloudfront" | "rds-parameters" | "rds-instance-tls";
  /** Backup retention in days: the field, and the service's default when it is not set. */
  readonly retentionDays?: { readonly field: string; readonly default: number };
  /** Fields naming where copies of the data go. */
  readonly copies?: readonly CopyRule[];
  /** Upstream documentation of the facts above. */
  readonly source?: string;
}

const AWS_DEFAULT_S3 = "https://aws.amazon.com/blogs/aws/amazon-s3-encrypts-new-objects-by-default/ (SSE-S3 for every new object since 2023-01-05)";

/** Resource types the pack knows, by type token. */
export const COVERAGE: Readonly<Record<string, TypeCoverage>> = {
  // AWS: storage
  "aws:s3/bucket:Bucket": { data: "storage", regionField: "region", atRest: { always: AWS_DEFAULT_S3 } },
  "aws:s3/bucketV2:BucketV2": { data: "storage", regionField: "region", atRest: { always: AWS_DEFAULT_S3 } },
  "aws:s3/bucketObjectv2:BucketObjectv2": { data: "setting" },
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": { data: "setting" },
  "aws:s3/bucketVersioning:BucketVersioning": { data: "setting" },
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": { data: "setting" },
  "aws:s3/bucketPolicy:BucketPolicy": { data: "setting" },
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": { data: "setting" },
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": { data: "setting" },
  "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": { data: "setting" },
  "aws:s3/bucketReplicationConfig:BucketReplicationConfig": {
    data: "setting",
    copies: [{ field: "rules.*.destination.bucket", as: "arn" }],
    source: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication.html",
  },
  "aws:s3/bucketNotification:BucketNotification": {
    data: "setting",
    copies: [
      { field: "topics.*.topicArn", as: "arn" },
      { field: "queues.*.queueArn", as: "arn" },
      { field: "lambdaFunctions.*.lambdaFunctionArn", as: "arn" },
    ],
  },
  "aws:rds/instance:Instance": {
    data: "storage",
    regionField: "region",
    atRest: { field: "storageEncrypted", equals: true, default: false, inheritedWhen: "replicateSourceDb" },
    inTransit: "rds-instance-tls",
    source: "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html (a read replica has its source's encryption)",
  },
  "aws:rds/cluster:Cluster": {
    data: "storage",
    regionField: "region",
    atRest: { field: "storageEncrypted", equals: true, default: false, inheritedWhen: "replicationSourceIdentifier" },
    retentionDays: { field: "backupRetentionPeriod", default: 1 },
    source: "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Backups.html (retention 1 day unless set)",
  },
  "aws:rds/clusterInstance:ClusterInstance": { data: "setting" },
  "aws:rds/parameterGroup:ParameterGroup": { data: "setting", inTransit: "rds-parameters" },
  "aws:rds/clusterParameterGroup:ClusterParameterGroup": { data: "setting", inTransit: "rds-parameters" },
  "aws:rds/subnetGroup:SubnetGroup": { data: "none" },
  "aws:rds/snapshotCopy:SnapshotCopy": { data: "storage", regionField: "region", copies: [{ field: "destinationRegion", as: "region" }] },
  "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": { data: "storage", regionField: "region" },
  "aws:redshift/cluster:Cluster": {
    data: "storage",
    regionField: "region",
    atRest: { field: "encrypted", equals: true, default: true },
    retentionDays: { field: "automatedSnapshotRetentionPeriod", default: 1 },
    source: "https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-db-encryption.html (encrypted by default since 2025-01)",
  },
  "aws:redshift/snapshotCopy:SnapshotCopy": { data: "storage", copies: [{ field: "destinationRegion", as: "region", missingIsOwnRegion: false }] },
  "aws:dynamodb/table:Table": {
    data: "storage",
    regionField: "region",
    atRest: { always: "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html (all tables, AWS owned key unless another is chosen)" },
    copies: [{ field: "replicas.*.regionName", as: "region" }],
  },
  "aws:dynamodb/tableReplica:TableReplica": { data: "storage", regionField: "region" },
  "aws:efs/fileSystem:FileSystem": { data: "storage", regionField: "region", atRest: { field: "encrypted", equals: true, default: false } },
  "aws:efs/replicationConfiguration:ReplicationConfiguration": { data: "setting", copies: [{ field: "destination.region", as: "region" }] },
  "aws:ebs/volume:Volume": { data: "storage", regionField: "region", atRest: { field: "encrypted", equals: true, default: false, byAccountDefault: true } },
  "aws:ebs/snapshotCopy:SnapshotCopy": { data: "storage", regionField: "region", atRest: { field: "encrypted", equals: true, default: false, byAccountDefault: true } },
  "aws:ebs/encryptionByDefault:EncryptionByDefault": { data: "setting" },
  "aws:ec2/instance:Instance": {
    data: "storage",
    regionField: "region",
    atRest: { field: "rootBlockDevice.encrypted", equals: true, default: false, byAccountDefault: true },
    source: "https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html",
  },
  "aws:elasticache/replicationGroup:ReplicationGroup": {
    data: "storage",
    regionField: "region",
    atRest: { field: "atRestEncryptionEnabled", equals: true, default: false },
    inTransit: [{ field: "transitEncryptionEnabled", allowed: [true], default: false }],
  },
  "aws:elasticache/cluster:Cluster": {
    data: "storage",
    regionField: "region",
    atRest: { unsupported: "a standalone cache cluster has no at-rest encryption setting; use an aws.elasticache.ReplicationGroup with atRestEncryptionEnabled" },
    inTransit: [{ field: "transitEncryptionEnabled", allowed: [true], default: false }],
  },
  "aws:opensearch/domain:Domain": {
    data: "storage",
    regionField: "region",
    atRest: { field: "encryptAtRest.enabled", equals: true, default: false },
    inTransit: [
      { field: "nodeToNodeEncryption.enabled", allowed: [true], default: false },
      { field: "domainEndpointOptions.enforceHttps", allowed: [true], default: false },
    ],
  },
  "aws:msk/cluster:Cluster": {
    data: "storage",
    regionField: "region",
    atRest: { always: "https://docs.aws.amazon.com/msk/latest/developerguide/msk-encryption.html (always encrypted at rest)" },
    inTransit: [
      { field: "encryptionInfo.encryptionInTransit.clientBroker", allowed: ["TLS"], default: "TLS" },
      { field: "encryptionInfo.encryptionInTransit.inCluster", allowed: [true], default: true },
    ],
  },
  "aws:sqs/queue:Queue": { data: "storage", regionField: "region", atRest: { field: "sqsManagedSseEnabled", equals: true, default: true } },
  "aws:sns/topic:Topic": { data: "storage", regionField: "region", atRest: { fieldSet: "kmsMasterKeyId" }, source: "https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html (off unless a KMS key is set)" },
  "aws:sns/topicSubscription:TopicSubscription": { data: "setting", copies: [{ field: "endpoint", as: "arn" }] },
  "aws:docdb/cluster:Cluster": {
    data: "storage",
    regionField: "region",
    atRest: { field: "storageEncrypted", equals: true, default: false },
    retentionDays: { field: "backupRetentionPeriod", default: 1 },
  },
  "aws:docdb/clusterInstance:ClusterInstance": { data: "setting" },
  "aws:backup/vault:Vault": { data: "storage", regionField: "region", atRest: { always: "https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html" } },
  "aws:backup/plan:Plan": { data: "setting", copies: [{ field: "rules.*.copyActions.*.destinationVaultArn", as: "arn" }] },
  "aws:backup/selection:Selection": { data: "setting" },
  "aws:cloudfront/distribution:Distribution": { data: "compute", global: true, inTransit: "cloudfront" },
  "aws:lb/listener:Listener": { data: "setting", inTransit: "lb-listener" },
  "aws:lb/loadBalancer:LoadBalancer": { data: "compute", regionField: "region" },
  "aws:lb/targetGroup:TargetGroup": { data: "none" },
  "aws:eks/cluster:Cluster": { data: "compute", regionField: "region" },
  "aws:eks/nodeGroup:NodeGroup": { data: "compute", regionField: "region" },
  "aws:iam/role:Role": { data: "none" },
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": { data: "none" },
  "aws:kms/key:Key": { data: "none" },
  "aws:cloudwatch/metricAlarm:MetricAlarm": { data: "none" },
  "aws:ec2/securityGroup:SecurityGroup": { data: "none" },
  "aws:ec2/vpc:Vpc": { data: "none" },
  "aws:ec2/subnet:Subnet": { data: "none" },
  "aws:route53/record:Record": { data: "none" },
  "aws:route53/zone:Zone": { data: "none" },
  "aws:acm/certificate:Certificate": { data: "none" },

  // Azure
  "azure-native:resources:ResourceGroup": { data: "none" },
  "azure-native:network:VirtualNetwork": { data: "none" },
  "azure-native:network:NetworkSecurityGroup": { data: "none" },
  "azure-native:storage:StorageAccount": {
    data: "storage",
    regionField: "location",
    // In transit: minimumTlsVersion and enableHttpsTrafficOnly, checked in policy/encryption.ts against the configured minimum.
    atRest: { always: "https://learn.microsoft.com/azure/storage/common/storage-service-encryption (always on)" },
  },
  "azure-native:storage:BlobContainer": { data: "setting" },
  "azure-native:dbforpostgresql:Server": { data: "storage", regionField: "location", atRest: { always: "https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-data-encryption" } },
  "azure-native:dbforpostgresql:Configuration": { data: "setting" },
  "azure-native:dbformysql:Server": {
    data: "storage",
    regionField: "location",
    atRest: { always: "https://learn.microsoft.com/azure/mysql/flexible-server/concepts-customer-managed-key" },
    retentionDays: { field: "backup.backupRetentionDays", default: 7 },
  },
  "azure-native:dbformysql:Configuration": { data: "setting" },
  "azure-native:redis:Redis": {
    data: "storage",
    regionField: "location",
    atRest: { always: "https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-encryption" },
    inTransit: [
      { field: "enableNonSslPort", allowed: [false], default: false },
      { field: "minimumTlsVersion", allowed: ["1.2"], default: "1.2" },
    ],
  },
  "azure-native:compute:Disk": { data: "storage", regionField: "location", atRest: { always: "https://learn.microsoft.com/azure/virtual-machines/disk-encryption" } },
  "azure-native:monitor:MetricAlert": { data: "none" },
  "azure-native:containerservice:AgentPool": { data: "compute" },
  "azure-native:containerservice:ManagedCluster": { data: "compute", regionField: "location" },

  // DigitalOcean (no region in Thailand)
  "digitalocean:index/databaseCluster:DatabaseCluster": { data: "storage", regionField: "region", atRest: { always: "https://docs.digitalocean.com/products/databases/ (encrypted at rest, TLS enforced)" } },
  "digitalocean:index/databaseReplica:DatabaseReplica": { data: "storage", regionField: "region" },
  "digitalocean:index/databaseFirewall:DatabaseFirewall": { data: "none" },
  "digitalocean:index/volume:Volume": { data: "storage", regionField: "region", atRest: { always: "https://docs.digitalocean.com/products/volumes/details/features/ (encrypted at rest)" } },
  "digitalocean:index/spacesBucket:SpacesBucket": { data: "storage", regionField: "region", defaultRegion: "nyc3" },
  "digitalocean:index/droplet:Droplet": { data: "storage", regionField: "region" },
  "digitalocean:index/kubernetesCluster:KubernetesCluster": { data: "compute", regionField: "region" },
  "digitalocean:index/kubernetesNodePool:KubernetesNodePool": { data: "compute" },
  "digitalocean:index/firewall:Firewall": { data: "none" },
  "digitalocean:index/domain:Domain": { data: "none" },
  "digitalocean:index/dnsRecord:DnsRecord": { data: "none" },
  "digitalocean:index/vpc:Vpc": { data: "none" },
  "digitalocean:index/tag:Tag": { data: "none" },

  // Kubernetes: where the cluster is decides; these hold nothing of their own.
  "kubernetes:core/v1:Namespace": { data: "none" },
  "kubernetes:core/v1:Service": { data: "none" },
  "kubernetes:core/v1:ServiceAccount": { data: "none" },
  "kubernetes:networking.k8s.io/v1:NetworkPolicy": { data: "none" },
  "kubernetes:networking.k8s.io/v1:Ingress": { data: "none" },
  "kubernetes:rbac.authorization.k8s.io/v1:Role": { data: "none" },
  "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": { data: "none" },
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": { data: "none" },
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": { data: "none" },
  "kubernetes:core/v1:PersistentVolumeClaim": { data: "storage" },
  "kubernetes:core/v1:PersistentVolume": { data: "storage" },
  "kubernetes:core/v1:Secret": { data: "storage" },
  "kubernetes:apps/v1:StatefulSet": { data: "storage" },
  "kubernetes:apps/v1:Deployment": { data: "compute" },
  "kubernetes:core/v1:ConfigMap": { data: "compute" },
};

/**
 * Modules whose types hold data unless the table says otherwise: a type of these modules missing from
 * {@link COVERAGE} is reported (waris-coverage) and treated as storage by residency, never passed.
 */
export const DATA_MODULES: readonly string[] = [
  "aws:s3", "aws:s3control", "aws:rds", "aws:redshift", "aws:dynamodb", "aws:efs", "aws:ebs", "aws:elasticache", "aws:memorydb",
  "aws:opensearch", "aws:elasticsearch", "aws:msk", "aws:sqs", "aws:sns", "aws:docdb", "aws:neptune", "aws:backup", "aws:kinesis",
  "aws:fsx", "aws:glacier", "aws:secretsmanager", "aws:dax", "aws:timestreamwrite", "aws:keyspaces", "aws:cloudfront",
  "azure-native:storage", "azure-native:dbforpostgresql", "azure-native:dbformysql", "azure-native:sql", "azure-native:documentdb",
  "azure-native:redis", "azure-native:compute", "azure-native:keyvault", "azure-native:servicebus", "azure-native:eventhub",
  "digitalocean:index",
];

/** Where a type stands in the table: its entry, or `uncovered` for a type of a data module the table misses. */
export type Coverage = { readonly known: true; readonly entry: TypeCoverage } | { readonly known: false; readonly dataModule: boolean };

/** The module of a type token: `aws:s3/bucket:Bucket` → `aws:s3`, `azure-native:storage:StorageAccount` → `azure-native:storage`. */
export function moduleOf(type: string): string {
  const [pkg, mod] = type.split(":");
  return `${pkg}:${(mod ?? "").split("/")[0]}`;
}

/** The table's entry for a type, or whether an unknown type belongs to a data module. */
export function coverageOf(type: string): Coverage {
  const entry = COVERAGE[type];
  if (entry) return { known: true, entry };
  return { known: false, dataModule: DATA_MODULES.includes(moduleOf(type)) };
}

/** All values at a dotted path (`*` expands arrays); a missing step gives `undefined` once. Unknown values throw (the proxy's UnknownValueError). */
export function valuesAt(obj: unknown, path: string): unknown[] {
  let current: unknown[] = [obj];
  for (const key of path.split(".")) {
    const next: unknown[] = [];
    for (const value of current) {
      if (key === "*") {
        if (Array.isArray(value)) next.push(...value);
        continue;
      }
      next.push(value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined);
    }
    current = next;
  }
  return current;
}
