/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // swc strips types without checking them; `npm run typecheck` does the checking once for the whole tree.
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }] },
  moduleFileExtensions: ["ts", "js", "json"],
  // Two packages @pulumi/pulumi loads and uses only to serialize functions (never under mocks) are
  // loaded on first use instead: about half the cost of loading the SDK, paid in every test file and
  // isolated run (plan/lazy-require.ts).
  moduleNameMapper: { "^typescript$": "<rootDir>/test/lazy/typescript.js", "^@npmcli/arborist$": "<rootDir>/test/lazy/npmcli-arborist.js" },
  testTimeout: 60000,
  // Jest's default (cores - 1) is one worker on the 2-core build machines; much of the suite waits on
  // child processes (tsx, npm, tsc), so two workers finish it far sooner.
  maxWorkers: 2,
  // The "worker failed to exit gracefully" warning was no leaked handle: traced in every worker (a
  // --require probe logging Node's active resources and ref'd timers when the worker is told to end),
  // nothing but its stdio pipes was left, and its 'exit' came within 2 ms. The operating system then
  // took ~0.9 s more to tear the process down (~950 MiB resident after 47 files of isolated SDK copies,
  // on a loaded machine), past jest's 500 ms default; the wait ends as soon as the worker is gone.
  workerGracefulExitTimeout: 5000,
};
