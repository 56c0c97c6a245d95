#!/usr/bin/env bash
# Issue 9's load comparison, one command from a clean clone:
#
#   bench/load.sh
#
# Installs wrk and the FastAPI peer if missing, builds the release binaries, then runs
# bench/load.py: /public vs /notes per algorithm (HS256, ES256, EdDSA, RS256), the FastAPI
# tutorial app, the refresh_token and client_credentials grants and the token server's
# peak RSS with 10,000 users. Everything listens on 127.0.0.1 and stops by itself
# (about 7.5 minutes with the defaults, plus the build). Prints the table; writes
# bench/out/results.json and docs/performance.svg.
#
#   bench/load.sh --routes
#
# runs only the four /public vs /notes pairs (about 4 minutes, twice that with a baseline;
# no FastAPI peer needed);
#
#   bench/load.sh --grants
#
# runs only the refresh_token and client_credentials grants, on SQLite and on Postgres
# (BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432, "off" to skip; a database
# of its own per server, dropped after), about 5 minutes, twice that with a baseline;
# with BENCH_BASE_BIN_DIR=<dir of another build's binaries> that build's resource server
# runs in the same rounds, so a change's before/after ratios share the machine's drift.
# BENCH_TOKEN_FLAGS / BENCH_BASE_TOKEN_FLAGS add `rampart serve` flags to this build's /
# the baseline's token servers (--grants): BENCH_BASE_BIN_DIR=target/release with
# BENCH_TOKEN_FLAGS="--db-max-connections 2" compares a setting in the same rounds.
#
# Environment: BENCH_SECONDS (6) per measured run, BENCH_ROUNDS (4) alternating rounds,
# BENCH_USERS (10000), BENCH_SKIP_BUILD=1 to use the binaries already in target/release.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(dirname "$BENCH_DIR")"
case " $* " in *" --routes "* | *" --grants "*) export BENCH_NEED_PEER=0 ;; esac
source "$BENCH_DIR/setup.sh"
exec python3 "$BENCH_DIR/load.py" "$@"
