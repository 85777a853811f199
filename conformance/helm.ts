/**
 * A Helm release checked against its chart at the pinned version: the version exists upstream, every
 * values key the program sets is one the chart declares (`values.yaml`) or its templates read (Helm
 * ignores any other key without a word), and the merged values pass the chart's `values.schema.json`
 * (Helm itself refuses an install that does not, `helm install` docs: "Schema files").
 */
import Ajv from "ajv";
import addFormats from "ajv-formats";
import type { Finding } from "./crd";
import type { ChartValues, Upstream } from "./upstream";

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const compiledSchemas = new WeakMap<object, ReturnType<typeof ajv.compile>>();

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Dotted paths of the leaves of a values tree (a list or an empty map is a leaf). */
function leafPaths(values: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(values).flatMap(([key, value]) => {
    const at = prefix ? `${prefix}.${key}` : key;
    return isObject(value) && Object.keys(value).length > 0 ? leafPaths(value, at) : [at];
  });
}

/** The default at a dotted path of `values.yaml`, `undefined` when the chart does not declare it. */
function declared(defaults: Record<string, unknown>, keys: readonly string[]): { found: boolean; value?: unknown } {
  let node: unknown = defaults;
  for (const key of keys) {
    if (!isObject(node) || !(key in node)) return { found: false };
    node = node[key];
  }
  return { found: true, value: node };
}

/** Helm's merge of user values over the chart's defaults (maps merge, everything else replaces). */
function merge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = v === null ? undefined : merge(base[k], v);
  return out;
}

/**
 * Whether Helm hands a values key to the chart: it is in `values.yaml`, or a template reads it or one
 * of its ancestors (`toYaml .Values.podLabels`), or it sits under a map the chart leaves open (`{}` or
 * `null` by default), or under a subchart's key (whose own values are not stored: counted as unchecked).
 */
export function valuesKeyFate(chart: ChartValues, at: string): "read" | "subchart" | "ignored" {
  const keys = at.split(".");
  for (const sub of chart.entry.subcharts ?? []) if (keys[0] === sub.valuesKey) return "subchart";
  if (declared(chart.defaults, keys).found) return "read";
  for (let n = keys.length; n > 0; n--) {
    const prefix = keys.slice(0, n);
    if (chart.templateRefs.has(prefix.join("."))) return "read";
    const parent = declared(chart.defaults, prefix);
    if (n < keys.length && parent.found && (parent.value === null || (isObject(parent.value) && Object.keys(parent.value).length === 0))) return "read";
  }
  return "ignored";
}

/** One release's chart, version and values, as the program passes them to `helm.v3.Release`. */
export interface ReleaseInput {
  readonly chart: string;
  readonly version: string;
  readonly values: Record<string, unknown>;
}

/**
 * Checks one release.
 *
 * @returns the findings, and how many values keys went to subcharts whose values are not stored.
 */
export function validateRelease(upstream: Upstream, release: ReleaseInput): { findings: Finding[]; subchartKeys: number } {
  const entry = upstream.chart(release.chart, release.version);
  if (!entry) {
    const known = upstream.chartVersions(release.chart);
    return {
      findings: [{ kind: "missing-version", path: "version", message: `chart ${release.chart} ${release.version} does not exist upstream (${known.length ? `released: ${known.join(", ")}` : "no upstream data for this chart"})` }],
      subchartKeys: 0,
    };
  }
  const chart = upstream.chartValues(entry);
  const findings: Finding[] = [];
  let subchartKeys = 0;
  for (const at of leafPaths(release.values)) {
    const fate = valuesKeyFate(chart, at);
    if (fate === "subchart") subchartKeys++;
    if (fate === "ignored") findings.push({ kind: "ignored-value", path: `values.${at}`, message: `${release.chart} ${release.version} neither declares nor reads "${at}": Helm ignores it` });
  }
  if (chart.schema) {
    let validate = compiledSchemas.get(chart.schema);
    if (!validate) {
      const { $schema: _ignored, ...schema } = chart.schema;
      void _ignored;
      validate = ajv.compile(schema);
      compiledSchemas.set(chart.schema, validate);
    }
    if (!validate(merge(chart.defaults, release.values))) {
      for (const error of validate.errors ?? []) findings.push({ kind: "invalid", path: `values${error.instancePath.replace(/\//g, ".")}`, message: `values.schema.json: ${error.message ?? error.keyword}` });
    }
  }
  return { findings, subchartKeys };
}
