// The chaos runner: runs one experiment against one target, and whatever happens, leaves nothing
// applied.
//
//   1. undo what dead chaos runners left (their journals), so faults never stack on leftovers;
//   2. probe the target and validate the whole experiment against it — nothing is applied if
//      anything is wrong;
//   3. open the undo journal (deadline = maxDuration + grace) and start the watchdog process;
//   4. baseline: measure, check the steady state (if it does not hold, stop here);
//   5. timeline: start / ramp / stop each window at its time; probes and stop conditions run along;
//   6. rollback (normal end, stop condition, error, signal, max duration): every fault undone
//      through the journal, then every old value read back;
//   7. recovery: measure on, check the steady state came back;
//   8. report (JSON + HTML) and a `chaos-report` event in the sandbox record.
// If this process is SIGKILLed or hangs, the watchdog (or `airlock recover`, or the next run) undoes
// what the journal holds.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { readJournal, recoverJournals, RecoveryResult, UndoJournal } from "../components/host/journal";
import { selfRef } from "../components/host/process";
import { ToxiproxyAdmin } from "../components/host/toxiproxy";
import { formatDurationMs } from "../components/spec/units";
import { probeTarget } from "./capabilities";
import { faultDef } from "./experiment/catalogue";
import { ExperimentError } from "./experiment/issues";
import { readExperimentDocument } from "./experiment/load";
import type { Experiment, Probe } from "./experiment/schema";
import { validateExperiment } from "./experiment/validate";
import type { FaultContext } from "./faults/types";
import { clock } from "./measure/clock";
import { Periodic, sleep, sleepUntil } from "./measure/loop";
import { CgroupSampler, MeasuredRequest, NetworkSampler } from "./measure/sampler";
import { ProbeResult, runProbe } from "./probes";
import { computeEffects, AbortReason, ChaosReport, REPORT_SCHEMA, RunStatus, summarizeReport, WindowRun } from "./report/report";
import { appendReportToRecord, appendToRecord, writeReport } from "./report/write";
import { rollbackAll, RollbackResult } from "./rollback";
import { StopConditionWatch } from "./stop-conditions";
import { TimelineExecutor } from "./executor";
import type { Plan } from "./schedule/plan";
import { timelineEvents } from "./schedule/timeline";
import { cgroupOf, ChaosTarget } from "./target";
import "./undo-kinds";
import { startWatchdog, Watchdog } from "./watchdog";

export const CHAOS_PURPOSE = "chaos";
/**
 * Time the runner has after maxDuration to finish its own rollback before the watchdog steps in: a
 * quarter of maxDuration, at least 3 s (a rollback takes milliseconds, or seconds when an admin call
 * times out), at most 15 s.
 */
export function rollbackGraceMs(maxDurationMs: number): number {
  return Math.min(15_000, Math.max(3_000, Math.round(maxDurationMs / 4)));
}

export interface RunChaosOptions {
  signal?: AbortSignal;
  progress?: (msg: string) => void;
  /** Default true. Only tests that simulate a host crash (runner and watchdog both gone) turn it off. */
  watchdog?: boolean;
  watchdogPollMs?: number;
}

export interface ChaosRunResult {
  status: RunStatus;
  aborted: boolean;
  summary: string;
  reportPath: string;
  htmlPath: string;
  report: ChaosReport;
}

/** The run failed (not a stop condition): everything was rolled back (see `report.rollback`). */
export class ChaosRunError extends Error {
  constructor(
    message: string,
    public readonly reportPath: string,
    public readonly report: ChaosReport,
  ) {
    super(message);
    this.name = "ChaosRunError";
  }
  get hint(): string {
    return this.report.rollback.complete ? `everything was rolled back; see the report ${this.report.files?.html}` : "run `airlock recover` to undo what is left";
  }
}

export function journalOwner(target: ChaosTarget): string {
  return `chaos-${target.id}`;
}

function loadValidated(doc: unknown, file: string, probe: Awaited<ReturnType<typeof probeTarget>>): { experiment: Experiment; plan: Plan } {
  const result = validateExperiment(doc, probe.context);
  const issues = [...probe.issues, ...result.issues];
  if (issues.length > 0 || !result.ok) throw new ExperimentError(issues, file);
  return { experiment: result.experiment, plan: result.plan };
}

/** The requests the sampler times: the experiment's, or one http request per upstream a network fault names. */
function measuredRequests(exp: Experiment, target: ChaosTarget): MeasuredRequest[] {
  const specs =
    exp.measure.requests ??
    [...new Set(exp.actions.filter((a) => faultDef(a.fault).category === "network").map((a) => a.upstream!))].map((upstream) => ({ upstream, kind: "http" as const, path: "/", send: "ping\n" }));
  return specs.map((r) => ({ ...r, listen: target.gate!.proxies[r.upstream].listen }));
}

export async function runChaos(target: ChaosTarget, experimentFile: string, opts: RunChaosOptions = {}): Promise<ChaosRunResult> {
  const progress = opts.progress ?? (() => undefined);

  // 1. Leftovers of dead runs first.
  const recovered: RecoveryResult[] = (await recoverJournals({ purpose: CHAOS_PURPOSE })).filter((r) => r.action !== "skipped-live" && r.action !== "nothing");
  for (const r of recovered) progress(`recovered leftovers of a dead chaos run (${r.owner}): ${r.outcomes.filter((o) => o.ok).length}/${r.outcomes.length} change(s) undone`);

  // 2. Validate against the target.
  const doc = readExperimentDocument(experimentFile);
  const actions = (doc as any)?.actions;
  const probe = await probeTarget(target, { packetLoss: Array.isArray(actions) && actions.some((a: any) => a?.fault === "packet-loss") });
  const { experiment: exp, plan } = loadValidated(doc, experimentFile, probe);
  const runStart = plan.t0.getTime() - exp.baseline;
  const runId = `${new Date(runStart).toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${crypto.randomBytes(3).toString("hex")}`;
  progress(`experiment '${exp.name}': ${plan.windows.length} fault window(s) over ${formatDurationMs(plan.timelineMs)} (max ${formatDurationMs(exp.maxDuration)}), run ${runId}`);
  for (const a of exp.actions) if (a.packetLoss) progress(`packet loss '${a.name}' will run as ${a.packetLoss.mechanism} (${a.packetLoss.reason})`);

  // 3. Journal, then the watchdog, before any fault.
  const owner = journalOwner(target);
  const hardDeadline = new Date(runStart + exp.maxDuration + rollbackGraceMs(exp.maxDuration));
  const journal = UndoJournal.open(owner, { purpose: CHAOS_PURPOSE, deadline: hardDeadline });
  let watchdog: Watchdog | undefined;
  try {
    if (opts.watchdog !== false) watchdog = startWatchdog({ owner, journalFile: journal.file, deadline: hardDeadline, runner: selfRef(), pollMs: opts.watchdogPollMs });
  } catch (e) {
    journal.close();
    throw e;
  }

  try {
    return await runJournaled(target, experimentFile, exp, plan, { runId, runStart, journal, probe, recovered, progress, signal: opts.signal });
  } finally {
    // Whatever happened, the guard stays only while something may still be applied.
    if (journal.pending().length === 0 && !isClosed(journal)) journal.close();
    if (isClosed(journal)) watchdog?.stop();
  }
}

const isClosed = (j: UndoJournal) => readJournal(j.file).closed;

interface RunContext {
  runId: string;
  runStart: number;
  journal: UndoJournal;
  probe: Awaited<ReturnType<typeof probeTarget>>;
  recovered: RecoveryResult[];
  progress: (msg: string) => void;
  signal?: AbortSignal;
}

/** Steps 4-8, with the journal open and the watchdog running. */
async function runJournaled(target: ChaosTarget, experimentFile: string, exp: Experiment, plan: Plan, rc: RunContext): Promise<ChaosRunResult> {
  const { runId, runStart, journal, progress, signal } = rc;
  const since = () => clock() - runStart;
  const at = () => `t+${(since() / 1000).toFixed(1)}s`;
  const report = initialReport(target, experimentFile, exp, plan, runId, runStart, rc.probe.context, rc.recovered);
  const recordNote = appendToRecord(target.record, "chaos-start", { runId, experiment: exp.name, windows: plan.windows.length, maxDurationMs: exp.maxDuration, journal: journal.file });
  if (recordNote) progress(`note: not recorded in the sandbox record: ${recordNote}`);

  // Everything that can end the timeline early goes through one AbortController.
  const abort = new AbortController();
  let abortReason: AbortReason | undefined;
  const abortWith = (kind: AbortReason["kind"], detail: string) => {
    if (abort.signal.aborted) return;
    abortReason = { kind, detail, atMs: Math.round(since()) };
    progress(`${at()} stopping: ${kind}: ${detail}`);
    abort.abort();
  };
  const onSignal = () => abortWith("signal", String(signal?.reason ?? "aborted by the caller"));
  if (signal?.aborted) onSignal();
  signal?.addEventListener("abort", onSignal, { once: true });
  const deadlineTimer = setTimeout(() => abortWith("max-duration", `maxDuration ${formatDurationMs(exp.maxDuration)} reached`), Math.max(0, runStart + exp.maxDuration - clock()));

  const cg = target.cgroup ? cgroupOf(target.cgroup) : undefined;
  const ctx: FaultContext = { journal, target, admin: target.gate ? new ToxiproxyAdmin(target.gate.adminUrl) : undefined, cgroup: cg, runId, applied: [] };
  const net = new NetworkSampler(target.gate ? measuredRequests(exp, target) : [], exp.measure.interval, exp.measure.timeout, runStart).start();
  const cgs = cg ? new CgroupSampler(cg, exp.measure.interval, runStart).start() : undefined;
  const stops = new StopConditionWatch(exp.stopConditions, target, exp.measure.interval, (detail) => abortWith("stop-condition", detail)).start();
  const onProbe = (r: ProbeResult) => {
    report.probes.push(r);
    stops.onProbe(r);
  };
  const executor = new TimelineExecutor(ctx, new Map(report.windows.map((w) => [w.id, w])), since, exp.baseline, progress);
  const probesDuring: Periodic[] = [];
  let error: Error | undefined;
  let rollback!: RollbackResult;
  try {
    // 4. Baseline, and the steady state before any fault.
    const before = await runProbes(exp.steadyState.probes, "before", target, runStart, onProbe);
    report.steadyState.before = before.ok;
    if (before.ok === false) abortWith("steady-state", `the steady state does not hold before any fault: ${before.failed}`);
    else progress(`${at()} baseline: measuring for ${formatDurationMs(exp.baseline)}${before.ok ? "; steady state holds" : ""}`);
    await sleepUntil(runStart + exp.baseline, abort.signal);

    // 5. Timeline.
    if (!abort.signal.aborted) for (const p of exp.steadyState.probes.filter((p) => p.phases.includes("during"))) probesDuring.push(probeLoop(p, target, runStart, onProbe).start());
    for (const ev of timelineEvents(plan.windows)) {
      await sleepUntil(runStart + exp.baseline + ev.atMs, abort.signal); // never before the tick
      if (abort.signal.aborted) break;
      await executor.execute(ev);
    }
  } catch (e: any) {
    error = e;
    abortWith("error", e.message);
  } finally {
    // 6. Rollback, whatever happened.
    clearTimeout(deadlineTimer);
    await Promise.all(probesDuring.map((p) => p.stop()));
    rollback = await rollbackAll(journal, executor.active, ctx.applied);
    progress(`${at()} rollback ${rollback.complete ? "complete" : "INCOMPLETE"}${rollback.verified ? ", verified" : `: ${rollback.problems.join("; ")}`} (${rollback.ms.toFixed(1)} ms)`);
    await stops.end();
  }
  report.phases.timelineEndMs = r2(since());

  // 7. Recovery: did the steady state come back? (Skipped when interrupted or broken.)
  if (abortReason?.kind !== "signal" && !error && rollback.complete) {
    await sleep(exp.recovery, signal);
    report.steadyState.after = (await runProbes(exp.steadyState.probes, "after", target, runStart, onProbe)).ok;
  }
  await net.stop();
  await cgs?.stop();
  signal?.removeEventListener("abort", onSignal);
  if (rollback.complete) journal.close();

  // 8. Report.
  const status: RunStatus = error ? "error" : !abortReason ? "completed" : abortReason.kind === "signal" ? "interrupted" : abortReason.kind === "steady-state" ? "steady-state-not-met" : "aborted";
  Object.assign(report, {
    endedAt: new Date().toISOString(),
    status,
    aborted: status !== "completed",
    abortReason,
    error: error?.message,
    rollback,
    samples: { network: net.samples, cgroup: cgs?.samples ?? [] },
  });
  report.phases.endMs = r2(since());
  computeEffects(report);
  report.summary = summarizeReport(report);
  const dir = path.join(target.reportDir, `${exp.name}-${runId}`);
  const files = writeReport(report, dir);
  const recordProblem = appendReportToRecord(report, target.record);
  if (recordProblem) progress(`note: report not appended to the sandbox record: ${recordProblem}`);
  progress(`report: ${files.html}`);
  const result: ChaosRunResult = { status, aborted: report.aborted, summary: report.summary, reportPath: files.json, htmlPath: files.html, report };
  if (status === "error") throw new ChaosRunError(`chaos run ${runId} failed: ${error!.message}; ${rollback.complete ? "everything was rolled back" : "ROLLBACK INCOMPLETE"} (report ${files.json})`, files.json, report);
  return result;
}

/** Runs the probes of one phase once; ok is null when there are none. */
async function runProbes(probes: Probe[], phase: "before" | "after", target: ChaosTarget, runStart: number, onProbe: (r: ProbeResult) => void): Promise<{ ok: boolean | null; failed: string }> {
  const mine = probes.filter((p) => p.phases.includes(phase));
  const results = await Promise.all(mine.map((p) => runProbe(p, target, phase, runStart)));
  results.forEach(onProbe);
  const failed = results.filter((r) => !r.ok);
  return { ok: mine.length ? failed.length === 0 : null, failed: failed.map((r) => `${r.probe}: ${r.detail}`).join("; ") };
}

function probeLoop(p: Probe, target: ChaosTarget, runStart: number, onProbe: (r: ProbeResult) => void): Periodic {
  return new Periodic(p.interval, async () => onProbe(await runProbe(p, target, "during", runStart)));
}

const r2 = (x: number) => Math.round(x * 100) / 100;

function initialReport(target: ChaosTarget, file: string, exp: Experiment, plan: Plan, runId: string, runStart: number, ctx: Awaited<ReturnType<typeof probeTarget>>["context"], recovered: RecoveryResult[]): ChaosReport {
  const windows: WindowRun[] = plan.windows.map((w) => ({
    id: w.id,
    action: w.action.name,
    fault: w.action.fault,
    upstream: w.action.upstream,
    stream: w.action.stream,
    resource: w.resource,
    mechanismReason: w.action.packetLoss?.reason,
    plannedStartMs: exp.baseline + w.startMs,
    plannedEndMs: exp.baseline + w.endMs,
    status: "not-started",
    steps: w.steps.map((s, i) => ({ index: i, plannedAtMs: exp.baseline + w.startMs + s.atMs, params: s.params })),
  }));
  return {
    schema: REPORT_SCHEMA,
    runId,
    sandbox: target.id,
    experiment: { name: exp.name, description: exp.description, file: path.resolve(file), sha256: crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex"), seed: exp.seed, maxDurationMs: exp.maxDuration },
    startedAt: new Date(runStart).toISOString(),
    endedAt: "",
    status: "completed",
    aborted: false,
    host: { cgroupMode: ctx.cgroup?.mode, cgroupHybrid: ctx.cgroup?.hybrid, packetLoss: ctx.packetLoss },
    phases: { baselineMs: exp.baseline, timelineStartMs: exp.baseline, timelineEndMs: 0, endMs: 0 },
    measure: { intervalMs: exp.measure.interval },
    recoveredBeforeStart: recovered.map((r) => ({ owner: r.owner, action: r.action, steps: r.outcomes.length })),
    windows,
    baseline: { network: {} },
    probes: [],
    steadyState: { before: null, after: null },
    rollback: { complete: true, verified: true, problems: [], steps: [], ms: 0 },
    samples: { network: [], cgroup: [] },
    summary: "",
  };
}
