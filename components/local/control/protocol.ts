// The control protocol of `airlock serve`: how a harness (the Inspect AI provider, a benchmark, a
// later `airlock sandbox exec` through the supervisor) asks one long-lived Airlock process to create
// sandboxes, run commands in them, copy files in and out, and destroy them. docs/inspect.md has the
// full reference with examples; this file is the single definition both sides follow.
//
// Framing: newline-delimited JSON over a byte stream (a Unix socket, or stdin/stdout). One object per
// line, UTF-8. A connection may carry any number of requests at once: every request has an `id`
// chosen by the client (a string or a number), echoed in its one response, and responses arrive in
// completion order, not request order. Bytes (stdin, stdout, stderr, file contents) travel as base64
// strings, so binary data and invalid UTF-8 survive untouched.
//
//   -> {"id": 7, "op": "exec", "sandbox": "demo-1a2b3c", "cmd": ["true"]}
//   <- {"id": 7, "ok": true, "result": {"status": 0, "code": 0, "signal": null, "stdout": "", ...}}
//   <- {"id": 8, "ok": false, "error": {"kind": "no-sandbox", "message": "...", "hint": "..."}}
import * as fs from "fs";

export const PROTOCOL_VERSION = 1;

/** Largest request line accepted (a 100 MiB file is ~134 MiB as base64). */
export const MAX_REQUEST_BYTES = 512 * 1024 * 1024;
/** Default cap per output stream of an exec (Inspect's default, 10 MiB). */
export const DEFAULT_OUTPUT_LIMIT = 10 * 1024 * 1024;
/** Default cap on a file read out of a sandbox (Inspect's default, 100 MiB). */
export const DEFAULT_READ_LIMIT = 100 * 1024 * 1024;

/** Who asked for a sandbox: written into its record (e.g. Inspect's task, sample id, epoch). */
export type RecordMeta = Record<string, unknown>;

export type Request =
  | { id: RequestId; op: "hello" }
  /** Checks the host (root, tools) without creating anything. */
  | { id: RequestId; op: "check-host" }
  /** Validates a spec file (every problem at once) without creating anything. */
  | { id: RequestId; op: "validate"; spec: string }
  | { id: RequestId; op: "create"; spec: string; recordMeta?: RecordMeta; startWorkload?: boolean }
  | ExecRequest
  | { id: RequestId; op: "read-file"; sandbox: string; path: string; limit?: number }
  | { id: RequestId; op: "write-file"; sandbox: string; path: string; data: string }
  | { id: RequestId; op: "destroy"; sandbox: string; reason?: string }
  | { id: RequestId; op: "list" }
  /** Keep the sandboxes when the client goes away (until their ttl, or a `destroy`/`shutdown`). */
  | { id: RequestId; op: "detach" }
  /** Destroy every sandbox this process owns, answer, then exit. */
  | { id: RequestId; op: "shutdown" };

export type RequestId = string | number;

export interface ExecRequest {
  id: RequestId;
  op: "exec";
  sandbox: string;
  /** argv; cmd[0] is resolved through the sandbox's PATH (after `env` is applied). */
  cmd: string[];
  /** stdin, base64; absent = /dev/null. */
  input?: string;
  /** Working directory inside the sandbox; relative paths are under the working directory (/work). */
  cwd?: string;
  /** Set (added to, or replacing, the workload's environment) through the launcher, never a shell. */
  env?: Record<string, string>;
  /** The workload user's name or uid; anything else is refused with kind "unsupported-user". */
  user?: string | null;
  /** Kill the whole process tree after this many ms (the exec's own pid namespace dies with it). */
  timeoutMs?: number;
  /** Bytes kept per output stream (the tail; what was dropped is counted in `truncated`). */
  outputLimit?: number;
}

export interface ExecResult {
  /** Shell convention: the exit code, or 128 + signal. */
  status: number;
  code: number | null;
  signal: string | null;
  /** base64 */
  stdout: string;
  /** base64 */
  stderr: string;
  /** Bytes dropped from the head of each stream past `outputLimit` (0 = complete). */
  truncated: { stdout: number; stderr: number };
  timedOut: boolean;
  /**
   * Set when the launcher itself could not start cmd[0] (setpriv's exec failed): EACCES is a
   * permission problem, ENOENT a command that does not exist in the sandbox.
   */
  launchError: "EACCES" | "ENOENT" | null;
  /** Set when a kill rule fired during the command (the sandbox is gone). */
  killed: KilledInfo | null;
  durationMs: number;
}

export interface KilledInfo {
  rule: string;
  detail: string;
  record: string;
  head?: string;
}

export interface CreateResult {
  sandbox: string;
  record: string;
  expiresAt: string;
  /** The default user of exec (the workload user). */
  user: { name: string; uid: number; home: string };
  /** Where relative paths (cwd, files) resolve. */
  workDir: string;
}

export interface DestroyResult {
  sandbox: string;
  record: string;
  /** The sealed record's head hash (publish it: `airlock log verify <record> --head <head>`). */
  head?: string;
  killedBy: { rule: string; detail: string } | null;
  failed: string[];
}

/**
 * Error kinds (`error.kind`): what went wrong, so that a client can map it to its own exception
 * without parsing messages.
 *   bad-request       malformed request (field named in the message)
 *   spec              the spec is invalid: `issues` lists every problem, formatted as `airlock check` does
 *   host              this host cannot build sandboxes (not root, a tool missing: `hint` names the package)
 *   no-sandbox        no sandbox of that id is owned by this process
 *   killed            a kill rule ended the sandbox (`killed` has the rule, the record and its head)
 *   unsupported-user  exec/file op asked for a user the sandbox does not have
 *   ENOENT EACCES EISDIR ENOTDIR ENOSPC EFBIG ...
 *                     a file operation failed inside the sandbox with that errno (EFBIG: over `limit`)
 *   internal          anything else (the message says what)
 */
export interface ErrorBody {
  kind: string;
  message: string;
  hint?: string;
  issues?: string[];
  killed?: KilledInfo;
}

export type Response = { id: RequestId | null; ok: true; result: unknown } | { id: RequestId | null; ok: false; error: ErrorBody };

/** An error with a kind, thrown by handlers and turned into an error response. */
export class ControlError extends Error {
  constructor(
    public readonly kind: string,
    message: string,
    public readonly extra: Omit<ErrorBody, "kind" | "message"> = {},
  ) {
    super(message);
    this.name = "ControlError";
  }
}

/**
 * Splits a byte stream into lines without re-scanning or re-concatenating what came before (a
 * 130 MiB request arrives in thousands of chunks). Lines longer than `maxBytes` are reported as too
 * long and skipped, never buffered.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;

  constructor(
    private readonly onLine: (line: Buffer) => void,
    private readonly onTooLong: () => void,
    private readonly maxBytes = MAX_REQUEST_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (!this.skipping) {
        this.parts.push(piece);
        const line = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
        if (line.length > 0) this.onLine(line);
      }
      this.parts = [];
      this.size = 0;
      this.skipping = false;
      start = nl + 1;
    }
    if (start < chunk.length && !this.skipping) {
      const rest = chunk.subarray(start);
      this.size += rest.length;
      if (this.size > this.maxBytes) {
        this.parts = [];
        this.size = 0;
        this.skipping = true;
        this.onTooLong();
      } else this.parts.push(Buffer.from(rest)); // copy: the caller may reuse its chunk
    }
  }
}

/** Where a serve process says where it listens, so that `airlock serve --cleanup` can find it. */
export interface ServeRegistration {
  process: { pid: number; startTime: number };
  socket: string;
  startedAt: string;
}

export function readJsonFile<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}
