"""The ``sistercity`` command line: a thin click front end over :mod:`recommender.app`."""

from recommender.cli.commands import cli, main

__all__ = ["cli", "main"]
