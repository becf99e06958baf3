// The sandbox's tally of refused socket() calls that count as denied egress (socket-refusals.ts says
// which): one byte appended per refusal to a file in the sandbox's state directory; the guard reads
// the file's size on every poll.
//
// Why a file and not a message to the guard: a confined process is started by whichever process asks
// — the owner (`airlock run`, `airlock serve`, the supervisor) for the workload, its execs and the
// file-copy helper, but also a separate CLI process (`airlock sandbox exec` for a sandbox the
// supervisor does not own) or an automation client, which hold the launcher's report pipe and never
// meet the guard. The other denied-egress counts need no messages because the kernel keeps them (the
// namespace's no-route counters, nftables' rule counters), readable from any process; this file is the
// same kind of shared counter for the refusals. Alternatives left out: forwarding over the
// supervisor's socket reaches only supervised sandboxes (`run` and `serve` owners have no socket
// another process can reach); counting `socket-refused` record entries misses everything past the
// first 100 of a start (they are summarised only at its exit) and means reading the record every poll;
// a judge in the exec process would know none of the other counts and could not kill a sandbox it does
// not own. Appends (O_APPEND) from several processes never lose a byte, and reading the count is one
// stat, so an idle sandbox still costs no more than before.
//
// Bounded: appends stop at TALLY_CAP_BYTES (far above any sensible threshold; the kill fires long
// before), so a workload looping on refused calls without a denied-egress rule cannot fill the disk.
// A threshold above the cap is refused when the spec is validated (rules.ts): a tally that stopped
// counting below the threshold would keep a sandbox alive that the rule says must die.
// The file lives in <state>/sandboxes/<id>/ (root, 0700, never mounted into a sandbox): the workload
// can neither reset nor inflate it, and it goes with the directory when the sandbox is destroyed.
import * as fs from "fs";
import * as path from "path";
import { sandboxLayout } from "./layout";
import { TALLY_CAP_BYTES } from "./refusal-tally-cap";

/** The most refusals one sandbox's tally holds; beyond it the count stays there (the record still has each start's total). */
export { TALLY_CAP_BYTES };

export function refusalTallyPath(sandboxId: string): string {
  return path.join(sandboxLayout(sandboxId).dir, "socket-refusals.tally");
}

/** The sandbox's denied-egress refusals so far, from every process (0 before the first). */
export function readRefusalTally(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Adds `n` refusals to the tally. Synchronous, so a count is on disk before the refusal report is
 * acknowledged anywhere (an exec process killed right after cannot lose it). Throws if the tally
 * cannot be written (the caller records that: the refusals are then not counted).
 */
export function addToRefusalTally(file: string, n: number): void {
  if (n <= 0) return;
  // "a" (O_APPEND|O_CREAT), never creating the directory: a destroyed sandbox's tally is not revived.
  const fd = fs.openSync(file, "a", 0o600);
  try {
    const room = TALLY_CAP_BYTES - fs.fstatSync(fd).size;
    if (room > 0) fs.writeSync(fd, Buffer.alloc(Math.min(n, room), 0x2e));
  } finally {
    fs.closeSync(fd);
  }
}
