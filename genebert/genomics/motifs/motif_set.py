"""`MotifSet` (named log-odds PWMs), the PFM -> PWM conversion, the base encoding the scanners share, and
`load_motifs`."""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...errors import InputFileError
from .formats import BASES, DEFAULT_FREQUENCY_NSITES, read_motif_file

DEFAULT_PSEUDOCOUNT = 0.8

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
        names, counts = read_motif_file(path, format, frequency_nsites, strict_counts)
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
