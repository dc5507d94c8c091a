"""Genomic intervals: reading BED / narrowPeak files into validated, sorted region tables."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GZIP_ERRORS, InputFileError, undecodable_file_error
from .io import is_gzip_handle, open_text

_SKIPPED_PREFIXES = ("#", "track", "browser")


@dataclass
class RegionTable:
    """Intervals as parallel arrays (0-based, half-open), cheap at a million rows.

    Attributes:
        chroms: chromosome names, in the order ``chrom_codes`` refers to (the genome's order when sorted).
        chrom_codes: int32 (n,) index into ``chroms``.
        starts, ends: int64 (n,).
    """

    chroms: list[str]
    chrom_codes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    #: for a table read from a file: the 0-based interval number of each row
    source_rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.starts)

    def chrom_of(self, index: int) -> str:
        return self.chroms[int(self.chrom_codes[index])]

    def keys(self) -> np.ndarray:
        """A structured array (chrom, start, end) used to match identical intervals across tables."""
        keys = np.empty(len(self), dtype=[("chrom", np.int32), ("start", np.int64), ("end", np.int64)])
        keys["chrom"], keys["start"], keys["end"] = self.chrom_codes, self.starts, self.ends
        return keys

    def take(self, indices: np.ndarray) -> RegionTable:
        return RegionTable(self.chroms, self.chrom_codes[indices], self.starts[indices], self.ends[indices])

    def with_chrom_order(self, chroms: Sequence[str]) -> RegionTable:
        """Re-express the chromosome codes against ``chroms`` (every chromosome used must be in it)."""
        position = {name: i for i, name in enumerate(chroms)}
        remap = np.array([position.get(name, -1) for name in self.chroms], dtype=np.int32)
        codes = remap[self.chrom_codes] if len(self) else self.chrom_codes.astype(np.int32)
        if len(self) and (codes < 0).any():
            missing = sorted({self.chroms[c] for c in np.unique(self.chrom_codes[codes < 0])})
            raise ValueError(f"chromosomes not in the given order: {missing}")
        return RegionTable(list(chroms), codes, self.starts, self.ends)

    def sort_order(self) -> np.ndarray:
        """Indices sorting by (chromosome code, start, end); stable, so ties keep their input order."""
        return np.lexsort((self.ends, self.starts, self.chrom_codes))


_INTEGER = re.compile(r"\s*-?[0-9]{1,18}\s*")  # ASCII digits only, and within int64


def _coordinate(text: str) -> int:
    """A BED coordinate: plain decimal digits (``int`` alone would take ``1_000``, ``+5`` and non-ASCII digits)."""
    if not _INTEGER.fullmatch(text):
        raise ValueError(text)
    return int(text)


def read_bed(
    path: str | Path, chrom_sizes: Mapping[str, int] | None = None, *, unknown_chroms: str = "error"
) -> RegionTable:
    """Read a BED / narrowPeak / bedGraph-like file (plain or gzip): the first three columns are used.

    Lines starting with ``#``, ``track`` or ``browser`` and blank lines are skipped.

    Args:
        path: the file.
        chrom_sizes: when given, every chromosome must be in it and every end must be <= its length.
        unknown_chroms: ``"error"`` (default) or ``"skip"``: leave out intervals on chromosomes that are not
            in ``chrom_sizes`` (e.g. a genome-wide peak set with a one-chromosome genome). ``source_rows``
            of the result says which intervals were kept.

    Raises:
        InputFileError: naming the file and line, for fewer than 3 tab/space-separated fields, a non-integer
            coordinate, a negative start, start >= end, an unknown chromosome, an end past the chromosome end,
            an undecodable line, or a file with no interval at all.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    if unknown_chroms not in ("error", "skip"):
        raise ValueError(f"unknown_chroms must be 'error' or 'skip', got {unknown_chroms!r}")
    chrom_index: dict[str, int] = {}
    rows: list[int] = []
    interval_number = -1
    codes: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    line_number = 0
    compressed = False
    try:
        with open_text(path) as handle:
            compressed = is_gzip_handle(handle)
            for line_number, line in enumerate(handle, start=1):
                if not line.strip() or line.startswith(_SKIPPED_PREFIXES):
                    continue
                fields = line.split("\t") if "\t" in line else line.split()
                if len(fields) < 3:
                    raise InputFileError(
                        path,
                        f"expected at least 3 fields (chrom, start, end), got {len(fields)}",
                        line_number,
                    )
                chrom = fields[0].strip()
                try:
                    start, end = _coordinate(fields[1]), _coordinate(fields[2])
                except ValueError:
                    raise InputFileError(
                        path,
                        f"start and end must be integers, got {fields[1].strip()!r} and {fields[2].strip()!r}",
                        line_number,
                    ) from None
                interval_number += 1
                if start < 0:
                    raise InputFileError(path, f"negative start {start}", line_number)
                if start >= end:
                    raise InputFileError(path, f"start {start} is not before end {end}", line_number)
                if chrom_sizes is not None:
                    if chrom not in chrom_sizes and unknown_chroms == "skip":
                        continue
                    if chrom not in chrom_sizes:
                        raise InputFileError(
                            path, f"unknown chromosome {chrom!r} (not in the genome)", line_number
                        )
                    if end > chrom_sizes[chrom]:
                        raise InputFileError(
                            path,
                            f"end {end} is past the end of {chrom} (length {chrom_sizes[chrom]})",
                            line_number,
                        )
                rows.append(interval_number)
                codes.append(chrom_index.setdefault(chrom, len(chrom_index)))
                starts.append(start)
                ends.append(end)
    except UnicodeDecodeError as error:
        raise undecodable_file_error(path, error, compressed=compressed) from error
    except GZIP_ERRORS as error:  # truncated or corrupt gzip
        raise InputFileError(path, f"cannot read the file: {error}") from error
    if not starts:
        detail = " on the genome's chromosomes" if interval_number >= 0 else " (empty file?)"
        raise InputFileError(path, f"no interval found{detail}")
    return RegionTable(
        list(chrom_index),
        np.asarray(codes, dtype=np.int32),
        np.asarray(starts, dtype=np.int64),
        np.asarray(ends, dtype=np.int64),
        np.asarray(rows, dtype=np.int64),
    )


def union_regions(
    tables: Sequence[RegionTable], chroms: Sequence[str]
) -> tuple[RegionTable, list[np.ndarray]]:
    """The sorted union of identical intervals over several tables.

    Intervals are the same region only if chromosome, start and end all match; overlapping but different
    intervals stay separate regions (each cell type's peaks are kept as called).

    Args:
        tables: one table per cell type.
        chroms: chromosome order for sorting (the genome's order).

    Returns:
        The union sorted by (chromosome, start, end), and for each table the sorted, unique indices of its
        intervals in the union (its membership).
    """
    ordered = [table.with_chrom_order(chroms) for table in tables]
    all_keys = np.concatenate([table.keys() for table in ordered]) if ordered else np.empty(0)
    unique_keys, inverse = np.unique(all_keys, return_inverse=True)  # sorts by chrom code, start, end
    union = RegionTable(
        list(chroms), unique_keys["chrom"].astype(np.int32), unique_keys["start"], unique_keys["end"]
    )
    members, offset = [], 0
    for table in ordered:
        members.append(np.unique(inverse[offset : offset + len(table)]))
        offset += len(table)
    return union, members
