// The notify launcher's --launch steps (components/local/notify/seccomp-notify.c), which replace the
// bash launcher and nsenter on every confined start with the seccomp filter: descriptors other than
// the listed ones closed, the descriptor and core limits set, the cgroups joined, the network
// namespace joined — and any step that fails stops the start before the command runs. Run directly
// against the launcher, with a network namespace this file creates and plain files standing in for
// cgroup.procs (a write there is what joining is); the full chain is covered by the sandbox tests.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { notifyLauncher } from "../components/local/notify/launcher";
import { socketNotifyFilter } from "../components/local/seccomp";

const NETNS = `execfast-launch-${process.pid}`;

describe("notify launcher --launch: descriptors, limits, cgroups, network namespace, failing closed", function () {
  this.timeout(30_000);
  let dir: string;
  let hex: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "notify-launch-"));
    hex = socketNotifyFilter().toString("hex");
    const r = spawnSync("ip", ["netns", "add", NETNS], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, `ip netns add: ${r.stderr}`);
  });

  after(() => {
    spawnSync("ip", ["netns", "del", NETNS]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The launcher with descriptors 3..8 open (pipes), reporting on 7, keeping `keep`; the command prints what it got. */
  function launch(keep: string, cgroupFiles: string[], netns = `/run/netns/${NETNS}`, script = "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; ulimit -Sn; ulimit -Hn; ulimit -c; ulimit -Hc; readlink /proc/self/ns/net") {
    return spawnSync(notifyLauncher(), ["7", hex, "--launch", keep, "100", "200", netns, ...cgroupFiles, "--", "/bin/sh", "-c", script], {
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe"],
      encoding: "utf8",
      timeout: 20_000,
    });
  }

  it("keeps only stdin/out/err and the listed descriptors, sets 100/200 descriptors and no core dumps, joins the listed cgroups and the namespace", () => {
    const procs = [path.join(dir, "a.procs"), path.join(dir, "b.procs")];
    for (const f of procs) fs.writeFileSync(f, "");
    const r = launch("3,5", procs);
    assert.strictEqual(r.status, 0, r.stderr);
    const [fds, soft, hard, core, coreHard, net] = r.stdout.trim().split("\n");
    // (ls's own directory descriptor is the one extra number: the lowest free one, 4.)
    assert.deepStrictEqual(fds.trim().split(" "), ["0", "1", "2", "3", "4", "5"], `descriptors inside: ${fds}`);
    assert.deepStrictEqual([soft, hard, core, coreHard], ["100", "200", "0", "0"]);
    const ino = fs.statSync(`/run/netns/${NETNS}`).ino;
    assert.strictEqual(net, `net:[${ino}]`, "not in the namespace given");
    assert.notStrictEqual(fs.readlinkSync("/proc/self/ns/net"), net, "positive control: the test's own namespace differs");
    // Each cgroup.procs got the launcher's pid (the one that became the shell: its own pid is $$).
    const pids = procs.map((f) => fs.readFileSync(f, "utf8"));
    assert.ok(pids.every((p) => /^\d+\n$/.test(p) && p === pids[0]), `cgroup.procs writes: ${JSON.stringify(pids)}`);
    const self = launch("3", [path.join(dir, "c.procs")].map((f) => (fs.writeFileSync(f, ""), f)), undefined, "echo $$");
    assert.strictEqual(fs.readFileSync(path.join(dir, "c.procs"), "utf8"), `${self.stdout.trim()}\n`);
    // Positive control: without the close step, the shell would have seen 6 and 8 too (the pipes are open here).
    const plain = spawnSync("/bin/sh", ["-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"], { stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe"], encoding: "utf8" });
    assert.ok(plain.stdout.split(" ").includes("8"), `positive control: ${plain.stdout}`);
  });

  it("fails closed: a cgroup it cannot join, a namespace it cannot enter, bad arguments — exit 125, the command never runs", () => {
    const flag = path.join(dir, "ran");
    const touch = `touch ${flag}`;
    const cases: [string, ReturnType<typeof launch>, RegExp][] = [
      ["cgroup", launch("3", [path.join(dir, "missing-dir", "cgroup.procs")], undefined, touch), /cannot join the cgroup/],
      ["netns", launch("3", [], path.join(dir, "no-such-netns"), touch), /cannot open the network namespace/],
      ["not a netns", launch("3", [], path.join(dir), touch), /cannot join the network namespace/],
      ["keep list", launch("3,x", [], undefined, touch), /descriptor 'x' is not a number/],
    ];
    for (const [what, r, message] of cases) {
      assert.strictEqual(r.status, 125, `${what}: exit ${r.status} ${r.stderr}`);
      assert.match(r.stderr, message, what);
    }
    const noDashes = spawnSync(notifyLauncher(), ["7", hex, "--launch", "3", "100", "200", `/run/netns/${NETNS}`, "/bin/sh", "-c", touch], { stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe"], encoding: "utf8" });
    assert.strictEqual(noDashes.status, 125, noDashes.stderr);
    assert.ok(!fs.existsSync(flag), "the command ran although a launch step failed");
    // Positive control: the same command with every step possible runs.
    const ok = launch("3", [], undefined, touch);
    assert.strictEqual(ok.status, 0, ok.stderr);
    assert.ok(fs.existsSync(flag));
  });
});
