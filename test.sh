#!/usr/bin/env bash
# The test command (README, and the first stage of .ci/run):
#
#   ./test.sh [extra cargo test arguments]
#
# Gets everything the test suite needs, then runs every test target and reports each:
# - Debian packages: nginx (tests/nginx.rs), chromium (tests/docs_browser.rs), Node.js and
#   npm for playwright-core, openssl; installed with apt-get when missing.
# - the browser tests' node modules (npm ci; playwright-core never downloads a browser);
# - PostgreSQL on 127.0.0.1:5432 (user postgres, database test): found, or started with
#   pg_ctlcluster; RAMPART_TEST_POSTGRES_URL points the Postgres targets at it.
# Whatever cannot be had stops the run with the reason and the remedy; nothing is skipped
# silently. `--no-fail-fast`: a failing target does not hide the ones after it.
set -euo pipefail
cd "$(dirname "$0")"

fail() {
  echo "error: $1" >&2
  [ $# -gt 1 ] && echo "remedy: $2" >&2
  exit 1
}
stage_started=$SECONDS
stage() {
  local now=$SECONDS
  [ -n "${stage_name:-}" ] && echo "   (${stage_name}: $((now - stage_started)) s)"
  stage_name=$1
  stage_started=$now
  echo "== $1"
}
trap '[ -n "${stage_name:-}" ] && echo "   (${stage_name}: $((SECONDS - stage_started)) s)"' EXIT

stage "test dependencies (Debian packages)"
command -v cargo >/dev/null 2>&1 || fail "cargo not found" "install Rust with rustup (https://rustup.rs)"
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  command -v apt-get >/dev/null 2>&1 ||
    fail "missing ${need[*]} and apt-get is not available" "install ${need[*]} with your package manager"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q ||
    fail "apt-get update failed" "check the network/apt sources, or install ${need[*]} by hand"
  "${sudo[@]}" apt-get install -y -q "${need[@]}" ||
    fail "could not install ${need[*]}" "run: apt-get install ${need[*]}"
fi

stage "browser test modules (npm ci)"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix crates/rampart-server/tests/browser \
  --no-audit --no-fund --loglevel=error ||
  fail "npm ci failed for crates/rampart-server/tests/browser" \
    "check access to the npm registry, then run: npm ci --prefix crates/rampart-server/tests/browser"

stage "PostgreSQL"
if [ -z "${RAMPART_TEST_POSTGRES_URL:-}" ]; then
  command -v pg_isready >/dev/null 2>&1 ||
    fail "pg_isready not found" "apt-get install postgresql-client, or set RAMPART_TEST_POSTGRES_URL to a server"
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true)
    command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$ver" ] ||
      fail "no PostgreSQL on 127.0.0.1:5432 and no local cluster to start" \
        "apt-get install postgresql (trust auth for 127.0.0.1, user postgres), or set RAMPART_TEST_POSTGRES_URL"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start ||
      fail "could not start PostgreSQL $ver/main" "see /var/log/postgresql/postgresql-$ver-main.log"
  fi
  for _ in $(seq 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q && break
    sleep 1
  done
  pg_isready -h 127.0.0.1 -p 5432 -d test -q ||
    fail "PostgreSQL is not ready on 127.0.0.1:5432 after 30 s" "check the server log"
  export RAMPART_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test
fi
echo "Postgres tests use the server at ${RAMPART_TEST_POSTGRES_URL##*@}"

stage "cargo test --workspace --all-features"
cargo test --workspace --all-features --no-fail-fast "$@"
