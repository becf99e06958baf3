// Loaded by mocha before every test file (.mocharc.json "require"):
// - gives the whole run its own Airlock state directory, so tests never touch /var/lib/airlock;
// - after the last test, fails the run if any Airlock host object is left behind (netns, links, nft
//   tables, cgroups, gate processes): a leftover is a cleanup bug, not noise. A host tool that fails
//   while looking (ip, nft, pgrep) fails the run too: a check that could not look proves nothing.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { airlockHostObjects, countHostObjects } from "./helpers/host-objects";

const ownStateDir = !process.env.AIRLOCK_STATE_DIR;
if (ownStateDir) process.env.AIRLOCK_STATE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-test-state-"));
process.env.AIRLOCK_QUIET = process.env.AIRLOCK_QUIET ?? "1";

export const mochaHooks = {
  afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    const left = airlockHostObjects();
    if (countHostObjects(left) > 0) throw new Error(`Airlock host objects left behind after the test suite: ${JSON.stringify(left, null, 2)}`);
    // Only a clean run removes its state dir: after a failure it holds the journals and records to look at.
    if (ownStateDir) fs.rmSync(process.env.AIRLOCK_STATE_DIR!, { recursive: true, force: true });
  },
};
