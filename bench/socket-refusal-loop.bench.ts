// Refusal-loop benchmark (npm run bench -- socket-refusal-loop): what a workload that makes refused
// socket() calls in a tight loop costs the host *outside* its cgroup — the notify responder (one per
// confined start, forked before the command joins the sandbox: components/local/notify/) and the
// process that started the command (it reads the responder's lines, adds to the refusal tally and
// records the first 100: components/local/confine.ts, process-run.ts). Neither is charged to the
// sandbox's CPU quota, so this is the part of a refusal loop the sandbox's limits do not bound.
//
// One real sandbox (denied-egress threshold at its highest accepted value, so the rule does not end the
// loop), a command started exactly as `sandbox exec` starts one (startConfined + the workload's
// confinement), in interleaved rounds:
//   allowed   N AF_INET socket()+close() calls (no notification): what the same loop costs unrefused;
//   refused   N AF_VSOCK socket() calls, each refused by the responder (paced beyond its burst:
//             seccomp-notify.c's header);
//   idle      the same start sleeping for as long as the refused loop took: what a start costs the
//             host over that time with no refusal at all (this process is also the sandbox's owner, so
//             its guard's polls are in it) — the baseline the refused loop's host CPU is compared with.
// Per round: wall time, the workload's CPU (its own os.times), the responder's CPU (/proc/<pid>/stat,
// read while it is still alive) and this process's CPU (process.cpuUsage). Host share = (responder +
// starter CPU) / wall: the fraction of one host CPU spent outside the sandbox's quota.
// Writes bench/results/socket-refusal-loop.json. Needs root.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

process.env.AIRLOCK_STATE_DIR = process.env.AIRLOCK_STATE_DIR || fs.mkdtempSync(path.join(os.tmpdir(), "airlock-bench-state-"));
process.env.AIRLOCK_QUIET = "1";
process.stderr.write(`bench state: ${process.env.AIRLOCK_STATE_DIR} (after a kill: AIRLOCK_STATE_DIR=${process.env.AIRLOCK_STATE_DIR} npx airlock sweep)\n`);

import { parseSpec } from "../components/spec";
import { HostSandbox } from "../components/local/sandbox";
import { workloadConfinement } from "../components/local/views";
import { startConfined } from "../components/local/process-run";
import { openRecord } from "../components/local/record";
import { readRefusalTally, refusalTallyPath, TALLY_CAP_BYTES } from "../components/local/refusal-tally";
import { sweep } from "../components/local/sweep";
import { summarize } from "../chaos/measure/stats";
import { benchTeardown } from "./teardown";

const bench = benchTeardown("socket-refusal-loop");
bench.atLast("sweep", async () => {
  await sweep();
});

const ROUNDS = Math.max(3, Number(process.env.BENCH_ITERATIONS ?? 5));
const CALLS = Number(process.env.BENCH_REFUSALS ?? 5_000);
const CLK_TCK = 100; // USER_HZ on Linux (sysconf(_SC_CLK_TCK)); /proc/<pid>/stat's times are in it

/** The loop: CALLS socket() calls of one family (family 0: sleep argv[4] s instead); prints its own times, then waits for stdin to close. */
const LOOP = String.raw`
import ctypes, json, os, sys, time
l = ctypes.CDLL(None, use_errno=True)
fam, typ, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
t0, c0 = time.monotonic(), os.times()
refused = 0
if fam == 0: time.sleep(float(sys.argv[4])); n = 0
for _ in range(n):
    fd = l.socket(fam, typ, 0)
    if fd >= 0: os.close(fd)
    else: refused += 1
c1 = os.times()
print(json.dumps({"wall": time.monotonic() - t0, "cpu": (c1.user - c0.user) + (c1.system - c0.system), "refused": refused}), flush=True)
sys.stdin.read()
`;

interface Sample {
  wallS: number;
  workloadCpuS: number;
  responderCpuS: number;
  starterCpuS: number;
  refused: number;
}

function cpuOfPid(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

/** The responder of the start whose launcher is `pid` (its child, named airlock-notify). */
function responderOf(pid: number): number | undefined {
  for (const p of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      if (stat.includes("(airlock-notify)") && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) return Number(p);
    } catch {
      /* exited */
    }
  }
  return undefined;
}

async function once(sb: HostSandbox, family: number, type: number, sleepS = 0): Promise<Sample> {
  const record = openRecord(sb.record.file);
  const cpu0 = process.cpuUsage();
  const run = startConfined(workloadConfinement(sb.handle), ["python3", "-S", "-c", LOOP, String(family), String(type), String(CALLS), String(sleepS)], { record, source: "exec", stdin: "pipe" });
  let out = "";
  const result = await new Promise<{ wall: number; cpu: number; refused: number }>((resolve, reject) => {
    run.child.stdout!.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line));
    });
    run.exited.then((s) => reject(new Error(`the loop exited (${s.status}) before reporting: ${out}`)), reject);
  });
  // Looked up and read while the responder still lives (it dies with the command).
  const responder = responderOf(run.ref.pid);
  if (family === 40 && responder === undefined) throw new Error(`no airlock-notify child of the launcher (pid ${run.ref.pid})`);
  const responderCpuS = responder !== undefined ? cpuOfPid(responder) : 0;
  const used = process.cpuUsage(cpu0);
  run.child.stdin!.end();
  const status = await run.exited;
  if (status.code !== 0) throw new Error(`the loop exited with ${status.status}`);
  return { wallS: result.wall, workloadCpuS: result.cpu, responderCpuS, starterCpuS: (used.user + used.system) / 1e6, refused: result.refused };
}

async function main() {
  const spec = parseSpec({
    name: "refloop",
    backend: "local",
    owner: "bench@airlock.dev",
    ttl: "30m",
    workload: { cpus: 1, memory: "256MiB", pids: 64, command: ["sleep", "3600"] },
    // The highest threshold validation accepts: the loop runs to its end instead of being killed.
    killSwitch: { rules: [{ on: "canary" }, { on: "denied-egress", threshold: TALLY_CAP_BYTES }] },
  });
  if ((ROUNDS * CALLS) >= TALLY_CAP_BYTES) throw new Error(`BENCH_ITERATIONS x BENCH_REFUSALS must stay under ${TALLY_CAP_BYTES} (the kill threshold)`);
  await bench.using((b: HostSandbox) => `sandbox ${b.id}`, () => HostSandbox.create(spec), (b) => b.destroy("bench"), async (sb) => {
    type Case = "allowed" | "refused" | "idle";
    const samples: Record<Case, Sample[]> = { allowed: [], refused: [], idle: [] };
    for (let i = 0; i < ROUNDS; i++) {
      await bench.pause();
      samples.allowed.push(await once(sb, 2, 1)); // AF_INET stream
      await bench.pause();
      const refused = await once(sb, 40, 1); // AF_VSOCK stream
      samples.refused.push(refused);
      await bench.pause();
      samples.idle.push(await once(sb, 0, 0, refused.wallS));
    }
    if (sb.killedBy) throw new Error(`the sandbox was killed (${sb.killedBy.rule}) during the bench`);
    const med = (k: Case, f: (s: Sample) => number) => summarize(samples[k].map(f))!.p50;
    const per = (k: Case) => ({
      wallUs: (med(k, (s) => s.wallS) / CALLS) * 1e6,
      workloadCpuUs: (med(k, (s) => s.workloadCpuS) / CALLS) * 1e6,
      responderCpuUs: (med(k, (s) => s.responderCpuS) / CALLS) * 1e6,
      starterCpuUs: (med(k, (s) => s.starterCpuS) / CALLS) * 1e6,
      callsPerSecond: CALLS / med(k, (s) => s.wallS),
      hostShare: med(k, (s) => (s.responderCpuS + s.starterCpuS) / s.wallS),
    });
    const results = {
      rounds: ROUNDS,
      callsPerRound: CALLS,
      refusedPerRound: samples.refused.map((s) => s.refused),
      tallyAfter: readRefusalTally(refusalTallyPath(sb.id)),
      allowed: per("allowed"),
      refused: per("refused"),
      idle: { hostShare: per("idle").hostShare, starterCpuS: med("idle", (s) => s.starterCpuS), wallS: med("idle", (s) => s.wallS) },
      ratio: { wallPerCall: per("refused").wallUs / per("allowed").wallUs, hostShareOverIdle: per("refused").hostShare / per("idle").hostShare },
      refusalHostCpuPercent: (per("refused").hostShare - per("idle").hostShare) * 100,
      host: { cpus: os.cpus().length, load: os.loadavg() },
    };
    const f = (x: number) => x.toFixed(2);
    const row = (name: string, r: ReturnType<typeof per>) => `| ${name} | ${f(r.wallUs)} | ${Math.round(r.callsPerSecond)} | ${f(r.workloadCpuUs)} | ${f(r.responderCpuUs)} | ${f(r.starterCpuUs)} | ${f(r.hostShare * 100)}% |`;
    process.stdout.write(
      [
        "| loop of socket() calls | wall µs/call | calls/s | workload CPU µs/call | responder CPU µs/call | starter CPU µs/call | host CPU outside the cgroup (of one CPU) |",
        "|---|---|---|---|---|---|---|",
        row("allowed AF_INET", results.allowed),
        row("refused AF_VSOCK", results.refused),
        `| idle start, as long as the refused loop (baseline) | — | — | — | — | — | ${f(results.idle.hostShare * 100)}% |`,
        `(host CPU of the refusals over the idle baseline: ${f(results.refusalHostCpuPercent)} percentage points of one CPU (${f(results.ratio.hostShareOverIdle)}x idle); refused/allowed wall per call ${f(results.ratio.wallPerCall)}x; medians of ${ROUNDS} rounds of ${CALLS}, interleaved; tally after: ${results.tallyAfter}; host: ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")})`,
        "",
      ].join("\n"),
    );
    const outDir = path.join(__dirname, "results");
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, "socket-refusal-loop.json"), JSON.stringify(results, null, 2) + "\n");
  });
}

bench.main(main);
