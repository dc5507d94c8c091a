"""Accessible regions per cell type, from peak files or from a peak x cell count matrix.

Three inputs give the same thing, an :class:`Accessibility`: the union of regions over cell types (sorted in
the genome's chromosome order) and, per cell type, which of them are accessible.

* one BED / narrowPeak file per cell type;
* a peak x cell count matrix (``matrix.mtx`` + ``peaks.bed`` + ``barcodes.tsv`` + a cell metadata table
  with a cell-type column), summed into a pseudo-bulk track per cell type and binarised as in the paper
  (section 4.1): a region is accessible in a cell type when its summed count is at least ``min_counts``
  and at least ``min_cells`` cells of that type have a non-zero count (defaults 1 and 1: the paper's
  "non-zero entries");
* an AnnData ``.h5ad`` (cells x peaks, ``obs[cell_type_column]``, peaks from ``var`` columns
  chrom/start/end or names such as ``chr1:100-600``); needs the optional ``anndata`` package.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse

from ..errors import GZIP_ERRORS, InputFileError, undecodable_file_error
from .intervals import RegionTable, read_bed, union_regions


@dataclass
class Accessibility:
    """The union of accessible regions and per-cell-type membership.

    Attributes:
        regions: the union, sorted by (chromosome in genome order, start, end).
        cell_types: names, in a stable (input) order.
        members: for each cell type, sorted int64 indices into ``regions``.
    """

    regions: RegionTable
    cell_types: list[str]
    members: list[np.ndarray]

    def membership_matrix(self) -> np.ndarray:
        """Boolean (n_regions, n_cell_types)."""
        matrix = np.zeros((len(self.regions), len(self.cell_types)), dtype=bool)
        for column, indices in enumerate(self.members):
            matrix[indices, column] = True
        return matrix


def from_peak_files(
    peaks: Mapping[str, str | Path], chrom_sizes: Mapping[str, int], *, unknown_chroms: str = "error"
) -> Accessibility:
    """One peak file per cell type (``{"GM12878": "gm.narrowPeak", ...}``)."""
    if not peaks:
        raise ValueError("no peak files given")
    tables = [read_bed(path, chrom_sizes, unknown_chroms=unknown_chroms) for path in peaks.values()]
    union, members = union_regions(tables, list(chrom_sizes))
    return Accessibility(union, list(peaks), members)


def _read_lines(path: Path, what: str) -> list[tuple[int, str]]:
    """The non-blank lines of a text file with their 1-based line numbers (``\\n``, ``\\r\\n`` or ``\\r`` ends a
    line, as in a file opened in text mode; ``str.splitlines`` would also split at form feeds, ``\\x85``, ...)."""
    if not path.is_file():
        raise InputFileError(path, f"{what} not found")
    try:
        text = path.read_text(encoding="utf-8")  # universal newlines: every line end is now "\n"
    except UnicodeDecodeError as error:
        raise undecodable_file_error(path, error) from error
    lines = [(number, line) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not lines:
        raise InputFileError(path, f"empty {what}")
    return lines


def read_cell_metadata(path: Path, cell_type_column: str) -> dict[str, str]:
    """Barcode -> cell type from a TSV/CSV whose first column is the barcode (a header row names columns)."""
    lines = _read_lines(path, "cell metadata table")
    # the header's separator; a one-column header (R's write.table: no field for the row names) has none
    first, second = lines[0][1], lines[1][1] if len(lines) > 1 else ""
    delimiter = "\t" if "\t" in first or ("," not in first and "\t" in second) else ","
    rows = []
    for line_number, line in lines:  # one line at a time, so that every error names its own line
        try:
            rows.append((line_number, next(csv.reader([line], delimiter=delimiter))))
        except csv.Error as error:  # e.g. a field longer than csv.field_size_limit()
            raise InputFileError(path, f"not a readable CSV/TSV table: {error}", line_number) from error
    header_line, header = rows[0]
    if cell_type_column not in header:
        raise InputFileError(
            path,
            f"no column {cell_type_column!r} in the header (columns: {', '.join(h for h in header if h)})",
            header_line,
        )
    column = header.index(cell_type_column)
    cell_types: dict[str, str] = {}
    for line_number, row in rows[1:]:
        # a header one field shorter than the rows (R's write.table) names columns from the second field on
        shift = 1 if len(row) == len(header) + 1 else 0
        if len(row) <= column + shift:
            raise InputFileError(
                path, f"expected at least {column + shift + 1} fields, got {len(row)}", line_number
            )
        barcode = row[0]
        if barcode in cell_types:
            raise InputFileError(path, f"duplicate barcode {barcode!r}", line_number)
        cell_types[barcode] = row[column + shift].strip()
    return cell_types


def from_count_matrix(
    matrix_dir: str | Path,
    cell_type_column: str,
    chrom_sizes: Mapping[str, int],
    *,
    min_counts: int = 1,
    min_cells: int = 1,
    unknown_chroms: str = "error",
    matrix_name: str = "matrix.mtx",
    peaks_name: str = "peaks.bed",
    barcodes_name: str = "barcodes.tsv",
    metadata_name: str = "cell_metadata.tsv",
) -> Accessibility:
    """Pseudo-bulk accessibility from a peak x cell Matrix Market count matrix (the 10x-style layout).

    Cells whose barcode is missing from the metadata, or whose cell type is empty or ``NA``, are left out.
    With ``unknown_chroms="skip"``, peaks on chromosomes absent from the genome are left out.
    """
    folder = Path(matrix_dir)
    peaks = read_bed(folder / peaks_name, chrom_sizes, unknown_chroms=unknown_chroms)
    # the matrix has a row for every interval of the peaks file, skipped chromosomes included
    n_peaks = len(read_bed(folder / peaks_name)) if unknown_chroms == "skip" else len(peaks)
    barcodes = [line for _, line in _read_lines(folder / barcodes_name, "barcodes file")]
    cell_type_of = read_cell_metadata(folder / metadata_name, cell_type_column)
    matrix_path = folder / matrix_name
    if not matrix_path.is_file():
        raise InputFileError(matrix_path, "count matrix not found")
    # The header first: a wrong shape is reported before reading (and allocating for) the entries it declares.
    header = _matrix_header(matrix_path)
    rows, cols, entries, layout, field = header[:5]
    if (rows, cols) not in ((n_peaks, len(barcodes)), (len(barcodes), n_peaks)):
        raise InputFileError(
            matrix_path,
            f"matrix is {rows} x {cols} but {peaks_name} has {n_peaks} peaks and "
            f"{barcodes_name} has {len(barcodes)} barcodes",
            _mtx_size_line(matrix_path),
        )
    if layout == "coordinate" and entries > _max_entries(matrix_path, rows, cols, field):
        raise InputFileError(
            matrix_path,
            f"the header declares {entries} entries, more than a {rows} x {cols} matrix in this file can hold",
            _mtx_size_line(matrix_path),
        )
    try:
        counts = scipy.sparse.csr_matrix(scipy.io.mmread(str(matrix_path)))
    except (ValueError, IndexError, TypeError, OverflowError, *GZIP_ERRORS) as error:
        reason, line = _fmm_reason(error)
        if isinstance(error, GZIP_ERRORS) and not isinstance(error, (ValueError, OverflowError)):
            raise InputFileError(matrix_path, f"cannot read the file: {reason}") from error
        raise InputFileError(matrix_path, f"not a readable Matrix Market file: {reason}", line) from error
    if counts.dtype.kind not in "biuf":
        raise InputFileError(matrix_path, f"counts must be real numbers, not {counts.dtype}")
    if counts.shape == (len(barcodes), n_peaks) and counts.shape[0] != counts.shape[1]:
        counts = counts.T.tocsr()  # stored cells x peaks
    counts = counts[peaks.source_rows] if len(peaks) != n_peaks else counts
    if counts.nnz and not np.isfinite(counts.data).all():  # silently left out of every sum before
        raise InputFileError(matrix_path, "counts must be finite (found NaN or infinity)")
    if counts.nnz and counts.data.min() < 0:
        raise InputFileError(matrix_path, "negative counts")
    labels = [cell_type_of.get(barcode, "") for barcode in barcodes]
    return _pseudo_bulk(counts, labels, peaks, list(chrom_sizes), min_counts, min_cells, str(matrix_path))


def from_h5ad(
    path: str | Path,
    cell_type_column: str,
    chrom_sizes: Mapping[str, int],
    *,
    min_counts: int = 1,
    min_cells: int = 1,
    unknown_chroms: str = "error",
) -> Accessibility:
    """Pseudo-bulk accessibility from an AnnData file (cells x peaks); ``unknown_chroms`` as in
    :func:`from_count_matrix`."""
    path = Path(path)
    try:
        import anndata
    except ImportError as error:
        raise ImportError(
            "reading .h5ad needs the optional dependency anndata: pip install 'genebert[h5ad]'"
        ) from error
    if not path.is_file():
        raise InputFileError(path, "h5ad file not found")
    try:
        adata = anndata.read_h5ad(path)
    except Exception as error:  # h5py raises many types for a damaged file
        raise InputFileError(path, f"not a readable h5ad file: {error}") from error
    if cell_type_column not in adata.obs.columns:
        raise InputFileError(
            path,
            f"obs has no column {cell_type_column!r} (columns: {', '.join(map(str, adata.obs.columns))})",
        )
    peaks = _peaks_from_var(adata.var, path, chrom_sizes, unknown_chroms)
    if adata.X is None:
        raise InputFileError(path, "no X matrix (counts) in the h5ad file")
    try:
        counts = scipy.sparse.csr_matrix(adata.X)
    except (TypeError, ValueError) as error:
        raise InputFileError(path, f"X is not a numeric matrix: {error}") from error
    if counts.dtype.kind not in "biuf":
        raise InputFileError(path, f"X must hold real numbers, not {counts.dtype}")
    if counts.nnz and counts.data.min() < 0:
        raise InputFileError(path, "negative counts in X")
    counts = counts.T.tocsr()[peaks.source_rows]
    labels = [
        "" if value is None or value != value else str(value)
        for value in adata.obs[cell_type_column].tolist()
    ]
    return _pseudo_bulk(counts, labels, peaks, list(chrom_sizes), min_counts, min_cells, str(path))


_PEAK_NAME = re.compile(r"^(?P<chrom>[^:_\s]+)[:_](?P<start>\d+)[-_](?P<end>\d+)$")


def _peaks_from_var(
    var, path: Path, chrom_sizes: Mapping[str, int], unknown_chroms: str = "error"
) -> RegionTable:
    columns = {c.lower(): c for c in map(str, var.columns)}
    if {"chrom", "start", "end"} <= columns.keys():
        triples = zip(
            var[columns["chrom"]].astype(str), var[columns["start"]], var[columns["end"]], strict=True
        )
    else:
        triples = []
        for name in map(str, var.index):
            match = _PEAK_NAME.match(name)
            if match is None:
                raise InputFileError(
                    path, f"peak {name!r}: var needs chrom/start/end columns or names like chr1:100-600"
                )
            triples.append((match["chrom"], match["start"], match["end"]))
    chroms: dict[str, int] = {}
    codes, starts, ends, rows = [], [], [], []
    for number, (chrom, raw_start, raw_end) in enumerate(triples, start=1):
        start, end = _var_coordinate(raw_start), _var_coordinate(raw_end)
        if start is None or end is None:
            raise InputFileError(
                path,
                f"peak {number} ({chrom}): start and end must be integers, got {raw_start!r} and {raw_end!r}",
            )
        where = f"peak {number} ({chrom}:{start}-{end})"
        if chrom not in chrom_sizes and unknown_chroms == "skip":
            continue
        if chrom not in chrom_sizes:
            raise InputFileError(path, f"{where}: unknown chromosome {chrom!r} (not in the genome)")
        if not 0 <= start < end <= chrom_sizes[chrom]:
            raise InputFileError(
                path, f"{where}: coordinates outside {chrom} (length {chrom_sizes[chrom]}) or start >= end"
            )
        codes.append(chroms.setdefault(chrom, len(chroms)))
        starts.append(start)
        ends.append(end)
        rows.append(number - 1)
    if not starts:
        raise InputFileError(path, "no peaks in var (on the genome's chromosomes)")
    return RegionTable(
        list(chroms),
        np.asarray(codes, np.int32),
        np.asarray(starts, np.int64),
        np.asarray(ends, np.int64),
        np.asarray(rows, np.int64),
    )


def _var_coordinate(value) -> int | None:
    """An integer coordinate from a var column (ints, whole floats, digit strings), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if np.isfinite(value) and float(value).is_integer() else None
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?[0-9]{1,18}", text) else None


# ---------------------------------------------------------------------------------- Matrix Market line numbers
# scipy (fast_matrix_market, scipy >= 1.12) starts most messages with "Line N: " (1-based, every line counted);
# errors in the size line name none.
_FMM_LINE = re.compile(r"^Line (\d+): ")


def _fmm_reason(error: BaseException) -> tuple[str, int | None]:
    """scipy's message without its "Line N: " prefix, and N."""
    message = str(error)
    match = _FMM_LINE.match(message)
    return (message[match.end() :], int(match.group(1))) if match else (message, None)


def _mtx_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(1-based number, line)`` of a Matrix Market file, decompressed as scipy does (by the name's suffix)."""
    name = str(path)
    opener = gzip.open if name.endswith(".gz") else bz2.open if name.endswith(".bz2") else open
    with opener(path, "rb") as handle:
        yield from enumerate(handle, start=1)


def _mtx_size_line(path: Path) -> int | None:
    """The line of the size line (``rows cols [entries]``): the first after the banner that is neither blank
    nor a ``%`` comment."""
    try:
        for number, line in _mtx_lines(path):
            if number > 1 and line.strip() and not line.lstrip().startswith(b"%"):
                return number
    except (*GZIP_ERRORS, ValueError):
        return None
    return None


def _matrix_header(path: Path) -> tuple:
    """``scipy.io.mminfo``: (rows, cols, entries, format, field, symmetry), or the error naming the line."""
    try:
        return scipy.io.mminfo(str(path))
    except (ValueError, TypeError, OverflowError, *GZIP_ERRORS) as error:
        reason, line = _fmm_reason(error)
        if isinstance(error, GZIP_ERRORS) and not isinstance(error, (ValueError, OverflowError)):
            raise InputFileError(path, f"cannot read the file: {reason}") from error
        # the banner is line 1 (comments before the size line are counted right); anything else is the size line
        line = 1 if line == 1 else _mtx_size_line(path)
        raise InputFileError(path, f"not a readable Matrix Market file: {reason}", line) from error


def _max_entries(path: Path, rows: int, cols: int, field: str) -> int:
    """An upper bound on the entries a coordinate file can hold: a cell each (duplicates aside), and for an
    uncompressed file one short line each (``i j v\\n``), so a damaged header cannot make the reader allocate
    for billions of entries."""
    if str(path).endswith((".gz", ".bz2")):
        return rows * cols
    tokens = {"pattern": 2, "complex": 4}.get(field, 3)
    return path.stat().st_size // (2 * tokens) + 1


def _pseudo_bulk(
    counts: scipy.sparse.csr_matrix,
    labels: Sequence[str],
    peaks: RegionTable,
    chrom_order: list[str],
    min_counts: int,
    min_cells: int,
    source: str,
) -> Accessibility:
    """Sum cells per cell type (peaks x types) and binarise with ``min_counts`` / ``min_cells``."""
    if min_counts < 1 or min_cells < 1:
        raise ValueError("min_counts and min_cells must be at least 1")
    cell_types = sorted({label for label in labels if label and label.upper() not in ("NA", "NAN", "NONE")})
    if not cell_types:
        raise InputFileError(source, "no cell has a cell type (check the barcodes and the cell-type column)")
    column_of = {name: i for i, name in enumerate(cell_types)}
    cells = [i for i, label in enumerate(labels) if label in column_of]
    assignment = scipy.sparse.csr_matrix(
        (np.ones(len(cells)), (cells, [column_of[labels[i]] for i in cells])),
        shape=(len(labels), len(cell_types)),
    )
    summed = np.asarray((counts @ assignment).todense())
    nonzero = counts.copy()
    nonzero.data = (nonzero.data > 0).astype(np.float64)
    cells_with_signal = np.asarray((nonzero @ assignment).todense())
    accessible = (summed >= min_counts) & (cells_with_signal >= min_cells)
    tables = [peaks.take(np.flatnonzero(accessible[:, column])) for column in range(len(cell_types))]
    union, members = union_regions(tables, chrom_order)
    return Accessibility(union, cell_types, members)


def combine(parts: Sequence[Accessibility], chrom_order: Sequence[str]) -> Accessibility:
    """Join accessibility from several inputs (e.g. two count matrices): union of regions, all cell types.

    Raises:
        ValueError: a cell type appears in more than one input.
    """
    names = [name for part in parts for name in part.cell_types]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"cell types given by more than one input: {duplicated}")
    tables = [part.regions.take(members) for part in parts for members in part.members]
    union, members = union_regions(tables, list(chrom_order))
    return Accessibility(union, names, members)


def load_accessibility(
    chrom_sizes: Mapping[str, int],
    *,
    peaks: Mapping[str, str | Path] | None = None,
    matrix_dirs: Sequence[str | Path] | None = None,
    h5ad: str | Path | None = None,
    cell_type_columns: Sequence[str] | None = None,
    min_counts: int = 1,
    min_cells: int = 1,
    unknown_chroms: str = "error",
) -> Accessibility:
    """Accessibility from exactly one kind of input: peak files, count-matrix folders (joined) or an h5ad.

    ``cell_type_columns``: one column for every matrix folder, or one per folder (and one for an h5ad).
    """
    if sum([bool(peaks), bool(matrix_dirs), h5ad is not None]) != 1:
        raise ValueError("give exactly one of peak files, count-matrix folders or an h5ad file")
    if peaks:
        return from_peak_files(peaks, chrom_sizes, unknown_chroms=unknown_chroms)
    columns = list(cell_type_columns or [])
    if not columns:
        raise ValueError("count matrices and h5ad files need a cell-type column")
    options = dict(min_counts=min_counts, min_cells=min_cells, unknown_chroms=unknown_chroms)
    if h5ad is not None:
        return from_h5ad(h5ad, columns[0], chrom_sizes, **options)
    if len(columns) == 1:
        columns *= len(matrix_dirs)
    if len(columns) != len(matrix_dirs):
        raise ValueError("give one cell-type column, or one per count-matrix folder")
    parts = [
        from_count_matrix(folder, column, chrom_sizes, **options)
        for folder, column in zip(matrix_dirs, columns, strict=True)
    ]
    return parts[0] if len(parts) == 1 else combine(parts, list(chrom_sizes))
