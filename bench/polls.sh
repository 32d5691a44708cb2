#!/usr/bin/env bash
# N long-polls waiting on one topic, one publish: how long until every poll answered, the
# broker's CPU for it and its memory per waiting poll; Switchboard, then nchan on the same load.
# Broker pinned to core 0, load tool to core 1; RUNS repeats of each, one JSON line per run.
# Usage: bench/polls.sh [RUNS] [COUNT]   (also written to bench-results/polls-*.jsonl)
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
bench="taskset -c 1 .build/release/switchboard-bench polls --count $count --json"
for run in $(seq 1 "$runs"); do
  taskset -c 0 .build/release/switchboard --port 18190 --max-waiting-polls $((count * 2)) >/dev/null 2>/tmp/switchboard-polls.err &
  broker=$!
  for _ in $(seq 1 100); do curl -sf 127.0.0.1:18190/healthz >/dev/null && break; sleep 0.1; done
  $bench --port 18190 --pid "$broker" | tee -a "$out"
  kill -TERM "$broker"; wait "$broker" || true

  read -r prefix master worker < <(bench/start-nchan.sh 18191 0)
  $bench --target nchan --port 18191 --pid "$worker" | tee -a "$out"
  kill "$master"; wait "$master" 2>/dev/null || true; rm -rf "$prefix"
done
echo "results: $out" >&2
