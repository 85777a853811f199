/**
 * Which keys the stack's program needs and where each comes from (pure: from validated settings).
 *
 * - Every backup writer gets its own object-store keys ({@link objectStoreWriterUses}): without Vault, a
 *   pair of stack secrets per writer and site; with Vault, a KV entry `object-store/<site>/<writer>`.
 * - The secrets an operator supplies (PostgreSQL's application password, Redis's password, the LLM API key)
 *   are stack secrets without Vault, KV entries `stack/<name>` with it ({@link SUPPLIED_SECRETS}).
 */
import { OBJECT_STORE_WRITERS, ObjectStoreWriter, objectStoreKeyPath, objectStoreWriterPolicy, suppliedSecretPath } from "../components/keys";
import { vaultKvPutCommand } from "../components/vault-keys";
import { postgresAppPasswordName } from "../components/postgres-cluster";
import { redisPasswordName } from "../components/redis-primary";
import { inferenceApiKeyName } from "../components/inference-cluster";
import type { StackSettings } from "./config";
import { backupSiteName, dataSiteNames, hasKubeconfig } from "./placement";

/** The names `index.ts` gives the components whose keys the stack supplies. */
export const PROGRAM_COMPONENTS = { postgres: "waris-postgres", redis: "waris-redis", inference: "waris-llm" } as const;

/**
 * The namespaces `index.ts` puts the datastores and the inference cluster in (the only ones, with the
 * monitoring namespace, whose Secrets come from the key store: the Vault store admits no other).
 */
export const PROGRAM_NAMESPACES = { postgres: "waris-postgres", mongodb: "waris-mongodb", redis: "waris-redis", milvus: "waris-milvus", inference: "waris-inference" } as const;

/**
 * The secrets an operator supplies, by stack secret key: each one's name in the key store (its Vault KV
 * entry `stack/<name>`, property `value`, as the component names it), and the setting that needs it.
 */
export const SUPPLIED_SECRETS = {
  postgresAppPassword: { name: postgresAppPasswordName(PROGRAM_COMPONENTS.postgres), setting: "postgres", purpose: "password of the PostgreSQL application user" },
  redisPassword: { name: redisPasswordName(PROGRAM_COMPONENTS.redis), setting: "redis", purpose: "password Redis clients authenticate with" },
  inferenceApiKey: { name: inferenceApiKeyName(PROGRAM_COMPONENTS.inference), setting: "inference", purpose: "bearer token the applications send to the LLM endpoint" },
} as const;

/** A stack secret key of {@link SUPPLIED_SECRETS}. */
export type SuppliedSecretKey = keyof typeof SUPPLIED_SECRETS;

/** The supplied secrets the settings need (pure). */
export function suppliedSecretsNeeded(settings: Pick<StackSettings, "postgres" | "redis" | "inference">): SuppliedSecretKey[] {
  return (Object.keys(SUPPLIED_SECRETS) as SuppliedSecretKey[]).filter((k) => settings[SUPPLIED_SECRETS[k].setting] !== undefined);
}

/** One writer on one site's store, with the bucket it is limited to. */
export interface ObjectStoreWriterUse {
  /** The store's site. */
  readonly site: string;
  /** The writer. */
  readonly writer: ObjectStoreWriter;
  /** Its bucket. */
  readonly bucket: string;
}

/** `s3://bucket/prefix` → `bucket`. */
function s3Bucket(source: string | undefined): string | undefined {
  const m = source === undefined ? null : /^s3:\/\/([^/]+)\//.exec(source);
  return m ? m[1] : undefined;
}

/**
 * Every (site, writer) the program gives object-store keys to, with the writer's bucket, in a stable order
 * (pure). The backups and the model store are on the backup site; Milvus keeps its segments on every data
 * site with a store.
 */
export function objectStoreWriterUses(settings: StackSettings): ObjectStoreWriterUse[] {
  const uses: ObjectStoreWriterUse[] = [];
  const backupSite = backupSiteName(settings);
  if (backupSite !== undefined) {
    if (settings.postgres) uses.push({ site: backupSite, writer: "postgres", bucket: settings.postgres.backupBucket });
    if (settings.mongodb) uses.push({ site: backupSite, writer: "mongodb", bucket: settings.mongodb.backupBucket });
    if (settings.redis) uses.push({ site: backupSite, writer: "redis", bucket: settings.redis.backupBucket });
    if (settings.milvus) uses.push({ site: backupSite, writer: "milvus-backup", bucket: settings.milvus.backupBucket });
    const inf = settings.inference;
    const modelBuckets = inf ? [...new Set([s3Bucket(inf.primary.source), s3Bucket(inf.overflow?.source)].filter((b): b is string => b !== undefined))] : [];
    for (const bucket of modelBuckets) uses.push({ site: backupSite, writer: "models", bucket });
  }
  if (settings.milvus) {
    for (const site of dataSiteNames(settings.sites)) {
      if (settings.sites[site]!.objectStore !== undefined) uses.push({ site, writer: "milvus", bucket: settings.milvus.dataBucket });
    }
  }
  return uses;
}

/** PascalCase of a writer: `milvus-backup` → `MilvusBackup`. */
function pascal(writer: ObjectStoreWriter): string {
  return writer.replace(/(^|-)([a-z])/g, (_, _d: string, c: string) => c.toUpperCase());
}

/** Stack secret key suffixes of a writer's pair: `ObjectStore<Writer>AccessKeyId`, `…SecretAccessKey`. */
export function writerSecretSuffixes(writer: ObjectStoreWriter): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: `ObjectStore${pascal(writer)}AccessKeyId`, secretAccessKey: `ObjectStore${pascal(writer)}SecretAccessKey` };
}

/** Every writer key suffix, for telling a secret key from a setting. */
export const WRITER_SECRET_SUFFIXES: readonly string[] = OBJECT_STORE_WRITERS.flatMap((w) => Object.values(writerSecretSuffixes(w)));

/** The sites whose clusters get Secrets from the key store: every site the program has a kubeconfig for. */
export function keySites(settings: Pick<StackSettings, "sites">): string[] {
  return Object.entries(settings.sites)
    .filter(([, s]) => hasKubeconfig(s))
    .map(([n]) => n);
}

/**
 * With Vault: the `vault kv put` commands that supply what the program reads (pure); generated passwords
 * are not among them (External Secrets generates and pushes them).
 */
export function vaultSupplyCommands(settings: StackSettings, kvPath: string): string[] {
  const supplied = suppliedSecretsNeeded(settings).map((k) => `${vaultKvPutCommand(kvPath, suppliedSecretPath(SUPPLIED_SECRETS[k].name), ["value"])}  # ${SUPPLIED_SECRETS[k].purpose}`);
  const writers = objectStoreWriterUses(settings).map(
    (u) => `${vaultKvPutCommand(kvPath, objectStoreKeyPath(u.site, u.writer), ["accessKeyId", "secretAccessKey"])}  # ${u.writer} on the ${u.site} store, limited to bucket ${u.bucket}`,
  );
  return [...supplied, ...writers];
}

/**
 * The store-side setup of each writer's keys: a user per writer and site, and the policy limiting it to its
 * bucket, as MinIO's `mc` commands (MinIO docs, "mc admin policy create", "mc admin user add", "mc admin
 * policy attach"). On MinIO a user's name is its access key id: the writer's `accessKeyId` (stack secret or
 * Vault KV entry) is `user`. A store without IAM (the G-Cloud service sheet decides) issues per-writer keys
 * from its console, with the same policy where it takes one.
 */
export function objectStoreWriterSetup(settings: StackSettings, stack: string): Array<ObjectStoreWriterUse & { user: string; policy: Record<string, unknown>; commands: string[] }> {
  return objectStoreWriterUses(settings).map((u) => {
    const user = `waris-${u.writer}`;
    const policyName = `waris-${u.writer}-${u.bucket}`;
    return {
      ...u,
      user,
      policy: objectStoreWriterPolicy(u.writer, u.bucket),
      commands: [
        `npm run -s plan -- --stack ${stack} --json | jq '.outputs.keys.objectStoreWriters[] | select(.site == "${u.site}" and .writer == "${u.writer}") | .policy' > ${policyName}.json`,
        `mc admin policy create <${u.site} alias> ${policyName} ${policyName}.json`,
        `mc admin user add <${u.site} alias> ${user} <its secret access key>  # the access key id is the user name: ${user}`,
        `mc admin policy attach <${u.site} alias> ${policyName} --user ${user}`,
      ],
    };
  });
}
