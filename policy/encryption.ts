/**
 * Encryption: AES-256 (or a KMS key) at rest, TLS in transit.
 */
import type { ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { at, list, str } from "./placement";

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
  "kubernetes:barmancloud.cnpg.io/v1:ObjectStore": (props, name, report) => {
    for (const part of ["wal", "data"] as const) {
      const algorithm = str(props, "spec", "configuration", part, "encryption");
      if (!strong(algorithm)) {
        report(`CloudNativePG ObjectStore "${name}": spec.configuration.${part}.encryption is ${JSON.stringify(algorithm)}; backups must be encrypted (${AT_REST_ALGORITHMS.slice(0, 2).join(" or ")}).`);
      }
    }
  },
  "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB": (props, name, report) => {
    const configs = list(props, "spec", "replsets").map((rs) => str(rs, "configuration") ?? "");
    if (configs.some((c) => /enableEncryption:\s*false/.test(c)) || at(props, "spec", "mongod", "security", "enableEncryption") === false) {
      report(`MongoDB "${name}" turns encryption at rest off (enableEncryption: false); remove it.`);
    }
    const storages = at(props, "spec", "backup", "storages");
    for (const [storage, spec] of Object.entries((storages ?? {}) as Record<string, unknown>)) {
      if (at(spec, "s3") === undefined) continue;
      const algorithm = str(spec, "s3", "serverSideEncryption", "sseAlgorithm");
      if (!strong(algorithm)) report(`MongoDB "${name}": backup storage "${storage}" has serverSideEncryption.sseAlgorithm ${JSON.stringify(algorithm)}; use AES256 or aws:kms.`);
    }
  },
};

/** Encryption at rest, checked resource by resource. */
export const encryptionAtRestPolicy: ResourceValidationPolicy = {
  name: "waris-encryption-at-rest",
  description: "Data at rest is encrypted with AES-256 or a KMS key: buckets, volumes, managed databases, database backups, MongoDB storage.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Turn encryption on in the resource: an SSE rule with AES256 (or aws:kms) for buckets, storageEncrypted/encrypted for RDS and EBS, " +
    "wal.encryption and data.encryption AES256 on CloudNativePG ObjectStores, serverSideEncryption on Percona backup storages.",
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

/** Every S3 bucket has a server-side encryption configuration (a separate resource in AWS provider v7). */
export const bucketEncryptionPolicy: StackValidationPolicy = {
  name: "waris-bucket-encryption",
  description: "Every S3 bucket (AWS or an S3-compatible site store) has a server-side encryption configuration.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket with sseAlgorithm AES256 (or aws:kms).",
  validateStack: (args, reportViolation: ReportViolation) => {
    const encrypted = new Set(
      args.resources
        .filter((r) => r.type === "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        .map((r) => str(r.props, "bucket")),
    );
    for (const r of args.resources) {
      if (r.type !== "aws:s3/bucket:Bucket") continue;
      const bucket = str(r.props, "bucket");
      if (bucket === undefined) {
        reportViolation(`Bucket "${r.name}" has no explicit name, so its encryption configuration cannot be matched before deployment; set bucket: <name>.`, r.urn);
      } else if (!encrypted.has(bucket)) {
        reportViolation(`Bucket "${r.name}" (${bucket}) has no server-side encryption configuration.`, r.urn);
      }
    }
  },
};
