/**
 * Another team's view: the packed tarball installed into a fresh project (its dependencies from this
 * repository's lock file and the npm cache that `npm ci` filled, never the network), a program using
 * the components type-checked with tsc and run under mocks with the policy pack.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { installOffline } from "./offline-install";

const root = path.resolve(__dirname, "..");
const bin = (name: string): string => path.join(root, "node_modules", ".bin", name);

const CONSUMER_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { BackupSchedule, GpuNodePool, InferenceCluster, ObjectStorageBucket, PostgresCluster, Site, steadyRoles } from "@waris/hybrid-infra";

const config = new pulumi.Config();
const hq = new Site("hq", {
  kind: "onprem", region: "pwa-region-5", country: "TH", role: "primary", kubeconfig: config.requireSecret("hqKubeconfig"),
  vpnRanges: ["10.50.0.0/16"], volumes: { storageClass: "local-path", encryption: "node-disk-encryption" },
});
const dr = new Site("dr", {
  kind: "gcloud", region: "gdcc-bangkok", country: "TH", role: "standby", kubeconfig: config.requireSecret("drKubeconfig"),
  vpnRanges: ["10.60.0.0/16"], volumes: { storageClass: "longhorn-encrypted", encryption: "encrypted-storage-class" },
  objectStore: { endpoint: "https://s3.gdcc.go.th", accessKeyId: config.requireSecret("s3Key"), secretAccessKey: config.requireSecret("s3Secret") },
});
const hqGpus = new GpuNodePool("hq-gpus", { site: hq, gpuModel: "H100", gpusPerNode: 2, workload: "inference", nodeNames: ["hq-gpu-1"] });
const drGpus = new GpuNodePool("dr-gpus", { site: dr, gpuModel: "A100", gpusPerNode: 2, workload: "inference", nodeNames: ["dr-gpu-1"] });
const bucket = new ObjectStorageBucket("team-db-backups", { site: dr, bucket: "team-db-backups", dataset: "team-db", retentionDays: 30, objectLockDays: 7 });
const db = new PostgresCluster("team-db", {
  sites: [hq, dr], roles: steadyRoles(["hq", "dr"], "hq"), backupSite: dr, backupBucket: "team-db-backups",
  replicationHosts: { hq: "db.hq.team.internal", dr: "db.dr.team.internal" },
  appPassword: config.requireSecret("dbPassword"), storageSizeGiB: 50,
}, { dependsOn: [bucket] });
const backups = new BackupSchedule("team-db-full", {
  kind: "postgresql", dataset: db.dataset, site: hq, namespace: db.namespace, postgresCluster: db.clusterNames["hq"],
  schedule: "0 3 * * 0", retentionDays: 30, continuousArchiveMinutes: db.rpoMinutes, standbyPromotionMinutes: 15, location: bucket.url,
});
const llm = new InferenceCluster("team-llm", {
  sites: [hq, dr], pools: [hqGpus, drGpus], activeSite: "hq",
  primary: { model: "team-70b", source: "s3://team-models/70b-fp8/", parametersBillions: 70, precision: "fp8", tensorParallelSize: 2 },
  overflow: { model: "team-70b", source: "s3://team-models/70b-awq/", parametersBillions: 70, precision: "awq", tensorParallelSize: 2 },
  apiKey: config.requireSecret("llmKey"), appNamespace: "team-app", modelStore: dr,
  gatewayHosts: { hq: "llm.hq.team.internal", dr: "llm.dr.team.internal" },
});
export const endpoint = llm.endpoint;
export const database = db.endpoint;
export const recovery = { rpoMinutes: backups.rpoMinutes, rtoMinutes: backups.rtoMinutes };
`;

describe("the npm package, as another team installs and uses it", () => {
  const work = mkdtempSync(path.join(tmpdir(), "waris-consumer-"));
  const consumer = path.join(work, "consumer");
  let tarball = "";

  beforeAll(() => {
    if (!existsSync(path.join(root, "dist", "index.js"))) execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore" });
    const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: root, encoding: "utf8" })) as Array<{ filename: string }>;
    tarball = path.join(work, packed[0]!.filename);
    execFileSync("mkdir", ["-p", consumer]);
    const sdkVersion = (require(path.join(root, "node_modules", "@pulumi", "pulumi", "package.json")) as { version: string }).version;
    writeFileSync(path.join(consumer, "Pulumi.yaml"), "name: team-program\nruntime: nodejs\n");
    writeFileSync(
      path.join(consumer, "Pulumi.dev.yaml"),
      ["config:", ...["hqKubeconfig", "drKubeconfig", "s3Key", "s3Secret", "dbPassword", "llmKey"].map((k) => `  team-program:${k}:\n    secure: v1:bm90LXJlYWRhYmxlLWhlcmU=`), ""].join("\n"),
    );
    writeFileSync(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "ES2022", skipLibCheck: true, noEmit: true, types: [] }, files: ["index.ts"] }),
    );
    writeFileSync(path.join(consumer, "index.ts"), CONSUMER_PROGRAM);
    // Offline, from nothing but what `npm ci` of this repository fetched (see offline-install.ts).
    installOffline(root, consumer, tarball, { "@pulumi/pulumi": sdkVersion });
  }, 240000);

  test("the tarball holds the built library, its types, README and CHANGELOG only", () => {
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).trim().split("\n").sort();
    for (const f of files) expect(f).toMatch(/^package\/(dist\/[a-z-]+\.(js|d\.ts)|README\.md|CHANGELOG\.md|package\.json)$/);
    expect(files).toContain("package/dist/index.d.ts");
    expect(files.some((f) => /index\.ts$|Pulumi\..*yaml|test\//.test(f.replace("package/dist/index.d.ts", "")))).toBe(false);
  });

  test("one copy of the Pulumi SDK: the package takes the consumer's (peer dependency)", () => {
    const fromPackage = require.resolve("@pulumi/pulumi", { paths: [path.join(consumer, "node_modules", "@waris", "hybrid-infra")] });
    const fromConsumer = require.resolve("@pulumi/pulumi", { paths: [consumer] });
    expect(realpathSync(fromPackage)).toBe(realpathSync(fromConsumer));
    expect(existsSync(path.join(consumer, "node_modules", "@waris", "hybrid-infra", "node_modules", "@pulumi", "pulumi"))).toBe(false);
  });

  test("the consumer program type-checks against the packed types", () => {
    const tsc = spawnSync(bin("tsc"), ["-p", consumer], { encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  });

  test("it runs under mocks with its own SDK copy and passes the policy pack", () => {
    const plan = spawnSync(bin("tsx"), ["plan/cli.ts", "--program", consumer, "--config", path.join(consumer, "Pulumi.dev.yaml"), "--json"], { cwd: root, encoding: "utf8", timeout: 120000 });
    expect(plan.stderr).toBe("");
    expect(plan.status).toBe(0);
    const parsed = JSON.parse(plan.stdout) as { project: string; resources: Array<{ type: string }>; mandatoryViolations: number; outputs: Record<string, unknown>; fakedSecretKeys: string[] };
    expect(parsed.project).toBe("team-program");
    expect(parsed.mandatoryViolations).toBe(0);
    const components = new Set(parsed.resources.map((r) => r.type).filter((t) => t.startsWith("waris:index:")));
    expect([...components].sort()).toEqual(["waris:index:BackupSchedule", "waris:index:GpuNodePool", "waris:index:InferenceCluster", "waris:index:ObjectStorageBucket", "waris:index:PostgresCluster", "waris:index:Site"]);
    expect(parsed.outputs["recovery"]).toEqual({ rpoMinutes: 5, rtoMinutes: 15 });
    expect(parsed.fakedSecretKeys).toContain("team-program:dbPassword");
  });
});

test("every component has a small, complete example program (type-checked by npm run typecheck)", () => {
  const lib = require("../components") as Record<string, unknown>;
  const { ComponentResource } = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const components = Object.entries(lib)
    .filter(([, v]) => typeof v === "function" && (v as { prototype?: unknown }).prototype instanceof ComponentResource)
    .map(([k]) => k);
  expect(components.sort()).toEqual(["BackupSchedule", "GpuNodePool", "InferenceCluster", "ManagedPostgres", "MilvusPrimary", "MongoReplicaSet", "Monitoring", "ObjectStorageBucket", "PostgresCluster", "RedisPrimary", "Site"]);
  const examples = readdirSync(path.join(root, "examples"));
  for (const c of components) expect(examples).toContain(`${c.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase()}.ts`);
});
