import * as pulumi from "@pulumi/pulumi";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import * as random from "@pulumi/random";
import { ArgumentProblem, show } from "./errors";
import { CertificateSpec, IssuedCertificate, SharedCertificateAuthority } from "./pki";

/**
 * Where the platform's keys come from and how they reach pods: the certificate authorities, the
 * passwords the program generates, the secrets an operator supplies (the stack's secrets, each backup
 * writer's object-store keys).
 *
 * Two stores implement it:
 * - {@link PulumiStateKeys} (the default): CAs and passwords are made by `@pulumi/tls` and `@pulumi/random`
 *   and live, encrypted, in the Pulumi state; pods get them from plain Kubernetes Secrets the program writes.
 * - `VaultKeys` (components/vault-keys.ts), where the stack has Vault: the CAs are Vault PKI mounts whose
 *   private keys never leave Vault, certificates are issued by cert-manager's Vault issuer, passwords and
 *   keys are generated in the cluster by External Secrets generators (`Password`; `VaultDynamicSecret` over
 *   Vault's `sys/tools/random` for keys) and kept in Vault KV, and every Secret a pod reads is written by
 *   External Secrets from Vault KV. Nothing secret passes through Pulumi.
 *
 * Components never register a key-bearing Secret themselves: they ask the store for one.
 */
export interface KeyStore {
  /** `pulumi-state` or `vault`: what the README's security section calls each. */
  readonly kind: "pulumi-state" | "vault";
  /**
   * A private CA shared by every site (TLS verified across Kubernetes clusters).
   *
   * @param name - prefix of its resource names, e.g. `waris-postgres-pki`.
   * @param commonName - the CA certificate's CN.
   * @param opts - parent of the CA's resources.
   */
  certificateAuthority(name: string, commonName: string, opts: pulumi.CustomResourceOptions): CertificateAuthority;
  /**
   * A password the program generates once and every site shares (letters and digits only, so it can be
   * written into any configuration file unquoted).
   *
   * @param name - unique in the program, e.g. `waris-milvus-root` (Vault KV path `generated/<name>`).
   * @param length - characters; at least 16.
   * @param opts - parent of the generator's resources in the Pulumi-state store.
   */
  generatedPassword(name: string, length: number, opts: pulumi.CustomResourceOptions): KeyValue;
  /**
   * A key the program generates once and every site shares: the standard (padded) base64 of `bytes`
   * bytes, e.g. MongoDB's data-at-rest key (Percona's `encryption-key`: base64 of a 256-bit key, which
   * mongod decodes and requires to be 32 bytes). A password is no such key: its characters are not
   * random bytes and its text is not base64.
   *
   * The bytes are random: `@pulumi/random` `RandomBytes` in the Pulumi-state store, Vault's
   * `sys/tools/random` in the Vault store (see `VaultKeys.generatedKey`).
   *
   * @param name - unique in the program among generated passwords and keys, a DNS-1123 subdomain, e.g.
   *   `waris-mongo-encryption-key` (Vault KV path `generated/<name>`, property `key`).
   * @param bytes - length of the key in bytes, 16 to 64.
   * @param opts - parent of the generator's resources in the Pulumi-state store.
   * @throws KeyStoreError on a length outside 16..64 or, in the Vault store, a name that is not DNS-1123.
   */
  generatedKey(name: string, bytes: number, opts: pulumi.CustomResourceOptions): KeyValue;
  /**
   * A secret the operator supplies: from the stack (`pulumi config set --secret`) in the Pulumi-state
   * store, from Vault KV `stack/<name>` (property `value`) in the Vault store.
   *
   * @param name - kebab-case, e.g. `redis-password`.
   * @param fromStack - the stack's value; required by the Pulumi-state store.
   */
  suppliedSecret(name: string, fromStack: pulumi.Input<string> | undefined): KeyValue;
  /**
   * The object-store keys of one backup writer on one site's store (each writer its own, limited to its
   * bucket where the store supports it: see {@link objectStoreWriterPolicy}).
   *
   * @param site - the store's site.
   * @param writer - which writer.
   * @param fromStack - the stack's keys; required by the Pulumi-state store.
   */
  objectStoreKeys(site: string, writer: ObjectStoreWriter, fromStack: ObjectStoreKeyPair | undefined): ObjectStoreKeys;
  /**
   * Registers the Secret `target.name` with `data` (keys of the Secret to values or templates).
   *
   * @returns the resource to depend on: the Secret becomes readable once it is ready.
   */
  secret(target: SecretTarget, data: Readonly<Record<string, SecretData>>): pulumi.CustomResource;
}

/** A CA of a {@link KeyStore}. */
export interface CertificateAuthority {
  /** The CA certificate, PEM (public). */
  readonly caCert: pulumi.Output<string>;
  /**
   * Registers the TLS Secret `target.name` on the target's site, of type `kubernetes.io/tls`, with the
   * keys cert-manager writes: `tls.crt`, `tls.key`, `ca.crt` and, with `combinedPem`, `tls-combined.pem`
   * (key then certificate, cert-manager's `CombinedPEM` output format).
   *
   * @param id - the certificate's id in the CA: calls with the same id on several sites share its spec
   *   (the Pulumi-state store issues it once; the Vault store signs each site's request under one role).
   * @param spec - subject, DNS names and uses.
   */
  tlsSecret(id: string, target: SecretTarget, spec: CertificateSpec, options?: { readonly combinedPem?: boolean }): pulumi.CustomResource;
}

/** Who writes to (or reads from) an object store with keys of its own. */
export const OBJECT_STORE_WRITERS = ["postgres", "mongodb", "redis", "milvus", "milvus-backup", "models"] as const;

/** One of {@link OBJECT_STORE_WRITERS}. */
export type ObjectStoreWriter = (typeof OBJECT_STORE_WRITERS)[number];

/** An access key pair of an S3-compatible store. */
export interface ObjectStoreKeyPair {
  /** Access key id. */
  readonly accessKeyId: pulumi.Input<string>;
  /** Secret access key. */
  readonly secretAccessKey: pulumi.Input<string>;
}

/** A writer's keys as {@link KeyValue}s. */
export interface ObjectStoreKeys {
  /** Access key id. */
  readonly accessKeyId: KeyValue;
  /** Secret access key. */
  readonly secretAccessKey: KeyValue;
}

/**
 * One secret value: where it lives in Vault KV (`remoteKey`, `property`, under the KV mount) and, in the
 * Pulumi-state store, its value.
 */
export interface KeyValue {
  /** KV path under the mount, e.g. `generated/waris-milvus-root`. */
  readonly remoteKey: string;
  /** Property of the KV secret. */
  readonly property: string;
  /** The value, in the Pulumi-state store only. */
  readonly local?: pulumi.Output<string>;
}

/**
 * A value of a Secret: a {@link KeyValue}, a public text (a user name, or a CA certificate, which is an
 * output of the CA's resources), or a template that writes several values into one file (a YAML
 * configuration).
 */
export type SecretData =
  | KeyValue
  | {
      /**
       * The value as it is, public (a user name, a CA certificate, which may be an output of the CA's
       * resources): it is in the Pulumi state and in the ExternalSecret.
       */
      readonly text: pulumi.Input<string>;
    }
  | SecretTemplate;

/** A file built from several values. */
export interface SecretTemplate {
  /** The values, by name (letters, digits and `_`, starting with a letter). */
  readonly values: Readonly<Record<string, KeyValue>>;
  /**
   * Writes the file. `ref.raw(name)` is the value as it is; `ref.json(name)` the value as a JSON (and
   * so YAML) double-quoted string. The Vault store calls it with External Secrets template expressions
   * (`{{ .name }}`, `{{ .name | toJson }}`), the Pulumi-state store with the values themselves.
   */
  readonly render: (ref: TemplateRefs) => string;
}

/** What {@link SecretTemplate.render} writes values with. */
export interface TemplateRefs {
  /** The value `name` as it is. */
  raw(name: string): string;
  /** The value `name` as a JSON (and so YAML) double-quoted string. */
  json(name: string): string;
}

/** Where a Secret goes. */
export interface SecretTarget {
  /** Pulumi name of the resource that makes the Secret (a Secret, an ExternalSecret or a Certificate). */
  readonly resourceName: string;
  /** The site whose cluster it is on. */
  readonly site: string;
  /** Namespace. */
  readonly namespace: pulumi.Input<string>;
  /** The Secret's name. */
  readonly name: string;
  /** Labels of the Secret. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Secret type. Default `Opaque`. */
  readonly type?: string;
  /** Options: the site's provider, parent, aliases, dependsOn. */
  readonly opts: pulumi.CustomResourceOptions;
}

/** Whether `data` is a {@link SecretTemplate}. */
export function isSecretTemplate(data: SecretData): data is SecretTemplate {
  return "render" in data;
}

/** Whether `data` is a {@link KeyValue}. */
export function isKeyValue(data: SecretData): data is KeyValue {
  return "remoteKey" in data;
}

/** Template value names: they become Go template fields in External Secrets (`{{ .name }}`). */
const TEMPLATE_VALUE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Every problem with the data of a Secret (pure): a template value name that is not a Go template field,
 * a template or a text that holds `{{` of its own (External Secrets would read it as an expression). A
 * text that is not known yet (an output, e.g. a CA certificate) is checked by the Vault store once known
 * ({@link checkedText}).
 */
export function secretDataProblems(data: Readonly<Record<string, SecretData>>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (!isSecretTemplate(value)) {
      if (!isKeyValue(value) && typeof value.text === "string" && value.text.includes("{{")) problems.push(`${key}: text holds "{{", which External Secrets templates would evaluate`);
      continue;
    }
    for (const name of Object.keys(value.values)) {
      if (!TEMPLATE_VALUE_NAME.test(name)) problems.push(`${key}: template value ${show(name)} must be letters, digits and _, starting with a letter`);
    }
    const bare = value.render({ raw: () => "", json: () => '""' });
    if (bare.includes("{{")) problems.push(`${key}: template text holds "{{" of its own, which External Secrets would evaluate`);
  }
  return problems;
}

/**
 * A text value as External Secrets may template it: the text itself, or, for an output, the text once
 * known, failing the update if it holds `{{` (a PEM never does).
 *
 * @param where - what the text is, for the error, e.g. `Secret key "ca.crt"`.
 * @throws KeyStoreError (at once for a string, when known for an output) when the text holds `{{`.
 */
export function checkedText(where: string, text: pulumi.Input<string>): pulumi.Input<string> {
  const check = (t: string): string => {
    if (t.includes("{{")) throw new KeyStoreError(`${where}: text holds "{{", which External Secrets templates would evaluate`);
    return t;
  };
  return typeof text === "string" ? check(text) : pulumi.output(text).apply(check);
}

/**
 * Remembers the spec of each certificate id of a CA: one id is one certificate (Pulumi-state store) or one
 * Vault role (Vault store), so a second use must ask for the same names and uses.
 *
 * @throws KeyStoreError when `id` was used before with another spec.
 */
export function sameSpecForId(seen: Map<string, string>, caName: string, id: string, spec: CertificateSpec): boolean {
  const text = JSON.stringify(spec);
  const before = seen.get(id);
  if (before === undefined) {
    seen.set(id, text);
    return false;
  }
  if (before !== text) throw new KeyStoreError(`Certificate "${caName}-${id}" is asked for with two specs (${before} and ${text}); give each distinct certificate its own id`);
  return true;
}

/** Thrown when a store is asked for a value it cannot give (a stack secret the stack did not set). */
export class KeyStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyStoreError";
  }
}

/** The key lengths {@link KeyStore.generatedKey} takes, bytes: AES-128 to a 512-bit HMAC key. */
export const GENERATED_KEY_BYTES = {
  /** Shortest, bytes (AES-128). */
  min: 16,
  /** Longest, bytes. */
  max: 64,
} as const;

/** @throws KeyStoreError when `bytes` is not a whole number within {@link GENERATED_KEY_BYTES}. */
export function checkKeyLength(name: string, bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < GENERATED_KEY_BYTES.min || bytes > GENERATED_KEY_BYTES.max) {
    throw new KeyStoreError(`generated key ${show(name)}: length ${show(bytes)} bytes; allowed: a whole number from ${GENERATED_KEY_BYTES.min} to ${GENERATED_KEY_BYTES.max}`);
  }
}

/**
 * The problem with a secret the stack supplies that a component was not given (pure): the Pulumi-state
 * store (the default, `keys` undefined) needs it; the Vault store reads it from Vault KV instead.
 *
 * @param argument - the component's argument, e.g. `password`.
 */
export function suppliedSecretProblems(argument: string, value: unknown, keys: Pick<KeyStore, "kind"> | undefined): ArgumentProblem[] {
  if (value !== undefined || (keys !== undefined && keys.kind !== "pulumi-state")) return [];
  return [{ argument, message: "is not set; without Vault keys (`keys`) it comes from the stack (a Pulumi secret)" }];
}

/**
 * The first segment of every Vault KV entry a store reads, by kind: what External Secrets generates
 * (`generated/<name>`), what the operator supplies (`stack/<name>`) and each writer's object-store keys
 * (`object-store/<site>/<writer>`). The Vault store's read policy grants these and nothing else of the mount.
 */
export const KV_ENTRY_PREFIXES = {
  /** Generated passwords and keys. */
  generated: "generated",
  /** Secrets the operator supplies. */
  supplied: "stack",
  /** Each backup writer's object-store keys. */
  objectStore: "object-store",
} as const;

/** Vault KV path of a generated password or key: `generated/<name>`. */
export function generatedValuePath(name: string): string {
  return `${KV_ENTRY_PREFIXES.generated}/${name}`;
}

/** Whether `remoteKey` is the KV path of a generated value (`generated/<name>`). */
export function isGeneratedValuePath(remoteKey: string): boolean {
  return remoteKey.startsWith(`${KV_ENTRY_PREFIXES.generated}/`);
}

/** Vault KV path of a supplied secret: `stack/<name>`, property `value`. */
export function suppliedSecretPath(name: string): string {
  return `${KV_ENTRY_PREFIXES.supplied}/${name}`;
}

/** Vault KV path of a writer's object-store keys: `object-store/<site>/<writer>`. */
export function objectStoreKeyPath(site: string, writer: ObjectStoreWriter): string {
  return `${KV_ENTRY_PREFIXES.objectStore}/${site}/${writer}`;
}

/**
 * The actions each writer needs on its bucket (S3 API names), least first. Every writer that puts objects
 * also gets `s3:AbortMultipartUpload`: the tools upload large files in parts (Barman Cloud through boto3,
 * PBM, milvus-backup, `aws s3 cp`), which `s3:PutObject` covers, but abandoning a failed upload is a
 * separate action; without it the parts of a failed upload stay in the bucket, stored and billed (AWS S3
 * User Guide, "Multipart upload and permissions"; elastic/elasticsearch-cloud-aws#214).
 */
export const OBJECT_STORE_WRITER_ACTIONS: Readonly<Record<ObjectStoreWriter, readonly string[]>> = {
  // Barman Cloud lists, reads (restore, WAL fetch), writes and deletes (retention) in the archive.
  postgres: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
  // PBM lists, writes, reads and deletes its backups and oplog chunks.
  mongodb: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
  // The dump uploader writes (the bucket's lifecycle expires old dumps); `restoreFromDump` reads a dump
  // back with the same keys (RedisPrimary's restore-fetch container). No delete.
  redis: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
  // Milvus's own segments: read, write, delete (compaction).
  milvus: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
  // milvus-backup copies segments into the backup bucket, reads them back on restore and prunes.
  "milvus-backup": ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
  // The model cache only reads the artifacts.
  models: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"],
};

/**
 * The IAM policy document (AWS policy language, which MinIO and most S3-compatible stores take:
 * `mc admin policy create`) that limits a writer to its bucket: bucket-level actions on the bucket,
 * object actions on its objects, nothing else.
 */
export function objectStoreWriterPolicy(writer: ObjectStoreWriter, bucket: string): Record<string, unknown> {
  const actions = OBJECT_STORE_WRITER_ACTIONS[writer];
  const bucketLevel: readonly string[] = ["s3:ListBucket", "s3:GetBucketLocation"];
  const bucketActions = actions.filter((a) => bucketLevel.includes(a));
  const objectActions = actions.filter((a) => !bucketActions.includes(a));
  return {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: bucketActions, Resource: [`arn:aws:s3:::${bucket}`] },
      { Effect: "Allow", Action: objectActions, Resource: [`arn:aws:s3:::${bucket}/*`] },
    ],
  };
}

/**
 * The Pulumi-state store: today's behaviour, and the default of every component. CA keys and generated
 * passwords are resources of `@pulumi/tls`/`@pulumi/random` (secrets, encrypted in the state); the
 * supplied secrets come from the stack; pods read plain Kubernetes Secrets the program writes.
 */
export class PulumiStateKeys implements KeyStore {
  readonly kind = "pulumi-state" as const;
  private readonly passwords = new Map<string, KeyValue>();
  private readonly keys = new Map<string, KeyValue>();

  certificateAuthority(name: string, commonName: string, opts: pulumi.CustomResourceOptions): CertificateAuthority {
    const ca = new SharedCertificateAuthority(name, commonName, opts);
    const issued = new Map<string, IssuedCertificate>();
    const specs = new Map<string, string>();
    return {
      caCert: ca.caCert,
      tlsSecret: (id, target, spec, options) => {
        sameSpecForId(specs, name, id, spec);
        // One certificate per id, issued once whatever the number of sites it is placed on (the names
        // `<ca>-<id>` are those of the certificates issued before the store existed).
        let cert = issued.get(id);
        if (!cert) {
          cert = ca.issue(id, spec);
          issued.set(id, cert);
        }
        const stringData: Record<string, pulumi.Input<string>> = { "tls.crt": cert.cert, "tls.key": cert.key, "ca.crt": ca.caCert };
        if (options?.combinedPem) stringData["tls-combined.pem"] = pulumi.concat(cert.key, "\n", cert.cert);
        return new corev1.Secret(target.resourceName, { metadata: metadataOf(target), type: "kubernetes.io/tls", stringData }, target.opts);
      },
    };
  }

  generatedPassword(name: string, length: number, opts: pulumi.CustomResourceOptions): KeyValue {
    let value = this.passwords.get(name);
    if (!value) {
      value = { remoteKey: generatedValuePath(name), property: "password", local: new random.RandomPassword(name, { length, special: false }, opts).result };
      this.passwords.set(name, value);
    }
    return value;
  }

  generatedKey(name: string, bytes: number, opts: pulumi.CustomResourceOptions): KeyValue {
    checkKeyLength(name, bytes);
    let value = this.keys.get(name);
    if (!value) {
      value = { remoteKey: generatedValuePath(name), property: "key", local: new random.RandomBytes(name, { length: bytes }, opts).base64 };
      this.keys.set(name, value);
    }
    return value;
  }

  suppliedSecret(name: string, fromStack: pulumi.Input<string> | undefined): KeyValue {
    if (fromStack === undefined) throw new KeyStoreError(`the secret ${show(name)} is not set: without Vault it comes from the stack (pulumi config set --secret)`);
    return { remoteKey: suppliedSecretPath(name), property: "value", local: pulumi.secret(pulumi.output(fromStack)) };
  }

  objectStoreKeys(site: string, writer: ObjectStoreWriter, fromStack: ObjectStoreKeyPair | undefined): ObjectStoreKeys {
    if (fromStack === undefined) throw new KeyStoreError(`the object-store keys of writer ${show(writer)} on site ${show(site)} are not set: without Vault they come from the stack`);
    const path = objectStoreKeyPath(site, writer);
    return {
      accessKeyId: { remoteKey: path, property: "accessKeyId", local: pulumi.secret(pulumi.output(fromStack.accessKeyId)) },
      secretAccessKey: { remoteKey: path, property: "secretAccessKey", local: pulumi.secret(pulumi.output(fromStack.secretAccessKey)) },
    };
  }

  secret(target: SecretTarget, data: Readonly<Record<string, SecretData>>): pulumi.CustomResource {
    const problems = secretDataProblems(data);
    if (problems.length > 0) throw new KeyStoreError(`Secret ${show(target.name)}: ${problems.join("; ")}`);
    const stringData: Record<string, pulumi.Input<string>> = {};
    for (const [key, value] of Object.entries(data)) stringData[key] = localValue(target.name, key, value);
    return new corev1.Secret(target.resourceName, { metadata: metadataOf(target), ...(target.type ? { type: target.type } : {}), stringData }, target.opts);
  }
}

/** The metadata of a Secret a store writes. */
export interface SecretMetadata {
  /** The Secret's name. */
  name: string;
  /** Its namespace. */
  namespace: pulumi.Input<string>;
  /** Its labels, when the target has any. */
  labels?: Record<string, string>;
}

/** The Secret's metadata from its target. */
export function metadataOf(target: SecretTarget): SecretMetadata {
  return { name: target.name, namespace: target.namespace, ...(target.labels ? { labels: { ...target.labels } } : {}) };
}

/** The value of one Secret key in the Pulumi-state store. */
function localValue(secretName: string, key: string, value: SecretData): pulumi.Input<string> {
  if (isKeyValue(value)) return need(secretName, key, value);
  if (!isSecretTemplate(value)) return value.text;
  const names = Object.keys(value.values);
  const outputs = names.map((n) => need(secretName, `${key}.${n}`, value.values[n]!));
  return pulumi.secret(
    pulumi.all(outputs).apply((resolved) => {
      const byName = new Map(names.map((n, i) => [n, resolved[i]!]));
      const get = (n: string): string => {
        const v = byName.get(n);
        if (v === undefined) throw new KeyStoreError(`Secret ${show(secretName)} key ${show(key)}: template refers to ${show(n)}, which is not among its values`);
        return v;
      };
      return value.render({ raw: get, json: (n) => JSON.stringify(get(n)) });
    }),
  );
}

function need(secretName: string, key: string, value: KeyValue): pulumi.Output<string> {
  if (value.local === undefined) throw new KeyStoreError(`Secret ${show(secretName)} key ${show(key)}: ${value.remoteKey} is a Vault value; the Pulumi-state store cannot write it`);
  return value.local;
}
