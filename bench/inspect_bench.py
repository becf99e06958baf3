"""Inspect AI provider benchmark (run by bench/inspect.bench.ts from the pinned venv, as root):

  1. exec round trip of `true` from Python through the provider (AirlockSandboxEnvironment.exec ->
     Unix socket -> airlock serve -> the workload's full confinement -> answer), p50/p99, against the
     bare namespace-enter floor measured in the same run on the same sandbox: `nsenter --net=<its
     netns> bwrap --unshare-pid <minimal view> true`, spawned directly from Python. The server's own
     time per exec (spawn to exit, as it reports) splits the overhead into confinement and transport.
  2. 50 samples x 100 commands through a real `inspect eval` (integrations/inspect/tests/tasks/
     many_execs.py): wall time, and its exec phase (first exec started -> last exec exited, from the
     records) against the same 5000 bare floor spawns run 50 at a time in this run.

Writes bench/results/inspect.json and prints a table.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRLOCK_STATE_DIR", tempfile.mkdtemp(prefix="airlock-bench-inspect-"))
os.environ.setdefault("AIRLOCK_CLI", f"{shutil.which('node')} {REPO / 'bin' / 'airlock.js'}")
os.environ.setdefault("AIRLOCK_QUIET", "1")

from inspect_airlock import AirlockSandboxEnvironment, provider  # noqa: E402

ROUND_TRIPS = int(os.environ.get("BENCH_ROUND_TRIPS", 300))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", 50))
COMMANDS = int(os.environ.get("BENCH_COMMANDS", 100))
SPEC = str(REPO / "integrations" / "inspect" / "tests" / "specs" / "many.yaml")


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def floor_argv(netns: str) -> list[str]:
    usr = ["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"]
    return [shutil.which("nsenter") or "nsenter", f"--net=/run/netns/{netns}", "--", shutil.which("bwrap") or "bwrap", "--unshare-pid", *usr, "--proc", "/proc", "--dev", "/dev", "/usr/bin/true"]


async def floor_once(argv: list[str]) -> float:
    t0 = time.perf_counter()
    r = await anyio.run_process(argv, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"floor command failed: {r.stderr.decode()}")
    return (time.perf_counter() - t0) * 1000


async def round_trips() -> dict[str, Any]:
    await AirlockSandboxEnvironment.task_init("bench", SPEC)
    envs = await AirlockSandboxEnvironment.sample_init("bench", SPEC, {"__sample_id__": "bench"})
    env = envs["default"]
    assert isinstance(env, AirlockSandboxEnvironment)
    netns = json.loads((Path(os.environ["AIRLOCK_STATE_DIR"]) / "sandboxes" / env.sandbox_id / "handle.json").read_text())["netns"]
    argv = floor_argv(netns)
    server = provider._STATE.server
    assert server is not None
    for _ in range(20):  # warm-up
        await env.exec(["true"])
        await floor_once(argv)
    ours: list[float] = []
    inside: list[float] = []
    floor: list[float] = []
    for _ in range(ROUND_TRIPS):  # interleaved, so that host noise hits both alike
        t0 = time.perf_counter()
        r = await env.exec(["true"])
        ours.append((time.perf_counter() - t0) * 1000)
        assert r.success, (r.returncode, r.stdout, r.stderr)
        floor.append(await floor_once(argv))
        raw = await server.request("exec", sandbox=env.sandbox_id, cmd=["true"])
        inside.append(float(raw["durationMs"]))
    await AirlockSandboxEnvironment.sample_cleanup("bench", SPEC, envs, False)
    await AirlockSandboxEnvironment.task_cleanup("shutdown", SPEC, True)
    return {
        "roundTrips": ROUND_TRIPS,
        "execTrueMs": {"p50": pct(ours, 50), "p99": pct(ours, 99)},
        "serverSpawnToExitMs": {"p50": pct(inside, 50), "p99": pct(inside, 99)},
        "floorMs": {"p50": pct(floor, 50), "p99": pct(floor, 99)},
        "ratio": {"p50": pct(ours, 50) / pct(floor, 50), "p99": pct(ours, 99) / pct(floor, 99)},
        "argvFloor": " ".join(argv),
        "netns": netns,
    }


async def floor_parallel(netns: str, total: int, concurrency: int) -> float:
    argv = floor_argv(netns)
    t0 = time.perf_counter()
    left = iter(range(total))

    async def worker() -> None:
        for _ in left:
            await floor_once(argv)

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return (time.perf_counter() - t0) * 1000


def ts(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp()


def many() -> dict[str, Any]:
    from inspect_ai.log import read_eval_log

    logs = tempfile.mkdtemp(prefix="airlock-bench-logs-")
    inspect = Path(sys.executable).parent / "inspect"
    t0 = time.perf_counter()
    run = subprocess.run(
        [str(inspect), "eval", "tasks/many_execs.py", "--model", "mockllm/model", "--max-samples", str(SAMPLES), "--max-sandboxes", str(SAMPLES), "--log-dir", logs, "--display", "none", "-T", f"samples={SAMPLES}", "-T", f"commands={COMMANDS}"],
        cwd=REPO / "integrations" / "inspect" / "tests",
        capture_output=True,
        text=True,
    )
    wall = (time.perf_counter() - t0) * 1000
    if run.returncode != 0:
        raise RuntimeError(run.stdout[-3000:] + run.stderr[-3000:])
    (log_file,) = Path(logs).glob("*.eval")
    log = read_eval_log(str(log_file))
    mismatches = sum(len(s.metadata.get("mismatches", [])) for s in log.samples)
    errors = sum(1 for s in log.samples if s.error)
    first_exec, last_exec, creates, ready = [], [], [], []
    for s in log.samples:
        entries = [json.loads(line) for line in Path(s.metadata["airlock"]["record"]).read_text().splitlines()]
        execs = [e for e in entries if e["type"] in ("exec-started", "exec-exited")]
        first_exec.append(ts(execs[0]))
        last_exec.append(ts(execs[-1]))
        creates.append(ts(entries[0]))
        ready.append(ts(next(e for e in entries if e["type"] == "sandbox-ready")))
    shutil.rmtree(logs, ignore_errors=True)
    return {
        "samples": SAMPLES,
        "commandsPerSample": COMMANDS,
        "wallMs": wall,
        "allSandboxesReadyMs": (max(ready) - min(creates)) * 1000,
        "execPhaseMs": (max(last_exec) - min(first_exec)) * 1000,
        "lostOrMixedUp": mismatches,
        "sampleErrors": errors,
    }


async def bare_floor_for_many() -> float:
    # A sandbox only for its namespace: the floor runs inside it, as the execs do.
    envs = await AirlockSandboxEnvironment.sample_init("bench", SPEC, {"__sample_id__": "floor"})
    env = envs["default"]
    assert isinstance(env, AirlockSandboxEnvironment)
    netns = json.loads((Path(os.environ["AIRLOCK_STATE_DIR"]) / "sandboxes" / env.sandbox_id / "handle.json").read_text())["netns"]
    try:
        return await floor_parallel(netns, SAMPLES * COMMANDS, SAMPLES)
    finally:
        await AirlockSandboxEnvironment.sample_cleanup("bench", SPEC, envs, False)
        await AirlockSandboxEnvironment.task_cleanup("shutdown", SPEC, True)


def main() -> None:
    results: dict[str, Any] = {"host": {"cpus": os.cpu_count(), "load": os.getloadavg()}}
    results["exec"] = anyio.run(round_trips)
    results["many"] = many()
    results["many"]["bareFloorSameCountMs"] = anyio.run(bare_floor_for_many)
    results["many"]["execPhaseRatio"] = results["many"]["execPhaseMs"] / results["many"]["bareFloorSameCountMs"]
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "inspect.json").write_text(json.dumps(results, indent=2))
    e, m = results["exec"], results["many"]
    print(f"exec `true` round trip from Python (n={e['roundTrips']}):  p50 {e['execTrueMs']['p50']:.1f} ms  p99 {e['execTrueMs']['p99']:.1f} ms  (target <= 30 ms)")
    print(f"  bare floor (nsenter + bwrap true, spawned from Python): p50 {e['floorMs']['p50']:.1f} ms  p99 {e['floorMs']['p99']:.1f} ms")
    print(f"  ratio to the floor: p50 {e['ratio']['p50']:.2f}x  p99 {e['ratio']['p99']:.2f}x;  the server's own spawn-to-exit: p50 {e['serverSpawnToExitMs']['p50']:.1f} ms")
    print(f"{m['samples']} samples x {m['commandsPerSample']} commands (inspect eval): wall {m['wallMs'] / 1000:.1f} s; all sandboxes ready after {m['allSandboxesReadyMs'] / 1000:.1f} s; exec phase {m['execPhaseMs'] / 1000:.1f} s")
    print(f"  the same {m['samples'] * m['commandsPerSample']} bare floor spawns, {m['samples']} at a time: {m['bareFloorSameCountMs'] / 1000:.1f} s  -> exec phase ratio {m['execPhaseRatio']:.2f}x;  lost or mixed-up results: {m['lostOrMixedUp']}, sample errors: {m['sampleErrors']}")
    print(f"host load average at start: {results['host']['load'][0]:.1f} on {results['host']['cpus']} cpus (see bench/results/inspect.json)")
    if m["lostOrMixedUp"] or m["sampleErrors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
