/**
 * How an S3-compatible object store encrypts at rest, declared per store (a site setting), and what each
 * writer must therefore send. One table; pure and free of provider SDKs, so the policy pack imports it.
 *
 * A store without a KMS (MinIO without KES, a lab store) rejects every request that carries an SSE header,
 * `PutBucketEncryption` included: Barman Cloud's `wal`/`data` `encryption`, Percona's `sseAlgorithm` and a
 * bucket encryption configuration then fail (cloudnative-pg/charts issue 198, cloudnative-pg/plugin-barman-cloud
 * issue 646; MinIO docs, "Server-Side Object Encryption": SSE-S3 and SSE-KMS need KES). Such a store
 * encrypts by itself (encrypted disks, the platform's own encryption) or not at all; its owner declares which.
 */
import { ArgumentProblem, show } from "./errors";

/**
 * How a store encrypts at rest:
 * - `sse-s3`: the store encrypts each object with its own AES-256 keys when asked (`x-amz-server-side-encryption: AES256`);
 * - `sse-kms`: with a key of its KMS (`aws:kms`, optionally a key id);
 * - `store-managed`: the store encrypts everything by itself and accepts no SSE header.
 */
export const STORE_ENCRYPTIONS = ["sse-s3", "sse-kms", "store-managed"] as const;

/** A store's encryption at rest; see {@link STORE_ENCRYPTIONS}. */
export type StoreEncryption = (typeof STORE_ENCRYPTIONS)[number];

/** What a store declares. */
export interface StoreEncryptionSpec {
  /** How it encrypts at rest. */
  readonly mode: StoreEncryption;
  /** `sse-kms` only: the KMS key (id or ARN); default: the store's default key. */
  readonly kmsKeyId?: string;
}

/** What a store that declares nothing is taken to do: SSE-S3, what AWS S3 and the G-Cloud store accept. */
export const DEFAULT_STORE_ENCRYPTION: StoreEncryptionSpec = { mode: "sse-s3" };

/**
 * The SSE algorithm (the `x-amz-server-side-encryption` value) a writer sends to a store of each mode;
 * undefined: send none. The same names in Barman Cloud (`encryption`), Percona (`sseAlgorithm`), S3
 * bucket encryption (`sseAlgorithm`) and the AWS CLI (`--sse`).
 */
export const SSE_ALGORITHM: Readonly<Record<StoreEncryption, "AES256" | "aws:kms" | undefined>> = {
  "sse-s3": "AES256",
  "sse-kms": "aws:kms",
  "store-managed": undefined,
};

/** Every problem with a declaration (pure); `argumentPrefix` e.g. `objectStore`. */
export function storeEncryptionProblems(spec: { readonly mode?: string; readonly kmsKeyId?: string }, argumentPrefix: string): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  if (spec.mode !== undefined && !(STORE_ENCRYPTIONS as readonly string[]).includes(spec.mode)) {
    problems.push({ argument: `${argumentPrefix}.encryption`, message: `is ${show(spec.mode)}; allowed: ${STORE_ENCRYPTIONS.join(", ")}` });
  }
  if (spec.kmsKeyId !== undefined && spec.mode !== "sse-kms") {
    problems.push({ argument: `${argumentPrefix}.kmsKeyId`, message: `is set, but encryption is ${show(spec.mode ?? DEFAULT_STORE_ENCRYPTION.mode)}; a KMS key applies to sse-kms only` });
  }
  return problems;
}

/**
 * Barman Cloud `ObjectStore` `spec.configuration.wal.encryption` / `data.encryption` (enum `AES256`, `aws:kms`
 * in plugin-barman-cloud 0.4.0's CRD); undefined: leave it out. The CRD has no KMS key field: with `sse-kms`
 * the store's default key (or the bucket's default rule) applies.
 */
export function barmanEncryption(spec: StoreEncryptionSpec): string | undefined {
  return SSE_ALGORITHM[spec.mode];
}

/** Percona's `s3.serverSideEncryption` (psmdb CRD field names). */
export interface PerconaServerSideEncryption {
  /** `AES256` or `aws:kms`. */
  readonly sseAlgorithm: string;
  /** KMS key, with `aws:kms`. */
  readonly kmsKeyID?: string;
}

/** The default rule of an S3 bucket encryption configuration (`applyServerSideEncryptionByDefault`). */
export interface BucketEncryptionDefault {
  /** `AES256` or `aws:kms`. */
  readonly sseAlgorithm: string;
  /** KMS key, with `aws:kms`. */
  readonly kmsMasterKeyId?: string;
}

/** Percona backup storage `s3.serverSideEncryption`; undefined: leave it out. */
export function perconaServerSideEncryption(spec: StoreEncryptionSpec): PerconaServerSideEncryption | undefined {
  const algorithm = SSE_ALGORITHM[spec.mode];
  if (!algorithm) return undefined;
  return spec.kmsKeyId ? { sseAlgorithm: algorithm, kmsKeyID: spec.kmsKeyId } : { sseAlgorithm: algorithm };
}

/** The default rule of a bucket's encryption configuration; undefined: the bucket gets no configuration. */
export function bucketEncryptionDefault(spec: StoreEncryptionSpec): BucketEncryptionDefault | undefined {
  const algorithm = SSE_ALGORITHM[spec.mode];
  if (!algorithm) return undefined;
  return spec.kmsKeyId ? { sseAlgorithm: algorithm, kmsMasterKeyId: spec.kmsKeyId } : { sseAlgorithm: algorithm };
}

/** `aws s3 cp` arguments for an upload to the store (`--sse AES256`, `--sse aws:kms [--sse-kms-key-id k]`, or none). */
export function awsCliSseArgs(spec: StoreEncryptionSpec): string[] {
  const algorithm = SSE_ALGORITHM[spec.mode];
  if (!algorithm) return [];
  return ["--sse", algorithm, ...(spec.kmsKeyId ? ["--sse-kms-key-id", spec.kmsKeyId] : [])];
}
