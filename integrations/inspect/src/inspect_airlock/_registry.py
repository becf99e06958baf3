# Loaded by Inspect through the "inspect_ai" entry point (pyproject.toml): importing the provider
# registers the "airlock" sandbox type, so that sandbox=("airlock", "spec.yaml") resolves.
from .provider import AirlockSandboxEnvironment  # noqa: F401
