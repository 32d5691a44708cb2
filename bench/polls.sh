#!/usr/bin/env bash
# 10,000 long-polls waiting on one topic, one publish: how long until every poll answered.
# Broker (release) on core 0, load tool on core 1; RUNS repeats, one JSON line each.
# Usage: bench/polls.sh [RUNS] [COUNT]   (results: bench-results/polls-*.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
count=${2:-10000}
ulimit -n "$(ulimit -Hn)"   # 10,000 polls need more descriptors than the default soft limit
scripts/deps.sh >&2
swift build -c release --product switchboard >&2
swift build -c release --product switchboard-bench >&2
mkdir -p bench-results
out="bench-results/polls-$(date +%Y%m%d-%H%M%S).jsonl"
port=18090
for run in $(seq 1 "$runs"); do
  taskset -c 0 .build/release/switchboard --port "$port" --max-waiting-polls $((count * 2)) >/dev/null 2>/tmp/switchboard-polls.err &
  broker=$!
  for _ in $(seq 1 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  taskset -c 1 .build/release/switchboard-bench polls --port "$port" --count "$count" --pid "$broker" --json | tee -a "$out"
  kill -TERM "$broker"; wait "$broker" || true
done
echo "results: $out" >&2
