/**
 * Issue 23, "Keys": PostgresCluster, MongoReplicaSet and RedisPrimary take every key from a KeyStore. With
 * Vault keys no key material is in a Kubernetes Secret the program writes, and none is made by
 * `@pulumi/tls` or `@pulumi/random`: the Secrets are cert-manager Certificates and External Secrets
 * ExternalSecrets under the old resource names, which the upstream CRDs accept. With the default
 * (Pulumi-state) store the resources are those of before (the component tests run it through index.ts).
 */
import { checkConformance } from "../conformance/check";
import { Upstream } from "../conformance/upstream";
import type { RecordedResource } from "../plan/mock-runtime";
import { Run, cachedRun, resource, resourcesOfType, runIsolated, stackConfig } from "./harness";

type ExternalSecretSpec = {
  target: { name: string; template: { type: string; data: Record<string, string> } };
  data: Array<{ secretKey: string; remoteRef: { key: string; property: string } }>;
};
type CertificateSpec = { secretName: string; commonName: string; additionalOutputFormats?: Array<{ type: string }> };

const SITES = ["onprem", "gcloud"] as const;

/** The three datastores on two sites with a Vault key store, and what they registered. */
async function vaultRun(): Promise<Run> {
  const run = await cachedRun("keys-datastores vault", () =>
    runIsolated("prod", stackConfig("prod"), async () => {
      const lib = require("../components") as typeof import("../components");
      const { VaultKeys } = require("../components/vault-keys") as typeof import("../components/vault-keys");
      const store = { endpoint: "https://s3.gdcc.go.th", accessKeyId: "a", secretAccessKey: "s" };
      const volumes = { storageClass: "encrypted", encryption: "node-disk-encryption" } as const;
      const onprem = new lib.Site("onprem", { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig: "k", volumes, vpnRanges: ["10.10.0.0/16"] });
      const gcloud = new lib.Site("gcloud", { kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby", kubeconfig: "k", volumes, vpnRanges: ["10.20.0.0/16"], objectStore: store });
      const keys = new VaultKeys("waris-keys", {
        settings: { address: "https://vault.example:8200", authMounts: { onprem: "kubernetes-onprem", gcloud: "kubernetes-gcloud" } },
        sites: { onprem, gcloud },
      });
      const sites = [onprem, gcloud];
      const roles = lib.steadyRoles(["onprem", "gcloud"], "onprem");
      new lib.PostgresCluster("team-pg", { sites, roles, backupSite: gcloud, backupBucket: "team-pg-archive", replicationHosts: { onprem: "pg.onprem", gcloud: "pg.gcloud" }, keys });
      const hosts = (site: string) => [0, 1, 2].map((i) => `mongo-${i}.${site}`);
      new lib.MongoReplicaSet("team-mongo", { sites, roles, memberHosts: { onprem: hosts("onprem"), gcloud: hosts("gcloud") }, backup: { enabled: true }, backupSite: gcloud, keys });
      new lib.RedisPrimary("team-redis", { sites, roles, replicationHosts: { onprem: "redis.onprem", gcloud: "redis.gcloud" }, backupSite: gcloud, backupBucket: "team-redis-dumps", keys });
    }),
  );
  if (run.error) throw run.error;
  return run;
}

const externalSecret = (run: Run, name: string) => resource(run, "kubernetes:external-secrets.io/v1:ExternalSecret", name).inputs["spec"] as ExternalSecretSpec;
const certificate = (run: Run, name: string) => resource(run, "kubernetes:cert-manager.io/v1:Certificate", name).inputs["spec"] as CertificateSpec;
/** An ExternalSecret's Secret: name, type, keys, and the Vault KV values it reads. */
const written = (spec: ExternalSecretSpec) => ({
  name: spec.target.name,
  type: spec.target.template.type,
  keys: Object.keys(spec.target.template.data).sort(),
  reads: [...new Set(spec.data.map((d) => `${d.remoteRef.key}#${d.remoteRef.property}`))].sort(),
});
const ours = (r: RecordedResource) => /^(team-pg|team-mongo|team-redis)/.test(r.name);

describe("the datastores with Vault keys", () => {
  let run: Run;
  beforeAll(async () => {
    run = await vaultRun();
  }, 60000);

  test("no key in Pulumi: no tls: or random: resource, and no Secret of theirs but a CA certificate", () => {
    expect(run.recording.resources.filter((r) => r.type.startsWith("tls:") || r.type.startsWith("random:")).map((r) => r.name)).toEqual([]);
    // The CA certificate is public; Vault's root certificate is an output of the engine, unknown here: its
    // Secret's data comes from that root certificate alone.
    const secrets = resourcesOfType(run, "kubernetes:core/v1:Secret").filter(ours);
    const typeOf = new Map(run.recording.resources.map((r) => [r.urn, `${r.type}::${r.name}`]));
    expect(secrets.map((s) => [s.name, (s.propertyDependencies?.["stringData"] ?? []).map((u) => typeOf.get(u)), s.inputs["data"]])).toEqual(
      SITES.map((site) => [`team-pg-${site}-ca`, ["vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert::team-pg-ca"], undefined]),
    );
  });

  test("PostgreSQL: the app and archive Secrets from Vault KV, the certificates from cert-manager, under the old names", () => {
    for (const site of SITES) {
      expect(written(externalSecret(run, `team-pg-${site}-app`))).toEqual({ name: "team-pg-app", type: "kubernetes.io/basic-auth", keys: ["password", "username"], reads: ["stack/team-pg-app-password#value"] });
      expect(externalSecret(run, `team-pg-${site}-app`).target.template.data["username"]).toBe("waris");
      expect(written(externalSecret(run, `team-pg-${site}-backup`))).toEqual({
        name: "team-pg-backup",
        type: "Opaque",
        keys: ["ACCESS_KEY_ID", "ACCESS_SECRET_KEY"],
        reads: ["object-store/gcloud/postgres#accessKeyId", "object-store/gcloud/postgres#secretAccessKey"],
      });
      expect(certificate(run, `team-pg-${site}-server`)).toMatchObject({ secretName: "team-pg-server", commonName: `team-pg-${site}-rw` });
      expect(certificate(run, `team-pg-${site}-replication`)).toMatchObject({ secretName: "team-pg-replication", commonName: "streaming_replica" });
    }
  });

  test("MongoDB: users, data-at-rest key and PBM keys from Vault KV; the members' and the exporter's certificates from cert-manager", () => {
    const users = ["BACKUP", "DATABASE_ADMIN", "CLUSTER_ADMIN", "CLUSTER_MONITOR", "USER_ADMIN"];
    for (const site of SITES) {
      expect(written(externalSecret(run, `team-mongo-${site}-users`))).toEqual({
        name: "team-mongo-users",
        type: "Opaque",
        keys: users.flatMap((u) => [`MONGODB_${u}_PASSWORD`, `MONGODB_${u}_USER`]).sort(),
        reads: users.map((u) => `generated/team-mongo-${u.toLowerCase().replace("_", "-")}#password`).sort(),
      });
      expect(written(externalSecret(run, `team-mongo-${site}-encryption-key`))).toEqual({ name: "team-mongo-encryption-key", type: "Opaque", keys: ["encryption-key"], reads: ["generated/team-mongo-encryption-key#key"] });
      for (const kind of ["ssl", "ssl-internal"]) expect(certificate(run, `team-mongo-${site}-${kind}`)).toMatchObject({ secretName: `team-mongo-${kind}`, commonName: "team-mongo-rs0" });
      expect(certificate(run, `team-mongo-${site}-exporter-tls`)).toMatchObject({ secretName: "team-mongo-exporter-tls", additionalOutputFormats: [{ type: "CombinedPEM" }] });
    }
    // PBM runs on the active site only, with the mongodb writer's own keys.
    expect(written(externalSecret(run, "team-mongo-onprem-backup"))).toMatchObject({ name: "team-mongo-backup", reads: ["object-store/gcloud/mongodb#accessKeyId", "object-store/gcloud/mongodb#secretAccessKey"] });
    expect(run.recording.resources.filter((r) => r.name === "team-mongo-gcloud-backup")).toEqual([]);
    // The key is 32 random bytes from Vault, base64 (what mongod decodes, and what Percona itself would make:
    // pkg/psmdb/secret/secret.go), drawn on each site and pushed once to Vault; the ExternalSecret that reads
    // it waits for its own site's push.
    for (const site of SITES) {
      expect(resource(run, "kubernetes:generators.external-secrets.io/v1alpha1:VaultDynamicSecret", `waris-keys-${site}-team-mongo-encryption-key-generator`).inputs["spec"]).toMatchObject({
        method: "POST",
        path: "sys/tools/random",
        parameters: { bytes: 32, format: "base64" },
        resultType: "Data",
      });
      const push = resource(run, "kubernetes:external-secrets.io/v1alpha1:PushSecret", `waris-keys-${site}-team-mongo-encryption-key-push`);
      expect(push.inputs["spec"]).toMatchObject({ data: [{ match: { secretKey: "random_bytes", remoteRef: { remoteKey: "generated/team-mongo-encryption-key", property: "key" } } }] });
      expect(resource(run, "kubernetes:external-secrets.io/v1:ExternalSecret", `team-mongo-${site}-encryption-key`).dependencies).toContain(push.urn);
    }
    expect(run.recording.resources.filter((r) => r.type === "kubernetes:generators.external-secrets.io/v1alpha1:Password" && r.name.includes("encryption-key"))).toEqual([]);
  });

  test("MongoDB: the exporter reads cert-manager's combined PEM as tls.pem, the file its URI names", () => {
    const spec = resource(run, "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB", "team-mongo-onprem-cluster").inputs["spec"] as { replsets: Array<{ sidecarVolumes: unknown[] }> };
    expect(spec.replsets[0]!.sidecarVolumes).toEqual([
      { name: "exporter-tls", secret: { secretName: "team-mongo-exporter-tls", items: [{ key: "ca.crt", path: "ca.crt" }, { key: "tls-combined.pem", path: "tls.pem" }] } },
    ]);
  });

  test("Redis: the password and the uploader's keys from Vault KV, each site's certificate from cert-manager", () => {
    for (const site of SITES) {
      expect(written(externalSecret(run, `team-redis-${site}-auth`))).toEqual({ name: "team-redis-auth", type: "Opaque", keys: ["REDIS_PASSWORD"], reads: ["stack/team-redis-password#value"] });
      expect(written(externalSecret(run, `team-redis-${site}-backup-store`))).toMatchObject({ name: "team-redis-backup-store", reads: ["object-store/gcloud/redis#accessKeyId", "object-store/gcloud/redis#secretAccessKey"] });
      expect(certificate(run, `team-redis-${site}-tls`)).toMatchObject({ secretName: "team-redis-tls", commonName: "team-redis" });
    }
  });

  test("the key objects are accepted by the upstream CRDs (the rest is as in the program runs, which conformance.test.ts checks)", () => {
    const keyObjects = run.recording.resources.filter((r) => /^kubernetes:(external-secrets\.io|generators\.external-secrets\.io|cert-manager\.io)\//.test(r.type));
    const report = checkConformance(keyObjects, new Upstream());
    expect(report.objects.flatMap((o) => o.findings.map((f) => `${f.kind} ${o.object} ${f.path}: ${f.message}`))).toEqual([]);
    expect(new Set(keyObjects.map((r) => r.type.split(":")[1]))).toEqual(
      new Set(["external-secrets.io/v1", "cert-manager.io/v1", "generators.external-secrets.io/v1alpha1", "external-secrets.io/v1alpha1"]),
    );
    expect(report.checked).toBe(keyObjects.length);
  });
});

describe("the datastores with the default (Pulumi-state) store", () => {
  test("MongoDB's passwords keep their state: the old names (with _) are aliases of the DNS-1123 ones", async () => {
    const calls: Array<{ name: string; aliases: unknown }> = [];
    const run = await runIsolated("prod", stackConfig("prod"), async () => {
      const lib = require("../components") as typeof import("../components");
      const { PulumiStateKeys } = require("../components/keys") as typeof import("../components/keys");
      class Recording extends PulumiStateKeys {
        override generatedPassword(name: string, length: number, opts: import("@pulumi/pulumi").CustomResourceOptions) {
          calls.push({ name, aliases: opts.aliases });
          return super.generatedPassword(name, length, opts);
        }
      }
      const site = new lib.Site("lab", { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig: "k" });
      new lib.MongoReplicaSet("team-mongo", { sites: [site], roles: lib.steadyRoles(["lab"], "lab"), membersPerSite: 1, keys: new Recording() });
    });
    expect(run.error).toBeUndefined();
    expect(calls).toEqual([
      { name: "team-mongo-backup", aliases: undefined },
      { name: "team-mongo-database-admin", aliases: [{ name: "team-mongo-database_admin" }] },
      { name: "team-mongo-cluster-admin", aliases: [{ name: "team-mongo-cluster_admin" }] },
      { name: "team-mongo-cluster-monitor", aliases: [{ name: "team-mongo-cluster_monitor" }] },
      { name: "team-mongo-user-admin", aliases: [{ name: "team-mongo-user_admin" }] },
    ]);
    expect(resourcesOfType(run, "random:index/randomBytes:RandomBytes").map((r) => [r.name, r.inputs["length"]])).toEqual([["team-mongo-encryption-key", 32]]);
  });

  test("a missing stack secret is refused, naming the argument, before anything is registered", async () => {
    const run = await runIsolated("prod", stackConfig("prod"), async () => {
      const lib = require("../components") as typeof import("../components");
      const store = { endpoint: "https://s3.gdcc.go.th", accessKeyId: "a", secretAccessKey: "s" };
      const site = new lib.Site("lab", { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig: "k", objectStore: store });
      new lib.RedisPrimary("team-redis", { sites: [site], roles: lib.steadyRoles(["lab"], "lab"), backupSite: site, backupBucket: "team-redis-dumps" });
    });
    expect((run.error as Error).message).toMatch(/RedisPrimary "team-redis"[\s\S]*password[\s\S]*is not set; without Vault keys/);
    expect(run.recording.resources.filter((r) => r.name.startsWith("team-redis"))).toEqual([]);
  });
});
