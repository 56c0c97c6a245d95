#!/usr/bin/env bash
# GET /users/me of this checkout against a baseline revision, in one run:
#
#   bench/users-me-ab.sh [BASE_REV]      (default: 3f4ec5f, before issue 14's access check)
#
# Builds both release binaries (the baseline in a temporary git worktree sharing this
# target directory's dependencies), then runs bench/users_me_ab.py. Loopback only.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(dirname "$BENCH_DIR")"
BASE_REV=${1:-3f4ec5f}
base_tree=$(mktemp -d /tmp/rampart-base-XXXXXX)
trap 'git -C "$ROOT_DIR" worktree remove --force "$base_tree" >/dev/null 2>&1 || true' EXIT
git -C "$ROOT_DIR" worktree add --detach "$base_tree" "$BASE_REV" >/dev/null
# A target directory of its own: two checkouts of one workspace sharing one would
# overwrite each other's library artifacts (same package, same version).
base_bin="$ROOT_DIR/target/bench-baseline"
mkdir -p "$base_bin"
if [ "${BENCH_SKIP_BUILD:-0}" != "1" ] || [ ! -x "$base_bin/rampart" ]; then
  echo "[bench] building the baseline $BASE_REV" >&2
  (cd "$base_tree" && CARGO_TARGET_DIR="$ROOT_DIR/target/bench-baseline-build" cargo build --release -q -p rampart-server)
  cp "$ROOT_DIR/target/bench-baseline-build/release/rampart" "$base_bin/rampart"
fi
source "$BENCH_DIR/setup.sh"
BENCH_BASE_BIN_DIR="$base_bin" exec python3 "$BENCH_DIR/users_me_ab.py"
