// A create that meets a per-host kernel cap fails at once with an error naming the cap and undoes
// itself (issue 10 §2). The cap tried here is root's inotify instances (fs.inotify.max_user_instances,
// 128 by default, shared with every root program): it is lowered to what root holds right now for the
// few hundred milliseconds of one create, then restored. The host is compared before and after with
// the kernel's own tools (ip netns, nft list tables, cgroup directories, processes), not with
// Airlock's sweeper.
import * as assert from "assert";
import * as fs from "fs";
import { execFileSync } from "child_process";
import { HostSandbox } from "../components/local/sandbox";
import { localSpec, skipBecause } from "./helpers/local-sandbox";

const INSTANCES = "/proc/sys/fs/inotify/max_user_instances";

/** inotify instances root holds now: anon_inode:inotify descriptors of uid-0 processes. */
function rootInotifyInstances(): number {
  let n = 0;
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.statSync(`/proc/${pid}`).uid !== 0) continue;
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === "anon_inode:inotify") n++;
        } catch {
          /* closed meanwhile */
        }
      }
    } catch {
      /* exited meanwhile */
    }
  }
  return n;
}

/** What the kernel shows of one sandbox id: namespaces, nft tables, cgroup dirs, processes. */
function kernelObjectsOf(id: string): string[] {
  const out: string[] = [];
  for (const ns of execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n")) if (ns.includes(id)) out.push(`netns ${ns}`);
  for (const t of execFileSync("nft", ["list", "tables"], { encoding: "utf8" }).split("\n")) if (t.includes(id)) out.push(`nft ${t}`);
  for (const root of ["/sys/fs/cgroup", ...fs.readdirSync("/sys/fs/cgroup").map((c) => `/sys/fs/cgroup/${c}`)]) {
    try {
      for (const d of fs.readdirSync(root)) if (d.includes(id)) out.push(`cgroup ${root}/${d}`);
    } catch {
      /* not a directory */
    }
  }
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmd.includes(id)) out.push(`process ${pid} ${cmd.slice(0, 80)}`);
    } catch {
      /* exited */
    }
  }
  for (const l of JSON.parse(execFileSync("ip", ["-j", "link", "show"], { encoding: "utf8" }))) if ((l.ifalias ?? "").includes(id)) out.push(`link ${l.ifname}`);
  return out;
}

describe("local sandbox: a create that meets a host cap fails fast, names it, and leaves nothing (needs root)", function () {
  before(function () {
    if (process.getuid?.() !== 0) skipBecause(this, "needs root (lowers fs.inotify.max_user_instances for one create)");
  });

  it("root's inotify instances exhausted: create fails within seconds naming fs.inotify.max_user_instances; 0 objects before and after; the sysctl is restored", async function () {
    const spec = localSpec({ name: "cap-inotify", canaries: { enabled: true } } as any);
    assert.deepStrictEqual(kernelObjectsOf("cap-inotify-"), [], "objects of this test's sandbox name exist before the test");
    const before = fs.readFileSync(INSTANCES, "utf8").trim();
    let err: any;
    let id = "";
    const t0 = Date.now();
    try {
      fs.writeFileSync(INSTANCES, String(rootInotifyInstances()));
      try {
        const sb = await HostSandbox.create(spec);
        id = sb.id;
        await sb.destroy("test: create was expected to fail");
      } catch (e) {
        err = e;
      }
    } finally {
      fs.writeFileSync(INSTANCES, before);
    }
    const ms = Date.now() - t0;
    assert.strictEqual(fs.readFileSync(INSTANCES, "utf8").trim(), before, "the sysctl was not restored");
    assert.ok(err, "create succeeded although root had no inotify instance left");
    assert.match(String(err.message), /fs\.inotify\.max_user_instances/, `the error does not name the cap: ${err.stack}`);
    assert.strictEqual(err.cap, "fs.inotify.max_user_instances", `no cap field on: ${err.stack}`);
    assert.ok(ms < 15_000, `create took ${ms} ms to fail (a hang, not a fast failure)`);
    // The id is the spec's name plus a suffix: look for every object carrying the name's prefix.
    const left = kernelObjectsOf(id || "cap-inotify-");
    assert.deepStrictEqual(left, [], `host objects left by the failed create:\n${left.join("\n")}`);
  });
});
