/**
 * Encryption: AES-256 (or a KMS key) at rest, TLS in transit.
 */
import type { ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { DEFAULT_STORE_ENCRYPTION, SSE_ALGORITHM, STORE_ENCRYPTIONS, StoreEncryptionSpec } from "../components/store-encryption";
import { SiteFact, at, list, siteOfProviders, sitesByUrn, str } from "./placement";

/** Server-side encryption algorithms that mean AES-256 at rest (S3 and Barman names). */
export const AT_REST_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"] as const;

const strong = (algorithm: string | undefined): boolean => algorithm !== undefined && (AT_REST_ALGORITHMS as readonly string[]).includes(algorithm);

type Check = (props: Record<string, unknown>, name: string, report: (message: string) => void) => void;

/** At-rest checks per resource type. Managed databases whose storage is always encrypted (Azure flexible server, DigitalOcean) have none. */
const AT_REST: Readonly<Record<string, Check>> = {
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (props, name, report) => {
    const algorithms = list(props, "rules").map((rule) => str(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm"));
    if (algorithms.length === 0 || !algorithms.every(strong)) {
      report(`bucket encryption "${name}" uses ${JSON.stringify(algorithms)}; every rule must default to one of ${AT_REST_ALGORITHMS.join(", ")}.`);
    }
  },
  "aws:rds/instance:Instance": (props, name, report) => {
    if (at(props, "storageEncrypted") !== true) report(`RDS instance "${name}" has storageEncrypted ${JSON.stringify(at(props, "storageEncrypted"))}; it must be true.`);
  },
  "aws:rds/cluster:Cluster": (props, name, report) => {
    if (at(props, "storageEncrypted") !== true) report(`RDS cluster "${name}" has storageEncrypted ${JSON.stringify(at(props, "storageEncrypted"))}; it must be true.`);
  },
  "aws:ebs/volume:Volume": (props, name, report) => {
    if (at(props, "encrypted") !== true) report(`EBS volume "${name}" is not encrypted; set encrypted: true.`);
  },
  "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB": (props, name, report) => {
    const configs = list(props, "spec", "replsets").map((rs) => str(rs, "configuration") ?? "");
    if (configs.some((c) => /enableEncryption:\s*false/.test(c)) || at(props, "spec", "mongod", "security", "enableEncryption") === false) {
      report(`MongoDB "${name}" turns encryption at rest off (enableEncryption: false); remove it.`);
    }
  },
};

/** Encryption at rest, checked resource by resource. */
export const encryptionAtRestPolicy: ResourceValidationPolicy = {
  name: "waris-encryption-at-rest",
  description: "Data at rest is encrypted with AES-256 or a KMS key: bucket encryption rules, volumes, managed databases, MongoDB storage.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Turn encryption on in the resource: an SSE rule with AES256 (or aws:kms) for buckets, storageEncrypted/encrypted for RDS and EBS, " +
    "enableEncryption for MongoDB. Backup writers are checked by waris-store-encryption.",
  validateResource: (args, reportViolation) => {
    const check = AT_REST[args.type];
    if (!check) return;
    check(args.props, args.name, reportViolation);
  },
};

/** Config of {@link encryptionInTransitPolicy}. */
export interface InTransitConfig {
  /** Lowest PostgreSQL `ssl_min_protocol_version`. Default `TLSv1.3`. */
  readonly postgresMinTls: string;
  /** Lowest Azure `minimumTlsVersion`. Default `TLS1_2` (the highest Azure storage enforces today). */
  readonly azureMinTls: string;
}

const TLS_ORDER = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
const AZURE_TLS_ORDER = ["TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"];
const atLeast = (order: readonly string[], value: string | undefined, min: string): boolean =>
  value !== undefined && order.indexOf(value) >= order.indexOf(min) && order.indexOf(value) >= 0;

function httpsOnly(endpoint: string | undefined, what: string, report: (m: string) => void): void {
  if (endpoint !== undefined && !endpoint.startsWith("https://")) report(`${what} is ${JSON.stringify(endpoint)}; object-store endpoints must be https://.`);
}

const IN_TRANSIT: Readonly<Record<string, (props: Record<string, unknown>, name: string, config: InTransitConfig, report: (m: string) => void) => void>> = {
  "kubernetes:postgresql.cnpg.io/v1:Cluster": (props, name, config, report) => {
    const min = str(props, "spec", "postgresql", "parameters", "ssl_min_protocol_version");
    if (!atLeast(TLS_ORDER, min, config.postgresMinTls)) {
      report(`PostgreSQL cluster "${name}": spec.postgresql.parameters.ssl_min_protocol_version is ${JSON.stringify(min)}; it must be at least ${config.postgresMinTls}.`);
    }
    for (const external of list(props, "spec", "externalClusters")) {
      if (str(external, "connectionParameters", "host") === undefined) continue;
      const mode = str(external, "connectionParameters", "sslmode");
      if (mode !== "verify-full") report(`PostgreSQL cluster "${name}": external cluster "${str(external, "name")}" connects with sslmode ${JSON.stringify(mode)}; use verify-full.`);
    }
  },
  "kubernetes:barmancloud.cnpg.io/v1:ObjectStore": (props, name, _config, report) => {
    httpsOnly(str(props, "spec", "configuration", "endpointURL"), `ObjectStore "${name}" spec.configuration.endpointURL`, report);
  },
  "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB": (props, name, _config, report) => {
    const mode = str(props, "spec", "tls", "mode");
    if (mode !== "requireTLS") report(`MongoDB "${name}": spec.tls.mode is ${JSON.stringify(mode)}; it must be requireTLS.`);
    if (at(props, "spec", "unsafeFlags", "tls") === true) report(`MongoDB "${name}": spec.unsafeFlags.tls is true, which allows running without TLS; remove it.`);
    const storages = at(props, "spec", "backup", "storages");
    for (const [storage, spec] of Object.entries((storages ?? {}) as Record<string, unknown>)) {
      httpsOnly(str(spec, "s3", "endpointUrl"), `MongoDB "${name}" backup storage "${storage}" endpointUrl`, report);
    }
  },
  "kubernetes:milvus.io/v1beta1:Milvus": (props, name, _config, report) => {
    const tlsMode = at(props, "spec", "config", "common", "security", "tlsMode");
    if (tlsMode !== 1 && tlsMode !== 2) report(`Milvus "${name}": spec.config.common.security.tlsMode is ${JSON.stringify(tlsMode)}; set 1 (server TLS) or 2 (mutual TLS).`);
    const external = at(props, "spec", "dependencies", "storage", "external") === true;
    if (external && at(props, "spec", "config", "minio", "useSSL") !== true) report(`Milvus "${name}" reaches its object store without TLS; set spec.config.minio.useSSL: true.`);
  },
  "pulumi:providers:aws": (props, name, _config, report) => {
    const endpoints = str(props, "endpoints");
    if (!endpoints) return;
    for (const entry of JSON.parse(endpoints) as Array<Record<string, string>>) {
      for (const [service, url] of Object.entries(entry)) httpsOnly(url, `AWS provider "${name}" endpoint ${service}`, report);
    }
  },
  "azure-native:dbforpostgresql:Configuration": (props, name, config, report) => {
    const parameter = str(props, "configurationName");
    const value = str(props, "value");
    if (parameter === "require_secure_transport" && value?.toLowerCase() === "off") report(`Azure PostgreSQL parameter "${name}" turns require_secure_transport off; clients could connect without TLS.`);
    if (parameter === "ssl_min_protocol_version" && !atLeast(TLS_ORDER, value, config.postgresMinTls)) {
      report(`Azure PostgreSQL parameter "${name}": ssl_min_protocol_version is ${JSON.stringify(value)}; it must be at least ${config.postgresMinTls}.`);
    }
  },
  "azure-native:storage:StorageAccount": (props, name, config, report) => {
    const min = str(props, "minimumTlsVersion");
    if (!atLeast(AZURE_TLS_ORDER, min, config.azureMinTls)) report(`Storage account "${name}": minimumTlsVersion is ${JSON.stringify(min)}; it must be at least ${config.azureMinTls}.`);
    if (at(props, "enableHttpsTrafficOnly") === false) report(`Storage account "${name}" allows plain HTTP (enableHttpsTrafficOnly: false).`);
  },
  "kubernetes:networking.k8s.io/v1:Ingress": (props, name, _config, report) => {
    const tls = list(props, "spec", "tls");
    const covered = new Set(tls.flatMap((t) => list(t, "hosts").filter((h): h is string => typeof h === "string")));
    if (tls.length === 0) {
      report(`Ingress "${name}" has no spec.tls; every Ingress must terminate TLS.`);
      return;
    }
    for (const rule of list(props, "spec", "rules")) {
      const host = str(rule, "host");
      if (host !== undefined && !covered.has(host)) report(`Ingress "${name}": host ${host} is not covered by spec.tls.`);
    }
  },
  "kubernetes:core/v1:Service": (props, name, _config, report) => {
    const type = str(props, "spec", "type");
    if (type !== "LoadBalancer" && type !== "NodePort") return;
    for (const port of list(props, "spec", "ports")) {
      const plain = at(port, "port") === 80 || /^http$/i.test(str(port, "name") ?? "") || str(port, "appProtocol") === "http";
      if (plain) report(`Service "${name}" (${type}) exposes plain HTTP outside the cluster on port ${JSON.stringify(at(port, "port"))}; expose HTTPS only, or keep it ClusterIP behind a TLS Ingress.`);
    }
  },
};

/** Encryption in transit, checked resource by resource. */
export const encryptionInTransitPolicy: ResourceValidationPolicy = {
  name: "waris-encryption-in-transit",
  description: "Data in transit is encrypted: PostgreSQL TLS 1.3 with verify-full replication, MongoDB requireTLS, Milvus TLS, https object stores, TLS on Ingress, no plain-HTTP Service outside the cluster.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set ssl_min_protocol_version TLSv1.3 and sslmode verify-full on CloudNativePG clusters, tls.mode requireTLS on MongoDB, tlsMode 1 and minio.useSSL on Milvus, https:// endpoints, " +
    "spec.tls on Ingresses, minimumTlsVersion TLS1_2 on Azure storage; expose Services outside the cluster only over TLS.",
  configSchema: {
    properties: {
      postgresMinTls: { type: "string", enum: TLS_ORDER, default: "TLSv1.3" },
      azureMinTls: { type: "string", enum: AZURE_TLS_ORDER, default: "TLS1_2" },
    },
  },
  validateResource: (args, reportViolation) => {
    const check = IN_TRANSIT[args.type];
    if (!check) return;
    check(args.props, args.name, args.getConfig<InTransitConfig>(), reportViolation);
  },
};

/** The stores of a stack by endpoint, with what each declares; a store that declares nothing valid maps to undefined. */
function storesByEndpoint(sites: Iterable<SiteFact>): Map<string, SiteFact> {
  const stores = new Map<string, SiteFact>();
  for (const site of sites) if (site.objectStoreEndpoint) stores.set(site.objectStoreEndpoint.replace(/\/+$/, ""), site);
  return stores;
}

/** What a writer to `endpoint` must send: the store's declared mode, or SSE-S3/SSE-KMS for a store of no site (AWS S3). */
function expectedAlgorithms(endpoint: string | undefined, stores: ReadonlyMap<string, SiteFact>): { readonly allowed: ReadonlyArray<string | undefined>; readonly what: string } {
  const site = endpoint ? stores.get(endpoint.replace(/\/+$/, "")) : undefined;
  if (!site) return { allowed: ["AES256", "aws:kms"], what: `the store ${JSON.stringify(endpoint)} (no site declares it: AES256 or aws:kms)` };
  const mode = (site.objectStoreEncryption ?? DEFAULT_STORE_ENCRYPTION).mode;
  return { allowed: [SSE_ALGORITHM[mode]], what: `site "${site.name}"'s store, declared ${mode} (send ${SSE_ALGORITHM[mode] ?? "no SSE header"})` };
}

/**
 * Every writer sends the store what the store declares it accepts (its site's `objectStore.encryption`):
 * CloudNativePG Barman Cloud `ObjectStore`s (`wal`/`data` `encryption`), Percona backup storages
 * (`serverSideEncryption.sseAlgorithm`) and S3 bucket encryption configurations. A store without a KMS
 * rejects SSE headers (cloudnative-pg/charts issue 198, plugin-barman-cloud issue 646); a store that takes
 * them must get them. Every site with a store must declare how it encrypts.
 */
export const storeEncryptionPolicy: StackValidationPolicy = {
  name: "waris-store-encryption",
  description: "Every object store declares how it encrypts at rest (sse-s3, sse-kms, store-managed) and every backup writer and bucket sends exactly what that store accepts.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    `Declare the store's encryption on its site (objectStore.encryption: ${STORE_ENCRYPTIONS.join(", ")}); let the components derive the writers' SSE settings from it ` +
    "(AES256 for sse-s3, aws:kms for sse-kms, none for store-managed) instead of setting headers by hand.",
  validateStack: (args, reportViolation: ReportViolation) => {
    const sites = sitesByUrn(args.resources);
    for (const r of args.resources) {
      if (r.type !== "waris:index:Site" || !str(r.props, "objectStoreEndpoint")) continue;
      if (!sites.get(r.urn)?.objectStoreEncryption) {
        reportViolation(`Site "${r.name}" has an object store but declares no valid encryption (objectStoreEncryption ${JSON.stringify(at(r.props, "objectStoreEncryption"))}); allowed: ${STORE_ENCRYPTIONS.join(", ")}.`, r.urn);
      }
    }
    const stores = storesByEndpoint(sites.values());
    const check = (sent: string | undefined, endpoint: string | undefined, what: string, urn: string): void => {
      const expected = expectedAlgorithms(endpoint, stores);
      if (!expected.allowed.includes(sent)) reportViolation(`${what} sends ${sent === undefined ? "no SSE header" : JSON.stringify(sent)} to ${expected.what}.`, urn);
    };
    const providerSites = siteOfProviders(args.resources);
    for (const r of args.resources) {
      if (r.type === "kubernetes:barmancloud.cnpg.io/v1:ObjectStore") {
        const endpoint = str(r.props, "spec", "configuration", "endpointURL");
        for (const part of ["wal", "data"] as const) {
          check(str(r.props, "spec", "configuration", part, "encryption"), endpoint, `CloudNativePG ObjectStore "${r.name}" spec.configuration.${part}.encryption`, r.urn);
        }
      } else if (r.type === "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB") {
        for (const [storage, spec] of Object.entries((at(r.props, "spec", "backup", "storages") ?? {}) as Record<string, unknown>)) {
          if (at(spec, "s3") === undefined) continue;
          check(str(spec, "s3", "serverSideEncryption", "sseAlgorithm"), str(spec, "s3", "endpointUrl"), `MongoDB "${r.name}" backup storage "${storage}" serverSideEncryption.sseAlgorithm`, r.urn);
        }
      } else if (r.type === "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration") {
        const site = r.provider ? providerSites.get(r.provider.urn) : undefined;
        if (!site?.objectStoreEndpoint) continue; // AWS S3 itself: waris-encryption-at-rest checks the algorithm
        for (const rule of list(r.props, "rules")) {
          check(str(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm"), site.objectStoreEndpoint, `Bucket encryption "${r.name}"`, r.urn);
        }
      }
    }
  },
};

/** Whether a bucket's store encrypts by itself (declared `store-managed`): it takes no encryption configuration. */
function storeManaged(r: { provider?: { urn: string } }, providerSites: ReadonlyMap<string, SiteFact>): boolean {
  const site = r.provider ? providerSites.get(r.provider.urn) : undefined;
  const declared: StoreEncryptionSpec | undefined = site?.objectStoreEndpoint ? site.objectStoreEncryption : undefined;
  return declared?.mode === "store-managed";
}

/** Every S3 bucket has a server-side encryption configuration (a separate resource in AWS provider v7). */
export const bucketEncryptionPolicy: StackValidationPolicy = {
  name: "waris-bucket-encryption",
  description: "Every S3 bucket (AWS or an S3-compatible site store) has a server-side encryption configuration, unless its store declares that it encrypts by itself (store-managed).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket with sseAlgorithm AES256 (or aws:kms).",
  validateStack: (args, reportViolation: ReportViolation) => {
    const encrypted = new Set(
      args.resources
        .filter((r) => r.type === "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        .map((r) => str(r.props, "bucket")),
    );
    const providerSites = siteOfProviders(args.resources);
    for (const r of args.resources) {
      if (r.type !== "aws:s3/bucket:Bucket") continue;
      // A store that encrypts by itself takes no configuration (waris-store-encryption flags one that is sent).
      if (storeManaged(r, providerSites)) continue;
      const bucket = str(r.props, "bucket");
      if (bucket === undefined) {
        reportViolation(`Bucket "${r.name}" has no explicit name, so its encryption configuration cannot be matched before deployment; set bucket: <name>.`, r.urn);
      } else if (!encrypted.has(bucket)) {
        reportViolation(`Bucket "${r.name}" (${bucket}) has no server-side encryption configuration.`, r.urn);
      }
    }
  },
};
