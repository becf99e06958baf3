// Socket-refusal launcher benchmark (npm run bench -- seccomp-notify): what the launcher
// (components/local/notify/) adds to every confined process start, against the same command started
// without it, interleaved round by round in the same run:
//   - `true`                                         the floor: one fork+exec from Node;
//   - `airlock-seccomp-notify <fd> <filter> true`    fork of the responder, filter + listener handoff, exec;
//   - the same with one refused socket() call inside (python3), against python3 alone: the cost of a
//     refusal round trip through the responder.
// Medians of BENCH_ITERATIONS (≥ 10) runs. The exec round-trip target (Inspect exec p50 ≤ 30 ms) is
// the budget this must stay a small part of. Writes bench/results/seccomp-notify.json. Needs root.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { summarize } from "../chaos/measure/stats";
import { notifyLauncher } from "../components/local/notify/launcher";
import { socketNotifyFilter } from "../components/local/seccomp";
import { benchTeardown } from "./teardown";

// Makes nothing that outlives a run (each command is waited for), but the loop is synchronous: it
// pauses between runs so that SIGINT/SIGTERM ends it at once with 130/143 (bench/teardown.ts).
const bench = benchTeardown("seccomp-notify");

const ITERATIONS = Math.max(10, Number(process.env.BENCH_ITERATIONS ?? 40));
const median = (xs: number[]) => summarize(xs)!.p50;

function timeRun(argv: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe", "pipe"], encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited with ${r.status}: ${r.stderr}`);
  return ms;
}

async function main() {
  const launcher = notifyLauncher();
  const filter = socketNotifyFilter().toString("hex");
  const py = "import ctypes; ctypes.CDLL(None).socket(40, 1, 0)";
  const cases = {
    floor: ["/bin/true"],
    launched: [launcher, "3", filter, "/bin/true"],
    pyFloor: ["/usr/bin/python3", "-S", "-c", py],
    pyRefused: [launcher, "3", filter, "/usr/bin/python3", "-S", "-c", py],
  };
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, [] as number[]])) as Record<keyof typeof cases, number[]>;
  for (const argv of Object.values(cases)) timeRun(argv); // warm the page cache
  for (let i = 0; i < ITERATIONS; i++)
    for (const [k, argv] of Object.entries(cases)) {
      await bench.pause();
      times[k as keyof typeof cases].push(timeRun(argv));
    }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<keyof typeof cases, number>;
  const results = {
    iterations: ITERATIONS,
    medianMs: m,
    addedMs: { start: m.launched - m.floor, startWithOneRefusal: m.pyRefused - m.pyFloor },
    ratio: { start: m.launched / m.floor, python: m.pyRefused / m.pyFloor },
    host: { cpus: os.cpus().length, load: os.loadavg() },
  };
  const f = (x: number) => x.toFixed(2);
  process.stdout.write(
    [
      "| case | median ms | baseline ms | ratio | added ms |",
      "|---|---|---|---|---|",
      `| launcher + true | ${f(m.launched)} | ${f(m.floor)} (true) | ${f(results.ratio.start)}x | ${f(results.addedMs.start)} |`,
      `| launcher + python3 with one refused socket() | ${f(m.pyRefused)} | ${f(m.pyFloor)} (python3 alone) | ${f(results.ratio.python)}x | ${f(results.addedMs.startWithOneRefusal)} |`,
      `(medians of ${ITERATIONS}, interleaved; host: ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")})`,
      "",
    ].join("\n"),
  );
  const out = path.join(__dirname, "results");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "seccomp-notify.json"), JSON.stringify(results, null, 2) + "\n");
}

bench.main(main);
