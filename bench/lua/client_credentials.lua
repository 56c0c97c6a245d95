-- client_credentials grant: one confidential client (HTTP Basic) asking for notes:read.
-- args[1] is the base64 of "client_id:client_secret".
ok, failed = 0, 0

function init(args)
  wrk.method = "POST"
  wrk.path = "/oauth/token"
  wrk.headers["Authorization"] = "Basic " .. args[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.body = "grant_type=client_credentials&scope=notes%3Aread"
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else failed = failed + 1 end
end
