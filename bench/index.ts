// `npm run bench`: runs every bench/*.bench.ts in its own process, one after another (benchmarks on a
// 2-core host must not compete with each other), and prints each one's table. Each bench measures
// its own baseline in the same run and reports ratios against it, so numbers from different
// machines can be compared. Results also go to bench/results/<name>.json.
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";

const dir = __dirname;
const only = process.argv.slice(2);
const benches = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
fs.mkdirSync(path.join(dir, "results"), { recursive: true });
let failed = 0;
// Ctrl-C (SIGINT) reaches the running bench too (same process group): it undoes what it made and exits
// 128+signo. This runner must not die first (the shell would return while cleanup still runs),
// nor start the next bench afterwards.
process.on("SIGINT", () => undefined);
for (const file of benches) {
  process.stdout.write(`\n### ${file}\n`);
  const r = spawnSync(process.execPath, [path.join(dir, "..", "bin", "run-ts.js"), path.join(dir, file)], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`(${file} failed with exit ${r.status ?? r.signal})\n`);
  }
  if (r.signal || (r.status ?? 0) > 128) {
    process.stdout.write("(interrupted: remaining benches not run)\n");
    break;
  }
}
process.exitCode = failed ? 1 : 0;
