import * as pulumi from "@pulumi/pulumi";
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import * as rbacv1 from "@pulumi/kubernetes/rbac/v1";
import { Release } from "@pulumi/kubernetes/helm/v3/release";
import { show } from "./errors";
import {
  CertificateAuthority,
  KeyStore,
  KeyStoreError,
  KeyValue,
  KV_ENTRY_PREFIXES,
  ObjectStoreKeyPair,
  ObjectStoreKeys,
  ObjectStoreWriter,
  SecretData,
  SecretTarget,
  checkedText,
  isKeyValue,
  checkKeyLength,
  generatedValuePath,
  isGeneratedValuePath,
  isSecretTemplate,
  metadataOf,
  objectStoreKeyPath,
  sameSpecForId,
  secretDataProblems,
  suppliedSecretPath,
} from "./keys";
import { isDns1123Subdomain, placementLabels } from "./labels";
import { loadOptionalSdk } from "./optional-sdk";
import { CertificateSpec, certificateSpecProblems } from "./pki";
import type { Site } from "./site";

/**
 * Keys from Vault (components/keys.ts explains the two stores).
 *
 * - **CAs**: one PKI mount per CA (`<pkiPath>/<ca name>`), its root generated `internal`: the private key
 *   never leaves Vault, and only the (public) CA certificate is in the Pulumi state. One tier on purpose:
 *   cert-manager's Vault issuer puts only the root in `ca.crt` and the intermediates in `tls.crt`
 *   (cert-manager#6632), which the operators here, reading `ca.crt` as the trust anchor, would not expect.
 * - **Certificates**: a PKI role per certificate id, limited to exactly its names, key type and usages; on each
 *   site a cert-manager `ClusterIssuer` signing with that role, and a `Certificate` whose Secret the pods mount.
 *   cert-manager logs in with Vault's Kubernetes auth as a ServiceAccount of its own namespace, through a
 *   bound token it requests (cert-manager docs "Vault": "Authenticating with Kubernetes Service Accounts").
 * - **Passwords and keys**: generated on a site by an External Secrets generator (`Password` for passwords,
 *   `VaultDynamicSecret` over Vault's `sys/tools/random` for keys) and pushed once to Vault KV
 *   `generated/<name>` by a `PushSecret` with `updatePolicy: IfNotExists`, so a later push never replaces
 *   it (external-secrets#2643, #5782: without it every refresh rotates the password). Every site pushes, one
 *   after the other: a site's PushSecret is created only once the previous site's is `Ready`, so it finds
 *   the entry and leaves it. Not at once: External Secrets' `IfNotExists` is a read, then a write that
 *   re-reads the entry and, if it is there by then, replaces its property with check-and-set on the version
 *   it just read (v2.9.0 pkg/controllers/pushsecret/pushsecret_controller.go `pushSecretEntry`:
 *   `SecretExists` then `PushSecret`; providers/v1/vault/client_push.go `PushSecret`, `getCASVersion`), so a
 *   site whose check came before the other's first write and whose write came after it would replace the
 *   value the other site's pods already read: for MongoDB's key, data files encrypted with a key Vault no
 *   longer holds. Check-and-set (ESO docs, "Check-And-Set (CAS) for PushSecret") only settles two writes
 *   that both found no entry. Every site then reads the same value. Each ExternalSecret that
 *   reads a generated value depends on its own site's PushSecret, which Pulumi waits for (`Ready`: the
 *   controller sets it once the value is in Vault, or was already, pkg/controllers/pushsecret/
 *   pushsecret_controller.go `markAsDone`), so no ExternalSecret is created before the entry it reads.
 * - **Supplied secrets and object-store keys**: put into Vault KV by the operator (`stack/<name>`,
 *   `object-store/<site>/<writer>`); {@link vaultKvCommands} lists the commands.
 * - **Every Secret a pod reads** is written by an `ExternalSecret` from a `ClusterSecretStore` per site,
 *   which logs in with the site's Kubernetes auth mount. The ExternalSecret carries `pulumi.com/waitFor:
 *   condition=Ready`, so what depends on it waits until the Secret is written.
 *
 * Every Kubernetes auth role here is bound to the audience {@link VAULT_AUDIENCE} and every token is
 * requested for it (cert-manager adds its own `vault://<issuer>`, internal/vault/vault.go), none an
 * audience the API server accepts, so a token cert-manager or External Secrets hands to Vault is good for
 * Vault and nothing else. (Vault 1.21 does not require an audience: it only warns
 * without one, hashicorp/web-unified-docs#1221.) Vault checks a login's token with the TokenReview API;
 * it must do so with a reviewer token of its own (`token_reviewer_jwt` of each auth mount, a
 * ServiceAccount with `system:auth-delegator`; README, "Keys"): without one, Vault presents the
 * client's own token as the bearer (vault-plugin-auth-kubernetes `token_review.go`; hashicorp/vault#12951),
 * which the API server refuses with 401 for those audiences (cert-manager/cert-manager#6150,
 * hashicorp/vault-secrets-operator#379), and the login fails with Vault's 403. So the program binds no `system:auth-delegator` to its clients.
 */

/** The audience of the ServiceAccount tokens Vault accepts: the only one they are requested for. */
export const VAULT_AUDIENCE = "vault";

/**
 * Default namespace of the key plumbing on each site (the External Secrets ServiceAccount, generators and
 * pushes): the store's name, so that two stores on one cluster (the platform's and a team's) never share it.
 */
export function keysNamespace(storeName: string, args: Pick<VaultKeysArgs, "namespace">): string {
  return args.namespace ?? storeName;
}

/** Namespace of cert-manager (installed by the PostgreSQL component's operators, or by the site). */
export const CERT_MANAGER_NAMESPACE = "cert-manager";

/** cert-manager's controller ServiceAccount (chart default `cert-manager`). */
export const CERT_MANAGER_SERVICE_ACCOUNT = "cert-manager";

/** The External Secrets chart this program installs (`installOperator`), and its namespace. */
export const EXTERNAL_SECRETS_CHART = {
  /** Helm repository. */
  repo: "https://charts.external-secrets.io",
  /** Chart name. */
  chart: "external-secrets",
  /** Chart version (app v2.9.0), checked against the upstream chart data. */
  version: "2.9.0",
  /** Namespace of the release. */
  namespace: "external-secrets",
} as const;

/** Vault settings of a stack (`vault`). */
export interface VaultSettings {
  /** Vault's address, `https://…` (plain HTTP is refused: tokens travel on it). */
  readonly address: string;
  /** PEM of the CA that signed Vault's TLS certificate, when it is not publicly trusted. Default none. */
  readonly caBundle?: string;
  /** Path prefix of the PKI mounts, one per CA. Default `waris-pki`. */
  readonly pkiPath?: string;
  /** Path of the KV version 2 mount. Default `waris`. */
  readonly kvPath?: string;
  /**
   * Per site, the path of the Kubernetes auth mount Vault's administrator configured for that site's
   * cluster (its API server address and CA), e.g. `{ onprem: "kubernetes-onprem" }`. Every site the program
   * puts a Secret on needs one.
   */
  readonly authMounts: Readonly<Record<string, string>>;
}

/** The defaults of {@link VaultSettings}. */
export const VAULT_DEFAULTS = {
  /** {@link VaultSettings.pkiPath}. */
  pkiPath: "waris-pki",
  /** {@link VaultSettings.kvPath}. */
  kvPath: "waris",
} as const;

/** A problem with a Vault setting. */
export interface VaultSettingProblem {
  /** Dotted path of the setting, e.g. `vault.authMounts.gcloud`. */
  readonly path: string;
  /** What is wrong and what is allowed. */
  readonly message: string;
}

/** The fields of a Vault PKI role ({@link pkiRoleFields}) that a certificate's spec decides. */
export interface PkiRoleFields {
  /** The common name and the DNS names, exactly (no subdomains, no globs). */
  readonly allowedDomains: string[];
  /** Whether it may sign server certificates (`server auth`). */
  readonly serverFlag: boolean;
  /** Whether it may sign client certificates (`client auth`). */
  readonly clientFlag: boolean;
  /** O of the subject. */
  readonly organizations: string[];
  /** OU of the subject. */
  readonly organizationUnit: string[];
}

/** One entry of an ExternalSecret's `spec.data`. */
export interface ExternalSecretRemote {
  /** The template field the value is bound to (`v<n>`). */
  readonly secretKey: string;
  /** Where the value is in Vault KV. */
  readonly remoteRef: {
    /** KV path under the mount. */
    readonly key: string;
    /** Property of the KV secret. */
    readonly property: string;
  };
}

/** The data of an ExternalSecret ({@link externalSecretData}). */
export interface ExternalSecretData {
  /** `spec.data`: each Vault value once, as a template field `v<n>`. */
  readonly remote: ExternalSecretRemote[];
  /** `spec.target.template.data`: each key of the Secret, a template over those fields (public text may be an output). */
  readonly template: Record<string, pulumi.Input<string>>;
}

/** Vault mount paths: segments of letters, digits, `-` and `_`, separated by `/`. */
const MOUNT_PATH = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/** The problem with a mount path that is not {@link MOUNT_PATH}. */
const notMountPath = (value: string): string => `is ${show(value)}; a Vault mount path is segments of letters, digits, - and _ separated by /`;

/**
 * Every problem with the Vault settings (pure), with the setting's path under `prefix`.
 *
 * @param sites - the sites that need keys (each needs an auth mount).
 */
export function vaultSettingsProblems(settings: VaultSettings, sites: readonly string[], prefix = "vault"): VaultSettingProblem[] {
  const problems: VaultSettingProblem[] = [];
  let url: URL | undefined;
  try {
    url = new URL(settings.address);
  } catch {
    problems.push({ path: `${prefix}.address`, message: `is ${show(settings.address)}, not a URL; give Vault's https:// address` });
  }
  if (url && url.protocol !== "https:") problems.push({ path: `${prefix}.address`, message: `is ${show(settings.address)}; Vault must be reached over https (tokens travel on it)` });
  if (settings.caBundle !== undefined && !settings.caBundle.includes("-----BEGIN CERTIFICATE-----")) {
    problems.push({ path: `${prefix}.caBundle`, message: "is not a PEM certificate (no -----BEGIN CERTIFICATE-----)" });
  }
  for (const key of ["pkiPath", "kvPath"] as const) {
    const v = settings[key];
    if (v !== undefined && !MOUNT_PATH.test(v)) problems.push({ path: `${prefix}.${key}`, message: notMountPath(v) });
  }
  for (const site of sites) {
    const mount = settings.authMounts[site];
    if (mount === undefined) problems.push({ path: `${prefix}.authMounts.${site}`, message: `is not set; site ${show(site)} gets Secrets from Vault, so name the Kubernetes auth mount Vault has for its cluster` });
    else if (!MOUNT_PATH.test(mount)) problems.push({ path: `${prefix}.authMounts.${site}`, message: notMountPath(mount) });
  }
  for (const site of Object.keys(settings.authMounts)) {
    if (!sites.includes(site)) problems.push({ path: `${prefix}.authMounts.${site}`, message: `names no site that gets Secrets; allowed: ${sites.join(", ") || "none"}` });
  }
  return problems;
}

/** The Vault policy (HCL) of cert-manager on a site: sign with every role of every CA mount, nothing else. */
export function issuerPolicy(pkiPath: string): string {
  return `# cert-manager: sign CSRs with the program's PKI roles\npath "${pkiPath}/+/sign/*" {\n  capabilities = ["create", "update"]\n}\n`;
}

/**
 * Vault's random source (Vault API docs, "/sys/tools", Generate random bytes: `POST
 * /sys/tools/random(/:source)(/:bytes)`, `bytes` and `format` "in the request body, or as a part of the
 * URL"). The generators send the length in the body, so this one exact path serves every key length and
 * the policy ({@link secretsPolicy}) grants exactly it, whatever keys the program asks for later.
 */
export const VAULT_RANDOM_PATH = "sys/tools/random";

/**
 * The field of Vault's answer that holds the bytes (`{"data": {"random_bytes": "…"}}`, same docs). With
 * `resultType: Data` the `VaultDynamicSecret` generator returns the answer's `data` fields as its keys
 * (generators/v1/vault/vault.go, `prepareResponse`), so this is the key the PushSecret pushes.
 */
export const VAULT_RANDOM_BYTES_FIELD = "random_bytes";

/**
 * The Vault policy (HCL) of External Secrets on a site (the same for every site): read the three kinds of KV
 * entries a store's Secrets are made of ({@link KV_ENTRY_PREFIXES}: supplied secrets, object-store keys and
 * generated values) and nothing else of the mount; create (never delete) the generated values, data and
 * metadata (ESO docs, "PushSecret": create, read and update on both); draw random bytes from Vault for the
 * generated keys ({@link VAULT_RANDOM_PATH}, `update` being what a POST needs).
 *
 * Not narrower, per site: the entries each site's ExternalSecrets read are known only once every
 * component has asked the store for its Secrets, after this policy has been registered (the roles, the
 * ClusterSecretStores and every ExternalSecret depend on it); see the README's token-policy section.
 */
export function secretsPolicy(kvPath: string): string {
  const { generated, supplied, objectStore } = KV_ENTRY_PREFIXES;
  return [
    "# External Secrets: read the supplied secrets and the object-store keys",
    `path "${kvPath}/data/${supplied}/*" {\n  capabilities = ["read"]\n}`,
    `path "${kvPath}/data/${objectStore}/*" {\n  capabilities = ["read"]\n}`,
    "# ...read the generated passwords and keys, and push each once (PushSecret, IfNotExists, check-and-set)",
    `path "${kvPath}/data/${generated}/*" {\n  capabilities = ["create", "read", "update"]\n}`,
    `path "${kvPath}/metadata/${generated}/*" {\n  capabilities = ["create", "read", "update"]\n}`,
    "# ...and draw the generated keys' random bytes (VaultDynamicSecret generator, the length in the body)",
    `path "${VAULT_RANDOM_PATH}" {\n  capabilities = ["update"]\n}`,
    "",
  ].join("\n");
}

/** How External Secrets logs in to Vault from a site: the ClusterSecretStore's and the generators' `auth`. */
export interface SiteVaultLogin {
  /** The site's Kubernetes auth mount, e.g. `kubernetes-onprem`. */
  readonly mountPath: string;
  /** The Vault role External Secrets logs in as. */
  readonly role: pulumi.Input<string>;
  /** The ServiceAccount whose bound token it logs in with (in the store's namespace). */
  readonly serviceAccount: pulumi.Input<string>;
}

/**
 * External Secrets' Vault provider `auth` for `login` (the ClusterSecretStore's and the generators' alike):
 * Kubernetes auth with a bound token for {@link VAULT_AUDIENCE}. `namespace`: the ServiceAccount's, which
 * counts only for a ClusterSecretStore (a namespaced generator's token is its own namespace's,
 * providers/v1/vault/auth.go `createServiceAccountToken`).
 */
export function externalSecretsVaultAuth(login: SiteVaultLogin, namespace?: string): Record<string, unknown> {
  const serviceAccountRef = { name: login.serviceAccount, ...(namespace === undefined ? {} : { namespace }), audiences: [VAULT_AUDIENCE] };
  return { kubernetes: { mountPath: login.mountPath, role: login.role, serviceAccountRef } };
}

/**
 * The spec of an External Secrets `VaultDynamicSecret` generator that draws `bytes` random bytes from Vault
 * as standard base64 (pure). The generator POSTs `parameters` to {@link VAULT_RANDOM_PATH} (any method but
 * GET, LIST and DELETE is a write: generators/v1/vault/vault.go, `fetchVaultSecret`) and returns the
 * answer's `data`: one key, {@link VAULT_RANDOM_BYTES_FIELD}. It is a namespaced object, so External
 * Secrets requests the token of `login.serviceAccount` in the generator's own namespace
 * (providers/v1/vault/auth.go, `createServiceAccountToken`: the ServiceAccount's namespace counts only for a
 * ClusterSecretStore).
 *
 * @param server - Vault's address.
 * @param caBundle - `{ caBundle }` (base64 PEM) or `{}`.
 * @param login - how External Secrets logs in to Vault on the generator's site.
 * @param bytes - key length in bytes (16 to 64, see `GENERATED_KEY_BYTES`).
 */
export function randomBytesGeneratorSpec(server: string, caBundle: { caBundle?: string }, login: SiteVaultLogin, bytes: number): Record<string, unknown> {
  return {
    method: "POST",
    path: VAULT_RANDOM_PATH,
    // `format: base64` is Vault's default, stated because the key's text must be base64 (Percona's
    // encryption key: base64 of 32 random bytes, pkg/psmdb/secret/secret.go `GenerateKey1024`).
    parameters: { bytes, format: "base64" },
    resultType: "Data",
    provider: {
      server,
      ...caBundle,
      auth: externalSecretsVaultAuth(login),
    },
  };
}

/** Key usages of every PKI role (Vault names): the certificates are EC P-256 (see the role in {@link VaultKeys}). */
export const PKI_ROLE_KEY_USAGES = ["DigitalSignature"] as const;

/** Vault PKI role fields of a certificate spec (pure): its exact names, its usages, EC P-256, two years. */
export function pkiRoleFields(spec: CertificateSpec): PkiRoleFields {
  const member = spec.uses.includes("member");
  return {
    // The common name and the DNS names, exactly: no subdomains, no globs.
    allowedDomains: [...new Set([spec.subject.commonName, ...(spec.dnsNames ?? [])])],
    serverFlag: member || spec.uses.includes("server"),
    clientFlag: member || spec.uses.includes("client"),
    organizations: spec.subject.organization ? [spec.subject.organization] : [],
    organizationUnit: spec.subject.organizationalUnit ? [spec.subject.organizationalUnit] : [],
  };
}

/** cert-manager `usages` of a certificate spec (its CRD's enum names). */
export function certManagerUsages(spec: CertificateSpec): string[] {
  const usages = ["digital signature", "key encipherment"];
  if (spec.uses.some((u) => u === "server" || u === "member")) usages.push("server auth");
  if (spec.uses.some((u) => u === "client" || u === "member")) usages.push("client auth");
  return usages;
}

/** Two years, renewed 60 days before: what the Pulumi-state CA issues too (components/pki.ts). */
const CERT_DURATION = "17520h";
const CERT_RENEW_BEFORE = "1440h";

/** The `vault kv put` command that supplies KV entry `remoteKey` with `properties` (values elided: `…`). */
export function vaultKvPutCommand(kvPath: string, remoteKey: string, properties: readonly string[]): string {
  return `vault kv put -mount=${kvPath} ${remoteKey} ${[...properties].sort().map((p) => `${p}=…`).join(" ")}`;
}

/**
 * The `vault kv put` commands an operator runs to supply what a program reads from Vault (pure), one per
 * KV entry, sorted; generated passwords and keys are not among them (External Secrets makes them).
 */
export function vaultKvCommands(kvPath: string, supplied: readonly KeyValue[]): string[] {
  const byKey = new Map<string, Set<string>>();
  for (const v of supplied) {
    if (isGeneratedValuePath(v.remoteKey)) continue;
    byKey.set(v.remoteKey, (byKey.get(v.remoteKey) ?? new Set()).add(v.property));
  }
  return [...byKey.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, props]) => vaultKvPutCommand(kvPath, key, [...props]));
}

/** Arguments of {@link VaultKeys}. */
export interface VaultKeysArgs {
  /** The stack's Vault settings. */
  readonly settings: VaultSettings;
  /**
   * Every site that gets Secrets, by name. cert-manager must run on each (the PostgreSQL component installs
   * it, and records it on the site: the issuers wait for it, see `Site.installed`).
   */
  readonly sites: Readonly<Record<string, Site>>;
  /** Install External Secrets on each site (Helm release). Default false: the site has it. */
  readonly installOperator?: boolean;
  /** Namespace of the key plumbing on each site (created). Default: the store's name. */
  readonly namespace?: string;
  /**
   * The namespaces whose ExternalSecrets may read from this store's ClusterSecretStores (its
   * `spec.conditions`): without it, any namespace allowed to create an ExternalSecret could read every entry
   * of the KV mount. An ExternalSecret in another namespace is refused by External Secrets and never
   * becomes Ready (so `pulumi up` waits on it and fails). Default: no condition.
   */
  readonly namespaces?: readonly string[];
}

type VaultSdk = {
  provider: typeof import("@pulumi/vault/provider");
  mount: typeof import("@pulumi/vault/mount");
  policy: typeof import("@pulumi/vault/policy");
  pkisecret: typeof import("@pulumi/vault/pkisecret");
  kubernetes: typeof import("@pulumi/vault/kubernetes");
};

function loadVault(neededBy: string): VaultSdk {
  const load = <T>(sub: string) => loadOptionalSdk<T>("@pulumi/vault", sub, neededBy);
  return {
    provider: load("provider"),
    mount: load("mount"),
    policy: load("policy"),
    pkisecret: load("pkisecret"),
    kubernetes: load("kubernetes"),
  };
}

/** The Vault key store; see the module comment. */
export class VaultKeys extends pulumi.ComponentResource implements KeyStore {
  readonly kind = "vault" as const;
  /** Every supplied KV value a Secret reads so far (supplied secrets, object-store keys). */
  readonly supplied: KeyValue[] = [];
  private readonly sdk: VaultSdk;
  private readonly vaultProvider: pulumi.ProviderResource;
  private readonly pkiPath: string;
  private readonly kvPath: string;
  private readonly siteReady: Record<string, pulumi.Resource[]> = {};
  /** Generated values by name: `password` or `key` (their KV property). */
  private readonly generated = new Map<string, string>();
  /** Per generated value's KV path, each site's PushSecret that writes it. */
  private readonly pushes = new Map<string, Readonly<Record<string, pulumi.Resource>>>();
  /** Per site, how External Secrets logs in to Vault there. */
  private readonly logins: Record<string, SiteVaultLogin> = {};
  private readonly issuerRoles: Record<string, pulumi.Resource> = {};
  /** `{ caBundle }` (base64 of the PEM) for the issuers and stores, or nothing. */
  private readonly caBundle: { caBundle?: string };
  private readonly issuerAccess: Record<string, pulumi.Resource[]> = {};
  /** The store's name: prefix of its Vault roles, policies, ServiceAccounts and ClusterSecretStore. */
  readonly name: string;
  /** Namespace of the key plumbing on each site ({@link VaultKeysArgs.namespace}). */
  readonly namespace: string;

  /**
   * @param name - the store's name: its namespace by default, the prefix of its Vault roles and policies.
   * @param args - Vault settings, sites, options.
   * @param opts - component options.
   * @throws KeyStoreError naming each wrong setting ({@link vaultSettingsProblems}) before any resource;
   *   MissingSdkError when `@pulumi/vault` is not installed.
   */
  constructor(name: string, private readonly args: VaultKeysArgs, opts?: pulumi.ComponentResourceOptions) {
    const problems = vaultSettingsProblems(args.settings, Object.keys(args.sites));
    if (problems.length > 0) throw new KeyStoreError(`Vault keys "${name}":\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n")}`);
    const sdk = loadVault(`Vault keys "${name}"`);
    super("waris:keys:VaultKeys", name, {}, opts);
    this.sdk = sdk;
    this.name = name;
    this.namespace = keysNamespace(name, args);
    const s = args.settings;
    this.pkiPath = s.pkiPath ?? VAULT_DEFAULTS.pkiPath;
    this.kvPath = s.kvPath ?? VAULT_DEFAULTS.kvPath;
    // The token comes from VAULT_TOKEN (or ~/.vault-token) of whoever runs `pulumi up`: not in the stack.
    this.vaultProvider = new sdk.provider.Provider(`${name}-vault`, { address: s.address, skipChildToken: false }, { parent: this });
    const inVault = { parent: this, provider: this.vaultProvider };
    // The KV v2 mount is Vault's administrator's (a prerequisite, like the auth mounts): the operator puts
    // the supplied entries into it before the first `pulumi up`, which reads them.
    const issuerPolicyRes = new sdk.policy.Policy(`${name}-issuer`, { name: `${name}-cert-manager`, policy: issuerPolicy(this.pkiPath) }, inVault);
    const secretsPolicyRes = new sdk.policy.Policy(`${name}-secrets`, { name: `${name}-external-secrets`, policy: secretsPolicy(this.kvPath) }, inVault);
    // Both cert-manager's and External Secrets' `caBundle` are base64 of the PEM.
    this.caBundle = s.caBundle === undefined ? {} : { caBundle: Buffer.from(s.caBundle).toString("base64") };

    for (const [site, siteObject] of Object.entries(args.sites)) {
      const provider = siteObject.kubernetesProvider;
      const authMount = s.authMounts[site]!;
      const k8s = { parent: this, provider };
      const id = (suffix: string) => `${name}-${site}-${suffix}`;
      // Vault side: who may log in from this site's cluster, and with which policy.
      const issuerRole = new sdk.kubernetes.AuthBackendRole(
        id("cert-manager"),
        { backend: authMount, roleName: `${name}-cert-manager`, boundServiceAccountNames: [`${name}-issuer`], boundServiceAccountNamespaces: [CERT_MANAGER_NAMESPACE], audience: VAULT_AUDIENCE, tokenPolicies: [issuerPolicyRes.name], tokenTtl: 600 },
        inVault,
      );
      const secretsRole = new sdk.kubernetes.AuthBackendRole(
        id("external-secrets"),
        { backend: authMount, roleName: `${name}-external-secrets`, boundServiceAccountNames: [`${name}-secrets`], boundServiceAccountNamespaces: [this.namespace], audience: VAULT_AUDIENCE, tokenPolicies: [secretsPolicyRes.name], tokenTtl: 600 },
        inVault,
      );
      // Cluster side.
      const operator = args.installOperator
        ? [
            new Release(
              id("external-secrets"),
              {
                name: "external-secrets",
                namespace: EXTERNAL_SECRETS_CHART.namespace,
                createNamespace: true,
                chart: EXTERNAL_SECRETS_CHART.chart,
                version: EXTERNAL_SECRETS_CHART.version,
                repositoryOpts: { repo: EXTERNAL_SECRETS_CHART.repo },
                values: { installCRDs: true },
              },
              k8s,
            ),
          ]
        : [];
      const ns = new corev1.Namespace(id("ns"), { metadata: { name: this.namespace, labels: placementLabels(site, "none") } }, k8s);
      const secretsSa = new corev1.ServiceAccount(id("secrets-sa"), { metadata: { name: `${name}-secrets`, namespace: ns.metadata.name } }, k8s);
      const login: SiteVaultLogin = { mountPath: authMount, role: secretsRole.roleName, serviceAccount: secretsSa.metadata.name };
      const store = new apiextensions.CustomResource(
        id("store"),
        {
          apiVersion: "external-secrets.io/v1",
          kind: "ClusterSecretStore",
          metadata: { name: `${name}-vault` },
          spec: {
            provider: {
              vault: {
                server: s.address,
                path: this.kvPath,
                version: "v2",
                ...this.caBundle,
                // Every write with check-and-set: of two first writes of a generated value only one creates it
                // (the sites push one after the other anyway, see generateOnEverySite).
                checkAndSet: { required: true },
                auth: externalSecretsVaultAuth(login, this.namespace),
              },
            },
            // Only the program's namespaces may read through it (ESO docs, "ClusterSecretStore": conditions).
            ...(args.namespaces ? { conditions: [{ namespaces: [...new Set([...args.namespaces, this.namespace])] }] } : {}),
          },
        },
        { ...k8s, dependsOn: [...operator, secretsSa] },
      );
      this.siteReady[site] = [store, ...operator];
      this.logins[site] = login;
      this.issuerRoles[site] = issuerRole;
    }
    this.registerOutputs({});
  }

  /**
   * The `vault kv put` commands that supply what the Secrets registered so far read ({@link vaultKvCommands}):
   * run them before the first `pulumi up`, or the ExternalSecrets wait.
   */
  get kvPutCommands(): string[] {
    return vaultKvCommands(this.kvPath, this.supplied);
  }

  /**
   * cert-manager's access to Vault on a site, registered on the first certificate there: the issuer's
   * ServiceAccount in cert-manager's namespace and the Role letting cert-manager request its tokens
   * (cert-manager docs, "Vault", bound service account tokens). They wait for cert-manager's installation
   * when this program installs it (`Site.installed("cert-manager")`), which the first certificate's
   * component has registered by then.
   */
  private issuerReady(site: string): pulumi.Resource[] {
    let access = this.issuerAccess[site];
    if (!access) {
      const k8s = { parent: this, provider: this.args.sites[site]!.kubernetesProvider, dependsOn: [...this.args.sites[site]!.installed("cert-manager")] };
      const id = (suffix: string) => `${this.name}-${site}-${suffix}`;
      const issuerSa = new corev1.ServiceAccount(id("issuer-sa"), { metadata: { name: `${this.name}-issuer`, namespace: CERT_MANAGER_NAMESPACE } }, k8s);
      const tokenRole = new rbacv1.Role(
        id("issuer-token"),
        { metadata: { name: `${this.name}-issuer-token`, namespace: CERT_MANAGER_NAMESPACE }, rules: [{ apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: [`${this.name}-issuer`], verbs: ["create"] }] },
        k8s,
      );
      const tokenBinding = new rbacv1.RoleBinding(
        id("issuer-token"),
        {
          metadata: { name: `${this.name}-issuer-token`, namespace: CERT_MANAGER_NAMESPACE },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: tokenRole.metadata.name },
          subjects: [{ kind: "ServiceAccount", name: CERT_MANAGER_SERVICE_ACCOUNT, namespace: CERT_MANAGER_NAMESPACE }],
        },
        k8s,
      );
      access = [issuerSa, tokenBinding, this.issuerRoles[site]!, ...this.args.sites[site]!.installed("cert-manager")];
      this.issuerAccess[site] = access;
    }
    return access;
  }

  private ready(site: string, what: string): pulumi.Resource[] {
    const ready = this.siteReady[site];
    if (!ready) throw new KeyStoreError(`${what}: site ${show(site)} has no Vault auth mount (vault.authMounts.${site}); allowed sites: ${Object.keys(this.siteReady).join(", ")}`);
    return ready;
  }

  certificateAuthority(caName: string, commonName: string, opts: pulumi.CustomResourceOptions): CertificateAuthority {
    const inVault = { ...opts, provider: this.vaultProvider };
    const mountPath = `${this.pkiPath}/${caName}`;
    const tenYears = 10 * 365 * 24 * 3600;
    const mount = new this.sdk.mount.Mount(`${caName}-pki`, { path: mountPath, type: "pki", maxLeaseTtlSeconds: tenYears, description: `WARIS CA ${commonName}` }, inVault);
    // `internal`: Vault generates the key and never returns it (Vault PKI API, "Generate root").
    const root = new this.sdk.pkisecret.SecretBackendRootCert(
      `${caName}-ca`,
      { backend: mount.path, type: "internal", commonName, organization: "WARIS", ttl: `${tenYears}`, keyType: "ec", keyBits: 256 },
      inVault,
    );
    const roles = new Map<string, pulumi.Resource>();
    const issuers = new Map<string, pulumi.Resource>();
    const specs = new Map<string, string>();
    return {
      caCert: root.certificate,
      tlsSecret: (id, target, spec, options) => {
        const problems = certificateSpecProblems(spec);
        if (problems.length > 0) throw new KeyStoreError(`Certificate "${caName}-${id}": ${problems.map((p) => `${p.argument} ${p.message}`).join("; ")}`);
        sameSpecForId(specs, caName, id, spec);
        const ready = this.ready(target.site, `Certificate "${caName}-${id}"`);
        const roleName = id;
        let role = roles.get(id);
        if (!role) {
          const fields = pkiRoleFields(spec);
          role = new this.sdk.pkisecret.SecretBackendRole(
            `${caName}-${id}`,
            {
              backend: mount.path,
              name: roleName,
              ...fields,
              allowBareDomains: true,
              allowSubdomains: false,
              allowGlobDomains: false,
              allowLocalhost: false,
              allowIpSans: false,
              // CNs such as `streaming_replica` (CloudNativePG's replication user) are not host names.
              enforceHostnames: false,
              keyType: "ec",
              keyBits: 256,
              // EC keys: digitalSignature only. RFC 5480 section 3 allows digitalSignature, nonRepudiation and
              // keyAgreement for id-ecPublicKey, never keyEncipherment (an RSA key-transport usage), and Vault
              // writes the role's key_usage into every certificate it signs as it is (builtin/logical/pki/issuing/
              // issue_common.go, `ParseKeyUsages(role.KeyUsage)`; the CSR's usages are not used). ECDHE needs none.
              keyUsages: [...PKI_ROLE_KEY_USAGES],
              ttl: CERT_DURATION,
              maxTtl: CERT_DURATION,
            },
            { ...inVault, dependsOn: [root] },
          );
          roles.set(id, role);
        }
        const issuerName = `${caName}-${id}`;
        const issuerKey = `${target.site}/${id}`;
        let issuer = issuers.get(issuerKey);
        if (!issuer) {
          issuer = new apiextensions.CustomResource(
            `${caName}-${target.site}-${id}-issuer`,
            {
              apiVersion: "cert-manager.io/v1",
              kind: "ClusterIssuer",
              metadata: { name: issuerName },
              spec: {
                vault: {
                  server: this.args.settings.address,
                  path: `${mountPath}/sign/${roleName}`,
                  ...this.caBundle,
                  auth: { kubernetes: { mountPath: `/v1/auth/${this.args.settings.authMounts[target.site]}`, role: `${this.name}-cert-manager`, serviceAccountRef: { name: `${this.name}-issuer`, audiences: [VAULT_AUDIENCE] } } },
                },
              },
            },
            { parent: opts.parent, provider: target.opts.provider, dependsOn: [...ready, ...this.issuerReady(target.site), role] },
          );
          issuers.set(issuerKey, issuer);
        }
        return new apiextensions.CustomResource(
          target.resourceName,
          {
            apiVersion: "cert-manager.io/v1",
            kind: "Certificate",
            metadata: { name: target.name, namespace: target.namespace, ...(target.labels ? { labels: { ...target.labels } } : {}), annotations: { "pulumi.com/waitFor": "condition=Ready" } },
            spec: {
              secretName: target.name,
              ...(target.labels ? { secretTemplate: { labels: { ...target.labels } } } : {}),
              commonName: spec.subject.commonName,
              ...(spec.dnsNames && spec.dnsNames.length > 0 ? { dnsNames: [...spec.dnsNames] } : {}),
              ...(spec.subject.organization || spec.subject.organizationalUnit
                ? { subject: { ...(spec.subject.organization ? { organizations: [spec.subject.organization] } : {}), ...(spec.subject.organizationalUnit ? { organizationalUnits: [spec.subject.organizationalUnit] } : {}) } }
                : {}),
              duration: CERT_DURATION,
              renewBefore: CERT_RENEW_BEFORE,
              privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
              usages: certManagerUsages(spec),
              issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: issuerName },
              ...(options?.combinedPem ? { additionalOutputFormats: [{ type: "CombinedPEM" }] } : {}),
            },
          },
          { ...target.opts, dependsOn: [...toArray(target.opts.dependsOn), issuer] },
        );
      },
    };
  }

  generatedPassword(name: string, length: number, _opts: pulumi.CustomResourceOptions): KeyValue {
    if (length < 16) throw new KeyStoreError(`generated password ${show(name)}: length ${length} is below 16`);
    // Letters and digits only (symbols 0): the passwords go into URIs and configuration files unquoted.
    const spec = { length, digits: Math.ceil(length / 4), symbols: 0, noUpper: false, allowRepeat: true };
    return this.generateOnEverySite(name, "password", () => ({ kind: "Password", spec, secretKey: "password" }));
  }

  /**
   * A key of `bytes` random bytes, standard base64 (see {@link KeyStore.generatedKey}), drawn from Vault's
   * `sys/tools/random` by External Secrets' `VaultDynamicSecret` generator ({@link randomBytesGeneratorSpec}):
   * a full-entropy key, as Percona makes its own (32 bytes of `crypto/rand`, base64). Not the `Password`
   * generator: with `encoding: base64` it encodes printable characters (generators/v1/password/password.go,
   * `encodePassword`), ~205 bits in 32 bytes.
   */
  generatedKey(name: string, bytes: number, _opts: pulumi.CustomResourceOptions): KeyValue {
    checkKeyLength(name, bytes);
    return this.generateOnEverySite(name, "key", (site) => ({
      kind: "VaultDynamicSecret",
      spec: randomBytesGeneratorSpec(this.args.settings.address, this.caBundle, this.logins[site]!, bytes),
      secretKey: VAULT_RANDOM_BYTES_FIELD,
    }));
  }

  /**
   * On every site, the generator `generator(site)` and a `PushSecret` that writes its `secretKey` once to Vault
   * KV `generated/<name>`, property `property` (see the module comment); Pulumi waits for the push (the
   * controller's `Ready` condition), each site's push is created after the previous site's (so only the
   * first site's push can create the entry), and {@link secret} makes each ExternalSecret reading the value
   * depend on its site's push. Names are shared by passwords and keys: one generator and one KV path each.
   */
  private generateOnEverySite(name: string, property: string, generator: (site: string) => { kind: "Password" | "VaultDynamicSecret"; spec: Record<string, unknown>; secretKey: string }): KeyValue {
    const value: KeyValue = { remoteKey: generatedValuePath(name), property };
    const earlier = this.generated.get(name);
    if (earlier !== undefined) {
      if (earlier !== property) throw new KeyStoreError(`generated ${property} ${show(name)}: the name is already a generated ${earlier}; give each its own`);
      return value;
    }
    if (!isDns1123Subdomain(name)) throw new KeyStoreError(`generated ${property} ${show(name)}: the name must be a DNS-1123 subdomain (it names a generator on every site)`);
    this.generated.set(name, property);
    const pushes: Record<string, pulumi.Resource> = {};
    // The previous site's push: this site's waits for it, so the entry exists before this one checks.
    let previous: pulumi.Resource[] = [];
    for (const [site, siteObject] of Object.entries(this.args.sites)) {
      const k8s = { parent: this, provider: siteObject.kubernetesProvider, dependsOn: this.siteReady[site]! };
      const { kind, spec, secretKey } = generator(site);
      const generatorRes = new apiextensions.CustomResource(
        `${this.name}-${site}-${name}-generator`,
        { apiVersion: "generators.external-secrets.io/v1alpha1", kind, metadata: { name, namespace: this.namespace }, spec },
        k8s,
      );
      const push = new apiextensions.CustomResource(
        `${this.name}-${site}-${name}-push`,
        {
          apiVersion: "external-secrets.io/v1alpha1",
          kind: "PushSecret",
          // `Ready` is the PushSecret's one condition in 2.9 (apis/externalsecrets/v1alpha1/pushsecret_types.go,
          // `PushSecretReady`): True once pushed, or found already there with IfNotExists; False on an error,
          // which the controller retries (a lost check-and-set race included), so Pulumi waits it out. On an
          // update Pulumi may take the previous `Ready` (the status has no observedGeneration, which is all
          // pulumi-kubernetes' condition check compares: provider/pkg/await/condition/kubectl.go
          // `checkCondition`); harmless here, as no update moves the entry (its path is the object's name)
          // and the entry pushed before stays (`deletionPolicy: None`).
          metadata: { name, namespace: this.namespace, annotations: { "pulumi.com/waitFor": "condition=Ready" } },
          spec: {
            refreshInterval: "1h",
            updatePolicy: "IfNotExists",
            deletionPolicy: "None",
            secretStoreRefs: [{ kind: "ClusterSecretStore", name: `${this.name}-vault` }],
            selector: { generatorRef: { apiVersion: "generators.external-secrets.io/v1alpha1", kind, name } },
            data: [{ match: { secretKey, remoteRef: { remoteKey: value.remoteKey, property: value.property } } }],
          },
        },
        { ...k8s, dependsOn: [...this.siteReady[site]!, generatorRes, ...previous] },
      );
      pushes[site] = push;
      previous = [push];
    }
    this.pushes.set(value.remoteKey, pushes);
    return value;
  }

  suppliedSecret(name: string, _fromStack: pulumi.Input<string> | undefined): KeyValue {
    const value = { remoteKey: suppliedSecretPath(name), property: "value" };
    this.supplied.push(value);
    return value;
  }

  objectStoreKeys(site: string, writer: ObjectStoreWriter, _fromStack: ObjectStoreKeyPair | undefined): ObjectStoreKeys {
    const path = objectStoreKeyPath(site, writer);
    const keys = { accessKeyId: { remoteKey: path, property: "accessKeyId" }, secretAccessKey: { remoteKey: path, property: "secretAccessKey" } };
    this.supplied.push(keys.accessKeyId, keys.secretAccessKey);
    return keys;
  }

  secret(target: SecretTarget, data: Readonly<Record<string, SecretData>>): pulumi.CustomResource {
    const problems = secretDataProblems(data);
    if (problems.length > 0) throw new KeyStoreError(`Secret ${show(target.name)}: ${problems.join("; ")}`);
    const ready = this.ready(target.site, `Secret ${show(target.name)}`);
    const { remote, template } = externalSecretData(data);
    const pushed = this.pushesRead(target, remote);
    return new apiextensions.CustomResource(
      target.resourceName,
      {
        apiVersion: "external-secrets.io/v1",
        kind: "ExternalSecret",
        // Waited for on creation. On an update of its spec Pulumi may go on with the previous `Ready` before
        // External Secrets has rewritten the Secret: its status has no observedGeneration for pulumi-kubernetes'
        // condition check to compare (provider/pkg/await/condition/kubectl.go `checkCondition`).
        metadata: { ...metadataOf(target), annotations: { "pulumi.com/waitFor": "condition=Ready" } },
        spec: {
          refreshInterval: "1h",
          secretStoreRef: { kind: "ClusterSecretStore", name: `${this.name}-vault` },
          target: {
            name: target.name,
            creationPolicy: "Owner",
            // A key gone from Vault leaves the Secret as it was: a database must not lose its password.
            deletionPolicy: "Retain",
            template: { engineVersion: "v2", type: target.type ?? "Opaque", ...(target.labels ? { metadata: { labels: { ...target.labels } } } : {}), data: template },
          },
          data: remote,
        },
      },
      { ...target.opts, dependsOn: [...toArray(target.opts.dependsOn), ...ready, ...pushed] },
    );
  }

  /**
   * The PushSecrets on the target's site that write the generated values `remote` reads: the ExternalSecret
   * waits for them, or its first read could find no entry yet and fail, retried with the controller's
   * backoff (controller-runtime's default, doubling up to 1000 s), while Pulumi waits for its `Ready`.
   *
   * @throws KeyStoreError when a value is read that is not a store entry ({@link KV_ENTRY_PREFIXES}: the
   *   policy grants no other), or a `generated/` value this store has not generated (nothing would write it).
   */
  private pushesRead(target: SecretTarget, remote: readonly ExternalSecretRemote[]): pulumi.Resource[] {
    const pushed: pulumi.Resource[] = [];
    for (const { remoteRef } of remote) {
      const prefix = remoteRef.key.split("/")[0];
      if (!Object.values(KV_ENTRY_PREFIXES).some((p) => p === prefix)) {
        throw new KeyStoreError(`Secret ${show(target.name)}: reads ${show(remoteRef.key)}; External Secrets may read only ${Object.values(KV_ENTRY_PREFIXES).map((p) => `${p}/…`).join(", ")} of the KV mount`);
      }
      if (!isGeneratedValuePath(remoteRef.key)) continue;
      const push = this.pushes.get(remoteRef.key)?.[target.site];
      if (!push) throw new KeyStoreError(`Secret ${show(target.name)}: reads ${show(remoteRef.key)}, which this store does not generate; ask the store for it (generatedPassword, generatedKey)`);
      if (!pushed.includes(push)) pushed.push(push);
    }
    return pushed;
  }
}

/**
 * The `data` and `target.template.data` of an ExternalSecret for a Secret's data (pure): each Vault value
 * once, as a template field `v<n>`; each key of the Secret a template over those fields.
 */
export function externalSecretData(data: Readonly<Record<string, SecretData>>): ExternalSecretData {
  const fields = new Map<string, string>();
  const remote: ExternalSecretRemote[] = [];
  const field = (v: KeyValue): string => {
    const key = `${v.remoteKey}#${v.property}`;
    let f = fields.get(key);
    if (!f) {
      f = `v${fields.size}`;
      fields.set(key, f);
      remote.push({ secretKey: f, remoteRef: { key: v.remoteKey, property: v.property } });
    }
    return f;
  };
  const template: Record<string, pulumi.Input<string>> = {};
  for (const [key, value] of Object.entries(data)) {
    if (isKeyValue(value)) template[key] = `{{ .${field(value)} }}`;
    else if (!isSecretTemplate(value)) template[key] = checkedText(`Secret key ${show(key)}`, value.text);
    else {
      const names = new Map(Object.entries(value.values).map(([n, v]) => [n, field(v)]));
      const get = (n: string): string => {
        const f = names.get(n);
        if (!f) throw new KeyStoreError(`Secret key ${show(key)}: template refers to ${show(n)}, which is not among its values`);
        return f;
      };
      template[key] = value.render({ raw: (n) => `{{ .${get(n)} }}`, json: (n) => `{{ .${get(n)} | toJson }}` });
    }
  }
  return { remote, template };
}

function toArray(d: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined): pulumi.Input<pulumi.Resource>[] {
  if (d === undefined) return [];
  return Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>];
}
