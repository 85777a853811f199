/**
 * Reads a Pulumi project file and stack file into the config the engine would hand the program.
 * `secure:` values are encrypted with a key only the Pulumi CLI has, so they become clearly fake values.
 */
import { readFileSync } from "node:fs";
// js-yaml, not the `yaml` package: @pulumi/pulumi already loads it, so parsing a stack file costs no module loading.
import { load as parse } from "js-yaml";

/** The fake value that stands in for a secret in an offline plan. */
export function fakeSecret(key: string): string {
  return `FAKE-SECRET-OFFLINE-PLAN(${key})`;
}

/** Config as the engine passes it to a program. */
export interface EngineConfig {
  /** Values keyed `<namespace>:<key>`: strings as they are, everything else JSON-encoded. */
  readonly config: Record<string, string>;
  /** Keys whose values are secrets. */
  readonly secretKeys: string[];
  /** Keys whose encrypted values were replaced by fake ones. */
  readonly fakedSecretKeys: string[];
}

/** Reads the `name` of a `Pulumi.yaml`. */
export function readProjectName(projectFile: string): string {
  const project = parse(readFileSync(projectFile, "utf8")) as { name?: unknown } | null;
  if (!project || typeof project.name !== "string") throw new Error(`${projectFile} has no project name`);
  return project.name;
}

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.keys(value).length === 1 && "secure" in value;
}

/** Replaces nested `secure:` values with fake ones; reports whether any was found. */
function fakeNested(value: unknown, key: string): { value: unknown; faked: boolean } {
  if (isSecure(value)) return { value: fakeSecret(key), faked: true };
  if (Array.isArray(value)) {
    const items = value.map((v) => fakeNested(v, key));
    return { value: items.map((i) => i.value), faked: items.some((i) => i.faked) };
  }
  if (typeof value === "object" && value !== null) {
    let faked = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const nested = fakeNested(v, key);
      out[k] = nested.value;
      faked ||= nested.faked;
    }
    return { value: out, faked };
  }
  return { value, faked: false };
}

/**
 * Reads `Pulumi.<stack>.yaml` (or any stack file) into engine config.
 *
 * @param stackFile - path of the stack file; a missing file is an empty config.
 * @param project - project name, the namespace of keys written without one.
 */
export function readStackFile(stackFile: string, project: string): EngineConfig {
  let text: string;
  try {
    text = readFileSync(stackFile, "utf8");
  } catch {
    throw new Error(`stack file ${stackFile} not found`);
  }
  const doc = (parse(text) ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const fakedSecretKeys: string[] = [];
  for (const [rawKey, rawValue] of Object.entries(doc.config ?? {})) {
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    const { value, faked } = fakeNested(rawValue, key);
    if (faked) {
      secretKeys.push(key);
      fakedSecretKeys.push(key);
    }
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { config, secretKeys, fakedSecretKeys };
}
