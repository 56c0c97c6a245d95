#!/usr/bin/env bash
# Shared by load.sh and login-flood.sh: installs wrk (Debian package) and the FastAPI
# peer's virtualenv (bench/.venv) if missing (unless BENCH_NEED_PEER=0), then builds the
# release binaries.
# Source it; it expects BENCH_DIR and ROOT_DIR to be set.
set -euo pipefail

if ! command -v wrk >/dev/null 2>&1; then
    echo "[bench] installing wrk" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq wrk >/dev/null
fi

if [ "${BENCH_NEED_PEER:-1}" = "1" ] && [ ! -x "$BENCH_DIR/.venv/bin/uvicorn" ]; then
    echo "[bench] creating $BENCH_DIR/.venv for the FastAPI peer" >&2
    if ! python3 -m venv "$BENCH_DIR/.venv"; then
        # Debian ships venv separately.
        if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$BENCH_DIR/.venv"
        python3 -m venv "$BENCH_DIR/.venv"
    fi
    "$BENCH_DIR/.venv/bin/pip" install -q --disable-pip-version-check \
        fastapi uvicorn pyjwt "pwdlib[argon2]" python-multipart uvloop httptools
fi

if [ "${BENCH_SKIP_BUILD:-0}" != "1" ]; then
    echo "[bench] cargo build --release -p rampart-server -p resource-server" >&2
    (cd "$ROOT_DIR" && cargo build --release -p rampart-server -p resource-server)
fi
