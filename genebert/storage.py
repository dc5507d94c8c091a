"""Writing outputs safely: atomic writes, checks on output locations made before long jobs start writing, guards
that keep a tool from replacing what is not its own output (`claim_output`), one job per output (`output_lock`),
strict JSON (`write_json`), and atomic directory replacement.

A read-only, unwritable or too-full output location is reported up front with the path and the reason, instead
of failing hours into a job. (Free space can still run out later, when something else fills the disk: every
writer in genebert writes through `atomic_write` / `atomic_output`, to a temporary name then renamed, so
earlier outputs stay intact.)
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
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


# ------------------------------------------------------------------------------------------- output folders
#: The small file every genebert tool that writes a folder puts in it: ``{"tool": NAME}``. A folder holding it
#: is a previous output of that tool, which the tool may replace; anything else is the user's and is refused.
OUTPUT_MARKER = ".genebert-output.json"


def output_marker_bytes(tool: str) -> bytes:
    """The content of `OUTPUT_MARKER` for ``tool`` (deterministic: corpora are compared byte for byte)."""
    return (json.dumps({"tool": tool}, sort_keys=True) + "\n").encode()


def write_output_marker(directory: str | Path, tool: str) -> Path:
    """Mark ``directory`` as an output of ``tool`` (see `claim_output`)."""
    return atomic_write(Path(directory) / OUTPUT_MARKER, output_marker_bytes(tool))


def read_json(path: str | Path) -> object:
    """The JSON value in ``path``, or None when it is missing or unreadable (for files a tool only consults)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def output_tool(directory: str | Path) -> str | None:
    """The tool whose output ``directory`` is, from its `OUTPUT_MARKER` (None: no readable marker)."""
    value = read_json(Path(directory) / OUTPUT_MARKER)
    return value.get("tool") if isinstance(value, dict) else None


def _listing(directory: Path, limit: int = 3) -> str:
    names = sorted(entry.name for entry in directory.iterdir())
    shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    return f"{len(names)} entr{'y' if len(names) == 1 else 'ies'} ({shown})"


def claim_output(
    path: str | Path,
    tool: str,
    *,
    overwrite: bool = False,
    recognise: Callable[[Path], bool] | None = None,
    option: str = "--out",
) -> Path:
    """Check that ``tool`` may write its output folder at ``path``, before any work; returns ``path``.

    Allowed: an absent path, an empty directory, or a previous output of the same tool (its `OUTPUT_MARKER`, or
    ``recognise(path)`` for outputs written before markers existed). Any other directory is the user's: refused
    unless ``overwrite`` (``--overwrite``). A symlink or a file at ``path`` is always refused and never moved.

    Raises:
        OutputLocationError: naming the path and what is there (``EEXIST`` / ``ENOTDIR``).
    """
    path = Path(path)
    where = f"{option} {path}" if option else str(path)
    if path.is_symlink():
        raise OutputLocationError(
            errno.EEXIST,
            f"{where} is a symbolic link (to {os.readlink(path)}); genebert does not write through or "
            "replace links: give the real folder, or another path",
        )
    if path.exists() and not path.is_dir():
        raise OutputLocationError(
            errno.ENOTDIR, f"{where} is a file, not a folder; give another path (it is left as it is)"
        )
    if not path.exists() or not any(path.iterdir()) or overwrite:
        return path
    found = output_tool(path)
    if found == tool or (found is None and recognise is not None and recognise(path)):
        return path
    what = f"the output of `genebert {found}`" if found else _listing(path)
    raise OutputExistsError(
        errno.EEXIST,
        f"{where} already holds {what}, which is not a previous {tool} output; give an empty or new "
        "folder, or pass --overwrite to replace it",
    )


class OutputExistsError(OutputLocationError, FileExistsError):
    """An output path that holds something a tool may not replace (the user's files, another tool's output)."""


# --------------------------------------------------------------------------------------------------- locks
class OutputLock:
    """An exclusive lock on an output path, held while a long job writes it (see `output_lock`)."""

    def __init__(self, path: str | Path, command: str | None = None, what: str = "output"):
        from filelock import FileLock

        target = Path(path).absolute()
        self.path, self.what = target, what
        self.lock_path = target.with_name(f".{target.name}.lock")
        self.pid_path = target.with_name(f".{target.name}.lock.pid")
        self.command = command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:500]
        self._lock = FileLock(str(self.lock_path), timeout=0)

    def acquire(self) -> OutputLock:
        from filelock import Timeout

        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except Timeout:
            raise OutputLocationError(
                errno.EBUSY,
                f"{self.path} is being written by another genebert process ({_read_holder(self.pid_path)}); "
                "wait for it to finish or stop it, or choose another output",
            ) from None
        except OSError as error:  # the lock lives beside the output: the output cannot be created either
            raise OutputLocationError(
                error.errno, f"cannot create the {self.what} directory {self.path}: {error.strerror or error}"
            ) from error
        # a lock left by a killed process is free again (flock dies with its holder); the sidecar is rewritten
        atomic_write(self.pid_path, json.dumps({"pid": os.getpid(), "command": self.command}), fsync=False)
        return self

    def release(self) -> None:
        if not self._lock.is_locked:
            return
        for leftover in (self.pid_path, self.lock_path):  # removed while held: a waiter retries on a new file
            with contextlib.suppress(OSError):
                leftover.unlink()
        self._lock.release()

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read_holder(pid_path: Path) -> str:
    try:
        holder = json.loads(pid_path.read_text())
        return f"PID {holder['pid']}: {holder['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "PID unknown"


def output_lock(path: str | Path, command: str | None = None, what: str = "output") -> OutputLock:
    """An `OutputLock` on ``path`` (use as ``with output_lock(out): ...``).

    The lock is ``PARENT/.NAME.lock`` (``flock`` through ``filelock``), with the holder's PID and command in
    ``PARENT/.NAME.lock.pid``. A second job on the same output fails at once with `OutputLocationError`
    (``EBUSY``) naming that PID; a lock whose holder was killed is free (the kernel releases it) and is taken
    over. Both files are removed on release.
    """
    return OutputLock(path, command, what)


# ------------------------------------------------------------------------------------------ full disks, JSON
def disk_full_error(
    path: str | Path, need_bytes: int, error: BaseException, what: str
) -> OutputLocationError:
    """The `OutputLocationError` for ``error`` met while writing ``what`` under ``path`` on a full disk."""
    try:
        free = shutil.disk_usage(Path(path) if Path(path).exists() else Path(path).parent).free
    except OSError:
        free = 0
    return OutputLocationError(
        errno.ENOSPC,
        f"the disk holding {path} is full while writing {what}: it needs about {_mib(need_bytes)} and has "
        f"{_mib(free)} free ({error})",
    )


def is_disk_full(error: BaseException, path: str | Path, need_bytes: int) -> bool:
    """Whether ``error`` is (or, for torch's ``RuntimeError: ... iostream error``, is probably) a full disk."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(error, RuntimeError):
        try:
            return shutil.disk_usage(path).free < need_bytes
        except OSError:
            return False
    return False


def json_safe(value: object) -> object:
    """``value`` with every non-finite float (NaN, inf) replaced by None and numpy / torch values made plain, for
    strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if callable(getattr(value, "tolist", None)) and getattr(value, "ndim", None) is not None:
        return json_safe(value.tolist())  # numpy / torch scalars and arrays
    return value


def write_json(path: str | Path, value: object, **dumps: object) -> Path:
    """Write ``value`` as strict JSON (metrics that cannot be computed are ``null``, never ``NaN``), atomically."""
    dumps.setdefault("indent", 1)
    return atomic_write(path, json.dumps(json_safe(value), allow_nan=False, **dumps) + "\n")
