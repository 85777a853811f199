import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

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
    return this.issue(id, commonName, dnsNames, ["digital_signature", "key_encipherment", "server_auth"]);
  }

  /** A client certificate whose CN is the identity (CloudNativePG authenticates replication by it). */
  issueClient(id: string, commonName: string): IssuedCertificate {
    return this.issue(id, commonName, [], ["digital_signature", "key_encipherment", "client_auth"]);
  }

  private issue(id: string, commonName: string, dnsNames: readonly string[], allowedUses: string[]): IssuedCertificate {
    const name = `${this.name}-${id}`;
    const key = new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, this.opts);
    const request = new tls.CertRequest(name, { privateKeyPem: key.privateKeyPem, subject: { commonName }, dnsNames: [...dnsNames] }, this.opts);
    const cert = new tls.LocallySignedCert(
      name,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: this.caKey.privateKeyPem,
        caCertPem: this.caCert,
        validityPeriodHours: 2 * 365 * 24,
        earlyRenewalHours: 60 * 24,
        allowedUses,
      },
      this.opts,
    );
    return { cert: cert.certPem, key: key.privateKeyPem };
  }
}
