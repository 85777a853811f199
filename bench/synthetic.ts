/**
 * A synthetic stack for the policy benchmark: two Thai sites and, per unit of 10 resources, a
 * PostgreSQL dataset (primary, standby, object store, scheduled backup, lag alert), a ConfigMap, a
 * Secret, a Service, an encrypted S3 bucket. Shaped like what the components register.
 */
import type { AnalyzerResource } from "../plan/policy-runner";

const P = "urn:pulumi:bench::waris-hybrid::";

/** `count` resources (rounded up to whole units of 10) plus the sites and their providers. */
export function syntheticStack(count: number): AnalyzerResource[] {
  const resources: AnalyzerResource[] = [];
  const providers: Record<string, AnalyzerResource> = {};
  for (const site of ["onprem", "gcloud"]) {
    const siteUrn = `${P}waris:index:Site::${site}`;
    resources.push({ urn: siteUrn, type: "waris:index:Site", name: site, properties: { site: { name: site, kind: site, region: `${site}-th`, country: "TH", role: site === "onprem" ? "primary" : "standby" }, objectStoreEndpoint: site === "gcloud" ? "https://s3.gdcc.go.th" : undefined } });
    const provider: AnalyzerResource = { urn: `${P}waris:index:Site$pulumi:providers:kubernetes::${site}`, type: "pulumi:providers:kubernetes", name: site, parent: siteUrn, properties: { kubeconfig: "x" } };
    providers[site] = provider;
    resources.push(provider);
  }
  const s3Provider: AnalyzerResource = { urn: `${P}waris:index:Site$pulumi:providers:aws::gcloud-object-store`, type: "pulumi:providers:aws", name: "gcloud-object-store", parent: `${P}waris:index:Site::gcloud`, properties: { region: "us-east-1", endpoints: JSON.stringify([{ s3: "https://s3.gdcc.go.th" }]) } };
  resources.push(s3Provider);
  const onK8s = (site: string, type: string, name: string, spec: Record<string, unknown>, dataset: string): AnalyzerResource => ({
    urn: `${P}${type}::${site}-${name}`,
    type,
    name: `${site}-${name}`,
    provider: { urn: providers[site]!.urn, type: providers[site]!.type, name: site, properties: providers[site]!.properties },
    properties: { apiVersion: "v1", kind: type.split(":").pop(), metadata: { name, namespace: "data", labels: { "waris.io/site": site, "waris.io/data-class": "confidential", "waris.io/dataset": dataset } }, spec },
  });
  for (let u = 0; resources.length < count; u++) {
    const ds = `pg-${u}`;
    const cluster = (site: string, primary: string) => ({
      instances: 2,
      storage: { size: "100Gi" },
      postgresql: { parameters: { ssl_min_protocol_version: "TLSv1.3", archive_timeout: "5min" } },
      plugins: [{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: `${ds}-store` } }],
      replica: { self: `${ds}-${site}`, primary: `${ds}-${primary}`, source: `${ds}-${site === "onprem" ? "gcloud" : "onprem"}` },
      externalClusters: [{ name: `${ds}-gcloud`, connectionParameters: { host: "pg.gcloud.waris.internal", sslmode: "verify-full" } }],
    });
    resources.push(
      onK8s("onprem", "kubernetes:postgresql.cnpg.io/v1:Cluster", `${ds}-onprem`, cluster("onprem", "onprem"), ds),
      onK8s("gcloud", "kubernetes:postgresql.cnpg.io/v1:Cluster", `${ds}-gcloud`, cluster("gcloud", "onprem"), ds),
      onK8s("onprem", "kubernetes:barmancloud.cnpg.io/v1:ObjectStore", `${ds}-store`, { retentionPolicy: "30d", configuration: { destinationPath: `s3://${ds}/`, endpointURL: "https://s3.gdcc.go.th", wal: { encryption: "AES256" }, data: { encryption: "AES256" } } }, ds),
      onK8s("onprem", "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup", `${ds}-full`, { schedule: "0 0 2 * * 0", cluster: { name: `${ds}-onprem` } }, ds),
      onK8s("onprem", "kubernetes:monitoring.coreos.com/v1:PrometheusRule", `${ds}-alerts`, { groups: [{ name: "x", rules: [{ alert: "Lag", expr: "cnpg_pg_replication_lag > 60" }] }] }, ds),
      onK8s("onprem", "kubernetes:core/v1:ConfigMap", `${ds}-config`, {}, ds),
      onK8s("onprem", "kubernetes:core/v1:Secret", `${ds}-secret`, {}, ds),
      onK8s("onprem", "kubernetes:core/v1:Service", `${ds}-svc`, { type: "ClusterIP", ports: [{ port: 5432 }] }, ds),
      {
        urn: `${P}aws:s3/bucket:Bucket::${ds}`,
        type: "aws:s3/bucket:Bucket",
        name: ds,
        provider: { urn: s3Provider.urn, type: s3Provider.type, name: s3Provider.name, properties: s3Provider.properties },
        properties: { bucket: `bench-${ds}`, tags: { "waris-site": "gcloud", "waris-data-class": "confidential" } },
      },
      {
        urn: `${P}aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration::${ds}`,
        type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        name: ds,
        provider: { urn: s3Provider.urn, type: s3Provider.type, name: s3Provider.name, properties: s3Provider.properties },
        properties: { bucket: `bench-${ds}`, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
      },
    );
  }
  return resources;
}
