/**
 * The pack on other teams' programs (test/fixtures/corpus/<program>: a Pulumi project, its stack file
 * and expected.json giving every resource's verdict: "compliant", or the policy that must deny it; a
 * resource is keyed by its name, or by "<type> <name>" when several of its program's resources share it).
 * Each program runs in-process under the mocks, with its stack file's config and the default providers
 * the engine would make from it; recall and false-positive rate are computed over the whole corpus.
 */
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { cachedRun, evaluatePack, runIsolated } from "./harness";
import type { PolicyDiagnostic } from "../plan/policy-runner";

const CORPUS = path.join(__dirname, "fixtures", "corpus");
const programs = readdirSync(CORPUS).sort();

interface Verdicts {
  readonly program: string;
  readonly expected: Record<string, string>;
  /** Resource name → mandatory policies that denied it. */
  readonly denied: Map<string, Set<string>>;
  readonly names: string[];
  readonly diagnostics: PolicyDiagnostic[];
}

async function verdicts(program: string): Promise<Verdicts> {
  const dir = path.join(CORPUS, program);
  const { engineConfigForStack, toAnalyzerResources, providerSdkVersions } = require("../plan/offline-plan") as typeof import("../plan/offline-plan");
  const engine = engineConfigForStack({ projectDir: dir, stack: "dev" });
  const source = readFileSync(path.join(dir, "index.ts"), "utf8");
  const run = await cachedRun(`corpus ${program} ${source} ${JSON.stringify(engine.config)}`, () => runIsolated("dev", engine, async () => require(path.join(dir, "index.ts")) as Record<string, unknown>));
  if (run.error) throw run.error;
  const resources = toAnalyzerResources(run.recording.resources, { project: engine.project, stack: "dev", config: engine.config, versions: providerSdkVersions(dir) });
  const diagnostics = await evaluatePack(resources);
  // Judged: custom resources and the Sites (their object store is checked); keyed by name, or by
  // "<type> <name>" where several types share a name.
  const judged = run.recording.resources.filter((r) => r.custom || r.type === "waris:index:Site");
  const count = new Map<string, number>();
  for (const r of judged) count.set(r.name, (count.get(r.name) ?? 0) + 1);
  const byUrn = new Map(judged.map((r) => [r.urn, count.get(r.name)! > 1 ? `${r.type} ${r.name}` : r.name]));
  const denied = new Map<string, Set<string>>();
  for (const d of diagnostics) {
    if (d.enforcementLevel !== "mandatory" || !d.urn) continue;
    const name = byUrn.get(d.urn) ?? d.urn;
    denied.set(name, (denied.get(name) ?? new Set()).add(d.policyName));
  }
  const names = [...byUrn.values()];
  return { program, expected: JSON.parse(readFileSync(path.join(dir, "expected.json"), "utf8")) as Record<string, string>, denied, names, diagnostics };
}

// One at a time: each run needs its own isolated module registry, and those cannot overlap.
const all = (async () => {
  const out: Verdicts[] = [];
  for (const p of programs) out.push(await verdicts(p));
  return out;
})();

describe("other teams' programs (test/fixtures/corpus)", () => {
  test.each(programs)("%s: every resource gets its expected verdict", async (program) => {
    const v = (await all).find((x) => x.program === program)!;
    expect(v.names.sort()).toEqual(Object.keys(v.expected).sort());
    const got = Object.fromEntries(v.names.map((n) => [n, v.denied.has(n) ? [...v.denied.get(n)!].sort().join(",") : "compliant"]));
    const want = Object.fromEntries(v.names.map((n) => [n, v.expected[n] === "compliant" ? "compliant" : expect.stringContaining(v.expected[n]!)]));
    expect(got).toEqual(want);
  });

  test("recall 100 % and no false positive on the corpus", async () => {
    let violating = 0, caught = 0, compliant = 0, denied = 0;
    for (const v of await all) {
      for (const [name, verdict] of Object.entries(v.expected)) {
        if (verdict === "compliant") {
          compliant++;
          if (v.denied.has(name)) denied++;
        } else {
          violating++;
          if (v.denied.get(name)?.has(verdict)) caught++;
        }
      }
    }
    process.stdout.write(`corpus: ${programs.length} programs; recall ${caught}/${violating}; false positives ${denied}/${compliant}\n`);
    expect({ caught, denied }).toEqual({ caught: violating, denied: 0 });
  });
});
