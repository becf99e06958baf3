// The processes a bench's Airlock state directory started: everything whose environment carries
// AIRLOCK_STATE_DIR=<dir> (the shared supervisor, `airlock serve`, gates, anchors are detached, so
// they are not descendants of the bench). Read from /proc; a process that exits while being read is
// skipped.
import * as fs from "fs";

export function readProc(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

export function processesOfStateDir(stateDir: string): number[] {
  const tag = `AIRLOCK_STATE_DIR=${stateDir}`;
  return fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .map(Number)
    .filter((pid) => (readProc(`/proc/${pid}/environ`) ?? "").split("\0").includes(tag));
}

/** Waits (polling, at most `capMs`) until no process of the state dir is left; returns those still there. */
export async function processesGone(stateDir: string, capMs: number): Promise<number[]> {
  const until = Date.now() + capMs;
  let left = processesOfStateDir(stateDir);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesOfStateDir(stateDir);
  }
  return left;
}
