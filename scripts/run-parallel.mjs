// Runs npm scripts at the same time and fails if any fails: `npm test`'s static stages (type-check,
// lint, build then docs) do not depend on each other, and each is one single-threaded node process, so
// on a 2-core machine running them side by side takes about half the time of running them in a row.
// Usage: node scripts/run-parallel.mjs <script>[+<script>...] ...; scripts joined by `+` run in order.
// Each group's output is printed in one piece when it ends (not interleaved), then its time.
import { spawn } from "node:child_process";

const groups = process.argv.slice(2).map((g) => g.split("+"));
if (groups.length === 0) {
  console.error("usage: node scripts/run-parallel.mjs <script>[+<script>...] ...");
  process.exit(2);
}

/** Runs one npm script; resolves with its exit code and combined output. */
function runScript(name) {
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "-s", name], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", (e) => resolve({ code: 1, out: `${out}${e.message}\n` }));
    child.on("close", (code, signal) => resolve({ code: code ?? 1, out: signal ? `${out}killed by ${signal}\n` : out }));
  });
}

const results = await Promise.all(
  groups.map(async (group) => {
    for (const name of group) {
      const start = Date.now();
      const { code, out } = await runScript(name);
      process.stdout.write(`> ${name}: ${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${((Date.now() - start) / 1000).toFixed(1)} s\n${out}`);
      if (code !== 0) return false; // a failed step stops its group, as `&&` would
    }
    return true;
  }),
);
process.exit(results.every(Boolean) ? 0 : 1);
