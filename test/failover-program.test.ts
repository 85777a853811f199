/**
 * The whole program (index.ts) through a disaster and the failback: the phases that run while on-prem is
 * lost send nothing to on-prem, counting resources that move between clusters (a changed provider is a
 * delete on the old site); and no phase of the journey deletes or replaces a data-bearing resource of any
 * datastore, the model cache or a bucket (a rebuild's old generation is dropped retained, kept until the
 * runbook's decommission step). The phases are the conformance scenarios' (conformance/scenarios.ts), so
 * the runs are shared with the conformance test through the run cache.
 */
import { runProgram } from "./harness";
import { DATA_BEARING_TYPES, actionsBetween, appliedAfter, phaseResources, type Phase } from "./failover-invariants";
import { SCENARIOS } from "../conformance/scenarios";
import { deriveSiteRoles, type FailoverSituation } from "../components/failover";

const P = "waris-hybrid";

/** A phase of prod: a conformance scenario (or steady state with `generations`), with its situation as the program derives it. */
async function programPhase(label: string, edit?: (c: Record<string, string>) => void): Promise<Phase> {
  let situation: FailoverSituation | undefined;
  const run = await runProgram("prod", (c) => {
    edit?.(c);
    const failover = c[`${P}:failover`] ? (JSON.parse(c[`${P}:failover`]!) as { procedure?: string; phase?: string; from?: string; promotionToken?: string; conditions?: Record<string, "up" | "isolated" | "lost">; generations?: Record<string, number> }) : {};
    situation = {
      sites: ["onprem", "gcloud"],
      activeSite: c[`${P}:activeSite`] ?? "onprem",
      ...(failover.procedure ? { procedure: { procedure: failover.procedure as "disaster", phase: failover.phase as "promote", from: failover.from!, ...(failover.promotionToken ? { promotionToken: failover.promotionToken } : {}) } } : {}),
      ...(failover.conditions ? { conditions: failover.conditions } : {}),
      ...(failover.generations ? { generations: failover.generations } : {}),
    };
  });
  if (run.error) throw run.error;
  deriveSiteRoles(situation!); // the situation as read here is one the model accepts
  return { label, situation: situation!, resources: phaseResources(run.recording.resources) };
}
const scenario = (name: string): Promise<Phase> => programPhase(name, SCENARIOS.find((s) => s.name === name)!.edit);

/** The dataset or service a resource belongs to: the components name everything they create after themselves. */
const ownerOf = (key: string): string => /::(waris-[a-z]+)[^:]*$/.exec(key.replace(/ \((new|old) provider\)$/, ""))?.[1] ?? "other";

test("disaster promote with on-prem lost: nothing is sent to on-prem; G-Cloud takes the primary model", async () => {
  const steady = await scenario("prod");
  const promote = await scenario("prod disaster promote");
  const onLostSite = actionsBetween(steady, promote).filter((a) => a.site === "onprem");
  const byOwner = new Map<string, string[]>();
  for (const a of onLostSite) byOwner.set(ownerOf(a.key), [...(byOwner.get(ownerOf(a.key)) ?? []), `${a.kind} ${a.key.split("::").pop()}`]);
  expect(Object.fromEntries(byOwner)).toEqual({});
  // The inference cluster follows the serving site on the reachable one: G-Cloud now serves the FP8 model.
  const vllm = (p: Phase, site: string) => JSON.stringify([...p.resources.values()].find((r) => r.key.endsWith(`::waris-llm-${site}-vllm`))!.inputs);
  expect(vllm(steady, "gcloud")).toContain("llm-70b-instruct-awq");
  expect(vllm(promote, "gcloud")).toContain("llm-70b-instruct-fp8");
  expect(vllm(promote, "onprem")).toBe(vllm(steady, "onprem"));
  // Milvus on G-Cloud is scaled up and a Job of the promote phase restores into it; its backup CronJob,
  // suspended while G-Cloud was not primary, is not resumed by Pulumi (the restore Job resumes it).
  const onGcloud = actionsBetween(steady, promote).filter((a) => a.site === "gcloud" && a.key.includes("waris-milvus")).map((a) => `${a.kind} ${a.key.split("::").pop()}`);
  expect(onGcloud.sort()).toEqual(["create waris-milvus-gcloud-restore", "create waris-milvus-gcloud-restore-binding", "create waris-milvus-gcloud-restore-role", "create waris-milvus-gcloud-restore-sa", "update waris-milvus-gcloud-milvus"]);
}, 120000);

test("disaster and failback: no phase deletes or replaces a data-bearing resource of the program", async () => {
  const phases = [
    await scenario("prod"),
    await scenario("prod disaster promote"),
    await scenario("prod disaster fence"),
    await scenario("prod failback rebuild"),
    await scenario("prod failback demote"),
    await scenario("prod failback promote"),
    await programPhase("steady (on-prem rebuilt)", (c) => void (c[`${P}:failover`] = JSON.stringify({ generations: { onprem: 2 } }))),
  ];
  const found: string[] = [];
  const retained: string[] = [];
  let applied = phases[0]!;
  for (const to of phases.slice(1)) {
    for (const a of actionsBetween(applied, to)) {
      const r = (a.before ?? a.after)!;
      if (!DATA_BEARING_TYPES.has(r.type) || (a.kind !== "delete" && a.kind !== "replace")) continue;
      if (a.kind === "delete" && a.before?.retained) retained.push(`${to.label}: ${a.key.split("::").pop()}`);
      else found.push(`${to.label}: ${a.kind} ${a.key.split("::").pop()} on ${a.site}`);
    }
    applied = appliedAfter(applied, to);
  }
  expect(found).toEqual([]);
  // Only the rebuild drops anything: on-prem's old PostgreSQL and MongoDB generations, kept in place.
  expect(retained.sort()).toEqual(["prod failback rebuild: waris-mongo-onprem-cluster", "prod failback rebuild: waris-postgres-onprem"]);
}, 240000);
