"""The Inspect AI integration's tests: real sandboxes on this host, driven through Inspect's own
SandboxEnvironment interface and through real `inspect eval` runs.

Every run gets its own Airlock state directory (records, journals) and run tag (AIRLOCK_TEST_RUN, which
its fixtures carry in their names and every child process inherits), the Airlock CLI of this checkout,
and — after the last test — a check, from the kernel, that nothing of *this run* is left on the host
(hostcheck.py). Airlock objects of anyone else on the host (another checkout's tests, a benchmark, a
sandbox a user made by hand) are reported as a note and left alone."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(Path(__file__).parent))

_own_state = "AIRLOCK_STATE_DIR" not in os.environ
if _own_state:
    os.environ["AIRLOCK_STATE_DIR"] = tempfile.mkdtemp(prefix="airlock-inspect-test-state-")

# After the state dir: hostcheck scopes by it, and takes its baseline on import.
from hostcheck import RUN_TAG, foreign, leftovers  # noqa: E402

os.environ.setdefault("AIRLOCK_CLI", f"{shutil.which('node') or 'node'} {REPO / 'bin' / 'airlock.js'}")
os.environ.setdefault("AIRLOCK_QUIET", "1")

_notes: list[str] = []  # the session check's notes on other runs' objects, printed in the summary


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    if os.geteuid() != 0:
        reason = "needs root: Airlock's local sandboxes are network namespaces, nftables and cgroups"
        print(f"SKIPPED (all Inspect AI integration tests): {reason}")
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def state_dir() -> Path:
    return Path(os.environ["AIRLOCK_STATE_DIR"])


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind():  # type: ignore[no-untyped-def]
    """After the whole session: the provider's server stopped, and no Airlock object on the host."""
    yield
    from inspect_airlock import provider

    server = provider._STATE.server
    if server is not None:
        server._atexit()  # closes its stdin: it destroys what it owns and exits; waits for that
    others = foreign()
    if others:
        _notes.append(f"{sum(map(len, others.values()))} Airlock host object(s) that this run did not create (left alone): {others}")
    left = leftovers()
    if left:
        pytest.fail(f"host objects of this test run (tag {RUN_TAG}, state {os.environ['AIRLOCK_STATE_DIR']}) left behind: {left}")
    if _own_state:
        shutil.rmtree(os.environ["AIRLOCK_STATE_DIR"], ignore_errors=True)


def pytest_terminal_summary(terminalreporter):  # type: ignore[no-untyped-def]
    """The session check's notes, where a reader of the run's output sees them (a fixture's own output is
    shown only when it fails)."""
    for note in _notes:
        terminalreporter.write_line(f"note: {note}")
