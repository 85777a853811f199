import * as pulumi from "@pulumi/pulumi";
import { engineConfigForStack } from "../plan/offline-plan";
import { StackConfig, StackConfigError, readStackConfig } from "../stack/config";

const P = "waris-hybrid";

async function readWith(stack: string, config: Record<string, string>, secretKeys: readonly string[]): Promise<StackConfig> {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs }, P, stack, true);
  pulumi.runtime.setAllConfig(config, [...secretKeys]);
  return readStackConfig();
}

/** The prod stack file as the engine would pass it, with fake secrets; `edit` changes a copy. */
function prod(edit: (config: Record<string, string>, sites: Record<string, Record<string, unknown>>) => void = () => undefined) {
  const engine = engineConfigForStack({ stack: "prod" });
  const config = { ...engine.config };
  const sites = JSON.parse(config[`${P}:sites`]!) as Record<string, Record<string, unknown>>;
  edit(config, sites);
  config[`${P}:sites`] = JSON.stringify(sites);
  return { config, secretKeys: [...engine.secretKeys] };
}

async function problemsOf(stack: string, c: { config: Record<string, string>; secretKeys: string[] }): Promise<StackConfigError> {
  try {
    await readWith(stack, c.config, c.secretKeys);
  } catch (err) {
    expect(err).toBeInstanceOf(StackConfigError);
    return err as StackConfigError;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("stack files", () => {
  test.each(["dev", "prod"])("Pulumi.%s.yaml validates", async (stack) => {
    const engine = engineConfigForStack({ stack });
    const cfg = await readWith(stack, engine.config, engine.secretKeys);
    expect(cfg.stack).toBe(stack);
    expect(cfg.recovery).toEqual({ rpoMinutes: 60, rtoMinutes: 240, replicationLagTargetSeconds: 60, restoreThroughputMiBPerSecond: 100 });
    expect(cfg.sites.filter((s) => s.role === "primary").map((s) => s.name)).toEqual([cfg.activeSite]);
  });

  test("prod: onprem primary, gcloud standby, both in Thailand", async () => {
    const engine = engineConfigForStack({ stack: "prod" });
    const cfg = await readWith("prod", engine.config, engine.secretKeys);
    expect(cfg.sites).toEqual([
      { name: "onprem", kind: "onprem", region: "pwa-hq-bangkok", country: "TH", role: "primary" },
      { name: "gcloud", kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby" },
    ]);
    expect(cfg.siteArgs["gcloud"]?.objectStore?.endpoint).toMatch(/^https:\/\//);
  });

  test("activeSite = gcloud makes gcloud primary and onprem standby (failover)", async () => {
    const c = prod((config) => (config[`${P}:activeSite`] = "gcloud"));
    const cfg = await readWith("prod", c.config, c.secretKeys);
    expect(Object.fromEntries(cfg.sites.map((s) => [s.name, s.role]))).toEqual({ onprem: "standby", gcloud: "primary" });
  });

  test("defaults fill recovery targets when the setting is absent", async () => {
    const c = prod((config) => delete config[`${P}:recovery`]);
    const cfg = await readWith("prod", c.config, c.secretKeys);
    expect(cfg.recovery).toEqual({ rpoMinutes: 60, rtoMinutes: 240, replicationLagTargetSeconds: 60, restoreThroughputMiBPerSecond: 100 });
  });
});

describe("bad configurations are rejected with the key, the value and what is allowed", () => {
  const cases: Array<[string, () => { config: Record<string, string>; secretKeys: string[] }, string, RegExp]> = [
    ["unknown site kind", () => prod((_, s) => (s["gcloud"]!["kind"] = "openstack")), `${P}:sites.gcloud.kind`, /"openstack".*expected one of "onprem"\|"gcloud"\|"aws"\|"azure"\|"digitalocean"/],
    [
      "a data site outside Thailand",
      () => prod((_, s) => (s["gcloud"] = { kind: "aws", region: "ap-southeast-1", country: "SG", role: "standby" })),
      `${P}:sites.gcloud.role`,
      /"standby".*outside Thailand.*ap-southeast-7/,
    ],
    ["RPO that is not a positive number", () => prod((c) => (c[`${P}:recovery`] = JSON.stringify({ rpoMinutes: 0 }))), `${P}:recovery.rpoMinutes`, /= 0: Too small/],
    ["RPO that is not a number", () => prod((c) => (c[`${P}:recovery`] = JSON.stringify({ rpoMinutes: "one hour" }))), `${P}:recovery.rpoMinutes`, /"one hour".*expected number/],
    ["activeSite naming no site", () => prod((c) => (c[`${P}:activeSite`] = "singapore")), `${P}:activeSite`, /"singapore": names no site; allowed: onprem, gcloud/],
    ["activeSite unset", () => prod((c) => delete c[`${P}:activeSite`]), `${P}:activeSite`, /\(not set\)/],
    [
      "activeSite naming a burst site",
      () =>
        prod((c, s) => {
          s["doburst"] = { kind: "digitalocean", region: "sgp1", country: "SG", role: "burst" };
          c[`${P}:activeSite`] = "doburst";
        }),
      `${P}:activeSite`,
      /burst site "doburst", which holds no data/,
    ],
    [
      "a country that contradicts the residency table",
      () => prod((_, s) => (s["gcloud"] = { kind: "aws", region: "ap-southeast-7", country: "SG", role: "standby" })),
      `${P}:sites.gcloud.country`,
      /"SG", but aws region "ap-southeast-7" is in Thailand/,
    ],
    [
      "a region claimed to be Thai that is not",
      () => prod((_, s) => (s["gcloud"] = { kind: "azure", region: "southeastasia", country: "TH", role: "standby" })),
      `${P}:sites.gcloud.region`,
      /"southeastasia" is not in Thailand \(Thai regions: no azure region/,
    ],
    ["two primaries", () => prod((_, s) => (s["gcloud"]!["role"] = "primary")), `${P}:sites`, /exactly one site with role "primary".*found 2: onprem, gcloud/],
    [
      "a replication lag target above the RPO",
      () => prod((c) => (c[`${P}:recovery`] = JSON.stringify({ rpoMinutes: 1, replicationLagTargetSeconds: 120 }))),
      `${P}:recovery.replicationLagTargetSeconds`,
      /120 s, above the RPO of 1 min/,
    ],
    [
      "an object store over plain http",
      () => prod((_, s) => (s["gcloud"]!["objectStore"] = { endpoint: "http://s3.gdcc.go.th" })),
      `${P}:sites.gcloud.objectStore.endpoint`,
      /https:\/\/ URL/,
    ],
    ["a misspelt setting", () => prod((c) => (c[`${P}:activesite`] = "onprem")), `${P}:activesite`, /unknown setting; known settings: sites, activeSite, recovery/],
    ["a misspelt site field", () => prod((_, s) => (s["onprem"]!["regoin"] = "x")), `${P}:sites.onprem.regoin`, /unknown setting/],
    ["an invalid site name", () => prod((_, s) => ((s["On_Prem"] = s["onprem"]!), delete s["onprem"])), `${P}:sites.On_Prem`, /lowercase letters/],
    ...["KEDA", "keda.system", "-keda", "k".repeat(64)].map(
      (ns): (typeof cases)[number] => [
        `a KEDA namespace that is no DNS-1123 label (${ns.length > 20 ? "64 characters" : ns})`,
        () => prod((c) => (c[`${P}:inference`] = JSON.stringify({ ...JSON.parse(c[`${P}:inference`]!), kedaNamespace: ns }))),
        `${P}:inference.kedaNamespace`,
        /is not a DNS-1123 label \(lowercase letters, digits and '-', at most 63 characters/,
      ],
    ),
  ];

  test.each(cases)("%s", async (_name, make, key, message) => {
    const err = await problemsOf("prod", make());
    const problem = err.problems.find((p) => p.key === key);
    expect(problem).toBeDefined();
    expect(`${problem!.key} = ${problem!.value}: ${problem!.message}`).toMatch(message);
    expect(err.message).toContain(key);
  });

  test("sites that are not a YAML/JSON object", async () => {
    const c = prod();
    c.config[`${P}:sites`] = "onprem,gcloud";
    const err = await problemsOf("prod", c);
    expect(err.problems).toEqual([{ key: `${P}:sites`, value: '"onprem,gcloud"', message: "must be a YAML/JSON object" }]);
  });

  test("a missing secret tells the exact command to set it", async () => {
    const c = prod();
    delete c.config[`${P}:gcloudKubeconfig`];
    const err = await problemsOf("prod", c);
    expect(err.problems).toEqual([
      {
        key: `${P}:gcloudKubeconfig`,
        value: "(not set)",
        message: "missing secret (kubeconfig of the gcloud cluster); run: pulumi config set --secret --stack prod gcloudKubeconfig < ./gcloud-kubeconfig.yaml",
      },
    ]);
  });

  test("a secret stored in plain text is refused, without printing it", async () => {
    const c = prod();
    c.secretKeys = c.secretKeys.filter((k) => k !== `${P}:gcloudObjectStoreSecretAccessKey`);
    const err = await problemsOf("prod", c);
    expect(err.problems.map((p) => p.key)).toEqual([`${P}:gcloudObjectStoreSecretAccessKey`]);
    expect(err.message).toMatch(/plain text; it must be a secret. Run: pulumi config set --secret --stack prod gcloudObjectStoreSecretAccessKey/);
    expect(err.message).not.toContain("FAKE-SECRET");
  });

  test("a secret no site needs is reported (a misspelt site name)", async () => {
    const c = prod((config) => (config[`${P}:gcloudeKubeconfig`] = "x"));
    c.secretKeys.push(`${P}:gcloudeKubeconfig`);
    const err = await problemsOf("prod", c);
    expect(err.problems.map((p) => p.key)).toEqual([`${P}:gcloudeKubeconfig`]);
    expect(err.problems[0]!.message).toMatch(/no site needs this secret; the secrets this stack needs are: onpremKubeconfig, onpremObjectStoreAccessKeyId, onpremObjectStoreSecretAccessKey, gcloudKubeconfig,/);
  });

  test("every problem is reported at once, not only the first", async () => {
    const c = prod((config, s) => {
      s["gcloud"]!["kind"] = "openstack";
      config[`${P}:activeSite`] = "nowhere";
      config[`${P}:recovery`] = JSON.stringify({ rtoMinutes: -1 });
    });
    const err = await problemsOf("prod", c);
    expect(err.problems.map((p) => p.key).sort()).toEqual([`${P}:activeSite`, `${P}:recovery.rtoMinutes`, `${P}:sites.gcloud.kind`].sort());
  });
});

describe("issue 16: the sites' distribution and stores' encryption are settings, checked before any resource", () => {
  test("the stack files say which distribution each site runs and how each store encrypts", async () => {
    const prodEngine = engineConfigForStack({ stack: "prod" });
    const prodCfg = await readWith("prod", prodEngine.config, prodEngine.secretKeys);
    expect([prodCfg.siteArgs["onprem"]?.kubernetesDistribution, prodCfg.siteArgs["gcloud"]?.kubernetesDistribution]).toEqual(["talos", "containerd"]);
    expect([prodCfg.siteArgs["onprem"]?.objectStore?.encryption, prodCfg.siteArgs["gcloud"]?.objectStore?.encryption]).toEqual(["sse-s3", "sse-s3"]);
    const devEngine = engineConfigForStack({ stack: "dev" });
    const devCfg = await readWith("dev", devEngine.config, devEngine.secretKeys);
    expect([devCfg.siteArgs["lab"]?.kubernetesDistribution, devCfg.siteArgs["lab"]?.objectStore?.encryption]).toEqual(["k3s", "store-managed"]);
  });

  test("wrong values name the key and what is allowed", async () => {
    const err = await problemsOf(
      "prod",
      prod((_config, sites) => {
        sites["onprem"]!["kubernetesDistribution"] = "rke2";
        (sites["gcloud"]!["objectStore"] as Record<string, unknown>)["encryption"] = "aes";
        (sites["onprem"]!["objectStore"] as Record<string, unknown>)["kmsKeyId"] = "k";
      }),
    );
    const byKey = Object.fromEntries(err.problems.map((p) => [p.key, p.message]));
    expect(byKey[`${P}:sites.onprem.kubernetesDistribution`]).toMatch(/expected one of "talos"\|"k3s"\|"containerd"/);
    expect(byKey[`${P}:sites.gcloud.objectStore.encryption`]).toMatch(/expected one of "sse-s3"\|"sse-kms"\|"store-managed"/);
    expect(byKey[`${P}:sites.onprem.objectStore.kmsKeyId`]).toMatch(/a KMS key applies to sse-kms only/);
  });

  test("Talos with an operator-installed driver is refused, naming the pool's setting", async () => {
    const c = prod((config) => {
      const pools = JSON.parse(config[`${P}:gpuPools`]!) as Record<string, Record<string, unknown>>;
      pools["onprem-inference"]!["driverOnHost"] = false;
      config[`${P}:gpuPools`] = JSON.stringify(pools);
    });
    const err = await problemsOf("prod", c);
    expect(err.problems).toContainEqual(expect.objectContaining({ key: `${P}:gpuPools.onprem-inference.driverOnHost`, message: expect.stringMatching(/on talos the driver is part of the host OS/) }));
  });
});
