"""The ``sistercity`` command line: the root group and the entry point.

The commands live by group in the modules next to this one (:mod:`.shortlist`,
:mod:`.compare`, :mod:`.batch`, :mod:`.data`, :mod:`.learn`, :mod:`.serve`; what they share
in :mod:`.options`); each parses its options, calls :mod:`recommender.app` (or the library)
and prints. :func:`main` turns every failure into one line: a
:class:`~recommender.errors.RecommenderError` becomes ``Error: ...`` with exit code 2, and
nothing is half-written.
"""

from __future__ import annotations

import codecs
import errno
import importlib
import io
import os
import signal
import sys

import click

from recommender.cli.options import LANG_KEY, USER_ERROR_EXIT, LangGroup
from recommender.errors import Interrupted, one_line
from recommender.i18n import N_, _, language

COMMANDS = {
    "cities": ("data", "cities"),
    "data": ("data", "data_group"),
    "shortlist": ("shortlist", "shortlist"),
    "explain": ("shortlist", "explain"),
    "partners": ("compare", "partners"),
    "compare": ("compare", "compare"),
    "scenarios": ("data", "scenarios"),
    "batch": ("batch", "batch"),
    "atlas": ("batch", "atlas"),
    "train": ("learn", "train"),
    "evaluate": ("learn", "evaluate"),
    "serve": ("serve", "serve"),
}
"""Every command: name -> (module of :mod:`recommender.cli`, its function)."""


class _Commands(LangGroup):
    """The root group: a command's module is imported when that command is asked for, so
    that ``sistercity shortlist`` does not import the other commands' modules (a list of
    all of them, for ``--help``, imports them all)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            # an unknown name loads them all: click suggests the closest of self.commands
            for name in [cmd_name] if cmd_name in COMMANDS else list(COMMANDS):
                if name not in self.commands:
                    module, attr = COMMANDS[name]
                    found = getattr(importlib.import_module(f"recommender.cli.{module}"), attr)
                    self.add_command(found, name)
        return self.commands.get(cmd_name)


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="sistercity", help=N_("Show the version and exit."))
def cli() -> None:
    """Find foreign sister-city partners for Indonesian cities.

    Start with `sistercity shortlist Medan`. Every figure carries its level (city, region,
    country, imputed, user) and source; `sistercity data info` tells what the data holds.
    """


def _stdout_failure() -> OSError | None:
    """The error standard output gives on a flush, or None if it works."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        return exc
    return None


def _silence_stdout() -> None:
    # Whatever is still buffered would fail again when Python exits and print "Exception
    # ignored ..."; point the descriptor at /dev/null so the exit is quiet.
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def _error(message: str, code: int = USER_ERROR_EXIT) -> int:
    """Print ``Error: message`` as one line on stderr (control characters escaped)."""
    click.echo(f"Error: {one_line(message)}", err=True)
    return code


def _stdout_error(exc: OSError) -> int:
    _silence_stdout()
    if exc.errno == errno.EPIPE:
        return 0  # the reader stopped on purpose (`| head`): not an error, nothing to say
    reason = exc.strerror or type(exc).__name__
    return _error(f"cannot write to standard output: {reason}; use -o FILE to write a file")


_OUTPUT_ERRNOS = {
    getattr(errno, n) for n in ("ENOSPC", "EIO", "EFBIG", "EDQUOT", "EBADF") if hasattr(errno, n)
}


def _same_codec(a: str | None, b: str | None) -> bool:
    try:
        return codecs.lookup(a or "").name == codecs.lookup(b or "").name
    except LookupError:
        return False


def _on_roomy_stack(run, *args):
    """``run(*args)``, its calls starting on a fresh 64 KB chunk of the interpreter's frame stack.

    CPython before 3.13 keeps Python frames in 16 KB chunks and unmaps a chunk as soon as
    its first frame returns, so a loop whose calls cross a chunk's edge maps and unmaps
    16 KB at every call (python/cpython#142183): ``sistercity shortlist`` did that about
    500 times (two system calls and fresh zeroed pages each). This frame declares a large
    value stack (never written, so never touched), which no partly used chunk can hold:
    it opens a 64 KB chunk, and everything ``run`` calls has some 4,000 slots of it to
    itself before the next edge. Same result, fewer system calls; harmless elsewhere.
    """
    return run(*args)


try:
    _on_roomy_stack.__code__ = _on_roomy_stack.__code__.replace(co_stacksize=4100)
except (AttributeError, TypeError, ValueError):  # pragma: no cover - another interpreter
    pass


def _leave_caches_to_the_system() -> None:
    """Keep the process-wide caches of the package alive until the process has ended.

    At exit Python frees every object one at a time; for the tables a command loaded (the
    cities and ties tables, their like-with-like copy and column arrays, the model: some
    100,000 strings and 60 MB of arrays) that took about 10 ms of a 0.5 s shortlist, to
    hand back memory the operating system takes back at once anyway. One reference more
    to each module-level cache of ``recommender`` (never given back) keeps their contents
    out of that: the rest of the shutdown is as usual (output flushed, ``atexit`` handlers
    and the other modules' clean-up run). Only for the command-line process itself
    (:func:`main` without ``argv``), never for a caller that goes on running.
    """
    try:
        import ctypes

        keep = ctypes.pythonapi.Py_IncRef
    except (ImportError, AttributeError, OSError):  # pragma: no cover - another build
        return
    keep.argtypes = [ctypes.py_object]
    for name, module in list(sys.modules.items()):
        if not name.startswith("recommender.") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, dict) or hasattr(value, "cache_clear"):
                keep(value)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point.

    Exit codes: 0 success; 2 a user error, unusable input, data or output (one line
    ``Error: ...``); 1 a bug (one line, never a traceback); 130 Ctrl-C; 128 + N after
    signal N (SIGTERM, SIGHUP) arrived during a write, whose temporary file is removed.
    A closed pipe (``| head``) ends quietly with 0.
    """
    try:
        code = _on_roomy_stack(_main, argv)
    except BrokenPipeError as exc:
        return _stdout_error(exc)
    failure = _stdout_failure()
    if failure is not None:
        return _stdout_error(failure)
    if argv is None and "numpy" in sys.modules:
        _leave_caches_to_the_system()
    return code


def _main(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="sistercity", standalone_mode=False)
    except click.exceptions.Abort as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, EOFError):
            # click takes any EOFError for Ctrl-D; one that escaped a reader is a bug
            return _error(f"unexpected end of data: {cause}. This is a bug in sistercity", 1)
        click.echo("Aborted.", err=True)
        return 130
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name if exc.signum in signal.Signals else exc.signum
        click.echo(f"Interrupted by {name}; no partial file was left.", err=True)
        return 128 + exc.signum
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
            # a bare `sistercity` (or command group) asks for help: give it, no "Error"
            click.echo(exc.ctx.get_help())
            return 0
        # one line, like every other user error: the message names the bad value
        with language(exc.ctx.meta.get(LANG_KEY) if exc.ctx is not None else None):
            hint = (
                " " + _("(see `{command} --help`)").format(command=exc.ctx.command_path)
                if exc.ctx is not None
                else ""
            )
            return _error(f"{exc.format_message()}{hint}")
    except click.ClickException as exc:
        return _error(exc.format_message(), exc.exit_code)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit:
        # click answers EPIPE on standard output by wrapping the streams in its
        # "PacifyFlushWrapper" and exiting with 1; a closed pipe (`| head`) is no error
        if "PacifyFlushWrapper" in type(sys.stdout).__name__:
            return _stdout_error(BrokenPipeError(errno.EPIPE, "Broken pipe"))
        raise
    except BrokenPipeError:
        raise
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end] if isinstance(exc.object, str) else ""
        if _same_codec(exc.encoding, getattr(sys.stdout, "encoding", None)):
            return _error(
                f"standard output uses the {exc.encoding} encoding, which cannot show {bad!r}; "
                "set PYTHONIOENCODING=utf-8 (or a UTF-8 locale), or write a file with -o"
            )
        return _error(f"cannot encode {bad!r} in {exc.encoding}", 1)
    except OSError as exc:
        failure = _stdout_failure()
        if failure is not None or exc.errno == errno.EPIPE:
            return _stdout_error(failure or exc)
        if exc.filename is None and exc.errno in _OUTPUT_ERRNOS:
            # Files are named by their readers and writers (OutputError, DataValidationError);
            # a nameless write error on a full disk or a dead device is standard output's.
            return _stdout_error(exc)
        reason = exc.strerror or type(exc).__name__
        if exc.filename:
            return _error(f'cannot use "{exc.filename}": {reason}')
        return _error(f"unexpected {type(exc).__name__}: {exc}. This is a bug in sistercity", 1)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        return _error(
            f"unexpected {type(exc).__name__}: {exc}. This is a bug in sistercity; "
            "please report it with the command you ran.",
            1,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["cli", "main"]
