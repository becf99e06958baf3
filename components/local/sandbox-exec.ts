// `airlock sandbox exec`: runs a command inside an existing sandbox, from any process, with exactly
// the workload's confinement (same namespace, cgroup, uid, view, seccomp filter). Its output is
// appended to the sandbox's record (the record takes appends from several processes) and copied to
// the caller. The command dies with the calling process (--die-with-parent). Its refused socket calls
// reach the owner's denied-egress kill rule although the owner's guard is another process: every
// start adds them to the sandbox's tally file, which the guard reads (refusal-tally.ts says why).
import type { Readable, Writable } from "stream";
import { loadHandle, LocalSandboxHandle } from "./handle";
import { openRecord, safeAppend } from "./record";
import { startConfined, ExitStatus } from "./process-run";
import { workloadConfinement } from "./views";
import { isAlive } from "../host/process";

export class SandboxUnavailable extends Error {
  constructor(
    message: string,
    public readonly hint?: string,
  ) {
    super(message);
    this.name = "SandboxUnavailable";
  }
}

/** The handle of a sandbox that can take commands, or a clear reason why not. */
export function usableHandle(id: string): LocalSandboxHandle {
  const h = loadHandle(id);
  if (!h) throw new SandboxUnavailable(`no local sandbox '${id}'`, "run `airlock sandbox list` to see the sandboxes on this host");
  if (h.state === "killed") throw new SandboxUnavailable(`sandbox '${id}' was killed by its kill switch (${h.killed?.rule}: ${h.killed?.detail})`, `read its record: airlock log verify ${h.record}`);
  if (h.state === "destroying") throw new SandboxUnavailable(`sandbox '${id}' is being destroyed`);
  if (new Date(h.expiresAt).getTime() <= Date.now()) throw new SandboxUnavailable(`sandbox '${id}' expired at ${h.expiresAt}`, "run `airlock sweep` to remove it");
  if (h.supervisor && !isAlive(h.supervisor)) throw new SandboxUnavailable(`sandbox '${id}' has lost its supervisor (pid ${h.supervisor.pid})`, "run `airlock sweep` to remove it");
  return h;
}

export async function execInSandbox(
  id: string,
  command: string[],
  io: { stdin?: Readable; stdout?: Writable; stderr?: Writable; abort?: AbortSignal } = {},
): Promise<ExitStatus> {
  const h = usableHandle(id);
  const record = openRecord(h.record);
  const run = startConfined(workloadConfinement(h), command, { record, source: "exec", stdin: io.stdin ? "pipe" : "ignore", tee: { stdout: io.stdout, stderr: io.stderr } });
  safeAppend(record, "exec-started", { command, pid: run.ref.pid });
  if (io.stdin && run.child.stdin) {
    io.stdin.pipe(run.child.stdin);
    run.child.stdin.on("error", () => undefined); // the command may exit without reading its input
  }
  // The caller went away (the supervisor's client disconnected): the command ends as it would with
  // its calling process. SIGKILL to the one process spawned ends bwrap's pid namespace, and with it
  // everything the command started (control/exec.ts has the reasoning).
  const kill = () => {
    try {
      process.kill(-run.ref.pid, "SIGKILL");
    } catch {
      run.child.kill("SIGKILL");
    }
  };
  if (io.abort?.aborted) kill();
  else io.abort?.addEventListener("abort", kill, { once: true });
  const status = await run.exited.finally(() => io.abort?.removeEventListener("abort", kill));
  if (io.stdin) io.stdin.unpipe(run.child.stdin!);
  safeAppend(record, "exec-exited", { command, status: status.status, signal: status.signal });
  return status;
}
