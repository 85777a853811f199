/**
 * Turns a recording into the plan an operator reads: a tree of resources (type, name, site), a count per
 * type, the stack outputs with secrets hidden. Also the same as JSON for machines.
 */
import cronstrue from "cronstrue";
import { SITE_LABEL } from "../components/labels";
import { RecordedResource, isSerializedSecret } from "./mock-runtime";
import { PolicyDiagnostic } from "./policy-runner";

/** A resource in the plan. */
export interface PlannedResource {
  /** Mock URN. */
  readonly urn: string;
  /** Type token. */
  readonly type: string;
  /** Logical name. */
  readonly name: string;
  /** Site the resource is placed on, or undefined when it belongs to none (the stack itself). */
  readonly site?: string;
  /** Mock URN of the parent. */
  readonly parent?: string;
  /** Inputs, with secret values replaced by `[secret]`. */
  readonly inputs: Record<string, unknown>;
  /** Policies this resource violates. */
  readonly violations: readonly ResourceViolation[];
}

/** A policy a resource violates. */
export interface ResourceViolation {
  /** Policy name. */
  readonly policy: string;
  /** `mandatory` or `advisory`. */
  readonly enforcementLevel: string;
  /** What is wrong. */
  readonly message: string;
}

/** The plan of one stack. */
export interface Plan {
  /** Project name. */
  readonly project: string;
  /** Stack name. */
  readonly stack: string;
  /** Every resource, in registration order. */
  readonly resources: readonly PlannedResource[];
  /** Number of resources per type, sorted by type. */
  readonly countsByType: Readonly<Record<string, number>>;
  /** Stack outputs, secrets shown as `[secret]`. */
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Config keys whose values were replaced by fake secrets. */
  readonly fakedSecretKeys: readonly string[];
  /** Every policy diagnostic, in the order the pack reported them. */
  readonly policyDiagnostics: readonly PolicyDiagnostic[];
  /** Number of mandatory violations: the plan fails when it is not 0. */
  readonly mandatoryViolations: number;
}

const SECRET_PLACEHOLDER = "[secret]";

function redactPaths(value: unknown, path: string, secretPaths: ReadonlySet<string>): unknown {
  if (secretPaths.has(path)) return SECRET_PLACEHOLDER;
  if (Array.isArray(value)) return value.map((v, i) => redactPaths(v, `${path}[${i}]`, secretPaths));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactPaths(v, path ? `${path}.${k}` : k, secretPaths)]));
  }
  return value;
}

/** Replaces serialized secret envelopes with `[secret]`. */
export function redactSerialized(value: unknown): unknown {
  if (isSerializedSecret(value)) return SECRET_PLACEHOLDER;
  if (Array.isArray(value)) return value.map(redactSerialized);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSerialized(v)]));
  }
  return value;
}

function ownSiteLabel(r: RecordedResource): string | undefined {
  const metadata = r.inputs["metadata"] as { labels?: Record<string, unknown> } | undefined;
  const label = metadata?.labels?.[SITE_LABEL];
  if (typeof label === "string") return label;
  const tags = r.inputs["tags"];
  if (tags && typeof tags === "object" && !Array.isArray(tags)) {
    const tag = (tags as Record<string, unknown>)["waris-site"];
    if (typeof tag === "string") return tag;
  }
  return undefined;
}

/**
 * The site of each resource: its own `waris.io/site` label or `waris-site` tag, else the site its
 * provider belongs to, else its parent's. A `waris:index:Site` component is its own site; any other
 * component without one is on its children's site when all of them that have a site agree.
 */
export function attributeSites(resources: readonly RecordedResource[]): Map<string, string | undefined> {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const sites = new Map<string, string | undefined>();
  const resolve = (r: RecordedResource, depth: number): string | undefined => {
    if (sites.has(r.urn)) return sites.get(r.urn);
    let site: string | undefined = r.type === "waris:index:Site" ? r.name : ownSiteLabel(r);
    const provider = r.provider ? byUrn.get(r.provider) : undefined;
    const parent = r.parent ? byUrn.get(r.parent) : undefined;
    if (site === undefined && provider && depth < 64) site = resolve(provider, depth + 1);
    if (site === undefined && parent && depth < 64) site = resolve(parent, depth + 1);
    sites.set(r.urn, site);
    return site;
  };
  for (const r of resources) resolve(r, 0);
  // A component with no site of its own is on the site its children are on, when those that have a
  // site agree (state-only children such as TLS keys have none).
  const childSites = new Map<string, Set<string>>();
  for (const r of resources) {
    const site = sites.get(r.urn);
    if (!r.parent || site === undefined) continue;
    const set = childSites.get(r.parent) ?? new Set();
    set.add(site);
    childSites.set(r.parent, set);
  }
  for (const r of resources) {
    const children = childSites.get(r.urn);
    if (r.custom || sites.get(r.urn) !== undefined || !children || children.size !== 1) continue;
    if (r.type === "pulumi:pulumi:Stack") continue;
    sites.set(r.urn, [...children][0]);
  }
  return sites;
}

/** Builds the plan from a recording. */
export function buildPlan(
  project: string,
  stack: string,
  resources: readonly RecordedResource[],
  stackOutputs: Record<string, unknown> | undefined,
  fakedSecretKeys: readonly string[],
  policyDiagnostics: readonly PolicyDiagnostic[] = [],
): Plan {
  const sites = attributeSites(resources);
  const violationsByUrn = new Map<string, ResourceViolation[]>();
  for (const d of policyDiagnostics) {
    if (!d.urn) continue;
    const list = violationsByUrn.get(d.urn) ?? [];
    list.push({ policy: d.policyName, enforcementLevel: d.enforcementLevel, message: d.message });
    violationsByUrn.set(d.urn, list);
  }
  const planned: PlannedResource[] = resources.map((r) => ({
    urn: r.urn,
    type: r.type,
    name: r.name,
    site: sites.get(r.urn),
    parent: r.parent,
    inputs: redactPaths(r.inputs, "", new Set(r.secretPaths)) as Record<string, unknown>,
    violations: violationsByUrn.get(r.urn) ?? [],
  }));
  const counts: Record<string, number> = {};
  for (const r of planned) counts[r.type] = (counts[r.type] ?? 0) + 1;
  const countsByType = Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
  return {
    project,
    stack,
    resources: planned,
    countsByType,
    outputs: redactSerialized(stackOutputs ?? {}) as Record<string, unknown>,
    fakedSecretKeys,
    policyDiagnostics,
    mandatoryViolations: policyDiagnostics.filter((d) => d.enforcementLevel === "mandatory").length,
  };
}

/** One row of the recovery table: a dataset's report (components/backup-schedule.ts `RecoveryReport`), fields unchecked. */
interface RecoveryRow {
  dataset: unknown;
  kind: unknown;
  rpoMinutes: unknown;
  rtoMinutes: unknown;
  retention: unknown;
  method: unknown;
  schedule?: unknown;
  location: unknown;
  rpoAlert?: unknown;
}

/** A cron schedule (UTC) in words for people, with `cronstrue`: `0 2 * * 0` → "At 02:00, only on Sunday". */
export function describeSchedule(cron: unknown): string {
  if (typeof cron !== "string") return "-";
  try {
    return cronstrue.toString(cron, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    return cron;
  }
}

const isRecoveryRow = (v: unknown): v is RecoveryRow => typeof v === "object" && v !== null && "dataset" in v && "rpoMinutes" in v;

/**
 * The rows of a `recovery` stack output, in whichever shape a program exports it: a list of reports (this
 * program), one report (a team's single dataset: `export const recovery = schedule.report`, as the README's
 * consumer program and `examples/backup-schedule.ts` do), or a map of them (dataset → report).
 */
function recoveryRows(value: unknown): RecoveryRow[] {
  if (Array.isArray(value)) return value.filter(isRecoveryRow);
  if (isRecoveryRow(value)) return [value];
  if (typeof value === "object" && value !== null) return Object.values(value).filter(isRecoveryRow);
  return [];
}

/** Renders the policy diagnostics the way `pulumi preview` prints them. */
export function renderPolicyText(plan: Plan, packLabel: string): string {
  const lines = ["Policies:"];
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  if (plan.policyDiagnostics.length === 0) {
    lines.push(`    ✅ ${packLabel}: no violations`);
    return lines.join("\n");
  }
  lines.push(`    ${plan.mandatoryViolations > 0 ? "❌" : "⚠️"} ${packLabel}`);
  for (const d of plan.policyDiagnostics) {
    const r = d.urn ? byUrn.get(d.urn) : undefined;
    lines.push(`        - [${d.enforcementLevel}]  ${d.policyName}${r ? `  (${r.type}: ${r.name})` : ""}`);
    lines.push(`          ${d.description}`);
    lines.push(`          ${d.message}`);
    if (d.remediationSteps) lines.push(`          To fix: ${d.remediationSteps}`);
  }
  lines.push("");
  lines.push(`${plan.mandatoryViolations} mandatory violation(s), ${plan.policyDiagnostics.length - plan.mandatoryViolations} advisory.`);
  return lines.join("\n");
}

/** Renders the plan as the text an operator reads. */
export function renderPlanText(plan: Plan): string {
  const lines: string[] = [];
  lines.push(`Offline plan of stack "${plan.stack}" (project ${plan.project}): ${plan.resources.length} resources, evaluated under the Pulumi mock runtime`);
  lines.push("");
  const known = new Set(plan.resources.map((r) => r.urn));
  const children = new Map<string | undefined, PlannedResource[]>();
  for (const r of plan.resources) {
    const key = r.parent && known.has(r.parent) ? r.parent : undefined;
    const siblings = children.get(key);
    if (siblings) siblings.push(r);
    else children.set(key, [r]);
  }
  const walk = (parent: string | undefined, prefix: string): void => {
    const kids = children.get(parent) ?? [];
    kids.forEach((r, i) => {
      const last = i === kids.length - 1;
      const branch = parent === undefined ? "" : last ? "└─ " : "├─ ";
      lines.push(`${prefix}${branch}${r.type}  ${r.name}${r.site ? `  [site: ${r.site}]` : ""}`);
      walk(r.urn, parent === undefined ? prefix : prefix + (last ? "   " : "│  "));
    });
  };
  walk(undefined, "");
  lines.push("");
  lines.push("Resources by type:");
  const width = Math.max(...Object.values(plan.countsByType).map((n) => String(n).length));
  for (const [type, n] of Object.entries(plan.countsByType)) lines.push(`  ${String(n).padStart(width)}  ${type}`);
  const recovery = recoveryRows(plan.outputs["recovery"]);
  if (recovery.length > 0) {
    lines.push("");
    lines.push("Recovery (from the stack output `recovery`):");
    const header = ["dataset", "kind", "RPO min", "RTO min", "retention", "method", "schedule (UTC)", "backups in", "alert when the RPO is at risk"];
    const rows = recovery.map((r) => [r.dataset, r.kind, r.rpoMinutes ?? "unbounded", r.rtoMinutes ?? "unknown", r.retention, r.method, describeSchedule(r.schedule), r.location, r.rpoAlert ?? "-"].map(String));
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    for (const row of [header, ...rows]) lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()}`);
  }
  if (Object.keys(plan.outputs).length > 0) {
    lines.push("");
    lines.push("Outputs:");
    for (const [key, value] of Object.entries(plan.outputs)) lines.push(`  ${key}: ${JSON.stringify(value)}`);
  }
  // This program's stack output `keys` (index.ts): what the operator puts into Vault before `pulumi up`.
  const kvPut = (plan.outputs["keys"] as { vaultKvPut?: unknown } | undefined)?.vaultKvPut;
  if (Array.isArray(kvPut) && kvPut.length > 0) {
    lines.push("");
    lines.push("Vault KV entries to put before `pulumi up` (from the stack output `keys.vaultKvPut`; External Secrets generates the rest):");
    for (const command of kvPut) lines.push(`  ${String(command)}`);
  }
  if (plan.fakedSecretKeys.length > 0) {
    lines.push("");
    lines.push(`Secrets replaced by fake values (the real ones are set with \`pulumi config set --secret\`): ${plan.fakedSecretKeys.join(", ")}`);
  }
  return lines.join("\n");
}
