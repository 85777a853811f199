import type * as lib from "../components";
import { analyzerResourcesOf, evaluatePack, resource, resourcesOfType, runIsolated, stackConfig } from "./harness";
import { validateManagedPostgresArgs } from "../components/managed-postgres";
import { SiteSpec } from "../components/site";

const bangkok = { kind: "aws", region: "ap-southeast-7", country: "TH", role: "standby" } as const;
const build = (l: typeof lib, extra: Partial<lib.ManagedPostgresArgs> = {}) =>
  new l.ManagedPostgres("waris-reports", {
    site: new l.Site("aws-bkk", bangkok),
    subnetGroupName: "waris-private",
    securityGroupIds: ["sg-1"],
    password: "fake-password",
    ...extra,
  });

test("RDS in Bangkok: encrypted, TLS 1.3 forced, Multi-AZ, 30 days of PITR, a promotable replica", async () => {
  let db: lib.ManagedPostgres | undefined;
  const run = await runIsolated("test", stackConfig("prod"), async () => {
    db = build(require("../components") as typeof lib);
  });
  expect(run.error).toBeUndefined();
  expect(resource(run, "aws:rds/parameterGroup:ParameterGroup", "waris-reports").inputs).toMatchObject({
    family: "postgres17",
    parameters: [
      { name: "rds.force_ssl", value: "1" },
      { name: "ssl_min_protocol_version", value: "TLSv1.3" },
    ],
  });
  const primary = resource(run, "aws:rds/instance:Instance", "waris-reports");
  expect(primary.inputs).toMatchObject({
    identifier: "waris-reports",
    engine: "postgres",
    storageEncrypted: true,
    multiAz: true,
    backupRetentionPeriod: 30,
    publiclyAccessible: false,
    deletionProtection: true,
    tags: { "waris-site": "aws-bkk", "waris-data-class": "confidential", "waris-dataset": "waris-reports" },
  });
  expect(primary.provider).toMatch(/pulumi:providers:aws::aws-bkk$/);
  expect(primary.secretPaths).toContain("password");
  const replicas = resourcesOfType(run, "aws:rds/instance:Instance").filter((r) => r.inputs["replicateSourceDb"] !== undefined);
  expect(replicas.map((r) => [r.name, r.inputs["replicateSourceDb"], r.inputs["storageEncrypted"]])).toEqual([["waris-reports-replica-1", "waris-reports", true]]);
  expect(resource(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "waris-reports-replica-1-lag").inputs).toMatchObject({
    namespace: "AWS/RDS",
    metricName: "ReplicaLag",
    dimensions: { DBInstanceIdentifier: "waris-reports-replica-1" },
    comparisonOperator: "GreaterThanThreshold",
    threshold: 60,
  });
  expect([db!.rpoMinutes, db!.rtoMinutes]).toEqual([5, 15]);
});

test("an RDS replica without a lag alarm is denied", async () => {
  const resources = await analyzerResourcesOf((kit) => {
    const rds = require("@pulumi/aws/rds") as typeof import("@pulumi/aws/rds");
    const site = new kit.lib.Site("aws-bkk", bangkok);
    const tags = { "waris-data-class": "internal" };
    new rds.Instance("db", { identifier: "db", instanceClass: "db.t4g.micro", engine: "postgres", allocatedStorage: 20, storageEncrypted: true, backupRetentionPeriod: 30, tags }, { provider: site.awsProvider });
    new rds.Instance("db-r", { identifier: "db-r", instanceClass: "db.t4g.micro", replicateSourceDb: "db", storageEncrypted: true, tags }, { provider: site.awsProvider });
  });
  const ds = (await evaluatePack(resources)).filter((d) => d.policyName === "waris-replication-lag-alerts");
  expect(ds.map((d) => d.message)).toEqual([expect.stringMatching(/replica db-r has no CloudWatch alarm on ReplicaLag/)]);
});

test("the policy pack passes it, and denies one without backups or replicas", async () => {
  const good = await analyzerResourcesOf((kit) => build(kit.lib));
  expect(await evaluatePack(good)).toEqual([]);
  const bad = await analyzerResourcesOf((kit) => build(kit.lib, { readReplicas: 0, backupRetentionDays: 1 }));
  const messages = (await evaluatePack(bad)).map((d) => `${d.policyName}: ${d.message}`);
  expect(messages).toEqual([expect.stringMatching(/^waris-backup-retention: postgresql dataset "waris-reports" .* keeps backups 1 days; keep them at least 30 days/)]);
});

describe("ManagedPostgres refuses bad arguments", () => {
  const spec = (kind: SiteSpec["kind"], region: string, country = "SG"): SiteSpec => ({ name: "x", kind, region, country, role: "burst" });
  const problem = (site: SiteSpec, args: Parameters<typeof validateManagedPostgresArgs>[1], argument: string): string => {
    const found = validateManagedPostgresArgs(site, args).find((p) => p.argument === argument);
    expect(found).toBeDefined();
    return found!.message;
  };
  test("Azure and DigitalOcean: no Thai region", () => {
    expect(problem(spec("azure", "southeastasia"), {}, "site")).toMatch(/is in azure southeastasia, outside Thailand; a managed database holds data, so it needs a Thai region: no azure region \(none exists in Thailand today\)/);
    expect(problem(spec("digitalocean", "sgp1"), {}, "site")).toMatch(/no digitalocean region/);
  });
  test("a Kubernetes site", () => expect(problem(spec("onprem", "pwa", "TH"), {}, "site")).toMatch(/use PostgresCluster \(CloudNativePG\)/));
  test("an AWS region outside Thailand", () => expect(problem(spec("aws", "ap-southeast-1"), {}, "site")).toMatch(/outside Thailand; a managed database holds data, so it needs a Thai region: ap-southeast-7/));
  test("retention beyond what RDS keeps", () => expect(problem({ ...spec("aws", "ap-southeast-7", "TH") }, { backupRetentionDays: 40 }, "backupRetentionDays")).toMatch(/1 to 35 days/));
  test("too little storage", () => expect(problem({ ...spec("aws", "ap-southeast-7", "TH") }, { allocatedStorageGiB: 10 }, "allocatedStorageGiB")).toMatch(/at least 20 GiB/));
});
