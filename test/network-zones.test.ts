/**
 * Network zones and allow-lists (issue 23): in prod, every namespace the program creates on each site
 * (its Namespaces and the namespaces its Helm releases create) has a default-deny ingress policy and
 * admits exactly the zone table's flows; every Service reachable from outside its cluster admits only the
 * other site's VPN ranges. A two-site stack without `vpnRanges` stops before any resource.
 */
import { cidrProblems } from "../components/site";
import { flowRule, warisZoneTable, type NamespaceZone } from "../components/network-zones";
import { Run, editSetting, resourcesOfType, runProgram } from "./harness";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const SITES = ["onprem", "gcloud"] as const;
const VPN: Record<string, string[]> = { onprem: ["10.10.0.0/16"], gcloud: ["10.20.0.0/16"] };
const other = (site: string): string => SITES.find((s) => s !== site)!;
const siteOf = (r: { inputs: Obj }): string | undefined => r.inputs["metadata"]?.labels?.["waris.io/site"];

let run: Run;
beforeAll(async () => {
  run = await runProgram("prod");
  if (run.error) throw run.error;
}, 60000);

/** The namespaces the program creates on a site: Namespace resources and Helm releases' namespaces. */
function createdNamespaces(site: string): string[] {
  const own = resourcesOfType(run, "kubernetes:core/v1:Namespace").filter((r) => siteOf(r) === site).map((r) => (r.inputs as Obj)["metadata"].name as string);
  // A Release's site is its provider's: the provider's URN carries the site's name.
  const released = resourcesOfType(run, "kubernetes:helm.sh/v3:Release").filter((r) => r.provider?.includes(`::${site}-`) || r.provider?.endsWith(`::${site}`)).map((r) => (r.inputs as Obj)["namespace"] as string);
  return [...new Set([...own, ...released])].sort();
}

test("every namespace the program creates has a default-deny ingress policy and admits exactly the zone table's flows", () => {
  const tables = run.outputs["networkZones"] as Record<string, Array<{ namespace: string }>>;
  for (const site of SITES) {
    const namespaces = createdNamespaces(site);
    expect(namespaces.length).toBeGreaterThanOrEqual(8);
    expect([site, tables[site]!.map((n) => n.namespace).sort()]).toEqual([site, namespaces]);
    const policies = resourcesOfType(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy").filter((r) => siteOf(r) === site);
    for (const ns of namespaces) {
      const inNs = (name: string) => policies.find((p) => (p.inputs as Obj)["metadata"].namespace === ns && (p.inputs as Obj)["metadata"].name === name)?.inputs as Obj | undefined;
      expect([ns, inNs("default-deny-ingress")?.["spec"]]).toEqual([ns, { podSelector: {}, policyTypes: ["Ingress"], ingress: [] }]);
      const allow = inNs("zone-ingress")!;
      expect(allow["spec"].podSelector).toEqual({});
      // The rules are the zone table's flows, rendered for this site's peer.
      const table = warisZoneTable({
        monitoringNamespace: "monitoring",
        twoSites: true,
        postgres: { namespace: "waris-postgres", operatorNamespace: "cnpg-system", installsOperators: true },
        mongodb: { namespace: "waris-mongodb" },
        redis: { namespace: "waris-redis" },
        milvus: { namespace: "waris-milvus", operatorNamespace: "milvus-operator" },
        appNamespace: "waris-app",
        inference: { namespace: "waris-inference" },
        dns: { namespace: "external-dns" },
        gpuOperator: { namespace: "gpu-operator" },
        monitoring: { namespace: "monitoring" },
        keys: { namespace: "waris-keys", externalSecretsNamespace: "external-secrets" },
      });
      const entry: NamespaceZone = table.find((n) => n.namespace === ns)!;
      expect([ns, allow["spec"].ingress]).toEqual([ns, JSON.parse(JSON.stringify(entry.flows.map((f) => flowRule(f, VPN[other(site)]!))))]);
      expect(allow["metadata"].labels["waris.io/zone"]).toBe(entry.zone);
    }
  }
});

test("the databases are in the data zone and reachable only from their own pods, the applications, the operator, Prometheus and the other site's VPN range", () => {
  const tables = run.outputs["networkZones"] as Record<string, Array<{ namespace: string; zone: string; flows: string[] }>>;
  expect(tables["onprem"]!.find((n) => n.namespace === "waris-postgres")).toEqual({
    namespace: "waris-postgres",
    zone: "data",
    flows: ["same-namespace", "waris-app:5432", "peer-site:5432", "cnpg-system:8000,5432", "monitoring:9187"],
  });
  expect(tables["gcloud"]!.find((n) => n.namespace === "waris-inference")).toMatchObject({ zone: "ai", flows: ["same-namespace", "waris-app:8080", "peer-site:8443", "monitoring:8000"] });
});

test("KEDA's namespace is the stack's setting: admitted to Prometheus on every inference site", async () => {
  const monitoringFlows = (r: Run, site: string): string[] => (r.outputs["networkZones"] as Record<string, Array<{ namespace: string; flows: string[] }>>)[site]!.find((n) => n.namespace === "monitoring")!.flows;
  for (const site of SITES) expect(monitoringFlows(run, site)).toContain("keda:9090");
  const dev = await runProgram("dev", (c) => editSetting(c, "inference", (i) => (i["kedaNamespace"] = "autoscaling")));
  if (dev.error) throw dev.error;
  expect(monitoringFlows(dev, "lab").filter((f) => f.endsWith(":9090"))).toEqual(["autoscaling:9090"]);
  const policy = resourcesOfType(dev, "kubernetes:networking.k8s.io/v1:NetworkPolicy").find((p) => (p.inputs as Obj)["metadata"].namespace === "monitoring" && (p.inputs as Obj)["metadata"].name === "zone-ingress")!;
  expect((policy.inputs as Obj)["spec"].ingress).toContainEqual({ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "autoscaling" } } }], ports: [{ protocol: "TCP", port: 9090 }] });
}, 60000);

test("every Service reachable from outside its cluster admits only the other site's VPN ranges, with the client address kept", () => {
  const exposed: string[] = [];
  for (const r of resourcesOfType(run, "kubernetes:core/v1:Service")) {
    const spec = (r.inputs as Obj)["spec"];
    if (spec.type !== "LoadBalancer" && spec.type !== "NodePort") continue;
    const site = siteOf(r)!;
    exposed.push(`${site} ${(r.inputs as Obj)["metadata"].name}`);
    expect([r.name, spec.loadBalancerSourceRanges, spec.externalTrafficPolicy]).toEqual([r.name, VPN[other(site)], "Local"]);
  }
  for (const r of resourcesOfType(run, "kubernetes:postgresql.cnpg.io/v1:Cluster")) {
    const site = siteOf(r)!;
    for (const svc of (r.inputs as Obj)["spec"].managed.services.additional) {
      exposed.push(`${site} ${svc.serviceTemplate.metadata.name}`);
      expect([r.name, svc.serviceTemplate.spec.loadBalancerSourceRanges, svc.serviceTemplate.spec.externalTrafficPolicy]).toEqual([r.name, VPN[other(site)], "Local"]);
    }
  }
  for (const r of resourcesOfType(run, "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB")) {
    const site = siteOf(r)!;
    for (const rs of (r.inputs as Obj)["spec"].replsets) {
      exposed.push(`${site} ${(r.inputs as Obj)["metadata"].name}-${rs.name} members`);
      expect([r.name, rs.expose.loadBalancerSourceRanges, rs.expose.externalTrafficPolicy]).toEqual([r.name, VPN[other(site)], "Local"]);
    }
  }
  expect(exposed.sort()).toEqual(
    ["gateway-remote", "waris-mongo-rs0 members", "waris-postgres-SITE-rw-lb", "waris-redis-replication"].flatMap((n) => SITES.map((s) => `${s} ${n.replace("SITE", s)}`)).sort(),
  );
});

test("a two-site stack without vpnRanges, or with a bad range, stops before any resource, naming the setting", async () => {
  const missing = await runProgram("prod", (c) => editSetting(c, "sites", (s) => delete s["gcloud"].vpnRanges));
  expect((missing.error as Error).name).toBe("StackConfigError");
  expect((missing.error as Error).message).toMatch(/sites\.gcloud\.vpnRanges.*is required with two data sites/);
  expect(missing.recording.resources.filter((r) => r.custom)).toEqual([]);
  const bad = await runProgram("prod", (c) => editSetting(c, "sites", (s) => (s["onprem"].vpnRanges = ["10.10.0.0/33", "10.10.0.0"])));
  expect((bad.error as Error).message).toMatch(/sites\.onprem\.vpnRanges\[0\].*"10\.10\.0\.0\/33"; a CIDR/);
  expect((bad.error as Error).message).toMatch(/sites\.onprem\.vpnRanges\[1\]/);
});

test("cidrProblems accepts IPv4 and IPv6 ranges and nothing else", () => {
  expect(cidrProblems(["10.0.0.0/8", "192.168.1.0/24", "fd00::/8", "0.0.0.0/0"], "r")).toEqual([]);
  expect(cidrProblems(["10.0.0.0", "10.0.0.0/33", "fd00::/129", "host/24", "10.0.0.0/8/1"], "r").map((p) => p.argument)).toEqual(["r[0]", "r[1]", "r[2]", "r[3]", "r[4]"]);
});
