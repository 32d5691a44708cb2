#!/usr/bin/env bash
# Runs the Python client's tests against a real broker.
# Makes clients/python/.venv if missing, installs the package with its test extras,
# type-checks it (mypy --strict) and runs pytest. Exits non-zero on any failure,
# including pytest's exit code 5 (no tests collected).
# The broker binary: $SWITCHBOARD_BIN, else /work/bin/switchboard, else .build/{debug,release}.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade ".[test]"

.venv/bin/python -m mypy --strict src tests

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
