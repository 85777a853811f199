/**
 * The offline plan: evaluates a Pulumi program under the mock runtime with a stack's configuration and
 * reports what it would create. No cloud account, no Pulumi CLI.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { POLICY_PACK_NAME, warisPolicies } from "../policy/policies";
import { PROJECT, SETTING_KEYS, StackConfigError, StackSettings, parseStackSettings, requiredSecrets } from "../stack/config";
import { RecordedResource, runAsStack, startRecording } from "./mock-runtime";
import { DEFAULT_PROVIDER_PACKAGES, DefaultProviderContext, withDefaultProviders } from "./default-providers";
import { AnalyzerResource, PackConfig, runPolicies } from "./policy-runner";
import { Plan, buildPlan } from "./report";
import { EngineConfig, StackFileError, checkProgramInstalled, fakeSecret, readProjectName, readStackFile, readYamlFile } from "./stack-file";

/** What to plan. */
export interface PlanOptions {
  /** Directory holding `Pulumi.yaml` and the stack files. Default: this repository. */
  readonly projectDir?: string;
  /** Stack name. */
  readonly stack: string;
  /** Stack file; default `<projectDir>/Pulumi.<stack>.yaml`. */
  readonly stackFile?: string;
  /** Program directory or entry file; default this repository's `index.ts`. */
  readonly program?: string;
  /** Policy config per policy name (thresholds, enforcement levels); defaults from each policy's schema. */
  readonly policyConfig?: PackConfig;
  /**
   * Invalid settings of this project's program: when true, fake no secrets and leave them for the
   * program itself to report (tests that count what it registers first); default false, they throw here,
   * before the program is loaded.
   */
  readonly lenient?: boolean;
}

/** The repository root (this file lives in `plan/`). */
export const REPO_ROOT = path.resolve(__dirname, "..");

/**
 * For this project's own program, the secrets its settings require but the stack file cannot hold in
 * clear text get fake values, so the plan runs without the CLI's key. Invalid settings throw the
 * program's own {@link StackConfigError}; when `lenient`, they fake nothing and are left to the program.
 */
export function fakeRequiredSecrets(config: Record<string, string>, secretKeys: string[], stack: string, lenient: boolean): string[] {
  const prefix = `${PROJECT}:`;
  // Only the settings decide which secrets are needed; anything else (typos included) is left to the
  // program's own validation, which reports it with the rest.
  const settings: Record<string, string> = {};
  for (const key of SETTING_KEYS) {
    const value = config[prefix + key];
    if (value !== undefined) settings[key] = value;
  }
  let parsed: StackSettings;
  try {
    parsed = parseStackSettings(settings, stack);
  } catch (e) {
    if (lenient && e instanceof StackConfigError) return [];
    throw e;
  }
  const faked: string[] = [];
  for (const need of requiredSecrets(parsed, stack)) {
    const key = prefix + need.key;
    if (config[key] === undefined) {
      config[key] = fakeSecret(key);
      secretKeys.push(key);
      faked.push(key);
    }
  }
  return faked;
}

/** The engine config a stack file gives this project's program, with the fake secrets it needs. */
export interface StackEngineConfig extends EngineConfig {
  /** Project name. */
  readonly project: string;
}

/**
 * Reads the project and stack files into engine config; for this project's own program, required secrets
 * missing from the file get fake values. Throws a `StackFileError` when a file cannot be read or parsed,
 * and a {@link StackConfigError} on invalid settings unless `lenient`.
 */
export function engineConfigForStack(options: PlanOptions): StackEngineConfig {
  const projectDir = path.resolve(options.projectDir ?? REPO_ROOT);
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  const project = existsSync(projectFile) ? readProjectName(projectFile) : path.basename(projectDir);
  const stackFile = options.stackFile ?? path.join(projectDir, `Pulumi.${options.stack}.yaml`);
  const engine = readStackFile(stackFile, project);
  const config = { ...engine.config };
  const secretKeys = [...engine.secretKeys];
  const fakedSecretKeys = [...engine.fakedSecretKeys];
  if (project === PROJECT) fakedSecretKeys.push(...fakeRequiredSecrets(config, secretKeys, options.stack, options.lenient ?? false));
  return { project, config, secretKeys, fakedSecretKeys };
}

/** Where a program is: its project directory and entry file. */
export interface ProgramLocation {
  /** Directory of `Pulumi.yaml` (or of the entry file when there is none). */
  readonly projectDir: string;
  /** Entry file to load. */
  readonly entry: string;
}

/**
 * Resolves `--program`: a directory (its `Pulumi.yaml` `main`, else `index.ts`/`index.js`) or an entry file.
 * Default: this repository's `index.ts`.
 */
export function locateProgram(program?: string): ProgramLocation {
  if (program === undefined) return { projectDir: REPO_ROOT, entry: path.join(REPO_ROOT, "index.ts") };
  const target = path.resolve(program);
  if (!existsSync(target)) throw new StackFileError(`--program ${program}`, "no such file or directory");
  if (!statSync(target).isDirectory()) return { projectDir: path.dirname(target), entry: target };
  let main: string | undefined;
  const projectFile = path.join(target, "Pulumi.yaml");
  if (existsSync(projectFile)) {
    const parsed = readYamlFile(projectFile) as { main?: unknown } | null;
    if (typeof parsed?.main === "string") main = path.resolve(target, parsed.main);
  }
  const candidates = main ? [main, path.join(main, "index.ts"), path.join(main, "index.js")] : [path.join(target, "index.ts"), path.join(target, "index.js")];
  const entry = candidates.find((c) => existsSync(c) && statSync(c).isFile());
  if (!entry) throw new StackFileError(`--program ${program}`, `found no entry file (tried ${candidates.join(", ")})`);
  return { projectDir: target, entry };
}

/**
 * The recorded registrations as the engine would send them to a policy pack: parents, dependencies,
 * property dependencies and providers; with `defaults`, resources without an explicit provider get the
 * default provider the engine would make from the stack's config (see plan/default-providers.ts).
 */
export function toAnalyzerResources(resources: readonly RecordedResource[], defaults?: DefaultProviderContext): AnalyzerResource[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const analyzed = resources.map((r): AnalyzerResource => {
    const provider = r.provider ? byUrn.get(r.provider) : undefined;
    return {
      urn: r.urn,
      type: r.type,
      name: r.name,
      properties: r.serialized,
      parent: r.parent,
      dependencies: r.dependencies,
      propertyDependencies: r.propertyDependencies,
      provider: provider ? { urn: provider.urn, type: provider.type, name: provider.name, properties: provider.serialized } : undefined,
    };
  });
  return defaults ? withDefaultProviders(analyzed, (r) => byUrn.get(r.urn)?.custom ?? true, defaults) : analyzed;
}

/** Versions of the provider SDKs a program resolves, for its default providers' names. */
export function providerSdkVersions(programDir: string): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const pkg of DEFAULT_PROVIDER_PACKAGES) {
    try {
      const file = require.resolve(`@pulumi/${pkg}/package.json`, { paths: [programDir] });
      versions[pkg] = (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
    } catch {
      // Not installed: the program does not use this provider.
    }
  }
  return versions;
}

/** The policy pack's name, version and default enforcement, as `policy/index.ts` declares them. */
export function policyPackIdentity(): { name: string; version: string; enforcementLevel: "mandatory" } {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "policy", "package.json"), "utf8")) as { version: string };
  return { name: POLICY_PACK_NAME, version: pkg.version, enforcementLevel: "mandatory" };
}

/**
 * Runs the plan and the policy pack on it. Throws what the program throws (a {@link StackConfigError}
 * for a broken configuration). Call once per process: the Pulumi runtime's state is global.
 */
export async function runOfflinePlan(options: PlanOptions): Promise<Plan> {
  const location = locateProgram(options.program);
  if (options.program !== undefined) checkProgramInstalled(location.projectDir);
  const projectDir = options.projectDir ?? location.projectDir;
  const engine = engineConfigForStack({ ...options, projectDir });
  // The program's own copy of the SDK is the one that must run under the mocks.
  const recording = await startRecording({ project: engine.project, stack: options.stack, config: engine.config, secretKeys: engine.secretKeys, programDir: projectDir });
  await runAsStack(async () => (await import(location.entry)) as Record<string, unknown>);
  const diagnostics = await runPolicies(
    policyPackIdentity(),
    warisPolicies,
    toAnalyzerResources(recording.resources, { project: engine.project, stack: options.stack, config: engine.config, versions: providerSdkVersions(projectDir) }),
    options.policyConfig,
  );
  return buildPlan(engine.project, options.stack, recording.resources, recording.stackOutputs, engine.fakedSecretKeys, diagnostics);
}
