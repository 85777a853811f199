import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");

function plan(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, ["plan/cli.ts", ...args], { cwd: root, timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("npm run plan", () => {
  const broken = path.join(mkdtempSync(path.join(tmpdir(), "waris-plan-")), "Pulumi.broken.yaml");
  writeFileSync(
    broken,
    ["config:", "  waris-hybrid:activeSite: onprem", "  waris-hybrid:sites:", "    onprem:", "      kind: openstack", "      region: x", "      country: TH", "      role: primary", ""].join("\n"),
  );
  // Issue 20, kind 6: file-level errors.
  const syntax = path.join(path.dirname(broken), "Pulumi.syntax.yaml");
  writeFileSync(syntax, ["config:", "  waris-hybrid:activeSite: onprem", "  waris-hybrid:sites: {onprem: {kind: onprem", ""].join("\n"));
  const other = path.join(root, "test", "fixtures", "other-team");
  const runs = Promise.all([
    plan("--stack", "prod"),
    plan("--stack", "prod", "--json"),
    plan(),
    plan("--stack", "prod", "--config", broken),
    plan("--program", other, "--config", path.join(other, "Pulumi.dev.yaml"), "--json"),
    plan("--program", other, "--config", path.join(other, "Pulumi.dev.yaml"), "--policy-config", "policy/dev-advisory.json"),
  ]);

  test("--stack prod prints the tree with sites and the count per type", async () => {
    const [text] = await runs;
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Offline plan of stack "prod"/);
    expect(text.stdout).toMatch(/├─ waris:index:Site {2}onprem {2}\[site: onprem\]/);
    expect(text.stdout).toMatch(/├─ pulumi:providers:kubernetes {2}onprem {2}\[site: onprem\]/);
    expect(text.stdout).toMatch(/└─ pulumi:providers:aws {2}onprem-object-store {2}\[site: onprem\]/);
    expect(text.stdout).toMatch(/Resources by type:\n(.*\n)*\s+2 {2}waris:index:Site/);
    expect(text.stdout).toMatch(/Secrets replaced by fake values.*waris-hybrid:onpremKubeconfig/);
    // Schedules in words (cronstrue) in the recovery table.
    expect(text.stdout).toMatch(/waris-postgres .* At 02:00, only on Sunday {2}s3:\/\/waris-prod-postgres/);
  });

  test("--json prints the same plan for machines, secrets hidden", async () => {
    const [, json] = await runs;
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { stack: string; resources: Array<{ type: string; name: string; site?: string; inputs: Record<string, unknown> }>; countsByType: Record<string, number> };
    expect(parsed.stack).toBe("prod");
    expect(parsed.countsByType["waris:index:Site"]).toBe(2);
    const provider = parsed.resources.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === "gcloud");
    expect(provider).toMatchObject({ site: "gcloud", inputs: { kubeconfig: "[secret]" } });
    expect(json.stdout).not.toContain("FAKE-SECRET-OFFLINE-PLAN(waris-hybrid:gcloudKubeconfig)\"");
  });

  test("the default stack is dev", async () => {
    const [, , dev] = await runs;
    expect(dev.code).toBe(0);
    expect(dev.stdout).toMatch(/Offline plan of stack "dev"/);
  });

  test("a broken configuration exits non-zero with the validation message", async () => {
    const [, , , bad] = await runs;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/waris-hybrid:sites.onprem.kind = "openstack": Invalid option: expected one of/);
    expect(bad.stdout).toBe("");
  });

  test("another team's program (--program, --config): its violations are listed per resource and exit 3", async () => {
    const [, , , , otherJson] = await runs;
    expect(otherJson.stderr).toBe("");
    expect(otherJson.code).toBe(3);
    const parsed = JSON.parse(otherJson.stdout) as { project: string; stack: string; resources: Array<{ type: string; name: string; violations: Array<{ policy: string; enforcementLevel: string }> }> };
    expect([parsed.project, parsed.stack]).toEqual(["other-team", "dev"]);
    const bucket = parsed.resources.find((r) => r.type === "aws:s3/bucket:Bucket" && r.name === "reports")!;
    // AWS S3 encrypts new objects by default (SSE-S3): only the region is wrong.
    expect(bucket.violations.map((v) => [v.policy, v.enforcementLevel]).sort()).toEqual([["waris-data-residency", "mandatory"]]);
  });

  test("the same policy config file as pulumi preview --policy-pack-config turns them advisory (exit 0)", async () => {
    const [, , , , , advisory] = await runs;
    expect(advisory.code).toBe(0);
    expect(advisory.stdout).toMatch(/⚠️ waris-hybrid@v0.2.0/);
    expect(advisory.stdout).toMatch(/- \[advisory\] {2}waris-data-residency {2}\(aws:s3\/bucket:Bucket: reports\)/);
    expect(advisory.stdout).toMatch(/0 mandatory violation\(s\), 1 advisory/);
  });

  // Unusable files are refused before the program's modules load: each run is short, so it runs alone,
  // after the plans above.
  test("a YAML syntax error: exit 2, the file, line and problem, no stack trace", async () => {
    await runs;
    const yaml = await plan("--stack", "prod", "--config", syntax);
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toMatch(/Pulumi\.syntax\.yaml: YAML syntax error at line 4, column 1: unexpected end of the stream within a flow collection/);
    expect(yaml.stderr).not.toMatch(/The program failed|\n\s+at /);
    expect(yaml.stdout).toBe("");
  });

  test("--program on a folder whose packages are not installed: exit 2, says to run npm install there, no stack trace", async () => {
    const bare = mkdtempSync(path.join(tmpdir(), "waris-bare-"));
    writeFileSync(path.join(bare, "Pulumi.yaml"), "name: bare\nruntime: nodejs\n");
    writeFileSync(path.join(bare, "Pulumi.dev.yaml"), "config:\n  aws:region: ap-southeast-7\n");
    writeFileSync(path.join(bare, "index.ts"), 'import * as aws from "@pulumi/aws";\nnew aws.s3.Bucket("b");\n');
    const result = await plan("--program", bare, "--config", path.join(bare, "Pulumi.dev.yaml"));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`its packages are not installed .*; run npm install in ${bare.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    expect(result.stderr).not.toMatch(/Cannot find module|\n\s+at /);
  });

  test("--config naming a directory: exit 2 and says so", async () => {
    const directory = await plan("--stack", "prod", "--config", path.dirname(broken));
    expect(directory.code).toBe(2);
    expect(directory.stderr).toMatch(/is a directory, not a YAML file/);
    expect(directory.stderr).not.toMatch(/not found|\n\s+at /);
  });

  test("--policy-config naming a missing file: exit 2, the file named", async () => {
    const missing = await plan("--stack", "prod", "--policy-config", path.join(path.dirname(broken), "advisory.json"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/advisory\.json: not found/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});
