-- wrk script: rotate through the paths in BENCH_PATHS (one per line) and print JSON stats.
local paths = {}
local file = os.getenv("BENCH_PATHS")
if file then
  for line in io.lines(file) do
    if #line > 0 then paths[#paths + 1] = line end
  end
end
local counter = 0

request = function()
  if #paths == 0 then return wrk.format(nil) end
  counter = counter + 1
  return wrk.format(nil, paths[(counter % #paths) + 1])
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
