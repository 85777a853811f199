/**
 * `waris-coverage` (advisory): what the pack could not check, said out loud instead of passed in
 * silence: resources of data-holding modules that the coverage table does not know, and checks skipped
 * for one resource because a value is unknown during preview (see policy/unknowns.ts).
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { coverageOf, moduleOf } from "./coverage";
import { isDatasetType } from "./datasets";
import { IN_TRANSIT_CONFIG_SCHEMA, InTransitConfig, atRestFindings, inTransitFindings } from "./encryption";
import { isPlaced } from "./placement";
import { cloudRetentionFindings } from "./recovery";
import { RESIDENCY_CONFIG_SCHEMA, residencyFindings } from "./residency";
import { RETENTION_POLICY_DEFAULTS } from "./thresholds";
import { SkippedCheck, unknownIn } from "./unknowns";

const ignore = (): void => undefined;

/** Uncovered types and checks skipped during preview. */
export const coveragePolicy: StackValidationPolicy = {
  name: "waris-coverage",
  description: "Says what the pack could not check: resource types of data-holding modules missing from its coverage table, and checks skipped for a resource because a value is unknown during preview.",
  enforcementLevel: "advisory",
  severity: "medium",
  remediationSteps:
    "For an uncovered type, add it to policy/coverage.ts (whether it holds data, its region field, encryption, retention and copy fields) with a test against the provider SDK; " +
    "a skipped check runs on the next preview once the value is known (after the first update).",
  validateStack: (args, reportViolation) => {
    const withUnknowns = new Set<string>();
    for (const r of args.resources) {
      const coverage = coverageOf(r.type);
      if (!coverage.known && coverage.dataModule && isPlaced(r.type)) {
        reportViolation(`${r.type} "${r.name}" is of the data-holding module ${moduleOf(r.type)} but not in the pack's coverage table: its encryption, retention and copies are not checked, and residency treats it as storage.`, r.urn);
      }
      const unknown = unknownIn(r);
      if (unknown === undefined) continue;
      withUnknowns.add(r.urn);
      if (isDatasetType(r.type)) reportViolation(`recovery checks of ${r.type} "${r.name}" skipped during preview: ${unknown}`, r.urn);
    }
    if (withUnknowns.size === 0) return;
    // Only resources with an unknown value are checked again, to name the checks that were skipped.
    const only = (r: PolicyResource): boolean => withUnknowns.has(r.urn);
    const skipped: SkippedCheck[] = [];
    residencyFindings(args.resources, { allowedCountries: RESIDENCY_CONFIG_SCHEMA.properties.allowedCountries.default }, ignore, skipped, only);
    atRestFindings(args.resources, ignore, skipped, only);
    const transit = Object.fromEntries(Object.entries(IN_TRANSIT_CONFIG_SCHEMA.properties).map(([k, v]) => [k, v.default])) as unknown as InTransitConfig;
    inTransitFindings(args.resources, transit, ignore, skipped, only);
    cloudRetentionFindings(args.resources, RETENTION_POLICY_DEFAULTS, ignore, skipped, only);
    for (const s of skipped) reportViolation(s.message, s.urn);
  },
};
