"""``sistercity train`` and ``sistercity evaluate``: the learned feasibility model.

Both need scikit-learn and take minutes on the packaged data; on a terminal they show a
progress bar on stderr, and print a short summary on stdout (everything with ``--json``).
"""

from __future__ import annotations

import click

from recommender.cli.options import UserError, command, echo_json, handle_errors, stage_progress


@command()
@click.option("--seed", default=None, type=int, help="Random seed (default: the project's, 0).")
@click.option(
    "--model",
    "model_kind",
    type=click.Choice(["auto", "hgb", "logreg"]),
    default="auto",
    show_default=True,
    help="auto picks the better of the two by held-out measurement.",
)
@click.option("--neg-ratio", default=None, type=int, help="Negative pairs sampled per partnership.")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to write feasibility.npz (model and manifest in one verified file) and a "
    "readable copy of its manifest (default: the models/ folder the shortlist uses).",
)
@click.option("--json", "as_json", is_flag=True, help="Print every metric as JSON.")
@handle_errors
def train(seed, model_kind, neg_ratio, out_dir, as_json) -> None:
    """Train the feasibility model on the existing partnerships (deterministic per seed)."""
    from recommender.learn import train as training

    kwargs = {"model": model_kind}
    if seed is not None:
        kwargs["seed"] = seed
    if neg_ratio is not None:
        if neg_ratio < 1:
            raise UserError(f"--neg-ratio must be at least 1; got {neg_ratio}")
        kwargs["neg_ratio"] = neg_ratio
    if out_dir is not None:
        kwargs["out_dir"] = out_dir
    stages = ["fitting", "exporting", "writing"]
    with stage_progress("Training") as update:
        if update is not None:
            kwargs["progress"] = lambda what: update(
                next((k for k, s in enumerate(stages) if what.startswith(s)), 0), 3, what
            )
        result = training.train(**kwargs)
    if as_json:
        echo_json(result)
    else:
        click.echo(training.train_summary(result))


@command()
@click.option("--seed", default=None, type=int, help="Random seed of the held-out split.")
@click.option(
    "--holdout-share",
    default=0.2,
    show_default=True,
    type=float,
    help="Share of the cities with enough partners held out, with all their ties.",
)
@click.option("--min-partners", default=3, show_default=True, type=int)
@click.option(
    "--max-cities",
    default=400,
    show_default=True,
    type=int,
    help="Rank this many of the held-out cities (a seeded sample; a few minutes). "
    "0 ranks them all.",
)
@click.option(
    "-o",
    "--out-dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Folder for evaluation.csv, evaluation.json and evaluation.md.",
)
@click.option("--no-save", is_flag=True, help="Print only; write no file.")
@click.option("--force", is_flag=True, help="Overwrite existing evaluation files.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@handle_errors
def evaluate(
    seed, holdout_share, min_partners, max_cities, out_dir, no_save, force, as_json
) -> None:
    """Measure the model and the baselines on held-out cities (recall, NDCG, MRR)."""
    from recommender.learn import evaluate as evaluation

    if not 0 < holdout_share < 1:
        raise UserError(f"--holdout-share must be between 0 and 1; got {holdout_share}")
    if min_partners < 1:
        raise UserError(f"--min-partners must be at least 1; got {min_partners}")
    if max_cities < 0:
        raise UserError(f"--max-cities must be 0 (all) or more; got {max_cities}")
    if not no_save:
        evaluation.check_save_targets(out_dir, force=force)  # refuse before the work
    kwargs = {
        "holdout_share": holdout_share,
        "min_partners": min_partners,
        "max_cities": max_cities or None,
    }
    if seed is not None:
        kwargs["seed"] = seed
    with stage_progress("Evaluating") as update:
        res = evaluation.evaluate(**kwargs, progress=update)
    if as_json:
        echo_json(res.to_dict())
    else:
        click.echo(res.summary())
    if not no_save:
        for path in res.save(out_dir, force=force):
            click.echo(f"Wrote {path}", err=True)
