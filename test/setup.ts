// Loaded by mocha before every test file (.mocharc.json "require"):
// - gives the whole run its own Airlock state directory, so tests never touch /var/lib/airlock, and a
//   run tag (AIRLOCK_TEST_RUN) that fixtures put in their names and every child process inherits;
// - after the last test, fails the run if any host object of *this run* is left behind (netns, links,
//   nft tables, cgroups, mounts, processes), judged from the kernel (helpers/kernel-view.ts), never by
//   the sweeper's own scanner. Airlock objects of anyone else (a benchmark, another checkout, a sandbox
//   a user made by hand) are reported as a note and left alone (helpers/run-scope.ts). A host tool
//   that fails while looking fails the run: a check that could not look proves nothing.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { airlockObjects, snapshot } from "./helpers/kernel-view";
import { RUN_TAG, scope } from "./helpers/run-scope";
import { stopKubeCluster } from "./helpers/kube-cluster";

const ownStateDir = !process.env.AIRLOCK_STATE_DIR;
if (ownStateDir) process.env.AIRLOCK_STATE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-test-state-"));
process.env.AIRLOCK_QUIET = process.env.AIRLOCK_QUIET ?? "1";
void RUN_TAG; // sets AIRLOCK_TEST_RUN for this process and its children

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    // The Kubernetes control plane (if a test started one) goes first: its processes carry this run's
    // state dir and would otherwise count as leaked.
    await stopKubeCluster();
    const snap = snapshot();
    const { own, foreign } = scope(airlockObjects(snap), snap);
    if (foreign.length > 0)
      process.stdout.write(`\n  note: ${foreign.length} Airlock object(s) on this host that this run did not create (left alone):\n${foreign.map((o) => `    ${o.label}`).join("\n")}\n`);
    if (own.length > 0) throw new Error(`host objects of this test run (tag ${RUN_TAG}, state ${process.env.AIRLOCK_STATE_DIR}) left behind:\n${own.map((o) => `  ${o.label}`).join("\n")}`);
    // Only a clean run removes its state dir: after a failure it holds the journals and records to look at.
    if (ownStateDir) fs.rmSync(process.env.AIRLOCK_STATE_DIR!, { recursive: true, force: true });
  },
};
