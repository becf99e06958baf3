// Process identity that survives pid reuse: a pid plus its start time (field 22 of /proc/<pid>/stat).
// Journals and sandbox state store both, so that recovery never signals an unrelated process that
// happens to have inherited a dead runner's pid.
import * as fs from "fs";

export interface ProcessRef {
  pid: number;
  /** Start time in clock ticks since boot, from /proc/<pid>/stat. */
  startTime: number;
}

export function processStartTime(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function refOf(pid: number): ProcessRef | undefined {
  const startTime = processStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

export function selfRef(): ProcessRef {
  return refOf(process.pid)!;
}

/** True if this exact process (same pid, same start) is still running (zombies count as gone). */
export function isAlive(ref: ProcessRef): boolean {
  if (processStartTime(ref.pid) !== ref.startTime) return false;
  try {
    const status = fs.readFileSync(`/proc/${ref.pid}/status`, "utf8");
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

/** Sends a signal only if the process is still the one we started. Returns whether it was sent. */
export function signalIfAlive(ref: ProcessRef, signal: NodeJS.Signals): boolean {
  if (!isAlive(ref)) return false;
  try {
    process.kill(ref.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the process is gone, up to timeoutMs. */
export async function waitGone(ref: ProcessRef, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  // Most processes are gone within a millisecond or two of their signal: look again soon, then less
  // often (a fixed 20 ms made every stopped gate and anchor cost 20 ms of each destroy).
  for (let wait = 1; Date.now() < deadline; wait = Math.min(wait * 2, 20)) {
    if (!isAlive(ref)) return true;
    await new Promise((r) => setTimeout(r, wait));
  }
  return !isAlive(ref);
}

/** SIGTERM (+SIGCONT, so a stopped process can handle it), then SIGKILL after graceMs. */
export async function terminate(ref: ProcessRef, graceMs = 2000): Promise<void> {
  if (!signalIfAlive(ref, "SIGTERM")) return;
  // A stopped (SIGSTOP / hung in a debugger) process cannot act on SIGTERM until it is continued.
  signalIfAlive(ref, "SIGCONT");
  if (await waitGone(ref, graceMs)) return;
  signalIfAlive(ref, "SIGKILL");
  await waitGone(ref, 2000);
}
