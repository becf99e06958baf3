// Acting on local sandboxes from *any* process: listing them, destroying one by id whoever owns it,
// and recovering the ones whose owner died. The owner of a sandbox is the runner of its undo journal:
//   - this process            -> destroy it directly;
//   - the shared supervisor   -> ask it (it closes its own journal);
//   - another live process    -> (an `airlock run`) SIGTERM it: it destroys on that signal;
//   - nobody alive            -> replay the journal here, then seal the record.
import * as fs from "fs";
import * as path from "path";
import { foreignDeadJournals, journalDir, readJournal, recoverJournals, stateDirOfJournal, JournalState, RecoveryResult } from "../host/journal";
import { liveRegisteredOwners } from "../host/owners";
import { isAlive, terminate } from "../host/process";
import { verifyLog } from "../record/chain-log";
import { listHandles, loadHandle, LocalSandboxHandle } from "./handle";
import { recordsDir, sandboxLayout } from "./layout";
import { openRecord, safeAppend } from "./record";
import { JOURNAL_PURPOSE, ownedSandbox } from "./sandbox";
import { runningSupervisor, supervisedDestroy, SupervisorError } from "./supervisor-client";
import { belongsToLive, liveAnchorIds, removeObjects, scanHostObjects } from "./hostscan";
import { removePath } from "./hostfs";
import { cgroupOf } from "./views";
import "./undo-kinds";

export function journalOf(id: string): JournalState | undefined {
  const file = path.join(journalDir(), `${id}.jsonl`);
  try {
    return readJournal(file);
  } catch {
    return undefined;
  }
}

/**
 * Ids with a live owner, host-wide, whatever state directory the owner uses: its runner is
 * registered and alive (host/owners.ts: from before its first host object until its journal
 * closes), or this state directory's journal is open and its runner alive (any purpose: chaos runs
 * count too), or the sandbox's namespace anchor is alive (a runner of an Airlock without the registry).
 */
export function liveOwnerIds(): Set<string> {
  const live = liveAnchorIds();
  for (const id of liveRegisteredOwners()) live.add(id);
  const dir = journalDir();
  if (!fs.existsSync(dir)) return live;
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith(".jsonl")) continue;
    try {
      const j = readJournal(path.join(dir, name));
      if (!j.closed && isAlive(j.runner)) live.add(j.owner);
    } catch {
      /* not a journal */
    }
  }
  return live;
}

/** Appends the end of a record whose owner could not (it died): the record still ends sealed. */
export function finalizeRecord(recordFile: string, data: Record<string, unknown>): void {
  if (!fs.existsSync(recordFile)) return;
  if (verifyLog(recordFile, { allowUnsealed: true }).sealed) return;
  const log = openRecord(recordFile);
  safeAppend(log, "destroyed", { ...data, recovered: true });
  try {
    log.seal({ reason: data.reason, recovered: true });
  } catch {
    /* sealed meanwhile */
  }
}

function recordFileOf(id: string): string {
  return loadHandle(id)?.record ?? sandboxLayout(id).record;
}

/** The chaos runner's undo kinds, when this checkout has it (its dead runs are recovered here too). */
function loadChaosUndoKinds(): void {
  try {
    require.resolve("../../chaos/undo-kinds");
  } catch {
    return;
  }
  require("../../chaos/undo-kinds");
}

/**
 * Replays every journal whose runner died (local sandboxes and chaos runs alike — what `airlock run`
 * and `sandbox create` do first), and seals the records of the local sandboxes among them.
 */
export async function recoverDeadSandboxes(): Promise<RecoveryResult[]> {
  loadChaosUndoKinds();
  const results = (await recoverJournals()).filter((r) => r.action !== "skipped-live");
  for (const r of results) {
    if (r.purpose !== JOURNAL_PURPOSE || r.action === "partial") continue; // a partial one is retried next time; its record stays open until then
    finalizeRecord(recordFileOf(r.owner), { reason: r.runnerTerminated ? "owner overran the ttl; recovered" : "owner died; recovered", undone: r.outcomes.length });
  }
  return results;
}

/**
 * Replays the journals of dead runners of *other* state directories (found through the host-wide
 * registry) and seals their records where they are. Why replay rather than leave them to that state
 * directory's own sweep: a dead owner's objects must go whichever sweep runs, and the journal is the
 * complete list of what the runner changed (its leases and directories in its own state directory,
 * cgroup limits, toxics) with the handlers it would have run itself — every undo argument is an
 * absolute name or path, never relative to a state directory. Removing only the named host objects
 * would leave the other state directory half-undone: its journal still open over objects that are
 * gone, its leases held, its record unsealed. The replay takes that journal's own recovery lock, so
 * it never runs beside the other state directory's sweep. A journal this process cannot read is
 * left; its named host objects are still removed by the sweep's scan (their runner is dead).
 */
export async function recoverForeignDeadOwners(): Promise<RecoveryResult[]> {
  const journals = foreignDeadJournals();
  if (journals.length === 0) return [];
  loadChaosUndoKinds();
  const results = (await recoverJournals({ journals })).filter((r) => r.action !== "skipped-live");
  for (const r of results) {
    if (r.purpose !== JOURNAL_PURPOSE || r.action === "partial") continue;
    finalizeRecord(path.join(recordsDir(stateDirOfJournal(r.file)), `${r.owner}.jsonl`), { reason: "owner died; recovered by a sweep of another state directory", undone: r.outcomes.length });
  }
  return results;
}

export interface DestroyOutcome {
  id: string;
  via: "this process" | "supervisor" | "owner signalled" | "recovery";
  record?: string;
  leftovers: string[];
}

/** Destroys a sandbox whoever owns it; then removes anything of it that is still on the host. */
export async function destroySandboxById(id: string, reason: string, progress?: (m: string) => void): Promise<DestroyOutcome> {
  const owned = ownedSandbox(id);
  const handle = loadHandle(id);
  const record = handle?.record ?? sandboxLayout(id).record;
  let via: DestroyOutcome["via"] = "recovery";
  if (owned) {
    await owned.destroy(reason);
    via = "this process";
  } else {
    const journal = journalOf(id);
    if (!journal && !handle) throw Object.assign(new Error(`no local sandbox '${id}'`), { hint: "run `airlock sandbox list` to see the sandboxes on this host" });
    if (journal && !journal.closed && isAlive(journal.runner)) {
      const sup = runningSupervisor();
      if (sup && sup.process.pid === journal.runner.pid && sup.process.startTime === journal.runner.startTime) {
        progress?.(`asking the supervisor (pid ${sup.process.pid}) to destroy ${id}`);
        try {
          await supervisedDestroy(id, reason, progress);
          via = "supervisor";
        } catch (e) {
          // The supervisor let go of the sandbox between the look at its journal and the request: it
          // was tearing it down itself (a kill rule fired, the TTL ran out) — e.g. an Automation
          // harness destroying the sandbox whose kill it just caused. Whatever is left is undone below.
          if (!(e instanceof SupervisorError && /does not own/.test(e.message))) throw e;
          progress?.(`the supervisor no longer owns ${id} (it tore it down itself); recovering what is left`);
        }
      } else {
        progress?.(`signalling the owner of ${id} (pid ${journal.runner.pid}) to tear it down`);
        await terminate(journal.runner, 15_000);
        via = "owner signalled";
      }
    }
    // Whatever is still recorded as applied (owner dead, or it could not finish): undo it here.
    const results = await recoverJournals({ owner: id });
    if (results.some((r) => r.action === "partial")) progress?.(`some undo steps of ${id} failed; run \`airlock sweep\` again`);
    finalizeRecord(record, { reason });
  }
  // Belt and braces: objects of this id that were never journaled (a crash between spawn and journal).
  const stray = (await scanHostObjects()).filter((o) => o.id === id && !belongsToLive(o, liveOwnerIds()));
  const failed = await removeObjects(stray);
  if (fs.existsSync(sandboxLayout(id).dir) && !liveOwnerIds().has(id)) await removePath(sandboxLayout(id).dir);
  return { id, via, record, leftovers: failed.map((f) => `${f.object.kind} ${f.object.name}: ${f.error}`) };
}

export interface SandboxStatus {
  id: string;
  name: string;
  owner: string;
  state: string;
  createdAt: string;
  expiresAt: string;
  expired: boolean;
  supervisor: string;
  processes: number;
  gate: Record<string, string>;
  record: string;
}

export function sandboxStatus(h: LocalSandboxHandle, now = new Date()): SandboxStatus {
  const j = journalOf(h.id);
  const ownerAlive = !!j && !j.closed && isAlive(j.runner);
  let processes = 0;
  try {
    processes = cgroupOf(h.cgroup).processes().length;
  } catch {
    /* cgroup gone */
  }
  return {
    id: h.id,
    name: h.spec.name,
    owner: h.owner,
    state: ownerAlive ? (h.state ?? "running") : "orphaned (owner gone; `airlock sweep` removes it)",
    createdAt: h.createdAt,
    expiresAt: h.expiresAt,
    expired: new Date(h.expiresAt).getTime() <= now.getTime(),
    supervisor: j ? `pid ${j.runner.pid}${ownerAlive ? "" : " (dead)"}` : "none",
    processes,
    gate: Object.fromEntries(Object.entries(h.gate.proxies).map(([k, p]) => [k, p.listen])),
    record: h.record,
  };
}

export function listSandboxes(now = new Date()): SandboxStatus[] {
  return listHandles()
    .map((h) => sandboxStatus(h, now))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
