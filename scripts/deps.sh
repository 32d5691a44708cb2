#!/usr/bin/env bash
# Installs the system packages the build needs (libzstd-dev, pkg-config) when missing; with --test
# also what the tests use (zstd as an independent decoder, chromium for the browser tests,
# redis-server for the Redis client's tests, which start their own on free ports).
set -euo pipefail
missing=()
dpkg -s libzstd-dev >/dev/null 2>&1 || missing+=(libzstd-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ "${1:-}" = "--test" ]; then
  command -v zstd >/dev/null 2>&1 || missing+=(zstd)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
