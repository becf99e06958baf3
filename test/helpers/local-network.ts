// Network fixtures for the isolation tests. Every address traffic is ever sent to is one these
// fixtures create, in network namespaces of their own:
//   - a stand-in "internet" host: 198.18.<b>.10 (TCP 443, UDP echo 9999, ICMP), a DNS responder on
//     198.18.<b>.53, the quickstart agent's "internet address" 198.18.<b>.1, and 2001:2:<b>::10 (TCP
//     443) — the benchmarking ranges (RFC 2544 / RFC 5180), routed from the host's main table into the
//     fixture namespace. <b> is this run's block, from the run tag (3-254: 198.18.0-2 are other tests'
//     fixed addresses, the Inspect suite's stand-ins are in 198.19.0.0/17), so two runs at once never
//     share a route; start() refuses a block another run holds;
//   - a stand-in metadata server at 169.254.169.254:80, reachable from the host only for packets
//     carrying the test's fwmark (policy routing), so that the host's own metadata traffic — if it
//     has any — is never diverted;
//   - listeners on the host itself (the "host's other services").
// The same probe (a small Python program) runs on the host (positive control) and in the sandbox.
import { spawn, ChildProcess } from "child_process";
import { createHash } from "crypto";
import * as net from "net";
import * as dgram from "dgram";
import { run } from "../../components/host/exec";
import { execCapture } from "./local-sandbox";
import { RUN_TAG } from "./run-scope";

/** This run's /24 of the stand-in internet (see the header). */
const BLOCK = 3 + (parseInt(createHash("sha256").update(RUN_TAG).digest("hex").slice(0, 8), 16) % 252);
const V4 = `198.18.${BLOCK}`;
const V6 = `2001:2:${BLOCK.toString(16)}`;
export const INTERNET = {
  v4: `${V4}.10`,
  dns: `${V4}.53`,
  v6: `${V6}::10`,
  tcpPort: 443,
  udpPort: 9999,
  answer: "198.18.0.99",
  quickstart: `${V4}.1`,
  /** The host's end of the link to the stand-in (an address of the host on another network). */
  hostLink: `${V4}.253`,
  block: `${V4}.0/24`,
  block6: `${V6}::/64`,
};
export const METADATA = { v4: "169.254.169.254", port: 80 };
export const TEST_FWMARK = 0x1717;
const TEST_TABLE = "1717";

/** The probe: one network attempt, described by a JSON argument; prints a JSON result. */
export const PROBE = String.raw`
import json, socket, struct, sys, time, os
req = json.loads(sys.argv[1])
kind, host, port = req["kind"], req.get("host"), req.get("port")
timeout = req.get("timeout", 3)
def mark(s):
    if req.get("mark"): s.setsockopt(socket.SOL_SOCKET, 36, req["mark"])  # SO_MARK
def dns_query(name):
    return struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00\x00\x01\x00\x01"
def checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
t0 = time.monotonic()
out = {}
try:
    if kind in ("tcp", "tcp6"):
        s = socket.socket(socket.AF_INET6 if kind == "tcp6" else socket.AF_INET, socket.SOCK_STREAM); mark(s); s.settimeout(timeout)
        s.connect((host, port))
        if req.get("send") is not None: s.sendall(req["send"].encode())
        s.settimeout(min(timeout, 1))  # connected is what counts; a greeting, if any, is a bonus
        try: data = s.recv(4096).decode(errors="replace")
        except socket.timeout: data = ""
        out = {"ok": True, "data": data}
    elif kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); mark(s); s.settimeout(timeout)
        s.connect((host, port)); s.send(b"ping"); out = {"ok": True, "data": s.recv(512).decode(errors="replace")}
    elif kind == "dns":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); mark(s); s.settimeout(timeout)
        s.sendto(dns_query(req["name"]), (host, 53)); r = s.recv(512)
        out = {"ok": True, "data": socket.inet_ntoa(r[-4:])}
    elif kind == "resolve":
        out = {"ok": True, "data": sorted({a[4][0] for a in socket.getaddrinfo(req["name"], 80)})}
    elif kind == "icmp":
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        except PermissionError:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)  # unprivileged ping socket
        mark(s); s.settimeout(timeout)
        hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"airlock-probe"
        pkt = hdr[:2] + struct.pack("!H", checksum(hdr + b"\0" * (len(hdr) % 2))) + hdr[4:]
        s.sendto(pkt, (host, 0)); data = s.recv(1024)
        out = {"ok": True, "data": "echo reply" if data else ""}
    elif kind == "raw":
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).close(); out = {"ok": True}
    else:
        out = {"ok": False, "error": "unknown probe " + kind}
except socket.timeout as e:
    out = {"ok": False, "error": "timeout", "timeout": True}
except OSError as e:
    out = {"ok": False, "errno": e.errno, "error": "%s: %s" % (type(e).__name__, e)}
out["ms"] = round((time.monotonic() - t0) * 1000, 1)
print(json.dumps(out))
`;

export interface ProbeRequest {
  kind: "tcp" | "tcp6" | "udp" | "dns" | "resolve" | "icmp" | "raw";
  host?: string;
  port?: number;
  name?: string;
  send?: string;
  mark?: number;
  timeout?: number;
}

export interface ProbeResult {
  ok: boolean;
  data?: any;
  errno?: number;
  error?: string;
  timeout?: boolean;
  ms: number;
}

function parseProbe(stdout: string, stderr: string): ProbeResult {
  const line = stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`probe printed no result: ${stdout} ${stderr}`);
  }
}

export async function probeInside(id: string, req: ProbeRequest): Promise<ProbeResult> {
  const r = await execCapture(id, ["python3", "-c", PROBE, JSON.stringify(req)]);
  return parseProbe(r.stdout, r.stderr);
}

/**
 * The probe as root inside a namespace but outside the sandbox's confinement (no bwrap, no seccomp,
 * all capabilities): what the network itself lets through, past what the confinement refuses first.
 */
export async function probeInNetns(netns: string, req: ProbeRequest): Promise<ProbeResult> {
  const r = await run("ip", ["netns", "exec", netns, "python3", "-c", PROBE, JSON.stringify(req)], { allowFail: true });
  return parseProbe(r.stdout, r.stderr);
}

export async function probeFromHost(req: ProbeRequest): Promise<ProbeResult> {
  const r = await run("python3", ["-c", PROBE, JSON.stringify(req)], { allowFail: true });
  return parseProbe(r.stdout, r.stderr);
}

/**
 * Servers for a fixture namespace: TCP greeters, UDP echo, a DNS responder answering one A record.
 * Every connection or datagram is printed as a "hit" line: the stand-in hosts' own log of who reached
 * them, independent of Airlock's counters (a blocked attempt must leave no hit).
 */
const SERVERS = String.raw`
import json, socket, sys, threading
name, specs = sys.argv[1], json.loads(sys.argv[2])
lock = threading.Lock()
def hit(proto, host, port, peer):
    with lock: print(json.dumps({"hit": proto, "host": host, "port": port, "peer": peer[0]}), flush=True)
def tcp(fam, host, port, reply):
    s = socket.socket(fam, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((host, port)); s.listen(64)
    def loop():
        while True:
            c, peer = s.accept(); hit("tcp", host, port, peer); c.sendall(reply.encode()); c.close()
    return loop
def udp(host, port, answer):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((host, port))
    def loop():
        while True:
            data, peer = s.recvfrom(512)
            hit("udp", host, port, peer)
            if answer is None: s.sendto(b"echo:" + data, peer)
            else: s.sendto(data[:2] + b"\x81\x80" + data[4:6] + b"\x00\x01\x00\x00\x00\x00" + data[12:] + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(answer), peer)
    return loop
loops = []
for sp in specs:
    if sp["proto"] == "tcp": loops.append(tcp(socket.AF_INET6 if ":" in sp["host"] else socket.AF_INET, sp["host"], sp["port"], sp["reply"]))
    elif sp["proto"] == "udp": loops.append(udp(sp["host"], sp["port"], None))
    elif sp["proto"] == "dns": loops.append(udp(sp["host"], 53, sp["answer"]))
for l in loops: threading.Thread(target=l, daemon=True).start()
print("ready", name, flush=True)
threading.Event().wait()
`;

/** One connection (tcp) or datagram (udp) a stand-in host received, and from which address. */
export interface Hit {
  hit: "tcp" | "udp";
  host: string;
  port: number;
  peer: string;
}

interface FixtureHost {
  netns: string;
  hostIface: string;
  server: ChildProcess;
}

function startServers(netns: string, specs: object[], hits: Hit[]): Promise<ChildProcess> {
  // The namespace name is the first argument, so a leftover server is recognisable by name too.
  const child = spawn("ip", ["netns", "exec", netns, "python3", "-c", SERVERS, netns, JSON.stringify(specs)], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let err = "";
    let buf = "";
    child.stderr!.on("data", (d) => (err += d));
    child.stdout!.on("data", (d) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith("ready")) resolve(child);
        else if (line.startsWith("{")) hits.push(JSON.parse(line));
      }
    });
    child.once("exit", (code) => reject(new Error(`fixture servers in ${netns} exited (${code}): ${err}`)));
  });
}

async function ip(...args: string[]) {
  await run("ip", args);
}

/**
 * The stand-in internet and metadata hosts. Names start with "airlock" and carry the run tag, so the
 * suite's leftover check would catch anything `stop()` missed (and no other run's check would).
 */
export class TestNetwork {
  private hosts: FixtureHost[] = [];
  /** What the stand-in hosts received, in order (their own log: see SERVERS). */
  readonly hits: Hit[] = [];
  /** The run tag: the suite-wide leftover check knows these objects as this run's (run-scope.ts). */
  private readonly tag = RUN_TAG;

  async start(): Promise<void> {
    // The stand-in internet: this run's block, its .252/30 the link (.253 the host's end), .10, .53
    // and .1 on the stand-in's side; 2001:2:ffff:<b>::/64 link, 2001:2:<b>::10 behind it.
    const held = (await run("ip", ["-4", "route", "show", "root", INTERNET.block])).stdout.trim() + (await run("ip", ["-4", "-o", "addr", "show", "to", INTERNET.block])).stdout.trim();
    if (held) throw new Error(`${INTERNET.block} (this run's stand-in internet, from run tag ${RUN_TAG}) is in use on this host — another run's stand-in? Run with another AIRLOCK_TEST_RUN tag:\n${held}`);
    const link6 = `2001:2:ffff:${BLOCK.toString(16)}`;
    const inet = await this.fixtureNetns("inet", "i", { hostAddr: `${INTERNET.hostLink}/30`, innerAddr: `${V4}.254/30`, hostAddr6: `${link6}::1/64`, innerAddr6: `${link6}::2/64` });
    await ip("-n", inet.netns, "addr", "add", `${INTERNET.v4}/32`, "dev", "eth0");
    await ip("-n", inet.netns, "addr", "add", `${INTERNET.quickstart}/32`, "dev", "eth0"); // the quickstart agent's "internet address"
    await ip("-n", inet.netns, "addr", "add", `${INTERNET.dns}/32`, "dev", "eth0");
    await ip("-n", inet.netns, "addr", "add", `${INTERNET.v6}/128`, "dev", "eth0", "nodad");
    await ip("-n", inet.netns, "route", "add", "default", "via", INTERNET.hostLink);
    await ip("-n", inet.netns, "-6", "route", "add", "default", "via", `${link6}::1`);
    await ip("route", "add", INTERNET.block, "via", `${V4}.254`);
    await ip("-6", "route", "add", INTERNET.block6, "via", `${link6}::2`);
    inet.server = await startServers(inet.netns, [
      { proto: "tcp", host: INTERNET.v4, port: INTERNET.tcpPort, reply: "hello from the stand-in internet\n" },
      { proto: "tcp", host: INTERNET.quickstart, port: INTERNET.tcpPort, reply: "hello from the stand-in internet\n" },
      { proto: "udp", host: INTERNET.v4, port: INTERNET.udpPort },
      { proto: "dns", host: INTERNET.dns, answer: INTERNET.answer },
      { proto: "tcp", host: INTERNET.v6, port: INTERNET.tcpPort, reply: "hello over IPv6\n" },
    ], this.hits);
    // The stand-in metadata service, reachable from the host only with the test's fwmark.
    const meta = await this.fixtureNetns("meta", "m", { hostAddr: "198.19.255.1/30", innerAddr: "198.19.255.2/30" });
    await ip("-n", meta.netns, "addr", "add", `${METADATA.v4}/32`, "dev", "eth0");
    await ip("-n", meta.netns, "route", "add", "default", "via", "198.19.255.1");
    await ip("route", "add", `${METADATA.v4}/32`, "via", "198.19.255.2", "table", TEST_TABLE);
    await ip("rule", "add", "fwmark", String(TEST_FWMARK), "table", TEST_TABLE, "priority", TEST_TABLE);
    meta.server = await startServers(meta.netns, [{ proto: "tcp", host: METADATA.v4, port: METADATA.port, reply: "HTTP/1.0 200 OK\r\n\r\nami-0123456789 (stand-in)\n" }], this.hits);
  }

  private async fixtureNetns(role: string, letter: string, a: { hostAddr: string; innerAddr: string; hostAddr6?: string; innerAddr6?: string }): Promise<FixtureHost> {
    const netns = `airlock-tf-${role}-${this.tag}`;
    const hostIface = `airlocktf${this.tag}${letter}`;
    const host: FixtureHost = { netns, hostIface, server: undefined as any };
    this.hosts.push(host);
    await ip("netns", "add", netns);
    await ip("-n", netns, "link", "set", "lo", "up");
    await ip("link", "add", hostIface, "type", "veth", "peer", "name", "eth0", "netns", netns);
    await ip("addr", "add", a.hostAddr, "dev", hostIface);
    await ip("-n", netns, "addr", "add", a.innerAddr, "dev", "eth0");
    if (a.hostAddr6) {
      await ip("addr", "add", a.hostAddr6, "dev", hostIface, "nodad");
      await ip("-n", netns, "addr", "add", a.innerAddr6!, "dev", "eth0", "nodad");
    }
    await ip("link", "set", hostIface, "up");
    await ip("-n", netns, "link", "set", "eth0", "up");
    return host;
  }

  async stop(): Promise<void> {
    await run("ip", ["rule", "del", "fwmark", String(TEST_FWMARK), "table", TEST_TABLE], { allowFail: true });
    await run("ip", ["route", "flush", "table", TEST_TABLE], { allowFail: true });
    for (const h of this.hosts) {
      h.server?.kill("SIGKILL");
      await run("ip", ["link", "del", h.hostIface], { allowFail: true });
      await run("ip", ["netns", "del", h.netns], { allowFail: true });
    }
    this.hosts = [];
  }
}

/** "The host's other services": a TCP and a UDP listener on every host address. */
export class HostListeners {
  tcp!: net.Server;
  udp!: dgram.Socket;
  tcpPort = 0;
  udpPort = 0;

  async start(): Promise<void> {
    this.tcp = net.createServer((c) => c.end("host service\n"));
    await new Promise<void>((r) => this.tcp.listen(0, "0.0.0.0", () => r()));
    this.tcpPort = (this.tcp.address() as net.AddressInfo).port;
    this.udp = dgram.createSocket("udp4");
    this.udp.on("message", (m, peer) => this.udp.send(Buffer.concat([Buffer.from("echo:"), m]), peer.port, peer.address));
    await new Promise<void>((r) => this.udp.bind(0, "0.0.0.0", () => r()));
    this.udpPort = this.udp.address().port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.tcp.close(() => r()));
    await new Promise<void>((r) => this.udp.close(() => r()));
  }
}
