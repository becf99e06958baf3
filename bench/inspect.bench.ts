// Inspect AI provider benchmark (npm run bench -- inspect): exec round trip p50/p99 from Python
// against the bare namespace-enter floor, and 50 samples x 100 commands through a real `inspect eval`
// against the same number of bare spawns. The measuring is Python (bench/inspect_bench.py, from the
// pinned venv that bin/setup-tests.d/40-inspect-venv.sh builds); this file only runs it.
import * as path from "path";
import { spawnSync } from "child_process";

const root = path.join(__dirname, "..");
const setup = spawnSync("bash", [path.join(root, "bin", "setup-tests.d", "40-inspect-venv.sh")], { cwd: root, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
if (setup.status !== 0) throw new Error("could not set up the Inspect AI venv");
const venv = /(\/\S+inspect-venv\S*)\s*$/.exec(setup.stdout.trim())?.[1];
if (!venv) throw new Error(`cannot tell the venv from: ${setup.stdout}`);
const r = spawnSync(path.join(venv, "bin", "python"), [path.join(__dirname, "inspect_bench.py")], { cwd: root, stdio: "inherit" });
process.exitCode = r.status ?? 1;
