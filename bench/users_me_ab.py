"""The token server's own GET /users/me, this build against a baseline build, in one run
(issue 14: the per-token session/user check must keep /users/me within 10% of before).

Both servers run as `bench/load.sh` runs them (proxy mode on loopback, SQLite, 10,000
users), each with a user's token; wrk alternates between them for BENCH_ROUNDS rounds of
BENCH_SECONDS, so drifts of the machine hit both alike. Prints each round's ratio
(this build / baseline) and their median. Run through bench/users-me-ab.sh.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

import harness as h

SECONDS = int(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
USERS = int(os.environ.get("BENCH_USERS", "10000"))


def server(bin_dir: Path) -> tuple[h.TokenServer, str]:
    h.RELEASE = bin_dir  # start() and the CLI calls read it; serve_cmd keeps it
    ts = h.TokenServer("ES256", seed_users=USERS, flags=["--login-rate-per-ip", "0"]).start()
    token = ts.password_login(f"{h.SEED_PREFIX}00000")["access_token"]
    return ts, token


def main() -> int:
    base_dir = Path(os.environ["BENCH_BASE_BIN_DIR"])
    new_dir = Path(os.environ.get("BENCH_BIN_DIR", h.ROOT / "target" / "release"))
    h.OUT.mkdir(parents=True, exist_ok=True)
    base, base_token = server(base_dir)
    new, new_token = server(new_dir)
    watch = {"base": base.proc, "new": new.proc}
    try:
        targets = [("baseline", base, base_token), ("this build", new, new_token)]
        for label, ts, token in targets:
            h.wrk(f"{label} /users/me (warm-up)", ts.url + "/users/me", 2,
                  headers=[f"Authorization: Bearer {token}"], watch=watch)
        runs: dict[str, list] = {"baseline": [], "this build": []}
        for i in range(ROUNDS):
            # Alternate which goes first, so neither always runs on a warmer machine.
            order = targets if i % 2 == 0 else list(reversed(targets))
            for label, ts, token in order:
                runs[label].append(h.wrk(f"{label} /users/me", ts.url + "/users/me", SECONDS,
                                         headers=[f"Authorization: Bearer {token}"], watch=watch))
        ratios = [n.rps / b.rps for n, b in zip(runs["this build"], runs["baseline"])]
        result = {
            "machine": h.machine(),
            "commit": h.git_describe(),
            "baseline_bin": str(base_dir),
            "rounds": ROUNDS, "seconds": SECONDS, "users": USERS,
            "baseline": h.combine(runs["baseline"]),
            "this_build": h.combine(runs["this build"]),
            "ratios": [round(r, 3) for r in ratios],
            "median_ratio": round(statistics.median(ratios), 3),
        }
        (h.OUT / "users_me_ab.json").write_text(json.dumps(result, indent=2))
        for label, key in [("baseline", "baseline"), ("this build", "this_build")]:
            c = result[key]
            print(f"{label:<12} GET /users/me  {c['rps']:>10,.0f} req/s  p50 {c['p50_ms']:.2f} ms  "
                  f"p99 {c['p99_ms']:.2f} ms  errors {c['errors_status']}")
        print(f"this build / baseline per round: {', '.join(f'{r:.3f}' for r in ratios)}")
        print(f"median {result['median_ratio']:.3f}  (target: ≥ 0.90)")
        return 0 if result["median_ratio"] >= 0.90 else 1
    finally:
        h.shutdown()


if __name__ == "__main__":
    sys.exit(main())
