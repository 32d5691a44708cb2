#!/usr/bin/env bash
# Broker CPU to accept 10,000 idle WebSocket connections (one topic each, `switchboard-bench
# idle`), two builds interleaved run by run; broker on core 0, tool on core 1, a fresh broker
# per run. One JSON line per run. Usage: bench/connect-ab.sh BEFORE_BINARY AFTER_BINARY [RUNS]
# With NCHAN=1, each round also runs nchan (bench/start-nchan.sh, worker pinned to core 0) on the
# same load: 10,000 connections to /sub/<unique channel>, its worker's CPU counted the same way.
set -uo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
port=18700
for run in $(seq "${3:-3}"); do
  for build in before after ${NCHAN:+nchan}; do
    port=$((port + 1))
    if [ "$build" = nchan ]; then
      read -r prefix master pid < <(bench/start-nchan.sh "$port" 0)
      sleep 0.5
      c0=$(cpu_ticks "$pid")
      json=$(taskset -c 1 .build/release/switchboard-bench idle --target nchan --port "$port" --pid "$pid" --connections 10000 2>/dev/null)
      c1=$(cpu_ticks "$pid")
      kill "$master"; sleep 0.5; rm -rf "$prefix"
      echo "{\"row\":\"idle\",\"build\":\"nchan\",\"run\":$run,\"cpu_ticks\":$((c1 - c0)),\"result\":$json}"
      continue
    fi
    binary=$1; [ "$build" = after ] && binary=$2
    taskset -c 0 "$binary" --port "$port" --max-connections 20000 --max-connections-per-ip 20000 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    c0=$(cpu_ticks "$pid")
    json=$(taskset -c 1 .build/release/switchboard-bench idle --port "$port" --pid "$pid" --connections 10000 2>/dev/null)
    c1=$(cpu_ticks "$pid")
    kill -TERM "$pid"; wait "$pid" 2>/dev/null
    echo "{\"row\":\"idle\",\"build\":\"$build\",\"run\":$run,\"cpu_ticks\":$((c1 - c0)),\"result\":$json}"
  done
done
