// The tests' own kernel reader (helpers/kernel-view.ts) and the run scope of the suite-wide leftover
// check (helpers/run-scope.ts), checked against objects this file builds by hand: every kind is found
// by its kernel relation (a veth by its peer, a renamed process by its cgroup or namespace), a host
// tool that fails makes the reader throw, and another run's (or a user's) objects are told apart from
// this run's.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync, ChildProcess } from "child_process";
import { airlockObjects, cgroupMounts, objectsOfSandbox, snapshot, vethNamesOf } from "./helpers/kernel-view";
import { RUN_TAG, scope } from "./helpers/run-scope";
import { fakeToolsPerTest, waitFor } from "./helpers/common";

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  assert.strictEqual(r.status, 0, `${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const quiet = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: "utf8" });

describe("host: the tests' independent kernel reader and the leftover check's run scope", function () {
  this.timeout(30_000);

  describe("a sandbox's objects, each found through the kernel", () => {
    // Fixture-shaped (airlock-tf-<role>-<run tag>): should it leak, the suite check knows it as this run's.
    const id = `tf-kv-${RUN_TAG}`;
    const ns = `airlock-${id}`;
    const [schemeVeth] = vethNamesOf(id);
    const peerOnly = `kvp${RUN_TAG}`; // no "airlock", no alias: only the veth peer ties it to the sandbox
    const aliased = `kva${RUN_TAG}`;
    const mountDir = fs.mkdtempSync(path.join(os.tmpdir(), "kv-"));
    const fsDir = path.join(mountDir, "sandboxes", id, "fs");
    const cgroupDirs = cgroupMounts().map((m) => path.join(m, ns));
    const children: ChildProcess[] = [];

    const cleanup = () => {
      for (const c of children) c.kill("SIGKILL");
      quiet("umount", [fsDir]);
      quiet("nft", ["delete", "table", "inet", ns]);
      for (const l of [peerOnly, aliased, schemeVeth]) quiet("ip", ["link", "del", l]);
      quiet("ip", ["netns", "del", ns]);
    };

    before(async () => {
      sh("ip", ["netns", "add", ns]);
      // Three host ends of veths into the namespace: one named per the scheme (no alias), one with an
      // alias only, one with neither.
      sh("ip", ["link", "add", schemeVeth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      sh("ip", ["link", "add", aliased, "type", "veth", "peer", "name", "eth1", "netns", ns]);
      sh("ip", ["link", "set", aliased, "alias", `airlock:${id}`]);
      sh("ip", ["link", "add", peerOnly, "type", "veth", "peer", "name", "eth2", "netns", ns]);
      sh("nft", ["add", "table", "inet", ns]);
      for (const d of cgroupDirs) fs.mkdirSync(d);
      fs.mkdirSync(fsDir, { recursive: true });
      sh("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", fsDir]);
      // A process that renamed itself, in the sandbox's cgroups (every hierarchy that takes tasks)...
      const renamed = spawn("bash", ["-c", 'read go; exec -a innocent sleep 60'], { stdio: ["pipe", "ignore", "ignore"] });
      children.push(renamed);
      await new Promise((r) => renamed.once("spawn", r));
      for (const d of cgroupDirs) {
        const procs = fs.existsSync(path.join(d, "cgroup.procs")) ? path.join(d, "cgroup.procs") : path.join(d, "tasks");
        try {
          fs.writeFileSync(procs, String(renamed.pid));
        } catch {
          /* cpuset without cpus/mems: one hierarchy fewer is enough */
        }
      }
      renamed.stdin!.end("go\n");
      // ...and one inside its network namespace, named like nothing in particular.
      const inside = spawn("ip", ["netns", "exec", ns, "sleep", "60"], { stdio: "ignore" });
      children.push(inside);
      await waitFor("the processes to show", () => objectsOfSandbox(id).filter((l) => l.startsWith("process")).length >= 2, 5000);
    });

    after(() => {
      cleanup();
      for (const d of cgroupDirs) if (fs.existsSync(d)) fs.rmdirSync(d);
      fs.rmSync(mountDir, { recursive: true, force: true });
    });

    it("finds netns, veths (by name, by alias, by peer), nft table, cgroups in every hierarchy, the tmpfs and both processes", () => {
      const found = objectsOfSandbox(id);
      const has = (re: RegExp, what: string) => assert.ok(found.some((l) => re.test(l)), `${what} not found in:\n${found.join("\n")}`);
      has(new RegExp(`^netns ${ns}$`), "the namespace");
      has(new RegExp(`^link ${schemeVeth} \\(by name, veth peer\\)$`), "the scheme-named veth");
      has(new RegExp(`^link ${aliased} \\(by alias, veth peer\\)$`), "the aliased veth");
      has(new RegExp(`^link ${peerOnly} \\(by veth peer\\)$`), "the veth with neither name nor alias");
      has(new RegExp(`^nft-table inet ${ns}$`), "the nft table");
      for (const d of cgroupDirs) has(new RegExp(`^cgroup ${d.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`), `the cgroup ${d}`);
      has(new RegExp(`^mount ${fsDir} \\(tmpfs\\)$`), "the tmpfs");
      has(/^process \d+ innocent 60 \(by cgroup\)$/, "the renamed process in the cgroup");
      has(/^process \d+ sleep 60 \(by netns\)$/, "the process in the namespace");
    });

    it("the suite check counts them as this run's (fixture-named), not as someone else's", () => {
      const snap = snapshot();
      const { own, foreign } = scope(airlockObjects(snap), snap);
      for (const name of [ns, peerOnly, `inet ${ns}`]) assert.ok(own.some((o) => o.key === name), `${name} not counted as this run's: own ${own.map((o) => o.label)}`);
      assert.ok(!foreign.some((o) => o.label.includes(id)), `counted as foreign: ${foreign.map((o) => o.label)}`);
    });

    it("after removal, nothing of it is found (and the removals are read back, not assumed)", () => {
      cleanup();
      for (const d of cgroupDirs) waitForRmdir(d);
      assert.deepStrictEqual(objectsOfSandbox(id), []);
      assert.ok(!sh("ip", ["netns", "list"]).includes(ns), "the namespace is still listed by ip");
    });
  });

  describe("a host tool that fails makes the reader throw, never report 'nothing'", () => {
    const fake = fakeToolsPerTest();

    it("ip exiting 1", () => {
      fake("ip", 'echo "RTNETLINK answers: Operation not permitted" >&2; exit 1');
      assert.throws(() => snapshot(), /kernel-view: 'ip -j netns list' failed \(exit 1\): RTNETLINK answers: Operation not permitted/);
    });

    it("nft killed by a signal", () => {
      fake("nft", "kill -9 $$");
      assert.throws(() => snapshot(), /kernel-view: 'nft -j list tables' failed \(signal SIGKILL\)/);
    });

    it("ip printing something that is not JSON", () => {
      fake("ip", "echo 'Usage: ip [ OPTIONS ] OBJECT'");
      assert.throws(() => snapshot(), /printed no JSON/);
    });

    it("positive control: with the real tools the same call works", () => {
      assert.ok(snapshot().links.some((l) => l.ifname === "lo"));
    });
  });

  describe("the run scope: another run's or a user's Airlock objects are foreign", () => {
    const foreignNs = `airlock-byhand-${RUN_TAG}0ff`; // sandbox-shaped, unknown to this run's state directory
    const children: ChildProcess[] = [];
    after(() => {
      for (const c of children) c.kill("SIGKILL");
      quiet("ip", ["netns", "del", foreignNs]);
    });

    it("a namespace no journal/handle/record of this run names, and a process started with another state directory, are foreign; ours are own", async () => {
      sh("ip", ["netns", "add", foreignNs]);
      const theirs = spawn("sleep", ["60"], { stdio: "ignore", env: { ...process.env, AIRLOCK_STATE_DIR: "/var/lib/airlock", AIRLOCK_TEST_RUN: "" } });
      const ours = spawn("sleep", ["61"], { stdio: "ignore", env: process.env });
      children.push(theirs, ours);
      await Promise.all([theirs, ours].map((c) => new Promise((r) => c.once("spawn", r))));
      const snap = snapshot();
      const { own, foreign } = scope(airlockObjects(snap), snap);
      assert.ok(foreign.some((o) => o.kind === "netns" && o.key === foreignNs), "the hand-made namespace is not foreign");
      assert.ok(foreign.some((o) => o.kind === "process" && o.key === String(theirs.pid)), "the other state directory's process is not foreign");
      assert.ok(own.some((o) => o.kind === "process" && o.key === String(ours.pid)), "this run's process is not counted as its own");
      // Positive control: the same namespace becomes this run's once this run's state directory names it.
      const id = foreignNs.slice("airlock-".length);
      const dir = path.join(process.env.AIRLOCK_STATE_DIR!, "sandboxes", id);
      fs.mkdirSync(dir, { recursive: true });
      try {
        const again = scope(airlockObjects(snap), snap);
        assert.ok(again.own.some((o) => o.kind === "netns" && o.key === foreignNs), "not counted as own once this run's state directory has its id");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

/** A cgroup directory can take a moment to go once its last process is gone (rmdir: EBUSY). */
function waitForRmdir(dir: string): void {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      if (fs.existsSync(dir)) fs.rmdirSync(dir);
      return;
    } catch (e: any) {
      if (e.code !== "EBUSY" || Date.now() > deadline) throw e;
      spawnSync("sleep", ["0.05"]);
    }
  }
}
