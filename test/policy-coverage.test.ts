/**
 * The coverage table (policy/coverage.ts) against the providers' own SDK type definitions, and the
 * verdict kinds of issue 19 on hand-made resources (cheap: no program run).
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { COVERAGE, DATA_MODULES, coverageOf, moduleOf } from "../policy/coverage";
import { warisPolicies } from "../policy/policies";
import { runPolicies, AnalyzerResource } from "../plan/policy-runner";
import { defaultProvider } from "../plan/default-providers";

const SDK = path.resolve(__dirname, "..", "node_modules", "@pulumi");
/** `aws:s3/bucket:Bucket` → its generated `.d.ts`; `azure-native:storage:StorageAccount`; `digitalocean:index/volume:Volume`. */
function sdkFile(type: string): string {
  const [pkg, mod, cls] = type.split(":") as [string, string, string];
  const [dir, file] = mod.includes("/") ? mod.split("/") : [mod, cls.charAt(0).toLowerCase() + cls.slice(1)];
  if (pkg === "kubernetes") return path.join(SDK, "kubernetes", ...dir!.replace(/\.k8s\.io$/, "").split(".").slice(0, 1), mod.split("/")[1] ?? "", `${cls}.d.ts`);
  const base = pkg === "digitalocean" && dir === "index" ? path.join(SDK, pkg) : path.join(SDK, pkg, dir!);
  return path.join(base, `${file}.d.ts`);
}

/** Top-level input fields of `<Class>Args` in an SDK declaration file. */
function argsFields(file: string, cls: string): Set<string> {
  const text = readFileSync(file, "utf8");
  const body = new RegExp(`export interface ${cls}Args \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1] ?? "";
  return new Set([...body.matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]!));
}

describe("the coverage table against the provider SDKs", () => {
  const cloud = Object.entries(COVERAGE).filter(([type]) => !type.startsWith("kubernetes:"));
  test.each(cloud)("%s exists with its type token and the fields the table names", (type, entry) => {
    const file = sdkFile(type);
    expect(existsSync(file)).toBe(true);
    const js = readFileSync(file.replace(/\.d\.ts$/, ".js"), "utf8");
    expect(js).toContain(`__pulumiType = '${type}'`);
    const fields = argsFields(file, type.split(":")[2]!);
    const named = [
      entry.regionField,
      entry.atRest && "field" in entry.atRest ? entry.atRest.field : undefined,
      entry.atRest && "field" in entry.atRest ? entry.atRest.inheritedWhen : undefined,
      entry.atRest && "fieldSet" in entry.atRest ? entry.atRest.fieldSet : undefined,
      entry.retentionDays?.field,
      ...(Array.isArray(entry.inTransit) ? entry.inTransit.map((t) => t.field) : []),
      ...(entry.copies ?? []).map((c) => c.field),
    ].filter((f): f is string => f !== undefined);
    for (const field of named) expect([type, field.split(".")[0], fields.has(field.split(".")[0]!)]).toEqual([type, field.split(".")[0], true]);
  });

  test("a type of a data-holding module missing from the table is reported, not passed", () => {
    // Every resource type the AWS SDK has in the data modules: known to the table, or reported.
    const uncovered: string[] = [];
    for (const mod of DATA_MODULES.filter((m) => m.startsWith("aws:"))) {
      const dir = path.join(SDK, "aws", mod.slice(4));
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).filter((f) => f.endsWith(".js") && f !== "index.js")) {
        const type = /__pulumiType = '([^']+)'/.exec(readFileSync(path.join(dir, f), "utf8"))?.[1];
        if (!type) continue;
        const c = coverageOf(type);
        expect(c.known || c.dataModule).toBe(true);
        expect(moduleOf(type)).toBe(mod);
        if (!c.known) uncovered.push(type);
      }
    }
    expect(uncovered).toContain("aws:elasticache/serverlessCache:ServerlessCache");
  });
});

// Hand-made resources, as the engine sends them.
const STACK = "urn:pulumi:dev::team::";
const bkk = defaultProvider("aws", { project: "team", stack: "dev", config: { "aws:region": "ap-southeast-7" } });
const res = (type: string, name: string, properties: Record<string, unknown>, extra: Partial<AnalyzerResource> = {}): AnalyzerResource => ({
  urn: `${STACK}${type}::${name}`,
  type,
  name,
  properties,
  provider: type.startsWith("aws:") ? bkk : undefined,
  ...extra,
});
const run = (resources: AnalyzerResource[]) => runPolicies({ name: "waris-hybrid", version: "test", enforcementLevel: "mandatory" }, warisPolicies, resources);
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

describe("issue 19 verdict kinds", () => {
  test("a G-Cloud Site whose object store is AWS S3 Singapore is denied, whatever country it declares", async () => {
    const ds = await run([
      res("waris:index:Site", "gcloud", { site: { name: "gcloud", kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby" }, objectStoreEndpoint: "https://s3.ap-southeast-1.amazonaws.com", objectStoreEncryption: { mode: "sse-s3" } }),
    ]);
    expect(ds.filter((d) => d.enforcementLevel === "mandatory").map((d) => d.message)).toEqual([expect.stringMatching(/object store https:\/\/s3.ap-southeast-1.amazonaws.com is aws region ap-southeast-1, outside TH/)]);
  });

  test("an unknown value makes only that resource's check advisory; the others still deny", async () => {
    const ds = await run([
      res("aws:rds/instance:Instance", "db", { engine: "postgres", engineVersion: "16", storageEncrypted: UNKNOWN, backupRetentionPeriod: 30, allocatedStorage: 20 }),
      res("aws:efs/fileSystem:FileSystem", "fs", { encrypted: false }),
      res("aws:rds/instance:Instance", "nobackup", { engine: "postgres", engineVersion: "16", storageEncrypted: true, backupRetentionPeriod: 0, allocatedStorage: 20, identifier: UNKNOWN }),
      res("aws:rds/instance:Instance", "nobackup2", { engine: "postgres", engineVersion: "16", storageEncrypted: true, backupRetentionPeriod: 0, allocatedStorage: 20 }),
    ]);
    const mandatory = ds.filter((d) => d.enforcementLevel === "mandatory").map((d) => `${d.policyName} ${d.urn?.split("::").pop()}`);
    expect(mandatory).toEqual(expect.arrayContaining(["waris-encryption-at-rest fs", "waris-recovery-objectives nobackup2"]));
    expect(mandatory.filter((m) => m.endsWith(" db") || m.endsWith(" nobackup"))).toEqual([]);
    const advisory = ds.filter((d) => d.enforcementLevel === "advisory").map((d) => d.message);
    expect(advisory).toEqual(expect.arrayContaining([expect.stringMatching(/waris-encryption-at-rest of aws:rds\/instance:Instance "db" skipped during preview/), expect.stringMatching(/recovery .* "nobackup" skipped during preview/)]));
    expect(ds.some((d) => /can't run policy/.test(d.message))).toBe(false);
  });

  test("copies: snapshot copy, EFS replication, notification to another region, Backup copy action", async () => {
    const ds = await run([
      res("aws:rds/snapshotCopy:SnapshotCopy", "copy", { sourceDbSnapshotIdentifier: "s", targetDbSnapshotIdentifier: "t", destinationRegion: "ap-southeast-1" }),
      res("aws:efs/replicationConfiguration:ReplicationConfiguration", "efs-dr", { sourceFileSystemId: "fs-1", destination: { region: "ap-southeast-1" } }),
      res("aws:s3/bucketNotification:BucketNotification", "notify", { bucket: "b", topics: [{ topicArn: "arn:aws:sns:us-east-1:1:t", events: ["s3:ObjectCreated:*"] }] }),
      res("aws:backup/plan:Plan", "plan", { rules: [{ ruleName: "r", targetVaultName: "v", copyActions: [{ destinationVaultArn: "arn:aws:backup:ap-southeast-7:1:backup-vault:th" }] }] }),
    ]);
    const denied = ds.filter((d) => d.policyName === "waris-data-residency").map((d) => d.urn?.split("::").pop()).sort();
    expect(denied).toEqual(["copy", "efs-dr", "notify"]);
  });

  test("a stack without aws:region: the region cannot be shown, so a bucket is denied", async () => {
    const none = defaultProvider("aws", { project: "team", stack: "dev", config: {} });
    const ds = await run([res("aws:s3/bucket:Bucket", "b", {}, { provider: none })]);
    expect(ds.map((d) => d.message)).toEqual([expect.stringMatching(/no region: neither the resource nor its provider names one \(set aws:region/)]);
  });
});
