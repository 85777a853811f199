/**
 * Installs a consumer project offline, from nothing but what `npm ci` of this repository put on the
 * machine.
 *
 * Why a lock file: `npm ci` fetches the abbreviated ("corgi") packuments and the tarballs and leaves
 * both in the npm cache, but `npm install` (npm 11) asks for the *full* packuments, which `npm ci` never
 * fetched; so an `npm install --offline` resolves nothing on a machine whose cache only `npm ci` filled
 * (the fresh-machine failure of issue 14). `npm ci --offline` of a lock file needs only what `npm ci`
 * fetched. The consumer's lock is therefore cut from this repository's own `package-lock.json`: the
 * closure of the consumer's dependencies, at the same places in the tree and the same versions and
 * integrities, plus the packed tarball of this package. It is what `npm install` would pick anyway,
 * since this repository's lock is where those versions were resolved.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** One `packages` entry of a lock file (v3), as npm writes it. */
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  peer?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

interface Lock {
  name?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

/** The folder that holds the package at `location` (`""` for the root's own `node_modules`). */
function holder(location: string): string | undefined {
  if (location === "") return undefined;
  const at = location.lastIndexOf("/node_modules/");
  return at < 0 ? "" : location.slice(0, at);
}

/** Where Node (and npm) find `name` from the package at `from`: the nearest `node_modules` upwards. */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let at: string | undefined = from; at !== undefined; at = holder(at)) {
    const candidate = `${at === "" ? "" : `${at}/`}node_modules/${name}`;
    if (packages[candidate]) return candidate;
  }
  return undefined;
}

/** The names a package needs installed: its dependencies, the optional ones the lock holds, and its required peers. */
function needs(packages: Record<string, LockEntry>, location: string, entry: LockEntry): string[] {
  const names = Object.keys(entry.dependencies ?? {});
  for (const name of Object.keys(entry.optionalDependencies ?? {})) if (resolveIn(packages, location, name)) names.push(name);
  for (const name of Object.keys(entry.peerDependencies ?? {})) {
    if (!entry.peerDependenciesMeta?.[name]?.optional) names.push(name);
  }
  return names;
}

/**
 * Writes `package.json` and `package-lock.json` for a consumer project in `dir` and runs `npm ci
 * --offline` there.
 *
 * @param root - this repository (its `package-lock.json` holds every version the consumer may get).
 * @param dir - the consumer project.
 * @param tarball - the packed package (`npm pack`), installed as a `file:` dependency.
 * @param dependencies - the consumer's other dependencies, name to exact version, each in the root lock.
 * @throws Error naming a dependency the root lock does not hold at that version (the consumer would
 *   need the registry for it).
 */
export function installOffline(root: string, dir: string, tarball: string, dependencies: Record<string, string>): void {
  const rootLock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as Lock;
  const own = rootLock.packages[""] as LockEntry & { name: string; version: string };
  const packed = JSON.parse(execFileSync("tar", ["-xOzf", tarball, "package/package.json"], { encoding: "utf8" })) as LockEntry & { name: string; version: string };
  const spec = `file:${path.relative(dir, tarball)}`;

  const manifest = { name: "team-program", version: "1.0.0", private: true, dependencies: { [packed.name]: spec, ...dependencies } };
  const packages: Record<string, LockEntry> = {
    "": { name: manifest.name, version: manifest.version, dependencies: manifest.dependencies },
  };
  const ownEntry: LockEntry = { version: packed.version, resolved: spec, license: packed["license"] };
  for (const field of ["dependencies", "optionalDependencies", "peerDependencies", "peerDependenciesMeta", "engines", "bin"]) {
    if (packed[field] !== undefined) ownEntry[field] = packed[field];
  }
  packages[`node_modules/${packed.name}`] = ownEntry;

  const queue: string[] = [];
  for (const [name, version] of Object.entries(dependencies)) {
    const location = `node_modules/${name}`;
    if (rootLock.packages[location]?.version !== version) {
      throw new Error(`installOffline: ${name}@${version} is not at the top of ${own.name}'s package-lock.json (it has ${rootLock.packages[location]?.version ?? "none"})`);
    }
    queue.push(location);
  }
  for (const name of needs(rootLock.packages, "", ownEntry)) {
    const location = resolveIn(rootLock.packages, "", name);
    if (!location) throw new Error(`installOffline: ${packed.name} needs ${name}, which ${own.name}'s package-lock.json does not hold`);
    queue.push(location);
  }
  while (queue.length > 0) {
    const location = queue.pop()!;
    if (packages[location]) continue;
    // In this repository the package may be a dev dependency; in the consumer it is a dependency.
    const entry: LockEntry = { ...rootLock.packages[location]! };
    delete entry.dev;
    delete entry.devOptional;
    delete entry.peer;
    packages[location] = entry;
    for (const name of needs(rootLock.packages, location, entry)) {
      const found = resolveIn(rootLock.packages, location, name);
      if (found) queue.push(found);
      else if (!entry.optionalDependencies?.[name]) throw new Error(`installOffline: ${location} needs ${name}, which the lock file does not hold`);
    }
  }

  writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  writeFileSync(path.join(dir, "package-lock.json"), JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages }, null, 2));
  // --offline: the registry is never asked; a package missing from the cache fails with ENOTCACHED.
  execFileSync("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], { cwd: dir, stdio: "pipe", timeout: 180000 });
}
