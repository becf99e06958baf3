// The refusal tally (components/local/refusal-tally.ts): the shared counter through which refused
// socket calls of any process's confined starts reach the sandbox's guard. Here without a sandbox:
// several real processes appending at once, and the cap that keeps a refusal loop off the disk.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { addToRefusalTally, readRefusalTally, TALLY_CAP_BYTES } from "../components/local/refusal-tally";

const ROOT = path.join(__dirname, "..");

/** A separate Node process that adds 1 to the tally `times` times (one open/append each, as a start does per chunk). */
function appender(file: string, times: number): Promise<number | null> {
  const code = `const t = require("./components/local/refusal-tally"); for (let i = 0; i < ${times}; i++) t.addToRefusalTally(${JSON.stringify(file)}, 1);`;
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", code], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  return new Promise((resolve) => child.on("close", (c) => resolve(c)));
}

describe("local: refusal tally", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("counts every refusal appended by several processes at once", async () => {
    const file = path.join(dir, "t");
    assert.strictEqual(readRefusalTally(file), 0, "no tally yet reads as 0");
    const codes = await Promise.all([1, 2, 3, 4].map(() => appender(file, 300)));
    assert.deepStrictEqual(codes, [0, 0, 0, 0]);
    assert.strictEqual(readRefusalTally(file), 1200);
    assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
  });

  it("stops at the cap (a refusal loop without a kill rule cannot fill the disk)", () => {
    const file = path.join(dir, "t");
    addToRefusalTally(file, TALLY_CAP_BYTES - 3);
    assert.strictEqual(readRefusalTally(file), TALLY_CAP_BYTES - 3);
    addToRefusalTally(file, 10);
    assert.strictEqual(readRefusalTally(file), TALLY_CAP_BYTES);
    addToRefusalTally(file, 1);
    assert.strictEqual(readRefusalTally(file), TALLY_CAP_BYTES);
  });

  it("never revives a destroyed sandbox's directory: the write fails, loudly", () => {
    const gone = path.join(dir, "destroyed", "t");
    assert.throws(() => addToRefusalTally(gone, 1), /ENOENT/);
    assert.ok(!fs.existsSync(path.dirname(gone)));
  });
});
