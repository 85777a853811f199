import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { runIsolated, stackConfig } from "./harness";

const root = path.resolve(__dirname, "..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  name: string;
  main: string;
  types: string;
  exports: Record<string, { types: string; default: string } | string>;
  files: string[];
  bin: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe("the npm package", () => {
  test("points only at the built library", () => {
    expect(pkg.name).toBe("@waris/hybrid-infra");
    expect(pkg.main).toBe("dist/index.js");
    expect(pkg.types).toBe("dist/index.d.ts");
    expect(pkg.exports["."]).toEqual({ types: "./dist/index.d.ts", default: "./dist/index.js" });
    for (const pattern of pkg.files) expect(pattern).toMatch(/^(dist\/|policy\/(PulumiPolicy\.yaml|package\.json|index\.js|policies\.js)$|bin\/waris-plan\.js$|README\.md$|CHANGELOG\.md$)/);
    expect(pkg.bin).toEqual({ "waris-plan": "bin/waris-plan.js" });
  });

  test("the cloud SDKs are optional peers, in step with the versions this repository tests", () => {
    const { OPTIONAL_SDKS } = require("../components/optional-sdk") as typeof import("../components/optional-sdk");
    for (const [sdk, range] of Object.entries(OPTIONAL_SDKS)) {
      expect(pkg.peerDependencies[sdk]).toBe(range);
      expect(pkg.peerDependenciesMeta[sdk]).toEqual({ optional: true });
      expect(pkg.dependencies[sdk]).toBeUndefined();
      expect(range).toBe(`^${pkg.devDependencies[sdk]}`);
    }
    // Nothing in the library loads them at import time: only through loadOptionalSdk.
    for (const file of readdirSync(path.join(root, "components"))) {
      const text = readFileSync(path.join(root, "components", file), "utf8");
      expect([file, /^import [^;]*from "@pulumi\/(aws|azure-native|digitalocean)/m.test(text)]).toEqual([file, false]);
    }
  });

  test("the build produced JavaScript and types for every component module", () => {
    // `npm test` runs `npm run build` before jest.
    for (const file of ["index", "site", "residency", "labels", "errors"]) {
      expect(existsSync(path.join(root, "dist", `${file}.js`))).toBe(true);
      expect(existsSync(path.join(root, "dist", `${file}.d.ts`))).toBe(true);
    }
    expect(existsSync(path.join(root, "dist", "index.ts"))).toBe(false);
  });

  test("importing the package registers no resource and does not run the program", async () => {
    const run = await runIsolated("prod", stackConfig("prod"), async () => {
      const lib = require(path.join(root, pkg.main)) as Record<string, unknown>;
      expect(typeof lib["Site"]).toBe("function");
      expect(lib["activeSite"]).toBeUndefined();
    });
    expect(run.error).toBeUndefined();
    expect(run.recording.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});
