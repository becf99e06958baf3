// `npm run bench`: runs every bench/*.bench.ts in its own process, one after another (benchmarks on a
// 2-core host must not compete with each other), and prints each one's table. Each bench measures
// its own baseline in the same run and reports ratios against it, so numbers from different
// machines can be compared. Results also go to bench/results/<name>.json.
//
// Signals: each bench runs in a process group of its own, and this runner passes SIGINT, SIGTERM and
// SIGHUP on to it exactly once — whether the signal came from Ctrl-C (the terminal signals its
// foreground group: npm, this runner) or from a `kill` of one pid. The bench then undoes what it made
// (bench/teardown.ts) and exits 128+signo, with the processes it started still running for its undo
// (Ctrl-C no longer reaches a bench's Toxiproxy or engine children behind its back). This runner waits
// for that, runs no further bench, and exits with the bench's code.
import * as fs from "fs";
import * as path from "path";
import { spawn } from "child_process";

const dir = __dirname;
const only = process.argv.slice(2);
const benches = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
fs.mkdirSync(path.join(dir, "results"), { recursive: true });

let running: ReturnType<typeof spawn> | undefined;
let received: NodeJS.Signals | undefined;
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
  process.on(s, () => {
    if (received) return; // npm passes Ctrl-C on too: the bench gets it once
    received = s;
    running?.kill(s);
  });

function runBench(file: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(dir, "..", "bin", "run-ts.js"), path.join(dir, file)], { stdio: ["ignore", "inherit", "inherit"], detached: true });
    running = child;
    child.on("exit", (code, signal) => {
      running = undefined;
      resolve({ code, signal });
    });
  });
}

async function main() {
  let failed = 0;
  for (const file of benches) {
    if (received) break;
    process.stdout.write(`\n### ${file}\n`);
    const r = await runBench(file);
    if (r.code !== 0) {
      failed++;
      process.stdout.write(`(${file} failed with exit ${r.code ?? r.signal})\n`);
    }
    if (received || r.signal || (r.code ?? 0) > 128) {
      process.stdout.write("(interrupted: remaining benches not run)\n");
      process.exitCode = r.code !== null && r.code > 128 ? r.code : 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as Record<string, number>)[received ?? r.signal ?? "SIGINT"];
      return;
    }
  }
  process.exitCode = failed ? 1 : 0;
}

void main();
