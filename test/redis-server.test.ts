/**
 * Issue 18: the configuration and the restore that RedisPrimary generates, run by Debian's real
 * `redis-server` on loopback (127.0.0.1, free ports, TLS with openssl-made test certificates):
 * - the naive restore (a dump copied next to an append-only file) loses the data (redis/redis issues
 *   1826, 12098), and the generated restore keeps it, across restarts;
 * - a primary and a replica started from the generated redis.conf replicate over TLS, the replica is
 *   read-only, and a promotion done the component's way (the replica restarted with the primary's
 *   configuration, the old primary with a replica's) keeps every key in both directions;
 * - the generated configuration logs every client connection and its end (issue 23), never the password.
 * No skip: the test fails when redis-server, redis-cli or openssl is missing (`.ci/run` installs them).
 */
import { ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatastoreRole } from "../components/failover";
import { redisConf, redisRestoreScript } from "../components/redis-primary";

const PASSWORD = "test-password";
const root = mkdtempSync(join(tmpdir(), "redis18-"));
const tls = join(root, "tls");
const servers: ChildProcess[] = [];

/** A free TCP port on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: readonly string[], timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: timeoutMs }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(" ")}: ${err.message} ${stderr}`)) : resolve(stdout.trim())));
  });
}

const cli = (port: number, ...args: string[]): Promise<string> => run("redis-cli", ["--tls", "--cacert", join(tls, "ca.crt"), "-h", "127.0.0.1", "-p", String(port), "-a", PASSWORD, "--no-auth-warning", ...args]);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A redis-server from the generated configuration of a role, as the pod starts it (password on the command line). */
async function start(dir: string, port: number, role: DatastoreRole, primaryPort?: number): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, "redis.conf");
  writeFileSync(conf, redisConf({ role, port, dataDir: dir, tlsDir: tls, ...(primaryPort ? { primary: { host: "127.0.0.1", port: primaryPort } } : {}) }));
  const p = spawn("redis-server", [conf, "--requirepass", PASSWORD, "--masterauth", PASSWORD, "--bind", "127.0.0.1", "--logfile", join(dir, "redis.log")], { stdio: "ignore" });
  servers.push(p);
  await until(`redis-server on ${port}`, async () => (await cli(port, "ping")) === "PONG");
  return p;
}

/** SIGTERM, as Kubernetes stops a pod (Redis flushes its AOF and exits). */
function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill("SIGKILL"), 8000);
    p.once("exit", () => (clearTimeout(t), resolve()));
    p.kill("SIGTERM");
  });
}

beforeAll(() => {
  // Fails (does not skip) without the real tools.
  expect(execFileSync("redis-server", ["--version"]).toString()).toMatch(/Redis server v=7\./);
  mkdirSync(tls);
  const ossl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: tls, stdio: "pipe" });
  ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test redis CA");
  ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=waris-redis");
  writeFileSync(join(tls, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n");
  ossl("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tls.crt", "-days", "1", "-extfile", "ext.cnf");
});

afterAll(async () => {
  await Promise.all(servers.map((p) => stop(p)));
  rmSync(root, { recursive: true, force: true });
});

describe("the generated restore against a real redis-server", () => {
  test("a dump copied next to an (empty) append-only file is ignored; the generated restore loads it and keeps it", async () => {
    const [a, b] = [await freePort(), await freePort()];
    // The source: keys written, dumped the way the dump job does it (redis-cli --rdb).
    const source = await start(join(root, "source"), a, "primary");
    await cli(a, "mset", "session:1", "alice", "session:2", "bob");
    await cli(a, "set", "session:3", "carol");
    const dump = join(root, "dump-20261130T100000Z.rdb");
    await cli(a, "--rdb", dump);
    await stop(source);

    // The naive way (the 0.2.0 runbook): a Redis that ran with appendonly yes, the dump copied in.
    const target = join(root, "target");
    await stop(await start(target, b, "primary"));
    copyFileSync(dump, join(target, "dump.rdb"));
    let server = await start(target, b, "primary");
    expect(await cli(b, "dbsize")).toBe("0");
    await stop(server);

    // The component's way: the restore init step, then Redis with its configuration.
    const out = await run("sh", ["-c", redisRestoreScript({ dumpPath: dump, dataDir: target, timeoutSeconds: 20 })], 30000);
    expect(out).toMatch(/restore: 3 keys from .*, now in the append-only file/);
    server = await start(target, b, "primary");
    expect(await cli(b, "dbsize")).toBe("3");
    expect(await cli(b, "get", "session:2")).toBe("bob");
    await cli(b, "set", "session:4", "dave");
    await stop(server);

    // A pod restart runs the init step again: the marker makes it a no-op, and the AOF keeps everything.
    expect(await run("sh", ["-c", redisRestoreScript({ dumpPath: dump, dataDir: target, timeoutSeconds: 20 })])).toMatch(/was restored before/);
    server = await start(target, b, "primary");
    expect(await cli(b, "dbsize")).toBe("4");
    await stop(server);
  }, 30000);

  test("a missing dump fails the restore (the pod does not start on an empty Redis)", async () => {
    await expect(run("sh", ["-c", redisRestoreScript({ dumpPath: join(root, "nope.rdb"), dataDir: join(root, "empty"), timeoutSeconds: 5 })])).rejects.toThrow(/no dump at/);
  });
});

describe("the generated primary configuration against a real redis-server (issue 16, item 7)", () => {
  test("TLS 1.3 only, no plain port, AOF fsync every second, no eviction; without the password every command is refused", async () => {
    const port = await freePort();
    const server = await start(join(root, "settings"), port, "primary");
    const get = async (key: string): Promise<string | undefined> => (await cli(port, "config", "get", key)).split("\n")[1];
    expect([await get("port"), await get("tls-protocols"), await get("appendonly"), await get("appendfsync"), await get("maxmemory-policy")]).toEqual(["0", "TLSv1.3", "yes", "everysec", "noeviction"]);
    expect(await run("redis-cli", ["--tls", "--cacert", join(tls, "ca.crt"), "-h", "127.0.0.1", "-p", String(port), "ping"])).toMatch(/NOAUTH/);
    await stop(server);
  }, 20000);
});

describe("connection logging of the generated configuration against a real redis-server (issue 23)", () => {
  /** A client that closes TLS cleanly (close_notify), as Go's (redis_exporter) and Node's clients do; its local port. */
  function cleanClient(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      let local = 0;
      const s = tlsConnect({ host: "127.0.0.1", port, ca: readFileSync(join(tls, "ca.crt")), servername: "localhost" }, () => {
        local = s.localPort ?? 0;
        s.write(`AUTH ${PASSWORD}\r\nPING\r\n`);
      });
      let got = "";
      s.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.includes("+PONG")) s.end();
      });
      s.once("error", reject);
      s.once("close", () => (got.includes("+OK") && got.includes("+PONG") ? resolve(local) : reject(new Error(`unexpected reply: ${got}`))));
    });
  }

  test("each connection's accept (with the client's address) and its end are in the log; the password never is", async () => {
    const port = await freePort();
    const dir = join(root, "logging");
    const server = await start(dir, port, "primary");
    const log = join(dir, "redis.log");
    // redis-cli: connects, authenticates, drops the socket without close_notify.
    await cli(port, "set", "session:1", "alice");
    const clean = await cleanClient(port);
    const count = (text: string, re: RegExp): number => text.match(re)?.length ?? 0;
    // Every connection so far (start's pings, the SET, the clean client) has ended: as many ends as accepts.
    await until("every end logged", async () => {
      const text = readFileSync(log, "utf8");
      return count(text, / - Reading from client: /g) === count(text, / - Accepted /g);
    });
    const text = readFileSync(log, "utf8");
    expect(count(text, / - Accepted 127\.0\.0\.1:\d+$/gm)).toBeGreaterThanOrEqual(2);
    expect(text).toContain(` - Accepted 127.0.0.1:${clean}\n`);
    // redis-cli's end and the clean client's end (redis/redis issue 15745: no address on either).
    expect(text).toMatch(/ - Reading from client: .*unexpected eof while reading$/m);
    expect(text).toMatch(/ - Reading from client: error:00000000:lib\(0\)::reason\(0\)$/m);
    expect(text).not.toContain(PASSWORD);
    await stop(server);
  }, 20000);
});

describe("the generated primary and replica configurations against real redis-servers", () => {
  test("TLS replication, a read-only replica, and a promotion both ways keep every key", async () => {
    const [onprem, gcloud] = [await freePort(), await freePort()];
    const onpremDir = join(root, "onprem");
    const gcloudDir = join(root, "gcloud");
    // Steady: on-prem primary, G-Cloud its replica.
    let primary = await start(onpremDir, onprem, "primary");
    let replica = await start(gcloudDir, gcloud, "replica", onprem);
    await cli(onprem, "mset", "k1", "v1", "k2", "v2");
    await until("the replica's link up and k2 replicated", async () => (await cli(gcloud, "info", "replication")).includes("master_link_status:up") && (await cli(gcloud, "get", "k2")) === "v2");
    expect(await cli(gcloud, "set", "x", "1")).toMatch(/READONLY/);

    // Switchover demote: the old primary restarts as a replica of G-Cloud (no writable primary).
    await stop(primary);
    primary = await start(onpremDir, onprem, "demoted", gcloud);
    expect(await cli(onprem, "set", "x", "1")).toMatch(/READONLY/);
    // Promote: G-Cloud restarts with the primary's configuration; it loads its own AOF.
    await stop(replica);
    replica = await start(gcloudDir, gcloud, "primary");
    expect(await cli(gcloud, "mget", "k1", "k2")).toBe("v1\nv2");
    await cli(gcloud, "set", "k3", "v3");
    await until("on-prem following G-Cloud", async () => (await cli(onprem, "get", "k3")) === "v3");
    expect(await cli(onprem, "dbsize")).toBe("3");

    // And back: G-Cloud demoted, on-prem promoted; every key on both.
    await stop(replica);
    replica = await start(gcloudDir, gcloud, "replica", onprem);
    await stop(primary);
    primary = await start(onpremDir, onprem, "primary");
    await cli(onprem, "set", "k4", "v4");
    await until("G-Cloud following on-prem again", async () => (await cli(gcloud, "get", "k4")) === "v4");
    expect(await cli(gcloud, "dbsize")).toBe("4");
    expect(await cli(onprem, "mget", "k1", "k2", "k3", "k4")).toBe("v1\nv2\nv3\nv4");
    await Promise.all([stop(primary), stop(replica)]);
  }, 40000);
});
