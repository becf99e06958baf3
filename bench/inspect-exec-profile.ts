// Where one `exec` of `true` through the control server spends its time, part by part, against the
// bare namespace-enter floor (nsenter --net + bwrap --unshare-pid true) measured interleaved in the
// same run on the same sandbox. Run as root, by hand:
//   node bin/run-ts.js bench/inspect-exec-profile.ts [rounds]
// It creates one small sandbox in-process (ControlServer, as `airlock serve` does) and destroys it
// at the end (and on SIGINT/SIGTERM). Numbers are p50/p99 in ms and ratios to the floor's.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { ControlServer } from "../components/local/control/server";
import { runExec, waitForPidsHeadroom, execConfinement } from "../components/local/control/exec";
import { bwrapArgs, confinedCommand, spawnConfined } from "../components/local/confine";
import { findTool } from "../components/host/exec";
import { netnsPath } from "../components/local/netns";
import type { HostSandbox } from "../components/local/sandbox";

const ROUNDS = Number(process.argv[2] ?? 200);
const WARMUP = 20;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

function spawnWait(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0], argv.slice(1), { stdio: "ignore" });
    c.once("error", reject);
    c.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(" ")}: exit ${code}`))));
  });
}

function floorArgv(netns: string): string[] {
  const usr = ["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"];
  return [findTool("nsenter")!, `--net=${netnsPath(netns)}`, "--", findTool("bwrap")!, "--unshare-pid", ...usr, "--proc", "/proc", "--dev", "/dev", "/usr/bin/true"];
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-exec-profile-"));
  const spec = path.join(dir, "profile.yaml");
  fs.writeFileSync(spec, ["name: exec-prof", "backend: local", "owner: tests@airlock.dev", "ttl: 30m", "workload:", "  cpus: 0.5", "  memory: 128MiB", "  pids: 512", '  command: ["sleep", "infinity"]', ""].join("\n"));
  const server = new ControlServer();
  const cleanup = async () => {
    await server.destroyAll("profile done");
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => void cleanup().finally(() => process.exit(130)));
  try {
    const created = (await server.handle({ op: "create", id: 1, spec } as never)) as { sandbox: string };
    const sb = (server as unknown as { owned: Map<string, { sb: HostSandbox }> }).owned.get(created.sandbox)!.sb;
    const floor = floorArgv(sb.handle.netns);
    const conf = execConfinement(sb, "/work", {});
    // `true` through the confinement chain, its output drained, until it closes.
    const confinedTrue = (c: typeof conf, viaBashLauncher = false) => () =>
      new Promise<void>((resolve, reject) => {
        const child = spawnConfined(c, ["true"], { viaBashLauncher });
        child.stdout!.resume();
        child.stderr!.resume();
        child.once("error", reject);
        child.once("close", () => resolve());
      });
    const noSeccomp = { ...conf, seccompFile: undefined };
    const chainOnly = confinedTrue(conf);
    const chainNoNotify = confinedTrue(noSeccomp);
    // The same chain with the host /etc entries bound one by one, as for a sandbox of an older
    // Airlock (before its /etc became one prepared directory bound once).
    const chainPerFileEtc = confinedTrue({ ...conf, etcComplete: false });
    // ... and with the bash launcher and nsenter after the notify launcher (before it did their steps).
    const chainViaBash = confinedTrue(conf, true);
    // The chain cut back step by step (same bwrap options through a descriptor, as spawnConfined
    // passes them): bwrap alone running `true` as root, then with the uid drop (sh + setpriv), then
    // with the bash launcher (descriptor closing, rlimits, cgroup join).
    const full = confinedCommand(noSeccomp, ["true"], false);
    const fromNsenter = full.argv.slice(full.argv.indexOf(findTool("nsenter")!));
    const bwrapOnly = [...fromNsenter.slice(0, fromNsenter.indexOf("--", 3) + 1), "/usr/bin/true"];
    const spawnPiped = (argv: string[], ids: boolean, confinement: typeof conf = noSeccomp) =>
      new Promise<void>((resolve, reject) => {
        const c = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe", "ignore", "pipe", "pipe"], detached: true, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
        c.stdout!.resume();
        c.stderr!.resume();
        const fds = c.stdio as unknown as NodeJS.WritableStream[];
        fds[4].end(Buffer.from(bwrapArgs(confinement).map((a) => a + "\0").join("")));
        fds[5].end(ids ? full.ids : "");
        c.once("error", reject);
        c.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(" ")}: exit ${code}`))));
      });
    const parts: Record<string, () => Promise<unknown> | unknown> = {
      floor: () => spawnWait(floor),
      "spawn /usr/bin/true (this process's fork+exec)": () => spawnWait(["/usr/bin/true"]),
      "server exec (handle)": () => server.handle({ op: "exec", id: 2, sandbox: sb.id, cmd: ["true"] } as never),
      "runExec": () => runExec(sb, { op: "exec", id: 3, sandbox: sb.id, cmd: ["true"] } as never),
      "spawnConfined true (full chain)": chainOnly,
      "spawnConfined, no notify launcher/seccomp": chainNoNotify,
      "spawnConfined, per-file /etc binds (old)": chainPerFileEtc,
      "spawnConfined, via bash launcher+nsenter (old)": chainViaBash,
      "nsenter+bwrap (full options) true": () => spawnPiped(bwrapOnly, false),
      "nsenter+bwrap, per-file /etc binds (old)": () => spawnPiped(bwrapOnly, false, { ...noSeccomp, etcComplete: false }),
      "  + uid drop (sh, setpriv)": () => spawnPiped(fromNsenter, true),
      "  + bash launcher": () => spawnPiped(full.argv, true),
      "record append (fsync'd)": () => sb.record.append("profile-probe", { n: 1 }),
      "record append, fsync skipped (lock+tail+write)": () => {
        // (the module object itself: chain-log calls fs.fsyncSync through it)
        const mutableFs = require("fs") as { fsyncSync: unknown };
        const real = mutableFs.fsyncSync;
        mutableFs.fsyncSync = () => undefined;
        try {
          sb.record.append("profile-probe", { n: 2 });
        } finally {
          mutableFs.fsyncSync = real;
        }
      },
      "waitForPidsHeadroom": () => waitForPidsHeadroom(sb),
      "execConfinement": () => execConfinement(sb, "/work", {}),
    };
    const names = Object.keys(parts);
    const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      for (const n of names) {
        const t = await timed(parts[n]);
        if (i >= WARMUP) samples[n].push(t);
      }
    }
    const f50 = pct(samples.floor, 50);
    const f99 = pct(samples.floor, 99);
    const mem = process.memoryUsage();
    console.log(`this process: rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB`);
    console.log(`exec profile, ${ROUNDS} rounds interleaved; host load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} on ${os.cpus().length} cpus`);
    console.log(`${"part".padEnd(44)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"p50/floor".padStart(10)} ${"p99/floor".padStart(10)}`);
    for (const n of names) {
      const p50 = pct(samples[n], 50);
      const p99 = pct(samples[n], 99);
      console.log(`${n.padEnd(44)} ${p50.toFixed(2).padStart(8)} ${p99.toFixed(2).padStart(8)} ${(p50 / f50).toFixed(2).padStart(10)} ${(p99 / f99).toFixed(2).padStart(10)}`);
    }
  } finally {
    await cleanup();
  }
}

void main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
