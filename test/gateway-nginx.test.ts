/**
 * Issue 16, item 7: the gateway's `nginx.conf` from the prod plan is loaded and exercised by Debian's nginx
 * (installed by `.ci/run`), on loopback only: `nginx -t` accepts it; with the local vLLM answering 503 a
 * POST reaches the other site's gateway over verified TLS 1.3 with its body and `Authorization` header; a
 * request without a bearer gets 401; the spill listener serves locally and never bounces a request back.
 *
 * The host names of the plan are mapped to 127.0.0.1 by rewriting only the addresses nginx connects to and
 * listens on: the TLS name nginx verifies (`proxy_ssl_name`) stays the plan's.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { resource, runProgram } from "./harness";

const REMOTE_HOST = "llm.gcloud.waris.internal";
const LOOPBACK = "127.0.0.1";

/** Debian's nginx; the test fails (never skips) without it. */
function nginxBinary(): string {
  for (const candidate of ["/usr/sbin/nginx", "/usr/bin/nginx"]) if (existsSync(candidate)) return candidate;
  const found = spawnSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" }).stdout.trim();
  if (found) return found;
  throw new Error("nginx is not installed: run `apt-get install -y --no-install-recommends nginx-light` (as .ci/run does); this test needs the real server");
}

/** A CA, a certificate for the remote gateway's name and one for the local spill listener (openssl, EC P-256). */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/O=WARIS test/CN=test CA");
  for (const [name, host] of [["remote", REMOTE_HOST], ["tls", "llm.onprem.waris.internal"]] as const) {
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${host}`);
    writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\n`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1", "-extfile", `${name}.ext`);
  }
}

const listen = (server: http.Server | https.Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, LOOPBACK, () => resolve((server.address() as AddressInfo).port)));

/** A free loopback port (bound and released). */
async function freePort(): Promise<number> {
  const server = http.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization?: string;
  readonly body: string;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

function request(options: http.RequestOptions & { readonly tls?: { readonly ca: Buffer; readonly servername: string } }, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const send = options.tls ? https.request : http.request;
    const req = send({ ...options, ...(options.tls ? { ca: options.tls.ca, servername: options.tls.servername } : {}), agent: false }, (res) => {
      let data = "";
      res.on("data", (chunk: Buffer) => (data += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("the gateway's nginx.conf under Debian's nginx, on loopback", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "waris-gateway-"));
  const seenByRemote: Seen[] = [];
  const servers: Array<http.Server | https.Server> = [];
  let nginx: ChildProcess | undefined;
  let confPath = "";
  let binary = "";
  let httpPort = 0;
  let spillPort = 0;
  let nginxLog = "";

  beforeAll(async () => {
    binary = nginxBinary();
    makeCertificates(dir);
    // nginx's workers drop to an unprivileged user when started as root: they need the temp directories.
    chmodSync(dir, 0o755);
    for (const temp of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
      mkdirSync(path.join(dir, temp));
      chmodSync(path.join(dir, temp), 0o777);
    }

    // The stand-in vLLM: saturated, every request gets 503.
    const vllm = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(503, { "content-type": "text/plain" }).end("vllm busy"));
    });
    // The stand-in remote gateway: TLS with a certificate for the plan's remote name, echoing what it got.
    const remote = https.createServer({ key: readFileSync(path.join(dir, "remote.key")), cert: readFileSync(path.join(dir, "remote.crt")), minVersion: "TLSv1.3" }, (req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        seenByRemote.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization, body });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ servedBy: "remote" }));
      });
    });
    servers.push(vllm, remote);
    const vllmPort = await listen(vllm);
    const remotePort = await listen(remote);
    httpPort = await freePort();
    spillPort = await freePort();

    const run = await runProgram("prod");
    if (run.error) throw run.error;
    const planned = (resource(run, "kubernetes:core/v1:ConfigMap", "waris-llm-onprem-gateway-conf").inputs["data"] as Record<string, string>)["nginx.conf"]!;
    const rewrites: Array<[string | RegExp, string]> = [
      [/server model-server\.waris-inference\.svc\.cluster\.local:8000 /, `server ${LOOPBACK}:${vllmPort} `],
      ["listen 8080;", `listen ${LOOPBACK}:${httpPort};`],
      ["listen 8443 ssl;", `listen ${LOOPBACK}:${spillPort} ssl;`],
      [`proxy_pass https://${REMOTE_HOST}:443;`, `proxy_pass https://${LOOPBACK}:${remotePort};`],
      [/\/etc\/nginx\/tls\//g, `${dir}/`],
      [
        "http {",
        ["http {", ...["body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t === "body" ? "client_body" : t}_temp_path ${dir}/${t};`)].join("\n"),
      ],
      ["access_log /dev/stdout gateway;", `access_log ${dir}/access.log gateway;`],
    ];
    let conf = planned;
    for (const [from, to] of rewrites) {
      const next = conf.replace(from, to);
      if (next === conf) throw new Error(`the planned nginx.conf no longer contains ${String(from)}; update this test's loopback mapping`);
      conf = next;
    }
    confPath = path.join(dir, "nginx.conf");
    writeFileSync(confPath, conf);
    nginxLog = path.join(dir, "error.log");
  }, 60000);

  afterAll(async () => {
    nginx?.kill("SIGTERM");
    if (nginx && nginx.exitCode === null) await new Promise((resolve) => nginx!.once("exit", resolve));
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (...extra: string[]) => ["-p", `${dir}/`, "-c", confPath, "-e", nginxLog, ...extra];

  /** Starts nginx once (in the foreground, as a child) and resolves when its health endpoint answers. */
  let starting: Promise<void> | undefined;
  const started = (): Promise<void> =>
    (starting ??= (async () => {
      nginx = spawn(binary, args("-g", `daemon off; pid ${dir}/nginx.pid;`), { stdio: "ignore" });
      for (let i = 0; ; i++) {
        const ok = await request({ host: LOOPBACK, port: httpPort, path: "/healthz" }).then((a) => a.status === 200, () => false);
        if (ok) return;
        if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${existsSync(nginxLog) ? readFileSync(nginxLog, "utf8") : "(no log)"}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })());

  test("nginx -t accepts it", () => {
    const check = spawnSync(binary, args("-t", "-g", `pid ${dir}/nginx.pid;`), { encoding: "utf8" });
    expect({ status: check.status, output: check.stderr }).toMatchObject({ status: 0, output: expect.stringContaining("test is successful") });
  });

  test("with the local vLLM saturated (503), a POST reaches the other site over verified TLS 1.3 with its body and bearer", async () => {
    await started();
    const body = JSON.stringify({ model: "waris-llm-70b", messages: [{ role: "user", content: "สวัสดี" }] });
    const answer = await request(
      { host: LOOPBACK, port: httpPort, path: "/v1/chat/completions", method: "POST", headers: { authorization: "Bearer app-key", "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      body,
    );
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ servedBy: "remote" }) });
    expect(seenByRemote).toEqual([{ method: "POST", url: "/v1/chat/completions", authorization: "Bearer app-key", body }]);
  });

  test("without a bearer token: 401, and nothing leaves the site", async () => {
    await started();
    const before = seenByRemote.length;
    expect((await request({ host: LOOPBACK, port: httpPort, path: "/v1/chat/completions", method: "POST" }, "{}")).status).toBe(401);
    expect((await request({ host: LOOPBACK, port: httpPort, path: "/v1/models", headers: { authorization: "Basic eDp5" } })).status).toBe(401);
    expect(seenByRemote.length).toBe(before);
  });

  test("every request is in the access log with its answer and upstream, never its bearer token", async () => {
    await started();
    await request({ host: LOOPBACK, port: httpPort, path: "/v1/models", method: "GET" });
    // nginx writes the line when the request ends; the log is the site's, on the container's stdout in the cluster.
    const log = readFileSync(path.join(dir, "access.log"), "utf8");
    expect(log).toMatch(/^127\.0\.0\.1 \[[^\]]+\] "GET \/v1\/models" 401 \d+ rt=[\d.]+ upstream=- upstream_status=-$/m);
    expect(log).not.toMatch(/Bearer|app-key/);
  });

  test("the spill listener (TLS 1.3) serves locally: a saturated site answers 503 rather than bouncing the request back", async () => {
    await started();
    const before = seenByRemote.length;
    const tls = { ca: readFileSync(path.join(dir, "ca.crt")), servername: "llm.onprem.waris.internal" };
    const answer = await request({ host: LOOPBACK, port: spillPort, path: "/v1/completions", method: "POST", headers: { authorization: "Bearer app-key" }, tls }, "{}");
    expect(answer.status).toBe(503);
    expect((await request({ host: LOOPBACK, port: spillPort, path: "/v1/completions", method: "POST", tls }, "{}")).status).toBe(401);
    expect(seenByRemote.length).toBe(before);
  });
});
