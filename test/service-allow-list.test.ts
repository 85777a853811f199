/**
 * The pack's `waris-service-allow-list` (issue 23) on another team's plain Kubernetes program and on
 * operators' custom resources: a LoadBalancer without source ranges, one open to everyone, a NodePort, a
 * CloudNativePG managed LoadBalancer and a Percona member exposure without ranges are denied; the same with
 * ranges passes. This program's own plan has no violation (test/network-zones.test.ts checks its ranges).
 */
import { analyzerResourcesOf, evaluatePack, runProgram } from "./harness";
import { toAnalyzerResources } from "../plan/offline-plan";

const POLICY = "waris-service-allow-list";

test("another team's Services: only LoadBalancers with a real allow-list pass", async () => {
  const resources = await analyzerResourcesOf((kit) => {
    const provider = new kit.k8s.Provider("team-cluster", { kubeconfig: "k" });
    const svc = (name: string, spec: Record<string, unknown>) =>
      new kit.k8s.core.v1.Service(name, { metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 5432 }], ...spec } }, { provider });
    svc("open-lb", { type: "LoadBalancer" });
    svc("everyone-lb", { type: "LoadBalancer", loadBalancerSourceRanges: ["10.0.0.0/8", "0.0.0.0/0"] });
    svc("node-port", { type: "NodePort" });
    svc("listed-lb", { type: "LoadBalancer", loadBalancerSourceRanges: ["10.20.0.0/16"] });
    svc("internal", { type: "ClusterIP" });
    const cr = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>) => new kit.k8s.apiextensions.CustomResource(name, { apiVersion, kind, metadata: { name }, spec }, { provider });
    cr("Cluster", "postgresql.cnpg.io/v1", "team-pg", { instances: 1, managed: { services: { additional: [{ selectorType: "rw", serviceTemplate: { metadata: { name: "team-pg-lb" }, spec: { type: "LoadBalancer" } } }] } } });
    cr("PerconaServerMongoDB", "psmdb.percona.com/v1", "team-mongo", { replsets: [{ name: "rs0", size: 3, expose: { enabled: true, exposeType: "LoadBalancer" } }] });
    cr("Pooler", "postgresql.cnpg.io/v1", "team-pooler", { cluster: { name: "team-pg" }, type: "rw", pgbouncer: { poolMode: "session" }, serviceTemplate: { spec: { type: "LoadBalancer" } } });
    cr("Milvus", "milvus.io/v1beta1", "team-vectors", { mode: "standalone", components: { standalone: { serviceType: "LoadBalancer" } } });
    cr("PerconaServerMongoDB", "psmdb.percona.com/v1", "team-mongo-listed", { replsets: [{ name: "rs0", size: 3, expose: { enabled: true, type: "LoadBalancer", loadBalancerSourceRanges: ["10.20.0.0/16"] } }] });
  });
  const denied = (await evaluatePack(resources)).filter((d) => d.policyName === POLICY);
  expect(denied.map((d) => `${d.enforcementLevel}: ${d.message.split(":")[0]}`).sort()).toEqual(
    [
      'mandatory: MongoDB "team-mongo" replset rs0 members is a LoadBalancer without loadBalancerSourceRanges',
      'mandatory: Milvus "team-vectors" standalone service is a LoadBalancer without loadBalancerSourceRanges',
      'mandatory: PgBouncer pooler "team-pooler" is a LoadBalancer without loadBalancerSourceRanges',
      'mandatory: PostgreSQL cluster "team-pg" managed service "team-pg-lb" is a LoadBalancer without loadBalancerSourceRanges',
      'mandatory: Service "everyone-lb" admits 0.0.0.0/0 (everyone); list only the sources allowed.',
      'mandatory: Service "node-port" is a NodePort',
      'mandatory: Service "open-lb" is a LoadBalancer without loadBalancerSourceRanges',
    ].sort(),
  );
}, 60000);

test("this program's prod plan exposes nothing without an allow-list", async () => {
  const run = await runProgram("prod");
  if (run.error) throw run.error;
  expect((await evaluatePack(toAnalyzerResources(run.recording.resources))).filter((d) => d.policyName === POLICY)).toEqual([]);
}, 60000);
