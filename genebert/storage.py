"""Writing outputs safely: atomic writes, checks on output locations made before long jobs start writing, and
atomic directory replacement.

A read-only, unwritable or too-full output location is reported up front with the path and the reason, instead
of failing hours into a job. (Free space can still run out later, when something else fills the disk: every
writer in genebert writes through `atomic_write` / `atomic_output`, to a temporary name then renamed, so
earlier outputs stay intact.)
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import GeneBertError


@contextmanager
def atomic_output(path: str | Path, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds, the file written there replaces
    ``path`` in one rename (after an fsync), so readers see the old file or the new one, never a part. When
    the block raises, the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield temporary
        if fsync:
            with open(temporary, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def atomic_write(path: str | Path, data: bytes | str, *, fsync: bool = True) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically (see `atomic_output`)."""
    with atomic_output(path, fsync=fsync) as temporary:
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


class OutputLocationError(GeneBertError, OSError):
    """An output directory that cannot be created, written to, or that lacks the free space a job needs."""


def ensure_writable_directory(path: str | Path, *, need_bytes: int = 0, what: str = "output") -> Path:
    """Create ``path`` if needed and check that a file can be written there and that ``need_bytes`` are free.

    Raises:
        OutputLocationError: naming the directory and the reason (errno kept: ``EACCES``, ``EROFS``, ``ENOSPC``...).
    """
    directory = Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputLocationError(
            error.errno, f"cannot create the {what} directory {directory}: {error.strerror or error}"
        ) from error
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".genebert-write-probe-") as probe:
            probe.write(b"\0")
            probe.flush()
    except OSError as error:
        raise OutputLocationError(
            error.errno, f"cannot write to the {what} directory {directory}: {error.strerror or error}"
        ) from error
    if need_bytes > 0:
        free = shutil.disk_usage(directory).free
        if free < need_bytes:
            raise OutputLocationError(
                errno.ENOSPC,
                f"the {what} directory {directory} has {_mib(free)} free; this job needs about {_mib(need_bytes)}",
            )
    return directory


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange_paths(first: str | Path, second: str | Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False when the platform or file system cannot (then nothing was changed); raises OSError otherwise.
    """
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, f"cannot exchange {first} and {second}: {os.strerror(code)}")


def replace_directory(new: str | Path, target: str | Path) -> None:
    """Move the complete directory ``new`` to ``target``, replacing an existing ``target``.

    Readers of ``target`` see the old directory or the new one, never neither: where the platform allows, the
    two are exchanged atomically; elsewhere there is a moment without ``target`` (readers retry, see
    `genebert.genomics.corpus.load_corpus`). The old directory is deleted afterwards; readers that already
    opened (memory-mapped) its files keep them.
    """
    new, target = Path(new), Path(target)
    if not target.exists():
        os.replace(new, target)
    elif exchange_paths(new, target):
        shutil.rmtree(new)  # now holds the old version
    else:
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(new, target)
    for stale in target.parent.glob(f".{target.name}.old-*"):  # this or a killed replacement's old version
        shutil.rmtree(stale, ignore_errors=True)
