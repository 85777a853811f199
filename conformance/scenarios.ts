/**
 * The situations whose plans must be accepted upstream: each stack as committed, and prod failed over
 * to G-Cloud (every object the standby site gets when it is the active one).
 */

/** One plan to check: a stack file, optionally with settings changed. */
export interface Scenario {
  readonly name: string;
  readonly stack: string;
  /** Edits engine config (`<namespace>:<key>` → JSON text) before the run. */
  readonly edit?: (config: Record<string, string>) => void;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: "prod", stack: "prod" },
  { name: "dev", stack: "dev" },
  {
    name: "prod failed over to gcloud",
    stack: "prod",
    edit: (config) => {
      config["waris-hybrid:activeSite"] = "gcloud";
    },
  },
];
