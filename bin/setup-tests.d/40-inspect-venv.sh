#!/usr/bin/env bash
# The Inspect AI integration's Python environment (integrations/inspect): a virtual environment with
# inspect-ai and every dependency pinned by integrations/inspect/constraints.txt, plus the
# inspect-airlock package of this checkout. Cached outside the repository under a path named by the
# inspect-ai version, the Python version and the lock file's hash, so a second run only re-installs
# the (small) plugin when its source changed. Prints the venv's path on its last line of output.
# Where: integrations/inspect/venv-env.sh (AIRLOCK_PYTHON, AIRLOCK_INSPECT_VENV override it).
set -euo pipefail
cd "$(dirname "$0")/../.."

source integrations/inspect/venv-env.sh
PKG=$INSPECT_PKG
PY=$INSPECT_PY
pyver=$INSPECT_PYVER
lockhash=$INSPECT_LOCKHASH
VENV=$INSPECT_VENV
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || { echo "setup-tests: inspect-ai needs Python >= 3.10 (found $pyver)" >&2; exit 1; }
srchash=$(cd "$PKG" && find pyproject.toml src -type f -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)

mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9 # two checkouts setting up at once build it once

pip_install() { "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q "$@"; }

if [ "$(cat "$VENV/.airlock-deps" 2>/dev/null)" = "$lockhash" ] && [ "$(cat "$VENV/.airlock-plugin" 2>/dev/null)" = "$srchash" ]; then
  echo "setup-tests: Inspect AI venv ready (cached): $VENV"
  exit 0
fi

if [ "$(cat "$VENV/.airlock-deps" 2>/dev/null)" != "$lockhash" ]; then
  echo "setup-tests: building the Inspect AI venv (inspect-ai $INSPECT_VERSION, pinned dependencies; 1-2 min): $VENV"
  rm -rf "$VENV"
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    # Debian's python3 has no ensurepip without python3-venv.
    rm -rf "$VENV"
    if command -v apt-get >/dev/null; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "python3-venv" "python$pyver-venv" >/dev/null 2>&1 \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    "$PY" -m venv "$VENV"
  fi
  pip_install -c "$PKG/constraints.txt" "inspect-ai==$INSPECT_VERSION" pytest setuptools
  echo "$lockhash" > "$VENV/.airlock-deps"
else
  echo "setup-tests: updating inspect-airlock in the Inspect AI venv (source changed): $VENV"
fi

# The plugin, installed as a copy (not editable: several checkouts share this venv). Built from a
# temporary copy so that no build artefacts land in the checkout.
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp -r "$PKG/pyproject.toml" "$PKG/src" "$build/"
pip_install --no-deps --no-build-isolation --force-reinstall "$build"
echo "$srchash" > "$VENV/.airlock-plugin"
