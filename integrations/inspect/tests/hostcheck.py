"""What Airlock left on this host, read from the kernel and the host's tools — independently of
Airlock's own scanner (components/local/hostscan.ts), so that a bug there cannot hide itself: every
network namespace, link, nft table and cgroup whose name contains "airlock", every Toxiproxy gate and
every process named airlock-* (anchor, gate, serve), and any stand-in network this suite made.
A tool that fails raises: a check that could not look must not pass."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

OWN_PREFIX = "insptest"  # the test suite's own stand-in hosts


def _lines(cmd: list[str], ok: tuple[int, ...] = (0,)) -> list[str]:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if r.returncode not in ok:
        raise RuntimeError(f"host check: {' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return [line for line in r.stdout.splitlines() if line.strip()]


def _cgroups(root: Path = Path("/sys/fs/cgroup"), depth: int = 6) -> list[str]:
    found: list[str] = []

    def walk(d: Path, level: int) -> None:
        try:
            entries = list(os.scandir(d))
        except FileNotFoundError:
            return
        for e in entries:
            if not e.is_dir(follow_symlinks=False):
                continue
            if "airlock" in e.name.lower():
                found.append(e.path)
            elif level < depth:
                walk(Path(e.path), level + 1)

    walk(root, 0)
    return found


def _airlock_processes() -> list[str]:
    """Processes whose name (argv[0]) is an Airlock one — airlock-gate-<id> (a sandbox's Toxiproxy),
    airlock-anchor-<id>, airlock-serve, airlock-supervisor — or that name a path in this run's state
    directory. By name, not by any argument: the host lock's `flock /run/airlock-hosttests.lock ...`
    is not Airlock's, and neither is a plain toxiproxy-server another suite on a shared host started."""
    found = []
    state = os.environ.get("AIRLOCK_STATE_DIR", "").encode() or None  # e.g. canary watchers name their files
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        name = os.path.basename(argv[0].decode(errors="replace")) if argv and argv[0] else ""
        mentions_state = state is not None and any(state in a for a in argv)
        if name.startswith("airlock-") or mentions_state:
            found.append(f"{pid} {b' '.join(argv).decode(errors='replace')[:160]}")
    return found


def host_objects() -> dict[str, list[str]]:
    procs = _airlock_processes()
    pattern = ("airlock", OWN_PREFIX)
    return {
        "netns": [n for n in _lines(["ip", "netns", "list"]) if any(p in n.lower() for p in pattern)],
        "links": [n for n in _lines(["ip", "-o", "link", "show"]) if any(p in n.lower() for p in pattern)],
        "nft": [n for n in _lines(["nft", "list", "tables"]) if "airlock" in n.lower()],
        "cgroups": _cgroups(),
        "processes": procs,
    }


def _identity(kind: str, item: str) -> str:
    """What names one object across two looks: a namespace's name (its "(id: N)" appears once a peer
    is seen), a link's index and name (its flags and state change), anything else as listed."""
    if kind == "netns":
        return item.split()[0]
    if kind == "links":
        return " ".join(item.split()[:2])
    return item


# What was on the host before these tests began — e.g. a researcher's own sandbox created by hand, or
# another checkout's — is not theirs to have left behind (nor to touch): taken when the test session
# imports this module, before any test runs.
_BEFORE = host_objects()


def leftovers() -> dict[str, list[str]]:
    """Airlock host objects that are here now and were not before the tests began."""
    before = {k: {_identity(k, i) for i in v} for k, v in _BEFORE.items()}
    now = {k: [i for i in v if _identity(k, i) not in before.get(k, set())] for k, v in host_objects().items()}
    return {k: v for k, v in now.items() if v}


def preexisting() -> dict[str, list[str]]:
    """The Airlock host objects present before the tests began (reported, never judged)."""
    return {k: v for k, v in _BEFORE.items() if v}


def sandbox_objects(sandbox_id: str) -> list[str]:
    """Host objects that carry one sandbox's id (its netns, links' aliases, tables, cgroups, processes)."""
    found = []
    for kind, items in host_objects().items():
        found += [f"{kind}: {i}" for i in items if sandbox_id in i]
    found += [f"netns: {n}" for n in _lines(["ip", "netns", "list"]) if sandbox_id in n and f"netns: {n}" not in found]
    return found
