#!/usr/bin/env bash
# Issue 13's before/after: two broker builds interleaved run by run on the loads the connection
# layer and engine seam touch. Broker pinned to core 0, load tools to core 1, a fresh broker
# per run. Rows: publishes/s (wrk -t1 -c16, 153-byte JSON, no subscribers) with the broker's
# CPU per publish; 1,000 WebSocket subscribers at max rate with 4 closed-loop publishers
# (switchboard-bench fanout, readers batched at 4 KiB); 10,000 idle WebSocket connections
# opened (broker CPU for the connects, KiB each); 10,000 long-polls answered by one publish.
# Usage: bench/layer-ab.sh BEFORE_BINARY AFTER_BINARY [RUNS]   (one JSON line per run on stdout)
set -uo pipefail
cd "$(dirname "$0")/.."
before=$1; after=$2; runs=${3:-3}
ulimit -n "$(ulimit -Hn)"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
bench="taskset -c 1 .build/release/switchboard-bench"
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
port=18400
start() {
  port=$((port + 1))
  taskset -c 0 "$1" --port "$port" --max-connections 20000 --max-connections-per-ip 20000 --max-waiting-polls 20000 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 0.1; done
  return 1
}
stop() { kill -TERM "$pid"; wait "$pid" 2>/dev/null; }
for run in $(seq "$runs"); do
  for build in before after; do
    binary=$before; [ "$build" = after ] && binary=$after
    start "$binary"; c0=$(cpu_ticks "$pid")
    json=$(taskset -c 1 wrk -t1 -c16 -d5s -s bench/publish.lua "http://127.0.0.1:$port/v1/topics/bench.publish" | tail -1)
    c1=$(cpu_ticks "$pid"); stop
    echo "{\"row\":\"publish\",\"build\":\"$build\",\"run\":$run,\"cpu_ticks\":$((c1 - c0)),\"wrk\":$json}"
    start "$binary"
    json=$($bench fanout --target switchboard --port "$port" --pid "$pid" --subscribers 1000 --rate 0 --publishers 4 --duration 10 --read-batch-bytes 4096 2>/dev/null)
    stop
    echo "{\"row\":\"throughput4\",\"build\":\"$build\",\"run\":$run,\"result\":$json}"
    start "$binary"; c0=$(cpu_ticks "$pid")
    json=$($bench idle --target switchboard --port "$port" --pid "$pid" --connections 10000 2>/dev/null)
    c1=$(cpu_ticks "$pid"); stop
    echo "{\"row\":\"idle\",\"build\":\"$build\",\"run\":$run,\"cpu_ticks\":$((c1 - c0)),\"result\":$json}"
    start "$binary"
    json=$($bench polls --count 10000 --json --port "$port" --pid "$pid" 2>/dev/null)
    stop
    echo "{\"row\":\"polls\",\"build\":\"$build\",\"run\":$run,\"result\":$json}"
  done
done
