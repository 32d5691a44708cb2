#!/usr/bin/env bash
# Starts nginx + nchan on 127.0.0.1:${1:-8090} from bench/nchan.conf, in its own prefix; prints its pid.
# Installs nginx and libnginx-mod-nchan from Debian when missing. Stop it with: kill "$(cat "$prefix/nginx.pid")".
set -euo pipefail
port=${1:-8090}
pin=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-nchan >/dev/null
fi
prefix=$(mktemp -d /tmp/switchboard-nchan.XXXXXX)
mkdir -p "$prefix/tmp" "$prefix/logs"
sed "s/@PORT@/$port/" "$here/nchan.conf" > "$prefix/nginx.conf"
if [ -n "$pin" ]; then
  taskset -c "$pin" nginx -p "$prefix" -c "$prefix/nginx.conf" 2>"$prefix/error.log" &
else
  nginx -p "$prefix" -c "$prefix/nginx.conf" 2>"$prefix/error.log" &
fi
for _ in $(seq 50); do [ -s "$prefix/nginx.pid" ] && break; sleep 0.1; done
# The worker does the work; report its pid (the master's only child).
master=$(cat "$prefix/nginx.pid")
for _ in $(seq 50); do worker=$(pgrep -P "$master" | head -1 || true); [ -n "$worker" ] && break; sleep 0.1; done
echo "$prefix $master $worker"
