// The undo journal: Airlock's guarantee that everything it changes on a host is undone.
//
// Before any host object is created or any setting changed (a netns, an nft table, a cgroup limit, a
// toxic), the change's *undo* is appended to a journal file and fsynced. After undoing it, an
// `undone` line is appended. So at any instant — including right after a SIGKILL or a power cut —
// the journal lists exactly what may still be applied, with what is needed to take it back.
//
// Recovery (`airlock recover`, `airlock sweep`, and the start of every `airlock run` / `chaos run`)
// replays the undo steps of every journal whose runner is gone, newest first. A journal whose runner
// is alive is left alone, unless its deadline has passed: then the runner is terminated first (that
// is how a maximum experiment duration holds even when the runner hangs).
//
// Undo handlers are registered per kind by the module that knows the object (`registerUndo`), must
// be idempotent ("already gone" is success), and receive only what the journal recorded.
import * as fs from "fs";
import * as path from "path";
import { ProcessRef, isAlive, selfRef, terminate } from "./process";
import { stateDir } from "./state";
import { listRegisteredOwners, pruneStaleOwners, registerOwner, runnerAlive, unregisterOwner } from "./owners";

export type UndoHandler = (args: any) => Promise<void> | void;

const HANDLERS = new Map<string, UndoHandler>();

export function registerUndo(kind: string, handler: UndoHandler): void {
  HANDLERS.set(kind, handler);
}

export function undoHandlerFor(kind: string): UndoHandler | undefined {
  return HANDLERS.get(kind);
}

type Entry =
  | { t: "open"; owner: string; purpose: string; runner: ProcessRef; deadline?: string; at: string }
  | { t: "do"; id: number; kind: string; label: string; args: unknown; at: string }
  | { t: "undone"; id: number; at: string }
  | { t: "undo-failed"; id: number; error: string; at: string }
  | { t: "closed"; at: string };

export interface PendingStep {
  id: number;
  kind: string;
  label: string;
  args: any;
}

export interface JournalState {
  file: string;
  owner: string;
  purpose: string;
  runner: ProcessRef;
  deadline?: Date;
  closed: boolean;
  /** Applied-or-maybe-applied steps not yet undone, newest first. */
  pending: PendingStep[];
}

export interface UndoOutcome {
  step: PendingStep;
  ok: boolean;
  error?: string;
  ms: number;
}

export function journalDir(): string {
  return path.join(stateDir(), "journals");
}

/** The state directory a journal file lives in (the inverse of journalDir). */
export function stateDirOfJournal(file: string): string {
  return path.dirname(path.dirname(path.resolve(file)));
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class UndoJournal {
  private fd: number;
  private nextId = 1;
  private readonly applied = new Map<number, PendingStep>();

  private readonly runner = selfRef();

  private constructor(
    public readonly file: string,
    public readonly owner: string,
  ) {
    this.fd = fs.openSync(file, "a");
  }

  /**
   * Opens a new journal for `owner` (a sandbox id or an experiment run id). Refuses if a journal for
   * the same owner is still open and its runner alive: two runners must never fight over one object.
   */
  static open(owner: string, opts: { purpose: string; deadline?: Date }): UndoJournal {
    const dir = journalDir();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${owner}.jsonl`);
    if (fs.existsSync(file)) {
      const prior = readJournal(file);
      if (!prior.closed && isAlive(prior.runner)) throw new Error(`another Airlock process (pid ${prior.runner.pid}) is running '${owner}'`);
      if (!prior.closed && prior.pending.length > 0) throw new Error(`'${owner}' has unrecovered changes from a previous run; run \`airlock recover\` first`);
      fs.renameSync(file, `${file}.${Date.now()}.old`);
    }
    // Host-wide, before the journal's first line and so before any host object: a sweep of another
    // state directory then knows this owner is live (host/owners.ts). Throws before anything exists.
    const runner = selfRef();
    registerOwner({ owner, purpose: opts.purpose, runner, journal: file });
    let journal: UndoJournal;
    try {
      journal = new UndoJournal(file, owner);
      journal.append({ t: "open", owner, purpose: opts.purpose, runner: journal.runner, deadline: opts.deadline?.toISOString(), at: new Date().toISOString() });
    } catch (e) {
      unregisterOwner(owner, file, runner); // nothing was created: nothing to protect
      throw e;
    }
    fsyncDir(dir);
    return journal;
  }

  private append(entry: Entry): void {
    // One write per line on an O_APPEND fd: lines from the runner and a recovering process never interleave.
    fs.writeSync(this.fd, JSON.stringify(entry) + "\n");
    fs.fsyncSync(this.fd);
  }

  /** Records the undo of a change that is about to be applied. Call *before* applying it. */
  record(kind: string, label: string, args: unknown): number {
    if (!HANDLERS.has(kind)) throw new Error(`no undo handler registered for '${kind}' (refusing to apply a change that could not be undone)`);
    const id = this.nextId++;
    this.append({ t: "do", id, kind, label, args, at: new Date().toISOString() });
    this.applied.set(id, { id, kind, label, args });
    return id;
  }

  /** Applies a change with its undo journaled first; if applying throws, the undo runs at once. */
  async apply<T>(kind: string, label: string, undoArgs: unknown, doIt: () => Promise<T> | T): Promise<T> {
    const id = this.record(kind, label, undoArgs);
    try {
      return await doIt();
    } catch (err) {
      await this.undoOne(id).catch(() => undefined);
      throw err;
    }
  }

  /** Undoes one recorded step now (e.g. a fault whose window ended). */
  async undoOne(id: number): Promise<UndoOutcome> {
    const step = this.applied.get(id);
    if (!step) throw new Error(`journal ${this.owner}: no pending step ${id}`);
    const outcome = await runUndo(step);
    this.append(outcome.ok ? { t: "undone", id, at: new Date().toISOString() } : { t: "undo-failed", id, error: outcome.error!, at: new Date().toISOString() });
    if (outcome.ok) this.applied.delete(id);
    return outcome;
  }

  pending(): PendingStep[] {
    return [...this.applied.values()].sort((a, b) => b.id - a.id);
  }

  /** Undoes everything still applied, newest first; keeps going past failures and reports them. */
  async undoAll(): Promise<UndoOutcome[]> {
    const outcomes: UndoOutcome[] = [];
    for (const step of this.pending()) outcomes.push(await this.undoOne(step.id));
    return outcomes;
  }

  /** Marks the journal finished. Only allowed when nothing is left to undo. */
  close(): void {
    if (this.applied.size > 0) throw new Error(`journal ${this.owner}: ${this.applied.size} change(s) still applied; undo them before closing`);
    this.append({ t: "closed", at: new Date().toISOString() });
    fs.closeSync(this.fd);
    this.fd = -1;
    unregisterOwner(this.owner, this.file, this.runner);
  }
}

async function runUndo(step: PendingStep): Promise<UndoOutcome> {
  const started = Date.now();
  const handler = HANDLERS.get(step.kind);
  if (!handler) return { step, ok: false, error: `no undo handler for '${step.kind}' is loaded`, ms: 0 };
  try {
    await handler(step.args);
    return { step, ok: true, ms: Date.now() - started };
  } catch (err: any) {
    return { step, ok: false, error: String(err?.message ?? err), ms: Date.now() - started };
  }
}

/** Parses a journal file. A torn last line (crash mid-write) is ignored: its change was not applied yet. */
export function readJournal(file: string): JournalState {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  let open: Extract<Entry, { t: "open" }> | undefined;
  const steps = new Map<number, PendingStep>();
  let closed = false;
  for (const line of lines) {
    if (!line.trim()) continue;
    let e: Entry;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (e.t === "open") open = e;
    else if (e.t === "do") steps.set(e.id, { id: e.id, kind: e.kind, label: e.label, args: e.args });
    else if (e.t === "undone") steps.delete(e.id);
    else if (e.t === "closed") closed = true;
  }
  if (!open) throw new Error(`${file}: not an Airlock journal (no open entry)`);
  return {
    file,
    owner: open.owner,
    purpose: open.purpose,
    runner: open.runner,
    deadline: open.deadline ? new Date(open.deadline) : undefined,
    closed,
    pending: [...steps.values()].sort((a, b) => b.id - a.id),
  };
}

/** Open and readable: something may still be applied. (Missing, torn before its open line, or closed: nothing to undo.) */
function hasWorkLeft(file: string): boolean {
  try {
    return !readJournal(file).closed;
  } catch {
    return false;
  }
}

/** Removes registry entries of dead runners that left nothing to recover (host/owners.ts). */
export function pruneOwnerRegistry(): string[] {
  return pruneStaleOwners(hasWorkLeft);
}

/**
 * Open journals of *other* state directories whose runner is dead, found through the host-wide
 * registry (host/owners.ts): what a sweep of this state directory may replay for them.
 */
export function foreignDeadJournals(): JournalState[] {
  const own = path.resolve(journalDir());
  const out: JournalState[] = [];
  for (const e of listRegisteredOwners()) {
    if (path.dirname(e.journal) === own || runnerAlive(e)) continue;
    try {
      const j = readJournal(e.journal);
      // The entry must be this journal's runner: a newer run of the same owner re-registers.
      if (!j.closed && j.runner.pid === e.runner.pid && j.runner.startTime === e.runner.startTime) out.push(j);
    } catch {
      /* gone or unreadable: the host objects are left to the name scan */
    }
  }
  return out;
}

export function listJournals(): JournalState[] {
  const dir = journalDir();
  if (!fs.existsSync(dir)) return [];
  const out: JournalState[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith(".jsonl")) continue;
    try {
      out.push(readJournal(path.join(dir, name)));
    } catch {
      /* not ours */
    }
  }
  return out;
}

export interface RecoveryResult {
  owner: string;
  purpose: string;
  file: string;
  action: "undone" | "skipped-live" | "partial" | "nothing";
  runnerTerminated: boolean;
  outcomes: UndoOutcome[];
}

/**
 * Undoes what dead (or overdue) runners left applied. `owner` limits it to one journal; `now` is for
 * tests; `journals` replaces this state directory's journals (foreignDeadJournals). Journals that end
 * fully undone are closed, so a second recovery has nothing to do.
 */
export async function recoverJournals(opts: { owner?: string; purpose?: string; now?: Date; journals?: JournalState[] } = {}): Promise<RecoveryResult[]> {
  const now = opts.now ?? new Date();
  const results: RecoveryResult[] = [];
  for (const state of opts.journals ?? listJournals()) {
    if (state.closed) continue;
    if (opts.owner && state.owner !== opts.owner) continue;
    if (opts.purpose && state.purpose !== opts.purpose) continue;
    const lock = takeRecoveryLock(state.file);
    if (!lock) {
      // Another live process (a watchdog, a sweep) is recovering this journal right now.
      results.push({ owner: state.owner, purpose: state.purpose, file: state.file, action: "skipped-live", runnerTerminated: false, outcomes: [] });
      continue;
    }
    try {
      results.push(await recoverOne(state, now));
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }
  return results;
}

/** An O_EXCL lock file naming its holder; a lock whose holder died is taken over. */
function takeRecoveryLock(file: string): string | undefined {
  const lock = `${file}.recovering`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, JSON.stringify(selfRef()), { flag: "wx", mode: 0o600 });
      return lock;
    } catch (e: any) {
      if (e.code !== "EEXIST") throw e;
      let holder: ProcessRef | undefined;
      try {
        holder = JSON.parse(fs.readFileSync(lock, "utf8"));
      } catch {
        /* half-written: its writer is about to finish, or died */
      }
      if (holder && isAlive(holder)) return undefined;
      fs.rmSync(lock, { force: true });
    }
  }
  return undefined;
}

async function recoverOne(state: JournalState, now: Date): Promise<RecoveryResult> {
  const base = { owner: state.owner, purpose: state.purpose, file: state.file };
  let runnerTerminated = false;
  if (isAlive(state.runner)) {
    const overdue = state.deadline !== undefined && state.deadline.getTime() <= now.getTime();
    if (!overdue) return { ...base, action: "skipped-live", runnerTerminated, outcomes: [] };
    // The runner outlived its deadline: stop it (it undoes on SIGTERM), then finish what it left.
    await terminate(state.runner, 5000);
    runnerTerminated = true;
  }
  const fresh = readJournal(state.file);
  // The terminated runner may have finished its own rollback and closed the journal.
  if (fresh.closed) return { ...base, action: "nothing", runnerTerminated, outcomes: [] };
  const outcomes: UndoOutcome[] = [];
  const fd = fs.openSync(state.file, "a");
  try {
    for (const step of fresh.pending) {
      const outcome = await runUndo(step);
      outcomes.push(outcome);
      const line: Entry = outcome.ok ? { t: "undone", id: step.id, at: new Date().toISOString() } : { t: "undo-failed", id: step.id, error: outcome.error!, at: new Date().toISOString() };
      fs.writeSync(fd, JSON.stringify(line) + "\n");
      fs.fsyncSync(fd);
    }
    const allOk = outcomes.every((o) => o.ok);
    if (allOk) {
      fs.writeSync(fd, JSON.stringify({ t: "closed", at: new Date().toISOString() }) + "\n");
      fs.fsyncSync(fd);
      unregisterOwner(state.owner, state.file, state.runner);
    }
    return { ...base, action: outcomes.length === 0 ? "nothing" : allOk ? "undone" : "partial", runnerTerminated, outcomes };
  } finally {
    fs.closeSync(fd);
  }
}

/** Undo of starting a helper process (a gate server, a target service): stop it if it is still ours. */
registerUndo("process", async (ref: ProcessRef) => {
  await terminate(ref, 2000);
});
