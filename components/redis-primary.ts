/**
 * Redis on the site-role model (components/failover.ts): a StatefulSet on every data site, the primary
 * where the model says, a live replica over TLS across the VPN on the other site, the hourly dump where
 * the primary is, and a restore that really loads a dump.
 *
 * Upstream facts this rests on (cited where used):
 * - Redis replication: `replicaof <host> <port>`, `masterauth`, replicas read-only by default; a replica
 *   that connects to a primary whose replication ID it does not share does a full resync and discards its
 *   own dataset (redis.io "Redis replication"; redis.conf of 7.0, section REPLICATION).
 * - TLS: the replica needs `tls-replication yes` for its outgoing link; it verifies the primary's
 *   certificate against `tls-ca-cert-file` (redis.io "TLS", section "Replication"; redis/redis PR 7862:
 *   the CA is used by "a replica authenticating the master's peer certificate"). With
 *   `tls-auth-clients no` the primary asks no client certificate, so each site's certificate is a server
 *   certificate only (components/pki.ts, uses `server`).
 * - Redis 7 waits up to `shutdown-timeout` (10 s) on SIGTERM for lagging replicas to catch up before a
 *   primary exits (redis.conf 7.0): a demoted primary's last writes reach the replica.
 * - With `appendonly yes` Redis loads the append-only file and ignores `dump.rdb`, even when the AOF is
 *   empty (redis/redis issues 1826 and 12098; antirez in 1826: start with AOF off, then
 *   `CONFIG SET appendonly yes`, which rewrites the AOF from the loaded data). {@link redisRestoreScript}.
 * - redis_exporter metrics (oliver006/redis_exporter README "What's exported", exporter/exporter.go):
 *   `redis_master_link_up` and `redis_master_last_io_seconds_ago` on a replica,
 *   `redis_connected_slave_lag_seconds` and `redis_connected_slaves` on a primary.
 */
import * as pulumi from "@pulumi/pulumi";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as appsv1 from "@pulumi/kubernetes/apps/v1";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import { BackupScheduleValidation, RecoveryReport, datasetBackupCronJob } from "./backup-schedule";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import type { DatastoreRole, SiteDatastoreRole, SiteRoles } from "./failover";
import { DATASET_LABEL, DATASET_SIZE_ANNOTATION, DataClass, STORE_LABEL, placementLabels } from "./labels";
import { KeyStore, PulumiStateKeys, suppliedSecretProblems } from "./keys";
import { POD_DEFAULTS } from "./pod-defaults";
import { CronSchedule, DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND, REDIS_LAG_METRIC, STANDBY_PROMOTION_MINUTES, estimatedRtoMinutes, longestGapMinutes, parseCron } from "./recovery";
import { isRegionInThailand } from "./residency";
import { KUBECONFIG_SITE_KINDS, Site, SiteSpec, crossSiteExposure, peerRangeProblems } from "./site";
import { DEFAULT_STORE_ENCRYPTION, awsCliSseArgs } from "./store-encryption";

/** Pinned images. */
export const REDIS_IMAGES = {
  /** Redis server and `redis-cli`. */
  redis: "redis:7.4.5-alpine",
  /** Uploads the dump to the object store, and fetches one for a restore. */
  awsCli: "amazon/aws-cli:2.27.50",
  /** Prometheus exporter sidecar (oliver006/redis_exporter, release v1.74.0). */
  exporter: "oliver006/redis_exporter:v1.74.0",
} as const;

/** The port Redis listens on (TLS only), on every site and on the replication LoadBalancer. */
export const REDIS_PORT = 6379;

/** The port of the redis_exporter sidecar (its default, `web.listen-address` `0.0.0.0:9121`). */
export const REDIS_EXPORTER_PORT = 9121;

/** Where the pod mounts things; {@link redisConf} defaults. */
const DATA_DIR = "/data";
const TLS_DIR = "/tls";
const CONF_DIR = "/conf";


/** The name of a Redis's password among supplied secrets (Vault KV `stack/<name>`). */
export function redisPasswordName(redis: string): string {
  return `${redis}-password`;
}

/** Arguments of {@link RedisPrimary}. */
export interface RedisPrimaryArgs {
  /** Data sites: one (no standby) or two (primary and live replica); onprem/gcloud Kubernetes sites in Thailand. */
  readonly sites: readonly Site[];
  /**
   * Each site's role, from the failover model (`deriveSiteRoles` of `components/failover.ts`; steady
   * state: `steadyRoles(sites, activeSite)`). primary: a writable Redis; replica, demoted, rebuilding: a
   * replica of the site it follows; fenced: scaled to 0 (volume kept); frozen (unreachable): unchanged.
   */
  readonly roles: SiteRoles;
  /**
   * Host name at which each site's Redis replication LoadBalancer is reached from the other site (over
   * the VPN), keyed by site name; required with two sites. It is in that site's server certificate.
   */
  readonly replicationHosts?: Readonly<Record<string, string>>;
  /**
   * Password clients and replicas authenticate with (a Pulumi secret). Required with the Pulumi-state
   * key store (the default); ignored with Vault keys, which read it from Vault KV.
   */
  readonly password?: pulumi.Input<string>;
  /** Site whose object store keeps the dumps. */
  readonly backupSite: Site;
  /** Bucket for the dumps (created by `ObjectStorageBucket` with `expireObjectsAfterDays`). */
  readonly backupBucket: string;
  /** 5-field cron of the dumps (UTC). Default hourly, `0 * * * *`: with one site, the dump interval is the RPO. */
  readonly backupSchedule?: string;
  /** Days dumps are kept (the bucket's expiry). Default 30. */
  readonly backupRetentionDays?: number;
  /**
   * A dump to restore into the primary site's Redis, by its object name under `<bucket>/<dataset>/`
   * (`dump-YYYYMMDDTHHMMSSZ.rdb`, as the dump job names them). Restored once per volume (a marker file
   * records it); remove the setting when done. Default: none.
   */
  readonly restoreFromDump?: string;
  /** Replication lag alert threshold, seconds (`recovery.replicationLagTargetSeconds`). Default 60. */
  readonly replicationLagTargetSeconds?: number;
  /** Memory limit, GiB (maxmemory is 90 % of it). Default 4. */
  readonly memoryGiB?: number;
  /** Volume for the AOF and dumps, GiB. Default 20. */
  readonly storageSizeGiB?: number;
  /** Namespace. Default: the component's name, so two instances on one site never share one. */
  readonly namespace?: string;
  /** Restore throughput for the single-site RTO estimate, MiB/s. Default 100. */
  readonly restoreThroughputMiBPerSecond?: number;
  /** Class of the data (sessions are personal data). Default `personal`. */
  readonly dataClass?: DataClass;
  /**
   * Where the keys come from (components/keys.ts): the CA and each site's server certificate
   * (`<name>-tls`), the password (supplied secret `<name>-password`: in the Pulumi-state store
   * {@link password}, in Vault KV `stack/<name>-password`) and the dump uploader's object-store keys
   * (writer `redis` on {@link backupSite}). Default `new PulumiStateKeys()`: `@pulumi/tls` and plain
   * Secrets, as before the stores existed.
   */
  readonly keys?: KeyStore;
}

/** A dump's object name, as the dump job writes it. */
export const REDIS_DUMP_NAME = /^dump-\d{8}T\d{6}Z\.rdb$/;

/** What {@link validateRedisPrimaryArgs} needs of a site. */
export type RedisSiteFacts = Pick<SiteSpec, "name" | "kind" | "region" | "country">;

/**
 * Every problem with the arguments (pure: the stack configuration runs it before anything is
 * registered), and the parsed schedule when it is valid. Arguments are named as in {@link RedisPrimaryArgs}
 * (`replicationHosts.<site>`, `sites`, ...).
 */
export function validateRedisPrimaryArgs(
  sites: readonly RedisSiteFacts[],
  backupSite: RedisSiteFacts & { readonly hasObjectStore: boolean },
  args: Omit<RedisPrimaryArgs, "sites" | "roles" | "backupSite" | "password">,
): BackupScheduleValidation {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  const names = sites.map((s) => s.name);
  if (names.length === 0 || names.length > 2) add("sites", `lists ${names.length} sites; give one (no standby) or two (primary and replica)`);
  if (new Set(names).size !== names.length) add("sites", `lists a site twice: the replica must be on a different site from the primary`);
  for (const site of sites) {
    if (!(KUBECONFIG_SITE_KINDS as readonly string[]).includes(site.kind)) add("sites", `"${site.name}" is ${site.kind}; Redis runs on the onprem/gcloud Kubernetes sites`);
    if (!isRegionInThailand(site.kind as never, site.region) || site.country !== "TH") add("sites", `"${site.name}" is outside Thailand`);
  }
  if (names.length === 2) {
    for (const n of names) if (!args.replicationHosts?.[n]) add(`replicationHosts.${n}`, "is required with two sites: the other site replicates from this host (TLS, port 6379)");
  }
  for (const key of Object.keys(args.replicationHosts ?? {})) if (!names.includes(key)) add(`replicationHosts.${key}`, `names no data site; allowed: ${names.join(", ")}`);
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
  const lag = args.replicationLagTargetSeconds;
  if (lag !== undefined && !(lag > 0)) add("replicationLagTargetSeconds", `is ${show(lag)}; must be a positive number of seconds`);
  if (args.restoreFromDump !== undefined && !REDIS_DUMP_NAME.test(args.restoreFromDump)) {
    add("restoreFromDump", `is ${show(args.restoreFromDump)}; name a dump the dump job wrote, dump-YYYYMMDDTHHMMSSZ.rdb (aws s3 ls s3://<bucket>/<dataset>/)`);
  }
  return { problems, cron };
}

/**
 * The estimated RTO of Redis, minutes (pure): with two sites, the promotion of the live replica
 * (`STANDBY_PROMOTION_MINUTES`); with one, restoring a dump the size of its memory (default 4 GiB) at the
 * throughput (default 100 MiB/s), plus the fixed overhead. {@link RedisPrimary.rtoMinutes}.
 *
 * @param siteCount - data sites (default 1).
 */
export function redisRtoMinutes(args: Pick<RedisPrimaryArgs, "memoryGiB" | "restoreThroughputMiBPerSecond">, siteCount = 1): number {
  if (siteCount > 1) return STANDBY_PROMOTION_MINUTES;
  return estimatedRtoMinutes({ datasetSizeGiB: args.memoryGiB ?? 4, restoreThroughputMiBPerSecond: args.restoreThroughputMiBPerSecond ?? DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND });
}

/**
 * Worst-case RPO of Redis, minutes (pure): with a live replica, the replication lag target rounded up to
 * whole minutes (the lag is alerted above it); with one site, the longest gap between dumps.
 *
 * @param lagTargetSeconds - default 60.
 */
export function redisRpoMinutes(siteCount: number, cron: CronSchedule, lagTargetSeconds = 60): number {
  return siteCount > 1 ? Math.max(1, Math.ceil(lagTargetSeconds / 60)) : longestGapMinutes([cron]);
}

/** Where a replica finds the primary it follows. */
export interface RedisPrimaryAddress {
  /** Host name (a site's `replicationHosts` entry), verified against the Redis CA. */
  readonly host: string;
  /** TLS port. Default 6379. */
  readonly port?: number;
}

/** What {@link redisConf} renders. */
export interface RedisConfOptions {
  /** The site's role; primary renders no `replicaof`, every other role follows `primary`. */
  readonly role: DatastoreRole;
  /** Host and port of the primary to follow (required unless `role` is `primary`). */
  readonly primary?: RedisPrimaryAddress;
  /** TLS port. Default 6379. */
  readonly port?: number;
  /** Data directory (AOF, dumps). Default `/data`. */
  readonly dataDir?: string;
  /** Directory with `tls.crt`, `tls.key` and `ca.crt`. Default `/tls`. */
  readonly tlsDir?: string;
  /** `maxmemory`, MiB (policy `noeviction`). Default: none. */
  readonly maxmemoryMiB?: number;
}

/**
 * The `redis.conf` of a site in a role (pure; no secret in it: the password goes on the command line,
 * {@link redisServerCommand}). TLS only (`port 0`), TLS 1.3, AOF with fsync every second; a non-primary
 * is `replicaof <primary> <port>` over TLS (`tls-replication yes`), verifying the primary's certificate
 * against the CA, read-only. Fenced sites get the replica configuration too (they are scaled to 0).
 * Every client connection and disconnection is logged (`loglevel verbose`) to standard output.
 *
 * @throws Error when a non-primary role has no `primary`.
 */
export function redisConf(o: RedisConfOptions): string {
  const tls = o.tlsDir ?? TLS_DIR;
  const lines = [
    "# Generated by @waris/hybrid-infra (components/redis-primary.ts, redisConf).",
    "port 0",
    `tls-port ${o.port ?? REDIS_PORT}`,
    `tls-cert-file ${tls}/tls.crt`,
    `tls-key-file ${tls}/tls.key`,
    `tls-ca-cert-file ${tls}/ca.crt`,
    "tls-auth-clients no",
    'tls-protocols "TLSv1.3"',
    "tls-replication yes",
    `dir ${o.dataDir ?? DATA_DIR}`,
    "appendonly yes",
    "appendfsync everysec",
    // One replica at most (the other site): a full sync starts as soon as it connects instead of after
    // repl-diskless-sync-delay (5 s) waiting for more (redis.conf 7.0, repl-diskless-sync-max-replicas).
    "repl-diskless-sync-max-replicas 1",
    // Connection logging (issue 23): `verbose` is the lowest level that logs each client's connection,
    // "Accepted <addr>:<port>", and its end; `notice`, Redis's default, logs neither (redis.conf 7.0 on
    // loglevel; src/tls.c and src/networking.c of 7.0 to 7.4 log both at LL_VERBOSE). Over TLS the end is
    // "Reading from client: <TLS error>", without the client's address, whether the client drops the
    // socket ("unexpected eof while reading": redis-cli) or closes TLS cleanly ("error:00000000": Go's and
    // Node's clients; tls.c's handleSSLReturnCode has no case for SSL_ERROR_ZERO_RETURN, redis/redis issue
    // 15745, open): the log says who connected and when, and when each connection ended. Checked by
    // test/redis-server.test.ts against Debian's redis-server. The volume is small: the clients are a
    // handful of application pods with pooled connections, plus checkers that connect each time (the
    // probes every 10 s and 20 s, the exporter's scrape every 30 s: redis_exporter exporter/exporter.go
    // scrapeRedisHost, the other site's TLS probe every 30 s), and `verbose` adds a "DB 0: <n> keys"
    // line every 5 s: ~40 lines and ~3 KB a minute, ~4.5 MB a day per pod (line sizes measured on Debian's
    // redis-server 7.0.15).
    "loglevel verbose",
    // Standard output (the empty name): the container runtime keeps it in the pod's log on its node, on
    // the site (the kubelet rotates it: 5 files of 10 MiB by default, ~11 days at the volume above).
    'logfile ""',
    ...(o.maxmemoryMiB !== undefined ? [`maxmemory ${o.maxmemoryMiB}mb`, "maxmemory-policy noeviction"] : []),
  ];
  if (o.role !== "primary") {
    if (!o.primary) throw new Error(`redisConf: a ${o.role} site needs the primary it follows`);
    lines.push(`replicaof ${o.primary.host} ${o.primary.port ?? REDIS_PORT}`, "replica-read-only yes");
  }
  return `${lines.join("\n")}\n`;
}

/** Whether a generated `redis.conf` makes a primary (no `replicaof` line). Used by the failover invariants. */
export function redisConfIsPrimary(conf: string): boolean {
  return !/^\s*replicaof\s/m.test(conf);
}

/**
 * The container command of the Redis pod: writes the configuration (from `REDIS_CONF`) to `confDir` and
 * starts redis-server with it; the password comes from `REDIS_PASSWORD` as `requirepass` and `masterauth`
 * (so it is never in the configuration or the pod spec).
 */
export function redisServerCommand(confDir = CONF_DIR): string {
  return `printf '%s' "$REDIS_CONF" > ${confDir}/redis.conf && exec redis-server ${confDir}/redis.conf --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD"`;
}

/** What {@link redisRestoreScript} restores. */
export interface RedisRestoreOptions {
  /** The dump file to restore (RDB). */
  readonly dumpPath: string;
  /** Redis's data directory (the `dir` of {@link redisConf}). Default `/data`. */
  readonly dataDir?: string;
  /** Marker file recording that this dump was restored into this volume. Default `<dataDir>/.restored-<dump file name>`. */
  readonly marker?: string;
  /** Seconds to wait for the load and for the AOF rewrite. Default 3600. */
  readonly timeoutSeconds?: number;
}

/**
 * The restore of a dump into a Redis that runs with `appendonly yes` (pure; a POSIX shell script run
 * before Redis starts, by the StatefulSet's `restore` init container). Copying `dump.rdb` into the data
 * directory is not enough: Redis then loads the append-only file, empty or not, and ignores the dump
 * (redis/redis issues 1826, 12098). So the script
 * 1. does nothing when the marker exists (restored before: the data has moved on since);
 * 2. removes the AOF directory and the old dump, and copies the dump in as `dump.rdb`;
 * 3. starts a temporary redis-server with AOF off, on a unix socket in the data directory only (no TCP
 *    port, no password: nothing else can reach it), waits until the dump is loaded;
 * 4. `CONFIG SET appendonly yes`: Redis rewrites the AOF from the loaded data (antirez, issue 1826);
 *    waits for the rewrite and checks it succeeded; shuts the server down; writes the marker.
 * The regular Redis then starts with `appendonly yes` and loads the AOF, which holds the dump's data.
 *
 * @throws never; the script exits non-zero (and the pod does not start) when the dump is missing, the
 *   load or the rewrite fails, or `timeoutSeconds` pass.
 */
export function redisRestoreScript(o: RedisRestoreOptions): string {
  const dir = o.dataDir ?? DATA_DIR;
  const base = o.dumpPath.split("/").pop()!;
  const marker = o.marker ?? `${dir}/.restored-${base}`;
  const ticks = (o.timeoutSeconds ?? 3600) * 10;
  const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  return [
    "set -eu",
    `dir=${q(dir)}; dump=${q(o.dumpPath)}; marker=${q(marker)}`,
    'if [ -e "$marker" ]; then echo "restore: $dump was restored before ($marker); nothing to do"; exit 0; fi',
    '[ -s "$dump" ] || { echo "restore: no dump at $dump" >&2; exit 1; }',
    'rm -rf "$dir/appendonlydir" "$dir/appendonly.aof" "$dir/dump.rdb" "$dir/restore.sock"',
    'cp "$dump" "$dir/dump.rdb"',
    'redis-server --port 0 --unixsocket "$dir/restore.sock" --unixsocketperm 700 --dir "$dir" --dbfilename dump.rdb --appendonly no --save "" --daemonize no &',
    "pid=$!",
    'cli() { redis-cli -s "$dir/restore.sock" "$@"; }',
    // INFO answers while loading (PING does not): wait for loading:0.
    `waitfor() { i=0; until cli info persistence 2>/dev/null | tr -d '\\r' | grep -q "$1"; do i=$((i+1)); if [ $i -ge ${ticks} ] || ! kill -0 $pid 2>/dev/null; then echo "restore: timed out waiting for $1" >&2; kill $pid 2>/dev/null || true; exit 1; fi; sleep 0.1; done; }`,
    "waitfor '^loading:0'",
    "keys=$(cli dbsize | tr -d '\\r')",
    "cli config set appendonly yes >/dev/null",
    "waitfor '^aof_rewrite_in_progress:0'",
    "waitfor '^aof_rewrite_scheduled:0'",
    "cli info persistence | tr -d '\\r' | grep -q '^aof_last_bgrewrite_status:ok' || { echo 'restore: the AOF rewrite failed' >&2; kill $pid; exit 1; }",
    "cli shutdown >/dev/null 2>&1 || true",
    "wait $pid || true",
    'rm -f "$dir/restore.sock"',
    'touch "$marker"',
    'echo "restore: $keys keys from $dump, now in the append-only file"',
  ].join("\n");
}

/** What each role does to the StatefulSet: its replicas (fenced: 0, volume kept). */
export function redisReplicasFor(role: DatastoreRole): number {
  return role === "fenced" ? 0 : 1;
}

/**
 * The PrometheusRule groups of a site (pure): on a replica, the link to the primary down or silent for
 * more than the lag target; on a primary with a standby, the replica's acknowledged lag above the target,
 * or no replica connected. Metric names: oliver006/redis_exporter (exporter/exporter.go).
 */
export function redisAlertRules(dataset: string, namespace: string, site: string, lagTargetSeconds: number, standby: boolean): Array<Record<string, unknown>> {
  const sel = `namespace="${namespace}"`;
  const labels = { severity: "critical", dataset, site };
  const rules: Array<Record<string, unknown>> = [
    {
      alert: "RedisReplicationLagHigh",
      expr: `max by (namespace, pod) (${REDIS_LAG_METRIC}{${sel}}) > ${lagTargetSeconds} or max by (namespace, pod) (redis_master_last_io_seconds_ago{${sel}}) > ${lagTargetSeconds}`,
      for: "2m",
      labels,
      annotations: { summary: `Redis ${dataset} on ${site}: replication lag above ${lagTargetSeconds} s (a failover would lose more than the RPO).` },
    },
    {
      alert: "RedisReplicationLinkDown",
      expr: `max by (namespace, pod) (redis_master_link_up{${sel}}) == 0`,
      for: "2m",
      labels,
      annotations: { summary: `Redis ${dataset} on ${site}: the replica is not connected to its primary.` },
    },
  ];
  if (standby) {
    rules.push({
      alert: "RedisNoReplica",
      expr: `max by (namespace, pod) (redis_connected_slaves{${sel}}) == 0 and on (namespace, pod) max by (namespace, pod) (redis_instance_info{${sel}, role="master"})`,
      for: "5m",
      labels,
      annotations: { summary: `Redis ${dataset} on ${site}: the primary has no replica (the other site holds no copy).` },
    });
  }
  return [{ name: `${dataset}.replication`, rules }];
}

/**
 * Redis on one or two sites, on the failover model: every data site runs a StatefulSet (its volume is
 * never deleted by a role change); the primary site's is writable, the other site's replicates from it
 * over TLS across the VPN (through the primary site's LoadBalancer at `replicationHosts`), a fenced
 * site's is scaled to 0. The configuration is in the pod template, so a role change rolls the pod (Redis
 * reads its configuration only at start). An RDB dump is uploaded to the Thai object store on a schedule
 * from the primary site only; a named dump can be restored (see {@link redisRestoreScript}).
 *
 * The class keeps its 0.2.0 name and type token (`waris:index:RedisPrimary`); the home site's resources
 * carry aliases of their 0.2.0 names, so an upgrade updates them in place instead of deleting the volume.
 */
export class RedisPrimary extends pulumi.ComponentResource {
  /** Host applications connect to (TLS, port 6379), the same name on every site: it leads to the writable primary (locally on the serving site, over the VPN elsewhere). */
  readonly endpoint: string;
  /** Namespace of Redis on every site. */
  readonly namespace: string;
  /** Secret with the password (`REDIS_PASSWORD`). */
  readonly passwordSecretName: string;
  /** Site whose Redis is primary (the failover model's `primarySite`). */
  readonly activeSite: string;
  /** Worst-case RPO, minutes: {@link redisRpoMinutes}. */
  readonly rpoMinutes: number;
  /** Estimated RTO, minutes: {@link redisRtoMinutes}. */
  readonly rtoMinutes: number;
  /** The dataset's recovery posture, for the stack's `recovery` output. */
  readonly report: RecoveryReport;
  /** The generated `redis.conf` of each site (what its pod runs). */
  readonly configs: Readonly<Record<string, string>>;

  /**
   * @param name - dataset name, e.g. `waris-redis`.
   * @param args - see {@link RedisPrimaryArgs}.
   * @param opts - component options.
   * @throws InvalidArgumentsError naming the argument, from {@link validateRedisPrimaryArgs}, and when
   *   `roles` do not cover exactly the sites.
   */
  constructor(name: string, args: RedisPrimaryArgs, opts?: pulumi.ComponentResourceOptions) {
    const siteNames = args.sites.map((s) => s.spec.name);
    const { problems, cron } = validateRedisPrimaryArgs(
      args.sites.map((s) => s.spec),
      { ...args.backupSite.spec, hasObjectStore: args.backupSite.objectStoreAccess !== undefined },
      args,
    );
    const roleSites = Object.keys(args.roles.bySite).sort();
    if (roleSites.join(",") !== [...siteNames].sort().join(",")) problems.push({ argument: "roles", message: `cover the sites ${roleSites.join(", ") || "(none)"}; they must cover exactly ${siteNames.join(", ")}` });
    problems.push(...peerRangeProblems(args.sites), ...suppliedSecretProblems("password", args.password, args.keys));
    throwIfInvalid(`RedisPrimary "${name}"`, problems);
    // Secrets the stack supplies are looked up before anything is registered: a missing one is an error now.
    const keys = args.keys ?? new PulumiStateKeys();
    const password = keys.suppliedSecret(redisPasswordName(name), args.password);
    const uploaderKeys = keys.objectStoreKeys(args.backupSite.spec.name, "redis", args.backupSite.objectStoreWriterKeys("redis"));
    super("waris:index:RedisPrimary", name, {}, opts);

    const namespace = args.namespace ?? name;
    this.namespace = namespace;
    const memoryGiB = args.memoryGiB ?? 4;
    const retention = args.backupRetentionDays ?? 30;
    const schedule = args.backupSchedule ?? "0 * * * *";
    const lagTarget = args.replicationLagTargetSeconds ?? 60;
    const twoSites = siteNames.length === 2;
    const roleOf = (site: string): SiteDatastoreRole => args.roles.bySite[site]!;
    this.endpoint = `${name}.${namespace}.svc.cluster.local`;
    this.passwordSecretName = `${name}-auth`;
    this.activeSite = args.roles.primarySite;
    this.rpoMinutes = redisRpoMinutes(siteNames.length, cron!, lagTarget);
    this.rtoMinutes = redisRtoMinutes(args, siteNames.length);
    const dumpsAt = `s3://${args.backupBucket}/${name}/ on ${args.backupSite.spec.name}`;
    this.report = {
      dataset: name,
      kind: "redis",
      rpoMinutes: this.rpoMinutes,
      rtoMinutes: this.rtoMinutes,
      retention: `${retention} days`,
      method: twoSites
        ? `live replica on the other site (TLS replication, lag alerted above ${lagTarget} s) + AOF (fsync every second); RDB dump (${schedule}) from the primary site. ` +
          `Restore: promote the replica (failover phases); from a dump: redis.restoreFromDump loads it with AOF off, then CONFIG SET appendonly yes rewrites the AOF`
        : `RDB dump (${schedule}) + AOF on the primary. Restore: redis.restoreFromDump loads the dump with AOF off, then CONFIG SET appendonly yes rewrites the AOF`,
      schedule,
      location: twoSites ? `replica on ${siteNames.filter((s) => s !== args.roles.primarySite).join(", ")}; dumps ${dumpsAt}` : dumpsAt,
    };

    const dataClass = args.dataClass ?? "personal";
    const selector = { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": name };
    const passwordEnv = [{ name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: this.passwordSecretName, key: "REDIS_PASSWORD" } } }];
    // One CA for both sites: each site's replica verifies the other site's server certificate.
    const ca = keys.certificateAuthority(name, `${name} Redis CA`, { parent: this });
    const homeSite = args.roles.homeSite;
    const access = args.backupSite.objectStoreAccess!;
    const sse = awsCliSseArgs(args.backupSite.objectStoreEncryption ?? DEFAULT_STORE_ENCRYPTION);
    const configs: Record<string, string> = {};

    for (const site of args.sites) {
      const siteName = site.spec.name;
      const role = roleOf(siteName);
      // The home site's resources had these names in 0.2.0 (one site, no site in the name): aliases keep
      // them (and the AOF volume) instead of deleting them and creating new ones.
      const alias = (oldName: string): pulumi.CustomResourceOptions => (siteName === homeSite ? { aliases: [{ name: oldName }] } : {});
      const o = { parent: this, provider: site.kubernetesProvider };
      const labels = { ...placementLabels(siteName, dataClass), [DATASET_LABEL]: name };
      const meta = (n: string, extra: Record<string, string> = {}) => ({ name: n, namespace, labels: { ...labels, ...extra } });
      const id = (suffix: string): string => `${name}-${siteName}-${suffix}`;
      new corev1.Namespace(id("ns"), { metadata: { name: namespace, labels } }, { ...o, ...alias(`${name}-ns`) });
      // Each Secret keeps the resource name (and home-site alias) it had as a plain Secret.
      const target = (resourceName: string, secretName: string, oldName: string) => ({ resourceName, site: siteName, namespace, name: secretName, labels: meta(secretName).labels, opts: { ...o, ...alias(oldName) } });
      keys.secret(target(id("auth"), this.passwordSecretName, `${name}-auth`), { REDIS_PASSWORD: password });
      const host = args.replicationHosts?.[siteName];
      ca.tlsSecret(`${siteName}-server`, target(id("tls"), `${name}-tls`, `${name}-tls`), {
        subject: { commonName: name },
        dnsNames: [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, this.endpoint, "localhost", ...(host ? [host] : [])],
        uses: ["server"],
      });
      const cli = `redis-cli --tls --cacert ${TLS_DIR}/ca.crt -h ${this.endpoint} -a "$REDIS_PASSWORD" --no-auth-warning`;
      const localCli = `redis-cli --tls --cacert ${TLS_DIR}/ca.crt -h localhost -a "$REDIS_PASSWORD" --no-auth-warning`;

      const follows = role.role === "primary" ? undefined : role.follows;
      const conf = redisConf({
        role: role.role,
        primary: follows ? { host: args.replicationHosts?.[follows] ?? follows } : undefined,
        maxmemoryMiB: Math.floor(memoryGiB * 0.9 * 1024),
      });
      configs[siteName] = conf;
      const restoring = args.restoreFromDump !== undefined && role.role === "primary" && !role.frozen;
      const dump = `${DATA_DIR}/restore/${args.restoreFromDump ?? ""}`;
      const restoreInit = restoring
        ? [
            {
              name: "restore-fetch",
              image: REDIS_IMAGES.awsCli,
              command: ["sh", "-c", `[ -e ${DATA_DIR}/.restored-${args.restoreFromDump} ] || { mkdir -p ${DATA_DIR}/restore && aws s3 cp --only-show-errors --endpoint-url ${access.endpoint} "s3://${args.backupBucket}/${name}/${args.restoreFromDump}" ${dump}; }`],
              envFrom: [{ secretRef: { name: `${name}-backup-store` } }],
              env: [{ name: "AWS_DEFAULT_REGION", value: access.signingRegion ?? "us-east-1" }],
              volumeMounts: [{ name: "data", mountPath: DATA_DIR }],
            },
            { name: "restore", image: REDIS_IMAGES.redis, command: ["sh", "-c", redisRestoreScript({ dumpPath: dump })], volumeMounts: [{ name: "data", mountPath: DATA_DIR }] },
          ]
        : [];

      new appsv1.StatefulSet(
        id("redis"),
        {
          metadata: { ...meta(name, { ...selector, [STORE_LABEL]: "redis" }), annotations: { [DATASET_SIZE_ANNOTATION]: String(memoryGiB), "waris.io/role": role.role } },
          spec: {
            serviceName: name,
            // Fenced: no Redis runs; the volume (volumeClaimTemplates) stays.
            replicas: redisReplicasFor(role.role),
            selector: { matchLabels: selector },
            template: {
              // The configuration is in the template (REDIS_CONF): a role change changes the template and
              // the StatefulSet controller replaces the pod, which reads the new configuration at start.
              // A ConfigMap would be read only at the next (unrelated) restart, or by a pod started before
              // the StatefulSet is updated; here no pod ever runs a configuration other than its template's.
              metadata: { labels: { ...labels, ...selector }, annotations: { "waris.io/role": role.role } },
              spec: {
                ...POD_DEFAULTS,
                ...(restoreInit.length ? { initContainers: restoreInit } : {}),
                containers: [
                  {
                    name: "redis",
                    image: REDIS_IMAGES.redis,
                    command: ["sh", "-c"],
                    args: [redisServerCommand()],
                    env: [...passwordEnv, { name: "REDIS_CONF", value: conf }],
                    ports: [{ name: "redis", containerPort: REDIS_PORT }],
                    readinessProbe: { exec: { command: ["sh", "-c", `${localCli} ping | grep -q PONG`] }, periodSeconds: 10 },
                    livenessProbe: { exec: { command: ["sh", "-c", `${localCli} ping | grep -q PONG`] }, periodSeconds: 20, failureThreshold: 3 },
                    resources: { requests: { cpu: "500m", memory: `${memoryGiB}Gi` }, limits: { memory: `${memoryGiB}Gi` } },
                    volumeMounts: [
                      { name: "data", mountPath: DATA_DIR },
                      { name: "tls", mountPath: TLS_DIR, readOnly: true },
                      { name: "conf", mountPath: CONF_DIR },
                    ],
                  },
                  {
                    name: "exporter",
                    image: REDIS_IMAGES.exporter,
                    // TLS to the local Redis, verified against the CA (the certificate names localhost): the
                    // exporter's tls-ca-cert-file becomes the RootCAs of its Redis connection (exporter/redis.go).
                    env: [
                      { name: "REDIS_ADDR", value: `rediss://localhost:${REDIS_PORT}` },
                      { name: "REDIS_EXPORTER_TLS_CA_CERT_FILE", value: `${TLS_DIR}/ca.crt` },
                      ...passwordEnv,
                    ],
                    ports: [{ name: "metrics", containerPort: REDIS_EXPORTER_PORT }],
                    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
                    volumeMounts: [{ name: "tls", mountPath: TLS_DIR, readOnly: true }],
                  },
                ],
                volumes: [
                  { name: "tls", secret: { secretName: `${name}-tls` } },
                  { name: "conf", emptyDir: { sizeLimit: "1Mi" } },
                ],
              },
            },
            volumeClaimTemplates: [{ metadata: { name: "data", labels }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: site.volumes?.storageClass, resources: { requests: { storage: `${args.storageSizeGiB ?? 20}Gi` } } } }],
          },
        },
        // volumeClaimTemplates are immutable in Kubernetes (a change needs the StatefulSet replaced, which
        // this component never does to a data store): they are set at creation only.
        { ...o, ...alias(`${name}-redis`), ignoreChanges: ["spec.volumeClaimTemplates"] },
      );
      // The site's own pods, whatever their role.
      new corev1.Service(id("local"), { metadata: meta(`${name}-local`, selector), spec: { type: "ClusterIP", selector, ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }] } }, o);
      // The name the applications use (`endpoint`) leads to the writable primary from every site, as
      // PostgreSQL's does: on the serving site its own pods, elsewhere the serving site's LoadBalancer over the
      // VPN (a replica answers writes with READONLY). An unreachable site keeps what it had. Every site's
      // server certificate names `endpoint`, so TLS verifies through the CNAME. It was a ClusterIP Service
      // until 0.3: a type change is made by delete-then-create, once.
      const serving = role.frozen ? role.follows : args.roles.servingSite;
      new corev1.Service(
        id("svc"),
        {
          metadata: { ...meta(name), annotations: { "waris.io/active-site": serving } },
          spec: {
            type: "ExternalName",
            externalName: siteName === serving ? `${name}-local.${namespace}.svc.cluster.local` : args.replicationHosts![serving]!,
            ports: [{ name: "redis", port: REDIS_PORT, targetPort: REDIS_PORT }],
          },
        },
        { ...o, ...alias(`${name}-svc`), replaceOnChanges: ["spec.type"], deleteBeforeReplace: true },
      );
      if (twoSites) {
        // The other site replicates from this LoadBalancer (reached over the VPN at replicationHosts.<site>).
        new corev1.Service(id("replication"), { metadata: meta(`${name}-replication`, selector), spec: { type: "LoadBalancer", ...crossSiteExposure(args.sites, siteName), selector, ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }] } }, o);
      }
      new corev1.Service(id("metrics"), { metadata: meta(`${name}-metrics`, { ...selector, "waris.io/metrics": "redis" }), spec: { type: "ClusterIP", selector, ports: [{ name: "metrics", port: REDIS_EXPORTER_PORT, targetPort: "metrics" }] } }, o);
      new apiextensions.CustomResource(
        id("monitor"),
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "ServiceMonitor",
          metadata: meta(`${name}-metrics`),
          spec: { selector: { matchLabels: { ...selector, "waris.io/metrics": "redis" } }, endpoints: [{ port: "metrics", interval: "30s" }] },
        },
        o,
      );
      new apiextensions.CustomResource(
        id("alerts"),
        { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: meta(`${name}-alerts`), spec: { groups: redisAlertRules(name, namespace, siteName, lagTarget, twoSites) } },
        o,
      );

      // The upload sends the SSE header the backup store declares (none to a store that encrypts by itself).
      keys.secret(target(id("backup-store"), `${name}-backup-store`, `${name}-backup-store`), { AWS_ACCESS_KEY_ID: uploaderKeys.accessKeyId, AWS_SECRET_ACCESS_KEY: uploaderKeys.secretAccessKey });
      // The dump runs where the primary is (a frozen site keeps what it had: it cannot be changed).
      if (role.role === "primary") {
        datasetBackupCronJob(
          id("backup"),
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
                    { name: "tls", mountPath: TLS_DIR, readOnly: true },
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
          { ...o, ...alias(`${name}-backup`) },
        );
      }
    }
    this.configs = configs;
    this.registerOutputs({ endpoint: this.endpoint, passwordSecretName: this.passwordSecretName, activeSite: this.activeSite, rpoMinutes: this.rpoMinutes, rtoMinutes: this.rtoMinutes });
  }
}

/**
 * What a site's Redis does in a role, in words (pure; the runbook prints it for each phase). The same
 * rendering rules as {@link RedisPrimary}: primary writable (and dumped); replica, demoted and rebuilding
 * follow `role.follows` over TLS; fenced is scaled to 0 with its volume kept; a frozen site is unchanged.
 */
export function redisRoleEffect(role: SiteDatastoreRole, dataset = "waris-redis"): string {
  if (role.frozen) return `Redis ${dataset}: unreachable, left exactly as it was (no change is sent there)`;
  const effects: Record<DatastoreRole, string> = {
    primary: `Redis ${dataset}: primary (writable; no replicaof), the RDB dump CronJob runs here`,
    replica: `Redis ${dataset}: replica of ${role.follows} (replicaof over TLS, read-only)`,
    demoted: `Redis ${dataset}: restarted as a replica of ${role.follows} (on SIGTERM it waits up to 10 s, shutdown-timeout, for its replica to catch up); no writable Redis until the promote phase`,
    fenced: `Redis ${dataset}: scaled to 0 (the volume and its AOF are kept, nobody can write the old copy); configured as a replica of ${role.follows}`,
    rebuilding: `Redis ${dataset}: started as a replica of ${role.follows}; the full resync replaces its old data (the volume is kept, its content discarded)`,
  };
  return effects[role.role];
}

/** `kubectl exec` of `redis-cli INFO replication` in a site's Redis pod (what the runbook's checks run). */
export function redisInfoReplicationCommand(site: string, namespace = "waris-redis", dataset = "waris-redis"): string {
  return `kubectl --context ${site} -n ${namespace} exec ${dataset}-0 -c redis -- sh -c 'redis-cli --tls --cacert ${TLS_DIR}/ca.crt -h localhost -a "$REDIS_PASSWORD" --no-auth-warning info replication'`;
}
