// Helpers for the local backend's tests: specs, sandboxes that are always destroyed, running a
// command inside a sandbox and capturing its output, and the host objects a sandbox left behind.
import * as assert from "assert";
import { PassThrough, Readable } from "stream";
import { parseSpec, SandboxSpec, SandboxSpecInput } from "../../components/spec";
import { HostSandbox, CreateOptions } from "../../components/local/sandbox";
import { execInSandbox } from "../../components/local/sandbox-exec";
import { objectsOfSandbox, snapshot } from "./kernel-view";
import type { ExitStatus } from "../../components/local/process-run";
import type { RecordEntry } from "../../components/record/chain-log";
import * as fs from "fs";

// One implementation for every test file (test/helpers/common.ts); kept importable from here.
export { skipBecause, waitFor } from "./common";

/** A valid local spec; `patch` overrides any field. */
export function localSpec(patch: Omit<Partial<SandboxSpecInput>, "workload"> & { workload?: Partial<SandboxSpecInput["workload"]> } = {}): SandboxSpec {
  const { workload, ...rest } = patch;
  return parseSpec({
    name: "t",
    backend: "local",
    owner: "tests@airlock.dev",
    ttl: "10m",
    ...rest,
    workload: { cpus: 1, memory: "256MiB", pids: 128, command: ["sleep", "600"], ...(workload ?? {}) },
  });
}

/** Sandboxes created by a test file; `destroyAll` in after() removes whatever a failing test left. */
export class SandboxPool {
  private readonly live = new Set<HostSandbox>();
  /** Every id this pool created, for the end-of-file check that nothing of them is left. */
  readonly ids: string[] = [];

  async create(spec: SandboxSpec, opts: CreateOptions = {}): Promise<HostSandbox> {
    const sb = await HostSandbox.create(spec, opts);
    this.live.add(sb);
    this.ids.push(sb.id);
    return sb;
  }

  async destroy(sb: HostSandbox, reason = "test done") {
    this.live.delete(sb);
    return sb.destroy(reason);
  }

  /** Destroys what is left and checks that no host object of any sandbox of this pool remains. */
  async destroyAll(): Promise<void> {
    for (const sb of [...this.live]) await this.destroy(sb, "test cleanup");
    const snap = snapshot();
    const left = this.ids.flatMap((id) => objectsOfSandbox(id, snap));
    assert.deepStrictEqual(left, [], "host objects left behind by this file's sandboxes (read from the kernel)");
  }
}

export interface Captured extends ExitStatus {
  stdout: string;
  stderr: string;
}

/** Runs a command inside a sandbox (same path as `airlock sandbox exec`) and captures its output. */
export async function execCapture(id: string, command: string[], stdin?: string): Promise<Captured> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (d) => (stdout += d));
  err.on("data", (d) => (stderr += d));
  const status = await execInSandbox(id, command, { stdout: out, stderr: err, stdin: stdin === undefined ? undefined : Readable.from([stdin]) });
  return { ...status, stdout, stderr };
}

/**
 * Host objects of this sandbox, read from the kernel (helpers/kernel-view.ts, not the sweeper's
 * scanner): netns, host veths by name/alias/peer, nft tables, cgroups, mounts, processes by cgroup,
 * namespace or name — as "kind name (how found)" lines.
 */
export async function objectsOf(id: string): Promise<string[]> {
  return objectsOfSandbox(id);
}

export async function assertNoObjectsOf(id: string): Promise<void> {
  assert.deepStrictEqual(await objectsOf(id), [], `host objects of ${id} left behind`);
}

/**
 * The record's complete entries. A live record may end in an entry still being appended (no newline
 * yet): that tail is not an entry yet and is left out; every complete line must parse.
 */
export function recordEntries(file: string): RecordEntry[] {
  const text = fs.readFileSync(file, "utf8");
  const complete = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1);
  return complete
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
