// Writer threads for records with deferred writes (record.ts explains when and why). Each thread
// makes the very same ChainLog.append a caller would — flock, tail read, one write, fsync — so the
// chain, its lock and its fsync are untouched; only the thread that waits for them changes.
//
// A record always goes to the same thread (chosen by its file name), and a thread makes its appends
// one after another in the order they were submitted: that is the record's order. Each thread counts
// the appends it has finished in shared memory, so a caller that must append directly (the seal) can
// wait, synchronously, until its record's thread has caught up (drain). A thread that dies hands its
// unfinished appends back: they are made directly, in order.
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import { ChainLog, LOCK_WAIT_SECONDS } from "../record/chain-log";

// (Plain JavaScript, evaluated in the thread: it loads chain-log.ts the way this process's commands do,
// from dist/ or compiled at start, through bin/ts-hook.js — a thread does not inherit the main thread's
// module hooks.)
const THREAD_CODE = String.raw`
const { parentPort, workerData } = require("worker_threads");
const Module = require("module");
if (!Module._extensions[".ts"]) require(workerData.tsHook).register();
const { ChainLog } = require(workerData.chainLog);
const finished = new Int32Array(workerData.finished);
parentPort.on("message", (m) => {
  let failure = null;
  try {
    new ChainLog(m.file).append(m.type, m.data);
  } catch (e) {
    failure = (e && e.message) || String(e);
  }
  Atomics.add(finished, 0, 1);
  Atomics.notify(finished, 0);
  parentPort.postMessage({ id: m.id, failure });
});
`;

interface Pending {
  file: string;
  type: string;
  data: unknown;
  resolve: (failure: string | null) => void;
}

/** Data a thread receives exactly as the caller holds it (structured cloning keeps plain JSON values as they are; a Buffer, a class instance or a toJSON would not be). */
function plainData(v: unknown, depth = 0): boolean {
  if (v === null || v === undefined || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return true;
  if (typeof v !== "object" || depth > 32) return false;
  if (Array.isArray(v)) return v.every((x) => plainData(x, depth + 1));
  const proto = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || "toJSON" in (v as object)) return false;
  return Object.values(v as object).every((x) => plainData(x, depth + 1));
}

class WriterThread {
  readonly worker: Worker;
  /** Appends this thread has finished (written and fsynced, or failed), shared with it. */
  readonly finished = new Int32Array(new SharedArrayBuffer(4));
  submitted = 0;
  readonly pending = new Map<number, Pending>();
  dead = false;

  constructor() {
    this.worker = new Worker(THREAD_CODE, {
      eval: true,
      workerData: { tsHook: path.join(__dirname, "..", "..", "bin", "ts-hook.js"), chainLog: require.resolve("../record/chain-log"), finished: this.finished.buffer },
    });
    this.worker.unref(); // referenced only while it has work (a process with nothing queued exits as before)
    this.worker.on("message", (m: { id: number; failure: string | null }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      p?.resolve(m.failure);
    });
    this.worker.on("error", (e) => this.died(`record writer thread failed: ${e.message}`));
    this.worker.on("exit", (code) => this.died(`record writer thread exited (${code})`));
  }

  submit(file: string, type: string, data: unknown): Promise<string | null> | undefined {
    if (this.dead) return undefined;
    const id = this.submitted + 1;
    try {
      this.worker.postMessage({ id, file, type, data });
    } catch {
      return undefined; // not transferable after all: the caller appends directly
    }
    this.submitted = id;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve) => this.pending.set(id, { file, type, data, resolve }));
  }

  /** Blocks until every append submitted so far is finished (or this thread is gone). */
  drain(): void {
    // Each queued append may itself wait up to LOCK_WAIT_SECONDS for the lock; past that much per
    // append something is wrong with the thread, and waiting on would hang the caller for good.
    const deadline = Date.now() + (this.submitted - Atomics.load(this.finished, 0)) * (LOCK_WAIT_SECONDS + 10) * 1000;
    for (;;) {
      const seen = Atomics.load(this.finished, 0);
      if (seen >= this.submitted || this.dead) return;
      if (Date.now() > deadline) {
        this.died("record writer thread stopped answering");
        return;
      }
      Atomics.wait(this.finished, 0, seen, 100);
    }
  }

  /** The thread is gone: what it had not finished is appended here, in order, and later appends are made directly. */
  died(why: string): void {
    if (this.dead) return;
    this.dead = true;
    const done = Atomics.load(this.finished, 0);
    const left = [...this.pending.entries()].sort((a, b) => a[0] - b[0]);
    this.pending.clear();
    if (left.length) process.stderr.write(`airlock: ${why}; making its ${left.filter(([id]) => id > done).length} unfinished record append(s) directly\n`);
    for (const [id, p] of left) {
      if (id <= done) {
        p.resolve(null); // finished; only its answer was lost with the thread
        continue;
      }
      try {
        new ChainLog(p.file).append(p.type, p.data);
        p.resolve(null);
      } catch (e) {
        p.resolve((e as Error).message);
      }
    }
    void this.worker.terminate().catch(() => undefined);
  }
}

export class RecordWriterPool {
  private readonly threads: (WriterThread | undefined)[];
  private failedToStart = false;

  constructor(size = Math.max(2, Math.min(4, os.cpus().length))) {
    this.threads = new Array(size).fill(undefined);
    // Whatever is still queued when this process exits is written first (threads still run during
    // 'exit' listeners; they are stopped after them).
    process.once("exit", () => this.threads.forEach((t) => t?.drain()));
  }

  private slot(file: string): number {
    let h = 0;
    for (let i = 0; i < file.length; i++) h = (h * 31 + file.charCodeAt(i)) >>> 0;
    return h % this.threads.length;
  }

  /** The thread of `file`'s record, started if need be (undefined: threads cannot run here). */
  thread(file: string): WriterThread | undefined {
    if (this.failedToStart) return undefined;
    const i = this.slot(file);
    if (!this.threads[i] || this.threads[i]!.dead) {
      try {
        this.threads[i] = new WriterThread();
      } catch (e) {
        this.failedToStart = true;
        process.stderr.write(`airlock: cannot start a record writer thread (${(e as Error).message}); records are written directly\n`);
        return undefined;
      }
    }
    return this.threads[i];
  }

  /** Queues an append; resolves with null once it is durable, or with why it failed. Undefined: append directly. */
  submit(file: string, type: string, data: unknown): Promise<string | null> | undefined {
    if (!plainData(data)) return undefined;
    return this.thread(file)?.submit(file, type, data);
  }

  /** Blocks until `file`'s thread has finished everything submitted to it so far. */
  drain(file: string): void {
    this.threads[this.slot(file)]?.drain();
  }
}
