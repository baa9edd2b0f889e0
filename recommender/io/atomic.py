"""Atomic file writing: a temporary file in the target folder, synced, then renamed.

Never leaves a half-written file and never overwrites an existing file without ``force``.
Only regular files are ever replaced: a device (``-o /dev/null --force``), a FIFO, a socket
or a folder is refused, and so is a symbolic link, dangling or not (writing through a link
would change a file elsewhere, replacing it would silently break the link; give the real
path). Ctrl-C, SIGTERM and SIGHUP during a write remove the temporary file: the signals are
held while the temporary file is created and while it is renamed, so they cannot slip in
between, and SIGTERM / SIGHUP raise :class:`~recommender.errors.Interrupted` (as Ctrl-C raises
``KeyboardInterrupt``) so the clean-up runs.
"""

import contextlib
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from recommender.errors import Interrupted, OutputError, one_line

_HELD_SIGNALS = tuple(
    getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)
)
_RAISING_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))
_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
}


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP for a few system calls; they arrive right after."""
    if not hasattr(signal, "pthread_sigmask") or not _in_main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """While a temporary file exists, SIGTERM and SIGHUP raise :class:`Interrupted`.

    Only signals still at their default action (which would kill the process without any
    clean-up) are taken over, and only in the main thread (Python's rule); a handler that
    an application installed is left alone.
    """
    if not _in_main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    previous = {}
    for sig in _RAISING_SIGNALS:
        if signal.getsignal(sig) == signal.SIG_DFL:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# ---------------------------------------------------------------------------------------
# Atomic writing
# ---------------------------------------------------------------------------------------


def _exists_message(target: Path) -> str:
    return f'File "{target}" already exists; use --force to overwrite'


def check_target(path: str | os.PathLike[str], force: bool = False) -> None:
    """Raise :class:`OutputError` now if ``path`` could not be written (exists without
    ``force``, folder missing, parent is a file): for long jobs, fail before the work."""
    _check_target(Path(path), force)


def _name_max(folder: Path) -> int:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    return 255


def _check_existing(target: Path, force: bool) -> None:
    """Refuse anything at ``target`` but a regular file, and a regular file without force."""
    shown = one_line(target, 200)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise OutputError(f'Cannot write "{shown}": "{target.parent}" is not a folder') from None
    except OSError as exc:
        raise _output_error(target, exc) from None
    if stat.S_ISLNK(st.st_mode):
        with contextlib.suppress(OSError):
            shown += f'" (a link to "{one_line(os.readlink(target), 120)}'
        raise OutputError(
            f'Cannot write "{shown}": it is a symbolic link; sistercity neither writes '
            "through nor replaces a link: give the real path"
        )
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f'Cannot write "{shown}": it is a folder; give a file name')
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "a special file")
        raise OutputError(
            f'Cannot write "{shown}": it is not a regular file ({kind}); even with --force '
            "only a regular file is replaced"
        )
    if not force:
        raise OutputError(_exists_message(target))


def _check_target(target: Path, force: bool) -> None:
    _check_existing(target, force)
    shown = one_line(target, 200)
    parent = target.parent
    try:
        parent_st = os.stat(parent)
    except FileNotFoundError:
        raise OutputError(f'Cannot write "{shown}": folder "{parent}" does not exist') from None
    except NotADirectoryError:
        raise OutputError(f'Cannot write "{shown}": "{parent}" is not a folder') from None
    except OSError as exc:
        raise _output_error(target, exc) from None
    if not stat.S_ISDIR(parent_st.st_mode):
        raise OutputError(f'Cannot write "{shown}": "{parent}" is not a folder')
    limit = _name_max(parent)
    if len(os.fsencode(target.name)) > limit:
        raise OutputError(
            f'Cannot write "{shown}": the file name is too long '
            f"({len(os.fsencode(target.name))} bytes; at most {limit})"
        )


def _output_error(target: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(f'Cannot write "{one_line(target, 200)}": {one_line(reason, 200)}')


def _final_mode(target: Path) -> int:
    # NamedTemporaryFile creates files readable by the owner only; give the result the
    # permissions a plain open() would have (or keep those of the file being replaced).
    with contextlib.suppress(OSError):
        return target.stat().st_mode & 0o7777
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _commit(tmp: Path, target: Path, force: bool) -> None:
    _check_existing(target, force)  # again: a link or a device may have appeared since
    if force:
        os.replace(tmp, target)
        return
    try:
        # link() fails if the target appeared since we checked, so a concurrent writer's
        # file is never clobbered without --force.
        os.link(tmp, target)
    except FileExistsError:
        raise OutputError(_exists_message(target)) from None
    except OSError:
        # Some file systems (FAT, some network shares) have no hard links.
        if target.exists():
            raise OutputError(_exists_message(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; best effort, not possible on Windows.
    flag = getattr(os, "O_DIRECTORY", None)
    if flag is None:
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | flag)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], *, force: bool = False) -> Iterator[IO[bytes]]:
    """Open a binary file that appears at ``path`` only if the block finishes without error.

    Data goes to a temporary file in the same folder (so the final rename stays on one
    file system and is atomic), which is flushed, synced and renamed over ``path`` on
    success, and deleted on any error, including KeyboardInterrupt.

    Raises
    ------
    OutputError
        ``path`` exists and ``force`` is false, its folder is missing or not writable, or
        writing fails (disk full, ...). The message is one line naming ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_writer(target) as fh:
    ...     _ = fh.write(b"hello\\n")
    >>> target.read_text()
    'hello\\n'
    """
    target = Path(path).expanduser()
    _check_target(target, force)
    with _signals_raise():
        with _signals_held():  # no signal between creating the file and guarding it
            try:
                # a short prefix: the temporary name must fit wherever the target's fits
                handle = tempfile.NamedTemporaryFile(
                    dir=target.parent, prefix=f".{target.name[:40]}.", suffix=".tmp", delete=False
                )
            except OSError as exc:
                raise _output_error(target, exc) from None
            tmp = Path(handle.name)
        try:
            with handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(OSError):
                os.chmod(tmp, _final_mode(target))
            with _signals_held():  # the rename and the temp file's removal go together
                _commit(tmp, target, force)
        except BaseException as exc:
            with _signals_held(), contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(exc, OSError) and not isinstance(exc, OutputError):
                raise _output_error(target, exc) from None
            raise
    _fsync_dir(target.parent)
