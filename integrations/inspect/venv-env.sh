# Sourced by bin/setup-tests.d/40-inspect-venv.sh (which builds the venv) and by
# integrations/inspect/run-tests.sh (which uses it): where the Inspect AI venv of this checkout is.
#   AIRLOCK_PYTHON=python3.11     the interpreter to build it with (default: python3)
#   AIRLOCK_INSPECT_VENV=<dir>    use/build it there instead (e.g. a fresh one, to try a clean install)
INSPECT_VERSION=0.3.285
INSPECT_PKG=integrations/inspect
INSPECT_PY=${AIRLOCK_PYTHON:-python3}
if ! command -v "$INSPECT_PY" >/dev/null; then
  echo "inspect venv: $INSPECT_PY not found: install python3 (>= 3.10)" >&2
  exit 1
fi
INSPECT_PYVER=$("$INSPECT_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
INSPECT_LOCKHASH=$(sha256sum "$INSPECT_PKG/constraints.txt" | cut -c1-10)
INSPECT_VENV=${AIRLOCK_INSPECT_VENV:-/var/cache/airlock/inspect-venv-$INSPECT_VERSION-py$INSPECT_PYVER-$INSPECT_LOCKHASH}
