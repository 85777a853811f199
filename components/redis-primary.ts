import * as pulumi from "@pulumi/pulumi";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as appsv1 from "@pulumi/kubernetes/apps/v1";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import { BackupScheduleValidation, RecoveryReport, datasetBackupCronJob } from "./backup-schedule";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { DATASET_LABEL, DATASET_SIZE_ANNOTATION, DataClass, STORE_LABEL, placementLabels } from "./labels";
import { SharedCertificateAuthority } from "./pki";
import { POD_DEFAULTS } from "./pod-defaults";
import { CronSchedule, DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND, estimatedRtoMinutes, longestGapMinutes, parseCron } from "./recovery";
import { isRegionInThailand } from "./residency";
import { KUBECONFIG_SITE_KINDS, Site, SiteSpec } from "./site";
import { DEFAULT_STORE_ENCRYPTION, awsCliSseArgs } from "./store-encryption";

/** Pinned images. */
export const REDIS_IMAGES = {
  /** Redis server and `redis-cli`. */
  redis: "redis:7.4.5-alpine",
  /** Uploads the dump to the object store. */
  awsCli: "amazon/aws-cli:2.27.50",
} as const;

/** Arguments of {@link RedisPrimary}. */
export interface RedisPrimaryArgs {
  /** The active site: Redis runs there only (the seed keeps no replica). */
  readonly site: Site;
  /** Password clients authenticate with (a Pulumi secret). */
  readonly password: pulumi.Input<string>;
  /** Site whose object store keeps the dumps. */
  readonly backupSite: Site;
  /** Bucket for the dumps (created by `ObjectStorageBucket` with `expireObjectsAfterDays`). */
  readonly backupBucket: string;
  /** 5-field cron of the dumps (UTC). Default hourly, `0 * * * *`: the dump interval is the RPO. */
  readonly backupSchedule?: string;
  /** Days dumps are kept (the bucket's expiry). Default 30. */
  readonly backupRetentionDays?: number;
  /** Memory limit, GiB (maxmemory is 90 % of it). Default 4. */
  readonly memoryGiB?: number;
  /** Volume for the AOF and dumps, GiB. Default 20. */
  readonly storageSizeGiB?: number;
  /** Namespace. Default `waris-redis`. */
  readonly namespace?: string;
  /** Restore throughput for the RTO estimate, MiB/s. Default 100. */
  readonly restoreThroughputMiBPerSecond?: number;
  /** Class of the data (sessions are personal data). Default `personal`. */
  readonly dataClass?: DataClass;
}

/** Every problem with the arguments (pure), and the parsed schedule when it is valid. */
export function validateRedisPrimaryArgs(
  site: SiteSpec,
  backupSite: SiteSpec & { readonly hasObjectStore: boolean },
  args: Omit<RedisPrimaryArgs, "site" | "backupSite" | "password">,
): BackupScheduleValidation {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  if (!(KUBECONFIG_SITE_KINDS as readonly string[]).includes(site.kind)) add("site", `"${site.name}" is ${site.kind}; Redis runs on the onprem/gcloud Kubernetes sites`);
  if (!isRegionInThailand(site.kind, site.region) || site.country !== "TH") add("site", `"${site.name}" is outside Thailand`);
  if (!backupSite.hasObjectStore) add("backupSite", `"${backupSite.name}" has no S3-compatible object store`);
  let cron: CronSchedule | undefined;
  try {
    cron = parseCron(args.backupSchedule ?? "0 * * * *");
  } catch (e) {
    add("backupSchedule", `of Redis: ${(e as Error).message}`);
  }
  for (const [field, value, min] of [["backupRetentionDays", args.backupRetentionDays, 1], ["memoryGiB", args.memoryGiB, 1], ["storageSizeGiB", args.storageSizeGiB, 1]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= min)) add(field, `is ${show(value)}; must be a whole number of at least ${min}`);
  }
  return { problems, cron };
}

/**
 * The estimated RTO of Redis, minutes (pure): restoring a dump the size of its memory (default 4 GiB) at
 * the throughput (default 100 MiB/s), plus the fixed overhead. {@link RedisPrimary.rtoMinutes}.
 */
export function redisRtoMinutes(args: Pick<RedisPrimaryArgs, "memoryGiB" | "restoreThroughputMiBPerSecond">): number {
  return estimatedRtoMinutes({ datasetSizeGiB: args.memoryGiB ?? 4, restoreThroughputMiBPerSecond: args.restoreThroughputMiBPerSecond ?? DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND });
}

/**
 * Redis on the active site, as the seed has it: one primary with AOF persistence (fsync every second),
 * password authentication and TLS only. A CronJob dumps it (RDB) to the Thai object store on a schedule
 * (hourly by default: the RPO when the site is lost); the bucket expires old dumps.
 */
export class RedisPrimary extends pulumi.ComponentResource {
  /** Host applications connect to (TLS, port 6379). */
  readonly endpoint: string;
  /** Secret with the password (`REDIS_PASSWORD`). */
  readonly passwordSecretName: string;
  /** Worst-case RPO when the site is lost, minutes: the longest gap between dumps. */
  readonly rpoMinutes: number;
  /** Estimated RTO, minutes: restore the last dump. */
  readonly rtoMinutes: number;
  /** The dataset's recovery posture, for the stack's `recovery` output. */
  readonly report: RecoveryReport;

  /**
   * @param name - dataset name, e.g. `waris-redis`.
   * @param args - see {@link RedisPrimaryArgs}.
   * @param opts - component options.
   */
  constructor(name: string, args: RedisPrimaryArgs, opts?: pulumi.ComponentResourceOptions) {
    const { problems, cron } = validateRedisPrimaryArgs(args.site.spec, { ...args.backupSite.spec, hasObjectStore: args.backupSite.objectStoreAccess !== undefined }, args);
    throwIfInvalid(`RedisPrimary "${name}"`, problems);
    super("waris:index:RedisPrimary", name, {}, opts);
    const namespace = args.namespace ?? "waris-redis";
    const siteName = args.site.spec.name;
    const memoryGiB = args.memoryGiB ?? 4;
    const retention = args.backupRetentionDays ?? 30;
    const schedule = args.backupSchedule ?? "0 * * * *";
    this.endpoint = `${name}.${namespace}.svc.cluster.local`;
    this.passwordSecretName = `${name}-auth`;
    this.rpoMinutes = longestGapMinutes([cron!]);
    this.rtoMinutes = redisRtoMinutes(args);
    this.report = {
      dataset: name,
      kind: "redis",
      rpoMinutes: this.rpoMinutes,
      rtoMinutes: this.rtoMinutes,
      retention: `${retention} days`,
      method: `RDB dump (${schedule}) + AOF on the primary`,
      schedule,
      location: `s3://${args.backupBucket}/${name}/ on ${args.backupSite.spec.name}`,
    };

    const o = { parent: this, provider: args.site.kubernetesProvider };
    const labels = { ...placementLabels(siteName, args.dataClass ?? "personal"), [DATASET_LABEL]: name };
    const selector = { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": name };
    const meta = (n: string, extra: Record<string, string> = {}) => ({ name: n, namespace, labels: { ...labels, ...extra } });
    new corev1.Namespace(`${name}-ns`, { metadata: { name: namespace, labels } }, o);
    new corev1.Secret(`${name}-auth`, { metadata: meta(this.passwordSecretName), stringData: { REDIS_PASSWORD: pulumi.secret(args.password) } }, o);
    const ca = new SharedCertificateAuthority(name, `${name} Redis CA`, { parent: this });
    const cert = ca.issueServer("server", name, [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, this.endpoint]);
    new corev1.Secret(`${name}-tls`, { metadata: meta(`${name}-tls`), type: "kubernetes.io/tls", stringData: { "tls.crt": cert.cert, "tls.key": cert.key, "ca.crt": ca.caCert } }, o);
    const cli = `redis-cli --tls --cacert /tls/ca.crt -h ${this.endpoint} -a "$REDIS_PASSWORD" --no-auth-warning`;
    const passwordEnv = [{ name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: this.passwordSecretName, key: "REDIS_PASSWORD" } } }];

    new appsv1.StatefulSet(
      `${name}-redis`,
      {
        metadata: { ...meta(name, { ...selector, [STORE_LABEL]: "redis" }), annotations: { [DATASET_SIZE_ANNOTATION]: String(memoryGiB) } },
        spec: {
          serviceName: name,
          replicas: 1,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: { ...labels, ...selector } },
            spec: {
              ...POD_DEFAULTS,
              containers: [
                {
                  name: "redis",
                  image: REDIS_IMAGES.redis,
                  // TLS only (port 0 closes the plain port), AOF fsync every second, a password.
                  command: ["sh", "-c"],
                  args: [
                    [
                      "exec redis-server --port 0 --tls-port 6379",
                      "--tls-cert-file /tls/tls.crt --tls-key-file /tls/tls.key --tls-ca-cert-file /tls/ca.crt --tls-auth-clients no --tls-protocols TLSv1.3",
                      "--appendonly yes --appendfsync everysec --dir /data",
                      `--maxmemory ${Math.floor(memoryGiB * 0.9 * 1024)}mb --maxmemory-policy noeviction`,
                      '--requirepass "$REDIS_PASSWORD"',
                    ].join(" "),
                  ],
                  env: passwordEnv,
                  ports: [{ name: "redis", containerPort: 6379 }],
                  readinessProbe: { exec: { command: ["sh", "-c", `${cli.replace(this.endpoint, "127.0.0.1")} ping | grep -q PONG`] }, periodSeconds: 10 },
                  livenessProbe: { exec: { command: ["sh", "-c", `${cli.replace(this.endpoint, "127.0.0.1")} ping | grep -q PONG`] }, periodSeconds: 20, failureThreshold: 3 },
                  resources: { requests: { cpu: "500m", memory: `${memoryGiB}Gi` }, limits: { memory: `${memoryGiB}Gi` } },
                  volumeMounts: [
                    { name: "data", mountPath: "/data" },
                    { name: "tls", mountPath: "/tls", readOnly: true },
                  ],
                },
              ],
              volumes: [{ name: "tls", secret: { secretName: `${name}-tls` } }],
            },
          },
          volumeClaimTemplates: [{ metadata: { name: "data", labels }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${args.storageSizeGiB ?? 20}Gi` } } } }],
        },
      },
      o,
    );
    new corev1.Service(`${name}-svc`, { metadata: meta(name, selector), spec: { type: "ClusterIP", selector, ports: [{ name: "redis", port: 6379, targetPort: "redis" }] } }, o);

    const access = args.backupSite.objectStoreAccess!;
    // The upload sends the SSE header the backup store declares (none to a store that encrypts by itself).
    const sse = awsCliSseArgs(args.backupSite.objectStoreEncryption ?? DEFAULT_STORE_ENCRYPTION);
    new corev1.Secret(`${name}-backup-store`, { metadata: meta(`${name}-backup-store`), stringData: { AWS_ACCESS_KEY_ID: access.accessKeyId, AWS_SECRET_ACCESS_KEY: access.secretAccessKey } }, o);
    datasetBackupCronJob(
      `${name}-backup`,
      {
        dataset: name,
        namespace,
        schedule,
        retentionDays: retention,
        labels,
        pod: {
          initContainers: [
            {
              name: "dump",
              image: REDIS_IMAGES.redis,
              command: ["sh", "-c", `${cli} --rdb /backup/dump.rdb`],
              env: passwordEnv,
              volumeMounts: [
                { name: "backup", mountPath: "/backup" },
                { name: "tls", mountPath: "/tls", readOnly: true },
              ],
            },
          ],
          containers: [
            {
              name: "upload",
              image: REDIS_IMAGES.awsCli,
              command: ["sh", "-c", `aws s3 cp --only-show-errors ${[...sse, ""].join(" ")}--endpoint-url ${access.endpoint} /backup/dump.rdb "s3://${args.backupBucket}/${name}/dump-$(date -u +%Y%m%dT%H%M%SZ).rdb"`],
              envFrom: [{ secretRef: { name: `${name}-backup-store` } }],
              env: [{ name: "AWS_DEFAULT_REGION", value: access.signingRegion ?? "us-east-1" }],
              volumeMounts: [{ name: "backup", mountPath: "/backup", readOnly: true }],
            },
          ],
          volumes: [
            { name: "backup", emptyDir: { sizeLimit: `${memoryGiB * 2}Gi` } },
            { name: "tls", secret: { secretName: `${name}-tls` } },
          ],
        },
      },
      o,
    );
    this.registerOutputs({ endpoint: this.endpoint, passwordSecretName: this.passwordSecretName, rpoMinutes: this.rpoMinutes, rtoMinutes: this.rtoMinutes });
  }
}
