/**
 * Issue 23, "Keys": the two key stores. The Pulumi-state store writes plain Secrets from @pulumi/tls and
 * @pulumi/random; the Vault store registers nothing secret: PKI mounts and roles in Vault, cert-manager
 * Certificates signed through Vault, External Secrets reading Vault KV, passwords generated on the sites
 * and pushed once. The pure parts (policies, role fields, templates, settings) are checked on their own.
 */
import { OBJECT_STORE_WRITERS, OBJECT_STORE_WRITER_ACTIONS, objectStoreWriterPolicy, secretDataProblems, type KeyValue, type SecretTemplate } from "../components/keys";
import { certManagerUsages, externalSecretData, issuerPolicy, pkiRoleFields, randomBytesGeneratorSpec, secretsPolicy, vaultSettingsProblems } from "../components/vault-keys";
import { runIsolated, stackConfig, type Run } from "./harness";

const store = (path: string, property: string): KeyValue => ({ remoteKey: path, property });

describe("pure parts", () => {
  test("a writer's policy allows its bucket only, and only what the writer does", () => {
    const redis = objectStoreWriterPolicy("redis", "waris-prod-redis") as { Statement: Array<{ Action: string[]; Resource: string[] }> };
    expect(redis.Statement).toEqual([
      { Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: ["arn:aws:s3:::waris-prod-redis"] },
      // Reads too: restoreFromDump fetches a dump with the same keys.
      { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], Resource: ["arn:aws:s3:::waris-prod-redis/*"] },
    ]);
    // Every writer that puts objects may abandon a failed multipart upload; only retention-keeping writers delete.
    for (const w of OBJECT_STORE_WRITERS) {
      const actions = OBJECT_STORE_WRITER_ACTIONS[w];
      expect(actions.includes("s3:AbortMultipartUpload")).toBe(actions.includes("s3:PutObject"));
    }
    expect(OBJECT_STORE_WRITERS.filter((w) => OBJECT_STORE_WRITER_ACTIONS[w].includes("s3:DeleteObject"))).toEqual(["postgres", "mongodb", "milvus", "milvus-backup"]);
    const models = objectStoreWriterPolicy("models", "m") as { Statement: Array<{ Action: string[] }> };
    expect(models.Statement[1]!.Action).toEqual(["s3:GetObject"]);
  });

  test("a template becomes External Secrets fields, each Vault value once, quoted where asked", () => {
    const template: SecretTemplate = {
      values: { key: store("object-store/gcloud/milvus", "accessKeyId"), secret: store("object-store/gcloud/milvus", "secretAccessKey"), root: store("generated/waris-milvus-root", "password") },
      render: (v) => `minio:\n  accessKeyID: ${v.json("key")}\n  secretAccessKey: ${v.json("secret")}\nroot: ${v.raw("root")}\n`,
    };
    const { remote, template: data } = externalSecretData({ "backup.yaml": template, password: store("generated/waris-milvus-root", "password"), user: { text: "root" } });
    expect(remote).toEqual([
      { secretKey: "v0", remoteRef: { key: "object-store/gcloud/milvus", property: "accessKeyId" } },
      { secretKey: "v1", remoteRef: { key: "object-store/gcloud/milvus", property: "secretAccessKey" } },
      { secretKey: "v2", remoteRef: { key: "generated/waris-milvus-root", property: "password" } },
    ]);
    expect(data).toEqual({
      "backup.yaml": "minio:\n  accessKeyID: {{ .v0 | toJson }}\n  secretAccessKey: {{ .v1 | toJson }}\nroot: {{ .v2 }}\n",
      password: "{{ .v2 }}",
      user: "root",
    });
  });

  test("template text that External Secrets would evaluate, and bad field names, are refused", () => {
    expect(secretDataProblems({ a: { text: "{{ .x }}" } })).toEqual([expect.stringMatching(/^a: text holds "\{\{"/)]);
    expect(secretDataProblems({ b: { values: { "bad-name": store("k", "p") }, render: (v) => v.raw("bad-name") } })).toEqual([expect.stringMatching(/bad-name.*letters, digits and _/)]);
    expect(secretDataProblems({ c: { values: {}, render: () => "{{ oops }}" } })).toEqual([expect.stringMatching(/^c: template text holds/)]);
  });

  test("Vault settings: https only, an auth mount for every site that gets Secrets, none for others", () => {
    expect(vaultSettingsProblems({ address: "http://vault:8200", authMounts: { onprem: "kubernetes-onprem", aws: "k" } }, ["onprem", "gcloud"])).toEqual([
      { path: "vault.address", message: expect.stringMatching(/must be reached over https/) },
      { path: "vault.authMounts.gcloud", message: expect.stringMatching(/is not set; site "gcloud" gets Secrets from Vault/) },
      { path: "vault.authMounts.aws", message: "names no site that gets Secrets; allowed: onprem, gcloud" },
    ]);
    expect(vaultSettingsProblems({ address: "https://vault.example:8200", caBundle: "not a pem", kvPath: "a//b", authMounts: { onprem: "k8s onprem" } }, ["onprem"]).map((p) => p.path)).toEqual([
      "vault.caBundle",
      "vault.kvPath",
      "vault.authMounts.onprem",
    ]);
  });

  test("policies: cert-manager may only sign; External Secrets reads the store's three kinds of entries, creates only generated values, draws random bytes", () => {
    expect(issuerPolicy("waris-pki")).toBe('# cert-manager: sign CSRs with the program\'s PKI roles\npath "waris-pki/+/sign/*" {\n  capabilities = ["create", "update"]\n}\n');
    const p = secretsPolicy("waris");
    const grants = [...p.matchAll(/path "([^"]+)" \{\n {2}capabilities = \[([^\]]*)\]/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(grants).toEqual([
      'waris/data/stack/* "read"',
      'waris/data/object-store/* "read"',
      'waris/data/generated/* "create", "read", "update"',
      'waris/metadata/generated/* "create", "read", "update"',
      // Exactly the path the key generators POST to (the length is in the body), nothing else of sys/.
      'sys/tools/random "update"',
    ]);
    expect(p).not.toMatch(/delete|sudo|list|data\/\*/);
  });

  test("a generated key is Vault's random bytes: POST sys/tools/random with the length and base64 in the body, the answer's data", () => {
    const login = { mountPath: "kubernetes-onprem", role: "waris-keys-external-secrets", serviceAccount: "waris-keys-secrets" };
    expect(randomBytesGeneratorSpec("https://vault.example:8200", { caBundle: "Q0E=" }, login, 32)).toEqual({
      method: "POST",
      path: "sys/tools/random",
      parameters: { bytes: 32, format: "base64" },
      resultType: "Data",
      provider: {
        server: "https://vault.example:8200",
        caBundle: "Q0E=",
        auth: { kubernetes: { mountPath: "kubernetes-onprem", role: "waris-keys-external-secrets", serviceAccountRef: { name: "waris-keys-secrets", audiences: ["vault"] } } },
      },
    });
  });

  test("a PKI role allows exactly the certificate's names and usages", () => {
    const member = { subject: { commonName: "waris-mongo", organization: "WARIS", organizationalUnit: "waris-mongo" }, dnsNames: ["a.example", "b.example"], uses: ["server", "member"] as const };
    expect(pkiRoleFields({ ...member, uses: [...member.uses] })).toEqual({ allowedDomains: ["waris-mongo", "a.example", "b.example"], serverFlag: true, clientFlag: true, organizations: ["WARIS"], organizationUnit: ["waris-mongo"] });
    const client = { subject: { commonName: "streaming_replica" }, uses: ["client" as const] };
    expect(pkiRoleFields(client)).toMatchObject({ allowedDomains: ["streaming_replica"], serverFlag: false, clientFlag: true });
    expect(certManagerUsages(client)).toEqual(["digital signature", "key encipherment", "client auth"]);
  });
});

type Recorded = Run["recording"]["resources"][number];
const ofType = (run: Run, type: string): Recorded[] => run.recording.resources.filter((r) => r.type === type);

describe("under mocks", () => {
  let pulumiState: Run;
  let vault: Run;
  beforeAll(async () => {
    const build = (useVault: boolean) => async () => {
      const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
      const { Site } = require("../components/site") as typeof import("../components/site");
      const keysModule = require("../components/keys") as typeof import("../components/keys");
      const { VaultKeys } = require("../components/vault-keys") as typeof import("../components/vault-keys");
      const siteObjects = {
        onprem: new Site("onprem", { kind: "onprem", region: "pwa-hq", country: "TH", role: "primary", kubeconfig: "{}" }),
        gcloud: new Site("gcloud", { kind: "gcloud", region: "gdcc", country: "TH", role: "standby", kubeconfig: "{}" }),
      };
      const keys = useVault
        ? new VaultKeys("waris-keys", { settings: { address: "https://vault.example:8200", authMounts: { onprem: "kubernetes-onprem", gcloud: "kubernetes-gcloud" } }, sites: siteObjects, installOperator: true, namespaces: ["waris-test"] })
        : new keysModule.PulumiStateKeys();
      const parent = new pulumi.ComponentResource("test:index:Parent", "parent");
      const ca = keys.certificateAuthority("waris-test-pki", "WARIS test CA", { parent });
      const root = keys.generatedPassword("waris-test-root", 32, { parent });
      const key = keys.generatedKey("waris-test-key", 32, { parent });
      const app = keys.suppliedSecret("test-app-password", pulumi.secret("from-the-stack"));
      const writer = keys.objectStoreKeys("gcloud", "milvus", { accessKeyId: "AKID", secretAccessKey: "SAK" });
      for (const [site, siteObject] of Object.entries(siteObjects)) {
        const provider = siteObject.kubernetesProvider;
        const target = (resourceName: string, name: string) => ({ resourceName: `${resourceName}-${site}`, site, namespace: "waris-test", name, opts: { parent, provider } });
        ca.tlsSecret("members", target("members", "waris-test-members"), { subject: { commonName: "m", organization: "WARIS", organizationalUnit: "t" }, dnsNames: ["m.onprem.example", "m.gcloud.example"], uses: ["server", "member"] }, { combinedPem: true });
        keys.secret(target("config", "waris-test-config"), {
          user: { text: "root" },
          password: root,
          key,
          app,
          "config.yaml": { values: { key: writer.accessKeyId, secret: writer.secretAccessKey }, render: (v) => `key: ${v.json("key")}\nsecret: ${v.json("secret")}\n` },
        });
        // Without a generated password, known in a preview.
        keys.secret(target("plain", "waris-test-plain"), {
          user: { text: "root" },
          app,
          "config.yaml": { values: { key: writer.accessKeyId, secret: writer.secretAccessKey }, render: (v) => `key: ${v.json("key")}\nsecret: ${v.json("secret")}\n` },
        });
      }
      // Values the Vault store cannot serve are refused before anything is registered for them.
      const refused: string[] = [];
      if (useVault) {
        for (const bad of [{ remoteKey: "team/db", property: "p" }, { remoteKey: "generated/not-made-here", property: "password" }]) {
          try {
            keys.secret({ resourceName: `bad-${bad.remoteKey}`, site: "onprem", namespace: "waris-test", name: "bad", opts: { parent, provider: siteObjects.onprem.kubernetesProvider } }, { x: bad });
          } catch (e) {
            refused.push((e as Error).message);
          }
        }
      }
      return { refused };
    };
    pulumiState = await runIsolated("test", stackConfig("dev"), build(false));
    vault = await runIsolated("test", stackConfig("dev"), build(true));
  }, 60000);

  test("the Pulumi-state store: one certificate for both sites, Secrets with the values", () => {
    expect(pulumiState.error).toBeUndefined();
    expect(ofType(pulumiState, "tls:index/locallySignedCert:LocallySignedCert").map((r) => r.name)).toEqual(["waris-test-pki-members"]);
    const tlsSecret = pulumiState.recording.resources.find((r) => r.name === "members-onprem")!;
    expect(tlsSecret.inputs["type"]).toBe("kubernetes.io/tls");
    // The certificate is unknown in a preview, so is the Secret's content: it comes from the issued certificate.
    expect(tlsSecret.propertyDependencies?.["stringData"]).toEqual(expect.arrayContaining([expect.stringMatching(/locallySignedCert:LocallySignedCert::waris-test-pki-members$/)]));
    const config = pulumiState.recording.resources.find((r) => r.name === "plain-gcloud")!;
    expect(config.inputs["stringData"]).toEqual({ user: "root", app: "from-the-stack", "config.yaml": 'key: "AKID"\nsecret: "SAK"\n' });
    expect(config.secretPaths).toEqual(expect.arrayContaining([expect.stringMatching(/^stringData/)]));
    expect(ofType(pulumiState, "random:index/randomPassword:RandomPassword").map((r) => r.name)).toEqual(["waris-test-root"]);
  });

  test("one id is one certificate: asking for it again with other names is refused", () => {
    const { sameSpecForId } = require("../components/keys") as typeof import("../components/keys");
    const seen = new Map<string, string>();
    const spec = { subject: { commonName: "a" }, dnsNames: ["a.example"], uses: ["server" as const] };
    expect(sameSpecForId(seen, "ca", "server", spec)).toBe(false);
    expect(sameSpecForId(seen, "ca", "server", spec)).toBe(true);
    expect(() => sameSpecForId(seen, "ca", "server", { ...spec, dnsNames: ["b.example"] })).toThrow(/Certificate "ca-server" is asked for with two specs/);
  });

  test("the Vault store registers no key material: no tls, no random, no Secret", () => {
    expect(vault.error).toBeUndefined();
    const types = new Set(vault.recording.resources.map((r) => r.type));
    for (const t of types) expect(t).not.toMatch(/^(tls|random):|^kubernetes:core\/v1:Secret$/);
    expect(JSON.stringify(vault.recording.resources.map((r) => r.inputs))).not.toMatch(/from-the-stack|AKID|SAK/);
  });

  test("Vault logins: tokens for the audience vault only, and no TokenReview right for the clients (Vault reviews with its own reviewer)", () => {
    // A token whose only audience is `vault` is refused by the API server as a bearer, so Vault must review
    // with the auth mount's token_reviewer_jwt (README, "Keys"; cert-manager#6150); granting the clients
    // system:auth-delegator would serve only the client-token review that cannot work.
    const bindings = vault.recording.resources.filter((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding");
    for (const b of bindings) expect((b.inputs["roleRef"] as { name: string }).name).not.toBe("system:auth-delegator");
    const logins = vault.recording.resources
      .filter((r) => r.type === "kubernetes:cert-manager.io/v1:ClusterIssuer" || r.type === "kubernetes:external-secrets.io/v1:ClusterSecretStore")
      .map((r) => JSON.stringify(r.inputs["spec"]).match(/"audiences":\[[^\]]*\]/g));
    expect(logins.length).toBeGreaterThanOrEqual(2);
    for (const l of logins) expect(l).toEqual(['"audiences":["vault"]']);
  });

  test("CAs are Vault PKI mounts with internal keys; each certificate a role, a ClusterIssuer per site and a Certificate", () => {
    const mount = vault.recording.resources.find((r) => r.type === "vault:index/mount:Mount" && r.name === "waris-test-pki-pki")!;
    expect(mount.inputs).toMatchObject({ path: "waris-pki/waris-test-pki", type: "pki" });
    expect(ofType(vault, "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert")[0]!.inputs).toMatchObject({ type: "internal", keyType: "ec", keyBits: 256 });
    const roles = ofType(vault, "vault:pkiSecret/secretBackendRole:SecretBackendRole");
    expect(roles.map((r) => r.name)).toEqual(["waris-test-pki-members"]);
    expect(roles[0]!.inputs).toMatchObject({ allowedDomains: ["m", "m.onprem.example", "m.gcloud.example"], allowSubdomains: false, allowGlobDomains: false, serverFlag: true, clientFlag: true, organizations: ["WARIS"], organizationUnit: ["t"], keyType: "ec" });
    // EC certificates: digitalSignature only (RFC 5480 section 3: never keyEncipherment for an EC key).
    expect(roles[0]!.inputs["keyUsages"]).toEqual(["DigitalSignature"]);
    const issuers = ofType(vault, "kubernetes:cert-manager.io/v1:ClusterIssuer");
    expect(issuers).toHaveLength(2);
    expect(issuers[0]!.inputs["spec"]).toMatchObject({ vault: { server: "https://vault.example:8200", path: "waris-pki/waris-test-pki/sign/members", auth: { kubernetes: { mountPath: "/v1/auth/kubernetes-onprem", role: "waris-keys-cert-manager", serviceAccountRef: { name: "waris-keys-issuer", audiences: ["vault"] } } } } });
    const cert = vault.recording.resources.find((r) => r.name === "members-gcloud")!;
    expect(cert.type).toBe("kubernetes:cert-manager.io/v1:Certificate");
    expect(cert.inputs["spec"]).toMatchObject({ secretName: "waris-test-members", dnsNames: ["m.onprem.example", "m.gcloud.example"], issuerRef: { kind: "ClusterIssuer", name: "waris-test-pki-members" }, additionalOutputFormats: [{ type: "CombinedPEM" }], usages: ["digital signature", "key encipherment", "server auth", "client auth"] });
  });

  test("a Secret is an ExternalSecret over Vault KV that Pulumi waits for; passwords and keys are generated and pushed once on every site", () => {
    const es = vault.recording.resources.find((r) => r.name === "config-onprem")!;
    expect(es.type).toBe("kubernetes:external-secrets.io/v1:ExternalSecret");
    expect(es.inputs["metadata"]).toMatchObject({ name: "waris-test-config", annotations: { "pulumi.com/waitFor": "condition=Ready" } });
    expect(es.inputs["spec"]).toMatchObject({
      secretStoreRef: { kind: "ClusterSecretStore", name: "waris-keys-vault" },
      target: {
        name: "waris-test-config",
        creationPolicy: "Owner",
        deletionPolicy: "Retain",
        template: { engineVersion: "v2", data: { user: "root", password: "{{ .v0 }}", key: "{{ .v1 }}", app: "{{ .v2 }}", "config.yaml": "key: {{ .v3 | toJson }}\nsecret: {{ .v4 | toJson }}\n" } },
      },
      data: [
        { secretKey: "v0", remoteRef: { key: "generated/waris-test-root", property: "password" } },
        { secretKey: "v1", remoteRef: { key: "generated/waris-test-key", property: "key" } },
        { secretKey: "v2", remoteRef: { key: "stack/test-app-password", property: "value" } },
        { secretKey: "v3", remoteRef: { key: "object-store/gcloud/milvus", property: "accessKeyId" } },
        { secretKey: "v4", remoteRef: { key: "object-store/gcloud/milvus", property: "secretAccessKey" } },
      ],
    });
    const pushes = ofType(vault, "kubernetes:external-secrets.io/v1alpha1:PushSecret");
    // Sorted: the order of registration depends on the pushes' dependencies on one another.
    expect(pushes.map((p) => p.name).sort()).toEqual(["waris-keys-gcloud-waris-test-key-push", "waris-keys-gcloud-waris-test-root-push", "waris-keys-onprem-waris-test-key-push", "waris-keys-onprem-waris-test-root-push"]);
    const push = (name: string) => pushes.find((p) => p.name === name)!;
    expect(push("waris-keys-onprem-waris-test-root-push").inputs["spec"]).toMatchObject({ updatePolicy: "IfNotExists", deletionPolicy: "None", data: [{ match: { secretKey: "password", remoteRef: { remoteKey: "generated/waris-test-root", property: "password" } } }] });
    // The key: Vault's random bytes, pushed under the generator's one output key.
    expect(push("waris-keys-onprem-waris-test-key-push").inputs["spec"]).toMatchObject({ selector: { generatorRef: { kind: "VaultDynamicSecret", name: "waris-test-key" } }, data: [{ match: { secretKey: "random_bytes", remoteRef: { remoteKey: "generated/waris-test-key", property: "key" } } }] });
    const keyGenerator = vault.recording.resources.find((r) => r.name === "waris-keys-gcloud-waris-test-key-generator")!;
    expect(keyGenerator.type).toBe("kubernetes:generators.external-secrets.io/v1alpha1:VaultDynamicSecret");
    expect(keyGenerator.inputs["spec"]).toMatchObject({ method: "POST", path: "sys/tools/random", parameters: { bytes: 32, format: "base64" }, provider: { auth: { kubernetes: { mountPath: "kubernetes-gcloud" } } } });
    // Pulumi waits for every push; each ExternalSecret waits for its own site's pushes of what it reads, and
    // one reading no generated value for none.
    for (const p of pushes) expect(p.inputs["metadata"]).toMatchObject({ annotations: { "pulumi.com/waitFor": "condition=Ready" } });
    const pushesOf = (name: string) => vault.recording.resources.find((r) => r.name === name)!.dependencies.filter((u) => u.includes("PushSecret::")).map((u) => u.split("::").pop());
    expect(pushesOf("config-onprem")).toEqual(["waris-keys-onprem-waris-test-root-push", "waris-keys-onprem-waris-test-key-push"]);
    expect(pushesOf("config-gcloud")).toEqual(["waris-keys-gcloud-waris-test-root-push", "waris-keys-gcloud-waris-test-key-push"]);
    expect(pushesOf("plain-onprem")).toEqual([]);
    // The sites push one after the other: the second's existence check must find the first's entry, or its
    // write could replace the value the first site's pods already read (IfNotExists is not atomic in ESO 2.9).
    expect(pushesOf("waris-keys-onprem-waris-test-root-push")).toEqual([]);
    expect(pushesOf("waris-keys-gcloud-waris-test-root-push")).toEqual(["waris-keys-onprem-waris-test-root-push"]);
    expect(pushesOf("waris-keys-gcloud-waris-test-key-push")).toEqual(["waris-keys-onprem-waris-test-key-push"]);
    expect(vault.outputs["refused"]).toEqual([
      'Secret "bad": reads "team/db"; External Secrets may read only generated/…, stack/…, object-store/… of the KV mount',
      'Secret "bad": reads "generated/not-made-here", which this store does not generate; ask the store for it (generatedPassword, generatedKey)',
    ]);
    const stores = ofType(vault, "kubernetes:external-secrets.io/v1:ClusterSecretStore");
    expect(stores.map((s) => (s.inputs["spec"] as { provider: { vault: { checkAndSet: unknown; auth: { kubernetes: { mountPath: string } } } } }).provider.vault)).toEqual([
      expect.objectContaining({ checkAndSet: { required: true }, auth: { kubernetes: expect.objectContaining({ mountPath: "kubernetes-onprem" }) } }),
      expect.objectContaining({ auth: { kubernetes: expect.objectContaining({ mountPath: "kubernetes-gcloud" }) } }),
    ]);
    // Only the program's namespaces (and the store's own) may read through the stores.
    expect(stores.map((s) => (s.inputs["spec"] as { conditions: unknown }).conditions)).toEqual([[{ namespaces: ["waris-test", "waris-keys"] }], [{ namespaces: ["waris-test", "waris-keys"] }]]);
    const roles = ofType(vault, "vault:kubernetes/authBackendRole:AuthBackendRole");
    expect(roles.every((r) => r.inputs["audience"] === "vault")).toBe(true);
  });
});
