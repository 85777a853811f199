/**
 * One model of site roles for every datastore: the stack states the situation (which site is active,
 * which procedure is under way and at which phase, which sites are up, isolated or lost, how often each
 * site's data was rebuilt) and {@link deriveSiteRoles} says, for every data site, the role its datastores
 * take. The datastore components and the inference cluster take their roles from it; none reads
 * `activeSite` itself. The operator's runbook is generated from the same phases ({@link procedurePhases}).
 *
 * The procedures follow the operators' own (CloudNativePG `docs/src/replica_cluster.md`, "Distributed
 * topology": demotion, then promotion with the demotion token; `docs/src/fencing.md`; Percona's
 * cross-site switchover: the main site becomes unmanaged first, then the replica site managed):
 * - **switchover** (both sites up): `demote` the old primary (no writable primary for a moment), then
 *   `promote` the new one once it has replayed to the old one's demotion token: no data is lost.
 * - **disaster** (the old primary's site is lost): `promote` the surviving site at once, changing nothing
 *   on the lost one (it cannot be reached); when the lost site comes back it is first reconnected to the
 *   management network only (`isolated`) and `fence`d, before users or the other site can reach it.
 * - **failback** (the fenced site is up again): `rebuild` it as a fresh replica of the active site (its
 *   old data, which may hold writes nobody else has, is discarded: this is the one phase that may), then
 *   `demote` and `promote` back as in a switchover.
 */

/** A procedure that moves the primary role between sites. */
export type FailoverProcedure = "switchover" | "disaster" | "failback";

/** What the operator knows of a site. */
export type SiteCondition =
  /** Reachable by the engine, by users and by the other site. */
  | "up"
  /** Reachable by the engine (management network) only: users and the other site are cut off. */
  | "isolated"
  /** Not reachable: nothing can be changed there. */
  | "lost";

/** The phases of each procedure, in order. */
export const PROCEDURE_PHASES = {
  /** Both sites up: demote the old primary, then promote the new one with the demotion token. */
  switchover: ["demote", "promote"],
  /** The old primary's site lost: promote the survivor, then fence the lost site when it returns. */
  disaster: ["promote", "fence"],
  /** Back to the fenced site: rebuild it as a replica, then demote and promote as in a switchover. */
  failback: ["rebuild", "demote", "promote"],
} as const satisfies Record<FailoverProcedure, readonly string[]>;

/** A phase of a procedure. */
export type FailoverPhase = (typeof PROCEDURE_PHASES)[FailoverProcedure][number];

/** A procedure under way. */
export interface ProcedureState {
  /** Which procedure. */
  readonly procedure: FailoverProcedure;
  /** Its phase now (one of {@link PROCEDURE_PHASES} for that procedure). */
  readonly phase: FailoverPhase;
  /** The site that gives up (or, in a disaster, lost) the primary role; in a failback, the site that holds it until `promote`. */
  readonly from: string;
  /**
   * `promote` of a switchover or failback: the demoted cluster's `status.demotionToken` (CloudNativePG),
   * with which the new primary waits until it has replayed everything the old one wrote.
   */
  readonly promotionToken?: string;
}

/** The situation the stack states. */
export interface FailoverSituation {
  /** The data sites (one or two). */
  readonly sites: readonly string[];
  /** The site that is primary in steady state, or that becomes primary at the end of the procedure. */
  readonly activeSite: string;
  /** The site whose data was created empty (`initdb`) at the first deployment. Default: the first of `sites`. */
  readonly homeSite?: string;
  /** The procedure under way, if any. */
  readonly procedure?: ProcedureState;
  /** Condition of each site; a site not listed is `up`. */
  readonly conditions?: Readonly<Record<string, SiteCondition>>;
  /**
   * How many times each site's data has been created: 1 at first, and one more at every `rebuild`.
   * Names of rebuilt data resources carry it, so a rebuild creates new ones (with a fresh WAL archive
   * path) instead of reusing the discarded ones. Default 1 for every site.
   */
  readonly generations?: Readonly<Record<string, number>>;
}

/** The role a site's datastores take. */
export type DatastoreRole =
  /** Writable copy, serving users. */
  | "primary"
  /** Following the primary (streaming, or from the archive when the link is down). */
  | "replica"
  /** Demoted old primary of a switchover: a replica that waits for the other site's promotion. */
  | "demoted"
  /** Came back after a loss: stopped (CloudNativePG fencing, Percona unmanaged), never to serve again as it is. */
  | "fenced"
  /** Re-cloned from the primary, its old data discarded; a replica from then on. */
  | "rebuilding";

/** One site's role, with what a datastore component needs to render it. */
export interface SiteDatastoreRole {
  /** The site's name. */
  readonly site: string;
  /** What its datastores are. */
  readonly role: DatastoreRole;
  /** The site whose copy this site treats as the primary (itself when primary). */
  readonly follows: string;
  /** Generation of this site's data (see {@link FailoverSituation.generations}). */
  readonly generation: number;
  /** Promotion token to complete a switchover (only on the site being promoted). */
  readonly promotionToken?: string;
  /**
   * The site cannot be reached: the role is the one it had when last changed, and the components render
   * exactly that, so the phase needs no change there.
   */
  readonly frozen: boolean;
  /** Whether users and the other site can reach it. */
  readonly condition: SiteCondition;
}

/** The roles of all data sites, and where users are sent. */
export interface SiteRoles {
  /** Each data site's role, keyed by site name. */
  readonly bySite: Readonly<Record<string, SiteDatastoreRole>>;
  /** The site holding the writable copy after this phase (or about to, in a `demote` phase). */
  readonly primarySite: string;
  /** The site whose endpoints users and other systems are sent to (DNS, the gateway). */
  readonly servingSite: string;
  /** The site data is first created on (generation 1, `initdb`). */
  readonly homeSite: string;
  /** The situation the roles come from. */
  readonly situation: FailoverSituation;
}

/** A problem with a situation, naming the part of it that is wrong. */
export interface SituationProblem {
  /** `activeSite`, `procedure.phase`, `conditions.<site>`, ... */
  readonly path: string;
  /** What is wrong and what is allowed. */
  readonly message: string;
}

const conditionOf = (s: FailoverSituation, site: string): SiteCondition => s.conditions?.[site] ?? "up";

/**
 * Every problem with a situation (pure; the stack configuration runs it before anything is registered).
 * The rules are the procedures' preconditions: a switchover needs both sites up; a disaster's `promote`
 * a lost old primary and its `fence` an isolated one; a failback an up, rebuilt (generation ≥ 2) site.
 */
export function validateSituation(s: FailoverSituation): SituationProblem[] {
  const problems: SituationProblem[] = [];
  const add = (path: string, message: string): void => void problems.push({ path, message });
  if (!s.sites.includes(s.activeSite)) add("activeSite", `is "${s.activeSite}", not a data site; allowed: ${s.sites.join(", ")}`);
  if (s.homeSite !== undefined && !s.sites.includes(s.homeSite)) add("homeSite", `is "${s.homeSite}", not a data site; allowed: ${s.sites.join(", ")}`);
  for (const [site, condition] of Object.entries(s.conditions ?? {})) {
    if (!s.sites.includes(site)) add(`conditions.${site}`, `names no data site; allowed: ${s.sites.join(", ")}`);
    if (!["up", "isolated", "lost"].includes(condition)) add(`conditions.${site}`, `is "${condition}"; allowed: up, isolated, lost`);
  }
  for (const [site, generation] of Object.entries(s.generations ?? {})) {
    if (!s.sites.includes(site)) add(`generations.${site}`, `names no data site; allowed: ${s.sites.join(", ")}`);
    if (!Number.isInteger(generation) || generation < 1 || generation > 999) add(`generations.${site}`, `is ${String(generation)}; a whole number from 1 (as first created) to 999`);
  }
  if (conditionOf(s, s.activeSite) !== "up") add(`conditions.${s.activeSite}`, `is ${conditionOf(s, s.activeSite)}: the active site must be up`);
  const p = s.procedure;
  if (!p) {
    for (const site of s.sites) {
      if (conditionOf(s, site) !== "up") add(`conditions.${site}`, `is ${conditionOf(s, site)} with no procedure under way; start one (procedure: disaster) or mark the site up`);
    }
    return problems;
  }
  const phases: readonly string[] = PROCEDURE_PHASES[p.procedure] ?? [];
  if (phases.length === 0) return [...problems, { path: "procedure.procedure", message: `is "${p.procedure}"; allowed: ${Object.keys(PROCEDURE_PHASES).join(", ")}` }];
  if (!phases.includes(p.phase)) add("procedure.phase", `is "${p.phase}"; a ${p.procedure} has the phases ${phases.join(", ")}`);
  if (s.sites.length !== 2) add("procedure", `needs two data sites; this stack has ${s.sites.length}`);
  if (!s.sites.includes(p.from) || p.from === s.activeSite) add("procedure.from", `is "${p.from}"; it must name the other data site (${s.sites.filter((n) => n !== s.activeSite).join(", ") || "none"})`);
  const fromCondition = conditionOf(s, p.from);
  const needed: SiteCondition = p.procedure === "disaster" ? (p.phase === "promote" ? "lost" : "isolated") : "up";
  if (s.sites.includes(p.from) && p.from !== s.activeSite && fromCondition !== needed) {
    const why: Record<string, string> = {
      "switchover": "a switchover needs both sites up; with one lost, run procedure: disaster",
      "disaster/promote": "a disaster promote is for a lost site (it changes nothing there); with both sites up, run a switchover, which loses no data",
      "disaster/fence": "fence the returning site while it is reachable by the management network only (isolated), before users or replication reach it",
      "failback": "a failback reconnects the fenced site: mark it up once it is fenced",
    };
    add(`conditions.${p.from}`, `is ${fromCondition}; the ${p.procedure} ${p.phase} phase needs it ${needed}: ${why[p.procedure === "disaster" ? `disaster/${p.phase}` : p.procedure]}`);
  }
  const rebuilt = p.procedure === "failback" ? s.activeSite : undefined;
  if (rebuilt && (s.generations?.[rebuilt] ?? 1) < 2) {
    add(`generations.${rebuilt}`, `is ${s.generations?.[rebuilt] ?? 1}; a failback rebuilds ${rebuilt}'s data, so raise its generation by one (to ${(s.generations?.[rebuilt] ?? 1) + 1} the first time) for new, empty resources`);
  }
  const promoting = p.phase === "promote" && p.procedure !== "disaster";
  if (promoting && !p.promotionToken) add("procedure.promotionToken", `is required in the promote phase: the demoted cluster's status.demotionToken (kubectl get cluster -o jsonpath='{.status.demotionToken}')`);
  if (!promoting && p.promotionToken !== undefined) add("procedure.promotionToken", `is set in the ${p.procedure} ${p.phase} phase; a token only completes a switchover (phase promote)`);
  return problems;
}

/**
 * The role of every data site in a situation.
 *
 * @throws Error listing the situation's problems when {@link validateSituation} finds any.
 */
export function deriveSiteRoles(s: FailoverSituation): SiteRoles {
  const problems = validateSituation(s);
  if (problems.length > 0) throw new Error(`invalid failover situation: ${problems.map((p) => `${p.path} ${p.message}`).join("; ")}`);
  const homeSite = s.homeSite ?? s.sites[0]!;
  const generation = (site: string): number => s.generations?.[site] ?? 1;
  const role = (site: string, r: DatastoreRole, follows: string, extra: Partial<SiteDatastoreRole> = {}): SiteDatastoreRole => ({
    site,
    role: r,
    follows,
    generation: generation(site),
    frozen: false,
    condition: conditionOf(s, site),
    ...extra,
  });
  const bySite: Record<string, SiteDatastoreRole> = {};
  const p = s.procedure;
  const to = s.activeSite;
  let primarySite = to;
  let servingSite = to;
  if (!p) {
    for (const site of s.sites) bySite[site] = site === to ? role(site, "primary", site) : role(site, "replica", to);
  } else if (p.procedure === "disaster") {
    bySite[to] = role(to, "primary", to);
    // promote: the lost site keeps what it was last given (primary of itself) and gets no change.
    bySite[p.from] = p.phase === "promote" ? role(p.from, "primary", p.from, { frozen: true }) : role(p.from, "fenced", to);
  } else {
    // switchover, and failback's demote/promote: the same two steps; failback's rebuild first.
    const oldPrimary = p.from;
    if (p.phase === "rebuild") {
      bySite[oldPrimary] = role(oldPrimary, "primary", oldPrimary);
      bySite[to] = role(to, "rebuilding", oldPrimary);
      primarySite = oldPrimary;
      servingSite = oldPrimary;
    } else if (p.phase === "demote") {
      bySite[oldPrimary] = role(oldPrimary, "demoted", to);
      bySite[to] = role(to, "replica", oldPrimary);
    } else {
      bySite[oldPrimary] = role(oldPrimary, "replica", to);
      bySite[to] = role(to, "primary", to, { promotionToken: p.promotionToken });
    }
  }
  return { bySite, primarySite, servingSite, homeSite, situation: s };
}

/** Roles of a stack with no procedure under way: `activeSite` primary, every other data site its replica. */
export function steadyRoles(sites: readonly string[], activeSite: string, generations?: Readonly<Record<string, number>>): SiteRoles {
  return deriveSiteRoles({ sites, activeSite, ...(generations ? { generations } : {}) });
}

/**
 * The sites whose data a situation's phase discards: the site a failback `rebuild`s (its old copy may
 * hold writes made while it was cut off, which nobody else has). Every other phase discards nothing.
 */
export function discardedSites(s: FailoverSituation): string[] {
  return s.procedure?.procedure === "failback" && s.procedure.phase === "rebuild" ? [s.activeSite] : [];
}

/** The fields of a CloudNativePG promotion token (`pkg/utils/parser.go`, `PgControldataTokenContent.IsValid`). */
const PROMOTION_TOKEN_FIELDS = ["latestCheckpointTimelineID", "redoWalFile", "databaseSystemIdentifier", "latestCheckpointREDOLocation", "timeOfLatestCheckpoint", "operatorVersion"] as const;

/**
 * What is wrong with a promotion token, or undefined when the CloudNativePG webhook would accept it: a
 * base64-encoded JSON object with every `pg_controldata` field the operator writes into
 * `status.demotionToken` (webhook `validatePromotionToken`, cluster_webhook.go, v1.27).
 */
export function promotionTokenProblem(token: string): string | undefined {
  let content: unknown;
  try {
    content = JSON.parse(Buffer.from(token, "base64").toString("utf8"));
  } catch {
    return "is not a CloudNativePG demotion token (base64-encoded JSON); copy status.demotionToken of the demoted cluster whole";
  }
  const missing = PROMOTION_TOKEN_FIELDS.filter((f) => typeof (content as Record<string, unknown> | null)?.[f] !== "string" || (content as Record<string, string>)[f] === "");
  return missing.length > 0 ? `lacks ${missing.join(", ")}: copy status.demotionToken of the demoted cluster whole` : undefined;
}

/**
 * A promotion token with the shape of CloudNativePG's `status.demotionToken` (base64 JSON of every
 * `pg_controldata` field, `pkg/utils/parser.go`) and made-up values: what an offline plan of a promote
 * phase carries in place of the real token, which exists only once the old primary has demoted.
 */
export const PLANNING_PROMOTION_TOKEN = Buffer.from(
  JSON.stringify({
    latestCheckpointTimelineID: "1",
    redoWalFile: "000000010000000000000005",
    databaseSystemIdentifier: "7247012345678901234",
    latestCheckpointREDOLocation: "0/5000028",
    timeOfLatestCheckpoint: "Mon 30 Nov 2026 10:00:00 UTC",
    operatorVersion: "1.27.0",
  }),
).toString("base64");

/** One step of a procedure as the runbook prints it and the tests replay it. */
export interface ProcedureStep {
  /** `steady`, or `<procedure> <phase>`. */
  readonly label: string;
  /** The situation the stack states in that step. */
  readonly situation: FailoverSituation;
}

/** A placeholder the operator replaces with the demoted cluster's token (the runbook says where it comes from). */
export const PROMOTION_TOKEN_PLACEHOLDER = "<status.demotionToken of the demoted cluster>";

/**
 * Every situation a procedure passes through, from the steady state before it to the steady state
 * after it, for moving the primary role to `to`.
 *
 * - `switchover`: steady(from) → demote → promote → steady(to).
 * - `disaster`: steady(from) → promote (from lost) → fence (from isolated); then failback back to `from`
 *   is a procedure of its own.
 * - `failback` (to the fenced site `to`): fence state → rebuild (generation + 1) → demote → promote →
 *   steady(to).
 *
 * @param token - what to put as the promotion token (the runbook: a placeholder; tests: a sample).
 */
export function procedurePhases(sites: readonly string[], to: string, procedure: FailoverProcedure, generations: Readonly<Record<string, number>> = {}, token = PROMOTION_TOKEN_PLACEHOLDER): ProcedureStep[] {
  const from = sites.find((s) => s !== to)!;
  const step = (label: string, situation: Omit<FailoverSituation, "sites">): ProcedureStep => ({ label, situation: { sites, ...situation } });
  const gen = Object.keys(generations).length > 0 ? { generations } : {};
  if (procedure === "switchover") {
    return [
      step("steady", { activeSite: from, ...gen }),
      step("switchover demote", { activeSite: to, procedure: { procedure, phase: "demote", from }, ...gen }),
      step("switchover promote", { activeSite: to, procedure: { procedure, phase: "promote", from, promotionToken: token }, ...gen }),
      step("steady", { activeSite: to, ...gen }),
    ];
  }
  if (procedure === "disaster") {
    return [
      step("steady", { activeSite: from, ...gen }),
      step("disaster promote", { activeSite: to, procedure: { procedure, phase: "promote", from }, conditions: { [from]: "lost" }, ...gen }),
      step("disaster fence", { activeSite: to, procedure: { procedure, phase: "fence", from }, conditions: { [from]: "isolated" }, ...gen }),
    ];
  }
  const rebuilt = { generations: { ...generations, [to]: (generations[to] ?? 1) + 1 } };
  return [
    step("disaster fence", { activeSite: from, procedure: { procedure: "disaster", phase: "fence", from: to }, conditions: { [to]: "isolated" }, ...gen }),
    step("failback rebuild", { activeSite: to, procedure: { procedure, phase: "rebuild", from }, ...rebuilt }),
    step("failback demote", { activeSite: to, procedure: { procedure, phase: "demote", from }, ...rebuilt }),
    step("failback promote", { activeSite: to, procedure: { procedure, phase: "promote", from, promotionToken: token }, ...rebuilt }),
    step("steady", { activeSite: to, ...rebuilt }),
  ];
}
