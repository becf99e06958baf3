// The sandbox's record (hash-chained JSONL, components/record/chain-log.ts) and the one thing every
// writer needs besides single events: batched process output. Output is buffered per stream and
// written as one event per flush (every 250 ms, or 16 KiB), so a chatty workload costs a handful of
// fsyncs per second, not one per line; past a cap the rest is counted, not stored, so a workload
// cannot fill the host's disk through its own record. Sizes are what the text takes *in the record*:
// JSON escapes a control character as \u00XX (6 bytes), so counting characters would let a workload
// printing NULs write six times the cap.
//
// Appends normally run where they are made: lock, tail read, one write, fsync — on the caller's thread.
// A long-lived process that serves many sandboxes at once (`airlock serve`) cannot afford that: each
// fsync (ms; tens of ms on a busy disk) stops its event loop, and with it every other sandbox's
// requests, output and guard. Such a process turns on deferred writes for a record
// (`deferWrites()`): its appends are then made, in the order they were asked for, by a writer thread
// (record-writer.ts) — exactly the same ChainLog.append, lock and fsync included — and the caller
// goes on. What stays true:
//   - order: one record's appends all go to one writer thread, which makes them one after another;
//     an append made directly on the record (the seal, or anything else that calls append()) first
//     waits until that thread has made everything asked for before it, so nothing overtakes;
//   - durability before an answer: `durable()` resolves once everything asked for so far is written
//     and fsynced; a caller whose answer rests on an entry (an exec's `exec-exited`) awaits it first;
//   - nothing is dropped at exit: on process exit the queue is waited for. A SIGKILL can lose what was
//     still queued (at most the last few ms of events) — a synchronous writer killed then loses the
//     entry it was writing, so the window is wider, not new — and the chain stays valid either way.
import * as fs from "fs";
import * as path from "path";
import { StringDecoder } from "string_decoder";
import { ChainLog, RecordEntry } from "../record/chain-log";
import { RecordWriterPool } from "./record-writer";

export const OUTPUT_FLUSH_MS = 250;
export const OUTPUT_CHUNK_BYTES = 16 * 1024;
export const OUTPUT_CAP_BYTES = 16 * 1024 * 1024;

let pool: RecordWriterPool | undefined;
function writers(): RecordWriterPool {
  pool ??= new RecordWriterPool();
  return pool;
}

/** A sandbox's record: a ChainLog whose appends can be deferred to a writer thread (see above). */
export class SandboxRecord extends ChainLog {
  private deferred = false;
  private last: Promise<boolean> = Promise.resolve(true);

  /** From now on, safeAppend() on this record is made by a writer thread, in order. */
  deferWrites(): void {
    this.deferred = true;
    writers().thread(this.file); // started now, so that the first append does not wait for it
  }

  get defersWrites(): boolean {
    return this.deferred;
  }

  /** An append made here and now (the seal uses it too): after everything queued for this record. */
  override append(type: string, data: unknown): RecordEntry {
    if (this.deferred) writers().drain(this.file);
    return super.append(type, data);
  }

  /**
   * Queues one append (deferred mode only); false when it cannot be queued (data a thread cannot
   * be given, or no writer thread): the caller then appends directly.
   */
  queue(type: string, data: unknown): boolean {
    const done = writers().submit(this.file, type, data);
    if (!done) return false;
    const before = this.last;
    this.last = done.then(async (failure) => {
      if (failure) process.stderr.write(`airlock: could not append '${type}' to ${this.file}: ${failure}\n`);
      return (await before) && !failure;
    });
    return true;
  }

  /** Resolves once every append asked for so far is written and fsynced (true), or one of them failed (false). */
  durable(): Promise<boolean> {
    return this.last;
  }
}

export function openRecord(file: string): SandboxRecord {
  return new SandboxRecord(file);
}

export function createRecord(file: string, first: { type: string; data: unknown }): SandboxRecord {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  ChainLog.create(file, first);
  return new SandboxRecord(file);
}

/** Resolves once `log`'s appends so far are durable (at once for a record that writes directly). */
export function recordDurable(log: ChainLog): Promise<boolean> {
  return log instanceof SandboxRecord ? log.durable() : Promise.resolve(true);
}

/**
 * Appends without ever throwing (a record problem must not stop a teardown); returns false on failure.
 * On a record with deferred writes it queues the append and returns true (a failure is reported on
 * stderr when it happens, and by durable()).
 */
export function safeAppend(log: ChainLog, type: string, data: unknown): boolean {
  if (log instanceof SandboxRecord && log.defersWrites && log.queue(type, data)) return true;
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
