"""The session's "nothing left behind" check judges this run's objects only (hostcheck.py): a real
Airlock sandbox that another process made with its own state directory, while this session runs, is
noted and never reported as this run's leak — and this run's own sandbox and own-named fixture are."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import anyio
import pytest

from inspect_airlock import AirlockSandboxEnvironment

import hostcheck
from hostcheck import RUN_TAG, OWN_PREFIX, fixture_iface, fixture_netns, foreign, leftovers, own_sandbox_ids, sandbox_objects, veth_names

CONTRACT = str(Path(__file__).parent / "specs" / "contract.yaml")

# Another run on the same host: one real sandbox through the provider, and a stand-in namespace with a
# veth into it named with *its* tag, as this suite names its own; kept until its stdin closes.
OTHER_RUN = """
import subprocess, sys
import anyio
from inspect_airlock import AirlockSandboxEnvironment as E
SPEC, NETNS, IFACE = sys.argv[1:4]
async def main():
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    subprocess.run(["ip", "link", "add", IFACE, "type", "veth", "peer", "name", "eth0", "netns", NETNS], check=True)
    try:
        await E.task_init("other-run", SPEC)
        envs = await E.sample_init("other-run", SPEC, {"__sample_id__": "other-run"})
        print(envs["default"].sandbox_id, flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read)
        await E.sample_cleanup("other-run", SPEC, envs, False)
        await E.task_cleanup("other-run", SPEC, True)
    finally:
        subprocess.run(["ip", "link", "del", IFACE])
        subprocess.run(["ip", "netns", "del", NETNS])
anyio.run(main)
"""


def other_tag() -> str:
    while (tag := secrets.token_hex(2)) == RUN_TAG:
        pass
    return tag


@pytest.fixture
def other_run() -> Iterator[dict[str, Any]]:
    """A separate process with a different state directory and run tag, and what it made."""
    tag, state = other_tag(), tempfile.mkdtemp(prefix="airlock-other-run-state-")
    netns, iface = f"{OWN_PREFIX}-{tag}-inet", f"{OWN_PREFIX}{tag}h"
    env = {**os.environ, "AIRLOCK_STATE_DIR": state, "AIRLOCK_TEST_RUN": tag}
    proc = subprocess.Popen([sys.executable, "-c", OTHER_RUN, CONTRACT, netns, iface], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        sandbox = proc.stdout.readline().strip()
        assert sandbox, f"the other run made no sandbox (exit {proc.wait(60)})"
        yield {"sandbox": sandbox, "state": state, "tag": tag, "netns": netns, "iface": iface, "pid": proc.pid}
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(120) == 0
        assert sandbox_objects(sandbox) == []
        shutil.rmtree(state, ignore_errors=True)


def mentions(found: dict[str, list[str]], *needles: str) -> list[str]:
    return [f"{kind}: {item}" for kind, items in found.items() for item in items if any(n in item for n in needles)]


def test_another_runs_sandbox_is_noted_not_judged(other_run: dict[str, Any], state_dir: Path) -> None:
    sandbox = other_run["sandbox"]
    # Positive control: its objects are really on the host, and seen (found by name, alias, cgroup, ...).
    seen = sandbox_objects(sandbox)
    assert {s.split(":")[0] for s in seen} >= {"netns", "links", "nft", "cgroups", "processes"}, seen
    assert sandbox not in own_sandbox_ids()
    # Not this run's: not one of its objects, its stand-in, or its processes is judged ...
    left = leftovers()
    assert mentions(left, sandbox, other_run["tag"], other_run["state"], *veth_names(sandbox)) == [], left
    assert str(other_run["pid"]) not in " ".join(i.split()[0] for i in left.get("processes", []))
    # ... and each is noted.
    noted = foreign()
    assert f"airlock-{sandbox}" in noted["netns"] and other_run["netns"] in noted["netns"]
    assert any(l.startswith(veth_names(sandbox)[0]) for l in noted["links"]) and other_run["iface"] in noted["links"]
    assert f"inet airlock-{sandbox}" in noted["nft"]
    assert any(c.endswith(f"/airlock-{sandbox}") for c in noted["cgroups"])
    assert any(p.split()[0] == str(other_run["pid"]) for p in noted["processes"])


@pytest.mark.anyio
async def test_this_runs_own_sandbox_is_judged() -> None:
    await AirlockSandboxEnvironment.task_init("scope", CONTRACT)
    envs = await AirlockSandboxEnvironment.sample_init("scope", CONTRACT, {"__sample_id__": "scope-own"})
    sandbox = envs["default"].sandbox_id
    try:
        assert sandbox in own_sandbox_ids()
        left = leftovers()
        # Judged by its id in this run's state directory: a namespace, table and cgroup carry no
        # environment, only the name the id gives them.
        assert f"airlock-{sandbox}" in left.get("netns", []), left
        assert f"inet airlock-{sandbox}" in left.get("nft", []), left
        assert any(c.endswith(f"/airlock-{sandbox}") for c in left.get("cgroups", [])), left
        assert any(l.startswith(veth_names(sandbox)[0]) for l in left.get("links", [])), left
        assert mentions(foreign(), sandbox) == []
    finally:
        await AirlockSandboxEnvironment.sample_cleanup("scope", CONTRACT, envs, False)
        await AirlockSandboxEnvironment.task_cleanup("scope", CONTRACT, True)  # stops the server this test started
    assert leftovers() == {}  # the sandbox and the provider's server (airlock-serve, this run's by its environment)


def test_this_runs_own_fixture_is_judged() -> None:
    netns, iface = fixture_netns("leak"), fixture_iface("x")
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        subprocess.run(["ip", "link", "add", iface, "type", "veth", "peer", "name", "eth0", "netns", netns], check=True)
        left = leftovers()
        assert netns in left.get("netns", []) and iface in left.get("links", []), left
        assert mentions(foreign(), netns, iface) == []
    finally:
        subprocess.run(["ip", "link", "del", iface], capture_output=True)
        subprocess.run(["ip", "netns", "del", netns], check=True)
    assert mentions(leftovers(), netns, iface) == []


def test_a_process_of_this_run_is_judged_wherever_it_runs() -> None:
    """Only its environment ties it to the run: no Airlock name, cgroup or namespace."""
    proc = subprocess.Popen(["sleep", "300"], env={"PATH": os.environ["PATH"], "AIRLOCK_TEST_RUN": RUN_TAG})
    try:
        left = leftovers()
        assert any(p.split()[0] == str(proc.pid) for p in left.get("processes", [])), left
    finally:
        proc.kill()
        proc.wait()


def test_a_host_tool_that_fails_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RuntimeError, match="ip -j netns list could not run"):
        leftovers()
    monkeypatch.undo()
    monkeypatch.setattr(hostcheck, "_json", lambda cmd: hostcheck._run(["nft", "list", "table", "inet", "no-such-table-here"]) and [])
    with pytest.raises(RuntimeError, match="failed"):
        leftovers()
