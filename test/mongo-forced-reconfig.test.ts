/**
 * The disaster promote's forced reconfiguration script (components/mongo-replica-set.ts), run in a sandbox
 * against a model of the surviving members: the lost site held every vote; the survivor's operator, managing
 * the set from the same `pulumi up`, may force the old configuration back while there is no primary
 * (percona-server-mongodb-operator `handleReplicaSetNoPrimary`). mongosh's `db`, `rs`, `sleep`, `quit` are
 * modelled; the script text is exactly what the Job runs.
 */
import { runInNewContext } from "node:vm";
import { forcedReconfigScript } from "../components/mongo-replica-set";

interface Member { host: string; votes: number; priority: number }
const LOST = ["mongo-0.onprem:27017", "mongo-1.onprem:27017", "mongo-2.onprem:27017"];
const SURVIVORS = ["mongo-0.gcloud:27017", "mongo-1.gcloud:27017", "mongo-2.gcloud:27017"];

class Quit extends Error {
  constructor(readonly code: number) {
    super(`quit(${code})`);
  }
}

/** Runs the script against a replica set whose config is `initial`; `onSleep` models time passing (elections, the operator). */
function run(initial: Member[], opts: { primary?: boolean; onSleep?: (state: { config: Member[]; primary: boolean; slept: number }) => void } = {}) {
  const state = { config: initial.map((m) => ({ ...m })), primary: opts.primary ?? false, slept: 0, forced: 0, printed: [] as string[] };
  const sandbox = {
    db: { adminCommand: () => ({ members: state.config.map((m, i) => ({ name: m.host, stateStr: state.primary && i === 0 ? "PRIMARY" : "SECONDARY" })) }) },
    rs: {
      conf: () => ({ _id: "rs0", version: 7, members: state.config.map((m) => ({ ...m })) }),
      reconfig: (cfg: { members: Member[] }, o: { force: boolean }) => {
        expect(o).toEqual({ force: true });
        state.forced++;
        state.config = cfg.members.map((m) => ({ ...m }));
        return { ok: 1 };
      },
    },
    sleep: () => {
      state.slept++;
      opts.onSleep?.(state);
    },
    print: (s: string) => void state.printed.push(s),
    printjson: () => undefined,
    quit: (code: number) => {
      throw new Quit(code);
    },
    JSON,
  };
  let code: number | undefined;
  try {
    runInNewContext(forcedReconfigScript(SURVIVORS), sandbox);
  } catch (e) {
    if (!(e instanceof Quit)) throw e;
    code = e.code;
  }
  return { ...state, code };
}

const before: Member[] = [...LOST.map((host) => ({ host, votes: 1, priority: 1 })), ...SURVIVORS.map((host) => ({ host, votes: 0, priority: 0 }))];
/** A set elects a primary once a majority of its voters is up: here, once only survivors vote. */
const elect = (s: { config: Member[]; primary: boolean }) => void (s.primary = s.config.every((m) => SURVIVORS.includes(m.host) && m.votes === 1));

test("keeps only the survivors, each voting and electable, and exits once one is elected", () => {
  const r = run(before, { onSleep: elect });
  expect(r.code).toBe(0);
  expect(r.config).toEqual(SURVIVORS.map((host) => ({ host, votes: 1, priority: 1 })));
  expect(r.forced).toBe(1);
});

test("forces again when the operator writes the old configuration back before the election", () => {
  let reverted = false;
  const r = run(before, {
    onSleep: (s) => {
      if (!reverted) {
        reverted = true;
        s.config = before.map((m) => ({ ...m })); // handleReplicaSetNoPrimary: read (old) config, force-write it
        return;
      }
      elect(s);
    },
  });
  expect([r.code, r.forced]).toEqual([0, 2]);
  expect(r.config.map((m) => m.host)).toEqual(SURVIVORS);
});

test("does nothing when a primary exists (a re-run, or the other site is not really lost)", () => {
  const r = run(before, { primary: true });
  expect([r.code, r.forced, r.printed]).toEqual([0, 0, ["a primary exists: nothing to do"]]);
});

test("fails (for the Job to retry) when a survivor is not in the configuration, or no election follows", () => {
  expect(run(before.filter((m) => m.host !== SURVIVORS[2])).code).toBe(1);
  const stuck = run(before);
  expect([stuck.code, stuck.slept]).toEqual([1, 60]);
});
