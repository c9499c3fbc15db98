-- wrk script for the callback benchmarks (bench_interceptions.callbacks and kuaidi100_pushes).
-- wrk's Lua has no HMAC, so the benchmark writes the signed requests first, one per line:
-- "<X-Signature or ->\t<body>" (a kuaidi100 push carries its sign in the body: "-", no header).
-- Arguments: the file, the thread count, the body's content type, and a text whose presence in an
-- answer marks it applied (kuaidi100's '"result": true'). Thread i of n sends lines i, i+n, i+2n, ...
-- so every event id is sent once; a thread that runs out starts again, and those repeats come back
-- as duplicates, which done() counts apart.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path, step = args[1], tonumber(args[2])
  local content_type = args[3] or "application/json"
  mark = args[4] or ""
  pending, statuses, duplicates, marked = {}, {}, 0, 0
  local n = 0
  for line in io.lines(path) do
    if n % step == id then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      local headers = { ["Content-Type"] = content_type }
      if signature ~= "-" then
        headers["X-Signature"] = signature
      end
      pending[#pending + 1] = wrk.format("POST", nil, headers, body)
    end
    n = n + 1
  end
  sent = 0
end

function request()
  sent = sent + 1
  return pending[(sent - 1) % #pending + 1]
end

function response(status, headers, body)
  statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  if body:find('"duplicate":%s*true') then  -- json.dumps writes "duplicate": true
    duplicates = duplicates + 1
  end
  if mark ~= "" and body:find(mark, 1, true) then
    marked = marked + 1
  end
end

function done(summary, latency, requests)
  local counts, repeats, applied = {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
    repeats = repeats + thread:get("duplicates")
    applied = applied + thread:get("marked")
  end
  local parts = {}
  for status, count in pairs(counts) do
    parts[#parts + 1] = string.format('"%s": %d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "duplicates": %d, ' ..
    '"marked": %d, "errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), repeats, applied,
    e.connect + e.read + e.write + e.status + e.timeout, table.concat(parts, ", ")))
end
