/**
 * Encryption at rest of volumes (issue 23): every claim the program makes uses its site's declared class,
 * and the pack's `waris-volume-encryption` denies, in any team's program, a claim that nothing shows to be
 * encrypted: a PVC of an undeclared class on EKS, a StatefulSet template on the default class, a claim on a
 * Site that declares no encryption or of another class than the site's encrypted one.
 */
import { analyzerResourcesOf, editSetting, evaluatePack, resourcesOfType, runProgram } from "./harness";
import { toAnalyzerResources } from "../plan/offline-plan";
import { siteVolumesProblems } from "../components/site";
import { isDns1123Subdomain } from "../components/labels";
import { kubernetesName } from "../stack/limits";
import { checkConformance } from "../conformance/check";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const POLICY = "waris-volume-encryption";

test("in prod every claim the program makes names its site's declared class", async () => {
  const run = await runProgram("prod");
  if (run.error) throw run.error;
  const declared: Record<string, string> = { onprem: "local-path", gcloud: "longhorn-encrypted" };
  const classes: string[] = [];
  const site = (r: { inputs: Obj }) => r.inputs["metadata"]?.labels?.["waris.io/site"] as string;
  for (const r of resourcesOfType(run, "kubernetes:core/v1:PersistentVolumeClaim")) classes.push(`${site(r)} ${(r.inputs as Obj)["spec"].storageClassName}`);
  for (const r of resourcesOfType(run, "kubernetes:apps/v1:StatefulSet")) for (const t of (r.inputs as Obj)["spec"].volumeClaimTemplates ?? []) classes.push(`${site(r)} ${t.spec.storageClassName}`);
  for (const r of resourcesOfType(run, "kubernetes:postgresql.cnpg.io/v1:Cluster")) classes.push(`${site(r)} ${(r.inputs as Obj)["spec"].storage.storageClass}`, `${site(r)} ${(r.inputs as Obj)["spec"].walStorage.storageClass}`);
  for (const r of resourcesOfType(run, "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB")) classes.push(`${site(r)} ${(r.inputs as Obj)["spec"].replsets[0].volumeSpec.persistentVolumeClaim.storageClassName}`);
  for (const r of resourcesOfType(run, "kubernetes:milvus.io/v1beta1:Milvus")) {
    const deps = (r.inputs as Obj)["spec"].dependencies;
    classes.push(`${site(r)} ${deps.etcd.inCluster.values.persistence.storageClass}`);
    // Standalone: RocksMQ's message log on a volume (none by default in the operator), kept on delete.
    expect(deps.rocksmq.persistence).toMatchObject({ enabled: true, pvcDeletion: false });
    classes.push(`${site(r)} ${deps.rocksmq.persistence.persistentVolumeClaim.spec.storageClassName}`);
  }
  expect(classes.length).toBeGreaterThanOrEqual(12);
  for (const c of classes) expect(c).toBe(`${c.split(" ")[0]} ${declared[c.split(" ")[0]!]}`);
}, 60000);

test("another team's claims: only classes shown to be encrypted pass", async () => {
  const resources = await analyzerResourcesOf((kit) => {
    const provider = new kit.k8s.Provider("team-cluster", { kubeconfig: "k" });
    const o = { provider };
    new kit.k8s.storage.v1.StorageClass("ebs-encrypted", { metadata: { name: "ebs-encrypted" }, provisioner: "ebs.csi.aws.com", parameters: { type: "gp3", encrypted: "true" } }, o);
    new kit.k8s.storage.v1.StorageClass("ebs-plain", { metadata: { name: "ebs-plain" }, provisioner: "ebs.csi.aws.com", parameters: { type: "gp3" } }, o);
    const pvc = (name: string, storageClassName?: string) =>
      new kit.k8s.core.v1.PersistentVolumeClaim(name, { metadata: { name }, spec: { accessModes: ["ReadWriteOnce"], storageClassName, resources: { requests: { storage: "10Gi" } } } }, o);
    pvc("good", "ebs-encrypted");
    pvc("plain", "ebs-plain");
    pvc("default-class");
    pvc("gp2-not-in-stack", "gp2");
    new kit.k8s.apps.v1.StatefulSet("db", {
      metadata: { name: "db" },
      spec: { serviceName: "db", selector: { matchLabels: { app: "db" } }, template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "db", image: "postgres:17" }] } }, volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }] },
    }, o);
    // Components on Sites: one declaring an encrypted class, one declaring nothing.
    const declared = new kit.lib.Site("onprem", { kind: "onprem", region: "pwa", country: "TH", role: "primary", kubeconfig: "k", volumes: { storageClass: "longhorn-encrypted", encryption: "encrypted-storage-class" } });
    const silent = new kit.lib.Site("lab", { kind: "onprem", region: "pwa", country: "TH", role: "standby", kubeconfig: "k" });
    new kit.k8s.core.v1.PersistentVolumeClaim("on-site-good", { metadata: { name: "a" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "longhorn-encrypted", resources: { requests: { storage: "1Gi" } } } }, { provider: declared.kubernetesProvider });
    new kit.k8s.core.v1.PersistentVolumeClaim("on-site-other-class", { metadata: { name: "b" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "local-path", resources: { requests: { storage: "1Gi" } } } }, { provider: declared.kubernetesProvider });
    new kit.k8s.core.v1.PersistentVolumeClaim("on-silent-site", { metadata: { name: "c" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "local-path", resources: { requests: { storage: "1Gi" } } } }, { provider: silent.kubernetesProvider });
  });
  const denied = (await evaluatePack(resources)).filter((d) => d.policyName === POLICY).map((d) => d.message.replace(/ (uses|is on) .*/, " $1"));
  expect(denied.sort()).toEqual(
    [
      'PersistentVolumeClaim "b" uses',
      'PersistentVolumeClaim "c" is on',
      'PersistentVolumeClaim "default-class" uses',
      'PersistentVolumeClaim "gp2-not-in-stack" uses',
      'PersistentVolumeClaim "plain" uses',
      'StatefulSet "db" claim template "data" uses',
    ].sort(),
  );
}, 60000);

test("a site's volume declaration is checked: a StorageClass name and one of the encryptions", () => {
  expect(siteVolumesProblems({ storageClass: "local-path", encryption: "node-disk-encryption" }, "volumes")).toEqual([]);
  expect(siteVolumesProblems({ storageClass: "Local Path", encryption: "luks" as never }, "volumes").map((p) => p.argument)).toEqual(["volumes.storageClass", "volumes.encryption"]);
});

test("a StorageClass name is one DNS-1123 subdomain check, Kubernetes' own, for the component and the stack file alike", () => {
  const label63 = "a".repeat(63);
  const cases: Array<[string, boolean]> = [
    ["longhorn-encrypted", true],
    ["gp3.encrypted", true],
    ["node.1", true],
    // Kubernetes limits the whole name to 253, not each part to 63 (apimachinery IsDNS1123Subdomain).
    [`${label63}b.x`, true],
    [`${label63}.${label63}.${label63}.${"a".repeat(61)}`, true],
    [`${label63}.${label63}.${label63}.${"a".repeat(62)}`, false],
    ["a..b", false],
    ["a-.b", false],
    ["-a", false],
    ["Fast", false],
    ["", false],
  ];
  for (const [name, ok] of cases) {
    expect([name, isDns1123Subdomain(name)]).toEqual([name, ok]);
    expect([name, kubernetesName.safeParse(name).success]).toEqual([name, ok]);
  }
});

test("in this program, a site that stops declaring its volume encryption has every claim there denied", async () => {
  const run = await runProgram("prod", (c) => editSetting(c, "sites", (s) => delete s["gcloud"].volumes));
  if (run.error) throw run.error;
  const denied = (await evaluatePack(toAnalyzerResources(run.recording.resources))).filter((d) => d.policyName === POLICY);
  expect(denied.length).toBeGreaterThanOrEqual(5);
  for (const d of denied) expect(d.message).toMatch(/is on site "gcloud", which does not declare how its volumes are encrypted/);
}, 60000);

test("cluster-mode Milvus: its in-cluster Pulsar's ZooKeeper and BookKeeper volumes use the site's class, and the pack checks them", async () => {
  const resources = await analyzerResourcesOf((kit) => {
    const store = { endpoint: "https://s3.gdcc.go.th", accessKeyId: "a", secretAccessKey: "s" };
    const site = new kit.lib.Site("gcloud", { kind: "gcloud", region: "gdcc", country: "TH", role: "primary", kubeconfig: "k", volumes: { storageClass: "longhorn-encrypted", encryption: "encrypted-storage-class" }, objectStore: store });
    new kit.lib.MilvusPrimary("vectors", { sites: [site], roles: kit.lib.steadyRoles(["gcloud"], "gcloud"), mode: "cluster", dataBucket: "vectors-data", backupSite: site, backupBucket: "vectors-backups" });
  });
  const milvus = resources.find((r) => r.type === "kubernetes:milvus.io/v1beta1:Milvus")!;
  const milvusUrn = milvus.urn;
  const pulsar = (milvus.properties as Obj)["spec"].dependencies.pulsar.inCluster;
  expect(pulsar).toMatchObject({ chartVersion: "pulsar-v3", deletionPolicy: "Retain", pvcDeletion: false });
  const on = { storageClassName: "longhorn-encrypted" };
  expect(pulsar.values).toEqual({ zookeeper: { volumes: { data: on } }, bookkeeper: { volumes: { journal: on, ledgers: on } } });
  // Accepted upstream (the Milvus operator v1.2.7 CRD), and by the pack.
  expect(checkConformance([{ type: milvus.type, name: milvus.name, inputs: milvus.properties }]).objects.flatMap((o) => o.findings)).toEqual([]);
  expect((await evaluatePack(resources)).filter((d) => d.policyName === POLICY)).toEqual([]);

  // The same Milvus without those values: each Pulsar volume would get the cluster's default class.
  const bare = resources.map((r) => (r.urn === milvusUrn ? { ...r, properties: structuredClone(r.properties) } : r));
  delete ((bare.find((r) => r.urn === milvusUrn)!.properties as Obj)["spec"].dependencies.pulsar.inCluster.values);
  const denied = (await evaluatePack(bare)).filter((d) => d.policyName === POLICY).map((d) => d.message.replace(/ uses .*/, ""));
  expect(denied.sort()).toEqual(['Milvus "vectors" Pulsar BookKeeper journal volume', 'Milvus "vectors" Pulsar BookKeeper ledgers volume', 'Milvus "vectors" Pulsar ZooKeeper data volume']);
}, 60000);
