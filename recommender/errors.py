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


class Interrupted(BaseException):
    """SIGTERM or SIGHUP arrived while a file was being written (raised like Ctrl-C's
    ``KeyboardInterrupt`` so that temporary files are removed); ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` safe to show inside a one-line message: control characters (newlines,
    escape sequences, bidirectional overrides) escaped, and cut to ``limit`` characters.

    Examples
    --------
    >>> one_line("Nowhere\\nville\\x1b[31m")
    'Nowhere\\\\nville\\\\x1b[31m'
    >>> one_line("x" * 10, limit=4)
    'xxxx… (10 characters)'
    """
    s = str(text)
    if limit is not None and len(s) > limit:
        s = f"{s[:limit]}… ({len(s):,} characters)"
    if s.isprintable() and not (_BIDI_CONTROLS & set(s)):
        return s
    out = []
    for ch in s:
        if ch.isprintable() and ch not in _BIDI_CONTROLS:
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)
