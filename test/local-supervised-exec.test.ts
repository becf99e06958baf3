// `airlock sandbox exec` into a sandbox the shared supervisor owns goes through the supervisor's
// socket (issue 10 §2: the CLI loads and spawns nothing but a socket) and keeps what the direct path
// gave: the supervisor is the command's parent, the exit status (codes and signals) and the bytes of
// stdout/stderr come back unchanged, and the command dies when the calling `airlock` is killed.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { loadHandle } from "../components/local/handle";
import { runningSupervisor, waitSupervisorGone } from "../components/local/supervisor-client";
import { assertNoObjectsOf, recordEntries, skipBecause, waitFor } from "./helpers/local-sandbox";
import { describeResult, runCli, startCli } from "./helpers/local-cli";

const parentOf = (pid: number) => Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
const alive = (pid: number) => fs.existsSync(`/proc/${pid}`);

describe("airlock sandbox exec through the supervisor (root: namespaces, cgroups)", function () {
  this.timeout(120_000);
  let id: string;

  before(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, "needs root: it creates network namespaces, cgroups and nftables tables");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-supexec-"));
    const spec = path.join(dir, "supexec.yaml");
    fs.writeFileSync(spec, YAML.stringify({ name: "supexec", backend: "local", owner: "tests@airlock.dev", ttl: "10m", workload: { cpus: 1, memory: "128MiB", pids: 64, command: ["sleep", "300"] } }));
    const created = await runCli(["sandbox", "create", spec, "--json"]);
    assert.strictEqual(created.code, 0, describeResult(created));
    id = JSON.parse(created.stdout).id;
  });

  after(async function () {
    if (!id) return;
    const d = await runCli(["sandbox", "destroy", id, "--json"]);
    assert.strictEqual(d.code, 0, describeResult(d));
    await assertNoObjectsOf(id);
    assert.ok(await waitSupervisorGone(10_000), "the supervisor did not exit once it owned nothing");
  });

  it("the supervisor starts the command; exit codes, signal statuses and output bytes (a NUL included) come back unchanged", async () => {
    const sup = runningSupervisor()!;
    const ex = await runCli(["sandbox", "exec", id, "--", "sh", "-c", "printf 'x\\000y'; printf 'err' >&2; exit 3"]);
    assert.strictEqual(ex.code, 3, describeResult(ex));
    assert.strictEqual(ex.stderr, "err");
    assert.strictEqual(ex.stdout, "x\u0000y");
    const started = recordEntries(loadHandle(id)!.record).filter((e) => e.type === "exec-started");
    assert.ok(started.length >= 1, "exec not recorded");
    const sig = await runCli(["sandbox", "exec", id, "--", "sh", "-c", "kill -TERM $$"]);
    assert.strictEqual(sig.code, 143, describeResult(sig));
    // Who is the parent: a long command, looked at while it runs.
    const long = startCli(["sandbox", "exec", id, "--", "sleep", "60"]);
    try {
      const entry = await waitFor("the exec to start", () => recordEntries(loadHandle(id)!.record).filter((e) => e.type === "exec-started").find((e) => (e.data as any).command.join(" ") === "sleep 60"), 20_000);
      const pid = (entry.data as any).pid as number;
      assert.strictEqual(parentOf(pid), sup.process.pid, "the command's parent is not the supervisor");
      // SIGKILL the calling airlock: the command must not outlive it.
      long.child.kill("SIGKILL");
      await long.done;
      await waitFor("the command to die with its caller", () => !alive(pid) || undefined, 10_000);
      await waitFor("the exec's end recorded", () => recordEntries(loadHandle(id)!.record).find((e) => e.type === "exec-exited" && (e.data as any).command.join(" ") === "sleep 60"), 10_000);
    } finally {
      long.child.kill("SIGKILL");
    }
  });
});
