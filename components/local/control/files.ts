// Copying files into and out of a sandbox without widening its view: no host path is ever mounted
// into the workload for it. Instead a small helper runs *inside* the sandbox, with the workload's
// confinement and as the workload user, and copies between its stdin/stdout and the target path —
// so the sandbox's own permissions decide (a file the agent cannot read cannot be read this way
// either, a read-only /usr stays read-only, a canary opened this way is a canary touched).
//
// The helper is Python from the sandbox's read-only /usr (`-I -S`: no user site, no environment
// variables, no site-packages — nothing the agent can plant is imported). It reports errors as one
// JSON line on stderr with exit status 3: {"code": "ENOENT", "message": "..."}.
import * as crypto from "crypto";
import type { HostSandbox } from "../sandbox";
import { spawnConfined } from "../confine";
import { SocketRefusalRecorder } from "../process-run";
import { safeAppend } from "../record";
import { HeadBuffer } from "./capture";
import { afterGuardEvents, execConfinement, sandboxPath, waitForPidsHeadroom } from "./exec";
import { ControlError, DEFAULT_READ_LIMIT } from "./protocol";

export const FILE_HELPER_PYTHON = "/usr/bin/python3";
/** Generous: a file operation only waits on the sandbox's own filesystem. */
const FILE_OP_TIMEOUT_MS = 600_000;

const HELPER = String.raw`
import errno, json, os, sys
def fail(code, message):
    sys.stderr.write(json.dumps({"code": code, "message": message}) + "\n")
    sys.exit(3)
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "read":
        limit = int(sys.argv[3])
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size > limit:
                fail("EFBIG", "%s is larger than the read limit of %d bytes" % (path, limit))
            out, n = sys.stdout.buffer, 0
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                n += len(b)
                if n > limit:
                    fail("EFBIG", "%s is larger than the read limit of %d bytes" % (path, limit))
                out.write(b)
            out.flush()
    elif op == "write":
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        with open(path, "wb") as f:
            while True:
                b = sys.stdin.buffer.read(1 << 20)
                if not b:
                    break
                f.write(b)
    else:
        fail("EINVAL", "unknown operation " + op)
except OSError as e:
    fail(errno.errorcode.get(e.errno, "EIO"), "%s: %s" % (e.strerror or e, e.filename or path))
`;

interface HelperOutcome {
  stdout: Buffer;
  stdoutOver: boolean;
}

function runHelper(sb: HostSandbox, args: string[], input: Buffer | undefined, stdoutLimit: number): Promise<HelperOutcome> {
  return runFileHelper(sb, [FILE_HELPER_PYTHON, "-I", "-S", "-c", HELPER, ...args], input, stdoutLimit);
}

/**
 * Runs one helper command inside the sandbox (the helper above, as runHelper builds it; exported so a
 * test can put a stand-in command on exactly this path, e.g. one that opens a refused socket family).
 */
export async function runFileHelper(sb: HostSandbox, command: string[], input: Buffer | undefined, stdoutLimit: number): Promise<HelperOutcome> {
  await waitForPidsHeadroom(sb);
  const conf = execConfinement(sb, sandboxPath(undefined, "cwd"), {});
  // Its refused socket calls are recorded as an exec's are (and counted through the tally as every start's).
  const refusals = new SocketRefusalRecorder(sb.record, "file-helper");
  const child = spawnConfined(conf, command, { stdin: input ? "pipe" : "ignore", ...refusals.spawnOptions });
  const out = new HeadBuffer(stdoutLimit);
  const err = new HeadBuffer(64 * 1024);
  child.stdout!.on("data", (d: Buffer) => {
    out.write(d);
    if (out.over) child.kill("SIGKILL"); // the file grew past the limit while being read
  });
  child.stderr!.on("data", (d: Buffer) => err.write(d));
  if (input && child.stdin) {
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), FILE_OP_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new ControlError("internal", `file helper could not start: ${e.message}`));
    });
    child.once("close", async (code, signal) => {
      clearTimeout(timer);
      refusals.close();
      await afterGuardEvents(); // a canary the helper opened has been acted on before we answer
      if (out.over) return resolve({ stdout: Buffer.alloc(0), stdoutOver: true });
      if (code === 0) return resolve({ stdout: out.bytes(), stdoutOver: false });
      const text = err.bytes().toString();
      if (code === 3) {
        try {
          const e = JSON.parse(text.trim().split("\n").pop()!);
          return reject(new ControlError(String(e.code), String(e.message)));
        } catch {
          /* fall through: not the helper's own report */
        }
      }
      if (code === 127 || /python3?: (can't open|No such file)|failed to execute/.test(text)) {
        return reject(new ControlError("host", `the file helper (${FILE_HELPER_PYTHON}) could not run inside the sandbox: ${text.trim().slice(0, 300)}`, { hint: "apt-get install python3 (the sandbox's /usr is the host's)" }));
      }
      reject(new ControlError("internal", `file helper failed (${code ?? signal}): ${text.trim().slice(0, 500) || "no output"}`));
    });
  });
}

const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

export async function readFileIn(sb: HostSandbox, file: string, limit = DEFAULT_READ_LIMIT): Promise<Buffer> {
  const p = sandboxPath(file, "path");
  if (!(Number.isInteger(limit) && limit >= 0)) throw new ControlError("bad-request", "limit must be a non-negative integer");
  const r = await runHelper(sb, ["read", p, String(limit)], undefined, limit);
  if (r.stdoutOver) throw new ControlError("EFBIG", `${p} is larger than the read limit of ${limit} bytes`);
  safeAppend(sb.record, "file-read", { path: p, bytes: r.stdout.length, sha256: sha256(r.stdout) });
  return r.stdout;
}

export async function writeFileIn(sb: HostSandbox, file: string, data: Buffer): Promise<void> {
  const p = sandboxPath(file, "path");
  await runHelper(sb, ["write", p], data, 0);
  safeAppend(sb.record, "file-written", { path: p, bytes: data.length, sha256: sha256(data) });
}
