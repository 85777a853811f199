/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // swc strips types without checking them; `npm run typecheck` does the checking once for the whole tree.
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }] },
  moduleFileExtensions: ["ts", "js", "json"],
  testTimeout: 60000,
  // Jest's default (cores - 1) is one worker on the 2-core build machines; much of the suite waits on
  // child processes (tsx, npm, tsc), so two workers finish it far sooner.
  maxWorkers: 2,
};
