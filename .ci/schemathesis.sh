#!/usr/bin/env bash
# Contract fuzzing: schemathesis against the OpenAPI document of a running dev server.
#
# Builds and starts `rampart serve --dev` in a temporary directory (its own self-signed
# certificate, a bootstrap administrator with a known password), waits for /healthz, gets
# an admin token through the password grant, runs `st run … --checks all` with the
# checks' default expectations, stops the server and exits with schemathesis's status.
#
# `--request-retries`: a request whose body the server did not read (e.g. refused with 401
# before the handler) ends its keep-alive connection without `Connection: close`, so a
# client that reuses it at once may see the connection reset (hyper drains no unread body
# over TLS). That is a transport race, not an API answer; retrying keeps the run about the
# contract.
#
# Environment: ST (the schemathesis CLI, default `st`), ST_MAX_EXAMPLES (default 25),
# ST_MAX_TIME (seconds for the whole run, default 300), ST_SEED (reproduce a run),
# RAMPART_LOG (server log filter, default warn). Extra arguments go to `st run`.
set -euo pipefail
cd "$(dirname "$0")/.."

st=${ST:-st}
command -v "$st" >/dev/null 2>&1 || { echo "schemathesis CLI '$st' not found (set ST=path/to/st)" >&2; exit 1; }

cargo build --quiet -p rampart-server --bin rampart
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="https://localhost:${port}"
password="fuzz-$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"

RAMPART_BOOTSTRAP_ADMIN_PASSWORD="$password" \
RAMPART_METRICS_ADDR=127.0.0.1:0 \
RAMPART_LOG_FORMAT=json \
RAMPART_LOG="${RAMPART_LOG:-warn}" \
  target/debug/rampart serve --dev --data-dir "$dir" --https-addr "127.0.0.1:${port}" \
    --http-addr off --public-url "$base" >"$dir/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  if [ -f "$dir/dev-cert.pem" ] && curl -sf --cacert "$dir/dev-cert.pem" "$base/healthz" >/dev/null; then
    break
  fi
  kill -0 "$server" 2>/dev/null || { cat "$dir/server.log" >&2; echo "the server exited" >&2; exit 1; }
  sleep 0.2
done
curl -sf --cacert "$dir/dev-cert.pem" "$base/healthz" >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

token=$(curl -sf --cacert "$dir/dev-cert.pem" "$base/oauth/token" \
  --data-urlencode grant_type=password --data-urlencode username=admin \
  --data-urlencode "password=$password" --data-urlencode "scope=profile admin" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

# The run's own administrator and session (not secrets): the hooks keep the fuzzer from
# revoking the credentials it runs on (.ci/schemathesis_hooks.py `filter_case`).
me=$(curl -sf --cacert "$dir/dev-cert.pem" -H "Authorization: Bearer $token" "$base/users/me" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
session=$(curl -sf --cacert "$dir/dev-cert.pem" -H "Authorization: Bearer $token" "$base/admin/sessions?user_id=$me" |
  python3 -c 'import json, sys; print(",".join(s["id"] for s in json.load(sys.stdin)))')

status=0
RAMPART_FUZZ_ADMIN_ID="$me" RAMPART_FUZZ_ADMIN_SESSIONS="$session" RAMPART_TOKEN="$token" "$st" --config-file .ci/schemathesis.toml run "$base/openapi.json" \
  --checks all \
  --tls-verify "$dir/dev-cert.pem" \
  --workers 1 \
  --max-examples "${ST_MAX_EXAMPLES:-25}" \
  --max-time "${ST_MAX_TIME:-300}" \
  --request-timeout 10 \
  --request-retries 2 \
  --generation-database none \
  ${ST_SEED:+--seed "$ST_SEED"} \
  --no-color "$@" || status=$?

if [ "$status" -ne 0 ]; then
  echo "== server log (warnings and errors)" >&2
  tail -n 50 "$dir/server.log" >&2
fi
exit "$status"
