"""The genomic basics every reader shares: opening (gzipped) text, the DNA alphabet, reverse complements.

The Hub remote-code files (``tokenization_genebert.py``, ``pipelines.py``) cannot import this module and keep
small copies of the alphabet and of `reverse_complement`; ``tests/genomics/test_io.py`` pins them equal.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from ..errors import InputFileError, undecodable_file_error

#: The four nucleotides, in the order of the tokenizer's vocabulary (DNABERT's).
NUCLEOTIDES = "ATCG"
#: N and the IUPAC ambiguity codes: valid DNA, but no single nucleotide (k-mers touching one become [UNK]).
AMBIGUITY_CODES = "NRYSWKMBDHV"
#: Every character a DNA sequence may hold, upper case (lower case, soft-masking, is accepted too).
DNA_ALPHABET = "ACGT" + AMBIGUITY_CODES
_DNA = re.compile(f"[{DNA_ALPHABET}{DNA_ALPHABET.lower()}]+")
_COMPLEMENT = str.maketrans("ACGTRYKMBVDHNSWacgtrykmbvdhnsw", "TGCAYRMKVBHDNSWtgcayrmkvbhdnsw")


def reverse_complement(sequence: str) -> str:
    """Reverse complement of DNA in either case, IUPAC codes included (R <-> Y, K <-> M, B <-> V, D <-> H)."""
    return sequence.translate(_COMPLEMENT)[::-1]


def check_dna(sequence: str, path: str | Path, line: int | None) -> str:
    """``sequence`` upper-cased, or :class:`InputFileError` naming the first invalid character and its position."""
    if _DNA.fullmatch(sequence) is None:
        if not sequence:
            raise InputFileError(path, "empty sequence", line)
        bad = next(i for i, char in enumerate(sequence) if not _DNA.fullmatch(char))
        raise InputFileError(
            path, f"invalid character {sequence[bad]!r} at position {bad + 1} of the sequence", line
        )
    return sequence.upper()


def is_gzipped(path: str | Path) -> bool:
    """Whether ``path`` starts with the gzip magic bytes (its name is not trusted)."""
    with Path(path).open("rb") as probe:
        return probe.read(2) == b"\x1f\x8b"


def open_text(path: str | Path) -> IO[str]:
    """Open a UTF-8 text file for reading, gzip-compressed or not (told by its first bytes, not its name)."""
    path = Path(path)
    if is_gzipped(path):
        return gzip.open(path, "rt", encoding="utf-8", errors="strict")
    return path.open(encoding="utf-8", errors="strict")


def is_gzip_handle(handle) -> bool:
    """Whether a text handle reads a gzip stream (``gzip.open(..., "rt")``)."""
    return isinstance(getattr(handle, "buffer", None), gzip.GzipFile)


def numbered_lines(
    path: str | Path, opener: Callable[[Path], IO[str]] = open_text
) -> Iterator[tuple[int, str]]:
    """``enumerate(opener(path), start=1)``, with undecodable bytes and a damaged gzip stream raised as
    :class:`InputFileError` naming the file (and the line of the first bad byte)."""
    path = Path(path)
    compressed = False
    try:
        with opener(path) as handle:
            compressed = is_gzip_handle(handle)
            yield from enumerate(handle, start=1)
    except UnicodeDecodeError as error:
        what = "an ASCII text file" if error.encoding == "ascii" else "a UTF-8 text file"
        raise undecodable_file_error(path, error, what, compressed) from error
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise InputFileError(path, f"cannot read the file: {error}") from error
