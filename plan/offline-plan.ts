/**
 * The offline plan: evaluates a Pulumi program under the mock runtime with a stack's configuration and
 * reports what it would create. No cloud account, no Pulumi CLI.
 */
import * as path from "node:path";
import { PROJECT, SETTING_KEYS, parseStackSettings, requiredSecrets } from "../stack/config";
import { runAsStack, startRecording } from "./mock-runtime";
import { Plan, buildPlan } from "./report";
import { EngineConfig, fakeSecret, readProjectName, readStackFile } from "./stack-file";

/** What to plan. */
export interface PlanOptions {
  /** Directory holding `Pulumi.yaml` and the stack files. Default: this repository. */
  readonly projectDir?: string;
  /** Stack name. */
  readonly stack: string;
  /** Stack file; default `<projectDir>/Pulumi.<stack>.yaml`. */
  readonly stackFile?: string;
  /** Program entry file; default `<projectDir>/index.ts`. */
  readonly program?: string;
}

/** The repository root (this file lives in `plan/`). */
export const REPO_ROOT = path.resolve(__dirname, "..");

/**
 * For this project's own program, the secrets its settings require but the stack file cannot hold in
 * clear text get fake values, so the plan runs without the CLI's key. Invalid settings throw here with
 * the validation message, before the program is loaded.
 */
function fakeRequiredSecrets(config: Record<string, string>, secretKeys: string[], stack: string): string[] {
  const prefix = `${PROJECT}:`;
  // Only the settings decide which secrets are needed; anything else (typos included) is left to the
  // program's own validation, which reports it with the rest.
  const settings: Record<string, string> = {};
  for (const key of SETTING_KEYS) {
    const value = config[prefix + key];
    if (value !== undefined) settings[key] = value;
  }
  const faked: string[] = [];
  for (const need of requiredSecrets(parseStackSettings(settings, stack), stack)) {
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
 * missing from the file get fake values. Throws a {@link StackConfigError} on invalid settings.
 */
export function engineConfigForStack(options: PlanOptions): StackEngineConfig {
  const projectDir = path.resolve(options.projectDir ?? REPO_ROOT);
  const project = readProjectName(path.join(projectDir, "Pulumi.yaml"));
  const stackFile = options.stackFile ?? path.join(projectDir, `Pulumi.${options.stack}.yaml`);
  const engine = readStackFile(stackFile, project);
  const config = { ...engine.config };
  const secretKeys = [...engine.secretKeys];
  const fakedSecretKeys = [...engine.fakedSecretKeys];
  if (project === PROJECT) fakedSecretKeys.push(...fakeRequiredSecrets(config, secretKeys, options.stack));
  return { project, config, secretKeys, fakedSecretKeys };
}

/**
 * Runs the plan. Throws what the program throws (a {@link StackConfigError} for a broken configuration).
 * Call once per process: the Pulumi runtime's state is global.
 */
export async function runOfflinePlan(options: PlanOptions): Promise<Plan> {
  const engine = engineConfigForStack(options);
  const recording = await startRecording({ project: engine.project, stack: options.stack, config: engine.config, secretKeys: engine.secretKeys });
  const program = path.resolve(options.program ?? path.join(options.projectDir ?? REPO_ROOT, "index.ts"));
  await runAsStack(async () => (await import(program)) as Record<string, unknown>);
  return buildPlan(engine.project, options.stack, recording.resources, recording.stackOutputs, engine.fakedSecretKeys);
}
