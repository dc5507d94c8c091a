"""Reading DNA sequences from FASTA files, with validation that names the file and line."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyfaidx

from ..errors import GZIP_ERRORS, InputFileError, first_undecodable_line, undecodable_file_error
from .io import AMBIGUITY_CODES, DNA_ALPHABET, NUCLEOTIDES, is_gzipped

# Nucleotides, N and the IUPAC ambiguity codes, any case (lower case is soft-masking).
_DNA_LINE = re.compile(f"[{DNA_ALPHABET}{DNA_ALPHABET.lower()}]*")


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
            raise undecodable_file_error(path, error, "an ASCII text file") from error
    if name is None:
        raise InputFileError(path, "no FASTA record found (empty file?)")
    yield finish()


_CODES = np.full(256, 2, dtype=np.uint8)  # 0 = nucleotide, 1 = N or IUPAC ambiguity code, 2 = invalid
for _char in NUCLEOTIDES + NUCLEOTIDES.lower():
    _CODES[ord(_char)] = 0
for _char in AMBIGUITY_CODES + AMBIGUITY_CODES.lower():
    _CODES[ord(_char)] = 1


def genome_index_path(fasta: Path) -> str | None:
    """Where pyfaidx keeps the ``.fai`` index: beside the FASTA, or in a cache when that folder is read-only."""
    beside = Path(str(fasta) + ".fai")
    if beside.exists() or os.access(fasta.parent, os.W_OK):
        return None
    key = hashlib.sha256(str(fasta.resolve()).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("GENEBERT_CACHE", Path.home() / ".cache" / "genebert")) / "fai"
    cache.mkdir(parents=True, exist_ok=True)
    return str(cache / f"{fasta.name}.{key}.fai")


def _indexing_error_line(path: Path, error: Exception, compressed: bool) -> int | None:
    """The line a pyfaidx indexing error is about (pyfaidx names none for some, and a 0-based one for others)."""
    message = str(error)
    if "not consistent" in message:
        kind = "ragged"
    elif message.startswith("Duplicate key"):
        kind = "duplicate"
    elif "before the first sequence" in message:
        kind = "before-header"
    elif message.startswith("Bad sequence name"):
        kind = "empty-header"
    else:
        return None
    return _first_layout_problem(path, compressed, kind)


def _first_layout_problem(path: Path, compressed: bool, kind: str) -> int | None:
    """1-based line of the first place a FASTA breaks the layout a ``.fai`` index needs, of one ``kind``:
    ``"before-header"`` (text before the first ``>``), ``"empty-header"``, ``"duplicate"`` (a record name seen
    before) or ``"ragged"`` (a sequence line longer than the record's first, or a short or blank line followed
    by more sequence). None if there is none (or the file cannot be read)."""
    names: set[bytes] = set()
    started = False
    width = pending = None  # the record's line length in bytes; a short or blank line that must be its last
    try:
        with gzip.open(path, "rb") if compressed else path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if raw.startswith(b">"):
                    started, width, pending = True, None, None
                    fields = raw[1:].split()
                    if not fields:
                        if kind == "empty-header":
                            return number
                        continue
                    if kind == "duplicate" and fields[0] in names:
                        return number
                    names.add(fields[0])
                elif not started:
                    if kind == "before-header" and raw.strip() and not raw.startswith(b";"):
                        return number
                elif kind == "ragged":
                    if not raw.rstrip(b"\r\n"):
                        pending = pending or number
                    elif pending is not None:
                        return pending
                    elif width is None:
                        width = len(raw)
                    elif len(raw) < width:
                        pending = number
                    elif len(raw) > width:
                        return number
    except GZIP_ERRORS:
        return None
    return None


class Genome:
    """A reference genome read through pyfaidx (plain FASTA, or bgzip-compressed with biopython installed).

    ``fetch`` returns sequence as stored (lower case = soft-masked) after checking that every character is
    a nucleotide, N or an IUPAC ambiguity code; an invalid character is reported with the FASTA line.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputFileError(self.path, "genome FASTA not found")
        index_name = genome_index_path(self.path)
        index_path = Path(index_name or str(self.path) + ".fai")
        index_existed = index_path.exists()
        try:
            self._fasta = pyfaidx.Fasta(
                str(self.path),
                indexname=index_name,
                as_raw=True,
                sequence_always_upper=False,
                strict_bounds=True,
                read_ahead=None,
            )
        except (
            pyfaidx.FastaIndexingError,
            pyfaidx.UnsupportedCompressionFormat,
            ValueError,
            OSError,
        ) as error:
            if not index_existed:  # pyfaidx can leave the index of a FASTA it rejected
                index_path.unlink(missing_ok=True)
            try:
                compressed = is_gzipped(self.path)
            except OSError:  # unreadable: the error below says so
                compressed = False
            if isinstance(error, pyfaidx.FastaIndexingError):  # a non-ASCII character is the likelier cause
                line = first_undecodable_line(self.path, "ascii", compressed)
                if line is not None:
                    raise InputFileError(self.path, "not an ASCII text file", line) from error
            raise InputFileError(
                self.path,
                f"cannot index the genome FASTA: {error}",
                _indexing_error_line(self.path, error, compressed),
            ) from error
        names = list(self._fasta.faidx.index)
        if not names:
            self._fasta.close()
            if not index_existed:
                index_path.unlink(missing_ok=True)
            raise InputFileError(self.path, "no sequence in the genome FASTA (empty file?)")
        try:
            self._check_index(index_path, index_existed)
        except InputFileError:
            if not index_existed:
                index_path.unlink(missing_ok=True)
            raise
        self.sizes: dict[str, int] = {name: self._fasta.faidx.index[name].rlen for name in names}
        self.chroms: list[str] = list(self.sizes)
        self._header_lines = self._record_header_lines()

    def _check_index(self, index_path: Path, existed: bool) -> None:
        """Check that the ``.fai`` describes this FASTA. pyfaidx trusts any index not older than the FASTA, so a
        stale one (the FASTA replaced by a file with an older time stamp) would give silently wrong sequence,
        and it counts a non-ASCII character as one base however many bytes it takes. Reads each record's
        header and last base only (uncompressed FASTA; a bgzip FASTA is left to pyfaidx)."""
        faidx = self._fasta.faidx
        if faidx._bgzf:
            return
        size = self.path.stat().st_size
        with self.path.open("rb") as handle:
            for name, record in faidx.index.items():
                header_start = record.prev_bend or 0
                handle.seek(header_start)
                header = handle.read(max(0, record.offset - header_start)).lstrip(b"\r\n")
                fields = header[1:].split(maxsplit=1) if header.startswith(b">") else []
                ok = bool(fields) and fields[0] == name.encode("utf-8", "replace")
                if ok and record.rlen > 0 and record.lenc > 0:
                    last = (
                        record.offset
                        + (record.rlen - 1) // record.lenc * record.lenb
                        + (record.rlen - 1) % record.lenc
                    )
                    handle.seek(last)
                    tail = handle.read(2)
                    ok = (
                        last < size
                        and tail[:1] not in (b"", b"\n", b"\r", b">")
                        and tail[1:] in (b"", b"\n", b"\r")
                    )
                if not ok:
                    self._fasta.close()
                    line = first_undecodable_line(self.path, "ascii")
                    if line is not None:
                        raise InputFileError(self.path, "not an ASCII text file", line)
                    if not existed:  # an index pyfaidx just built: the FASTA's line layout misled it
                        line = _first_layout_problem(self.path, False, "ragged")
                        if line is not None:
                            raise InputFileError(
                                self.path, f"line lengths are not consistent in record {name!r}", line
                            )
                    raise InputFileError(
                        self.path,
                        f"the index {index_path} does not match this FASTA (record {name!r})"
                        + (": it is stale, delete it so that it is rebuilt" if existed else ""),
                    )

    def _record_header_lines(self) -> dict[str, int]:
        """1-based line number of each record's header, from the index (well-formed FASTA, as pyfaidx demands)."""
        lines, line = {}, 1
        for name, record in self._fasta.faidx.index.items():
            lines[name] = line
            line += 1 + -(-record.rlen // record.lenc if record.lenc else 0)
        return lines

    def fingerprint(self) -> str:
        """Identifies the assembly by its chromosome names and lengths (cheap at genome scale)."""
        digest = hashlib.sha256()
        for name, size in self.sizes.items():
            digest.update(f"{name}\t{size}\n".encode())
        return digest.hexdigest()

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Sequence of ``chrom:[start, end)`` (0-based, half-open), validated."""
        if chrom not in self.sizes:
            raise KeyError(f"{self.path}: unknown chromosome {chrom!r}")
        if not 0 <= start < end <= self.sizes[chrom]:
            raise ValueError(
                f"{self.path}: {chrom}:{start}-{end} is outside {chrom} (length {self.sizes[chrom]})"
            )
        record = self._fasta.faidx.index[chrom]
        try:
            sequence = self._read(chrom, start, end)
        except UnicodeDecodeError as error:  # pyfaidx decodes the bytes read from start as UTF-8
            offset = start % record.lenc + error.start
            line = self._header_lines[chrom] + 1 + start // record.lenc + offset // record.lenb
            raise InputFileError(
                self.path, f"not an ASCII text file ({error.reason}) in {chrom}", line
            ) from error
        # non-Latin-1 characters become '?' (invalid), reported below with the real character
        codes = _CODES[np.frombuffer(sequence.encode("latin-1", "replace"), dtype=np.uint8)]
        bad = np.flatnonzero(codes == 2)
        if bad.size:
            position = start + int(bad[0])
            line = self._header_lines[chrom] + 1 + position // record.lenc
            raise InputFileError(
                self.path,
                f"invalid character {sequence[int(bad[0])]!r} in {chrom} at position {position} (0-based)",
                line,
            )
        return sequence

    def _read(self, chrom: str, start: int, end: int) -> str:
        try:
            return str(self._fasta[chrom][start:end])
        except ValueError as error:
            # pyfaidx 0.9 computes a bgzip virtual offset of exactly 2**16 for a start at the end of a
            # compressed block and refuses it; one base earlier lies inside the block
            if start == 0 or "within_block_offset" not in str(error):
                raise
            return str(self._fasta[chrom][start - 1 : end])[1:]

    def ambiguous_fraction(self, sequence: str) -> float:
        """Fraction of N / IUPAC ambiguity codes in ``sequence``."""
        if not sequence:
            return 0.0
        return float((_CODES[np.frombuffer(sequence.encode("latin-1"), dtype=np.uint8)] == 1).mean())

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fetch_padded(genome: Genome, chrom: str, start: int, end: int) -> str:
    """``genome[chrom][start:end]`` with ``N`` for the part past either chromosome end (windows near telomeres)."""
    size = genome.sizes[chrom]
    left, right = max(0, -start), max(0, end - size)
    inner = genome.fetch(chrom, max(0, start), min(size, end)) if min(size, end) > max(0, start) else ""
    return "N" * left + inner + "N" * right
