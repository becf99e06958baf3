// Deferred record writes (components/local/record.ts, record-writer.ts): `airlock serve` has its
// sandboxes' records written by writer threads so that fsyncs do not stop its event loop. What must
// still hold: the record's order is the order appends were asked for (direct appends and the seal
// included), the chain verifies, an answer that awaits durable() finds its entries on disk, and a
// process that exits with appends queued writes them first. No root needed: files and processes.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import { verifyLog, RecordEntry } from "../components/record/chain-log";
import { createRecord, safeAppend } from "../components/local/record";
import { waitFor } from "./helpers/common";
import { ROOT } from "./helpers/local-cli";

const entries = (file: string): RecordEntry[] =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/** Another process inside the record's lock for `ms` (test/helpers/record-writer.ts); resolves once it is inside. */
async function lockHeldElsewhere(file: string, ms: number, marker: string): Promise<{ exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "run-ts.js"), path.join(ROOT, "test", "helpers", "record-writer.ts"), file, "stall", String(ms), marker], { stdio: "ignore" });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  await waitFor("the other writer to be inside the lock", () => fs.existsSync(marker), 30_000);
  return { exited }; // (wrapped: an async function returning the promise itself would wait for the exit)
}

/** The longest stretch the event loop did not turn while `p` was pending. */
async function longestLoopStall<T>(p: Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 5);
  try {
    return { value: await p, stallMs };
  } finally {
    clearInterval(tick);
  }
}

/** Data with a prototype of its own (a structured clone would drop it): such appends are made directly. */
class ExecNote {
  note = "direct";
  constructor(readonly i: number) {}
}

describe("record: deferred writes (writer threads) keep the order, the chain and durability", function () {
  this.timeout(120_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "record-writer-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("appends land in the order they were asked for — queued ones, direct ones and the seal — and the chain verifies", async () => {
    const file = path.join(dir, "order.jsonl");
    const log = createRecord(file, { type: "sandbox-creating", data: {} });
    log.deferWrites();
    const expected = ["sandbox-creating"];
    for (let i = 0; i < 300; i++) {
      if (i % 50 === 49) {
        log.append("direct", { i }); // must wait for the ones queued before it
        expected.push("direct");
      } else if (i % 50 === 25) {
        safeAppend(log, "class-data", new ExecNote(i)); // not plain JSON, not given to a thread: made directly, after the queue
        expected.push("class-data");
      } else {
        safeAppend(log, "queued", { i });
        expected.push("queued");
      }
    }
    assert.strictEqual(await log.durable(), true);
    const head = log.seal({ reason: "test" });
    expected.push("sealed");
    const got = entries(file);
    assert.deepStrictEqual(got.map((e) => e.type), expected);
    const queuedIs = got.filter((e) => e.type !== "sandbox-creating" && e.type !== "sealed").map((e) => (e.data as { i?: number }).i);
    assert.deepStrictEqual(queuedIs, [...Array(300).keys()]);
    assert.deepStrictEqual(got.find((e) => e.type === "class-data")!.data, { i: 25, note: "direct" });
    const v = verifyLog(file);
    assert.ok(v.ok, v.problems.join("; "));
    assert.strictEqual(v.head, head);
  });

  it("while another process holds the record's lock, queued appends leave the event loop free, and durable() resolves only once they are on disk (a direct append blocks the loop for the whole hold)", async () => {
    const HOLD_MS = 1500;
    // Positive control: the same appends made directly stop this thread for the whole hold.
    const direct = path.join(dir, "direct.jsonl");
    const dlog = createRecord(direct, { type: "sandbox-creating", data: {} });
    const { exited: otherDirect } = await lockHeldElsewhere(direct, HOLD_MS, path.join(dir, "m1"));
    const t0 = performance.now();
    safeAppend(dlog, "exec-started", { n: 1 });
    const blockedMs = performance.now() - t0;
    assert.ok(blockedMs >= HOLD_MS * 0.5, `a direct append returned after ${blockedMs.toFixed(0)} ms although the lock was held for ${HOLD_MS} ms`);
    assert.strictEqual(await otherDirect, 0);

    const file = path.join(dir, "deferred.jsonl");
    const log = createRecord(file, { type: "sandbox-creating", data: {} });
    log.deferWrites();
    const { exited: other } = await lockHeldElsewhere(file, HOLD_MS, path.join(dir, "m2"));
    const t1 = performance.now();
    for (let n = 0; n < 3; n++) safeAppend(log, "exec-started", { n });
    const queuedMs = performance.now() - t1;
    const { value: ok, stallMs } = await longestLoopStall(log.durable());
    const waitedMs = performance.now() - t1;
    assert.strictEqual(ok, true);
    assert.ok(queuedMs < 100, `queueing 3 appends took ${queuedMs.toFixed(0)} ms`);
    assert.ok(stallMs < 300, `the event loop stood still for ${stallMs.toFixed(0)} ms while the appends waited for the lock`);
    assert.ok(waitedMs >= HOLD_MS * 0.5, `durable() resolved after ${waitedMs.toFixed(0)} ms, before the other writer (holding the lock ${HOLD_MS} ms) let go`);
    // Resolved means on disk: all three, after the other writer's entry.
    assert.deepStrictEqual(entries(file).map((e) => e.type), ["sandbox-creating", "slow-writer", "exec-started", "exec-started", "exec-started"]);
    assert.strictEqual(await other, 0);
    log.seal();
    assert.ok(verifyLog(file).ok);
  });

  it("a process that exits with appends still queued writes them all before it is gone", () => {
    const file = path.join(dir, "exit.jsonl");
    createRecord(file, { type: "sandbox-creating", data: {} });
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "run-ts.js"), path.join(ROOT, "test", "helpers", "record-deferred-exit.ts"), file, "200"], { encoding: "utf8", timeout: 60_000 });
    assert.strictEqual(r.status, 0, r.stderr);
    const got = entries(file);
    assert.strictEqual(got.length, 201, `${got.length - 1} of 200 queued appends reached the record`);
    assert.deepStrictEqual(got.slice(1).map((e) => (e.data as { i: number }).i), [...Array(200).keys()]);
    assert.ok(verifyLog(file, { allowUnsealed: true }).ok);
  });
});
