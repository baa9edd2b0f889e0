"""Atomic file writing: a temporary file in the target folder, synced, then renamed.

Never leaves a half-written file and never overwrites an existing file without ``force``.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from recommender.errors import OutputError

# ---------------------------------------------------------------------------------------
# Atomic writing
# ---------------------------------------------------------------------------------------


def _exists_message(target: Path) -> str:
    return f'File "{target}" already exists; use --force to overwrite'


def check_target(path: str | os.PathLike[str], force: bool = False) -> None:
    """Raise :class:`OutputError` now if ``path`` could not be written (exists without
    ``force``, folder missing, parent is a file): for long jobs, fail before the work."""
    _check_target(Path(path), force)


def _check_target(target: Path, force: bool) -> None:
    if target.is_dir():
        raise OutputError(f'Cannot write "{target}": it is a folder; give a file name')
    if (target.exists() or target.is_symlink()) and not force:
        raise OutputError(_exists_message(target))
    parent = target.parent
    if not parent.exists():
        raise OutputError(f'Cannot write "{target}": folder "{parent}" does not exist')
    if not parent.is_dir():
        raise OutputError(f'Cannot write "{target}": "{parent}" is not a folder')


def _output_error(target: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(f'Cannot write "{target}": {reason}')


def _final_mode(target: Path) -> int:
    # NamedTemporaryFile creates files readable by the owner only; give the result the
    # permissions a plain open() would have (or keep those of the file being replaced).
    with contextlib.suppress(OSError):
        return target.stat().st_mode & 0o7777
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _commit(tmp: Path, target: Path, force: bool) -> None:
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
    try:
        handle = tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        )
    except OSError as exc:
        raise _output_error(target, exc) from exc
    tmp = Path(handle.name)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, _final_mode(target))
        _commit(tmp, target, force)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise _output_error(target, exc) from exc
        raise
    _fsync_dir(target.parent)
