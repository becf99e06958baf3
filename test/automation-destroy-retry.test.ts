// A sandbox's stack is destroyed again when a destroy fails (automation/destroy-retry.ts), through
// the real engine: a stack locked by another update (a lock file in the file backend, as a cancelled
// `up` leaves it for a moment) makes the first `pulumi destroy` fail; the lock goes away during the
// pause, and the second attempt destroys and removes the stack. The positive control, with no retry,
// shows the same lock does fail a destroy. Then the order of the steps, with a stand-in stack: the
// stack is never removed while its resources may still exist, and the final error names every
// attempt and how to finish by hand.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { requirePulumi, engineEnv, pulumiCommand } from "../automation/engine";
import { DestroyableStack, DestroyFailed, destroyWithRetry } from "../automation/destroy-retry";

describe("automation: a failed destroy is tried again", function () {
  this.timeout(300_000);
  let workDir: string;
  let stateDir: string;
  const stacks: Stack[] = [];

  async function deployedStack(name: string): Promise<Stack> {
    const engine = requirePulumi();
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    // A resource the engine really creates and must destroy: the kept expiry (a dynamic provider).
    const program = async () => {
      const { SandboxExpiry } = await import("../components/expiry");
      const e = new SandboxExpiry("sandbox-expiry", { ttlMs: 3_600_000, proposed: new Date(Date.now() + 3_600_000) });
      return { expiresAt: e.expiresAt };
    };
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: name, projectName: "airlock-destroy-retry-test", program },
      { workDir, pulumiCommand: await pulumiCommand(engine), envVars: engineEnv(engine, { stateDir }) },
    );
    stacks.push(stack);
    await stack.up();
    return stack;
  }

  /** Makes the stack look busy to every other engine, as an update in progress does (the file backend's lock). */
  function lock(stack: Stack): string {
    const dir = path.join(stateDir, ".pulumi", "locks", "organization", "airlock-destroy-retry-test", stack.name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${crypto.randomUUID()}.json`);
    fs.writeFileSync(file, JSON.stringify({ pid: 1, username: "another-update", hostname: os.hostname(), timestamp: new Date().toISOString() }));
    return file;
  }

  const stackNames = async (s: Stack) => (await s.workspace.listStacks()).map((x) => x.name);

  before(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-destroy-retry-"));
    stateDir = path.join(workDir, "state");
  });

  after(async () => {
    for (const s of stacks) await s.destroy().catch(() => undefined);
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("positive control: a locked stack fails a destroy that is not retried, and keeps its stack", async () => {
    const stack = await deployedStack("control");
    const held = lock(stack);
    await assert.rejects(destroyWithRetry(stack, "control", { pausesMs: [], byHand: "(by hand)" }), (e: Error) => {
      assert.ok(e instanceof DestroyFailed, String(e));
      assert.match(e.message, /failed 1 time\(s\): attempt 1: destroy: .*lock/i);
      return true;
    });
    assert.ok((await stackNames(stack)).includes("control"), "the stack was removed although its destroy failed");
    fs.rmSync(held);
  });

  it("the lock goes away during the pause: the second attempt destroys the resources and removes the stack", async () => {
    const stack = await deployedStack("retried");
    const held = lock(stack);
    const said: string[] = [];
    const pauses: number[] = [];
    await destroyWithRetry(stack, "retried", {
      pausesMs: [1234],
      byHand: "(by hand)",
      onOutput: (s) => said.push(s),
      sleep: async (ms) => {
        pauses.push(ms);
        fs.rmSync(held); // the other update ends
      },
    });
    assert.deepStrictEqual(pauses, [1234]);
    assert.ok(said.some((s) => /destroy of stack 'retried' failed .*trying again in 1\.234 s/.test(s)), said.join(""));
    assert.ok(!(await stackNames(stack)).includes("retried"), "the stack is still listed");
  });

  describe("the order of the steps (a stand-in stack that fails as told)", () => {
    function standIn(destroyFailures: number, removeFailures: number) {
      const calls: string[] = [];
      const s: DestroyableStack = {
        destroy: async () => {
          calls.push("destroy");
          if (destroyFailures-- > 0) throw new Error("14 UNAVAILABLE: connection dropped\nstack trace");
        },
        workspace: {
          removeStack: async () => {
            calls.push("remove");
            if (removeFailures-- > 0) throw new Error("stack busy");
          },
        },
      };
      return { s, calls };
    }
    const noSleep = { sleep: async () => undefined };

    it("a removal that fails is tried again without destroying twice", async () => {
      const { s, calls } = standIn(0, 1);
      await destroyWithRetry(s, "x", { pausesMs: [1, 1], byHand: "(by hand)", ...noSleep });
      assert.deepStrictEqual(calls, ["destroy", "remove", "remove"]);
    });

    it("every attempt failing: the stack is never removed, and the error names each attempt and the way out", async () => {
      const { s, calls } = standIn(9, 0);
      await assert.rejects(destroyWithRetry(s, "sb-1", { pausesMs: [1, 1], byHand: "`airlock sweep --backend local`", ...noSleep }), (e: Error) => {
        assert.match(e.message, /^destroying stack 'sb-1' failed 3 time\(s\): attempt 1: destroy: 14 UNAVAILABLE: connection dropped; attempt 2: .*; attempt 3: .*\. Its sandbox may still exist: finish with `airlock sweep --backend local`$/);
        return true;
      });
      assert.deepStrictEqual(calls, ["destroy", "destroy", "destroy"]);
    });
  });
});
