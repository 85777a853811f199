/**
 * The offline plan's recovery table (plan/report.ts) for every shape of the `recovery` stack output a
 * program exports: this program's list of reports, one team's single report (the README's consumer
 * program and examples/backup-schedule.ts export `schedule.report`), and a map of reports by dataset.
 */
import type { RecoveryReport } from "../components/backup-schedule";
import { renderPlanText, type Plan } from "../plan/report";

const report = (dataset: string): RecoveryReport => ({
  dataset,
  kind: "postgresql",
  rpoMinutes: 5,
  rtoMinutes: 15,
  retention: "30 days",
  method: "weekly full (0 2 * * 0) + continuous WAL archive (5 min)",
  schedule: "0 2 * * 0",
  location: `s3://${dataset}-backups/ on dr`,
});

const planWith = (recovery: unknown): Plan => ({
  project: "team-program",
  stack: "dev",
  resources: [],
  countsByType: {},
  outputs: { recovery },
  fakedSecretKeys: [],
  policyDiagnostics: [],
  mandatoryViolations: 0,
});

/** The recovery table's lines (header first), or none. */
function table(text: string): string[] {
  const lines = text.split("\n");
  const start = lines.indexOf("Recovery (from the stack output `recovery`):");
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.trim() === "");
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

test.each([
  ["one report (a team's single dataset)", report("team-db"), ["team-db"]],
  ["a map of reports by dataset", { db: report("team-db"), vectors: report("team-vectors") }, ["team-db", "team-vectors"]],
  ["a list of reports (this program)", [report("team-db"), report("team-vectors")], ["team-db", "team-vectors"]],
])("the recovery table is printed for %s", (_shape, recovery, datasets) => {
  const rows = table(renderPlanText(planWith(recovery)));
  expect(rows[0]).toMatch(/^ {2}dataset +kind +RPO min +RTO min +retention +method +schedule \(UTC\) +backups in +alert when the RPO is at risk$/);
  expect(rows.slice(1).map((r) => r.trim().split(/\s+/)[0])).toEqual(datasets);
  for (const [i, d] of datasets.entries()) expect(rows[i + 1]).toMatch(new RegExp(`^ {2}${d} +postgresql +5 +15 +30 days .* At 02:00, only on Sunday +s3://${d}-backups/ on dr +-$`));
});

test("an output that holds no report prints no table", () => {
  for (const recovery of [undefined, "none", 3, { note: "no dataset" }, []]) expect(table(renderPlanText(planWith(recovery)))).toEqual([]);
});

test("with Vault keys, the plan lists the KV entries to put before pulumi up; without, nothing", () => {
  const kv = ["vault kv put -mount=waris stack/waris-redis-password value=…  # password Redis clients authenticate with"];
  const text = renderPlanText({ ...planWith([]), outputs: { keys: { store: "vault", vaultKvPut: kv, objectStoreWriters: [] } } });
  expect(text).toContain(`Vault KV entries to put before \`pulumi up\` (from the stack output \`keys.vaultKvPut\`; External Secrets generates the rest):\n  ${kv[0]}`);
  expect(renderPlanText({ ...planWith([]), outputs: { keys: { store: "pulumi-state", vaultKvPut: [], objectStoreWriters: [] } } })).not.toContain("Vault KV entries");
});
