import { load } from "js-yaml";
import type { RecordedResource } from "../plan/mock-runtime";
import { Run, editSetting, runProgram } from "./harness";
import { validateMongoReplicaSetArgs } from "../components/mongo-replica-set";

type Spec = {
  unmanaged: boolean;
  updateStrategy: string;
  tls: unknown;
  secrets: Record<string, string>;
  replsets: Array<{ name: string; size: number; configuration: string; externalNodes?: unknown[]; expose?: unknown }>;
  backup: Record<string, unknown>;
};
const cr = (run: Run, site: string): Spec => {
  const r = run.recording.resources.find((x) => x.type === "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB" && x.name === `waris-mongo-${site}-cluster`);
  if (!r) throw new Error(`no cluster on ${site}`);
  return (r as RecordedResource).inputs["spec"] as Spec;
};

describe("MongoReplicaSet in prod", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram("prod");
  });

  test("the active site manages the replica set, with the G-Cloud members as non-voting, non-electable external nodes", () => {
    expect(run.error).toBeUndefined();
    const onprem = cr(run, "onprem");
    expect(onprem).toMatchObject({ unmanaged: false, updateStrategy: "SmartUpdate", tls: { mode: "requireTLS" } });
    expect(onprem.replsets[0]).toMatchObject({ name: "rs0", size: 3, expose: { enabled: true, type: "LoadBalancer" } });
    expect(onprem.replsets[0]!.externalNodes).toEqual(
      ["mongo-0", "mongo-1", "mongo-2"].map((m) => ({ host: `${m}.gcloud.waris.internal`, port: 27017, votes: 0, priority: 0 })),
    );
    expect(onprem.replsets[0]!.configuration).toContain("enableEncryption: true");
  });

  test("connections stay logged (issue 23): no quiet mongod, logs to stdout (no log collector)", () => {
    for (const site of ["onprem", "gcloud"]) {
      const spec = cr(run, site) as Spec & { logcollector?: unknown };
      const conf = load(spec.replsets[0]!.configuration) as { systemLog?: { quiet?: boolean } };
      expect(conf.systemLog?.quiet).not.toBe(true);
      expect(spec.logcollector).toBeUndefined();
    }
  });

  test("the standby site is unmanaged, with the same users, key and certificates, and takes no backups", () => {
    const gcloud = cr(run, "gcloud");
    expect(gcloud).toMatchObject({ unmanaged: true, updateStrategy: "OnDelete", backup: { enabled: false } });
    expect(gcloud.replsets[0]!.externalNodes).toBeUndefined();
    expect(gcloud.secrets).toEqual(cr(run, "onprem").secrets);
    expect(gcloud.secrets).toEqual({ users: "waris-mongo-users", encryptionKey: "waris-mongo-encryption-key", ssl: "waris-mongo-ssl", sslInternal: "waris-mongo-ssl-internal" });
  });

  test("backups: daily physical backup and PITR to the G-Cloud bucket, encrypted, 30 days", () => {
    expect(cr(run, "onprem").backup).toMatchObject({
      enabled: true,
      pitr: { enabled: true, oplogSpanMin: 10 },
      storages: { gcloud: { type: "s3", s3: { bucket: "waris-prod-mongodb", endpointUrl: "https://s3.gdcc.go.th", credentialsSecret: "waris-mongo-backup", serverSideEncryption: { sseAlgorithm: "AES256" } } } },
      tasks: [{ schedule: "0 3 * * *", retention: { type: "count", count: 31 } }],
    });
    expect(run.outputs["mongoReplicaSet"]).toMatchObject({ rpoMinutes: 10, rtoMinutes: 15 });
  });
});

test("activeSite = gcloud: G-Cloud manages the set and on-prem members become the non-electable ones", async () => {
  const run = await runProgram("prod", (c) => (c["waris-hybrid:activeSite"] = "gcloud"));
  expect(cr(run, "gcloud")).toMatchObject({ unmanaged: false, backup: { enabled: true } });
  expect(cr(run, "gcloud").replsets[0]!.externalNodes).toHaveLength(3);
  expect(cr(run, "onprem")).toMatchObject({ unmanaged: true, backup: { enabled: false } });
});

test("dev: a single-member replica set on the lab site", async () => {
  const run = await runProgram("dev");
  expect(run.error).toBeUndefined();
  expect(cr(run, "lab")).toMatchObject({ unmanaged: false, replsets: [{ size: 1 }] });
  expect(cr(run, "lab").replsets[0]!.expose).toBeUndefined();
});

describe("MongoReplicaSet refuses bad arguments", () => {
  const th = (name: string, kind = "onprem") => ({ name, kind, region: "x", country: "TH" });
  const hosts = { onprem: ["a", "b", "c"], gcloud: ["d", "e", "f"] };
  const base = { sites: [th("onprem"), th("gcloud", "gcloud")], roles: { bySite: { onprem: "primary", gcloud: "replica" } }, memberHosts: hosts, hasBackupStore: true };
  const problem = (args: Partial<Parameters<typeof validateMongoReplicaSetArgs>[0]>, argument: string): string => {
    const found = validateMongoReplicaSetArgs({ ...base, ...args }).find((p) => p.argument === argument);
    expect(found).toBeDefined();
    return found!.message;
  };
  test("the baseline is valid", () => expect(validateMongoReplicaSetArgs(base)).toEqual([]));
  test("replica members on the primary's own site", () => expect(problem({ sites: [th("onprem"), th("onprem")] }, "sites")).toMatch(/different site from the primary's/));
  test("a data site outside Thailand", () => expect(problem({ sites: [th("onprem"), { ...th("sg", "gcloud"), country: "SG" }] }, "sites")).toMatch(/outside Thailand/));
  test("an even number of members", () => expect(problem({ membersPerSite: 2 }, "membersPerSite")).toMatch(/odd whole number/));
  test("roles that do not cover the database sites", () => expect(problem({ roles: { bySite: { onprem: "primary" } } }, "roles")).toMatch(/must cover exactly the database sites onprem, gcloud/));
  test("member hosts missing for a site", () => expect(problem({ memberHosts: { onprem: hosts.onprem } }, "memberHosts.gcloud")).toMatch(/lists 0 host\(s\); give one per member \(3\)/));
  test("in the stack file: a PITR span above the RPO", async () => {
    const run = await runProgram("prod", (c) => editSetting(c, "mongodb", (m) => (m.pitrMinutes = 90)));
    expect((run.error as Error).message).toMatch(/waris-hybrid:mongodb.pitrMinutes = 90: is 90 min, above the RPO of 60 min/);
    expect(run.recording.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});
