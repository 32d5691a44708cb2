-- wrk script for the publishes/s row of bench/compare.sh: POSTs one 153-byte JSON tick per
-- request (the URL picks the broker: /v1/topics/<t> for Switchboard, /pub/<ch> for nchan)
-- and prints one JSON line at the end.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"p":0,"n":1,"ts":1763771234567890,"symbol":"AAPL","bid":187.41,"ask":187.43,"last":187.42,"volume":2300,"exchange":"XNAS","bid_size":300,"ask_size":500}'

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"requests_per_second":%.1f,"non_2xx_3xx":%d,"socket_errors":%d,"latency_ms_p50":%.3f,"latency_ms_p99":%.3f}\n',
    summary.requests, summary.duration, summary.requests / summary.duration * 1e6, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
