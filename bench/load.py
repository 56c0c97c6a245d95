"""The issue-9 load comparison; run through bench/load.sh (which installs wrk and the
FastAPI peer and builds the release binaries first).

1. Per algorithm, the resource server's unprotected GET /public against its protected
   GET /notes (scope notes:read) with a valid token: HS256 (--hs-secret-file, token minted
   here), EdDSA, RS256 and ES256 (JWKS of a token server signing with that algorithm,
   token from its client_credentials grant). Rounds alternate the two routes.
2. In the ES256 rounds, also the FastAPI tutorial app (/hello and /users/me under uvicorn,
   2 workers) and the token server's own GET /users/me (token check plus a user lookup).
3. The refresh_token and client_credentials grants of the ES256 token server (SQLite, 10,000
   users seeded), alternating.
4. Peak RSS (VmHWM) of that token server: after start, after the route and grant loads, and
   after a password-login load (Argon2id, the memory-hungry path).

Environment: BENCH_SECONDS (default 6) per run, BENCH_ROUNDS (default 4), BENCH_USERS
(default 10000). Ratios are the median of the per-round ratios (each round measures both
routes back to back), with the range over rounds. Writes bench/out/results.json and docs/performance.svg.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shlex
import sys
import time
from pathlib import Path

import harness as h
from svg import bar_chart

SECONDS = int(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
USERS = int(os.environ.get("BENCH_USERS", "10000"))
WARMUP = 2
CONNECTIONS = 64
# Each wrk run strands about one refresh token per connection (in flight when it stops).
REFRESH_POOL = (ROUNDS + 1) * CONNECTIONS + 128

# Issue 9's targets.
TARGET_PROTECTED_RATIO = 0.90
TARGET_VS_FASTAPI = 15.0
TARGET_REFRESH = 2000.0
TARGET_CLIENT_CREDENTIALS = 5000.0
TARGET_RSS_MIB = 64.0


def rounds(targets: list[dict], watch: dict) -> dict:
    """Warm every target up, then run ROUNDS rounds visiting the targets in turn, so slow
    drifts of the machine (other builds) hit all of them alike."""
    for t in targets:
        h.wrk(t["label"] + " (warm-up)", t["url"], WARMUP, t.get("connections", CONNECTIONS),
              script=t.get("script"), args=t.get("args"), headers=t.get("headers"), watch=watch)
        if t.get("after"):
            t["after"](watch)
    runs: dict[str, list] = {t["key"]: [] for t in targets}
    for _ in range(ROUNDS):
        for t in targets:
            runs[t["key"]].append(h.wrk(t["label"], t["url"], SECONDS, t.get("connections", CONNECTIONS),
                                        script=t.get("script"), args=t.get("args"),
                                        headers=t.get("headers"), watch=watch))
            if t.get("after"):
                t["after"](watch)
    return {key: h.combine(rs) for key, rs in runs.items()}


def route_pair(alg: str, url: str, token: str, watch: dict, extra: list[dict] | None = None) -> dict:
    h.log(f"{alg}: /public vs /notes")
    targets = [
        {"key": f"{alg} /public", "label": f"{alg} resource /public", "url": url + "/public"},
        {"key": f"{alg} /notes", "label": f"{alg} resource /notes", "url": url + "/notes",
         "headers": [f"Authorization: Bearer {token}"]},
        *(extra or []),
    ]
    # Every request must succeed, or the figure measures an error path.
    for t in targets:
        headers = dict(x.split(": ", 1) for x in t.get("headers", []))
        status, body = h.http("GET", t["url"], headers=headers)
        if status != 200:
            raise RuntimeError(f"{t['url']} answered {status}: {body[:300]!r}")
    return rounds(targets, watch)


def refresh_pool(ts: h.TokenServer, count: int, name: str = "refresh-tokens.txt") -> str:
    """`count` refresh tokens from password logins of distinct seeded users."""
    h.log(f"issuing {count} refresh tokens by password login (Argon2id each)")
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        tokens = list(pool.map(lambda i: ts.password_login(f"{h.SEED_PREFIX}{i:05d}")["refresh_token"],
                               range(1, count + 1)))
    elapsed = time.monotonic() - started
    h.log(f"  {count} logins in {elapsed:.1f}s ({count / elapsed:.1f} logins/s)")
    path = h.OUT / name
    path.write_text("\n".join(tokens) + "\n")
    path.chmod(0o600)
    return str(path)


def rss_probe(serve_env: dict) -> dict:
    """VmHWM (MiB) of a fresh ES256 token server with USERS users through a short load:
    64 logins, refresh and client_credentials grants, /users/me, password logins."""
    label = " ".join(f"{k}={v}" for k, v in serve_env.items()) or "default allocator settings"
    h.log(f"RSS probe: {label}")
    ts = h.TokenServer("ES256", seed_users=USERS, flags=["--login-rate-per-ip", "0"],
                       serve_env=serve_env).start()
    try:
        hwm = lambda: round(ts.proc.status_kib("VmHWM") / 1024, 1)  # noqa: E731
        out = {"after_start": hwm()}
        pool_file = refresh_pool(ts, 64 + 32)
        out["after_96_logins"] = hwm()
        short = max(3, SECONDS // 3)
        h.wrk("refresh_token grant (probe)", ts.url, short, script=h.lua_script("refresh.lua"), args=[pool_file])
        ts.restart()
        h.wrk("client_credentials grant (probe)", ts.url, short, script=h.lua_script("client_credentials.lua"),
              args=[ts.basic_credentials()])
        login = ts.password_login(f"{h.SEED_PREFIX}00000")
        h.wrk("token server /users/me (probe)", ts.url + "/users/me", short,
              headers=[f"Authorization: Bearer {login['access_token']}"])
        h.wrk("password grant (probe)", ts.url, short, 8, script=h.lua_script("login_flood.lua"),
              args=["rampart-valid", str(USERS), h.SEED_PASSWORD])
        out["peak"] = ts.peak_rss_mib()
        out["rss_at_end"] = round(ts.proc.status_kib("VmRSS") / 1024, 1)
        return out
    finally:
        ts.stop()


def db_pool_probe(connections: str) -> dict:
    """Grant rates and token-server CPU with --db-max-connections `connections`: separates
    SQLite write-lock contention (8 pooled connections wait for the one writer in SQLite's
    sleeping busy handler) from the work itself."""
    h.log(f"DB pool probe: --db-max-connections {connections}")
    ts = h.TokenServer("ES256", seed_users=1000,
                       flags=["--login-rate-per-ip", "0", "--db-max-connections", connections]).start()
    try:
        pool_file = refresh_pool(ts, 2 * CONNECTIONS + 64)
        out = {}
        for name, script, args in [("refresh_token", "refresh.lua", [pool_file]),
                                   ("client_credentials", "client_credentials.lua", [ts.basic_credentials()])]:
            run = h.wrk(f"{name} (--db-max-connections {connections})", ts.url, SECONDS,
                        script=h.lua_script(script), args=args, watch={"token": ts.proc})
            out[name] = {"ok_rps": round(run.ok_rps, 1), "p99_ms": run.p99_ms,
                         "token_cores": run.cpu["token"],
                         "cpu_us_per_grant": round(run.cpu["token"] * 1e6 / max(run.ok_rps, 1), 1)}
            ts.restart()
        return out
    finally:
        ts.stop()


def routes_only() -> int:
    """`load.sh --routes`: part 1 alone, the four /public vs /notes pairs (about 4 minutes
    with the defaults, 8 with a baseline). With BENCH_BASE_BIN_DIR naming another build's binaries, that
    build's resource server runs in the same rounds, between this build's routes, so the
    two builds' ratios are measured under the same machine drift. Writes
    bench/out/routes.json."""
    base_dir = os.environ.get("BENCH_BASE_BIN_DIR")
    builds = [("", None)] + ([("base ", Path(base_dir))] if base_dir else [])
    h.OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": h.machine(), "commit": h.git_describe(), "base_bin": base_dir,
                     "settings": {"seconds": SECONDS, "rounds": ROUNDS, "warmup_seconds": WARMUP,
                                  "connections": CONNECTIONS, "wrk_threads": 1},
                     "routes": {}}
    started = time.monotonic()

    def pair(alg: str, args: list[str], token: str, watch: dict) -> None:
        extra = []
        for prefix, bin_dir in builds[1:]:
            proc, url = h.resource_server(f"resource-{alg}-{prefix.strip()}", args, bin_dir)
            watch[f"{prefix.strip()} resource"] = proc
            extra += [
                {"key": f"{alg} {prefix}/public", "label": f"{alg} {prefix}resource /public",
                 "url": url + "/public"},
                {"key": f"{alg} {prefix}/notes", "label": f"{alg} {prefix}resource /notes",
                 "url": url + "/notes", "headers": [f"Authorization: Bearer {token}"]},
            ]
        results["routes"].update(route_pair(alg, watch["url"], token, {k: v for k, v in watch.items()
                                                                        if k != "url"}, extra))

    try:
        rs, url, token = h.hs256_resource_server()
        pair("HS256", ["--hs-secret-file", str(h.OUT / "hs256.secret")], token,
             {"resource": rs, "url": url})
        h.shutdown()
        for alg in ["EdDSA", "RS256", "ES256"]:
            ts = h.TokenServer(alg, flags=["--login-rate-per-ip", "0"]).start()
            args = ["--jwks-url", ts.url + "/.well-known/jwks.json"]
            rs, url = h.resource_server(f"resource-{alg}", args)
            pair(alg, args, ts.client_credentials_token(), {"resource": rs, "url": url})
            h.shutdown()
    finally:
        h.shutdown()
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    results["elapsed_seconds"] = round(time.monotonic() - started)
    r = results["routes"]
    results["ratios"] = {}
    print()
    print(f"/notes vs /public of the same resource server — wrk -t1 -c{CONNECTIONS}, "
          f"{ROUNDS}×{SECONDS}s per target (alternating), loopback")
    for alg in ["HS256", "ES256", "EdDSA", "RS256"]:
        for prefix, _ in builds:
            pub, prot = r[f"{alg} {prefix}/public"], r[f"{alg} {prefix}/notes"]
            p = paired(prot, pub)
            results["ratios"][f"{alg} {prefix}protected/unprotected"] = p
            us = lambda row: row["cpu_cores"].get(f"{prefix.strip() + ' ' if prefix else ''}resource", 0) \
                * 1e6 / row["rps"]  # noqa: E731
            print(f"{alg:<6} {(prefix.strip() or 'this build'):<10} /public {pub['rps']:>9,.0f}  "
                  f"/notes {prot['rps']:>9,.0f} req/s  {p['median']:.3f}x [{p['min']:.3f}–{p['max']:.3f}]"
                  f"  CPU/request {us(pub):.1f} → {us(prot):.1f} µs"
                  f"  (target ≥ {TARGET_PROTECTED_RATIO:.2f}x: {verdict(p['median'] >= TARGET_PROTECTED_RATIO)})")
    print(f"load average start {' '.join(results['machine']['loadavg_start'])}, "
          f"end {' '.join(results['machine']['loadavg_end'])}; {results['elapsed_seconds']} s")
    (h.OUT / "routes.json").write_text(json.dumps(results, indent=2) + "\n")
    h.log(f"wrote {h.OUT / 'routes.json'}")
    return 0


def grants_only() -> int:
    """`load.sh --grants`: the refresh_token and client_credentials grants on SQLite and on
    Postgres (BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432; "off" for SQLite
    only), each server with a fresh store and BENCH_GRANT_USERS seeded users. With
    BENCH_BASE_BIN_DIR naming another build's binaries, that build's token servers run
    in the same rounds, between this build's, so the before/after ratios share the
    machine's drift. Writes bench/out/grants.json."""
    base_dir = os.environ.get("BENCH_BASE_BIN_DIR")
    postgres = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    users = int(os.environ.get("BENCH_GRANT_USERS", str(REFRESH_POOL + 64)))
    builds = [("this build", None)] + ([("base", Path(base_dir))] if base_dir else [])
    backends = [("SQLite", "")] + ([("Postgres", postgres)] if postgres != "off" else [])
    h.OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": h.machine(), "commit": h.git_describe(), "base_bin": base_dir,
                     "settings": {"seconds": SECONDS, "rounds": ROUNDS, "warmup_seconds": WARMUP,
                                  "connections": CONNECTIONS, "wrk_threads": 1, "users": users,
                                  "token_server": "rampart serve --tls-mode proxy, ES256, "
                                                  "--login-rate-per-ip 0, other settings default"},
                     "grants": {}}
    started = time.monotonic()
    try:
        for backend, url in backends:
            targets, watch = [], {}
            for build, bin_dir in builds:
                extra = os.environ.get("BENCH_BASE_TOKEN_FLAGS" if bin_dir else "BENCH_TOKEN_FLAGS", "")
                ts = h.TokenServer("ES256", seed_users=users,
                                   flags=["--login-rate-per-ip", "0", *shlex.split(extra)],
                                   bin_dir=bin_dir, postgres=url).start()
                key = f"{backend} {build}"
                watch[key] = ts.proc
                pool_file = refresh_pool(ts, REFRESH_POOL, f"refresh-tokens-{backend}-{len(targets)}.txt")

                def restart(watch: dict, ts=ts, key=key) -> None:
                    # A fresh process per run, as in the full run (TokenServer.restart).
                    ts.restart()
                    watch[key] = ts.proc

                targets += [
                    {"key": f"{key} refresh_token", "label": f"{key}: refresh_token grant", "url": ts.url,
                     "script": h.lua_script("refresh.lua"), "args": [pool_file], "after": restart,
                     "proc": key},
                    {"key": f"{key} client_credentials", "label": f"{key}: client_credentials grant",
                     "url": ts.url, "script": h.lua_script("client_credentials.lua"),
                     "args": [ts.basic_credentials()], "proc": key},
                ]
            h.log(f"grants on {backend}: {', '.join(b for b, _ in builds)}")
            results["grants"].update(rounds(targets, watch))
            h.shutdown()
    finally:
        h.shutdown()
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    results["elapsed_seconds"] = round(time.monotonic() - started)
    g = results["grants"]
    print()
    print(f"Grants — wrk -t1 -c{CONNECTIONS}, {ROUNDS}×{SECONDS}s per target (alternating), loopback, "
          f"{users} users")
    print(f"{'':<34} {'grants/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/grant':>13}")
    for backend, _ in backends:
        for build, _ in builds:
            key = f"{backend} {build}"
            for grant in ["refresh_token", "client_credentials"]:
                row = g[f"{key} {grant}"]
                cpu = row["cpu_cores"].get(key, 0) * 1e6 / max(row["ok_rps"], 1)
                row["cpu_us_per_grant"] = round(cpu, 1)
                target = {"refresh_token": TARGET_REFRESH, "client_credentials": TARGET_CLIENT_CREDENTIALS}[grant]
                mark = f"  (target ≥ {target:,.0f}/s: {verdict(row['ok_rps'] >= target)})" \
                    if backend == "SQLite" and build == "this build" else ""
                print(f"{key + ' ' + grant:<34} {row['ok_rps']:>10,.0f} {row['p50_ms']:>8.2f} "
                      f"{row['p99_ms']:>8.2f} {cpu:>13,.0f}{mark}")
        if base_dir:
            for grant in ["refresh_token", "client_credentials"]:
                p = paired(g[f"{backend} this build {grant}"], g[f"{backend} base {grant}"])
                results.setdefault("ratios", {})[f"{backend} {grant} this/base"] = p
                print(f"{backend} {grant}: this build / base {p['median']:.2f}x [{p['min']:.2f}–{p['max']:.2f}]")
    print(f"load average start {' '.join(results['machine']['loadavg_start'])}, "
          f"end {' '.join(results['machine']['loadavg_end'])}; {results['elapsed_seconds']} s")
    (h.OUT / "grants.json").write_text(json.dumps(results, indent=2) + "\n")
    h.log(f"wrote {h.OUT / 'grants.json'}")
    return 0


def main() -> int:
    if "--routes" in sys.argv:
        return routes_only()
    if "--grants" in sys.argv:
        return grants_only()
    if "--from-json" in sys.argv:
        # Re-print the table and re-draw the chart from the last run, measuring nothing.
        results = json.loads((h.OUT / "results.json").read_text())
        summarize(results)
        chart(results, h.ROOT / "docs" / "performance.svg")
        return 0
    h.OUT.mkdir(parents=True, exist_ok=True)
    info = h.machine()
    info["commit"] = h.git_describe()
    results: dict = {
        "machine": info,
        "settings": {"seconds": SECONDS, "rounds": ROUNDS, "warmup_seconds": WARMUP,
                     "connections": CONNECTIONS, "wrk_threads": 1, "users": USERS,
                     "token_server": "rampart serve --tls-mode proxy (plain HTTP on loopback), SQLite WAL, "
                                     "--login-rate-per-ip 0, other settings default"},
        "routes": {}, "grants": {}, "rss_mib": {}, "logins": {},
    }
    started = time.monotonic()
    try:
        # 1. HS256: the resource server with a shared secret; no token server needed.
        rs, url, token = h.hs256_resource_server()
        results["routes"].update(route_pair("HS256", url, token, {"resource": rs}))
        rs.stop()

        # EdDSA and RS256: a token server signing with that algorithm, its JWKS, its token.
        for alg in ["EdDSA", "RS256"]:
            ts = h.TokenServer(alg, flags=["--login-rate-per-ip", "0"]).start()
            rs, url = h.resource_server(f"resource-{alg}", ["--jwks-url", ts.url + "/.well-known/jwks.json"])
            token = ts.client_credentials_token()
            results["routes"].update(route_pair(alg, url, token, {"resource": rs}))
            rs.stop()
            ts.stop()

        # ES256 (the default), with the 10,000-user store that the grant and RSS figures use.
        ts = h.TokenServer("ES256", seed_users=USERS, flags=["--login-rate-per-ip", "0"]).start()
        rss = results["rss_mib"]
        rss["after_start"] = round(ts.proc.status_kib("VmHWM") / 1024, 1)
        rs, url = h.resource_server("resource-ES256", ["--jwks-url", ts.url + "/.well-known/jwks.json"])
        token = ts.client_credentials_token()
        fa, fa_url, fa_token = h.fastapi_peer()
        login = ts.password_login(f"{h.SEED_PREFIX}00000")
        extra = [
            # Control: the unprotected route carrying the same Authorization header, to
            # separate the cost of receiving the token from the cost of checking it.
            {"key": "ES256 /public + token header", "label": "ES256 resource /public + header",
             "url": url + "/public", "headers": [f"Authorization: Bearer {token}"]},
            {"key": "FastAPI /hello", "label": "FastAPI /hello", "url": fa_url + "/hello"},
            {"key": "FastAPI /users/me", "label": "FastAPI /users/me", "url": fa_url + "/users/me",
             "headers": [f"Authorization: Bearer {fa_token}"]},
            {"key": "token server /users/me", "label": "token server /users/me (ES256)",
             "url": ts.url + "/users/me", "headers": [f"Authorization: Bearer {login['access_token']}"]},
        ]
        results["routes"].update(route_pair("ES256", url, token,
                                            {"resource": rs, "token": ts.proc, "fastapi": fa}, extra))
        fa.stop()
        rs.stop()
        rss["after_routes"] = round(ts.proc.status_kib("VmHWM") / 1024, 1)

        # 3. Grants.
        pool_file = refresh_pool(ts, REFRESH_POOL)
        h.log("grants: refresh_token vs client_credentials")

        def restart(watch: dict) -> None:
            # See TokenServer.restart: wrk cutting refresh requests mid-transaction can
            # leave a pooled SQLite connection holding the write lock.
            ts.restart()
            watch["token"] = ts.proc

        grants = rounds([
            {"key": "refresh_token", "label": "refresh_token grant", "url": ts.url,
             "script": h.lua_script("refresh.lua"), "args": [pool_file], "after": restart},
            {"key": "client_credentials", "label": "client_credentials grant", "url": ts.url,
             "script": h.lua_script("client_credentials.lua"), "args": [ts.basic_credentials()]},
        ], {"token": ts.proc})
        results["grants"] = grants
        rss["after_grants"] = ts.peak_rss_mib()

        # 4. A password-login load: 8 connections (the hashing queue holds 32), right
        # passwords of random seeded users.
        h.log("password logins (Argon2id)")
        run = h.wrk("password grant (right password)", ts.url, SECONDS, 8,
                    script=h.lua_script("login_flood.lua"),
                    args=["rampart-valid", str(USERS), h.SEED_PASSWORD], watch={"token": ts.proc})
        results["logins"] = run.as_json()
        rss["after_logins"] = ts.peak_rss_mib()
        rss["peak"] = rss["after_logins"]
        rss["rss_at_end"] = round(ts.proc.status_kib("VmRSS") / 1024, 1)
        results["token_server_restarts"] = ts.restarts
        results["token_server_errors"] = ts.poisoned()
        ts.stop()

        # 5. Where the peak comes from: the same short load on a default server and on one
        # whose glibc malloc returns large blocks to the OS at once (a fixed mmap threshold:
        # every Argon2 block is then mmap'd and unmapped instead of kept in an arena).
        results["rss_probe_mib"] = {
            "default": rss_probe({}),
            "MALLOC_MMAP_THRESHOLD_=1048576": rss_probe({"MALLOC_MMAP_THRESHOLD_": "1048576"}),
        }

        # 6. Where the grant rate goes: the same grants with 8 pooled SQLite connections
        # (the default) and with 1.
        results["db_pool_probe"] = {"8": db_pool_probe("8"), "1": db_pool_probe("1")}
    finally:
        h.shutdown()
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    results["elapsed_seconds"] = round(time.monotonic() - started)
    summarize(results)
    (h.OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, h.ROOT / "docs" / "performance.svg")
    h.log(f"wrote {h.OUT / 'results.json'} and docs/performance.svg")
    return 0


def paired(num: dict, den: dict) -> dict:
    """Per-round ratios num/den (both measured in the same round), their median and range."""
    per_round = sorted(n / d for n, d in zip(num["rounds_rps"], den["rounds_rps"]))
    mid = len(per_round) // 2
    median = per_round[mid] if len(per_round) % 2 else (per_round[mid - 1] + per_round[mid]) / 2
    return {"median": round(median, 3), "min": round(per_round[0], 3), "max": round(per_round[-1], 3),
            "of_totals": round(num["rps"] / den["rps"], 3)}


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def summarize(results: dict) -> None:
    r = results["routes"]
    g = results["grants"]
    ratios = {}
    rows = []
    print()
    print(f"Rampart load comparison — wrk -t1 -c{CONNECTIONS}, {ROUNDS}×{SECONDS}s per target "
          f"(alternating), loopback, {results['machine']['nproc']} cores shared by client and servers")
    print(f"{'target':<40} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}  ratio")
    def span(p: dict) -> str:
        return f"{p['median']:.2f}x [{p['min']:.2f}–{p['max']:.2f}]"

    for alg in ["HS256", "ES256", "EdDSA", "RS256"]:
        pub, prot = r[f"{alg} /public"], r[f"{alg} /notes"]
        p = paired(prot, pub)
        ratios[f"{alg} protected/unprotected"] = p
        rows.append((f"resource {alg} GET /public", pub, ""))
        rows.append((f"resource {alg} GET /notes (protected)", prot,
                     f"{span(p)} of /public  (target ≥ {TARGET_PROTECTED_RATIO:.2f}x: "
                     f"{verdict(p['median'] >= TARGET_PROTECTED_RATIO)})"))
    ctl = r["ES256 /public + token header"]
    ratios["ES256 /public + token header vs /public"] = paired(ctl, r["ES256 /public"])
    ratios["ES256 /notes vs /public + token header"] = paired(r["ES256 /notes"], ctl)
    rows.append(("resource ES256 /public + token header", ctl,
                 f"{span(ratios['ES256 /public + token header vs /public'])} of /public (control)"))
    fa_me, fa_hello = r["FastAPI /users/me"], r["FastAPI /hello"]
    es = r["ES256 /notes"]
    vs = paired(es, fa_me)
    ratios["ES256 /notes vs FastAPI /users/me"] = vs
    ts_me = r["token server /users/me"]
    ratios["token server /users/me vs FastAPI /users/me"] = paired(ts_me, fa_me)
    ratios["FastAPI /users/me vs /hello"] = paired(fa_me, fa_hello)
    rows.append(("FastAPI GET /hello", fa_hello, ""))
    rows.append(("FastAPI GET /users/me (protected)", fa_me,
                 f"{span(ratios['FastAPI /users/me vs /hello'])} of /hello"))
    rows.append(("token server GET /users/me (ES256)", ts_me,
                 f"{span(ratios['token server /users/me vs FastAPI /users/me'])} FastAPI /users/me"))
    for name, row, note in rows:
        print(f"{name:<40} {row['rps']:>10,.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}  {note}")
    # Server CPU per request: what the protected path adds, independent of how much CPU
    # the other processes on the machine left to the server.
    cost = {}
    for alg in ["HS256", "ES256", "EdDSA", "RS256"]:
        pub, prot = r[f"{alg} /public"], r[f"{alg} /notes"]
        us = lambda row, who: row["cpu_cores"].get(who, 0) * 1e6 / row["rps"]  # noqa: E731
        cost[alg] = {"public_us": round(us(pub, "resource"), 2), "notes_us": round(us(prot, "resource"), 2),
                     "wrk_public_us": round(us(pub, "wrk"), 2), "wrk_notes_us": round(us(prot, "wrk"), 2)}
    results["cpu_us_per_request"] = cost
    print("resource-server CPU per request, /public → /notes (µs): " + ", ".join(
        f"{alg} {c['public_us']:.1f} → {c['notes_us']:.1f}" for alg, c in cost.items()))
    print(f"{'Rampart /notes (ES256) vs FastAPI /users/me':<40} {span(vs):>10}  "
          f"(target ≥ {TARGET_VS_FASTAPI:.0f}x: {verdict(vs['median'] >= TARGET_VS_FASTAPI)})")
    rf, cc = g["refresh_token"], g["client_credentials"]
    print(f"{'refresh_token grant (200s/s)':<40} {rf['ok_rps']:>10,.0f} {rf['p50_ms']:>8.2f} {rf['p99_ms']:>8.2f}  "
          f"target ≥ {TARGET_REFRESH:,.0f}/s: {verdict(rf['ok_rps'] >= TARGET_REFRESH)}"
          f"  (failed {rf['counters'].get('failed', 0)}, pool empty {rf['counters'].get('starved', 0)})")
    print(f"{'client_credentials grant (200s/s)':<40} {cc['ok_rps']:>10,.0f} {cc['p50_ms']:>8.2f} {cc['p99_ms']:>8.2f}  "
          f"target ≥ {TARGET_CLIENT_CREDENTIALS:,.0f}/s: {verdict(cc['ok_rps'] >= TARGET_CLIENT_CREDENTIALS)}"
          f"  (failed {cc['counters'].get('failed', 0)})")
    lg = results["logins"]
    print(f"{'password grant, right password (200s/s)':<40} {lg['ok_rps']:>10,.0f} {lg['p50_ms']:>8.2f} {lg['p99_ms']:>8.2f}  "
          f"(-c8; Argon2id m=19 MiB t=2 on the hashing pool)")
    rss = results["rss_mib"]
    print(f"{'token server peak RSS, %d users (MiB)' % USERS:<40} {rss['peak']:>10.1f}  "
          f"target ≤ {TARGET_RSS_MIB:.0f} MiB: {verdict(rss['peak'] <= TARGET_RSS_MIB)}  "
          f"(after start {rss['after_start']}, routes {rss['after_routes']}, grants {rss['after_grants']}, "
          f"logins {rss['after_logins']})")
    for name, probe in results.get("rss_probe_mib", {}).items():
        print(f"  RSS probe ({name}): start {probe['after_start']} MiB, after 96 logins "
              f"{probe['after_96_logins']} MiB, peak {probe['peak']} MiB")
    for conns, probe in results.get("db_pool_probe", {}).items():
        print(f"  DB pool probe (--db-max-connections {conns}): " + ", ".join(
            f"{name} {row['ok_rps']:,.0f}/s using {row['token_cores']} cores ({row['cpu_us_per_grant']:.0f} µs CPU/grant)"
            for name, row in probe.items()))
    print(f"token server restarts after refresh runs: {results.get('token_server_restarts')}; "
          f"errors in its log: {results.get('token_server_errors')}")
    print(f"load average start {' '.join(results['machine']['loadavg_start'])}, "
          f"end {' '.join(results['machine']['loadavg_end'])}; {results['elapsed_seconds']} s")
    results["ratios"] = ratios
    results["targets"] = {
        **{f"{alg} protected ≥ 0.90x unprotected": ratios[f"{alg} protected/unprotected"]["median"]
           >= TARGET_PROTECTED_RATIO for alg in ["HS256", "ES256", "EdDSA", "RS256"]},
        "≥ 15x FastAPI /users/me": vs["median"] >= TARGET_VS_FASTAPI,
        "refresh_token ≥ 2,000/s": rf["ok_rps"] >= TARGET_REFRESH,
        "client_credentials ≥ 5,000/s": cc["ok_rps"] >= TARGET_CLIENT_CREDENTIALS,
        "peak RSS ≤ 64 MiB with 10k users": rss["peak"] <= TARGET_RSS_MIB,
    }


def chart(results: dict, path) -> None:
    r, g = results["routes"], results["grants"]
    bars = []
    for alg in ["HS256", "ES256", "EdDSA", "RS256"]:
        ratio = results["ratios"][f"{alg} protected/unprotected"]["median"]
        bars.append({"label": f"{alg}  GET /public", "value": r[f"{alg} /public"]["rps"], "kind": "public"})
        bars.append({"label": f"{alg}  GET /notes", "value": r[f"{alg} /notes"]["rps"], "kind": "protected",
                     "note": f"{ratio:.2f}x"})
        if alg == "ES256" and "ES256 /public + token header" in r:
            ctl = results["ratios"]["ES256 /public + token header vs /public"]["median"]
            bars.append({"label": "ES256  /public + token header", "value": r["ES256 /public + token header"]["rps"],
                         "kind": "public", "note": f"{ctl:.2f}x; control"})
    bars.append({"label": "token server GET /users/me", "value": r["token server /users/me"]["rps"],
                 "kind": "protected",
                 "note": f"{results['ratios']['token server /users/me vs FastAPI /users/me']['median']:.1f}x FastAPI"})
    bars.append({"label": "FastAPI  GET /hello", "value": r["FastAPI /hello"]["rps"], "kind": "peer-public"})
    bars.append({"label": "FastAPI  GET /users/me", "value": r["FastAPI /users/me"]["rps"], "kind": "peer",
                 "note": f"ES256 /notes is {results['ratios']['ES256 /notes vs FastAPI /users/me']['median']:.0f}x"})
    m = results["machine"]
    bar_chart(
        "Rampart: protected vs unprotected routes, and the FastAPI tutorial app",
        f"wrk -t1 -c{CONNECTIONS}, {ROUNDS}×{SECONDS} s alternating, loopback; {m['nproc']} cores "
        f"({m['cpu_model']}) shared by wrk and the servers",
        [
            {"title": "Requests per second (resource server unless named)", "unit": "req/s", "bars": bars},
            {"title": f"Token endpoint, SQLite, {USERS:,} users (successful grants per second)", "unit": "/s",
             "bars": [
                 {"label": "refresh_token grant", "value": g["refresh_token"]["ok_rps"], "kind": "grant",
                  "note": "target 2,000"},
                 {"label": "client_credentials grant", "value": g["client_credentials"]["ok_rps"],
                  "kind": "grant", "note": "target 5,000"},
             ]},
        ],
        path,
    )


if __name__ == "__main__":
    sys.exit(main())
