// `airlock chaos run <experiment.yaml> --sandbox <id> [--json]`
// `airlock chaos validate <experiment.yaml> [--sandbox <id>] [--json]`
//
// run: validates the experiment against the running sandbox, applies its faults on schedule, measures
// their effects, and undoes everything on every exit path (Ctrl-C / SIGTERM included); prints the
// report's paths. Exit codes: 0 completed, 3 stopped early (stop condition, steady state, maxDuration),
// 2 invalid experiment (nothing applied), 1 failed (rolled back), 128+n interrupted by signal n.
// validate: checks the file (with --sandbox: also against that sandbox) and prints the planned windows.
import { parseArgs } from "util";
import { guardSignals } from "../components/host/signals";
import { loadHandle, LocalSandboxHandle } from "../components/local/handle";
import { formatDurationMs } from "../components/spec/units";
import { probeTarget } from "../chaos/capabilities";
import { ExperimentError } from "../chaos/experiment/issues";
import { readExperimentDocument } from "../chaos/experiment/load";
import { validateExperiment } from "../chaos/experiment/validate";
import type { Plan } from "../chaos/schedule/plan";
import { runChaos } from "../chaos/runner";
import { chaosTargetFromLocalHandle } from "../components/local/chaos-target";
import type { Command } from "./command";
import { CliError, makeOutput } from "./output";

const USAGE = "airlock chaos run <experiment.yaml> --sandbox <id> [--json]\n       airlock chaos validate <experiment.yaml> [--sandbox <id>] [--json]";
const SIGNAL_CODES: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: { sandbox: { type: "string" }, json: { type: "boolean", default: false } }, allowPositionals: true, strict: true });
  } catch (e: any) {
    throw new CliError(e.message, `usage: ${USAGE}`, 2);
  }
}

function sandboxHandle(id: string | undefined): LocalSandboxHandle {
  if (!id) throw new CliError("which sandbox? no --sandbox given and the experiment names none", "pass --sandbox <id> (see `airlock sandbox list`)", 2);
  const handle = loadHandle(id);
  if (!handle) throw new CliError(`no running local sandbox '${id}'`, "see `airlock sandbox list` for the sandboxes on this host", 1);
  if (handle.state && handle.state !== "running") throw new CliError(`sandbox '${id}' is ${handle.state}${handle.killed ? ` (${handle.killed.rule}: ${handle.killed.detail})` : ""}`, "create a new sandbox to run the experiment against", 1);
  return handle;
}

function planLines(plan: Plan): string[] {
  return plan.windows.map((w) => {
    const a = w.action;
    const where = a.upstream ? ` on ${a.upstream}${a.stream ? ` (${a.stream})` : ""}` : "";
    const ramp = a.ramp ? `, ramp ${JSON.stringify(w.steps[0].params)} -> ${w.steps.length} steps` : "";
    const how = a.packetLoss ? `, as ${a.packetLoss.mechanism}` : "";
    const sec = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    return `  ${sec(w.startMs).padStart(7)} .. ${sec(w.endMs).padEnd(7)} ${w.id.padEnd(24)} ${a.fault}${where}${ramp}${how}`;
  });
}

async function validate(file: string, sandbox: string | undefined, json: boolean): Promise<number> {
  const out = makeOutput(json);
  const doc = readExperimentDocument(file);
  const probe = sandbox ? await probeTarget(chaosTargetFromLocalHandle(sandboxHandle(sandbox)), { packetLoss: true }) : undefined;
  const result = validateExperiment(doc, probe?.context ?? {});
  const issues = [...(probe?.issues ?? []), ...result.issues];
  if (issues.length > 0 || !result.ok) throw new ExperimentError(issues, file);
  const { experiment, plan } = result;
  out.result(
    { ok: true, experiment: experiment.name, checkedAgainst: sandbox ?? null, timelineMs: plan.timelineMs, maxDurationMs: experiment.maxDuration, windows: plan.windows.map((w) => ({ id: w.id, fault: w.action.fault, upstream: w.action.upstream, startMs: w.startMs, endMs: w.endMs, steps: w.steps, mechanism: w.action.packetLoss })) },
    () =>
      [
        `${file}: valid${sandbox ? ` for sandbox ${sandbox}` : " (run with --sandbox <id> to check it against a sandbox too)"}: '${experiment.name}', ${plan.windows.length} fault window(s), timeline ${formatDurationMs(plan.timelineMs)}, maxDuration ${formatDurationMs(experiment.maxDuration)}`,
        ...planLines(plan),
      ].join("\n"),
  );
  return 0;
}

async function run(file: string, sandbox: string | undefined, json: boolean): Promise<number> {
  const out = makeOutput(json);
  const doc = readExperimentDocument(file) as any;
  const handle = sandboxHandle(sandbox ?? (typeof doc?.sandbox === "string" ? doc.sandbox : undefined));
  const controller = new AbortController();
  let running: Promise<unknown> | undefined;
  // The first signal aborts the run, which undoes everything before it returns; the guard ignores
  // further signals meanwhile (dying half-way would leave faults on until the watchdog acts).
  const guard = guardSignals(
    async (signal) => {
      controller.abort(signal);
      await running?.catch(() => undefined);
    },
    { exit: false },
  );
  try {
    const p = runChaos(chaosTargetFromLocalHandle(handle), file, { signal: controller.signal, progress: (m) => out.progress(m) });
    running = p;
    const result = await p;
    out.result(
      { ok: result.status === "completed", status: result.status, aborted: result.aborted, summary: result.summary, report: { json: result.reportPath, html: result.htmlPath }, rollback: { complete: result.report.rollback.complete, verified: result.report.rollback.verified } },
      () => `${result.summary}\nreport: ${result.htmlPath}\n        ${result.reportPath}`,
    );
    if (guard.received) return 128 + (SIGNAL_CODES[guard.received] ?? 0);
    return result.status === "completed" ? 0 : 3;
  } finally {
    guard.dispose();
  }
}

export const command: Command = {
  summary: "run or validate a chaos experiment (network faults, packet loss, resource starvation) with guaranteed rollback",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parse(args);
    const [sub, file, ...extra] = positionals;
    if (!sub || !file || extra.length || !["run", "validate"].includes(sub)) throw new CliError(sub && !["run", "validate"].includes(sub) ? `unknown chaos command '${sub}'` : "missing arguments", `usage: ${USAGE}`, 2);
    return sub === "validate" ? validate(file, values.sandbox, values.json!) : run(file, values.sandbox, values.json!);
  },
};
