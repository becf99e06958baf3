"""50 samples at once, sample_init in parallel, 100 commands each, through a real `inspect eval`;
then nothing of it left on the host (judged from the kernel)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from inspect_ai.log import read_eval_log

from hostcheck import leftovers

SAMPLES = int(os.environ.get("AIRLOCK_TEST_SAMPLES", 50))
COMMANDS = int(os.environ.get("AIRLOCK_TEST_COMMANDS", 100))


def ts(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def many_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    logs = tmp_path_factory.mktemp("many-logs")
    inspect = Path(sys.executable).parent / "inspect"
    run = subprocess.run(
        [str(inspect), "eval", "tasks/many_execs.py", "--model", "mockllm/model", "--max-samples", str(SAMPLES), "--max-sandboxes", str(SAMPLES), "--log-dir", str(logs), "--display", "plain", "-T", f"samples={SAMPLES}", "-T", f"commands={COMMANDS}"],
        cwd=Path(__file__).parent,  # Inspect takes task files by relative path
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    (log_file,) = logs.glob("*.eval")
    return read_eval_log(str(log_file))


def test_every_result_came_back_to_its_command(many_run: Any) -> None:
    assert many_run.status == "success"
    assert len(many_run.samples) == SAMPLES
    for s in many_run.samples:
        assert s.error is None, s.error
        assert s.metadata["mismatches"] == [], (s.id, s.metadata["mismatches"][:3])
        assert s.scores["all_matched"].value == "C"


def test_each_sample_had_its_own_sandbox_and_record(many_run: Any) -> None:
    sandboxes = {s.metadata["airlock"]["sandbox"] for s in many_run.samples}
    assert len(sandboxes) == SAMPLES
    for s in many_run.samples:
        entries = [json.loads(line) for line in Path(s.metadata["airlock"]["record"]).read_text().splitlines()]
        assert entries[0]["data"]["meta"]["inspect"]["sampleId"] == s.id
        assert sum(1 for e in entries if e["type"] == "exec-exited") == COMMANDS
        assert entries[-1]["type"] == "sealed"


def test_sample_init_ran_in_parallel(many_run: Any) -> None:
    """From the records' own timestamps: how many sandboxes were being created at the same moment."""
    spans = []
    for s in many_run.samples:
        entries = [json.loads(line) for line in Path(s.metadata["airlock"]["record"]).read_text().splitlines()]
        ready = next(e for e in entries if e["type"] == "sandbox-ready")
        spans.append((ts(entries[0]), ts(ready)))
    peak = max(sum(1 for a, b in spans if a <= t <= b) for t, _ in spans)
    assert peak >= min(10, SAMPLES), f"at most {peak} sandboxes were being created at once"


def test_nothing_is_left_on_the_host(many_run: Any) -> None:
    assert leftovers() == {}
