// The Toxiproxy admin wrapper the chaos runner relies on for rollback: every call has a deadline and
// says what failed; removals are idempotent; the toxic-type probe answers honestly and cleans up.
import * as assert from "assert";
import * as net from "net";
import { ToxiproxyAdmin, ToxiproxyAdminError } from "../components/host/toxiproxy";
import { undoHandlerFor } from "../components/host/journal";
import { startGate, startUpstream, Gate, Upstream } from "./helpers/chaos-fixtures";

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
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      sockets.forEach((s) => s.destroy());
      hung.close();
    }
  });

  it("removing a toxic or proxy that is already gone is success (undo is idempotent)", async () => {
    await gate.admin.removeToxic(gate.proxies.api.proxy, "never-added");
    await gate.admin.removeToxic("no-such-proxy", "x");
    await gate.admin.removeProxy("no-such-proxy");
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
    assert.deepEqual(Object.keys(await gate.admin.listProxies()), [gate.proxies.api.proxy]);
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
