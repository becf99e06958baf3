// `airlock sandbox create|exec|list|destroy`: detached local sandboxes, owned by the shared
// supervisor so that they outlive this command.
import { parseArgs } from "util";
import type { Command } from "./command";
import { CliError, makeOutput } from "./output";
import type { SandboxStatus } from "../components/local/lifecycle";

// Each subcommand requires what it uses when it runs: `sandbox exec`, which an eval harness calls
// hundreds of times per sample, must not load the spec validators or the sandbox builder.
const naming = () => require("../components/naming") as typeof import("../components/naming");
const cliSupport = () => require("../components/local/cli-support") as typeof import("../components/local/cli-support");
const localSandbox = () => require("../components/local/sandbox") as typeof import("../components/local/sandbox");
const lifecycle = () => require("../components/local/lifecycle") as typeof import("../components/local/lifecycle");
const supervisorClient = () => require("../components/local/supervisor-client") as typeof import("../components/local/supervisor-client");
const sandboxExec = () => require("../components/local/sandbox-exec") as typeof import("../components/local/sandbox-exec");
const handles = () => require("../components/local/handle") as typeof import("../components/local/handle");
const hostExec = () => require("../components/host/exec") as typeof import("../components/host/exec");

const USAGE = [
  "airlock sandbox create <spec.yaml> [--no-workload] [--json]   create a detached local sandbox, print its id",
  "airlock sandbox exec <id> -- <command...>                     run a command inside it (same confinement); exit with its status",
  "airlock sandbox exec --interactive <id> [-- <command...>]      a shell (or the command) on a pty of the sandbox's own; default /bin/bash -i",
  "airlock sandbox list [--json]                                  list local sandboxes",
  "airlock sandbox destroy <id> [--json]                          destroy one",
].join("\n       ");

async function create(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: "boolean", default: false }, "no-workload": { type: "boolean", default: false } }, allowPositionals: true });
  const out = makeOutput(!!values.json);
  if (positionals.length !== 1) throw new CliError("expected exactly one spec file", "usage: airlock sandbox create <spec.yaml> [--no-workload] [--json]", 2);
  const { spec, taskDir, experiment } = cliSupport().loadLocalSpec(positionals[0]);
  localSandbox().checkHost();
  const recovered = await lifecycle().recoverDeadSandboxes();
  if (recovered.length) out.progress(`recovered ${recovered.length} sandbox(es) left behind by dead runs`);
  if (experiment) out.progress(`note: spec.chaos.experiment runs only with \`airlock run\`; for a detached sandbox use \`airlock chaos run ${experiment} --sandbox <id>\``);
  const identity = naming().identityFor(spec);
  const handle = await supervisorClient().supervisedCreate(spec, { identity, taskDir, startWorkload: !values["no-workload"], progress: (m) => out.progress(m) });
  out.result(
    { ok: true, id: handle.id, expiresAt: handle.expiresAt, record: handle.record, gate: Object.fromEntries(Object.entries(handle.gate.proxies).map(([k, p]) => [k, p.listen])), supervisor: handle.supervisor },
    (r) => r.id,
  );
  return 0;
}

const interactiveMode = () => require("../components/local/control/interactive") as typeof import("../components/local/control/interactive");
const EXEC_USAGE = "usage: airlock sandbox exec [--interactive|-i] <id> -- <command...>";

async function exec(args: string[]): Promise<number> {
  const dash = args.indexOf("--");
  const before = dash >= 0 ? args.slice(0, dash) : args;
  let cmd = dash >= 0 ? args.slice(dash + 1) : [];
  const flags = before.filter((a) => a.startsWith("-"));
  const ids = before.filter((a) => !a.startsWith("-"));
  const unknown = flags.filter((f) => f !== "--interactive" && f !== "-i");
  if (unknown.length) throw new CliError(`unknown option ${unknown[0]} of sandbox exec`, EXEC_USAGE, 2);
  const interactive = flags.length > 0;
  if (interactive && cmd.length === 0) cmd = ["/bin/bash", "-i"];
  if (ids.length !== 1 || cmd.length === 0) throw new CliError("expected a sandbox id, then -- and a command", EXEC_USAGE, 2);
  hostExec().requireRoot("airlock sandbox exec");
  // A terminal is never passed in (a process holding a tty can push input back into it: the host's
  // shell). Piped input is copied in; --interactive gives the command a pty of the sandbox's own and
  // relays the caller's terminal, in raw mode, over the same pipes (control/interactive.ts).
  let restore = () => undefined as void;
  let io: { stdin?: NodeJS.ReadStream; stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream } = { stdin: process.stdin.isTTY ? undefined : process.stdin, stdout: process.stdout, stderr: process.stderr };
  if (interactive) {
    const pty = interactiveMode();
    cmd = pty.interactiveCommand(cmd, process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined);
    io = { ...io, stdin: process.stdin };
    restore = pty.rawTerminal(process.stdin);
  }
  try {
    // A sandbox the running supervisor owns: the supervisor starts the command (it has the record
    // open and its lock helper warm), so this process only talks to a socket. Any other sandbox (one
    // owned by `airlock run` or `airlock serve`): started from here, with the same confinement.
    const client = supervisorClient();
    const h = handles().loadHandle(ids[0]);
    if (h && client.supervisorOwns(h.supervisor)) return (await client.supervisedExec(ids[0], cmd, io)).status;
    const status = await sandboxExec().execInSandbox(ids[0], cmd, io);
    return status.status;
  } finally {
    restore();
    if (interactive) process.stdin.pause(); // the session is over: a terminal on stdin must not keep this process alive
  }
}

function formatList(list: SandboxStatus[]): string {
  if (list.length === 0) return "no local sandboxes";
  const rows = list.map((s) => [s.id, s.state, s.expired ? `EXPIRED ${s.expiresAt}` : s.expiresAt, String(s.processes), s.supervisor, Object.entries(s.gate).map(([k, v]) => `${k}=${v}`).join(" ") || "-"]);
  const head = ["ID", "STATE", "EXPIRES", "PROCS", "OWNER", "GATE"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

async function list(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } }, allowPositionals: false });
  const out = makeOutput(!!values.json);
  out.result(lifecycle().listSandboxes(), formatList);
  return 0;
}

async function destroy(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: "boolean", default: false } }, allowPositionals: true });
  const out = makeOutput(!!values.json);
  if (positionals.length !== 1) throw new CliError("expected exactly one sandbox id", "usage: airlock sandbox destroy <id>", 2);
  localSandbox().checkHostForCleanup("airlock sandbox destroy");
  const r = await lifecycle().destroySandboxById(positionals[0], "airlock sandbox destroy", (m) => out.progress(m));
  out.result({ ok: r.leftovers.length === 0, ...r }, (x) => `destroyed ${x.id} (${x.via}); record ${x.record}${x.leftovers.length ? `\nleft over: ${x.leftovers.join("; ")}` : ""}`);
  return r.leftovers.length ? 1 : 0;
}

const SUB: Record<string, (args: string[]) => Promise<number>> = { create, exec, list, ls: list, destroy, rm: destroy };

export const command: Command = {
  summary: "create, exec in, list and destroy detached local sandboxes",
  usage: USAGE,
  async run(args) {
    const [sub, ...rest] = args;
    const fn = SUB[sub];
    if (!fn) throw new CliError(sub ? `unknown subcommand 'sandbox ${sub}'` : "missing subcommand", `usage: ${USAGE}`, 2);
    return fn(rest);
  },
};
