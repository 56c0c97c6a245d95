#!/usr/bin/env bash
# The README, verbatim, from a fresh clone (issue 15): clones this repository's HEAD into a
# temporary directory and runs every README shell block in order there (.ci/readme.py):
# serve --dev, the curl quick start, the own-scope recipe, the library example and the
# example resource server, each call answered as the README says.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
for tool in curl jq git setsid; do
  command -v "$tool" >/dev/null 2>&1 || {
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q jq curl
    break
  }
done
work=$(mktemp -d /tmp/rampart-readme-XXXXXX)
trap 'rm -rf "$work"' EXIT
cloned_at=$SECONDS
git clone -q "$root" "$work/rampart"
echo "[readme] cloned HEAD $(git -C "$work/rampart" rev-parse --short HEAD) into $work/rampart" >&2
cd "$work/rampart"
# The checkout's target directory: the clone is the same commit, so what it builds is what
# the checkout built (cargo names a workspace crate's artifacts by its path inside the
# workspace, so the clone's overwrite the checkout's with identical ones). Run last in CI.
export CARGO_TARGET_DIR="$root/target"
RAMPART_README_LOGS="$root/target/readme-logs" python3 "$root/.ci/readme.py"
echo "[readme] clone to last block: $((SECONDS - cloned_at)) s" >&2
