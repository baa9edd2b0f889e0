"""The ``sistercity`` command line: a thin click front end over :mod:`recommender.app`."""

try:
    from recommender.cli.commands import cli, main
except KeyboardInterrupt:  # Ctrl-C while the libraries load: exit quietly, as main() does
    raise SystemExit(130) from None

__all__ = ["cli", "main"]
