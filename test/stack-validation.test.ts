/**
 * Issue 20: every bad stack setting is refused before the first resource is registered, with a message
 * naming the key. Each case edits a copy of Pulumi.prod.yaml. Every case is read by the program's own
 * `readStackConfig` under the mock runtime (all in one module registry, so each costs milliseconds), and
 * the registrations are counted; the issue's own cases also run the whole program (`index.ts`, one fresh
 * registry each), which must stop with only the stack registered.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { dump, load } from "js-yaml";
import { readFileSync } from "node:fs";
import { engineConfigForStack } from "../plan/offline-plan";
import { unknownNamespaceKeys } from "../stack/namespaces";
import { Run, runIsolated } from "./harness";

const root = path.resolve(__dirname, "..");
const dir = mkdtempSync(path.join(tmpdir(), "waris-issue20-"));
const P = "waris-hybrid";

/** The prod stack file's `config:` section, as YAML values keyed by full key. */
type StackDoc = Record<string, unknown>;
// Loosely typed on purpose: the cases put wrong values in.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

let fileCount = 0;
/** Writes an edited copy of Pulumi.prod.yaml and returns its path. */
function prodFile(edit: (config: StackDoc, setting: (key: string) => Loose) => void): string {
  const doc = load(readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")) as { config: StackDoc };
  edit(doc.config, (key) => doc.config[`${P}:${key}`] as Loose);
  const file = path.join(dir, `Pulumi.prod-${++fileCount}.yaml`);
  writeFileSync(file, dump(doc));
  return file;
}

/** Runs index.ts with a stack file's config, as the offline plan and `pulumi up` would. */
async function runWith(file: string): Promise<Run> {
  const engine = engineConfigForStack({ stack: "prod", stackFile: file, lenient: true });
  return runIsolated("prod", engine, async () => require("../index") as Record<string, unknown>);
}

/**
 * One case: kind of the issue, what it breaks, the edit, the key the message must name, what it says,
 * and whether it is one of the issue's own cases (run through the whole program too).
 */
type Case = [kind: number, name: string, edit: (config: StackDoc, setting: (key: string) => Loose) => void, key: string, message: RegExp, fromIssue?: "issue"];

const cases: Case[] = [
  // 1. Unknown namespaces.
  [1, "waris-hybird:redis (the issue's case) drops no datastore silently", (c) => {
    c["waris-hybird:redis"] = c[`${P}:redis`];
    delete c[`${P}:redis`];
  }, "waris-hybird:redis", /namespace "waris-hybird", which nothing reads.*did you mean waris-hybrid:redis\?/, "issue"],
  [1, "a key in a namespace of no provider the program uses (gcp:)", (c) => {
    c["gcp:region"] = "asia-southeast1";
  }, "gcp:region", /namespace "gcp", which nothing reads.*known namespaces: waris-hybrid, pulumi, aws/],
  // 2. The policy pack's thresholds, from its own definition.
  [2, "postgres.backupRetentionDays: 7 (the issue's case; the pack requires 30)", (_, s) => (s("postgres").backupRetentionDays = 7), `${P}:postgres.backupRetentionDays`, /is 7, below the 30 that the policy pack requires \(waris-backup-retention, databaseRetentionDays\)/, "issue"],
  [2, "milvus.backupRetentionDays: 7 (the pack requires 14 for vectors)", (_, s) => (s("milvus").backupRetentionDays = 7), `${P}:milvus.backupRetentionDays`, /is 7, below the 14 .*vectorRetentionDays/],
  [2, "backups.modelArtifactVersions: 3 (the pack keeps 5)", (_, s) => (s("backups").modelArtifactVersions = 3), `${P}:backups.modelArtifactVersions`, /is 3, below the 5 .*modelArtifactVersions/],
  [2, "recovery.rpoMinutes: 120, looser than the pack's 60", (_, s) => (s("recovery").rpoMinutes = 120), `${P}:recovery.rpoMinutes`, /is 120 min, looser than the 60 min .*waris-recovery-objectives/],
  // 3. Components' own validators, run before anything is registered.
  [3, "redis.backupBucket: Waris_Prod_Redis (the issue's case; ObjectStorageBucket refused it after 97 resources)", (_, s) => (s("redis").backupBucket = "Waris_Prod_Redis"), `${P}:redis.backupBucket`, /is "Waris_Prod_Redis"; an S3 bucket name is 3-63 lowercase.*ObjectStorageBucket "redis-backups"/, "issue"],
  [3, "milvus.backupBucket too short for S3", (_, s) => (s("milvus").backupBucket = "wm"), `${P}:milvus.backupBucket`, /is "wm"; an S3 bucket name .*ObjectStorageBucket "milvus-backups"/],
  [3, "backups.modelArtifactsBucket with capitals", (_, s) => (s("backups").modelArtifactsBucket = "Waris-Models"), `${P}:backups.modelArtifactsBucket`, /ObjectStorageBucket "model-artifacts"/],
  // 5. Targets the stack states against what the program computes.
  [5, "recovery.rtoMinutes: 10 (the issue's case; the table shows 15 and 65 min)", (_, s) => (s("recovery").rtoMinutes = 10), `${P}:recovery.rtoMinutes`, /is 10 min, but the program's own estimates exceed it: waris-postgres 15 min .*waris-milvus 65 min .*state an RTO of at least 65 min/, "issue"],
  [5, "milvus.dataSizeGiB: 20000 restores in 3444 min, over the RTO of 240", (_, s) => (s("milvus").dataSizeGiB = 20000), `${P}:recovery.rtoMinutes`, /waris-milvus 3444 min \(restore of 20000 GiB \(milvus.dataSizeGiB\) at 100 MiB\/s\); the policy pack allows at most 240 min/],
  [2, "a fast throughput stated hides an RTO the pack (at its 100 MiB/s) would deny", (_, s) => {
    s("recovery").restoreThroughputMiBPerSecond = 1000;
    s("milvus").dataSizeGiB = 2000;
  }, `${P}:recovery.restoreThroughputMiBPerSecond`, /is 1000 MiB\/s, but the policy pack estimates restores at its own 100 MiB\/s .*waris-milvus takes 372 min, over its RTO of 240 min/],
  [5, "a slow restore throughput stated: 1 MiB/s", (_, s) => (s("recovery").restoreThroughputMiBPerSecond = 1), `${P}:recovery.rtoMinutes`, /model-artifacts 2590 min .*waris-milvus 3444 min/],
  // One mistake, one problem: a wrong reference is reported where it is made, not again by every user.
  [3, "activeSite naming no site is not reported again by each datastore", (c) => (c[`${P}:activeSite`] = "gcloudd"), `${P}:activeSite`, /"gcloudd": names no site|names no site; allowed: onprem, gcloud/],
  [3, "backups.site naming no site is not reported again by each datastore", (_, s) => (s("backups").site = "gclod"), `${P}:backups.site`, /names no site; allowed: onprem, gcloud/],
  // 4. Sanity bounds and formats.
  [4, "postgres.memoryGiB: 1048576 (the issue's case, 1 PiB)", (_, s) => (s("postgres").memoryGiB = 1048576), `${P}:postgres.memoryGiB`, /is more memory than any machine has/, "issue"],
  [4, "postgres.cpu: lots (the issue's case)", (_, s) => (s("postgres").cpu = "lots"), `${P}:postgres.cpu`, /is not a Kubernetes CPU quantity such as "4", "1.5" or "500m"/, "issue"],
  [4, "milvus.cpu: 2000 cores", (_, s) => (s("milvus").cpu = "2000"), `${P}:milvus.cpu`, /is 2000 cores, more than any machine has/],
  [4, "mongodb.storageSizeGiB: 1 PiB volume", (_, s) => (s("mongodb").storageSizeGiB = 1048576), `${P}:mongodb.storageSizeGiB`, /is larger than any single volume/],
  [4, "postgres.replicationHosts.gcloud is not a DNS host name", (_, s) => (s("postgres").replicationHosts.gcloud = "pg_gcloud.waris.internal"), `${P}:postgres.replicationHosts.gcloud`, /is not a DNS host name/],
  [4, "inference.appNamespace is not a DNS-1123 label", (_, s) => (s("inference").appNamespace = "Waris.App"), `${P}:inference.appNamespace`, /is not a DNS-1123 label/],
  [4, "postgres.storageClass is not a Kubernetes name", (_, s) => (s("postgres").storageClass = "Fast SSD"), `${P}:postgres.storageClass`, /is not a Kubernetes name/],
  [4, "a GPU label key that Kubernetes refuses", (_, s) => (s("gpuPools")["onprem-inference"].labels = { "team name": "llm" }), `${P}:gpuPools.onprem-inference.labels.team name`, /is not a Kubernetes label key/],
  // One mistake, one problem: a bad GPU count is reported once, not again as pools that "do not exist".
  [4, "gpusPerNode: \"two\" gives one problem", (_, s) => (s("gpuPools")["onprem-inference"].gpusPerNode = "two"), `${P}:gpuPools.onprem-inference.gpusPerNode`, /expected number/, "issue"],
  [4, "gpusPerNode: 64, above any node", (_, s) => (s("gpuPools")["onprem-inference"].gpusPerNode = 64), `${P}:gpuPools.onprem-inference.gpusPerNode`, /is more GPUs than one node holds \(at most 16\)/],
];

/** What reading each case's configuration gave, by case name, and what was registered meanwhile. */
interface Outcome {
  readonly problems?: Array<{ key: string; message: string }>;
  readonly error?: unknown;
}

describe("issue 20: each bad setting is refused before anything is registered, naming the key", () => {
  const outcomes = new Map<string, Outcome>();
  let registered: string[] = [];
  beforeAll(async () => {
    const engines = cases.map(([, name, edit]) => [name, engineConfigForStack({ stack: "prod", stackFile: prodFile(edit), lenient: true })] as const);
    // One registry for all cases: the program's own reader under the mock runtime, config swapped per case.
    const run = await runIsolated("prod", engines[0]![1], async () => {
      const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
      const { readStackConfig } = require("../stack/config") as typeof import("../stack/config");
      for (const [name, engine] of engines) {
        pulumi.runtime.setAllConfig(engine.config, engine.secretKeys);
        try {
          readStackConfig();
          outcomes.set(name, {});
        } catch (error) {
          outcomes.set(name, { error, problems: (error as { problems?: Array<{ key: string; message: string }> }).problems });
        }
      }
    });
    registered = run.recording.resources.map((r) => r.type);
  });

  test.each(cases)("kind %i: %s", (_kind, name, _edit, key, message) => {
    const outcome = outcomes.get(name)!;
    expect((outcome.error as Error | undefined)?.name).toBe("StackConfigError");
    // One mistake, one problem.
    expect(outcome.problems!.map((p) => p.key)).toEqual([key]);
    expect(outcome.problems![0]!.message).toMatch(message);
  });

  test("reading every case registered nothing but the stack", () => {
    expect(registered).toEqual(["pulumi:pulumi:Stack"]);
  });

  test.each(cases.filter((c) => c[5] === "issue"))("the whole program stops before its first resource: kind %i: %s", async (_kind, _name, edit, key) => {
    const run = await runWith(prodFile(edit));
    expect((run.error as Error).name).toBe("StackConfigError");
    expect((run.error as Error).message).toContain(`  - ${key} = `);
    expect(run.recording.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });

  test("providers' and pulumi: keys are accepted", () => {
    const engine = engineConfigForStack({ stack: "prod", stackFile: prodFile((c) => {
      c["kubernetes:enableServerSideApply"] = true;
      c["pulumi:disable-default-providers"] = ["*"];
    }) });
    expect(engine.config["kubernetes:enableServerSideApply"]).toBe("true");
    expect(unknownNamespaceKeys(Object.keys(engine.config), P)).toEqual([]);
  });
});

describe("issue 20, kind 6: stack files that cannot be read name the file, line and problem", () => {
  test("a YAML syntax error names the file, the line and the column", () => {
    const file = path.join(dir, "Pulumi.syntax.yaml");
    writeFileSync(file, ["config:", "  waris-hybrid:activeSite: onprem", "  waris-hybrid:recovery:", "    rpoMinutes: [60", ""].join("\n"));
    expect(() => engineConfigForStack({ stack: "prod", stackFile: file })).toThrow(/Pulumi\.syntax\.yaml: YAML syntax error at line 5, column 1: unexpected end of the stream within a flow collection/);
  });

  test("a tab-indented key (a second kind of syntax error) names its line", () => {
    const file = path.join(dir, "Pulumi.tab.yaml");
    writeFileSync(file, ["config:", "  waris-hybrid:activeSite: onprem", "\twaris-hybrid:recovery: {}", ""].join("\n"));
    expect(() => engineConfigForStack({ stack: "prod", stackFile: file })).toThrow(/Pulumi\.tab\.yaml: YAML syntax error at line 3, column 1/);
  });

  test("a directory is not a stack file", () => {
    expect(() => engineConfigForStack({ stack: "prod", stackFile: dir })).toThrow(/is a directory, not a YAML file/);
  });

  test("config: as a list is refused, naming the file", () => {
    const file = path.join(dir, "Pulumi.list.yaml");
    writeFileSync(file, "config:\n  - waris-hybrid:activeSite\n");
    expect(() => engineConfigForStack({ stack: "prod", stackFile: file })).toThrow(/Pulumi\.list\.yaml: `config:` must be a mapping/);
  });
});
