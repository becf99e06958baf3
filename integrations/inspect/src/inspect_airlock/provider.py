"""The ``airlock`` sandbox type for Inspect AI (the SandboxEnvironment contract of inspect-ai 0.3.285).

One ``airlock serve`` process per Python process serves every sample: ``task_init`` validates the
spec and the host once, ``sample_init`` creates one sandbox per sample (concurrently for concurrent
samples), ``sample_cleanup`` always destroys it, ``task_cleanup`` destroys anything left and stops the
server, ``cli_cleanup`` (``inspect sandbox cleanup airlock [id]``) destroys what running servers own
and sweeps the host. Commands and file copies run inside the sandbox with the workload's own
confinement, as its workload user; no host path is mounted into it.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import logging
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any, Literal, Union, overload

import anyio
from pydantic import BaseModel
from typing_extensions import override

from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxConnection,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    SandboxUnavailableError,
    SandboxUserUnsupportedError,
    concurrency as concurrency_limiter,
    sandboxenv,
)

from .errors import AirlockHostError, AirlockServerError, AirlockSpecError, RequestError, SandboxKilledError
from .server import AirlockServer, airlock_command

logger = logging.getLogger(__name__)

CONFIG_FILES = ["airlock.yaml", "airlock.yml"]

# How long after a command's own timeout an answer may take before the request is given up (and,
# with timeout_retry, sent again): the server answers within milliseconds of killing a timed-out
# command, so only a stuck control process takes longer. Docker's provider allows the same 10 s.
EXEC_ANSWER_GRACE_S = 10.0
# Commands one Inspect process runs at once when exec(concurrency=True) asks to be throttled (the
# default): Docker's provider limits its CLI calls to the same max(2 x cpus, 4).
EXEC_CONCURRENCY = int(os.environ.get("AIRLOCK_INSPECT_MAX_EXECS") or max(2 * (os.cpu_count() or 1), 4))


class AirlockSandboxConfig(BaseModel, frozen=True):
    """Programmatic configuration: ``sandbox=SandboxEnvironmentSpec("airlock", AirlockSandboxConfig(spec=...))``."""

    spec: str
    """Path of the Airlock spec (YAML) of each sample's sandbox."""


# ---------------------------------------------------------------------------------------------
# Process-wide state: the server, the spec paths task_init resolved, the sandboxes alive.


class _State:
    def __init__(self) -> None:
        self.server: AirlockServer | None = None
        self.locks: dict[object, anyio.Lock] = {}
        # config string -> absolute spec paths task_init resolved it to (from the task's directory)
        self.specs: dict[str, set[str]] = {}
        # sandbox id -> spec path, for every sandbox not yet destroyed
        self.live: dict[str, str] = {}

    def lock(self) -> anyio.Lock:
        # One lock per event loop: a process may run several evals one after another.
        token = anyio.lowlevel.current_token()
        lk = self.locks.get(token)
        if lk is None:
            lk = self.locks[token] = anyio.Lock()
        return lk


_STATE = _State()


def _config_string(config: SandboxEnvironmentConfigType | None) -> str:
    if config is None:
        for name in CONFIG_FILES:
            if Path(name).is_file():
                return name
        raise AirlockSpecError(
            "no Airlock spec given",
            hint=f'name one: sandbox=("airlock", "spec.yaml"), or put {CONFIG_FILES[0]} next to the task',
        )
    if isinstance(config, str):
        return config
    if isinstance(config, AirlockSandboxConfig):
        return config.spec
    raise AirlockSpecError(f"unsupported config {type(config).__name__}", hint='pass the spec file path: sandbox=("airlock", "spec.yaml")')


def _resolve_spec(config: SandboxEnvironmentConfigType | None, remember: bool = False) -> str:
    """The absolute spec path. task_init runs in the task's directory, sample_init maybe not: a
    relative path is resolved at task_init and remembered."""
    given = _config_string(config)
    if os.path.isabs(given):
        return given
    if remember:
        resolved = str(Path(given).resolve())
        _STATE.specs.setdefault(given, set()).add(resolved)
        return resolved
    known = _STATE.specs.get(given, set())
    if len(known) == 1:
        return next(iter(known))
    if len(known) > 1:
        raise AirlockSpecError(f"the spec path '{given}' names different files for different tasks ({', '.join(sorted(known))})", hint="use absolute spec paths")
    return str(Path(given).resolve())


async def _server(spec: str | None = None) -> AirlockServer:
    async with _STATE.lock():
        if _STATE.server is None or not _STATE.server.alive:
            if _STATE.server is not None and _STATE.live:
                lost = ", ".join(sorted(_STATE.live))
                _STATE.live.clear()
                raise AirlockServerError(f"the Airlock control process exited; its sandboxes ({lost}) are gone: {_STATE.server.log_tail()}")
            _STATE.server = await AirlockServer.start(airlock_command(spec))
        return _STATE.server


def _check_root() -> None:
    if os.geteuid() != 0:
        raise AirlockHostError(
            "Airlock's local sandboxes need root (network namespaces, nftables, cgroups)",
            "run Inspect as root, e.g. sudo -E inspect eval ...",
        )


def _b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode("utf-8") if isinstance(data, str) else bytes(data)).decode("ascii")


def _unb64(data: str) -> bytes:
    return base64.b64decode(data) if data else b""


def _record_meta(task_name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """What the record says about the eval that asked for the sandbox."""
    meta: dict[str, Any] = {"task": task_name, "sampleId": metadata.get("__sample_id__")}
    try:  # Inspect's own view of the running sample (private API of the pinned version)
        from inspect_ai.log._samples import sample_active

        active = sample_active()
        if active is not None:
            meta.update(task=active.task, epoch=active.epoch, sampleUuid=getattr(active, "sample_uuid", None), evalLog=active.log_location, model=active.model)
    except Exception:
        pass
    if "epoch" not in meta:
        state = _sample_state()
        if state is not None:
            meta["epoch"] = state.epoch
    return {"inspect": meta}


def _sample_state() -> Any:
    try:
        from inspect_ai.solver._task_state import sample_state

        return sample_state()
    except Exception:
        return None


def _file_error(e: RequestError, file: str) -> Exception:
    code = getattr(errno, e.kind, None)
    message = str(e.body.get("message", e))
    if e.kind == "ENOENT":
        return FileNotFoundError(errno.ENOENT, message, file)
    if e.kind in ("EACCES", "EPERM", "EROFS"):
        return PermissionError(code, message, file)
    if e.kind == "EISDIR":
        return IsADirectoryError(errno.EISDIR, message, file)
    if e.kind == "ENOTDIR":
        return NotADirectoryError(errno.ENOTDIR, message, file)
    if e.kind == "EFBIG":
        return OutputLimitExceededError(limit_str=SandboxEnvironmentLimits.MAX_READ_FILE_SIZE_STR, truncated_output=None)
    if isinstance(code, int):
        return OSError(code, message, file)
    return e


@sandboxenv(name="airlock")
class AirlockSandboxEnvironment(SandboxEnvironment):
    """One Airlock sandbox of one sample."""

    def __init__(self, server: AirlockServer, sandbox: str, info: dict[str, Any]) -> None:
        super().__init__()
        self._server = server
        self.sandbox_id = sandbox
        self.record = str(info.get("record"))
        self.user = dict(info.get("user") or {})
        self.work_dir = str(info.get("workDir", "/work"))
        self._killed: SandboxKilledError | None = None
        self._kill_reported = False
        self._state = _sample_state()
        self.destroyed: dict[str, Any] | None = None

    # -- configuration ---------------------------------------------------------------------------

    @classmethod
    def config_files(cls) -> list[str]:
        return list(CONFIG_FILES)

    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        return AirlockSandboxConfig(**config)

    @classmethod
    def default_concurrency(cls) -> int | None:
        # Each sandbox with canaries holds one of root's inotify instances (fs.inotify.max_user_instances,
        # 128 by default, shared with the host): stay well below it unless --max-sandboxes says otherwise.
        return 64

    def default_polling_interval(self) -> float:
        return 0.2

    # -- lifecycle -------------------------------------------------------------------------------

    @override
    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        spec = _resolve_spec(config, remember=True)
        _check_root()
        server = await _server(spec)
        try:
            await server.request("check-host")
            await server.request("validate", spec=spec)
        except RequestError as e:
            raise cls._setup_error(e) from None

    @staticmethod
    def _setup_error(e: RequestError) -> Exception:
        if e.kind == "spec":
            return AirlockSpecError(str(e.body.get("message")), [str(i) for i in e.body.get("issues") or []], e.body.get("hint"))
        if e.kind == "host":
            return AirlockHostError(str(e.body.get("message")), e.body.get("hint"))
        return e

    @override
    @classmethod
    async def sample_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None, metadata: dict[str, str]) -> dict[str, SandboxEnvironment]:
        spec = _resolve_spec(config)
        _check_root()
        server = await _server(spec)
        try:
            info = await server.request("create", spec=spec, recordMeta=_record_meta(task_name, dict(metadata)))
        except RequestError as e:
            raise cls._setup_error(e) from None
        env = cls(server, info["sandbox"], info)
        _STATE.live[env.sandbox_id] = spec
        env._note_metadata()
        return {"default": env}

    @override
    @classmethod
    async def sample_cleanup(cls, task_name: str, config: SandboxEnvironmentConfigType | None, environments: dict[str, SandboxEnvironment], interrupted: bool) -> None:
        unreported: SandboxKilledError | None = None
        for environment in environments.values():
            env = environment.as_type(AirlockSandboxEnvironment)
            with anyio.CancelScope(shield=True):
                await env._destroy("sample finished" if not interrupted else "sample interrupted")
            if env._killed is not None and not env._kill_reported:
                unreported = env._killed
        # A kill between two commands (ttl, a denied-egress threshold read by the guard's poll) that
        # no later command saw still ends the sample as an error.
        if unreported is not None and not interrupted:
            raise unreported

    @override
    @classmethod
    async def task_cleanup(cls, task_name: str, config: SandboxEnvironmentConfigType | None, cleanup: bool) -> None:
        server = _STATE.server
        if server is None or not server.alive:
            return
        if not cleanup:
            kept = await server.detach()
            _STATE.server = None
            _STATE.live.clear()
            if kept:
                logger.warning(
                    "Airlock sandboxes left running (--no-sandbox-cleanup): %s. They stay until their ttl; remove them with: inspect sandbox cleanup airlock [id]",
                    ", ".join(kept),
                )
            return
        try:
            spec = _resolve_spec(config)
        except AirlockSpecError:
            spec = None
        for sandbox, sandbox_spec in list(_STATE.live.items()):
            if spec is None or sandbox_spec == spec:
                try:
                    await server.request("destroy", sandbox=sandbox, reason="task cleanup")
                except Exception as e:
                    logger.warning("Airlock: destroying %s at task cleanup failed: %s", sandbox, e)
                _STATE.live.pop(sandbox, None)
        if not _STATE.live:
            await server.stop()
            _STATE.server = None

    @override
    @classmethod
    async def cli_cleanup(cls, id: str | None) -> None:
        command = [*airlock_command(None), "serve", "--cleanup", *(["--sandbox", id] if id else [])]
        result = subprocess.run(command, capture_output=True, text=True)
        output = (result.stdout + result.stderr).strip()
        if output:
            print(output)
        if result.returncode != 0:
            raise AirlockServerError(f"`{' '.join(command)}` failed (exit {result.returncode})")

    async def _destroy(self, reason: str) -> None:
        if self.destroyed is not None:
            return
        try:
            result = await self._server.request("destroy", sandbox=self.sandbox_id, reason=reason)
        except Exception as e:
            logger.warning("Airlock: destroying sandbox %s failed: %s", self.sandbox_id, e)
            return
        finally:
            _STATE.live.pop(self.sandbox_id, None)
        self.destroyed = result
        if result.get("killedBy") and self._killed is None:
            self._killed = SandboxKilledError(self.sandbox_id, {**result["killedBy"], "record": result.get("record"), "head": result.get("head")})
        self._note_metadata()

    def _note_metadata(self) -> None:
        """The eval log's sample metadata names the sandbox, its record and (once sealed) the head."""
        note: dict[str, Any] = {"sandbox": self.sandbox_id, "record": self.record}
        if self.destroyed is not None:
            note["recordHead"] = self.destroyed.get("head")
            note["killedBy"] = self.destroyed.get("killedBy")
        for state in {id(s): s for s in (self._state, _sample_state()) if s is not None}.values():
            try:
                state.metadata["airlock"] = note
            except Exception:
                pass

    # -- errors ----------------------------------------------------------------------------------

    def _raise_killed(self, killed: dict[str, Any]) -> None:
        self._killed = SandboxKilledError(self.sandbox_id, killed)
        self._kill_reported = True
        raise self._killed

    def _request_error(self, e: RequestError) -> Exception:
        if e.kind == "killed":
            self._killed = SandboxKilledError(self.sandbox_id, e.body.get("killed") or {})
            self._kill_reported = True
            return self._killed
        if e.kind == "unsupported-user":
            return SandboxUserUnsupportedError(str(e))
        if e.kind == "no-sandbox":
            return SandboxUnavailableError(str(e))
        return e

    # -- exec ------------------------------------------------------------------------------------

    @override
    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        # timeout: Airlock kills the command (and everything it started) at the deadline and answers
        # at once; that is a TimeoutError and is not re-run, as Docker's in-container timeout is not.
        # timeout_retry is about the machinery: an answer that has not come EXEC_ANSWER_GRACE_S after
        # the deadline is given up (closing the request's connection kills the command, if it runs)
        # and, with timeout_retry, the command is sent again up to twice, with Docker's timeouts
        # (min(timeout, 60) // n). concurrency: Inspect's request to throttle a locally run sandbox's
        # subprocesses — at most EXEC_CONCURRENCY commands of this process run at once.
        if not cmd:
            raise ValueError("cmd must not be empty")
        request: dict[str, Any] = {"sandbox": self.sandbox_id, "cmd": [str(c) for c in cmd], "outputLimit": SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE}
        if input is not None:
            request["input"] = _b64(input)
        if cwd is not None:
            request["cwd"] = cwd
        if env:
            request["env"] = {str(k): str(v) for k, v in env.items()}
        if user is not None:
            request["user"] = str(user)
        throttle = concurrency_limiter(f"airlock-exec-{EXEC_CONCURRENCY}", EXEC_CONCURRENCY, visible=False) if concurrency else contextlib.nullcontext()
        async with throttle:
            r = await self._exec_answer(request, timeout, timeout_retry)
        stdout = _unb64(r["stdout"]).decode("utf-8", errors="replace")
        stderr = _unb64(r["stderr"]).decode("utf-8", errors="replace")
        if r.get("killed"):
            self._raise_killed(r["killed"])
        if r.get("timedOut"):
            timeout_error = TimeoutError(f"Command timed out after {timeout} seconds")
            if stdout or stderr:
                setattr(timeout_error, "truncated_output", stdout + stderr)
            raise timeout_error
        if r.get("launchError") == "EACCES":
            raise PermissionError(errno.EACCES, f"Permission denied: cannot execute {cmd[0]}", cmd[0])
        truncated = r.get("truncated") or {}
        if truncated.get("stdout") or truncated.get("stderr"):
            # Only the tail of the overflowing stream was kept (memory stays bounded); say so.
            raise OutputLimitExceededError(limit_str=SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE_STR, truncated_output=stdout + stderr)
        status = int(r["status"])
        return ExecResult(success=status == 0, returncode=status, stdout=stdout, stderr=stderr)

    async def _exec_answer(self, request: dict[str, Any], timeout: int | None, timeout_retry: bool) -> Any:
        retries = 0
        while True:
            limit = timeout if timeout is None or retries == 0 else max(min(timeout, 60) // retries, 1)
            if limit is not None:
                request["timeoutMs"] = int(limit * 1000)
            try:
                with anyio.move_on_after(None if limit is None else limit + EXEC_ANSWER_GRACE_S) as waiting:
                    return await self._server.request("exec", **request)
            except RequestError as e:
                raise self._request_error(e) from None
            assert waiting.cancelled_caught
            retries += 1
            if timeout_retry and retries <= 2:
                logger.info("Airlock: no answer for a command in sandbox %s %.0f s after its %s s timeout; retrying (%d of 2)", self.sandbox_id, EXEC_ANSWER_GRACE_S, limit, retries)
                continue
            raise TimeoutError(f"Command timed out after {timeout} seconds: the Airlock control process did not answer (its log: {self._server.log_tail(5)})")

    # -- files -----------------------------------------------------------------------------------

    @override
    async def write_file(self, file: str, contents: str | bytes) -> None:
        try:
            await self._server.request("write-file", sandbox=self.sandbox_id, path=file, data=_b64(contents))
        except RequestError as e:
            raise (self._request_error(e) if e.kind in ("killed", "no-sandbox", "unsupported-user") else _file_error(e, file)) from None

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    @override
    async def read_file(self, file: str, text: bool = True) -> Union[str | bytes]:
        try:
            r = await self._server.request("read-file", sandbox=self.sandbox_id, path=file, limit=SandboxEnvironmentLimits.MAX_READ_FILE_SIZE)
        except RequestError as e:
            raise (self._request_error(e) if e.kind in ("killed", "no-sandbox", "unsupported-user") else _file_error(e, file)) from None
        data = _unb64(r["data"])
        # Strict decoding (UnicodeDecodeError as documented); newlines untouched (CRLF stays CRLF).
        return data.decode("utf-8") if text else data

    # -- exec_remote -------------------------------------------------------------------------------

    async def exec_remote(self, cmd: list[str], options: Any = None, *, stream: bool = True) -> Any:  # type: ignore[override]
        # Inspect's exec_remote injects its sandbox-tools binary and runs it as a server that must
        # outlive the exec that started it. In Airlock every exec is its own pid namespace, which
        # dies with the command (that is what makes a timeout kill everything), so the server and
        # every process it started would be killed after each call: refused, not half-working.
        raise NotImplementedError(
            "Airlock sandboxes do not support exec_remote(): it needs a process that outlives its exec "
            "(Inspect's sandbox-tools server), and each Airlock exec is its own pid namespace that ends with "
            "the command. Use exec() (with timeout=) instead; long-lived services belong in the spec "
            "(workload.command or targets)."
        )

    # -- connection ------------------------------------------------------------------------------

    @override
    async def connection(self, *, user: str | None = None) -> SandboxConnection:
        """A shell in this sandbox: ``airlock sandbox exec --interactive <id>`` (as root, with this
        evaluation's state directory). The shell runs with exactly an exec's confinement, on a pty of
        the sandbox's own devpts; the caller's terminal is relayed, never passed in."""
        if user is not None and user not in (self.user.get("name"), str(self.user.get("uid"))):
            raise SandboxUserUnsupportedError(f"sandbox {self.sandbox_id} has only its workload user '{self.user.get('name')}' (uid {self.user.get('uid')}); '{user}' does not exist there")
        if self.destroyed is not None or self._killed is not None or not self._server.alive:
            why = f"killed ({self._killed.rule})" if self._killed is not None else "destroyed"
            raise ConnectionError(f"sandbox {self.sandbox_id} is not running ({why})")
        command = [*self._server.command, "sandbox", "exec", "--interactive", self.sandbox_id, "--", "/bin/bash", "-i"]
        state_dir = os.environ.get("AIRLOCK_STATE_DIR")
        prefix = f"AIRLOCK_STATE_DIR={shlex.quote(state_dir)} " if state_dir else ""
        if os.geteuid() == 0 and "SUDO_USER" not in os.environ:
            text = prefix + shlex.join(command)
        else:  # what to paste into a user's terminal: the command needs root, as Airlock does
            text = "sudo " + (f"env {prefix}" if prefix else "") + shlex.join(command)
        return SandboxConnection(type="airlock", command=text, container=self.sandbox_id)
