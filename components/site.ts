import * as pulumi from "@pulumi/pulumi";
import * as kubernetes from "@pulumi/kubernetes/provider";
import { isIP } from "node:net";
import { ArgumentProblem, InvalidArgumentsError, show, throwIfInvalid } from "./errors";
import { isDns1123Subdomain } from "./labels";
import { DEFAULT_KUBERNETES_DISTRIBUTION, KUBERNETES_DISTRIBUTIONS, KubernetesDistribution } from "./gpu-operator";
import { ObjectStoreKeyPair, ObjectStoreWriter } from "./keys";
import { loadOptionalSdk } from "./optional-sdk";
import { SITE_KINDS, SiteKind, THAILAND, describeThaiRegions, isRegionInThailand } from "./residency";
import { DEFAULT_STORE_ENCRYPTION, StoreEncryption, StoreEncryptionSpec, storeEncryptionProblems } from "./store-encryption";

export { SITE_KINDS, SiteKind } from "./residency";

/** The roles a site plays. Primary and standby sites hold data; a burst site holds none. */
export const SITE_ROLES = ["primary", "standby", "burst"] as const;

/** The role a site plays; see {@link SITE_ROLES}. */
export type SiteRole = (typeof SITE_ROLES)[number];

/** Site kinds whose workloads run on a Kubernetes cluster the platform is handed a kubeconfig for. */
export const KUBECONFIG_SITE_KINDS: readonly SiteKind[] = ["onprem", "gcloud"];

/** Site names become Kubernetes label values and resource names: a short DNS-1123 label. */
export const SITE_NAME_PATTERN = /^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$/;

/**
 * A site as a value: where things are placed. No cloud call is made to build one.
 */
export interface SiteSpec {
  /** Unique name of the site, e.g. `onprem`; a DNS-1123 label of at most 24 characters. */
  readonly name: string;
  /** Kind of site. */
  readonly kind: SiteKind;
  /** Provider region (`ap-southeast-7`) or, for on-prem and G-Cloud, the data centre's name. */
  readonly region: string;
  /** ISO 3166-1 alpha-2 country of the region; must agree with the residency table. */
  readonly country: string;
  /** The role the site plays now, after `activeSite` is applied. */
  readonly role: SiteRole;
}

/** Whether a site of this role holds data (and must therefore be in Thailand). */
export function roleHoldsData(role: SiteRole): boolean {
  return role !== "burst";
}

/**
 * Everything wrong with a site's placement: its name, a country that contradicts the residency table,
 * and a data-holding role outside Thailand. Shared by the stack configuration and {@link Site}.
 *
 * @param argumentPrefix - prefix for argument names in the problems, e.g. `sites.onprem`.
 */
export function siteSpecProblems(spec: SiteSpec, argumentPrefix = ""): ArgumentProblem[] {
  const at = (field: string): string => (argumentPrefix ? `${argumentPrefix}.${field}` : field);
  const problems: ArgumentProblem[] = [];
  if (!SITE_NAME_PATTERN.test(spec.name)) {
    problems.push({
      argument: at("name"),
      message: `is ${show(spec.name)}; a site name must be lowercase letters, digits and '-', start with a letter, at most 24 characters`,
    });
  }
  if (!(SITE_KINDS as readonly string[]).includes(spec.kind)) {
    problems.push({ argument: at("kind"), message: `is ${show(spec.kind)}; allowed: ${SITE_KINDS.join(", ")}` });
    return problems;
  }
  const inThailand = isRegionInThailand(spec.kind, spec.region);
  if (inThailand && spec.country !== THAILAND) {
    problems.push({
      argument: at("country"),
      message: `is ${show(spec.country)}, but ${spec.kind} region ${show(spec.region)} is in Thailand; set it to "${THAILAND}"`,
    });
  }
  if (!inThailand && spec.country === THAILAND) {
    problems.push({
      argument: at("region"),
      message: `${spec.kind} region ${show(spec.region)} is not in Thailand (Thai regions: ${describeThaiRegions(spec.kind)}); set country to the region's real country`,
    });
  }
  if (!inThailand && roleHoldsData(spec.role)) {
    problems.push({
      argument: at("role"),
      message: `is ${show(spec.role)}, a role that holds data, but ${spec.kind} region ${show(spec.region)} is outside Thailand; data may live only in ${describeThaiRegions(spec.kind)} for ${spec.kind} (or on the onprem/gcloud sites); use role "burst" for compute that holds no data`,
    });
  }
  return problems;
}

/** How to reach an S3-compatible object store of a site (G-Cloud's, or an on-prem MinIO). */
export interface ObjectStoreAccessArgs {
  /** HTTPS endpoint of the S3 API, e.g. `https://s3.example.go.th`. Plain HTTP is refused. */
  readonly endpoint: string;
  /** Signing region the store expects; defaults to `us-east-1`, what most S3-compatible stores accept. */
  readonly signingRegion?: string;
  /** Access key id (a Pulumi secret). */
  readonly accessKeyId: pulumi.Input<string>;
  /** Secret access key (a Pulumi secret). */
  readonly secretAccessKey: pulumi.Input<string>;
  /**
   * How the store encrypts at rest, which decides the SSE headers every writer sends: `sse-s3`
   * (`AES256`), `sse-kms` (`aws:kms`) or `store-managed` (no header: a store without a KMS rejects them).
   * Default `sse-s3`. See `STORE_ENCRYPTIONS`.
   */
  readonly encryption?: StoreEncryption;
  /** `sse-kms` only: the KMS key id. Default: the store's default key. */
  readonly kmsKeyId?: string;
  /**
   * Each backup writer's own keys (Pulumi secrets), limited on the store to its bucket
   * (`objectStoreWriterPolicy` in components/keys.ts gives the policy). A writer without keys here uses
   * `accessKeyId`/`secretAccessKey`, the key the program creates buckets with; the WARIS program's stack
   * settings give every writer its own. Ignored with Vault keys, which read them from Vault KV.
   */
  readonly writers?: Readonly<Partial<Record<ObjectStoreWriter, ObjectStoreKeyPair>>>;
}

/** Arguments of {@link Site}. */
export interface SiteArgs {
  /** Kind of site. */
  readonly kind: SiteKind;
  /** Provider region, or the data centre's name for `onprem` and `gcloud`. */
  readonly region: string;
  /** ISO 3166-1 alpha-2 country of the region. */
  readonly country: string;
  /** Role the site plays now (after failover, the standby site's role is `primary`). */
  readonly role: SiteRole;
  /**
   * Kubeconfig of the site's cluster (a Pulumi secret). Required for `onprem` and `gcloud` sites,
   * optional for cloud sites (whose node pools are made through the cloud API).
   */
  readonly kubeconfig?: pulumi.Input<string>;
  /** The site's S3-compatible object store, for sites whose object storage is not the cloud's own. */
  readonly objectStore?: ObjectStoreAccessArgs;
  /**
   * `onprem` and `gcloud`: the Kubernetes distribution of the site's cluster (`talos`, `k3s`,
   * `containerd`); it decides where the GPU driver and toolkit are and the GPU Operator's values. Default
   * `containerd` (containerd at its standard paths). See `KUBERNETES_DISTRIBUTIONS`.
   */
  readonly kubernetesDistribution?: KubernetesDistribution;
  /**
   * The site's address ranges on the inter-site VPN (CIDRs, e.g. `10.20.0.0/16`): where its traffic to the
   * other site comes from. The other site's cross-site LoadBalancers admit only these
   * (`loadBalancerSourceRanges`), and so do its NetworkPolicies' peer flows (components/network-zones.ts).
   * Required on each of two data sites. Default none.
   */
  readonly vpnRanges?: readonly string[];
  /**
   * `onprem`/`gcloud`: the StorageClass the program's volume claims use and how it is encrypted at rest
   * ({@link SiteVolumes}); published to the policy pack, which denies claims of other classes. Default: none
   * declared (claims use the cluster's default class, which the pack cannot show to be encrypted).
   */
  readonly volumes?: SiteVolumes;
}

/**
 * How a site's Kubernetes volumes are encrypted at rest (the seed: AES-256 at rest), declared by the site
 * because no Kubernetes API shows it:
 * - `node-disk-encryption`: the nodes' disks are encrypted (Talos `systemDiskEncryption` of the EPHEMERAL
 *   partition, LUKS2 with AES-XTS; LUKS under K3s): every local volume on them is, whatever its class;
 * - `encrypted-storage-class`: the class's provisioner encrypts each volume (Longhorn or Ceph RBD with
 *   encryption, the EBS CSI driver's `encrypted: "true"`): only claims of that class are;
 * - `cloud-default`: the cloud's block storage encrypts every volume itself (confirm it on the provider's
 *   service sheet): any class of the site is.
 */
export const VOLUME_ENCRYPTIONS = ["node-disk-encryption", "encrypted-storage-class", "cloud-default"] as const;

/** One of {@link VOLUME_ENCRYPTIONS}. */
export type VolumeEncryption = (typeof VOLUME_ENCRYPTIONS)[number];

/** A site's volumes: the StorageClass every claim of the program uses, and how its volumes are encrypted. */
export interface SiteVolumes {
  /** StorageClass name every volume claim on the site uses, e.g. `local-path` or `longhorn-encrypted`. */
  readonly storageClass: string;
  /** How volumes of that class are encrypted at rest. */
  readonly encryption: VolumeEncryption;
}

/** Every problem with a site's volume declaration, named under `argument`. Pure. */
export function siteVolumesProblems(volumes: SiteVolumes | undefined, argument: string): ArgumentProblem[] {
  if (volumes === undefined) return [];
  const problems: ArgumentProblem[] = [];
  if (!isDns1123Subdomain(volumes.storageClass ?? "")) problems.push({ argument: `${argument}.storageClass`, message: `is ${show(volumes.storageClass)}; a StorageClass name (lowercase RFC 1123 subdomain)` });
  if (!(VOLUME_ENCRYPTIONS as readonly string[]).includes(volumes.encryption)) problems.push({ argument: `${argument}.encryption`, message: `is ${show(volumes.encryption)}; allowed: ${VOLUME_ENCRYPTIONS.join(", ")}` });
  return problems;
}

/** Every problem with a list of CIDRs (IPv4 or IPv6, with a prefix length), named `<argument>[i]`. Pure. */
export function cidrProblems(ranges: readonly string[], argument: string): ArgumentProblem[] {
  // Node's own address parser; the prefix length must fit the address family.
  const isCidr = (r: unknown): boolean => {
    const [address, prefix, ...rest] = typeof r === "string" ? r.split("/") : [];
    const family = address !== undefined ? isIP(address) : 0;
    return family !== 0 && rest.length === 0 && prefix !== undefined && /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  };
  return ranges.flatMap((r, i) => (isCidr(r) ? [] : [{ argument: `${argument}[${i}]`, message: `is ${show(r)}; a CIDR such as 10.20.0.0/16 (an address with a prefix length)` }]));
}

/**
 * The source ranges a site's cross-site Services admit: the other data site's `vpnRanges` (pure). Empty when
 * the site has no peer.
 */
export function peerSourceRanges(sites: readonly Site[], siteName: string): string[] {
  return sites.filter((s) => s.spec.name !== siteName).flatMap((s) => [...s.vpnRanges]);
}

/** The Service fields of a cross-site LoadBalancer; see {@link crossSiteExposure}. */
export interface CrossSiteExposure {
  /** The other data site's `vpnRanges`: the only sources the load balancer admits. */
  loadBalancerSourceRanges: string[];
  /** `Local`: the client's address is kept, so NetworkPolicies' ipBlock peers can match it. */
  externalTrafficPolicy: "Local";
}

/**
 * The fields every cross-site LoadBalancer of a site carries (pure): `loadBalancerSourceRanges`, the other
 * data site's `vpnRanges` (the load balancer drops anything else), and `externalTrafficPolicy: Local`, which
 * keeps the client's address so that the NetworkPolicies' peer flows (ipBlock) can match it (with `Cluster`,
 * kube-proxy rewrites it to a node's; kubernetes.io "Create an External Load Balancer", "Preserving the
 * client source IP"). The same two fields exist on CloudNativePG's `managed.services.additional[].serviceTemplate.spec`
 * and Percona's `replsets[].expose` (their CRDs).
 */
export function crossSiteExposure(sites: readonly Site[], siteName: string): CrossSiteExposure {
  return { loadBalancerSourceRanges: peerSourceRanges(sites, siteName), externalTrafficPolicy: "Local" };
}

/**
 * The problems of exposing Services across two sites without an allow-list: each site must declare
 * `vpnRanges` for the other's LoadBalancers to admit. Pure; components call it before registering.
 */
export function peerRangeProblems(sites: readonly Pick<Site, "spec" | "vpnRanges">[]): ArgumentProblem[] {
  if (sites.length < 2) return [];
  return sites
    .filter((s) => s.vpnRanges.length === 0)
    .map((s) => ({ argument: `sites.${s.spec.name}.vpnRanges`, message: "is required with two sites: the other site's LoadBalancers admit only the ranges it lists (no Service is exposed without an allow-list)" }));
}

/**
 * A site with the providers that reach it: a Kubernetes provider from its kubeconfig, the cloud's provider
 * for its region, and an AWS provider pointed at its S3-compatible object store. Registers only providers.
 *
 * The providers carry the site's name, so the engine's URN of each says which site it reaches.
 */
export class Site extends pulumi.ComponentResource {
  /** The site as a value. */
  readonly spec: SiteSpec;
  /** Kubernetes provider of the site's cluster, when a kubeconfig was given. */
  readonly kubernetesProvider?: kubernetes.Provider;
  /** AWS provider for the site's region (`aws` sites; `@pulumi/aws`, an optional peer dependency). */
  readonly awsProvider?: pulumi.ProviderResource;
  /** Azure provider for the site's location (`azure` sites; `@pulumi/azure-native`, an optional peer dependency). */
  readonly azureProvider?: pulumi.ProviderResource;
  /** DigitalOcean provider (`digitalocean` sites; `@pulumi/digitalocean`); the token comes from `DIGITALOCEAN_TOKEN`. */
  readonly digitaloceanProvider?: pulumi.ProviderResource;
  /** The object store's provider, registered on first use ({@link objectStoreProvider}). */
  private objectStoreProviderOnce?: pulumi.ProviderResource;
  /** HTTPS endpoint of the site's S3-compatible object store, when it has one. */
  readonly objectStoreEndpoint?: string;
  /** Kubernetes distribution of the site's cluster (onprem/gcloud; `containerd` elsewhere). */
  readonly kubernetesDistribution: KubernetesDistribution;
  /** Cluster-wide singletons on this site and the component that owns each. */
  private readonly singletonOwners = new Map<string, string>();
  /** The resources that install each cluster-wide singleton this program installs ({@link recordInstalled}). */
  private readonly singletonResources = new Map<string, pulumi.Resource[]>();
  /** How the site's S3-compatible store encrypts at rest, when it has one (what writers must send). */
  readonly objectStoreEncryption?: StoreEncryptionSpec;
  /** How to reach the site's S3-compatible store, keys as Pulumi secrets (for backup tools' credentials). */
  readonly objectStoreAccess?: ObjectStoreAccessArgs;
  /** The site's volume class and its encryption ({@link SiteArgs.volumes}), when declared. */
  readonly volumes?: SiteVolumes;
  /** The site's address ranges on the inter-site VPN ({@link SiteArgs.vpnRanges}); empty when not given. */
  readonly vpnRanges: readonly string[];

  /**
   * @param name - the site's name, e.g. `onprem`.
   * @param args - where the site is and how to reach it.
   * @param opts - component options.
   */
  constructor(name: string, args: SiteArgs, opts?: pulumi.ComponentResourceOptions) {
    const spec: SiteSpec = { name, kind: args.kind, region: args.region, country: args.country, role: args.role };
    const problems = siteSpecProblems(spec);
    if (KUBECONFIG_SITE_KINDS.includes(args.kind) && args.kubeconfig === undefined) {
      problems.push({ argument: "kubeconfig", message: `is required for a ${args.kind} site: it is the only way to reach it` });
    }
    if (args.kubernetesDistribution !== undefined) {
      if (!KUBECONFIG_SITE_KINDS.includes(args.kind)) problems.push({ argument: "kubernetesDistribution", message: `is set on a ${args.kind} site; it applies to the onprem/gcloud clusters the platform is handed a kubeconfig for` });
      else if (!(KUBERNETES_DISTRIBUTIONS as readonly string[]).includes(args.kubernetesDistribution)) {
        problems.push({ argument: "kubernetesDistribution", message: `is ${show(args.kubernetesDistribution)}; allowed: ${KUBERNETES_DISTRIBUTIONS.join(", ")}` });
      }
    }
    if (args.objectStore) problems.push(...storeEncryptionProblems({ mode: args.objectStore.encryption, kmsKeyId: args.objectStore.kmsKeyId }, "objectStore"));
    if (args.objectStore && !args.objectStore.endpoint.startsWith("https://")) {
      problems.push({
        argument: "objectStore.endpoint",
        message: `is ${show(args.objectStore.endpoint)}; it must be an https:// URL (TLS in transit)`,
      });
    }
    problems.push(...cidrProblems(args.vpnRanges ?? [], "vpnRanges"), ...siteVolumesProblems(args.volumes, "volumes"));
    throwIfInvalid(`Site "${name}"`, problems);
    // The cloud's SDK is an optional peer dependency: a missing one fails here, before anything is registered.
    const cloudSdk: {
      aws?: typeof import("@pulumi/aws/provider");
      azure?: typeof import("@pulumi/azure-native/provider");
      digitalocean?: typeof import("@pulumi/digitalocean/provider");
    } =
      args.kind === "aws"
        ? { aws: loadOptionalSdk<typeof import("@pulumi/aws/provider")>("@pulumi/aws", "provider", `Site "${name}" (kind aws)`) }
        : args.kind === "azure"
          ? { azure: loadOptionalSdk<typeof import("@pulumi/azure-native/provider")>("@pulumi/azure-native", "provider", `Site "${name}" (kind azure)`) }
          : args.kind === "digitalocean"
            ? { digitalocean: loadOptionalSdk<typeof import("@pulumi/digitalocean/provider")>("@pulumi/digitalocean", "provider", `Site "${name}" (kind digitalocean)`) }
            : {};

    // The spec (never the secrets) goes to the engine as the component's inputs: the policy pack reads
    // sites from there to tell which country each provider's resources are in.
    const encryption: StoreEncryptionSpec | undefined = args.objectStore
      ? { mode: args.objectStore.encryption ?? DEFAULT_STORE_ENCRYPTION.mode, ...(args.objectStore.kmsKeyId ? { kmsKeyId: args.objectStore.kmsKeyId } : {}) }
      : undefined;
    // The store's declared encryption is published too: the policy pack checks every writer against it.
    super("waris:index:Site", name, { site: spec, objectStoreEndpoint: args.objectStore?.endpoint, objectStoreEncryption: encryption, volumes: args.volumes }, opts);
    this.objectStoreEncryption = encryption;
    this.kubernetesDistribution = args.kubernetesDistribution ?? DEFAULT_KUBERNETES_DISTRIBUTION;
    this.spec = spec;
    this.vpnRanges = [...(args.vpnRanges ?? [])];
    if (args.volumes) this.volumes = args.volumes;
    const child = { parent: this };

    if (args.kubeconfig !== undefined) {
      this.kubernetesProvider = new kubernetes.Provider(
        name,
        { kubeconfig: pulumi.secret(args.kubeconfig), enableServerSideApply: true },
        child,
      );
    }
    if (cloudSdk.aws) this.awsProvider = new cloudSdk.aws.Provider(name, { region: args.region }, child);
    if (cloudSdk.azure) this.azureProvider = new cloudSdk.azure.Provider(name, { location: args.region }, child);
    if (cloudSdk.digitalocean) this.digitaloceanProvider = new cloudSdk.digitalocean.Provider(name, {}, child);
    if (args.objectStore) {
      this.objectStoreEndpoint = args.objectStore.endpoint;
      this.objectStoreAccess = {
        ...args.objectStore,
        accessKeyId: pulumi.secret(args.objectStore.accessKeyId),
        secretAccessKey: pulumi.secret(args.objectStore.secretAccessKey),
      };
    }
    this.registerOutputs({ spec, objectStoreEndpoint: this.objectStoreEndpoint, objectStoreEncryption: this.objectStoreEncryption });
  }

  /**
   * The keys `writer` uses on this site's store (Pulumi secrets): its own when `objectStore.writers` has
   * them, else the site's; undefined when the site has no S3-compatible store.
   */
  objectStoreWriterKeys(writer: ObjectStoreWriter): ObjectStoreKeyPair | undefined {
    const access = this.objectStoreAccess;
    if (access === undefined) return undefined;
    const own = access.writers?.[writer];
    return own ? { accessKeyId: pulumi.secret(own.accessKeyId), secretAccessKey: pulumi.secret(own.secretAccessKey) } : { accessKeyId: access.accessKeyId, secretAccessKey: access.secretAccessKey };
  }

  /**
   * AWS provider pointed at the site's S3-compatible object store, when it has one; undefined otherwise.
   * Registered (as `<site>-object-store`, a child of the site) on first use, by the first bucket: only a
   * program that creates buckets needs `@pulumi/aws`, an optional peer dependency.
   *
   * @throws MissingSdkError when `@pulumi/aws` is not installed.
   */
  get objectStoreProvider(): pulumi.ProviderResource | undefined {
    const access = this.objectStoreAccess;
    if (access === undefined) return undefined;
    if (this.objectStoreProviderOnce === undefined) {
      const aws = loadOptionalSdk<typeof import("@pulumi/aws/provider")>("@pulumi/aws", "provider", `Site "${this.spec.name}": a bucket on its objectStore`);
      // The AWS provider speaks to any S3-compatible store once it stops asking AWS's own services
      // (STS, IMDS, the region list) about the credentials and region.
      this.objectStoreProviderOnce = new aws.Provider(
        `${this.spec.name}-object-store`,
        {
          region: access.signingRegion ?? "us-east-1",
          accessKey: access.accessKeyId,
          secretKey: access.secretAccessKey,
          endpoints: [{ s3: access.endpoint }],
          s3UsePathStyle: true,
          skipCredentialsValidation: true,
          skipMetadataApiCheck: true,
          skipRegionValidation: true,
          skipRequestingAccountId: true,
        },
        { parent: this },
      );
    }
    return this.objectStoreProviderOnce;
  }

  /**
   * Claims a cluster-wide singleton of this site (e.g. the GPU Operator) for one owner. Call it before
   * registering anything, so a second owner fails first.
   *
   * @param singleton - what is claimed, e.g. `gpu-operator`.
   * @param owner - the claiming component, e.g. `GpuNodePool "onprem-inference"`.
   * @param argument - the owner's argument that asked for it, named in the error.
   * @throws InvalidArgumentsError when another owner holds it.
   */
  claimSingleton(singleton: string, owner: string, argument: string): void {
    const holder = this.singletonOwners.get(singleton);
    if (holder !== undefined && holder !== owner) {
      throw new InvalidArgumentsError(owner, [
        { argument, message: `asks for the ${singleton}, but ${holder} already installs it on site "${this.spec.name}"; it is one per cluster: set ${argument} false on every other component of this site` },
      ]);
    }
    this.singletonOwners.set(singleton, owner);
  }

  /**
   * Records the resources that install a cluster-wide singleton on this site (e.g. the `cert-manager` Helm
   * release), so that a component registered later, which needs it, can wait for it ({@link installed}).
   */
  recordInstalled(singleton: string, resources: readonly pulumi.Resource[]): void {
    this.singletonResources.set(singleton, [...(this.singletonResources.get(singleton) ?? []), ...resources]);
  }

  /** The resources recorded as installing `singleton` so far; empty when the program does not install it. */
  installed(singleton: string): readonly pulumi.Resource[] {
    return this.singletonResources.get(singleton) ?? [];
  }
}
