// Starting a confined process and following it: its output goes to the record (batched) and,
// optionally, to the caller's terminal; its end is a promise with a shell-style status.
import { ChildProcess } from "child_process";
import * as os from "os";
import type { Writable } from "stream";
import type { ChainLog } from "../record/chain-log";
import { refOf, ProcessRef } from "../host/process";
import { Confinement, spawnConfined } from "./confine";
import { OutputRecorder } from "./record";

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Shell convention: the exit code, or 128 + signal number. */
  status: number;
}

export interface ConfinedRun {
  child: ChildProcess;
  ref: ProcessRef;
  exited: Promise<ExitStatus>;
}

export function statusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + ((signal && os.constants.signals[signal]) || 0);
}

export function startConfined(
  conf: Confinement,
  command: string[],
  o: { record: ChainLog; source: string; stdin?: "pipe" | "ignore"; tee?: { stdout?: Writable; stderr?: Writable } },
): ConfinedRun {
  const child = spawnConfined(conf, command, { stdin: o.stdin });
  const recorder = new OutputRecorder(o.record, o.source);
  child.stdout!.on("data", (d: Buffer) => {
    recorder.write("stdout", d);
    o.tee?.stdout?.write(d);
  });
  child.stderr!.on("data", (d: Buffer) => {
    recorder.write("stderr", d);
    o.tee?.stderr?.write(d);
  });
  const exited = new Promise<ExitStatus>((resolve, reject) => {
    child.once("error", reject);
    // "close" (not "exit"): all output has been read by then.
    child.once("close", (code, signal) => {
      recorder.close();
      resolve({ code, signal, status: statusOf(code, signal) });
    });
  });
  return { child, ref: refOf(child.pid!) ?? { pid: child.pid!, startTime: 0 }, exited };
}
