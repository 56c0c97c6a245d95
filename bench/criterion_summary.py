"""Reads criterion's estimates for crates/rampart/benches/validation.rs and request.rs and
prints, per algorithm, the bare signature check, the full uncached validation and their
ratio, the cache hit against both, and per request through an axum router the protected
route against the unprotected one. Writes bench/out/criterion.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
ALGS = ["HS256", "RS256", "PS256", "ES256", "ES384", "EdDSA"]


def estimate(root: Path, group: str, bench: str) -> dict | None:
    path = root / group / bench / "new" / "estimates.json"
    if not path.exists():
        return None
    e = json.loads(path.read_text())
    return {"mean_ns": e["mean"]["point_estimate"], "median_ns": e["median"]["point_estimate"],
            "ci95_ns": [e["mean"]["confidence_interval"]["lower_bound"],
                        e["mean"]["confidence_interval"]["upper_bound"]]}


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "target" / "criterion"
    hit = estimate(root, "cache", "hit")
    rows = {}
    print(f"{'alg':<7} {'bare signature':>15} {'full validation':>16} {'full/bare':>10} {'cache hit':>10} "
          f"{'hit/full':>9}")
    for alg in ALGS:
        bare, full = estimate(root, alg, "bare_signature"), estimate(root, alg, "full_validation")
        if not (bare and full):
            continue
        row = {"bare_signature": bare, "full_validation": full,
               "full_over_bare": round(full["median_ns"] / bare["median_ns"], 3)}
        if hit:
            row["hit_over_full"] = round(hit["median_ns"] / full["median_ns"], 4)
        rows[alg] = row
        print(f"{alg:<7} {bare['median_ns'] / 1000:>12.2f} µs {full['median_ns'] / 1000:>13.2f} µs "
              f"{row['full_over_bare']:>9.2f}x {hit['median_ns'] / 1000 if hit else float('nan'):>7.2f} µs "
              f"{row.get('hit_over_full', float('nan')):>8.3f}x")
    if not rows:
        print(f"no criterion results under {root}; run cargo bench -p rampart --bench validation", file=sys.stderr)
        return 1
    hit_claims = estimate(root, "cache", "hit_and_claims")
    if hit and hit_claims:
        print(f"cache hit plus the standard claims by value (what Auth<Claims> costs): "
              f"{hit_claims['median_ns'] / 1000:.2f} µs")
    requests = {}
    print()
    print(f"{'request':<7} {'/public':>9} {'+ header':>9} {'/notes hit':>11} {'/notes full':>12} "
          f"{'hit/public':>11} {'hit-public':>11}")
    for alg in ["HS256", "ES256"]:
        group = f"request_{alg}"
        found = {b: estimate(root, group, b) for b in
                 ["public", "public_with_header", "notes_cached", "notes_uncached"]}
        if not all(found.values()):
            continue
        ns = {b: e["median_ns"] for b, e in found.items()}
        requests[alg] = {**found, "hit_over_public": round(ns["notes_cached"] / ns["public_with_header"], 3),
                         "hit_minus_public_ns": round(ns["notes_cached"] - ns["public_with_header"])}
        print(f"{alg:<7} {ns['public'] / 1000:>6.2f} µs {ns['public_with_header'] / 1000:>6.2f} µs "
              f"{ns['notes_cached'] / 1000:>8.2f} µs {ns['notes_uncached'] / 1000:>9.2f} µs "
              f"{requests[alg]['hit_over_public']:>10.2f}x {requests[alg]['hit_minus_public_ns']:>8} ns")
    if requests:
        print("(router.oneshot in one thread: no sockets or HTTP parsing; hit/public compares "
              "/notes on a cache hit with /public carrying the same Authorization header)")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "criterion.json").write_text(json.dumps(
        {"algorithms": rows, "cache_hit": hit, "cache_hit_and_claims": hit_claims,
         "requests": requests}, indent=2) + "\n")
    print("(medians; the cache hit is the same for every algorithm: lookup plus the exp/nbf and "
          "revocation re-check)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
