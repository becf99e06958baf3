// Inspect AI provider benchmark (npm run bench -- inspect): exec round trip p50/p99 from Python
// against the bare namespace-enter floor, and 50 samples x 100 commands through a real `inspect eval`
// against the same number of bare spawns. The measuring is Python (bench/inspect_bench.py, from the
// pinned venv that bin/setup-tests.d/40-inspect-venv.sh builds); this file only runs it.
//
// Signals (bench/teardown.ts): the Python side runs in a process group of its own, which gets the
// signal (Python, `inspect eval`, their `airlock serve`: each serve destroys its sandboxes when its
// client goes or on the signal itself). The teardown waits for every process of this run's state
// directory to be gone, sweeps that directory, and exits 130/143.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { benchTeardown } from "./teardown";
import { processesGone } from "./state-dir-processes";

const root = path.join(__dirname, "..");
const stateDir = (process.env.AIRLOCK_STATE_DIR ||= fs.mkdtempSync(path.join(os.tmpdir(), "airlock-bench-inspect-")));
const bench = benchTeardown("inspect");
bench.atLast("processes of this state dir gone (airlock serve destroying its sandboxes)", async () => {
  const left = await processesGone(stateDir, 60_000);
  if (left.length) throw new Error(`still running after 60 s: pids ${left.join(", ")}`);
});
bench.atLast(`sweep of ${stateDir}`, async () => {
  const { sweep } = await import("../components/local/sweep");
  const r = await sweep();
  return `${r.orphansRemoved.length} orphan(s) removed, ${r.leftovers.length} left`;
});

function run(argv: string[], opts: { stdout: "pipe" | "inherit"; what: string; forward: boolean }): Promise<{ code: number | null; stdout: string }> {
  bench.check();
  const child = spawn(argv[0], argv.slice(1), { cwd: root, stdio: ["ignore", opts.stdout, "inherit"], detached: opts.forward });
  if (opts.forward) bench.forwardTo(child, opts.what, { group: true });
  let stdout = "";
  child.stdout?.on("data", (d) => (stdout += d));
  return bench.track(new Promise((r) => child.on("close", (code) => r({ code, stdout }))));
}

bench.main(async () => {
  // The venv build only fills a cache: a signal waits for it rather than cut it half-way.
  const setup = await run(["bash", path.join(root, "bin", "setup-tests.d", "40-inspect-venv.sh")], { stdout: "pipe", what: "venv setup", forward: false });
  if (setup.code !== 0) throw new Error("could not set up the Inspect AI venv");
  const venv = /(\/\S+inspect-venv\S*)\s*$/.exec(setup.stdout.trim())?.[1];
  if (!venv) throw new Error(`cannot tell the venv from: ${setup.stdout}`);
  const r = await run([path.join(venv, "bin", "python"), path.join(__dirname, "inspect_bench.py")], { stdout: "inherit", what: "inspect_bench.py", forward: true });
  process.exitCode = r.code ?? 1;
});
