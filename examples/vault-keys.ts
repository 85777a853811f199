// Keys from Vault for a team's own datastore: the CA is a Vault PKI mount whose key never leaves Vault,
// the certificates are cert-manager's (Vault issuer), the password and the dump uploader's object-store keys
// are Vault KV entries that External Secrets writes into the Secrets the pods read. Nothing secret is in
// this program's state. Before `pulumi up`, put the KV entries `kvPutCommands` lists (the password, the
// writer's keys); External Secrets must be installed on each site (installOperator) and cert-manager running.
import { RedisPrimary, VaultKeys, steadyRoles } from "@waris/hybrid-infra";
import { gcloud, onprem } from "./site";

const keys = new VaultKeys("team-keys", {
  settings: {
    address: "https://vault.waris.internal:8200",
    // The Kubernetes auth mount Vault's administrator configured for each site's cluster.
    authMounts: { onprem: "kubernetes-onprem", gcloud: "kubernetes-gcloud" },
  },
  sites: { onprem, gcloud },
  installOperator: true,
});

export const redis = new RedisPrimary("team-redis", {
  sites: [onprem, gcloud],
  roles: steadyRoles(["onprem", "gcloud"], "onprem"),
  replicationHosts: { onprem: "redis.onprem.team.internal", gcloud: "redis.gcloud.team.internal" },
  // No password here: it is the Vault KV entry stack/team-redis-password.
  backupSite: gcloud,
  backupBucket: "team-redis-dumps",
  keys,
});

/** What to put into Vault KV before the first `pulumi up`. */
export const vaultKvPut = keys.kvPutCommands;
