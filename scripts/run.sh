#!/usr/bin/env bash
# Builds the broker (release) and starts it with the embedded defaults on 127.0.0.1:8080.
# Extra arguments go to switchboard, e.g. scripts/run.sh --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build -c release --product switchboard
exec .build/release/switchboard "$@"
