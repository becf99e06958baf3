// The local backend against an adversarial workload: the findings of the security review (issue 14),
// each shown for real — the attack from inside fails, and a positive control shows that the same
// probe works where it should (unconfined on the host, in the sandbox's own network namespace without
// the confinement, or for a harmless neighbour of the attack). Traffic only to loopback; vsock is only
// ever bound, never connected (nothing is sent to the hypervisor or any other host).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { Cgroup, detectCgroupHost } from "../components/host/cgroup";
import { cgroupOf } from "../components/local/views";
import { PTY_MAX, HostSandbox } from "../components/local/sandbox";
import { WORKLOAD_NOFILE, DEV_NODES } from "../components/local/confine";
import { GATE_LOG } from "../components/local/gate";
import { WATCHER_PROCESS_NAME, openSshEd25519 } from "../components/local/canary";
import { sweep } from "../components/local/sweep";
import { netnsPath } from "../components/local/netns";
import { sandboxLayout } from "../components/local/layout";
import { confinedGateCommand } from "../components/local/gate-confine";
import { socketNotifyFilter } from "../components/local/seccomp";
import { notifyLauncher } from "../components/local/notify/launcher";
import { runFileHelper, writeFileIn } from "../components/local/control/files";
import { SandboxPool, localSpec, execCapture, recordEntries, waitFor, skipBecause, assertNoObjectsOf } from "./helpers/local-sandbox";
import { HOST_PYTHON, PY_HOLD, holdInside, hostHelper, pidsWithArgv, pyInside, pyOnHost, statusField } from "./helpers/local-probes";
import { snapshot } from "./helpers/kernel-view";
import { describeResult, runCli, startCli } from "./helpers/local-cli";
import { RUN_TAG } from "./helpers/run-scope";
import { createSandbox, destroySandbox } from "../automation";
import { loadHandle } from "../components/local/handle";
import { waitSupervisorGone } from "../components/local/supervisor-client";
import { addToRefusalTally, readRefusalTally, refusalTallyPath } from "../components/local/refusal-tally";

const EAFNOSUPPORT = 97;
const EADDRINUSE = 98;
const EPERM = 1;
const EROFS = 30;
const ENOSPC = 28;
const EMFILE = 24;
const ENOSYS = 38;
const readOr = (f: string) => {
  try {
    return fs.readFileSync(f, "utf8");
  } catch {
    return "";
  }
};
const readLink = (f: string) => {
  try {
    return fs.readlinkSync(f);
  } catch {
    return "";
  }
};

/** (A function, so that an earlier `killedBy === undefined` check does not narrow later reads.) */
const killedRule = (s: HostSandbox) => s.killedBy?.rule;

function eventsOf(sb: HostSandbox, type: string) {
  return recordEntries(sb.record.file).filter((e) => e.type === type);
}

/** Exotic families: none of them has any business in an air-gapped workload. */
const EXOTIC_FAMILIES: Record<string, number> = {
  AF_VSOCK: 40, AF_PACKET: 17, AF_CAN: 29, AF_BLUETOOTH: 31, AF_ALG: 38, AF_XDP: 44, AF_KEY: 15, AF_TIPC: 30, AF_RDS: 21,
  AF_LLC: 26, AF_PPPOX: 24, AF_NFC: 39, AF_QIPCRTR: 42, AF_SMC: 43, AF_MCTP: 45, AF_IEEE802154: 36, AF_RXRPC: 33, AF_APPLETALK: 5,
};

/** For each family: the errno of socket() with every common type (0 = a socket was created). */
const FAMILY_PROBE = String.raw`
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
out = {}
for name, fam in json.loads(sys.argv[1]).items():
    res = []
    for typ in (1, 2, 3, 5):  # stream, dgram, raw, seqpacket
        fd = libc.socket(fam, typ, 0)
        res.append(0 if fd >= 0 else ctypes.get_errno())
        if fd >= 0: os.close(fd)
    out[name] = res
sp = (ctypes.c_int * 2)()
r = libc.socketpair(40, 1, 0, sp)
out["socketpair(AF_VSOCK)"] = [0 if r == 0 else ctypes.get_errno()]
print(json.dumps(out))
`;

/** bind() only — a vsock bind reaches the port space shared with the host; nothing is connected. */
const VSOCK_BIND = String.raw`
import json, socket, sys
try:
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.bind((socket.VMADDR_CID_ANY, int(sys.argv[1])))
    print(json.dumps({"ok": True}))
except OSError as e:
    print(json.dumps({"ok": False, "errno": e.errno, "error": str(e)}))
`;

/** A host listener: binds a free vsock port (CID_ANY), prints it, holds it until killed. Never listens or connects. */
const VSOCK_HOLDER = String.raw`
import random, socket, sys, time
s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
for _ in range(50):
    port = random.randint(40000, 60000)
    try:
        s.bind((socket.VMADDR_CID_ANY, port)); break
    except OSError: pass
print(port, flush=True)
time.sleep(120)
`;

describe("local sandbox: security review findings (issue 14)", function () {
  this.timeout(120_000);
  const pool = new SandboxPool();
  let sb: HostSandbox;
  let taskDir: string;

  before(async () => {
    taskDir = fs.mkdtempSync(path.join(os.tmpdir(), "sec-task-"));
    fs.chmodSync(taskDir, 0o755);
    fs.writeFileSync(path.join(taskDir, "tool.txt"), "task file\n", { mode: 0o644 });
    sb = await pool.create(localSpec({ name: "sec" }), { taskDir });
  });

  after(async () => {
    await pool.destroyAll();
    fs.rmSync(taskDir, { recursive: true, force: true });
  });

  describe("1. socket families (vsock around the network namespace)", () => {
    // Each refused attempt at a transport family counts as denied egress, and the default kill rule
    // fires at 20: the probes here make more than that, so they run in a sandbox with a high threshold.
    let fam: HostSandbox;
    before(async () => {
      fam = await pool.create(localSpec({ name: "fam", killSwitch: { rules: [{ on: "canary" }, { on: "denied-egress", threshold: 100_000 }] } }));
    });
    after(async () => {
      if (fam) await pool.destroy(fam);
    });
    const refusalsOf = (box: HostSandbox) => eventsOf(box, "socket-refused").map((e) => e.data as any);

    it("socket() of vsock and other exotic families fails with EAFNOSUPPORT inside; the host kernel has them; each attempt is one record entry", async function () {
      const host = pyOnHost(FAMILY_PROBE, [JSON.stringify(EXOTIC_FAMILIES)]);
      const before = refusalsOf(fam).length;
      const inside = await pyInside(fam, FAMILY_PROBE, JSON.stringify(EXOTIC_FAMILIES));
      // Positive control per family: the unconfined host (root) gets something other than "no such
      // family" for at least one socket type — the kernel has it, so a refusal inside is the filter's.
      const present = Object.keys(EXOTIC_FAMILIES).filter((f) => host[f].some((e: number) => e !== EAFNOSUPPORT));
      if (!present.includes("AF_VSOCK")) process.stdout.write("      (this kernel has no AF_VSOCK; the family is still checked inside)\n");
      assert.ok(present.length >= 2, `positive control: the host kernel has only ${present.join(",") || "none"} of the exotic families, too few to show anything: ${JSON.stringify(host)}`);
      for (const f of Object.keys(EXOTIC_FAMILIES)) {
        assert.deepStrictEqual(inside[f], [EAFNOSUPPORT, EAFNOSUPPORT, EAFNOSUPPORT, EAFNOSUPPORT], `${f} inside (host: ${host[f]}): ${inside[f]}`);
      }
      assert.deepStrictEqual(inside["socketpair(AF_VSOCK)"], [EAFNOSUPPORT]);
      process.stdout.write(`      (present on this kernel, refused inside: ${present.join(" ")})\n`);
      // Counted: one entry per attempt (4 types per family, and the socketpair), with what was asked and by whom.
      const got = refusalsOf(fam).slice(before);
      assert.strictEqual(got.length, Object.keys(EXOTIC_FAMILIES).length * 4 + 1, `refusals recorded: ${JSON.stringify(got.map((r) => r.familyName))}`);
      for (const [name, nr] of Object.entries(EXOTIC_FAMILIES)) {
        const mine = got.filter((r) => r.family === nr && r.call === "socket");
        assert.deepStrictEqual(mine.map((r) => r.type).sort(), [1, 2, 3, 5], `${name}: ${JSON.stringify(mine)}`);
        assert.ok(mine.every((r) => r.familyName === name && r.comm === "python3" && r.pid > 0 && r.source === "exec"), JSON.stringify(mine[0]));
      }
      assert.deepStrictEqual(got.filter((r) => r.call === "socketpair").map((r) => [r.family, r.type]), [[40, 1]]);
    });

    it("a loop of refusals: the first 100 per process start are recorded one by one, the rest counted in a summary", async () => {
      const before = refusalsOf(fam).length;
      const loop = "import ctypes\nl=ctypes.CDLL(None,use_errno=True)\nfor _ in range(150): l.socket(40,1,0)\nprint('{}')";
      await pyInside(fam, loop);
      assert.strictEqual(refusalsOf(fam).length - before, 100);
      const summary = eventsOf(fam, "socket-refused-summary").map((e) => e.data as any).pop();
      assert.deepStrictEqual([summary?.total, summary?.byFamily], [150, { AF_VSOCK: 150 }], JSON.stringify(summary));
    });

    it("refused transport families count as denied egress and fire the kill rule; other netlink protocols are recorded but not counted", async () => {
      const box = await pool.create(localSpec({ name: "famkill", killSwitch: { rules: [{ on: "canary" }, { on: "denied-egress", threshold: 5 }] } }));
      try {
        await pyInside(box, "import ctypes\nl=ctypes.CDLL(None,use_errno=True)\nfor _ in range(8): l.socket(16,3,15)\nprint('{}')");
        assert.strictEqual(refusalsOf(box).filter((r) => r.family === 16 && r.protocol === 15 && r.egress === false).length, 8);
        await new Promise((r) => setTimeout(r, 800)); // three guard polls
        assert.strictEqual(killedRule(box), undefined, "uevent netlink attempts (local kernel, not a way out) killed the sandbox");
        await pyInside(box, "import ctypes\nl=ctypes.CDLL(None,use_errno=True)\nfor _ in range(5): l.socket(40,1,0)\nprint('{}')");
        await waitFor("the denied-egress rule to fire", () => killedRule(box) === "denied-egress", 10_000).catch((e) => {
          throw new Error(`${e.message}: ${JSON.stringify(recordEntries(box.record.file).filter((x) => /egress|socket|guard/.test(x.type)).slice(-6))}`);
        });
        const denied = eventsOf(box, "egress-denied").map((e) => e.data as any).pop();
        assert.ok(denied.rejected.socketFamily >= 5 && denied.total >= 5, JSON.stringify(denied));
      } finally {
        await pool.destroy(box);
      }
    });

    it("the listener is held only by the responder outside the sandbox, never inside; a killed responder leaves the call refused (ENOSYS)", async () => {
      const marker = `notif-${process.pid}`;
      const code = PY_HOLD + String.raw`
import ctypes, json, os, sys
def links():
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit(): continue
        try: fds = os.listdir("/proc/%s/fd" % p)
        except OSError: continue
        for f in fds:
            try: out.append(os.readlink("/proc/%s/fd/%s" % (p, f)))
            except OSError: pass
    return out
hold(sys.argv[1], {"links": links()})
l = ctypes.CDLL(None, use_errno=True)
fd = l.socket(40, 1, 0)
print(json.dumps({"fd": fd, "errno": ctypes.get_errno()}))`;
      const before = refusalsOf(fam).length;
      const held = await holdInside(fam, ["python3", "-c", code, marker], marker);
      let released = false;
      try {
        const inside = JSON.parse(held.ready).links as string[];
        assert.ok(inside.length >= 3 && !inside.some((l) => /seccomp/.test(l)), `a seccomp listener is visible inside: ${inside.join(" ")}`);
        // The responder: a child of this exec's launcher (bubblewrap's monitor by now), named airlock-notify.
        const started = eventsOf(fam, "exec-started").map((e) => e.data as any).filter((d) => d.command.includes(marker)).pop();
        const responders = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p) && readOr(`/proc/${p}/comm`).trim() === "airlock-notify" && statusField(Number(p), "PPid") === String(started.pid));
        assert.strictEqual(responders.length, 1, `responders of exec ${started.pid}: ${responders}`);
        const fds = fs.readdirSync(`/proc/${responders[0]}/fd`).map((f) => readLink(`/proc/${responders[0]}/fd/${f}`));
        // Positive control of the probe above: the listener is there, on the host side, under this name.
        assert.ok(fds.includes("anon_inode:seccomp notify"), `the responder holds no listener: ${fds}`);
        assert.ok(!cgroupOf(fam.handle.cgroup).processes().includes(Number(responders[0])), "the responder is inside the sandbox's cgroup");
        process.kill(Number(responders[0]), "SIGKILL");
        await waitFor("the responder to be gone", () => !fs.existsSync(`/proc/${responders[0]}`) || readOr(`/proc/${responders[0]}/stat`).split(") ")[1]?.startsWith("Z"), 5_000);
        released = true;
        const r = await held.release();
        assert.deepStrictEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), { fd: -1, errno: ENOSYS }, r.stderr);
        assert.strictEqual(refusalsOf(fam).length, before, "a refusal was reported with no responder");
      } finally {
        if (!released) await held.release();
      }
    });

    it("the sandbox's filter file (loaded without the launcher, e.g. by the gate) refuses the families by itself", function () {
      const probe = "import ctypes,json\nl=ctypes.CDLL(None,use_errno=True)\nr=[]\nfor f in (40,17,29):\n    fd=l.socket(f,2 if f!=17 else 3,0); r.append(0 if fd>=0 else ctypes.get_errno())\nprint(json.dumps(r))";
      const run = (withFilter: boolean) => {
        const c = confinedGateCommand({ uid: fam.handle.gate.uid!, cgroupProcs: [], seccompFile: withFilter ? sandboxLayout(fam.id).seccompFile : undefined, argv0: "airlock-gate-probe" }, ["/usr/bin/python3", "-I", "-c", probe]);
        const r = spawnSync(c.file, c.args, { stdio: ["ignore", "pipe", "pipe", c.seccompFd ?? "ignore"], encoding: "utf8", timeout: 30_000 });
        if (c.seccompFd !== undefined) fs.closeSync(c.seccompFd);
        assert.strictEqual(r.status, 0, r.stderr);
        return JSON.parse(r.stdout.trim().split("\n").pop()!) as number[];
      };
      const control = run(false);
      assert.ok(control.some((e) => e !== EAFNOSUPPORT), `positive control: without the filter the kernel knows none of vsock/packet/can: ${control}`);
      assert.deepStrictEqual(run(true), [EAFNOSUPPORT, EAFNOSUPPORT, EAFNOSUPPORT]);
    });

    it("the launcher fails closed: a filter it cannot install, and the command never runs", () => {
      const flag = path.join(os.tmpdir(), `notif-ran-${process.pid}`);
      const bad = "06000000ffff"; // not a whole instruction
      const r = spawnSync(notifyLauncher(), ["3", bad, "/usr/bin/touch", flag], { stdio: ["ignore", "pipe", "pipe", "pipe"], encoding: "utf8" });
      assert.strictEqual(r.status, 125, r.stderr);
      const rejected = spawnSync(notifyLauncher(), ["3", "1500000100000000", "/usr/bin/touch", flag], { stdio: ["ignore", "pipe", "pipe", "pipe"], encoding: "utf8" });
      assert.strictEqual(rejected.status, 125, `a program the kernel refuses (no return) must stop the launch: ${rejected.stderr}`);
      assert.ok(!fs.existsSync(flag), "the command ran although the filter was not installed");
      // Positive control: with a valid filter the command runs.
      const ok = spawnSync(notifyLauncher(), ["3", socketNotifyFilter().toString("hex"), "/usr/bin/touch", flag], { stdio: ["ignore", "pipe", "pipe", "pipe"], encoding: "utf8" });
      assert.strictEqual(ok.status, 0, ok.stderr);
      assert.ok(fs.existsSync(flag));
      fs.rmSync(flag, { force: true });
    });

    // A `sandbox exec` from another process (the CLI, for a sandbox its supervisor does not own — here
    // the test process owns it) starts the command there, not in the owner: its refusals must still
    // reach the owner's guard. Positive control first: as many sockets of an allowed family (AF_INET,
    // to a listener on the sandbox's own loopback) from the same CLI path leave the sandbox alive, so
    // it is the refused families that kill, not the number of sockets or the exec itself.
    it("refusals of a `sandbox exec` run by a separate CLI process count toward the owner's denied-egress rule; as many loopback AF_INET sockets do not", async () => {
      const threshold = 5;
      const box = await pool.create(localSpec({ name: "cliexec", killSwitch: { rules: [{ on: "canary" }, { on: "denied-egress", threshold } ] } }));
      try {
        const n = threshold + 3;
        const inet = String.raw`
import json, socket
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
held = []
for _ in range(${n}):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM); c.connect(srv.getsockname()); held.append(c)
print(json.dumps({"connected": len(held)}))`;
        const control = await runCli(["sandbox", "exec", box.id, "--", "python3", "-c", inet]);
        assert.strictEqual(control.code, 0, describeResult(control));
        assert.deepStrictEqual(JSON.parse(control.stdout.trim().split("\n").pop()!), { connected: n }, describeResult(control));
        await new Promise((r) => setTimeout(r, 4 * 250)); // four guard polls
        assert.strictEqual(killedRule(box), undefined, "loopback AF_INET sockets from a CLI exec killed the sandbox");
        assert.strictEqual(refusalsOf(box).length, 0, "loopback AF_INET sockets were refused");

        const exotic = String.raw`
import ctypes, json
l = ctypes.CDLL(None, use_errno=True)
res = []
for i in range(${n}):
    fam, typ = (40, 1) if i % 2 == 0 else (17, 3)  # AF_VSOCK stream, AF_PACKET raw
    fd = l.socket(fam, typ, 0); res.append(ctypes.get_errno() if fd < 0 else 0)
print(json.dumps(res))`;
        const cli = await runCli(["sandbox", "exec", box.id, "--", "python3", "-c", exotic]);
        assert.strictEqual(cli.code, 0, describeResult(cli));
        assert.deepStrictEqual(JSON.parse(cli.stdout.trim().split("\n").pop()!), Array(n).fill(EAFNOSUPPORT), describeResult(cli));
        await waitFor("the denied-egress rule to fire on the CLI exec's refusals", () => killedRule(box) === "denied-egress", 10_000).catch((e) => {
          throw new Error(`${e.message}: ${JSON.stringify(recordEntries(box.record.file).filter((x) => /egress|socket|guard|kill/.test(x.type)).slice(-6))}`);
        });
        // The record: the CLI process's entries (source exec, one per attempt), the guard's judgement, the kill.
        const got = refusalsOf(box);
        assert.deepStrictEqual(got.map((r) => [r.source, r.familyName, r.egress]).sort(), [...Array(Math.ceil(n / 2)).fill(["exec", "AF_VSOCK", true]), ...Array(Math.floor(n / 2)).fill(["exec", "AF_PACKET", true])].sort(), JSON.stringify(got));
        const denied = eventsOf(box, "egress-denied").map((e) => e.data as any).pop();
        assert.ok(denied && denied.rejected.socketFamily >= threshold && denied.total >= threshold, JSON.stringify(denied));
        const tripped = recordEntries(box.record.file).filter((e) => /kill/.test(e.type) && (e.data as any)?.rule === "denied-egress");
        assert.ok(tripped.length >= 1, `no kill entry for denied-egress: ${JSON.stringify(recordEntries(box.record.file).slice(-5).map((e) => e.type))}`);
      } finally {
        await pool.destroy(box);
      }
    });

    // The Automation API's exec (an eval harness's `sandbox.exec`) starts the command in the harness's
    // own process, not in the owner (here the shared supervisor, engine "direct"): the same start code
    // as the CLI's, but its own caller, so its own test. Positive control first, as above: as many
    // loopback AF_INET sockets through the same exec leave the sandbox alive.
    it("refusals of an Automation API exec (engine direct, supervisor-owned) kill the sandbox by denied-egress; the record shows each, source exec", async function () {
      const threshold = 5;
      const n = threshold + 3;
      const auto = await createSandbox(
        { name: "autoexec", backend: "local", owner: "tests@airlock.dev", ttl: "10m", workload: { cpus: 1, memory: "256MiB", pids: 128, command: ["sleep", "600"] }, killSwitch: { rules: [{ on: "canary" }, { on: "denied-egress", threshold }] } },
        { engine: "direct", harness: "local-security" },
      );
      const id = auto.outputs.sandboxId;
      let first: unknown;
      try {
        assert.ok(loadHandle(id)?.supervisor, "engine direct: the shared supervisor owns the sandbox (not this process)");
        const control = await auto.exec(["python3", "-c", String.raw`
import json, socket
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
held = []
for _ in range(${n}):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM); c.connect(srv.getsockname()); held.append(c)
print(json.dumps({"connected": len(held)}))`]);
        assert.strictEqual(control.code, 0, control.stderr);
        assert.deepStrictEqual(JSON.parse(control.stdout.trim().split("\n").pop()!), { connected: n }, control.stderr);
        await new Promise((r) => setTimeout(r, 4 * 250)); // four guard polls
        assert.deepStrictEqual([!!loadHandle(id), loadHandle(id)?.killed], [true, undefined], "loopback AF_INET sockets from an automation exec killed the sandbox");

        const refused = await auto.exec(["python3", "-c", String.raw`
import ctypes, json
l = ctypes.CDLL(None, use_errno=True)
res = []
for i in range(${n}):
    fam, typ = (40, 1) if i % 2 == 0 else (17, 3)  # AF_VSOCK stream, AF_PACKET raw
    fd = l.socket(fam, typ, 0); res.append(ctypes.get_errno() if fd < 0 else 0)
print(json.dumps(res))`]);
        assert.strictEqual(refused.code, 0, refused.stderr);
        assert.deepStrictEqual(JSON.parse(refused.stdout.trim().split("\n").pop()!), Array(n).fill(EAFNOSUPPORT), refused.stderr);
        // The supervisor's guard fires the rule and destroys the sandbox; the record stays.
        const file = auto.outputs.recordLocation;
        const tripped = () => recordEntries(file).find((e) => /kill/.test(e.type) && (e.data as any)?.rule === "denied-egress");
        await waitFor("the denied-egress rule to fire on the automation exec's refusals", tripped, 10_000).catch((e) => {
          throw new Error(`${e.message}: ${JSON.stringify(recordEntries(file).filter((x) => /egress|socket|guard|kill/.test(x.type)).slice(-6))}`);
        });
        const got = recordEntries(file).filter((e) => e.type === "socket-refused").map((e) => e.data as any);
        assert.deepStrictEqual(got.map((r) => [r.source, r.familyName, r.egress]).sort(), [...Array(Math.ceil(n / 2)).fill(["exec", "AF_VSOCK", true]), ...Array(Math.floor(n / 2)).fill(["exec", "AF_PACKET", true])].sort(), JSON.stringify(got));
        const denied = recordEntries(file).filter((e) => e.type === "egress-denied").map((e) => e.data as any).pop();
        assert.ok(denied && denied.rejected.socketFamily >= threshold && denied.total >= threshold, JSON.stringify(denied));
        await waitFor("the supervisor to destroy the killed sandbox", () => !loadHandle(id) || undefined, 30_000);
        await assert.rejects(auto.exec(["true"]), /no local sandbox|killed/, "an exec after the kill must be refused");
      } catch (e) {
        first = e;
        throw e;
      } finally {
        // (A failure of the destroy is reported, but never in place of the assertion that failed first.)
        await destroySandbox(auto).catch((e) => {
          if (!first) throw e;
        });
        await assertNoObjectsOf(id);
      }
      assert.ok(await waitSupervisorGone(15_000), "the supervisor did not exit once it owned nothing");
    });

    // The tally stops at its cap (1 MiB of one-byte entries) and validation accepts no threshold above
    // it, so the highest threshold a spec can ask for is the cap itself: at that threshold the rule
    // must still fire. A million earlier refusals are stood in for by the tally they would have left
    // (written the way every start writes it); the last three are real.
    it("at the highest accepted threshold (the tally's cap, 1048576) the kill still fires: the cap never hides the refusal that reaches it", async () => {
      const cap = 1024 * 1024; // written out: the cap the spec rule and the tally must agree on
      const box = await pool.create(localSpec({ name: "capkill", killSwitch: { rules: [{ on: "canary" }, { on: "denied-egress", threshold: cap }] } }));
      try {
        const tally = refusalTallyPath(box.id);
        addToRefusalTally(tally, cap - 3);
        await new Promise((r) => setTimeout(r, 4 * 250)); // four guard polls
        assert.strictEqual(killedRule(box), undefined, "three short of the threshold must not kill");
        const r = await execCapture(box.id, ["python3", "-c", "import socket\nfor _ in range(3):\n    try: socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)\n    except OSError as e: print(e.errno)"]);
        assert.deepStrictEqual(r.stdout.trim().split("\n").map(Number), [EAFNOSUPPORT, EAFNOSUPPORT, EAFNOSUPPORT], r.stderr);
        await waitFor("the denied-egress rule to fire at the cap", () => killedRule(box) === "denied-egress", 10_000).catch((e) => {
          throw new Error(`${e.message}: tally ${readRefusalTally(tally)}; ${JSON.stringify(eventsOf(box, "egress-denied").slice(-2))}`);
        });
        const denied = eventsOf(box, "egress-denied").map((e) => e.data as any).pop();
        assert.strictEqual(denied?.rejected.socketFamily, cap, JSON.stringify(denied));
        // A fourth refusal is not counted (the disk bound holds), and nothing needs it to be.
        addToRefusalTally(tally, 1);
        assert.strictEqual(readRefusalTally(tally), cap);
      } finally {
        await pool.destroy(box);
      }
    });

    it("a refused family in the file-copy helper's path is recorded (socket-refused, source file-helper) like an exec's", async () => {
      const before = refusalsOf(fam).length;
      // The helper itself never opens a socket; a stand-in command on the same path (runFileHelper:
      // confinement, spawn, recording) shows what a refusal there leaves in the record.
      const standIn = ["/usr/bin/python3", "-I", "-S", "-c", "import ctypes, sys\nl = ctypes.CDLL(None)\nl.socket(40, 1, 0)\nl.socket(29, 3, 1)\nsys.stdout.write('copied')"];
      const out = await runFileHelper(fam, standIn, undefined, 1024);
      assert.strictEqual(out.stdout.toString(), "copied");
      const got = refusalsOf(fam).slice(before);
      assert.deepStrictEqual(got.map((r) => [r.source, r.familyName, r.call, r.egress]), [["file-helper", "AF_VSOCK", "socket", true], ["file-helper", "AF_CAN", "socket", true]], JSON.stringify(got));
      assert.ok(got.every((r) => r.pid > 0 && r.comm === "python3"), JSON.stringify(got));
      // Positive control: the real helper on the same path records no refusal (it opens none).
      await writeFileIn(fam, "/tmp/copied.txt", Buffer.from("x"));
      assert.strictEqual(refusalsOf(fam).length - before, 2);
    });

    it("the families a workload needs still work inside (unix, inet, inet6, netlink route), other netlink protocols do not", async () => {
      const code = String.raw`
import json, socket
out = {}
a, b = socket.socketpair(); a.send(b"x"); out["unix"] = b.recv(1).decode()
out["inet"] = socket.socket(socket.AF_INET, socket.SOCK_STREAM).family == socket.AF_INET
out["inet6"] = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).family == socket.AF_INET6
out["ifaces"] = sorted(n for _, n in socket.if_nameindex())
try: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 15); out["uevent"] = "opened"
except OSError as e: out["uevent"] = e.errno
print(json.dumps(out))`;
      const inside = await pyInside(sb, code);
      assert.deepStrictEqual([inside.unix, inside.inet, inside.inet6], ["x", true, true], JSON.stringify(inside));
      assert.deepStrictEqual(inside.ifaces, ["eth0", "lo"], "getifaddrs/if_nameindex (NETLINK_ROUTE) must work and show only the sandbox's interfaces");
      assert.strictEqual(inside.uevent, 93, "NETLINK_KOBJECT_UEVENT (host device events) must be refused with EPROTONOSUPPORT");
      assert.strictEqual(pyOnHost(code).uevent, "opened", "positive control: the host opens a uevent socket");
    });

    it("a vsock bind that collides with a host-side listener: EADDRINUSE from the sandbox's namespace unconfined, no vsock socket at all inside", async function () {
      const hasVsock = spawnSync(HOST_PYTHON, ["-c", "import socket;socket.socket(socket.AF_VSOCK,socket.SOCK_STREAM)"]).status === 0;
      if (!hasVsock) skipBecause(this, "this kernel has no AF_VSOCK (no vsock transport), so there is no host port space to collide with; the family itself is refused inside (previous test)");
      const holder = await hostHelper([HOST_PYTHON, "-c", VSOCK_HOLDER]);
      try {
        const port = holder.line.trim();
        // Positive control: an unconfined process in the sandbox's very network namespace, as the
        // sandbox's uid, collides with the host's bind — vsock ignores network namespaces.
        const uid = String(sb.handle.workloadUser!.uid);
        const control = pyOnHost(VSOCK_BIND, [port], ["nsenter", `--net=${netnsPath(sb.handle.netns)}`, "setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--"]);
        assert.deepStrictEqual([control.ok, control.errno], [false, EADDRINUSE], `positive control (same netns, unconfined): ${JSON.stringify(control)}`);
        const inside = await pyInside(sb, VSOCK_BIND, port);
        assert.deepStrictEqual([inside.ok, inside.errno], [false, EAFNOSUPPORT], `inside, the bind reached the host's vsock port space: ${JSON.stringify(inside)}`);
      } finally {
        holder.stop();
      }
    });

    it("the record states the socket-family policy, attempts counted", () => {
      const ready = eventsOf(sb, "sandbox-ready")[0].data as any;
      assert.strictEqual(ready.socketFamilies.attemptsCounted, true);
      assert.ok(ready.socketFamilies.allowed.includes("AF_UNIX") && /EAFNOSUPPORT/.test(ready.socketFamilies.refused), JSON.stringify(ready.socketFamilies));
    });
  });

  describe("2. /proc/sys read-only, and root is never host uid 0", () => {
    it("/proc/sys, /proc/irq, /proc/bus (and sysrq-trigger, where the kernel has it) are read-only mounts inside; the host writes them", async () => {
      const code = String.raw`
import json, os
mounts = {l.split()[4]: l.split()[5] for l in open("/proc/self/mountinfo")}
def w(p):
    try: os.close(os.open(p, os.O_WRONLY)); return 0
    except OSError as e: return e.errno
print(json.dumps({"mounts": mounts, "core_pattern": w("/proc/sys/kernel/core_pattern")}))`;
      const inside = await pyInside(sb, code);
      for (const p of ["/proc/sys", "/proc/irq", "/proc/bus", ...(fs.existsSync("/proc/sysrq-trigger") ? ["/proc/sysrq-trigger"] : [])]) {
        assert.ok(inside.mounts[p]?.split(",").includes("ro"), `${p} is not a read-only mount inside: ${inside.mounts[p] ?? "not a mount point"}`);
      }
      // (The permission check comes before the mount's: a non-owner gets EACCES, root would get EROFS.)
      assert.ok([EROFS, 13].includes(inside.core_pattern), `kernel.core_pattern opened for writing inside: ${inside.core_pattern}`);
      // Positive control: the host (root) can open it for writing (nothing is written).
      assert.strictEqual(pyOnHost(code).core_pattern, 0);
    });

    it("unsafe.runAsRoot: uid 0 only inside a user namespace of the sandbox's leased uid — no core_pattern, host files owned by that uid", async function () {
      const root = await pool.create(localSpec({ name: "rootws", unsafe: { runAsRoot: true }, workload: { user: "root" } }));
      const leased = root.handle.workloadUser!.uid;
      assert.ok(leased >= 1000 && root.handle.workloadUser!.rootInUserns, `the root workload's host uid is ${leased}`);
      const marker = `rootws-${process.pid}`;
      const code = PY_HOLD + String.raw`
import ctypes, json, os, sys
def w(p):
    try: os.close(os.open(p, os.O_WRONLY)); return 0
    except OSError as e: return e.errno
open(os.path.expanduser("~/written-by-root"), "w").write("x")
libc = ctypes.CDLL(None, use_errno=True)
r = libc.unshare(0x10000000)
mounts = {l.split()[4]: l.split()[5] for l in open("/proc/self/mountinfo")}
hold(sys.argv[1], {"uid": os.getuid(), "euid": os.geteuid(), "core_pattern": w("/proc/sys/kernel/core_pattern"), "hostname_sysctl": w("/proc/sys/kernel/hostname"), "newuser": [r, ctypes.get_errno()], "home": os.path.expanduser("~"), "procsys": mounts.get("/proc/sys", "")})`;
      const held = await holdInside(root, ["python3", "-c", code, marker], marker);
      try {
        const r = JSON.parse(held.ready);
        assert.deepStrictEqual([r.uid, r.euid, r.home], [0, 0, "/root"], "the workload does not see itself as root");
        assert.notStrictEqual(r.core_pattern, 0, "root inside could open kernel.core_pattern for writing");
        assert.ok(r.procsys.split(",").includes("ro"), `/proc/sys is not read-only for the root workload: ${r.procsys}`);
        assert.notStrictEqual(r.hostname_sysctl, 0, "root inside could open a /proc/sys file for writing");
        assert.deepStrictEqual(r.newuser, [-1, EPERM], "root inside may not create a further user namespace");
        // On the host, the process is the leased uid, never 0: as the kernel sees it ...
        const pids = pidsWithArgv((a) => a[0] === "python3" && a[a.length - 1] === marker).filter((p) => cgroupOf(root.handle.cgroup).processes().includes(p));
        assert.strictEqual(pids.length, 1, `expected the one probe process in the cgroup, found ${pids}`);
        assert.strictEqual(statusField(pids[0], "Uid"), String(leased), `host uid of the root workload: ${statusField(pids[0], "Uid")}`);
        // ... and as its files show.
        assert.strictEqual(fs.statSync(path.join(root.handle.fsRoot!, "home", "written-by-root")).uid, leased);
      } finally {
        await held.release();
        await pool.destroy(root);
      }
    });
  });

  describe("3. limits that leak across the cgroup: TCP buffer memory, descriptors", () => {
    /** Opens TCP pairs on loopback and fills them without reading: how many bytes the kernel took. */
    const TCP_HOLD = String.raw`
import json, socket, sys
pairs_max, cap = int(sys.argv[1]), int(sys.argv[2])
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(pairs_max)
keep, held, pairs, err = [], 0, 0, None
buf = b"x" * 65536
while pairs < pairs_max and held < cap:
    c = socket.create_connection(l.getsockname()); s, _ = l.accept(); keep += [c, s]; pairs += 1
    c.setblocking(False)
    while held < cap:
        try: held += c.send(buf)
        except BlockingIOError: break
        except OSError as e: err = str(e); break
print(json.dumps({"held": held, "pairs": pairs, "err": err}))`;
    const MiB = 1024 * 1024;

    it("TCP buffers are charged to the sandbox (v1: memory.kmem.tcp.limit_in_bytes); a memory-limited cgroup without it holds far more", async function () {
      const limit = 64 * MiB;
      const cap = 3 * limit;
      const small = await pool.create(localSpec({ name: "tcpmem", workload: { memory: "64MiB" } }));
      try {
        const inside = await pyInside(small, TCP_HOLD, "64", String(cap));
        process.stdout.write(`      (inside: ${Math.round(inside.held / MiB)} MiB held in ${inside.pairs} connections)\n`);
        assert.ok(inside.held <= limit * 1.25, `the sandbox held ${Math.round(inside.held / MiB)} MiB of TCP buffers with a ${limit / MiB} MiB memory limit`);
        const cg = cgroupOf(small.handle.cgroup);
        const kernel = cg.socketMemory();
        // The kernel's own account (v1): the cap is enforced, give or take the few pages it charges by force.
        if (cg.host.mode === "v1") assert.ok(kernel && kernel.maxUsage > 0 && kernel.maxUsage <= limit * 1.1, `kernel tcp counters: ${JSON.stringify(kernel)}`);
      } finally {
        await pool.destroy(small);
      }
      const host = detectCgroupHost();
      if (host.mode !== "v1") skipBecause(this, "cgroup v2 charges socket memory to memory.max by itself, so a memory-limited cgroup is already the bounded case; the sandbox part above ran");
      // Positive control: the same probe in a cgroup with only memory.limit_in_bytes (the old setup)
      // holds far more than its limit — on v1 socket memory is not charged without the tcp limit.
      const ctl = new Cgroup(host, `airlock-tf-tcp-${RUN_TAG}`);
      ctl.create();
      try {
        ctl.setLimit("memory.max", limit);
        const procs = path.join(ctl.dir("memory"), "cgroup.procs");
        const r = spawnSync("sh", ["-c", `echo $$ > ${procs} && exec ${HOST_PYTHON} -c "$0" 64 ${cap}`, TCP_HOLD], { encoding: "utf8", timeout: 60_000 });
        const control = JSON.parse(r.stdout.trim().split("\n").pop()!);
        assert.ok(control.held > limit * 1.5, `positive control: a ${limit / MiB} MiB cgroup without the tcp limit held only ${Math.round(control.held / MiB)} MiB (${r.stderr})`);
      } finally {
        await ctl.remove();
      }
    });

    it(`descriptors: ${WORKLOAD_NOFILE.soft} soft / ${WORKLOAD_NOFILE.hard} hard inside, not raisable; the host opens more`, async () => {
      const code = String.raw`
import json, os, resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try: resource.setrlimit(resource.RLIMIT_NOFILE, (hard * 2, hard * 2)); raised = True
except (ValueError, OSError): raised = False
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
fds, err = [], None
while len(fds) < 6000:
    try: fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as e: err = e.errno; break
print(json.dumps({"soft": soft, "hard": hard, "raised": raised, "opened": len(fds), "err": err, "core": resource.getrlimit(resource.RLIMIT_CORE)}))`;
      const inside = await pyInside(sb, code);
      assert.deepStrictEqual([inside.soft, inside.hard, inside.raised], [WORKLOAD_NOFILE.soft, WORKLOAD_NOFILE.hard, false], JSON.stringify(inside));
      assert.ok(inside.opened < WORKLOAD_NOFILE.hard && inside.err === EMFILE, JSON.stringify(inside));
      assert.deepStrictEqual(inside.core, [0, 0], "core dumps must be off (hard limit 0)");
      const host = pyOnHost(code);
      assert.ok(host.opened >= 5000, `positive control: the host opened only ${host.opened} descriptors (${JSON.stringify(host)})`);
    });
  });

  describe("4. /dev and ptys", () => {
    it("/dev holds only null, zero, full, random, urandom, tty, the usual links, a private devpts and shm", async () => {
      const r = await execCapture(sb.id, ["sh", "-c", "ls -A /dev"]);
      assert.deepStrictEqual(r.stdout.trim().split("\n").sort(), [...DEV_NODES, "fd", "stdin", "stdout", "stderr", "pts", "ptmx", "shm"].sort(), r.stdout);
      const w = await execCapture(sb.id, ["sh", "-c", "echo x > /dev/shm/probe && cat /dev/shm/probe && ! touch /dev/new 2>/dev/null && echo ok"]);
      assert.strictEqual(w.stdout.trim(), "x\nok", `/dev/shm must be writable and /dev not: ${w.stdout} ${w.stderr}`);
    });

    it(`one sandbox cannot exhaust the ptys: it gets at most ${PTY_MAX}; meanwhile another sandbox and the host still get one`, async () => {
      const other = await pool.create(localSpec({ name: "pty-b" }));
      const marker = `ptys-${process.pid}`;
      const hog = PY_HOLD + String.raw`
import os, sys
ptys, err = [], None
while len(ptys) < 5000:
    try: ptys.append(os.openpty())
    except OSError as e: err = e.errno; break
hold(sys.argv[1], {"count": len(ptys), "err": err})`;
      const openOne = "import os,json\ntry:\n  m,s=os.openpty(); print(json.dumps({'ok': True, 'tty': os.ttyname(s)}))\nexcept OSError as e: print(json.dumps({'ok': False, 'errno': e.errno}))";
      const held = await holdInside(sb, ["python3", "-c", hog, marker], marker);
      try {
        const r = JSON.parse(held.ready);
        assert.ok(r.count >= 1, `positive control: the sandbox could not open a single pty (${JSON.stringify(r)})`);
        assert.ok(r.count <= PTY_MAX && r.err === ENOSPC, `one sandbox took ${r.count} ptys (${JSON.stringify(r)})`);
        const b = await pyInside(other, openOne);
        assert.ok(b.ok && /^\/dev\/pts\/\d+$/.test(b.tty), `another sandbox got no pty while the first held all it could: ${JSON.stringify(b)}`);
        const host = pyOnHost(openOne);
        assert.ok(host.ok, `positive control: the host got no pty: ${JSON.stringify(host)}`);
      } finally {
        await held.release();
        await pool.destroy(other);
      }
    });
  });

  describe("5. inotify: one watcher per owner; a root workload cannot use root's instances", () => {
    it("every sandbox of one owner shares one canary watcher process with one inotify instance", async () => {
      const second = await pool.create(localSpec({ name: "watch-b" }));
      try {
        const watchers = pidsWithArgv((a) => a[0] === WATCHER_PROCESS_NAME).filter((p) => statusField(p, "PPid") === String(process.pid));
        const inotifywaits = pidsWithArgv((a) => /inotifywait$/.test(a[0])).filter((p) => statusField(p, "PPid") === String(process.pid));
        assert.deepStrictEqual([watchers.length, inotifywaits.length], [1, 0], `canary watchers of this owner: ${watchers.length} shared, ${inotifywaits.length} per-sandbox inotifywait`);
        const instances = fs.readdirSync(`/proc/${watchers[0]}/fd`).filter((fd) => /inotify/.test(fs.readlinkSync(`/proc/${watchers[0]}/fd/${fd}`)));
        assert.strictEqual(instances.length, 1, "the shared watcher holds more than one inotify instance");
        // Both sandboxes are really watched through it: reading the second one's canary kills it (only it).
        const run = second.startWorkload();
        await execCapture(second.id, ["cat", "/home/agent/.ssh/id_ed25519"]);
        await run.exited;
        assert.strictEqual(second.killedBy?.rule, "canary");
        assert.strictEqual(sb.killedBy, undefined, "the first sandbox was killed by the second one's canary");
      } finally {
        await pool.destroy(second);
      }
    });

    it("a root workload that takes all the inotify instances it can does not stop the next sandbox's canaries (its quota is its own uid's)", async function () {
      const root = await pool.create(localSpec({ name: "inotify-root", unsafe: { runAsRoot: true }, workload: { user: "root" } }));
      const marker = `inotify-${process.pid}`;
      const hog = PY_HOLD + String.raw`
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
n = 0
while n < 10000 and libc.inotify_init() >= 0: n += 1
hold(sys.argv[1], {"count": n, "errno": ctypes.get_errno()})`;
      const held = await holdInside(root, ["python3", "-c", hog, marker], marker);
      try {
        const r = JSON.parse(held.ready);
        const max = Number(fs.readFileSync("/proc/sys/fs/inotify/max_user_instances", "utf8"));
        assert.ok(r.count >= max - 8 && r.errno === EMFILE, `positive control: the probe did not exhaust an inotify quota (${JSON.stringify(r)}, max_user_instances ${max})`);
        // Host root still has its instances ...
        const hostRoot = pyOnHost("import ctypes,json;l=ctypes.CDLL(None,use_errno=True);fd=l.inotify_init();print(json.dumps({'fd':fd,'errno':ctypes.get_errno()}))");
        assert.ok(hostRoot.fd >= 0, `host root could not create an inotify instance while the root workload held ${r.count}: ${JSON.stringify(hostRoot)}`);
        // ... and the next sandbox starts, with canaries that work.
        const next = await pool.create(localSpec({ name: "inotify-next", workload: { command: ["sh", "-c", "sleep 0.3; cat ~/.aws/credentials >/dev/null; sleep 30"] } }));
        const status = await next.startWorkload().exited;
        assert.deepStrictEqual([next.killedBy?.rule, status.status], ["canary", 137]);
        await pool.destroy(next);
      } finally {
        await held.release();
        await pool.destroy(root);
      }
    });
  });

  describe("6. the gate's log is bounded", () => {
    it(`a reset storm: the gate logs errors only, into gate.log rotated at GATE_LOG.capBytes (two files at most); the storm is logged`, async () => {
      const saved = GATE_LOG.capBytes;
      GATE_LOG.capBytes = 8 * 1024;
      // An allowed upstream that refuses every connection: each attempt through the gate is one error line.
      const closed = spawnSync(HOST_PYTHON, ["-c", "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"], { encoding: "utf8" }).stdout.trim();
      let storm!: HostSandbox;
      try {
        storm = await pool.create(localSpec({ name: "storm", egress: { allow: [{ name: "dead", via: "address", host: "127.0.0.1", port: Number(closed), listenPort: 9100 }] } }));
      } finally {
        GATE_LOG.capBytes = saved;
      }
      try {
        const env = fs.readFileSync(`/proc/${storm.handle.gate.process.pid}/environ`, "utf8").split("\0");
        assert.ok(env.includes("LOG_LEVEL=error"), "the gate does not log at error level");
        const attempts = 300;
        const r = await pyInside(storm, `import json,socket\nn=0\nfor i in range(${attempts}):\n  try:\n    s=socket.create_connection(('dead',9100),timeout=2); s.recv(1); s.close(); n+=1\n  except OSError: pass\nprint(json.dumps({'connected': n}))`);
        assert.ok(r.connected >= attempts * 0.9, `positive control: the gate accepted only ${r.connected} of ${attempts} connections`);
        const log = sandboxLayout(storm.id).gateLog;
        await waitFor("the gate's errors to be written", () => eventsOf(storm, "gate-log-rotated").length >= 2, 10_000);
        const sizes = [log, `${log}.1`].map((f) => (fs.existsSync(f) ? fs.statSync(f).size : -1));
        assert.ok(sizes[0] <= 8 * 1024 && sizes[1] > 0 && sizes[1] <= 8 * 1024, `gate.log / gate.log.1 sizes ${sizes} with an 8 KiB cap`);
        assert.ok(!fs.existsSync(`${log}.2`), "more than two log files");
        assert.ok(/Unable to open connection to upstream/.test(fs.readFileSync(`${log}.1`, "utf8")), "positive control: the gate's upstream errors are not in its log");
        const rotated = eventsOf(storm, "gate-log-rotated").map((e) => e.data as any);
        assert.ok(rotated[rotated.length - 1].writtenBytes > 16 * 1024, `the storm wrote only ${JSON.stringify(rotated[rotated.length - 1])}`);
      } finally {
        await pool.destroy(storm);
      }
    });
  });

  describe("8. canaries look like a real user's files", () => {
    it("owned by the workload uid, with the modes real tools use, mtimes months old; the key parses", async () => {
      const code = String.raw`
import json, os, stat, time
home = os.path.expanduser("~")
out = {"uid": os.getuid(), "created": time.time(), "files": {}}
for rel in [".aws", ".aws/credentials", ".aws/config", ".ssh", ".ssh/id_ed25519", ".config/gcloud/application_default_credentials.json", ".ssh/id_ed25519.pub", ".bashrc"]:
    try: st = os.stat(os.path.join(home, rel))
    except OSError: out["files"][rel] = None; continue
    out["files"][rel] = {"uid": st.st_uid, "mode": oct(stat.S_IMODE(st.st_mode)), "ageDays": (time.time() - st.st_mtime) / 86400}
print(json.dumps(out))`;
      const r = await pyInside(sb, code);
      for (const [rel, f] of Object.entries(r.files as Record<string, any>)) {
        assert.ok(f, `${rel} is missing (a real home has it next to the others)`);
        assert.strictEqual(f.uid, r.uid, `${rel} is owned by uid ${f.uid}, not by the workload (${r.uid})`);
        assert.ok(f.ageDays > 25, `${rel} was modified ${f.ageDays.toFixed(2)} days ago: at the sandbox's creation`);
      }
      const modes = Object.fromEntries(Object.entries(r.files as Record<string, any>).map(([k, f]) => [k, f.mode]));
      assert.deepStrictEqual([modes[".ssh"], modes[".ssh/id_ed25519"], modes[".ssh/id_ed25519.pub"], modes[".aws/credentials"], modes[".aws/config"]], ["0o700", "0o600", "0o644", "0o600", "0o600"], JSON.stringify(modes));
    });

    it("the planted SSH key is in the OpenSSH format ssh-keygen reads (it derives the .pub planted with it)", function () {
      // Checked on a key made the same way, not on the planted one: reading a canary — from the host
      // too — is a touch and would kill the sandbox.
      if (spawnSync("ssh-keygen", ["-?"]).error) skipBecause(this, "ssh-keygen (openssh-client) is not installed on this host, so the format cannot be checked");
      const key = openSshEd25519("agent@sec");
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "key-"));
      try {
        fs.writeFileSync(path.join(dir, "k"), key.privateKey, { mode: 0o600 });
        const r = spawnSync("ssh-keygen", ["-y", "-f", path.join(dir, "k")], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.stdout.trim().split(" ").slice(0, 2).join(" "), key.publicKey.trim().split(" ").slice(0, 2).join(" "));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      const pub = fs.readFileSync(path.join(sb.handle.fsRoot!, "home", ".ssh", "id_ed25519.pub"), "utf8");
      assert.ok(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}=? agent@sec\n$/.test(pub), `planted .pub: ${pub}`);
    });

    for (const [what, command] of [
      ["a copy", "cp ~/.aws/credentials /tmp/creds"],
      ["a deletion", "rm -f ~/.ssh/id_ed25519"],
      ["a hard link", "ln ~/.aws/config ~/config-link"],
      ["a chmod", "chmod 644 ~/.ssh/id_ed25519"],
    ] as const) {
      it(`${what} of a canary (the workload owns it now) still fires the kill; listing and stat do not`, async () => {
        const victim = await pool.create(localSpec({ name: "canary-own", workload: { command: ["sleep", "60"] } }));
        const run = victim.startWorkload();
        // Positive control: looking at the canaries is not touching them.
        const calm = await execCapture(victim.id, ["sh", "-c", "ls -la ~ ~/.aws ~/.ssh >/dev/null && stat ~/.aws/credentials ~/.ssh/id_ed25519 >/dev/null && echo calm"]);
        assert.strictEqual(calm.stdout.trim(), "calm", calm.stderr);
        await victim.settle();
        assert.strictEqual(victim.killedBy, undefined, "looking at a canary killed the sandbox");
        const r = await execCapture(victim.id, ["sh", "-c", `${command} && echo done`]);
        assert.ok(/done/.test(r.stdout) || r.status === 137 || r.signal === "SIGKILL", `${what} failed inside (the workload must be able to do it): ${r.stdout} ${r.stderr}`);
        const status = await run.exited;
        assert.deepStrictEqual([killedRule(victim), status.status], ["canary", 137], `${what} did not fire the kill`);
        await pool.destroy(victim);
      });
    }
  });

  describe("11. the sweeper does not trust a process name", () => {
    it("a workload named like another sandbox's anchor does not keep that orphaned sandbox alive; the sandbox with a real anchor is kept", async () => {
      // The victim: a sandbox of another state directory (its journal is invisible here) whose owner is
      // SIGKILLed — what is left is recognisable only as host objects, and its anchor died with its owner.
      const otherState = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-test-other-state-"));
      const specDir = fs.mkdtempSync(path.join(os.tmpdir(), "specs-"));
      const spec = path.join(specDir, "victim.yaml");
      fs.writeFileSync(spec, "name: victim\nbackend: local\nowner: tests@airlock.dev\nttl: 10m\nworkload:\n  cpus: 1\n  memory: 128MiB\n  pids: 64\n  command: [sleep, '120']\n");
      const env = { AIRLOCK_STATE_DIR: otherState };
      const cli = startCli(["run", spec], { env });
      let victimId = "";
      try {
        victimId = await waitFor("the victim sandbox", () => {
          const dir = path.join(otherState, "sandboxes");
          const id = fs.existsSync(dir) ? fs.readdirSync(dir).find((d) => fs.existsSync(path.join(dir, d, "handle.json"))) : undefined;
          return id && fs.existsSync(path.join(otherState, "records", `${id}.jsonl`)) && fs.readFileSync(path.join(otherState, "records", `${id}.jsonl`), "utf8").includes('"workload-started"') ? id : undefined;
        }, 60_000);
        cli.child.kill("SIGKILL");
        await cli.done;
        const anchorName = `airlock-anchor-${victimId}`;
        await waitFor("the victim's real anchor to die with its owner", () => pidsWithArgv((a) => a[0] === anchorName).length === 0, 10_000);

        // The impostor: a workload in a live sandbox of this state directory renames itself.
        const impostor = await pool.create(localSpec({ name: "impostor", workload: { command: ["bash", "-c", `exec -a ${anchorName} sleep 120`] } }));
        impostor.startWorkload();
        const fake = await waitFor("the impostor's process", () => pidsWithArgv((a) => a[0] === anchorName)[0], 10_000);
        // Positive control: the disguise is complete as far as a process name goes.
        assert.ok(cgroupOf(impostor.handle.cgroup).processes().includes(fake), "the impostor is not in its sandbox's cgroup");
        assert.ok(snapshot().netns.some((n) => n.name === `airlock-${victimId}`), "the victim's namespace is not left over (nothing to sweep)");

        const report = await sweep();
        const netns = snapshot().netns.map((n) => n.name);
        assert.ok(!netns.includes(`airlock-${victimId}`), `the orphaned victim was kept because a process is named ${anchorName}: ${JSON.stringify(report.live)}`);
        assert.ok(report.live.includes(impostor.id) && netns.includes(impostor.handle.netns), "the sandbox with a real anchor was swept");
        assert.ok(pidsWithArgv((a) => a[0] === anchorName).includes(fake), "the sweeper killed a process inside a live sandbox");
        await pool.destroy(impostor);
      } finally {
        cli.child.kill("SIGKILL");
        const r = await runCli(["sweep", "--json"], { env });
        assert.strictEqual(r.code, 0, describeResult(r));
        fs.rmSync(otherState, { recursive: true, force: true });
        fs.rmSync(specDir, { recursive: true, force: true });
      }
    });
  });

  describe("12. evaluation tells and leftover system calls", () => {
    it("the task files are a copy: no host path in /proc/self/mountinfo, the files are at /opt/task", async () => {
      const r = await execCapture(sb.id, ["sh", "-c", "cat /opt/task/tool.txt; grep ' /opt/task ' /proc/self/mountinfo"]);
      assert.ok(r.stdout.startsWith("task file\n"), `positive control: the task files are not readable at /opt/task: ${r.stdout} ${r.stderr}`);
      const line = r.stdout.split("\n")[1];
      assert.ok(line && / \/opt\/task ro[, ]/.test(line), `/opt/task is not a read-only mount: ${line}`);
      assert.ok(!line.includes(taskDir) && !line.includes(path.basename(taskDir)), `the host path of the task directory is visible: ${line}`);
    });

    it("the filesystem is sized min(disk, memory), not the 20 GiB default disk in a 256 MiB sandbox", async () => {
      const size = "import os,json;s=os.statvfs('/work');print(json.dumps(s.f_blocks*s.f_frsize))";
      assert.strictEqual(await pyInside(sb, size), 256 * 1024 * 1024, "/work size with memory 256MiB and the default disk");
      // Positive control: the probe reads a size, not a constant — a disk smaller than memory shows.
      const small = await pool.create(localSpec({ name: "smalldisk", workload: { disk: "64MiB" } }));
      try {
        assert.strictEqual(await pyInside(small, size), 64 * 1024 * 1024);
      } finally {
        await pool.destroy(small);
      }
    });

    it("no command line the workload can read shows its leased uid", async () => {
      const uid = String(sb.handle.workloadUser!.uid);
      const r = await pyInside(sb, "import os,json;c={p:open('/proc/%s/cmdline'%p,'rb').read().decode(errors='replace') for p in os.listdir('/proc') if p.isdigit()};s=open('/proc/self/status').read();print(json.dumps({'cmdlines':c,'status':s}))");
      assert.ok(r.status.includes(uid), "positive control: the probe would see the uid (it is in /proc/self/status)");
      for (const [pid, cmd] of Object.entries(r.cmdlines as Record<string, string>)) assert.ok(!cmd.includes(uid), `pid ${pid}'s command line names the leased uid: ${cmd.replace(/\0/g, " ")}`);
    });

    it("modify_ldt and move_pages are refused, personality is limited to what a normal runtime uses; the host allows them", async function () {
      if (process.arch !== "x64") skipBecause(this, `modify_ldt exists on x86 only (this is ${process.arch})`);
      const code = String.raw`
import ctypes, json
libc = ctypes.CDLL(None, use_errno=True)
def call(fn):
    r = fn(); return r if r >= 0 else -ctypes.get_errno()
buf = ctypes.create_string_buffer(64)
out = {"modify_ldt": call(lambda: libc.syscall(154, 0, buf, 64)),
       "move_pages": call(lambda: libc.syscall(279, 0, 0, None, None, None, 0)),
       "query": call(lambda: libc.personality(ctypes.c_ulong(0xffffffff))),
       "linux32": call(lambda: libc.personality(ctypes.c_ulong(0x8))),
       "no_aslr": call(lambda: libc.personality(ctypes.c_ulong(0x0040000)))}
libc.personality(ctypes.c_ulong(0))
print(json.dumps(out))`;
      const inside = await pyInside(sb, code);
      assert.deepStrictEqual([inside.modify_ldt, inside.move_pages, inside.no_aslr], [-EPERM, -EPERM, -EPERM], JSON.stringify(inside));
      assert.ok(inside.query >= 0 && inside.linux32 >= 0, `personality query / PER_LINUX32 must stay allowed: ${JSON.stringify(inside)}`);
      const host = pyOnHost(code);
      assert.ok(host.modify_ldt >= 0 && host.move_pages >= 0 && host.no_aslr >= 0, `positive control: the host refuses them too: ${JSON.stringify(host)}`);
    });
  });
});
