-- Complete authorization-code flows with a live browser session (issue 17): each
-- connection alternates GET /oauth/authorize (session cookie; first-party client, so no
-- consent) → 303 with a code → POST /oauth/token grant_type=authorization_code with the
-- PKCE verifier. response() queues every code it sees; request() redeems a queued code
-- when there is one and starts a new authorization otherwise. `ok` counts completed
-- flows (token responses with an access token).
--   args[1] = the Cookie header (the browser session)
--   args[2] = the authorization request's path and query
--   args[3] = client_id   args[4] = redirect_uri (form-encoded)   args[5] = code_verifier
local cookie, authorize, client_id, redirect_uri, verifier
local codes, head, tail = {}, 1, 0
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
ok, failed, s200, s400, s401, s429, s503, sother = 0, 0, 0, 0, 0, 0, 0, 0
codes_seen = 0

function init(args)
  cookie, authorize, client_id, redirect_uri, verifier = args[1], args[2], args[3], args[4], args[5]
end

function request()
  if head <= tail then
    local code = codes[head]
    codes[head] = nil
    head = head + 1
    return wrk.format("POST", "/oauth/token", form,
      "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" .. redirect_uri ..
      "&code_verifier=" .. verifier .. "&client_id=" .. client_id)
  end
  return wrk.format("GET", authorize, { ["Cookie"] = cookie })
end

function response(status, headers, body)
  if status == 303 then
    local location = headers["Location"] or headers["location"] or ""
    local code = location:match("[?&]code=([^&]+)")
    if code then
      codes_seen = codes_seen + 1
      tail = tail + 1
      codes[tail] = code
      return
    end
  elseif status == 200 and body:find('"access_token"', 1, true) then
    ok = ok + 1
    return
  end
  failed = failed + 1
  if status == 400 then s400 = s400 + 1
  elseif status == 401 then s401 = s401 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status == 503 then s503 = s503 + 1
  else sother = sother + 1 end
  if failed <= 3 then
    io.stderr:write("code flow: HTTP ", status, " ", (headers["Location"] or ""), " ", body:sub(1, 200), "\n")
  end
end
