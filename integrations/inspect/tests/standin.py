"""A stand-in "internet" host for the tests: its own network namespace, an address from the
benchmarking range (198.18.0.1, RFC 2544) routed from the host, and a TCP server on 443 that greets.
The host reaches it (positive control); a sandbox must not. No traffic ever goes anywhere else."""

from __future__ import annotations

import socket
import subprocess
import time
from contextlib import contextmanager
from typing import Iterator

from hostcheck import fixture_iface, fixture_netns

# Named with the run's tag: the session check knows them as this run's, and two runs never share one.
NETNS = fixture_netns("inet")
HOST_IF = fixture_iface("h")
ADDRESS, PORT = "198.18.0.1", 443
GREETING = b"stand-in internet host\n"

SERVER = f"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("{ADDRESS}", {PORT})); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall({GREETING!r}); c.close()
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _teardown() -> None:
    subprocess.run(["ip", "route", "del", f"{ADDRESS}/32"], capture_output=True)
    subprocess.run(["ip", "link", "del", HOST_IF], capture_output=True)
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)


def host_reaches_it() -> bytes:
    with socket.create_connection((ADDRESS, PORT), timeout=3) as s:
        return s.recv(100)


@contextmanager
def internet_standin() -> Iterator[tuple[str, int]]:
    _teardown()
    server = None
    try:
        _ip("netns", "add", NETNS)
        _ip("link", "add", HOST_IF, "type", "veth", "peer", "name", "eth0", "netns", NETNS)
        _ip("addr", "add", "198.18.1.1/30", "dev", HOST_IF)
        _ip("link", "set", HOST_IF, "up")
        _ip("-n", NETNS, "addr", "add", "198.18.1.2/30", "dev", "eth0")
        _ip("-n", NETNS, "addr", "add", f"{ADDRESS}/32", "dev", "lo")
        _ip("-n", NETNS, "link", "set", "lo", "up")
        _ip("-n", NETNS, "link", "set", "eth0", "up")
        _ip("route", "add", f"{ADDRESS}/32", "via", "198.18.1.2")
        server = subprocess.Popen(["ip", "netns", "exec", NETNS, "python3", "-c", SERVER])
        deadline = time.monotonic() + 10
        while True:
            try:
                host_reaches_it()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield ADDRESS, PORT
    finally:
        if server is not None:
            server.kill()
            server.wait()
        _teardown()
