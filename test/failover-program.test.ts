/**
 * The whole program (index.ts) in a disaster: the phases that run while on-prem is lost send nothing to
 * on-prem, counting resources that move between clusters (a changed provider is a delete on the old
 * site). PostgreSQL, MongoDB, Redis, Milvus and the user-facing DNS are on the failover model and change nothing there;
 * the datastores not yet on it are listed, so that the gap is visible and cannot grow unnoticed.
 */
import { runProgram } from "./harness";
import { actionsBetween, phaseResources, type Phase } from "./failover-invariants";
import type { FailoverSituation } from "../components/failover";

const P = "waris-hybrid";

async function programPhase(label: string, activeSite: string, failover?: Record<string, unknown>): Promise<Phase> {
  const run = await runProgram("prod", (c) => {
    c[`${P}:activeSite`] = activeSite;
    if (failover) c[`${P}:failover`] = JSON.stringify(failover);
  });
  if (run.error) throw run.error;
  const situation: FailoverSituation = { sites: ["onprem", "gcloud"], activeSite, ...(failover?.["conditions"] ? { conditions: failover["conditions"] as Record<string, "lost"> } : {}) };
  return { label, situation, resources: phaseResources(run.recording.resources) };
}

/** The dataset or service a resource belongs to: the components name everything they create after themselves. */
const ownerOf = (key: string): string => /::(waris-[a-z]+)[^:]*$/.exec(key.replace(/ \((new|old) provider\)$/, ""))?.[1] ?? "other";

test("disaster promote with on-prem lost: nothing of PostgreSQL, MongoDB, Redis, Milvus or DNS is sent to on-prem", async () => {
  const steady = await programPhase("steady", "onprem");
  const promote = await programPhase("disaster promote", "gcloud", { procedure: "disaster", phase: "promote", from: "onprem", conditions: { onprem: "lost" } });
  const onLostSite = actionsBetween(steady, promote).filter((a) => a.site === "onprem");
  const byOwner = new Map<string, string[]>();
  for (const a of onLostSite) byOwner.set(ownerOf(a.key), [...(byOwner.get(ownerOf(a.key)) ?? []), `${a.kind} ${a.key.split("::").pop()}`]);
  for (const onModel of ["waris-postgres", "waris-mongo", "waris-redis", "waris-milvus", "waris-dns"]) expect([onModel, byOwner.get(onModel) ?? []]).toEqual([onModel, []]);
  // Not on the model yet: the inference cluster still moves with the serving site and changes on-prem.
  expect([...byOwner.keys()].sort()).toEqual(["waris-llm"]);
  // Milvus on G-Cloud is scaled up and a Job of the promote phase restores into it; its backup CronJob,
  // suspended while G-Cloud was not primary, is not resumed by Pulumi (the restore Job resumes it).
  const onGcloud = actionsBetween(steady, promote).filter((a) => a.site === "gcloud" && a.key.includes("waris-milvus")).map((a) => `${a.kind} ${a.key.split("::").pop()}`);
  expect(onGcloud.sort()).toEqual(["create waris-milvus-gcloud-restore", "create waris-milvus-gcloud-restore-binding", "create waris-milvus-gcloud-restore-role", "create waris-milvus-gcloud-restore-sa", "update waris-milvus-gcloud-milvus"]);
}, 90000);
