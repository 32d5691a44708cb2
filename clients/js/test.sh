#!/usr/bin/env bash
# Runs every JavaScript client test: the zstd decoder, frame decoding, and the client against a
# real broker (SWITCHBOARD_BIN, default /work/bin/switchboard). Needs node >= 20 and zstd.
set -euo pipefail
cd "$(dirname "$0")"
command -v zstd >/dev/null || { echo "test.sh: the zstd command-line tool is needed (apt-get install -y zstd)" >&2; exit 1; }
# The JSDoc types, where TypeScript is installed (Debian: node-typescript); nothing to install otherwise.
if command -v tsc >/dev/null; then tsc -p tsconfig.json && echo "tsc: the JSDoc types check"; fi
# One file at a time: each starts its own broker, and the machine is shared with builds.
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test/*.test.js)
exec node --experimental-websocket --no-warnings=ExperimentalWarning --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
