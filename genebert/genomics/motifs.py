"""Transcription-factor motifs: loading position frequency matrices and scanning DNA for best hits.

The paper's region features (section 3.1) are, for every accessible region, the best log-odds score of
each of the 579 JASPAR 2018 CORE vertebrate motifs over the whole region, both strands. This module
provides the two halves:

* :func:`load_motifs` reads matrices from pyjaspar (``"JASPAR2018"``) or from a JASPAR, MEME or plain
  PFM file and turns them into log-odds PWMs (:class:`MotifSet`);
* :func:`scan_max` returns the ``(n_sequences, n_motifs)`` matrix of best scores. The CPU path is a
  numba kernel built on per-motif lookup tables; a torch path (``conv1d``) runs on GPUs unchanged.
  :func:`scan_max_reference` is the float64 brute force both are tested against.

PWM math (see docs/motifs.md): ``pwm[p, b] = log2(((n[p, b] + s * q[b]) / (N[p] + s)) / q[b])`` with
``n`` the counts, ``N[p]`` the total of position ``p``, ``s`` the pseudocount (0.8 by default, split by
the background ``q``; TFBSTools ``toPWM`` and chromVAR/motifmatchr use the same rule, MOODS'
``tools.log_odds`` splits its ``ps`` the same way) and scores in bits (log2, as Biopython's
``log_odds``). Columns are always A, C, G, T.

Ambiguous bases (N and the IUPAC codes) score, at each motif position, the minimum of the log-odds of
the bases they stand for, so a window containing them is a lower bound of every real sequence it could
be and never outscores a real hit. A sequence shorter than a motif scores the motif's minimum possible
score (the score of an all-N window), which is finite.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numba
import numpy as np

from .errors import InputFileError, undecodable_file_error

__all__ = [
    "MotifSet",
    "base_composition",
    "load_motifs",
    "pfm_to_pwm",
    "scan_max",
    "scan_max_reference",
]

BASES = "ACGT"
DEFAULT_PSEUDOCOUNT = 0.8
# MEME's motif format says nsites "defaults to 20" when absent; frequency matrices without a site count
# are scaled to this many sites before the pseudocount is added.
DEFAULT_FREQUENCY_NSITES = 20.0
# Positions of a frequency matrix must sum to 1 within this (files round to 4-6 decimals: GimmeMotifs'
# JASPAR 2018 file has sums from 0.9999 to 1.0001).
FREQUENCY_TOLERANCE = 0.01
# With strict_counts=True, every position's total must equal the first's within this relative tolerance
# (JASPAR's ChIP-seq matrices total 999-1001 from rounding).
COUNT_TOLERANCE = 0.01

Background = str | Sequence[float] | Mapping[str, float] | np.ndarray | None
MotifFormat = Literal["auto", "jaspar", "meme", "pfm"]

# --------------------------------------------------------------------------------------------------
# Sequence encoding: every base becomes a 4-bit IUPAC mask (A=1, C=2, G=4, T=8, N=15); 0 = invalid.

_IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip
_MASK_OF_BYTE = np.zeros(256, dtype=np.uint8)
for _letter, _bases in _IUPAC.items():
    _mask = sum(1 << BASES.index(b) for b in _bases)
    _MASK_OF_BYTE[ord(_letter)] = _MASK_OF_BYTE[ord(_letter.lower())] = _mask
# Base code 0-3 of an unambiguous mask; ambiguous masks get 0 (their windows take the slow path).
_BASE_OF_MASK = np.zeros(16, dtype=np.uint8)
_BASE_OF_MASK[[1, 2, 4, 8]] = [0, 1, 2, 3]
_IS_AMBIGUOUS = np.ones(16, dtype=bool)
_IS_AMBIGUOUS[[0, 1, 2, 4, 8]] = False
# (16, 4) membership: _MASK_BASES[mask, b] is True when base b is one of the bases the mask stands for.
_MASK_BASES = (np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1 == 1


@dataclass
class _EncodedBatch:
    masks: np.ndarray  # (total + pad,) uint8 IUPAC masks of all sequences, concatenated
    offsets: np.ndarray  # (n + 1,) int64 start of each sequence in ``masks``
    has_ambiguous: np.ndarray  # (n,) bool


def _encode(sequences: Sequence[str], pad: int = 0) -> _EncodedBatch:
    """Concatenate and encode sequences; ``ValueError`` names the sequence, position and character."""
    if isinstance(sequences, (str, bytes)):
        raise TypeError("sequences must be a list of str, not a single string")
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = "".join(sequences)
    try:
        raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        # Keep one byte per character so positions stay right; non-ASCII becomes 0, reported below.
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        raw = np.where(codes < 128, codes, 0).astype(np.uint8)
    masks = np.zeros(raw.size + pad, dtype=np.uint8)
    masks[: raw.size] = _MASK_OF_BYTE[raw]
    bad = np.flatnonzero(masks[: raw.size] == 0)
    if bad.size:
        where = int(bad[0])
        index = int(np.searchsorted(offsets, where, side="right") - 1)
        position = where - int(offsets[index])
        raise ValueError(
            f"sequence {index}: invalid character {sequences[index][position]!r} at position {position} "
            "(expected A, C, G, T, N or an IUPAC code, any case)"
        )
    ambiguous = np.zeros(raw.size + 1, dtype=np.int64)
    np.cumsum(_IS_AMBIGUOUS[masks[: raw.size]], out=ambiguous[1:])
    has_ambiguous = ambiguous[offsets[1:]] > ambiguous[offsets[:-1]]
    return _EncodedBatch(masks=masks, offsets=offsets, has_ambiguous=has_ambiguous)


# --------------------------------------------------------------------------------------------------
# PFM -> PWM


def _background_vector(background: Background) -> np.ndarray:
    if background is None or (isinstance(background, str) and background == "uniform"):
        return np.full(4, 0.25)
    if isinstance(background, str):
        raise ValueError(f"background must be None, 'uniform', 4 numbers or a mapping, not {background!r}")
    if isinstance(background, Mapping):
        upper = {str(k).upper(): v for k, v in background.items()}
        if set(upper) != set(BASES):
            raise ValueError(f"background mapping needs exactly the keys A, C, G, T, got {sorted(upper)}")
        values = np.array([upper[b] for b in BASES], dtype=float)
    else:
        values = np.asarray(background, dtype=float).reshape(-1)
    if values.shape != (4,) or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"background must be 4 positive finite numbers (A, C, G, T), got {background!r}")
    return values / values.sum()


def base_composition(sequences: str | Iterable[str], *, symmetric: bool = True) -> np.ndarray:
    """Frequencies of A, C, G, T in ``sequences`` (any case; N and IUPAC codes are not counted).

    With ``symmetric=True`` (default) A/T and C/G are averaged, which is the right background for
    scanning both strands: the reverse strand of a genome has the complementary composition.

    Returns:
        ``(4,)`` float64 array summing to 1, columns A, C, G, T.
    """
    if isinstance(sequences, str):
        sequences = [sequences]
    counts = np.zeros(256, dtype=np.int64)
    for sequence in sequences:
        counts += np.bincount(
            np.frombuffer(sequence.encode("ascii", "replace"), dtype=np.uint8), minlength=256
        )
    acgt = np.array([counts[ord(b)] + counts[ord(b.lower())] for b in BASES], dtype=float)
    if acgt.sum() == 0:
        raise ValueError("no A, C, G or T in the sequences: cannot compute a base composition")
    if symmetric:
        acgt = (acgt + acgt[::-1]) / 2
    return acgt / acgt.sum()


def pfm_to_pwm(
    counts: np.ndarray, *, pseudocount: float = DEFAULT_PSEUDOCOUNT, background: Background = None
) -> np.ndarray:
    """Log-odds PWM in bits from a count matrix.

    ``pwm[p, b] = log2(((counts[p, b] + pseudocount * q[b]) / (N[p] + pseudocount)) / q[b])`` where ``N[p]``
    is the total of position ``p`` (each position is normalised by its own total) and ``q`` the background.

    Args:
        counts: ``(L, 4)`` non-negative counts, columns A, C, G, T.
        pseudocount: total pseudocount per position (> 0), split across bases by the background.
        background: None or ``"uniform"`` (0.25 each), 4 numbers or a mapping A/C/G/T -> frequency.

    Returns:
        ``(L, 4)`` float64 log2-odds.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != 4:
        raise ValueError(f"counts must have shape (L, 4), got {counts.shape}")
    if not pseudocount > 0 or not math.isfinite(pseudocount):
        raise ValueError(f"pseudocount must be a positive number, got {pseudocount!r}")
    q = _background_vector(background)
    totals = counts.sum(axis=1, keepdims=True)
    return np.log2((counts + pseudocount * q) / (totals + pseudocount) / q)


# --------------------------------------------------------------------------------------------------
# MotifSet


@dataclass(eq=False)
class MotifSet:
    """Named log-odds PWMs.

    Attributes:
        names: ``"MATRIXID TFNAME"`` per motif, e.g. ``"MA0004.1 Arnt"`` (or the bare ID when a file gives
            no TF name). Unique.
        pwms: one ``(L, 4)`` float64 array per motif, log2-odds, columns A, C, G, T.
        pfms: optional ``(L, 4)`` position probability matrices (counts normalised per position, no
            pseudocount), kept for provenance and comparisons.
        background: ``(4,)`` background the PWMs were computed against.
        pseudocount: the total pseudocount per position used, or None when PWMs were given directly.
        source: where the motifs came from (release name or file path).
    """

    names: list[str]
    pwms: list[np.ndarray]
    pfms: list[np.ndarray] | None = None
    background: np.ndarray = field(default_factory=lambda: np.full(4, 0.25))
    pseudocount: float | None = None
    source: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.names = [str(name) for name in self.names]
        self.pwms = [np.ascontiguousarray(pwm, dtype=np.float64) for pwm in self.pwms]
        if len(self.names) != len(self.pwms):
            raise ValueError(f"{len(self.names)} names for {len(self.pwms)} pwms")
        if len(set(self.names)) != len(self.names):
            seen: set[str] = set()
            duplicate = next(n for n in self.names if n in seen or seen.add(n))
            raise ValueError(f"duplicate motif name {duplicate!r}")
        for name, pwm in zip(self.names, self.pwms, strict=True):
            if pwm.ndim != 2 or pwm.shape[1] != 4 or pwm.shape[0] < 1:
                raise ValueError(f"motif {name!r}: pwm must have shape (L >= 1, 4), got {pwm.shape}")
            if not np.all(np.isfinite(pwm)):
                raise ValueError(f"motif {name!r}: pwm has non-finite values")
        self.background = np.asarray(self.background, dtype=float)

    def __len__(self) -> int:
        return len(self.pwms)

    def __repr__(self) -> str:
        return f"MotifSet({len(self)} motifs from {self.source or 'arrays'!r}, fingerprint {self.fingerprint()[:12]})"

    @property
    def lengths(self) -> np.ndarray:
        """``(n_motifs,)`` int64 motif lengths."""
        return np.array([pwm.shape[0] for pwm in self.pwms], dtype=np.int64)

    @property
    def ids(self) -> list[str]:
        """Matrix IDs: the first word of each name."""
        return [name.split(" ", 1)[0] for name in self.names]

    def min_scores(self) -> np.ndarray:
        """``(n_motifs,)`` float64: lowest possible score of each motif (also the all-N / too-short score)."""
        return np.array([pwm.min(axis=1).sum() for pwm in self.pwms])

    def max_scores(self) -> np.ndarray:
        """``(n_motifs,)`` float64: highest possible score of each motif (its consensus)."""
        return np.array([pwm.max(axis=1).sum() for pwm in self.pwms])

    def fingerprint(self) -> str:
        """Stable sha256 (hex) over names and PWMs (little-endian float64), for corpus metadata."""
        digest = hashlib.sha256(b"genebert-motifset-v1\0")
        for name, pwm in zip(self.names, self.pwms, strict=True):
            digest.update(name.encode("utf-8") + b"\0")
            digest.update(np.int64(pwm.shape[0]).tobytes())
            digest.update(pwm.astype("<f8").tobytes())
        return digest.hexdigest()

    def subset(self, names: Iterable[str]) -> MotifSet:
        """A new set with the given motifs, in the given order; full names or matrix IDs both work."""
        index = {name: i for i, name in enumerate(self.names)}
        for i, matrix_id in enumerate(self.ids):
            index.setdefault(matrix_id, i)
        try:
            chosen = [index[name] for name in names]
        except KeyError as error:
            raise KeyError(f"motif {error.args[0]!r} is not in this set") from None
        return MotifSet(
            names=[self.names[i] for i in chosen],
            pwms=[self.pwms[i] for i in chosen],
            pfms=None if self.pfms is None else [self.pfms[i] for i in chosen],
            background=self.background,
            pseudocount=self.pseudocount,
            source=self.source,
        )


# --------------------------------------------------------------------------------------------------
# Loading


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
    if not np.all(np.isfinite(totals)):
        p = int(np.flatnonzero(~np.isfinite(totals))[0])
        raise InputFileError(
            path,
            f"motif {motif.matrix_id!r}: position {p + 1} totals more than a float can hold",
            motif.position_lines[p],
        )
    is_frequency = motif.is_frequency
    if is_frequency is None:
        # Frequencies are fractions no larger than 1; counts are (almost always) whole numbers.
        is_frequency = bool(values.max() <= 1 + FREQUENCY_TOLERANCE and np.any(values != np.round(values)))
    if is_frequency:
        off = np.flatnonzero(np.abs(totals - 1) > FREQUENCY_TOLERANCE)
        if off.size:
            p = int(off[0])
            raise InputFileError(
                path,
                f"motif {motif.matrix_id!r}: position {p + 1} of a frequency matrix sums to {totals[p]:.4g}, "
                f"not 1 (tolerance {FREQUENCY_TOLERANCE})",
                motif.position_lines[p],
            )
        nsites = motif.nsites if motif.nsites and motif.nsites > 0 else frequency_nsites
        return values / totals[:, None] * nsites
    zero = np.flatnonzero(totals <= 0)
    if zero.size:
        p = int(zero[0])
        raise InputFileError(
            path, f"motif {motif.matrix_id!r}: position {p + 1} has no counts", motif.position_lines[p]
        )
    if strict_counts:
        off = np.flatnonzero(np.abs(totals - totals[0]) > COUNT_TOLERANCE * totals[0])
        if off.size:
            p = int(off[0])
            raise InputFileError(
                path,
                f"motif {motif.matrix_id!r}: position {p + 1} totals {totals[p]:g} counts, position 1 "
                f"{totals[0]:g} (strict_counts: positions must sum to the same number of sites)",
                motif.position_lines[p],
            )
    return values


def _read_motif_file(
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


def _fetch_pyjaspar(release: str, collection: str, tax_group, all_versions: bool):
    from pyjaspar import jaspardb

    groups = [tax_group] if isinstance(tax_group, str) else tax_group
    motifs = jaspardb(release=release).fetch_motifs(
        collection=collection, tax_group=groups, all_versions=all_versions
    )
    names = [f"{m.matrix_id} {m.name}" for m in motifs]
    counts = [np.array([m.counts[b] for b in BASES], dtype=float).T for m in motifs]
    return names, counts


def load_motifs(
    source: str | os.PathLike,
    *,
    format: MotifFormat = "auto",
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    background: Background = None,
    collection: str = "CORE",
    tax_group: str | Sequence[str] | None = "vertebrates",
    all_versions: bool = False,
    frequency_nsites: float = DEFAULT_FREQUENCY_NSITES,
    strict_counts: bool = False,
) -> MotifSet:
    """Load motifs and convert them to log2-odds PWMs.

    Args:
        source: a pyjaspar release name (``"JASPAR2018"``: CORE vertebrates, latest version of each
            matrix, the 579 of the paper) or a path to a JASPAR (``>MA0004.1 Arnt`` + ``A [ 4 19 ... ]``),
            MEME (letter-probability matrices) or plain PFM file (GimmeMotifs ``>ID_name`` + rows of A C G T
            per position, or a bare matrix of 4 rows, one per base). Existing paths win over release names.
        format: ``"auto"`` (detect) or force ``"jaspar"``, ``"meme"`` or ``"pfm"``.
        pseudocount: total pseudocount per position, split by the background (see :func:`pfm_to_pwm`).
        background: None/``"uniform"``, 4 frequencies A, C, G, T (e.g. :func:`base_composition` of the
            genome) or a mapping. A MEME file's background line is not used, so every format gives the same
            PWM for the same counts.
        collection, tax_group, all_versions: the pyjaspar query (ignored for files).
        frequency_nsites: number of sites assumed for frequency matrices without ``nsites=`` (MEME's
            default, 20); frequencies are scaled to counts before the pseudocount is added.
        strict_counts: also reject count matrices whose positions do not all have the same total (within
            1%). Off by default: 349 of JASPAR 2018's 579 matrices (HT-SELEX) have unequal totals, and
            every position is normalised by its own total anyway.

    Raises:
        InputFileError: naming file and line, for an empty file, unknown format, non-numeric or negative
            values, rows of the wrong width, not 4 rows/columns, a motif of length 0, duplicate IDs, a
            frequency position not summing to 1 (tolerance 0.01), a position without counts, and (with
            ``strict_counts``) unequal position totals.
    """
    path = Path(source)
    if path.is_file():
        names, counts = _read_motif_file(path, format, frequency_nsites, strict_counts)
        source_name = str(path)
    elif isinstance(source, str) and re.fullmatch(r"JASPAR\d{4}", source):
        names, counts = _fetch_pyjaspar(source, collection, tax_group, all_versions)
        source_name = source
    elif path.exists():
        raise InputFileError(path, "not a regular file")
    else:
        raise FileNotFoundError(
            f"{source!r} is neither a motif file nor a pyjaspar release such as 'JASPAR2018'"
        )
    q = _background_vector(background)
    pwms = [pfm_to_pwm(c, pseudocount=pseudocount, background=q) for c in counts]
    pfms = [c / c.sum(axis=1, keepdims=True) for c in counts]
    return MotifSet(
        names=names, pwms=pwms, pfms=pfms, background=q, pseudocount=pseudocount, source=source_name
    )


# --------------------------------------------------------------------------------------------------
# Scoring tables shared by the scanners


def _reverse_complement_pwm(pwm: np.ndarray) -> np.ndarray:
    # Columns are A, C, G, T, so complementing a base is reversing the column order.
    return pwm[::-1, ::-1]


def _ambiguity_table(pwm: np.ndarray) -> np.ndarray:
    """``(L, 16)``: score of each IUPAC mask at each position = min over the bases it stands for."""
    table = np.where(_MASK_BASES[None, :, :], pwm[:, None, :], np.inf).min(axis=2)
    table[:, 0] = 0.0  # mask 0 never occurs in a window (padding only)
    return table


def scan_max_reference(sequences: Sequence[str], motif_set: MotifSet) -> np.ndarray:
    """Brute-force float64 :func:`scan_max` (pure numpy, same policies), the exactness reference.

    Returns:
        ``(n_sequences, n_motifs)`` float64.
    """
    batch = _encode(sequences)
    out = np.empty((len(sequences), len(motif_set)), dtype=np.float64)
    minima = motif_set.min_scores()
    for m, pwm in enumerate(motif_set.pwms):
        length = pwm.shape[0]
        forward = _ambiguity_table(pwm)
        reverse = _ambiguity_table(_reverse_complement_pwm(pwm))
        rows = np.arange(length)
        for s in range(len(sequences)):
            masks = batch.masks[batch.offsets[s] : batch.offsets[s + 1]]
            if masks.size < length:
                out[s, m] = minima[m]
                continue
            windows = np.lib.stride_tricks.sliding_window_view(masks, length)
            out[s, m] = max(
                forward[rows, windows].sum(axis=1).max(), reverse[rows, windows].sum(axis=1).max()
            )
    return out


# --------------------------------------------------------------------------------------------------
# numba CPU path: block lookup tables.
#
# For each motif, the positions are cut into nb = ceil(L / 7) blocks of (nearly) equal size b <= 7. Each
# block has a table of 4^b partial scores, one per b-mer, with the forward and reverse-complement scores
# side by side, so one lookup serves both strands and a window costs nb lookups instead of L. The sequence
# is packed once into 7-mer codes (uint16); the b-mer code at i is the 7-mer code at i shifted right,
# because the first base is the most significant digit. Equal block sizes keep tables small (L=10 -> 5+5,
# 16 KB) so each motif's tables stay in L2 while the motif-outer parallel loop streams the sequences.

_MAX_BLOCK = 7


@dataclass
class _LookupTables:
    order: np.ndarray  # (M,) motif order for the parallel loop (longest first: better load balance)
    lengths: np.ndarray  # (M,) int64
    nblocks: np.ndarray  # (M,) int64
    block_start: np.ndarray  # (M, max_nb) int64 first motif position of each block
    block_shift: np.ndarray  # (M, max_nb) int64 right shift turning a 7-mer code into the block's b-mer
    table_offset: np.ndarray  # (M, max_nb) int64 offset of each block's table in ``tables``
    tables: np.ndarray  # float32, pairs (forward, reverse) per b-mer
    ambiguity_offset: np.ndarray  # (M,) int64 offset in ``ambiguity``
    ambiguity: np.ndarray  # float32, (L, 16, 2) per motif: per-position mask scores, both strands
    min_scores: np.ndarray  # (M,) float32


def _block_table(pwm_block: np.ndarray) -> np.ndarray:
    """``(4^b,)`` float64 sum of scores of every b-mer, first base most significant."""
    table = pwm_block[0]
    for row in pwm_block[1:]:
        table = (table[:, None] + row[None, :]).reshape(-1)
    return table


def _lookup_tables(motif_set: MotifSet) -> _LookupTables:
    key = "lookup:" + motif_set.fingerprint()
    cached = motif_set._cache.get(key)
    if cached is not None:
        return cached
    lengths = motif_set.lengths
    nblocks = -(-lengths // _MAX_BLOCK)
    width = int(nblocks.max())
    block_start = np.zeros((len(lengths), width), dtype=np.int64)
    block_shift = np.zeros((len(lengths), width), dtype=np.int64)
    table_offset = np.zeros((len(lengths), width), dtype=np.int64)
    tables, ambiguity, ambiguity_offset = [], [], np.zeros(len(lengths), dtype=np.int64)
    offset = ambiguity_total = 0
    for m, pwm in enumerate(motif_set.pwms):
        reverse = _reverse_complement_pwm(pwm)
        sizes = np.full(nblocks[m], lengths[m] // nblocks[m])
        sizes[: lengths[m] % nblocks[m]] += 1
        start = 0
        for j, size in enumerate(sizes):
            pair = np.stack(
                [_block_table(pwm[start : start + size]), _block_table(reverse[start : start + size])], 1
            )
            block_start[m, j], block_shift[m, j], table_offset[m, j] = start, 2 * (_MAX_BLOCK - size), offset
            tables.append(pair.reshape(-1))
            offset += pair.size
            start += size
        amb = np.stack([_ambiguity_table(pwm), _ambiguity_table(reverse)], axis=2)  # (L, 16, 2)
        ambiguity.append(amb.reshape(-1))
        ambiguity_offset[m] = ambiguity_total
        ambiguity_total += amb.size
    result = _LookupTables(
        order=np.argsort(-lengths, kind="stable").astype(np.int64),
        lengths=lengths,
        nblocks=nblocks.astype(np.int64),
        block_start=block_start,
        block_shift=block_shift,
        table_offset=table_offset,
        tables=np.concatenate(tables).astype(np.float32),
        ambiguity_offset=ambiguity_offset,
        ambiguity=np.concatenate(ambiguity).astype(np.float32),
        min_scores=motif_set.min_scores().astype(np.float32),
    )
    motif_set._cache[key] = result
    return result


def _packed_kmers(masks: np.ndarray) -> np.ndarray:
    """``(n,)`` uint16 code of the 7-mer starting at each position (``masks`` carries 7 padding bytes)."""
    bases = _BASE_OF_MASK[masks].astype(np.uint16)
    n = masks.size - _MAX_BLOCK
    packed = np.zeros(n, dtype=np.uint16)
    for t in range(_MAX_BLOCK):
        packed <<= 2
        packed |= bases[t : t + n]
    return packed


# Indices are unsigned on purpose: numba adds negative-index wrap-around to every signed array access,
# which tripled the time of these loops. Mixing uint64 with int64 would promote to float64 in numba, so
# every index is converted with _U first.
_U = numba.uint64


@numba.njit(cache=True, nogil=True, inline="always")
def _best_1(packed, tables, a, last, o0, h0):
    best_f = np.float32(-np.inf)
    best_r = np.float32(-np.inf)
    o0, h0 = _U(o0), _U(h0)
    for i in range(_U(a), _U(last) + _U(1)):
        k0 = o0 + _U(2) * (_U(packed[i]) >> h0)
        best_f = max(best_f, tables[k0])
        best_r = max(best_r, tables[k0 + _U(1)])
    return max(best_f, best_r)


@numba.njit(cache=True, nogil=True, inline="always")
def _best_2(packed, tables, a, last, o0, h0, s1, o1, h1):
    best_f = np.float32(-np.inf)
    best_r = np.float32(-np.inf)
    o0, h0, s1, o1, h1 = _U(o0), _U(h0), _U(s1), _U(o1), _U(h1)
    for i in range(_U(a), _U(last) + _U(1)):
        k0 = o0 + _U(2) * (_U(packed[i]) >> h0)
        k1 = o1 + _U(2) * (_U(packed[i + s1]) >> h1)
        best_f = max(best_f, tables[k0] + tables[k1])
        best_r = max(best_r, tables[k0 + _U(1)] + tables[k1 + _U(1)])
    return max(best_f, best_r)


@numba.njit(cache=True, nogil=True, inline="always")
def _best_3(packed, tables, a, last, o0, h0, s1, o1, h1, s2, o2, h2):
    best_f = np.float32(-np.inf)
    best_r = np.float32(-np.inf)
    o0, h0, s1, o1, h1, s2, o2, h2 = _U(o0), _U(h0), _U(s1), _U(o1), _U(h1), _U(s2), _U(o2), _U(h2)
    for i in range(_U(a), _U(last) + _U(1)):
        k0 = o0 + _U(2) * (_U(packed[i]) >> h0)
        k1 = o1 + _U(2) * (_U(packed[i + s1]) >> h1)
        k2 = o2 + _U(2) * (_U(packed[i + s2]) >> h2)
        best_f = max(best_f, tables[k0] + tables[k1] + tables[k2])
        best_r = max(best_r, tables[k0 + _U(1)] + tables[k1 + _U(1)] + tables[k2 + _U(1)])
    return max(best_f, best_r)


@numba.njit(cache=True, nogil=True)
def _best_general(
    packed, masks, prefix, tables, ambiguity, a, last, m, length, nb, starts, shifts, offsets, amb_off
):
    """Any block count; windows with an ambiguous base (``prefix`` counts them) use per-position scores."""
    best = np.float32(-np.inf)
    size = _U(length)
    amb_off = _U(amb_off)
    for i in range(_U(a), _U(last) + _U(1)):
        f = np.float32(0.0)
        r = np.float32(0.0)
        if prefix[i + size] == prefix[i]:
            for j in range(nb):
                k = _U(offsets[m, j]) + _U(2) * (_U(packed[i + _U(starts[m, j])]) >> _U(shifts[m, j]))
                f += tables[k]
                r += tables[k + _U(1)]
        else:
            for p in range(size):
                k = amb_off + _U(2) * (_U(16) * p + _U(masks[i + p]))
                f += ambiguity[k]
                r += ambiguity[k + _U(1)]
        best = max(best, max(f, r))
    return best


@numba.njit(cache=True, nogil=True, parallel=True)
def _scan_kernel(
    packed, masks, prefix, offsets, has_ambiguous, order, lengths, nblocks, starts, shifts, table_offsets,
    tables, ambiguity_offsets, ambiguity, min_scores, out,
):  # fmt: skip
    n_sequences = offsets.size - 1
    # Motif-outer: each thread keeps one motif's tables hot in its L2 while it walks all sequences.
    for index in numba.prange(order.size):
        m = order[index]
        length = lengths[m]
        nb = nblocks[m]
        for s in range(n_sequences):
            a = offsets[s]
            last = offsets[s + 1] - length
            if last < a:
                out[s, m] = min_scores[m]
            elif has_ambiguous[s] or nb > 3:
                out[s, m] = _best_general(
                    packed, masks, prefix, tables, ambiguity, a, last, m, length, nb, starts, shifts,
                    table_offsets, ambiguity_offsets[m],
                )  # fmt: skip
            elif nb == 1:
                out[s, m] = _best_1(packed, tables, a, last, table_offsets[m, 0], shifts[m, 0])
            elif nb == 2:
                out[s, m] = _best_2(
                    packed, tables, a, last, table_offsets[m, 0], shifts[m, 0],
                    starts[m, 1], table_offsets[m, 1], shifts[m, 1],
                )  # fmt: skip
            else:
                out[s, m] = _best_3(
                    packed, tables, a, last, table_offsets[m, 0], shifts[m, 0],
                    starts[m, 1], table_offsets[m, 1], shifts[m, 1],
                    starts[m, 2], table_offsets[m, 2], shifts[m, 2],
                )  # fmt: skip


def _scan_numba(sequences: Sequence[str], lookup: _LookupTables, out: np.ndarray) -> None:
    batch = _encode(sequences, pad=_MAX_BLOCK)
    packed = _packed_kmers(batch.masks)
    prefix = np.zeros(batch.masks.size + 1, dtype=np.int32)
    np.cumsum(_IS_AMBIGUOUS[batch.masks], out=prefix[1:])
    # Small dynamically scheduled chunks of motifs balance the threads (motifs differ in length and the
    # machine may be shared); set here because numba cannot cache a kernel using the context manager.
    # numba's OpenMP threading layer shares the OpenMP runtime with torch and sets its own thread count there
    # when it starts: without restoring it, torch in the same process silently switches thread count (ignoring
    # OMP_NUM_THREADS), which changes the order of float reductions and so the losses of a later training run.
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    previous = numba.set_parallel_chunksize(4)
    try:
        _scan_kernel(
            packed, batch.masks, prefix, batch.offsets, batch.has_ambiguous, lookup.order, lookup.lengths,
            lookup.nblocks, lookup.block_start, lookup.block_shift, lookup.table_offset, lookup.tables,
            lookup.ambiguity_offset, lookup.ambiguity, lookup.min_scores, out,
        )  # fmt: skip
    finally:
        numba.set_parallel_chunksize(previous)
        if torch is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)


# --------------------------------------------------------------------------------------------------
# torch path: conv1d over one-hot sequences, device-agnostic (CPU for tests, CUDA/MPS in production).

# Ambiguous masks get their own one-hot channels so their min-over-bases scores stay exact.
_AMBIGUOUS_MASKS = [mask for mask in range(1, 16) if _IS_AMBIGUOUS[mask]]
_CHANNEL_OF_MASK = np.full(16, -1, dtype=np.int64)
_CHANNEL_OF_MASK[[1, 2, 4, 8]] = [0, 1, 2, 3]
_CHANNEL_OF_MASK[_AMBIGUOUS_MASKS] = np.arange(4, 4 + len(_AMBIGUOUS_MASKS))
# Budget for one chunk's (sequences x 2 motifs x positions) float32 score tensor.
_TORCH_SCORE_ELEMENTS = 1 << 26


def _torch_weights(motif_set: MotifSet, device) -> tuple[Any, Any, Any]:
    import torch

    key = f"torch:{device}:" + motif_set.fingerprint()
    cached = motif_set._cache.get(key)
    if cached is not None:
        return cached
    longest = int(motif_set.lengths.max())
    n_channels = 4 + len(_AMBIGUOUS_MASKS)
    weight = np.zeros((2 * len(motif_set), n_channels, longest), dtype=np.float32)
    for m, pwm in enumerate(motif_set.pwms):
        for strand, matrix in enumerate((pwm, _reverse_complement_pwm(pwm))):
            table = _ambiguity_table(matrix)  # (L, 16)
            channels = _CHANNEL_OF_MASK[1:]
            # Output channel 2m is the forward strand, 2m + 1 the reverse; zero weights beyond L.
            weight[2 * m + strand, channels, : matrix.shape[0]] = table[:, 1:].T
    result = (
        torch.from_numpy(weight).to(device),
        torch.from_numpy(motif_set.lengths).to(device),
        torch.from_numpy(motif_set.min_scores().astype(np.float32)).to(device),
    )
    motif_set._cache[key] = result
    return result


def _scan_torch(sequences: Sequence[str], motif_set: MotifSet, device, out: np.ndarray) -> None:
    import torch

    weight, lengths, minima = _torch_weights(motif_set, device)
    longest = weight.shape[2]
    batch = _encode(sequences)
    seq_lengths = np.diff(batch.offsets)
    width = int(seq_lengths.max(initial=0))
    # (n, width + longest - 1) channel index per position, -1 = padding (contributes nothing).
    channels = np.full((len(sequences), width + longest - 1), -1, dtype=np.int64)
    position = np.arange(width)
    inside = position[None, :] < seq_lengths[:, None]
    channels[:, :width][inside] = _CHANNEL_OF_MASK[batch.masks[: batch.offsets[-1]]]
    use_ambiguous = bool(batch.has_ambiguous.any())
    n_channels = weight.shape[1] if use_ambiguous else 4
    index = torch.from_numpy(channels).to(device)
    one_hot = torch.zeros((len(sequences), n_channels, index.shape[1]), dtype=torch.float32, device=device)
    valid = index >= 0
    one_hot.scatter_(1, index.clamp(min=0).unsqueeze(1), valid.unsqueeze(1).float())
    # TF32 convolutions (cuDNN's default) would cost ~1e-2 of accuracy; keep full float32.
    cudnn = torch.backends.cudnn
    with (
        torch.no_grad(),
        cudnn.flags(enabled=cudnn.enabled, benchmark=False, deterministic=True, allow_tf32=False),
    ):
        scores = torch.nn.functional.conv1d(one_hot, weight[:, :n_channels])  # (n, 2M, width)
    scores = scores.view(len(sequences), -1, 2, scores.shape[-1])  # (n, M, strand, window)
    last_start = torch.from_numpy(seq_lengths).to(device)[:, None] - lengths[None, :]  # (n, M)
    if scores.shape[-1]:
        # Windows running past a sequence's end saw zero padding (a partial score): exclude them. In place
        # and over both strands at once, because these passes over the score tensor cost as much as the conv.
        window = torch.arange(scores.shape[-1], device=device)
        scores.masked_fill_((window[None, None, :] > last_start[:, :, None]).unsqueeze(2), -torch.inf)
        best = scores.amax(dim=(2, 3))
    else:
        best = torch.full(last_start.shape, -torch.inf, device=device)
    best = torch.where(last_start >= 0, best, minima[None, :])
    out[:] = best.cpu().numpy()


# --------------------------------------------------------------------------------------------------


def _torch_device(device) -> Any | None:
    """None for the numba path, else the torch device to use."""
    if device is None:
        return None
    if isinstance(device, str):
        if device == "cpu":
            return None
        if device == "cpu-torch":
            import torch

            return torch.device("cpu")
    import torch

    device = torch.device(device)
    return None if device.type == "cpu" else device


def scan_max(
    sequences: Sequence[str], motif_set: MotifSet, device=None, *, chunk_size: int | None = None
) -> np.ndarray:
    """Best log-odds score of every motif in every sequence, over all positions and both strands.

    Args:
        sequences: DNA strings, any case; N and IUPAC codes score the minimum over the bases they stand
            for; sequences shorter than a motif get the motif's minimum possible score.
        motif_set: the motifs (:func:`load_motifs`).
        device: None or ``"cpu"``: the numba CPU kernel (uses ``numba.get_num_threads()`` threads).
            ``"cpu-torch"``: the torch path on the CPU (for tests). Any other torch device (``"cuda"``,
            ``torch.device("cuda:1")``, ``"mps"``): the torch path there; ``torch.device("cpu")`` means
            the numba kernel.
        chunk_size: sequences per chunk, bounding memory (about 7 bytes per base for the numba path,
            and ``chunk x 2 n_motifs x longest sequence`` float32 scores for torch). Default: 4096 for numba,
            for torch as many as keep that score tensor under 2^26 elements.

    Returns:
        ``(n_sequences, n_motifs)`` float32, finite, deterministic.
    """
    if isinstance(sequences, (str, bytes)):
        raise TypeError("sequences must be a list of str, not a single string")
    sequences = list(sequences)
    out = np.empty((len(sequences), len(motif_set)), dtype=np.float32)
    if not sequences or not len(motif_set):
        return out
    torch_device = _torch_device(device)
    if chunk_size is None:
        if torch_device is None:
            chunk_size = 4096
        else:
            longest = max(max(len(s) for s in sequences), 1)
            chunk_size = max(1, _TORCH_SCORE_ELEMENTS // (2 * len(motif_set) * longest))
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    lookup = _lookup_tables(motif_set) if torch_device is None else None
    for start in range(0, len(sequences), chunk_size):
        chunk = sequences[start : start + chunk_size]
        try:
            if torch_device is None:
                _scan_numba(chunk, lookup, out[start : start + len(chunk)])
            else:
                _scan_torch(chunk, motif_set, torch_device, out[start : start + len(chunk)])
        except ValueError as error:
            message = str(error)
            if start and message.startswith("sequence "):  # report the index in the caller's list
                index, rest = message[len("sequence ") :].split(":", 1)
                raise ValueError(f"sequence {int(index) + start}:{rest}") from None
            raise
    return out
