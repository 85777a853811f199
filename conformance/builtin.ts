/**
 * Built-in kinds (Deployment, StatefulSet, Service, CronJob, NetworkPolicy, Secret, ...) checked against
 * the Kubernetes API's own schemas, as packaged by `kubernetes-models` (generated from the Kubernetes
 * OpenAPI spec; the most used typed model of the API on npm).
 *
 * Two checks, because the package gives two kinds of data:
 * - `validate()` of the kind's model: types, required fields, formats, enums (the OpenAPI schema,
 *   compiled by the package).
 * - unknown fields: the package's validators let undeclared fields through, while the API server drops
 *   them (or, with `kubectl --validate=strict`/server-side field validation, refuses them). The declared
 *   fields of every type are read from the package's own type declarations with the TypeScript compiler
 *   (already a dependency of this repository), so both checks come from one source.
 */
import * as path from "node:path";
import * as ts from "typescript";
import { dotted, type Finding } from "./crd";

/** The `kubernetes-models` module of an apiVersion (`v1` is the core group). */
function modulePath(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Whether `kubernetes-models` has this kind. */
export function isBuiltinKind(apiVersion: string, kind: string): boolean {
  try {
    require.resolve(modulePath(apiVersion, kind));
    return true;
  } catch {
    return false;
  }
}

/** The declared fields of the kinds' interfaces, from the package's `.d.ts` files. */
class DeclaredFields {
  private readonly checker: ts.TypeChecker;
  private readonly types = new Map<string, ts.Type>();

  constructor(kinds: ReadonlyArray<{ apiVersion: string; kind: string }>) {
    const root = path.join(path.dirname(require.resolve("kubernetes-models/package.json")), "__conformance_root__.ts");
    const source = kinds.map(({ apiVersion, kind }, i) => `import type { I${kind} as K${i} } from "${modulePath(apiVersion, kind)}";\nexport type T${i} = K${i};`).join("\n");
    // The project's lib (tsconfig.json), not TypeScript's default (the latest ES plus the DOM, whose
    // 2 MB of declarations were most of what creating this program cost): the models' declarations
    // name no DOM type (they check with no error against ES2022 alone, skipLibCheck off).
    const options: ts.CompilerOptions = { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ["lib.es2022.d.ts"] };
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    host.readFile = (file) => (file === root ? source : readFile(file));
    host.fileExists = (file) => file === root || fileExists(file);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (file, language, ...rest) => (file === root ? ts.createSourceFile(file, source, language) : getSourceFile(file, language, ...rest));
    const program = ts.createProgram([root], options, host);
    this.checker = program.getTypeChecker();
    const file = program.getSourceFile(root)!;
    for (const statement of file.statements) {
      if (ts.isTypeAliasDeclaration(statement)) {
        const i = Number(statement.name.text.slice(1));
        const { apiVersion, kind } = kinds[i]!;
        this.types.set(`${apiVersion}/${kind}`, this.checker.getTypeAtLocation(statement.name));
      }
    }
  }

  /** Records every field of `value` that `type` does not declare. */
  check(value: unknown, apiVersion: string, kind: string, findings: Finding[]): void {
    const type = this.types.get(`${apiVersion}/${kind}`);
    if (type) this.walk(value, type, "", findings);
  }

  private walk(value: unknown, type: ts.Type, at: string, findings: Finding[]): void {
    if (value === null || value === undefined || typeof value !== "object") return;
    const candidates = type.isUnion() ? type.types : [type];
    if (Array.isArray(value)) {
      const element = candidates.map((t) => t.getNumberIndexType()).find((t) => t !== undefined);
      if (element) value.forEach((v, i) => this.walk(v, element, `${at}[${i}]`, findings));
      return;
    }
    const objectType = candidates.find((t) => (t.flags & ts.TypeFlags.Object) !== 0);
    if (!objectType) return;
    const index = objectType.getStringIndexType();
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const child = at ? `${at}.${key}` : key;
      const property = objectType.getProperty(key);
      if (property) this.walk(v, this.checker.getTypeOfSymbol(property), child, findings);
      else if (index) this.walk(v, index, child, findings);
      else findings.push({ kind: "pruned", path: child, message: `unknown field "${key}": not in the Kubernetes API schema` });
    }
  }
}

/** The built-in kinds this program creates: read in one TypeScript program, grown when another appears. */
const COMMON_KINDS = [
  ["v1", "Namespace"], ["v1", "Secret"], ["v1", "Service"], ["v1", "ConfigMap"], ["v1", "PersistentVolumeClaim"], ["v1", "Node"],
  ["apps/v1", "Deployment"], ["apps/v1", "StatefulSet"], ["batch/v1", "CronJob"], ["batch/v1", "Job"],
  ["networking.k8s.io/v1", "NetworkPolicy"], ["policy/v1", "PodDisruptionBudget"], ["node.k8s.io/v1", "RuntimeClass"],
].map(([apiVersion, kind]) => ({ apiVersion: apiVersion!, kind: kind! }));

let declared: { keys: Set<string>; fields: DeclaredFields } | undefined;

/** The declared fields of at least `kinds` (one compiler run per process unless a new kind shows up). */
function declaredFieldsFor(kinds: ReadonlyArray<{ apiVersion: string; kind: string }>): DeclaredFields {
  const wanted = kinds.filter((k) => isBuiltinKind(k.apiVersion, k.kind));
  if (!declared || wanted.some((k) => !declared!.keys.has(`${k.apiVersion}/${k.kind}`))) {
    const all = [...new Map([...COMMON_KINDS, ...wanted, ...[...(declared?.keys ?? [])].map((key) => ({ apiVersion: key.slice(0, key.lastIndexOf("/")), kind: key.slice(key.lastIndexOf("/") + 1) }))].map((k) => [`${k.apiVersion}/${k.kind}`, k])).values()];
    declared = { keys: new Set(all.map((k) => `${k.apiVersion}/${k.kind}`)), fields: new DeclaredFields(all) };
  }
  return declared.fields;
}

/** Validates built-in objects of the given kinds. */
export class BuiltinValidator {
  private readonly fields: DeclaredFields;

  constructor(kinds: ReadonlyArray<{ apiVersion: string; kind: string }>) {
    this.fields = declaredFieldsFor(kinds);
  }

  /**
   * @param object - a full object (apiVersion, kind, metadata, ...).
   * @param partial - a patch (e.g. `NodePatch`): only unknown fields are checked, not required ones.
   */
  validate(object: Record<string, unknown>, partial = false): Finding[] {
    const apiVersion = String(object["apiVersion"]);
    const kind = String(object["kind"]);
    const findings: Finding[] = [];
    this.fields.check(object, apiVersion, kind, findings);
    if (!partial) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the kind's module is known only at run time
      const Model = (require(modulePath(apiVersion, kind)) as Record<string, ModelClass>)[kind]!;
      try {
        new Model(object).validate();
      } catch (error) {
        const errors = (error as { errors?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }> }).errors;
        for (const e of errors ?? [{ message: (error as Error).message }]) {
          const missing = e.params?.["missingProperty"];
          findings.push({
            kind: "invalid",
            path: dotted(e.instancePath ?? "") || "(root)",
            message: missing ? `missing required field "${String(missing)}"` : (e.message ?? "invalid"),
          });
        }
      }
    }
    return findings;
  }
}
