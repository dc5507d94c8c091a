"""The errors genebert raises for a user's input: each says all there is to say in one line.

`GeneBertError` is the base of them all; the ``genebert`` command prints any of them as
``genebert: error: MESSAGE`` (exit status 2) instead of a traceback. Errors raised by the Hub remote-code files
(which cannot import this module) join the family by carrying ``genebert_user_error = True``: ``isinstance``
and ``issubclass`` then see them as `GeneBertError` (an ``except GeneBertError`` clause does not; catch
those by their own class).
"""

from __future__ import annotations

import abc
import gzip
import zlib
from pathlib import Path

#: What a damaged gzip stream raises while it is read (truncated: EOFError; bad header or CRC: OSError /
#: gzip.BadGzipFile; corrupt deflate data: zlib.error).
GZIP_ERRORS = (EOFError, OSError, zlib.error)


class GeneBertError(Exception, metaclass=abc.ABCMeta):
    """Base of the errors about a user's input (files, folders, options, models)."""

    @classmethod
    def __subclasshook__(cls, subclass: type) -> bool:
        if cls is GeneBertError and getattr(subclass, "genebert_user_error", False):
            return True
        return NotImplemented


class UsageError(GeneBertError, ValueError):
    """An option or argument a command or function cannot use; the message names it."""


class InputFileError(GeneBertError, ValueError):
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
