// `airlock serve` (the control protocol the Inspect AI provider uses), through a real serve process
// and its socket: many requests in flight on one connection answered by id, bad requests refused
// with the field named, the owner's departure (stdin EOF) destroying everything, and a SIGKILLed
// server's sandboxes recovered by the sweeper. The Inspect contract itself is tested from Python
// (integrations/inspect/tests).
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ChildProcess, spawn } from "child_process";
import { ControlClient, ControlRequestError } from "../components/local/control/client";
import { objectsOfSandbox } from "./helpers/kernel-view";
import { AIRLOCK, describeResult, ROOT, runCli } from "./helpers/local-cli";
import { waitFor } from "./helpers/common";

const dec = (b64: string) => Buffer.from(b64, "base64").toString();

/** Everything on the host (from the kernel and the host's tools) that names this sandbox id. */
function kernelObjectsOf(id: string): string[] {
  return objectsOfSandbox(id);
}

interface Serve {
  child: ChildProcess;
  socket: string;
  client: ControlClient;
  exited: Promise<number | null>;
}

/** A serve process owned by this test through its stdin (kept open until the test closes it). */
async function startServe(dir: string): Promise<Serve> {
  const socket = path.join(dir, `serve-${Math.random().toString(16).slice(2, 8)}.sock`);
  const child = spawn(process.execPath, [AIRLOCK, "serve", "--socket", socket], { cwd: ROOT, stdio: ["pipe", "ignore", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const client = await waitFor("airlock serve to listen", () => (fs.existsSync(socket) ? ControlClient.connect(socket).catch(() => undefined) : undefined), 30_000, 50);
  return { child, socket, client, exited };
}

async function expectError(p: Promise<unknown>, kind: string, mentions?: RegExp): Promise<ControlRequestError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ControlRequestError, `expected a protocol error, got ${e}`);
    assert.strictEqual(e.kind, kind, e.message);
    if (mentions) assert.match(e.message, mentions);
    return e;
  }
  assert.fail(`expected an error of kind ${kind}`);
}

describe("airlock serve: the control protocol", function () {
  this.timeout(120_000);
  let dir: string;
  let spec: string;
  let serve: Serve;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-serve-test-"));
    fs.chmodSync(dir, 0o700);
    spec = path.join(dir, "serve.yaml");
    // pids 256: 21 execs in flight are ~3 processes each (bwrap, its pid-namespace init, the command)
    // beside the workload's; at 64 a loaded host that is slow to reap them hit "fork: retry" (seen once).
    fs.writeFileSync(spec, YAML.stringify({ name: "serve-t", backend: "local", owner: "tests@airlock.dev", ttl: "10m", workload: { cpus: 1, memory: "128MiB", pids: 256, command: ["sleep", "600"] } }));
    serve = await startServe(dir);
  });

  after(async () => {
    serve?.child.stdin?.end();
    await serve?.exited;
    fs.rmSync(dir, { recursive: true, force: true });
    const r = await runCli(["sweep", "--json"]);
    assert.strictEqual(r.code, 0, describeResult(r));
  });

  it("is named airlock-serve on the host, so that leftover checks and sweeps can see it", () => {
    const argv0 = fs.readFileSync(`/proc/${serve.child.pid}/cmdline`, "utf8").split("\0")[0];
    assert.strictEqual(argv0, "airlock-serve");
  });

  it("answers many requests in flight on one connection by id, in completion order", async () => {
    const { sandbox } = await serve.client.request<{ sandbox: string }>({ op: "create", spec, recordMeta: { test: "serve" } });
    const order: string[] = [];
    // The slow command waits for a signal the test gives only after every fast answer is in (not
    // for a fixed second, which a loaded host can outlast): a server that held the fast requests
    // behind it would get the slow answer first, when the command gives up after 60 s.
    const slow = serve.client.request({ op: "exec", sandbox, cmd: ["sh", "-c", "i=0; while [ ! -e released ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; echo slow"] }).then((r) => {
      order.push("slow");
      return r;
    });
    const fast = Array.from({ length: 20 }, (_, i) =>
      serve.client.request({ op: "exec", sandbox, cmd: ["sh", "-c", `echo out-${i}; echo err-${i} >&2`] }).then((r) => {
        order.push(`fast-${i}`);
        return { i, r };
      }),
    );
    for (const { i, r } of await Promise.all(fast)) assert.deepStrictEqual([dec(r.stdout), dec(r.stderr), r.status], [`out-${i}\n`, `err-${i}\n`, 0]);
    order.push("released");
    const release = await serve.client.request<{ status: number }>({ op: "exec", sandbox, cmd: ["touch", "released"] });
    assert.strictEqual(release.status, 0);
    assert.strictEqual(dec((await slow).stdout), "slow\n");
    assert.strictEqual(order[order.length - 1], "slow", `the slow request held back the others: ${order}`);
    await serve.client.request({ op: "destroy", sandbox });
  });

  it("writes its sandboxes' records off its event loop: while another process holds a record's lock, requests are answered, and an exec's answer waits until its entries are on disk", async () => {
    const { sandbox, record } = await serve.client.request<{ sandbox: string; record: string }>({ op: "create", spec });
    await serve.client.request({ op: "exec", sandbox, cmd: ["true"] }); // the writer thread is up
    const HOLD_MS = 3000;
    const marker = path.join(dir, `inside-${sandbox}`);
    const holder = spawn(process.execPath, [path.join(ROOT, "bin", "run-ts.js"), path.join(ROOT, "test", "helpers", "record-writer.ts"), record, "stall", String(HOLD_MS), marker], { stdio: "ignore" });
    const holderExited = new Promise<number | null>((r) => holder.once("exit", (code) => r(code)));
    await waitFor("the other writer to be inside the record's lock", () => fs.existsSync(marker), 30_000);
    const t0 = Date.now();
    const exec = serve.client.request<{ status: number; stdout: string }>({ op: "exec", sandbox, cmd: ["echo", "after-the-lock"] }).then((r) => ({ r, ms: Date.now() - t0 }));
    // Answered while the record is locked: a server appending on its event loop would stand still
    // until the other writer let go (positive control: the exec's answer below does wait for it).
    const helloMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const h0 = Date.now();
      await serve.client.request({ op: "hello" });
      helloMs.push(Date.now() - h0);
    }
    const inLock = Date.now() - t0;
    const { r, ms } = await exec;
    assert.strictEqual(await holderExited, 0);
    assert.ok(inLock < HOLD_MS * 0.6, `hello took ${helloMs.join(", ")} ms while the record was locked: the event loop was blocked`);
    assert.strictEqual(dec(r.stdout), "after-the-lock\n");
    assert.ok(ms >= HOLD_MS * 0.6, `the exec was answered after ${ms} ms, before its record entries could be written (lock held ${HOLD_MS} ms)`);
    const lines = fs.readFileSync(record, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const exited = lines.filter((e) => e.type === "exec-exited" && e.data.command[0] === "echo");
    assert.strictEqual(exited.length, 1, "the exec was answered before its exec-exited entry was in the record");
    const slowAt = lines.findIndex((e) => e.type === "slow-writer");
    assert.ok(lines.findIndex((e) => e.type === "exec-started" && e.data.command[0] === "echo") > slowAt, "the exec's entries were written while another writer held the lock");
    await serve.client.request({ op: "destroy", sandbox });
    const verified = await runCli(["log", "verify", record]);
    assert.strictEqual(verified.code, 0, describeResult(verified));
  });

  it("refuses bad requests with the field named, before touching anything", async () => {
    // A raw connection, for lines the client would never send.
    const raw = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(serve.socket);
      s.once("connect", () => resolve(s));
      s.once("error", reject);
    });
    const lines: string[] = [];
    raw.on("data", (d) => lines.push(...d.toString().split("\n").filter(Boolean)));
    raw.write("this is not json\n{\"op\":\"hello\"}\n");
    await waitFor("two answers", () => lines.length >= 2, 5000);
    raw.destroy();
    for (const l of lines.slice(0, 2)) {
      const r = JSON.parse(l);
      assert.strictEqual(r.ok, false);
      assert.strictEqual(r.id, null);
      assert.strictEqual(r.error.kind, "bad-request");
    }
    await expectError(serve.client.request({ op: "nope" } as never), "bad-request", /unknown op 'nope'/);
    await expectError(serve.client.request({ op: "exec", sandbox: "x" } as never), "no-sandbox");
    const { sandbox } = await serve.client.request<{ sandbox: string }>({ op: "create", spec });
    await expectError(serve.client.request({ op: "exec", sandbox, cmd: "true" } as never), "bad-request", /cmd must be/);
    await expectError(serve.client.request({ op: "exec", sandbox, cmd: ["true"], env: { "A=B": "x" } }), "bad-request", /env: 'A=B'/);
    await expectError(serve.client.request({ op: "exec", sandbox, cmd: ["true"], timeoutMs: -1 }), "bad-request", /timeoutMs/);
    await expectError(serve.client.request({ op: "exec", sandbox, cmd: ["true"], user: "root" }), "unsupported-user", /workload user/);
    await serve.client.request({ op: "destroy", sandbox });
    await expectError(serve.client.request({ op: "exec", sandbox, cmd: ["true"] }), "no-sandbox", /destroyed/);
  });

  it("validates a spec the way airlock check does: every problem, with its fix", async () => {
    const bad = path.join(dir, "bad.yaml");
    fs.writeFileSync(bad, YAML.stringify({ name: "Bad Name", backend: "local", owner: "tests@airlock.dev", ttl: "1s", workload: { command: ["true"] } }));
    const e = await expectError(serve.client.request({ op: "validate", spec: bad }), "spec", /2 problem\(s\)/);
    assert.strictEqual(e.body.issues?.length, 2);
    assert.ok(e.body.issues!.every((i) => / — fix: /.test(i)), String(e.body.issues));
  });

  it("destroys everything it owns and exits when its owner goes away (stdin closes)", async () => {
    const other = await startServe(dir);
    const { sandbox } = await other.client.request<{ sandbox: string }>({ op: "create", spec });
    assert.ok(kernelObjectsOf(sandbox).length > 0);
    other.child.stdin!.end();
    assert.strictEqual(await other.exited, 0);
    assert.deepStrictEqual(kernelObjectsOf(sandbox), []);
  });

  it("after a SIGKILL its workloads are gone with it, and airlock sweep removes the rest", async () => {
    const other = await startServe(dir);
    const { sandbox } = await other.client.request<{ sandbox: string }>({ op: "create", spec });
    other.child.kill("SIGKILL");
    await other.exited;
    const left = kernelObjectsOf(sandbox);
    assert.ok(left.some((o) => o.includes(`airlock-${sandbox}`)), `expected the orphaned namespace after SIGKILL: ${left}`);
    await waitFor("the orphan's processes to die with their owner", () => !kernelObjectsOf(sandbox).some((o) => /airlock-anchor-/.test(o)), 10_000);
    const r = await runCli(["sweep", "--json"]);
    assert.strictEqual(r.code, 0, describeResult(r));
    assert.deepStrictEqual(kernelObjectsOf(sandbox), []);
  });
});
