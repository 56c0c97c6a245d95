#!/usr/bin/env bash
# The library's criterion bench (per algorithm: bare signature check, full uncached
# validation; plus a verified-token cache hit), summarised as ratios:
#
#   bench/criterion.sh            # about 1 minute after the build
#
# Extra arguments go to criterion (e.g. --measurement-time 5). Writes
# bench/out/criterion.json.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(dirname "$BENCH_DIR")"
cd "$ROOT_DIR"
cargo bench -p rampart --bench validation -- "$@"
cargo bench -p rampart --bench request -- "$@"
exec python3 "$BENCH_DIR/criterion_summary.py" "${CARGO_TARGET_DIR:-$ROOT_DIR/target}/criterion"
