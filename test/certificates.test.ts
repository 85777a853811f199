/**
 * Issue 16, item 2: every certificate's key usages and subject fit every use it is put to. The table
 * below is the truth of where each certificate of the plan is used (read off the components: which
 * Secret it fills and who presents it); the test checks the registered certificates against it.
 */
import { CertificateUse, KEY_USAGES_FOR_USE, certificateSpecProblems } from "../components/pki";
import { MONGO_EXPORTER_URI, mongoCertificates } from "../components/mongo-replica-set";
import { Run, resource, resourcesOfType, runProgram, runProgramWithoutVault } from "./harness";

/** Certificate (resource name) → every use it is put to. */
const USES: ReadonlyArray<readonly [RegExp, readonly CertificateUse[], string]> = [
  [/^waris-mongo-members$/, ["server", "member"], "secrets.ssl (clients) and secrets.sslInternal (x.509 membership) of PerconaServerMongoDB"],
  [/^waris-mongo-exporter$/, ["client"], "the exporter sidecar's tlsCertificateKeyFile"],
  [/^waris-postgres-[a-z]+-server$/, ["server"], "CloudNativePG serverTLSSecret"],
  [/^waris-postgres-replication$/, ["client"], "CloudNativePG replicationTLSSecret, presented to the other site's primary"],
  [/^waris-llm-[a-z]+-gateway$/, ["server"], "the gateway's spill listener (8443)"],
  [/^waris-milvus-server$/, ["server"], "Milvus gRPC TLS"],
  [/^waris-redis-[a-z]+-server$/, ["server"], "redis-server --tls-cert-file (tls-auth-clients no: a replica presents no certificate)"],
];

type Subject = { commonName?: string; organization?: string; organizationalUnit?: string };

describe("every certificate of the prod plan fits its uses (keys in the Pulumi state)", () => {
  let run: Run;
  beforeAll(async () => {
    // Prod without its `vault` setting: the CAs are @pulumi/tls resources.
    run = await runProgramWithoutVault("prod");
  });

  test("each certificate is in the table once and allows every key usage its uses need", () => {
    expect(run.error).toBeUndefined();
    const certs = resourcesOfType(run, "tls:index/locallySignedCert:LocallySignedCert");
    expect(certs.length).toBeGreaterThan(5);
    for (const cert of certs) {
      const rows = USES.filter(([pattern]) => pattern.test(cert.name));
      expect({ cert: cert.name, rows: rows.length }).toEqual({ cert: cert.name, rows: 1 });
      const [, uses, where] = rows[0]!;
      const allowed = cert.inputs["allowedUses"] as string[];
      for (const use of uses) {
        for (const usage of KEY_USAGES_FOR_USE[use]) expect({ cert: cert.name, where, use, usage, allowed: allowed.includes(usage) }).toMatchObject({ allowed: true });
      }
    }
  });

  test("x.509 members: the same non-empty O and OU on every member; clients differ from them", () => {
    const subject = (name: string) => resource(run, "tls:index/certRequest:CertRequest", name).inputs["subject"] as Subject;
    const memberNames = resourcesOfType(run, "tls:index/locallySignedCert:LocallySignedCert")
      .map((c) => c.name)
      .filter((n) => USES.find(([p]) => p.test(n))![1].includes("member"));
    expect(memberNames).toEqual(["waris-mongo-members"]);
    const members = memberNames.map(subject);
    for (const m of members) {
      expect(m.organization).toBeTruthy();
      expect(m.organizationalUnit).toBeTruthy();
      expect([m.organization, m.organizationalUnit]).toEqual([members[0]!.organization, members[0]!.organizationalUnit]);
    }
    const exporter = subject("waris-mongo-exporter");
    expect([exporter.organization, exporter.organizationalUnit]).not.toEqual([members[0]!.organization, members[0]!.organizationalUnit]);
  });

  test("the exporter connects with verified TLS and its client certificate, never tlsInsecure", () => {
    const cr = resource(run, "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB", "waris-mongo-onprem-cluster").inputs["spec"] as {
      replsets: Array<{ sidecars: Array<{ env: Array<{ name: string; value?: string }>; volumeMounts: Array<{ name: string; mountPath: string }> }>; sidecarVolumes: Array<{ name: string; secret: { secretName: string } }> }>;
    };
    const rs = cr.replsets[0]!;
    const uri = rs.sidecars[0]!.env.find((e) => e.name === "MONGODB_URI")!.value!;
    expect(uri).toBe(MONGO_EXPORTER_URI);
    expect(uri).not.toMatch(/tlsInsecure|tlsAllowInvalid/);
    expect(uri).toMatch(/tlsCAFile=\/etc\/mongodb-exporter-tls\/ca\.crt&tlsCertificateKeyFile=\/etc\/mongodb-exporter-tls\/tls\.pem/);
    expect(rs.sidecars[0]!.volumeMounts).toEqual([{ name: "exporter-tls", mountPath: "/etc/mongodb-exporter-tls", readOnly: true }]);
    // The Secret has cert-manager's shape in either key store; the combined PEM is mounted as tls.pem.
    expect(rs.sidecarVolumes).toEqual([
      { name: "exporter-tls", secret: { secretName: "waris-mongo-exporter-tls", items: [{ key: "ca.crt", path: "ca.crt" }, { key: "tls-combined.pem", path: "tls.pem" }] } },
    ]);
    expect(resource(run, "kubernetes:core/v1:Secret", "waris-mongo-onprem-exporter-tls").inputs).toMatchObject({ metadata: { name: "waris-mongo-exporter-tls" }, type: "kubernetes.io/tls" });
  });
});

describe("every certificate of the prod plan fits its uses (keys from Vault)", () => {
  // A certificate's ClusterIssuer (and Vault PKI role) is named `<CA>-<id>`, as its @pulumi/tls certificate is.
  const CERT_MANAGER_USAGES: Readonly<Record<CertificateUse, readonly string[]>> = { server: ["server auth"], client: ["client auth"], member: ["server auth", "client auth"] };
  let run: Run;
  beforeAll(async () => {
    run = await runProgram("prod");
  });

  test("each Certificate is in the table once; its usages and its Vault role's flags cover every use", () => {
    expect(run.error).toBeUndefined();
    const certs = resourcesOfType(run, "kubernetes:cert-manager.io/v1:Certificate");
    expect(certs.length).toBeGreaterThan(5);
    for (const cert of certs) {
      const spec = cert.inputs["spec"] as { issuerRef: { name: string }; usages: string[] };
      const issuer = spec.issuerRef.name;
      const rows = USES.filter(([pattern]) => pattern.test(issuer));
      expect({ cert: cert.name, issuer, rows: rows.length }).toEqual({ cert: cert.name, issuer, rows: 1 });
      const [, uses] = rows[0]!;
      const role = resource(run, "vault:pkiSecret/secretBackendRole:SecretBackendRole", issuer).inputs as { serverFlag: boolean; clientFlag: boolean };
      for (const use of uses) {
        for (const usage of CERT_MANAGER_USAGES[use]) expect({ cert: cert.name, use, usage, has: spec.usages.includes(usage) }).toMatchObject({ has: true });
        if (use !== "client") expect({ issuer, serverFlag: role.serverFlag }).toEqual({ issuer, serverFlag: true });
        if (use !== "server") expect({ issuer, clientFlag: role.clientFlag }).toEqual({ issuer, clientFlag: true });
      }
    }
  });

  test("x.509 members: the member role fixes a non-empty O and OU; the exporter's role differs", () => {
    const role = (name: string) => resource(run, "vault:pkiSecret/secretBackendRole:SecretBackendRole", name).inputs as { organizations?: string[]; organizationUnit?: string[] };
    const members = role("waris-mongo-members");
    expect(members.organizations?.[0]).toBeTruthy();
    expect(members.organizationUnit?.[0]).toBeTruthy();
    const exporter = role("waris-mongo-exporter");
    expect([exporter.organizations ?? [], exporter.organizationUnit ?? []]).not.toEqual([members.organizations, members.organizationUnit]);
  });
});

test("a member certificate without O/OU, or a server one without names, is refused before anything is registered", () => {
  expect(certificateSpecProblems({ subject: { commonName: "rs0" }, dnsNames: ["a"], uses: ["member"] }).map((p) => p.argument)).toEqual([
    "subject.organization",
    "subject.organizationalUnit",
  ]);
  expect(certificateSpecProblems({ subject: { commonName: "x" }, uses: ["server"] }).map((p) => p.argument)).toEqual(["dnsNames"]);
  expect(certificateSpecProblems(mongoCertificates("waris-mongo", "ns", []).members)).toEqual([]);
});
