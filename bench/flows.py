"""Issue 17's sign-in benchmark; run through bench/flows.sh.

Complete authorization-code flows with a live browser session: GET /oauth/authorize with
the session cookie (the built-in first-party client, so no consent page) → 303 with a
code → POST /oauth/token (authorization_code, PKCE S256) → an ES256 access token and a
refresh token. One wrk connection does both steps (bench/lua/code_flow.lua); a flow counts
when its token response arrives. Two scopes: `profile` (access and refresh token: four
writes per flow: code, redemption, refresh token, audit event), and `openid profile` (an
RS256 ID token signed per flow, no refresh token without offline_access).

Baseline in the same rounds: the client_credentials grant of the same server (one request,
one signature), so the ratio flows/s ÷ client_credentials/s is comparable across machines.
SQLite, then Postgres (BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432; "off"
to skip), each server on a fresh store.

Target (issue 17): ≥ 1,500 complete flows/s on SQLite on a 2-core machine.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import sys
import time
import urllib.parse

import harness as h

SECONDS = int(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARMUP = 2
CONNECTIONS = 64
TARGET_FLOWS = 1500
VERIFIER = "bench-verifier-" + "x" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
REDIRECT = h.PUBLIC_URL + "/docs/oauth2-redirect.html"


def authorize_path(scope: str) -> str:
    return "/oauth/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": "first-party", "redirect_uri": REDIRECT,
        "scope": scope, "state": "bench", "code_challenge": CHALLENGE, "code_challenge_method": "S256",
    })


def browser_session(ts: h.TokenServer) -> str:
    """Signs the first seeded user in through the login page; the session's Cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", ts.port, timeout=30)
    conn.request("GET", authorize_path("profile"))
    page = conn.getresponse()
    body = page.read().decode()
    if page.status != 200:
        raise RuntimeError(f"the login page answered {page.status}: {body[:300]}")
    csrf_cookie = next(v.split(";", 1)[0] for k, v in page.getheaders()
                       if k.lower() == "set-cookie" and v.startswith("__Host-rampart-csrf="))

    def hidden(name: str) -> str:
        value = re.search(rf'name="{name}" value="([^"]*)"', body).group(1)
        return value.replace("&amp;", "&").replace("&quot;", '"')

    fields = urllib.parse.urlencode({"csrf": hidden("csrf"), "request": hidden("request"),
                                     "username": f"{h.SEED_PREFIX}00000", "password": h.SEED_PASSWORD})
    conn.request("POST", "/login", body=fields, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": csrf_cookie})
    done = conn.getresponse()
    done.read()
    if done.status != 303 or "code=" not in (done.getheader("Location") or ""):
        raise RuntimeError(f"the login answered {done.status} {done.getheader('Location')}")
    session = next(v.split(";", 1)[0] for k, v in done.getheaders()
                   if k.lower() == "set-cookie" and v.startswith("__Host-rampart-session="))
    conn.close()
    return session


def targets_for(key: str, ts: h.TokenServer) -> list[dict]:
    cookie = browser_session(ts)
    redirect = urllib.parse.quote(REDIRECT, safe="")
    flow = lambda scope: [cookie, authorize_path(scope), "first-party", redirect, VERIFIER]
    return [
        {"key": f"{key} flow profile", "label": f"{key}: code flow (profile)", "url": ts.url,
         "script": h.lua_script("code_flow.lua"), "args": flow("profile"), "proc": key},
        {"key": f"{key} flow openid", "label": f"{key}: code flow (openid profile)", "url": ts.url,
         "script": h.lua_script("code_flow.lua"), "args": flow("openid profile"), "proc": key},
        {"key": f"{key} client_credentials", "label": f"{key}: client_credentials grant", "url": ts.url,
         "script": h.lua_script("client_credentials.lua"), "args": [ts.basic_credentials()], "proc": key},
    ]


def rounds(targets: list[dict], watch: dict) -> dict:
    for t in targets:
        h.wrk(t["label"] + " (warm-up)", t["url"], WARMUP, CONNECTIONS, script=t["script"], args=t["args"],
              watch=watch)
    runs: dict[str, list] = {t["key"]: [] for t in targets}
    for _ in range(ROUNDS):
        for t in targets:
            runs[t["key"]].append(h.wrk(t["label"], t["url"], SECONDS, CONNECTIONS, script=t["script"],
                                        args=t["args"], watch=watch))
    return {key: h.combine(rs) for key, rs in runs.items()}


def main() -> int:
    postgres = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    backends = [("SQLite", "")] + ([("Postgres", postgres)] if postgres != "off" else [])
    h.OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": h.machine(), "commit": h.git_describe(),
                     "settings": {"seconds": SECONDS, "rounds": ROUNDS, "connections": CONNECTIONS,
                                  "wrk_threads": 1, "token_server": "rampart serve --tls-mode proxy, ES256, "
                                  "--login-rate-per-ip 0, other settings default"},
                     "flows": {}}
    started = time.monotonic()
    try:
        for backend, url in backends:
            ts = h.TokenServer("ES256", seed_users=1, flags=["--login-rate-per-ip", "0"], postgres=url).start()
            watch = {backend: ts.proc}
            h.log(f"sign-in flows on {backend}")
            results["flows"].update(rounds(targets_for(backend, ts), watch))
            ts.stop()
    finally:
        h.shutdown()
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    results["elapsed_seconds"] = round(time.monotonic() - started)
    f = results["flows"]
    print()
    print(f"Sign-in flows — wrk -t1 -c{CONNECTIONS}, {ROUNDS}×{SECONDS}s per target (alternating), loopback")
    print(f"{'':<40} {'flows/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs cc':>7} {'CPU µs/flow':>12}")
    for backend, _ in backends:
        cc = f[f"{backend} client_credentials"]["ok_rps"]
        for kind in ["flow profile", "flow openid", "client_credentials"]:
            row = f[f"{backend} {kind}"]
            cpu = row["cpu_cores"].get(backend, 0) * 1e6 / max(row["ok_rps"], 1)
            row["cpu_us_per_flow"] = round(cpu, 1)
            row["vs_client_credentials"] = round(row["ok_rps"] / max(cc, 1), 3)
            mark = ""
            if backend == "SQLite" and kind == "flow profile":
                met = row["ok_rps"] >= TARGET_FLOWS
                results["target_met"] = met
                mark = f"  (target ≥ {TARGET_FLOWS:,}/s: {'met' if met else 'NOT met'})"
            print(f"{backend + ' ' + kind:<40} {row['ok_rps']:>9,.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
                  f"{row['vs_client_credentials']:>6.2f}x {cpu:>12,.0f}{mark}")
    print(f"load average start {' '.join(results['machine']['loadavg_start'])}, "
          f"end {' '.join(results['machine']['loadavg_end'])}; {results['elapsed_seconds']} s")
    (h.OUT / "flows.json").write_text(json.dumps(results, indent=2) + "\n")
    h.log(f"wrote {h.OUT / 'flows.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
