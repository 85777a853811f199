/**
 * The generated Alertmanager configuration in Debian's real `prometheus-alertmanager`, on loopback: the
 * loss of a site is one notification. Alerts are posted as the surviving site's Prometheus would send them;
 * the LINE receiver's webhook points at a local HTTP server that records what it is sent. Only the timing
 * (group_wait, group_interval) is shortened for the test. No skip: it fails when the binary is missing
 * (`.ci/run` installs it).
 */
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alertmanagerConfig } from "../components/monitoring-rules";

jest.setTimeout(60_000);

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createNetServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let alertmanager: ChildProcess | undefined;
let hook: Server | undefined;
const received: Array<{ status: string; alerts: Array<{ labels: Record<string, string> }> }> = [];

afterAll(async () => {
  if (alertmanager && alertmanager.exitCode === null) {
    const exited = new Promise<void>((r) => alertmanager!.once("exit", () => r()));
    alertmanager.kill();
    await exited;
  }
  hook?.closeAllConnections();
  await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
});

test("SiteUnreachable on the survivor silences the lost site's endpoint alerts and the survivor's replication alerts; the rest still notify", async () => {
  hook = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      received.push(JSON.parse(body) as (typeof received)[number]);
      res.end("ok");
    });
  });
  const hookPort = await freePort();
  await new Promise<void>((r) => hook!.listen(hookPort, "127.0.0.1", () => r()));

  const config = alertmanagerConfig("gcloud", { line: {} }, { lineWebhookUrl: `http://127.0.0.1:${hookPort}/line-relay` });
  const route = config["route"] as Record<string, unknown>;
  Object.assign(route, { group_wait: "1s", group_interval: "1s" });
  const dir = mkdtempSync(join(tmpdir(), "waris-am-"));
  writeFileSync(join(dir, "alertmanager.yml"), JSON.stringify(config));
  const port = await freePort();
  alertmanager = spawn(
    "prometheus-alertmanager",
    [`--config.file=${join(dir, "alertmanager.yml")}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="],
    { stdio: "ignore" },
  );
  const api = `http://127.0.0.1:${port}/api/v2`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  const alert = (labels: Record<string, string>): Record<string, unknown> => ({ labels: { severity: "critical", site: "gcloud", ...labels }, annotations: { summary: labels["alertname"]! } });
  const posted = await fetch(`${api}/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify([
      alert({ alertname: "SiteUnreachable", target_site: "onprem" }),
      alert({ alertname: "EndpointDown", target_site: "onprem", service: "waris-postgres" }),
      alert({ alertname: "ObjectStoreUnreachable", target_site: "onprem", service: "object store" }),
      alert({ alertname: "RedisReplicationLinkDown", dataset: "waris-redis" }),
      // Not about the lost site: still notified.
      alert({ alertname: "EndpointDown", target_site: "gcloud", service: "waris-llm" }),
    ]),
  });
  expect(posted.status).toBe(200);
  for (let i = 0; i < 100 && received.flatMap((r) => r.alerts).length < 2; i++) await sleep(100);
  await sleep(1500);
  const notified = received.flatMap((r) => r.alerts.map((a) => `${a.labels["alertname"]}/${a.labels["target_site"] ?? "-"}`)).sort();
  expect([...new Set(notified)]).toEqual(["EndpointDown/gcloud", "SiteUnreachable/onprem"]);
  const all = (await (await fetch(`${api}/alerts?inhibited=true`)).json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
  const suppressed = all.filter((a) => a.status.state === "suppressed").map((a) => a.labels["alertname"]).sort();
  expect(suppressed).toEqual(["EndpointDown", "ObjectStoreUnreachable", "RedisReplicationLinkDown"]);
});
