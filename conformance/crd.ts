/**
 * A custom resource checked the way the Kubernetes API server handles a create (apiextensions-apiserver):
 * unknown fields are pruned, defaults applied, then the object is validated against the CRD's
 * structural schema (types, required, enum, pattern, format, bounds, int-or-string), list-type
 * uniqueness, and the CEL rules (`x-kubernetes-validations`).
 *
 * Sources: Kubernetes docs "Extend the Kubernetes API with CustomResourceDefinitions" (sections
 * "Specifying a structural schema", "Field pruning", "Defaulting", "Validation rules"), and
 * apiextensions-apiserver's `pkg/apiserver/schema` (pruning and defaulting order: prune, default, validate).
 *
 * Libraries: ajv (with ajv-formats) does the JSON-schema validation, the most used and maintained
 * validator for Node; @bufbuild/re2 runs the schemas' Go-syntax patterns; @bufbuild/cel evaluates CEL (a conformance-tested implementation, CommonJS, with
 * the strings extension Kubernetes also enables). What Kubernetes adds to OpenAPI (pruning, defaulting,
 * `nullable`, int-or-string, list types) is mapped onto them here, since no npm library implements it.
 */
import Ajv, { type ValidateFunction } from "ajv";
import type { RegExpEngine } from "ajv/dist/types";
import addFormats from "ajv-formats";
import { celEnv, celFunc, CelScalar, parse, plan, type CelInput } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { RE2JS } from "@bufbuild/re2";
import type { StructuralSchema } from "./upstream";

/** What the API server would do with one part of an object. */
export type FindingKind =
  /** A field the schema does not declare: the API server drops it without a word. */
  | "pruned"
  /** The create would be refused (schema validation, list keys, CEL rule). */
  | "invalid"
  /** A chart values key nothing reads: Helm ignores it without a word. */
  | "ignored-value"
  /** A pinned version that does not exist upstream. */
  | "missing-version"
  /** An object with no upstream schema to check it against. */
  | "no-schema";

/** One problem, at a JSON path of the object. */
export interface Finding {
  readonly kind: FindingKind;
  /** JSON path from the object's root, e.g. `spec.backup.tasks[0].retention.type`. */
  readonly path: string;
  readonly message: string;
}

/**
 * Kubernetes evaluates `pattern` with Go's RE2 syntax (inline flags such as `(?i)` included), which
 * JavaScript's RegExp does not accept: RE2's own port (@bufbuild/re2, from the CEL package) does it.
 */
const re2: RegExpEngine = Object.assign((pattern: string) => RE2JS.compile(pattern), { code: "re2" });

// `optimize: false`: ajv's pass that simplifies the generated code (drops unused names, folds
// constant conditions) was 60 % of compiling the operators' large CRD schemas; it changes how the
// validating code reads, never what it accepts (ajv lib/core.ts `CodeOptions.optimize`, https://ajv.js.org/options.html#code).
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true, code: { regExp: re2, optimize: false } });
addFormats(ajv);
// OpenAPI's numeric formats are type refinements ajv does not know; Kubernetes checks them as types.
for (const format of ["int32", "int64", "float", "double", "byte", "password", "binary"]) ajv.addFormat(format, true);

/** Rewrites Kubernetes' OpenAPI dialect into plain JSON schema for ajv. */
function toJsonSchema(schema: StructuralSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith("x-kubernetes-") || key === "nullable" || key === "default" || key === "description") continue;
    if (key === "properties") {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, StructuralSchema>).map(([k, v]) => [k, toJsonSchema(v)]));
    } else if (key === "items" || key === "not" || (key === "additionalProperties" && typeof value === "object")) {
      out[key] = toJsonSchema(value as StructuralSchema);
    } else if (key === "anyOf" || key === "allOf" || key === "oneOf") {
      out[key] = (value as StructuralSchema[]).map(toJsonSchema);
    } else {
      out[key] = value;
    }
  }
  if (schema["x-kubernetes-int-or-string"]) {
    delete out["type"];
    out["anyOf"] = [{ type: "integer" }, { type: "string" }, ...((out["anyOf"] as unknown[]) ?? [])].slice(0, 2);
  }
  if (schema.nullable && typeof out["type"] === "string") out["type"] = [out["type"], "null"];
  return out;
}

const compiled = new WeakMap<StructuralSchema, ValidateFunction>();

/** The compiled validator of a CRD's root schema; metadata is the API server's (ObjectMeta), not the CRD's. */
function validatorFor(schema: StructuralSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    const properties = { ...schema.properties };
    delete properties["metadata"];
    validate = ajv.compile(toJsonSchema({ ...schema, properties, required: (schema.required ?? []).filter((r) => r !== "metadata") }));
    compiled.set(schema, validate);
  }
  return validate;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Top-level fields every object has whatever its schema says (the API server handles them itself). */
const ROOT_FIELDS = new Set(["apiVersion", "kind", "metadata"]);

/**
 * Removes what the schema does not declare, recording each as a `pruned` finding; a copy is returned.
 * Follows apiextensions-apiserver's `pruning/algorithm.go`: a node with
 * `x-kubernetes-preserve-unknown-fields` keeps unknown keys (and so do the items of such an array,
 * its `skipPrune`), while the properties it does declare are pruned as usual; `additionalProperties`
 * schemas apply to every key; embedded resources keep apiVersion/kind/metadata.
 */
function prune(value: unknown, schema: StructuralSchema | undefined, at: string, findings: Finding[], root = false, inheritedPreserve = false): unknown {
  if (!schema) return value;
  const preserve = inheritedPreserve || schema["x-kubernetes-preserve-unknown-fields"] === true;
  if (Array.isArray(value)) return value.map((v, i) => prune(v, schema.items, `${at}[${i}]`, findings, false, preserve));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  const embedded = root || schema["x-kubernetes-embedded-resource"] === true;
  for (const [key, v] of Object.entries(value)) {
    const child = `${at ? `${at}.` : ""}${key}`;
    if (embedded && ROOT_FIELDS.has(key)) {
      out[key] = v;
    } else if (schema.properties && key in schema.properties) {
      out[key] = prune(v, schema.properties[key], child, findings);
    } else if (typeof schema.additionalProperties === "object") {
      out[key] = prune(v, schema.additionalProperties, child, findings);
    } else if (preserve || schema.additionalProperties === true) {
      out[key] = v;
    } else {
      findings.push({ kind: "pruned", path: child, message: `unknown field "${key}": the API server drops it` });
    }
  }
  return out;
}

/** Applies the schema's defaults in place, where the parent object exists (Kubernetes' rule). */
function applyDefaults(value: unknown, schema: StructuralSchema | undefined): unknown {
  if (!schema) return value;
  if (Array.isArray(value)) return value.map((v) => applyDefaults(v, schema.items));
  if (!isObject(value)) return value;
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && property.default !== undefined) value[key] = structuredClone(property.default);
    if (value[key] !== undefined) value[key] = applyDefaults(value[key], property);
  }
  if (typeof schema.additionalProperties === "object") {
    for (const key of Object.keys(value)) if (!schema.properties?.[key]) value[key] = applyDefaults(value[key], schema.additionalProperties);
  }
  return value;
}

/** CEL's view of a JSON value: objects are maps, integers (where the schema says so) are ints. */
function toCel(value: unknown, schema: StructuralSchema | undefined): CelInput {
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items));
  if (isObject(value)) {
    const map = new Map<string, CelInput>();
    for (const [k, v] of Object.entries(value)) {
      const child = schema?.properties?.[k] ?? (typeof schema?.additionalProperties === "object" ? schema.additionalProperties : undefined);
      map.set(k, toCel(v, child));
    }
    return map;
  }
  if (typeof value === "number" && Number.isInteger(value) && (schema?.type === "integer" || schema?.["x-kubernetes-int-or-string"])) return BigInt(value);
  return value as CelInput;
}

/** Kubernetes' CEL library functions the stored CRDs use, beyond CEL's standard ones and `strings`. */
const KUBERNETES_CEL_FUNCS = [
  // k8s.io/apiserver/pkg/cel/library/urls.go: isURL is true when Go's url.ParseRequestURI accepts it.
  celFunc("isURL", [CelScalar.STRING], CelScalar.BOOL, (s: string) => {
    if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s) && !s.startsWith("/")) return false;
    try {
      new URL(s, "http://localhost");
      return true;
    } catch {
      return false;
    }
  }),
];

const celEnvironment = celEnv({ funcs: [...strings, ...KUBERNETES_CEL_FUNCS] });
const celPrograms = new Map<string, ReturnType<typeof plan>>();

function celProgram(rule: string): ReturnType<typeof plan> {
  let program = celPrograms.get(rule);
  if (!program) {
    program = plan(celEnvironment, parse(rule));
    celPrograms.set(rule, program);
  }
  return program;
}

/** Evaluates every CEL rule and list-type constraint at every value the schema node applies to. */
function checkRules(value: unknown, schema: StructuralSchema | undefined, at: string, findings: Finding[]): void {
  if (!schema || value === undefined || value === null) return;
  for (const validation of schema["x-kubernetes-validations"] ?? []) {
    // Transition rules (oldSelf) apply to updates only.
    if (/\boldSelf\b/.test(validation.rule)) continue;
    const result = celProgram(validation.rule)({ self: toCel(value, schema) });
    if (result !== true) {
      const why = result === false ? validation.message ?? `failed rule: ${validation.rule}` : `rule ${validation.rule} did not evaluate: ${String((result as { message?: string }).message ?? result)}`;
      findings.push({ kind: "invalid", path: at || "(root)", message: `x-kubernetes-validations: ${why}` });
    }
  }
  if (Array.isArray(value)) {
    const listType = schema["x-kubernetes-list-type"];
    if (listType === "map" || listType === "set") {
      const keys = value.map((item) =>
        JSON.stringify(listType === "map" ? (schema["x-kubernetes-list-map-keys"] ?? []).map((k) => (isObject(item) ? item[k] : undefined)) : item),
      );
      const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
      if (duplicate !== undefined) findings.push({ kind: "invalid", path: at, message: `x-kubernetes-list-type ${listType}: duplicate entry ${duplicate}` });
    }
    value.forEach((item, i) => checkRules(item, schema.items, `${at}[${i}]`, findings));
    return;
  }
  if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      const child = schema.properties?.[key] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
      checkRules(v, child, `${at ? `${at}.` : ""}${key}`, findings);
    }
  }
}

/** ajv's instance path (`/spec/tasks/0/type`) as this module's dotted path. */
export function dotted(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

/**
 * Validates one custom resource against its CRD version's `openAPIV3Schema`.
 *
 * @param object - the object as the program sends it (apiVersion, kind, metadata, spec, ...).
 * @returns the findings (empty when the API server would accept the object unchanged) and the object
 *   as it would be stored (pruned and defaulted).
 */
export function validateCustomResource(object: Record<string, unknown>, schema: StructuralSchema): { findings: Finding[]; stored: Record<string, unknown> } {
  const findings: Finding[] = [];
  const stored = applyDefaults(prune(structuredClone(object), schema, "", findings, true), schema) as Record<string, unknown>;
  const body = { ...stored };
  delete body["metadata"];
  const validate = validatorFor(schema);
  if (!validate(body)) {
    for (const error of validate.errors ?? []) {
      const where = dotted(error.instancePath);
      const what = error.keyword === "required" ? `missing required field "${(error.params as { missingProperty: string }).missingProperty}"` : `${error.message ?? error.keyword}${error.keyword === "enum" ? ` (${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)})` : ""}`;
      // anyOf/oneOf report once for the branch failures they summarise; keep the specific ones.
      if (error.keyword === "anyOf" || error.keyword === "oneOf") continue;
      findings.push({ kind: "invalid", path: where || "(root)", message: what });
    }
  }
  checkRules(stored, schema, "", findings);
  return { findings, stored };
}
