/**
 * The situations whose plans must be accepted upstream: each stack as committed, prod failed over to
 * G-Cloud (steady), and prod in every phase of a disaster failover and failback (what only those phases
 * write: the promotion token, the fencing annotation, MongoDB's pause and forced reconfiguration, the
 * rebuilt generation's clusters, DNS on the other site).
 */
import { procedurePhases } from "../components/failover";

/** One plan to check: a stack file, optionally with settings changed. */
export interface Scenario {
  readonly name: string;
  readonly stack: string;
  /** Edits engine config (`<namespace>:<key>` → JSON text) before the run. */
  readonly edit?: (config: Record<string, string>) => void;
}

/**
 * A promotion token shaped like CloudNativePG's `status.demotionToken` (base64 JSON of the pg_controldata
 * fields, pkg/utils/parser.go), with made-up values: what the promote phase carries.
 */
const PLANNING_TOKEN = Buffer.from(
  JSON.stringify({ latestCheckpointTimelineID: "1", redoWalFile: "000000010000000000000005", databaseSystemIdentifier: "7247012345678901234", latestCheckpointREDOLocation: "0/5000028", timeOfLatestCheckpoint: "Mon 30 Nov 2026 10:00:00 UTC", operatorVersion: "1.27.0" }),
).toString("base64");

/** prod in each phase of a disaster to G-Cloud and the failback to on-prem (steady states are above). */
const phaseScenarios: Scenario[] = [...procedurePhases(["onprem", "gcloud"], "gcloud", "disaster"), ...procedurePhases(["onprem", "gcloud"], "onprem", "failback", {}, PLANNING_TOKEN)]
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
];
