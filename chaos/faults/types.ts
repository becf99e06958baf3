// The contract every fault implementation keeps: start() records each change's undo in the journal
// (fsynced) before making it; update() moves the parameters (ramp steps) without new undo entries
// where the recorded undo still restores the original; stop() undoes through the journal, so a fault
// stopped by the runner and one undone by `airlock recover` take the same path.
import type { UndoJournal, UndoOutcome } from "../../components/host/journal";
import type { Cgroup } from "../../components/host/cgroup";
import type { ToxiproxyAdmin } from "../../components/host/toxiproxy";
import type { Params } from "../experiment/schema";
import type { ChaosTarget } from "../target";

export interface FaultContext {
  journal: UndoJournal;
  target: ChaosTarget;
  admin?: ToxiproxyAdmin;
  cgroup?: Cgroup;
  /** Unique per run; toxic names carry it so that they never collide with anyone else's. */
  runId: string;
  /** Every change applied in this run, kept after its undo, so that the rollback can be verified. */
  applied: AppliedStep[];
}

export interface AppliedStep {
  kind: string;
  label: string;
  args: any;
}

export interface ActiveFault {
  /** How the fault is realized on this target, for the report (e.g. "cgroup v1 cpu.cfs_quota_us"). */
  mechanism: string;
  /** Applies new parameter values (a ramp step). */
  update(params: Params): Promise<void>;
  /** Undoes the fault now; throws if an undo step failed (the journal keeps it for recovery). */
  stop(): Promise<UndoOutcome[]>;
}

/** Undoes journal steps newest first; throws after trying them all if one failed. */
export async function undoSteps(journal: UndoJournal, ids: number[]): Promise<UndoOutcome[]> {
  const outcomes: UndoOutcome[] = [];
  for (const id of [...ids].reverse()) {
    if (!journal.pending().some((s) => s.id === id)) continue; // already undone (e.g. by a retry)
    outcomes.push(await journal.undoOne(id));
  }
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length) throw new Error(`undo failed: ${failed.map((o) => `${o.step.label}: ${o.error}`).join("; ")}`);
  return outcomes;
}

/**
 * journal.apply() with the step id returned (undoOne needs it; apply returns doIt's value): records
 * the undo (fsynced) first, applies, and undoes at once if applying throws.
 */
export async function applyStep(ctx: FaultContext, kind: string, label: string, undoArgs: unknown, doIt: () => Promise<unknown> | unknown): Promise<number> {
  const journal = ctx.journal;
  const id = journal.record(kind, label, undoArgs);
  ctx.applied.push({ kind, label, args: undoArgs });
  try {
    await doIt();
  } catch (err) {
    await journal.undoOne(id).catch(() => undefined);
    throw err;
  }
  return id;
}
