"""The one long-lived ``airlock serve`` process an evaluation talks to, and its client.

The process is started by this Python process and owned by it through its stdin: when this process
exits — normally, by an exception, or killed — the pipe closes, and ``airlock serve`` destroys every
sandbox it created and exits. Requests go over a Unix socket in a private (0700) directory, one
connection per request: nothing is tied to an event loop between requests, so asyncio and trio
both work and concurrent samples never share a stream. The protocol is newline-delimited JSON with
request ids (components/local/control/protocol.ts in the Airlock repository).
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from .errors import AirlockHostError, AirlockServerError, RequestError

STARTUP_TIMEOUT_S = 90.0


def _is_checkout(d: Path) -> bool:
    try:
        return (d / "bin" / "airlock.js").is_file() and json.loads((d / "package.json").read_text()).get("name") == "airlock"
    except (OSError, ValueError):
        return False


def airlock_command(near: str | None = None) -> list[str]:
    """How to run the Airlock CLI: $AIRLOCK_CLI, else the Airlock checkout that holds `near` (the
    spec file) or the current directory, else `airlock` on PATH."""
    configured = os.environ.get("AIRLOCK_CLI")
    if configured:
        return shlex.split(configured)
    starts = [Path(near).resolve().parent] if near else []
    starts.append(Path.cwd())
    for start in starts:
        for d in [start, *start.parents]:
            if _is_checkout(d):
                node = shutil.which("node")
                if not node:
                    raise AirlockHostError("Node.js is not on PATH (the Airlock CLI runs on it)", "install Node.js >= 20.19")
                return [node, str(d / "bin" / "airlock.js")]
    on_path = shutil.which("airlock")
    if on_path:
        return [on_path]
    raise AirlockHostError(
        "cannot find the Airlock CLI",
        "set AIRLOCK_CLI (e.g. AIRLOCK_CLI='node /path/to/airlock/bin/airlock.js'), keep the spec inside an Airlock checkout, or put `airlock` on PATH",
    )


class AirlockServer:
    """A running ``airlock serve --socket`` child and the requests it answers."""

    def __init__(self, command: list[str], proc: subprocess.Popen[bytes], directory: str) -> None:
        self.command = command
        self.proc = proc
        self.directory = directory
        self.socket = os.path.join(directory, "control.sock")
        self.log_file = os.path.join(directory, "serve.log")
        self.stopped = False
        atexit.register(self._atexit)

    @classmethod
    async def start(cls, command: list[str]) -> "AirlockServer":
        directory = tempfile.mkdtemp(prefix="airlock-serve-")  # 0700: the socket's access control
        sock = os.path.join(directory, "control.sock")
        with open(os.path.join(directory, "serve.log"), "ab") as log:
            try:
                proc = subprocess.Popen(
                    [*command, "serve", "--socket", sock],
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=log,
                    # Its own session: a Ctrl-C in the terminal reaches Inspect, which cleans up in
                    # order; the server then follows its owner (stdin EOF), never half-way.
                    start_new_session=True,
                )
            except OSError as e:
                shutil.rmtree(directory, ignore_errors=True)
                raise AirlockHostError(f"cannot start the Airlock CLI ({shlex.join(command)}): {e}", "set AIRLOCK_CLI to a working command") from e
        server = cls(command, proc, directory)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                server._cleanup_dir()
                raise AirlockServerError(f"`airlock serve` exited with status {proc.returncode} while starting: {server.log_tail()}")
            try:
                await server.request("hello")
                return server
            except (OSError, anyio.EndOfStream, anyio.BrokenResourceError):
                if time.monotonic() > deadline:
                    server.kill()
                    raise AirlockServerError(f"`airlock serve` did not answer within {STARTUP_TIMEOUT_S:.0f} s: {server.log_tail()}")
                await anyio.sleep(0.05)

    @property
    def alive(self) -> bool:
        return not self.stopped and self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = Path(self.log_file).read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(no output)"

    async def request(self, op: str, **fields: Any) -> Any:
        """Sends one request and returns its result, or raises RequestError with the error's kind."""
        line = json.dumps({"id": 1, "op": op, **fields}).encode() + b"\n"
        buf = bytearray()
        try:
            async with await anyio.connect_unix(self.socket) as stream:
                await stream.send(line)
                while True:
                    start = len(buf)
                    buf += await stream.receive(1 << 20)
                    if buf.find(b"\n", start) >= 0:
                        break
        except (OSError, anyio.EndOfStream, anyio.BrokenResourceError) as e:
            if self.proc.poll() is not None and op != "hello":
                raise AirlockServerError(f"the Airlock control process (pid {self.proc.pid}) exited with status {self.proc.returncode}: {self.log_tail()}") from e
            raise
        answer = json.loads(buf[: buf.find(b"\n")])
        if answer.get("ok"):
            return answer.get("result")
        raise RequestError(answer.get("error") or {})

    async def stop(self) -> None:
        """Destroys everything the server owns, then lets it exit."""
        if self.stopped:
            return
        try:
            if self.proc.poll() is None:
                await self.request("shutdown")
        except Exception:
            pass  # closing stdin below makes it destroy and exit all the same
        self._close_stdin()
        with anyio.move_on_after(60):
            while self.proc.poll() is None:
                await anyio.sleep(0.05)
        self.stopped = True
        self._cleanup_dir()

    async def detach(self) -> list[str]:
        """Leaves the sandboxes running (until their ttl or `inspect sandbox cleanup airlock`)."""
        result = await self.request("detach")
        self.stopped = True
        self._close_stdin()
        return list(result.get("sandboxes", []))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.stopped = True
        self._cleanup_dir()

    def _close_stdin(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass

    def _cleanup_dir(self) -> None:
        if self.proc.poll() is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _atexit(self) -> None:
        # The interpreter is going away without task_cleanup: closing stdin makes the server destroy
        # every sandbox and exit; waiting for it keeps the host clean when this process returns.
        if self.stopped:
            return
        self._close_stdin()
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pass
        self.stopped = True
        self._cleanup_dir()
