-- recommend.lua - wrk script: GET /movies/recommend/{random user 1..943}/{N} (N from env WRK_N, default 10).
-- Run: wrk -t2 -c64 -d15s --latency -s recommend.lua http://127.0.0.1:8000
-- Prints a machine-readable "SUMMARY ..." line at the end (requests/s, latency p50/p90/p99 in ms, errors).
local n = os.getenv("WRK_N") or "10"
local nusers = tonumber(os.getenv("WRK_USERS") or "943")
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

init = function(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
end

request = function()
  return wrk.format("GET", "/movies/recommend/" .. math.random(1, nusers) .. "/" .. n .. (os.getenv("WRK_QUERY") or ""))
end

done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "SUMMARY requests=%d rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d sock_err=%d\n",
    summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
