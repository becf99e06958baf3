"""What this test run left on the host, read from the kernel and the host's tools — independently of
Airlock's own scanner (components/local/hostscan.ts), so that a bug there cannot hide itself.

Looked at: network namespaces (`ip -j netns list`), links on the host by name, by alias and by veth
peer (the host end of every veth whose other end is inside an Airlock namespace, whatever it is
called), nft tables, cgroups in every hierarchy (each cgroup/cgroup2 mount in mountinfo), tmpfs
mounts under a sandboxes/ directory, and processes (/proc/<pid>/{cmdline,cgroup,ns/net,environ}).

Judged: only what belongs to *this* run, the way mocha's test/helpers/run-scope.ts judges its own
(re-derived here, not imported: this suite runs without Node's test helpers):
  - sandboxes: every id this run's state directory (AIRLOCK_STATE_DIR, one per run: conftest.py) has
    had a journal, record or sandbox directory for — written before the first host change and kept
    after the last, so an id is known for as long as any of its objects can exist — and their
    objects by the documented names (components/local/names.ts's header): netns/nft/cgroup
    `airlock-<id>[-svc|-gate]`, veths `airlock<sha256(id)[:7]>[st]` with alias `airlock:<id>`,
    processes `airlock-gate-<id>`/`airlock-anchor-<id>`, tmpfs at `<state>/sandboxes/<id>/fs`;
  - fixtures: this suite's stand-ins, named with RUN_TAG (`insptest-<tag>-…`, `insptest<tag>…`);
  - processes: started with this run's AIRLOCK_STATE_DIR or AIRLOCK_TEST_RUN in their environment,
    naming the state directory, or inside one of this run's cgroups or namespaces.
Every other Airlock-looking object (a benchmark, another checkout's tests, a sandbox a user made by
hand) is foreign: reported as a note, never judged, never touched.

A tool that fails raises, and so does a read that fails for any reason but "it just went away": a
check that could not look must not pass."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# 4 hex, the same in every process of the run: children inherit it through the environment (the
# same variable mocha's run scope uses, so an `npm test` given one tag shares it across both halves).
RUN_TAG: str = os.environ.setdefault("AIRLOCK_TEST_RUN", secrets.token_hex(2))
OWN_PREFIX = "insptest"  # the suite's stand-in hosts: insptest-<tag>-<role> (netns), insptest<tag><x> (links)
AIRLOCKISH = re.compile(r"airlock|insptest", re.I)


def fixture_netns(role: str) -> str:
    return f"{OWN_PREFIX}-{RUN_TAG}-{role}"


def fixture_iface(letter: str) -> str:
    return f"{OWN_PREFIX}{RUN_TAG}{letter}"  # 14 chars: within IFNAMSIZ (15)


def _run(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"host check: {' '.join(cmd)} could not run: {e}") from e
    if r.returncode != 0:
        raise RuntimeError(f"host check: {' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def _json(cmd: list[str]) -> list:  # type: ignore[type-arg]
    out = _run(cmd).strip()
    if not out:
        return []  # `ip -j netns list` prints nothing at all when there are none
    try:
        return json.loads(out)
    except ValueError as e:
        raise RuntimeError(f"host check: {' '.join(cmd)} printed no JSON: {out[:200]}") from e


def _read(path: str, denied_ok: bool = False) -> bytes | None:
    """A /proc or /sys file; None only when it (or its process) is gone — or, with denied_ok, when the
    kernel denies it (pid 1's and kernel threads' environ here). Anything else raises."""
    try:
        return Path(path).read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except PermissionError:
        if denied_ok:
            return None
        raise


@dataclass
class Link:
    ifindex: int
    name: str
    alias: str
    kind: str
    peer_index: int | None


@dataclass
class Proc:
    pid: int
    argv: list[str]
    cgroups: list[str]
    netns_ino: int | None
    state_dir: str | None
    test_run: str | None

    def line(self) -> str:
        return f"{self.pid} {' '.join(self.argv)[:160]}"


@dataclass
class Snapshot:
    netns: dict[str, int | None]  # name -> inode of /run/netns/<name>
    links: list[Link]
    ns_links: dict[str, list[Link]]  # links inside each Airlock-looking namespace
    nft: list[str]  # "family name"
    cgroups: list[str]
    mounts: list[str]
    procs: list[Proc] = field(default_factory=list)


def _links(netns: str | None = None) -> list[Link]:
    raw = _json(["ip", *(["-n", netns] if netns else []), "-j", "-d", "link", "show"])
    return [Link(l["ifindex"], str(l["ifname"]).split("@")[0], l.get("ifalias", ""), l.get("linkinfo", {}).get("info_kind", ""), l.get("link_index")) for l in raw]


def _mountinfo() -> list[tuple[str, str]]:
    """(mount point, fstype) of every mount this process sees."""
    out = []
    for line in (_read("/proc/self/mountinfo") or b"").decode().splitlines():
        pre, _, post = line.partition(" - ")
        if post:
            out.append((pre.split(" ")[4].replace("\\040", " "), post.split(" ")[0]))
    return out


def _cgroup_dirs(mounts: list[tuple[str, str]]) -> list[str]:
    found: list[str] = []

    def walk(d: str, root: bool, depth: int) -> None:
        try:
            entries = list(os.scandir(d))
        except FileNotFoundError:
            if root:
                raise
            return  # removed meanwhile
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                found.append(e.path)
                if depth < 32:
                    walk(e.path, False, depth + 1)

    for point, fstype in mounts:
        if fstype in ("cgroup", "cgroup2"):
            walk(point, True, 0)
    return found


def _env(environ: bytes | None, key: str) -> str | None:
    for kv in (environ or b"").split(b"\0"):
        if kv.startswith(key.encode() + b"="):
            return kv[len(key) + 1 :].decode(errors="replace")
    return None


def _procs() -> list[Proc]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        cmdline, cgroup = _read(f"/proc/{entry}/cmdline"), _read(f"/proc/{entry}/cgroup")
        if cmdline is None or cgroup is None:
            continue  # exited meanwhile
        try:
            m = re.search(r"\[(\d+)\]", os.readlink(f"/proc/{entry}/ns/net"))
            ino = int(m.group(1)) if m else None
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            ino = None  # gone, or denied (pid 1 here): its cmdline and cgroups still judge it
        environ = _read(f"/proc/{entry}/environ", denied_ok=True)
        out.append(
            Proc(
                int(entry),
                [a.decode(errors="replace") for a in cmdline.split(b"\0") if a],
                [l.split(":", 2)[2] for l in cgroup.decode(errors="replace").splitlines() if l.count(":") >= 2],
                ino,
                _env(environ, "AIRLOCK_STATE_DIR"),
                _env(environ, "AIRLOCK_TEST_RUN"),
            )
        )
    return out


def snapshot() -> Snapshot:
    """One read of everything, so that one judgement judges one moment."""
    netns: dict[str, int | None] = {}
    for n in _json(["ip", "-j", "netns", "list"]):
        try:
            netns[n["name"]] = os.stat(f"/run/netns/{n['name']}").st_ino
        except FileNotFoundError:
            netns[n["name"]] = None  # deleted meanwhile
    ns_links = {}
    for name in netns:
        if AIRLOCKISH.search(name):
            try:
                ns_links[name] = _links(name)
            except RuntimeError:
                if os.path.exists(f"/run/netns/{name}"):
                    raise  # not "deleted meanwhile": a real failure
    nft = [f"{t['table']['family']} {t['table']['name']}" for t in (_json(["nft", "-j", "list", "tables"]) or {}).get("nftables", []) if "table" in t]  # type: ignore[attr-defined]
    mounts = _mountinfo()
    return Snapshot(netns, _links(), ns_links, nft, _cgroup_dirs(mounts), [p for p, _ in mounts], _procs())


def _peers(snap: Snapshot, namespaces: list[str]) -> set[str]:
    """Host links whose veth peer sits in one of `namespaces` (matched both ways: index and peer index)."""
    inner = [l for ns in namespaces for l in snap.ns_links.get(ns, []) if l.kind == "veth" and l.peer_index is not None]
    return {h.name for h in snap.links if h.kind == "veth" and any(i.peer_index == h.ifindex and h.peer_index == i.ifindex for i in inner)}


# -- every Airlock-looking object, whoever made it ----------------------------------------------------

Objects = dict[str, dict[str, str]]  # kind -> identity -> label (what a message shows)


def airlock_objects(snap: Snapshot) -> Objects:
    ns = [n for n in snap.netns if AIRLOCKISH.search(n)]
    peers = _peers(snap, ns)
    inos = {snap.netns[n] for n in ns} - {None}
    procs = {}
    for p in snap.procs:
        named = os.path.basename(p.argv[0] if p.argv else "").startswith("airlock-")
        contained = any(AIRLOCKISH.search(part) for c in p.cgroups for part in c.split("/")) or p.netns_ino in inos
        if named or contained or p.state_dir is not None or p.test_run is not None:
            procs[f"{p.pid} {' '.join(p.argv)}"] = p.line()
    return {
        "netns": {n: n for n in ns},
        "links": {l.name: l.name + (f" (alias {l.alias})" if l.alias else "") for l in snap.links if AIRLOCKISH.search(l.name) or AIRLOCKISH.search(l.alias) or l.name in peers},
        "nft": {t: t for t in snap.nft if AIRLOCKISH.search(t)},
        # the top-most Airlock-named directory: a sandbox's cgroup, not each of its children
        "cgroups": {d: d for d in snap.cgroups if AIRLOCKISH.search(os.path.basename(d)) and not AIRLOCKISH.search(os.path.basename(os.path.dirname(d)))},
        "mounts": {m: m for m in snap.mounts if re.search(r"/sandboxes/[^/]+/fs$", m)},
        "processes": procs,
    }


# -- this run's own ----------------------------------------------------------------------------------


def own_sandbox_ids(state_dir: str | None = None) -> set[str]:
    """The sandbox ids this run's state directory knows: journals, records, sandbox directories."""
    state = Path(state_dir or os.environ["AIRLOCK_STATE_DIR"])
    ids: set[str] = set()
    for sub, ext in (("journals", ".jsonl"), ("records", ".jsonl")):
        d = state / sub
        if d.is_dir():
            ids |= {re.sub(r"^chaos-", "", f.name[: -len(ext)]) for f in d.iterdir() if f.name.endswith(ext)}
    if (state / "sandboxes").is_dir():
        ids |= {d.name for d in (state / "sandboxes").iterdir()}
    return ids


def veth_names(sandbox_id: str) -> list[str]:
    h = hashlib.sha256(sandbox_id.encode()).hexdigest()[:7]
    return [f"airlock{h}s", f"airlock{h}t"]


def _sandbox_names(sandbox_id: str) -> set[str]:
    base = f"airlock-{sandbox_id}"
    return {base, f"{base}-svc", f"{base}-gate"}


def objects_of(ids: set[str], snap: Snapshot) -> Objects:
    """Every host object of the sandboxes `ids`, in airlock_objects' identities, found by name, alias,
    veth peer, cgroup, namespace and path."""
    names = set().union(*(_sandbox_names(i) for i in ids)) if ids else set()
    ns = [n for n in snap.netns if n in names]
    inos = {snap.netns[n] for n in ns} - {None}
    veths = {v for i in ids for v in veth_names(i)}
    aliases = {f"airlock:{i}" for i in ids}
    peers = _peers(snap, ns)
    procs = {}
    for p in snap.procs:
        in_cgroup = any(part in names for c in p.cgroups for part in c.split("/"))
        named = bool(p.argv) and any(p.argv[0] in (f"airlock-gate-{i}", f"airlock-anchor-{i}") for i in ids)
        by_path = any(f"/sandboxes/{i}/" in a for i in ids for a in p.argv)
        if in_cgroup or named or by_path or p.netns_ino in inos:
            procs[f"{p.pid} {' '.join(p.argv)}"] = p.line()
    return {
        "netns": {n: n for n in ns},
        "links": {l.name: l.name + (f" (alias {l.alias})" if l.alias else "") for l in snap.links if l.name in veths or l.alias in aliases or l.name in peers},
        "nft": {t: t for t in snap.nft if t.split(" ")[-1] in names},
        "cgroups": {d: d for d in snap.cgroups if os.path.basename(d) in names},
        "mounts": {m: m for m in snap.mounts if any(f"/sandboxes/{i}/" in m + "/" for i in ids)},
        "processes": procs,
    }


def own_objects(snap: Snapshot, state_dir: str | None = None, run_tag: str | None = None) -> Objects:
    """This run's objects: its sandboxes' (by its state directory), its fixtures', its processes."""
    state = state_dir or os.environ["AIRLOCK_STATE_DIR"]
    tag = run_tag or RUN_TAG
    own = objects_of(own_sandbox_ids(state), snap)
    fixture_ns = [n for n in snap.netns if n.startswith(f"{OWN_PREFIX}-{tag}-")]
    own["netns"].update({n: n for n in fixture_ns})
    fixture_peers = _peers(snap, fixture_ns)
    own["links"].update({l.name: l.name for l in snap.links if l.name.startswith(f"{OWN_PREFIX}{tag}") or l.name in fixture_peers})
    fixture_inos = {snap.netns[n] for n in fixture_ns} - {None}
    for p in snap.procs:
        if p.state_dir == state or p.test_run == tag or any(state in a for a in p.argv) or p.netns_ino in fixture_inos:
            own["processes"][f"{p.pid} {' '.join(p.argv)}"] = p.line()
    return own


# What was on the host before these tests began — this process's own ancestors (they carry the run's
# environment when a caller set it), or objects of a state directory the caller passed in — is not
# theirs to have left behind: taken when the test session imports this module, before any test runs.
_BEFORE = own_objects(snapshot())


def _flat(objects: Objects, drop: Objects | None = None) -> dict[str, list[str]]:
    out = {}
    for kind, items in objects.items():
        labels = [label for key, label in sorted(items.items()) if not drop or key not in drop.get(kind, {})]
        if labels:
            out[kind] = labels
    return out


def leftovers() -> dict[str, list[str]]:
    """This run's host objects that are here now and were not before the tests began (judged)."""
    return _flat(own_objects(snapshot()), _BEFORE)


def foreign() -> dict[str, list[str]]:
    """Airlock-looking host objects that are not this run's (reported as a note, never judged)."""
    snap = snapshot()
    return _flat(airlock_objects(snap), own_objects(snap))


def sandbox_objects(sandbox_id: str) -> list[str]:
    """Host objects of one sandbox (its netns, links by name/alias/peer, tables, cgroups, mounts, processes)."""
    return [f"{kind}: {label}" for kind, items in objects_of({sandbox_id}, snapshot()).items() for label in items.values()]
