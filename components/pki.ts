import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ArgumentProblem, throwIfInvalid } from "./errors";

/**
 * What a certificate is put to:
 * - `server`: presented by a TLS server to its clients;
 * - `client`: presented by a TLS client (CloudNativePG replication, an exporter) to a server that asks;
 * - `member`: MongoDB x.509 membership (Percona `secrets.sslInternal`): each member presents it both as
 *   server and as client to the others, and the members recognise each other by the subject's O/OU/DC.
 */
export const CERTIFICATE_USES = ["server", "client", "member"] as const;

/** A use of a certificate; see {@link CERTIFICATE_USES}. */
export type CertificateUse = (typeof CERTIFICATE_USES)[number];

/**
 * Key usages (`@pulumi/tls` `allowedUses` names) each use needs. `member` needs both `server_auth` and
 * `client_auth` (MongoDB manual, "Use x.509 Certificate for Membership Authentication"; a member
 * certificate with only `server_auth` is refused when it dials another member).
 */
export const KEY_USAGES_FOR_USE: Readonly<Record<CertificateUse, readonly string[]>> = {
  server: ["digital_signature", "key_encipherment", "server_auth"],
  client: ["digital_signature", "key_encipherment", "client_auth"],
  member: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
};

/** The key usages a certificate needs for all its uses, in a stable order, without repeats. */
export function allowedUsesFor(uses: readonly CertificateUse[]): string[] {
  return [...new Set(uses.flatMap((u) => KEY_USAGES_FOR_USE[u]))];
}

/** The subject of a certificate. */
export interface CertificateSubject {
  /** CN. */
  readonly commonName: string;
  /** O; required (non-empty) with the `member` use. */
  readonly organization?: string;
  /** OU; required (non-empty) with the `member` use. */
  readonly organizationalUnit?: string;
}

/** A certificate to issue: subject, names and every use it is put to. */
export interface CertificateSpec {
  /** Subject. */
  readonly subject: CertificateSubject;
  /** DNS names (SANs); required for `server` and `member`. */
  readonly dnsNames?: readonly string[];
  /** Every use; at least one. Decides the key usages ({@link allowedUsesFor}). */
  readonly uses: readonly CertificateUse[];
}

/**
 * Every problem with a certificate spec (pure): no use, a use not in {@link CERTIFICATE_USES}, a server
 * or member certificate without DNS names, a member certificate without O and OU (MongoDB recognises
 * members by them; an empty one makes every member a stranger).
 */
export function certificateSpecProblems(spec: CertificateSpec): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  if (spec.uses.length === 0) problems.push({ argument: "uses", message: `is empty; give at least one of ${CERTIFICATE_USES.join(", ")}` });
  for (const use of spec.uses) {
    if (!(CERTIFICATE_USES as readonly string[]).includes(use)) problems.push({ argument: "uses", message: `has ${JSON.stringify(use)}; allowed: ${CERTIFICATE_USES.join(", ")}` });
  }
  if (spec.uses.some((u) => u === "server" || u === "member") && (spec.dnsNames ?? []).length === 0) {
    problems.push({ argument: "dnsNames", message: "is empty; a server or member certificate must name the hosts it is reached at" });
  }
  if (spec.uses.includes("member")) {
    for (const field of ["organization", "organizationalUnit"] as const) {
      if (!spec.subject[field]) problems.push({ argument: `subject.${field}`, message: "is empty; x.509 membership needs the same non-empty O and OU on every member" });
    }
  }
  return problems;
}

/** A certificate and its private key, PEM. */
export interface IssuedCertificate {
  /** Certificate, PEM. */
  readonly cert: pulumi.Output<string>;
  /** Private key, PEM (a secret). */
  readonly key: pulumi.Output<string>;
}

/**
 * A private CA shared by both sites, for TLS that must be verified across Kubernetes clusters (each
 * operator's own generated CA is known only in its cluster). Keys live in the Pulumi state as secrets.
 * Not a component: its resources are children of the component that needs them.
 */
export class SharedCertificateAuthority {
  /** The CA certificate, PEM. */
  readonly caCert: pulumi.Output<string>;
  private readonly caKey: tls.PrivateKey;

  /**
   * @param name - prefix of the resource names.
   * @param commonName - the CA's subject CN.
   * @param opts - options (parent) for every resource.
   */
  constructor(
    private readonly name: string,
    commonName: string,
    private readonly opts: pulumi.CustomResourceOptions,
  ) {
    this.caKey = new tls.PrivateKey(`${name}-ca`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
    this.caCert = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: this.caKey.privateKeyPem,
        subject: { commonName, organization: "WARIS" },
        isCaCertificate: true,
        validityPeriodHours: 10 * 365 * 24,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
      },
      opts,
    ).certPem;
  }

  /** A server certificate for the given DNS names (2 years, renewed by `pulumi up` 60 days before expiry). */
  issueServer(id: string, commonName: string, dnsNames: readonly string[]): IssuedCertificate {
    return this.issue(id, { subject: { commonName }, dnsNames, uses: ["server"] });
  }

  /** A client certificate whose CN is the identity (CloudNativePG authenticates replication by it). */
  issueClient(id: string, commonName: string): IssuedCertificate {
    return this.issue(id, { subject: { commonName }, uses: ["client"] });
  }

  /**
   * A certificate for every use in `spec.uses` (2 years, renewed by `pulumi up` 60 days before expiry),
   * with the key usages {@link allowedUsesFor} gives.
   *
   * @param id - suffix of the resource names (`<ca name>-<id>`).
   * @param spec - subject, DNS names and uses.
   * @throws InvalidArgumentsError naming the field, from {@link certificateSpecProblems}, before any resource.
   */
  issue(id: string, spec: CertificateSpec): IssuedCertificate {
    const name = `${this.name}-${id}`;
    throwIfInvalid(`Certificate "${name}"`, certificateSpecProblems(spec));
    const key = new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, this.opts);
    const request = new tls.CertRequest(name, { privateKeyPem: key.privateKeyPem, subject: { ...spec.subject }, dnsNames: [...(spec.dnsNames ?? [])] }, this.opts);
    const cert = new tls.LocallySignedCert(
      name,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: this.caKey.privateKeyPem,
        caCertPem: this.caCert,
        validityPeriodHours: 2 * 365 * 24,
        earlyRenewalHours: 60 * 24,
        allowedUses: allowedUsesFor(spec.uses),
      },
      this.opts,
    );
    return { cert: cert.certPem, key: key.privateKeyPem };
  }
}
