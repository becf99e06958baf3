// The validators under a time and memory bound: runs in a worker thread (see bounded-validate.ts),
// validates case after case, and publishes the number of the case it is on in shared memory before
// starting it, so that the main thread can tell a case that hangs (or blows the heap limit) by number.
// Checks, for every case, what must hold whatever the input: no exception, a result of the documented
// shape, issues that name a path, say what is wrong and how to fix it, and — for accepted documents —
// the safety properties the validators promise (bounds of the plan, TTL, reserved tags).
import { parentPort, workerData } from "worker_threads";
import { validateExperiment } from "../../chaos/experiment/validate";
import { validateSpec } from "../../components/spec";
import { mutatedCase } from "./mutate";

export interface WorkerJob {
  kind: "experiment" | "spec";
  /** Fixed documents (validated in order), or seeds to mutate from. */
  docs?: unknown[];
  seeds?: unknown[];
  count: number;
  seed: number;
  /** Int32Array over it: [0] = 1 + the case in progress, [1] = cases done. */
  progress: SharedArrayBuffer;
}

export interface WorkerSummary {
  cases: number;
  accepted: number;
  refused: number;
  failures: { i: number; steps: string[]; problem: string }[];
  maxCaseMs: number;
  maxCase: number;
  medianCaseMs: number;
  heapUsedMaxMb: number;
}

/** Stand-ins for a validator that hangs or allocates without bound: the harness's positive controls. */
export const SPIN_FOREVER = "<fuzz harness control: spin forever>";
export const ALLOCATE_FOREVER = "<fuzz harness control: allocate forever>";

function control(doc: unknown): void {
  if (doc === SPIN_FOREVER) for (;;);
  if (doc === ALLOCATE_FOREVER) {
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(1 << 16).fill(hoard.length));
  }
}

// Independent of the code under test: the documented limits, written out here.
const HOUR = 3_600_000;
const EXPERIMENT_CAP_MS = 2 * HOUR;
const TTL_MAX_MS = 24 * HOUR;
const TTL_MAX_UNSAFE_MS = 7 * 24 * HOUR;
const T0 = new Date("2026-03-02T10:00:07.000Z");

function issueProblems(issues: unknown): string | undefined {
  if (!Array.isArray(issues) || issues.length === 0) return "refused without any issue";
  for (const i of issues as any[]) {
    if (!i || typeof i.path !== "string" || i.path === "") return `an issue without a path: ${JSON.stringify(i)?.slice(0, 200)}`;
    if (typeof i.message !== "string" || i.message.trim() === "") return `issue at ${i.path} says nothing`;
    if (typeof i.fix !== "string" || i.fix.trim() === "") return `issue at ${i.path} has no fix`;
  }
  JSON.stringify(issues); // what `--json` prints: must not throw (cycles, BigInt)
  return undefined;
}

function experimentProblems(doc: unknown): { ok: boolean; problem?: string } {
  const r = validateExperiment(doc, { t0: T0 });
  if (!r.ok) return { ok: false, problem: issueProblems(r.issues) };
  const e = r.experiment;
  if (!(e.maxDuration > 0 && e.maxDuration <= EXPERIMENT_CAP_MS)) return { ok: true, problem: `accepted maxDuration ${e.maxDuration} ms` };
  const horizon = e.maxDuration - e.baseline - e.recovery;
  const total = e.baseline + r.plan.timelineMs + e.recovery;
  if (!(total <= e.maxDuration)) return { ok: true, problem: `accepted a run of ${total} ms, longer than maxDuration ${e.maxDuration} ms` };
  if (r.plan.windows.length > 10_000) return { ok: true, problem: `accepted ${r.plan.windows.length} windows` };
  for (const w of r.plan.windows) if (!(w.startMs >= 0 && w.endMs > w.startMs && w.endMs <= horizon)) return { ok: true, problem: `accepted window ${w.id} ${w.startMs}..${w.endMs} outside 0..${horizon}` };
  return { ok: true };
}

function specProblems(doc: unknown): { ok: boolean; problem?: string } {
  const r = validateSpec(doc);
  if (!r.ok) return { ok: false, problem: issueProblems(r.issues) };
  const s = r.spec;
  const maxTtl = s.unsafe.allowLongTtl ? TTL_MAX_UNSAFE_MS : TTL_MAX_MS;
  if (!(s.ttlMs >= 60_000 && s.ttlMs <= maxTtl)) return { ok: true, problem: `accepted ttl ${s.ttl} (${s.ttlMs} ms) with allowLongTtl ${s.unsafe.allowLongTtl}` };
  const reserved = Object.keys(s.tags).find((k) => /^airlock/i.test(k));
  if (reserved) return { ok: true, problem: `accepted the reserved tag key '${reserved}'` };
  if (s.workload.user === "root" && !s.unsafe.runAsRoot) return { ok: true, problem: "accepted a root workload without unsafe.runAsRoot" };
  if (!s.canaries.enabled && !s.unsafe.noCanaries) return { ok: true, problem: "accepted canaries off without unsafe.noCanaries" };
  return { ok: true };
}

function main(job: WorkerJob): WorkerSummary {
  const progress = new Int32Array(job.progress);
  const times: number[] = [];
  const summary: WorkerSummary = { cases: 0, accepted: 0, refused: 0, failures: [], maxCaseMs: 0, maxCase: -1, medianCaseMs: 0, heapUsedMaxMb: 0 };
  const check = job.kind === "experiment" ? experimentProblems : specProblems;
  for (let i = 0; i < job.count; i++) {
    const { doc, steps } = job.docs ? { doc: job.docs[i % job.docs.length], steps: ["(fixed document)"] } : mutatedCase(job.seeds!, job.seed, i);
    Atomics.store(progress, 0, i + 1);
    const t = performance.now();
    let outcome: { ok: boolean; problem?: string };
    try {
      control(doc);
      outcome = check(doc);
    } catch (e: any) {
      outcome = { ok: false, problem: `threw ${e?.stack?.split("\n").slice(0, 4).join(" | ") ?? e}` };
    }
    const ms = performance.now() - t;
    times.push(ms);
    if (ms > summary.maxCaseMs) [summary.maxCaseMs, summary.maxCase] = [ms, i];
    summary.cases++;
    if (outcome.ok) summary.accepted++;
    else summary.refused++;
    if (outcome.problem && summary.failures.length < 10) summary.failures.push({ i, steps, problem: outcome.problem });
    Atomics.store(progress, 1, i + 1);
    if (i % 256 === 0) summary.heapUsedMaxMb = Math.max(summary.heapUsedMaxMb, process.memoryUsage().heapUsed / 2 ** 20);
  }
  times.sort((a, b) => a - b);
  summary.medianCaseMs = times[Math.floor(times.length / 2)] ?? 0;
  summary.heapUsedMaxMb = Math.max(summary.heapUsedMaxMb, process.memoryUsage().heapUsed / 2 ** 20);
  return summary;
}

// Protocol (bounded-validate.ts): "ready" -> [baseline -> "baseline" summary] -> "go" -> summary.
if (parentPort) {
  const job = workerData as WorkerJob & { baseline?: { docs: unknown[]; count: number } };
  parentPort.on("message", (m) => {
    if (m === "baseline") parentPort!.postMessage({ baseline: main({ ...job, docs: job.baseline!.docs, count: job.baseline!.count }) });
    else if (m === "go") parentPort!.postMessage({ summary: main(job) });
  });
  parentPort.postMessage({ ready: true });
}
