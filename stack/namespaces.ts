/**
 * Which config namespaces a stack file of this program may use: the project's own, `pulumi:`, and one per
 * Pulumi provider package the program depends on (`@pulumi/aws` → `aws:`). A key in any other namespace
 * is read by nobody, so a misspelt project name (`waris-hybird:redis`) would silently drop a setting.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";

/** Packages of `@pulumi/` that are not providers (they read no `<name>:` config). */
const NOT_PROVIDERS: readonly string[] = ["pulumi", "policy"];

/**
 * The provider namespaces, from the `@pulumi/*` dependencies in this repository's `package.json` (one
 * definition: adding a provider package admits its namespace).
 */
export function providerNamespaces(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
  return Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })
    .filter((name) => name.startsWith("@pulumi/"))
    .map((name) => name.slice("@pulumi/".length))
    .filter((name) => !NOT_PROVIDERS.includes(name))
    // Optional peers (the cloud SDKs) and dependencies alike, in one stable order.
    .sort();
}

/** Edit distance (insertions, deletions, substitutions) between two short strings. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** A config key in a namespace nobody reads. */
export interface UnknownNamespaceKey {
  /** The full key, e.g. `waris-hybird:redis`. */
  readonly key: string;
  /** Its namespace (before the first `:`). */
  readonly namespace: string;
  /** The key part after the namespace, e.g. `redis`. */
  readonly name: string;
  /** The known namespace it is probably a misspelling of (edit distance ≤ 2), if any. */
  readonly suggestion?: string;
}

/**
 * The keys whose namespace is not `project`, `pulumi` or a provider's.
 *
 * @param keys - full config keys (`<namespace>:<key>`), as the engine passes them.
 * @param project - the project name (its namespace).
 */
export function unknownNamespaceKeys(keys: Iterable<string>, project: string): UnknownNamespaceKey[] {
  const known = [project, "pulumi", ...providerNamespaces()];
  const unknown: UnknownNamespaceKey[] = [];
  for (const key of keys) {
    const colon = key.indexOf(":");
    const namespace = colon < 0 ? "" : key.slice(0, colon);
    if (known.includes(namespace)) continue;
    const nearest = known.map((k) => ({ k, d: distance(namespace, k) })).sort((x, y) => x.d - y.d)[0];
    unknown.push({ key, namespace, name: key.slice(colon + 1), suggestion: nearest && nearest.d <= 2 ? nearest.k : undefined });
  }
  return unknown;
}

/** The namespaces a stack of `project` may use, for messages. */
export function knownNamespaces(project: string): string[] {
  return [project, "pulumi", ...providerNamespaces()];
}
