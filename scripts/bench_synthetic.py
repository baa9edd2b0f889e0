"""Scale: recommend() over synthetic candidate pools of 10k to 10M cities.

For each size the pool is a synthetic cities table in the data contract, built with
compact columns (numbers as float64, every string column categorical: a few hundred
distinct values behind integer codes), so that 10 million rows fit in memory. Measured
per size, after one warm-up call (which builds the table's column-major arrays):

- the median CPU time of ``recommend(local, top=10)`` and the time per candidate;
- the peak of memory allocated by one call (``tracemalloc``, which numpy reports to), per
  candidate;
- the table's own memory per row, and that of the engine's arrays.

``--check N`` also compares the ranking with ``recommend_naive`` on a pool of N.

Usage::

    python scripts/bench_synthetic.py [--sizes 10000 100000 1000000 10000000] [--repeat 5]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recommender.data.indicators import INDICATOR_NAMES  # noqa: E402
from recommender.data.schema import CITY_COLUMNS  # noqa: E402
from recommender.engine.arrays import table_arrays  # noqa: E402
from recommender.engine.shortlist import recommend  # noqa: E402

COUNTRIES = [f"C{i:02d}" for i in range(60)]
LEVELS = np.array(["city", "region", "country", "imputed", "missing"])


def _cat(codes: np.ndarray, values) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, pd.Index(list(values), dtype=object))


def synthetic_cities(n: int, seed: int = 0) -> pd.DataFrame:
    """A cities table of ``n`` foreign candidates plus one local city (row 0, id 1, "C00")."""
    rng = np.random.default_rng(seed)
    country = rng.integers(0, len(COUNTRIES), n + 1).astype(np.int16)
    country_gdp = rng.lognormal(np.log(8000), 1.0, len(COUNTRIES))
    gdp = country_gdp[country] * rng.lognormal(0, 0.3, n + 1)
    hdi = np.clip(0.35 + 0.1 * np.log(gdp / 1000) + rng.normal(0, 0.03, n + 1), 0.3, 0.97)
    pop = np.round(rng.lognormal(np.log(60_000), 1.2, n + 1) + 15_000)
    area = pop / rng.lognormal(np.log(2000), 0.8, n + 1)
    name = rng.integers(1, 1000, n + 1).astype(np.int16)
    # row 0 is the local city: Lokal (C00), 2.5 M people, 250 km², US$ 5,000, HDI 0.75
    country[0], name[0] = 0, 0
    pop[0], area[0], gdp[0], hdi[0] = 2.5e6, 250.0, 5000.0, 0.75
    ids = np.arange(9, n + 10, dtype=np.int64)
    ids[0] = 1
    cols: dict[str, object] = {
        "city_id": ids,
        "name": _cat(name, ["Lokal"] + [f"Town {i}" for i in range(1, 1000)]),
        "country_code": _cat(country, COUNTRIES),
        "country_name": _cat(country, [f"Country {c}" for c in COUNTRIES]),
        "continent": _cat(country % 6, ["AF", "AS", "EU", "NA", "OC", "SA"]),
        "latitude": rng.uniform(-60, 70, n + 1),
        "longitude": rng.uniform(-180, 180, n + 1),
        "is_capital": np.zeros(n + 1, dtype=bool),
        "is_local": np.arange(n + 1) == 0,
        "n_partners": np.zeros(n + 1, dtype=np.int64),
    }
    values = {"population": pop, "area_km2": area, "gdp_per_capita_usd": gdp, "hdi": hdi}
    for ind in INDICATOR_NAMES:
        lv = rng.choice(4, n + 1, p=[0.4, 0.3, 0.2, 0.1]).astype(np.int8)
        missing = rng.random(n + 1) < 0.02
        missing[0], lv[0] = False, 0
        lv[missing] = 4
        v = values[ind]
        v[missing] = np.nan
        cols[ind] = v
        cols[f"{ind}_level"] = _cat(lv, LEVELS)
        cols[f"{ind}_source"] = _cat(missing.astype(np.int8), ["synthetic", ""])
        cols[f"{ind}_year"] = np.where(missing, np.nan, 2024.0)
    cols["kind"] = _cat(np.zeros(n + 1, dtype=np.int8), ["city"])  # no parts of cities
    for c in CITY_COLUMNS:
        if c not in cols:
            cols[c] = _cat(np.zeros(n + 1, dtype=np.int8), [""])
    return pd.DataFrame(cols)


def measure(n: int, repeat: int, seed: int = 0) -> dict:
    cities = synthetic_cities(n, seed)
    ties = pd.DataFrame({"city_a_id": [1], "city_b_id": [10 + n // 2]})  # one partner
    local = cities.iloc[0]
    call = lambda: recommend(local, cities=cities, ties=ties, top=10)  # noqa: E731
    t = time.process_time()
    call()  # warm-up: builds the column-major arrays of the table
    first = time.process_time() - t
    times = []
    for _ in range(repeat):
        t = time.process_time()
        call()
        times.append(time.process_time() - t)
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arr = table_arrays(cities)
    arrays_bytes = (
        sum(
            getattr(arr, f).nbytes
            for f in (
                "ids",
                "values",
                "raw",
                "is_missing",
                "level",
                "imputed",
                "fine",
                "population",
            )
        )
        + arr.country.nbytes
    )
    med = statistics.median(times)
    return {
        "n_candidates": n,
        "median_s": round(med, 5),
        "first_call_s": round(first, 4),
        "ns_per_candidate": round(med / n * 1e9, 2),
        "call_peak_bytes_per_candidate": round(peak / n, 1),
        "table_bytes_per_row": round(cities.memory_usage(deep=True).sum() / n, 1),
        "arrays_bytes_per_row": round(arrays_bytes / n, 1),
        "runs": repeat,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000, 10_000_000]
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    ap.add_argument("--check", type=int, default=0, help="compare with recommend_naive on N")
    args = ap.parse_args(argv)

    if args.check:
        from recommender.engine.reference import recommend_naive

        cities = synthetic_cities(args.check)
        ties = pd.DataFrame({"city_a_id": [1], "city_b_id": [10]})
        a = recommend(1, cities=cities, ties=ties)["city_id"].tolist()
        b = recommend_naive(1, cities=cities, ties=ties)["city_id"].tolist()
        print(f"naive check on {args.check}: same ranking: {a == b}")

    rows = []
    print(f"{'candidates':>12}{'median ms':>12}{'ns/cand':>10}{'call B/cand':>13}"
          f"{'table B/row':>13}{'arrays B/row':>14}")  # fmt: skip
    for n in args.sizes:
        r = measure(n, args.repeat)
        rows.append(r)
        print(
            f"{n:>12,}{r['median_s'] * 1000:>12.1f}{r['ns_per_candidate']:>10.1f}"
            f"{r['call_peak_bytes_per_candidate']:>13.1f}{r['table_bytes_per_row']:>13.1f}"
            f"{r['arrays_bytes_per_row']:>14.1f}"
        )
    by_n = {r["n_candidates"]: r for r in rows}
    if 1_000_000 in by_n and 10_000_000 in by_n:
        ratio = by_n[10_000_000]["ns_per_candidate"] / by_n[1_000_000]["ns_per_candidate"]
        print(f"time per candidate, 10M vs 1M: {ratio:.2f}x (target <= 1.5x)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
