"""A stand-in "internet" host for the tests: its own network namespace, an address from the
benchmarking range (RFC 2544) routed from the host, and a TCP server on 443 that greets.
The host reaches it (positive control); a sandbox must not. No traffic ever goes anywhere else.

Its addresses are the run's own, so two runs at once (two pytest runs, or pytest beside mocha's
stand-ins) never share a route: a /29 block in 198.19.0.0/17 chosen from the run tag — link
<block>+1/30 (host) and +2/30 (namespace), the stand-in at +5 — and, if another run holds that block
(an address or a route in it on the host), the next free one. Mocha's fixed stand-ins
(test/helpers/local-network.ts: 198.18.0.0/24, 198.18.255.0/30, 198.19.255.0/30) lie outside it."""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from hostcheck import RUN_TAG, fixture_iface, fixture_netns

POOL = ipaddress.ip_network("198.19.0.0/17")
BLOCKS = POOL.num_addresses // 8  # /29 blocks
PORT = 443
GREETING = b"stand-in internet host\n"

SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[3].encode() + b"\\n"); c.close()
"""


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


@dataclass(frozen=True)
class Standin:
    netns: str
    host_if: str
    block: ipaddress.IPv4Network

    @property
    def address(self) -> str:
        return str(self.block.network_address + 5)

    def link(self, n: int) -> str:
        return f"{self.block.network_address + n}/30"


def block_in_use(block: ipaddress.IPv4Network) -> bool:
    """Whether any host address or route of the main table lies in `block` (another run holds it)."""
    return bool(_ip("-4", "-o", "addr", "show", "to", str(block)).strip() or _ip("-4", "route", "show", "root", str(block)).strip())


def choose_block(seed: str) -> ipaddress.IPv4Network:
    """The seed's block (from the run tag), or the next one no other run holds."""
    first = int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) % BLOCKS
    for i in range(BLOCKS):
        block = ipaddress.ip_network(f"{POOL.network_address + ((first + i) % BLOCKS) * 8}/29")
        if not block_in_use(block):
            return block
    raise RuntimeError(f"every /29 of {POOL} is in use on this host: stand-in hosts of other runs left behind?")


def _teardown(s: Standin) -> None:
    # Only this stand-in's own objects: the route by its exact prefix and gateway, never a bare prefix.
    subprocess.run(["ip", "route", "del", f"{s.address}/32", "via", str(s.block.network_address + 2)], capture_output=True)
    subprocess.run(["ip", "link", "del", s.host_if], capture_output=True)
    subprocess.run(["ip", "netns", "del", s.netns], capture_output=True)


def host_reaches(address: str, port: int = PORT) -> bytes:
    with socket.create_connection((address, port), timeout=3) as s:
        return s.recv(100)


@contextmanager
def internet_standin(seed: str = RUN_TAG, role: str = "inet", letter: str = "h", greeting: bytes = GREETING) -> Iterator[tuple[str, int]]:
    """A stand-in internet host; yields (address, port). `role`/`letter` name a second one in the same run."""
    s = Standin(fixture_netns(role), fixture_iface(letter), choose_block(seed))
    subprocess.run(["ip", "link", "del", s.host_if], capture_output=True)  # a previous crash of this run's own
    subprocess.run(["ip", "netns", "del", s.netns], capture_output=True)
    server = None
    try:
        _ip("netns", "add", s.netns)
        _ip("link", "add", s.host_if, "type", "veth", "peer", "name", "eth0", "netns", s.netns)
        _ip("addr", "add", s.link(1), "dev", s.host_if)
        _ip("link", "set", s.host_if, "up")
        _ip("-n", s.netns, "addr", "add", s.link(2), "dev", "eth0")
        _ip("-n", s.netns, "addr", "add", f"{s.address}/32", "dev", "lo")
        _ip("-n", s.netns, "link", "set", "lo", "up")
        _ip("-n", s.netns, "link", "set", "eth0", "up")
        _ip("route", "add", f"{s.address}/32", "via", str(s.block.network_address + 2))
        server = subprocess.Popen(["ip", "netns", "exec", s.netns, "python3", "-c", SERVER, s.address, str(PORT), greeting.decode().rstrip("\n")])
        deadline = time.monotonic() + 10
        while True:
            try:
                host_reaches(s.address)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield s.address, PORT
    finally:
        if server is not None:
            server.kill()
            server.wait()
        _teardown(s)
