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
      // Unknown in a field the recovery checks do not read (a parameter group made in the same stack): still denied.
      res("aws:rds/instance:Instance", "nobackup3", { engine: "postgres", engineVersion: "16", storageEncrypted: true, backupRetentionPeriod: 0, allocatedStorage: 20, parameterGroupName: UNKNOWN }),
    ]);
    const mandatory = ds.filter((d) => d.enforcementLevel === "mandatory").map((d) => `${d.policyName} ${d.urn?.split("::").pop()}`);
    expect(mandatory).toEqual(expect.arrayContaining(["waris-encryption-at-rest fs", "waris-recovery-objectives nobackup2", "waris-recovery-objectives nobackup3", "waris-backup-retention nobackup3"]));
    expect(mandatory.filter((m) => m.endsWith(" db") || m.endsWith(" nobackup"))).toEqual([]);
    const advisory = ds.filter((d) => d.enforcementLevel === "advisory").map((d) => d.message);
    expect(advisory).toEqual(expect.arrayContaining([expect.stringMatching(/waris-encryption-at-rest of aws:rds\/instance:Instance "db" skipped during preview/), expect.stringMatching(/recovery .* "nobackup" skipped during preview/)]));
    expect(ds.some((d) => /can't run policy/.test(d.message))).toBe(false);
  });

  test("an RDS instance with backupRetentionPeriod 0 is denied because its automated backups are disabled, not for an 'unknown time'", async () => {
    const ds = await run([
      res("aws:rds/instance:Instance", "nobackup", { engine: "postgres", engineVersion: "16", identifier: "nobackup", storageEncrypted: true, backupRetentionPeriod: 0, allocatedStorage: 20 }),
      res("aws:rds/instance:Instance", "weekly", { engine: "postgres", engineVersion: "16", identifier: "weekly", storageEncrypted: true, backupRetentionPeriod: 7, allocatedStorage: 20 }),
    ]);
    const messages = (policy: string): string[] => ds.filter((d) => d.policyName === policy).map((d) => d.message);
    expect(messages("waris-backup-retention")).toEqual([
      expect.stringMatching(/"nobackup".* keeps no backups: backupRetentionPeriod is 0, which disables its automated backups \(and with them point-in-time recovery\); keep them at least 30 days\.$/),
      expect.stringMatching(/"weekly".* keeps backups 7 days; keep them at least 30 days\.$/),
    ]);
    expect(messages("waris-recovery-objectives")).toEqual([expect.stringMatching(/"nobackup".* has no standby on another site and no backup \(backupRetentionPeriod is 0, which disables its automated backups/)]);
    expect(ds.some((d) => /unknown time/.test(d.message))).toBe(false);
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

  // One row per kind the issue lists: the resources, and which of them the pack must deny, by which policy.
  const SITE = { site: { name: "gcloud", kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby" }, objectStoreEndpoint: "https://s3.gdcc.go.th", objectStoreEncryption: { mode: "sse-s3" } };
  const siteUrn = `${STACK}waris:index:Site::gcloud`;
  const store = { urn: `${STACK}waris:index:Site$pulumi:providers:aws::gcloud-store`, type: "pulumi:providers:aws", name: "gcloud-store", properties: { region: "us-east-1", endpoints: JSON.stringify([{ s3: "https://s3.gdcc.go.th" }]) } };
  const onStore = { provider: store };
  const kinds: Array<[string, AnalyzerResource[], string[]]> = [
    ["load balancer listener TLS policy", [res("aws:lb/listener:Listener", "tls12", { protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" }), res("aws:lb/listener:Listener", "tls10", { protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-2016-08" })], ["waris-encryption-in-transit tls10"]],
    ["CloudFront", [res("aws:cloudfront/distribution:Distribution", "cdn", { defaultCacheBehavior: { viewerProtocolPolicy: "allow-all" }, tags: { "waris-data-class": "public" } })], ["waris-encryption-in-transit cdn"]],
    ["CloudFront caches at edge locations worldwide", [res("aws:cloudfront/distribution:Distribution", "cdn", { defaultCacheBehavior: { viewerProtocolPolicy: "https-only" } })], ["waris-data-residency cdn"]],
    ["ElastiCache", [res("aws:elasticache/replicationGroup:ReplicationGroup", "c", { description: "c", atRestEncryptionEnabled: true }), res("aws:elasticache/cluster:Cluster", "m", { engine: "memcached", transitEncryptionEnabled: true })], ["waris-encryption-at-rest m", "waris-encryption-in-transit c"]],
    ["OpenSearch", [res("aws:opensearch/domain:Domain", "search", { encryptAtRest: { enabled: true }, nodeToNodeEncryption: { enabled: true } })], ["waris-encryption-in-transit search"]],
    ["MSK", [res("aws:msk/cluster:Cluster", "kafka", { encryptionInfo: { encryptionInTransit: { clientBroker: "TLS_PLAINTEXT" } } })], ["waris-encryption-in-transit kafka"]],
    ["SQS and SNS", [res("aws:sqs/queue:Queue", "q", { sqsManagedSseEnabled: false }), res("aws:sns/topic:Topic", "t", {})], ["waris-encryption-at-rest q", "waris-encryption-at-rest t"]],
    ["EC2 root volumes and EBS", [res("aws:ec2/instance:Instance", "vm", {}), res("aws:ebs/volume:Volume", "vol", { availabilityZone: "ap-southeast-7a", size: 1 })], ["waris-encryption-at-rest vm", "waris-encryption-at-rest vol"]],
    ["EBS encryption by default", [res("aws:ebs/encryptionByDefault:EncryptionByDefault", "ebs-default", { enabled: true }), res("aws:ec2/instance:Instance", "vm", {}), res("aws:ebs/volume:Volume", "vol", { availabilityZone: "ap-southeast-7a", size: 1 })], []],
    ["DocumentDB and Aurora retention", [res("aws:docdb/cluster:Cluster", "docs", { storageEncrypted: true, backupRetentionPeriod: 35 }), res("aws:rds/cluster:Cluster", "aurora", { storageEncrypted: true })], ["waris-backup-retention aurora"]],
    ["MySQL secure transport", [
      res("aws:rds/parameterGroup:ParameterGroup", "mysql-tls", { name: "mysql-tls", family: "mysql8.0", parameters: [{ name: "require_secure_transport", value: "1" }] }),
      res("aws:rds/instance:Instance", "ok", { engine: "mysql", storageEncrypted: true, backupRetentionPeriod: 30, allocatedStorage: 20, parameterGroupName: "mysql-tls" }),
      res("aws:rds/instance:Instance", "plain", { engine: "mysql", storageEncrypted: true, backupRetentionPeriod: 30, allocatedStorage: 20 }),
    ], ["waris-encryption-in-transit plain"]],
    ["an RDS replica inherits its source's encryption", [
      res("aws:rds/instance:Instance", "src", { engine: "postgres", engineVersion: "16", identifier: "src", storageEncrypted: true, backupRetentionPeriod: 30, allocatedStorage: 20 }),
      res("aws:rds/instance:Instance", "rep", { replicateSourceDb: "src", identifier: "rep" }),
      res("aws:cloudwatch/metricAlarm:MetricAlarm", "lag", { namespace: "AWS/RDS", metricName: "ReplicaLag", dimensions: { DBInstanceIdentifier: "rep" } }),
    ], []],
    ["a DynamoDB global replica abroad", [res("aws:dynamodb/table:Table", "t", { replicas: [{ regionName: "ap-southeast-1" }] })], ["waris-data-residency t"]],
    ["bucket encryption: inline, or by the bucket it came from, on a site store", [
      res("waris:index:Site", "gcloud", SITE),
      { ...store, parent: siteUrn },
      res("aws:s3/bucket:Bucket", "inline", { bucket: "a", serverSideEncryptionConfiguration: { rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } } } }, onStore),
      res("aws:s3/bucket:Bucket", "byref", {}, onStore),
      res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "byref-sse", { bucket: UNKNOWN, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, { ...onStore, propertyDependencies: { bucket: [`${STACK}aws:s3/bucket:Bucket::byref`] } }),
      res("aws:s3/bucket:Bucket", "bare", { bucket: "c" }, onStore),
    ], ["waris-bucket-encryption bare"]],
    ["a 'holds no data' tag does not exempt storage, and does exempt compute", [
      res("aws:s3/bucket:Bucket", "us", { region: "us-east-1", tags: { "waris-data-class": "none" } }),
      res("aws:eks/nodeGroup:NodeGroup", "burst", { region: "us-east-1", tags: { "waris-data-class": "none" } }),
    ], ["waris-data-residency us"]],
    ["no data: security groups, DNS, firewalls (even abroad)", [
      res("aws:ec2/securityGroup:SecurityGroup", "sg", { region: "us-east-1" }),
      res("aws:route53/record:Record", "dns", {}),
      res("digitalocean:index/firewall:Firewall", "fw", {}),
    ], []],
    ["Azure and DigitalOcean counterparts", [
      res("azure-native:redis:Redis", "cache", { location: "southeastasia", enableNonSslPort: true }),
      res("azure-native:dbformysql:Server", "mysql", { location: "southeastasia" }),
      res("digitalocean:index/databaseCluster:DatabaseCluster", "db", { region: "sgp1", engine: "mysql" }),
    ], ["waris-backup-retention mysql", "waris-data-residency cache", "waris-data-residency db", "waris-data-residency mysql", "waris-encryption-in-transit cache"]],
  ];
  test.each(kinds)("%s", async (_kind, resources, denied) => {
    const ds = await run(resources);
    const got = [...new Set(ds.filter((d) => d.enforcementLevel === "mandatory").map((d) => `${d.policyName} ${d.urn?.split("::").pop()}`))].sort();
    expect(got).toEqual([...denied].sort());
  });
});

