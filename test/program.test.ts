import { runProgram } from "./harness";
import { isSerializedSecret } from "../plan/mock-runtime";
import { buildPlan } from "../plan/report";

function byType(run: Awaited<ReturnType<typeof runProgram>>, type: string) {
  return run.recording.resources.filter((r) => r.type === type);
}

describe("the program (index.ts) under mocks", () => {
  test("prod runs without error", async () => {
    expect((await runProgram("prod")).error).toBeUndefined();
  });

  test("prod builds both sites, each with a Kubernetes provider and a provider for its object store", async () => {
    const run = await runProgram("prod");
    expect(byType(run, "waris:index:Site").map((r) => r.name)).toEqual(["onprem", "gcloud"]);
    const k8s = byType(run, "pulumi:providers:kubernetes");
    expect(k8s.map((r) => r.name)).toEqual(["onprem", "gcloud"]);
    for (const provider of k8s) {
      expect(provider.secretPaths).toContain("kubeconfig");
      expect(provider.parent).toMatch(/waris:index:Site::/);
    }
    const stores = byType(run, "pulumi:providers:aws");
    expect(stores.map((s) => [s.name, JSON.parse(s.inputs["endpoints"] as string)])).toEqual([
      ["onprem-object-store", [{ s3: "https://minio.onprem.waris.internal" }]],
      ["gcloud-object-store", [{ s3: "https://s3.gdcc.go.th" }]],
    ]);
    for (const store of stores) expect(store.secretPaths).toEqual(expect.arrayContaining(["accessKey", "secretKey"]));
    expect(run.outputs["activeSite"]).toBe("onprem");
  });

  test("the plan puts every placed resource on a site, and that site agrees with its label", async () => {
    const run = await runProgram("prod");
    const plan = buildPlan("waris-hybrid", "prod", run.recording.resources, run.recording.stackOutputs, []);
    for (const r of plan.resources) {
      const label = (r.inputs["metadata"] as { labels?: Record<string, string> } | undefined)?.labels?.["waris.io/site"];
      if (label !== undefined) expect([r.urn, r.site]).toEqual([r.urn, label]);
      // Only the stack, state-only TLS and random material, what lives in Vault (and the key store spanning
      // both sites), components spanning both sites and the schedules that create no resource of their own
      // (model artifacts; MongoDB's lives in its CR) belong to no one site.
      if (r.site === undefined) expect(`${r.type}::${r.name}`).toMatch(/^(pulumi:pulumi:Stack::.*|tls:.*|random:.*|vault:.*|pulumi:providers:vault::.*|waris:keys:VaultKeys::.*|waris:index:(PostgresCluster|RedisPrimary|MilvusPrimary|InferenceCluster|MongoReplicaSet|ServiceDns)::.*|waris:index:BackupSchedule::(model-artifacts|waris-mongo-full))$/);
    }
    expect(plan.resources.find((r) => r.type === "waris:index:GpuNodePool" && r.name === "gcloud-overflow")?.site).toBe("gcloud");
  });

  test("with Vault, every ExternalSecret is in a namespace its site's ClusterSecretStore admits", async () => {
    const run = await runProgram("prod");
    const stores = run.recording.resources.filter((r) => r.type === "kubernetes:external-secrets.io/v1:ClusterSecretStore");
    expect(stores).toHaveLength(2);
    const admitted = (stores[0]!.inputs["spec"] as { conditions: Array<{ namespaces: string[] }> }).conditions[0]!.namespaces;
    const used = run.recording.resources.filter((r) => r.type === "kubernetes:external-secrets.io/v1:ExternalSecret").map((r) => (r.inputs["metadata"] as { namespace: string }).namespace);
    expect(used.length).toBeGreaterThan(10);
    for (const ns of new Set(used)) expect({ ns, admitted: admitted.includes(ns) }).toEqual({ ns, admitted: true });
  });

  test("dev builds its one lab site", async () => {
    const run = await runProgram("dev");
    expect(byType(run, "waris:index:Site").map((r) => r.name)).toEqual(["lab"]);
    expect(run.outputs["siteRoles"]).toEqual([{ name: "lab", kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary" }]);
  });

  test("secrets stay secret: no fake secret value appears outside a secret envelope in outputs or inputs", async () => {
    const run = await runProgram("prod");
    const leaks = (value: unknown): boolean => {
      if (isSerializedSecret(value)) return false;
      if (typeof value === "string") return value.includes("FAKE-SECRET");
      if (Array.isArray(value)) return value.some(leaks);
      if (value && typeof value === "object") return Object.values(value).some(leaks);
      return false;
    };
    expect(run.recording.stackOutputs).toBeDefined();
    expect(leaks(run.recording.stackOutputs)).toBe(false);
    // Inputs were recorded unwrapped; every fake value must sit at a path recorded as secret.
    for (const r of run.recording.resources) {
      const plan = buildPlan("p", "s", [r], undefined, []);
      expect(JSON.stringify(plan.resources[0]!.inputs)).not.toContain("FAKE-SECRET");
    }
  });

  test("a broken setting stops the program before any resource is registered", async () => {
    const run = await runProgram("prod", (config) => {
      config["waris-hybrid:activeSite"] = "mars";
    });
    expect(run.error).toBeInstanceOf(Error);
    expect((run.error as Error).message).toMatch(/waris-hybrid:activeSite = "mars": names no site; allowed: onprem, gcloud/);
    expect(run.recording.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});
