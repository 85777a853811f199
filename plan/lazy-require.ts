/**
 * Two packages `@pulumi/pulumi` (3.248) requires when it is loaded, but uses only to serialize a
 * JavaScript function into a resource (`pulumi.runtime.serializeFunction`, e.g. AWS Lambda callbacks),
 * are loaded on first use instead:
 * - `typescript` (9 MB, through `typescript-shim.js`, for `runtime/closure/parseFunction.js`,
 *   `rewriteSuper.js`, `utils.js`);
 * - `@npmcli/arborist` (`runtime/closure/codePaths.js`; with pacote, sigstore and npm-registry-fetch,
 *   about 500 modules).
 * Together they are about half of what loading the SDK costs (1.2 s of CPU of a plan), and neither this
 * program nor any mocked run serializes a function. What a module gets is a proxy that loads the real
 * package the first time anything reads, enumerates or tests one of its properties, so a program that
 * does serialize a function gets the same package, only later.
 */
import Module from "node:module";

/** The SDK's modules whose `require` of these packages is deferred (POSIX or Windows separators). */
const SDK_CLOSURE_MODULE = /[\\/]@pulumi[\\/]pulumi[\\/](typescript-shim\.js|runtime[\\/]closure[\\/][^\\/]+\.js)$/;

/**
 * The deferred packages, with what `__esModule` reads as before the package is loaded: `true` where the
 * SDK reads it through TypeScript's `__importStar`, which would otherwise copy every key and so load the
 * package at once (`codePaths.js`: `__importStar(require("@npmcli/arborist"))`); `typescript` is used as
 * a plain namespace (`ts.createSourceFile`). Once loaded, the package's own value is read.
 */
export const DEFERRED_SDK_PACKAGES: Readonly<Record<string, boolean | undefined>> = { typescript: undefined, "@npmcli/arborist": true };

/**
 * A stand-in for a module that calls `load` (once) when it is first used and from then on answers with
 * the loaded module's properties.
 *
 * @param load - returns the real module.
 * @param esModule - what `__esModule` reads as while the module is not loaded.
 */
export function lazyModule(load: () => object, esModule: boolean | undefined): object {
  let real: object | undefined;
  const target = (): Record<PropertyKey, unknown> => (real ??= load()) as Record<PropertyKey, unknown>;
  return new Proxy(
    {},
    {
      get: (_, key) => (key === "__esModule" && real === undefined ? esModule : target()[key]),
      has: (_, key) => key in target(),
      ownKeys: () => Reflect.ownKeys(target()),
      getOwnPropertyDescriptor: (_, key) => {
        // Loaders look for this key on every module they load (tsx: Node's marker of a CommonJS view of
        // an ES module); neither deferred package is an ES module, so it is absent without loading them.
        if (key === "module.exports" && real === undefined) return undefined;
        const d = Object.getOwnPropertyDescriptor(target(), key);
        // A proxy may not report a property non-configurable that its (empty) target lacks.
        return d && { ...d, configurable: true };
      },
      set: (_, key, value) => Reflect.set(target(), key, value),
    },
  );
}

/** The parts of Node's CommonJS loader this hooks (internal but stable since Node 0.x). */
interface ModuleLoader {
  _load(request: string, parent: { filename?: string } | undefined, isMain: boolean): unknown;
  _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
}

let installed = false;

/**
 * From now on in this process, the SDK's closure modules get {@link DEFERRED_SDK_PACKAGES} as
 * {@link lazyModule}s. Call before `@pulumi/pulumi` is loaded; calling again does nothing. The package
 * is still resolved at once, so a missing one fails where it did (the SDK's `typescript-shim.js` then
 * falls back to the TypeScript it vendors).
 */
export function deferSdkSerializerPackages(): void {
  if (installed) return;
  installed = true;
  const loader = Module as unknown as ModuleLoader;
  const load = loader._load;
  loader._load = function (request, parent, isMain) {
    if (Object.hasOwn(DEFERRED_SDK_PACKAGES, request) && parent?.filename !== undefined && SDK_CLOSURE_MODULE.test(parent.filename)) {
      const resolved = loader._resolveFilename(request, parent, isMain);
      return lazyModule(() => load.call(this, resolved, parent, isMain) as object, DEFERRED_SDK_PACKAGES[request]);
    }
    return load.call(this, request, parent, isMain);
  };
}
