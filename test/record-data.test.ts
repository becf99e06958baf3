// What an entry's data becomes in the record: exactly what its line stores is what its hash covers,
// whatever the caller handed in (a Buffer, a Date, nested, undefined fields), so `airlock log verify`
// passes on every record Airlock writes — directly, or through a writer thread (deferred writes).
// Data JSON cannot hold as given is refused with the field named, and nothing is appended.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ChainLog, verifyLog, RecordDataError } from "../components/record/chain-log";
import { createRecord, safeAppend } from "../components/local/record";

const AT = "2026-12-03T12:00:00.000Z";

describe("record: entry data is hashed exactly as it is stored", function () {
  this.timeout(20_000);
  let dir: string;
  let n = 0;
  const fresh = () => ChainLog.create(path.join(dir, `r${n++}.jsonl`), { type: "created", data: {} });
  /** The data of the last stored line, as `airlock log verify` reads it. */
  const storedData = (log: ChainLog) => JSON.parse(fs.readFileSync(log.file, "utf8").trim().split("\n").pop()!).data;
  const lineCount = (log: ChainLog) => fs.readFileSync(log.file, "utf8").split("\n").filter(Boolean).length;
  const verified = (log: ChainLog) => {
    const v = verifyLog(log.file, { allowUnsealed: true });
    assert.deepStrictEqual(v.problems, [], `log verify of ${log.file}`);
  };

  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "record-data-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Each case: what the caller appends, and what the stored line must hold (written out by hand).
  const cases: [string, unknown, unknown][] = [
    ["a Buffer field", { out: Buffer.from("hi\n") }, { out: { type: "Buffer", data: [104, 105, 10] } }],
    ["a Date field", { at: new Date(AT) }, { at: AT }],
    ["nested Dates and Buffers", { a: { when: [new Date(AT), { b: Buffer.from([0, 255]) }] }, n: 1 }, { a: { when: [AT, { b: { type: "Buffer", data: [0, 255] } }] }, n: 1 }],
    ["undefined fields (left out; null in an array)", { x: undefined, y: 2, list: [undefined, 3], deep: { z: undefined } }, { y: 2, list: [null, 3], deep: {} }],
    ["undefined data", undefined, null],
    ["a non-finite number", { ms: NaN, big: Infinity }, { ms: null, big: null }],
    ["keys in any order, an empty-string key, a __proto__ key", JSON.parse('{"b":1,"":2,"a":{"__proto__":3}}'), JSON.parse('{"":2,"a":{"__proto__":3},"b":1}')],
  ];

  for (const [what, data, expected] of cases) {
    it(`${what}: stored as JSON writes it, and log verify passes`, () => {
      const log = fresh();
      const entry = log.append("probe", data);
      assert.deepStrictEqual(storedData(log), expected);
      // What the caller gets back is what was stored (the guest agent ships it on).
      assert.deepStrictEqual(entry.data, expected);
      log.seal();
      assert.deepStrictEqual(verifyLog(log.file).problems, []);
    });
  }

  const refused: [string, unknown, RegExp][] = [
    ["a Map", { meta: { m: new Map([["k", 1]]) } }, /data\.meta\.m is a Map .*Object\.fromEntries/],
    ["a Set", { list: [1, new Set([2])] }, /data\.list\[1\] is a Set .*\[\.\.\.set\]/],
    ["a bigint", { bytes: 10n }, /data\.bytes is a bigint/],
    ["a function", { cb: () => 1 }, /data\.cb is a function/],
    ["a cycle", (() => { const o: Record<string, unknown> = {}; o.self = o; return { o }; })(), /cannot be written as JSON .*circular/i],
  ];
  for (const [what, data, message] of refused) {
    it(`${what}: refused with the field named; nothing appended, the record still verifies`, () => {
      const log = fresh();
      const before = lineCount(log);
      assert.throws(() => log.append("probe", data), (e: Error) => e instanceof RecordDataError && /record entry 'probe'/.test(e.message) && message.test(e.message));
      assert.strictEqual(lineCount(log), before);
      log.append("after", { ok: true });
      verified(log);
    });
  }

  it("deferred writes (a writer thread): Buffers, Dates and undefined in arrays verify too", async () => {
    const rec = createRecord(path.join(dir, "deferred.jsonl"), { type: "created", data: {} });
    rec.deferWrites();
    assert.ok(safeAppend(rec, "plain-with-holes", { list: [undefined, 1], x: undefined }));
    assert.ok(safeAppend(rec, "buffer", { out: Buffer.from("x") }));
    assert.ok(safeAppend(rec, "date", { at: new Date(AT) }));
    assert.strictEqual(await rec.durable(), true);
    const data = rec.entries().slice(1).map((e) => [e.type, e.data]);
    assert.deepStrictEqual(data, [["plain-with-holes", { list: [null, 1] }], ["buffer", { out: { type: "Buffer", data: [120] } }], ["date", { at: AT }]]);
    rec.seal();
    assert.deepStrictEqual(verifyLog(rec.file).problems, []);
  });

  it("safeAppend reports refused data and returns false (it never throws)", () => {
    const rec = createRecord(path.join(dir, "safe.jsonl"), { type: "created", data: {} });
    const writes: string[] = [];
    const real = process.stderr.write.bind(process.stderr);
    (process.stderr as any).write = (s: string) => (writes.push(String(s)), true);
    let ok: boolean;
    try {
      ok = safeAppend(rec, "probe", { m: new Map() });
    } finally {
      (process.stderr as any).write = real;
    }
    assert.strictEqual(ok, false);
    assert.ok(writes.some((w) => /data\.m is a Map/.test(w)), writes.join(""));
    verified(rec);
  });
});
