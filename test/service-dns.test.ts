/**
 * The names users reach follow the serving site: ExternalDNS on each data site, a DNSEndpoint per site
 * with the same records; an unreachable site keeps what it had; bad settings are named before anything
 * is registered.
 */
import { runProgram, resource, type Run } from "./harness";

const P = "waris-hybrid";
const records = (run: Run, site: string) =>
  (resource(run, "kubernetes:externaldns.k8s.io/v1alpha1:DNSEndpoint", `waris-dns-${site}-records`).inputs["spec"] as { endpoints: Array<{ dnsName: string; recordType: string; targets: string[] }> }).endpoints;

test("steady prod: the serving site publishes db and llm as CNAMEs to its hosts; ExternalDNS on both sites over RFC 2136", async () => {
  const run = await runProgram("prod");
  expect(run.error).toBeUndefined();
  expect(records(run, "onprem")).toEqual([
    { dnsName: "db.waris.internal", recordType: "CNAME", recordTTL: 60, targets: ["pg.onprem.waris.internal"] },
    { dnsName: "llm.waris.internal", recordType: "CNAME", recordTTL: 60, targets: [expect.stringMatching(/onprem/)] },
  ]);
  expect(run.recording.resources.filter((r) => r.type === "kubernetes:externaldns.k8s.io/v1alpha1:DNSEndpoint").map((r) => r.name)).toEqual(["waris-dns-onprem-records"]);
  for (const site of ["onprem", "gcloud"]) {
    const values = resource(run, "kubernetes:helm.sh/v3:Release", `waris-dns-${site}`).inputs["values"] as { provider: { name: string }; sources: string[]; extraArgs: string[]; env: Array<{ name: string }> };
    expect(values.provider.name).toBe("rfc2136");
    expect((values as unknown as { policy: string }).policy).toBe("upsert-only");
    expect(values.sources).toEqual(["crd"]);
    expect(values.extraArgs).toEqual(expect.arrayContaining(["--rfc2136-host=ns1.pwa.go.th", "--rfc2136-zone=waris.internal", "--rfc2136-tsig-keyname=waris-externaldns"]));
    expect(values.env).toEqual([{ name: "EXTERNAL_DNS_RFC2136_TSIG_SECRET", valueFrom: { secretKeyRef: { name: "waris-dns-tsig", key: "secret" } } }]);
  }
  // The TSIG secret never appears in the release values, only in a Secret.
  expect(resource(run, "kubernetes:core/v1:Secret", "waris-dns-onprem-tsig").secretPaths).toEqual(expect.arrayContaining([expect.stringMatching(/^stringData(\.secret)?$/)]));
}, 60000);

test("disaster promote: G-Cloud points the names at itself; on-prem, unreachable, keeps its records", async () => {
  const steady = await runProgram("prod");
  const run = await runProgram("prod", (c) => {
    c[`${P}:activeSite`] = "gcloud";
    c[`${P}:failover`] = JSON.stringify({ procedure: "disaster", phase: "promote", from: "onprem", conditions: { onprem: "lost" } });
  });
  expect(run.error).toBeUndefined();
  expect(records(run, "gcloud")[0]!.targets).toEqual(["pg.gcloud.waris.internal"]);
  expect(records(run, "onprem")).toEqual(records(steady, "onprem"));
  // Back and isolated, on-prem drops its records in the fence phase, before it is reconnected.
  const fence = await runProgram("prod", (c) => {
    c[`${P}:activeSite`] = "gcloud";
    c[`${P}:failover`] = JSON.stringify({ procedure: "disaster", phase: "fence", from: "onprem", conditions: { onprem: "isolated" } });
  });
  expect(fence.recording.resources.filter((r) => r.type === "kubernetes:externaldns.k8s.io/v1alpha1:DNSEndpoint").map((r) => r.name)).toEqual(["waris-dns-gcloud-records"]);
}, 90000);

test("a name outside the zone and a bad TTL are refused under their keys before anything is registered", async () => {
  const run = await runProgram("prod", (c) => {
    const dns = JSON.parse(c[`${P}:dns`]!) as { names: { postgres: string }; ttlSeconds: number };
    dns.names.postgres = "db.example.com";
    dns.ttlSeconds = 86400;
    c[`${P}:dns`] = JSON.stringify(dns);
  });
  const message = (run.error as Error).message;
  expect(message).toMatch(/waris-hybrid:dns.names.postgres = "db.example.com": DNS: is not a name in the zone waris.internal/);
  expect(message).toMatch(/waris-hybrid:dns.ttlSeconds = 86400: DNS: is 86400; whole seconds from 5 to 3600/);
  expect(run.recording.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
}, 60000);
