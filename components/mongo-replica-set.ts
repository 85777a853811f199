import * as pulumi from "@pulumi/pulumi";
// Submodules, not the package root: the root loads the Helm chart and YAML tooling (~100 ms).
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as batchv1 from "@pulumi/kubernetes/batch/v1";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import { Release } from "@pulumi/kubernetes/helm/v3/release";
import { ArgumentProblem, show, throwIfInvalid } from "./errors";
import { DATASET_LABEL, DataClass, HelmChartRef, placementLabels } from "./labels";
import { KeyStore, PulumiStateKeys } from "./keys";
import { CertificateSpec } from "./pki";
import { DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND, STANDBY_PROMOTION_MINUTES, estimatedRtoMinutes } from "./recovery";
import { isRegionInThailand } from "./residency";
import { KUBECONFIG_SITE_KINDS, Site, crossSiteExposure, peerRangeProblems } from "./site";
import type { SiteRoles } from "./failover";
import { POD_DEFAULTS } from "./pod-defaults";

/**
 * Pinned Percona Server for MongoDB operator chart (repository `https://percona.github.io/percona-helm-charts/`).
 * 1.22.0 is the newest release (tag `psmdb-operator-1.22.0`; no 1.23 chart or operator is released);
 * the CRs' `crVersion` is the same operator version.
 */
export const PSMDB_OPERATOR_CHART: HelmChartRef = { repo: "https://percona.github.io/percona-helm-charts/", chart: "psmdb-operator", version: "1.22.0" };

/**
 * Images of the replica set: the ones Percona certifies for operator 1.22.0 (release notes of Percona
 * Operator for MongoDB 1.22.0, "Percona certified images").
 */
export const MONGO_IMAGES = {
  /** Percona Server for MongoDB. */
  mongod: "percona/percona-server-mongodb:8.0.17-6",
  /**
   * Percona Backup for MongoDB: the CRD requires `spec.backup.image` even when backups are off (the
   * operator runs the pbm-agent sidecar from it).
   */
  backup: "percona/percona-backup-mongodb:2.11.0",
  /** Prometheus exporter; `--compatible-mode` keeps the classic metric names the alerts use. */
  exporter: "percona/mongodb_exporter:0.44.0",
} as const;

/** Users the Percona operator needs in its users Secret. */
const SYSTEM_USERS = ["BACKUP", "DATABASE_ADMIN", "CLUSTER_ADMIN", "CLUSTER_MONITOR", "USER_ADMIN"] as const;

/** Arguments of {@link MongoReplicaSet}. */
export interface MongoReplicaSetArgs {
  /** Database sites: one, or two (members on the standby site replicate but are not electable). */
  readonly sites: readonly Site[];
  /**
   * Each site's role, from the failover model (`components/failover.ts`; `steadyRoles(sites, active)`
   * without a procedure under way). Rendered in Percona's cross-site terms (docs "Fail over services to
   * the replica site"): only the primary site's operator manages the set (`unmanaged: false`, the other
   * site's members as non-voting `externalNodes`); a switchover first makes the main site unmanaged
   * (demote), then the replica site managed (promote); a disaster promote makes the survivor managed and
   * runs a forced reconfiguration there that keeps only its own members, all electable; a returning site
   * is fenced (`pause: true`: mongod stopped, volumes kept); a rebuilt one is a new cluster (generation
   * in its name, new volumes) that joins by initial sync.
   */
  readonly roles: SiteRoles;
  /** Members per site. Default 3. */
  readonly membersPerSite?: number;
  /** Volume per member, GiB. Default 100. */
  readonly storageSizeGiB?: number;
  /** Storage class. Default: the cluster's default. */
  readonly storageClass?: string;
  /**
   * Host names of each site's members as the other site reaches them (one per member, in order), keyed
   * by site: the LoadBalancer names the operator exposes, in the VPN DNS. Required with two sites.
   */
  readonly memberHosts?: Readonly<Record<string, readonly string[]>>;
  /** The Percona `spec.backup` (from `BackupSchedule.perconaBackupSpec`); applied on the active site. */
  readonly backup?: Record<string, unknown>;
  /** Site whose object store holds the backups (its keys become the backup credentials Secret). */
  readonly backupSite?: Site;
  /** Name of the backup credentials Secret the backup spec names. Default `<name>-backup`. */
  readonly backupCredentialsSecret?: string;
  /** Namespace. Default: the component's name, so two replica sets on one site never share one. */
  readonly namespace?: string;
  /** Replication lag alert threshold, seconds. Default 60. */
  readonly replicationLagTargetSeconds?: number;
  /** Oplog span of point-in-time recovery, minutes (the RPO). Default 10. */
  readonly pitrMinutes?: number;
  /** Restore throughput for the single-site RTO estimate, MiB/s. Default 100. */
  readonly restoreThroughputMiBPerSecond?: number;
  /**
   * Install the Percona operator (Helm release `psmdb-operator` and its cluster-wide CRDs) on each site.
   * Default false: the platform's operator, installed by the platform's own stack (index.ts sets true).
   *
   * @defaultValue false
   */
  readonly installOperator?: boolean;
  /** Class of the data. Default `confidential`. */
  readonly dataClass?: DataClass;
  /**
   * Where the keys come from (components/keys.ts): the CA and its certificates (`<name>-ssl`,
   * `<name>-ssl-internal`, `<name>-exporter-tls`), the system users' passwords (generated
   * `<name>-<user>`, e.g. `waris-mongo-cluster-admin`), the data-at-rest key (generated
   * `<name>-encryption-key`, 32 bytes) and PBM's object-store keys (writer `mongodb` on
   * {@link backupSite}). Default `new PulumiStateKeys()`: `@pulumi/tls`, `@pulumi/random` and plain
   * Secrets, as before the stores existed.
   */
  readonly keys?: KeyStore;
}

/**
 * Name of a system user's generated password: `<set>-<user>` in kebab case (a Vault store names a
 * generator by it, which must be DNS-1123), e.g. `waris-mongo-cluster-admin` for user `CLUSTER_ADMIN`.
 */
export function mongoPasswordName(name: string, user: string): string {
  return `${name}-${user.toLowerCase().replace(/_/g, "-")}`;
}

/**
 * The data-at-rest key: Percona's `encryption-key` is the base64 of a 256-bit (32-byte) key, which
 * mongod decodes for its AES256-CBC master key (Percona docs, "Data at rest encryption"; Percona Server
 * for MongoDB, "Data at rest encryption": `openssl rand -base64 32`).
 */
export const MONGO_ENCRYPTION_KEY_BYTES = 32;

const whole = (n: unknown, min: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= min;

/** Every problem with the arguments (pure). */
export function validateMongoReplicaSetArgs(
  args: Omit<MongoReplicaSetArgs, "sites" | "backupSite" | "roles"> & {
    readonly roles: { readonly bySite: Readonly<Record<string, unknown>> };
    readonly sites: readonly { readonly name: string; readonly kind: string; readonly region: string; readonly country: string }[];
    readonly hasBackupStore: boolean;
  },
): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (argument: string, message: string): void => void problems.push({ argument, message });
  const names = args.sites.map((s) => s.name);
  if (names.length === 0 || names.length > 2) add("sites", `lists ${names.length} sites; give one, or two (active and standby)`);
  if (new Set(names).size !== names.length) add("sites", "lists a site twice: the replica members must be on a different site from the primary's");
  for (const s of args.sites) {
    if (!(KUBECONFIG_SITE_KINDS as readonly string[]).includes(s.kind)) add("sites", `site "${s.name}" is ${s.kind}; the Percona operator runs on the onprem/gcloud Kubernetes sites`);
    if (s.country !== "TH" || !isRegionInThailand(s.kind as never, s.region)) add("sites", `site "${s.name}" (${s.kind} ${s.region}, ${s.country}) is outside Thailand; database sites must be in Thailand`);
  }
  const roleSites = Object.keys(args.roles.bySite).sort();
  if (roleSites.join(",") !== [...names].sort().join(",")) add("roles", `cover the sites ${roleSites.join(", ") || "(none)"}; they must cover exactly the database sites ${names.join(", ")}`);
  const members = args.membersPerSite ?? 3;
  if (!whole(members, 1) || members % 2 === 0) add("membersPerSite", `is ${show(members)}; an odd whole number (1, 3, 5) keeps elections decisive`);
  if (names.length === 2) {
    for (const n of names) {
      const hosts = args.memberHosts?.[n] ?? [];
      if (hosts.length !== members) add(`memberHosts.${n}`, `lists ${hosts.length} host(s); give one per member (${members})`);
    }
  }
  if (args.storageSizeGiB !== undefined && !whole(args.storageSizeGiB, 1)) add("storageSizeGiB", `is ${show(args.storageSizeGiB)}; must be a whole number of at least 1`);
  if (args.backup && !args.hasBackupStore) add("backupSite", "is required with a backup spec: its object store's keys are the backup credentials");
  const lag = args.replicationLagTargetSeconds ?? 60;
  if (!(lag > 0)) add("replicationLagTargetSeconds", `is ${show(lag)}; must be positive`);
  return problems;
}

/** Where the exporter sidecar finds its client certificate and the CA. */
const EXPORTER_TLS_DIR = "/etc/mongodb-exporter-tls";

/**
 * The files of the exporter's TLS Secret in {@link EXPORTER_TLS_DIR}: the CA, and key plus certificate in
 * one PEM (`tls-combined.pem`, cert-manager's CombinedPEM key) as `tls.pem`, the file
 * {@link MONGO_EXPORTER_URI} names. The Go driver reads the key and the certificate from it in either
 * order (mongo-go-driver `addClientCertFromBytes` walks every PEM block); so does mongosh (Node's TLS).
 */
const EXPORTER_TLS_ITEMS = [
  { key: "ca.crt", path: "ca.crt" },
  { key: "tls-combined.pem", path: "tls.pem" },
];

/**
 * The certificates of a replica set, each with every use it is put to (pure).
 *
 * - `members`: the mongod certificate, in both `secrets.ssl` (clients connect to it: `server`) and
 *   `secrets.sslInternal` (the Percona operator's x.509 membership: `member`, which needs `client_auth` as
 *   well and the same non-empty O/OU on every member; MongoDB manual, "Use x.509 Certificate for Membership
 *   Authentication"; Percona docs, "Transport Layer Security (TLS)"). `localhost` is in it for the exporter.
 * - `exporter`: the metrics sidecar's client certificate (`client`); its OU differs from the members', as
 *   MongoDB requires of client certificates (manual, "x.509": a client with the members' O/OU/DC would be
 *   taken for a member).
 *
 * @param name - the replica set's name (its OU).
 * @param namespace - its namespace.
 * @param memberHosts - every member's exposed host name, both sites.
 * @param clusterNames - the PerconaServerMongoDB name on each site (generation included); default just `name`.
 */
export function mongoCertificates(name: string, namespace: string, memberHosts: readonly string[], clusterNames: readonly string[] = [name]): Readonly<Record<"members" | "exporter", CertificateSpec>> {
  // Every generation's pods (a rebuilt site's are <name>-g<n>-rs0-<i>): one label of wildcard covers no more.
  const serviceNames = [...new Set(clusterNames)].flatMap((c) => [`*.${c}-rs0.${namespace}.svc.cluster.local`, `${c}-rs0.${namespace}.svc.cluster.local`]).concat(`*.${namespace}.svc.cluster.local`);
  return {
    members: {
      subject: { commonName: `${name}-rs0`, organization: "WARIS", organizationalUnit: name },
      dnsNames: [...serviceNames, ...memberHosts, "localhost"],
      uses: ["server", "member"],
    },
    exporter: {
      subject: { commonName: `${name}-exporter`, organization: "WARIS", organizationalUnit: `${name}-clients` },
      uses: ["client"],
    },
  };
}

/**
 * The exporter's connection string: verified TLS (the shared CA) with its client certificate, user and
 * password from the environment (`MONGODB_USER`, `MONGODB_PASSWORD`). Never `tlsInsecure`.
 */
export const MONGO_EXPORTER_URI = `mongodb://$(MONGODB_USER):$(MONGODB_PASSWORD)@localhost:27017/?tls=true&tlsCAFile=${EXPORTER_TLS_DIR}/ca.crt&tlsCertificateKeyFile=${EXPORTER_TLS_DIR}/tls.pem`;

/**
 * Name of a site's PerconaServerMongoDB: the dataset's name, with `-g<n>` once the site's data was
 * rebuilt into generation n (a new resource: new volumes, joined by initial sync).
 */
export function mongoClusterName(dataset: string, generation = 1): string {
  return generation === 1 ? dataset : `${dataset}-g${generation}`;
}

/**
 * The forced reconfiguration of a disaster promote, as a mongosh script run on the surviving site: while no
 * member is primary (the lost site held the voting majority), keep only this site's members, each with a
 * vote and priority 1, and force the new configuration (MongoDB manual, "Reconfigure a Replica Set with
 * Unavailable Members"; Percona docs, cross-site replication "fail over to the replica site"); then wait
 * for one of them to be elected. Does nothing when a primary exists, so re-running the phase is harmless.
 *
 * It loops (every 5 s, up to 5 min, then exits 1 for the Job to retry) because the same `pulumi up` makes
 * the survivor's operator manage the set, and what that operator does while there is no primary races with
 * this script (percona-server-mongodb-operator `pkg/controller/perconaservermongodb/mgo.go`,
 * `reconcileCluster`, at b15af50): if its status never recorded the replica set as initialized (the site was
 * unmanaged all its life) it runs `rs.initiate`, which members that already have a configuration refuse
 * (harmless); if it did (the site was managed in an earlier procedure), `handleReplicaSetNoPrimary` reads the
 * configuration and force-writes it again, which can put back the old one in between. Once a survivor is
 * primary the operator connects normally and forces nothing.
 *
 * @param hosts - this site's members as they are known in the replica set config (`host:port`).
 */
export function forcedReconfigScript(hosts: readonly string[]): string {
  return [
    `const keep = ${JSON.stringify(hosts)};`,
    'const primaryUp = () => (db.adminCommand({ replSetGetStatus: 1 }).members || []).some((m) => m.stateStr === "PRIMARY");',
    "const survivorsOnly = (cfg) => cfg.members.length === keep.length && cfg.members.every((m) => keep.includes(m.host) && m.votes === 1 && m.priority > 0);",
    "for (let attempt = 1; attempt <= 60; attempt++) {",
    '  if (primaryUp()) { print(attempt === 1 ? "a primary exists: nothing to do" : "a survivor is primary"); quit(0); }',
    "  const cfg = rs.conf();",
    "  if (!survivorsOnly(cfg)) {",
    "    cfg.members = cfg.members.filter((m) => keep.includes(m.host)).map((m) => Object.assign(m, { votes: 1, priority: 1 }));",
    '    if (cfg.members.length !== keep.length) { print("members not found in the config: " + JSON.stringify(keep)); quit(1); }',
    "    printjson(rs.reconfig(cfg, { force: true }));",
    "  }",
    "  sleep(5000);",
    "}",
    'print("no primary 5 min after the forced reconfiguration"); quit(1);',
  ].join("\n");
}

/**
 * MongoDB with the Percona operator: the replica set on the active site, with more members on the
 * standby site in the operator's cross-site mode (`externalNodes` on the main site, `unmanaged` on the
 * replica site, the same users, encryption key and TLS certificates on both). TLS is required and
 * encryption at rest is on. `activeSite` decides where the electable members are: members on the other
 * site replicate with no votes and no priority, so they can never cause or win an election.
 */
export class MongoReplicaSet extends pulumi.ComponentResource {
  /** Connection host applications use on the active site. */
  readonly endpoint: string;
  /** Secret with the system users (the operator's users Secret). */
  readonly usersSecretName: string;
  /** Dataset id. */
  readonly dataset: string;
  /** Namespace. */
  readonly namespace: string;
  /** Worst-case RPO, minutes: the PITR oplog span (replication is usually seconds behind). */
  readonly rpoMinutes: number;
  /** Estimated RTO, minutes. */
  readonly rtoMinutes: number;

  /**
   * @param name - cluster name, the same on both sites (e.g. `waris-mongo`).
   * @param args - see {@link MongoReplicaSetArgs}.
   * @param opts - component options.
   */
  constructor(name: string, args: MongoReplicaSetArgs, opts?: pulumi.ComponentResourceOptions) {
    throwIfInvalid(
      `MongoReplicaSet "${name}"`,
      [...validateMongoReplicaSetArgs({ ...args, sites: args.sites.map((s) => s.spec), hasBackupStore: args.backupSite?.objectStoreAccess !== undefined }), ...peerRangeProblems(args.sites)],
    );
    // Keys the stack supplies are looked up before anything is registered: a missing one is an error now.
    const keys = args.keys ?? new PulumiStateKeys();
    const pbmKeys = args.backup && args.backupSite?.objectStoreAccess ? keys.objectStoreKeys(args.backupSite.spec.name, "mongodb", args.backupSite.objectStoreWriterKeys("mongodb")) : undefined;
    super("waris:index:MongoReplicaSet", name, {}, opts);
    const namespace = args.namespace ?? name;
    const members = args.membersPerSite ?? 3;
    const twoSites = args.sites.length === 2;
    const storageGiB = args.storageSizeGiB ?? 100;
    this.namespace = namespace;
    this.dataset = name;
    // A name that outlives generations: an ExternalName Service on each site to its current replica set's
    // headless Service (a rebuilt site's is <name>-g<n>-rs0; the paused old one keeps <name>-rs0 until the
    // decommission step, with no pod behind it). The member certificate names *.<namespace>.svc.cluster.local.
    this.endpoint = `${name}.${namespace}.svc.cluster.local`;
    this.usersSecretName = `${name}-users`;
    this.rpoMinutes = args.pitrMinutes ?? 10;
    this.rtoMinutes = twoSites
      ? STANDBY_PROMOTION_MINUTES
      : estimatedRtoMinutes({ datasetSizeGiB: storageGiB, restoreThroughputMiBPerSecond: args.restoreThroughputMiBPerSecond ?? DEFAULT_RESTORE_THROUGHPUT_MIB_PER_SECOND });
    const parent = { parent: this };

    // Both sites must hold the same users, key and certificates: one set, generated once.
    const passwords = Object.fromEntries(
      SYSTEM_USERS.map((u) => {
        // The Pulumi-state store's RandomPassword had the user's name with its underscore: an alias keeps it.
        const before = `${name}-${u.toLowerCase()}`;
        const now = mongoPasswordName(name, u);
        return [u, keys.generatedPassword(now, 32, now === before ? parent : { ...parent, aliases: [{ name: before }] })];
      }),
    );
    const encryptionKey = keys.generatedKey(`${name}-encryption-key`, MONGO_ENCRYPTION_KEY_BYTES, parent);
    const ca = keys.certificateAuthority(name, `${name} MongoDB CA`, parent);
    const certificates = mongoCertificates(
      name,
      namespace,
      Object.values(args.memberHosts ?? {}).flat(),
      args.sites.map((s) => mongoClusterName(name, args.roles.bySite[s.spec.name]?.generation ?? 1)),
    );

    for (const site of args.sites) {
      const siteName = site.spec.name;
      const role = args.roles.bySite[siteName]!;
      // Only the primary site's operator manages the set; an unreachable site keeps what it had (it was
      // the managed primary, with the other site as its replica).
      const active = role.role === "primary";
      const crName = mongoClusterName(name, role.generation);
      const o = { ...parent, provider: site.kubernetesProvider };
      const labels = { ...placementLabels(siteName, args.dataClass ?? "confidential"), [DATASET_LABEL]: name };
      const id = (suffix: string): string => `${name}-${siteName}-${suffix}`;
      const operator = args.installOperator ?? false
        ? [
            new Release(
              id("operator"),
              {
                name: "psmdb-operator",
                namespace,
                createNamespace: true,
                repositoryOpts: { repo: PSMDB_OPERATOR_CHART.repo },
                chart: PSMDB_OPERATOR_CHART.chart,
                version: PSMDB_OPERATOR_CHART.version,
                values: { watchNamespace: namespace, labels: placementLabels(siteName, "none") },
                atomic: true,
              },
              o,
            ),
          ]
        : [];
      const meta = (n: string) => ({ name: n, namespace, labels });
      // Each Secret keeps the resource name it had as a plain Secret: `<name>-<site>-<suffix>`.
      const target = (suffix: string, secretName: string) => ({ resourceName: id(suffix), site: siteName, namespace, name: secretName, labels, opts: { ...o, dependsOn: operator } });
      const secrets = [
        keys.secret(
          target("users", this.usersSecretName),
          Object.fromEntries(SYSTEM_USERS.flatMap((u) => [[`MONGODB_${u}_USER`, { text: u.toLowerCase() }], [`MONGODB_${u}_PASSWORD`, passwords[u]!]])),
        ),
        keys.secret(target("encryption-key", `${name}-encryption-key`), { "encryption-key": encryptionKey }),
        // The exporter's client certificate: the Go driver takes certificate and key as one PEM file, which
        // cert-manager writes as `tls-combined.pem` (its CombinedPEM output format); the pods mount it as tls.pem.
        ca.tlsSecret("exporter", target("exporter-tls", `${name}-exporter-tls`), certificates.exporter, { combinedPem: true }),
        ...["ssl", "ssl-internal"].map((kind) => ca.tlsSecret("members", target(kind, `${name}-${kind}`), certificates.members)),
      ];
      if (active && pbmKeys) {
        secrets.push(keys.secret(target("backup", args.backupCredentialsSecret ?? `${name}-backup`), { AWS_ACCESS_KEY_ID: pbmKeys.accessKeyId, AWS_SECRET_ACCESS_KEY: pbmKeys.secretAccessKey }));
      }
      const other = args.sites.find((s) => s.spec.name !== siteName)?.spec.name;
      const otherRole = other ? (role.frozen ? "replica" : args.roles.bySite[other]!.role) : undefined;
      // The other site's members stay in the set (non-voting) while they replicate; a lost, fenced or
      // promoted-away site's are left out (a disaster promote removed them by forced reconfiguration).
      const withOther = active && other !== undefined && (otherRole === "replica" || otherRole === "demoted" || otherRole === "rebuilding");
      // Each member announces the name the other site reaches it by, never the cluster-local name, which
      // is the same on both sites (Percona docs "Exposing the cluster", replsetOverrides; operator GetAddr).
      const overrides = twoSites
        ? Object.fromEntries(args.memberHosts![siteName]!.map((host, i) => [`${crName}-rs0-${i}`, { host: `${host}:27017` }]))
        : undefined;
      // The survivor of a disaster (promote, and the fence phase after it, which keeps the Job unchanged).
      const disasterSurvivor = args.roles.situation.procedure?.procedure === "disaster" && siteName === args.roles.primarySite;
      // Each generation is its own resource, retained on delete (as PostgreSQL's Clusters): a rebuild only
      // drops the old, paused one from the program; it stays with its volumes until the runbook's
      // decommission step deletes it.
      const cluster = new apiextensions.CustomResource(
        role.generation === 1 ? id("cluster") : id(`cluster-g${role.generation}`),
        {
          apiVersion: "psmdb.percona.com/v1",
          kind: "PerconaServerMongoDB",
          metadata: meta(crName),
          spec: {
            crVersion: PSMDB_OPERATOR_CHART.version,
            image: MONGO_IMAGES.mongod,
            // The standby site's operator leaves the replica set to the active site's.
            unmanaged: !active,
            updateStrategy: active ? "SmartUpdate" : "OnDelete",
            // Fencing: the operator stops every mongod and keeps the volumes (Percona docs, "Pause/resume").
            pause: role.role === "fenced" ? true : undefined,
            secrets: { users: this.usersSecretName, encryptionKey: `${name}-encryption-key`, ssl: `${name}-ssl`, sslInternal: `${name}-ssl-internal` },
            tls: { mode: "requireTLS" },
            replsets: [
              {
                name: "rs0",
                size: members,
                // Connection logging (issue 23) needs nothing here: mongod logs "Connection accepted" (id 22943,
                // with the client's address) and "Connection ended" (22944) as informational messages, i.e.
                // at the default verbosity 0, unless `systemLog.quiet` is set (mongodb/mongo
                // src/mongo/transport/session_manager_common.cpp, the same in percona-server-mongodb), to
                // the container's stdout (no `logcollector` in the spec). Never set `quiet` here.
                configuration: "security:\n  enableEncryption: true\n",
                expose: twoSites ? { enabled: true, type: "LoadBalancer", ...crossSiteExposure(args.sites, siteName) } : undefined,
                externalNodes: withOther ? args.memberHosts![other!]!.map((host) => ({ host, port: 27017, votes: 0, priority: 0 })) : undefined,
                replsetOverrides: overrides,
                volumeSpec: { persistentVolumeClaim: { storageClassName: args.storageClass ?? site.volumes?.storageClass, resources: { requests: { storage: `${storageGiB}Gi` } } } },
                sidecars: [
                  {
                    name: "metrics",
                    image: MONGO_IMAGES.exporter,
                    args: ["--discovering-mode", "--compatible-mode", "--collect-all", "--mongodb.uri=$(MONGODB_URI)"],
                    env: [
                      { name: "MONGODB_USER", valueFrom: { secretKeyRef: { name: this.usersSecretName, key: "MONGODB_CLUSTER_MONITOR_USER" } } },
                      { name: "MONGODB_PASSWORD", valueFrom: { secretKeyRef: { name: this.usersSecretName, key: "MONGODB_CLUSTER_MONITOR_PASSWORD" } } },
                      { name: "MONGODB_URI", value: MONGO_EXPORTER_URI },
                    ],
                    ports: [{ name: "metrics", containerPort: 9216 }],
                    volumeMounts: [{ name: "exporter-tls", mountPath: EXPORTER_TLS_DIR, readOnly: true }],
                  },
                ],
                sidecarVolumes: [{ name: "exporter-tls", secret: { secretName: `${name}-exporter-tls`, items: EXPORTER_TLS_ITEMS } }],
              },
            ],
            sharding: { enabled: false },
            backup: { image: MONGO_IMAGES.backup, ...(active && args.backup ? args.backup : { enabled: false }) },
          },
        },
        { ...o, dependsOn: [...operator, ...secrets], retainOnDelete: true },
      );
      new corev1.Service(
        id("endpoint"),
        {
          metadata: meta(name),
          spec: { type: "ExternalName", externalName: `${crName}-rs0.${namespace}.svc.cluster.local`, ports: [{ name: "mongodb", port: 27017, targetPort: 27017 }] },
        },
        { ...o, dependsOn: [cluster] },
      );
      if (disasterSurvivor && twoSites) {
        const local = `${crName}-rs0-0.${crName}-rs0.${namespace}.svc.cluster.local`;
        new batchv1.Job(
          id("forced-reconfig"),
          {
            metadata: meta(`${name}-forced-reconfig`),
            spec: {
              backoffLimit: 10,
              template: {
                metadata: { labels },
                spec: {
                  ...POD_DEFAULTS,
                  restartPolicy: "OnFailure",
                  containers: [
                    {
                      name: "mongosh",
                      image: MONGO_IMAGES.mongod,
                      command: [
                        "sh",
                        "-c",
                        `exec mongosh "mongodb://$(MONGODB_USER):$(MONGODB_PASSWORD)@${local}:27017/admin?directConnection=true&tls=true&tlsCAFile=${EXPORTER_TLS_DIR}/ca.crt&tlsCertificateKeyFile=${EXPORTER_TLS_DIR}/tls.pem" --quiet --eval "$SCRIPT"`,
                      ],
                      env: [
                        { name: "MONGODB_USER", valueFrom: { secretKeyRef: { name: this.usersSecretName, key: "MONGODB_CLUSTER_ADMIN_USER" } } },
                        { name: "MONGODB_PASSWORD", valueFrom: { secretKeyRef: { name: this.usersSecretName, key: "MONGODB_CLUSTER_ADMIN_PASSWORD" } } },
                        { name: "SCRIPT", value: forcedReconfigScript(args.memberHosts![siteName]!.map((h) => `${h}:27017`)) },
                      ],
                      volumeMounts: [{ name: "tls", mountPath: EXPORTER_TLS_DIR, readOnly: true }],
                    },
                  ],
                  volumes: [{ name: "tls", secret: { secretName: `${name}-exporter-tls`, items: EXPORTER_TLS_ITEMS } }],
                },
              },
            },
          },
          { ...o, dependsOn: [cluster] },
        );
      }
      new apiextensions.CustomResource(
        id("alerts"),
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PrometheusRule",
          metadata: meta(`${name}-alerts`),
          spec: {
            groups: [
              {
                name: `${name}.recovery`,
                rules: [
                  {
                    alert: "MongoReplicationLagHigh",
                    expr: `max by (set, name) (mongodb_mongod_replset_member_replication_lag{namespace="${namespace}"}) > ${args.replicationLagTargetSeconds ?? 60}`,
                    for: "2m",
                    labels: { severity: "critical", dataset: name, site: siteName },
                    annotations: { summary: `MongoDB ${name}: a member on ${siteName} is more than ${args.replicationLagTargetSeconds ?? 60} s behind.` },
                  },
                ],
              },
            ],
          },
        },
        o,
      );
    }
    this.registerOutputs({ endpoint: this.endpoint, usersSecretName: this.usersSecretName, rpoMinutes: this.rpoMinutes, rtoMinutes: this.rtoMinutes });
  }
}
