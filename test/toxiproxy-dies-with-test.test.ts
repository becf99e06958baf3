// The Toxiproxy server a test starts (chaos-fixtures' startGate) dies with the test process even when
// that is SIGKILLed and no after-hook runs (helpers/dies-with-test.ts). Real processes: a child Node
// process starts a real server and is SIGKILLed; the server's pid and its admin API are then read.
// Positive control: a server started without the tie, killed the same way, is still there.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawn } from "child_process";
import { ToxiproxyAdmin } from "../components/host/toxiproxy";
import { findTool } from "../components/host/exec";
import { skipBecause } from "./helpers/common";

const ROOT = path.join(__dirname, "..");

/** Alive and not a zombie (a killed process not yet reaped by its new parent is gone for our purpose). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z" && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("toxiproxy-server");
  } catch (e: any) {
    if (e.code === "ENOENT" || e.code === "ESRCH") return false;
    throw e;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    await new ToxiproxyAdmin(url, 500).version();
    return true;
  } catch {
    return false;
  }
}

/** Starts the child, waits for its server, SIGKILLs the child; returns the server's pid and url. */
async function killChildWithServer(mode: "tied" | "untied"): Promise<{ pid: number; url: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "run-ts.js"), path.join(__dirname, "helpers", "toxiproxy-child.ts"), mode], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      const m = /^SERVER .*$/m.exec(out);
      if (m) resolve(m[0]);
    });
    child.once("exit", (code) => reject(new Error(`toxiproxy-child (${mode}) exited ${code} before its server answered: ${err}`)));
  });
  const [, pid, url] = line.split(" ");
  // Both are up before the kill: the server answers, and its parent is the child itself.
  assert.ok(running(Number(pid)) && (await answers(url)), `the ${mode} server is not up: ${line}`);
  assert.strictEqual(Number(/^\S+ \(.*\) \S (\d+)/.exec(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))![1]), child.pid, "the server's parent is the child");
  child.kill("SIGKILL");
  await exited;
  return { pid: Number(pid), url };
}

async function goneWithin(pid: number, url: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!running(pid) && !(await answers(url))) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

function removeIfRunning(pid: number): void {
  if (running(pid)) process.kill(pid, "SIGKILL");
}

describe("a test's Toxiproxy server dies with the test process", function () {
  this.timeout(60_000);
  before(function () {
    if (!findTool("toxiproxy-server")) skipBecause(this, "toxiproxy-server is not installed (bin/setup-host.sh installs it)");
    if (!findTool("setpriv")) skipBecause(this, "setpriv (util-linux) is not installed");
  });

  it("a SIGKILLed test process takes its startGate server with it", async () => {
    const { pid, url } = await killChildWithServer("tied");
    try {
      assert.ok(await goneWithin(pid, url, 5_000), `toxiproxy-server ${pid} (${url}) outlived its SIGKILLed test process`);
    } finally {
      removeIfRunning(pid); // only when the tie failed: the run must not leave it behind on top
    }
  });

  it("positive control: a server started without the tie outlives the same kill", async () => {
    const { pid, url } = await killChildWithServer("untied");
    try {
      // As long as the tied one was given, and then some: it is still there and still answers.
      assert.strictEqual(await goneWithin(pid, url, 5_000), false, "the untied server died too: the test could not tell the tie from no tie");
      assert.ok(running(pid) && (await answers(url)));
    } finally {
      removeIfRunning(pid);
      assert.ok(await goneWithin(pid, url, 5_000), `could not remove the untied server ${pid}`);
    }
  });
});
