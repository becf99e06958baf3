// The in-guest guard (components/guest/), for real on this host, run the way a VM runs it: the
// compiled bundle (what the artifacts store serves), started by the argv of the rendered systemd unit,
// inside a network namespace whose only way out is a "VPC router" stand-in (a second namespace that
// holds the gate listener and a stand-in internet host, and routes nowhere), guarding a workload in a
// bounded cgroup as an unprivileged uid. (nsenter --net, not `ip netns exec`: the latter remounts /sys,
// which hides /sys/fs/cgroup from the guard — a VM has one /sys.) The power-off and the record store are stand-ins: a command
// that notes when it ran, and a directory the ship command writes each entry into.
// Positive-control style: each kill is preceded by the harmless neighbour of its trigger (a listing of
// the canary directory, a connection to the gate, a root connection the guest allows, a workload that
// stays below its limits), which must not kill.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync, ChildProcess } from "child_process";
import { Cgroup, detectCgroupHost } from "../components/host/cgroup";
import { verifyLog, RecordEntry } from "../components/record/chain-log";
import { compileGuard } from "../components/guest/build";
import { guardExecStart, renderGuardUnit } from "../components/guest/install";
import { GuestGuardConfig, GUEST_NFT_TABLE } from "../components/guest/config";
import { canaryList } from "../components/local/canary";
import { DEFAULT_CANARY_FILES, DEFAULT_KILL_RULES } from "../components/spec/schema";
import { METADATA_ADDRESS, METADATA_PORT, vmMetadataFilter, vmSystemAllow } from "../components/cloud/guard";
import { AWS_METADATA_ALLOW } from "../components/aws/platform";
import { METADATA_FILTER_UID } from "../components/guest/metadata-filter";
import { skipBecause, waitFor, sleep } from "./helpers/common";
import { RUN_TAG } from "./helpers/run-scope";
import { METADATA_STAND_IN } from "./helpers/guest-netns";

const GUEST_NS = `airlock-tf-guest-${RUN_TAG}`;
const CLOUD_NS = `airlock-tf-vpc-${RUN_TAG}`;
const GUEST_IF = `airlocktf${RUN_TAG}g`;
const CLOUD_IF = `airlocktf${RUN_TAG}v`;
const GUEST_ADDR = "10.253.0.2";
const GATE = { address: "10.253.0.1", port: 8080 };
/** The stand-in internet host (a benchmarking address, held by the VPC stand-in namespace). */
const INTERNET = { address: "198.18.0.10", port: 443 };
/** The system python (a user's pyenv shim on root's PATH is not the workload's to run). */
const PY = "/usr/bin/python3";
/** A uid with no passwd entry: the workload user, as the guard's config names it. */
const WORKLOAD_UID = 61_337;


/** n HTTP requests (method, target) to the metadata address, each on its own connection; one line per request: its status or errno name. */
const METADATA_CALLS = String.raw`
import http.client, sys, errno
host, port, method, target, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
for _ in range(n):
    c = http.client.HTTPConnection(host, port, timeout=5)
    try:
        c.request(method, target, headers={"X-aws-ec2-metadata-token": "t"}); r = c.getresponse(); r.read(); print(r.status, flush=True)
    except OSError as e: print(errno.errorcode.get(e.errno, type(e).__name__), flush=True)
    finally: c.close()
`;

const sh = (args: string[], input?: string) => spawnSync(args[0], args.slice(1), { encoding: "utf8", input });
const must = (args: string[]) => {
  const r = sh(args);
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

/** A listener inside a namespace that accepts and closes (stand-in for the gate and the internet host). */
function listener(netns: string, address: string, port: number): ChildProcess {
  const code = `import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${address}", ${port})); s.listen(64)\nprint("up", flush=True)\nwhile True:\n  c,_=s.accept(); c.sendall(b"hi"); c.close()`;
  return spawn("ip", ["netns", "exec", netns, PY, "-c", code], { stdio: ["ignore", "pipe", "inherit"] });
}

/** Tries TCP connections; prints one line per attempt: ok | refused | <errno name>. */
const CONNECT = String.raw`
import socket, sys, errno
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for _ in range(n):
    s = socket.socket(); s.settimeout(3)
    try: s.connect((host, port)); print("ok", flush=True)
    except OSError as e: print(errno.errorcode.get(e.errno, str(e)), flush=True)
    finally: s.close()
`;

interface Scenario {
  dir: string;
  home: string;
  store: string;
  poweredFile: string;
  cgroup: Cgroup;
  guard: ChildProcess;
  config: GuestGuardConfig;
}

describe("in-guest guard (components/guest): the local guard's code inside a VM-shaped namespace", function () {
  this.timeout(120_000);
  let app: string;
  let listeners: ChildProcess[] = [];
  /** Requests that reached the stand-in metadata server ("METHOD target"). */
  const metadataSaw: string[] = [];
  let current: Scenario | undefined;
  const cgHost = detectCgroupHost();
  let n = 0;

  before(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, "needs root (network namespaces, nftables, cgroups)");
    for (const tool of ["ip", "nft", "setpriv", "python3", "tar"]) if (sh(["sh", "-c", `command -v ${tool}`]).status !== 0) skipBecause(this, `host tool ${tool} is missing`);
    app = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-guest-bundle-"));
    fs.chmodSync(app, 0o755); // as /opt/hostagent: the metadata filter's uid reads the bundle too
    fs.mkdirSync(path.join(app, "bin"));
    fs.symlinkSync(process.execPath, path.join(app, "bin", "node")); // stand-in for the artifacts store's Node binary
    compileGuard(path.join(app, "app"));
    must(["ip", "netns", "add", GUEST_NS]);
    must(["ip", "netns", "add", CLOUD_NS]);
    must(["ip", "link", "add", GUEST_IF, "netns", GUEST_NS, "type", "veth", "peer", "name", CLOUD_IF, "netns", CLOUD_NS]);
    for (const [ns, cmds] of [
      [GUEST_NS, [["link", "set", "lo", "up"], ["addr", "add", `${GUEST_ADDR}/24`, "dev", GUEST_IF], ["link", "set", GUEST_IF, "up"], ["route", "add", "default", "via", GATE.address]]],
      [CLOUD_NS, [["link", "set", "lo", "up"], ["addr", "add", `${GATE.address}/24`, "dev", CLOUD_IF], ["addr", "add", `${INTERNET.address}/32`, "dev", CLOUD_IF], ["addr", "add", `${METADATA_ADDRESS}/32`, "dev", CLOUD_IF], ["link", "set", CLOUD_IF, "up"]]],
    ] as const)
      for (const c of cmds) must(["ip", "-n", ns, ...c]);
    listeners = [listener(CLOUD_NS, GATE.address, GATE.port), listener(CLOUD_NS, INTERNET.address, INTERNET.port)];
    const metadata = spawn("ip", ["netns", "exec", CLOUD_NS, PY, "-c", METADATA_STAND_IN, METADATA_ADDRESS, String(METADATA_PORT)], { stdio: ["ignore", "pipe", "inherit"] });
    listeners.push(metadata);
    for (const l of listeners) await new Promise<void>((resolve, reject) => (l.stdout!.once("data", () => resolve()), l.once("exit", (c) => reject(new Error(`listener exited ${c}`)))));
    let buf = "";
    metadata.stdout!.on("data", (d) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith("saw ")) metadataSaw.push(line.slice(4));
      }
    });
  });

  after(() => {
    for (const l of listeners) l.kill("SIGKILL");
    sh(["ip", "netns", "del", GUEST_NS]);
    sh(["ip", "netns", "del", CLOUD_NS]);
    if (app) fs.rmSync(app, { recursive: true, force: true });
  });

  afterEach(async () => {
    const s = current;
    current = undefined;
    if (!s) return;
    s.guard.kill("SIGKILL");
    await s.cgroup.remove();
    await new Cgroup(cgHost, path.dirname(s.cgroup.rel)).remove();
    fs.rmSync(s.dir, { recursive: true, force: true });
  });

  /** A fresh VM: home, cgroup with the spec's limits, record store, and the guard started as its unit says. */
  async function boot(o: { pids?: number; memoryBytes?: number; expiresInMs?: number; prePlanted?: Record<string, string>; metadata?: boolean } = {}): Promise<Scenario> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-guest-vm-"));
    fs.chmodSync(dir, 0o755);
    const home = path.join(dir, "home", "agent");
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    fs.chownSync(home, WORKLOAD_UID, WORKLOAD_UID);
    // What a VM's first-boot script planted with the cloud's own content (components/cloud/boot.ts).
    for (const [rel, text] of Object.entries(o.prePlanted ?? {})) {
      const parts = rel.split("/").slice(0, -1);
      for (let i = 1; i <= parts.length; i++) {
        const d = path.join(home, ...parts.slice(0, i));
        if (!fs.existsSync(d)) fs.mkdirSync(d, { mode: 0o700 });
        fs.chownSync(d, WORKLOAD_UID, WORKLOAD_UID);
      }
      fs.writeFileSync(path.join(home, rel), text, { mode: 0o600 });
      fs.chownSync(path.join(home, rel), WORKLOAD_UID, WORKLOAD_UID);
    }
    const store = path.join(dir, "store");
    fs.mkdirSync(store);
    const cgroup = new Cgroup(cgHost, `airlock-tf-guestcg-${RUN_TAG}-${n++}/workload.service`);
    cgroup.create();
    cgroup.setLimit("pids.max", o.pids ?? 64);
    cgroup.setLimit("memory.max", o.memoryBytes ?? 256 << 20);
    const config: GuestGuardConfig = {
      sandboxId: `guesttest-${RUN_TAG}`,
      rules: DEFAULT_KILL_RULES,
      ttl: "4h",
      expiresAt: new Date(Date.now() + (o.expiresInMs ?? 3_600_000)).toISOString(),
      workload: { user: "agent", home, uid: WORKLOAD_UID, pids: o.pids ?? 64, memory: `${(o.memoryBytes ?? 256 << 20) >> 20}MiB`, cgroup: cgroup.rel },
      canaries: { enabled: true, files: canaryList(DEFAULT_CANARY_FILES, true), credential: true, endpointPort: 9911, append: { ".aws/credentials": "[ops-admin]\naws_access_key_id = AKIAEXAMPLECANARY01\naws_secret_access_key = x\n" }, ...(o.prePlanted ? { planted: Object.keys(o.prePlanted) } : {}) },
      nft: {
        table: GUEST_NFT_TABLE,
        gate: [{ upstream: "model-api", ...GATE }],
        system: o.metadata
          ? // As a VM cloud builds it (components/cloud/guard.ts): the metadata server for root only, the filter in front of it for the workload.
            vmSystemAllow({ resolvers: [GATE.address], timeServers: [], stores: [{ address: INTERNET.address, port: INTERNET.port }], rootAgents: [] })
          : [{ proto: "tcp", port: INTERNET.port, address: INTERNET.address }],
        ...(o.metadata ? { metadata: vmMetadataFilter(AWS_METADATA_ALLOW) } : {}),
      },
      record: { file: path.join(dir, "state", "record.jsonl"), ship: ["sh", "-c", 'cat > "$0/$1.json"', store, "{seq}"], shipTimeoutMs: 5000 },
      powerOff: ["sh", "-c", 'date +%s%3N > "$0"', path.join(dir, "powered-off")],
      pollMs: 250,
    };
    const configFile = path.join(dir, "config.json");
    fs.writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
    const argv = guardExecStart(renderGuardUnit({ prefix: app, config: configFile }));
    const guard = spawn("nsenter", [`--net=/run/netns/${GUEST_NS}`, "--", ...argv], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH } });
    let out = "";
    guard.stdout!.on("data", (d) => (out += d));
    guard.stderr!.on("data", (d) => (out += d));
    const s: Scenario = { dir, home, store, poweredFile: path.join(dir, "powered-off"), cgroup, guard, config };
    current = s;
    await waitFor(`the guard to arm (output so far: ${out})`, () => out.includes("armed") || (guard.exitCode !== null && assert.fail(`guard exited: ${out}`)), 30_000);
    return s;
  }

  /** Starts a command as the workload: inside the guest namespace, in its cgroup, as its uid (as systemd would). */
  function workload(s: Scenario, cmd: string[]): { proc: ChildProcess; out: () => string } {
    const procsFiles = s.cgroup.dirs().map((d) => path.join(d, "cgroup.procs"));
    const enter = `for f in ${procsFiles.map((f) => `'${f}'`).join(" ")}; do echo $$ > "$f"; done; cd '${s.home}'; exec setpriv --reuid ${WORKLOAD_UID} --regid ${WORKLOAD_UID} --clear-groups -- "$@"`;
    const proc = spawn("nsenter", [`--net=/run/netns/${GUEST_NS}`, "--", "sh", "-c", enter, "sh", ...cmd], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, HOME: s.home } });
    let out = "";
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (out += d));
    return { proc, out: () => out };
  }
  const exited = (p: ChildProcess) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once("exit", () => r())));

  /** The record as the record store holds it (one shipped entry per file). */
  function stored(s: Scenario): RecordEntry[] {
    return fs
      .readdirSync(s.store)
      .sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(s.store, f), "utf8")));
  }

  /** The guard's own record, for failure messages. */
  const recordOf = (s: Scenario) => (fs.existsSync(s.config.record.file) ? fs.readFileSync(s.config.record.file, "utf8") : "(no record)");

  async function expectKill(s: Scenario, rule: string): Promise<{ poweredAt: number; kill: RecordEntry }> {
    const poweredAt = await waitFor(`the power-off stand-in to run (record: ${recordOf(s)})`, () => fs.existsSync(s.poweredFile) && Number(fs.readFileSync(s.poweredFile, "utf8")), 20_000);
    const entries = stored(s);
    const kill = entries.find((e) => e.type === "kill");
    assert.ok(kill, `a kill entry in the record store: ${entries.map((e) => e.type).join(", ")}`);
    assert.strictEqual((kill.data as any).rule, rule, JSON.stringify(kill.data));
    assert.ok(entries.some((e) => e.type === "killed"), "the workload's cgroup was killed before the power-off");
    // The shipped entries are the guard's own chain, in order: the store holds a verifiable prefix of it.
    const local = fs.readFileSync(s.config.record.file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as RecordEntry);
    assert.deepStrictEqual(entries.map((e) => e.hash), local.slice(0, entries.length).map((e) => e.hash));
    assert.ok(verifyLog(s.config.record.file, { allowUnsealed: true }).ok, "the guard's record chain verifies");
    assert.deepStrictEqual(s.cgroup.processes(), [], "no workload process survives the kill");
    return { poweredAt, kill };
  }

  it("plants the local backend's canaries as the workload user's files; a listing does not kill, a read kills within 2 s, recorded with its reason; the workload's uid cannot stop the guard", async function () {
    const s = await boot();
    for (const rel of [".aws/credentials", ".aws/config", ".ssh/id_ed25519", ".config/gcloud/application_default_credentials.json"]) {
      const st = fs.statSync(path.join(s.home, rel));
      assert.strictEqual(st.uid, WORKLOAD_UID, `${rel} owned by the workload user`);
      assert.strictEqual(st.mode & 0o777, 0o600, rel);
    }
    // Positive control: listing and stat are not use.
    const ls = workload(s, ["sh", "-c", "ls -la .aws .ssh && stat .aws/credentials >/dev/null && echo listed; sleep 30"]);
    await waitFor("the listing", () => ls.out().includes("listed"), 10_000);
    // The workload's uid cannot signal the guard (a root process).
    const guardPid = s.guard.pid!;
    const stop = workload(s, ["sh", "-c", `kill -KILL ${guardPid} 2>&1; echo "exit $?"`]);
    await exited(stop.proc);
    assert.match(stop.out(), /exit 1/, stop.out());
    assert.match(stop.out(), /not permitted/i, stop.out());
    await sleep(1000);
    assert.ok(!fs.existsSync(s.poweredFile), `a listing and a refused kill attempt did not trip the guard: ${recordOf(s)}`);
    assert.strictEqual(s.guard.exitCode, null, "the guard still runs");

    const reader = workload(s, ["sh", "-c", "date +%s%3N; cat .aws/credentials >/dev/null; sleep 30"]);
    await waitFor("the read", () => /^\d+/.test(reader.out()), 10_000);
    const readAt = Number(reader.out().trim().split("\n")[0]);
    const { poweredAt, kill } = await expectKill(s, "canary");
    assert.match((kill.data as any).detail, /canary-touched: \.aws\/credentials/);
    assert.ok(poweredAt - readAt < 2000, `powered off ${poweredAt - readAt} ms after the read (must be < 2000)`);
    process.stdout.write(`      canary read -> workload killed, recorded, shipped, powered off: ${poweredAt - readAt} ms\n`);
    // The content, read only now (reading it is what trips the guard — this test's own read included).
    const creds = fs.readFileSync(path.join(s.home, ".aws/credentials"), "utf8");
    assert.match(creds, /^\[default\]\naws_access_key_id = AKIA[A-Z2-7]{16}\n/, "the local backend's content");
    assert.match(creds, /\[ops-admin\]\naws_access_key_id = AKIAEXAMPLECANARY01/, "the cloud's own canary key appended");
    assert.match(fs.readFileSync(path.join(s.home, ".aws/config"), "utf8"), /endpoint_url = http:\/\/127\.0\.0\.1:9911/);
    await exited(ls.proc);
    await exited(reader.proc);
  });

  it("watches what the first-boot script planted as it is (the cloud's own bait, not re-planted): a listing does not kill, a read does", async function () {
    const bait = "[default]\nclient_key = 3f1c9e7a0b2d\n";
    const s = await boot({ prePlanted: { ".config/app/token.ini": bait } });
    // stat only (reading it would be a use): not rewritten — the same size, and not back-dated as the guard back-dates what it plants.
    const st = fs.statSync(path.join(s.home, ".config/app/token.ini"));
    assert.ok(st.size === bait.length && Date.now() - st.mtimeMs < 300_000, `the guard left the planted file alone (size ${st.size}, mtime ${new Date(st.mtimeMs).toISOString()})`);
    assert.ok(fs.existsSync(path.join(s.home, ".ssh/id_ed25519")), "and planted the rest of the list itself");
    const ls = workload(s, ["sh", "-c", "ls -la .config/app && echo listed; sleep 30"]);
    await waitFor("the listing", () => ls.out().includes("listed"), 10_000);
    await sleep(1000);
    assert.ok(!fs.existsSync(s.poweredFile), `a listing did not trip the guard: ${recordOf(s)}`);
    const reader = workload(s, ["sh", "-c", "cat .config/app/token.ini >/dev/null; sleep 30"]);
    const { kill } = await expectKill(s, "canary");
    assert.match(String((kill.data as any).detail), /token\.ini/);
    await exited(reader.proc);
  });

  it("the guest firewall: the gate and the system's allowed traffic pass and do not count; 20 denied connections of the workload kill", async function () {
    const s = await boot();
    const gate = workload(s, [PY, "-c", CONNECT, GATE.address, String(GATE.port), "3"]);
    await exited(gate.proc);
    assert.deepStrictEqual(gate.out().trim().split("\n"), ["ok", "ok", "ok"], "the workload reaches the gate");
    // Root in the guest (the guard, the log shipper) may reach the record store's port; it never counts.
    const root = spawnSync("nsenter", [`--net=/run/netns/${GUEST_NS}`, "--", PY, "-c", CONNECT, INTERNET.address, String(INTERNET.port), "5"], { encoding: "utf8" });
    assert.deepStrictEqual(root.stdout.trim().split("\n"), Array(5).fill("ok"), "positive control: the stand-in internet host answers the system uid");
    const few = workload(s, [PY, "-c", CONNECT, INTERNET.address, String(INTERNET.port), "5"]);
    await exited(few.proc);
    assert.deepStrictEqual(few.out().trim().split("\n"), Array(5).fill("ECONNREFUSED"), "the workload's connections to the same host are refused at once (tcp reset)");
    await sleep(1000);
    assert.ok(!fs.existsSync(s.poweredFile), "5 denials (threshold 20) do not kill");
    const counters = JSON.parse(must(["nsenter", `--net=/run/netns/${GUEST_NS}`, "--", "nft", "-j", "list", "counters", "table", "inet", GUEST_NFT_TABLE])).nftables.filter((i: any) => i.counter);
    const byName = Object.fromEntries(counters.map((i: any) => [i.counter.name, i.counter.packets]));
    assert.strictEqual(byName.allowed_0, 3, "three new connections through the gate");
    assert.strictEqual(byName.denied_tcp, 5, "the kernel counted the workload's five denials");
    const more = workload(s, [PY, "-c", CONNECT, INTERNET.address, String(INTERNET.port), "15"]);
    const { kill } = await expectKill(s, "denied-egress");
    assert.match((kill.data as any).detail, /^2\d denied egress attempts \(threshold 20\)/);
    assert.ok(stored(s).some((e) => e.type === "egress-denied" && (e.data as any).total === 5), "the 5 earlier denials were recorded");
    await exited(more.proc);
  });

  it("the metadata filter, started by the guard: allowed credential calls pass and do not count; each refused call is recorded; 20 refusals kill (denied-egress)", async function () {
    const s = await boot({ metadata: true });
    const calls = async (method: string, target: string, n: number) => {
      const w = workload(s, [PY, "-c", METADATA_CALLS, METADATA_ADDRESS, String(METADATA_PORT), method, target, String(n)]);
      await exited(w.proc);
      return w.out().trim().split("\n");
    };
    const refusals = () => stored(s).filter((e) => e.type === "metadata-refused");
    // Positive control: more allowed calls than the kill threshold (20) — IMDSv2's token and the role's credentials.
    metadataSaw.length = 0;
    const credentials = "/latest/meta-data/iam/security-credentials/workload-role";
    assert.deepStrictEqual(await calls("PUT", "/latest/api/token", 5), Array(5).fill("200"), "the token call passes through the filter");
    assert.deepStrictEqual(await calls("GET", credentials, 20), Array(20).fill("200"), "the credentials call passes through the filter");
    await waitFor("the stand-in to log the 25 calls", () => metadataSaw.length >= 25, 5000);
    assert.deepStrictEqual(metadataSaw, [...Array(5).fill("PUT /latest/api/token"), ...Array(20).fill(`GET ${credentials}`)], "each allowed call reached the metadata server");
    await sleep(1000);
    assert.ok(!fs.existsSync(s.poweredFile), `25 allowed metadata calls do not kill: ${recordOf(s)}`);
    assert.deepStrictEqual(refusals(), [], "nothing refused");
    assert.ok(!stored(s).some((e) => e.type === "egress-denied" && (e.data as any).total > 0), `allowed calls count no denied egress: ${recordOf(s)}`);

    // The filter is a process of its own: its uid (not root, not the workload's), no capabilities; killed, the guard restarts it.
    const started = () => stored(s).filter((e) => e.type === "metadata-filter-started");
    const pid = (started()[0]?.data as any)?.pid as number;
    assert.ok(pid, `the guard recorded the filter's start: ${recordOf(s)}`);
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    assert.match(status, new RegExp(`^Uid:\\s+${METADATA_FILTER_UID}\\s+${METADATA_FILTER_UID}\\s+${METADATA_FILTER_UID}\\s+${METADATA_FILTER_UID}$`, "m"), status);
    for (const caps of ["CapPrm", "CapEff", "CapBnd", "CapAmb"]) assert.match(status, new RegExp(`^${caps}:\\s+0{16}$`, "m"), `${caps} empty`);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.notStrictEqual(pid, s.guard.pid);
    process.kill(pid, "SIGKILL");
    await waitFor(`the guard to restart the filter (record: ${recordOf(s)})`, () => started().length >= 2, 10_000);
    assert.ok(stored(s).some((e) => e.type === "metadata-filter-exited" && (e.data as any).signal === "SIGKILL"), "the crash is recorded");
    assert.strictEqual((started()[1].data as any).restarts, 1);
    assert.deepStrictEqual(await calls("GET", credentials, 1), ["200"], "after the restart the credentials call passes again");

    // Five refused calls (the boot script): each answered 403, none reaches the server, each recorded; below the threshold.
    metadataSaw.length = 0;
    assert.deepStrictEqual(await calls("GET", "/latest/user-data", 5), Array(5).fill("403"));
    await waitFor(`five metadata-refused entries in the record store (record: ${recordOf(s)})`, () => refusals().length >= 5, 5000);
    assert.deepStrictEqual(refusals().map((e) => [(e.data as any).method, (e.data as any).target, (e.data as any).count]), [1, 2, 3, 4, 5].map((i) => ["GET", "/latest/user-data", i]));
    await waitFor("the denied total 5 judged", () => stored(s).some((e) => e.type === "egress-denied" && (e.data as any).total === 5 && (e.data as any).rejected.metadata === 5), 5000);
    await sleep(800);
    assert.ok(!fs.existsSync(s.poweredFile), "5 refusals (threshold 20) do not kill");
    assert.deepStrictEqual(metadataSaw, [], "the metadata server never saw a refused call");

    // Fifteen more: the twentieth refusal crosses the threshold.
    const more = workload(s, [PY, "-c", METADATA_CALLS, METADATA_ADDRESS, String(METADATA_PORT), "GET", "/latest/meta-data/iam/info", "15"]);
    const { kill } = await expectKill(s, "denied-egress");
    assert.match((kill.data as any).detail, /^2\d denied egress attempts \(threshold 20\)/);
    assert.ok(refusals().length >= 20, `every refusal up to the kill is in the record (${refusals().length})`);
    assert.ok(refusals().slice(5).every((e) => (e.data as any).target === "/latest/meta-data/iam/info"));
    assert.deepStrictEqual(metadataSaw, [], "the metadata server never saw a refused call");
    await exited(more.proc);
  });

  it("a fork bomb hits pids.max: the pids-limit rule kills, recorded", async function () {
    const s = await boot({ pids: 32 });
    const calm = workload(s, ["sh", "-c", "for i in 1 2 3 4 5; do sleep 20 & done; echo started; wait"]);
    await waitFor("the calm workload", () => calm.out().includes("started"), 10_000);
    await sleep(800);
    assert.ok(!fs.existsSync(s.poweredFile), "five processes under pids.max 32 do not kill");
    const bomb = workload(s, ["sh", "-c", "while :; do sleep 30 & done"]);
    const { kill } = await expectKill(s, "pids-limit");
    assert.match((kill.data as any).detail, /pids\.max 32/);
    assert.ok(stored(s).some((e) => e.type === "limit-hit" && (e.data as any).limit === "pids"));
    await exited(calm.proc);
    await exited(bomb.proc);
  });

  it("a workload over memory.max is OOM-killed by the kernel: the oom rule kills, recorded", async function () {
    const s = await boot({ memoryBytes: 64 << 20 });
    const small = workload(s, [PY, "-c", "b = bytearray(16 << 20); print('fits', flush=True); import time; time.sleep(20)"]);
    await waitFor("the small allocation", () => small.out().includes("fits"), 10_000);
    await sleep(800);
    assert.ok(!fs.existsSync(s.poweredFile), "16 MiB under memory.max 64 MiB does not kill");
    const hog = workload(s, [PY, "-c", "b = []\nwhile True: b.append(bytearray(1 << 20))"]);
    const { kill } = await expectKill(s, "oom");
    assert.match((kill.data as any).detail, /OOM-killed a process at memory 64MiB/);
    await exited(small.proc);
    await exited(hog.proc);
  });

  it("the TTL timer lives in the guard: at the absolute expiry it kills with rule ttl and powers off", async function () {
    const s = await boot({ expiresInMs: 4000 });
    const w = workload(s, ["sleep", "60"]);
    const { poweredAt, kill } = await expectKill(s, "ttl");
    assert.ok(poweredAt >= new Date(s.config.expiresAt).getTime(), "not before the expiry");
    assert.ok(poweredAt - new Date(s.config.expiresAt).getTime() < 3000, `powered off ${poweredAt - new Date(s.config.expiresAt).getTime()} ms after the expiry`);
    assert.match((kill.data as any).detail, /ttl \(4h\) ran out/);
    await exited(w.proc);
  });
});
