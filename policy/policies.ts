/**
 * Every policy of the WARIS pack, as a plain array: tests and the offline plan use it directly; only
 * `index.ts` wraps it in a `PolicyPack` (which starts a gRPC server).
 */
import type { Policies } from "@pulumi/policy";
import { bucketEncryptionPolicy, encryptionAtRestPolicy, encryptionInTransitPolicy, storeEncryptionPolicy } from "./encryption";
import { backupRetentionPolicy, recoveryObjectivesPolicy, replicationLagAlertPolicy } from "./recovery";
import { coveragePolicy } from "./preview";
import { serviceAllowListPolicy } from "./network";
import { volumeEncryptionPolicy } from "./volumes";
import { dataResidencyPolicy } from "./residency";

/** Name of the policy pack. */
export const POLICY_PACK_NAME = "waris-hybrid";

/** All policies, residency first. */
export const warisPolicies: Policies = [
  dataResidencyPolicy,
  encryptionAtRestPolicy,
  bucketEncryptionPolicy,
  storeEncryptionPolicy,
  encryptionInTransitPolicy,
  recoveryObjectivesPolicy,
  backupRetentionPolicy,
  replicationLagAlertPolicy,
  serviceAllowListPolicy,
  volumeEncryptionPolicy,
  coveragePolicy,
];
