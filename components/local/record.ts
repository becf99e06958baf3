// The sandbox's record (hash-chained JSONL, components/record/chain-log.ts) and the one thing every
// writer needs besides single events: batched process output. Output is buffered per stream and
// written as one event per flush (every 250 ms, or 16 KiB), so a chatty workload costs a handful of
// fsyncs per second, not one per line; past a cap the rest is counted, not stored, so a workload
// cannot fill the host's disk through its own record.
import * as fs from "fs";
import * as path from "path";
import { ChainLog } from "../record/chain-log";

export const OUTPUT_FLUSH_MS = 250;
export const OUTPUT_CHUNK_BYTES = 16 * 1024;
export const OUTPUT_CAP_BYTES = 16 * 1024 * 1024;

export function openRecord(file: string): ChainLog {
  return new ChainLog(file);
}

export function createRecord(file: string, first: { type: string; data: unknown }): ChainLog {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return ChainLog.create(file, first);
}

/** Appends without ever throwing (a record problem must not stop a teardown); returns false on failure. */
export function safeAppend(log: ChainLog, type: string, data: unknown): boolean {
  try {
    log.append(type, data);
    return true;
  } catch (e) {
    process.stderr.write(`airlock: could not append '${type}' to ${log.file}: ${(e as Error).message}\n`);
    return false;
  }
}

export class OutputRecorder {
  private buffers: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
  private recorded = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: ChainLog,
    /** Who wrote it: "workload", "exec", "target:<name>". */
    private readonly source: string,
  ) {}

  write(stream: "stdout" | "stderr", chunk: Buffer | string): void {
    const text = chunk.toString();
    if (this.recorded + text.length > OUTPUT_CAP_BYTES) {
      this.dropped += text.length;
      return;
    }
    this.recorded += text.length;
    this.buffers[stream] += text;
    if (this.buffers[stream].length >= OUTPUT_CHUNK_BYTES) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), OUTPUT_FLUSH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const stream of ["stdout", "stderr"] as const) {
      let text = this.buffers[stream];
      this.buffers[stream] = "";
      while (text.length > 0) {
        safeAppend(this.log, "output", { source: this.source, stream, text: text.slice(0, OUTPUT_CHUNK_BYTES) });
        text = text.slice(OUTPUT_CHUNK_BYTES);
      }
    }
  }

  /** Flushes and notes how much was left out past the cap. */
  close(): void {
    this.flush();
    if (this.dropped > 0) safeAppend(this.log, "output-truncated", { source: this.source, droppedBytes: this.dropped, capBytes: OUTPUT_CAP_BYTES });
    this.dropped = 0;
  }
}
