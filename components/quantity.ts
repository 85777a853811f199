/**
 * Kubernetes resource quantities (`500Gi`, `250m`, `4`, `1e3`), parsed as Kubernetes defines them
 * (k8s.io/apimachinery `pkg/api/resource/quantity.go`):
 *
 * ```
 * <quantity>     ::= <signedNumber><suffix>
 * <number>       ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 * <suffix>       ::= <binarySI> | <decimalExponent> | <decimalSI>
 * <binarySI>     ::= Ki | Mi | Gi | Ti | Pi | Ei
 * <decimalSI>    ::= n | u | m | "" | k | M | G | T | P | E
 * <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
 * ```
 *
 * No npm package parses this grammar on its own; `@kubernetes/client-node` has a parser but is a whole
 * API client. Dependency-free, so the policy pack can use it.
 */

const NUMBER = String.raw`[+-]?(?:\d+\.?\d*|\.\d+)`;
const QUANTITY = new RegExp(`^(${NUMBER})(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE]${NUMBER})?$`);

const MULTIPLIERS: Readonly<Record<string, number>> = {
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * The value of a Kubernetes quantity in base units (bytes for memory and storage, cores for CPU), or
 * `undefined` when the text is not a quantity (`"lots"`, `"4 cores"`, `"1K"`: Kubernetes' kilo is `k`).
 */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const suffix = match[2] ?? "";
  const multiplier = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : MULTIPLIERS[suffix]!;
  return Number(match[1]) * multiplier;
}
