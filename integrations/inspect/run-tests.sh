#!/usr/bin/env bash
# The Inspect AI integration's tests (pytest, from the pinned venv), as `npm test` runs them after
# mocha. Arguments go to pytest (e.g. -k contract). Needs root and the host lock on a shared host.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash bin/setup-tests.d/40-inspect-venv.sh # cached: returns at once when nothing changed
source integrations/inspect/venv-env.sh
exec "$INSPECT_VENV/bin/python" -m pytest integrations/inspect/tests -p no:cacheprovider -v -rs "$@"
