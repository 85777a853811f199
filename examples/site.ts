// A site of each Thai kind: the on-prem cluster and G-Cloud with its S3-compatible store.
import * as pulumi from "@pulumi/pulumi";
import { Site } from "@waris/hybrid-infra";

const config = new pulumi.Config();

export const onprem = new Site("onprem", {
  kind: "onprem",
  region: "pwa-hq-bangkok",
  country: "TH",
  role: "primary",
  kubeconfig: config.requireSecret("onpremKubeconfig"),
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
