// A site of each Thai kind: the on-prem cluster with its MinIO, and G-Cloud with its S3-compatible store.
import * as pulumi from "@pulumi/pulumi";
import { Site } from "@waris/hybrid-infra";

const config = new pulumi.Config();

export const onprem = new Site("onprem", {
  kind: "onprem",
  region: "pwa-hq-bangkok",
  country: "TH",
  role: "primary",
  kubeconfig: config.requireSecret("onpremKubeconfig"),
  // MinIO on the server: Milvus keeps its segments in the object store of its own site.
  objectStore: {
    endpoint: "https://minio.onprem.example.internal",
    accessKeyId: config.requireSecret("onpremObjectStoreAccessKeyId"),
    secretAccessKey: config.requireSecret("onpremObjectStoreSecretAccessKey"),
  },
});

export const gcloud = new Site("gcloud", {
  kind: "gcloud",
  region: "gdcc-bangkok",
  country: "TH",
  role: "standby",
  kubeconfig: config.requireSecret("gcloudKubeconfig"),
  objectStore: {
    endpoint: "https://s3.gdcc.go.th",
    accessKeyId: config.requireSecret("gcloudObjectStoreAccessKeyId"),
    secretAccessKey: config.requireSecret("gcloudObjectStoreSecretAccessKey"),
  },
});
