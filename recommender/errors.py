"""One exception hierarchy for every user-facing failure.

The CLI maps any :class:`RecommenderError` to a one-line message and exit code 2, so every
message here must read well on its own: name the bad value and say what is allowed.
"""

from __future__ import annotations


class RecommenderError(Exception):
    """Base class: a problem with the user's input or data, reported without a traceback."""


class UnknownCityError(RecommenderError, LookupError):
    """A city name or id matches no city; the message lists the closest matches."""


class AmbiguousCityError(RecommenderError, LookupError):
    """A city name matches several cities; the message lists them and how to choose."""

    def __init__(self, message: str, candidates=None):
        super().__init__(message)
        self.candidates = candidates


class DataValidationError(RecommenderError, ValueError):
    """A packaged table or a user's CSV breaks the data contract (row and column named)."""


class ScenarioError(RecommenderError, ValueError):
    """A scenario name or scenario file is invalid."""


class FilterError(RecommenderError, ValueError):
    """Filters or options are invalid or leave no candidate."""


class OutputError(RecommenderError, OSError):
    """An output file cannot be written (exists without --force, unwritable, bad format)."""


class ModelError(RecommenderError):
    """A model file is missing, tampered with, or was built with other library versions."""
