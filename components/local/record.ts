// The sandbox's record (hash-chained JSONL, components/record/chain-log.ts) and the one thing every
// writer needs besides single events: batched process output. Output is buffered per stream and
// written as one event per flush (every 250 ms, or 16 KiB), so a chatty workload costs a handful of
// fsyncs per second, not one per line; past a cap the rest is counted, not stored, so a workload
// cannot fill the host's disk through its own record. Sizes are what the text takes *in the record*:
// JSON escapes a control character as \u00XX (6 bytes), so counting characters would let a workload
// printing NULs write six times the cap.
import * as fs from "fs";
import * as path from "path";
import { StringDecoder } from "string_decoder";
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

/** Bytes a string occupies inside a JSON line (escapes included, quotes not). */
export function escapedBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}

/** The longest prefix of `text` whose escaped size fits `budget` bytes (by halving: escaping is not uniform). */
function fitting(text: string, budget: number): string {
  if (escapedBytes(text) <= budget) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (escapedBytes(text.slice(0, mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo);
}

export class OutputRecorder {
  private buffers: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
  /** Escaped bytes buffered per stream. */
  private buffered: Record<"stdout" | "stderr", number> = { stdout: 0, stderr: 0 };
  /** A multi-byte character split across two reads is decoded whole, not as two replacement characters. */
  private decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
  private recorded = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: ChainLog,
    /** Who wrote it: "workload", "exec", "target:<name>". */
    private readonly source: string,
  ) {}

  write(stream: "stdout" | "stderr", chunk: Buffer | string): void {
    if (this.recorded >= OUTPUT_CAP_BYTES) {
      this.dropped += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
      return;
    }
    let text = typeof chunk === "string" ? chunk : this.decoders[stream].write(chunk);
    let size = escapedBytes(text);
    if (this.recorded + size > OUTPUT_CAP_BYTES) {
      const kept = fitting(text, OUTPUT_CAP_BYTES - this.recorded);
      this.dropped += Buffer.byteLength(text.slice(kept.length));
      text = kept;
      size = escapedBytes(text);
    }
    this.recorded += size;
    this.buffers[stream] += text;
    this.buffered[stream] += size;
    if (this.buffered[stream] >= OUTPUT_CHUNK_BYTES) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), OUTPUT_FLUSH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const stream of ["stdout", "stderr"] as const) {
      let text = this.buffers[stream];
      this.buffers[stream] = "";
      this.buffered[stream] = 0;
      while (text.length > 0) {
        const part = fitting(text, OUTPUT_CHUNK_BYTES) || text.slice(0, 1);
        safeAppend(this.log, "output", { source: this.source, stream, text: part });
        text = text.slice(part.length);
      }
    }
  }

  /** Flushes and notes how much was left out past the cap (in bytes of output). */
  close(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.decoders[stream].end();
      if (rest) this.write(stream, rest);
    }
    this.flush();
    if (this.dropped > 0) safeAppend(this.log, "output-truncated", { source: this.source, droppedBytes: this.dropped, capBytes: OUTPUT_CAP_BYTES, capCounts: "bytes as stored in the record (JSON-escaped)" });
    this.dropped = 0;
  }
}
