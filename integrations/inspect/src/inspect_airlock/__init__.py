"""Airlock sandboxes for Inspect AI.

After ``pip install inspect-airlock`` an Inspect task switches to Airlock by naming it::

    Task(..., sandbox=("airlock", "sandbox.yaml"))

Each sample then runs in its own air-gapped local Airlock sandbox (network namespace with no route
out, an inspected egress gate, canaries wired to a kill switch, a tamper-evident record), created
and driven by one long-lived ``airlock serve`` process per evaluation. See docs/inspect.md in the
Airlock repository.
"""

from .errors import AirlockError, AirlockHostError, AirlockServerError, AirlockSpecError, SandboxKilledError
from .provider import AirlockSandboxEnvironment

__all__ = [
    "AirlockError",
    "AirlockHostError",
    "AirlockSandboxEnvironment",
    "AirlockServerError",
    "AirlockSpecError",
    "SandboxKilledError",
]
