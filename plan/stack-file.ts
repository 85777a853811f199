/**
 * Reads a Pulumi project file and stack file into the config the engine would hand the program.
 * `secure:` values are encrypted with a key only the Pulumi CLI has, so they become clearly fake values.
 */
import { readFileSync, statSync } from "node:fs";
// js-yaml, not the `yaml` package: @pulumi/pulumi already loads it, so parsing a stack file costs no module loading.
import { YAMLException, load } from "js-yaml";

/**
 * A project or stack file that cannot be read: missing, a directory, not YAML, or not shaped like a
 * Pulumi file. The message names the file (and the line and column of a YAML error); the plan exits 2.
 */
export class StackFileError extends Error {
  /** The file as given. */
  readonly file: string;

  /**
   * @param file - path as given.
   * @param problem - what is wrong, without the file name.
   */
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "StackFileError";
    this.file = file;
  }
}

/**
 * Reads a text file given on the command line. Throws {@link StackFileError} when it is missing, a
 * directory, or unreadable.
 *
 * @param file - path as given.
 * @param example - what the file should be, for the message about a directory, e.g. `Pulumi.prod.yaml`.
 */
export function readTextFile(file: string, example = "Pulumi.prod.yaml"): string {
  try {
    if (statSync(file).isDirectory()) throw new StackFileError(file, `is a directory, not a ${example.endsWith(".json") ? "JSON" : "YAML"} file; give the path of the file itself (e.g. ${example})`);
    return readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof StackFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new StackFileError(file, code === "ENOENT" ? "not found" : `cannot be read (${code ?? (e as Error).message})`);
  }
}

/**
 * Reads and parses a YAML file. Throws {@link StackFileError}: not found, a directory, or a YAML error
 * with its line, column and the offending lines.
 */
export function readYamlFile(file: string): unknown {
  const text = readTextFile(file);
  try {
    return load(text, { filename: file });
  } catch (e) {
    if (!(e instanceof YAMLException)) throw e;
    const where = e.mark ? `line ${e.mark.line + 1}, column ${e.mark.column + 1}: ` : "";
    throw new StackFileError(file, `YAML syntax error at ${where}${e.reason}${e.mark?.snippet ? `\n${e.mark.snippet}` : ""}`);
  }
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

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
  const project = readYamlFile(projectFile);
  if (!isMapping(project) || typeof project["name"] !== "string") throw new StackFileError(projectFile, "has no project name");
  return project["name"];
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
 * @param stackFile - path of the stack file.
 * @param project - project name, the namespace of keys written without one.
 * @throws {@link StackFileError} when the file is missing, a directory, not YAML, or its `config` is not a mapping.
 */
export function readStackFile(stackFile: string, project: string): EngineConfig {
  const doc = readYamlFile(stackFile) ?? {};
  if (!isMapping(doc)) throw new StackFileError(stackFile, "is not a Pulumi stack file: its top level must be a mapping with a `config:` section");
  const section = doc["config"] ?? {};
  if (!isMapping(section)) throw new StackFileError(stackFile, "`config:` must be a mapping of keys (`waris-hybrid:activeSite: onprem`), not a list or a value");
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const fakedSecretKeys: string[] = [];
  for (const [rawKey, rawValue] of Object.entries(section)) {
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

/**
 * Refuses a program whose packages are not installed (the mocks go into the program's own
 * `@pulumi/pulumi`), before any SDK loads: a clear "run npm install in <dir>" instead of a stack trace.
 *
 * @param projectDir - the program's directory.
 * @throws StackFileError when `@pulumi/pulumi` does not resolve from there.
 */
export function checkProgramInstalled(projectDir: string): void {
  try {
    require.resolve("@pulumi/pulumi/package.json", { paths: [projectDir] });
  } catch {
    throw new StackFileError(`--program ${projectDir}`, `its packages are not installed (@pulumi/pulumi does not resolve from there); run npm install in ${projectDir}`);
  }
}
