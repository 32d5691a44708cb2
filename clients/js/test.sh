#!/usr/bin/env bash
# Runs every JavaScript client test: the zstd decoder, frame decoding, and the client against a
# real broker (SWITCHBOARD_BIN, default /work/bin/switchboard) in Node; then the shared cases in
# headless Chromium (test/browser/run.mjs), and the ticker-dashboard example in Chromium.
# Needs node >= 20 and zstd; chromium for the browser part (scripts/deps.sh --test installs it).
# With file arguments, runs only those node --test files.
set -euo pipefail
cd "$(dirname "$0")"
command -v zstd >/dev/null || { echo "test.sh: the zstd command-line tool is needed (apt-get install -y zstd)" >&2; exit 1; }
# The JSDoc types, where TypeScript is installed (Debian: node-typescript); nothing to install otherwise.
if command -v tsc >/dev/null; then tsc -p tsconfig.json && echo "tsc: the JSDoc types check"; fi
node=(node --experimental-websocket --no-warnings=ExperimentalWarning)
if [ $# -gt 0 ]; then
  exec "${node[@]}" --test --test-concurrency=1 --test-reporter=spec "$@"
fi
# One file at a time: each starts its own broker, and the machine is shared with builds.
"${node[@]}" --test --test-concurrency=1 --test-reporter=spec test/*.test.js
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "${CHROMIUM:-}" ]; then
  "${node[@]}" test/browser/run.mjs
  "${node[@]}" ../../examples/ticker-dashboard/test.mjs
else
  echo "test.sh: SKIPPED the browser tests and the ticker-dashboard test: no chromium (apt-get install -y chromium, or scripts/deps.sh --test)" >&2
fi
