"""Train the feasibility model on the packaged data into models/ (feasibility.npz: the model
and its manifest in one verified file, plus a readable copy of the manifest).

The same as ``sistercity train``: both call :func:`recommender.learn.train.train`. With the
same data and seed the written model is byte-identical (the manifest records its SHA-256
and a fingerprint of predictions on a fixed probe set).

Usage::

    python scripts/train.py [--seed 0] [--neg-ratio 10] [--model auto] [--out-dir models]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from recommender.learn.feasibility import DEFAULT_NEG_RATIO, DEFAULT_SEED, MODELS
    from recommender.learn.train import train, train_summary

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--neg-ratio", type=int, default=DEFAULT_NEG_RATIO)
    ap.add_argument("--model", choices=MODELS, default="auto")
    ap.add_argument("--out-dir", type=Path, default=None, help="default: models/")
    args = ap.parse_args(argv)
    m = train(
        seed=args.seed,
        neg_ratio=args.neg_ratio,
        model=args.model,
        out_dir=args.out_dir,
        progress=lambda what: print(f"... {what}", file=sys.stderr),
    )
    print(train_summary(m))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
