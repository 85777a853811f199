/**
 * ManagedPostgres and ObjectStorageBucket on Azure and DigitalOcean. Neither cloud has a Thai region today,
 * so with the real residency table both are refused (see managed-postgres.test.ts and
 * backup-schedule.test.ts). Here the table is replaced by one that lists a
 * hypothetical Thai region of each, as the day one opens would: the components and the policy pack read
 * the same table, so this shows what both do then.
 */
import type * as lib from "../components";
import { Run, analyzerResourcesOf, evaluatePack, resource, resourcesOfType, runIsolated, stackConfig } from "./harness";

jest.mock("../components/residency", () => {
  const actual = jest.requireActual("../components/residency") as typeof import("../components/residency");
  const regions = { ...actual.THAI_REGIONS, azure: ["thailand-hypothetical"], digitalocean: ["bkk-hypothetical"] } as const;
  const isRegionInThailand = (kind: keyof typeof regions, region: string): boolean => {
    const r = regions[kind];
    return r === "*" || (r as readonly string[]).includes(region);
  };
  const describeThaiRegions = (kind: keyof typeof regions): string => {
    const r = regions[kind];
    return r === "*" ? `every ${kind} region` : (r as readonly string[]).join(", ");
  };
  return { ...actual, THAI_REGIONS: regions, isRegionInThailand, describeThaiRegions };
});

const azureSite = { kind: "azure", region: "thailand-hypothetical", country: "TH", role: "standby" } as const;
const doSite = { kind: "digitalocean", region: "bkk-hypothetical", country: "TH", role: "standby" } as const;
const azureArgs = { resourceGroupName: "waris-rg", delegatedSubnetId: "/subnets/pg", privateDnsZoneId: "/zones/pg", password: "fake-password" };

async function build(make: (l: typeof lib) => void): Promise<Run> {
  const run = await runIsolated("test", stackConfig("prod"), async () => make(require("../components") as typeof lib));
  expect(run.error).toBeUndefined();
  return run;
}

describe("Azure Database for PostgreSQL flexible server", () => {
  let run: Run;
  let db: lib.ManagedPostgres | undefined;
  beforeAll(async () => {
    run = await build((l) => (db = new l.ManagedPostgres("waris-reports", { site: new l.Site("az", azureSite), ...azureArgs })));
  });

  test("private, encrypted, zone-redundant, 30 days of PITR, no geo-redundant copy abroad", () => {
    const primary = resource(run, "azure-native:dbforpostgresql:Server", "waris-reports");
    expect(primary.provider).toMatch(/providers:azure-native::az$/);
    expect(primary.inputs).toMatchObject({
      serverName: "waris-reports",
      location: "thailand-hypothetical",
      createMode: "Create",
      version: "17",
      network: { publicNetworkAccess: "Disabled", delegatedSubnetResourceId: "/subnets/pg" },
      dataEncryption: { type: "SystemManaged" },
      backup: { backupRetentionDays: 30, geoRedundantBackup: "Disabled" },
      highAvailability: { mode: "ZoneRedundant" },
      storage: { storageSizeGB: 128 },
      tags: { "waris-site": "az", "waris-data-class": "confidential", "waris-dataset": "waris-reports" },
    });
    expect(primary.secretPaths).toContain("administratorLoginPassword");
  });

  test("TLS required, 1.3 at least", () => {
    const params = resourcesOfType(run, "azure-native:dbforpostgresql:Configuration").map((r) => [r.inputs["configurationName"], r.inputs["value"], r.inputs["serverName"]]);
    expect(params).toEqual([
      ["require_secure_transport", "on", "waris-reports"],
      ["ssl_min_protocol_version", "TLSv1.3", "waris-reports"],
    ]);
  });

  test("a read replica with an Azure Monitor alert on its replication delay", () => {
    const replica = resource(run, "azure-native:dbforpostgresql:Server", "waris-reports-replica-1");
    expect(replica.inputs).toMatchObject({ createMode: "Replica", serverName: "waris-reports-replica-1", tags: { "waris-replica-of": "waris-reports" } });
    const alert = resource(run, "azure-native:monitor:MetricAlert", "waris-reports-replica-1-lag");
    expect(alert.inputs).toMatchObject({
      criteria: { allOf: [{ metricName: "physical_replication_delay_in_seconds", operator: "GreaterThan", threshold: 60 }] },
      tags: { "waris-lag-alert-for": "waris-reports-replica-1" },
    });
    expect([db!.rpoMinutes, db!.rtoMinutes]).toEqual([5, 15]);
  });

  test("the policy pack passes it, and catches TLS turned down and a geo-redundant backup", async () => {
    expect(await evaluatePack(await analyzerResourcesOf((kit) => new kit.lib.ManagedPostgres("waris-reports", { site: new kit.lib.Site("az", azureSite), ...azureArgs })))).toEqual([]);
    const bad = await analyzerResourcesOf((kit) => {
      const flexible = require("@pulumi/azure-native/dbforpostgresql") as typeof import("@pulumi/azure-native/dbforpostgresql");
      const site = new kit.lib.Site("az", azureSite);
      const tags = { "waris-data-class": "internal" };
      const o = { provider: site.azureProvider };
      new flexible.Server("db", { resourceGroupName: "rg", serverName: "db", backup: { backupRetentionDays: 30, geoRedundantBackup: "Enabled" }, tags }, o);
      new flexible.Server("db-r", { resourceGroupName: "rg", serverName: "db-r", createMode: "Replica", tags: { ...tags, "waris-replica-of": "db" } }, o);
      new flexible.Configuration("tls", { resourceGroupName: "rg", serverName: "db", configurationName: "ssl_min_protocol_version", value: "TLSv1.2" }, o);
    });
    expect((await evaluatePack(bad)).map((d) => `${d.policyName}: ${d.message}`).sort()).toEqual([
      expect.stringMatching(/^waris-data-residency: Azure PostgreSQL server "db" has geo-redundant backup on/),
      expect.stringMatching(/^waris-encryption-in-transit: Azure PostgreSQL parameter "tls": ssl_min_protocol_version is "TLSv1.2"; it must be at least TLSv1.3/),
      expect.stringMatching(/^waris-replication-lag-alerts: postgresql dataset "db" .*: replica db-r has no Azure Monitor alert on physical_replication_delay_in_seconds/),
    ]);
  });
});

describe("DigitalOcean managed database", () => {
  test("a cluster with a standby node and a read replica; backups are DigitalOcean's fixed 7 days", async () => {
    let db: lib.ManagedPostgres | undefined;
    const run = await build((l) => (db = new l.ManagedPostgres("waris-reports", { site: new l.Site("do", doSite), backupRetentionDays: 7, privateNetworkUuid: "vpc-1" })));
    const cluster = resource(run, "digitalocean:index/databaseCluster:DatabaseCluster", "waris-reports");
    expect(cluster.provider).toMatch(/providers:digitalocean::do$/);
    expect(cluster.inputs).toMatchObject({ name: "waris-reports", engine: "pg", version: "17", size: "db-s-2vcpu-4gb", region: "bkk-hypothetical", nodeCount: 2, privateNetworkUuid: "vpc-1" });
    expect(cluster.inputs["tags"]).toEqual(["waris-site:do", "waris-data-class:confidential", "waris-dataset:waris-reports"]);
    const replica = resource(run, "digitalocean:index/databaseReplica:DatabaseReplica", "waris-reports-replica-1");
    expect(replica.inputs).toMatchObject({ name: "waris-reports-replica-1", region: "bkk-hypothetical", tags: expect.arrayContaining(["waris-replica-of:waris-reports"]) });
    expect([db!.rpoMinutes, db!.rtoMinutes]).toEqual([5, 15]);
  });

  test("the policy pack tells what DigitalOcean cannot do: 30 days of backups, a replica-lag alert", async () => {
    const resources = await analyzerResourcesOf((kit) => new kit.lib.ManagedPostgres("waris-reports", { site: new kit.lib.Site("do", doSite), backupRetentionDays: 7 }));
    expect((await evaluatePack(resources)).map((d) => `${d.policyName}: ${d.message}`).sort()).toEqual([
      expect.stringMatching(/^waris-backup-retention: postgresql dataset "waris-reports" .* keeps backups 7 days; keep them at least 30 days/),
      expect.stringMatching(/^waris-replication-lag-alerts: postgresql dataset "waris-reports" .* DigitalOcean offers no replica-lag alert/),
    ]);
  });

  test("refuses a retention DigitalOcean cannot keep, naming the fixed 7 days", async () => {
    const run = await runIsolated("test", stackConfig("prod"), async () => {
      const l = require("../components") as typeof lib;
      new l.ManagedPostgres("waris-reports", { site: new l.Site("do", doSite) });
    });
    expect((run.error as Error).message).toMatch(/backupRetentionDays: is \(not set\); DigitalOcean keeps backups 7 days, fixed: set 7 to accept that/);
  });
});

test("Azure arguments are checked: missing network inputs, a storage size Azure does not have, retention under 7 days", async () => {
  const run = await runIsolated("test", stackConfig("prod"), async () => {
    const l = require("../components") as typeof lib;
    new l.ManagedPostgres("waris-reports", { site: new l.Site("az", azureSite), password: "p", allocatedStorageGiB: 100, backupRetentionDays: 3 });
  });
  const message = (run.error as Error).message;
  for (const expected of [
    /resourceGroupName: is required on azure/,
    /delegatedSubnetId: is required on azure/,
    /privateDnsZoneId: is required on azure/,
    /backupRetentionDays: is 3; an Azure flexible server keeps 7 to 35 days/,
    /allocatedStorageGiB: is 100; an Azure flexible server has 32, 64, 128/,
  ]) {
    expect(message).toMatch(expected);
  }
});

describe("ObjectStorageBucket on Azure Blob and DigitalOcean Spaces", () => {
  test("Azure: zone-redundant account, TLS, no public access, versions and soft delete for the retention, an unlocked immutability policy as the lock", async () => {
    let bucket: lib.ObjectStorageBucket | undefined;
    const run = await build((l) => {
      bucket = new l.ObjectStorageBucket("reports-backups", { site: new l.Site("az", azureSite), resourceGroupName: "waris-rg", bucket: "waris-reports-backups", dataset: "waris-reports", retentionDays: 30, objectLockDays: 7 });
    });
    const account = resource(run, "azure-native:storage:StorageAccount", "reports-backups");
    expect(account.provider).toMatch(/providers:azure-native::az$/);
    expect(account.inputs).toMatchObject({
      accountName: "warisreportsbackups",
      location: "thailand-hypothetical",
      sku: { name: "Standard_ZRS" },
      minimumTlsVersion: "TLS1_2",
      enableHttpsTrafficOnly: true,
      allowBlobPublicAccess: false,
      encryption: { keySource: "Microsoft.Storage", services: { blob: { enabled: true } } },
      immutableStorageWithVersioning: { enabled: true, immutabilityPolicy: { immutabilityPeriodSinceCreationInDays: 7, state: "Unlocked" } },
      tags: { "waris-site": "az", "waris-dataset": "waris-reports" },
    });
    expect(resource(run, "azure-native:storage:BlobServiceProperties", "reports-backups").inputs).toMatchObject({ isVersioningEnabled: true, deleteRetentionPolicy: { enabled: true, days: 30 } });
    expect(resource(run, "azure-native:storage:BlobContainer", "reports-backups").inputs).toMatchObject({ containerName: "waris-reports-backups", publicAccess: "None" });
    expect(resource(run, "azure-native:storage:ManagementPolicy", "reports-backups").inputs).toMatchObject({
      policy: { rules: [{ definition: { actions: { version: { delete: { daysAfterCreationGreaterThan: 30 } } } } }] },
    });
    expect(bucket!.url).toBe("https://warisreportsbackups.blob.core.windows.net/waris-reports-backups/");
  });

  test("Spaces: private, versioned, noncurrent versions expire after the retention", async () => {
    const run = await build((l) => new l.ObjectStorageBucket("reports-backups", { site: new l.Site("do", doSite), bucket: "waris-reports-backups", dataset: "waris-reports", retentionDays: 30 }));
    const spaces = resource(run, "digitalocean:index/spacesBucket:SpacesBucket", "reports-backups");
    expect(spaces.inputs).toMatchObject({ name: "waris-reports-backups", region: "bkk-hypothetical", acl: "private", versioning: { enabled: true }, lifecycleRules: [{ enabled: true, noncurrentVersionExpiration: { days: 30 } }] });
  });

  test("rules these stores cannot express are errors, not silent gaps", async () => {
    const problems = async (make: (l: typeof lib) => void): Promise<string> => {
      const run = await runIsolated("test", stackConfig("prod"), async () => make(require("../components") as typeof lib));
      return (run.error as Error).message;
    };
    const azure = await problems((l) => new l.ObjectStorageBucket("artifacts", { site: new l.Site("az", azureSite), bucket: "waris-artifacts", dataset: "model-artifacts", keepVersions: 5 }));
    expect(azure).toMatch(/keepVersions: cannot be kept on Azure Blob storage: its lifecycle rules expire versions by age, never "the newest N"/);
    expect(azure).toMatch(/resourceGroupName: is required on azure/);
    const spaces = await problems((l) => new l.ObjectStorageBucket("b", { site: new l.Site("do", doSite), bucket: "waris-b", dataset: "d", retentionDays: 30, objectLockDays: 7, keepVersions: 5 }));
    expect(spaces).toMatch(/keepVersions: cannot be kept on DigitalOcean Spaces/);
    expect(spaces).toMatch(/objectLockDays: cannot be set on DigitalOcean Spaces, which has no object lock/);
  });

  test("the policy pack denies a geo-redundant storage account: it copies the data abroad", async () => {
    const resources = await analyzerResourcesOf((kit) => {
      const azureStorage = require("@pulumi/azure-native/storage") as typeof import("@pulumi/azure-native/storage");
      const site = new kit.lib.Site("az", azureSite);
      new azureStorage.StorageAccount("grs", { resourceGroupName: "rg", kind: "StorageV2", sku: { name: "Standard_RAGRS" }, minimumTlsVersion: "TLS1_2", tags: { "waris-data-class": "internal" } }, { provider: site.azureProvider });
    });
    expect((await evaluatePack(resources)).map((d) => d.message)).toEqual([expect.stringMatching(/Storage account "grs" uses Standard_RAGRS, which replicates its data to the paired region/)]);
  });
});
