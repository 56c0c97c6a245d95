#!/usr/bin/env bash
# Dependency audit: `cargo deny check` (deny.toml): RustSec advisories (vulnerable,
# unmaintained or yanked crates), licences, wildcard dependencies, sources.
#
# The advisory database: a fresh clone of github.com/rustsec/advisory-db when the machine
# can reach it; otherwise the snapshot in .ci/advisory-db.tar.xz (the whole database, CC0,
# `git archive` of the commit named below), and this script says so with its date. Renew
# the snapshot with `.ci/deny.sh --renew-snapshot DIR` from a clone of the database.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot=.ci/advisory-db.tar.xz
snapshot_commit=bf5c0d245a92671908518d7e765914d437954ed6
snapshot_date=2026-08-21T08:28:40+02:00

if [ "${1:-}" = "--renew-snapshot" ]; then
  src=${2:?usage: .ci/deny.sh --renew-snapshot PATH-TO-advisory-db-CLONE}
  git -C "$src" archive --format=tar HEAD crates rust support.toml LICENSE.txt README.md | xz -9 >"$snapshot"
  echo "snapshot: $(git -C "$src" log -1 --format='%H %cI'); update snapshot_commit/snapshot_date above"
  exit 0
fi

command -v cargo-deny >/dev/null 2>&1 || cargo install --locked cargo-deny@0.20.2 ||
  { echo "error: cargo-deny could not be installed (cargo install --locked cargo-deny)"; exit 1; }

# cargo-deny's directory for db-urls[0] under db-path (deny.toml).
db=target/advisory-dbs/advisory-db-3157b0e258782691
if timeout 60 cargo deny fetch db >/dev/null 2>&1; then
  echo "advisory database: fresh clone ($(git -C "$db" log -1 --format='%h %cs'))"
else
  echo "advisory database: github.com unreachable; using the snapshot of rustsec/advisory-db" \
    "at ${snapshot_commit:0:10} (${snapshot_date%%T*})"
  rm -rf "$db" && mkdir -p "$db"
  tar -xJf "$snapshot" -C "$db"
  (
    cd "$db"
    git init -q -b main
    git add -A
    GIT_AUTHOR_DATE=$snapshot_date GIT_COMMITTER_DATE=$snapshot_date \
      git -c user.name=rampart-ci -c user.email=ci@localhost commit -q -m "advisory-db $snapshot_commit"
  )
fi
# `--offline` keeps cargo-deny off github.com, but it also runs `cargo metadata` offline,
# which needs every locked crate in the local registry, those of other platforms too
# (anstyle-wincon, …) that no build here downloads: fetch them first (crates.io is
# reachable; only github.com is not).
cargo fetch --locked
cargo deny --offline check
