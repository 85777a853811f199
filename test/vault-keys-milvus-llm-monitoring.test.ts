/**
 * MilvusPrimary, InferenceCluster and Monitoring with their keys from Vault (issue 23, "Keys"): no key
 * material passes through Pulumi. Every Secret a pod reads is an External Secrets `ExternalSecret` over
 * Vault KV, every TLS Secret a cert-manager `Certificate`, every password a `Password` generator; no
 * `tls:`/`random:` resource and no plain Secret holding a password, key or certificate is registered.
 * And without Vault (the default store), each writer's own object-store keys reach its Secret.
 */
import { load as parseYaml } from "js-yaml";
import { checkConformance } from "../conformance/check";
import { milvusBackupConfig } from "../components/milvus-primary";
import { Run, cachedRun, resource, resourcesOfType, runIsolated, stackConfig } from "./harness";

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Lib = typeof import("../components");

const ES = "kubernetes:external-secrets.io/v1:ExternalSecret";
const CERT = "kubernetes:cert-manager.io/v1:Certificate";
const SITES = ["onprem", "gcloud"] as const;

/** Both Thai sites, each with its own store; `writers` gives each backup writer keys of its own. */
function sites(lib: Lib, writers = false) {
  const store = (host: string, site: string) => ({
    endpoint: `https://${host}`,
    accessKeyId: `${site}-admin-ak`,
    secretAccessKey: `${site}-admin-sk`,
    ...(writers
      ? { writers: { milvus: { accessKeyId: `${site}-milvus-ak`, secretAccessKey: `${site}-milvus-sk` }, "milvus-backup": { accessKeyId: `${site}-mb-ak`, secretAccessKey: `${site}-mb-sk` }, models: { accessKeyId: `${site}-models-ak`, secretAccessKey: `${site}-models-sk` } } }
      : {}),
  });
  const onprem = new lib.Site("onprem", { kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary", kubeconfig: "k", vpnRanges: ["10.10.0.0/16"], objectStore: store("minio.onprem", "onprem") });
  const gcloud = new lib.Site("gcloud", { kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby", kubeconfig: "k", vpnRanges: ["10.20.0.0/16"], objectStore: store("s3.gdcc.go.th", "gcloud") });
  return { onprem, gcloud };
}

/** The three components on both sites, with `keys` (undefined: the default store). */
function build(lib: Lib, keys: import("../components/keys").KeyStore | undefined, s: ReturnType<typeof sites>, apiKey?: string): void {
  const { onprem, gcloud } = s;
  new lib.MilvusPrimary("waris-milvus", { sites: [onprem, gcloud], roles: lib.steadyRoles(["onprem", "gcloud"], "onprem"), dataBucket: "waris-milvus-data", backupSite: gcloud, backupBucket: "waris-milvus", keys });
  const pools = [
    new lib.GpuNodePool("llm-onprem", { site: onprem, gpuModel: "H100", gpusPerNode: 2, workload: "inference", nodeNames: ["waris-gpu-01"], nodeOwner: "waris-hybrid/prod" }),
    new lib.GpuNodePool("llm-gcloud", { site: gcloud, gpuModel: "A100", gpusPerNode: 2, workload: "inference", nodeNames: ["gcloud-gpu-01"], nodeOwner: "waris-hybrid/prod" }),
  ];
  new lib.InferenceCluster("waris-llm", {
    sites: [onprem, gcloud],
    pools,
    activeSite: "onprem",
    primary: { model: "waris-llm-70b", source: "s3://waris-models/llm-70b-fp8/", parametersBillions: 70, precision: "fp8", tensorParallelSize: 2 },
    overflow: { model: "waris-llm-70b", source: "s3://waris-models/llm-70b-awq/", parametersBillions: 70, precision: "awq", tensorParallelSize: 2 },
    ...(apiKey === undefined ? {} : { apiKey }),
    appNamespace: "waris-app",
    gatewayHosts: { onprem: "llm.onprem.waris.internal", gcloud: "llm.gcloud.waris.internal" },
    modelStore: gcloud,
    keys,
  });
  new lib.Monitoring("onprem-monitoring", {
    site: onprem,
    installStack: true,
    probes: [],
    datasets: [],
    // E-mail without SMTP login: the Alertmanager configuration holds no secret (see the README: it is
    // not a key store Secret, since its own `{{ }}` templates would be read by External Secrets).
    receivers: { email: { to: ["ops@pwa.example"], from: "alerts@pwa.example", smarthost: "smtp.pwa.example:587" } },
    secrets: {},
    keys,
  });
}

async function vaultRun(): Promise<Run> {
  const run = await cachedRun("vault-keys milvus llm monitoring", () =>
    runIsolated("prod", stackConfig("prod"), async () => {
      const lib = require("../components") as Lib;
      const { VaultKeys } = require("../components/vault-keys") as typeof import("../components/vault-keys");
      const s = sites(lib);
      const keys = new VaultKeys("waris-keys", {
        settings: { address: "https://vault.example:8200", authMounts: { onprem: "kubernetes-onprem", gcloud: "kubernetes-gcloud" } },
        sites: { onprem: s.onprem, gcloud: s.gcloud },
      });
      // No API key from the stack: with Vault it is read from Vault KV.
      build(lib, keys, s);
    }),
  );
  if (run.error) throw run.error;
  return run;
}

/** An ExternalSecret's target Secret name, template data and Vault references (`field` → `key#property`). */
function externalSecret(run: Run, name: string) {
  const spec = resource(run, ES, name).inputs["spec"] as Spec;
  const refs: Record<string, string> = Object.fromEntries((spec["data"] as Spec[]).map((d) => [d["secretKey"], `${d["remoteRef"]["key"]}#${d["remoteRef"]["property"]}`]));
  return { secretName: spec["target"]["name"] as string, type: spec["target"]["template"]["type"] as string, data: spec["target"]["template"]["data"] as Record<string, string>, refs };
}

/** What each template key reads from Vault: `{{ .v0 }}` → `generated/x#password`. */
function readsOf(es: ReturnType<typeof externalSecret>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(es.data).map(([k, t]) => [k, [...t.matchAll(/\{\{ \.(v\d+)[^}]*\}\}/g)].map((m) => es.refs[m[1]!]!)]));
}

describe("with a Vault key store", () => {
  let run: Run;
  beforeAll(async () => {
    run = await vaultRun();
  });

  test("no tls:/random: resource and no plain Secret with key material", () => {
    expect(run.recording.resources.filter((r) => r.type.startsWith("tls:") || r.type.startsWith("random:")).map((r) => r.name)).toEqual([]);
    // The one plain Secret left is the Alertmanager configuration, which here holds no secret at all.
    const plain = resourcesOfType(run, "kubernetes:core/v1:Secret");
    expect(plain.map((r) => r.name)).toEqual(["onprem-monitoring-alertmanager-config"]);
    const text = (plain[0]!.inputs["stringData"] as Record<string, string>)["alertmanager.yaml"]!;
    expect(text).not.toMatch(/password|routing_key|-----BEGIN/);
  });

  test("every key store object is accepted upstream (External Secrets and cert-manager CRD schemas)", () => {
    // The components' other objects are those of the program, checked by conformance.test.ts.
    const report = checkConformance(run.recording.resources.filter((r) => /external-secrets\.io|cert-manager\.io/.test(r.type)));
    expect(report.objects.flatMap((o) => o.findings.map((f) => `${f.kind} ${o.object} ${f.path}: ${f.message}`))).toEqual([]);
    // The key store's kinds were among those checked.
    const checked = new Set(report.objects.map((o) => o.object.split("::")[0]));
    for (const t of [ES, CERT, "kubernetes:generators.external-secrets.io/v1alpha1:Password"]) expect(checked).toContain(t);
  });

  test("Milvus: root password, store keys and backup.yaml from Vault, its certificate from cert-manager", () => {
    for (const site of SITES) {
      expect(externalSecret(run, `waris-milvus-${site}-root`)).toMatchObject({ secretName: "waris-milvus-root", type: "Opaque" });
      expect(readsOf(externalSecret(run, `waris-milvus-${site}-root`))).toEqual({ password: ["generated/waris-milvus-root#password"] });
      // Milvus's own keys on its own site's store.
      expect(readsOf(externalSecret(run, `waris-milvus-${site}-storage`))).toEqual({
        accesskey: [`object-store/${site}/milvus#accessKeyId`],
        secretkey: [`object-store/${site}/milvus#secretAccessKey`],
      });
      const config = externalSecret(run, `waris-milvus-${site}-backup-config`);
      expect(config.secretName).toBe("waris-milvus-backup-config");
      expect(Object.keys(config.data).sort()).toEqual(["backup.yaml", "ca.crt"]);
      // The CA certificate (public) is written as it is; the key stays in Vault's PKI mount.
      expect(readsOf(config)["ca.crt"]).toEqual([]);
      expect(readsOf(config)["backup.yaml"]).toEqual([
        "generated/waris-milvus-root#password",
        `object-store/${site}/milvus#accessKeyId`,
        `object-store/${site}/milvus#secretAccessKey`,
        "object-store/gcloud/milvus-backup#accessKeyId",
        "object-store/gcloud/milvus-backup#secretAccessKey",
      ]);
      // Streamed on every site, G-Cloud too where both buckets share a store: the backup keys cannot read
      // Milvus's bucket for a server-side copy (zilliztech/milvus-backup#642).
      expect(config.data["backup.yaml"]).toContain('crossStorage: "true"');
      const cert = resource(run, CERT, `waris-milvus-${site}-tls`).inputs as Spec;
      expect(cert["metadata"]).toMatchObject({ name: "waris-milvus-tls", namespace: "waris-milvus" });
      expect(cert["spec"]).toMatchObject({
        secretName: "waris-milvus-tls",
        commonName: "waris-milvus-milvus.waris-milvus.svc.cluster.local",
        usages: ["digital signature", "key encipherment", "server auth"],
        issuerRef: { kind: "ClusterIssuer", name: "waris-milvus-server" },
      });
    }
    // One generator (and push) per site of the one shared root password.
    expect(resourcesOfType(run, "kubernetes:generators.external-secrets.io/v1alpha1:Password").map((r) => r.name)).toEqual(
      expect.arrayContaining(SITES.map((s) => `waris-keys-${s}-waris-milvus-root-generator`)),
    );
  });

  test("milvus-backup's backup.yaml, once External Secrets fills it in, is the file the default store writes", () => {
    const config = externalSecret(run, "waris-milvus-onprem-backup-config");
    const fake: Record<string, string> = {
      "generated/waris-milvus-root#password": 'p"w\\1',
      "object-store/onprem/milvus#accessKeyId": "AK1",
      "object-store/onprem/milvus#secretAccessKey": "SK1",
      "object-store/gcloud/milvus-backup#accessKeyId": "AK2",
      "object-store/gcloud/milvus-backup#secretAccessKey": "SK2",
    };
    // External Secrets' `toJson` of a string is its JSON string.
    const filled = config.data["backup.yaml"]!.replace(/\{\{ \.(v\d+) \| toJson \}\}/g, (_, f: string) => JSON.stringify(fake[config.refs[f]!]));
    const host = "waris-milvus-milvus.waris-milvus.svc.cluster.local";
    expect(filled).toBe(
      milvusBackupConfig({
        host,
        password: 'p"w\\1',
        dataStore: { host: "minio.onprem", port: 443, accessKeyId: "AK1", secretAccessKey: "SK1", bucket: "waris-milvus-data" },
        backupStore: { host: "s3.gdcc.go.th", port: 443, accessKeyId: "AK2", secretAccessKey: "SK2", bucket: "waris-milvus" },
        rootPath: "waris-milvus",
        backupRootPath: "waris-milvus",
        crossStorage: true,
      }),
    );
    expect((parseYaml(filled) as Spec)["milvus"]["password"]).toBe('p"w\\1');
  });

  test("LLM: the API key and the model store's read keys from Vault, each gateway's certificate from cert-manager", () => {
    for (const site of SITES) {
      expect(externalSecret(run, `waris-llm-${site}-api-key`).secretName).toBe("vllm-api-key");
      expect(readsOf(externalSecret(run, `waris-llm-${site}-api-key`))).toEqual({ VLLM_API_KEY: ["stack/waris-llm-api-key#value"] });
      expect(externalSecret(run, `waris-llm-${site}-model-store`).secretName).toBe("model-store");
      expect(readsOf(externalSecret(run, `waris-llm-${site}-model-store`))).toEqual({
        AWS_ACCESS_KEY_ID: ["object-store/gcloud/models#accessKeyId"],
        AWS_SECRET_ACCESS_KEY: ["object-store/gcloud/models#secretAccessKey"],
      });
      const cert = resource(run, CERT, `waris-llm-${site}-gateway-tls`).inputs as Spec;
      expect(cert["spec"]).toMatchObject({ secretName: "gateway-tls", commonName: `llm.${site}.waris.internal`, dnsNames: [`llm.${site}.waris.internal`], issuerRef: { name: `waris-llm-${site}-gateway` } });
    }
  });

  test("Grafana's admin password from Vault", () => {
    const es = externalSecret(run, "onprem-monitoring-grafana-admin");
    expect(es.secretName).toBe("onprem-monitoring-grafana-admin");
    expect(es.data["admin-user"]).toBe("admin");
    expect(readsOf(es)).toEqual({ "admin-user": [], "admin-password": ["generated/onprem-monitoring-grafana-admin#password"] });
    // The chart waits for it.
    const chart = resource(run, "kubernetes:helm.sh/v3:Release", "onprem-monitoring-stack");
    expect(chart.dependencies).toContain(resource(run, ES, "onprem-monitoring-grafana-admin").urn);
  });
});

test("without Vault, each writer's own object-store keys reach its Secret; the API key must come from the stack", async () => {
  const run = await cachedRun("pulumi-state keys per writer, milvus llm monitoring", () =>
    runIsolated("prod", stackConfig("prod"), async () => {
      const lib = require("../components") as Lib;
      build(lib, undefined, sites(lib, true), "api-key-from-stack");
    }),
  );
  expect(run.error).toBeUndefined();
  const data = (name: string) => resource(run, "kubernetes:core/v1:Secret", name).inputs["stringData"] as Record<string, string>;
  expect(data("waris-milvus-onprem-storage")).toEqual({ accesskey: "onprem-milvus-ak", secretkey: "onprem-milvus-sk" });
  expect(data("waris-milvus-gcloud-storage")).toEqual({ accesskey: "gcloud-milvus-ak", secretkey: "gcloud-milvus-sk" });
  expect(data("waris-llm-onprem-model-store")).toEqual({ AWS_ACCESS_KEY_ID: "gcloud-models-ak", AWS_SECRET_ACCESS_KEY: "gcloud-models-sk" });
  expect(data("waris-llm-gcloud-api-key")).toEqual({ VLLM_API_KEY: "api-key-from-stack" });
  // Kept secret in the state.
  expect(resource(run, "kubernetes:core/v1:Secret", "waris-llm-gcloud-api-key").secretPaths.filter((p) => p.startsWith("stringData"))).not.toEqual([]);

  const missing = await runIsolated("prod", stackConfig("prod"), async () => {
    const lib = require("../components") as Lib;
    build(lib, undefined, sites(lib));
  });
  expect(String(missing.error)).toMatch(/apiKey.*is required/);
});
