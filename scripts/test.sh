#!/usr/bin/env bash
# Builds everything and runs the whole test suite: core unit tests, server tests over real
# sockets, the Redis client against real redis-server processes, and the client libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
swift build --build-tests
swift test --skip-build
# The client libraries' tests run against the broker just built.
export SWITCHBOARD_BIN="$PWD/.build/debug/switchboard"
clients/python/test.sh
clients/js/test.sh
