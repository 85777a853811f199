/**
 * Issue 23, "Keys", at the stack level: which secrets a stack needs with and without Vault, each backup
 * writer's own object-store keys and the policy limiting it to its bucket, and Vault settings refused
 * under their keys before anything is registered.
 */
import { engineConfigForStack } from "../plan/offline-plan";
import { SETTING_KEYS, StackConfigError, checkStackConfig, parseStackSettings, requiredSecrets, type StackSettings } from "../stack/config";
import { objectStoreWriterSetup, objectStoreWriterUses, vaultSupplyCommands } from "../stack/keys";
import { resourcesOfType, runProgram } from "./harness";

const P = "waris-hybrid";

/** The prod stack's settings (raw, as the engine passes them), edited. */
function prodSettings(edit: (raw: Record<string, string>) => void = () => undefined): StackSettings {
  const engine = engineConfigForStack({ stack: "prod" });
  const raw: Record<string, string> = {};
  // Settings only: the secrets are checked with the engine's secret list, not here.
  for (const [k, v] of Object.entries(engine.config)) if ((SETTING_KEYS as readonly string[]).includes(k.slice(P.length + 1))) raw[k.slice(P.length + 1)] = v;
  edit(raw);
  return parseStackSettings(raw, "prod");
}

const withoutVault = (raw: Record<string, string>) => {
  delete raw["vault"];
};

test("every writer of prod has its own keys on the store it writes to, each limited to its bucket", () => {
  const settings = prodSettings();
  expect(objectStoreWriterUses(settings).map((u) => `${u.site}/${u.writer}/${u.bucket}`)).toEqual([
    "gcloud/postgres/waris-prod-postgres",
    "gcloud/mongodb/waris-prod-mongodb",
    "gcloud/redis/waris-prod-redis",
    "gcloud/milvus-backup/waris-prod-milvus",
    "gcloud/models/waris-prod-model-artifacts",
    "onprem/milvus/waris-prod-milvus-data",
    "gcloud/milvus/waris-prod-milvus-data",
  ]);
  const setup = objectStoreWriterSetup(settings, "prod");
  const redis = setup.find((s) => s.writer === "redis")!;
  // The uploader writes dumps (and a restore reads one back) but cannot delete them, nor touch another bucket.
  expect(JSON.stringify(redis.policy)).not.toMatch(/DeleteObject|"s3:\*"|"arn:aws:s3:::\*/);
  expect(redis.commands).toEqual([
    `npm run -s plan -- --stack prod --json | jq '.outputs.keys.objectStoreWriters[] | select(.site == "gcloud" and .writer == "redis") | .policy' > waris-redis-waris-prod-redis.json`,
    "mc admin policy create <gcloud alias> waris-redis-waris-prod-redis waris-redis-waris-prod-redis.json",
    "mc admin user add <gcloud alias> waris-redis <its secret access key>  # the access key id is the user name: waris-redis",
    "mc admin policy attach <gcloud alias> waris-redis-waris-prod-redis --user waris-redis",
  ]);
});

test("without Vault, each writer's pair and the supplied passwords are stack secrets; with Vault, none of the pods' secrets is", () => {
  const plain = requiredSecrets(prodSettings(withoutVault), "prod").map((s) => s.key);
  expect(plain).toEqual(
    expect.arrayContaining([
      "gcloudObjectStorePostgresAccessKeyId",
      "gcloudObjectStorePostgresSecretAccessKey",
      "gcloudObjectStoreMilvusBackupSecretAccessKey",
      "onpremObjectStoreMilvusAccessKeyId",
      "gcloudObjectStoreModelsAccessKeyId",
      "postgresAppPassword",
      "redisPassword",
      "inferenceApiKey",
    ]),
  );
  expect(plain).not.toContain("onpremObjectStorePostgresAccessKeyId");
  const vault = requiredSecrets(prodSettings(), "prod").map((s) => s.key);
  expect(vault.filter((k) => /ObjectStore(Postgres|Mongodb|Redis|Milvus|MilvusBackup|Models)|AppPassword|redisPassword|inferenceApiKey/.test(k))).toEqual([]);
  // Pulumi itself still needs these: kubeconfigs, the bucket-creating keys, DNS and the receivers' secrets.
  expect(vault).toEqual(expect.arrayContaining(["onpremKubeconfig", "gcloudObjectStoreAccessKeyId", "dnsTsigSecret"]));
});

test("with Vault, the operator gets the exact vault kv put commands for what the pods read", () => {
  const commands = vaultSupplyCommands(prodSettings(), "waris");
  expect(commands).toEqual(
    expect.arrayContaining([
      "vault kv put -mount=waris stack/waris-postgres-app-password value=…  # password of the PostgreSQL application user",
      "vault kv put -mount=waris object-store/gcloud/redis accessKeyId=… secretAccessKey=…  # redis on the gcloud store, limited to bucket waris-prod-redis",
    ]),
  );
  expect(commands.some((c) => c.includes("generated/"))).toBe(false);
});

test("the KV entries the plan tells the operator to put are exactly those the program's ExternalSecrets read (besides generated values)", async () => {
  // vaultSupplyCommands derives the list from the settings, before any component runs; this holds it to what
  // the components actually asked the key store for, so a new Secret cannot be missing from the list.
  const run = await runProgram("prod");
  expect(run.error).toBeUndefined();
  const read = new Set(
    resourcesOfType(run, "kubernetes:external-secrets.io/v1:ExternalSecret").flatMap((r) =>
      (r.inputs["spec"] as { data: Array<{ remoteRef: { key: string } }> }).data.map((d) => d.remoteRef.key).filter((k) => !k.startsWith("generated/")),
    ),
  );
  const told = (run.outputs["keys"] as { vaultKvPut: string[] }).vaultKvPut.map((c) => /^vault kv put -mount=\S+ (\S+) /.exec(c)![1]!);
  expect(new Set(told)).toEqual(read);
  expect(told.length).toBe(read.size); // one command per entry
});

function problemsOf(vault: unknown): string[] {
  try {
    prodSettings((raw) => {
      raw["vault"] = JSON.stringify(vault);
    });
  } catch (err) {
    expect(err).toBeInstanceOf(StackConfigError);
    return (err as StackConfigError).problems.map((p) => `${p.key}: ${p.message}`);
  }
  throw new Error("expected the settings to be refused");
}

test("bad Vault settings are refused under their keys, naming what is allowed", () => {
  expect(problemsOf({ address: "http://vault.waris.internal:8200", authMounts: { onprem: "kubernetes-onprem", gcloud: "kubernetes-gcloud" } })).toEqual([
    expect.stringMatching(/^waris-hybrid:vault.address: must be an https:\/\/ URL/),
  ]);
  expect(problemsOf({ address: "https://vault.waris.internal:8200", authMounts: { onprem: "kubernetes-onprem", gcloude: "kubernetes-gcloud" }, kvPath: "/waris" })).toEqual([
    'waris-hybrid:vault.kvPath: is "/waris"; a Vault mount path is segments of letters, digits, - and _ separated by /',
    expect.stringMatching(/^waris-hybrid:vault.authMounts.gcloud: is not set; site "gcloud" gets Secrets from Vault/),
    "waris-hybrid:vault.authMounts.gcloude: names no site that gets Secrets; allowed: onprem, gcloud",
  ]);
});

test("a pod's secret set with Vault is refused as unneeded, unless its setting sits in a misspelt namespace (one mistake, one problem)", () => {
  const engine = engineConfigForStack({ stack: "prod" });
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(engine.config)) if (k.startsWith(`${P}:`)) raw[k.slice(P.length + 1)] = v;
  // `redis` moved to a misspelt namespace; both supplied secrets set although Vault supplies them.
  delete raw["redis"];
  Object.assign(raw, { redisPassword: "x", postgresAppPassword: "y" });
  let problems: string[] = [];
  try {
    checkStackConfig(raw, "prod", () => true, ["waris-hybird:redis"]);
  } catch (err) {
    problems = (err as StackConfigError).problems.map((p) => `${p.key}: ${p.message.split(";")[0]}`);
  }
  expect(problems).toEqual(['waris-hybird:redis: is in namespace "waris-hybird", which nothing reads, so this setting would be ignored (did you mean waris-hybrid:redis?)', `${P}:postgresAppPassword: no site needs this secret`]);
});
