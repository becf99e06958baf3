// Starting a confined process and following it: its output goes to the record (batched) and,
// optionally, to the caller's terminal; its end is a promise with a shell-style status.
//
// The copy to the caller (the tee) is a convenience; the record is the evidence. So the tee never
// slows the workload down and never grows without bound: when the caller reads slowly (a pager, a
// slow pipe), output beyond TEE_BUFFER_BYTES waiting in its stream is not copied (the record still
// has it) and the bytes left out are recorded (`output-tee-dropped`). A caller's stream that fails
// (EPIPE: `airlock run ... | head`) is dropped from the tee and recorded (`output-tee-stopped`); the
// run goes on, finishes and seals. Backpressure was the alternative: it would make the workload's
// timing depend on the researcher's terminal, and a reader that never reads would stall it to its ttl.
import { ChildProcess } from "child_process";
import * as os from "os";
import type { Writable } from "stream";
import type { ChainLog } from "../record/chain-log";
import { refOf, ProcessRef } from "../host/process";
import { Confinement, ConfinedSpawnOptions, spawnConfined } from "./confine";
import { OutputRecorder, safeAppend } from "./record";
import type { SocketRefusal } from "./socket-refusals";

/** Refused socket calls recorded one by one per process start; beyond this only counted (a loop of refusals must not fill the record). */
export const SOCKET_REFUSALS_RECORDED = 100;

/** Output waiting in a tee stream beyond which more is left out of the copy (not out of the record). */
export const TEE_BUFFER_BYTES = 1024 * 1024;

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

/** One tee target: bounded, and dropped on its first error. */
class TeeStream {
  private dropped = 0;
  private failed: string | undefined;

  constructor(
    private readonly out: Writable,
    private readonly stream: "stdout" | "stderr",
    private readonly record: ChainLog,
    private readonly source: string,
  ) {
    out.on("error", (e: NodeJS.ErrnoException) => this.fail(e));
  }

  private fail(e: NodeJS.ErrnoException): void {
    if (this.failed) return;
    this.failed = e.code ?? e.message;
    safeAppend(this.record, "output-tee-stopped", { source: this.source, stream: this.stream, error: this.failed, note: "the caller's stream failed; output is still recorded" });
  }

  write(d: Buffer): void {
    if (this.failed || this.out.destroyed) return;
    if (this.out.writableLength > TEE_BUFFER_BYTES) {
      this.dropped += d.length;
      return;
    }
    try {
      this.out.write(d);
    } catch (e) {
      this.fail(e as NodeJS.ErrnoException);
    }
  }

  close(): void {
    if (this.dropped > 0) safeAppend(this.record, "output-tee-dropped", { source: this.source, stream: this.stream, droppedBytes: this.dropped, bufferBytes: TEE_BUFFER_BYTES, note: "the caller read too slowly; these bytes are in the record (up to its cap) but were not copied to it" });
  }
}

/**
 * The record's side of one confined start's refused socket calls: every start that goes through the
 * launcher records them the same way (startConfined below; the file-copy helper, control/files.ts).
 * Pass `spawnOptions` to spawnConfined and call `close` once the process has ended.
 */
export class SocketRefusalRecorder {
  private total = 0;
  private readonly byFamily: Record<string, number> = {};

  constructor(
    private readonly record: ChainLog,
    private readonly source: string,
  ) {}

  readonly spawnOptions: Pick<ConfinedSpawnOptions, "onSocketRefused" | "onTallyError"> = {
    onSocketRefused: (r: SocketRefusal) => {
      this.total++;
      this.byFamily[r.familyName] = (this.byFamily[r.familyName] ?? 0) + 1;
      if (this.total <= SOCKET_REFUSALS_RECORDED) safeAppend(this.record, "socket-refused", { source: this.source, ...r });
    },
    onTallyError: (e: Error) =>
      safeAppend(this.record, "socket-refusal-tally-error", { source: this.source, error: e.message, note: "this start's refused socket calls are recorded but do not count towards the denied-egress kill rule" }),
  };

  close(): void {
    if (this.total > SOCKET_REFUSALS_RECORDED) safeAppend(this.record, "socket-refused-summary", { source: this.source, total: this.total, recordedOneByOne: SOCKET_REFUSALS_RECORDED, byFamily: this.byFamily });
  }
}

export function startConfined(
  conf: Confinement,
  command: string[],
  o: { record: ChainLog; source: string; stdin?: "pipe" | "ignore"; tee?: { stdout?: Writable; stderr?: Writable } },
): ConfinedRun {
  const refusals = new SocketRefusalRecorder(o.record, o.source);
  const child = spawnConfined(conf, command, { stdin: o.stdin, ...refusals.spawnOptions });
  const recorder = new OutputRecorder(o.record, o.source);
  const tees = {
    stdout: o.tee?.stdout ? new TeeStream(o.tee.stdout, "stdout", o.record, o.source) : undefined,
    stderr: o.tee?.stderr ? new TeeStream(o.tee.stderr, "stderr", o.record, o.source) : undefined,
  };
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream]!.on("data", (d: Buffer) => {
      recorder.write(stream, d);
      tees[stream]?.write(d);
    });
  }
  const exited = new Promise<ExitStatus>((resolve, reject) => {
    child.once("error", reject);
    // "close" (not "exit"): all output has been read by then.
    child.once("close", (code, signal) => {
      recorder.close();
      refusals.close();
      tees.stdout?.close();
      tees.stderr?.close();
      resolve({ code, signal, status: statusOf(code, signal) });
    });
  });
  return { child, ref: refOf(child.pid!) ?? { pid: child.pid!, startTime: 0 }, exited };
}
