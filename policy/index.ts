/**
 * The WARIS CrossGuard policy pack: `pulumi preview -s prod --policy-pack policy`.
 * Mandatory by default; a stack can lower it with a policy config file (see README).
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICY_PACK_NAME, warisPolicies } from "./policies";

new PolicyPack(POLICY_PACK_NAME, { policies: warisPolicies, enforcementLevel: "mandatory" });
