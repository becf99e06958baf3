// Probes for the local backend's security tests: the same small Python program runs inside a sandbox
// (through `sandbox exec`) and, as the positive control, unconfined on the host — so a refusal inside
// is the boundary's doing, not a probe that cannot work. Long-running probes signal readiness through
// files in the sandbox's /work (read by the host in the sandbox tmpfs) instead of fixed sleeps.
import * as fs from "fs";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import type { HostSandbox } from "../../components/local/sandbox";
import { execCapture, Captured, waitFor } from "./local-sandbox";

/** The host's own python3 (not a pyenv shim on PATH), as the sandbox has it. */
export const HOST_PYTHON = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/** The last stdout line of a probe, as JSON. */
export function lastJson(r: { stdout: string; stderr: string }): any {
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`the probe printed no JSON result:\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
}

export async function pyInside(sb: HostSandbox, code: string, ...args: string[]): Promise<any> {
  return lastJson(await execCapture(sb.id, ["python3", "-c", code, ...args]));
}

/** The probe on the host, unconfined (root), optionally through a wrapper (e.g. `ip netns exec`). */
export function pyOnHost(code: string, args: string[] = [], wrap: string[] = []): any {
  const argv = [...wrap, HOST_PYTHON, "-c", code, ...args];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return lastJson({ stdout: r.stdout, stderr: r.stderr });
}

/**
 * A command that runs inside the sandbox until the host lets it go: it creates /work/<marker>.ready
 * when it has done its part (the host waits for that file), then waits for /work/<marker>.go.
 * `release()` writes the go file and returns the command's result.
 */
export async function holdInside(sb: HostSandbox, command: string[], marker: string, timeoutMs = 60_000): Promise<{ ready: string; release: () => Promise<Captured> }> {
  const work = path.join(sb.handle.fsRoot!, "work");
  const running = execCapture(sb.id, command);
  let finished: Captured | undefined;
  void running.then((r) => (finished = r));
  const readyFile = path.join(work, `${marker}.ready`);
  await waitFor(`${marker} to be ready inside ${sb.id}`, () => {
    if (finished) throw new Error(`the probe ended before it was ready: ${finished.stdout} ${finished.stderr}`);
    return fs.existsSync(readyFile);
  }, timeoutMs);
  return {
    ready: fs.readFileSync(readyFile, "utf8"),
    release: async () => {
      fs.writeFileSync(path.join(work, `${marker}.go`), "");
      return running;
    },
  };
}

/** Python lines that wait for the host's go file (after writing `result` to the ready file). */
export const PY_HOLD = String.raw`
def hold(marker, result):
    import json, os, time
    tmp = "/work/%s.tmp" % marker
    with open(tmp, "w") as f: f.write(json.dumps(result))
    os.rename(tmp, "/work/%s.ready" % marker)
    t = time.time()
    while not os.path.exists("/work/%s.go" % marker) and time.time() - t < 60: time.sleep(0.02)
`;

/** Host pids whose argv matches. */
export function pidsWithArgv(match: (argv: string[]) => boolean): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (match(fs.readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").filter(Boolean))) out.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** A field of /proc/<pid>/status (first value). */
export function statusField(pid: number, field: string): string | undefined {
  try {
    return new RegExp(`^${field}:\\s+(\\S+)`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

/** Starts a host process that prints one line when ready; resolves with it and a stop function. */
export function hostHelper(argv: string[]): Promise<{ line: string; stop: () => void }> {
  const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve({ line: out.split("\n")[0], stop: () => child.kill("SIGKILL") });
    });
    child.on("exit", (code) => reject(new Error(`host helper ${argv.join(" ")} exited (${code}) before it was ready: ${out} ${err}`)));
  });
}
