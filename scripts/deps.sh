#!/usr/bin/env bash
# Installs the system packages the build needs (libzstd-dev, pkg-config) when missing; with --test
# also what the tests use (zstd as an independent decoder, chromium for the admin page test).
set -euo pipefail
missing=()
dpkg -s libzstd-dev >/dev/null 2>&1 || missing+=(libzstd-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ "${1:-}" = "--test" ]; then
  command -v zstd >/dev/null 2>&1 || missing+=(zstd)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
