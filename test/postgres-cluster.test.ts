import type { RecordedResource } from "../plan/mock-runtime";
import { EditableSetting, Run, SAMPLE_PROMOTION_TOKEN, editSetting, resource, resourcesOfType, runProgram, runProgramWithoutVault } from "./harness";
import { validatePostgresClusterArgs } from "../components/postgres-cluster";

const P = "waris-hybrid";
type Spec = Record<string, unknown> & {
  replica?: { self: string; primary: string; source: string; promotionToken?: string };
  externalClusters?: Array<Record<string, unknown>>;
  bootstrap: Record<string, unknown>;
};

const clusters = (run: Run): Record<string, { r: RecordedResource; spec: Spec }> =>
  Object.fromEntries(
    run.recording.resources
      .filter((r) => r.type === "kubernetes:postgresql.cnpg.io/v1:Cluster")
      .map((r) => [(r.inputs["metadata"] as { labels: Record<string, string> }).labels["waris.io/site"]!, { r, spec: r.inputs["spec"] as Spec }]),
  );
const editPostgres = (edit: (pg: EditableSetting) => void) => (config: Record<string, string>) => editSetting(config, "postgres", edit);

describe("PostgresCluster in prod (on-prem primary, G-Cloud standby)", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram("prod");
  });

  test("one CloudNativePG Cluster per site in the distributed topology, onprem primary", () => {
    expect(run.error).toBeUndefined();
    const c = clusters(run);
    expect(Object.keys(c).sort()).toEqual(["gcloud", "onprem"]);
    expect(c["onprem"]!.spec.replica).toEqual({ self: "waris-postgres-onprem", primary: "waris-postgres-onprem", source: "waris-postgres-gcloud" });
    expect(c["gcloud"]!.spec.replica).toEqual({ self: "waris-postgres-gcloud", primary: "waris-postgres-onprem", source: "waris-postgres-onprem" });
    expect(c["onprem"]!.spec.bootstrap).toEqual({ initdb: { database: "waris", owner: "waris", secret: { name: "waris-postgres-app" } } });
    // The standby is cloned over the replication link, not restored from a base backup that the weekly
    // schedule would take only days later (cloudnative-pg issue 1313).
    expect(c["gcloud"]!.spec.bootstrap).toEqual({ pg_basebackup: { source: "waris-postgres-onprem" } });
  });

  test("both sites list each other under externalClusters, over verify-full TLS and the other's WAL archive", () => {
    const ext = clusters(run)["gcloud"]!.spec.externalClusters!;
    expect(ext.map((e) => e["name"])).toEqual(["waris-postgres-gcloud", "waris-postgres-onprem"]);
    expect(ext[1]).toEqual({
      name: "waris-postgres-onprem",
      connectionParameters: { host: "pg.onprem.waris.internal", user: "streaming_replica", dbname: "postgres", sslmode: "verify-full" },
      sslKey: { name: "waris-postgres-replication", key: "tls.key" },
      sslCert: { name: "waris-postgres-replication", key: "tls.crt" },
      sslRootCert: { name: "waris-postgres-ca", key: "ca.crt" },
      plugin: { name: "barman-cloud.cloudnative-pg.io", parameters: { barmanObjectName: "waris-postgres-store", serverName: "waris-postgres-onprem" } },
    });
  });

  test("TLS 1.3 only, WAL archived continuously through the Barman Cloud plugin, labelled for the policies", () => {
    const { r, spec } = clusters(run)["onprem"]!;
    expect(spec["postgresql"]).toEqual({ parameters: { ssl_min_protocol_version: "TLSv1.3", ssl_max_protocol_version: "TLSv1.3", archive_timeout: "5min", log_connections: "on", log_disconnections: "on" } });
    expect(spec["plugins"]).toEqual([{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: "waris-postgres-store" } }]);
    expect(spec["backup"]).toBeUndefined(); // not the deprecated in-tree barmanObjectStore
    expect(spec["certificates"]).toEqual({ serverCASecret: "waris-postgres-ca", serverTLSSecret: "waris-postgres-server", clientCASecret: "waris-postgres-ca", replicationTLSSecret: "waris-postgres-replication" });
    expect(spec).toMatchObject({ instances: 2, storage: { size: "500Gi" }, walStorage: { size: "50Gi" }, resources: { requests: { cpu: "4", memory: "32Gi" } } });
    expect((r.inputs["metadata"] as { labels: unknown }).labels).toEqual({ "waris.io/site": "onprem", "waris.io/data-class": "confidential", "waris.io/dataset": "waris-postgres" });
  });

  test("the ObjectStore on each site archives to the G-Cloud bucket, encrypted, kept 30 days", () => {
    for (const site of ["onprem", "gcloud"]) {
      expect(resource(run, "kubernetes:barmancloud.cnpg.io/v1:ObjectStore", `waris-postgres-${site}-store`)!.inputs["spec"]).toEqual({
        retentionPolicy: "30d",
        configuration: {
          destinationPath: "s3://waris-prod-postgres/",
          endpointURL: "https://s3.gdcc.go.th",
          s3Credentials: { accessKeyId: { name: "waris-postgres-backup", key: "ACCESS_KEY_ID" }, secretAccessKey: { name: "waris-postgres-backup", key: "ACCESS_SECRET_KEY" } },
          wal: { compression: "gzip", encryption: "AES256" },
          data: { compression: "gzip", encryption: "AES256", jobs: 2 },
        },
      });
    }
  });

  test("operator, plugin and cert-manager are installed from pinned charts on both sites", () => {
    for (const site of ["onprem", "gcloud"]) {
      expect(resource(run, "kubernetes:helm.sh/v3:Release", `waris-postgres-${site}-cnpg`)!.inputs).toMatchObject({ chart: "cloudnative-pg", version: "0.26.0", namespace: "cnpg-system" });
      expect(resource(run, "kubernetes:helm.sh/v3:Release", `waris-postgres-${site}-barman-cloud`)!.inputs).toMatchObject({ chart: "plugin-barman-cloud", version: "0.4.0", namespace: "cnpg-system" });
      expect(resource(run, "kubernetes:helm.sh/v3:Release", `waris-postgres-${site}-cert-manager`)!.inputs).toMatchObject({ chart: "cert-manager", version: "v1.18.2" });
    }
  });

  test("alerts on replication lag above 60 s and on a WAL archive older than the RPO", () => {
    const rules = (resource(run, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "waris-postgres-onprem-alerts")!.inputs["spec"] as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups[0]!.rules;
    expect(rules.map((r) => [r.alert, r.expr])).toEqual([
      ["PostgresReplicationLagHigh", 'max by (namespace, pod) (cnpg_pg_replication_lag{namespace="waris-postgres"}) > 60'],
      ["PostgresWalArchiveStale", 'max by (namespace, pod) (cnpg_pg_stat_archiver_seconds_since_last_archival{namespace="waris-postgres"}) > 3600'],
    ]);
  });

  test("the application endpoint points at the onprem primary on both sites; credentials stay secret", () => {
    const spec = (site: string) => resource(run, "kubernetes:core/v1:Service", `waris-postgres-${site}-endpoint`)!.inputs["spec"];
    expect(spec("onprem")).toMatchObject({ type: "ExternalName", externalName: "waris-postgres-onprem-rw.waris-postgres.svc.cluster.local" });
    expect(spec("gcloud")).toMatchObject({ type: "ExternalName", externalName: "pg.onprem.waris.internal" });
    // Prod takes its keys from Vault: the credentials reach the pods from Vault KV, never through the plan.
    const remote = (name: string) => (resource(run, "kubernetes:external-secrets.io/v1:ExternalSecret", name).inputs["spec"] as { data: Array<{ remoteRef: { key: string; property: string } }> }).data.map((d) => `${d.remoteRef.key}#${d.remoteRef.property}`);
    expect(remote("waris-postgres-onprem-app")).toEqual(["stack/waris-postgres-app-password#value"]);
    expect(remote("waris-postgres-gcloud-backup")).toEqual(["object-store/gcloud/postgres#accessKeyId", "object-store/gcloud/postgres#secretAccessKey"]);
    expect(resourcesOfType(run, "kubernetes:core/v1:Secret").filter((r) => r.name.startsWith("waris-postgres-")).map((r) => r.name).sort()).toEqual(["waris-postgres-gcloud-ca", "waris-postgres-onprem-ca"]);
  });

  test("recovery guarantees: RPO = archive timeout, RTO = standby promotion", () => {
    expect(run.outputs["postgresCluster"]).toMatchObject({ rpoMinutes: 5, rtoMinutes: 15, activeSite: "onprem", endpoint: "waris-postgres.waris-postgres.svc.cluster.local" });
  });
});

describe("roles from the failover model (components/failover.ts)", () => {
  const situation = (activeSite: string, failover: Record<string, unknown>) => (c: Record<string, string>) => {
    c[`${P}:activeSite`] = activeSite;
    c[`${P}:failover`] = JSON.stringify(failover);
  };

  test("disaster promote (on-prem lost): G-Cloud promotes without a token; nothing on-prem changes", async () => {
    const steady = clusters(await runProgram("prod"));
    const run = await runProgram("prod", situation("gcloud", { procedure: "disaster", phase: "promote", from: "onprem", conditions: { onprem: "lost" } }));
    expect(run.error).toBeUndefined();
    const c = clusters(run);
    expect(c["gcloud"]!.spec.replica).toEqual({ self: "waris-postgres-gcloud", primary: "waris-postgres-gcloud", source: "waris-postgres-onprem" });
    expect(c["onprem"]!.r.inputs).toEqual(steady["onprem"]!.r.inputs);
    expect(resource(run, "kubernetes:core/v1:Service", "waris-postgres-gcloud-endpoint")!.inputs["spec"]).toMatchObject({ externalName: "waris-postgres-gcloud-rw.waris-postgres.svc.cluster.local" });
    expect(resource(run, "kubernetes:core/v1:Service", "waris-postgres-onprem-endpoint")!.inputs["spec"]).toMatchObject({ externalName: "waris-postgres-onprem-rw.waris-postgres.svc.cluster.local" });
  });

  test("disaster fence (on-prem back, isolated): on-prem is fenced and follows G-Cloud; its endpoint moves", async () => {
    const run = await runProgram("prod", situation("gcloud", { procedure: "disaster", phase: "fence", from: "onprem", conditions: { onprem: "isolated" } }));
    const c = clusters(run);
    const onprem = resource(run, "kubernetes:postgresql.cnpg.io/v1:Cluster", "waris-postgres-onprem")!.inputs["metadata"] as { annotations?: Record<string, string> };
    expect(onprem.annotations).toEqual({ "cnpg.io/fencedInstances": '["*"]' });
    // Fenced, it exposes no LoadBalancer (CloudNativePG deletes it): the rebuild's new generation takes the name.
    expect(c["onprem"]!.spec["managed"]).toBeUndefined();
    // Nor PodDisruptionBudgets: fenced pods are never Ready and would block every drain until decommission.
    expect(c["onprem"]!.spec["enablePDB"]).toBe(false);
    expect(c["onprem"]!.spec.replica!.primary).toBe("waris-postgres-gcloud");
    expect(resource(run, "kubernetes:core/v1:Service", "waris-postgres-onprem-endpoint")!.inputs["spec"]).toMatchObject({ externalName: "pg.gcloud.waris.internal" });
  });

  test("failback rebuild: on-prem is a new cluster (generation 2), cloned by pg_basebackup from G-Cloud", async () => {
    const run = await runProgram("prod", situation("onprem", { procedure: "failback", phase: "rebuild", from: "gcloud", generations: { onprem: 2 } }));
    expect(run.error).toBeUndefined();
    const c = clusters(run);
    // A new resource (the old generation is dropped from the program, retained: kept until the decommission step).
    const onprem = resource(run, "kubernetes:postgresql.cnpg.io/v1:Cluster", "waris-postgres-onprem-g2")!.inputs as { metadata: { name: string }; spec: Spec };
    expect(onprem.metadata.name).toBe("waris-postgres-onprem-g2");
    expect(onprem.spec.bootstrap).toEqual({ pg_basebackup: { source: "waris-postgres-gcloud" } });
    // The LoadBalancer the other site replicates through keeps its name (replicationHosts points at it).
    expect(JSON.stringify(onprem.spec["managed"])).toContain('"name":"waris-postgres-onprem-rw-lb"');
    expect(onprem.spec.replica).toEqual({ self: "waris-postgres-onprem-g2", primary: "waris-postgres-gcloud", source: "waris-postgres-gcloud" });
    expect(c["gcloud"]!.spec.replica).toEqual({ self: "waris-postgres-gcloud", primary: "waris-postgres-gcloud", source: "waris-postgres-onprem-g2" });
  });

  test("switchover demote, then promote with the demotion token", async () => {
    const demote = clusters(await runProgram("prod", situation("gcloud", { procedure: "switchover", phase: "demote", from: "onprem" })));
    expect(demote["onprem"]!.spec.replica!.primary).toBe("waris-postgres-gcloud");
    expect(demote["gcloud"]!.spec.replica).toEqual({ self: "waris-postgres-gcloud", primary: "waris-postgres-onprem", source: "waris-postgres-onprem" });
    const promote = clusters(await runProgram("prod", situation("gcloud", { procedure: "switchover", phase: "promote", from: "onprem", promotionToken: SAMPLE_PROMOTION_TOKEN })));
    expect(promote["gcloud"]!.spec.replica).toEqual({ self: "waris-postgres-gcloud", primary: "waris-postgres-gcloud", source: "waris-postgres-onprem", promotionToken: SAMPLE_PROMOTION_TOKEN });
    expect(promote["onprem"]!.spec.replica!.promotionToken).toBeUndefined();
  });

  test("a situation the procedures do not allow is refused under its key before anything is registered", async () => {
    const run = await runProgram("prod", situation("gcloud", { procedure: "switchover", phase: "promote", from: "onprem", promotionToken: "t" }));
    expect((run.error as Error).message).toMatch(/waris-hybrid:failover.promotionToken = "t": is not a CloudNativePG demotion token/);
    const lost = await runProgram("prod", situation("gcloud", { procedure: "switchover", phase: "demote", from: "onprem", conditions: { onprem: "lost" } }));
    expect((lost.error as Error).message).toMatch(/waris-hybrid:failover.conditions.onprem = "lost": is lost; the switchover demote phase needs it up: a switchover needs both sites up; with one lost, run procedure: disaster/);
    expect(lost.recording.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});

describe("PostgresCluster in dev (one site)", () => {
  test("a single cluster without replica topology, RTO estimated from a restore", async () => {
    const run = await runProgram("dev");
    expect(run.error).toBeUndefined();
    const c = clusters(run);
    expect(Object.keys(c)).toEqual(["lab"]);
    expect(c["lab"]!.spec.replica).toBeUndefined();
    expect(c["lab"]!.spec.externalClusters).toBeUndefined();
    expect(c["lab"]!.spec["certificates"]).toBeUndefined();
    expect(c["lab"]!.spec.bootstrap).toHaveProperty("initdb");
    expect(run.recording.resources.filter((r) => r.type.startsWith("tls:") && r.name.startsWith("waris-postgres"))).toEqual([]);
    // 20 GiB at 100 MiB/s = 205 s -> 4 min, plus 30 min of overhead.
    expect(run.outputs["postgresCluster"]).toMatchObject({ rpoMinutes: 5, rtoMinutes: 34 });
  });
});

describe("PostgresCluster refuses bad arguments", () => {
  const th = (name: string, kind = "onprem") => ({ name, kind, region: "x", country: "TH" });
  const base = {
    sites: [th("onprem"), th("gcloud", "gcloud")],
    roles: { bySite: { onprem: "primary", gcloud: "replica" } },
    backupSite: { ...th("gcloud", "gcloud"), hasObjectStore: true },
    backupBucket: "waris-pg",
    replicationHosts: { onprem: "a", gcloud: "b" },
  };
  const problem = (args: Partial<Parameters<typeof validatePostgresClusterArgs>[0]>, argument: string): string => {
    const found = validatePostgresClusterArgs({ ...base, ...args }).find((p) => p.argument === argument);
    expect(found).toBeDefined();
    return found!.message;
  };

  test("the baseline is valid", () => expect(validatePostgresClusterArgs(base)).toEqual([]));
  test("a standby on the same site as the primary", () => expect(problem({ sites: [th("onprem"), th("onprem")] }, "sites")).toMatch(/lists site "onprem" twice: the standby must be on a different site/));
  test("roles that do not cover the database sites", () => expect(problem({ roles: { bySite: { onprem: "primary", aws: "replica" } } }, "roles")).toMatch(/cover the sites aws, onprem; they must cover exactly the database sites onprem, gcloud/));
  test("a standby site outside Thailand", () =>
    expect(problem({ sites: [th("onprem"), { name: "sg", kind: "gcloud", region: "x", country: "SG" }] }, "sites")).toMatch(/site "sg" .* is outside Thailand/));
  test("a lag target above the RPO", () => expect(problem({ replicationLagTargetSeconds: 7200, rpoMinutes: 60 }, "replicationLagTargetSeconds")).toMatch(/7200 s, above the RPO of 60 min/));
  test("an archive timeout above the RPO", () => expect(problem({ archiveTimeoutMinutes: 90 }, "archiveTimeoutMinutes")).toMatch(/90 min, above the RPO of 60 min/));
  test("two sites without replication hosts", () => expect(problem({ replicationHosts: { onprem: "a" } }, "replicationHosts.gcloud")).toMatch(/required with two sites/));
  test("backups on a site without an object store", () => expect(problem({ backupSite: { ...th("onprem"), hasObjectStore: false } }, "backupSite")).toMatch(/has no S3-compatible object store/));

  test("in the stack file, the problem is reported under its setting before anything is registered", async () => {
    const run = await runProgram("prod", editPostgres((pg) => Object.assign(pg, { replicationHosts: { onprem: "pg.onprem.waris.internal" }, archiveTimeoutMinutes: 120 })));
    expect((run.error as Error).message).toMatch(/waris-hybrid:postgres.replicationHosts.gcloud = \(not set\): PostgreSQL: is required with two sites/);
    expect((run.error as Error).message).toMatch(/waris-hybrid:postgres.archiveTimeoutMinutes = 120: PostgreSQL: is 120 min, above the RPO of 60 min/);
    expect(run.recording.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });

  test("a missing password secret names the command", async () => {
    const run = await runProgramWithoutVault("prod", (c) => delete c[`${P}:postgresAppPassword`]);
    expect((run.error as Error).message).toMatch(/waris-hybrid:postgresAppPassword = \(not set\): missing secret .* run: pulumi config set --secret --stack prod postgresAppPassword/);
  });
});

test("every site's server certificate names the endpoint applications verify with sslmode=verify-full", async () => {
  const run = await runProgram("prod");
  for (const site of ["onprem", "gcloud"]) {
    const dnsNames = (resource(run, "kubernetes:cert-manager.io/v1:Certificate", `waris-postgres-${site}-server`).inputs["spec"] as { dnsNames: string[] }).dnsNames;
    expect(dnsNames).toEqual(expect.arrayContaining(["waris-postgres.waris-postgres.svc.cluster.local", `waris-postgres-${site}-rw.waris-postgres.svc.cluster.local`]));
  }
}, 60000);
