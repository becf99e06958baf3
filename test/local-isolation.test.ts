// Network isolation of a local sandbox, for real: network namespaces, nftables, Toxiproxy, bwrap.
// Every attempt made from inside a sandbox must fail (fast) or be detected, and each has a positive
// control: the same attempt from the host succeeds, so a failure inside is the boundary's doing and
// not a broken fixture. Traffic only ever goes to loopback and to fixture hosts this file creates.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { HostSandbox } from "../components/local/sandbox";
import { routeGet, inNetns } from "../components/local/netns";
import { readCounters } from "../components/local/nft";
import { ToxiproxyAdmin } from "../components/host/toxiproxy";
import { SandboxPool, localSpec, execCapture } from "./helpers/local-sandbox";
import * as net from "net";
import { spawn } from "child_process";
import { HostListeners, INTERNET, METADATA, probeFromHost, probeInNetns, probeInside, TEST_FWMARK, TestNetwork } from "./helpers/local-network";
import { waitFor } from "./helpers/common";

const ENETUNREACH = 101;
const ECONNREFUSED = 111;
const EPERM = 1;
/** The probe's own timeout (PROBE's default), and "fails fast": within a third of it, not at it. */
const PROBE_TIMEOUT_MS = 3000;
const FAST_MS = PROBE_TIMEOUT_MS / 3;

/** A one-file HTTP target, so the gate has something real to forward to. */
const TARGET = ["python3", "-c", "import http.server,os;http.server.ThreadingHTTPServer(('0.0.0.0',int(os.environ['PORT'])),http.server.SimpleHTTPRequestHandler).serve_forever()"];

function assertBlockedFast(r: { ok: boolean; ms: number; errno?: number; error?: string; timeout?: boolean }, what: string, errnos?: number[]) {
  assert.strictEqual(r.ok, false, `${what} succeeded from inside the sandbox`);
  assert.ok(!r.timeout, `${what} hung until the timeout instead of failing fast`);
  assert.ok(r.ms < FAST_MS, `${what} took ${r.ms} ms to fail`);
  if (errnos) assert.ok(errnos.includes(r.errno!), `${what}: expected errno ${errnos.join("/")}, got ${r.error}`);
}

describe("local sandbox: network isolation (real netns, nftables, Toxiproxy)", function () {
  this.timeout(60_000);
  const pool = new SandboxPool();
  const fixtures = new TestNetwork();
  const host = new HostListeners();
  let a: HostSandbox;
  let b: HostSandbox;

  before(async function () {
    this.timeout(120_000);
    await fixtures.start();
    await host.start();
    const spec = localSpec({
      name: "iso",
      targets: [{ name: "web", command: TARGET, port: 8080 }],
      egress: { allow: [{ name: "web", via: "target", target: "web", port: 8080 }] },
      killSwitch: { rules: [{ on: "canary" }, { on: "pids-limit" }, { on: "oom" }] }, // no denied-egress kill: this file makes many attempts on purpose
    });
    a = await pool.create(spec);
    b = await pool.create(localSpec({ name: "lateral", egress: { allow: [{ name: "hostsvc", via: "address", host: "127.0.0.1", port: host.tcpPort, listenPort: 9000 }] } }));
  });

  after(async function () {
    this.timeout(60_000);
    await pool.destroyAll(); // also checks that nothing of the two sandboxes is left
    await fixtures.stop();
    await host.stop();
  });

  it("the allowed upstream answers through the gate listener, and the target itself has no route", async () => {
    const r = await probeInside(a.id, { kind: "tcp", host: "web", port: 8080, send: "GET / HTTP/1.0\r\n\r\n" });
    assert.ok(r.ok && /^HTTP\/1\.0 200/.test(r.data), `gate: ${JSON.stringify(r)}`);
    const target = a.handle.services!.targets.web;
    assertBlockedFast(await probeInside(a.id, { kind: "tcp", host: target.address, port: target.port }), "the target, bypassing the gate", [ENETUNREACH]);
    // Positive control: the target is up and reachable from the host's side of the boundary.
    const control = await probeFromHost({ kind: "tcp", host: target.address, port: target.port, send: "GET / HTTP/1.0\r\n\r\n" });
    assert.ok(control.ok, `host -> target: ${JSON.stringify(control)}`);
    const counters = await readCounters(a.handle.netns, a.handle.nft!.table);
    assert.ok(counters[a.handle.nft!.allowedCounters.web].packets >= 1, "the gate connection was not counted");
  });

  it("TCP to an internet host: no route inside (fails at once), reachable from the host", async () => {
    const control = await probeFromHost({ kind: "tcp", host: INTERNET.v4, port: INTERNET.tcpPort });
    assert.ok(control.ok && /stand-in internet/.test(control.data), `positive control: ${JSON.stringify(control)}`);
    const before = (await a.egress()).noRoute;
    const hits = fixtures.hits.length;
    assertBlockedFast(await probeInside(a.id, { kind: "tcp", host: INTERNET.v4, port: INTERNET.tcpPort }), "TCP to the internet", [ENETUNREACH]);
    assert.deepStrictEqual(fixtures.hits.slice(hits), [], "the stand-in internet host saw a connection from the sandbox");
    assert.ok(fixtures.hits.some((h) => h.hit === "tcp" && h.host === INTERNET.v4), "the stand-in's own log missed the positive control");
    assert.ok((await a.egress()).noRoute > before, "the kernel's OutNoRoutes counter of the namespace did not move");
    const inside = await routeGet(a.handle.netns, INTERNET.v4);
    assert.ok(!inside.ok && /Network is unreachable/i.test(inside.text), `ip route get inside: ${inside.text}`);
    const noDefault = await inNetns(a.handle.netns, "ip", ["route", "show", "default"]);
    assert.strictEqual(noDefault.stdout.trim(), "", "the sandbox namespace has a default route");
  });

  it("UDP to an internet host: no route inside, echoed from the host", async () => {
    const control = await probeFromHost({ kind: "udp", host: INTERNET.v4, port: INTERNET.udpPort });
    assert.ok(control.ok && control.data === "echo:ping", `positive control: ${JSON.stringify(control)}`);
    const hits = fixtures.hits.length;
    assertBlockedFast(await probeInside(a.id, { kind: "udp", host: INTERNET.v4, port: INTERNET.udpPort }), "UDP to the internet", [ENETUNREACH]);
    assert.deepStrictEqual(fixtures.hits.slice(hits), [], "the stand-in internet host received a datagram from the sandbox");
  });

  it("DNS: the sandbox has no resolver and no route to one; the stand-in resolver answers the host", async () => {
    const control = await probeFromHost({ kind: "dns", host: INTERNET.dns, name: "example.com" });
    assert.ok(control.ok && control.data === INTERNET.answer, `positive control: ${JSON.stringify(control)}`);
    const hits = fixtures.hits.length;
    assertBlockedFast(await probeInside(a.id, { kind: "dns", host: INTERNET.dns, name: "example.com" }), "DNS to an outside resolver", [ENETUNREACH]);
    assert.deepStrictEqual(fixtures.hits.slice(hits), [], "the stand-in resolver received a query from the sandbox");
    const viaResolver = await probeInside(a.id, { kind: "resolve", name: "example.com" });
    assert.strictEqual(viaResolver.ok, false, `a name outside /etc/hosts resolved: ${JSON.stringify(viaResolver)}`);
    assert.ok(viaResolver.ms < 3000, `name resolution took ${viaResolver.ms} ms to fail`);
    // DNS and the firewall agree: the allowed upstream's name resolves, to the gate.
    const gateName = await probeInside(a.id, { kind: "resolve", name: "web" });
    assert.deepStrictEqual(gateName.data, [a.handle.hostAddress]);
  });

  it("ICMP: no raw or ping sockets inside; the host pings the stand-in host", async () => {
    const control = await probeFromHost({ kind: "icmp", host: INTERNET.v4 });
    assert.ok(control.ok, `positive control: ${JSON.stringify(control)}`);
    const r = await probeInside(a.id, { kind: "icmp", host: INTERNET.v4 });
    assertBlockedFast(r, "ICMP echo", [1, 13]); // EPERM (raw) / EACCES (ping socket, ping_group_range "1 0")
  });

  it("ICMP to the gate: refused at the socket inside; past the socket (root in the namespace) nftables rejects it; unblocked paths answer", async () => {
    // The workload cannot even create the socket, so this alone says nothing about the network path...
    assertBlockedFast(await probeInside(a.id, { kind: "icmp", host: a.handle.hostAddress }), "ICMP socket to the gate", [1, 13]);
    // ...so the same echo request is sent by root in the sandbox's namespace, where the socket works:
    // positive control, to the namespace's own address (an unblocked path): it answers.
    const own = await probeInNetns(a.handle.netns, { kind: "icmp", host: a.handle.sandboxAddress });
    assert.ok(own.ok, `positive control (root in the namespace, its own address): ${JSON.stringify(own)}`);
    // Positive control: the gate address answers echo requests (from the host side).
    const host = await probeFromHost({ kind: "icmp", host: a.handle.hostAddress });
    assert.ok(host.ok, `positive control (the gate address answers ICMP): ${JSON.stringify(host)}`);
    const before = await readCounters(a.handle.netns, a.handle.nft!.table);
    const viaVeth = await probeInNetns(a.handle.netns, { kind: "icmp", host: a.handle.hostAddress });
    assert.strictEqual(viaVeth.ok, false, `root in the sandbox namespace got an echo reply from the gate: ${JSON.stringify(viaVeth)}`);
    const after = await readCounters(a.handle.netns, a.handle.nft!.table);
    assert.ok(after.denied_icmp.packets > before.denied_icmp.packets, "nft's denied_icmp counter did not count the echo request: the block is not the firewall's");
  });

  it("IPv6: disabled in the sandbox namespace; the host reaches the stand-in over IPv6", async () => {
    const control = await probeFromHost({ kind: "tcp6", host: INTERNET.v6, port: INTERNET.tcpPort });
    assert.ok(control.ok && /IPv6/.test(control.data), `positive control: ${JSON.stringify(control)}`);
    assertBlockedFast(await probeInside(a.id, { kind: "tcp6", host: INTERNET.v6, port: INTERNET.tcpPort }), "TCP over IPv6");
    const sysctl = await execCapture(a.id, ["cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"]);
    assert.deepStrictEqual(sysctl.stdout.trim().split("\n"), ["1", "1"]);
    const addrs = await inNetns(a.handle.netns, "ip", ["-6", "addr", "show"]);
    assert.strictEqual(addrs.stdout.trim(), "", `IPv6 addresses in the sandbox namespace: ${addrs.stdout}`);
  });

  it("the metadata address: no route inside; the stand-in metadata server answers the host", async () => {
    const control = await probeFromHost({ kind: "tcp", host: METADATA.v4, port: METADATA.port, mark: TEST_FWMARK, send: "GET /latest/meta-data/ HTTP/1.0\r\n\r\n" });
    assert.ok(control.ok && /ami-/.test(control.data), `positive control: ${JSON.stringify(control)}`);
    assertBlockedFast(await probeInside(a.id, { kind: "tcp", host: METADATA.v4, port: METADATA.port }), "the metadata service", [ENETUNREACH]);
  });

  it("the host's other services: rejected at once (TCP reset / ICMP) and counted by nftables; the host reaches them", async () => {
    const tcpControl = await probeFromHost({ kind: "tcp", host: "127.0.0.1", port: host.tcpPort });
    assert.ok(tcpControl.ok && /host service/.test(tcpControl.data), `positive control: ${JSON.stringify(tcpControl)}`);
    const viaGateAddr = await probeFromHost({ kind: "tcp", host: a.handle.hostAddress, port: host.tcpPort });
    assert.ok(viaGateAddr.ok, `positive control (the host listens on the gate address too): ${JSON.stringify(viaGateAddr)}`);
    const udpControl = await probeFromHost({ kind: "udp", host: "127.0.0.1", port: host.udpPort });
    assert.ok(udpControl.ok, `positive control: ${JSON.stringify(udpControl)}`);

    const before = await readCounters(a.handle.netns, a.handle.nft!.table);
    assertBlockedFast(await probeInside(a.id, { kind: "tcp", host: a.handle.hostAddress, port: host.tcpPort }), "TCP to a host service", [ECONNREFUSED]);
    // A rejected datagram never leaves: send() itself fails with EPERM (or a later recv with ECONNREFUSED).
    assertBlockedFast(await probeInside(a.id, { kind: "udp", host: a.handle.hostAddress, port: host.udpPort }), "UDP to a host service", [EPERM, ECONNREFUSED]);
    // The host's addresses on other networks (here: its side of the fixture link) have no route at all.
    assertBlockedFast(await probeInside(a.id, { kind: "tcp", host: INTERNET.hostLink, port: host.tcpPort }), "the host's address on another network", [ENETUNREACH]);
    const after = await readCounters(a.handle.netns, a.handle.nft!.table);
    assert.ok(after.denied_tcp.packets > before.denied_tcp.packets, "nft denied_tcp did not count the attempt");
    assert.ok(after.denied_udp.packets > before.denied_udp.packets, "nft denied_udp did not count the attempt");
    // The guard reads the same counters.
    const e = await a.egress();
    assert.ok(e.rejected.tcp >= 1 && e.rejected.udp >= 1 && e.total >= 3, JSON.stringify(e));
  });

  it("another sandbox (lateral movement): neither its address nor its gate is reachable; the host reaches its gate", async () => {
    const bGate = b.handle.gate.proxies.hostsvc.listen.split(":");
    const control = await probeFromHost({ kind: "tcp", host: bGate[0], port: Number(bGate[1]) });
    assert.ok(control.ok && /host service/.test(control.data), `positive control: ${JSON.stringify(control)}`);
    assertBlockedFast(await probeInside(a.id, { kind: "tcp", host: bGate[0], port: Number(bGate[1]) }), "the other sandbox's gate", [ENETUNREACH]);
    assertBlockedFast(await probeInside(a.id, { kind: "tcp", host: b.handle.sandboxAddress, port: 22 }), "the other sandbox", [ENETUNREACH]);
    assertBlockedFast(await probeInside(b.id, { kind: "tcp", host: a.handle.sandboxAddress, port: 22 }), "the other sandbox (reverse)", [ENETUNREACH]);
    // B's own allowed upstream works for B: the failure above is isolation, not a dead gate.
    const own = await probeInside(b.id, { kind: "tcp", host: "hostsvc", port: 9000 });
    assert.ok(own.ok, JSON.stringify(own));
  });

  it("the Toxiproxy admin API: not reachable from inside, on either address; the host manages it", async () => {
    const admin = new URL(a.handle.gate.adminUrl);
    assert.strictEqual(admin.hostname, "127.0.0.1", "the admin API must listen on host loopback only");
    assert.ok((await new ToxiproxyAdmin(a.handle.gate.adminUrl).version()).length > 0, "positive control: host -> admin API");
    const port = Number(admin.port);
    // 1. The sandbox's 127.0.0.1 is its namespace's own loopback: a refusal there proves only that the
    //    admin API is not in the namespace. Positive control: a listener on that loopback and port, put
    //    there from outside, is reached by the same probe — so the refusal is not a broken probe.
    const listener = spawn("ip", ["netns", "exec", a.handle.netns, "python3", "-c", `import socket,time;s=socket.socket();s.bind(('127.0.0.1',${port}));s.listen(1);time.sleep(30)`], { stdio: "ignore" });
    try {
      await waitFor("the listener on the namespace's loopback", async () => (await inNetns(a.handle.netns, "ss", ["-Hltn", `sport = :${port}`])).stdout.trim() !== "", 5000);
      const reached = await probeInside(a.id, { kind: "tcp", host: "127.0.0.1", port });
      assert.ok(reached.ok, `positive control (a listener on the namespace's own loopback): ${JSON.stringify(reached)}`);
    } finally {
      listener.kill("SIGKILL");
    }
    await waitFor("the loopback listener to go", async () => (await inNetns(a.handle.netns, "ss", ["-Hltn", `sport = :${port}`])).stdout.trim() === "", 5000);
    assertBlockedFast(await probeInside(a.id, { kind: "tcp", host: "127.0.0.1", port }), "the admin API on (the sandbox's own) loopback", [ECONNREFUSED]);
    // 2. The real path to the host is the gate address. Positive control: a host listener on exactly
    //    that address and port (the admin API itself binds 127.0.0.1 only) answers the host...
    const decoy = net.createServer((c) => c.end("decoy\n"));
    await new Promise<void>((r) => decoy.listen(port, a.handle.hostAddress, () => r()));
    try {
      const control = await probeFromHost({ kind: "tcp", host: a.handle.hostAddress, port });
      assert.ok(control.ok && /decoy/.test(control.data), `positive control: ${JSON.stringify(control)}`);
      // ...and the sandbox is still refused, by the firewall (counted), not by an empty port.
      const before = await readCounters(a.handle.netns, a.handle.nft!.table);
      assertBlockedFast(await probeInside(a.id, { kind: "tcp", host: a.handle.hostAddress, port }), "the admin port via the gate address", [ECONNREFUSED]);
      const after = await readCounters(a.handle.netns, a.handle.nft!.table);
      assert.ok(after.denied_tcp.packets > before.denied_tcp.packets, "nft did not count the attempt: the refusal was not the firewall's");
    } finally {
      await new Promise<void>((r) => decoy.close(() => r()));
    }
  });

  it("raw sockets: refused inside (no CAP_NET_RAW); the host (root) opens one", async () => {
    const control = await probeFromHost({ kind: "raw" });
    assert.ok(control.ok, `positive control: ${JSON.stringify(control)}`);
    const r = await probeInside(a.id, { kind: "raw" });
    assert.strictEqual(r.ok, false);
    assert.strictEqual(r.errno, EPERM, r.error);
  });

  it("no inbound connections: a listener inside is not reachable from the host, only from inside", async () => {
    // A listener in the sandbox (backgrounded inside one exec), then probes from both sides.
    // It stays until the test drops a stop file into the sandbox's /tmp (no fixed lifetime to race).
    const script = "import os,socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',7070));s.listen(5)\nfor _ in range(600):\n  if os.path.exists('/tmp/stop-7070'): break\n  time.sleep(0.05)";
    const listener = execCapture(a.id, ["python3", "-c", script]);
    try {
      // Ready when the kernel lists the socket as listening (not after a fixed sleep).
      await waitFor("the listener inside", async () => (await inNetns(a.handle.netns, "ss", ["-Hltn", "sport = :7070"])).stdout.trim() !== "", 10_000);
      const inside = await probeInside(a.id, { kind: "tcp", host: "127.0.0.1", port: 7070 });
      assert.ok(inside.ok, `positive control (inside): ${JSON.stringify(inside)}`);
      const before = await readCounters(a.handle.netns, a.handle.nft!.table);
      const fromHost = await probeFromHost({ kind: "tcp", host: a.handle.sandboxAddress, port: 7070, timeout: 1 });
      assert.strictEqual(fromHost.ok, false, "the host opened a connection into the sandbox");
      const after = await readCounters(a.handle.netns, a.handle.nft!.table);
      assert.ok(after.inbound_denied.packets > before.inbound_denied.packets, "the dropped inbound SYN was not counted");
    } finally {
      fs.writeFileSync(path.join(a.handle.fsRoot!, "tmp", "stop-7070"), "");
      await listener;
    }
  });

  it("the boundary is what the handle says: nft tables on both sides, the record outside the sandbox's view", async () => {
    const hostTable = await readCounters(undefined, a.handle.nft!.table);
    assert.ok("denied" in hostTable && "forward_denied" in hostTable, "host-side nft table missing");
    // The record (and its directory) exist on the host; inside, `test -e` on the same paths is false.
    // Positive control in the same shell: `test -e` does see a path that exists inside (/etc/passwd).
    const recordDir = path.dirname(a.handle.record);
    assert.ok(fs.existsSync(a.handle.record) && fs.existsSync(recordDir), `no record at ${a.handle.record} on the host`);
    const probe = (p: string) => `if test -e '${p}'; then echo "visible ${p}"; else echo "absent ${p}"; fi`;
    const r = await execCapture(a.id, ["sh", "-c", [probe("/etc/passwd"), probe(a.handle.record), probe(recordDir)].join("; ")]);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(r.stdout.trim().split("\n"), ["visible /etc/passwd", `absent ${a.handle.record}`, `absent ${recordDir}`], `the record is visible inside: ${r.stdout}`);
  });
});
