"""Measure how much the default shortlists discriminate: ties at the top and overlap between cities.

For every Indonesian local city (the 98 kota and the provincial capitals) the default
shortlist (``recommend(city)``, top 10) is computed and two numbers are reported:

- **ties**: the share of the top-10 rows whose score equals (exactly, to 12 decimals) the
  score of another row of the same top 10; measured on the displayed strategy ``score``
  and, when the ranking uses a combined score, on that too;
- **overlap**: the mean over all pairs of kota of ``|A ∩ B| / 10``, the share of their
  top 10 that two kota have in common (1 = identical lists); also the share of pairs
  sharing 5 or more, and the most frequent candidates.

Usage::

    python scripts/measure_shortlists.py [--out benchmarks/shortlists.json] [--label after]

It uses only the public ``recommend`` API, so the same script measures an older checkout
(``PYTHONPATH=/path/to/old python scripts/measure_shortlists.py``) for a before/after.
"""

from __future__ import annotations

import argparse
import collections
import inspect
import itertools
import json
import time
from pathlib import Path

import numpy as np


def measure(top: int = 10, robustness: bool = True) -> dict:
    from recommender.data.tables import load_cities
    from recommender.engine.shortlist import recommend

    cities = load_cities()
    local = cities[cities["is_local"].fillna(False).astype(bool)]
    kota = set(local.loc[local["local_role"].astype(str).str.contains("kota"), "city_id"])
    lists: dict[int, list[int]] = {}
    tied_score = tied_key = rows = 0
    names: dict[int, str] = {}
    t0 = time.perf_counter()
    for cid in local["city_id"].astype(int):
        # robustness does not change the list; --no-robustness only saves time
        df = (
            recommend(int(cid), top=top)
            if robustness
            else recommend(int(cid), top=top, robustness=0)
        )
        lists[cid] = df["city_id"].astype(int).tolist()
        names.update(zip(df["city_id"].astype(int), df["name"] + ", " + df["country_code"]))
        s = np.round(df["score"].to_numpy(dtype=float), 12)
        key_col = "combined" if "combined" in df.columns else "score"
        k = np.round(df[key_col].to_numpy(dtype=float), 12)
        for arr, which in ((s, "score"), (k, "key")):
            _, inv, counts = np.unique(arr, return_inverse=True, return_counts=True)
            n = int((counts[inv] > 1).sum())
            if which == "score":
                tied_score += n
            else:
                tied_key += n
        rows += len(df)
    seconds = time.perf_counter() - t0
    kota_ids = [c for c in lists if c in kota]
    overlaps = [
        len(set(lists[a]) & set(lists[b])) / top for a, b in itertools.combinations(kota_ids, 2)
    ]
    freq = collections.Counter(c for k in kota_ids for c in lists[k])
    return {
        "n_local_cities": len(lists),
        "n_kota": len(kota_ids),
        "top": top,
        "rows": rows,
        "tied_share_score": round(tied_score / max(rows, 1), 4),
        "tied_share_rank_key": round(tied_key / max(rows, 1), 4),
        "mean_pairwise_overlap_kota": round(float(np.mean(overlaps)), 4),
        "share_pairs_overlap_ge_half": round(float(np.mean(np.array(overlaps) >= 0.5)), 4),
        "distinct_candidates_in_kota_lists": len(freq),
        "most_frequent": [
            {"city": names.get(c, str(c)), "n_kota": n} for c, n in freq.most_common(10)
        ],
        "recommend_has_feasibility_default": "feasibility"
        in inspect.signature(recommend).parameters,
        "seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--label", default="current")
    ap.add_argument("--no-robustness", action="store_true")
    args = ap.parse_args(argv)
    res = {"label": args.label, **measure(robustness=not args.no_robustness)}
    text = json.dumps(res, indent=2, ensure_ascii=False) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
