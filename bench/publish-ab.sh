#!/usr/bin/env bash
# Publishes/s of two broker builds interleaved, 5 runs: wrk -t1 -c16 -d5s (bench/publish.lua, 153-byte JSON,
# no subscribers) on core 1, broker on core 0; one JSON line per run with the broker CPU ticks.
# Usage: bench/publish-ab.sh BEFORE_BINARY AFTER_BINARY > results.jsonl
cd "$(dirname "$0")/.."
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
port=18500
for run in 1 2 3 4 5; do for build in before after; do
  bin=$1; [ $build = after ] && bin=$2
  port=$((port+1)); taskset -c 0 $bin --port $port >/dev/null 2>&1 & p=$!
  for _ in $(seq 100); do curl -sf 127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
  c0=$(cpu $p); json=$(taskset -c 1 wrk -t1 -c16 -d5s -s bench/publish.lua "http://127.0.0.1:$port/v1/topics/bench.publish" | tail -1); c1=$(cpu $p)
  kill $p; wait $p 2>/dev/null
  echo "{\"row\":\"publish\",\"build\":\"$build\",\"run\":$run,\"cpu_ticks\":$((c1-c0)),\"wrk\":$json}"
done; done
