#!/usr/bin/env bash
# Issue 5's login-flood check, one command from a clean clone:
#
#   bench/login-flood.sh
#
# Floods the token endpoint with password-grant attempts while measuring protected routes,
# idle and under flood in alternating rounds, for Rampart and for the FastAPI tutorial app.
# Everything listens on 127.0.0.1 and stops by itself (about 4 minutes). Prints the table;
# writes bench/out/login-flood.json.
#
# Environment: BENCH_SECONDS (8) per measured run, BENCH_ROUNDS (2), BENCH_USERS (10000),
# BENCH_SKIP_BUILD=1 to use the binaries already in target/release.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(dirname "$BENCH_DIR")"
source "$BENCH_DIR/setup.sh"
exec python3 "$BENCH_DIR/login_flood.py" "$@"
