"""Motif file formats: JASPAR, MEME and plain PFM files, read into counts with every error naming its line."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import InputFileError, undecodable_file_error

BASES = "ACGT"
# MEME's motif format says nsites "defaults to 20" when absent; frequency matrices without a site count
# are scaled to this many sites before the pseudocount is added.
DEFAULT_FREQUENCY_NSITES = 20.0
# Positions of a frequency matrix must sum to 1 within this (files round to 4-6 decimals: GimmeMotifs'
# JASPAR 2018 file has sums from 0.9999 to 1.0001).
FREQUENCY_TOLERANCE = 0.01
# With strict_counts=True, every position's total must equal the first's within this relative tolerance
# (JASPAR's ChIP-seq matrices total 999-1001 from rounding).
COUNT_TOLERANCE = 0.01


@dataclass
class _RawMotif:
    matrix_id: str
    name: str
    header_line: int | None
    counts: np.ndarray  # (L, 4) as read: counts or frequencies
    position_lines: list[int | None]  # line that holds each position (first row's line if bases are rows)
    is_frequency: bool | None = None  # None = decide from the values
    nsites: float | None = None


_JASPAR_ID = re.compile(r"^([A-Z]{2}\d{4}\.\d+)_(.+)$")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
# "A [ 4 19 0 ]", "A: 4 19 0", "A | 4 19 0": a base letter, then space, ':', '|' or '['.
_LABELLED_ROW = re.compile(r"^([ACGTacgt])(?=[\s:|\[])\s*[:|]?\s*\[?([^\[\]]*)\]?\s*$")


def _split_header(text: str) -> tuple[str, str]:
    """``"MA0004.1 Arnt"``/``"MA0004.1\\tArnt"``/``"MA0004.1_Arnt"`` -> ``("MA0004.1", "Arnt")``."""
    fields = text.strip().split(None, 1)
    if not fields:
        return "", ""
    matrix_id, rest = fields[0], (fields[1].strip() if len(fields) > 1 else "")
    match = _JASPAR_ID.match(matrix_id)
    if match and not rest:
        matrix_id, rest = match.groups()
    return matrix_id, " ".join(rest.split())


def _parse_numbers(path: Path, text: str, line: int) -> list[float]:
    values = []
    for token in text.split():
        if not _NUMBER.match(token):
            raise InputFileError(path, f"non-numeric value {token!r} in a matrix row", line)
        value = float(token)
        if not math.isfinite(value):  # e.g. 1e999
            raise InputFileError(path, f"value {token} is too large for a matrix row", line)
        if value < 0:
            raise InputFileError(path, f"negative value {token} in a matrix row", line)
        values.append(value)
    return values


def _detect_format(path: Path, lines: list[str]) -> str:
    meaningful = [
        (i, s.strip()) for i, s in enumerate(lines, 1) if s.strip() and not s.lstrip().startswith("#")
    ]
    if not meaningful:
        raise InputFileError(path, "empty motif file (no matrix found)")
    first_line, first = meaningful[0]
    if first.startswith("MEME version"):
        return "meme"
    for number, text in meaningful:
        if text.startswith(">"):
            continue
        if _LABELLED_ROW.match(text):
            return "jaspar"
        if _NUMBER.match(text.split()[0]):  # a bad value later in the row is reported by the parser
            return "pfm"
        raise InputFileError(
            path, "unknown motif format (expected JASPAR '>ID name' + 'A [ ... ]' rows, MEME or PFM)", number
        )
    raise InputFileError(path, "no matrix rows found (only headers)", first_line)


def _parse_matrix_file(path: Path, lines: list[str], fmt: str) -> list[_RawMotif]:
    """JASPAR (labelled rows) and plain PFM (unlabelled rows, either orientation) share this parser."""
    blocks: list[tuple[str, str, int | None, list[tuple[int, str | None, list[float]]]]] = []
    current: list[tuple[int, str | None, list[float]]] | None = None
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith(">"):
            matrix_id, name = _split_header(text[1:])
            if not matrix_id:
                raise InputFileError(path, "empty motif header", number)
            current = []
            blocks.append((matrix_id, name, number, current))
            continue
        label = None
        labelled = _LABELLED_ROW.match(text)
        if labelled:
            label, text = labelled.group(1).upper(), labelled.group(2)
        if fmt == "jaspar" and label is None:
            raise InputFileError(path, "expected a JASPAR row such as 'A [ 4 19 0 ]'", number)
        if fmt == "pfm" and label is not None:
            raise InputFileError(path, "labelled row in a plain PFM file (use format='jaspar')", number)
        if current is None:
            if blocks:  # pragma: no cover - current is set with the first header
                raise AssertionError
            # A bare matrix without a header: the whole file is one motif named after the file.
            current = []
            blocks.append((path.stem, "", None, current))
        current.append((number, label, _parse_numbers(path, text, number)))

    motifs = []
    for matrix_id, name, header_line, rows in blocks:
        if not rows:
            raise InputFileError(path, f"motif {matrix_id!r} has no matrix rows (length 0)", header_line)
        if any(label is not None for _, label, _ in rows):
            motifs.append(_labelled_matrix(path, matrix_id, name, header_line, rows))
        else:
            motifs.append(_unlabelled_matrix(path, matrix_id, name, header_line, rows))
    return motifs


def _labelled_matrix(path, matrix_id, name, header_line, rows) -> _RawMotif:
    if len(rows) != 4 or sorted(label for _, label, _ in rows) != list(BASES):
        line = rows[4][0] if len(rows) > 4 else rows[-1][0]
        raise InputFileError(
            path, f"motif {matrix_id!r} needs exactly 4 rows labelled A, C, G, T, got {len(rows)}", line
        )
    by_base = {label: (line, values) for line, label, values in rows}
    length = len(rows[0][2])
    for line, _label, values in rows:
        if len(values) != length:
            raise InputFileError(
                path, f"motif {matrix_id!r}: row has {len(values)} values, the first row {length}", line
            )
    if length == 0:
        raise InputFileError(path, f"motif {matrix_id!r} has length 0", header_line)
    counts = np.array([by_base[b][1] for b in BASES], dtype=float).T
    return _RawMotif(matrix_id, name, header_line, counts, [rows[0][0]] * length)


def _unlabelled_matrix(path, matrix_id, name, header_line, rows) -> _RawMotif:
    widths = {len(values) for _, _, values in rows}
    if len(rows) == 4 and widths != {4}:
        # Bases as rows (JASPAR's bare .pfm): 4 rows of L values.
        length = len(rows[0][2])
        for line, _, values in rows:
            if len(values) != length:
                raise InputFileError(
                    path, f"motif {matrix_id!r}: row has {len(values)} values, the first row {length}", line
                )
        counts = np.array([values for _, _, values in rows], dtype=float).T
        return _RawMotif(matrix_id, name, header_line, counts, [rows[0][0]] * length)
    for line, _, values in rows:
        if len(values) != 4:
            raise InputFileError(
                path,
                f"motif {matrix_id!r}: a PFM has 4 columns (A C G T) per position or 4 rows, "
                f"this row has {len(values)} values",
                line,
            )
    counts = np.array([values for _, _, values in rows], dtype=float)
    if counts.shape == (4, 4):
        # Ambiguous 4x4: positions are rows (GimmeMotifs) unless only the columns sum to one.
        rows_one = np.allclose(counts.sum(1), 1, atol=FREQUENCY_TOLERANCE)
        cols_one = np.allclose(counts.sum(0), 1, atol=FREQUENCY_TOLERANCE)
        if cols_one and not rows_one:
            counts = counts.T
    return _RawMotif(matrix_id, name, header_line, counts, [line for line, _, _ in rows])


def _parse_meme(path: Path, lines: list[str]) -> list[_RawMotif]:
    motifs: list[_RawMotif] = []
    pending: tuple[str, str, int] | None = None  # a MOTIF line waiting for its matrix
    number = 0
    total = len(lines)
    while number < total:
        text = lines[number].strip()
        number += 1
        if text.startswith("ALPHABET="):
            if text.split("=", 1)[1].strip().upper() != "ACGT":
                raise InputFileError(path, f"unsupported MEME alphabet {text!r} (only ACGT)", number)
        elif text.startswith("ALPHABET"):
            raise InputFileError(
                path, "custom MEME alphabets are not supported (only 'ALPHABET= ACGT')", number
            )
        elif text.startswith("MOTIF"):
            if pending is not None:
                raise InputFileError(
                    path, f"MEME motif {pending[0]!r} has no letter-probability matrix", pending[2]
                )
            fields = text.split(None, 2)
            if len(fields) < 2:
                raise InputFileError(path, "MOTIF line without an identifier", number)
            matrix_id, name = _split_header(" ".join(fields[1:]))
            pending = (matrix_id, name, number)
        elif text.startswith("letter-probability matrix"):
            if pending is None:
                raise InputFileError(path, "letter-probability matrix without a MOTIF line", number)
            matrix_line = number
            keys = dict(re.findall(r"(\w+)\s*=\s*(\S+)", text.split(":", 1)[1] if ":" in text else ""))
            if keys.get("alength", "4") != "4":
                raise InputFileError(path, f"alength={keys['alength']}, expected 4 (A C G T)", number)
            try:
                width = int(keys["w"]) if "w" in keys else None
                nsites = float(keys["nsites"]) if "nsites" in keys else None
            except ValueError:
                raise InputFileError(path, f"malformed letter-probability header {text!r}", number) from None
            if nsites is not None and not math.isfinite(nsites):
                raise InputFileError(path, f"nsites={keys['nsites']} is not a finite number", number)
            rows: list[list[float]] = []
            position_lines: list[int | None] = []
            while number < total and (width is None or len(rows) < width):
                row_text = lines[number].strip()
                if not row_text or not (_NUMBER.match(row_text.split()[0]) or row_text[0] in "-+."):
                    break
                number += 1
                values = _parse_numbers(path, row_text, number)
                if len(values) != 4:
                    raise InputFileError(
                        path, f"MEME matrix row has {len(values)} values, expected 4 (A C G T)", number
                    )
                rows.append(values)
                position_lines.append(number)
            matrix_id, name, motif_line = pending
            if not rows:
                raise InputFileError(path, f"motif {matrix_id!r} has length 0", matrix_line)
            if width is not None and len(rows) != width:
                raise InputFileError(
                    path, f"motif {matrix_id!r}: w={width} but {len(rows)} rows", matrix_line
                )
            motifs.append(
                _RawMotif(matrix_id, name, motif_line, np.array(rows), position_lines, True, nsites)
            )
            pending = None
        elif text.startswith("log-odds matrix"):
            while number < total and lines[number].strip()[:1] in set("0123456789-+."):
                number += 1
    if pending is not None:
        raise InputFileError(path, f"MEME motif {pending[0]!r} has no letter-probability matrix", pending[2])
    if not motifs:
        raise InputFileError(path, "MEME file without any MOTIF")
    return motifs


def _to_counts(
    path: str | Path, motif: _RawMotif, frequency_nsites: float, strict_counts: bool
) -> np.ndarray:
    """Validate a raw matrix and return counts, ``(L, 4)``."""
    values = motif.counts
    totals = values.sum(axis=1)

    def check(bad: np.ndarray, problem: str) -> None:
        """Raise for the first position where ``bad`` holds; ``problem`` may name its ``{total}``."""
        if bad.any():
            p = int(np.flatnonzero(bad)[0])
            raise InputFileError(
                path,
                f"motif {motif.matrix_id!r}: position {p + 1} " + problem.format(total=totals[p]),
                motif.position_lines[p],
            )

    check(~np.isfinite(totals), "totals more than a float can hold")
    is_frequency = motif.is_frequency
    if is_frequency is None:
        # Frequencies are fractions no larger than 1; counts are (almost always) whole numbers.
        is_frequency = bool(values.max() <= 1 + FREQUENCY_TOLERANCE and np.any(values != np.round(values)))
    if is_frequency:
        check(
            np.abs(totals - 1) > FREQUENCY_TOLERANCE,
            f"of a frequency matrix sums to {{total:.4g}}, not 1 (tolerance {FREQUENCY_TOLERANCE})",
        )
        nsites = motif.nsites if motif.nsites and motif.nsites > 0 else frequency_nsites
        return values / totals[:, None] * nsites
    check(totals <= 0, "has no counts")
    if strict_counts:
        check(
            np.abs(totals - totals[0]) > COUNT_TOLERANCE * totals[0],
            f"totals {{total:g}} counts, position 1 {totals[0]:g} (strict_counts: positions must sum to the "
            "same number of sites)",
        )
    return values


def read_motif_file(
    path: Path, fmt: str, frequency_nsites: float, strict_counts: bool
) -> tuple[list[str], list[np.ndarray]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise undecodable_file_error(path, error, "a text file") from error
    lines = text.splitlines()
    if fmt == "auto":
        fmt = _detect_format(path, lines)
    elif fmt not in ("jaspar", "meme", "pfm"):
        raise ValueError(f"format must be 'auto', 'jaspar', 'meme' or 'pfm', not {fmt!r}")
    if not any(line.strip() and not line.lstrip().startswith("#") for line in lines):
        raise InputFileError(path, "empty motif file (no matrix found)")
    raw = _parse_meme(path, lines) if fmt == "meme" else _parse_matrix_file(path, lines, fmt)
    names, counts, seen = [], [], {}
    for motif in raw:
        if motif.matrix_id in seen:
            raise InputFileError(
                path,
                f"duplicate motif ID {motif.matrix_id!r} (first on line {seen[motif.matrix_id]})",
                motif.header_line,
            )
        seen[motif.matrix_id] = motif.header_line
        names.append(f"{motif.matrix_id} {motif.name}" if motif.name else motif.matrix_id)
        counts.append(_to_counts(path, motif, frequency_nsites, strict_counts))
    return names, counts
