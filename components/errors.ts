/**
 * Errors for bad component arguments. Every component validates its arguments before it registers a
 * child, and reports each problem with the argument's name, the value given and what is allowed.
 */

/** One problem with one argument. */
export interface ArgumentProblem {
  /** Dotted path of the argument, e.g. `autoscaling.minNodes`. */
  readonly argument: string;
  /** What is wrong and what is allowed instead. */
  readonly message: string;
}

/** Thrown by a component whose arguments are invalid; lists every problem found, not just the first. */
export class InvalidArgumentsError extends Error {
  /** The problems, in the order they were found. */
  readonly problems: readonly ArgumentProblem[];

  /**
   * @param component - what was being built, e.g. `GpuNodePool "onprem-inference"`.
   * @param problems - at least one problem.
   */
  constructor(component: string, problems: readonly ArgumentProblem[]) {
    super(
      `${component} has invalid arguments:\n` +
        problems.map((p) => `  - ${p.argument}: ${p.message}`).join("\n"),
    );
    this.name = "InvalidArgumentsError";
    this.problems = problems;
  }
}

/** Throws {@link InvalidArgumentsError} when `problems` is not empty. */
export function throwIfInvalid(component: string, problems: readonly ArgumentProblem[]): void {
  if (problems.length > 0) throw new InvalidArgumentsError(component, problems);
}

/** Renders a value for an error message: strings quoted, everything else as JSON. */
export function show(value: unknown): string {
  if (value === undefined) return "(not set)";
  return JSON.stringify(value);
}
