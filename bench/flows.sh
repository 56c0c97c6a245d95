#!/usr/bin/env bash
# Issue 17's sign-in benchmark, one command from a clean clone:
#
#   bench/flows.sh
#
# Complete authorization-code flows (authorize with a live browser session → code →
# token exchange with PKCE, ES256) on SQLite and on Postgres, beside the client_credentials
# grant of the same server in the same rounds. About 2 minutes plus the build. Prints the
# table; writes bench/out/flows.json.
#
# Environment: BENCH_SECONDS (6) per measured run, BENCH_ROUNDS (3), BENCH_POSTGRES
# (postgres://postgres@127.0.0.1:5432, "off" for SQLite only), BENCH_SKIP_BUILD=1 to use the
# binaries already in target/release.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(dirname "$BENCH_DIR")"
BENCH_NEED_PEER=${BENCH_NEED_PEER:-0} source "$BENCH_DIR/setup.sh"
exec python3 "$BENCH_DIR/flows.py" "$@"
