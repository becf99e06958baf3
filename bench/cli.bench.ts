// CLI start-up benchmark (npm run bench -- cli): how long the `airlock` command itself takes, against
// floors measured in the same run, interleaved round by round so host load hits all alike:
//   - `airlock --help`                        vs `node -e 0` (the Node runtime's own start);
//   - `airlock sandbox exec <id> -- true`     vs `ip netns exec <the sandbox's namespace> bwrap … true`
//     (entering the namespace and starting bubblewrap, nothing else), into one detached sandbox made
//     with `airlock sandbox create` and destroyed at the end.
// Medians of BENCH_ITERATIONS (≥ 10) runs; peak RSS of each command (max over a few runs, by the
// kernel's ru_maxrss of its process tree). Targets (issue 10 §2): --help ≤ 150 ms, exec ≤ 100 ms.
// Writes bench/results/cli.json. Needs root (namespaces), bubblewrap, iproute2 and python3.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { summarize } from "../chaos/measure/stats";
import { loadHandle } from "../components/local/handle";
import { waitSupervisorGone } from "../components/local/supervisor-client";
import { benchTeardown } from "./teardown";

process.env.AIRLOCK_STATE_DIR = process.env.AIRLOCK_STATE_DIR || fs.mkdtempSync(path.join(os.tmpdir(), "airlock-bench-state-"));
const ITERATIONS = Math.max(10, Number(process.env.BENCH_ITERATIONS ?? 15));
const AIRLOCK = path.join(__dirname, "..", "bin", "airlock.js");
const median = (xs: number[]) => summarize(xs)!.p50;
// The detached sandbox is made through the teardown (bench/teardown.ts): SIGINT/SIGTERM destroys it
// with `airlock sandbox destroy` and exits 130/143. The measuring loops are synchronous (spawnSync, as
// the timings should be), so they pause between runs to let a signal's handler in.
const bench = benchTeardown("cli");

function timeRun(argv: string[], expectStatus = 0): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== expectStatus) throw new Error(`${argv.join(" ")} exited with ${r.status} ${r.signal ?? ""}: ${r.stderr}`);
  return ms;
}

/** Peak resident set (MiB) of a command and everything it waited for (ru_maxrss of the children). */
async function peakRssMiB(argv: string[]): Promise<number> {
  const py = "import resource,subprocess,sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
  let peak = 0;
  for (let i = 0; i < 3; i++) {
    await bench.pause();
    const r = spawnSync("python3", ["-c", py, ...argv], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`measuring the memory of ${argv.join(" ")}: ${r.stderr}`);
    peak = Math.max(peak, Number(r.stdout.trim()) / 1024);
  }
  return peak;
}

/** The bare floor of an exec: enter the sandbox's network namespace and run bubblewrap, nothing else. */
const floorExec = (netns: string) => [
  "ip", "netns", "exec", netns, "bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
  "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
  "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "true",
];

function createSandbox(specFile: string): string {
  const created = spawnSync(process.execPath, [AIRLOCK, "sandbox", "create", specFile, "--json"], { encoding: "utf8" });
  if (created.status !== 0) throw new Error(`airlock sandbox create failed: ${created.stderr}`);
  return JSON.parse(created.stdout).id;
}

async function destroySandbox(id: string): Promise<void> {
  const d = spawnSync(process.execPath, [AIRLOCK, "sandbox", "destroy", id], { encoding: "utf8" });
  if (d.status !== 0) throw new Error(`airlock sandbox destroy ${id} exited ${d.status ?? d.signal}: ${d.stderr}`);
  // The shared supervisor that owned it exits once idle (unless the state dir has other sandboxes).
  await waitSupervisorGone(15_000);
}

async function main() {
  const specFile = path.join(process.env.AIRLOCK_STATE_DIR!, "bench-cli.yaml");
  fs.writeFileSync(
    specFile,
    ["name: bench-cli", "backend: local", "owner: bench@airlock.dev", "ttl: 30m", "workload:", "  cpus: 0.5", "  memory: 256MiB", "  pids: 128", '  command: ["sleep", "3600"]', "egress:", "  allow: []", ""].join("\n"),
  );
  await bench.using((id) => `sandbox ${id} (airlock sandbox create)`, () => createSandbox(specFile), destroySandbox, async (id) => {
    const handle = loadHandle(id);
    if (!handle) throw new Error(`sandbox ${id} has no handle`);
    const cases = {
      help: [process.execPath, AIRLOCK, "--help"],
      nodeStart: [process.execPath, "-e", "0"],
      exec: [process.execPath, AIRLOCK, "sandbox", "exec", id, "--", "true"],
      floor: floorExec(handle.netns),
    };
    const times: Record<keyof typeof cases, number[]> = { help: [], nodeStart: [], exec: [], floor: [] };
    // Warm-up (page cache), not measured.
    for (const argv of Object.values(cases)) (await bench.pause(), timeRun(argv));
    for (let i = 0; i < ITERATIONS; i++)
      for (const [k, argv] of Object.entries(cases)) {
        await bench.pause();
        times[k as keyof typeof cases].push(timeRun(argv));
      }
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<keyof typeof cases, number>;
    const rss = {} as Record<keyof typeof cases, number>;
    for (const [k, argv] of Object.entries(cases)) rss[k as keyof typeof cases] = await peakRssMiB(argv);
    const results = {
      host: { kernel: os.release(), cpus: os.cpus().length, loadavg: os.loadavg() },
      iterations: ITERATIONS,
      medianMs: m,
      peakRssMiB: rss,
      ratio: { help: m.help / m.nodeStart, exec: m.exec / m.floor, execVsNodeStartPlusFloor: m.exec / (m.nodeStart + m.floor) },
      targets: { helpMs: 150, execMs: 100 },
      samples: times,
    };
    const f = (x: number) => x.toFixed(1);
    const rows = [
      ["", "airlock (ms)", "floor (ms)", "ratio", "airlock RSS", "floor RSS", "target"],
      ["--help", f(m.help), f(m.nodeStart), `${results.ratio.help.toFixed(2)}x`, `${f(rss.help)} MiB`, `${f(rss.nodeStart)} MiB`, "≤ 150 ms"],
      ["sandbox exec -- true", f(m.exec), f(m.floor), `${results.ratio.exec.toFixed(2)}x`, `${f(rss.exec)} MiB`, `${f(rss.floor)} MiB`, "≤ 100 ms"],
    ];
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ")).join("\n") + "\n");
    process.stdout.write(`sandbox exec vs (node start + floor): ${results.ratio.execVsNodeStartPlusFloor.toFixed(2)}x — what Airlock adds beyond starting Node and entering the sandbox\n`);
    process.stdout.write(`(medians of ${ITERATIONS}; floors: \`node -e 0\` and \`ip netns exec <ns> bwrap … true\`; host: ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")})\n`);
    fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
    fs.writeFileSync(path.join(__dirname, "results", "cli.json"), JSON.stringify(results, null, 2) + "\n");
  });
}

bench.main(main);
