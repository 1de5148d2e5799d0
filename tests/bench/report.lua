-- wrk script: rotate through the paths in BENCH_PATHS (one per line) and print JSON stats.
-- A line "PATH<TAB>Name: value" sends that header with the path (e.g. a shopper's bearer token).
local paths = {}
local file = os.getenv("BENCH_PATHS")
if file then
  for line in io.lines(file) do
    if #line > 0 then
      local tab = line:find("\t", 1, true)
      if tab then
        local header = line:sub(tab + 1)
        local colon = header:find(": ", 1, true)
        paths[#paths + 1] = {line:sub(1, tab - 1), {[header:sub(1, colon - 1)] = header:sub(colon + 2)}}
      else
        paths[#paths + 1] = {line, nil}
      end
    end
  end
end
local counter = 0

request = function()
  if #paths == 0 then return wrk.format(nil) end
  counter = counter + 1
  local entry = paths[(counter % #paths) + 1]
  return wrk.format(nil, entry[1], entry[2])
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
