// Runs a command unless its inputs are byte for byte those of its last successful run here.
// Usage: node scripts/skip-unchanged.mjs <name> <file or folder>... -- <command> [args...]
// The key is a SHA-256 of every input file's path and content (folders walked, sorted; node_modules
// skipped) and of the command line; it is stored in node_modules/.cache/waris/<name>.sha256 only when
// the command succeeds, so a failure, an edit or a fresh clone always runs it. For checks that have no
// cache of their own and whose result depends on nothing else (`npm test`'s docs stage: typedoc).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";

const args = process.argv.slice(2);
const split = args.indexOf("--");
if (split < 2 || split === args.length - 1) {
  console.error("usage: node scripts/skip-unchanged.mjs <name> <file or folder>... -- <command> [args...]");
  process.exit(2);
}
const [name, ...inputs] = args.slice(0, split);
const command = args.slice(split + 1);

const hash = createHash("sha256").update(JSON.stringify(command));
const visit = (p) => {
  if (statSync(p).isDirectory()) {
    for (const entry of readdirSync(p).sort()) if (entry !== "node_modules") visit(path.join(p, entry));
  } else {
    hash.update(`\0${p}\0`).update(readFileSync(p));
  }
};
for (const input of inputs) {
  if (!existsSync(input)) {
    console.error(`skip-unchanged: ${input} does not exist`);
    process.exit(2);
  }
  visit(input);
}
const key = hash.digest("hex");
const stamp = path.join("node_modules", ".cache", "waris", `${name}.sha256`);
if (existsSync(stamp) && readFileSync(stamp, "utf8") === key) {
  console.log(`${name}: inputs unchanged since its last successful run (${stamp}); not run again`);
  process.exit(0);
}
const run = spawnSync(command[0], command.slice(1), { stdio: "inherit", shell: false });
if (run.status === 0) {
  mkdirSync(path.dirname(stamp), { recursive: true });
  writeFileSync(stamp, key);
}
process.exit(run.status ?? 1);
