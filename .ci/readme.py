"""Runs the README's shell blocks in order, as a newcomer would, in the current directory
(a fresh clone: see .ci/readme.sh).

Every ```sh block runs, in one bash session so that variables carry from block to block,
unless the comment line before it says otherwise:

    <!-- readme-test: skip (why) -->             not run (the test command itself, …)
    <!-- readme-test: background URL -->         a server: started in its own process
                                                 group, then waited for until URL answers

Every `curl` must succeed (it runs with --fail-with-body), the password the server prints
once is read from its output into ADMIN_PASSWORD (what the README tells the reader to do),
and the transcript must show the answers the README promises. Prints the time since the
start at every block. Loopback only.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

DIRECTIVE = re.compile(r"<!--\s*readme-test:\s*(\w+)\s*(.*?)\s*-->")
# What the transcript must show, in this order: the README's comments promise these.
EXPECTED = [
    ('"username":"admin"', "GET /users/me answers the admin's profile"),
    ("anonymous", "the library example answers /whoami without a token"),
    ("notes of ", "the library example answers /notes with alice's notes:read token"),
    ("[]", "the example resource server answers /notes with alice's token"),
]
PORTS = [8443, 8080, 9464, 3000, 3001]


def blocks(readme: str) -> list[tuple[str, str, str]]:
    """(kind, argument, body) of every sh block: kind is run, skip or background."""
    out = []
    lines = readme.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            body = "\n".join(lines[i + 1 : j])
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            m = DIRECTIVE.search(lines[k]) if k >= 0 else None
            kind, arg = (m.group(1), m.group(2)) if m else ("run", "")
            if kind not in ("run", "skip", "background"):
                sys.exit(f"README: unknown readme-test directive {kind!r}")
            out.append((kind, arg, body))
            i = j
        i += 1
    return out


PRELUDE = r"""
set -euo pipefail
started=$(date +%s)
pids=()
cleanup() { for pgid in "${pids[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done; }
trap cleanup EXIT
# Every call the README makes must succeed.
curl() { command curl --fail-with-body --show-error "$@"; }
at() { echo "[readme +$(( $(date +%s) - started ))s] $*" >&2; }
background() {
  local name=$1 url=$2 body=$3
  setsid bash -c "$body" >"$RAMPART_README_LOGS/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 1800); do
    if command curl -sk -o /dev/null "$url"; then at "$name answers $url"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "--- $name exited before answering $url; its output:" >&2
      tail -40 "$RAMPART_README_LOGS/$name.log" >&2
      exit 1
    fi
    sleep 1
  done
  echo "--- $name did not answer $url within 30 min" >&2; exit 1
}
"""


def script(readme: str) -> str:
    parts = [PRELUDE]
    for n, (kind, arg, body) in enumerate(blocks(readme), start=1):
        first = body.strip().splitlines()[0] if body.strip() else ""
        if kind == "skip":
            parts.append("at " + shell_quote(f"block {n} skipped ({arg}): {first[:60]}"))
            continue
        # Quoted whole: a block's first line may hold quotes of its own.
        parts.append("at " + shell_quote(f"block {n}: {first[:70]}"))
        if kind == "background":
            name = f"block{n}"
            parts.append(f"background {name} {arg!r} {shell_quote(body)}")
            if "serve --dev" in body:
                # The reader copies the password the first start prints.
                parts.append(
                    f"ADMIN_PASSWORD=$(sed -n 's/^    password: //p' \"$RAMPART_README_LOGS/{name}.log\" | head -1)\n"
                    '[ -n "$ADMIN_PASSWORD" ] || { echo "serve --dev printed no admin password" >&2; exit 1; }'
                )
        else:
            parts.append(body)
    parts.append("at 'every block ran'")
    return "\n".join(parts) + "\n"


def shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def main() -> int:
    readme = Path("README.md").read_text()
    busy = [p for p in PORTS if port_taken(p)]
    if busy:
        print(f"ports {busy} are taken: the README's servers need them free", file=sys.stderr)
        return 1
    logs = Path(os.environ.get("RAMPART_README_LOGS", "target/readme-logs")).resolve()
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, RAMPART_README_LOGS=str(logs))
    env.pop("RAMPART_BOOTSTRAP_ADMIN_PASSWORD", None)
    text = script(readme)
    (logs / "readme.sh").write_text(text)
    run = subprocess.run(["bash", str(logs / "readme.sh")], env=env, stdout=subprocess.PIPE, text=True)
    transcript = run.stdout
    (logs / "transcript.txt").write_text(transcript)
    print(transcript)
    if run.returncode != 0:
        print(f"README block failed (exit {run.returncode}); logs in {logs}", file=sys.stderr)
        return 1
    position = 0
    for needle, what in EXPECTED:
        found = transcript.find(needle, position)
        if found < 0:
            print(f"README promise not kept: {what} (no {needle!r} in the output)", file=sys.stderr)
            return 1
        position = found + len(needle)
    print("README: every block ran and every promised answer came", file=sys.stderr)
    return 0


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
