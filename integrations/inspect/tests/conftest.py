"""The Inspect AI integration's tests: real sandboxes on this host, driven through Inspect's own
SandboxEnvironment interface and through real `inspect eval` runs.

Every run gets its own Airlock state directory (records, journals), the Airlock CLI of this checkout,
and — after the last test — a check, from the kernel, that nothing of Airlock is left on the host."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(Path(__file__).parent))

from hostcheck import leftovers  # noqa: E402

_own_state = "AIRLOCK_STATE_DIR" not in os.environ
if _own_state:
    os.environ["AIRLOCK_STATE_DIR"] = tempfile.mkdtemp(prefix="airlock-inspect-test-state-")
os.environ.setdefault("AIRLOCK_CLI", f"{shutil.which('node') or 'node'} {REPO / 'bin' / 'airlock.js'}")
os.environ.setdefault("AIRLOCK_QUIET", "1")


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
    left = leftovers()
    if left:
        pytest.fail(f"Airlock host objects left behind by the Inspect AI tests: {left}")
    if _own_state:
        shutil.rmtree(os.environ["AIRLOCK_STATE_DIR"], ignore_errors=True)
