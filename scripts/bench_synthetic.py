"""Time recommend() (vectorised) against recommend_naive() on a synthetic 34k-city pool.

Usage::

    python scripts/bench_synthetic.py [--n 34000] [--repeat 20]

The pool is the synthetic table of ``tests/conftest.py`` (28 countries, log-normal sizes
and incomes, some missing and imputed values) plus the toy world's local city.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import TOY_ROWS, build_cities, build_ties  # noqa: E402

from recommender.engine.reference import recommend_naive  # noqa: E402
from recommender.engine.shortlist import recommend  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=34_000, help="number of random candidates")
    ap.add_argument("--repeat", type=int, default=20, help="timed runs of recommend()")
    ap.add_argument("--naive-repeat", type=int, default=2, help="timed runs of the naive one")
    args = ap.parse_args(argv)

    cities = build_cities(TOY_ROWS[:1], n_random=args.n, seed=1)
    ties = build_ties([(1, 2_000_000 + i) for i in range(0, args.n, 97)])
    print(f"pool: {len(cities) - 1} candidates, {len(ties)} existing partners")
    for method in ("wsm", "topsis"):
        call = lambda m=method: recommend(1, cities=cities, ties=ties, method=m)  # noqa: E731
        call()  # warm-up
        fast = timed(call, args.repeat)
        naive = timed(
            lambda m=method: recommend_naive(1, cities=cities, ties=ties, method=m),
            args.naive_repeat,
        )
        a = recommend(1, cities=cities, ties=ties, method=method)
        b = recommend_naive(1, cities=cities, ties=ties, method=method)
        same = a["city_id"].tolist() == b["city_id"].tolist()
        print(
            f"{method:6s} vectorised: median {statistics.median(fast):6.1f} ms "
            f"(min {min(fast):.1f}, max {max(fast):.1f}, n={len(fast)}) | naive: median "
            f"{statistics.median(naive):7.1f} ms | speed-up x{statistics.median(naive) / statistics.median(fast):.0f}"
            f" | same ranking: {same}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
