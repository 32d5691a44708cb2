#!/usr/bin/env bash
# Builds a libFuzzer target with AddressSanitizer and runs it for a number of seconds.
#   Fuzz/run.sh <target> <seconds> [extra libFuzzer flags]
# target: redis (the RESP3 decoder). Findings (crash-*, timeout-*, leak-*) land in Fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: Fuzz/run.sh <target> <seconds>}
seconds=${2:?usage: Fuzz/run.sh <target> <seconds>}
shift 2
case "$target" in
    redis) product=RedisDecoderFuzz ;;
    *) echo "unknown target '$target' (known: redis)" >&2; exit 2 ;;
esac
swift build -c debug --scratch-path .build-fuzz --product "$product" \
    -Xswiftc -sanitize=fuzzer,address
bin=$(swift build -c debug --scratch-path .build-fuzz --show-bin-path)/$product
mkdir -p findings "work/$target"
# The committed corpus seeds the run; what the run adds goes to Fuzz/work/ (git-ignored).
exec "$bin" "work/$target" "corpus/$target" -max_total_time="$seconds" -max_len=4096 \
    -timeout=10 -rss_limit_mb=2048 -artifact_prefix=findings/ -print_final_stats=1 "$@"
