/**
 * Another team's view: the packed tarball installed into a fresh project (its dependencies from this
 * repository's lock file and the npm cache that `npm ci` filled, never the network), the README's
 * consumer program type-checked with tsc's strict settings, run with the package's bin under mocks with
 * the shipped policy pack, and the pack started as the Pulumi CLI starts it.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { installOffline } from "./offline-install";

const root = path.resolve(__dirname, "..");
const bin = (name: string): string => path.join(root, "node_modules", ".bin", name);

/** The README's consumer program: the code block after the `consumer-program` marker, so the two cannot drift. */
function readmeProgram(): string {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const match = /<!-- consumer-program[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error("README.md: no ```ts block after <!-- consumer-program --> in \"Using the components\"");
  return match[1]!;
}

/** The strict settings a team may use, on top of `strict`. */
const STRICT = { strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true };

describe("the npm package, as another team installs and uses it", () => {
  const work = mkdtempSync(path.join(tmpdir(), "waris-consumer-"));
  const consumer = path.join(work, "consumer");
  let tarball = "";

  beforeAll(() => {
    const built = ["dist/index.js", "bin/waris-plan.js", "policy/index.js", "policy/policies.js"].every((f) => existsSync(path.join(root, f)));
    if (!built) execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore" });
    const packed = JSON.parse(execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: root, encoding: "utf8" })) as Array<{ filename: string }>;
    tarball = path.join(work, packed[0]!.filename);
    execFileSync("mkdir", ["-p", consumer]);
    const version = (name: string): string => (require(path.join(root, "node_modules", name, "package.json")) as { version: string }).version;
    writeFileSync(path.join(consumer, "Pulumi.yaml"), "name: team-program\nruntime: nodejs\n");
    writeFileSync(
      path.join(consumer, "Pulumi.dev.yaml"),
      ["config:", ...["hqKubeconfig", "drKubeconfig", "s3Key", "s3Secret", "dbPassword"].map((k) => `  team-program:${k}:\n    secure: v1:bm90LXJlYWRhYmxlLWhlcmU=`), ""].join("\n"),
    );
    writeFileSync(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { ...STRICT, module: "nodenext", moduleResolution: "nodenext", target: "ES2022", skipLibCheck: true, noEmit: true, types: [] }, files: ["index.ts"] }),
    );
    writeFileSync(path.join(consumer, "index.ts"), readmeProgram());
    // Offline, from nothing but what `npm ci` of this repository fetched (see offline-install.ts). The
    // program makes a bucket (S3 API), so it installs @pulumi/aws; no Azure, no DigitalOcean.
    installOffline(root, consumer, tarball, { "@pulumi/pulumi": version("@pulumi/pulumi"), "@pulumi/aws": version("@pulumi/aws") });
  }, 240000);

  const installed = (...p: string[]): string => path.join(consumer, "node_modules", ...p);

  test("the tarball holds the built library and its types, the policy pack, the bin, README and CHANGELOG", () => {
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).trim().split("\n").sort();
    for (const f of files) {
      expect(f).toMatch(/^package\/(dist\/[a-z-]+\.(js|d\.ts)|policy\/(PulumiPolicy\.yaml|package\.json|index\.js|policies\.js)|bin\/waris-plan\.js|README\.md|CHANGELOG\.md|package\.json)$/);
    }
    for (const f of ["dist/index.d.ts", "policy/PulumiPolicy.yaml", "policy/package.json", "policy/index.js", "bin/waris-plan.js"]) expect(files).toContain(`package/${f}`);
  });

  test("the optional provider SDKs are not installed unless asked for; one copy of the Pulumi SDK (a peer dependency)", () => {
    expect(existsSync(installed("@pulumi", "azure-native"))).toBe(false);
    expect(existsSync(installed("@pulumi", "digitalocean"))).toBe(false);
    const fromPackage = require.resolve("@pulumi/pulumi", { paths: [installed("@waris", "hybrid-infra")] });
    expect(realpathSync(fromPackage)).toBe(realpathSync(require.resolve("@pulumi/pulumi", { paths: [consumer] })));
    expect(existsSync(installed("@waris", "hybrid-infra", "node_modules", "@pulumi", "pulumi"))).toBe(false);
  });

  test("the README's program type-checks (strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes) and loads without the optional SDKs", () => {
    // A team without @pulumi/aws: the declarations name none of the optional SDKs, and importing the package loads none.
    const aside = path.join(work, "aws-aside");
    renameSync(installed("@pulumi", "aws"), aside);
    try {
      const tsc = spawnSync(bin("tsc"), ["-p", consumer], { encoding: "utf8" });
      expect(tsc.stdout + tsc.stderr).toBe("");
      expect(tsc.status).toBe(0);
      const load = spawnSync(process.execPath, ["-e", "const l = require('@waris/hybrid-infra'); if (typeof l.PostgresCluster !== 'function') process.exit(1)"], { cwd: consumer, encoding: "utf8" });
      expect(load.stderr).toBe("");
      expect(load.status).toBe(0);
    } finally {
      renameSync(aside, installed("@pulumi", "aws"));
    }
    // skipLibCheck (the team's setting, and fast) would turn an unresolved import in a declaration into
    // \`any\` silently: so every module the declarations import is checked to be one such a team has.
    const dist = installed("@waris", "hybrid-infra", "dist");
    const imported = new Set<string>();
    for (const file of readdirSync(dist).filter((f) => f.endsWith(".d.ts"))) {
      const code = readFileSync(path.join(dist, file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
      for (const m of code.matchAll(/(?:from |import\()"([^"]+)"/g)) if (!m[1]!.startsWith(".")) imported.add(m[1]!);
    }
    expect([...imported].filter((m) => !/^(@pulumi\/(pulumi|kubernetes|random|tls|policy)(\/|$)|cron-parser$|node:)/.test(m))).toEqual([]);
  });

  test("npx waris-plan runs it offline with the shipped pack: no violation, nothing cluster-wide installed or patched but its own nodes", () => {
    const plan = spawnSync(installed(".bin", "waris-plan"), ["--stack", "dev", "--json"], { cwd: consumer, encoding: "utf8", timeout: 120000 });
    expect(plan.stderr).toBe("");
    expect(plan.status).toBe(0);
    const parsed = JSON.parse(plan.stdout) as {
      project: string;
      resources: Array<{ type: string; name: string; inputs?: Record<string, unknown> }>;
      mandatoryViolations: number;
      outputs: Record<string, unknown>;
      fakedSecretKeys: string[];
    };
    expect(parsed.project).toBe("team-program");
    expect(parsed.mandatoryViolations).toBe(0);
    const types = new Set(parsed.resources.map((r) => r.type));
    expect([...types].filter((t) => t.startsWith("waris:index:")).sort()).toEqual(["waris:index:BackupSchedule", "waris:index:GpuNodePool", "waris:index:ObjectStorageBucket", "waris:index:PostgresCluster", "waris:index:Site"]);
    for (const t of ["kubernetes:helm.sh/v3:Release", "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "kubernetes:node.k8s.io/v1:RuntimeClass"]) expect(types.has(t)).toBe(false);
    expect(parsed.resources.filter((r) => r.type === "kubernetes:core/v1:NodePatch").map((r) => r.name)).toEqual(["team-l40s-team-gpu-01"]);
    // The bucket the cluster made, and the schedule's figures are the cluster's (RPO 5 min archive, RTO 15 min promotion).
    expect(parsed.resources.filter((r) => r.type === "aws:s3/bucket:Bucket").map((r) => r.name)).toEqual(["team-db-backups"]);
    expect(parsed.outputs["recovery"]).toMatchObject({ dataset: "team-db", rpoMinutes: 5, rtoMinutes: 15, location: "s3://team-db-backups/ on dr" });
    expect(parsed.fakedSecretKeys).toContain("team-program:dbPassword");
  });

  test("the shipped pack starts the way pulumi preview --policy-pack node_modules/@waris/hybrid-infra/policy starts it", async () => {
    const pack = installed("@waris", "hybrid-infra", "policy");
    expect(readFileSync(path.join(pack, "PulumiPolicy.yaml"), "utf8")).toMatch(/^runtime: nodejs$/m);
    const main = (JSON.parse(readFileSync(path.join(pack, "package.json"), "utf8")) as { main: string }).main;
    expect(existsSync(path.join(pack, main))).toBe(true);
    // The Node.js language host runs the SDK's run-policy-pack, found from the pack's folder: here the team's single copy.
    expect(realpathSync(require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [pack] }))).toBe(realpathSync(installed("@pulumi", "pulumi", "cmd", "run-policy-pack", "index.js")));
    // Loading the pack (in its folder: PolicyPack reads the version from ./package.json) serves the analyzer
    // over gRPC and prints its port, then waits for the engine.
    const child = spawn(process.execPath, ["-e", `require(${JSON.stringify(pack)})`], { cwd: pack });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => void (err += d.toString()));
    const firstLine = await new Promise<string>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(out);
      });
      child.on("exit", () => resolve(out));
    });
    child.kill("SIGKILL");
    expect(err).toBe("");
    expect(firstLine).toMatch(/^\d+\n/);
  });
});

test("every component has a small, complete example program (type-checked by npm run typecheck)", () => {
  const lib = require("../components") as Record<string, unknown>;
  const { ComponentResource } = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const components = Object.entries(lib)
    .filter(([, v]) => typeof v === "function" && (v as { prototype?: unknown }).prototype instanceof ComponentResource)
    .map(([k]) => k);
  expect(components.sort()).toEqual(["BackupSchedule", "GpuNodePool", "InferenceCluster", "ManagedPostgres", "MilvusPrimary", "MongoReplicaSet", "Monitoring", "ObjectStorageBucket", "PostgresCluster", "RedisPrimary", "Site", "VaultKeys"]);
  const examples = readdirSync(path.join(root, "examples"));
  for (const c of components) expect(examples).toContain(`${c.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase()}.ts`);
});
