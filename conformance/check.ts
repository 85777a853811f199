/**
 * Upstream conformance of everything a run registers on Kubernetes: custom resources against their
 * CRDs, built-in kinds against the Kubernetes schemas, Helm releases against their charts, CR versions
 * against the operator releases that serve them.
 */
import * as pulumi from "@pulumi/pulumi";
import { BuiltinValidator, isBuiltinKind } from "./builtin";
import { validateCustomResource, type Finding, type FindingKind } from "./crd";
import { validateRelease } from "./helm";
import { Upstream } from "./upstream";

/** A registered resource, as the mock runtime records it. */
export interface RegisteredObject {
  readonly type: string;
  readonly name: string;
  /** Inputs with secrets unwrapped. */
  readonly inputs: Record<string, unknown>;
}

/** The findings of one object. */
export interface ObjectReport {
  /** `<type>::<name>`. */
  readonly object: string;
  readonly findings: readonly Finding[];
}

/** A whole run's conformance. */
export interface ConformanceReport {
  /** Kubernetes objects and Helm releases checked. */
  readonly checked: number;
  /** Values keys handed to subcharts whose values are not in the upstream data (not checked). */
  readonly subchartKeys: number;
  /** Fields whose value is unknown until the engine creates what they come from (not checked). */
  readonly unknownFields: number;
  readonly objects: readonly ObjectReport[];
  /** Count of findings by kind. */
  readonly byKind: Readonly<Record<FindingKind, number>>;
}

/**
 * Custom resources that carry the operator release they were written for, and the chart that installs
 * that operator: the operator refuses a CR whose `crVersion` it does not know (Percona docs, "Upgrade
 * the Percona Operator": crVersion must match the operator version for the features to be used).
 */
const CR_VERSION_CHARTS: Readonly<Record<string, string>> = {
  "psmdb.percona.com/v1/PerconaServerMongoDB": "psmdb-operator",
};

/** Paths of the fields whose value is unknown during a preview (outputs of resources not yet created). */
function unknownPaths(value: unknown, at: string, out: string[]): string[] {
  if (value === pulumi.runtime.unknownValue) out.push(at);
  else if (Array.isArray(value)) value.forEach((v, i) => unknownPaths(v, `${at}[${i}]`, out));
  else if (typeof value === "object" && value !== null) for (const [k, v] of Object.entries(value)) unknownPaths(v, at ? `${at}.${k}` : k, out);
  return out;
}

/** Whether a finding is about a field (or inside a field) whose value is not known yet. */
function concernsUnknown(finding: Finding, unknown: readonly string[]): boolean {
  return unknown.some((u) => finding.path === u || finding.path.startsWith(`${u}.`) || finding.path.startsWith(`${u}[`));
}

const HELM_RELEASE = /^kubernetes:helm\.sh\/v[34]:(Release|Chart)$/;
const KUBERNETES_OBJECT = /^kubernetes:(.+):([A-Za-z]+)$/;

/**
 * Checks every Kubernetes object and Helm release among `resources`.
 *
 * @param upstream - the upstream data (loaded once per process and shared between runs).
 */
export function checkConformance(resources: readonly RegisteredObject[], upstream: Upstream = new Upstream()): ConformanceReport {
  const kube = resources.filter((r) => KUBERNETES_OBJECT.test(r.type) && !r.type.startsWith("pulumi:"));
  const builtin = new BuiltinValidator(
    kube.filter((r) => !HELM_RELEASE.test(r.type)).map((r) => ({ apiVersion: String(r.inputs["apiVersion"]), kind: String(r.inputs["kind"]) })),
  );
  const releases = kube.filter((r) => HELM_RELEASE.test(r.type));
  const objects: ObjectReport[] = [];
  let subchartKeys = 0;
  let unknownFields = 0;
  for (const r of kube) {
    const findings: Finding[] = [];
    const unknown = unknownPaths(r.inputs, "", []);
    unknownFields += unknown.length;
    if (HELM_RELEASE.test(r.type)) {
      const result = validateRelease(upstream, { chart: String(r.inputs["chart"]), version: String(r.inputs["version"]), values: (r.inputs["values"] ?? {}) as Record<string, unknown> });
      findings.push(...result.findings);
      subchartKeys += result.subchartKeys;
    } else {
      const apiVersion = String(r.inputs["apiVersion"]);
      const kind = String(r.inputs["kind"]);
      const patch = r.type.endsWith("Patch");
      const crd = upstream.crd(apiVersion, kind);
      if (isBuiltinKind(apiVersion, kind)) {
        findings.push(...builtin.validate(r.inputs, patch));
      } else if (crd) {
        findings.push(...validateCustomResource(r.inputs, crd.openAPIV3Schema).findings);
        const chartName = CR_VERSION_CHARTS[`${apiVersion}/${kind}`];
        const crVersion = (r.inputs["spec"] as Record<string, unknown> | undefined)?.["crVersion"];
        if (chartName && crVersion !== undefined) {
          const served = releases
            .filter((rel) => rel.inputs["chart"] === chartName)
            .map((rel) => upstream.chart(chartName, String(rel.inputs["version"]))?.appVersion)
            .filter((v): v is string => v !== undefined);
          const known = upstream.chartVersions(chartName).map((v) => upstream.chart(chartName, v)?.appVersion);
          if (!known.includes(String(crVersion))) {
            findings.push({ kind: "missing-version", path: "spec.crVersion", message: `crVersion ${String(crVersion)} is no released ${chartName} operator version (known: ${known.join(", ")})` });
          } else if (served.length > 0 && !served.includes(String(crVersion))) {
            findings.push({ kind: "invalid", path: "spec.crVersion", message: `crVersion ${String(crVersion)} differs from the installed operator ${served.join(", ")}` });
          }
        }
      } else {
        findings.push({ kind: "no-schema", path: "(root)", message: `no upstream schema for ${apiVersion} ${kind}: add its CRD data before using it` });
      }
    }
    objects.push({ object: `${r.type}::${r.name}`, findings: findings.filter((f) => !concernsUnknown(f, unknown)) });
  }
  const byKind: Record<FindingKind, number> = { pruned: 0, invalid: 0, "ignored-value": 0, "missing-version": 0, "no-schema": 0 };
  for (const o of objects) for (const f of o.findings) byKind[f.kind]++;
  return { checked: kube.length, subchartKeys, unknownFields, objects, byKind };
}
