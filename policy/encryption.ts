/**
 * Encryption: AES-256 (or a KMS key) at rest, TLS in transit.
 */
import type { PolicyResource, ReportViolation, StackValidationPolicy } from "@pulumi/policy";
import { AtRestRule, COVERAGE, valuesAt } from "./coverage";
import { PlacementContext, locate, placementContext } from "./placement";
import { SkippedCheck, guarded, peek } from "./unknowns";
import { DEFAULT_STORE_ENCRYPTION, SSE_ALGORITHM, STORE_ENCRYPTIONS, StoreEncryptionSpec } from "../components/store-encryption";
import { SiteFact, at, list, siteOfProviders, sitesByUrn, str } from "./placement";

/** Server-side encryption algorithms that mean AES-256 at rest (S3 and Barman names). */
export const AT_REST_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"] as const;

const strong = (algorithm: string | undefined): boolean => algorithm !== undefined && (AT_REST_ALGORITHMS as readonly string[]).includes(algorithm);

type Check = (props: Record<string, unknown>, name: string, report: (message: string) => void) => void;

/** At-rest checks the table cannot express: algorithms of bucket encryption rules, MongoDB's storage engine flag. */
const AT_REST: Readonly<Record<string, Check>> = {
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (props, name, report) => {
    const algorithms = list(props, "rules").map((rule) => str(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm"));
    if (algorithms.length === 0 || !algorithms.every(strong)) {
      report(`bucket encryption "${name}" uses ${JSON.stringify(algorithms)}; every rule must default to one of ${AT_REST_ALGORITHMS.join(", ")}.`);
    }
  },
  "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB": (props, name, report) => {
    const configs = list(props, "spec", "replsets").map((rs) => str(rs, "configuration") ?? "");
    if (configs.some((c) => /enableEncryption:\s*false/.test(c)) || at(props, "spec", "mongod", "security", "enableEncryption") === false) {
      report(`MongoDB "${name}" turns encryption at rest off (enableEncryption: false); remove it.`);
    }
  },
};

/** Regions (`aws region X`) where the stack turns EBS encryption by default on (`aws:ebs/encryptionByDefault`). */
function ebsDefaultRegions(resources: readonly PolicyResource[], ctx: PlacementContext): Set<string> {
  const regions = new Set<string>();
  for (const r of resources) {
    if (r.type !== "aws:ebs/encryptionByDefault:EncryptionByDefault" || peek(() => at(r.props, "enabled")) === false) continue;
    const region = peek(() => locate(r, ctx, "region").cloud?.region);
    if (region) regions.add(region);
  }
  return regions;
}

/** Checks one resource against its table entry's at-rest rule. */
function atRestOf(r: PolicyResource, rule: AtRestRule, ctx: PlacementContext, ebsDefault: ReadonlySet<string>, report: (m: string) => void): void {
  if ("always" in rule) return;
  if ("unsupported" in rule) {
    report(`${r.type} "${r.name}" cannot be encrypted at rest: ${rule.unsupported}.`);
    return;
  }
  if ("fieldSet" in rule) {
    if (valuesAt(r.props, rule.fieldSet).every((v) => v === undefined || v === "")) report(`${r.type} "${r.name}" is not encrypted at rest: set ${rule.fieldSet} (a KMS key).`);
    return;
  }
  if (rule.inheritedWhen && valuesAt(r.props, rule.inheritedWhen).some((v) => v !== undefined)) return; // a replica: its source's encryption
  const values = valuesAt(r.props, rule.field).map((v) => (v === undefined ? rule.default : v));
  if (values.every((v) => v === rule.equals)) return;
  if (rule.byAccountDefault) {
    const region = locate(r, ctx, "region").cloud?.region;
    if (region && ebsDefault.has(region) && values.every((v) => v === rule.equals || v === undefined || v === rule.default)) return;
  }
  report(`${r.type} "${r.name}": ${rule.field} is ${JSON.stringify(values.length === 1 ? values[0] : values)}; data at rest must be encrypted (${rule.field}: ${JSON.stringify(rule.equals)}${rule.byAccountDefault ? ", or aws.ebs.EncryptionByDefault in the same region" : ""}).`);
}

/**
 * At-rest findings of a stack, resource by resource (unknown values skip only that resource's check).
 *
 * @param only - which resources to check (all by default).
 */
export function atRestFindings(resources: readonly PolicyResource[], report: (message: string, urn: string) => void, skipped?: SkippedCheck[], only: (r: PolicyResource) => boolean = () => true): void {
  const ctx = placementContext(resources);
  const ebsDefault = ebsDefaultRegions(resources, ctx);
  for (const r of resources) {
    const entry = COVERAGE[r.type];
    const extra = AT_REST[r.type];
    if ((!entry?.atRest && !extra) || !only(r)) continue;
    guarded(
      r,
      "waris-encryption-at-rest",
      () => {
        if (entry?.atRest) atRestOf(r, entry.atRest, ctx, ebsDefault, (m) => report(m, r.urn));
        extra?.(r.props, r.name, (m) => report(m, r.urn));
      },
      skipped,
    );
  }
}

/** Encryption at rest, from the coverage table (policy/coverage.ts) and the few checks it cannot express. */
export const encryptionAtRestPolicy: StackValidationPolicy = {
  name: "waris-encryption-at-rest",
  description: "Data at rest is encrypted: every type the coverage table lists (buckets, RDS/Aurora, EBS and EC2 volumes, EFS, DynamoDB, ElastiCache, OpenSearch, MSK, SQS, SNS, DocumentDB, Redshift), bucket rules, MongoDB storage.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Turn encryption on in the resource: storageEncrypted (RDS, Aurora, DocumentDB), encrypted (EBS, EFS; or aws.ebs.EncryptionByDefault), rootBlockDevice.encrypted (EC2), " +
    "atRestEncryptionEnabled (ElastiCache), encryptAtRest (OpenSearch), kmsMasterKeyId (SNS), an SSE rule with AES256 or aws:kms for buckets, enableEncryption for MongoDB. " +
    "Backup writers are checked by waris-store-encryption.",
  validateStack: (args, reportViolation) => atRestFindings(args.resources, (m, urn) => reportViolation(m, urn)),
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

/** Load balancer TLS policies that allow a protocol older than TLS 1.2 (AWS's own list: ELBSecurityPolicy-2016-08 is the default and allows TLS 1.0). */
const WEAK_ELB_POLICY = /^ELBSecurityPolicy-(2015-05|2016-08|TLS-1-0-2015-04|TLS-1-1-2017-01|FS-2018-06|FS-1-1-2019-08)$/;

/** CloudFront's viewer TLS minimums of TLS 1.2 and newer. */
const CLOUDFRONT_TLS12 = /^TLSv1\.2_20(18|19|21|25)$|^TLSv1\.3/;

/** RDS engines whose server accepts plain connections unless a parameter says otherwise, and the parameter. */
const RDS_TLS_PARAMETER: Readonly<Record<string, { name: string; on: readonly string[]; defaultOnFromMajor?: number }>> = {
  // rds.force_ssl is 1 by default from RDS for PostgreSQL 15 (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html).
  postgres: { name: "rds.force_ssl", on: ["1"], defaultOnFromMajor: 15 },
  // require_secure_transport is OFF by default (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/mysql-ssl-connections.html).
  mysql: { name: "require_secure_transport", on: ["1", "ON", "on"] },
  mariadb: { name: "require_secure_transport", on: ["1", "ON", "on"] },
};

/** The value a parameter group sets for a parameter, if any. */
function parameterValue(group: PolicyResource, parameter: string): string | undefined {
  const found = list(group.props, "parameters").find((p) => str(p, "name") === parameter);
  const value = at(found, "value");
  return value === undefined ? undefined : String(value);
}

/** Named in-transit checks that need more than one field, or other resources. */
const TRANSIT_CHECKS: Readonly<Record<string, (r: PolicyResource, groups: ReadonlyMap<string, PolicyResource>, report: (m: string) => void) => void>> = {
  "lb-listener": (r, _groups, report) => {
    const protocol = str(r.props, "protocol") ?? "HTTP";
    if (protocol === "HTTPS" || protocol === "TLS") {
      const policy = str(r.props, "sslPolicy") ?? "ELBSecurityPolicy-2016-08";
      if (WEAK_ELB_POLICY.test(policy)) report(`Listener "${r.name}" uses TLS policy ${policy}, which accepts TLS 1.0/1.1; use ELBSecurityPolicy-TLS13-1-2-2021-06 or another TLS 1.2+ policy.`);
      return;
    }
    if (protocol !== "HTTP") return; // TCP/UDP pass the payload (and its own TLS) through
    const actions = list(r.props, "defaultActions");
    const redirects = actions.length > 0 && actions.every((a) => str(a, "type") === "redirect" && str(a, "redirect", "protocol") === "HTTPS");
    if (!redirects) report(`Listener "${r.name}" serves plain HTTP; use HTTPS/TLS, or make its default action a redirect to HTTPS.`);
  },
  cloudfront: (r, _groups, report) => {
    const behaviours = [at(r.props, "defaultCacheBehavior"), ...list(r.props, "orderedCacheBehaviors")];
    for (const b of behaviours) {
      const policy = str(b, "viewerProtocolPolicy");
      if (policy === "allow-all") report(`CloudFront distribution "${r.name}" allows plain HTTP to viewers (viewerProtocolPolicy allow-all${str(b, "pathPattern") ? ` for ${str(b, "pathPattern")}` : ""}); use redirect-to-https or https-only.`);
    }
    const min = str(r.props, "viewerCertificate", "minimumProtocolVersion");
    if (at(r.props, "viewerCertificate", "cloudfrontDefaultCertificate") !== true && min !== undefined && !CLOUDFRONT_TLS12.test(min)) {
      report(`CloudFront distribution "${r.name}": viewerCertificate.minimumProtocolVersion is ${min}; use TLSv1.2_2021.`);
    }
  },
  "rds-parameters": (r, _groups, report) => {
    for (const [engine, p] of Object.entries(RDS_TLS_PARAMETER)) {
      const value = parameterValue(r, p.name);
      if (value !== undefined && !p.on.includes(value)) report(`Parameter group "${r.name}" sets ${p.name}=${value}, which lets ${engine} clients connect without TLS.`);
    }
  },
  "rds-instance-tls": (r, groups, report) => {
    const engine = str(r.props, "engine");
    const p = engine ? RDS_TLS_PARAMETER[engine] : undefined;
    if (!p || str(r.props, "replicateSourceDb") !== undefined) return; // a replica runs its source's settings unless given its own
    const fromDeps = (r.propertyDependencies.parameterGroupName ?? []).find((d) => d.type === "aws:rds/parameterGroup:ParameterGroup");
    const groupName = fromDeps ? undefined : str(r.props, "parameterGroupName");
    const group = fromDeps ?? (groupName ? groups.get(groupName) : undefined);
    const value = group ? parameterValue(group, p.name) : undefined;
    if (value !== undefined) return; // checked on the group itself ("rds-parameters")
    const major = Number((str(r.props, "engineVersion") ?? "").split(".")[0]);
    if (p.defaultOnFromMajor !== undefined && Number.isFinite(major) && major >= p.defaultOnFromMajor) return;
    report(
      `RDS instance "${r.name}" (${engine}${str(r.props, "engineVersion") ? ` ${str(r.props, "engineVersion")}` : ""}) accepts connections without TLS: ${groupName && !group ? `its parameter group ${groupName} is not in this stack, so ` : ""}nothing sets ${p.name}=${p.on[0]}; give it a parameter group that does.`,
    );
  },
};

/**
 * In-transit findings of a stack, resource by resource (unknown values skip only that resource's check).
 *
 * @param only - which resources to check (all by default).
 */
export function inTransitFindings(
  resources: readonly PolicyResource[],
  config: InTransitConfig,
  report: (message: string, urn: string) => void,
  skipped?: SkippedCheck[],
  only: (r: PolicyResource) => boolean = () => true,
): void {
  const groups = new Map<string, PolicyResource>();
  for (const r of resources) {
    if (r.type !== "aws:rds/parameterGroup:ParameterGroup") continue;
    const name = peek(() => str(r.props, "name"));
    if (name) groups.set(name, r);
  }
  for (const r of resources) {
    const check = IN_TRANSIT[r.type];
    const rules = COVERAGE[r.type]?.inTransit;
    if ((!check && !rules) || !only(r)) continue;
    guarded(
      r,
      "waris-encryption-in-transit",
      () => {
        const here = (m: string): void => report(m, r.urn);
        check?.(r.props, r.name, config, here);
        if (typeof rules === "string") TRANSIT_CHECKS[rules]!(r, groups, here);
        else {
          for (const rule of rules ?? []) {
            const values = valuesAt(r.props, rule.field).map((v) => (v === undefined ? rule.default : v));
            if (!values.every((v) => rule.allowed.includes(v))) report(`${r.type} "${r.name}": ${rule.field} is ${JSON.stringify(values.length === 1 ? values[0] : values)}; data in transit must be encrypted (allowed: ${rule.allowed.map((a) => JSON.stringify(a)).join(", ")}).`, r.urn);
          }
        }
      },
      skipped,
    );
  }
}

/** Schema of {@link encryptionInTransitPolicy}'s config, with its defaults. */
export const IN_TRANSIT_CONFIG_SCHEMA = {
  properties: {
    postgresMinTls: { type: "string" as const, enum: TLS_ORDER, default: "TLSv1.3" },
    azureMinTls: { type: "string" as const, enum: AZURE_TLS_ORDER, default: "TLS1_2" },
  },
};

/** Encryption in transit (a stack policy: an RDS instance's TLS setting is in its parameter group). */
export const encryptionInTransitPolicy: StackValidationPolicy = {
  name: "waris-encryption-in-transit",
  description: "Data in transit is encrypted: PostgreSQL TLS 1.3 with verify-full replication, MongoDB requireTLS, Milvus TLS, https object stores, TLS on Ingress, no plain-HTTP Service outside the cluster; RDS force_ssl/require_secure_transport, load balancer listeners and CloudFront over TLS 1.2+, ElastiCache, OpenSearch, MSK and Azure Redis TLS.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set ssl_min_protocol_version TLSv1.3 and sslmode verify-full on CloudNativePG clusters, tls.mode requireTLS on MongoDB, tlsMode 1 and minio.useSSL on Milvus, https:// endpoints, " +
    "spec.tls on Ingresses, minimumTlsVersion TLS1_2 on Azure storage; expose Services outside the cluster only over TLS; rds.force_ssl=1 (PostgreSQL < 15) or require_secure_transport=1 (MySQL) " +
    "in the instance's parameter group; HTTPS listeners with a TLS 1.2+ policy; transitEncryptionEnabled on ElastiCache.",
  configSchema: IN_TRANSIT_CONFIG_SCHEMA,
  validateStack: (args, reportViolation) => inTransitFindings(args.resources, args.getConfig<InTransitConfig>(), (m, urn) => reportViolation(m, urn)),
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

/** The algorithms a bucket's inline `serverSideEncryptionConfiguration` (deprecated in provider v7, still accepted) sets. */
function inlineAlgorithms(bucket: PolicyResource): unknown[] {
  return [
    ...valuesAt(bucket.props, "serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault.sseAlgorithm"),
    ...valuesAt(bucket.props, "serverSideEncryptionConfiguration.rules.*.applyServerSideEncryptionByDefault.sseAlgorithm"),
  ].filter((a) => a !== undefined);
}

/**
 * Buckets of a stack with an encryption configuration: matched by the bucket the configuration's `bucket`
 * input came from (property dependencies: `bucket: b.id` or `b.bucket`, unknown during a preview), else by
 * the literal bucket name.
 */
function configuredBuckets(resources: readonly PolicyResource[]): Set<string> {
  // The same bucket name exists on several sites' stores (a provider each).
  const byName = new Map<string, string[]>();
  for (const r of resources) {
    if (r.type !== "aws:s3/bucket:Bucket" && r.type !== "aws:s3/bucketV2:BucketV2") continue;
    const name = peek(() => str(r.props, "bucket"));
    if (name) byName.set(name, [...(byName.get(name) ?? []), r.urn]);
  }
  const configured = new Set<string>();
  for (const r of resources) {
    if (r.type !== "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration") continue;
    for (const b of r.propertyDependencies.bucket ?? []) configured.add(b.urn);
    const literal = peek(() => str(r.props, "bucket"));
    for (const urn of literal ? (byName.get(literal) ?? []) : []) configured.add(urn);
  }
  return configured;
}

/**
 * Every bucket is encrypted at rest: AWS S3 encrypts every new object with SSE-S3 by default (since
 * 2023-01-05), so an AWS bucket passes without a configuration; a bucket of an S3-compatible site
 * store needs one (a separate `BucketServerSideEncryptionConfiguration`, or the inline block), unless
 * the store declares that it encrypts by itself (store-managed).
 */
export const bucketEncryptionPolicy: StackValidationPolicy = {
  name: "waris-bucket-encryption",
  description: "Every bucket of an S3-compatible site store has a server-side encryption configuration, unless its store declares that it encrypts by itself (store-managed); AWS S3 encrypts by default.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket (bucket: <the bucket>.id) with sseAlgorithm AES256 (or aws:kms), or declare the store's encryption on its site.",
  validateStack: (args, reportViolation: ReportViolation) => {
    const configured = configuredBuckets(args.resources);
    const providerSites = siteOfProviders(args.resources);
    for (const r of args.resources) {
      if (r.type !== "aws:s3/bucket:Bucket" && r.type !== "aws:s3/bucketV2:BucketV2") continue;
      guarded(r, "waris-bucket-encryption", () => {
        const site = r.provider ? providerSites.get(r.provider.urn) : undefined;
        const endpoints = r.provider ? str(r.provider.props, "endpoints") : undefined;
        const customStore = site?.objectStoreEndpoint !== undefined || (endpoints !== undefined && endpoints !== "[]");
        if (!customStore) return; // AWS S3 itself: SSE-S3 by default
        // A store that encrypts by itself takes no configuration (waris-store-encryption flags one that is sent).
        if (storeManaged(r, providerSites)) return;
        if (configured.has(r.urn) || inlineAlgorithms(r).length > 0) return;
        reportViolation(`Bucket "${r.name}"${str(r.props, "bucket") ? ` (${str(r.props, "bucket")})` : ""} is on ${site ? `site "${site.name}"'s store ${site.objectStoreEndpoint}` : `the custom endpoint ${endpoints}`}, which does not encrypt by default, and has no server-side encryption configuration.`, r.urn);
      });
    }
  },
};
