"""Issue 5's login flood; run through bench/login-flood.sh.

A second wrk floods the password grant (64 connections, as fast as answers come) while
the first measures a protected route; every target is measured idle and under each flood
in alternating rounds of the same run.

Rampart (token server with defaults plus --trusted-proxies 127.0.0.1/32, 10,000 users):
  targets  the token server's own GET /users/me (same process as the flood) and the
           resource server's GET /notes (ES256, separate process on the same cores);
  floods   "stuffing": wrong passwords for random users, each from a random client IP
           (X-Forwarded-For from the trusted loopback proxy), so every attempt reaches
           Argon2id and only the bounded hashing pool (503 when its queue is full or its
           CPU budget is spent) stands between the flood and the CPU;
           "single IP": the same from one address, which the per-IP rate limit and failure
           throttle answer with 429 before any hashing;
           both offered at FLOOD_RATE attempts/s (25x what the hashing pool can verify),
           and the stuffing flood once more unthrottled ("as fast as answers come"), which
           on a 2-core box is as much a plain HTTP flood as a login flood.
Baseline in the same run: the stuffing flood again with --hash-cpu-budget 0 (the pool may
use all of its threads), for both Rampart targets.
FastAPI tutorial app (uvicorn, 2 workers): GET /users/me, flood = POST /token as alice
with wrong passwords at FLOOD_RATE.

The login-form flood (issue 17) is the stuffing flood sent to the browser login page's
POST /login instead of the password grant.

Done criterion (issue 5): under flood the protected route keeps >= 50% of its idle
throughput and its p99 stays under 3x idle.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.parse

import harness as h

SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
USERS = int(os.environ.get("BENCH_USERS", "10000"))
CONNECTIONS = 64
FLOOD_CONNECTIONS = 64
FLOOD_RATE = int(os.environ.get("BENCH_FLOOD_RATE", "1000"))
HEAD_START = 1.5   # the flood runs this long before the measurement starts
# The login form's authorization request (the first-party client, as Swagger UI sends it),
# form-encoded as the form's hidden `request` field carries it.
SIGNIN_REQUEST = urllib.parse.quote(urllib.parse.urlencode({
    "response_type": "code", "client_id": "first-party", "redirect_uri": h.PUBLIC_URL + "/docs/oauth2-redirect.html",
    "scope": "profile", "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256"}), safe="")


def pause_ms(rate: int) -> str:
    """Per-connection wait (wrk delay()) that offers about `rate` attempts/s."""
    return str(round(FLOOD_CONNECTIONS * 1000 / rate)) if rate else "0"


def settle(procs: list[h.Proc], quiet: float = 0.15, limit: float = 60.0) -> None:
    """Waits until the servers are idle again (queued hashing drained) before the next run."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = sum(p.cpu_seconds() for p in procs)
        time.sleep(0.5)
        if (sum(p.cpu_seconds() for p in procs) - before) / 0.5 < quiet:
            return
    h.log("  (servers still busy after the flood; continuing)")


def measure(target: dict, flood: dict | None, watch: dict):
    """One measured run of target, optionally under flood. Returns (run, flood_run)."""
    flood_wait = None
    if flood:
        flood_wait = h.wrk(flood["label"], flood["url"], SECONDS + 2 * HEAD_START, FLOOD_CONNECTIONS,
                           script=h.lua_script("login_flood.lua"), args=flood["args"], background=True)
        time.sleep(HEAD_START)
    run = h.wrk(target["label"] + (f" under {flood['name']}" if flood else " idle"), target["url"],
                SECONDS, CONNECTIONS, headers=target["headers"], watch=watch)
    flood_run = flood_wait() if flood_wait else None
    if flood:
        settle(list(watch.values()))
        if flood.get("after"):
            flood["after"](watch)
    return run, flood_run


def scenario(target: dict, floods: list[dict], watch: dict) -> dict:
    h.wrk(target["label"] + " (warm-up)", target["url"], 2, CONNECTIONS, headers=target["headers"])
    runs = {"idle": []}
    flood_runs = {f["name"]: [] for f in floods}
    for f in floods:
        runs[f["name"]] = []
    for _ in range(ROUNDS):
        run, _ = measure(target, None, watch)
        runs["idle"].append(run)
        for f in floods:
            run, flood_run = measure(target, f, watch)
            runs[f["name"]].append(run)
            flood_runs[f["name"]].append(flood_run)
    out = {"idle": h.combine(runs["idle"])}
    idle = out["idle"]
    for f in floods:
        under = h.combine(runs[f["name"]])
        flood = h.combine(flood_runs[f["name"]])
        throughput = under["rps"] / idle["rps"]
        p99 = under["p99_ms"] / idle["p99_ms"]
        out[f["name"]] = {
            **under,
            "throughput_vs_idle": round(throughput, 3),
            "p99_vs_idle": round(p99, 2),
            "done_criterion_met": throughput >= 0.5 and p99 < 3.0,
            "flood": {"attempts_per_s": flood["rps"], "counters": flood["counters"],
                      "p99_ms": flood["p99_ms"], "p50_ms": flood["p50_ms"]},
        }
    return out


def main() -> int:
    h.OUT.mkdir(parents=True, exist_ok=True)
    info = h.machine()
    info["commit"] = h.git_describe()
    results: dict = {"machine": info, "settings": {
        "seconds": SECONDS, "rounds": ROUNDS, "connections": CONNECTIONS,
        "flood_connections": FLOOD_CONNECTIONS, "flood_rate_offered": FLOOD_RATE, "users": USERS,
        "token_server": "rampart serve --tls-mode proxy --trusted-proxies 127.0.0.1/32, defaults otherwise "
                        "(login rate 10/s per IP, hashing pool cores-1 with a queue of 32, "
                        "hashing CPU budget max(0.5, pool/2) cores)"}}
    started = time.monotonic()
    try:
        ts = h.TokenServer("ES256", seed_users=USERS, flags=["--trusted-proxies", "127.0.0.1/32"]).start()
        rs, rs_url = h.resource_server("resource-ES256", ["--jwks-url", ts.url + "/.well-known/jwks.json"])
        notes_token = ts.client_credentials_token()
        me_token = ts.password_login(f"{h.SEED_PREFIX}00000")["access_token"]
        fa, fa_url, fa_token = h.fastapi_peer()

        def restart(watch: dict) -> None:
            # wrk stops each flood by dropping its connections mid-request; see
            # TokenServer.restart for why the token server is restarted (same store) after.
            ts.restart()
            watch["token"] = ts.proc

        floods = [
            {"name": f"stuffing {FLOOD_RATE}/s", "label": f"flood: stuffing, random IPs, {FLOOD_RATE}/s",
             "url": ts.url, "args": ["rampart-stuffing", str(USERS), "", pause_ms(FLOOD_RATE)], "after": restart},
            {"name": f"single IP {FLOOD_RATE}/s", "label": f"flood: single IP, {FLOOD_RATE}/s", "url": ts.url,
             "args": ["rampart-single-ip", str(USERS), "", pause_ms(FLOOD_RATE)], "after": restart},
            {"name": "stuffing unthrottled", "label": "flood: stuffing, random IPs, unthrottled",
             "url": ts.url, "args": ["rampart-stuffing", str(USERS), "", "0"], "after": restart},
            # Issue 17: the same stuffing through the browser login form.
            {"name": f"login form {FLOOD_RATE}/s", "label": f"flood: login form, random IPs, {FLOOD_RATE}/s",
             "url": ts.url, "args": ["rampart-login-form", str(USERS), "", pause_ms(FLOOD_RATE), SIGNIN_REQUEST],
             "after": restart},
        ]
        watch = {"token": ts.proc, "resource": rs, "fastapi": fa}
        h.log("Rampart: token server GET /users/me")
        results["rampart token server /users/me"] = scenario(
            {"label": "token server /users/me", "url": ts.url + "/users/me",
             "headers": [f"Authorization: Bearer {me_token}"]}, floods, watch)
        h.log("Rampart: resource server GET /notes")
        results["rampart resource /notes"] = scenario(
            {"label": "resource /notes (ES256)", "url": rs_url + "/notes",
             "headers": [f"Authorization: Bearer {notes_token}"]}, [floods[0], floods[3]], watch)
        results["token_server_peak_rss_mib"] = ts.peak_rss_mib()

        # The same-run baseline for the hashing CPU budget (issue 5): the stuffing flood
        # again with `--hash-cpu-budget 0`, i.e. the pool may use all of its cores - 1
        # threads (the behaviour before the budget existed).
        ts.flags = [*ts.flags, "--hash-cpu-budget", "0"]
        ts.restart()
        watch["token"] = ts.proc
        h.log("baseline: hashing CPU budget off (--hash-cpu-budget 0)")
        results["baseline: hashing CPU budget off"] = {
            "token server /users/me": scenario(
                {"label": "token server /users/me [budget off]", "url": ts.url + "/users/me",
                 "headers": [f"Authorization: Bearer {me_token}"]}, floods[:1], watch),
            "resource /notes": scenario(
                {"label": "resource /notes (ES256) [budget off]", "url": rs_url + "/notes",
                 "headers": [f"Authorization: Bearer {notes_token}"]}, floods[:1], watch),
        }
        results["token_server_restarts"] = ts.restarts
        results["token_server_errors"] = ts.poisoned()
        rs.stop()
        ts.stop()
        h.log("FastAPI: GET /users/me")
        results["fastapi /users/me"] = scenario(
            {"label": "FastAPI /users/me", "url": fa_url + "/users/me",
             "headers": [f"Authorization: Bearer {fa_token}"]},
            [{"name": f"login flood {FLOOD_RATE}/s", "label": f"flood: FastAPI /token, {FLOOD_RATE}/s",
              "url": fa_url, "args": ["fastapi", "1", "", pause_ms(FLOOD_RATE)]}], {"fastapi": fa})
        fa.stop()
    finally:
        h.shutdown()
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    results["elapsed_seconds"] = round(time.monotonic() - started)
    summarize(results)
    (h.OUT / "login-flood.json").write_text(json.dumps(results, indent=2) + "\n")
    h.log(f"wrote {h.OUT / 'login-flood.json'}")
    return 0


def summarize(results: dict) -> None:
    print()
    print(f"Login flood — measuring wrk -t1 -c{CONNECTIONS}, flood wrk -t1 -c{FLOOD_CONNECTIONS}, "
          f"{ROUNDS}×{SECONDS}s per cell, alternating, loopback, {results['machine']['nproc']} cores")
    print(f"{'protected route':<32} {'condition':<22} {'req/s':>9} {'p99 ms':>8} {'vs idle':>8} "
          f"{'p99 x':>6}  {'done?':<6} flood outcome")
    blocks = [(name, results[name]) for name in
              ["rampart token server /users/me", "rampart resource /notes", "fastapi /users/me"]]
    blocks += [(f"[budget off] {name}", block) for name, block in
               results.get("baseline: hashing CPU budget off", {}).items()]
    for name, block in blocks:
        idle = block["idle"]
        print(f"{name:<32} {'idle':<22} {idle['rps']:>9,.0f} {idle['p99_ms']:>8.2f}")
        for cond, row in block.items():
            if cond == "idle":
                continue
            c = {k: v for k, v in row["flood"]["counters"].items() if v and k.startswith("s")}
            outcome = f"{row['flood']['attempts_per_s']:,.0f} attempts/s " + \
                      " ".join(f"{k[1:]}:{v}" for k, v in sorted(c.items()))
            print(f"{'':<32} {cond:<22} {row['rps']:>9,.0f} {row['p99_ms']:>8.2f} "
                  f"{row['throughput_vs_idle']:>7.2f}x {row['p99_vs_idle']:>5.1f}x  "
                  f"{'yes' if row['done_criterion_met'] else 'NO':<6} {outcome}")
    print(f"token server restarted after each flood ({results['token_server_restarts']} times); errors in its log: "
          f"{results['token_server_errors']}")
    print(f"token server peak RSS over the floods: {results['token_server_peak_rss_mib']} MiB; "
          f"load average start {' '.join(results['machine']['loadavg_start'])}, end "
          f"{' '.join(results['machine']['loadavg_end'])}; {results['elapsed_seconds']} s")


if __name__ == "__main__":
    sys.exit(main())
