// The undo journal as the chaos runner uses it: undo recorded before the change, undone at once when
// applying fails, torn last lines ignored, and recovery of a dead runner's journal idempotent.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawn } from "child_process";
import { readJournal, recoverJournals, registerUndo, UndoJournal } from "../components/host/journal";

const undone: string[] = [];
registerUndo("test-mark", (a: { what: string }) => void undone.push(a.what));

describe("host: undo journal", () => {
  beforeEach(() => void (undone.length = 0));

  it("apply() records the undo first and runs it at once when applying throws", async () => {
    const j = UndoJournal.open(`hostjournal-${process.pid}-a`, { purpose: "test" });
    await assert.rejects(
      j.apply("test-mark", "will fail", { what: "failed change" }, () => {
        assert.equal(readJournal(j.file).pending.length, 1, "the undo is on disk before the change runs");
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.deepEqual(undone, ["failed change"]);
    assert.deepEqual(j.pending(), []);
    j.close();
  });

  it("a torn last line (crash mid-write) is ignored: that change had not been applied", () => {
    // Written by hand outside the journal directory, so no recovery ever picks it up.
    const file = path.join(fs.mkdtempSync(path.join(process.env.AIRLOCK_STATE_DIR!, "torn-")), "torn.jsonl");
    const open = { t: "open", owner: "torn", purpose: "test", runner: { pid: 1, startTime: 0 }, at: new Date().toISOString() };
    const one = { t: "do", id: 1, kind: "test-mark", label: "one", args: { what: "one" }, at: open.at };
    fs.writeFileSync(file, `${JSON.stringify(open)}\n${JSON.stringify(one)}\n{"t":"do","id":2,"kind":"test-mark","lab`);
    assert.deepEqual(readJournal(file).pending.map((s) => s.label), ["one"]);
  });

  it("recovers a SIGKILLed runner's journal once, newest first; a second recovery has nothing to do", async () => {
    const owner = `hostjournal-${process.pid}-c`;
    const dir = path.join(process.env.AIRLOCK_STATE_DIR!, "journals");
    // A runner in another process: opens a journal, records two changes, then is killed.
    const script = `
      require("ts-node").register({ transpileOnly: true });
      const { UndoJournal, registerUndo } = require(${JSON.stringify(path.join(__dirname, "..", "components", "host", "journal.ts"))});
      registerUndo("test-mark", () => {});
      const j = UndoJournal.open(${JSON.stringify(owner)}, { purpose: "test" });
      j.record("test-mark", "first", { what: "first" });
      j.record("test-mark", "second", { what: "second" });
      console.log("ready");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["-e", script], { cwd: path.join(__dirname, ".."), env: process.env, stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((r) => child.stdout!.on("data", (d) => /ready/.test(String(d)) && r()));
    assert.equal((await recoverJournals({ owner }))[0].action, "skipped-live", "a live runner's journal is left alone");
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const [result] = await recoverJournals({ owner });
    assert.equal(result.action, "undone");
    assert.deepEqual(undone, ["second", "first"]);
    assert.deepEqual(await recoverJournals({ owner }), []);
    assert.ok(readJournal(path.join(dir, `${owner}.jsonl`)).closed);
  });
});
