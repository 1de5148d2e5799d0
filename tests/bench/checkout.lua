-- wrk script: POST /checkout once per shopper. BENCH_TOKENS holds one bearer token per line
-- (a shopper with a filled cart); wrk thread n of BENCH_THREADS takes every n-th line, so no
-- cart is checked out twice. Prints the same BENCH_JSON line as report.lua.
local tokens, index = {}, 0
local body = os.getenv("BENCH_BODY")

setup = function(thread)
  thread:set("tid", setup_count or 0)
  setup_count = (setup_count or 0) + 1
end

init = function(args)
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  local n = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if #line > 0 then
      if n % threads == tid then tokens[#tokens + 1] = line end
      n = n + 1
    end
  end
end

request = function()
  index = index + 1
  -- Past the last shopper the request repeats one (a 409: counted in non_2xx, never hidden).
  local token = tokens[math.min(index, #tokens)]
  return wrk.format("POST", "/api/v1/checkout",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "seconds": %.3f, "errors": %d, "non_2xx": %d, '
    .. '"p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
