// The record: an append-only, hash-chained JSONL log kept outside the sandbox.
//
// Each line is {seq, ts, type, data, prev, hash} with hash = sha256(prev || canonical({seq, ts, type,
// data})). Editing a line breaks its hash; deleting or reordering lines breaks the seq/prev links;
// cutting lines off the end is caught by the seal: `seal()` appends a final `sealed` entry and
// writes the head hash to `<log>.head`, which `airlock run` also prints, so a truncated log no longer
// matches its published head.
//
// Several processes may append to one record (the sandbox supervisor, the chaos runner): an append
// takes an exclusive lock file, reads the current tail, appends one line with one write(), fsyncs.
import * as crypto from "crypto";
import * as fs from "fs";

export const GENESIS = "0".repeat(64);

export interface RecordEntry {
  seq: number;
  ts: string;
  type: string;
  data: unknown;
  prev: string;
  hash: string;
}

/** JSON with object keys sorted, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value as object)
    .filter((k) => (value as any)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as any)[k])}`).join(",")}}`;
}

export function entryHash(prev: string, e: Pick<RecordEntry, "seq" | "ts" | "type" | "data">): string {
  return crypto
    .createHash("sha256")
    .update(prev)
    .update(canonicalJson({ seq: e.seq, ts: e.ts, type: e.type, data: e.data }))
    .digest("hex");
}

function lastLine(file: string): string | undefined {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return undefined;
    let chunk = 4096;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      const text = buf.toString("utf8").replace(/\n+$/, "");
      const nl = text.lastIndexOf("\n");
      if (nl >= 0 || start === 0) return text.slice(nl + 1);
      chunk *= 4;
    }
  } finally {
    fs.closeSync(fd);
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs `fn` holding `<file>.lock` (O_EXCL). A lock older than 10 s is from a dead writer and is broken. */
function withLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.closeSync(fs.openSync(lock, "wx"));
      break;
    } catch (e: any) {
      if (e.code !== "EEXIST") throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 10_000) fs.rmSync(lock, { force: true });
      } catch {
        /* released meanwhile */
      }
      if (attempt > 2000) throw new Error(`record ${file}: lock held too long`);
      sleepSync(5);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

export class ChainLog {
  constructor(public readonly file: string) {}

  /** Creates the log if missing (mode 0600: only the host's root reads it). */
  static create(file: string, first: { type: string; data: unknown }): ChainLog {
    const log = new ChainLog(file);
    fs.writeFileSync(file, "", { flag: "a", mode: 0o600 });
    log.append(first.type, first.data);
    return log;
  }

  /** Appends one event; returns the entry with its hash. */
  append(type: string, data: unknown): RecordEntry {
    return withLock(this.file, () => {
      const tail = lastLine(this.file);
      let prev = GENESIS;
      let seq = 0;
      if (tail) {
        const last = JSON.parse(tail) as RecordEntry;
        if (last.type === "sealed") throw new Error(`record ${this.file} is sealed; nothing more can be appended`);
        prev = last.hash;
        seq = last.seq + 1;
      }
      const base = { seq, ts: new Date().toISOString(), type, data };
      const entry: RecordEntry = { ...base, prev, hash: entryHash(prev, base) };
      const fd = fs.openSync(this.file, "a");
      try {
        fs.writeSync(fd, JSON.stringify(entry) + "\n");
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return entry;
    });
  }

  /** Appends the final entry and publishes the head hash next to the log. Returns the head. */
  seal(summary: unknown = {}): string {
    const entry = this.append("sealed", summary);
    fs.writeFileSync(`${this.file}.head`, entry.hash + "\n", { mode: 0o444 });
    return entry.hash;
  }

  entries(): RecordEntry[] {
    return readEntries(this.file).entries;
  }
}

function readEntries(file: string): { entries: RecordEntry[]; badLines: number[] } {
  const entries: RecordEntry[] = [];
  const badLines: number[] = [];
  fs.readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        entries.push(JSON.parse(line));
      } catch {
        badLines.push(i + 1);
      }
    });
  return { entries, badLines };
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  sealed: boolean;
  head?: string;
  problems: string[];
}

/**
 * Checks a record: every hash, every seq/prev link, the seal, and (when `expectedHead` is given or
 * `<log>.head` exists) that the log ends at the published head.
 */
export function verifyLog(file: string, opts: { expectedHead?: string; allowUnsealed?: boolean } = {}): VerifyResult {
  const expectedHead = opts.expectedHead;
  const problems: string[] = [];
  const { entries, badLines } = readEntries(file);
  for (const n of badLines) problems.push(`line ${n}: not valid JSON (edited or torn)`);
  let prev = GENESIS;
  entries.forEach((e, i) => {
    const line = i + 1 + badLines.filter((b) => b <= i + 1).length;
    if (e.seq !== i) problems.push(`line ${line}: seq ${e.seq} where ${i} was expected (a line was deleted, inserted or moved)`);
    if (e.prev !== prev) problems.push(`line ${line}: prev does not match the hash of the line before (chain broken)`);
    if (entryHash(e.prev, e) !== e.hash) problems.push(`line ${line}: hash does not match its content (the line was edited)`);
    prev = e.hash;
  });
  const sealed = entries.length > 0 && entries[entries.length - 1].type === "sealed";
  const head = entries.length ? entries[entries.length - 1].hash : undefined;
  let published = expectedHead;
  if (!published && fs.existsSync(`${file}.head`)) published = fs.readFileSync(`${file}.head`, "utf8").trim();
  if (published && head !== published) problems.push(`the log ends at ${head?.slice(0, 12) ?? "nothing"}, but its published head is ${published.slice(0, 12)} (lines were cut off or replaced)`);
  if (!published && !sealed && !opts.allowUnsealed) problems.push("the log is not sealed and no head was published: truncation cannot be ruled out");
  if (published && !sealed) problems.push("the log does not end with its seal");
  return { ok: problems.length === 0, entries: entries.length, sealed, head, problems };
}
