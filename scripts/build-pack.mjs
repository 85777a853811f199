// Builds what the package ships besides the library (`dist/`, built by tsc):
// - policy/policies.js: the pack's policies, bundled with the fact modules of components/ they import;
// - policy/index.js: the CrossGuard pack (`new PolicyPack`), which `pulumi preview --policy-pack
//   node_modules/@waris/hybrid-infra/policy` loads through policy/package.json's `main`;
// - bin/waris-plan.js: the offline plan (plan/bin.ts), which runs the same policy/policies.js.
// @pulumi/* stay external: the pack and the bin must use the consumer's single copy of the SDKs.
// esbuild (already in the lock file as tsx's dependency) bundles; tsc alone would lay the pack out
// under dist/ beside a second copy of components/.
import { build } from "esbuild";

const common = { bundle: true, platform: "node", format: "cjs", target: "node20", external: ["@pulumi/*"], logLevel: "warning", legalComments: "none" };
// The pack and the bin load policy/policies.js at run time instead of carrying their own copy.
const policiesExternal = (to) => ({
  name: "policies-external",
  setup(b) {
    b.onResolve({ filter: /(^|\/)policy\/policies$|^\.\/policies$/ }, () => ({ path: to, external: true }));
  },
});

await build({ ...common, entryPoints: ["policy/policies.ts"], outfile: "policy/policies.js" });
await build({ ...common, entryPoints: ["policy/index.ts"], outfile: "policy/index.js", plugins: [policiesExternal("./policies.js")] });
await build({
  ...common,
  entryPoints: ["plan/bin.ts"],
  outfile: "bin/waris-plan.js",
  banner: { js: "#!/usr/bin/env node" },
  plugins: [policiesExternal("../policy/policies.js")],
  // The program is loaded with require(), where the TypeScript loader the bin registers applies.
  supported: { "dynamic-import": false },
});
