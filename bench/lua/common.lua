-- Shared by every wrk run of bench/: collects per-thread counters and prints one JSON
-- line ("WRKJSON {...}") that bench/harness.py parses. Scripts that count responses set
-- globals named in COUNTERS from their response(); thread:get() reads them back here.
-- A script may define on_done(threads), called first.
COUNTERS = { "ok", "failed", "starved", "s200", "s400", "s401", "s429", "s503", "sother", "codes_seen" }

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  if on_done then on_done(threads) end
  local counters = {}
  for _, name in ipairs(COUNTERS) do
    local total = 0
    for _, t in ipairs(threads) do
      total = total + (tonumber(t:get(name)) or 0)
    end
    table.insert(counters, string.format('"%s":%d', name, total))
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d},' ..
    '"counters":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max,
    table.concat(counters, ",")))
end
