#!/usr/bin/env bash
# Broker CPU for N connections of one kind (bench/connect_floor.py: tcp, ws or wstopic), for
# Switchboard (BIN, default .build/release/switchboard) or nchan; broker on core 0, client on core 1.
# Usage: bench/connect-floor.sh sb|nchan tcp|ws|wstopic N PORT   → one line: target mode n cpu_ms
set -uo pipefail
tgt=$1; mode=$2; n=$3; port=$4; bin=${BIN:-.build/release/switchboard}
cd "$(dirname "$0")/.."; ulimit -n "$(ulimit -Hn)"
if [ "$tgt" = sb ]; then
  taskset -c 0 "$bin" --port "$port" --max-connections 20000 --max-connections-per-ip 20000 --log-level "${LOGLEVEL:-info}" >/dev/null 2>&1 &
  pid=$!; stop="kill $pid"
  for _ in $(seq 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
else
  read -r prefix master pid < <(bench/start-nchan.sh "$port" 0); stop="kill $master"; sleep 0.5
fi
c0=$(awk '{print $14+$15}' "/proc/$pid/stat")
taskset -c 1 python3 bench/connect_floor.py "$port" "$mode" "$n" "$tgt" >/dev/null
c1=$(awk '{print $14+$15}' "/proc/$pid/stat")
$stop; wait 2>/dev/null; [ "$tgt" = nchan ] && rm -rf "$prefix"
echo "$tgt $mode n=$n cpu_ms=$(( (c1 - c0) * 10 ))"
