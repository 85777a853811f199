/**
 * The situations whose plans must be accepted upstream: each stack as committed, prod failed over to
 * G-Cloud (steady), prod in every phase of a disaster failover and failback, and a switchover's demote
 * (what only those phases write: the promotion token, the fencing annotation, MongoDB's pause and forced
 * reconfiguration, the rebuilt generation's clusters, DNS on the other site, Milvus's final backup and
 * restore Jobs with their RBAC).
 */
import { PLANNING_PROMOTION_TOKEN, procedurePhases } from "../components/failover";

/** One plan to check: a stack file, optionally with settings changed. */
export interface Scenario {
  readonly name: string;
  readonly stack: string;
  /** Edits engine config (`<namespace>:<key>` → JSON text) before the run. */
  readonly edit?: (config: Record<string, string>) => void;
}

/** prod in each phase of a disaster to G-Cloud and the failback to on-prem (steady states are above). */
const phaseScenarios: Scenario[] = [...procedurePhases(["onprem", "gcloud"], "gcloud", "disaster"), ...procedurePhases(["onprem", "gcloud"], "onprem", "failback", {}, PLANNING_PROMOTION_TOKEN)]
  .filter((step) => step.situation.procedure !== undefined)
  .filter((step, i, all) => all.findIndex((s) => JSON.stringify(s.situation) === JSON.stringify(step.situation)) === i)
  .map((step) => ({
    name: `prod ${step.label}`,
    stack: "prod",
    edit: (config) => {
      const s = step.situation;
      config["waris-hybrid:activeSite"] = s.activeSite;
      config["waris-hybrid:failover"] = JSON.stringify({
        procedure: s.procedure!.procedure,
        phase: s.procedure!.phase,
        from: s.procedure!.from,
        ...(s.procedure!.promotionToken ? { promotionToken: s.procedure!.promotionToken } : {}),
        ...(s.conditions ? { conditions: s.conditions } : {}),
        ...(s.generations ? { generations: s.generations } : {}),
      });
    },
  }));

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
  ...phaseScenarios,
  {
    name: "prod switchover demote to gcloud",
    stack: "prod",
    edit: (config) => {
      config["waris-hybrid:activeSite"] = "gcloud";
      config["waris-hybrid:failover"] = JSON.stringify({ procedure: "switchover", phase: "demote", from: "onprem" });
    },
  },
];
