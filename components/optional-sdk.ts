/**
 * The cloud provider SDKs a team may not use (`@pulumi/aws`, `@pulumi/azure-native`,
 * `@pulumi/digitalocean`) are optional peer dependencies of the package: an on-prem-only team does not
 * install them (together 226 MB of `node_modules`). A component loads one only when it creates a resource
 * of that cloud, through {@link loadOptionalSdk}, so importing the package never requires them and the
 * published type declarations never name them.
 */

/** The optional provider SDKs, each with the version range the package is built and tested against. */
export const OPTIONAL_SDKS = {
  /** AWS: `aws` sites, and buckets on any S3-compatible store (MinIO on-prem, G-Cloud). */
  "@pulumi/aws": "^7.48.0",
  /** Azure: `azure` sites. */
  "@pulumi/azure-native": "^3.28.0",
  /** DigitalOcean: `digitalocean` sites. */
  "@pulumi/digitalocean": "^4.80.1",
  /** Vault: keys from Vault (stack setting `vault`, components/vault-keys.ts). */
  "@pulumi/vault": "^7.8.0",
} as const;

/** One of {@link OPTIONAL_SDKS}. */
export type OptionalSdk = keyof typeof OPTIONAL_SDKS;

/** Thrown when a component needs an optional provider SDK the program has not installed. */
export class MissingSdkError extends Error {
  /** The package to install. */
  readonly sdk: OptionalSdk;

  /**
   * @param sdk - the missing package.
   * @param neededBy - what needs it, e.g. `Site "dr": objectStore (an S3-compatible store)`.
   */
  constructor(sdk: OptionalSdk, neededBy: string) {
    super(`${neededBy} needs the provider SDK ${sdk}, an optional peer dependency of @waris/hybrid-infra that is not installed: npm install ${sdk}@"${OPTIONAL_SDKS[sdk]}"`);
    this.name = "MissingSdkError";
    this.sdk = sdk;
  }
}

/**
 * Loads a module of an optional provider SDK, e.g. `loadOptionalSdk("@pulumi/aws", "s3", …)`.
 *
 * @param sdk - the package.
 * @param subpath - module inside it (`provider`, `s3`, `eks`…); loading one module, not the package
 *   index, keeps the load time of the 100 MB SDKs small.
 * @param neededBy - what needs it, for the error.
 * @returns the module; the caller states its type (`typeof import("@pulumi/aws/s3")`).
 * @throws MissingSdkError when the package is not installed where the program can resolve it.
 */
export function loadOptionalSdk<T>(sdk: OptionalSdk, subpath: string, neededBy: string): T {
  const id = `${sdk}/${subpath}`;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy by design: the package is optional
    return require(id) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "MODULE_NOT_FOUND" && e.message.includes(`'${sdk}`)) throw new MissingSdkError(sdk, neededBy);
    throw err;
  }
}
