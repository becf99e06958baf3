// Running the `airlock` CLI as a subprocess, the way a researcher does (same state directory as the
// test run, via AIRLOCK_STATE_DIR).
import { spawn, ChildProcess } from "child_process";
import * as path from "path";

export const ROOT = path.join(__dirname, "..", "..");
export const AIRLOCK = path.join(ROOT, "bin", "airlock.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Run through a wrapper, e.g. ["runuser", "-u", "nobody", "--"]. */
  wrap?: string[];
  timeoutMs?: number;
}

export function startCli(args: string[], o: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const argv = [...(o.wrap ?? []), process.execPath, AIRLOCK, ...args];
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, env: { ...process.env, ...o.env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  if (o.input !== undefined) child.stdin!.end(o.input);
  else child.stdin!.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 90_000);
  const done = new Promise<CliResult>((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { child, done };
}

export function runCli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  return startCli(args, o).done;
}

export function describeResult(r: CliResult): string {
  return `exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
