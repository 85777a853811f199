import * as pulumi from "@pulumi/pulumi";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { DATASET_TAG, DataClass, LAG_ALERT_FOR_TAG, REPLICA_OF_TAG, placementTags } from "./labels";
import { AZURE_REPLICATION_DELAY_METRIC, DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND, DIGITALOCEAN_BACKUP_DAYS, RDS_LOG_UPLOAD_MINUTES, STANDBY_PROMOTION_MINUTES, estimatedRtoMinutes } from "./recovery";
import { loadOptionalSdk } from "./optional-sdk";
import { describeThaiRegions, isRegionInThailand } from "./residency";
import { Site, SiteSpec } from "./site";

/** Arguments of {@link ManagedPostgres}. */
export interface ManagedPostgresArgs {
  /**
   * The cloud site: AWS (RDS), Azure (Database for PostgreSQL flexible server) or DigitalOcean (managed
   * database cluster). A managed database holds data, so its region must be in Thailand by the residency
   * table (`THAI_REGIONS`): today only AWS `ap-southeast-7` is. Azure and DigitalOcean are built and
   * tested, and refused until the table lists a Thai region of theirs.
   */
  readonly site: Site;
  /**
   * Instance size. Defaults: AWS `db.r6g.xlarge`, Azure `Standard_D4ds_v5` (General Purpose),
   * DigitalOcean `db-s-2vcpu-4gb`.
   */
  readonly instanceClass?: string;
  /** Major PostgreSQL version. Default `17`. */
  readonly engineVersion?: string;
  /**
   * Storage, GiB. Default 100 on AWS (at least 20), 128 on Azure (one of its sizes, 32 to 32767);
   * DigitalOcean: the size's own storage unless set.
   */
  readonly allocatedStorageGiB?: number;
  /** AWS: storage autoscaling ceiling, GiB. Default: 4 × `allocatedStorageGiB`. Azure grows storage itself. */
  readonly maxAllocatedStorageGiB?: number;
  /** Read replicas in the same region, promotable on failure. Default 1. */
  readonly readReplicas?: number;
  /** A synchronous standby in another availability zone (DigitalOcean: a standby node). Default true. */
  readonly multiAz?: boolean;
  /**
   * Days automated backups (and point-in-time recovery) are kept. Default 30. AWS and Azure keep 1-35
   * (Azure at least 7); DigitalOcean keeps 7 days, fixed, so only 7 is accepted there.
   */
  readonly backupRetentionDays?: number;
  /** AWS: DB subnet group (private subnets). Required on AWS. */
  readonly subnetGroupName?: pulumi.Input<string>;
  /** AWS: security groups of the instances. Required on AWS. */
  readonly securityGroupIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** Azure: resource group of the servers. Required on Azure. */
  readonly resourceGroupName?: pulumi.Input<string>;
  /** Azure: subnet delegated to `Microsoft.DBforPostgreSQL/flexibleServers` (private access only). Required on Azure. */
  readonly delegatedSubnetId?: pulumi.Input<string>;
  /** Azure: private DNS zone the servers register in. Required on Azure. */
  readonly privateDnsZoneId?: pulumi.Input<string>;
  /** DigitalOcean: VPC of the cluster and its replicas. Default: the region's default VPC. */
  readonly privateNetworkUuid?: pulumi.Input<string>;
  /** Master user. Default `waris`. DigitalOcean creates `doadmin` itself and ignores it. */
  readonly username?: string;
  /** Master password (a Pulumi secret). Required on AWS and Azure; DigitalOcean generates its own. */
  readonly password?: pulumi.Input<string>;
  /** AWS: KMS key for storage encryption. Default: the account's RDS key (still AES-256). */
  readonly kmsKeyId?: pulumi.Input<string>;
  /** Replica lag above which the alarm fires, seconds. Default 60. */
  readonly replicationLagTargetSeconds?: number;
  /**
   * Where lag alarms notify: SNS topic ARNs on AWS, action group ids on Azure. Default none: the alarm
   * state is visible in CloudWatch / Azure Monitor.
   */
  readonly alarmActions?: pulumi.Input<pulumi.Input<string>[]>;
  /** Restore throughput for the RTO estimate without replicas, MiB/s. Default 100. */
  readonly restoreThroughputMiBPerSecond?: number;
  /** Class of the data. Default `confidential`. */
  readonly dataClass?: DataClass;
}

/** Managed database kinds of site. */
const MANAGED_KINDS = ["aws", "azure", "digitalocean"] as const;

/** Storage sizes an Azure flexible server can have, GiB. */
export const AZURE_POSTGRES_STORAGE_GIB = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767] as const;

/** Storage of a managed database, GiB: as given, else the cloud's default (DigitalOcean's size sets its own; 100 stands in for estimates). */
function storageGiB(kind: string, args: Pick<ManagedPostgresArgs, "allocatedStorageGiB">): number {
  return args.allocatedStorageGiB ?? (kind === "azure" ? 128 : 100);
}

const whole = (n: unknown, min: number, max = Infinity): boolean => typeof n === "number" && Number.isInteger(n) && n >= min && n <= max;

/** What {@link validateManagedPostgresArgs} needs besides the site: which of the cloud-specific inputs are given. */
export type ManagedPostgresSettings = Omit<ManagedPostgresArgs, "site" | "subnetGroupName" | "securityGroupIds" | "password" | "kmsKeyId" | "resourceGroupName" | "delegatedSubnetId" | "privateDnsZoneId" | "privateNetworkUuid" | "alarmActions"> & {
  /** Whether these inputs were given. */
  readonly given?: Partial<Record<"subnetGroupName" | "securityGroupIds" | "password" | "resourceGroupName" | "delegatedSubnetId" | "privateDnsZoneId", boolean>>;
};

/** Every problem with the arguments (pure). */
export function validateManagedPostgresArgs(site: SiteSpec, args: ManagedPostgresSettings): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  const kind = site.kind;
  if (!(MANAGED_KINDS as readonly string[]).includes(kind)) {
    add("site", `"${site.name}" is ${kind}; use PostgresCluster (CloudNativePG) on Kubernetes sites`);
    return problems;
  }
  if (!isRegionInThailand(kind, site.region) || site.country !== "TH") {
    add("site", `"${site.name}" is in ${kind} ${site.region}, outside Thailand; a managed database holds data, so it needs a Thai region: ${describeThaiRegions(kind)}`);
  }
  const given = args.given ?? {};
  const required: Record<(typeof MANAGED_KINDS)[number], ReadonlyArray<keyof NonNullable<ManagedPostgresSettings["given"]>>> = {
    aws: ["subnetGroupName", "securityGroupIds", "password"],
    azure: ["resourceGroupName", "delegatedSubnetId", "privateDnsZoneId", "password"],
    digitalocean: [],
  };
  for (const input of required[kind as (typeof MANAGED_KINDS)[number]]) {
    if (given[input] === false) add(input, `is required on ${kind}`);
  }
  const retention = args.backupRetentionDays ?? 30;
  if (kind === "aws" && !whole(retention, 1, 35)) add("backupRetentionDays", `is ${show(retention)}; RDS keeps 1 to 35 days`);
  if (kind === "azure" && !whole(retention, 7, 35)) add("backupRetentionDays", `is ${show(retention)}; an Azure flexible server keeps 7 to 35 days`);
  if (kind === "digitalocean" && args.backupRetentionDays !== DIGITALOCEAN_BACKUP_DAYS) {
    add("backupRetentionDays", `is ${show(args.backupRetentionDays)}; DigitalOcean keeps backups ${DIGITALOCEAN_BACKUP_DAYS} days, fixed: set ${DIGITALOCEAN_BACKUP_DAYS} to accept that (longer retention needs dumps to a Thai store, which this component does not make)`);
  }
  const storage = storageGiB(kind, args);
  if (kind === "aws" && !whole(storage, 20)) add("allocatedStorageGiB", `is ${show(storage)}; at least 20 GiB`);
  if (kind === "azure" && !(AZURE_POSTGRES_STORAGE_GIB as readonly number[]).includes(storage)) add("allocatedStorageGiB", `is ${show(storage)}; an Azure flexible server has ${AZURE_POSTGRES_STORAGE_GIB.join(", ")} GiB`);
  if (kind === "digitalocean" && args.allocatedStorageGiB !== undefined && !whole(args.allocatedStorageGiB, 10)) add("allocatedStorageGiB", `is ${show(args.allocatedStorageGiB)}; a whole number of GiB, at least 10`);
  if (args.maxAllocatedStorageGiB !== undefined) {
    if (kind !== "aws") add("maxAllocatedStorageGiB", `applies to AWS only; ${kind} grows storage by its own rules`);
    else if (!(whole(args.maxAllocatedStorageGiB, 20) && args.maxAllocatedStorageGiB >= storage)) add("maxAllocatedStorageGiB", `is ${show(args.maxAllocatedStorageGiB)}; at least allocatedStorageGiB (${storage})`);
  }
  if (!whole(args.readReplicas ?? 1, 0, 5)) add("readReplicas", `is ${show(args.readReplicas)}; 0 to 5`);
  const lag = args.replicationLagTargetSeconds ?? 60;
  if (!(typeof lag === "number" && lag > 0)) add("replicationLagTargetSeconds", `is ${show(lag)}; must be positive`);
  return problems;
}

/**
 * A managed PostgreSQL primary with promotable read replicas in the same Thai region, encrypted at rest,
 * TLS enforced, point-in-time recovery, and a lag alarm per replica:
 *
 * - AWS: RDS, storage encrypted (KMS, AES-256), a parameter group forcing TLS 1.3, Multi-AZ, 30 days of
 *   PITR, CloudWatch `ReplicaLag` alarms.
 * - Azure: a flexible server with private access only, service-managed AES-256 encryption, geo-redundant
 *   backup off (it would copy the data to the paired region, abroad), `require_secure_transport` and TLS
 *   1.3, zone-redundant HA, read replicas, Azure Monitor alerts on `physical_replication_delay_in_seconds`.
 * - DigitalOcean: a database cluster (always encrypted at rest, TLS always required) with a standby node
 *   and `DatabaseReplica`s. DigitalOcean offers no replica-lag alert through its API, and keeps backups 7 days.
 */
export class ManagedPostgres extends pulumi.ComponentResource {
  /** Host of the primary. */
  readonly endpoint: pulumi.Output<string>;
  /** Hosts of the read replicas. */
  readonly replicaEndpoints: pulumi.Output<string>[];
  /** Worst-case RPO, minutes: the managed service ships transaction logs every 5 minutes. */
  readonly rpoMinutes: number;
  /** Estimated RTO, minutes: promote a replica, or restore without one. */
  readonly rtoMinutes: number;

  /**
   * @param name - server/instance name prefix, e.g. `waris-pg`.
   * @param args - see {@link ManagedPostgresArgs}.
   * @param opts - component options.
   */
  constructor(name: string, args: ManagedPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    const given = Object.fromEntries(
      (["subnetGroupName", "securityGroupIds", "password", "resourceGroupName", "delegatedSubnetId", "privateDnsZoneId"] as const).map((k) => [k, args[k] !== undefined]),
    );
    throwIfInvalid(`ManagedPostgres "${name}"`, validateManagedPostgresArgs(args.site.spec, { ...args, given }));
    super("waris:index:ManagedPostgres", name, {}, opts);
    const kind = args.site.spec.kind;
    const replicas = args.readReplicas ?? 1;
    this.rpoMinutes = RDS_LOG_UPLOAD_MINUTES;
    this.rtoMinutes =
      replicas > 0 || args.multiAz !== false
        ? STANDBY_PROMOTION_MINUTES
        : estimatedRtoMinutes({ datasetSizeGiB: storageGiB(kind, args), restoreThroughputMiBPerSecond: args.restoreThroughputMiBPerSecond ?? DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND });
    const built = kind === "aws" ? this.rds(name, args) : kind === "azure" ? this.azureFlexibleServer(name, args) : this.digitaloceanCluster(name, args);
    this.endpoint = built.endpoint;
    this.replicaEndpoints = built.replicaEndpoints;
    this.registerOutputs({ endpoint: this.endpoint, replicaEndpoints: this.replicaEndpoints, rpoMinutes: this.rpoMinutes, rtoMinutes: this.rtoMinutes });
  }

  private rds(name: string, args: ManagedPostgresArgs): { endpoint: pulumi.Output<string>; replicaEndpoints: pulumi.Output<string>[] } {
    // The Site of kind aws loaded @pulumi/aws already (an optional peer dependency); these are its modules.
    const rds = loadOptionalSdk<typeof import("@pulumi/aws/rds")>("@pulumi/aws", "rds", `ManagedPostgres "${name}"`);
    const { MetricAlarm } = loadOptionalSdk<typeof import("@pulumi/aws/cloudwatch/metricAlarm")>("@pulumi/aws", "cloudwatch/metricAlarm", `ManagedPostgres "${name}"`);
    const o = { parent: this, provider: args.site.awsProvider };
    const version = args.engineVersion ?? "17";
    const storage = storageGiB("aws", args);
    const tags = { ...placementTags(args.site.spec.name, args.dataClass ?? "confidential"), [DATASET_TAG]: name };
    const parameters = new rds.ParameterGroup(
      name,
      {
        name: `${name}-pg${version}`,
        family: `postgres${version}`,
        parameters: [
          { name: "rds.force_ssl", value: "1" },
          { name: "ssl_min_protocol_version", value: "TLSv1.3" },
        ],
        tags,
      },
      o,
    );
    const common = {
      instanceClass: args.instanceClass ?? "db.r6g.xlarge",
      storageType: "gp3",
      storageEncrypted: true,
      kmsKeyId: args.kmsKeyId,
      parameterGroupName: parameters.name,
      vpcSecurityGroupIds: args.securityGroupIds,
      publiclyAccessible: false,
      copyTagsToSnapshot: true,
      deletionProtection: true,
      tags,
    };
    const primary = new rds.Instance(
      name,
      {
        ...common,
        identifier: name,
        engine: "postgres",
        engineVersion: version,
        allocatedStorage: storage,
        maxAllocatedStorage: args.maxAllocatedStorageGiB ?? storage * 4,
        dbSubnetGroupName: args.subnetGroupName,
        multiAz: args.multiAz ?? true,
        backupRetentionPeriod: args.backupRetentionDays ?? 30,
        username: args.username ?? "waris",
        password: pulumi.secret(args.password!),
        finalSnapshotIdentifier: `${name}-final`,
      },
      o,
    );
    const replicaEndpoints = Array.from({ length: args.readReplicas ?? 1 }, (_, i) => {
      // A replica names its source by identifier: the literal name keeps the link known during a preview.
      const id = `${name}-replica-${i + 1}`;
      const replica = new rds.Instance(id, { ...common, identifier: id, replicateSourceDb: name, skipFinalSnapshot: true }, { ...o, dependsOn: [primary] });
      // RDS reports replica lag to CloudWatch, not Prometheus.
      new MetricAlarm(
        `${id}-lag`,
        {
          namespace: "AWS/RDS",
          metricName: "ReplicaLag",
          dimensions: { DBInstanceIdentifier: id },
          statistic: "Maximum",
          period: 60,
          evaluationPeriods: 2,
          comparisonOperator: "GreaterThanThreshold",
          threshold: args.replicationLagTargetSeconds ?? 60,
          treatMissingData: "breaching",
          alarmDescription: `PostgreSQL ${name}: replica ${id} more than ${args.replicationLagTargetSeconds ?? 60} s behind`,
          alarmActions: args.alarmActions,
          tags,
        },
        { ...o, dependsOn: [replica] },
      );
      return replica.address;
    });
    return { endpoint: primary.address, replicaEndpoints };
  }

  private azureFlexibleServer(name: string, args: ManagedPostgresArgs): { endpoint: pulumi.Output<string>; replicaEndpoints: pulumi.Output<string>[] } {
    const flexible = loadOptionalSdk<typeof import("@pulumi/azure-native/dbforpostgresql")>("@pulumi/azure-native", "dbforpostgresql", `ManagedPostgres "${name}"`);
    const { MetricAlert } = loadOptionalSdk<typeof import("@pulumi/azure-native/monitor/metricAlert")>("@pulumi/azure-native", "monitor/metricAlert", `ManagedPostgres "${name}"`);
    const o = { parent: this, provider: args.site.azureProvider };
    const tags = { ...placementTags(args.site.spec.name, args.dataClass ?? "confidential"), [DATASET_TAG]: name };
    const common = {
      resourceGroupName: args.resourceGroupName!,
      location: args.site.spec.region,
      sku: { name: args.instanceClass ?? "Standard_D4ds_v5", tier: "GeneralPurpose" },
      storage: { storageSizeGB: storageGiB("azure", args), autoGrow: "Enabled" },
      // Private access only: the servers live in a delegated subnet, reached through the private DNS zone.
      network: { publicNetworkAccess: "Disabled", delegatedSubnetResourceId: args.delegatedSubnetId, privateDnsZoneArmResourceId: args.privateDnsZoneId },
      // Service-managed keys: AES-256 at rest, as for every flexible server; stated so the pack can see it.
      dataEncryption: { type: "SystemManaged" },
      tags,
    };
    const primary = new flexible.Server(
      name,
      {
        ...common,
        serverName: name,
        createMode: "Create",
        version: args.engineVersion ?? "17",
        administratorLogin: args.username ?? "waris",
        administratorLoginPassword: pulumi.secret(args.password!),
        // Geo-redundant backup copies the backups to the paired region, which is in another country.
        backup: { backupRetentionDays: args.backupRetentionDays ?? 30, geoRedundantBackup: "Disabled" },
        highAvailability: { mode: args.multiAz === false ? "Disabled" : "ZoneRedundant" },
      },
      o,
    );
    const tls = [
      ["require_secure_transport", "on"],
      ["ssl_min_protocol_version", "TLSv1.3"],
    ].map(
      ([parameter, value]) =>
        new flexible.Configuration(`${name}-${parameter!.replace(/_/g, "-")}`, { resourceGroupName: args.resourceGroupName!, serverName: name, configurationName: parameter, value, source: "user-defined" }, { ...o, dependsOn: [primary] }),
    );
    const replicaEndpoints = Array.from({ length: args.readReplicas ?? 1 }, (_, i) => {
      const id = `${name}-replica-${i + 1}`;
      // A replica copies its source's server parameters (TLS included) and follows it by resource id.
      const replica = new flexible.Server(
        id,
        { ...common, serverName: id, createMode: "Replica", sourceServerResourceId: primary.id, tags: { ...tags, [REPLICA_OF_TAG]: name } },
        { ...o, dependsOn: [primary, ...tls] },
      );
      new MetricAlert(
        `${id}-lag`,
        {
          resourceGroupName: args.resourceGroupName!,
          ruleName: `${id}-lag`,
          location: "global",
          scopes: [replica.id],
          severity: 2,
          enabled: true,
          evaluationFrequency: "PT1M",
          windowSize: "PT5M",
          description: `PostgreSQL ${name}: replica ${id} more than ${args.replicationLagTargetSeconds ?? 60} s behind`,
          criteria: {
            odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
            allOf: [
              {
                criterionType: "StaticThresholdCriterion",
                name: "replication-delay",
                metricName: AZURE_REPLICATION_DELAY_METRIC,
                operator: "GreaterThan",
                threshold: args.replicationLagTargetSeconds ?? 60,
                timeAggregation: "Maximum",
              },
            ],
          },
          actions: pulumi.output(args.alarmActions ?? []).apply((ids) => ids.map((actionGroupId) => ({ actionGroupId }))),
          tags: { ...tags, [LAG_ALERT_FOR_TAG]: id },
        },
        { ...o, dependsOn: [replica] },
      );
      return replica.fullyQualifiedDomainName;
    });
    return { endpoint: primary.fullyQualifiedDomainName, replicaEndpoints };
  }

  private digitaloceanCluster(name: string, args: ManagedPostgresArgs): { endpoint: pulumi.Output<string>; replicaEndpoints: pulumi.Output<string>[] } {
    const { DatabaseCluster } = loadOptionalSdk<typeof import("@pulumi/digitalocean/databaseCluster")>("@pulumi/digitalocean", "databaseCluster", `ManagedPostgres "${name}"`);
    const { DatabaseReplica } = loadOptionalSdk<typeof import("@pulumi/digitalocean/databaseReplica")>("@pulumi/digitalocean", "databaseReplica", `ManagedPostgres "${name}"`);
    const o = { parent: this, provider: args.site.digitaloceanProvider };
    // DigitalOcean tags are plain strings: `key:value` carries the placement facts.
    const tags = Object.entries({ ...placementTags(args.site.spec.name, args.dataClass ?? "confidential"), [DATASET_TAG]: name }).map(([k, v]) => `${k}:${v}`);
    const size = args.instanceClass ?? "db-s-2vcpu-4gb";
    const storageSizeMib = args.allocatedStorageGiB !== undefined ? String(args.allocatedStorageGiB * 1024) : undefined;
    const cluster = new DatabaseCluster(
      name,
      {
        name,
        engine: "pg",
        version: args.engineVersion ?? "17",
        size,
        region: args.site.spec.region,
        // A second node is DigitalOcean's standby, failed over to automatically.
        nodeCount: args.multiAz === false ? 1 : 2,
        storageSizeMib,
        privateNetworkUuid: args.privateNetworkUuid,
        tags,
      },
      o,
    );
    const replicaEndpoints = Array.from({ length: args.readReplicas ?? 1 }, (_, i) => {
      const id = `${name}-replica-${i + 1}`;
      const replica = new DatabaseReplica(
        id,
        { clusterId: cluster.id, name: id, region: args.site.spec.region, size, storageSizeMib, privateNetworkUuid: args.privateNetworkUuid, tags: [...tags, `${REPLICA_OF_TAG}:${name}`] },
        { ...o, dependsOn: [cluster] },
      );
      return replica.privateHost;
    });
    return { endpoint: cluster.privateHost, replicaEndpoints };
  }
}
