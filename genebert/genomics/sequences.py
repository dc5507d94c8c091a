"""Reading DNA sequences from FASTA files, with validation that names the file and line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InputFileError

# Nucleotides, N and the IUPAC ambiguity codes, any case (lower case is soft-masking).
_DNA_LINE = re.compile(r"[ACGTNRYSWKMBDHVacgtnryswkmbdhv]*")


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record: ``name`` is the header up to the first white space, ``description`` the rest."""

    name: str
    description: str
    sequence: str


def read_fasta(path: str | Path) -> Iterator[FastaRecord]:
    """Yield the records of a plain-text FASTA file.

    Raises:
        InputFileError: the file is empty, has sequence before the first header, an empty header, a record
            without sequence, a duplicated name, or a character that is not a nucleotide or IUPAC code
            (named with its line and column).
    """
    path = Path(path)
    seen: set[str] = set()
    name = description = None
    header_line = 0
    chunks: list[str] = []

    def finish() -> FastaRecord:
        if not chunks:
            raise InputFileError(path, f"record {name!r} has no sequence", header_line)
        return FastaRecord(name, description, "".join(chunks))

    with path.open(encoding="ascii", errors="strict") as handle:
        line_number = 0
        try:
            for line_number, raw in enumerate(handle, start=1):
                line = raw.rstrip("\r\n")
                if line.startswith(">"):
                    if name is not None:
                        yield finish()
                    fields = line[1:].strip().split(maxsplit=1)
                    if not fields:
                        raise InputFileError(path, "empty FASTA header", line_number)
                    name, description = fields[0], fields[1] if len(fields) > 1 else ""
                    if name in seen:
                        raise InputFileError(path, f"duplicate record name {name!r}", line_number)
                    seen.add(name)
                    header_line, chunks = line_number, []
                    continue
                stripped = line.strip()
                if not stripped:
                    continue
                if name is None:
                    raise InputFileError(
                        path, "sequence before the first '>' header (not a FASTA file?)", line_number
                    )
                match = _DNA_LINE.match(stripped)
                if match.end() != len(stripped):
                    bad = stripped[match.end()]
                    raise InputFileError(
                        path,
                        f"invalid character {bad!r} at column {line.index(bad) + 1} in record {name!r}",
                        line_number,
                    )
                chunks.append(stripped)
        except UnicodeDecodeError as error:
            raise InputFileError(path, f"not an ASCII text file ({error.reason})", line_number + 1) from error
    if name is None:
        raise InputFileError(path, "no FASTA record found (empty file?)")
    yield finish()
