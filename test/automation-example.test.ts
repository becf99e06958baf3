// examples/harness.ts runs as a user would run it (its own process, `import ... from "airlock"`
// through the package's exports), on the direct path with 2 samples: both succeed, each answer came
// through the gate, each record exists and is a sealed chain, and nothing is left on the host.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { sandboxObjects, snapshot } from "./helpers/kernel-view";
import { verifyLog } from "../components/record/chain-log";

const ROOT = path.resolve(__dirname, "..");

describe("examples/harness.ts (the README's harness) runs", function () {
  this.timeout(300_000);
  it("2 samples on the direct path: both succeed through the gate, records collected, nothing left", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "run-ts.js"), path.join(ROOT, "examples", "harness.ts"), "--engine", "direct", "--samples", "2"], { cwd: ROOT, encoding: "utf8", env: process.env, timeout: 280_000 });
    assert.strictEqual(r.status, 0, `harness exited ${r.status} ${r.signal ?? ""}\n${r.stderr.slice(-3000)}`);
    const summary = JSON.parse(r.stdout);
    assert.strictEqual(summary.total, 2);
    assert.strictEqual(summary.succeeded, 2, JSON.stringify(summary.results));
    assert.match(r.stderr, /\[0\] created[\s\S]*\[0\] destroyed|\[0\] destroyed/, "no progress events on stderr");
    const snap = snapshot();
    for (const res of summary.results) {
      assert.strictEqual(res.result.exit, 0, `sample ${res.index}: ${JSON.stringify(res.result)}`);
      assert.strictEqual(res.result.answer, "200", `sample ${res.index}'s answer through the gate: ${JSON.stringify(res.result)}`);
      assert.ok(fs.existsSync(res.result.record), `sample ${res.index}'s record ${res.result.record} is missing`);
      assert.strictEqual(res.result.record, res.outputs.recordLocation);
      const v = verifyLog(res.result.record);
      assert.ok(v.ok && v.sealed && v.entries >= 2, `sample ${res.index}'s record ${res.result.record}: ${JSON.stringify(v)}`);
      assert.deepStrictEqual(sandboxObjects(res.outputs.sandboxId, snap).map((o) => o.label), [], `host objects of sample ${res.index} left`);
    }
  });
});
