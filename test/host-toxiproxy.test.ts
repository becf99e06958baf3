// The Toxiproxy admin wrapper the chaos runner relies on for rollback: every call has a deadline and
// says what failed; removals are idempotent; the toxic-type probe answers honestly and cleans up.
import * as assert from "assert";
import * as http from "http";
import * as net from "net";
import { ToxiproxyAdmin, ToxiproxyAdminError } from "../components/host/toxiproxy";
import { undoHandlerFor } from "../components/host/journal";
import { startGate, startUpstream, Gate, Upstream } from "./helpers/chaos-fixtures";
import { proxyNames, proxyView } from "./helpers/toxiproxy-view";

describe("host: Toxiproxy admin wrapper", function () {
  this.timeout(30_000);
  let upstream: Upstream;
  let gate: Gate;

  before(async () => {
    upstream = await startUpstream();
    gate = await startGate({ api: upstream.address }, "airlock-hosttest");
  });
  after(async () => {
    await gate?.stop();
    await upstream?.close();
  });

  it("a server that accepts but never answers fails the call within the timeout, naming the operation", async () => {
    const sockets: net.Socket[] = [];
    const hung = net.createServer((s) => sockets.push(s)); // reads nothing, answers nothing
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
    const admin = new ToxiproxyAdmin(`http://127.0.0.1:${(hung.address() as net.AddressInfo).port}`, 300);
    const t0 = Date.now();
    try {
      await assert.rejects(admin.removeToxic("api", "slow"), (e: any) => e instanceof ToxiproxyAdminError && /remove toxic 'slow' from proxy 'api': no answer within 300 ms/.test(e.message));
      // Within the deadline it was given (not at the mocha timeout): a generous multiple of it.
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 290 && elapsed < 10 * 300, `the call gave up after ${elapsed} ms with a 300 ms deadline`);
    } finally {
      sockets.forEach((s) => s.destroy());
      hung.close();
    }
  });

  it("removing a toxic or proxy really removes it (read back from the server), and removing it again is success", async () => {
    const proxy = gate.proxies.api.proxy;
    await gate.admin.addToxic(proxy, { name: "to-remove", type: "latency", stream: "downstream", toxicity: 1, attributes: { latency: 5 } });
    assert.deepEqual((await proxyView(gate.server.url, proxy)).toxics.map((t) => t.name), ["to-remove"], "set-up: the server has the toxic");
    await gate.admin.removeToxic(proxy, "to-remove");
    assert.deepEqual((await proxyView(gate.server.url, proxy)).toxics, [], "the server still has the removed toxic");
    await gate.admin.removeToxic(proxy, "to-remove"); // already gone: success
    await gate.admin.removeToxic("no-such-proxy", "x");
    const extra = `airlock-hosttest-extra-${process.pid}`;
    await gate.admin.createProxy({ name: extra, listen: "127.0.0.1:0", upstream: upstream.address });
    assert.equal((await proxyView(gate.server.url, extra)).exists, true, "set-up: the server has the proxy");
    await gate.admin.removeProxy(extra);
    assert.equal((await proxyView(gate.server.url, extra)).exists, false, "the server still has the removed proxy");
    await gate.admin.removeProxy(extra);
    assert.deepEqual(await proxyNames(gate.server.url), [proxy], "only the gate's own proxy is left");
  });

  it("a real failure still throws: a server that answers 500 or 403 to a removal, with the server's reason", async () => {
    // A stand-in admin API that refuses every DELETE (what a broken or locked-down server would say).
    let status = 500;
    const refusing = http.createServer((req, res) => {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status === 500 ? "database on fire" : "forbidden");
    });
    await new Promise<void>((r) => refusing.listen(0, "127.0.0.1", r));
    const admin = new ToxiproxyAdmin(`http://127.0.0.1:${(refusing.address() as net.AddressInfo).port}`, 2000);
    try {
      await assert.rejects(admin.removeToxic("api", "slow"), (e: any) => e instanceof ToxiproxyAdminError && e.status === 500 && /database on fire/.test(e.message));
      await assert.rejects(admin.removeProxy("api"), (e: any) => e instanceof ToxiproxyAdminError && e.status === 500);
      status = 403;
      await assert.rejects(admin.removeToxic("api", "slow"), (e: any) => e instanceof ToxiproxyAdminError && e.status === 403);
      // The journal's undo handler too: only "the server is gone" counts as undone, not a refusal.
      await assert.rejects(async () => undoHandlerFor("toxiproxy-toxic")!({ url: admin.url, proxy: "api", name: "slow" }), (e: any) => e.status === 403);
    } finally {
      refusing.close();
    }
  });

  it("errors carry the server's reason, not just a status code", async () => {
    const spec = { name: "dup", type: "latency", stream: "downstream" as const, toxicity: 1, attributes: { latency: 1 } };
    await gate.admin.addToxic(gate.proxies.api.proxy, spec);
    try {
      await assert.rejects(gate.admin.addToxic(gate.proxies.api.proxy, spec), (e: any) => e.status === 409 && /add latency toxic 'dup' to proxy '.*-api': HTTP 409: toxic already exists/.test(e.message));
    } finally {
      await gate.admin.removeToxic(gate.proxies.api.proxy, "dup");
    }
  });

  it("the toxic-type probe says yes to latency, no to an unknown type, and leaves no probe proxy behind", async () => {
    assert.equal(await gate.admin.supportsToxicType("latency", { latency: 1 }), true);
    assert.equal(await gate.admin.supportsToxicType("no_such_toxic"), false);
    assert.deepEqual(await proxyNames(gate.server.url), [gate.proxies.api.proxy], "the probe's proxy is gone (read from the server)");
  });

  it("the toxic undo handler succeeds when the server is gone (its toxics went with it)", async () => {
    const port = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    await undoHandlerFor("toxiproxy-toxic")!({ url: `http://127.0.0.1:${port}`, proxy: "p", name: "t" });
  });
});
