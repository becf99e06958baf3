// The host-wide registry of live journal runners: one file per open undo journal, under
// /run/airlock/owners/, whatever state directory (AIRLOCK_STATE_DIR) the runner uses.
//
// Why: a sweep judges "owned" from what it can see. Its own state directory's journals say which of
// *its* sandboxes have a live runner, and a sandbox's namespace anchor says so host-wide — but only
// from the moment the anchor starts. Between a runner's first host object (its netns, veths, leases)
// and its anchor, and for everything of a runner with no anchor at all (a chaos run), a sweep with
// another state directory saw ownerless objects and removed them under a live create: two users, two
// eval harnesses or two test runs on one host destroyed each other's sandboxes. The registry closes
// that: an entry is written *before* the journal's first line (so before any host object), names the
// runner (pid + start time, which survive pid reuse: process.ts) and the journal file, and is removed
// when the journal closes. A sweep unions the live entries into its owned set.
//
// Why /run: the kernel's own objects the entries protect (netns under /run/netns, veths, nft tables,
// cgroups, tmpfs mounts) vanish at reboot, and /run is a tmpfs the boot empties at the same moment.
// Where /run is not a tmpfs (a container's disk), the boot id recorded in each entry tells an entry
// of an earlier boot (stale, whatever its pid) from a live one.
//
// Trust: the directory is 0700 root; when reading as root, an entry not owned by root is ignored. An
// entry can only make a sweep remove *less*, never more: a forged one could hide an orphan, not
// destroy a sandbox.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { isAlive, ProcessRef } from "./process";

export const OWNERS_DIR = "/run/airlock/owners";

export interface OwnerEntry {
  /** The journal's owner: a sandbox id, or a chaos run id. */
  owner: string;
  purpose: string;
  runner: ProcessRef;
  /** /proc/sys/kernel/random/boot_id when the entry was written. */
  boot: string;
  /** Absolute path of the journal (in the runner's state directory). */
  journal: string;
  at: string;
}

export interface RegisteredOwner extends OwnerEntry {
  /** The entry's own file. */
  file: string;
}

let bootIdCache: string | undefined;
export function bootId(): string {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      bootIdCache = "";
    }
  }
  return bootIdCache;
}

/**
 * One entry per journal file and runner: the owner id alone could repeat across state directories,
 * and with the runner in the name a new runner's entry is never the file a pruner removes for a dead
 * one (no read-then-delete race).
 */
export function entryFileOf(owner: string, journalFile: string, runner: ProcessRef, dir = OWNERS_DIR): string {
  const key = crypto.createHash("sha256").update(path.resolve(journalFile)).digest("hex").slice(0, 12);
  return path.join(dir, `${owner}.${key}.${runner.pid}-${runner.startTime}.json`);
}

function privilegeError(e: any): boolean {
  return e?.code === "EACCES" || e?.code === "EPERM" || e?.code === "EROFS";
}

/**
 * Registers a runner before its journal is written. Atomic (write + rename): a reader sees the whole
 * entry or none. Returns the entry's file, or undefined when a non-root process may not write the
 * registry: such a process cannot create the netns, veths, nft tables or mounts a sweep removes, so
 * there is nothing of it a sweep could take away. A root process that cannot register throws —
 * before anything is created — rather than build a sandbox other sweeps cannot see.
 */
export function registerOwner(e: Omit<OwnerEntry, "boot" | "at">, dir = OWNERS_DIR): string | undefined {
  const file = entryFileOf(e.owner, e.journal, e.runner, dir);
  const entry: OwnerEntry = { ...e, journal: path.resolve(e.journal), boot: bootId(), at: new Date().toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    fs.renameSync(tmp, file);
    return file;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if (privilegeError(err) && process.getuid?.() !== 0) return undefined;
    throw new Error(`cannot register this run in ${dir} (${(err as Error).message}): without it another state directory's sweep could remove its objects`);
  }
}

export function unregisterOwner(owner: string, journalFile: string, runner: ProcessRef, dir = OWNERS_DIR): void {
  try {
    fs.rmSync(entryFileOf(owner, journalFile, runner, dir), { force: true });
  } catch {
    /* the registry is not ours to write (non-root): nothing was registered */
  }
}

export function listRegisteredOwners(dir = OWNERS_DIR): RegisteredOwner[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const asRoot = process.getuid?.() === 0;
  const out: RegisteredOwner[] = [];
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    const file = path.join(dir, name);
    try {
      if (asRoot && fs.statSync(file).uid !== 0) continue;
      const e = JSON.parse(fs.readFileSync(file, "utf8")) as OwnerEntry;
      if (typeof e.owner !== "string" || typeof e.journal !== "string" || typeof e.runner?.pid !== "number") continue;
      out.push({ ...e, file });
    } catch {
      /* being replaced, or not an entry */
    }
  }
  return out;
}

/** Whether the entry's runner is this boot's very process (pid + start time). */
export function runnerAlive(e: OwnerEntry): boolean {
  return e.boot === bootId() && isAlive(e.runner);
}

/** Whether a journal still has something to recover (host/journal.ts passes its reader: this module does not parse journals). */
export type WorkLeft = (journalFile: string) => boolean;

/**
 * Owners with a live runner, host-wide. The journal itself is not read: a runner removes its entry
 * when it closes the journal, and an entry that outlived its closing (the removal failed) keeps only
 * an id live whose objects are already undone — protecting nothing, destroying nothing.
 */
export function liveRegisteredOwners(dir = OWNERS_DIR): Set<string> {
  const live = new Set<string>();
  for (const e of listRegisteredOwners(dir)) if (runnerAlive(e)) live.add(e.owner);
  return live;
}

/**
 * Removes entries of dead runners whose journal is closed or gone: nothing left to protect or to
 * recover. A dead runner's entry whose journal still has work stays (it tells any sweep where that
 * journal is); a live runner removes its own entry when it closes its journal.
 */
export function pruneStaleOwners(workLeft: WorkLeft, dir = OWNERS_DIR): string[] {
  const pruned: string[] = [];
  for (const e of listRegisteredOwners(dir)) {
    if (runnerAlive(e)) continue;
    if (e.boot === bootId() && workLeft(e.journal)) continue;
    fs.rmSync(e.file, { force: true });
    pruned.push(e.owner);
  }
  return pruned;
}
