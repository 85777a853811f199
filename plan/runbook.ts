/**
 * The operator's runbook, generated from the failover model (components/failover.ts): for each phase of
 * a switchover, a disaster failover or a failback, the stack settings to write, the `pulumi up` to run
 * (targeted at the reachable site when one is lost), the resources it changes, and what to check before
 * the next phase, mapped onto the seed's eight-step procedures.
 */
import { deriveSiteRoles, discardedSites, procedurePhases, type FailoverProcedure, type FailoverSituation, type ProcedureStep } from "../components/failover";
import { milvusRoleEffect, milvusSitePlan } from "../components/milvus-primary";
import { mongoClusterName } from "../components/mongo-replica-set";
import { postgresClusterName } from "../components/postgres-cluster";
import { MONITORING_NAMESPACE, REPLICATION_ALERTS, type Severity } from "../components/monitoring-rules";
import { redisInfoReplicationCommand, redisRoleEffect } from "../components/redis-primary";

/** What the runbook needs to know of the stack. */
export interface RunbookStack {
  readonly stack: string;
  /** Data sites, the home primary first. */
  readonly sites: readonly string[];
  readonly homeSite: string;
  /** Current generations (`failover.generations`). */
  readonly generations: Readonly<Record<string, number>>;
  /** Whether the stack has PostgreSQL, and its dataset name and namespace. */
  readonly postgres?: { readonly dataset: string; readonly namespace: string };
  /** Whether the stack has MongoDB, its dataset name and namespace, and its members per site (default 3). */
  readonly mongodb?: { readonly dataset: string; readonly namespace: string; readonly membersPerSite?: number };
  /** Whether the stack has Redis, and its dataset name and namespace. */
  readonly redis?: { readonly dataset: string; readonly namespace: string };
  /** Whether the stack has Milvus, its dataset name and namespace, and the backup a promote restores (`milvus.restoreBackup`). */
  readonly milvus?: { readonly dataset: string; readonly namespace: string; readonly restoreBackup?: string };
  /** Whether the stack has monitoring, and who receives each severity (components/monitoring-rules.ts `receiversFor`). */
  readonly monitoring?: { readonly receivers: Readonly<Record<Severity, readonly string[]>> };
}

/** The resources a phase changes, per site, as the offline plan shows them (computed by the caller). */
export type PhaseChanges = ReadonlyArray<{ readonly urn: string; readonly site: string | undefined; readonly change: "create" | "update" | "replace" | "delete" }>;

/** One phase of the runbook. */
export interface RunbookPhase {
  readonly step: ProcedureStep;
  /** The `failover` setting and `activeSite` of the phase, as stack YAML. */
  readonly settingsYaml: string;
  /** `pulumi config` commands that write them. */
  readonly configCommands: readonly string[];
  /** The `pulumi up` to run. */
  readonly up: string;
  /** What happens, per site, in words. */
  readonly effects: readonly string[];
  /** What must be true before the phase is run (the operator confirms it; no tool can). */
  readonly preconditions: readonly string[];
  /** What to check (and the command that shows it) before the next phase. */
  readonly checks: readonly string[];
  /** Sites whose data the phase discards. */
  readonly discards: readonly string[];
}

const q = (s: string): string => (/^[\w.:/@-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** The settings of a situation, as stack YAML (what `Pulumi.<stack>.yaml` holds for the phase). */
function settingsYaml(s: FailoverSituation, project: string): string {
  const lines = [`  ${project}:activeSite: ${s.activeSite}`];
  const f: Record<string, unknown> = {};
  if (s.procedure) Object.assign(f, { procedure: s.procedure.procedure, phase: s.procedure.phase, from: s.procedure.from, ...(s.procedure.promotionToken ? { promotionToken: s.procedure.promotionToken } : {}) });
  if (s.conditions && Object.keys(s.conditions).length) f["conditions"] = s.conditions;
  if (s.generations && Object.values(s.generations).some((g) => g > 1)) f["generations"] = s.generations;
  if (Object.keys(f).length === 0) return `${lines[0]}\n  # no ${project}:failover key (or an empty one): steady state`;
  lines.push(`  ${project}:failover:`);
  for (const [k, v] of Object.entries(f)) {
    if (typeof v === "object") {
      lines.push(`    ${k}:`);
      for (const [kk, vv] of Object.entries(v as Record<string, unknown>)) lines.push(`      ${kk}: ${String(vv)}`);
    } else lines.push(`    ${k}: ${k === "promotionToken" ? `"${String(v)}"` : String(v)}`);
  }
  return lines.join("\n");
}

/** `pulumi config` commands that move the stack from one situation's settings to the next's. */
function configCommands(stack: string, from: FailoverSituation | undefined, to: FailoverSituation, tokenSource?: { readonly namespace: string; readonly cluster: string }): string[] {
  const flat = (s: FailoverSituation | undefined): Map<string, string> => {
    const m = new Map<string, string>();
    if (!s) return m;
    m.set("activeSite", s.activeSite);
    if (s.procedure) {
      m.set("failover.procedure", s.procedure.procedure);
      m.set("failover.phase", s.procedure.phase);
      m.set("failover.from", s.procedure.from);
      if (s.procedure.promotionToken) m.set("failover.promotionToken", s.procedure.promotionToken);
    }
    for (const [site, c] of Object.entries(s.conditions ?? {})) m.set(`failover.conditions.${site}`, c);
    for (const [site, g] of Object.entries(s.generations ?? {})) if (g > 1) m.set(`failover.generations.${site}`, String(g));
    return m;
  };
  const before = flat(from);
  const after = flat(to);
  const commands: string[] = [];
  for (const [key] of before) if (!after.has(key)) commands.push(`pulumi config rm -s ${stack} --path ${q(key)}`);
  for (const [key, value] of after) {
    if (before.get(key) === value) continue;
    const demoted = to.procedure?.from ?? "<old primary>";
    const literal =
      key === "failover.promotionToken" && value.startsWith("<")
        ? `"$(kubectl --context ${demoted} -n ${tokenSource?.namespace ?? "<namespace>"} get cluster ${tokenSource?.cluster ?? "<cluster>"} -o jsonpath='{.status.demotionToken}')"`
        : q(value);
    commands.push(`pulumi config set -s ${stack} ${key.includes(".") ? "--path " : ""}${q(key)} ${literal}${key.startsWith("failover.generations") ? " --type int" : ""}`);
  }
  return commands;
}

/**
 * The phases of a procedure moving the primary role to `to`, each with its settings, command, effects and
 * checks.
 *
 * @param changes - per phase (same order as the procedure's steps), the resources that phase changes,
 *   when the caller computed them from offline plans; used for `--target` when a site is lost.
 */
export function buildRunbook(stack: RunbookStack, to: string, procedure: FailoverProcedure, project = "waris-hybrid", changes?: readonly PhaseChanges[]): RunbookPhase[] {
  const steps = procedurePhases(stack.sites, to, procedure, stack.generations).map((s) => ({ ...s, situation: { ...s.situation, homeSite: stack.homeSite } }));
  const pg = stack.postgres;
  const kubectl = (site: string, rest: string): string => `kubectl --context ${site} -n ${pg?.namespace ?? "<namespace>"} ${rest}`;
  return steps.map((step, i) => {
    const s = step.situation;
    const roles = deriveSiteRoles(s);
    const cluster = (site: string): string => postgresClusterName(pg?.dataset ?? "waris-postgres", site, roles.bySite[site]!.generation);
    const lost = Object.entries(s.conditions ?? {}).filter(([, c]) => c === "lost").map(([site]) => site);
    const phaseChanges = changes?.[i] ?? [];
    const targets = lost.length > 0 ? phaseChanges.filter((c) => c.site === undefined || !lost.includes(c.site)).map((c) => `--target ${q(c.urn)}`) : [];
    const up = `pulumi up -s ${stack.stack} --policy-pack policy${targets.length ? ` ${targets.join(" ")}` : lost.length ? " --target <the changed resources of the reachable site: npm run runbook without --no-targets lists them>" : ""}`;
    const checks: string[] = [];
    const effects = Object.values(roles.bySite).map((r) => {
      const what: Record<string, string> = {
        primary: r.frozen ? "unreachable: left exactly as it was (no change is sent there)" : r.promotionToken ? "promoted once it has replayed up to the demotion token (no transaction lost)" : "primary",
        replica: `replica of ${r.follows}`,
        demoted: `demoted: a replica of ${r.follows}, which is not promoted yet (writes pause until the next phase)`,
        fenced: `fenced (cnpg.io/fencedInstances ["*"]: PostgreSQL stopped, volumes kept), following ${r.follows}`,
        rebuilding: `rebuilt: a new cluster ${pg ? cluster(r.site) : ""} cloned by pg_basebackup from ${r.follows}; the old one stays fenced with its volumes (dropped from the program, retained) until the decommission step`,
      };
      return `${r.site}: ${what[r.role]}`;
    });
    const mongo = stack.mongodb;
    if (mongo) {
      const p = s.procedure;
      const mongoEffect: Record<string, string> = {
        "switchover demote": `MongoDB: ${p?.from}'s operator stops managing the replica set (unmanaged); the set keeps its primary meanwhile`,
        "failback demote": `MongoDB: ${p?.from}'s operator stops managing the replica set (unmanaged); the set keeps its primary meanwhile`,
        "switchover promote": `MongoDB: ${s.activeSite}'s operator manages the set; ${p?.from}'s members stay as non-voting members`,
        "failback promote": `MongoDB: ${s.activeSite}'s operator manages the set; ${p?.from}'s members stay as non-voting members`,
        "disaster promote": `MongoDB: ${s.activeSite}'s operator manages the set, and a Job forces a reconfiguration keeping only ${s.activeSite}'s members, all electable`,
        "disaster fence": `MongoDB: ${p?.from}'s cluster is paused (mongod stopped, volumes kept)`,
        "failback rebuild": `MongoDB: ${s.activeSite} gets a new cluster ${mongo.dataset}-g${roles.bySite[s.activeSite]!.generation}, which joins by initial sync; the paused old cluster and its volumes stay (retained) until the decommission step. The member certificate is re-issued with the new pods' names on both sites, so each site's mongod pods restart one at a time (a primary stepdown on ${p?.from})`,
      };
      const effect = mongoEffect[p ? `${p.procedure} ${p.phase}` : ""];
      if (effect) effects.push(effect);
      const crOf = (site: string): string => mongoClusterName(mongo.dataset, roles.bySite[site]!.generation);
      const kcm = (site: string, rest: string): string => `kubectl --context ${site} -n ${mongo.namespace} ${rest}`;
      if (p?.procedure === "disaster" && p.phase === "fence") {
        checks.push(`${kcm(p.from, `get perconaservermongodb ${crOf(p.from)} -o jsonpath='{.status.state}'`)}  # paused, and no mongod pod left (the operator puts the pause off while a backup runs): only then mark ${p.from} up`);
      }
      if (p?.procedure === "failback" && p.phase === "rebuild") {
        const members = Array.from({ length: mongo.membersPerSite ?? 3 }, (_, i) => `${crOf(s.activeSite)}-rs0-${i}`).join(" ");
        checks.push(
          `${kcm(s.activeSite, `get svc ${members} -o wide`)}  # point mongodb.memberHosts.${s.activeSite}'s DNS names at these new LoadBalancers (the paused old cluster's still hold the old addresses)`,
          `${kcm(p.from, `exec ${crOf(p.from)}-rs0-0 -c mongod -- mongosh --quiet --tls --tlsCAFile /etc/mongodb-ssl/ca.crt --tlsCertificateKeyFile /tmp/tls.pem -u "$MONGODB_CLUSTER_ADMIN_USER" -p "$MONGODB_CLUSTER_ADMIN_PASSWORD" --eval 'rs.status().members.map((m) => m.name + " " + m.stateStr)'`)}  # every ${s.activeSite} member SECONDARY with no lag before the demote phase: a promote of members that never joined would make the operator rs.initiate a new, empty set (handleReplsetInit)`,
        );
      }
      if (p?.procedure === "disaster" && p.phase === "promote") checks.push(`kubectl --context ${s.activeSite} -n ${mongo.namespace} wait --for=condition=complete job/${mongo.dataset}-forced-reconfig --timeout=10m  # the set has a primary on ${s.activeSite}`);
    }
    if (stack.redis) for (const r of Object.values(roles.bySite)) effects.push(`${r.site}: ${redisRoleEffect(r, stack.redis.dataset)}`);
    effects.push(`users and other systems are sent to ${roles.servingSite} (the endpoint Service on each reachable site)`);
    if (pg) {
      const p = s.procedure;
      if (!p) checks.push(`${kubectl(roles.primarySite, `get cluster ${cluster(roles.primarySite)} -o jsonpath='{.status.currentPrimary}'`)}  # a primary instance is named`);
      else if (p.phase === "demote") checks.push(`${kubectl(p.from, `get cluster ${cluster(p.from)} -o jsonpath='{.status.demotionToken}'`)}  # not empty: the demotion is done; this token goes into the next phase`);
      else if (p.phase === "promote" && p.procedure !== "disaster") checks.push(`kubectl cnpg --context ${s.activeSite} -n ${pg.namespace} status ${cluster(s.activeSite)}  # "Primary instance" and no replication lag`);
      else if (p.phase === "promote") checks.push(`kubectl cnpg --context ${s.activeSite} -n ${pg.namespace} status ${cluster(s.activeSite)}  # the designated primary is promoted and accepts writes`, `before ${p.from} is reconnected: reconnect its management network only, then run the fence phase`);
      else if (p.phase === "fence") checks.push(`${kubectl(p.from, `get cluster ${cluster(p.from)} -o jsonpath='{.metadata.annotations.cnpg\\.io/fencedInstances}'`)}  # ["*"], and no instance pod is Ready: only then reconnect ${p.from} to users and the VPN (mark it up)`);
      else if (p.phase === "rebuild") checks.push(`kubectl cnpg --context ${s.activeSite} -n ${pg.namespace} status ${cluster(s.activeSite)}  # streaming from ${p.from}, lag near 0; verify data integrity read-only before the switchover`);
    }
    const rd = stack.redis;
    if (rd) {
      const info = (site: string): string => redisInfoReplicationCommand(site, rd.namespace, rd.dataset);
      const p = s.procedure;
      const other = stack.sites.find((n) => n !== s.activeSite);
      if (!p) checks.push(`${info(s.activeSite)}  # role:master${other ? `, connected_slaves:1 (the replica on ${other}); on ${other}: master_link_status:up` : ""}`);
      else if (p.phase === "demote") checks.push(`${info(p.from)} and ${info(s.activeSite)}  # both role:slave (no writable Redis); the same master_repl_offset on both before the promote phase`);
      else if (p.phase === "promote" && p.procedure !== "disaster") checks.push(`${info(s.activeSite)}  # role:master, connected_slaves:1 (${p.from} follows)`);
      else if (p.phase === "promote") checks.push(`${info(s.activeSite)}  # role:master: Redis accepts writes on ${s.activeSite}; ${p.from}'s Redis is untouched until the fence phase`);
      else if (p.phase === "fence") checks.push(`kubectl --context ${p.from} -n ${rd.namespace} get statefulset ${rd.dataset} -o jsonpath='{.status.replicas}'  # 0: no Redis pod on ${p.from} before it is marked up`);
      else if (p.phase === "rebuild") checks.push(`${info(s.activeSite)}  # role:slave, master_link_status:up, master_sync_in_progress:0: the full resync from ${p.from} is done`);
    }
    const mv = stack.milvus;
    if (mv) {
      for (const r of Object.values(roles.bySite)) effects.push(`${r.site}: ${milvusRoleEffect(r, roles, mv.dataset, mv.restoreBackup)}`);
      const kc = (site: string, rest: string): string => `kubectl --context ${site} -n ${mv.namespace} ${rest}`;
      for (const r of Object.values(roles.bySite)) {
        const plan = milvusSitePlan(r, roles, mv.restoreBackup);
        if (plan.finalBackup) checks.push(`${kc(r.site, `wait --for=condition=complete job/${mv.dataset}-final-backup --timeout=2h`)}  # the final backup ${plan.finalBackup} is written; the promote phase restores it (and the Job is deleted by the next phase)`);
        if (plan.restore) {
          checks.push(
            `${kc(r.site, `wait --for=condition=complete job/${mv.dataset}-restore --timeout=4h`)}  # milvus-backup restored ${plan.restore.backup ?? "the newest backup"} into ${r.site}'s Milvus (kubectl logs job/${mv.dataset}-restore -c restore names it); the Job is deleted by the phase after the procedure, so wait for it first`,
            `${kc(r.site, `get cronjob ${mv.dataset}-backup -o jsonpath='{.spec.suspend}'`)}  # false: the restore Job resumed the hourly backups`,
          );
        }
      }
    }
    return {
      step,
      settingsYaml: settingsYaml(s, project),
      configCommands: configCommands(stack.stack, steps[i - 1]?.situation, s, pg && s.procedure ? { namespace: pg.namespace, cluster: cluster(s.procedure.from) } : undefined),
      preconditions: preconditionsOf(s),
      up,
      effects,
      checks,
      discards: discardedSites(s),
    };
  });
}

/**
 * What the operator must make true before a phase, which no command of the program can: a promotion
 * without a token is a failover (CloudNativePG docs/src/replica_cluster.md), safe only if the old primary
 * can no longer write; a site that is alive but merely unreachable would go on serving its users, and its
 * ExternalDNS would write its records back.
 */
function preconditionsOf(s: FailoverSituation): string[] {
  const p = s.procedure;
  if (!p) return [];
  if (p.procedure === "disaster" && p.phase === "promote") {
    return [
      `${p.from} can no longer serve anyone: its servers are powered off, or its uplinks (users, the VPN, the DNS server) are cut at the network. If ${p.from} is only unreachable from here but still up, it would keep taking writes (split brain); confirm it with the site's staff, by phone, before this phase.`,
      `Record the time and the last replication lag or archived WAL age: that is the data this failover gives up.`,
    ];
  }
  if (p.procedure === "disaster" && p.phase === "fence") return [`${p.from} is back on its management network only: users, the VPN to ${s.activeSite} and the DNS server cannot reach it yet. Reconnect them only after this phase's check.`];
  if (p.procedure === "failback" && p.phase === "rebuild") return [`${s.activeSite} was fenced (the disaster fence phase ran) and is now reconnected (condition up). Its fenced copy is never unfenced: this phase replaces it by a new generation and keeps the old one, stopped, until the decommission step.`];
  if (p.phase === "demote") return [`Both sites are up and replication is healthy (no lag alert); announce the maintenance window: writes pause until the promote phase.`];
  return [];
}

/** The seed's eight steps (seed 000, "Failover Procedure" / "Failback Procedure"), each with how this runbook does it. */
export function seedSteps(
  procedure: FailoverProcedure,
  to: string,
  from: string,
  monitoring?: RunbookStack["monitoring"],
  standby?: { readonly namespace: string; readonly cluster: string },
): string[] {
  if (procedure === "failback") {
    return [
      `1. Repair the ${to} infrastructure: manual; bring it back on the management network only (condition isolated) and run the disaster fence phase first if it has not run.`,
      `2. Sync data from ${from}: automated by the rebuild phase (PostgreSQL: pg_basebackup, then streaming; Redis: replicaof, a full resync, then streaming). Milvus has no replication: it stays stopped until the promote phase restores the final backup taken by the demote phase.`,
      `3. Verify data integrity: manual, read-only on the rebuilt replica (the rebuild phase's check).`,
      `4. Test ${to} services: manual, read-only against the replica.`,
      `5. Schedule a maintenance window: manual; the demote phase pauses writes until promote.`,
      `6. Switch DNS back to ${to}: automated by the demote/promote phases (the endpoint Services follow the serving site); DNS records outside the clusters are not managed yet.`,
      `7. Verify service health: the promote phase's check, then the applications' health checks.`,
      `8. Leave failover mode: the last phase (steady) removes the procedure settings.`,
    ];
  }
  const who = (severity: Severity): string => (monitoring?.receivers[severity].length ? monitoring.receivers[severity].join(", ") : "nobody");
  // One pasteable command: the port-forward in the background, given a moment to listen, amtool, and the
  // port-forward stopped after it.
  const am = (amtool: string, site = to): string =>
    `(kubectl --context ${site} -n ${MONITORING_NAMESPACE} port-forward svc/alertmanager-operated 9093:9093 & pf=$!; sleep 3; amtool --alertmanager.url=http://localhost:9093 ${amtool}; kill $pf)`;
  const detectNotify = monitoring
    ? [
        procedure === "disaster"
          ? `1. Detect failure: automated. On ${to}'s Prometheus, SiteUnreachable{target_site="${from}"} (critical) fires when every probed endpoint of ${from} (its databases, LLM gateway and object store, probed by ${to}'s blackbox exporter across the VPN) has failed for 3 minutes; while it fires, Alertmanager silences the per-endpoint alerts of ${from} (EndpointDown, ObjectStoreUnreachable) and ${to}'s replication alerts (${REPLICATION_ALERTS.join(", ")}), so it is the one alert. See it with: ${am("alert query alertname=SiteUnreachable")}`
          : `1. Detect: a planned switchover starts from no alert. Before it, on both sites, no replication or backup alert fires (${REPLICATION_ALERTS.join(", ")}, PostgresWalArchiveStale, *BackupStale): on ${from}, ${am("alert query", from)}; on ${to}, ${am("alert query")}.`,
        `2. Notify the operations team: automated by ${procedure === "disaster" ? `${to}'s Alertmanager (each site has its own, so the survivor notifies)` : "each site's Alertmanager (each site has its own)"}: critical alerts (SiteUnreachable among them) go to ${who("critical")}; warnings to ${who("warning")}. Test the path before relying on it and after every receiver change: ${am(`alert add WarisNotificationTest severity=critical site=${to} --annotation=summary="test of the WARIS notification path" --end=$(date -u -d '+10 min' +%Y-%m-%dT%H:%M:%SZ)`)}, and confirm that each of ${who("critical")} received it. The SMTP relay and the LINE relay must work with either site lost (outside both sites, like the DNS server and the Pulumi state): a relay at head office would be lost with on-prem, leaving only PagerDuty.`,
      ]
    : [
        `1. Detect failure: the stack has no monitoring setting: only the PrometheusRules the components create (${REPLICATION_ALERTS.join(", ")}, PostgresWalArchiveStale) exist, with no Alertmanager route; an operator watches them.`,
        `2. Notify the operations team: manual (no monitoring.receivers in the stack).`,
      ];
  return [
    ...detectNotify,
    `3. Verify the ${to} standby: ${standby ? `kubectl cnpg --context ${to} -n ${standby.namespace} status ${standby.cluster}` : `kubectl cnpg --context ${to} status <PostgreSQL cluster>`} ${procedure === "disaster" ? `shows a designated primary whose last replayed WAL is recent (its source, ${from}, is gone: it replays no more)` : "shows it replaying, with little lag"}.`,
    `4. Switch DNS to ${to}: automated by the promote phase (the endpoint Service on every reachable site points at ${to}); DNS records outside the clusters are not managed yet.`,
    `5. Activate the standby databases: automated by the promote phase (${procedure === "disaster" ? "immediate promotion" : "promotion at the demotion token"}); Milvus: a Job restores ${procedure === "disaster" ? "the newest backup" : "the final backup of the demote phase"} (milvus-backup restore), and the backups resume once it has finished.`,
    `6. Verify service health: the promote phase's check, then the applications' health checks.`,
    `7. Notify users: manual.`,
    `8. Document the incident: manual; record the detection time, each phase's pulumi up time and, for a disaster, the data loss window (the replication lag or the age of the last archived WAL at detection).`,
  ];
}

/** Where Pulumi's state and secrets must live so that `pulumi up` still works when either site is lost. */
export const STATE_ADVICE = [
  "Pulumi state and secrets must survive the loss of either site, and stay in Thailand:",
  "- state: a self-managed S3 backend in a versioned bucket of the G-Cloud store (pulumi login 's3://waris-pulumi-state?endpoint=<G-Cloud S3 endpoint>&s3ForcePathStyle=true&region=<its region>'),",
  "  replicated to a bucket of the on-prem MinIO (bucket replication), so either copy can be logged into when the other site is gone;",
  "  never a backend on one site only (losing that site would make the failover impossible), nor Pulumi Cloud (outside Thailand).",
  "- secrets provider: a passphrase (PULUMI_CONFIG_PASSPHRASE_FILE, as the README sets it) held by two operators and kept sealed on",
  "  each site; never a KMS or Vault that runs on one site only.",
  "- keys (stack setting vault): the same Vault must answer from either site, and every pulumi up below needs VAULT_TOKEN (README);",
  "  every phase's new Secrets and certificates (a rebuilt generation's included) are written through it, and pulumi up waits",
  "  for each ExternalSecret and Certificate to be Ready.",
];

/** The whole runbook as text. */
export function renderRunbook(stack: RunbookStack, to: string, procedure: FailoverProcedure, phases: readonly RunbookPhase[]): string {
  const from = stack.sites.find((s) => s !== to)!;
  const out: string[] = [`# ${procedure} of stack ${stack.stack}: primary role to ${to} (from ${from})`, "", ...STATE_ADVICE, "", "## The seed's steps", ...seedSteps(procedure, to, from, stack.monitoring, stack.postgres && { namespace: stack.postgres.namespace, cluster: postgresClusterName(stack.postgres.dataset, to, stack.generations[to]) }), "", "## Phases"];
  phases.forEach((p, i) => {
    out.push("", `### ${i + 1}. ${p.step.label}${i === 0 ? " (where the procedure starts)" : ""}`);
    out.push("Stack settings:", "```yaml", p.settingsYaml, "```");
    if (p.preconditions.length) out.push("Before this phase:", ...p.preconditions.map((c) => `- ${c}`));
    if (i > 0) out.push("Commands:", "```sh", ...p.configCommands, p.up, "```");
    out.push("Effect:", ...p.effects.map((e) => `- ${e}`));
    if (p.discards.length) out.push(`Discards: the data of ${p.discards.join(", ")} as a live copy (replaced by a copy of the active site); the old generation is kept, stopped, until the decommission step below.`);
    if (p.checks.length) out.push("Check before the next phase:", ...p.checks.map((c) => `- ${c}`));
  });
  const rebuilt = phases.find((p) => p.discards.length > 0);
  if (rebuilt) {
    const site = rebuilt.discards[0]!;
    const generation = rebuilt.step.situation.generations?.[site] ?? 2;
    out.push("", "## Decommission (after the procedure, when nothing more is to be salvaged)", ...decommissionSteps(stack, site, generation - 1).map((c) => `- ${c}`));
  }
  return `${out.join("\n")}\n`;
}

/**
 * The decommission step of a failback: what the rebuild kept of `site`'s old `generation` (dropped from
 * the program retained, stopped), each with the command that deletes it. Nothing in the program deletes it:
 * it may hold writes the site took before it was cut off, which exist nowhere else. Pure.
 *
 * @param stack - the stack's datastores.
 * @param site - the rebuilt site.
 * @param generation - the generation the rebuild replaced (the new one minus 1).
 */
export function decommissionSteps(stack: RunbookStack, site: string, generation: number): string[] {
  const steps = [
    `First, if ${site} took writes between the loss and its fencing, export them from the old generation's volumes (attach a copy of each volume to a throwaway database in another namespace; never unfence the old cluster itself, which would start a second primary).`,
  ];
  const kc = (namespace: string, rest: string): string => `kubectl --context ${site} -n ${namespace} ${rest}`;
  if (stack.postgres) {
    const old = postgresClusterName(stack.postgres.dataset, site, generation);
    steps.push(`PostgreSQL: ${kc(stack.postgres.namespace, `delete cluster.postgresql.cnpg.io ${old}`)}  # fenced since the disaster; CloudNativePG deletes its volumes with it (owner references)`);
  }
  if (stack.mongodb) {
    const old = generation > 1 ? `${stack.mongodb.dataset}-g${generation}` : stack.mongodb.dataset;
    steps.push(
      `MongoDB: ${kc(stack.mongodb.namespace, `delete perconaservermongodb ${old}`)}  # paused since the disaster`,
      `MongoDB volumes (kept by the operator without the delete-psmdb-pvc finalizer): ${kc(stack.mongodb.namespace, `get pvc -o name`)} | grep '/mongod-data-${old}-rs0-' | xargs ${kc(stack.mongodb.namespace, "delete")}`,
    );
  }
  if (stack.milvus) {
    const old = generation > 1 ? `${stack.milvus.dataset}-g${generation}` : stack.milvus.dataset;
    steps.push(
      `Milvus metadata of generation ${generation}: ${kc(stack.milvus.namespace, `exec ${stack.milvus.dataset}-etcd-0 -- etcdctl del --prefix ${old}/`)}  # the trailing / keeps the new generation's keys`,
      `Milvus segments of generation ${generation}: mc rm --recursive --force <${site} store alias>/<milvus.dataBucket>/${old}/  # the bucket is versioned: the objects become noncurrent versions, expired by its lifecycle rule`,
    );
  }
  if (stack.redis) steps.push(`Redis: nothing to delete: the full resync of the rebuild replaced ${site}'s data in place (Redis has no second copy to keep).`);
  return steps;
}
