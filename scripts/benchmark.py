"""Measure the engine's speed on the packaged data; print a table and write JSON.

What it measures (targets in brackets, from the engine and feasibility issues):

- ``load``: loading the packaged tables in a fresh process (well under 1 s)
- ``recommend``: ``recommend("Medan")`` over the full candidate pool, in process, median
  of 20 runs after a warm-up [< 50 ms]
- ``recommend_naive``: the same ranking by a Python loop over candidates, median of 3
  [the vectorised one at least 20x faster]
- ``recommend_feasibility``: ``recommend("Medan", feasibility=True)``, median of 20, when a
  verified model is installed [< 50 ms]
- ``cli_shortlist``: ``sistercity shortlist Medan`` as a whole process, median of 5 [< 1.5 s]
- ``cli_batch``: ``sistercity batch --cities all-kota`` (98 kota) as a whole process [< 20 s]
- ``feasibility_pool``: the learned feasibility of one local city against its whole pool
  (every foreign city, ~40,000), in process, model loaded, median of 20 [well under 100 ms]
- ``feasibility_per_city``: the same for each of the 136 local cities once (median) and
  ``feasibility_all_local``: their total [the pool scores of a 136-city batch]
- ``cli_batch_feasibility``: ``sistercity batch --local-cities all-local --feasibility`` as a whole
  process [< 15 s]

Timings are wall-clock on this machine; the JSON records the machine's CPU count, Python
and library versions so that numbers can be compared over time.

Usage::

    python scripts/benchmark.py [--out benchmarks/latest.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS_MS = {
    "load": 1000.0,
    "recommend": 50.0,
    "recommend_feasibility": 50.0,
    "cli_shortlist": 1500.0,
    "cli_batch": 20000.0,
    "feasibility_pool": 100.0,
    "feasibility_per_city": 100.0,
    "cli_batch_feasibility": 15000.0,
}


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def sistercity_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("sistercity")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "recommender"]


def run_process(args: list[str], repeat: int) -> list[float]:
    def once():
        proc = subprocess.run(args, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{proc.stderr}")

    return timed(once, repeat)


def summary(name: str, samples: list[float], note: str = "") -> dict:
    med = statistics.median(samples)
    target = TARGETS_MS.get(name)
    return {
        "name": name,
        "median_ms": round(med, 2),
        "min_ms": round(min(samples), 2),
        "max_ms": round(max(samples), 2),
        "runs": len(samples),
        "target_ms": target,
        "meets_target": None if target is None else bool(med < target),
        "note": note,
    }


def feasibility_rows(cities, ties, local, rep: int, *, quick: bool = False) -> list[dict]:
    """The learned feasibility's rows: whole-pool scoring in process (one city, and every
    local city once), and the all-local batch with feasibility as a whole process.

    Each in-process row also records the median CPU time (``cpu_median_ms``): on a shared
    machine the wall clock includes waiting for a core, the CPU time does not.
    """
    import numpy as np

    from recommender.engine.feasibility import feasibility_for_pool, load_model

    try:
        model = load_model()
    except Exception as exc:  # noqa: BLE001 - report, do not fail the benchmark
        return [{"name": "feasibility_pool", "note": f"not measured: {exc}"}]
    country = cities["country_code"].to_numpy()

    def pool_of(city) -> np.ndarray:
        return np.flatnonzero(country != city["country_code"])

    def run(city, pos):
        return feasibility_for_pool(city, pos, cities=cities, ties=ties, model=model)

    pos = pool_of(local)
    run(local, pos)  # warm-up: per-table arrays and tie counts are cached
    wall, cpu = [], []
    for _ in range(rep):
        c0, t0 = time.process_time(), time.perf_counter()
        run(local, pos)
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    rows = [
        summary(
            "feasibility_pool",
            wall,
            f"{local['name']} against {len(pos):,} foreign cities; median of {rep}",
        )
        | {"cpu_median_ms": round(statistics.median(cpu), 2)}
    ]
    locals_ = cities[cities["is_local"].fillna(False).astype(bool)]
    if quick:
        locals_ = locals_.head(20)
    wall, cpu, n = [], [], 0
    for _, city in locals_.iterrows():
        pos = pool_of(city)
        c0, t0 = time.process_time(), time.perf_counter()
        run(city, pos)
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
        n += len(pos)
    rows.append(
        summary(
            "feasibility_per_city",
            wall,
            f"each of {len(locals_)} local cities against its whole pool (median)",
        )
        | {"cpu_median_ms": round(statistics.median(cpu), 2)}
    )
    rows.append(
        summary(
            "feasibility_all_local",
            [sum(wall)],
            f"total of the above: {n:,} pairs, {1e6 * sum(cpu) / 1000 / n:.2f} us CPU per pair",
        )
        | {"cpu_median_ms": round(sum(cpu), 2)}
    )
    with tempfile.TemporaryDirectory() as tmp:
        out_csv = Path(tmp) / "batch.csv"
        rows.append(
            summary(
                "cli_batch_feasibility",
                run_process(
                    [
                        *sistercity_cmd(),
                        "batch",
                        "--local-cities",
                        "all-local",
                        "--feasibility",
                        "-o",
                        str(out_csv),
                        "--force",
                    ],
                    1,
                ),
                "`sistercity batch --local-cities all-local --feasibility` (136 cities), whole process",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "latest.json")
    ap.add_argument("--quick", action="store_true", help="fewer repeats (for a smoke run)")
    ap.add_argument("--city", default="Medan")
    args = ap.parse_args(argv)
    rep = 5 if args.quick else 20

    rows: list[dict] = []
    load_code = (
        "import time; from recommender.data.tables import load_cities, load_ties; "
        "t=time.perf_counter(); load_cities(); load_ties(); print((time.perf_counter()-t)*1000)"
    )
    loads = []
    for _ in range(3 if args.quick else 5):
        out = subprocess.run(
            [sys.executable, "-c", load_code], capture_output=True, text=True, check=True
        )
        loads.append(float(out.stdout.strip()))
    rows.append(summary("load", loads, "cities + ties tables, fresh process, import excluded"))

    from recommender.data.tables import load_cities, load_ties, resolve_city
    from recommender.engine.reference import recommend_naive
    from recommender.engine.shortlist import recommend

    cities, ties = load_cities(), load_ties()
    local = resolve_city(args.city, cities=cities)
    recommend(local, cities=cities, ties=ties)  # warm-up (caches per table)
    fast = timed(lambda: recommend(local, cities=cities, ties=ties), rep)
    rows.append(summary("recommend", fast, f"{args.city}, full pool, in process, median of {rep}"))
    naive = timed(
        lambda: recommend_naive(local, cities=cities, ties=ties), 3 if not args.quick else 1
    )
    a = recommend(local, cities=cities, ties=ties)["city_id"].tolist()
    b = recommend_naive(local, cities=cities, ties=ties)["city_id"].tolist()
    speedup = statistics.median(naive) / statistics.median(fast)
    rows.append(
        summary(
            "recommend_naive",
            naive,
            f"Python loop over candidates; same ranking: {a == b}; vectorised is {speedup:.0f}x faster",
        )
    )
    try:
        recommend(local, cities=cities, ties=ties, feasibility=True)
    except Exception as exc:  # noqa: BLE001 - report, do not fail the benchmark
        rows.append({"name": "recommend_feasibility", "note": f"not measured: {exc}"})
    else:
        feas = timed(lambda: recommend(local, cities=cities, ties=ties, feasibility=True), rep)
        rows.append(
            summary(
                "recommend_feasibility", feas, f"model loaded and verified once; median of {rep}"
            )
        )

    rows += feasibility_rows(cities, ties, local, rep, quick=args.quick)

    cmd = sistercity_cmd()
    rows.append(
        summary(
            "cli_shortlist",
            run_process([*cmd, "shortlist", args.city], 2 if args.quick else 5),
            f"`sistercity shortlist {args.city}`, whole process",
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        out_csv = Path(tmp) / "batch.csv"
        rows.append(
            summary(
                "cli_batch",
                run_process(
                    [*cmd, "batch", "--cities", "all-kota", "-o", str(out_csv), "--force"], 1
                ),
                "`sistercity batch --cities all-kota` (98 kota), whole process",
            )
        )

    print(
        f"{'measure':<24}{'median ms':>12}{'min':>10}{'max':>10}{'runs':>6}{'target':>10}  ok   note"
    )
    for r in rows:
        if "median_ms" not in r:
            print(f"{r['name']:<24}{'':>12}{'':>10}{'':>10}{'':>6}{'':>10}  -    {r['note']}")
            continue
        tgt = "" if r["target_ms"] is None else f"{r['target_ms']:.0f}"
        ok = {True: "yes", False: "NO", None: "-"}[r["meets_target"]]
        print(
            f"{r['name']:<24}{r['median_ms']:>12.1f}{r['min_ms']:>10.1f}{r['max_ms']:>10.1f}"
            f"{r['runs']:>6}{tgt:>10}  {ok:<4} {r['note']}"
            + (f" [CPU {r['cpu_median_ms']:.1f} ms]" if "cpu_median_ms" in r else "")
        )
    doc = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            **{p: metadata.version(p) for p in ("numpy", "pandas", "scikit-learn")},
        },
        "n_cities": int(len(cities)),
        "speedup_vs_naive": round(speedup, 1),
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
