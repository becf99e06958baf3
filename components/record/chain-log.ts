// The record: an append-only, hash-chained JSONL log kept outside the sandbox.
//
// Each line is {seq, ts, type, data, prev, hash} with hash = sha256(prev || canonical({seq, ts, type,
// data})). Editing a line breaks its hash; deleting or reordering lines breaks the seq/prev links;
// cutting lines off the end is caught by the seal: `seal()` appends a final `sealed` entry and
// writes the head hash to `<log>.head`, which `airlock run` also prints, so a truncated log no longer
// matches its published head.
//
// Several processes may append to one record (the sandbox supervisor, `sandbox exec`, the chaos
// runner): an append holds flock(2) on `<log>.lock`, reads the current tail, appends one line with one
// write(), fsyncs. flock belongs to an open file description, so the kernel releases it when its holder
// closes the file or dies — a writer that stalls is waited for, never overtaken (a lock broken by age
// would let two writers extend the same tail and fork the chain), and a dead one blocks nobody.
// Node has no flock(), so the lock is taken on *this process's* open file description by a helper:
// a small python3 process per writer process that, on request (a FIFO), duplicates the descriptor
// out of this process (pidfd_getfd(2)), flock()s it and closes its copy. The lock then belongs to the
// description this process holds, exactly as if it had called flock() itself: closing the descriptor
// (or dying) releases it, and the helper holds nothing. That costs one FIFO round trip per append
// (~15 us; test/record-robustness.test.ts prints it). Where the helper cannot run (no python3, no
// pidfd_getfd, no ptrace permission over this process), `flock -x <fd>` (util-linux) does the same on
// an inherited descriptor in a short child — 2-5 ms per append on this host (AIRLOCK_RECORD_LOCK=flock
// forces it).
//
// A record must survive a short write or a full disk: a torn last line (a write cut short, a crash
// mid-write) would otherwise make every later append and the seal fail. Under the lock, an append first
// cuts a torn tail back to the end of the last valid line and appends a `record-repaired` event that
// keeps the cut bytes (escaped, up to 4 KiB) — the repair is itself part of the chain. A short write is
// undone (truncated back) before the append reports its failure.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync } from "child_process";

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

/** Data a record entry cannot hold as given (it names the entry, the field and the fix). */
export class RecordDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecordDataError";
  }
}

/**
 * An entry's data exactly as its stored line will hold it: what JSON.stringify writes, read back. The
 * hash is taken over this value, so it is the hash of the line that is stored — `verifyLog` hashes the
 * parsed line, and would otherwise fail on a value JSON writes differently from how canonicalJson
 * walks it: a Date (its toJSON, an ISO string; canonicalJson saw an object with no keys), a Buffer
 * ({type:"Buffer",data:[...]}; canonicalJson saw its bytes as keys "0", "1", ...). As JSON does: an
 * undefined field is left out (null in an array, null as the whole data), a non-finite number is null.
 * Refused, with the field named: what JSON would silently turn into something else or cannot write —
 * a Map or Set (written as {}), a function or symbol (dropped), a bigint, a cycle.
 */
export function recordData(type: string, data: unknown): unknown {
  if (data === undefined) return null;
  const paths = new Map<object, string>();
  let text: string;
  try {
    text = JSON.stringify(data, function (this: object, key: string, value: unknown) {
      const base = paths.get(this);
      const at = base === undefined ? "data" : Array.isArray(this) ? `${base}[${key}]` : `${base}.${key}`;
      const refuse = (what: string, fix: string): never => {
        throw new RecordDataError(`record entry '${type}': ${at} is ${what}, which a JSON line cannot hold as it is; ${fix}`);
      };
      if (typeof value === "bigint") refuse("a bigint", "store it as a string (String(n)) or a number");
      if (typeof value === "function" || typeof value === "symbol") refuse(`a ${typeof value}`, "leave it out of the entry");
      if (value instanceof Map) refuse("a Map (JSON writes {})", "convert it first (Object.fromEntries(map))");
      if (value instanceof Set) refuse("a Set (JSON writes {})", "convert it first ([...set])");
      if (value !== null && typeof value === "object") paths.set(value, at);
      return value;
    });
  } catch (e) {
    if (e instanceof RecordDataError) throw e;
    throw new RecordDataError(`record entry '${type}': its data cannot be written as JSON (${(e as Error).message})`);
  }
  return JSON.parse(text);
}

/** How long a writer waits for the lock before it gives up (it never breaks the lock). */
export const LOCK_WAIT_SECONDS = 30;
/** How much of a torn tail a repair event keeps. */
const REPAIR_KEEP_BYTES = 4096;

/** The end of the last complete, parseable line and the entry on it (undefined: empty log). */
interface Tail {
  /** Byte offset just after the last valid line's newline. */
  validEnd: number;
  size: number;
  last?: RecordEntry;
}

/** Reads backwards from the end until a complete line parses; a torn tail is what lies after it. */
function readTail(fd: number): Tail {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return { validEnd: 0, size };
  let chunk = 4096;
  for (;;) {
    const start = Math.max(0, size - chunk);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    // Candidate line ends, last first; a valid line is followed by "\n" and parses as an entry.
    let end = buf.length;
    while (end > 0) {
      const nl = buf.lastIndexOf(0x0a, end - 1);
      if (nl < 0) break;
      const prevNl = nl === 0 ? -1 : buf.lastIndexOf(0x0a, nl - 1);
      if (prevNl < 0 && start > 0) break; // the line may begin before this chunk: read more
      const line = buf.subarray(prevNl + 1, nl).toString("utf8");
      if (line.trim()) {
        try {
          const e = JSON.parse(line) as RecordEntry;
          if (typeof e.hash === "string" && typeof e.seq === "number") return { validEnd: start + nl + 1, size, last: e };
        } catch {
          /* torn or garbage: look further back */
        }
      }
      end = nl;
    }
    if (start === 0) return { validEnd: 0, size }; // no valid line at all
    chunk *= 4;
  }
}

/** Takes flock(LOCK_EX) on `fd`'s open file description in a short `flock(1)` child (the fallback). */
function flockByChild(fd: number, file: string): void {
  const r = spawnSync("flock", ["-x", "-w", String(LOCK_WAIT_SECONDS), "3"], { stdio: ["ignore", "ignore", "pipe", fd], env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" } });
  if (r.error) throw new Error(`record ${file}: cannot run flock (util-linux): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`record ${file}: lock not acquired within ${LOCK_WAIT_SECONDS} s (another writer holds it)${r.stderr?.length ? `: ${r.stderr.toString().trim()}` : ""}`);
}

// The helper: says "ready" once, then answers each "<fd>\n" with "ok" | "T" (timed out) | "E<errno>"
// (cannot reach the descriptor). Until it is ready (python's startup), appends use the fallback.
const LOCK_HELPER = String.raw`
import ctypes, fcntl, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
parent, wait = int(sys.argv[1]), int(sys.argv[2])
cmd = os.open(sys.argv[3], os.O_RDONLY); rep = os.open(sys.argv[4], os.O_WRONLY)
for p in sys.argv[3:5]: os.unlink(p)
os.rmdir(os.path.dirname(sys.argv[3]))  # both ends are open: the FIFOs need no name any more
pidfd = os.pidfd_open(parent)
os.write(rep, b"ready\n")
def timeout(*_): raise TimeoutError()
signal.signal(signal.SIGALRM, timeout)
buf = b""
while True:
    data = os.read(cmd, 4096)
    if not data: sys.exit(0)
    buf += data
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        fd = libc.syscall(438, pidfd, int(line), 0)  # pidfd_getfd
        if fd < 0:
            os.write(rep, b"E%d\n" % ctypes.get_errno()); continue
        try:
            signal.alarm(wait); fcntl.flock(fd, fcntl.LOCK_EX); signal.alarm(0); os.write(rep, b"ok\n")
        except TimeoutError:
            os.write(rep, b"T\n")
        finally:
            os.close(fd)
`;

interface LockHelper {
  pid: number;
  cmd: number;
  reply: number;
  /** The FIFOs' directory, removed once the helper is ready (both ends are open then). */
  dir?: string;
  ready: boolean;
  /** What arrived of the "ready" line so far. */
  pending: string;
}

let helper: LockHelper | undefined | null; // null: cannot be used in this process, use the fallback
const tick = new Int32Array(new SharedArrayBuffer(4));

function startHelper(): LockHelper | null {
  const python = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : undefined;
  if (!python || process.platform !== "linux") return null;
  removeStaleFifoDirs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `record-lock-${process.pid}-`));
  try {
    const [cmdPath, replyPath] = [path.join(dir, "cmd"), path.join(dir, "reply")];
    if (spawnSync("mkfifo", ["-m", "0600", cmdPath, replyPath]).status !== 0) return null;
    // O_RDWR: opening a FIFO so never blocks, whether or not the helper got as far as opening it.
    const cmd = fs.openSync(cmdPath, fs.constants.O_RDWR);
    const reply = fs.openSync(replyPath, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const child = spawn("setpriv", ["--pdeathsig", "KILL", "--", python, "-c", LOCK_HELPER, String(process.pid), String(LOCK_WAIT_SECONDS), cmdPath, replyPath], { stdio: "ignore", env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" } });
    child.on("error", () => undefined);
    child.unref();
    if (!child.pid) throw new Error("no helper");
    // A short-lived process may exit before the helper was ready: leave no FIFOs behind.
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    return { pid: child.pid, cmd, reply, dir, ready: false, pending: "" };
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

/**
 * FIFO directories of processes that died (SIGKILL) before their helper got to remove them; the helper
 * normally unlinks them as soon as it has opened both ends.
 */
function removeStaleFifoDirs(): void {
  try {
    for (const name of fs.readdirSync(os.tmpdir())) {
      const m = /^record-lock-(\d+)-/.exec(name);
      if (m && !running(Number(m[1]))) fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
    }
  } catch {
    /* best effort */
  }
}

/** Running (not gone, not a zombie: this process cannot reap while it waits synchronously). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

function giveUpHelper(h: LockHelper): undefined {
  helper = null;
  if (h.dir) fs.rmSync(h.dir, { recursive: true, force: true });
  try {
    process.kill(h.pid, "SIGKILL");
  } catch {
    /* gone */
  }
  return undefined;
}

/** Asks the helper to lock `fd`; undefined when the helper cannot (the caller falls back). */
function flockByHelper(fd: number, file: string): true | undefined {
  if (helper === undefined) helper = startHelper();
  if (!helper) return undefined;
  const h = helper;
  const buf = Buffer.alloc(64);
  if (!h.ready) {
    try {
      h.pending += buf.toString("utf8", 0, fs.readSync(h.reply, buf, 0, buf.length, null));
    } catch (e: any) {
      if (e.code !== "EAGAIN") throw e;
    }
    if (!h.pending.includes("\n")) return running(h.pid) ? undefined : giveUpHelper(h); // still starting: the fallback takes this one
    if (h.pending.trim() !== "ready") return giveUpHelper(h);
    h.ready = true;
    if (h.dir) fs.rmSync(h.dir, { recursive: true, force: true });
    h.dir = undefined;
  }
  fs.writeSync(h.cmd, `${fd}\n`);
  const deadline = Date.now() + (LOCK_WAIT_SECONDS + 10) * 1000;
  for (let pause = 0.02; ; pause = Math.min(pause * 2, 5)) {
    try {
      const answer = buf.toString("utf8", 0, fs.readSync(h.reply, buf, 0, buf.length, null)).trim();
      if (answer === "ok") return true;
      if (answer === "T") throw new Error(`record ${file}: lock not acquired within ${LOCK_WAIT_SECONDS} s (another writer holds it)`);
      return giveUpHelper(h); // E<errno>: this process cannot be reached this way (no pidfd_getfd, no ptrace permission)
    } catch (e: any) {
      if (e.code !== "EAGAIN") throw e;
    }
    if (Date.now() > deadline || !running(h.pid)) return giveUpHelper(h);
    Atomics.wait(tick, 0, 0, pause);
  }
}

function flockFd(fd: number, file: string): void {
  if (process.env.AIRLOCK_RECORD_LOCK === "flock" || !flockByHelper(fd, file)) flockByChild(fd, file);
}

/** How this process takes record locks (for diagnostics and tests). */
export function recordLockMethod(): "helper" | "starting" | "flock(1)" | "not started" {
  if (process.env.AIRLOCK_RECORD_LOCK === "flock" || helper === null) return "flock(1)";
  return helper ? (helper.ready ? "helper" : "starting") : "not started";
}

/** Runs `fn` holding flock(2) on `<file>.lock`; released when the descriptor closes (or this process dies). */
function withLock<T>(file: string, fn: () => T): T {
  // (libuv opens every file close-on-exec; the flock child gets it as fd 3 through stdio.)
  const fd = fs.openSync(`${file}.lock`, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    flockFd(fd, file);
    return fn();
  } finally {
    fs.closeSync(fd);
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
      const fd = fs.openSync(this.file, fs.constants.O_RDWR | fs.constants.O_APPEND);
      try {
        let tail = readTail(fd);
        // After the seal nothing is cut or added: bytes there are not Airlock's, and they stay as evidence.
        if (tail.validEnd < tail.size && tail.last?.type !== "sealed") {
          this.repair(fd, tail);
          tail = readTail(fd);
        }
        return this.write(fd, tail, type, data);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  /** Writes one entry after `tail` (the lock is held); undoes a short write. */
  private write(fd: number, tail: Tail, type: string, data: unknown): RecordEntry {
    const last = tail.last;
    if (last?.type === "sealed") throw new Error(`record ${this.file} is sealed; nothing more can be appended`);
    const prev = last ? last.hash : GENESIS;
    const seq = last ? last.seq + 1 : 0;
    // Hashed as it is stored (recordData says why); data JSON cannot hold is refused before any byte is written.
    const base = { seq, ts: new Date().toISOString(), type, data: recordData(type, data) };
    const entry: RecordEntry = { ...base, prev, hash: entryHash(prev, base) };
    const line = Buffer.from(JSON.stringify(entry) + "\n");
    let written = 0;
    try {
      written = fs.writeSync(fd, line);
      if (written !== line.length) throw new Error(`short write (${written} of ${line.length} bytes; disk full?)`);
      fs.fsyncSync(fd);
    } catch (e) {
      // Leave no torn line behind: the record ends where it ended before this append.
      try {
        fs.ftruncateSync(fd, tail.size);
        fs.fsyncSync(fd);
      } catch {
        /* the next append repairs it */
      }
      throw new Error(`record ${this.file}: append '${type}' failed: ${(e as Error).message}`);
    }
    return entry;
  }

  /** Cuts a torn tail back to the last valid line and records the cut (the lock is held). */
  private repair(fd: number, tail: Tail): void {
    const cutBytes = tail.size - tail.validEnd;
    const keep = Buffer.alloc(Math.min(cutBytes, REPAIR_KEEP_BYTES));
    fs.readSync(fd, keep, 0, keep.length, tail.validEnd);
    fs.ftruncateSync(fd, tail.validEnd);
    fs.fsyncSync(fd);
    this.write(fd, { ...tail, size: tail.validEnd }, "record-repaired", {
      reason: "the record ended in an incomplete or unparseable line (a write cut short: crash, kill or full disk); it was cut back to the last valid line",
      cutBytes,
      cut: keep.toString("latin1"),
      cutTruncated: cutBytes > keep.length,
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
