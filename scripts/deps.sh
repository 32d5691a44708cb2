#!/usr/bin/env bash
# Installs the system packages the build needs (libzstd-dev; zstd for the tests' independent decoder;
# chromium for the admin page test) when missing.
set -euo pipefail
missing=()
dpkg -s libzstd-dev >/dev/null 2>&1 || missing+=(libzstd-dev)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
