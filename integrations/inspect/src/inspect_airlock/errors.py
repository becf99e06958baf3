"""What can go wrong, as exceptions a researcher can act on."""

from __future__ import annotations

from typing import Any


class AirlockError(RuntimeError):
    """Base class of every Airlock-specific error."""


class AirlockSpecError(ValueError, AirlockError):
    """The sandbox spec is invalid. The message lists every problem, as ``airlock check`` does."""

    def __init__(self, message: str, issues: list[str] | None = None, hint: str | None = None) -> None:
        self.issues = issues or []
        self.hint = hint
        lines = [f"airlock: {message}:"] if self.issues else [f"airlock: {message}"]
        lines += [f"  - {issue}" for issue in self.issues]
        if hint:
            lines.append(f"  fix: {hint}")
        super().__init__("\n".join(lines))


class AirlockHostError(AirlockError):
    """This host cannot build Airlock sandboxes (not root, a tool missing); the message names the fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(f"{message}" + (f"\n  fix: {hint}" if hint else ""))


class AirlockServerError(AirlockError):
    """The Airlock control process failed or went away (its log is quoted)."""


class SandboxKilledError(AirlockError):
    """Airlock's kill switch ended this sample's sandbox (a canary was touched, egress was denied too
    often, a limit was hit, or its ttl ran out).

    Deliberately not a ``SandboxUnavailableError``: Inspect turns that into a tool error and lets the
    sample go on, so an agent that tripped a canary would keep talking to a dead sandbox. This error
    ends the sample, with the rule, the record and its head hash in Inspect's log.
    """

    def __init__(self, sandbox: str, killed: dict[str, Any]) -> None:
        self.sandbox = sandbox
        self.rule = str(killed.get("rule"))
        self.detail = str(killed.get("detail"))
        self.record = killed.get("record")
        self.head = killed.get("head")
        message = f"Airlock's kill switch ended sandbox {sandbox} ({self.rule}: {self.detail})"
        if self.record:
            message += f"; record {self.record}"
        if self.head:
            message += f" (head {self.head}; check it with: airlock log verify {self.record} --head {self.head})"
        super().__init__(message)


class RequestError(AirlockError):
    """An error answer of the control protocol; ``kind`` says what went wrong (see protocol.ts)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.kind = str(body.get("kind", "internal"))
        self.body = body
        message = str(body.get("message", "request failed"))
        if body.get("hint"):
            message += f" (fix: {body['hint']})"
        super().__init__(message)
