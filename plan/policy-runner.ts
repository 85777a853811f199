/**
 * Runs CrossGuard policies without the engine or a gRPC server, handing them the same arguments the
 * policy pack's server builds for `Analyze` and `AnalyzeStack`: properties deserialized from a protobuf
 * Struct by `@pulumi/policy` itself, wrapped in its `unknownCheckingProxy`, and the same handling of
 * unknown values (advisory "can't run during preview"), not-applicable and enforcement levels.
 */
import type {
  EnforcementLevel,
  Policies,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  Severity,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { UnknownValueError, unknownCheckingProxy } from "@pulumi/policy";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";

// The pack's own deserializer (internal to @pulumi/policy, but the exact code its server runs).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { deserializeProperties } = require("@pulumi/policy/deserialize") as {
  deserializeProperties(struct: Struct, proxySecrets: boolean): Record<string, unknown>;
};

/** A resource as the engine sends it to the analyzer. */
export interface AnalyzerResource {
  /** URN. */
  readonly urn: string;
  /** Type token. */
  readonly type: string;
  /** Logical name. */
  readonly name: string;
  /** Properties as serialized for the engine (secret/unknown markers kept). */
  readonly properties: Record<string, unknown>;
  /** URN of the parent. */
  readonly parent?: string;
  /** URNs this resource depends on. */
  readonly dependencies?: readonly string[];
  /** Per input property, the URNs its value came from. */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
  /**
   * The provider: the explicit one, or the default provider the engine creates from the stack's
   * `<package>:*` config (see plan/default-providers.ts). The engine sends either (pulumi/pulumi
   * pkg/resource/deploy/step_generator.go, `getProviderResource(new.URN, new.Provider)`).
   */
  readonly provider?: { readonly urn: string; readonly type: string; readonly name: string; readonly properties: Record<string, unknown> };
}

/** One diagnostic, as a preview prints it. */
export interface PolicyDiagnostic {
  /** Policy name. */
  readonly policyName: string;
  /** Policy description. */
  readonly description: string;
  /** What is wrong. */
  readonly message: string;
  /** `mandatory` fails the preview; `advisory` only warns. */
  readonly enforcementLevel: EnforcementLevel;
  /** Severity, when the policy declares one. */
  readonly severity?: Severity;
  /** How to fix it, when the policy says. */
  readonly remediationSteps?: string;
  /** URN of the resource at fault, when there is one. */
  readonly urn?: string;
}

/** Config of a pack: per policy name, its properties and optionally its enforcement level. */
export type PackConfig = Record<string, Record<string, unknown> & { enforcementLevel?: EnforcementLevel }>;

const OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
} as unknown as PolicyResourceOptions;

function toProps(serialized: Record<string, unknown>): Record<string, unknown> {
  // Struct cannot hold `undefined`; the engine never sends it either.
  const clean = JSON.parse(JSON.stringify(serialized)) as Record<string, unknown>;
  return unknownCheckingProxy(deserializeProperties(Struct.fromJavaScript(clean as never), false)) as Record<string, unknown>;
}

/** `isType`/`asType` as the server does them: generated resource classes carry their type token. */
function typeHelpers(type: string, props: Record<string, unknown>) {
  const isType = (resourceClass: unknown): boolean => (resourceClass as { __pulumiType?: string }).__pulumiType === type;
  return { isType, asType: ((resourceClass: unknown) => (isType(resourceClass) ? props : undefined)) as never };
}

class NotApplicable extends Error {}
const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

function isStackPolicy(p: Policies[number]): p is StackValidationPolicy {
  return typeof (p as StackValidationPolicy).validateStack === "function";
}

/**
 * Reads a policy config file as `pulumi preview --policy-pack-config` takes it: per policy name, either an
 * enforcement level (`"advisory"`) or an object of properties with an optional `enforcementLevel`.
 */
export function parsePolicyConfig(text: string, file = "policy config"): PackConfig {
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${file}: must be a JSON object keyed by policy name`);
  const config: PackConfig = {};
  for (const [policy, value] of Object.entries(parsed)) {
    if (typeof value === "string") config[policy] = { enforcementLevel: value as EnforcementLevel };
    else if (typeof value === "object" && value !== null && !Array.isArray(value)) config[policy] = value as PackConfig[string];
    else throw new Error(`${file}: "${policy}" must be an enforcement level or an object`);
  }
  return config;
}

/**
 * Applies each policy's config schema defaults under the given config, as the CLI does before `Configure`.
 */
export function completeConfig(policies: Policies, config: PackConfig = {}): PackConfig {
  const complete: PackConfig = {};
  for (const p of policies) {
    const defaults: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(p.configSchema?.properties ?? {})) {
      const d = (schema as { default?: unknown }).default;
      if (d !== undefined) defaults[key] = d;
    }
    complete[p.name] = { ...defaults, ...(config[p.name] ?? {}) };
  }
  return complete;
}

/**
 * Runs every policy on the resources: resource policies once per resource (like `Analyze`), stack
 * policies once on all of them (like `AnalyzeStack`).
 *
 * @param pack - the pack's name, version and default enforcement level.
 */
export async function runPolicies(
  pack: { readonly name: string; readonly version: string; readonly enforcementLevel: EnforcementLevel },
  policies: Policies,
  resources: readonly AnalyzerResource[],
  config: PackConfig = {},
): Promise<PolicyDiagnostic[]> {
  const complete = completeConfig(policies, config);
  const diagnostics: PolicyDiagnostic[] = [];
  // Deserialize each resource once; the proxies are read-only views, safe to share between policies.
  const props = resources.map((r) => toProps(r.properties));
  const providers = resources.map((r): PolicyProviderResource | undefined =>
    r.provider ? { type: r.provider.type, name: r.provider.name, urn: r.provider.urn, props: toProps(r.provider.properties) } : undefined,
  );
  const stackTags = new Map<string, string>();

  for (const p of policies) {
    const { enforcementLevel: configured, ...properties } = complete[p.name] ?? {};
    let level: EnforcementLevel = configured ?? p.enforcementLevel ?? pack.enforcementLevel;
    if (level === "disabled") continue;
    if (level === "remediate") level = "mandatory";
    const getConfig = <T extends object>(): T => properties as T;
    const report =
      (urnDefault?: string) =>
      (message: string, urn?: string): void => {
        diagnostics.push({
          policyName: p.name,
          description: p.description,
          message,
          enforcementLevel: level,
          severity: p.severity,
          remediationSteps: p.remediationSteps,
          urn: urnDefault ?? urn,
        });
      };
    const unknown = (e: UnknownValueError, urn?: string): void => {
      diagnostics.push({
        policyName: p.name,
        description: p.description,
        message: `can't run policy '${p.name}' from policy pack '${pack.name}@v${pack.version}' during preview: ${e.message}`,
        enforcementLevel: "advisory",
        severity: p.severity,
        urn,
      });
    };

    if (isStackPolicy(p)) {
      const list: PolicyResource[] = resources.map((r, i) => ({
        type: r.type,
        props: props[i]!,
        urn: r.urn,
        name: r.name,
        opts: OPTIONS,
        dependencies: [],
        propertyDependencies: {},
        provider: providers[i],
        ...typeHelpers(r.type, props[i]!),
      }));
      const byUrn = new Map(list.map((r) => [r.urn, r]));
      resources.forEach((r, i) => {
        const parent = r.parent ? byUrn.get(r.parent) : undefined;
        if (parent) list[i]!.parent = parent;
        list[i]!.dependencies = (r.dependencies ?? []).map((d) => byUrn.get(d)).filter((d): d is PolicyResource => d !== undefined);
        for (const [key, urns] of Object.entries(r.propertyDependencies ?? {})) {
          list[i]!.propertyDependencies[key] = urns.map((d) => byUrn.get(d)).filter((d): d is PolicyResource => d !== undefined);
        }
      });
      const args: StackValidationArgs = { resources: list, getConfig, stackTags, notApplicable };
      try {
        await p.validateStack(args, report());
      } catch (e) {
        if (e instanceof UnknownValueError) unknown(e);
        else if (!(e instanceof NotApplicable)) throw new Error(`Error validating stack with policy '${p.name}': ${(e as Error).message}`, { cause: e });
      }
      continue;
    }

    const resourcePolicy = p as ResourceValidationPolicy;
    const validations = resourcePolicy.validateResource === undefined ? [] : Array.isArray(resourcePolicy.validateResource) ? resourcePolicy.validateResource : [resourcePolicy.validateResource];
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i]!;
      const args: ResourceValidationArgs = {
        type: r.type,
        props: props[i]!,
        urn: r.urn,
        name: r.name,
        opts: OPTIONS,
        stackTags,
        ...typeHelpers(r.type, props[i]!),
        getConfig,
        notApplicable,
      };
      if (providers[i]) args.provider = providers[i];
      const reportHere = report(r.urn);
      for (const validation of validations) {
        try {
          await validation(args, reportHere);
        } catch (e) {
          if (e instanceof UnknownValueError) unknown(e, r.urn);
          else if (!(e instanceof NotApplicable)) throw new Error(`Error validating resource ${r.urn} with policy '${p.name}': ${(e as Error).message}`, { cause: e });
        }
      }
    }
  }
  return diagnostics;
}
