"""Train the feasibility model on the packaged data into models/ (feasibility.joblib,
manifest.json).

The same as ``sistercity train``: both call :func:`recommender.learn.feasibility.train`. With the
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
    from recommender.learn.feasibility import DEFAULT_NEG_RATIO, DEFAULT_SEED, MODELS, train

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--neg-ratio", type=int, default=DEFAULT_NEG_RATIO)
    ap.add_argument("--model", choices=MODELS, default="auto")
    ap.add_argument("--out-dir", type=Path, default=None, help="default: models/")
    args = ap.parse_args(argv)
    m = train(seed=args.seed, neg_ratio=args.neg_ratio, model=args.model, out_dir=args.out_dir)
    print(f"model: {m['chosen']} ({m['selection']}), written to {m['model_path']}")
    print(f"size: {m['size_bytes'] / 1e6:.2f} MB; sha256 {m['sha256']}")
    print(f"training pairs: {m['n_train_pairs']:,} ({m['n_positive']:,} ties)")
    for kind, v in m["validation"].items():
        print(
            f"validation {kind:7s} log loss {v['log_loss']:.4f}  ROC AUC {v['roc_auc']:.4f}  "
            f"AP {v['average_precision']:.4f}  Brier {v['brier']:.4f}  ECE {v['ece']:.4f}"
        )
    print(f"train time: {m['train_seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
