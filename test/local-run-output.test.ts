// `airlock run` and its terminal: the workload's output is copied to the caller as a convenience —
// the record is the evidence — so a slow reader must not make the owner buffer without bound, and a
// reader that goes away (`| head`) must not kill the owner before it has destroyed and sealed.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { spawn } from "child_process";
import { verifyLog, RecordEntry } from "../components/record/chain-log";
import { recordsDir } from "../components/local/layout";
import { recordEntries, waitFor } from "./helpers/local-sandbox";
import { AIRLOCK, ROOT } from "./helpers/local-cli";
import { statusField } from "./helpers/local-probes";

const MiB = 1024 * 1024;
let specDir: string;

function writeSpec(name: string, command: string[]): string {
  const file = path.join(specDir, `${name}.yaml`);
  fs.writeFileSync(file, YAML.stringify({ name, backend: "local", owner: "tests@airlock.dev", ttl: "10m", workload: { cpus: 1, memory: "128MiB", pids: 64, command } }));
  return file;
}

/** The record of the newest sandbox named `name` in this run's state directory. */
function recordOf(name: string): string | undefined {
  if (!fs.existsSync(recordsDir())) return undefined;
  return fs
    .readdirSync(recordsDir())
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith(".jsonl"))
    .map((f) => path.join(recordsDir(), f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}

const typesOf = (es: RecordEntry[]) => es.map((e) => e.type);

describe("airlock run: output to a slow or vanishing reader", function () {
  this.timeout(180_000);

  before(() => {
    specDir = fs.mkdtempSync(path.join(os.tmpdir(), "specs-out-"));
  });
  after(() => fs.rmSync(specDir, { recursive: true, force: true }));

  it("a reader that does not read while the workload writes 300 MiB: the owner's memory stays bounded, the dropped copy is recorded", async () => {
    const name = `teeslow-${process.pid}`;
    const spec = writeSpec(name, ["python3", "-c", "import sys\nb=b'x'*(1<<20)\nfor _ in range(300): sys.stdout.buffer.write(b)\nsys.stdout.flush()"]);
    const cli = spawn(process.execPath, [AIRLOCK, "run", spec], { cwd: ROOT, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    cli.stdout!.pause(); // the slow reader: nothing is read until the workload has finished
    let stderr = "";
    cli.stderr!.on("data", (d) => (stderr += d));
    const done = new Promise<number | null>((r) => cli.on("close", (code) => r(code)));
    const rss = () => Number(statusField(cli.pid!, "VmRSS") ?? 0) * 1024;
    try {
      const record = await waitFor("the workload to start", () => {
        const r = recordOf(name);
        return r && typesOf(recordEntries(r)).includes("workload-started") ? r : undefined;
      }, 60_000);
      const baseline = rss();
      let peak = baseline;
      await waitFor("the workload to finish", () => {
        peak = Math.max(peak, rss());
        return typesOf(recordEntries(record)).includes("workload-exited");
      }, 120_000, 100);
      cli.stdout!.resume();
      cli.stdout!.on("data", () => undefined);
      const code = await done;
      assert.strictEqual(code, 0, stderr);
      const es = recordEntries(record);
      process.stdout.write(`      (owner RSS: ${Math.round(baseline / MiB)} MiB at the workload's start, peak ${Math.round(peak / MiB)} MiB)\n`);
      assert.ok(peak - baseline < 150 * MiB, `the owner grew by ${Math.round((peak - baseline) / MiB)} MiB while its reader was slow`);
      const dropped = es.find((e) => e.type === "output-tee-dropped")?.data as any;
      assert.ok(dropped && dropped.droppedBytes > 100 * MiB, `no record of the bytes left out of the copy: ${JSON.stringify(dropped)}`);
      // Positive control: the workload really wrote 300 MiB (the record stored up to its cap and counted the rest).
      const stored = es.filter((e) => e.type === "output").reduce((n, e) => n + ((e.data as any).text as string).length, 0);
      const truncated = (es.find((e) => e.type === "output-truncated")?.data as any)?.droppedBytes ?? 0;
      assert.ok(stored + truncated >= 299 * MiB, `the workload wrote only ${Math.round((stored + truncated) / MiB)} MiB`);
      assert.ok(verifyLog(record).ok, "the record does not verify");
    } finally {
      // On a failure above, the run is still going: SIGTERM destroys its sandbox (nothing left for the suite's check).
      if (cli.exitCode === null && cli.signalCode === null) {
        cli.stdout!.resume();
        cli.kill("SIGTERM");
        await done;
      }
    }
  });

  it("`airlock run ... | head -c 100`: the run finishes, seals and exits with the workload's status; the broken pipe is recorded", async () => {
    const name = `epipe-${process.pid}`;
    const spec = writeSpec(name, ["python3", "-c", "import sys\nb=b'y'*65536\nfor _ in range(32): sys.stdout.buffer.write(b)\nsys.stdout.flush()\nsys.exit(3)"]);
    const head = path.join(specDir, "head.out");
    const sh = spawn("bash", ["-c", `"${process.execPath}" "${AIRLOCK}" run "${spec}" | head -c 100 > "${head}"; exit \${PIPESTATUS[0]}`], { cwd: ROOT, env: process.env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    sh.stderr!.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => sh.on("close", (c) => r(c)));
    // Positive control: the reader got its 100 bytes and went away (the pipe really broke).
    assert.strictEqual(fs.readFileSync(head, "utf8"), "y".repeat(100));
    assert.strictEqual(code, 3, `airlock run exited ${code}, not with the workload's status 3:\n${stderr}`);
    const record = recordOf(name)!;
    const es = recordEntries(record);
    const stopped = es.find((e) => e.type === "output-tee-stopped")?.data as any;
    assert.ok(stopped && /EPIPE/.test(stopped.error), `no output-tee-stopped event: ${typesOf(es).join(",")}`);
    const destroyed = es.find((e) => e.type === "destroyed")?.data as any;
    assert.ok(destroyed && !destroyed.recovered, `the record was finished by a recovery, not by the run: ${JSON.stringify(destroyed)}`);
    assert.strictEqual(es[es.length - 1].type, "sealed");
    assert.ok(verifyLog(record).ok);
  });
});
