#!/usr/bin/env bash
# Router-path requests/s and broker CPU per request, two broker builds interleaved, 3 runs:
# wrk -t1 -c16 on core 1, broker on core 0. Usage: bench/router-ab.sh OLD_BINARY NEW_BINARY
set -u
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
for run in 1 2 3; do
  for which in old new; do
    bin=$1; [ $which = new ] && bin=$2
    taskset -c 0 $bin --port 18777 >/dev/null 2>&1 & b=$!
    for _ in $(seq 50); do curl -sf 127.0.0.1:18777/healthz >/dev/null && break; sleep 0.1; done
    for i in $(seq 10); do curl -s -XPOST -H 'Content-Type: application/json' -d "{\"n\":$i}" 127.0.0.1:18777/v1/topics/ab >/dev/null; done
    for path in /healthz '/v1/topics/ab/events?since=0&limit=10'; do
      c0=$(cpu $b)
      r=$(taskset -c 1 wrk -t1 -c16 -d4s "http://127.0.0.1:18777$path" | awk '/Requests\/sec/ {print $2}')
      c1=$(cpu $b)
      echo "$which $run $path rps=$r cpu_us_per_req=$(python3 -c "print(round(($c1-$c0)*10000/($r*4),1))")"
    done
    kill $b; wait $b 2>/dev/null
  done
done
