// Running host tools (ip, nft, bwrap, tc, toxiproxy-server) with a timeout and errors that say which
// command failed and why. Nothing here goes through a shell: arguments are passed as an array, so a
// sandbox name or a path can never be interpreted as shell syntax.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface RunOptions {
  /** Kill the command after this many ms (default 30 s). */
  timeoutMs?: number;
  /** Text written to stdin. */
  input?: string;
  /** Return a non-zero exit instead of throwing. */
  allowFail?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A host command exited non-zero (or timed out). */
export class HostCommandError extends Error {
  constructor(
    public readonly command: string[],
    public readonly code: number,
    public readonly stderr: string,
    reason?: string,
  ) {
    super(`'${command.join(" ")}' ${reason ?? `failed (exit ${code})`}: ${stderr.trim().split("\n").slice(-3).join(" | ") || "(no output)"}`);
    this.name = "HostCommandError";
  }
}

/** Which Debian package provides each host tool, for the "install X" hint. */
export const TOOL_PACKAGES: Record<string, string> = {
  ip: "iproute2",
  tc: "iproute2",
  nft: "nftables",
  bwrap: "bubblewrap",
  nsenter: "util-linux",
  setpriv: "util-linux",
  unshare: "util-linux",
  flock: "util-linux",
  python3: "python3",
  mount: "mount",
  umount: "mount",
  sysctl: "procps",
  inotifywait: "inotify-tools",
  "toxiproxy-server": "the Toxiproxy server: go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0, then install the binary as /usr/local/bin/toxiproxy-server",
};

export class HostToolMissing extends Error {
  public readonly hint: string;
  constructor(public readonly tool: string) {
    super(`host tool '${tool}' is not installed`);
    const pkg = TOOL_PACKAGES[tool];
    this.hint = pkg && pkg.startsWith("the ") ? `install ${pkg}` : `apt-get install ${pkg ?? tool}`;
    this.name = "HostToolMissing";
  }
}

export class NotRoot extends Error {
  public readonly hint = "run it as root (e.g. with sudo): network namespaces, nftables and cgroups need it";
  constructor(what: string) {
    super(`${what} needs root privileges`);
    this.name = "NotRoot";
  }
}

export function findTool(tool: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/local/bin", "/usr/local/sbin"]);
  for (const dir of dirs) {
    const candidate = path.join(dir, tool);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

/** Throws HostToolMissing (with the package to install) for the first missing tool. */
export function requireTools(...tools: string[]): void {
  for (const tool of tools) if (!findTool(tool)) throw new HostToolMissing(tool);
}

export function requireRoot(what: string): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) throw new NotRoot(what);
}

function resolve(cmd: string): string {
  if (cmd.includes("/")) return cmd;
  const found = findTool(cmd);
  if (!found) throw new HostToolMissing(cmd);
  return found;
}

/** Runs a command and collects its output. Throws HostCommandError on failure unless allowFail. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = [cmd, ...args];
  return new Promise((resolvePromise, reject) => {
    let child;
    try {
      child = spawn(resolve(cmd), args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
      return reject(e);
    }
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const result = { code: code ?? -1, stdout, stderr };
      if (timedOut) return reject(new HostCommandError(full, -1, stderr, `timed out after ${opts.timeoutMs ?? 30_000} ms`));
      if (result.code !== 0 && !opts.allowFail) return reject(new HostCommandError(full, result.code, stderr));
      resolvePromise(result);
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Synchronous variant, for signal handlers and exit paths where the event loop may not run again. */
export function runSync(cmd: string, args: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(resolve(cmd), args, { input: opts.input, timeout: opts.timeoutMs ?? 30_000, env: opts.env ?? process.env, encoding: "utf8" });
  const result = { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  if (r.error && (r.error as any).code === "ETIMEDOUT") throw new HostCommandError([cmd, ...args], -1, result.stderr, `timed out after ${opts.timeoutMs ?? 30_000} ms`);
  if (result.code !== 0 && !opts.allowFail) throw new HostCommandError([cmd, ...args], result.code, result.stderr);
  return result;
}
