#!/usr/bin/env bash
# Where the CPU goes, for the figures bench/load.sh cannot explain by itself:
#
#   bench/profile.sh notes|public|notes-hs256|public-hs256|client_credentials|refresh_token
#
# Starts the servers as load.py does (ES256; the -hs256 targets: the shared-secret resource
# server alone), runs wrk against the target for 8 s while
# `perf record` samples the server process, then prints the time by thread and by binary
# (kernel/user) and the top symbols. Needs `perf` (Debian: linux-perf). Release binaries
# must already be built (bench/load.sh builds them).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$BENCH_DIR/profile.py" "$@"
