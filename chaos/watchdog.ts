// Starts the watchdog (watchdog-main.js) for one run: detached into its own session, so that neither
// a Ctrl-C to the CLI's process group nor the runner's death takes it along.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ProcessRef, refOf, signalIfAlive } from "../components/host/process";

export interface Watchdog {
  process: ProcessRef;
  logFile: string;
  /** Asks it to exit; it does only if the journal is closed (else it keeps guarding). */
  stop(): void;
}

export const WATCHDOG_MAIN = path.join(__dirname, "watchdog-main.js");

export function startWatchdog(opts: { owner: string; journalFile: string; deadline: Date; runner: ProcessRef; pollMs?: number }): Watchdog {
  const logFile = opts.journalFile.replace(/\.jsonl$/, "") + ".watchdog.log";
  const out = fs.openSync(logFile, "a", 0o600);
  const args = JSON.stringify({ owner: opts.owner, journalFile: opts.journalFile, deadline: opts.deadline.getTime(), runner: opts.runner, pollMs: opts.pollMs });
  // A small heap is plenty while it waits; ts-node at enforcement time fits in 256 MiB.
  const child = spawn(process.execPath, ["--max-old-space-size=256", WATCHDOG_MAIN, args], { detached: true, stdio: ["ignore", out, out], env: process.env });
  fs.closeSync(out);
  child.unref();
  const ref = child.pid ? refOf(child.pid) : undefined;
  if (!ref) throw new Error(`the chaos watchdog did not start (see ${logFile}); refusing to apply faults without it`);
  return { process: ref, logFile, stop: () => void signalIfAlive(ref, "SIGTERM") };
}
