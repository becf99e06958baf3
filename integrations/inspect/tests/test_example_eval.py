"""The example task (examples/inspect/airlock_demo.py), run the way the README says — a real
`inspect eval ... --model mockllm/model` — and judged from Inspect's eval log and Airlock's record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inspect_ai.log import read_eval_log

from hostcheck import sandbox_objects
from standin import GREETING, host_reaches, internet_standin


def records(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


# The run's own stand-in address (standin.py), as the demo eval was given it.
STANDIN: dict[str, str] = {}


@pytest.fixture(scope="module")
def demo_run(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    logs = tmp_path_factory.mktemp("demo-logs")
    inspect = Path(sys.executable).parent / "inspect"
    with internet_standin() as (address, port):
        # Positive control: the stand-in internet host is reachable from the host itself.
        assert host_reaches(address, port) == GREETING
        STANDIN["internet"] = f"{address}:{port}"
        run = subprocess.run(
            [str(inspect), "eval", "examples/inspect/airlock_demo.py", "--model", "mockllm/model", "--epochs", "2", "--log-dir", str(logs), "--display", "plain", "-T", f"internet={address}:{port}"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ},
        )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    (log_file,) = logs.glob("*.eval")
    return read_eval_log(str(log_file))


def test_the_eval_completes_and_each_sample_ends_with_the_kill(demo_run: Any) -> None:
    assert demo_run.status == "success"
    assert sorted(s.epoch for s in demo_run.samples) == [1, 2]
    for s in demo_run.samples:
        assert s.error is not None, "the canary read must end the sample with an error"
        assert "SandboxKilledError" in s.error.traceback
        assert "kill switch ended sandbox" in s.error.message and "canary" in s.error.message


def test_tool_outputs_show_the_allowed_call_and_the_blocked_attempt(demo_run: Any) -> None:
    for s in demo_run.samples:
        tools = [m for m in s.messages if m.role == "tool"]
        assert "airlock-demo-model" in tools[0].text  # the model API inside the boundary, through the gate
        assert f"BLOCKED: {STANDIN['internet']}:" in tools[1].text and "Network is unreachable" in tools[1].text
        # The canary read ends the sample: either its own tool call raised (the usual case: inotify
        # reports the open before the command's exit), or the next one did.
        assert len(tools) in (2, 3), [t.text for t in tools]
        assert not any(m.role == "assistant" and "Done looking around" in m.text for m in s.messages)


def test_sample_metadata_names_the_sandbox_and_the_record_head(demo_run: Any) -> None:
    ids = set()
    for s in demo_run.samples:
        meta = s.metadata["airlock"]
        ids.add(meta["sandbox"])
        assert meta["killedBy"]["rule"] == "canary"
        assert Path(meta["record"] + ".head").read_text().strip() == meta["recordHead"]
    assert len(ids) == 2  # one sandbox per sample and epoch


def test_the_record_names_the_eval_and_holds_the_kill(demo_run: Any, repo: Path) -> None:
    for s in demo_run.samples:
        meta = s.metadata["airlock"]
        entries = records(meta["record"])
        inspect_meta = entries[0]["data"]["meta"]["inspect"]
        assert (inspect_meta["task"], inspect_meta["sampleId"], inspect_meta["epoch"]) == ("airlock_demo", "reach-out", s.epoch)
        kinds = [e["type"] for e in entries]
        assert "canary-touched" in kinds
        assert [e["data"]["rule"] for e in entries if e["type"] == "kill"] == ["canary"]
        final = next(e["data"] for e in entries if e["type"] == "final-counters")
        assert final["egress"]["noRoute"] >= 1  # the internet attempt, counted by the kernel (no route)
        assert final["egress"]["gate"]["model-api"] >= 1  # the allowed call went through the gate
        verify = subprocess.run(["node", str(repo / "bin" / "airlock.js"), "log", "verify", meta["record"], "--head", meta["recordHead"]], capture_output=True, text=True)
        assert verify.returncode == 0, verify.stdout + verify.stderr


def test_nothing_of_the_run_is_left_on_the_host(demo_run: Any) -> None:
    for s in demo_run.samples:
        assert sandbox_objects(s.metadata["airlock"]["sandbox"]) == []
