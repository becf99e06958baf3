// Automation API benchmark (npm run bench -- automation), issue 9's closing numbers:
//   1. one local sandbox created and destroyed through the real Pulumi engine (createSandbox /
//      destroySandbox, engine "pulumi": a stack per sandbox in a file backend) against the direct
//      library path (engine "direct": the same sandbox, no engine), medians, same run;
//   2. 20 samples at concurrency 5 (runMany, each running one command inside): wall time and peak
//      memory through the engine against the same 20x5 on the direct path.
// Peak memory = the largest sum, sampled every 250 ms, over the harness process, its descendants and
// every process started with this benchmark's AIRLOCK_STATE_DIR (the shared supervisor and the gates
// are detached, so they are not descendants): RSS (counts shared pages once per process) and PSS.
// Writes bench/results/automation.json. Needs root (local sandboxes) and the engine
// (bin/setup-tests.d/20-pulumi-engine.sh).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

process.env.AIRLOCK_STATE_DIR = process.env.AIRLOCK_STATE_DIR || fs.mkdtempSync(path.join(os.tmpdir(), "airlock-bench-state-"));
process.env.AIRLOCK_QUIET = "1";

import { createSandbox, destroySandbox, runMany, requirePulumi, EngineChoice } from "../automation";
import { summarize } from "../chaos/measure/stats";
import { backendStacks, sampleSpec, TASK_DIR } from "../test/helpers/automation-fixtures";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 3);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 5);
const STATE = process.env.AIRLOCK_STATE_DIR!;

const median = (xs: number[]) => summarize(xs)!.p50;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function readOr(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** RSS and PSS (KiB) summed over the harness, its descendants and the processes of this state dir. */
function harnessMemoryKiB(): { rss: number; pss: number; processes: number } {
  const parent = new Map<number, number>();
  const mine = new Set<number>([process.pid]);
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    const stat = readOr(`/proc/${pid}/stat`);
    if (!stat) continue;
    parent.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    if ((readOr(`/proc/${pid}/environ`) ?? "").split("\0").includes(`AIRLOCK_STATE_DIR=${STATE}`)) mine.add(pid);
  }
  // Descendants of anything counted (children of the supervisor, of the engine, of the gates).
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parent) if (!mine.has(pid) && mine.has(ppid)) (mine.add(pid), (grew = true));
  }
  let rss = 0;
  let pss = 0;
  for (const pid of mine) {
    rss += Number(/^VmRSS:\s+(\d+)/m.exec(readOr(`/proc/${pid}/status`) ?? "")?.[1] ?? 0);
    pss += Number(/^Pss:\s+(\d+)/m.exec(readOr(`/proc/${pid}/smaps_rollup`) ?? "")?.[1] ?? 0);
  }
  return { rss, pss, processes: mine.size };
}

async function single(engine: EngineChoice, stateDir: string): Promise<{ create: number; destroy: number }> {
  const t0 = process.hrtime.bigint();
  const sb = await createSandbox(sampleSpec(`bench-${engine}`), { engine, stateDir, taskDir: TASK_DIR });
  const create = ms(t0);
  const t1 = process.hrtime.bigint();
  await destroySandbox(sb);
  return { create, destroy: ms(t1) };
}

async function many(engine: EngineChoice, stateDir: string) {
  const peak = { rss: 0, pss: 0, processes: 0 };
  const sample = () => {
    const m = harnessMemoryKiB();
    if (m.rss > peak.rss) Object.assign(peak, { rss: m.rss, processes: m.processes });
    peak.pss = Math.max(peak.pss, m.pss);
  };
  const timer = setInterval(sample, 250);
  const specs = Array.from({ length: SAMPLES }, (_, i) => sampleSpec(`bench-many-${i}`));
  try {
    const s = await runMany(specs, { engine, stateDir, taskDir: TASK_DIR, concurrency: CONCURRENCY }, async (sb) => {
      const r = await sb.exec(["python3", "-c", "import urllib.request as u; print(u.urlopen('http://model-api:8080/v1/models', timeout=15).status)"]);
      if (r.stdout.trim() !== "200") throw new Error(`gate check in ${sb.outputs.sandboxId}: ${r.stdout}${r.stderr}`);
    });
    if (s.failed) throw new Error(`${engine}: ${s.failed} of ${s.total} failed: ${s.results.filter((r) => !r.ok).map((r) => (r as any).reason).join("; ")}`);
    return { wallMs: s.wallMs, peakRssMiB: peak.rss / 1024, peakPssMiB: peak.pss / 1024, processesAtPeak: peak.processes };
  } finally {
    clearInterval(timer);
  }
}

async function main() {
  requirePulumi();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-bench-backend-"));
  const results: any = { host: { kernel: os.release(), cpus: os.cpus().length, loadavg: os.loadavg() }, iterations: ITERATIONS, samples: SAMPLES, concurrency: CONCURRENCY };
  // Warm-up (ts-node, page cache, the engine's first start), not measured.
  await single("direct", stateDir);
  await single("pulumi", stateDir);
  const runs = { pulumi: { create: [] as number[], destroy: [] as number[] }, direct: { create: [] as number[], destroy: [] as number[] } };
  for (let i = 0; i < ITERATIONS; i++) {
    for (const e of ["direct", "pulumi"] as const) {
      const r = await single(e, stateDir);
      runs[e].create.push(r.create);
      runs[e].destroy.push(r.destroy);
    }
  }
  const med = (e: "pulumi" | "direct") => ({ createMs: median(runs[e].create), destroyMs: median(runs[e].destroy) });
  results.single = { pulumi: med("pulumi"), direct: med("direct") };
  results.single.ratio = { create: results.single.pulumi.createMs / results.single.direct.createMs, destroy: results.single.pulumi.destroyMs / results.single.direct.destroyMs };
  results.idle = harnessMemoryKiB();
  results.many = { direct: await many("direct", stateDir), pulumi: await many("pulumi", stateDir) };
  const m = results.many;
  m.ratio = { wall: m.pulumi.wallMs / m.direct.wallMs, peakRss: m.pulumi.peakRssMiB / m.direct.peakRssMiB, peakPss: m.pulumi.peakPssMiB / m.direct.peakPssMiB };
  results.stacksLeft = backendStacks(stateDir).length;

  const f = (n: number) => n.toFixed(1);
  const rows = [
    ["", "engine (pulumi)", "direct path", "ratio"],
    ["create (median, ms)", f(results.single.pulumi.createMs), f(results.single.direct.createMs), `${results.single.ratio.create.toFixed(2)}x`],
    ["destroy (median, ms)", f(results.single.pulumi.destroyMs), f(results.single.direct.destroyMs), `${results.single.ratio.destroy.toFixed(2)}x`],
    [`${SAMPLES}x${CONCURRENCY} wall (s)`, f(m.pulumi.wallMs / 1000), f(m.direct.wallMs / 1000), `${m.ratio.wall.toFixed(2)}x`],
    [`${SAMPLES}x${CONCURRENCY} peak RSS (MiB)`, f(m.pulumi.peakRssMiB), f(m.direct.peakRssMiB), `${m.ratio.peakRss.toFixed(2)}x`],
    [`${SAMPLES}x${CONCURRENCY} peak PSS (MiB)`, f(m.pulumi.peakPssMiB), f(m.direct.peakPssMiB), `${m.ratio.peakPss.toFixed(2)}x`],
  ];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ")).join("\n") + "\n");
  process.stdout.write(`(median of ${ITERATIONS}; peak over the harness + its descendants + this state dir's processes, ${m.pulumi.processesAtPeak} / ${m.direct.processesAtPeak} processes at peak; stacks left in the backend: ${results.stacksLeft}; host: ${results.host.cpus} CPUs, load ${results.host.loadavg.map((x: number) => x.toFixed(1)).join(" ")})\n`);
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "results", "automation.json"), JSON.stringify(results, null, 2) + "\n");
  if (results.stacksLeft > 0) process.exitCode = 1;
  else fs.rmSync(stateDir, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`automation bench failed: ${e?.stack ?? e}\n`);
  process.exitCode = 1;
});
