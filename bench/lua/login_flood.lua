-- A login flood on the password grant.
--   args[1] = "rampart-stuffing": random seeded usernames, wrong passwords, each from a
--             random client IP (X-Forwarded-For, honoured because the server trusts the
--             loopback proxy): every attempt reaches password hashing.
--   args[1] = "rampart-single-ip": the same without X-Forwarded-For: one client IP, so the
--             per-IP rate limit and failure throttle answer most attempts with 429.
--   args[1] = "fastapi": the peer app's POST /token as user alice with a wrong password
--             (FastAPI's tutorial hashes only for existing users).
--   args[1] = "rampart-valid": the right password (args[3]) for random seeded users, from
--             one IP: a login storm of real users (run with --login-rate-per-ip 0).
--   args[1] = "rampart-login-form": the stuffing flood on the browser login form (POST
--             /login with its CSRF secret and authorization request, args[5]), each from a
--             random client IP: the same limit, lockout and hashing pool as the grant.
-- args[2] = number of seeded users (bench-00000 ...).
-- args[4] = milliseconds each connection waits before its next attempt (0: as fast as
--           answers come). With C connections the offered rate is at most C*1000/args[4].
local mode, users, password, pause, signin_request
local csrf = string.rep("c", 43)
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
s200, s400, s401, s429, s503, sother = 0, 0, 0, 0, 0, 0

function init(args)
  mode = args[1]
  users = tonumber(args[2] or "10000")
  password = args[3]
  pause = tonumber(args[4] or "0")
  signin_request = args[5]
  math.randomseed(os.time())
end

function request()
  local attempt = math.random(1, 1e9)
  if mode == "rampart-login-form" then
    local headers = {
      ["Content-Type"] = form["Content-Type"],
      ["Cookie"] = "__Host-rampart-csrf=" .. csrf,
      ["X-Forwarded-For"] = string.format("10.%d.%d.%d",
        math.random(0, 255), math.random(0, 255), math.random(1, 254)),
      ["X-Forwarded-Proto"] = "https",
    }
    return wrk.format("POST", "/login", headers, string.format(
      "csrf=%s&request=%s&username=bench-%05d&password=wrong-%d",
      csrf, signin_request, math.random(0, users - 1), attempt))
  end
  if mode == "fastapi" then
    return wrk.format("POST", "/token", form,
      "username=alice&password=wrong-" .. attempt)
  end
  local body = string.format(
    "grant_type=password&username=bench-%05d&password=wrong-%d",
    math.random(0, users - 1), attempt)
  if mode == "rampart-valid" then
    body = string.format("grant_type=password&username=bench-%05d&password=%s",
      math.random(0, users - 1), password)
  end
  if mode == "rampart-stuffing" then
    local headers = {
      ["Content-Type"] = form["Content-Type"],
      ["X-Forwarded-For"] = string.format("10.%d.%d.%d",
        math.random(0, 255), math.random(0, 255), math.random(1, 254)),
      ["X-Forwarded-Proto"] = "https",
    }
    return wrk.format("POST", "/oauth/token", headers, body)
  end
  return wrk.format("POST", "/oauth/token", form, body)
end

function delay()
  return pause
end

function response(status, headers, body)
  if status == 200 then s200 = s200 + 1
  elseif status == 400 then s400 = s400 + 1
  elseif status == 401 then s401 = s401 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status == 503 then s503 = s503 + 1
  else sother = sother + 1 end
end
