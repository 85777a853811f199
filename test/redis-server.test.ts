/**
 * Issue 16, item 7 (the same kind as the gateway's nginx.conf): the command line `RedisPrimary` writes for
 * redis-server is run by Debian's redis-server (installed by `.ci/run`) on loopback, and exercised with the
 * pod's own probe and the backup job's own dump command: TLS 1.3 only, a password, AOF every second,
 * maxmemory without eviction, and an RDB dump over TLS.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { resource, runProgram } from "./harness";

const LOOPBACK = "127.0.0.1";
const ENDPOINT = "waris-redis.waris-redis.svc.cluster.local";
const PASSWORD = "test-password-only";

/** A Debian binary; the test fails (never skips) without it. */
function binary(name: string): string {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (found) return found;
  throw new Error(`${name} is not installed: run \`apt-get install -y --no-install-recommends redis-server\` (as .ci/run does); this test needs the real server`);
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

type Container = { command?: string[]; args?: string[]; readinessProbe?: { exec: { command: string[] } } };

describe("RedisPrimary's redis-server command line under Debian's redis-server, on loopback", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "waris-redis-"));
  let server: ChildProcess | undefined;
  let port = 0;
  let probe = "";
  let dump = "";
  let log = "";
  /** Runs a command of the plan the way its container does (sh -c, the password in the environment). */
  const sh = (script: string) => spawnSync("sh", ["-c", script], { env: { ...process.env, REDIS_PASSWORD: PASSWORD }, encoding: "utf8" });
  /** Maps the pod's paths and host names to this machine's loopback copy. */
  let local: (script: string) => string = (s) => s;

  beforeAll(async () => {
    binary("redis-server");
    binary("redis-cli");
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test CA");
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=waris-redis");
    writeFileSync(path.join(dir, "san.ext"), `subjectAltName=DNS:${ENDPOINT},IP:${LOOPBACK}\n`);
    openssl("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tls.crt", "-days", "1", "-extfile", "san.ext");
    mkdirSync(path.join(dir, "data"));
    port = await freePort();
    log = path.join(dir, "redis.log");
    local = (s) =>
      s
        .replace(/\/tls\//g, `${dir}/`)
        .replace(/--dir \/data/, `--dir ${dir}/data`)
        .replace(/--tls-port 6379/, `--tls-port ${port} --bind ${LOOPBACK} --logfile ${log}`)
        .replace(new RegExp(`-h (${ENDPOINT.replace(/\./g, "\\.")}|127\\.0\\.0\\.1)`), `-h ${LOOPBACK} -p ${port}`)
        .replace(/\/backup\//g, `${dir}/`);

    const run = await runProgram("prod");
    if (run.error) throw run.error;
    const pod = (resource(run, "kubernetes:apps/v1:StatefulSet", "waris-redis-redis").inputs["spec"] as { template: { spec: { containers: Container[] } } }).template.spec;
    const redis = pod.containers[0]!;
    expect(redis.command).toEqual(["sh", "-c"]);
    probe = redis.readinessProbe!.exec.command[2]!;
    const job = resource(run, "kubernetes:batch/v1:CronJob", "waris-redis-backup").inputs["spec"] as { jobTemplate: { spec: { template: { spec: { initContainers: Container[] } } } } };
    dump = job.jobTemplate.spec.template.spec.initContainers[0]!.command![2]!;

    const start = local(redis.args![0]!);
    for (const mapped of ["--tls-port " + port, `--dir ${dir}/data`, `${dir}/tls.crt`]) if (!start.includes(mapped)) throw new Error(`the planned command line no longer contains what this test maps (${mapped}): ${redis.args![0]}`);
    server = spawn("sh", ["-c", start], { env: { ...process.env, REDIS_PASSWORD: PASSWORD }, stdio: "ignore" });
    for (let i = 0; ; i++) {
      if (sh(local(probe)).status === 0) break;
      if (i > 100 || server.exitCode !== null) throw new Error(`redis-server did not start: ${existsSync(log) ? readFileSync(log, "utf8") : "(no log)"}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }, 60000);

  afterAll(async () => {
    server?.kill("SIGTERM");
    if (server && server.exitCode === null) await new Promise((resolve) => server!.once("exit", resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => execFileSync("redis-cli", ["--tls", "--cacert", `${dir}/ca.crt`, "-h", LOOPBACK, "-p", String(port), ...args], { encoding: "utf8" }).trim();

  test("the pod's readiness probe passes: TLS and the password", () => {
    expect(sh(local(probe)).status).toBe(0);
  });

  test("without the password every command is refused", () => {
    expect(cli("ping")).toMatch(/NOAUTH/);
  });

  test("TLS 1.3 only, no plain port, AOF fsync every second, maxmemory 90% of 8 GiB without eviction", () => {
    const get = (key: string) => cli("-a", PASSWORD, "--no-auth-warning", "config", "get", key).split("\n")[1];
    expect([get("port"), get("tls-protocols"), get("appendonly"), get("appendfsync"), get("maxmemory-policy")]).toEqual(["0", "TLSv1.3", "yes", "everysec", "noeviction"]);
    expect(get("maxmemory")).toBe(String(Math.floor(8 * 0.9 * 1024) * 1024 * 1024));
  });

  test("the backup job's dump command writes an RDB over TLS", () => {
    cli("-a", PASSWORD, "--no-auth-warning", "set", "session:1", "สวัสดี");
    // Test speed only: a diskless sync to a replica (what --rdb is) otherwise waits 5 s for more replicas.
    cli("-a", PASSWORD, "--no-auth-warning", "config", "set", "repl-diskless-sync-delay", "0");
    const result = sh(local(dump));
    expect(result.status).toBe(0);
    expect(readFileSync(path.join(dir, "dump.rdb")).subarray(0, 5).toString()).toBe("REDIS");
  });
});
