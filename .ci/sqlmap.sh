#!/usr/bin/env bash
# Issue 5: an independent SQL-injection scanner (sqlmap, Debian package) against a real
# `rampart serve --dev`, once on SQLite and once on Postgres (a database of its own on
# $RAMPART_TEST_POSTGRES_URL's server, default 127.0.0.1:5432, dropped afterwards). Every string input an attacker reaches is scanned:
# the password grant's username/client_id/scope, and the admin API's search and filter
# parameters (with an admin token). Fails if sqlmap reports any injection point, or if a
# scan did not finish.
#
# The server trusts 127.0.0.1 as a proxy and sqlmap's `xforwardedfor` tamper gives every
# request a random client IP, so the per-IP limits do not turn the scan into a wall of
# 429s that would hide differences in the answers.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v sqlmap >/dev/null || { echo "sqlmap is not installed (apt-get install -y sqlmap)"; exit 1; }
cargo build -q -p rampart-server
pg_server=${RAMPART_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
pg_db="rampart_sqlmap_$$"
pg_url="${pg_server%/*}/$pg_db"
command -v psql >/dev/null || { echo "psql is not installed (apt-get install -y postgresql-client)"; exit 1; }
work=$(mktemp -d)
cleanup() {
  if [ -n "${server_pid:-}" ]; then kill "$server_pid" 2>/dev/null || true; fi
  psql -q "$pg_server" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql -q -v ON_ERROR_STOP=1 "$pg_server" -c "CREATE DATABASE $pg_db" >/dev/null ||
  { echo "could not create the Postgres database $pg_db on ${pg_server##*@}"; exit 1; }
export RAMPART_BOOTSTRAP_ADMIN_PASSWORD="sqlmap-admin-password"

# One server and one set of scans per backend: run_on NAME DATABASE_URL
run_on() {
local backend=$1 database_url=$2
echo "== sqlmap on $backend"
local data="$work/$backend"
port=$((20000 + RANDOM % 20000))
(cd "$work" && exec "$OLDPWD/target/debug/rampart" serve --dev --data-dir "$data" \
  --database-url "$database_url" \
  --https-addr "127.0.0.1:$port" --http-addr off --metrics-addr 127.0.0.1:0 \
  --public-url "https://localhost:$port" --trusted-proxies 127.0.0.1/32 \
  --login-rate-per-ip 0 --log-format text >"$work/server-$backend.log" 2>&1) &
server_pid=$!
base="https://localhost:$port"
for _ in $(seq 1 100); do
  if curl -fs --cacert "$data/dev-cert.pem" "$base/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
admin_token=$(curl -fs --cacert "$data/dev-cert.pem" "$base/oauth/token" \
  -d grant_type=password -d username=admin -d "password=$RAMPART_BOOTSTRAP_ADMIN_PASSWORD" \
  -d client_id=first-party -d scope=admin | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

scan token-endpoint username,client_id,scope -u "$base/oauth/token" \
  --data "grant_type=password&username=alice&password=wrong-password&client_id=first-party&scope=openid" \
  -p "username,client_id,scope"
scan admin-users q -u "$base/admin/users?q=adm&limit=10" -p q \
  --headers "Authorization: Bearer $admin_token"
scan admin-audit kind,actor,subject -u "$base/admin/audit?kind=login&actor=admin&subject=admin&limit=10" \
  -p "kind,actor,subject" --headers "Authorization: Bearer $admin_token"

# The scans must not have changed anything: the bootstrap admin still logs in.
curl -fs --cacert "$data/dev-cert.pem" "$base/oauth/token" -d grant_type=password \
  -d username=admin -d "password=$RAMPART_BOOTSTRAP_ADMIN_PASSWORD" -d client_id=first-party >/dev/null \
  || { echo "the admin can no longer log in after the scans ($backend)"; exit 1; }
if grep -E '" 500 |status=500|panicked' "$work/server-$backend.log"; then
  echo "the server answered 500 or panicked during the scans ($backend)"; exit 1
fi
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=
}

scan() {
  local name=$1 params=$2; shift 2
  echo "-- sqlmap ($backend): $name"
  local log="$work/$backend-$name.log"
  if ! timeout 300 sqlmap --batch --disable-coloring --flush-session --level 2 --risk 1 \
      --tamper=xforwardedfor --ignore-code 401 --output-dir "$work/sqlmap-$backend" --threads 4 "$@" >"$log" 2>&1; then
    echo "sqlmap failed or timed out on $name"; tail -30 "$log"; exit 1
  fi
  if grep -Eiq "identified the following injection point|appears to be .*injectable|is vulnerable" "$log"; then
    echo "INJECTION FOUND in $name"; grep -Ei "injectable|Parameter:|Payload:" "$log"; exit 1
  fi
  local param
  for param in ${params//,/ }; do
    if ! grep -Eq "parameter '$param' does not seem to be injectable" "$log"; then
      echo "sqlmap did not finish its checks of '$param' on $name"; grep -E "WARNING|ERROR|CRITICAL" "$log" | tail -30; exit 1
    fi
  done
  grep -Ei "not (seem|appear) to be injectable" "$log" | sed 's/^/   /'
}


run_on sqlite "sqlite://$work/sqlite/rampart.db"
run_on postgres "$pg_url"
echo "sqlmap: no injection point in any scanned parameter, on SQLite and on Postgres"
