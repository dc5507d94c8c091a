"""Errors for bad input files: each names the file and, where there is one, the line."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

#: What a damaged gzip stream raises while it is read (truncated: EOFError; bad header or CRC: OSError /
#: gzip.BadGzipFile; corrupt deflate data: zlib.error).
GZIP_ERRORS = (EOFError, OSError, zlib.error)


class InputFileError(ValueError):
    """A malformed input file. ``str(error)`` starts with ``path:line:`` (or ``path:`` with no line)."""

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")

    def __reduce__(self):
        # Rebuilt from its parts, so it survives pickling (worker processes of a parallel corpus build).
        return (type(self), (self.path, self.reason, self.line))


def first_undecodable_line(path: str | Path, encoding: str, compressed: bool = False) -> int | None:
    """1-based number of the first line of ``path`` (gzip-compressed if ``compressed``) that is not valid
    ``encoding``.

    Only called once decoding has failed: a text reader decodes blocks ahead of the line it returns, so the
    line it had reached is not where the bad byte is. UTF-8 and ASCII never use a newline byte inside a
    character, so decoding line by line finds the right line.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") if compressed else path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError:
                    return number
    except GZIP_ERRORS:
        return None
    return None


def undecodable_file_error(
    path: str | Path, error: UnicodeDecodeError, what: str = "a UTF-8 text file", compressed: bool = False
) -> InputFileError:
    """The :class:`InputFileError` for a file that does not decode, naming the line of the first bad byte."""
    line = first_undecodable_line(path, error.encoding or "utf-8", compressed)
    return InputFileError(path, f"not {what} ({error.reason})", line)


def is_gzip_handle(handle) -> bool:
    """Whether a text handle reads a gzip stream (``gzip.open(..., "rt")``)."""
    return isinstance(getattr(handle, "buffer", None), gzip.GzipFile)


def numbered_lines(path: str | Path, open_text: Callable[[Path], IO[str]]) -> Iterator[tuple[int, str]]:
    """``enumerate(open_text(path), start=1)``, with undecodable bytes and a damaged gzip stream raised as
    :class:`InputFileError` naming the file (and the line of the first bad byte)."""
    path = Path(path)
    compressed = False
    try:
        with open_text(path) as handle:
            compressed = is_gzip_handle(handle)
            yield from enumerate(handle, start=1)
    except UnicodeDecodeError as error:
        what = "an ASCII text file" if error.encoding == "ascii" else "a UTF-8 text file"
        raise undecodable_file_error(path, error, what, compressed) from error
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise InputFileError(path, f"cannot read the file: {error}") from error
