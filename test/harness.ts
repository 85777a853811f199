/**
 * Test harness: runs the real program (`index.ts`) under the mock runtime with a stack's configuration,
 * or any code as a stack, each in a fresh module registry so a test file can run several.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { StackEngineConfig } from "../plan/offline-plan";
import type { Recording } from "../plan/mock-runtime";

/** What a run registered and returned. */
export interface Run {
  /** Every registration. */
  readonly recording: Recording;
  /** Stack outputs, secrets unwrapped. */
  readonly outputs: Record<string, unknown>;
  /** The config the run was given. */
  readonly engine: StackEngineConfig;
  /** What the program threw, if it did; the recording still holds what it registered before. */
  readonly error?: unknown;
}

// Every isolated copy of the SDK adds its own process exit listener.
process.setMaxListeners(100);

/** Engine config of a stack file of this repo (with the fake secrets the plan uses). */
export function stackConfig(stack: string): StackEngineConfig {
  // Loaded lazily so that it comes from the same registry as the run.
  const { engineConfigForStack } = require("../plan/offline-plan") as typeof import("../plan/offline-plan");
  return engineConfigForStack({ stack });
}

/**
 * Runs `body` as a Pulumi stack under mocks, in an isolated module registry. Never throws: a failure
 * is returned in `error`.
 *
 * @param engine - config to run with.
 * @param body - loads the program or builds components; receives the isolated `@pulumi/pulumi`.
 */
export async function runIsolated(
  stack: string,
  engine: StackEngineConfig,
  body: () => Promise<Record<string, unknown> | void>,
): Promise<Run> {
  let run: Run | undefined;
  await jest.isolateModulesAsync(async () => {
    const { startRecording, runAsStack } = require("../plan/mock-runtime") as typeof import("../plan/mock-runtime");
    const recording = await startRecording({ project: engine.project, stack, config: engine.config, secretKeys: engine.secretKeys });
    try {
      run = { recording, outputs: await runAsStack(body), engine };
    } catch (error) {
      run = { recording, outputs: {}, engine, error };
    }
  });
  return run!;
}

/** Runs this repository's `index.ts` with a stack's configuration, optionally edited first. */
export async function runProgram(stack: string, edit?: (config: Record<string, string>) => void): Promise<Run> {
  const engine = stackConfig(stack);
  const config = { ...engine.config };
  edit?.(config);
  return cachedRun(`program ${stack} ${JSON.stringify(config)}`, () => runIsolated(stack, { ...engine, config }, async () => require("../index") as Record<string, unknown>));
}

/**
 * Runs `index.ts` with a stack's configuration without its `vault` setting (keys in the Pulumi state),
 * with fake values for the secrets that then become stack secrets; `edit` runs after (so it can remove
 * one of them).
 */
export async function runProgramWithoutVault(stack: string, edit?: (config: Record<string, string>) => void): Promise<Run> {
  const engine = stackConfig(stack);
  const config = { ...engine.config };
  const secretKeys = [...engine.secretKeys];
  delete config["waris-hybrid:vault"];
  const { fakeRequiredSecrets } = require("../plan/offline-plan") as typeof import("../plan/offline-plan");
  fakeRequiredSecrets(config, secretKeys, stack, false);
  edit?.(config);
  return cachedRun(`program ${stack} ${JSON.stringify(config)} ${secretKeys.join(",")}`, () => runIsolated(stack, { ...engine, config, secretKeys }, async () => require("../index") as Record<string, unknown>));
}

/**
 * Memoizes a deterministic run on disk, shared by the test workers of one `npm test`: the same program
 * with the same configuration registers the same resources, and loading the SDK and the program again in
 * a fresh module registry is most of what a run costs. The key includes a hash of every file that can
 * change a run (the program, components, stack and plan code, stack files, the lock file), so an edit
 * never reads an old result. Runs that failed are not stored (they fail before registering anything and
 * are cheap).
 *
 * @param key - what the run depends on beyond the sources (stack, configuration, situation).
 */
export async function cachedRun(key: string, compute: () => Promise<Run>): Promise<Run> {
  const file = path.join(runCacheDir(), `${createHash("sha256").update(key).digest("hex").slice(0, 32)}.json`);
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, "utf8")) as { recording: Recording; outputs: Record<string, unknown>; engine: StackEngineConfig };
    return stored;
  }
  const run = await compute();
  if (run.error === undefined) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ recording: { resources: run.recording.resources, stackOutputs: run.recording.stackOutputs }, outputs: run.outputs, engine: run.engine }));
    renameSync(tmp, file);
  }
  return run;
}

let cacheDir: string | undefined;

/** The cache folder of this version of the sources (see {@link cachedRun}). */
function runCacheDir(): string {
  if (!cacheDir) {
    const root = path.resolve(__dirname, "..");
    const hash = createHash("sha256");
    const visit = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) visit(full);
        else if (/\.(ts|json|yaml)$/.test(entry.name)) hash.update(full).update(readFileSync(full));
      }
    };
    for (const dir of ["components", "stack", "plan", "policy"]) visit(path.join(root, dir));
    for (const file of ["index.ts", "package-lock.json", "Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.dev.yaml", "test/harness.ts"]) hash.update(file).update(readFileSync(path.join(root, file)));
    cacheDir = path.join(tmpdir(), `waris-test-runs-${hash.digest("hex").slice(0, 16)}`);
    mkdirSync(cacheDir, { recursive: true });
  }
  return cacheDir;
}

/** Modules a test builds resources with, all from the run's isolated registry. */
export interface BuildKit {
  /** This library. */
  readonly lib: typeof import("../components");
  /** `@pulumi/kubernetes`. */
  readonly k8s: typeof import("@pulumi/kubernetes");
  /** `@pulumi/pulumi`. */
  readonly pulumi: typeof import("@pulumi/pulumi");
}

/** Builds resources under mocks and returns them as the engine would hand them to a policy pack. */
export async function analyzerResourcesOf(build: (kit: BuildKit) => void): Promise<import("../plan/policy-runner").AnalyzerResource[]> {
  const run = await runIsolated("test", stackConfig("prod"), async () => {
    build({ lib: require("../components"), k8s: require("@pulumi/kubernetes"), pulumi: require("@pulumi/pulumi") });
  });
  if (run.error) throw run.error;
  const { toAnalyzerResources } = require("../plan/offline-plan") as typeof import("../plan/offline-plan");
  return toAnalyzerResources(run.recording.resources);
}

/** Runs the whole pack (schema defaults applied) on resources. */
export async function evaluatePack(
  resources: readonly import("../plan/policy-runner").AnalyzerResource[],
  config?: import("../plan/policy-runner").PackConfig,
): Promise<import("../plan/policy-runner").PolicyDiagnostic[]> {
  const { runPolicies } = require("../plan/policy-runner") as typeof import("../plan/policy-runner");
  const { warisPolicies } = require("../policy/policies") as typeof import("../policy/policies");
  const { policyPackIdentity } = require("../plan/offline-plan") as typeof import("../plan/offline-plan");
  return runPolicies(policyPackIdentity(), warisPolicies, resources, config);
}

/** Every resource of a type that a run registered. */
export function resourcesOfType(run: Run, type: string): import("../plan/mock-runtime").RecordedResource[] {
  return run.recording.resources.filter((r) => r.type === type);
}

/** The resource of a type and name that a run registered; throws, naming it, when there is none. */
export function resource(run: Run, type: string, name: string): import("../plan/mock-runtime").RecordedResource {
  const found = run.recording.resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name} was registered`);
  return found;
}

/** A setting's value as a test edits it: loosely typed, since tests put wrong values in on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EditableSetting = Record<string, any>;

/** Edits one object setting (`waris-hybrid:<key>`) of engine config in place: parse, change, write back. */
export function editSetting(config: Record<string, string>, key: string, edit: (value: EditableSetting) => void): void {
  const full = `waris-hybrid:${key}`;
  const value = JSON.parse(config[full] ?? "{}") as EditableSetting;
  edit(value);
  config[full] = JSON.stringify(value);
}

/** A promotion token shaped like CloudNativePG's demotion token (the one offline plans use). */
export { PLANNING_PROMOTION_TOKEN as SAMPLE_PROMOTION_TOKEN } from "../components/failover";
