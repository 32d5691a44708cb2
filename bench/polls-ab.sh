#!/usr/bin/env bash
# Two broker builds and nchan, interleaved run by run, on the polls load of bench/polls.sh
# (10,000 long-polls on one topic, one publish; broker on core 0, load tool on core 1).
# Each JSON line gets "build" (before | after | nchan) and the 1-minute load average.
# Usage: bench/polls-ab.sh BEFORE_BINARY AFTER_BINARY [RUNS] [COUNT] > results.jsonl
# e.g.   git worktree add /tmp/sb-before 1cb55b1 && (cd /tmp/sb-before && swift build -c release --product switchboard)
#        bench/polls-ab.sh /tmp/sb-before/.build/release/switchboard .build/release/switchboard 3
set -euo pipefail
cd "$(dirname "$0")/.."
before=$1; after=$2; runs=${3:-3}; count=${4:-10000}
ulimit -n "$(ulimit -Hn)"
swift build -c release --product switchboard-bench >&2
bench="taskset -c 1 .build/release/switchboard-bench polls --count $count --json"
tag() { sed "s/^{/{\"build\":\"$1\",\"loadavg_1m\":$(cut -d' ' -f1 /proc/loadavg),/"; }
for _ in $(seq 1 "$runs"); do
  for build in before after; do
    binary=$before; [ "$build" = after ] && binary=$after
    taskset -c 0 "$binary" --port 18190 --max-waiting-polls $((count * 2)) >/dev/null 2>/tmp/switchboard-polls.err &
    broker=$!
    for _ in $(seq 1 100); do curl -sf 127.0.0.1:18190/healthz >/dev/null && break; sleep 0.1; done
    $bench --port 18190 --pid "$broker" | tag "$build"
    kill -TERM "$broker"; wait "$broker" || true
  done
  read -r prefix master worker < <(bench/start-nchan.sh 18191 0)
  $bench --target nchan --port 18191 --pid "$worker" | tag nchan
  kill "$master"; wait "$master" 2>/dev/null || true; rm -rf "$prefix"
done
