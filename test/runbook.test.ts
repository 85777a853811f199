/**
 * The runbook generated from the failover model: every phase for prod, both directions, all modes; the
 * settings, commands and checks of each; targets that leave a lost site alone.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { buildRunbook, renderRunbook, seedSteps, type RunbookStack } from "../plan/runbook";

const root = path.resolve(__dirname, "..");
const prod: RunbookStack = {
  stack: "prod",
  sites: ["onprem", "gcloud"],
  homeSite: "onprem",
  generations: {},
  postgres: { dataset: "waris-postgres", namespace: "waris-postgres" },
  redis: { dataset: "waris-redis", namespace: "waris-redis" },
  milvus: { dataset: "waris-milvus", namespace: "waris-milvus" },
};

describe.each([
  ["gcloud", "onprem"],
  ["onprem", "gcloud"],
])("to %s (from %s)", (to, from) => {
  test("Milvus: the demote takes a final backup, the promote restores it (or the newest, in a disaster), each checked with kubectl wait", () => {
    const milvus = (phases: ReturnType<typeof buildRunbook>) => phases.map((p) => [p.step.label, p.effects.filter((e) => e.includes("Milvus")).join(" | "), p.checks.filter((c) => c.includes("milvus"))]);
    const switchover = milvus(buildRunbook(prod, to, "switchover"));
    expect(switchover[1]![1]).toMatch(new RegExp(`${from}: Milvus waris-milvus: still running, no longer served; Job waris-milvus-final-backup takes the final backup waris_final_${from}`));
    expect(switchover[1]![2]).toEqual([expect.stringMatching(new RegExp(`^kubectl --context ${from} -n waris-milvus wait --for=condition=complete job/waris-milvus-final-backup --timeout=2h  # `))]);
    expect(switchover[2]![1]).toContain(`${to}: Milvus waris-milvus: scaled up; Job waris-milvus-restore restores waris_final_${from} (milvus-backup restore)`);
    expect(switchover[2]![1]).toContain(`${from}: Milvus waris-milvus: scaled to 0 (the Milvus resource, its etcd volume and data bucket are kept)`);
    expect(switchover[2]![2]).toEqual([
      expect.stringMatching(new RegExp(`^kubectl --context ${to} -n waris-milvus wait --for=condition=complete job/waris-milvus-restore --timeout=4h  # milvus-backup restored waris_final_${from}`)),
      `kubectl --context ${to} -n waris-milvus get cronjob waris-milvus-backup -o jsonpath='{.spec.suspend}'  # false: the restore Job resumed the hourly backups`,
    ]);
    const disaster = milvus(buildRunbook(prod, to, "disaster"));
    expect(disaster[1]![1]).toMatch(new RegExp(`${from}: Milvus waris-milvus: unreachable, left exactly as it was`));
    expect(disaster[1]![2][0]).toMatch(/job\/waris-milvus-restore .* restored the newest backup/);
    expect(buildRunbook({ ...prod, milvus: { ...prod.milvus!, restoreBackup: "waris_202611301400" } }, to, "disaster")[1]!.effects.join("\n")).toMatch(/restores waris_202611301400/);
  });

  test("switchover: steady, demote, promote with the token read from the demoted cluster, steady", () => {
    const phases = buildRunbook(prod, to, "switchover");
    expect(phases.map((p) => p.step.label)).toEqual(["steady", "switchover demote", "switchover promote", "steady"]);
    expect(phases[2]!.configCommands).toContainEqual(`pulumi config set -s prod --path failover.promotionToken "$(kubectl --context ${from} -n waris-postgres get cluster waris-postgres-${from} -o jsonpath='{.status.demotionToken}')"`);
    expect(phases[1]!.checks[0]).toMatch(new RegExp(`kubectl --context ${from} -n waris-postgres get cluster waris-postgres-${from} -o jsonpath='\\{.status.demotionToken\\}'`));
    expect(phases[3]!.configCommands).toEqual(expect.arrayContaining(["pulumi config rm -s prod --path failover.procedure", "pulumi config rm -s prod --path failover.promotionToken"]));
    expect(phases.every((p) => !p.up.includes("--target"))).toBe(true);
  });

  test("disaster: promote with the other site lost (targeted at the survivor), fence once it is isolated", () => {
    const changes = [[], [{ urn: `urn:x::a$b::${to}-cluster`, site: to, change: "update" as const }, { urn: `urn:x::a$b::${from}-deployment`, site: from, change: "update" as const }], []];
    const phases = buildRunbook(prod, to, "disaster", "waris-hybrid", changes);
    expect(phases.map((p) => p.step.label)).toEqual(["steady", "disaster promote", "disaster fence"]);
    expect(phases[1]!.settingsYaml).toContain(`conditions:\n      ${from}: lost`);
    expect(phases[1]!.up).toBe(`pulumi up -s prod --policy-pack policy --target 'urn:x::a$b::${to}-cluster'`);
    expect(phases[1]!.effects).toContain(`${from}: unreachable: left exactly as it was (no change is sent there)`);
    expect(phases[2]!.effects).toContainEqual(expect.stringMatching(new RegExp(`^${from}: fenced`)));
    expect(phases[2]!.checks[0]).toMatch(/fencedInstances/);
    expect(phases[1]!.preconditions[0]).toMatch(new RegExp(`^${from} can no longer serve anyone: its servers are powered off, or its uplinks .* are cut`));
  });

  test("failback: rebuild into a new generation (naming what it discards), demote, promote, steady", () => {
    const phases = buildRunbook(prod, from, "failback");
    expect(phases.map((p) => p.step.label)).toEqual(["disaster fence", "failback rebuild", "failback demote", "failback promote", "steady"]);
    expect(phases[1]!.discards).toEqual([from]);
    expect(phases[1]!.configCommands).toContain(`pulumi config set -s prod --path failover.generations.${from} 2 --type int`);
    expect(phases[1]!.effects).toContainEqual(expect.stringMatching(new RegExp(`${from}: rebuilt: a new cluster waris-postgres-${from}-g2 cloned by pg_basebackup from ${to}`)));
    expect(phases.filter((p) => p.discards.length > 0)).toHaveLength(1);
    // What the rebuild kept of the old generation is deleted only by the decommission step, by name.
    const withMongo: RunbookStack = { ...prod, mongodb: { dataset: "waris-mongo", namespace: "waris-mongodb" } };
    const text = renderRunbook(withMongo, from, "failback", buildRunbook(withMongo, from, "failback"));
    const decommission = text.slice(text.indexOf("## Decommission"));
    expect(decommission).toContain(`kubectl --context ${from} -n waris-postgres delete cluster.postgresql.cnpg.io waris-postgres-${from}  #`);
    expect(decommission).toContain(`delete perconaservermongodb waris-mongo `);
    expect(decommission).toContain(`etcdctl del --prefix waris-milvus/ `);
    expect(decommission).not.toContain("-g2");
  });

  test("Redis in every phase: what each site's Redis does, and what to check", () => {
    const redis = (phases: ReturnType<typeof buildRunbook>) => phases.map((p) => [p.step.label, p.effects.filter((e) => e.includes("Redis")).join(" | "), p.checks.filter((c) => c.includes("redis")).length]);
    const switchover = redis(buildRunbook(prod, to, "switchover"));
    expect(switchover[1]).toEqual(["switchover demote", expect.stringMatching(new RegExp(`${from}: Redis waris-redis: restarted as a replica of ${to} .* no writable Redis until the promote phase \\| ${to}: Redis waris-redis: replica of ${from}`)), 1]);
    expect(switchover[2]![1]).toMatch(new RegExp(`${to}: Redis waris-redis: primary`));
    const disaster = redis(buildRunbook(prod, to, "disaster"));
    expect(disaster[1]![1]).toMatch(new RegExp(`${from}: Redis waris-redis: unreachable, left exactly as it was`));
    expect(disaster[2]![1]).toMatch(new RegExp(`${from}: Redis waris-redis: scaled to 0 \\(the volume and its AOF are kept`));
    const failback = redis(buildRunbook(prod, from, "failback"));
    expect(failback[1]![1]).toMatch(new RegExp(`${from}: Redis waris-redis: started as a replica of ${to}; the full resync replaces its old data`));
    for (const phases of [switchover, disaster, failback]) for (const [label, effects, checks] of phases) expect({ label, effects: (effects as string).length > 0, checks }).toEqual({ label, effects: true, checks: 1 });
  });
});

test("the text covers the seed's eight steps, where state and secrets live, and every phase", () => {
  const text = renderRunbook(prod, "gcloud", "disaster", buildRunbook(prod, "gcloud", "disaster"));
  for (let i = 1; i <= 8; i++) expect(text).toMatch(new RegExp(`^${i}\\. `, "m"));
  expect(text).toMatch(/self-managed S3 backend .* replicated to a bucket of the on-prem MinIO/s);
  expect(text).toMatch(/### 2\. disaster promote[\s\S]*### 3\. disaster fence/);
  expect(text).toMatch(/^3\. Verify the gcloud standby: kubectl cnpg --context gcloud -n waris-postgres status waris-postgres-gcloud shows a designated primary/m);
});

test("the Alertmanager commands of the seed's steps are whole shell commands (port-forward, amtool, kill), bash parses each", () => {
  const monitoring: RunbookStack["monitoring"] = { receivers: { critical: ["PagerDuty"], warning: ["e-mail"], info: [] } };
  for (const procedure of ["disaster", "switchover"] as const) {
    const commands = seedSteps(procedure, "gcloud", "onprem", monitoring).join("\n").match(/\(kubectl [^\n]*?; kill \$pf\)/g) ?? [];
    expect(commands.length).toBe(procedure === "disaster" ? 2 : 3); // a switchover checks both sites first
    for (const c of commands) {
      expect(c).toMatch(/^\(kubectl --context (gcloud|onprem) -n monitoring port-forward .* & pf=\$!; sleep 3; amtool --alertmanager\.url=http:\/\/localhost:9093 alert (query|add)[^()]*(\$\([^()]*\))?[^()]*; kill \$pf\)$/);
      expect(spawnSync("bash", ["-n", "-c", c]).status).toBe(0);
    }
  }
});

test("npm run runbook prints the procedure for prod; bad arguments exit 2", () => {
  const tsx = path.join(root, "node_modules", ".bin", "tsx");
  const ok = spawnSync(tsx, ["plan/runbook-cli.ts", "--stack", "prod", "--to", "onprem", "--mode", "failback", "--no-targets"], { cwd: root, encoding: "utf8" });
  expect(ok.stderr).toBe("");
  expect(ok.status).toBe(0);
  expect(ok.stdout).toMatch(/### 2\. failback rebuild[\s\S]*### 5\. steady/);
  const bad = spawnSync(tsx, ["plan/runbook-cli.ts", "--stack", "prod", "--to", "mars", "--mode", "disaster"], { cwd: root, encoding: "utf8" });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/--to mars: the stack's data sites are onprem, gcloud/);
});
