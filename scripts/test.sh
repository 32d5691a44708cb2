#!/usr/bin/env bash
# Builds everything and runs the whole test suite (core unit tests and server tests over real sockets).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
swift build --build-tests
swift test --skip-build
