"""Inspect's SandboxEnvironment contract (inspect-ai 0.3.285, environment.py), method by method and
error by error, against real Airlock sandboxes created through the provider's own sample_init."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import select
import signal
import subprocess
import termios
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from inspect_ai.util import OutputLimitExceededError, SandboxEnvironment, SandboxUnavailableError, SandboxUserUnsupportedError
from inspect_ai.util._sandbox.limits import override_max_exec_output_size, override_max_read_file_size
from inspect_ai.util._sandbox.registry import registry_find_sandboxenv

from inspect_airlock import AirlockHostError, AirlockSandboxEnvironment, AirlockSpecError, SandboxKilledError
from inspect_airlock import provider

from hostcheck import sandbox_objects

pytestmark = pytest.mark.anyio

SPECS = Path(__file__).parent / "specs"
CONTRACT = str(SPECS / "contract.yaml")


def record_entries(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def handle_of(state_dir: Path, sandbox: str) -> dict[str, Any]:
    return json.loads((state_dir / "sandboxes" / sandbox / "handle.json").read_text())


def cgroup_pids(handle: dict[str, Any]) -> list[str]:
    """The processes in the sandbox's cgroup, read from the kernel."""
    cg = handle["cgroup"]
    procs = Path(cg["root"], cg["rel"], "cgroup.procs") if cg["mode"] == "v2" else Path(cg["root"], "pids", cg["rel"], "cgroup.procs")
    return procs.read_text().split()


def cgroup_cmdlines(handle: dict[str, Any]) -> list[str]:
    """Command lines of the processes in the sandbox's cgroup, read from the kernel."""
    out = []
    for pid in cgroup_pids(handle):
        try:
            out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip())
        except OSError:
            pass
    return out


@pytest.fixture(scope="module")
async def sandbox() -> Any:
    await AirlockSandboxEnvironment.task_init("contract", CONTRACT)
    envs = await AirlockSandboxEnvironment.sample_init("contract", CONTRACT, {"__sample_id__": "contract-1"})
    env = envs["default"]
    yield env
    await AirlockSandboxEnvironment.sample_cleanup("contract", CONTRACT, envs, False)


# -- registration and task_init -------------------------------------------------------------------


def test_the_entry_point_registers_the_airlock_type() -> None:
    assert registry_find_sandboxenv("airlock") is AirlockSandboxEnvironment


async def test_task_init_reports_every_spec_problem_as_airlock_does() -> None:
    with pytest.raises(AirlockSpecError) as e:
        await AirlockSandboxEnvironment.task_init("bad", str(SPECS / "bad.yaml"))
    text = str(e.value)
    assert "3 problem(s); nothing was created or changed" in text, text
    assert len(e.value.issues) == 3
    for field in ("name:", "ttl:", "egres:"):
        assert any(i.startswith(field) and "fix:" in i for i in e.value.issues), (field, e.value.issues)


async def test_task_init_refuses_a_spec_for_another_backend_and_a_missing_file() -> None:
    with pytest.raises(AirlockSpecError, match="backend 'aws'") as e:
        await AirlockSandboxEnvironment.task_init("aws", str(SPECS / "aws.yaml"))
    assert "backend: local" in str(e.value)
    with pytest.raises(AirlockSpecError):
        await AirlockSandboxEnvironment.task_init("missing", str(SPECS / "no-such-spec.yaml"))


async def test_task_init_needs_root_and_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(AirlockHostError, match="need root") as e:
        await AirlockSandboxEnvironment.task_init("contract", CONTRACT)
    assert "sudo" in str(e.value)


async def test_a_relative_spec_path_is_resolved_in_the_task_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SPECS)
    await AirlockSandboxEnvironment.task_init("relative", "contract.yaml")
    monkeypatch.chdir("/")  # sample_init runs wherever Inspect happens to be
    assert provider._resolve_spec("contract.yaml") == CONTRACT


# -- sample_init and the record ------------------------------------------------------------------


async def test_sample_init_names_the_eval_in_the_record(sandbox: AirlockSandboxEnvironment) -> None:
    first = record_entries(sandbox.record)[0]
    assert first["type"] == "sandbox-creating"
    assert first["data"]["id"] == sandbox.sandbox_id
    assert first["data"]["meta"]["inspect"]["task"] == "contract"
    assert first["data"]["meta"]["inspect"]["sampleId"] == "contract-1"


# -- exec ------------------------------------------------------------------------------------------


async def test_exec_runs_as_the_workload_user_in_the_working_directory(sandbox: AirlockSandboxEnvironment) -> None:
    r = await sandbox.exec(["sh", "-c", "id -un; id -u; pwd"])
    assert r.success and r.returncode == 0
    name, uid, cwd = r.stdout.split()
    assert name == sandbox.user["name"] and int(uid) == sandbox.user["uid"] and int(uid) != 0
    assert cwd == "/work"


async def test_exec_env_is_set_verbatim_through_the_exec_api(sandbox: AirlockSandboxEnvironment) -> None:
    tricky = "a b\n$(echo injected) `id` 'q' \"dq\" ; | &"
    r = await sandbox.exec(["printenv", "TRICKY"], env={"TRICKY": tricky})
    assert r.stdout == tricky + "\n"


async def test_exec_resolves_cmd0_through_the_sandbox_path_with_env_applied_first(sandbox: AirlockSandboxEnvironment) -> None:
    await sandbox.write_file("bin/mytool", "#!/bin/sh\necho mytool ran from $0\n")
    assert (await sandbox.exec(["chmod", "+x", "bin/mytool"])).success
    missing = await sandbox.exec(["mytool"])
    assert missing.returncode == 127 and not missing.success  # not on the default PATH: a result, not an exception
    r = await sandbox.exec(["mytool"], env={"PATH": "/work/bin:/usr/bin:/bin"})
    assert r.stdout.strip() == "mytool ran from /work/bin/mytool"


async def test_exec_stdin_text_bytes_and_large(sandbox: AirlockSandboxEnvironment) -> None:
    assert (await sandbox.exec(["cat"], input="héllo\r\nworld")).stdout == "héllo\r\nworld"
    data = os.urandom(8 * 1024 * 1024)
    r = await sandbox.exec(["sha256sum"], input=data)
    assert r.stdout.split()[0] == hashlib.sha256(data).hexdigest()


async def test_exec_relative_and_absolute_cwd(sandbox: AirlockSandboxEnvironment) -> None:
    await sandbox.write_file("deep/er/marker", "x")
    assert (await sandbox.exec(["pwd"], cwd="deep/er")).stdout.strip() == "/work/deep/er"
    assert (await sandbox.exec(["pwd"], cwd="/tmp")).stdout.strip() == "/tmp"
    assert not (await sandbox.exec(["pwd"], cwd="no/such/dir")).success


async def test_exec_timeout_kills_the_whole_process_tree(sandbox: AirlockSandboxEnvironment, state_dir: Path) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError) as e:
        await sandbox.exec(["sh", "-c", "echo before; (sleep 61 &); sleep 62 & sleep 63"], timeout=1)
    assert time.monotonic() - started < 10
    assert "before" in getattr(e.value, "truncated_output", "")
    # Nothing the command started is left in the sandbox's cgroup (the kernel's list), daemonised
    # children included.
    left = [c for c in cgroup_cmdlines(handle_of(state_dir, sandbox.sandbox_id)) if any(f"sleep {n}" in c for n in (61, 62, 63))]
    assert left == []
    # ... and the sandbox still works.
    assert (await sandbox.exec(["true"])).success


async def test_exec_permission_error_for_a_command_it_may_not_run(sandbox: AirlockSandboxEnvironment) -> None:
    await sandbox.write_file("not-executable.sh", "#!/bin/sh\necho no\n")
    with pytest.raises(PermissionError):
        await sandbox.exec(["./not-executable.sh"])


async def test_exec_refuses_users_the_sandbox_does_not_have(sandbox: AirlockSandboxEnvironment) -> None:
    for user in ("root", "nobody", "0"):
        with pytest.raises(SandboxUserUnsupportedError):
            await sandbox.exec(["true"], user=user)
    assert (await sandbox.exec(["id", "-u"], user=sandbox.user["name"])).success
    assert (await sandbox.exec(["id", "-u"], user=str(sandbox.user["uid"]))).stdout.strip() == str(sandbox.user["uid"])


async def test_exec_output_over_the_limit_raises_with_the_tail(sandbox: AirlockSandboxEnvironment) -> None:
    with override_max_exec_output_size(1024):
        with pytest.raises(OutputLimitExceededError) as e:
            await sandbox.exec(["sh", "-c", "seq 1 5000; echo THE-END"])
    assert e.value.truncated_output is not None and e.value.truncated_output.endswith("THE-END\n")
    assert len(e.value.truncated_output) <= 1024


async def test_exec_output_that_is_not_utf8_is_replaced_not_raised(sandbox: AirlockSandboxEnvironment) -> None:
    r = await sandbox.exec(["printf", "ok\\377\\376"])
    assert r.stdout.startswith("ok") and "\ufffd" in r.stdout


# -- files -----------------------------------------------------------------------------------------


async def test_files_round_trip_text_and_binary_with_parents_created(sandbox: AirlockSandboxEnvironment) -> None:
    await sandbox.write_file("a/b/c/text.txt", "line one\r\nline two\n")
    assert await sandbox.read_file("a/b/c/text.txt") == "line one\r\nline two\n"  # CRLF preserved
    assert (await sandbox.exec(["cat", "/work/a/b/c/text.txt"])).stdout == "line one\r\nline two\n"  # relative = under /work
    blob = bytes(range(256)) * 1000
    await sandbox.write_file("/tmp/blob.bin", blob)
    assert await sandbox.read_file("/tmp/blob.bin", text=False) == blob
    owner = await sandbox.exec(["stat", "-c", "%u %a", "/tmp/blob.bin"])
    assert owner.stdout.split()[0] == str(sandbox.user["uid"])  # written as the workload user, not root


async def test_file_errors_are_the_documented_ones(sandbox: AirlockSandboxEnvironment) -> None:
    with pytest.raises(FileNotFoundError):
        await sandbox.read_file("does/not/exist")
    with pytest.raises(IsADirectoryError):
        await sandbox.read_file("/work")
    await sandbox.write_file("dir-here/x", "x")
    with pytest.raises(IsADirectoryError):
        await sandbox.write_file("dir-here", "x")
    assert (await sandbox.exec(["sh", "-c", "echo secret > locked; chmod 000 locked"])).success
    with pytest.raises(PermissionError):
        await sandbox.read_file("locked")
    for read_only in ("/usr/airlock-test", "/etc/passwd", "/new-top-level-file"):
        with pytest.raises(PermissionError):
            await sandbox.write_file(read_only, "x")
    await sandbox.write_file("bad.txt", b"\xff\xfe not utf-8")
    with pytest.raises(UnicodeDecodeError):
        await sandbox.read_file("bad.txt")
    await sandbox.write_file("eleven.txt", "0123456789\n")
    with override_max_read_file_size(10):
        with pytest.raises(OutputLimitExceededError):
            await sandbox.read_file("eleven.txt")


async def test_file_copies_do_not_widen_the_view(sandbox: AirlockSandboxEnvironment, state_dir: Path) -> None:
    before = (await sandbox.exec(["cat", "/proc/self/mountinfo"])).stdout
    await sandbox.write_file("view/check.txt", "x" * 100_000)
    assert await sandbox.read_file("view/check.txt") == "x" * 100_000
    after = (await sandbox.exec(["cat", "/proc/self/mountinfo"])).stdout
    mounts = lambda text: sorted(line.split()[4] for line in text.splitlines())  # noqa: E731
    assert mounts(before) == mounts(after)
    assert str(state_dir) not in after and "airlock" not in after.lower()
    kinds = [e["type"] for e in record_entries(sandbox.record)]
    assert "file-written" in kinds and "file-read" in kinds


def _read_until(fd: int, pattern: "re.Pattern[bytes]", deadline: float, seen: bytearray) -> "re.Match[bytes] | None":
    while time.monotonic() < deadline:
        m = pattern.search(seen)
        if m:
            return m
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: every holder of the pty's other end is gone
                return pattern.search(seen)
            if not chunk:
                return pattern.search(seen)
            seen += chunk
    return pattern.search(seen)


def _holders_of(path: str, pids: list[str]) -> list[str]:
    """Processes (of `pids`) holding a descriptor of the file `path` names — the same device and
    inode, read through /proc (names alone mislead: every devpts instance has a /dev/pts/0)."""
    st = os.stat(path)
    out = []
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                o = os.stat(f"/proc/{pid}/fd/{fd}")
                if (o.st_dev, o.st_ino) == (st.st_dev, st.st_ino):
                    out.append(pid)
                    break
        except OSError:
            pass
    return out


def _shell_pid(pids: list[str]) -> str:
    return next(p for p in pids if Path(f"/proc/{p}/cmdline").read_bytes().startswith(b"/bin/bash\0-i"))


async def test_connection_opens_a_shell_inside_the_sandbox_on_a_pty_of_its_own(sandbox: AirlockSandboxEnvironment, state_dir: Path) -> None:
    conn = await sandbox.connection()
    assert conn.type == "airlock" and conn.container == sandbox.sandbox_id
    assert f"sandbox exec --interactive {sandbox.sandbox_id}" in conn.command
    handle = handle_of(state_dir, sandbox.sandbox_id)
    netns_inode = os.stat(f"/run/netns/{handle['netns']}").st_ino
    # The researcher's terminal: a pty of the host, driven by this test.
    master, slave = os.openpty()
    host_tty = os.ttyname(slave)
    proc = subprocess.Popen(conn.command, shell=True, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    seen = bytearray()
    try:
        os.write(master, b'echo "M1:$$:$(id -u):$(readlink /proc/self/ns/net):$(tty):$(pwd)"\r')
        m = await anyio.to_thread.run_sync(_read_until, master, re.compile(rb"M1:(\d+):(\d+):net:\[(\d+)\]:(\S+):(\S+)"), time.monotonic() + 60, seen)
        assert m, seen.decode(errors="replace")
        pid, uid, netns, tty, cwd = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4).decode(), m.group(5).decode()
        assert netns == netns_inode  # the sandbox's network namespace
        assert uid == sandbox.user["uid"] and uid != 0
        assert int(pid) < 10  # its own pid namespace (the host's pids are in the hundreds and up)
        assert tty.startswith("/dev/pts/") and cwd == "/work"
        # No process of the sandbox holds the host's terminal: it cannot push input into it.
        in_sandbox = cgroup_pids(handle)
        assert in_sandbox and _holders_of(host_tty, in_sandbox) == []
        # ... while the shell's own terminal is a pty of the sandbox's devpts (another device).
        assert _holders_of(f"/proc/{_shell_pid(in_sandbox)}/fd/0", in_sandbox) != []
        os.write(master, b"exit 7\r")
        with anyio.fail_after(30):
            while proc.poll() is None:
                await anyio.sleep(0.05)
        assert proc.returncode == 7, seen.decode(errors="replace")
        lflag = termios.tcgetattr(slave)[3]  # the researcher's terminal is back in its normal mode
        assert lflag & termios.ECHO and lflag & termios.ICANON
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        os.close(slave)
    started = [e for e in record_entries(sandbox.record) if e["type"] == "exec-started" and "/bin/bash" in e["data"]["command"]]
    assert started, "the interactive session is in the record"


async def test_connection_refuses_other_users_and_a_dead_sandbox(sandbox: AirlockSandboxEnvironment) -> None:
    with pytest.raises(SandboxUserUnsupportedError):
        await sandbox.connection(user="root")
    assert (await sandbox.connection(user=sandbox.user["name"])).command
    envs = await AirlockSandboxEnvironment.sample_init("contract", CONTRACT, {"__sample_id__": "conn-dead"})
    await AirlockSandboxEnvironment.sample_cleanup("contract", CONTRACT, envs, False)
    with pytest.raises(ConnectionError):
        await envs["default"].connection()


# -- concurrency on one sandbox ----------------------------------------------------------------------


async def test_concurrent_execs_on_one_sandbox_keep_their_results_apart(sandbox: AirlockSandboxEnvironment) -> None:
    results: dict[int, Any] = {}

    async def one(i: int) -> None:
        results[i] = await sandbox.exec(["sh", "-c", f"cat; echo {i}; echo e{i} >&2"], input=f"in{i}\n")

    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(one, i)
    for i, r in results.items():
        assert (r.stdout, r.stderr) == (f"in{i}\n{i}\n", f"e{i}\n")


async def test_a_burst_of_execs_does_not_trip_the_pids_limit() -> None:
    """Dead tasks stay charged to the pids cgroup until the kernel frees them: 200 quick `true`s in a
    pids.max 64 sandbox must neither fail to fork nor fire the pids-limit kill rule."""
    spec = str(SPECS / "many.yaml")
    envs = await AirlockSandboxEnvironment.sample_init("burst", spec, {"__sample_id__": "burst"})
    env = envs["default"]
    failures = [r for r in [await env.exec(["true"]) for _ in range(200)] if not r.success]
    assert failures == [], failures[:3]
    await AirlockSandboxEnvironment.sample_cleanup("burst", spec, envs, False)  # raises if a kill rule fired
    assert not any(e["type"] in ("limit-hit", "kill") for e in record_entries(env.record))


def _max_overlap(results: list[Any]) -> int:
    spans = [tuple(int(x) for x in r.stdout.split()) for r in results]
    return max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)


async def test_exec_concurrency_throttles_commands_unless_asked_not_to(sandbox: AirlockSandboxEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provider, "EXEC_CONCURRENCY", 2)
    script = ["sh", "-c", "s=$(date +%s%N); sleep 2; echo $s $(date +%s%N)"]

    async def six(concurrency: bool) -> list[Any]:
        out: list[Any] = []

        async def one() -> None:
            out.append(await sandbox.exec(script, concurrency=concurrency))

        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(one)
        return out

    assert _max_overlap(await six(True)) == 2  # Inspect's throttle for locally run sandboxes
    assert _max_overlap(await six(False)) == 6


class _Stopped:
    """The Airlock control process frozen (SIGSTOP) for a while: a hung machinery, for real."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> "_Stopped":
        os.kill(self.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc: object) -> None:
        os.kill(self.pid, signal.SIGCONT)


async def test_exec_gives_up_on_a_stuck_control_process_and_retries_with_timeout_retry(sandbox: AirlockSandboxEnvironment, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(provider, "EXEC_ANSWER_GRACE_S", 3.0)
    server = provider._STATE.server
    assert server is not None
    # Without retries: a TimeoutError once the deadline and the grace are over, not a hang.
    started = time.monotonic()
    with _Stopped(server.proc.pid):
        with pytest.raises(TimeoutError, match="did not answer"):
            await sandbox.exec(["echo", "never"], timeout=1, timeout_retry=False)
    assert 3.5 < time.monotonic() - started < 20
    # With retries: the first attempt is given up, the server comes back, the retry answers.
    caplog.set_level(logging.INFO, logger="inspect_airlock.provider")
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        async with anyio.create_task_group() as tg:

            async def resume() -> None:
                await anyio.sleep(5)
                os.kill(server.proc.pid, signal.SIGCONT)

            tg.start_soon(resume)
            r = await sandbox.exec(["echo", "answered"], timeout=1)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    assert r.success and r.stdout == "answered\n"
    assert any("retrying (1 of 2)" in m for m in caplog.messages), caplog.messages


async def test_a_cancelled_exec_does_not_leave_its_command_running(sandbox: AirlockSandboxEnvironment, state_dir: Path) -> None:
    with anyio.move_on_after(3):  # Inspect cancels a sample (time limit, Ctrl-C) mid-command
        await sandbox.exec(["sh", "-c", "sleep 171 & sleep 172"])
    handle = handle_of(state_dir, sandbox.sandbox_id)

    def exited() -> list[dict[str, Any]]:
        return [e for e in record_entries(sandbox.record) if e["type"] == "exec-exited" and e["data"]["command"][-1] == "sleep 171 & sleep 172"]

    with anyio.fail_after(15):  # killed by Airlock when the request's connection closed, not at 172 s
        while any("sleep 17" in c for c in cgroup_cmdlines(handle)) or not exited():
            await anyio.sleep(0.1)
    assert exited()[-1]["data"].get("aborted") is True


async def test_exec_remote_is_refused_and_says_why(sandbox: AirlockSandboxEnvironment) -> None:
    with pytest.raises(NotImplementedError, match="pid namespace"):
        await sandbox.exec_remote(["sleep", "100"])


# -- cleanup, kills --------------------------------------------------------------------------------


async def test_sample_cleanup_destroys_everything_and_seals_the_record(state_dir: Path) -> None:
    envs = await AirlockSandboxEnvironment.sample_init("contract", CONTRACT, {"__sample_id__": "cleanup"})
    env = envs["default"]
    assert sandbox_objects(env.sandbox_id) != []
    await AirlockSandboxEnvironment.sample_cleanup("contract", CONTRACT, envs, False)
    assert sandbox_objects(env.sandbox_id) == []
    head = Path(env.record + ".head").read_text().strip()
    assert env.destroyed is not None and env.destroyed["head"] == head
    assert record_entries(env.record)[-1]["type"] == "sealed"
    with pytest.raises(SandboxUnavailableError):
        await env.exec(["true"])


async def test_a_canary_read_kills_the_sandbox_and_raises(state_dir: Path) -> None:
    envs = await AirlockSandboxEnvironment.sample_init("contract", CONTRACT, {"__sample_id__": "canary"})
    env = envs["default"]
    with pytest.raises(SandboxKilledError) as e:
        await env.read_file(f"{env.user['home']}/.ssh/id_ed25519")
    assert e.value.rule == "canary" and e.value.head
    with pytest.raises(SandboxKilledError):
        await env.exec(["true"])
    await AirlockSandboxEnvironment.sample_cleanup("contract", CONTRACT, envs, False)  # reported already: no second error
    assert sandbox_objects(env.sandbox_id) == []
    assert any(x["type"] == "kill" and x["data"]["rule"] == "canary" for x in record_entries(env.record))


async def test_a_canary_read_inside_a_long_command_ends_it_at_once() -> None:
    envs = await AirlockSandboxEnvironment.sample_init("contract", CONTRACT, {"__sample_id__": "canary-long"})
    env = envs["default"]
    started = time.monotonic()
    with pytest.raises(SandboxKilledError) as e:
        await env.exec(["sh", "-c", "cat ~/.ssh/id_ed25519 >/dev/null; sleep 120"])
    assert time.monotonic() - started < 15  # not the sleep's 120 s: the kill ended the command
    assert e.value.rule == "canary" and e.value.head
    await AirlockSandboxEnvironment.sample_cleanup("contract", CONTRACT, envs, False)
    assert sandbox_objects(env.sandbox_id) == []


async def test_denied_egress_inside_a_long_command_ends_it_at_the_guards_next_poll() -> None:
    spec = str(SPECS / "egress-kill.yaml")
    await AirlockSandboxEnvironment.task_init("egress", spec)
    envs = await AirlockSandboxEnvironment.sample_init("egress", spec, {"__sample_id__": "egress-long"})
    env = envs["default"]
    started = time.monotonic()
    with pytest.raises(SandboxKilledError, match="denied-egress") as e:
        await env.exec(["python3", "-c", "import socket, time\ntry: socket.create_connection(('198.18.0.1', 443), timeout=3)\nexcept OSError as e: print(e)\ntime.sleep(120)"])
    assert time.monotonic() - started < 15
    assert e.value.head
    await AirlockSandboxEnvironment.sample_cleanup("egress", spec, envs, False)  # reported already
    assert sandbox_objects(env.sandbox_id) == []


async def test_a_kill_between_commands_still_ends_the_sample() -> None:
    spec = str(SPECS / "egress-kill.yaml")
    await AirlockSandboxEnvironment.task_init("egress", spec)
    envs = await AirlockSandboxEnvironment.sample_init("egress", spec, {"__sample_id__": "egress"})
    env = envs["default"]
    # One blocked connection (no route: no packet leaves); the guard's next poll counts it and kills.
    r = await env.exec(["python3", "-c", "import socket\ntry: socket.create_connection(('198.18.0.1', 443), timeout=3)\nexcept OSError as e: print(e)"])
    assert "unreachable" in r.stdout
    await anyio.sleep(1.5)
    with pytest.raises(SandboxKilledError, match="denied-egress"):
        await AirlockSandboxEnvironment.sample_cleanup("egress", spec, envs, False)
    assert sandbox_objects(env.sandbox_id) == []


async def test_cli_cleanup_destroys_one_sandbox_by_id() -> None:
    envs = await AirlockSandboxEnvironment.sample_init("contract", CONTRACT, {"__sample_id__": "cli-cleanup"})
    env = envs["default"]
    await AirlockSandboxEnvironment.cli_cleanup(env.sandbox_id)
    assert sandbox_objects(env.sandbox_id) == []
    with pytest.raises(SandboxUnavailableError):
        await env.exec(["true"])
    await AirlockSandboxEnvironment.sample_cleanup("contract", CONTRACT, envs, False)


async def test_no_sandbox_cleanup_detaches_and_cli_cleanup_removes_the_rest() -> None:
    envs = await AirlockSandboxEnvironment.sample_init("contract", CONTRACT, {"__sample_id__": "detach"})
    env = envs["default"]
    server = provider._STATE.server
    assert server is not None
    # Inspect's --no-sandbox-cleanup: sample_cleanup is skipped, task_cleanup(cleanup=False) detaches.
    await AirlockSandboxEnvironment.task_cleanup("shutdown", CONTRACT, False)
    assert server.proc.poll() is None and sandbox_objects(env.sandbox_id) != []  # outlives its client
    await AirlockSandboxEnvironment.cli_cleanup(None)
    with anyio.fail_after(30):
        while server.proc.poll() is None:
            await anyio.sleep(0.1)
    assert sandbox_objects(env.sandbox_id) == []
