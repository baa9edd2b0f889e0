"""Evaluate the feasibility model and the baselines on held-out cities (packaged data);
write evaluation.csv, .json and .md where ``-o`` says (default: the current folder).

The same as ``sistercity evaluate``: both call :func:`recommender.learn.evaluate.evaluate`.
Each ranked held-out city is ranked against the full pool of about 39,000 foreign cities.
By default a seeded sample of 400 of the 899 held-out cities is ranked (about 4 minutes
on 2 cores; the model is still retrained without the ties of every held-out city);
``--max-cities 0`` ranks all of them (about 9 minutes). The same seed gives the same files,
byte for byte. The committed models/evaluation.* come from
``python scripts/evaluate.py -o models --force``.

Usage::

    python scripts/evaluate.py [--seed 0] [--max-cities 400] [--models hgb,logreg]
                               [-o DIR] [--force] [--no-indonesia] [--grid]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from recommender.learn.evaluate import evaluate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--holdout-share", type=float, default=0.2)
    ap.add_argument("--min-partners", type=int, default=3)
    ap.add_argument("--max-cities", type=int, default=400, help="0: all held-out cities")
    ap.add_argument("--models", default="hgb,logreg", help="comma-separated: hgb, logreg")
    ap.add_argument("--no-indonesia", action="store_true", help="skip the Indonesian split")
    ap.add_argument(
        "--grid",
        action="store_true",
        help="also measure every blend x feasibility power x diversity on a validation split "
        "and report the choice",
    )
    ap.add_argument("--grid-seed", type=int, default=None, help="default: seed + 1")
    ap.add_argument("-o", "--out-dir", type=Path, default=Path("."), help="default: .")
    ap.add_argument("--force", action="store_true", help="replace existing evaluation files")
    args = ap.parse_args(argv)
    from recommender.errors import RecommenderError
    from recommender.learn.evaluate import check_save_targets

    try:
        check_save_targets(args.out_dir, force=args.force)
    except RecommenderError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    res = evaluate(
        seed=args.seed,
        holdout_share=args.holdout_share,
        min_partners=args.min_partners,
        max_cities=args.max_cities or None,
        models=tuple(m.strip() for m in args.models.split(",") if m.strip()),
        indonesia=not args.no_indonesia,
        grid=args.grid,
        grid_seed=args.grid_seed,
    )
    paths = res.save(args.out_dir, force=args.force)
    print(res.to_markdown())
    print(f"evaluation time: {res.timings['seconds']:.0f} s; written: {', '.join(map(str, paths))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
