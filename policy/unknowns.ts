/**
 * Values unknown during a preview (`pulumi preview` before a resource exists: ids, ARNs, generated
 * names). `@pulumi/policy` throws `UnknownValueError` when a policy reads one, and its server turns the
 * whole policy into one advisory "can't run during preview" (server.js: the catch around
 * `validateStack`), which for a stack policy switches it off for every resource. The pack instead
 * checks resource by resource: an unknown value skips only the check that read it, for that resource,
 * and `waris-preview-unknowns` (advisory) lists what was skipped.
 */
import type { PolicyResource } from "@pulumi/policy";
import { UnknownValueError } from "@pulumi/policy";

/** Whether an error is the policy SDK's unknown-value error. */
export function isUnknownValue(e: unknown): e is Error {
  return e instanceof UnknownValueError || (e instanceof Error && e.constructor.name === "UnknownValueError");
}

/** A check skipped because it read a value unknown during preview. */
export interface SkippedCheck {
  /** The resource. */
  readonly urn: string;
  /** What was skipped and which value was unknown. */
  readonly message: string;
}

/**
 * Runs one resource's check; an unknown value skips it (recorded in `skipped` when given) instead of
 * aborting the policy for the whole stack.
 */
export function guarded(r: PolicyResource, check: string, fn: () => void, skipped?: SkippedCheck[]): void {
  try {
    fn();
  } catch (e) {
    if (!isUnknownValue(e)) throw e;
    skipped?.push({ urn: r.urn, message: `${check} of ${r.type} "${r.name}" skipped during preview: ${e.message}` });
  }
}

/** Reads a value, giving `undefined` where it is unknown during preview (for indexes built over the whole stack). */
export function peek<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (isUnknownValue(e)) return undefined;
    throw e;
  }
}

/**
 * The message of the first value unknown during preview under what `read` returns (the read itself
 * included: a property proxy throws on access), or undefined when all are known.
 */
export function firstUnknown(read: () => unknown): string | undefined {
  const walk = (v: unknown): void => {
    if (v !== null && typeof v === "object") for (const key of Object.keys(v)) walk((v as Record<string, unknown>)[key]);
  };
  try {
    walk(read());
    return undefined;
  } catch (e) {
    if (!isUnknownValue(e)) throw e;
    return e.message;
  }
}

/** First unknown value found in each props object (`null`: none), memoized: props proxies are read-only. */
const firstUnknownMemo = new WeakMap<object, string | null>();

/**
 * The message of the first value of a resource unknown during preview, or undefined when every value
 * is known. Walks the whole properties object once per object (memoized).
 */
export function unknownIn(r: PolicyResource): string | undefined {
  const props = r.props as object;
  const memo = firstUnknownMemo.get(props);
  if (memo !== undefined) return memo ?? undefined;
  const found = firstUnknown(() => props) ?? null;
  firstUnknownMemo.set(props, found);
  return found ?? undefined;
}
