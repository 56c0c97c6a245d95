-- refresh_token grant. Refresh tokens rotate on every use and a reused one revokes its
-- family, so the thread keeps a pool: request() takes a token out, response() puts the
-- rotated one back. init() loads the pre-issued tokens (one per line) from args[1]; the
-- pool must hold more tokens than there are connections. At the end the unused tokens
-- are written back to args[1] for the next run (the ones in flight when wrk stopped are
-- lost: about one per connection per run).
pool, head, tail = {}, 1, 0
pool_file = nil
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
ok, failed, starved = 0, 0, 0
s400, s401, s429, s503, sother = 0, 0, 0, 0, 0

function init(args)
  pool_file = args[1]
  local f = assert(io.open(pool_file, "r"))
  for line in f:lines() do
    if #line > 0 then
      tail = tail + 1
      pool[tail] = line
    end
  end
  f:close()
end

function request()
  local token = "pool-empty"
  if head <= tail then
    token = pool[head]
    pool[head] = nil
    head = head + 1
  else
    starved = starved + 1
  end
  return wrk.format("POST", "/oauth/token", form,
    "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      tail = tail + 1
      pool[tail] = token
      ok = ok + 1
      return
    end
  end
  failed = failed + 1
  if status == 400 then s400 = s400 + 1
  elseif status == 401 then s401 = s401 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status == 503 then s503 = s503 + 1
  else sother = sother + 1 end
  if status ~= 400 and sother + s401 + s429 + s503 <= 3 then
    io.stderr:write("refresh: HTTP ", status, " ", body:sub(1, 200), "\n")
  end
end

function on_done(threads)
  for _, t in ipairs(threads) do
    local left, first, last = t:get("pool"), t:get("head"), t:get("tail")
    local f = assert(io.open(t:get("pool_file"), "w"))
    for i = first, last do
      if left[i] then f:write(left[i], "\n") end
    end
    f:close()
  end
end
