"""Measure the engine's speed on the packaged data: a table on screen and JSON on disk.

Each row is a *measure*: a function registered with :func:`measure` that returns its
numbers. Where a goal is a ratio, both sides are timed in the same run, interleaved, so
that the load of a shared machine falls on both; times are CPU medians (user + system of
the process, or of the child process for whole-command measures), not wall clock, except
where a row says so. Goals (from the engine issue):

========================  =====================================================  ========
row                       what                                                   goal
========================  =====================================================  ========
host                      a fixed workload outside the project: the host's       (none)
                          speed, to compare absolute rows of two runs
cli_shortlist             ``sistercity shortlist Medan`` / ``import pandas,      <= 1.3x
                          numpy`` (whole processes)
cli_help                  ``sistercity --help`` / ``import click``               <= 2x
recommend                 ``recommend("Medan")`` in process, the default         <= 8 ms
                          shortlist (feasibility, robustness draws, context)
wsm_kernel                the engine's WSM kernel / plain column-major numpy      <= 2x
topsis_peer               scikit-criteria's TOPSIS / the engine's                >= 5x
scale                     time per candidate at 10M / at 1M                      <= 1.5x
atlas                     all cities, one preset, 2 workers: wall time, peak     < 180 s,
                          memory of the process tree                             < 1 GB
========================  =====================================================  ========

To add a row, write a function ``def my_row(ctx) -> dict`` decorated with
``@measure("name", goal="...")``; return at least ``value`` and ``unit`` (and ``ok`` when
there is a goal). ``ctx`` holds the loaded tables and the options.

Usage::

    python scripts/benchmark.py [--out benchmarks/latest.json] [--quick] [--only NAME ...]
        [--atlas-every K]

``--only`` re-measures some rows and keeps the others of the last run in the JSON. Every
row records the machine's load average before it ran: on a shared machine, CPU times
inflate too (caches are cold after every switch), so compare rows of quiet runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEASURES: list[tuple[str, str, Callable[[dict], dict]]] = []


def measure(name: str, goal: str = "") -> Callable:
    """Register a benchmark row (see the module docstring)."""

    def deco(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
        MEASURES.append((name, goal, fn))
        return fn

    return deco


# --------------------------------------------------------------------------- helpers


def cpu_in_process(fn: Callable[[], object], repeat: int) -> list[float]:
    """CPU seconds (this process) of each of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        out.append(time.process_time() - t)
    return out


def cpu_of_process(args: list[str], env: dict | None = None) -> float:
    """CPU seconds (user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{proc.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def interleaved(a: list[str], b: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """CPU times of two commands, run alternately (one warm-up each)."""
    cpu_of_process(a), cpu_of_process(b)
    xs, ys = [], []
    for _ in range(repeat):
        xs.append(cpu_of_process(a))
        ys.append(cpu_of_process(b))
    return xs, ys


def sistercity_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("sistercity")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "recommender"]


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


def ratio_row(xs: list[float], ys: list[float], goal_max: float, what: str) -> dict:
    mx, my = statistics.median(xs), statistics.median(ys)
    r = mx / my
    return {
        "value": round(r, 3),
        "unit": "x",
        "ok": r <= goal_max,
        "median_ms": ms(mx),
        "baseline_ms": ms(my),
        "runs": len(xs),
        "note": what,
    }


class TreeMemory:
    """Peak resident memory of a process and its children (sampled from /proc)."""

    def __init__(self, pid: int, every: float = 0.1):
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        pids, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            pids.append(p)
            try:
                for t in os.listdir(f"/proc/{p}/task"):
                    with open(f"/proc/{p}/task/{t}/children") as fh:
                        todo += [int(c) for c in fh.read().split()]
            except OSError:
                pass
        return pids

    def _rss(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(self._rss(p) for p in self._tree()))
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# --------------------------------------------------------------------------- rows


def compile_package() -> str:
    """Compile the bytecode of the ``recommender`` package the commands will import.

    An installed package has its bytecode (pip compiles a wheel's modules; an editable
    install writes ``__pycache__`` at first import), but this sandbox may set
    ``PYTHONDONTWRITEBYTECODE``, so that every module edited since its last ``.pyc`` would
    be compiled from source at every start (about 60 ms): the whole-process rows would
    time the compiler, not the command. Returns the folder compiled.
    """
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, recommender; print(os.path.dirname(recommender.__file__))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for folder in dict.fromkeys([where, str(ROOT / "recommender")]):
        subprocess.run([sys.executable, "-m", "compileall", "-q", folder], check=True)
    return where


@measure("host")
def host(ctx: dict) -> dict:
    """The host's own speed: a fixed workload that does not touch the project (numpy sorts
    a seeded million floats; Python sums a million integers in a loop). The machine is
    shared and its speed moves from hour to hour; absolute rows (``recommend`` ms, the
    atlas's seconds) of two runs compare only as far as this row does."""
    import numpy as np

    x = np.random.default_rng(0).random(1_000_000)

    def work() -> None:
        np.sort(x)
        total = 0
        for i in range(1_000_000):
            total += i

    work()
    t = statistics.median(cpu_in_process(work, ctx["repeat"] // 3 or 1))
    return {
        "value": ms(t),
        "unit": "ms",
        "ok": None,
        "note": "fixed workload outside the project (numpy sort of 1M floats + a Python loop "
        "of 1M additions), CPU median: the host's speed, to compare the absolute rows of "
        "two runs",
    }


@measure("cli_shortlist", goal="<= 1.3x")
def cli_shortlist(ctx: dict) -> dict:
    """Whole `sistercity shortlist Medan` vs a Python that only imports pandas and numpy."""
    compile_package()
    a = [*sistercity_cmd(), "shortlist", ctx["city"]]
    b = [sys.executable, "-c", "import pandas, numpy"]
    xs, ys = interleaved(a, b, ctx["proc_repeat"])
    return ratio_row(
        xs,
        ys,
        1.3,
        f"`sistercity shortlist {ctx['city']}` / `import pandas, numpy`; the package's "
        "bytecode compiled first (as an install does), the table cache built by the warm-up",
    )


@measure("cli_help", goal="<= 2x")
def cli_help(ctx: dict) -> dict:
    compile_package()
    xs, ys = interleaved(
        [*sistercity_cmd(), "--help"], [sys.executable, "-c", "import click"], ctx["proc_repeat"]
    )
    return ratio_row(
        xs, ys, 2.0, "`sistercity --help` / `import click`; the package's bytecode compiled first"
    )


@measure("recommend", goal="<= 8 ms")
def recommend_row(ctx: dict) -> dict:
    from recommender.engine.shortlist import recommend

    # the default shortlist: packaged tables through the default loaders, so feasibility
    # ("auto": on with the packaged ties) and the robustness draws are on
    city = ctx["city"]
    recommend(city)  # warm-up: arrays per table, model, the city's cached feasibility
    t = cpu_in_process(lambda: recommend(city), ctx["repeat"])
    med = statistics.median(t)
    fit = cpu_in_process(lambda: recommend(city, fit_only=True, robustness=0), ctx["repeat"])
    no_draws = cpu_in_process(lambda: recommend(city, robustness=0), ctx["repeat"])
    return {
        "value": ms(med),
        "unit": "ms",
        "ok": med <= 0.008,
        "min_ms": ms(min(t)),
        "fit_only_no_robustness_ms": ms(statistics.median(fit)),
        "no_robustness_ms": ms(statistics.median(no_draws)),
        "runs": len(t),
        "note": (
            f'recommend("{city}") default (feasibility, 100 robustness draws, context), '
            f"CPU median; fit only without draws {ms(statistics.median(fit))} ms, "
            f"without draws {ms(statistics.median(no_draws))} ms"
        ),
    }


def _medan_pool(ctx: dict):
    from recommender.engine.shortlist import build_pool

    return build_pool(ctx["city"], cities=ctx["cities"], ties=ctx["ties"])


def plain_wsm(asym_t, bands, two_sided, ideals, w, missing_t, imputed_t, penalty):
    """The WSM formula written plainly in numpy on column-major arrays (the yardstick): the
    engine's ideal-point desirability (1 at the ideal, ``q`` at the band's edges, falling to
    0 at ``min`` / ``max``), weights 0 where missing and discounted where imputed."""
    import numpy as np

    from recommender.engine.scoring import EDGE_DESIRABILITY as q

    num = np.zeros(asym_t.shape[1])
    den = np.zeros(asym_t.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(asym_t.shape[0]):
            if w[j] == 0:
                continue
            x = np.abs(asym_t[j]) if two_sided[j] else asym_t[j]
            mn, lo, hi, mx = bands[j]
            m = ideals[j]
            below = x < m
            left = (x - m) / (lo - m) if m > lo else np.where(below, np.inf, 0.0)
            right = (x - m) / (hi - m) if hi > m else np.where(x > m, np.inf, 0.0)
            t = np.minimum(np.where(below, left, right), 1.0)
            peak = 1.0 - (1.0 - q) * t * t
            up = (x - mn) / (lo - mn) if lo > mn else np.where(x >= lo, 1.0, 0.0)
            down = (mx - x) / (mx - hi) if mx > hi else np.where(x <= hi, 1.0, 0.0)
            d = np.where(x < lo, q * up, np.where(x > hi, q * down, peak))
            if np.isneginf(mn):
                d = np.where(below, 1.0, d)
            if np.isposinf(mx):
                d = np.where(x > m, 1.0, d)
            d = np.nan_to_num(np.clip(d, 0.0, 1.0))
            wj = np.where(missing_t[j], 0.0, np.where(imputed_t[j], w[j] * (1 - penalty), w[j]))
            num += wj * d
            den += wj
    return np.minimum(np.divide(num, den, out=np.zeros_like(num), where=den > 0), 1.0)


@measure("wsm_kernel", goal="<= 2x")
def wsm_kernel(ctx: dict) -> dict:
    import numpy as np

    from recommender.engine.scoring import score_columns

    pool = _medan_pool(ctx)
    asym_t = np.ascontiguousarray(pool.asym.T)
    missing_t = np.ascontiguousarray(pool.result.missing.T)
    imputed_t = np.ascontiguousarray(pool.result.imputed.T)
    scen = pool.options.scenario
    bands, two = scen.band_matrix()
    ideals = scen.ideal_array()
    w = scen.weight_array()

    def ours():
        return score_columns(asym_t, scen, missing_t=missing_t, imputed_t=imputed_t).score

    def plain():
        return plain_wsm(asym_t, bands, two, ideals, w, missing_t, imputed_t, scen.imputed_penalty)

    diff = float(np.max(np.abs(ours() - plain())))
    same = diff <= 1e-12
    xs, ys = [], []
    for _ in range(ctx["repeat"]):
        xs += cpu_in_process(ours, 1)
        ys += cpu_in_process(plain, 1)
    row = ratio_row(xs, ys, 2.0, "")
    row["note"] = (
        f"score_columns (desirability, weights, gates) vs plain numpy WSM on Medan's pool of "
        f"{asym_t.shape[1]:,}; same scores: {same} (largest difference {diff:.1e})"
    )
    return row


@measure("topsis_peer", goal=">= 5x faster than scikit-criteria")
def topsis_peer(ctx: dict) -> dict:
    import numpy as np

    from recommender.engine.scoring import topsis_columns

    pool = _medan_pool(ctx)
    D_t = np.ascontiguousarray(pool.result.desirability.T)
    w = pool.options.scenario.weight_array()
    keep = w > 0
    D_t, w = np.ascontiguousarray(D_t[keep]), w[keep]
    ours = cpu_in_process(lambda: topsis_columns(D_t, w), ctx["repeat"])
    try:
        import skcriteria as skc
        from skcriteria.agg.topsis import TOPSIS
    except ImportError:
        return {
            "value": ms(statistics.median(ours)),
            "unit": "ms",
            "ok": None,
            "note": "peer not timed: scikit-criteria is not installed (pip install "
            "scikit-criteria); the engine's TOPSIS time is shown",
        }
    # both on the same (n, k) matrix; a constant 1e-9 keeps the peer's zero checks quiet
    M = D_t.T + 1e-9
    dm = skc.mkdm(M, objectives=[max] * M.shape[1], weights=w)
    peer_fn = TOPSIS()
    peer_fn.evaluate(dm)
    peer = cpu_in_process(lambda: peer_fn.evaluate(dm), max(3, ctx["repeat"] // 4))
    mo, mp = statistics.median(ours), statistics.median(peer)
    return {
        "value": round(mp / mo, 1),
        "unit": "x faster",
        "ok": mp / mo >= 5.0,
        "median_ms": ms(mo),
        "baseline_ms": ms(mp),
        "runs": len(ours),
        "note": f"topsis_columns vs scikit-criteria {metadata.version('scikit-criteria')} "
        f"TOPSIS on the same {M.shape[0]:,} x {M.shape[1]} matrix",
    }


@measure("scale", goal="10M per candidate <= 1.5x 1M")
def scale(ctx: dict) -> dict:
    sizes = (
        [10_000, 100_000, 1_000_000] if ctx["quick"] else [10_000, 100_000, 1_000_000, 10_000_000]
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scale.json"
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "bench_synthetic.py"), "--sizes",
             *map(str, sizes), "--repeat", "3", "--json", str(out)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        rows = json.loads(out.read_text())
    by_n = {r["n_candidates"]: r for r in rows}
    big = 10_000_000 if 10_000_000 in by_n else max(by_n)
    r = by_n[big]["ns_per_candidate"] / by_n[1_000_000]["ns_per_candidate"]
    return {
        "value": round(r, 2),
        "unit": "x",
        "ok": r <= 1.5,
        "sizes": rows,
        "note": f"ns per candidate {big:,} / 1,000,000 (scripts/bench_synthetic.py; see sizes)",
    }


@measure("atlas", goal="< 180 s and < 1 GB (all cities, 2 cores)")
def atlas_row(ctx: dict) -> dict:
    """The atlas through the CLI with 2 workers: every city, or every k-th (--atlas-every).

    On a sample, the time of the whole table is extrapolated from the CPU time per local
    city (CPU / 2 cores), which a machine shared with other work does not inflate as it
    does wall time; the row says which it is.
    """
    every = ctx["atlas_every"]
    n_all = len(ctx["cities"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "atlas.csv"
        args = [
            *sistercity_cmd(),
            "atlas",
            "--scenario",
            "small-big",
            "-o",
            str(out),
            "--jobs",
            "2",
        ]
        if every > 1:
            ids = ctx["cities"]["city_id"].to_numpy()[::every]
            for i in ids:
                args += ["--local", str(int(i))]
        n_local = n_all if every <= 1 else len(ids)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with TreeMemory(proc.pid) as mem:
            _, err = proc.communicate()
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"atlas failed: {err.decode()}")
        n_rows = sum(1 for _ in out.open()) - 1
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    per_city_ms = cpu / n_local * 1000
    full_s = wall if every <= 1 else cpu / n_local * n_all / 2
    return {
        "value": round(full_s, 1),
        "unit": "s" + (" wall" if every <= 1 else " est."),
        "ok": full_s < 180 and mem.peak < 1e9,
        "peak_memory_mb": round(mem.peak / 1e6, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "cpu_ms_per_local_city": round(per_city_ms, 2),
        "rows": n_rows,
        "local_cities": n_local,
        "note": (
            f"`sistercity atlas --scenario small-big --jobs 2` over {n_local:,} local cities "
            f"({n_rows:,} rows), {wall:.0f} s wall; "
            + (
                "all cities"
                if every <= 1
                else f"every {every}th city; all {n_all:,} estimated as CPU/city x cities / 2 cores"
            )
            + f"; peak memory {mem.peak / 1e6:.0f} MB (summed RSS of the process tree)"
        ),
    }


@measure("feasibility_pool", goal="< 100 ms")
def feasibility_pool(ctx: dict) -> dict:
    """The learned feasibility of one local city against its whole foreign pool (model loaded)."""
    import numpy as np

    from recommender.engine.feasibility import (
        feasibility_for_pool,
        load_model,
        model_from_bundle,
    )

    cities, ties = ctx["cities"], ctx["ties"]
    model = load_model()
    local = cities[cities["name"] == ctx["city"]].iloc[0]
    pos = np.flatnonzero(cities["country_code"].to_numpy() != local["country_code"])

    def run(m=model):
        return feasibility_for_pool(local, pos, cities=cities, ties=ties, model=m)

    run()  # warm-up: per-table arrays, tie counts and the combined tables are cached
    # the first call of a freshly loaded model (the tables' arrays and counts built): it
    # also builds the model's tables that combine several features (engine.trees)
    fresh = model_from_bundle(model.to_arrays(), model.manifest)
    first_ms = ms(cpu_in_process(lambda: run(fresh), 1)[0])
    t = cpu_in_process(run, ctx["proc_repeat"] if ctx["quick"] else max(21, ctx["proc_repeat"]))
    med = statistics.median(t)
    # the shortlist's per-city cache (engine.feasibility.cached_scores) of the same pool:
    # scored and saved once, then read
    from recommender.engine.feasibility import cached_scores

    with tempfile.TemporaryDirectory() as tmp:
        old = os.environ.get("SISTERCITY_CACHE_DIR")
        os.environ["SISTERCITY_CACHE_DIR"] = tmp
        try:
            first = cached_scores(model, local, cities, ties)
            if first is None:
                cached = None
            else:
                first(pos)
                first.save()
                cached = cpu_in_process(
                    lambda: cached_scores(model, local, cities, ties)(pos), ctx["proc_repeat"]
                )
        finally:
            if old is None:
                os.environ.pop("SISTERCITY_CACHE_DIR", None)
            else:
                os.environ["SISTERCITY_CACHE_DIR"] = old
    cached_ms = None if cached is None else ms(statistics.median(cached))
    return {
        "value": ms(med),
        "unit": "ms",
        "ok": med < 0.1,
        "runs": len(t),
        "cached_ms": cached_ms,
        "first_ms": first_ms,
        "note": (
            f"{ctx['city']} against {len(pos):,} foreign cities, scored, CPU median of "
            f"{len(t)}; the first call of a freshly loaded model: {first_ms} ms; "
            f"read from the per-city cache: {cached_ms} ms"
        ),
    }


@measure("batch_feasibility", goal="< 15 s")
def batch_feasibility(ctx: dict) -> dict:
    """`sistercity batch --local-cities all-local --feasibility`, whole process, CPU seconds."""
    # first use: an empty cache folder (the tables' binary cache and every city's
    # feasibility are built); then the same again with the cache filled
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SISTERCITY_CACHE_DIR": str(Path(tmp) / "cache")}
        args = [*sistercity_cmd(), "batch", "--local-cities", "all-local", "--feasibility"]
        cold = cpu_of_process([*args, "-o", str(Path(tmp) / "a.csv")], env=env)
        warm = cpu_of_process([*args, "-o", str(Path(tmp) / "b.csv")], env=env)
    return {
        "value": round(cold, 1),
        "unit": "s CPU",
        "ok": cold < 15.0,
        "warm_s": round(warm, 1),
        "note": (
            f"all local cities with feasibility, one process: {cold:.1f} s CPU with an empty "
            f"cache folder (first use), {warm:.1f} s with the per-city cache filled"
        ),
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "latest.json")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller runs")
    ap.add_argument("--only", nargs="+", default=None, help="run only these rows")
    ap.add_argument("--city", default="Medan")
    ap.add_argument(
        "--atlas-every", type=int, default=8, help="atlas over every k-th city (1 = all of them)"
    )
    args = ap.parse_args(argv)
    # an installed package has compiled bytecode; this checkout may run with
    # PYTHONDONTWRITEBYTECODE set, so compile it once, as pip would (see compile_package)
    compile_package()

    from recommender.data.tables import load_cities, load_ties

    ctx = {
        "city": args.city,
        "quick": args.quick,
        "atlas_every": args.atlas_every if not args.quick else max(args.atlas_every, 40),
        "repeat": 7 if args.quick else 31,
        "proc_repeat": 3 if args.quick else 9,
        "cities": load_cities(),
        "ties": load_ties(),
    }
    doc = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            **{p: metadata.version(p) for p in ("numpy", "pandas", "scikit-learn")},
        },
        "n_cities": int(len(ctx["cities"])),
        "results": [],
    }
    if args.only and args.out.exists():  # update these rows of the last full run
        old = json.loads(args.out.read_text())
        doc["results"] = [r for r in old.get("results", []) if r.get("name") not in args.only]
    for name, goal, fn in MEASURES:
        if args.only and name not in args.only:
            continue
        load = [round(x, 2) for x in os.getloadavg()]
        t = time.perf_counter()
        row = {"name": name, "goal": goal, **fn(ctx)}
        row["took_s"] = round(time.perf_counter() - t, 1)
        row["load_average_before"] = load
        doc["results"] = [r for r in doc["results"] if r["name"] != name] + [row]
        ok = {True: "yes", False: "NO", None: "-"}[row.get("ok")]
        print(f"{name:<14}{row['value']:>10} {row['unit']:<10}{goal:<34}{ok:<5}{row['note']}")
        order = [m[0] for m in MEASURES]
        doc["results"].sort(key=lambda r: order.index(r["name"]) if r["name"] in order else 99)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2) + "\n")  # after every row
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
