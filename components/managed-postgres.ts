import * as pulumi from "@pulumi/pulumi";
import * as rds from "@pulumi/aws/rds";
import { MetricAlarm } from "@pulumi/aws/cloudwatch/metricAlarm";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { DATASET_TAG, DataClass, placementTags } from "./labels";
import { DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND, RDS_LOG_UPLOAD_MINUTES, STANDBY_PROMOTION_MINUTES, estimatedRtoMinutes } from "./recovery";
import { describeThaiRegions, isRegionInThailand } from "./residency";
import { Site, SiteSpec } from "./site";

/** Arguments of {@link ManagedPostgres}. */
export interface ManagedPostgresArgs {
  /**
   * The cloud site. Only AWS `ap-southeast-7` (Bangkok) can hold data here: Azure and DigitalOcean have
   * no Thai region, so their managed databases are refused.
   */
  readonly site: Site;
  /** Instance class. Default `db.r6g.xlarge`. */
  readonly instanceClass?: string;
  /** Major PostgreSQL version. Default `17`. */
  readonly engineVersion?: string;
  /** Storage, GiB. Default 100. */
  readonly allocatedStorageGiB?: number;
  /** Storage autoscaling ceiling, GiB. Default: 4 × `allocatedStorageGiB`. */
  readonly maxAllocatedStorageGiB?: number;
  /** Read replicas in the same region, promotable on failure. Default 1. */
  readonly readReplicas?: number;
  /** A synchronous standby in another availability zone. Default true. */
  readonly multiAz?: boolean;
  /** Days automated backups (and point-in-time recovery) are kept, 1 to 35. Default 30. */
  readonly backupRetentionDays?: number;
  /** DB subnet group (private subnets). */
  readonly subnetGroupName: pulumi.Input<string>;
  /** Security groups of the instances. */
  readonly securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Master user. Default `waris`. */
  readonly username?: string;
  /** Master password (a Pulumi secret). */
  readonly password: pulumi.Input<string>;
  /** KMS key for storage encryption. Default: the account's RDS key (still AES-256). */
  readonly kmsKeyId?: pulumi.Input<string>;
  /** Replica lag above which the CloudWatch alarm fires, seconds. Default 60. */
  readonly replicationLagTargetSeconds?: number;
  /** SNS topics (ARNs) the lag alarms notify. Default none: the alarm state is visible in CloudWatch. */
  readonly alarmActions?: pulumi.Input<pulumi.Input<string>[]>;
  /** Restore throughput for the RTO estimate without replicas, MiB/s. Default 100. */
  readonly restoreThroughputMiBPerSecond?: number;
  /** Class of the data. Default `confidential`. */
  readonly dataClass?: DataClass;
}

const whole = (n: unknown, min: number, max = Infinity): boolean => typeof n === "number" && Number.isInteger(n) && n >= min && n <= max;

/** Every problem with the arguments (pure). */
export function validateManagedPostgresArgs(site: SiteSpec, args: Omit<ManagedPostgresArgs, "site" | "subnetGroupName" | "securityGroupIds" | "password" | "kmsKeyId">): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  if (site.kind === "azure" || site.kind === "digitalocean") {
    add("site", `"${site.name}" is ${site.kind}, which has ${describeThaiRegions(site.kind)}; a managed database holds data, so only AWS ap-southeast-7 can host it`);
  } else if (site.kind !== "aws") {
    add("site", `"${site.name}" is ${site.kind}; use PostgresCluster (CloudNativePG) on Kubernetes sites`);
  } else if (!isRegionInThailand("aws", site.region)) {
    add("site", `"${site.name}" is in AWS ${site.region}, outside Thailand; use ${describeThaiRegions("aws")}`);
  }
  const retention = args.backupRetentionDays ?? 30;
  if (!whole(retention, 1, 35)) add("backupRetentionDays", `is ${show(retention)}; RDS keeps 1 to 35 days`);
  const storage = args.allocatedStorageGiB ?? 100;
  if (!whole(storage, 20)) add("allocatedStorageGiB", `is ${show(storage)}; at least 20 GiB`);
  if (args.maxAllocatedStorageGiB !== undefined && !(whole(args.maxAllocatedStorageGiB, 20) && args.maxAllocatedStorageGiB >= storage)) {
    add("maxAllocatedStorageGiB", `is ${show(args.maxAllocatedStorageGiB)}; at least allocatedStorageGiB (${storage})`);
  }
  if (!whole(args.readReplicas ?? 1, 0, 5)) add("readReplicas", `is ${show(args.readReplicas)}; 0 to 5`);
  return problems;
}

/**
 * PostgreSQL as Amazon RDS in Bangkok (`ap-southeast-7`): encrypted storage, TLS 1.3 forced by its
 * parameter group, Multi-AZ, point-in-time recovery kept 30 days, and read replicas that can be promoted.
 */
export class ManagedPostgres extends pulumi.ComponentResource {
  /** Host of the primary. */
  readonly endpoint: pulumi.Output<string>;
  /** Hosts of the read replicas. */
  readonly replicaEndpoints: pulumi.Output<string>[];
  /** Worst-case RPO, minutes: RDS ships transaction logs every 5 minutes. */
  readonly rpoMinutes: number;
  /** Estimated RTO, minutes: promote a replica, or restore without one. */
  readonly rtoMinutes: number;

  /**
   * @param name - instance identifier prefix, e.g. `waris-pg`.
   * @param args - see {@link ManagedPostgresArgs}.
   * @param opts - component options.
   */
  constructor(name: string, args: ManagedPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    throwIfInvalid(`ManagedPostgres "${name}"`, validateManagedPostgresArgs(args.site.spec, args));
    super("waris:index:ManagedPostgres", name, {}, opts);
    const o = { parent: this, provider: args.site.awsProvider };
    const version = args.engineVersion ?? "17";
    const storage = args.allocatedStorageGiB ?? 100;
    const replicas = args.readReplicas ?? 1;
    const tags = { ...placementTags(args.site.spec.name, args.dataClass ?? "confidential"), [DATASET_TAG]: name };
    this.rpoMinutes = RDS_LOG_UPLOAD_MINUTES;
    this.rtoMinutes =
      replicas > 0 || args.multiAz !== false
        ? STANDBY_PROMOTION_MINUTES
        : estimatedRtoMinutes({ datasetSizeGiB: storage, restoreThroughputMiBPerSecond: args.restoreThroughputMiBPerSecond ?? DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND });

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
        password: pulumi.secret(args.password),
        finalSnapshotIdentifier: `${name}-final`,
      },
      o,
    );
    this.endpoint = primary.address;
    this.replicaEndpoints = Array.from({ length: replicas }, (_, i) => {
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
    this.registerOutputs({ endpoint: this.endpoint, replicaEndpoints: this.replicaEndpoints, rpoMinutes: this.rpoMinutes, rtoMinutes: this.rtoMinutes });
  }
}
