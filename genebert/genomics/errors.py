"""Errors for bad input files: each names the file and, where there is one, the line."""

from __future__ import annotations

from pathlib import Path


class InputFileError(ValueError):
    """A malformed input file. ``str(error)`` starts with ``path:line:`` (or ``path:`` with no line)."""

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
