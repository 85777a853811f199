/**
 * The situations whose plans must be accepted upstream: each stack as committed, and prod failed over
 * to G-Cloud (every object the standby site gets when it is the active one), and the procedure phases that
 * create objects of their own (Milvus's final backup Job in a demote, its restore Job and RBAC in a promote).
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
  {
    name: "prod switchover demote to gcloud",
    stack: "prod",
    edit: (config) => {
      config["waris-hybrid:activeSite"] = "gcloud";
      config["waris-hybrid:failover"] = JSON.stringify({ procedure: "switchover", phase: "demote", from: "onprem" });
    },
  },
  {
    name: "prod disaster promote to gcloud",
    stack: "prod",
    edit: (config) => {
      config["waris-hybrid:activeSite"] = "gcloud";
      config["waris-hybrid:failover"] = JSON.stringify({ procedure: "disaster", phase: "promote", from: "onprem", conditions: { onprem: "lost" } });
    },
  },
];
