// The record survives what a real host does to files: a write cut short (crash, kill, full disk)
// leaves a torn last line, a writer stalls or dies while it holds the lock, and a workload prints
// characters that JSON escapes to six bytes each. No root needed: these are files and processes.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { ChainLog, verifyLog, RecordEntry, recordLockMethod } from "../components/record/chain-log";
import { OutputRecorder, OUTPUT_CAP_BYTES } from "../components/local/record";
import { waitFor } from "./helpers/common";
import { ROOT } from "./helpers/local-cli";

const entries = (file: string): RecordEntry[] =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/** Starts test/helpers/record-writer.ts; resolves once it is inside the record's lock. */
async function writerInsideLock(file: string, mode: "stall" | "die", ms: number, marker: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "run-ts.js"), path.join(ROOT, "test", "helpers", "record-writer.ts"), file, mode, String(ms), marker], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((r) => child.on("exit", (code, signal) => r({ code, signal, stderr })));
  await waitFor("the second writer to be inside the lock", () => fs.existsSync(marker), 30_000);
  return { exited }; // (wrapped: an async function returning the promise itself would wait for the exit)
}

describe("record: torn lines, stalled and dead writers, the output cap in stored bytes", function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "record-robust-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a record cut mid-line is repaired by the next append (cut back to the last valid line, the cut kept in a repair event) and seals and verifies", () => {
    const file = path.join(dir, "torn.jsonl");
    const log = ChainLog.create(file, { type: "sandbox-creating", data: { id: "torn" } });
    for (let i = 0; i < 5; i++) log.append("output", { text: `line ${i}` });
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 17); // a short write: the last entry is half there
    // Positive control: the tear is real — the record as it is does not verify.
    const before = verifyLog(file, { allowUnsealed: true });
    assert.ok(!before.ok && before.problems.some((p) => /not valid JSON/.test(p)), before.problems.join("; "));

    log.append("destroyed", { reason: "test" });
    const head = log.seal({ reason: "test" });
    const v = verifyLog(file);
    assert.ok(v.ok, v.problems.join("; "));
    assert.strictEqual(v.head, head);
    const types = entries(file).map((e) => e.type);
    assert.deepStrictEqual(types, ["sandbox-creating", "output", "output", "output", "output", "record-repaired", "destroyed", "sealed"]);
    const repair = entries(file).find((e) => e.type === "record-repaired")!.data as any;
    assert.ok(repair.cutBytes > 0 && /line 4/.test(repair.cut), `the repair event does not keep what was cut: ${JSON.stringify(repair)}`);
  });

  it("a failed append leaves no torn line behind, and bytes after a seal are left alone", () => {
    const file = path.join(dir, "sealed.jsonl");
    const log = ChainLog.create(file, { type: "a", data: {} });
    log.seal();
    fs.appendFileSync(file, '{"not":"airlock\'s"'); // someone wrote after the seal
    const size = fs.statSync(file).size;
    assert.throws(() => log.append("late", {}), /sealed/);
    assert.strictEqual(fs.statSync(file).size, size, "an append after the seal changed the file");
  });

  it("a writer that stalls inside the lock past the old 10 s lock timeout is waited for, not overtaken: one chain", async () => {
    const file = path.join(dir, "stall.jsonl");
    const log = ChainLog.create(file, { type: "start", data: {} });
    const marker = path.join(dir, "inside");
    const other = await writerInsideLock(file, "stall", 11_000, marker);
    const t0 = Date.now();
    log.append("fast-writer", {});
    const waited = Date.now() - t0;
    const r = await other.exited;
    assert.strictEqual(r.code, 0, r.stderr);
    log.seal();
    const v = verifyLog(file);
    assert.ok(v.ok, `two writers forked the chain: ${v.problems.join("; ")}`);
    assert.deepStrictEqual(entries(file).map((e) => e.type), ["start", "slow-writer", "fast-writer", "sealed"]);
    // Positive control: the lock really was held while this writer waited (the race was real).
    assert.ok(waited > 5_000, `the second append waited only ${waited} ms`);
  });

  it("the flock(1) fallback and the lock helper exclude each other (both lock the writer's own open file description)", async () => {
    const file = path.join(dir, "mixed.jsonl");
    const log = ChainLog.create(file, { type: "start", data: {} });
    // (Until the helper has started, appends take the fallback.)
    await waitFor("the lock helper", () => (log.append("warm-up", {}), recordLockMethod() === "helper"), 10_000);
    const other = await writerInsideLock(file, "stall", 3_000, path.join(dir, "inside"), { AIRLOCK_RECORD_LOCK: "flock" });
    const t0 = Date.now();
    log.append("helper-writer", {});
    const waited = Date.now() - t0;
    assert.strictEqual((await other.exited).code, 0);
    assert.deepStrictEqual(entries(file).map((e) => e.type).filter((t) => t !== "warm-up"), ["start", "slow-writer", "helper-writer"]);
    assert.ok(waited > 1_000, `the helper's lock did not wait for the flock(1) writer (${waited} ms)`);
  });

  it("what an append costs: one lock round trip, a tail read, one write, one fsync (printed, not asserted)", () => {
    const file = path.join(dir, "cost.jsonl");
    const log = ChainLog.create(file, { type: "start", data: {} });
    const median = (env?: string) => {
      const saved = process.env.AIRLOCK_RECORD_LOCK;
      if (env) process.env.AIRLOCK_RECORD_LOCK = env;
      else delete process.env.AIRLOCK_RECORD_LOCK;
      try {
        const ms: number[] = [];
        for (let i = 0; i < 100; i++) {
          const t = process.hrtime.bigint();
          log.append("output", { text: "x".repeat(200) });
          ms.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
        return ms.sort((a, b) => a - b)[50];
      } finally {
        if (saved === undefined) delete process.env.AIRLOCK_RECORD_LOCK;
        else process.env.AIRLOCK_RECORD_LOCK = saved;
      }
    };
    const viaHelper = median();
    const viaFlock = median("flock");
    process.stdout.write(`      (median append: ${viaHelper.toFixed(2)} ms with the lock helper, ${viaFlock.toFixed(2)} ms with a flock(1) child per append: ${(viaFlock / viaHelper).toFixed(1)}x)\n`);
    assert.ok(verifyLog(file, { allowUnsealed: true }).ok);
  });

  it("a writer killed inside the lock does not block the next one (the kernel releases flock with its holder)", async () => {
    const file = path.join(dir, "dead.jsonl");
    const log = ChainLog.create(file, { type: "start", data: {} });
    const r = await (await writerInsideLock(file, "die", 0, path.join(dir, "inside"))).exited;
    assert.strictEqual(r.signal, "SIGKILL", "positive control: the other writer died inside the lock");
    const t0 = Date.now();
    log.append("after", {});
    const waited = Date.now() - t0;
    assert.ok(waited < 5_000, `the append waited ${waited} ms for a dead writer's lock`);
    log.seal();
    assert.ok(verifyLog(file).ok);
  });

  it("the output cap counts bytes as stored (JSON escapes): 20 MiB of control characters store at most the cap", () => {
    const sizes: Record<string, number> = {};
    for (const [name, byte] of [["control", 0x01], ["ascii", 0x61]] as const) {
      const file = path.join(dir, `${name}.jsonl`);
      const log = ChainLog.create(file, { type: "start", data: {} });
      const rec = new OutputRecorder(log, "workload");
      const chunk = Buffer.alloc(64 * 1024, byte);
      for (let i = 0; i < 320; i++) rec.write("stdout", chunk); // 20 MiB
      rec.close();
      sizes[name] = fs.statSync(file).size;
      const es = entries(file);
      const stored = es.filter((e) => e.type === "output").reduce((n, e) => n + Buffer.byteLength(JSON.stringify((e.data as any).text)) - 2, 0);
      const dropped = (es.find((e) => e.type === "output-truncated")?.data as any)?.droppedBytes;
      // Positive control: the cap was reached (the recorder stored up to it) and the rest was counted.
      assert.ok(stored > OUTPUT_CAP_BYTES - 64 * 1024 && stored <= OUTPUT_CAP_BYTES, `${name}: ${stored} bytes stored`);
      assert.ok(dropped > 0 && stored + dropped * (name === "control" ? 6 : 1) >= 20 * 1024 * 1024 - 64 * 1024, `${name}: dropped ${dropped}`);
    }
    const slack = 2 * 1024 * 1024; // the JSON around each 16 KiB chunk
    assert.ok(sizes.control <= OUTPUT_CAP_BYTES + slack, `20 MiB of control characters took ${(sizes.control / 1024 ** 2).toFixed(1)} MiB in the record (cap ${OUTPUT_CAP_BYTES / 1024 ** 2} MiB)`);
    assert.ok(sizes.ascii <= OUTPUT_CAP_BYTES + slack, `ascii: ${sizes.ascii}`);
  });
});
