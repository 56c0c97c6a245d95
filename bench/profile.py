"""See profile.sh."""

from __future__ import annotations

import subprocess
import sys
import time

import harness as h

SECONDS = 8


def report(data: str, *sort: str, limit: int) -> None:
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "-g", "none", "--sort", ",".join(sort)],
                         capture_output=True, text=True).stdout
    lines = [" ".join(l.split()[:4]) for l in out.splitlines() if l.strip() and not l.startswith("#")]
    print(f"--- by {', '.join(sort)}")
    print("\n".join(lines[:limit]))


def main(target: str) -> int:
    data = str(h.OUT / f"perf-{target}.data")
    try:
        if target in ("notes-hs256", "public-hs256"):
            # The shared-secret resource server: no token server, no JWKS.
            proc, url, token = h.hs256_resource_server()
            route = target.removesuffix("-hs256")
            kwargs = {"url": url + "/" + route,
                      "headers": [f"Authorization: Bearer {token}"] if route == "notes" else []}
        elif target in ("notes", "public", "client_credentials", "refresh_token"):
            ts = h.TokenServer("ES256", seed_users=1000, flags=["--login-rate-per-ip", "0"]).start()
            if target in ("notes", "public"):
                proc, url = h.resource_server("resource-ES256", ["--jwks-url", ts.url + "/.well-known/jwks.json"])
                kwargs = {"url": url + "/" + target,
                          "headers": [f"Authorization: Bearer {ts.client_credentials_token()}"]
                          if target == "notes" else []}
            elif target == "client_credentials":
                proc = ts.proc
                kwargs = {"url": ts.url, "script": h.lua_script("client_credentials.lua"),
                          "args": [ts.basic_credentials()]}
            else:
                import load
                proc = ts.proc
                pool = load.refresh_pool(ts, 3 * 64)
                kwargs = {"url": ts.url, "script": h.lua_script("refresh.lua"), "args": [pool]}
        else:
            print(__doc__, file=sys.stderr)
            return 2
        h.wrk(f"{target} (warm-up)", seconds=2, **kwargs)
        perf = subprocess.Popen(["perf", "record", "-F", "1999", "-g", "-o", data, "-p", str(proc.pid), "--",
                                 "sleep", str(SECONDS - 1)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        h.wrk(target, seconds=SECONDS, watch={"server": proc}, **kwargs)
        perf.wait()
    finally:
        h.shutdown()
    report(data, "comm", "dso", limit=8)
    report(data, "dso", "symbol", limit=30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
