// `airlock sweep`: leaves the host with no Airlock object that lacks a live owner.
//
// "Live owner" is judged host-wide, whatever state directory (AIRLOCK_STATE_DIR) the owner uses: a
// runner registered in /run/airlock/owners (host/owners.ts, written before its first host object),
// this state directory's open journals, or a sandbox's live namespace anchor. A live owner anywhere
// protects its objects; a dead owner's are recovered by any sweep (its journal replayed, even from
// another state directory: lifecycle.recoverForeignDeadOwners says why).
//
//   1. replay every dead runner's journal, this state directory's and — through the registry — any
//      other's (local sandboxes: then seal their records);
//   2. destroy expired sandboxes (through their live owner if they have one);
//   3. remove every host object of a sandbox's shape (netns, veth, nft table, cgroup, tmpfs, process:
//      hostscan.sweepable) whose sandbox has no live owner — this also catches what no journal knows
//      (spawn-to-journal window, a journal deleted by hand);
//   4. remove stale leases and sandbox directories, prune finished journals and stale registry entries.
// Records are never removed: they are the evidence.
import * as fs from "fs";
import * as path from "path";
import { foreignDeadJournals, journalDir, listJournals, pruneOwnerRegistry, readJournal } from "../host/journal";
import { isAlive } from "../host/process";
import { loadHandle, listHandles, sandboxesDir } from "./handle";
import { destroySandboxById, finalizeRecord, liveOwnerIds, recoverDeadSandboxes, recoverForeignDeadOwners } from "./lifecycle";
import { belongsToLive, removeObjects, scanHostObjects, sweepable } from "./hostscan";
import { listLeases } from "./leases";
import { removePath } from "./hostfs";
import { recordsDir, sandboxLayout } from "./layout";
import { JOURNAL_PURPOSE } from "./sandbox";

export interface SweepReport {
  recovered: { owner: string; purpose: string; action: string; undone: number; failed: string[] }[];
  expired: string[];
  orphansRemoved: string[];
  failures: string[];
  /** Airlock objects still on the host without a live owner after the sweep (should be none). */
  leftovers: string[];
  /** Sandboxes left alone because their owner is alive and they have not expired. */
  live: string[];
  /** Airlock-prefixed objects not of a sandbox's shape, e.g. test fixtures (see hostscan.sweepable): left alone. */
  skipped: string[];
}

/** Closed local-sandbox journals older than this are deleted (their records stay). */
const PRUNE_JOURNALS_AFTER_MS = 24 * 3_600_000;

function pruneJournals(now: Date): void {
  const dir = journalDir();
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    try {
      if (now.getTime() - fs.statSync(file).mtimeMs < PRUNE_JOURNALS_AFTER_MS) continue;
      if (name.endsWith(".old") || (name.endsWith(".jsonl") && readJournal(file).closed && readJournal(file).purpose === JOURNAL_PURPOSE)) fs.rmSync(file, { force: true });
    } catch {
      /* not ours */
    }
  }
}

export async function sweep(o: { now?: Date; progress?: (m: string) => void } = {}): Promise<SweepReport> {
  const now = o.now ?? new Date();
  const progress = o.progress ?? (() => undefined);
  const report: SweepReport = { recovered: [], expired: [], orphansRemoved: [], failures: [], leftovers: [], live: [], skipped: [] };

  progress("replaying journals of dead owners");
  for (const r of [...(await recoverDeadSandboxes()), ...(await recoverForeignDeadOwners())]) {
    report.recovered.push({ owner: r.owner, purpose: r.purpose, action: r.action, undone: r.outcomes.filter((x) => x.ok).length, failed: r.outcomes.filter((x) => !x.ok).map((x) => `${x.step.label}: ${x.error}`) });
  }

  progress("destroying expired sandboxes");
  for (const h of listHandles()) {
    if (new Date(h.expiresAt).getTime() > now.getTime()) continue;
    try {
      const d = await destroySandboxById(h.id, "expired (sweep)", progress);
      report.expired.push(h.id);
      report.failures.push(...d.leftovers);
    } catch (e) {
      report.failures.push(`${h.id}: ${(e as Error).message}`);
    }
  }

  progress("removing host objects without a live owner");
  const live = liveOwnerIds();
  const ownerless = (await scanHostObjects()).filter((x) => !belongsToLive(x, live));
  const orphans = ownerless.filter(sweepable);
  report.skipped = ownerless.filter((x) => !sweepable(x)).map((x) => `${x.kind} ${x.name} (not named like a sandbox: left alone)`);
  const failed = await removeObjects(orphans);
  const failedSet = new Set(failed.map((f) => f.object));
  for (const x of orphans) if (!failedSet.has(x)) report.orphansRemoved.push(`${x.kind} ${x.name}`);
  report.failures.push(...failed.map((f) => `${f.object.kind} ${f.object.name}: ${f.error}`));

  for (const kind of ["net", "uid"]) {
    for (const l of listLeases(kind)) {
      if (live.has(l.owner)) continue;
      fs.rmSync(l.file, { force: true });
      report.orphansRemoved.push(`lease ${kind} ${l.key} (${l.owner || "no owner"})`);
    }
  }
  if (fs.existsSync(sandboxesDir())) {
    for (const id of fs.readdirSync(sandboxesDir())) {
      if (live.has(id)) continue;
      finalizeRecord(loadHandle(id)?.record ?? sandboxLayout(id).record, { reason: "orphaned (sweep)" });
      await removePath(sandboxLayout(id).dir);
      report.orphansRemoved.push(`directory sandboxes/${id}`);
    }
  }
  // Records whose sandbox is gone but which nobody sealed (e.g. recovered by `airlock recover`).
  if (fs.existsSync(recordsDir())) {
    for (const name of fs.readdirSync(recordsDir())) {
      const id = name.replace(/\.jsonl$/, "");
      if (!name.endsWith(".jsonl") || live.has(id) || fs.existsSync(path.join(recordsDir(), `${name}.head`))) continue;
      finalizeRecord(path.join(recordsDir(), name), { reason: "orphaned (sweep)" });
    }
  }
  pruneJournals(now);
  pruneOwnerRegistry();

  const after = liveOwnerIds();
  report.leftovers = (await scanHostObjects()).filter((x) => !belongsToLive(x, after) && sweepable(x)).map((x) => `${x.kind} ${x.name}`);
  report.live = listHandles()
    .map((h) => h.id)
    .filter((id) => after.has(id));
  return report;
}

export interface LocalSweepPlan {
  /** Journals whose runner is dead or overdue (another state directory's: dead): what `sweep` would replay. */
  recover: { owner: string; purpose: string; pendingSteps: number }[];
  /** Sandboxes past their expiry: what `sweep` would destroy. */
  expired: string[];
  /** Host objects, leases and directories without a live owner: what `sweep` would remove. */
  orphans: string[];
  live: string[];
  skipped: string[];
}

/** `airlock sweep --dry-run`: what sweep() would act on, read from the same sources, changing nothing. */
export async function planLocalSweep(o: { now?: Date } = {}): Promise<LocalSweepPlan> {
  const now = o.now ?? new Date();
  const live = liveOwnerIds();
  const recover = [...listJournals(), ...foreignDeadJournals()]
    .filter((j) => !j.closed && (!isAlive(j.runner) || (j.deadline !== undefined && j.deadline.getTime() <= now.getTime())))
    .map((j) => ({ owner: j.owner, purpose: j.purpose, pendingSteps: j.pending.length }));
  const handles = listHandles();
  const expired = handles.filter((h) => new Date(h.expiresAt).getTime() <= now.getTime()).map((h) => h.id);
  const ownerless = (await scanHostObjects()).filter((x) => !belongsToLive(x, live));
  const orphans = ownerless.filter(sweepable).map((x) => `${x.kind} ${x.name}`);
  for (const kind of ["net", "uid"]) for (const l of listLeases(kind)) if (!live.has(l.owner)) orphans.push(`lease ${kind} ${l.key} (${l.owner || "no owner"})`);
  if (fs.existsSync(sandboxesDir())) for (const id of fs.readdirSync(sandboxesDir())) if (!live.has(id)) orphans.push(`directory sandboxes/${id}`);
  return {
    recover,
    expired,
    orphans,
    live: handles.map((h) => h.id).filter((id) => live.has(id) && !expired.includes(id)),
    skipped: ownerless.filter((x) => !sweepable(x)).map((x) => `${x.kind} ${x.name} (not named like a sandbox: left alone)`),
  };
}
