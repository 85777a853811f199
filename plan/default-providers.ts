/**
 * The default providers the engine creates for resources that name no provider, so the offline runner
 * hands the policies the same `args.provider` a real `pulumi preview` does.
 *
 * Confirmed from source: `@pulumi/policy` 1.21 (`server.js`, `getProviderResource`) copies the
 * request's provider (type, URN, name, deserialized properties) into `args.provider` of a resource
 * policy and into each `PolicyResource.provider` of a stack policy; the engine fills that provider for
 * every resource from its provider reference, default providers included (pulumi/pulumi
 * `pkg/resource/deploy/step_generator.go`: `getProviderResource(new.URN, new.Provider)` with
 * `Properties: providerResource.Inputs`). A default provider's inputs are the stack's config in the
 * package's namespace (`aws:region: ap-southeast-7` → `region: "ap-southeast-7"`) plus `version`.
 * Not confirmed here (no engine to run): the exact default provider name (`default_<version>` with
 * dots as underscores is what state files show) and whether object-valued config keys arrive as JSON
 * strings; the policies read only string keys (`region`, `location`, `endpoints`).
 */
import type { AnalyzerResource } from "./policy-runner";

/** Packages whose resources get a default provider when they are given none. */
export const DEFAULT_PROVIDER_PACKAGES = ["aws", "azure-native", "digitalocean", "kubernetes"] as const;

/** What the default providers are made from. */
export interface DefaultProviderContext {
  /** Project name (for URNs). */
  readonly project: string;
  /** Stack name (for URNs). */
  readonly stack: string;
  /** Engine config keyed `<namespace>:<key>`, strings, as in the stack file. */
  readonly config: Readonly<Record<string, string>>;
  /** SDK version per package, for the provider's name and `version` input; missing ones are named `default`. */
  readonly versions?: Readonly<Record<string, string>>;
}

/** The default provider of one package: its inputs are the package's config keys, without the namespace. */
export function defaultProvider(pkg: string, context: DefaultProviderContext): NonNullable<AnalyzerResource["provider"]> {
  const version = context.versions?.[pkg];
  const name = version ? `default_${version.replace(/[.-]/g, "_")}` : "default";
  const type = `pulumi:providers:${pkg}`;
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context.config)) {
    if (key.startsWith(`${pkg}:`)) properties[key.slice(pkg.length + 1)] = value;
  }
  if (version) properties.version = version;
  return { urn: `urn:pulumi:${context.stack}::${context.project}::${type}::${name}`, type, name, properties };
}

/**
 * Gives every custom resource of {@link DEFAULT_PROVIDER_PACKAGES} without an explicit provider its
 * package's default provider, and lists those providers first (the engine registers them before the
 * first resource that uses them, and a stack policy sees them among the resources).
 *
 * @param custom - whether a resource is a custom resource (components get no provider).
 */
export function withDefaultProviders(resources: readonly AnalyzerResource[], custom: (r: AnalyzerResource) => boolean, context: DefaultProviderContext): AnalyzerResource[] {
  const used = new Map<string, NonNullable<AnalyzerResource["provider"]>>();
  const out = resources.map((r) => {
    const pkg = r.type.split(":")[0] ?? "";
    if (r.provider || r.type.startsWith("pulumi:") || !custom(r) || !(DEFAULT_PROVIDER_PACKAGES as readonly string[]).includes(pkg)) return r;
    let provider = used.get(pkg);
    if (!provider) {
      provider = defaultProvider(pkg, context);
      used.set(pkg, provider);
    }
    return { ...r, provider };
  });
  const providers: AnalyzerResource[] = [...used.values()].map((p) => ({ urn: p.urn, type: p.type, name: p.name, properties: p.properties }));
  return [...providers, ...out];
}
