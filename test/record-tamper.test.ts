// The record is tamper-evident: a real sandbox's record (lifecycle, output, counters, kill, seal) is
// copied and changed the ways an attacker with write access to the host's disk could — edit, delete,
// reorder, truncate, and rewrite the tail with a fresh chain — and each change is detected. Also: many
// writers (the owner, `sandbox exec` processes, the chaos runner) keep one valid chain.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { ChainLog, entryHash, verifyLog, RecordEntry } from "../components/record/chain-log";
import { SandboxPool, localSpec, execCapture } from "./helpers/local-sandbox";

describe("record: hash-chained, sealed, tamper-evident", function () {
  this.timeout(60_000);
  const pool = new SandboxPool();
  let dir: string;
  let original: string;
  let lines: string[];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "record-"));
    const sb = await pool.create(localSpec({ name: "rec", workload: { command: ["sh", "-c", "echo first; echo second >&2"] } }));
    await sb.startWorkload().exited;
    await execCapture(sb.id, ["sh", "-c", "echo from-exec"]);
    const r = await pool.destroy(sb);
    original = r.record;
    lines = fs.readFileSync(original, "utf8").split("\n").filter(Boolean);
  });

  after(async () => {
    await pool.destroyAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the record (with its published head) whose lines were changed by `change`. */
  function tampered(name: string, change: (l: string[]) => string[]): string {
    const file = path.join(dir, `${name}.jsonl`);
    fs.writeFileSync(file, change([...lines]).join("\n") + "\n");
    fs.copyFileSync(`${original}.head`, `${file}.head`);
    return file;
  }

  const indexOf = (type: string) => lines.findIndex((l) => JSON.parse(l).type === type);

  it("the untouched record verifies, is sealed, and ends at its published head", () => {
    const v = verifyLog(original);
    assert.ok(v.ok, v.problems.join("; "));
    assert.ok(v.sealed);
    assert.strictEqual(v.head, fs.readFileSync(`${original}.head`, "utf8").trim());
    const types = lines.map((l) => JSON.parse(l).type);
    for (const t of ["sandbox-creating", "sandbox-ready", "workload-started", "output", "workload-exited", "exec-exited", "final-counters", "destroyed", "sealed"]) assert.ok(types.includes(t), `no '${t}' event in ${types}`);
  });

  it("an edited line is detected (its hash no longer matches)", () => {
    const i = lines.findIndex((l) => l.includes("first"));
    const v = verifyLog(tampered("edit", (l) => ((l[i] = l[i].replace("first", "FIRST")), l)));
    assert.ok(!v.ok);
    assert.ok(v.problems.some((p) => p.startsWith(`line ${i + 1}: hash does not match`)), v.problems.join("; "));
  });

  it("a deleted line is detected (sequence and chain broken)", () => {
    const i = indexOf("exec-started");
    const v = verifyLog(tampered("delete", (l) => (l.splice(i, 1), l)));
    assert.ok(!v.ok);
    assert.ok(v.problems.some((p) => /seq .* where .* was expected/.test(p)) && v.problems.some((p) => /chain broken/.test(p)), v.problems.join("; "));
  });

  it("reordered lines are detected", () => {
    const i = indexOf("workload-started");
    const v = verifyLog(tampered("reorder", (l) => ([l[i], l[i + 1]] = [l[i + 1], l[i]], l)));
    assert.ok(!v.ok);
    assert.ok(v.problems.some((p) => /seq/.test(p)), v.problems.join("; "));
  });

  it("a truncated record is detected (the seal and the published head are missing)", () => {
    const v = verifyLog(tampered("truncate", (l) => l.slice(0, l.length - 3)));
    assert.ok(!v.ok);
    assert.ok(v.problems.some((p) => /published head/.test(p)), v.problems.join("; "));
    // Without the published head the missing seal still gives it away.
    const bare = tampered("truncate-nohead", (l) => l.slice(0, l.length - 3));
    fs.rmSync(`${bare}.head`);
    assert.ok(verifyLog(bare).problems.some((p) => /not sealed/.test(p)));
  });

  it("a rewritten tail with a valid new chain and a new seal is detected by the published head", () => {
    // The attacker drops the kill/exec evidence and recomputes every hash after it.
    const cut = indexOf("exec-started");
    const kept: RecordEntry[] = lines.slice(0, cut).map((l) => JSON.parse(l));
    let prev = kept[kept.length - 1].hash;
    const forged = [
      { type: "destroyed", data: { reason: "workload exited" } },
      { type: "sealed", data: {} },
    ].map((e, k) => {
      const base = { seq: cut + k, ts: new Date().toISOString(), type: e.type, data: e.data };
      const entry = { ...base, prev, hash: entryHash(prev, base) };
      prev = entry.hash;
      return JSON.stringify(entry);
    });
    const file = tampered("forged", () => [...lines.slice(0, cut), ...forged]);
    const v = verifyLog(file);
    assert.ok(!v.ok, "a forged tail passed");
    assert.deepStrictEqual(v.problems.length, 1);
    assert.ok(/published head/.test(v.problems[0]), v.problems[0]);
  });

  it("several processes appending at once keep one valid chain", async () => {
    const file = path.join(dir, "multi.jsonl");
    ChainLog.create(file, { type: "start", data: {} });
    const writer = `require("ts-node").register({transpileOnly:true});const {ChainLog}=require(${JSON.stringify(path.join(__dirname, "..", "components", "record", "chain-log.ts"))});const l=new ChainLog(process.argv[1]);for(let i=0;i<50;i++)l.append("w",{who:process.pid,i});`;
    await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<void>((resolve, reject) => {
            const c = spawn(process.execPath, ["-e", writer, file], { cwd: path.join(__dirname, ".."), stdio: "inherit" });
            c.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`))));
          }),
      ),
    );
    new ChainLog(file).seal();
    const v = verifyLog(file);
    assert.ok(v.ok, v.problems.join("; "));
    assert.strictEqual(v.entries, 1 + 150 + 1);
  });
});
