/**
 * Runs Pulumi code under the SDK's mock runtime and records every resource registration, with what the
 * mocks alone do not show: the parent, the provider, and which inputs are secret.
 *
 * One recording per process: the SDK's runtime state is global.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** A resource the program registered. */
export interface RecordedResource {
  /** URN as the mock monitor made it (`…::<parentType>$<type>::<name>`). */
  readonly urn: string;
  /** Resource type token, e.g. `kubernetes:apps/v1:Deployment`. */
  readonly type: string;
  /** Logical name. */
  readonly name: string;
  /** Whether it is a custom resource (false for components and the stack). */
  readonly custom: boolean;
  /** Mock URN of the parent, if any. */
  readonly parent?: string;
  /** Mock URN of the explicit provider, if any. */
  readonly provider?: string;
  /** Inputs with secrets unwrapped (what a provider would receive). */
  readonly inputs: Record<string, unknown>;
  /** Dotted paths of inputs that were secret. */
  readonly secretPaths: readonly string[];
  /** Inputs exactly as serialized for the engine (secret and unknown markers kept): what a policy pack receives. */
  readonly serialized: Record<string, unknown>;
  /** The `ignoreChanges` option: properties the engine leaves alone after creation. */
  readonly ignoreChanges: readonly string[];
  /** The `retainOnDelete` option: deleting it from the program leaves the object in place (state only). */
  readonly retainOnDelete: boolean;
  /** The `protect` option: the engine refuses to delete it. */
  readonly protect: boolean;
  /** URNs of the resources it depends on (`dependsOn` and its inputs' resources). */
  readonly dependencies: readonly string[];
  /** Per input property, the URNs of the resources its value came from (what the engine hands a stack policy as `propertyDependencies`). */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

/** What one recorded run produced. */
export interface Recording {
  /** Every registration, in the order the requests reached the monitor (the stack first). */
  readonly resources: readonly RecordedResource[];
  /** Stack outputs as serialized for the engine: secrets stay wrapped in the SDK's secret signature. */
  stackOutputs?: Record<string, unknown>;
}

/** The SDK's marker for a secret value inside serialized properties. */
export const SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a serialized value is a secret envelope. */
export function isSerializedSecret(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIGNATURE_KEY] === SECRET_SIGNATURE;
}

/** Removes secret envelopes, collecting the paths where they were. */
function unwrapSecrets(value: unknown, path: string, secretPaths: string[]): unknown {
  if (isSerializedSecret(value)) {
    secretPaths.push(path);
    return unwrapSecrets(value.value, path, secretPaths);
  }
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secretPaths));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = unwrapSecrets(v, path ? `${path}.${k}` : k, secretPaths);
    return out;
  }
  return value;
}

interface StructLike {
  toJavaScript(): Record<string, unknown>;
}
interface RegisterRequestLike {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getProvider(): string;
  getObject(): StructLike | undefined;
  getIgnorechangesList(): string[];
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (value: { getUrnsList(): string[] }, key: string) => void): void };
  getRetainondelete(): boolean | undefined;
  getProtect(): boolean | undefined;
}
interface RegisterResponseLike {
  getUrn(): string;
}
interface OutputsRequestLike {
  getUrn(): string;
  getOutputs(): StructLike | undefined;
}
type Callback<T> = (err: Error | null, response?: T) => void;
interface MonitorLike {
  registerResource(req: RegisterRequestLike, cb: Callback<RegisterResponseLike>): void;
  registerResourceOutputs(req: OutputsRequestLike, cb: Callback<unknown>): void;
}

/** Options of {@link startRecording}. */
export interface RecordingOptions {
  /** Project name (`pulumi.getProject()`). */
  readonly project: string;
  /** Stack name (`pulumi.getStack()`). */
  readonly stack: string;
  /** Config values keyed `<namespace>:<key>`, as the engine passes them (strings, objects JSON-encoded). */
  readonly config?: Record<string, string>;
  /** Config keys that hold secrets. */
  readonly secretKeys?: readonly string[];
  /** Run as a preview (`pulumi.runtime.isDryRun()` true). Default true: the plan is a preview. */
  readonly preview?: boolean;
  /**
   * The program's directory: the mocks go into the `@pulumi/pulumi` that resolves from there. A program
   * with its own `node_modules` has its own copy of the SDK. Default: this project's copy.
   */
  readonly programDir?: string;
}

/** The SDK the current recording runs on, and its package directory. */
let sdk: typeof pulumi = pulumi;
let sdkRoot = path.dirname(require.resolve("@pulumi/pulumi/package.json"));

/**
 * Installs the mocks and the recorder. Mocked resources echo their inputs as outputs, with an id of
 * `<name>-id`; provider functions echo their arguments.
 */
export async function startRecording(options: RecordingOptions): Promise<Recording> {
  // Slots are taken when a registration request arrives and filled when the mock answers, so the
  // order does not depend on how fast each answer comes back.
  const slots: Array<RecordedResource | undefined> = [];
  const recording: Recording = {
    get resources() {
      return slots.filter((r): r is RecordedResource => r !== undefined);
    },
  };
  sdkRoot = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [options.programDir ?? __dirname] }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program's copy, located at run time
  sdk = options.programDir === undefined ? pulumi : (require(sdkRoot) as typeof pulumi);
  await sdk.runtime.setMocks(
    {
      newResource: (args) => ({ id: args.custom ? `${args.name}-id` : undefined, state: args.inputs }),
      call: (args) => args.inputs,
    },
    options.project,
    options.stack,
    options.preview ?? true,
  );
  sdk.runtime.setAllConfig(options.config ?? {}, [...(options.secretKeys ?? [])]);

  const monitor = sdk.runtime.getMonitor() as unknown as MonitorLike;
  const register = monitor.registerResource.bind(monitor);
  const urns = new Set<string>();
  monitor.registerResource = (req, cb) => {
    const slot = slots.push(undefined) - 1;
    register(req, (err, response) => {
      if (!err && response && urns.has(response.getUrn())) {
        // The mock monitor accepts a second resource with the same URN; the engine does not.
        cb(new Error(`Duplicate resource URN '${response.getUrn()}'; try giving it a unique name`));
        return;
      }
      if (!err && response) {
        urns.add(response.getUrn());
        const secretPaths: string[] = [];
        const serialized = req.getObject()?.toJavaScript() ?? {};
        const inputs = unwrapSecrets(serialized, "", secretPaths) as Record<string, unknown>;
        const provider = req.getProvider();
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((value, key) => {
          if (value.getUrnsList().length > 0) propertyDependencies[key] = value.getUrnsList();
        });
        slots[slot] = {
          urn: response.getUrn(),
          type: req.getType(),
          name: req.getName(),
          custom: req.getCustom(),
          parent: req.getParent() || undefined,
          // A provider reference is `<urn>::<id>`; keep the URN.
          provider: provider ? provider.slice(0, provider.lastIndexOf("::")) : undefined,
          inputs,
          secretPaths,
          serialized,
          ignoreChanges: req.getIgnorechangesList(),
          retainOnDelete: req.getRetainondelete() ?? false,
          protect: req.getProtect() ?? false,
          dependencies: req.getDependenciesList(),
          propertyDependencies,
        };
      }
      cb(err, response);
    });
  };
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, cb) => {
    if (req.getUrn().includes("::pulumi:pulumi:Stack::")) {
      recording.stackOutputs = req.getOutputs()?.toJavaScript() ?? {};
    }
    registerOutputs(req, cb);
  };
  return recording;
}

/**
 * The SDK captures a stack trace for every resource (its source position, for the engine) and for
 * every promise it tracks (for a leak message at exit). Under mocks neither is read: the mock monitor
 * drops source positions, and {@link runAsStack} waits for every registration itself. Capturing and
 * source-mapping those stacks was over half of a mocked run's time, so they are skipped while the
 * program runs. Errors the program throws keep their stacks. Returns the function that restores all.
 */
function withoutEngineOnlyStackTraces(): () => void {
  const resource = sdk.Resource as unknown as { stackTrace?: (skip: number) => unknown[] };
  // The tracker's module is internal to the SDK; resolve the copy that belongs to the SDK in use.
  let debuggable: { debuggablePromise?: <T>(p: Promise<T>, ctx: unknown) => Promise<T> } | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an internal module, located at run time
    debuggable = require(path.join(sdkRoot, "runtime", "debuggable.js")) as typeof debuggable;
  } catch {
    debuggable = undefined;
  }
  const stackTrace = resource.stackTrace;
  const track = debuggable?.debuggablePromise;
  const sourceMaps = process.sourceMapsEnabled;
  if (stackTrace) resource.stackTrace = () => [];
  if (debuggable && track) debuggable.debuggablePromise = (p) => p;
  process.setSourceMapsEnabled(false);
  return () => {
    if (stackTrace) resource.stackTrace = stackTrace;
    if (debuggable && track) debuggable.debuggablePromise = track;
    process.setSourceMapsEnabled(sourceMaps);
  };
}

/**
 * Runs `program` as the body of a Pulumi stack (the way the engine runs `index.ts`) and waits until every
 * registration has reached the recorder.
 *
 * @returns the stack outputs, secrets unwrapped.
 */
export async function runAsStack(program: () => Promise<Record<string, unknown> | void>): Promise<Record<string, unknown>> {
  // A program that throws would leave the stack's own promises rejected with no handler, which kills
  // the process; so the stack completes empty and the program's error is rethrown afterwards.
  let failure: { error: unknown } | undefined;
  const restore = withoutEngineOnlyStackTraces();
  let outputs: Record<string, unknown> | undefined;
  try {
    outputs = (await sdk.runtime.runInPulumiStack(async () => {
      try {
        return (await program()) ?? {};
      } catch (error) {
        failure = { error };
        return {};
      }
    })) as Record<string, unknown> | undefined;
    await sdk.runtime.disconnect();
  } finally {
    restore();
  }
  if (failure) throw failure.error;
  return (outputs ?? {}) as Record<string, unknown>;
}
