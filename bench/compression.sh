#!/usr/bin/env bash
# The figures of docs/COMPRESSION.md: bytes on the wire per event (Switchboard plain/zstd,
# nchan plain/permessage-deflate) and Switchboard's CPU per delivered event at 1,000
# subscribers with and without zstd. Broker pinned to core 0, the bench to core 1.
# Usage: bench/compression.sh [runs]   (JSON lines on stdout; run from the repository root)
set -euo pipefail
runs=${1:-3}
swift build -c release --product switchboard >&2
swift build -c release --product switchboard-bench >&2
bench="taskset -c 1 .build/release/switchboard-bench"
sb_port=8091; nchan_port=8090

taskset -c 0 .build/release/switchboard --port $sb_port --ring-capacity 1024 >/dev/null 2>&1 &
sb_pid=$!
read -r nchan_prefix nchan_master nchan_worker < <(bench/start-nchan.sh $nchan_port 0)
trap 'kill $sb_pid 2>/dev/null; kill "$nchan_master" 2>/dev/null' EXIT
sleep 1

for run in $(seq "$runs"); do
  for stream in ticker dashboard; do
    for c in none zstd; do $bench wire --target switchboard --port $sb_port --stream $stream --compression $c --events 1000 --rate 200; done
    for c in none deflate; do $bench wire --target nchan --port $nchan_port --stream $stream --compression $c --events 1000 --rate 200; done
  done
done
for run in $(seq "$runs"); do
  for stream in ticker dashboard; do
    for c in none zstd; do
      $bench fanout --target switchboard --port $sb_port --pid $sb_pid --subscribers 1000 --stream $stream --compression $c --events 1000 --rate 100
    done
    for c in none deflate; do
      $bench fanout --target nchan --port $nchan_port --pid "$nchan_worker" --subscribers 1000 --stream $stream --compression $c --events 1000 --rate 100
    done
  done
done
