// Automation API benchmark (npm run bench -- automation), issue 9's closing numbers:
//   1. one local sandbox created and destroyed through the real Pulumi engine (createSandbox /
//      destroySandbox, engine "pulumi": a stack per sandbox in a file backend) against the direct
//      library path (engine "direct": the same sandbox, no engine), medians, same run;
//   2. 20 samples at concurrency 5 (runMany, each running one command inside) on both paths: wall time
//      and peak memory, against a 1x1 run (one sample, concurrency 1) of the same path in the same run.
// Peak memory (bench/process-memory.ts) is split into the driver (this process: exact high-water mark),
// the engine's processes (pulumi CLI, plugins, dynamic provider) and the sandboxes' side (supervisor,
// gates, targets, workloads, exec helpers), sampled from /proc every 100 ms; total RSS and PSS too.
// Writes bench/results/automation.json. Needs root (local sandboxes) and the engine
// (bin/setup-tests.d/20-pulumi-engine.sh).
//
// Signals (bench/teardown.ts): every sandbox is made or run with the teardown's signal, so SIGINT/SIGTERM
// stops new samples, waits for creates under way, destroys every live sandbox and its stack, checks the
// backend has no stack left, and exits 130/143.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

process.env.AIRLOCK_STATE_DIR = process.env.AIRLOCK_STATE_DIR || fs.mkdtempSync(path.join(os.tmpdir(), "airlock-bench-state-"));
process.env.AIRLOCK_QUIET = "1";

import { createSandbox, destroySandbox, runMany, requirePulumi, liveSandboxes, EngineChoice, ProgressEvent } from "../automation";
import { summarize } from "../chaos/measure/stats";
import { backendStacks, sampleSpec, TASK_DIR } from "../test/helpers/automation-fixtures";
import { benchTeardown } from "./teardown";
import { processesGone } from "./state-dir-processes";
import { sampleMemory, MemoryPeaks } from "./process-memory";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 3);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 5);
const STATE = process.env.AIRLOCK_STATE_DIR!;

const median = (xs: number[]) => summarize(xs)!.p50;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

const bench = benchTeardown("automation");
/** The stacks' file backend (made in main): removed when no stack is left in it, else kept as evidence. */
let backend = "";
const makeBackend = () =>
  bench.make(
    (dir) => `file backend ${dir} (checked for stacks left, then removed)`,
    () => (backend = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-bench-backend-"))),
    (dir) => {
      const left = backendStacks(dir);
      if (left.length) throw new Error(`${left.length} stack(s) left in ${dir} (${left.join(", ")}): kept for \`pulumi destroy\``);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  );
/** What the runMany under way did (its sandboxes are runMany's to destroy: the teardown waits for it). */
let manyUnderWay: { label: string; created: Set<string>; destroyed: Set<string>; failed: Map<string, string[]> } | undefined;
bench.atLast("runMany under way", () => {
  if (!manyUnderWay) return "none";
  const m = manyUnderWay;
  const failed = [...m.failed].map(([reason, names]) => `${names.length} (${names.join(", ")}): ${reason}`);
  return `${m.label}: ${m.created.size} sandbox(es) created, ${m.destroyed.size} destroyed after their sample; aborted or failed (each destroyed by withSandbox): ${failed.join("; ") || "none"}`;
});
bench.atLast("sandboxes still live in this process destroyed", async () => {
  const live = liveSandboxes();
  await Promise.all(live.map((sb) => destroySandbox(sb)));
  return `${live.length}`;
});
bench.atLast("processes of this state dir gone (supervisor, gates)", async () => {
  const left = await processesGone(STATE, 30_000);
  if (left.length) throw new Error(`still running after 30 s: pids ${left.join(", ")}`);
});

async function single(engine: EngineChoice): Promise<{ create: number; destroy: number }> {
  const t0 = process.hrtime.bigint();
  const sb = await bench.make((s) => `sandbox ${s.outputs.sandboxId} (${engine}${s.stackName ? `, stack ${s.stackName}` : ""})`, () => createSandbox(sampleSpec(`bench-${engine}`), { engine, stateDir: backend, taskDir: TASK_DIR, signal: bench.signal }), destroySandbox);
  const create = ms(t0);
  const t1 = process.hrtime.bigint();
  await sb.undo();
  return { create, destroy: ms(t1) };
}

interface ManyRun extends MemoryPeaks {
  samples: number;
  concurrency: number;
  wallMs: number;
}

/** `samples` sandboxes, `concurrency` at once, each checking its gate from inside; memory sampled throughout. */
async function many(engine: EngineChoice, samples: number, concurrency: number): Promise<ManyRun> {
  bench.check();
  const specs = Array.from({ length: samples }, (_, i) => sampleSpec(`bench-many-${i}`));
  const memory = sampleMemory(STATE);
  let peaks: MemoryPeaks;
  try {
    // runMany destroys every sandbox it made, also when the teardown's signal aborts it; the teardown waits.
    const seen = (manyUnderWay = { label: `${engine} ${samples}x${concurrency}`, created: new Set<string>(), destroyed: new Set<string>(), failed: new Map<string, string[]>() });
    const onProgress = (e: ProgressEvent) => {
      if (e.kind === "created") seen.created.add(e.outputs.sandboxId);
      if (e.kind === "destroyed") seen.destroyed.add(e.name);
      if (e.kind === "failed") seen.failed.set(e.reason, [...(seen.failed.get(e.reason) ?? []), e.name]);
    };
    const s = await bench.track(
      runMany(specs, { engine, stateDir: backend, taskDir: TASK_DIR, concurrency, signal: bench.signal, onProgress }, async (sb) => {
        const r = await sb.exec(["python3", "-c", "import urllib.request as u; print(u.urlopen('http://model-api:8080/v1/models', timeout=15).status)"]);
        if (r.stdout.trim() !== "200") throw new Error(`gate check in ${sb.outputs.sandboxId}: ${r.stdout}${r.stderr}`);
      }),
    );
    if (s.failed) throw new Error(`${engine} ${samples}x${concurrency}: ${s.failed} of ${s.total} failed: ${s.results.filter((r) => !r.ok).map((r) => (r as any).reason).join("; ")}`);
    peaks = memory.stop();
    manyUnderWay = undefined;
    return { ...peaks, samples, concurrency, wallMs: s.wallMs };
  } finally {
    peaks ??= memory.stop(); // also when a sample failed: stop sampling
  }
}

async function main() {
  requirePulumi();
  const backendMade = await makeBackend();
  const results: any = { host: { kernel: os.release(), cpus: os.cpus().length, loadavg: os.loadavg() }, iterations: ITERATIONS, samples: SAMPLES, concurrency: CONCURRENCY };
  // Warm-up (ts-node, page cache, the engine's first start), not measured.
  await single("direct");
  await single("pulumi");
  const runs = { pulumi: { create: [] as number[], destroy: [] as number[] }, direct: { create: [] as number[], destroy: [] as number[] } };
  for (let i = 0; i < ITERATIONS; i++) {
    for (const e of ["direct", "pulumi"] as const) {
      const r = await single(e);
      runs[e].create.push(r.create);
      runs[e].destroy.push(r.destroy);
    }
  }
  const med = (e: "pulumi" | "direct") => ({ createMs: median(runs[e].create), destroyMs: median(runs[e].destroy) });
  results.single = { pulumi: med("pulumi"), direct: med("direct") };
  results.single.ratio = { create: results.single.pulumi.createMs / results.single.direct.createMs, destroy: results.single.pulumi.destroyMs / results.single.direct.destroyMs };
  // Each path's 1x1 baseline right before its 20x5, so that both see the same host state.
  const m: any = {};
  for (const e of ["direct", "pulumi"] as const) m[e] = { baseline: await many(e, 1, 1), run: await many(e, SAMPLES, CONCURRENCY) };
  const over = (a: ManyRun, b: ManyRun) => ({
    wall: a.wallMs / b.wallMs,
    driverPeakRss: a.driverPeakRssMiB / b.driverPeakRssMiB,
    enginePeakRss: b.enginePeakRssMiB > 0 ? a.enginePeakRssMiB / b.enginePeakRssMiB : null,
    sandboxPeakRss: a.sandboxPeakRssMiB / b.sandboxPeakRssMiB,
    totalPeakRss: a.totalPeakRssMiB / b.totalPeakRssMiB,
    totalPeakPss: a.totalPeakPssMiB / b.totalPeakPssMiB,
  });
  m.ratio = { pulumiRunOverBaseline: over(m.pulumi.run, m.pulumi.baseline), directRunOverBaseline: over(m.direct.run, m.direct.baseline), pulumiOverDirect: over(m.pulumi.run, m.direct.run) };
  results.many = m;
  results.stacksLeft = backendStacks(backend).length;

  const f = (n: number) => n.toFixed(1);
  const x = (r: number | null) => (r === null ? "-" : `${r.toFixed(2)}x`);
  const rows = [
    ["", "engine (pulumi)", "direct path", "ratio"],
    ["create (median, ms)", f(results.single.pulumi.createMs), f(results.single.direct.createMs), x(results.single.ratio.create)],
    ["destroy (median, ms)", f(results.single.pulumi.destroyMs), f(results.single.direct.destroyMs), x(results.single.ratio.destroy)],
  ];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ")).join("\n") + "\n\n");
  const cols: [string, (r: ManyRun) => string, (k: ReturnType<typeof over>) => number | null][] = [
    ["wall s", (r) => f(r.wallMs / 1000), (k) => k.wall],
    ["driver MiB", (r) => f(r.driverPeakRssMiB), (k) => k.driverPeakRss],
    ["engine MiB", (r) => f(r.enginePeakRssMiB), (k) => k.enginePeakRss],
    ["sandboxes MiB", (r) => f(r.sandboxPeakRssMiB), (k) => k.sandboxPeakRss],
    ["total RSS MiB", (r) => f(r.totalPeakRssMiB), (k) => k.totalPeakRss],
    ["total PSS MiB", (r) => f(r.totalPeakPssMiB), (k) => k.totalPeakPss],
  ];
  const table = [
    ["runMany (peak RSS)", ...cols.map((c) => c[0])],
    ["pulumi 1x1 (baseline)", ...cols.map((c) => c[1](m.pulumi.baseline))],
    [`pulumi ${SAMPLES}x${CONCURRENCY}`, ...cols.map((c) => c[1](m.pulumi.run))],
    [`  ratio to 1x1`, ...cols.map((c) => x(c[2](m.ratio.pulumiRunOverBaseline)))],
    ["direct 1x1 (baseline)", ...cols.map((c) => c[1](m.direct.baseline))],
    [`direct ${SAMPLES}x${CONCURRENCY}`, ...cols.map((c) => c[1](m.direct.run))],
    [`  ratio to 1x1`, ...cols.map((c) => x(c[2](m.ratio.directRunOverBaseline)))],
    [`pulumi / direct at ${SAMPLES}x${CONCURRENCY}`, ...cols.map((c) => x(c[2](m.ratio.pulumiOverDirect)))],
  ];
  const tw = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  process.stdout.write(table.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(tw[i]) : c.padStart(tw[i]))).join("  ")).join("\n") + "\n");
  process.stdout.write(
    `(median of ${ITERATIONS}; driver = this process (exact high-water mark), engine = pulumi CLI + plugins + dynamic provider (${m.pulumi.run.engineProcessesAtPeak} processes at the ${SAMPLES}x${CONCURRENCY} peak, largest one ${f(m.pulumi.run.engineLargestProcessMiB)} MiB), sandboxes = supervisor, gates, targets, workloads; engine and sandbox peaks sampled every 100 ms; stacks left in the backend: ${results.stacksLeft}; host: ${results.host.cpus} CPUs, load ${results.host.loadavg.map((v: number) => v.toFixed(1)).join(" ")})\n`,
  );
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "results", "automation.json"), JSON.stringify(results, null, 2) + "\n");
  await backendMade.undo(); // throws (the bench fails) when a stack was left
}

bench.main(main);
