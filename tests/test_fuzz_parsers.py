"""Property-based fuzzing of the input parsers and the tokenizer (hypothesis, 1,000 examples each).

Every parser gets random bytes and near-valid structured input (so that fuzzing reaches past the first check):
it must either return a valid result (invariants checked; valid generated input round-trips) or raise the documented
exception, :class:`InputFileError` for files and ``ValueError`` for tokenizer text, and never anything else
(no IndexError, KeyError, UnicodeDecodeError, OverflowError, zlib.error, ...). tests/test_bad_inputs.py holds the
hand-written cases. Generated files with one defect on a known line (count-matrix folders) must name that line.
h5ad files are not fuzzed: writing and reading one takes ~20 ms, 20 s for 1,000 examples.
"""

from __future__ import annotations

import gzip
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from genebert.errors import InputFileError
from genebert.genomics.intervals import read_bed
from genebert.genomics.motifs import load_motifs
from genebert.genomics.sequences import Genome, read_fasta
from genebert.genomics.splice import read_gtf_transcripts, read_uci_splice
from genebert.genomics.tables import read_sequence_table
from genebert.genomics.variants import read_label_table, variant_windows

FUZZ = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    database=None,
)
DNA_LINE = re.compile(r"[ACGTNRYSWKMBDHVacgtnryswkmbdhv]*")
SIZES = {"chr1": 1000, "chr2": 50}
CHROM1 = ("ACGTTGCAAC" * 100)[:1000]
_FOLDER = tempfile.TemporaryDirectory(prefix="genebert-fuzz-")
FOLDER = Path(_FOLDER.name)


def put(name: str, content: bytes | str) -> Path:
    """Overwrite one file of the fuzzing folder (one per parser, rewritten for every example)."""
    path = FOLDER / name
    path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    return path


def lines_of(parts: list[str], newline: str = "\n") -> str:
    return newline.join(parts) + newline


def maybe_gzip(draw, data: bytes) -> bytes:
    """Sometimes gzip the input, sometimes truncating or corrupting the stream."""
    mode = draw(st.sampled_from(["plain"] * 6 + ["gzip", "truncated", "corrupt"]))
    if mode == "plain":
        return data
    packed = bytearray(gzip.compress(data, mtime=0))
    if mode == "truncated":
        return bytes(packed[: draw(st.integers(0, len(packed) - 1))])
    if mode == "corrupt":
        index = draw(st.integers(0, len(packed) - 1))
        packed[index] ^= draw(st.integers(1, 255))
    return bytes(packed)


def one_in(draw, n: int) -> bool:
    """True once in ``n`` draws (``st.integers(0, n - 1)`` is not uniform: hypothesis favours 0)."""
    return draw(st.sampled_from([True] + [False] * (n - 1)))


def weighted(*options: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """``st.one_of`` with weights (``one_of`` picks its branches evenly, repeating a branch does not count)."""
    return st.sampled_from([strategy for weight, strategy in options for _ in range(weight)]).flatmap(
        lambda s: s
    )


JUNK = st.sampled_from(["", " ", "\t", "-", "*", "1", "X", "U", "é", "\x00", "\r", ">", "#", "A C", "\u00a0"])


# ------------------------------------------------------------------------------------------------ FASTA
NAMES = st.text(alphabet="abc12_.|", min_size=1, max_size=6)
SEQUENCE_LINES = st.text(alphabet="ACGTNacgtnRY", min_size=1, max_size=30)


@st.composite
def fasta_texts(draw) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["header", "seq", "seq", "junk", "blank", "header-desc"]))
        if kind == "header":
            lines.append(">" + draw(NAMES))
        elif kind == "header-desc":
            lines.append(">" + draw(NAMES) + " " + draw(st.text(max_size=10)))
        elif kind == "seq":
            lines.append(draw(SEQUENCE_LINES))
        elif kind == "junk":
            lines.append(draw(SEQUENCE_LINES) + draw(JUNK) + draw(SEQUENCE_LINES))
        else:
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
    text = lines_of(lines, draw(st.sampled_from(["\n", "\r\n"])))
    return text.encode("utf-8", "surrogatepass")


@FUZZ
@given(st.one_of(st.binary(max_size=300), fasta_texts()))
def test_fuzz_fasta(data):
    path = put("fuzz.fa", data)
    try:
        records = list(read_fasta(path))
    except InputFileError as error:
        assert str(error).startswith(str(path))
        event(f"rejected: {error.reason.split(' ')[0]}")
        return
    event("parsed")
    assert records and len({r.name for r in records}) == len(records)
    for record in records:
        assert record.name and not any(c.isspace() for c in record.name)
        assert record.sequence and DNA_LINE.fullmatch(record.sequence)


@FUZZ
@given(
    st.dictionaries(
        NAMES, st.text(alphabet="ACGTNacgtnRYKM", min_size=1, max_size=200), min_size=1, max_size=5
    )
)
def test_fuzz_fasta_round_trip(records):
    width = 1 + len(records) * 7 % 60
    text = "".join(
        f">{name} some description\n" + "".join(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
        for name, seq in records.items()
    )
    path = put("round.fa", text)
    assert {r.name: r.sequence for r in read_fasta(path)} == records
    with Genome(path) as genome:  # the genome reader (pyfaidx + validation) agrees with read_fasta
        assert genome.sizes == {name: len(seq) for name, seq in records.items()}
        for name, seq in records.items():
            assert genome.fetch(name, 0, len(seq)) == seq
    Path(str(path) + ".fai").unlink()


# -------------------------------------------------------------------------------------------------- BED
COORDINATES = st.one_of(
    st.integers(0, 60).map(str),  # mostly valid, so that whole files parse and deeper checks run
    st.integers(0, 60).map(str),
    st.integers(-5, 1100).map(str),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["", "x", "1.5", "1_0", "+5", "1e3", " 7", "\u0661", "0x10", "NaN"]),
)


@st.composite
def bed_texts(draw) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["interval"] * 6 + ["comment", "short", "junk"]))
        if kind == "interval":
            chrom = draw(st.sampled_from(["chr1", "chr1", "chr2", "chrX", ""]))
            extra = draw(st.lists(st.text(max_size=4), max_size=3))
            fields = [chrom, draw(COORDINATES), draw(COORDINATES), *extra]
            lines.append(draw(st.sampled_from(["\t", " "])).join(fields))
        elif kind == "comment":
            lines.append(draw(st.sampled_from(["#", "track", "browser"])) + draw(st.text(max_size=8)))
        elif kind == "short":
            lines.append("\t".join(draw(st.lists(st.text(max_size=4), max_size=2))))
        else:
            lines.append(draw(st.text(max_size=20)))
    return maybe_gzip(draw, lines_of(lines).encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.one_of(st.binary(max_size=300), bed_texts()), st.sampled_from(["error", "skip", None]))
def test_fuzz_bed(data, unknown):
    path = put("fuzz.bed", data)
    sizes = None if unknown is None else SIZES
    try:
        table = read_bed(path, sizes, unknown_chroms=unknown or "error")
    except InputFileError as error:
        assert str(error).startswith(str(path))
        event(f"rejected: {error.reason.split(' ')[0]}")
        return
    event("parsed")
    assert len(table) >= 1 and len(table.source_rows) == len(table)
    assert np.all(table.starts >= 0) and np.all(table.starts < table.ends)
    if sizes is not None:
        for i in range(len(table)):
            assert table.ends[i] <= SIZES[table.chrom_of(i)]


@st.composite
def intervals(draw) -> tuple[str, int, int]:
    chrom = draw(st.sampled_from(list(SIZES)))
    start = draw(st.integers(0, SIZES[chrom] - 1))
    return chrom, start, draw(st.integers(start + 1, SIZES[chrom]))


@FUZZ
@given(st.lists(intervals(), min_size=1, max_size=8), st.booleans())
def test_fuzz_bed_round_trip(intervals, compress):
    text = "".join(f"{c}\t{s}\t{e}\tname\t0\t.\n" for c, s, e in intervals).encode()
    path = put("round.bed", gzip.compress(text) if compress else text)
    table = read_bed(path, SIZES)
    assert [
        (table.chrom_of(i), int(table.starts[i]), int(table.ends[i])) for i in range(len(table))
    ] == intervals


# ----------------------------------------------------------------------------------------------- motifs
NUMBERS = st.one_of(
    st.integers(0, 30).map(str),
    st.floats(0, 1, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.sampled_from(["-1", "x", "1e999", "nan", "inf", ".", "1e-320", "1e308", "", "[", "]"]),
)


@st.composite
def motif_texts(draw) -> str:
    fmt = draw(st.sampled_from(["jaspar", "pfm", "meme"]))
    lines = []
    for number in range(draw(st.integers(0, 3))):
        length = draw(st.integers(0, 4))

        def row(length=length) -> str:
            return " ".join(draw(NUMBERS) for _ in range(length + draw(st.sampled_from([0, 0, 0, 1, -1]))))

        matrix_id = draw(st.sampled_from([f"MA000{number}.1", "MA0000.1", "", "M x"]))
        if fmt == "jaspar":
            lines.append(f">{matrix_id} TF{number}")
            for base in draw(st.sampled_from(["ACGT", "ACGT", "ACG", "ACGTA", "AACG"])):
                lines.append(f"{base} [ {row()} ]")
        elif fmt == "pfm":
            lines.append(f">{matrix_id}_TF{number}")
            lines += [
                " ".join(draw(NUMBERS) for _ in range(draw(st.sampled_from([4, 4, 4, 3, 5]))))
                for _ in range(length)
            ]
        else:
            if number == 0:
                lines += [
                    "MEME version 4",
                    "",
                    draw(st.sampled_from(["ALPHABET= ACGT", "ALPHABET= ACGU", ""])),
                    "",
                ]
            lines.append(f"MOTIF {matrix_id} TF{number}")
            nsites = draw(st.sampled_from(["", " nsites= 20", " nsites= inf", " nsites= x", " nsites= 0"]))
            width = draw(st.sampled_from([length, length + 1, "x"]))
            lines.append(f"letter-probability matrix: alength= 4 w= {width}{nsites} E= 0")
            lines += [
                " ".join(draw(NUMBERS) for _ in range(draw(st.sampled_from([4, 4, 4, 3]))))
                for _ in range(length)
            ]
            lines.append("")
        if draw(st.integers(0, 9)) == 0:
            lines.insert(draw(st.integers(0, len(lines))), draw(st.text(max_size=10)))
    return lines_of(lines)


@FUZZ
@given(st.one_of(st.binary(max_size=200), motif_texts().map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_fuzz_motif_files(data):
    path = put("fuzz.motifs", data)
    try:
        motifs = load_motifs(path)
    except InputFileError as error:
        assert str(error).startswith(str(path))
        event(f"rejected: {error.reason.split(' ')[0]}")
        return
    event("parsed")
    assert len(motifs) >= 1 and len(set(motifs.names)) == len(motifs)
    for pwm, pfm in zip(motifs.pwms, motifs.pfms, strict=True):
        assert pwm.ndim == 2 and pwm.shape[1] == 4 and pwm.shape[0] >= 1 and np.all(np.isfinite(pwm))
        assert np.allclose(pfm.sum(axis=1), 1)


@FUZZ
@given(st.lists(st.lists(st.integers(0, 50), min_size=4, max_size=4).filter(any), min_size=1, max_size=12))
def test_fuzz_motif_round_trip(positions):
    counts = np.array(positions, dtype=float)
    rows = "".join(
        f"{base} [ {' '.join(str(int(v)) for v in counts[:, b])} ]\n" for b, base in enumerate("ACGT")
    )
    motifs = load_motifs(put("round.jaspar", ">MA0001.1 TF\n" + rows))
    assert motifs.names == ["MA0001.1 TF"]
    assert np.allclose(motifs.pfms[0], counts / counts.sum(axis=1, keepdims=True))


# ------------------------------------------------------------------------------------------ task tables
@st.composite
def table_texts(draw) -> tuple[str, bytes]:
    sep = draw(st.sampled_from([",", "\t"]))
    rows = []
    if draw(st.booleans()):
        rows.append(
            sep.join(draw(st.sampled_from([["sequence", "label"], ["label", "sequence"], ["seq", "lab"]])))
        )
    for _ in range(draw(st.integers(0, 5))):
        sequence = draw(st.one_of(SEQUENCE_LINES, st.text(max_size=12), st.just("ACGTAC CGTACG GTACGT")))
        fields = [
            sequence,
            draw(st.sampled_from(["0", "1", "", "a,b", '"x'])),
            *draw(st.lists(st.text(max_size=3), max_size=1)),
        ]
        rows.append(sep.join(fields[: draw(st.integers(1, len(fields)))]))
    suffix = draw(st.sampled_from([".csv", ".tsv", ".txt"]))
    return suffix, lines_of(rows).encode("utf-8", "surrogatepass")


@FUZZ
@given(st.one_of(st.tuples(st.sampled_from([".csv", ".tsv"]), st.binary(max_size=200)), table_texts()))
def test_fuzz_task_tables(case):
    suffix, data = case
    path = put("fuzz" + suffix, data)
    try:
        records = read_sequence_table(path)
    except InputFileError as error:
        assert str(error).startswith(str(path))
        event(f"rejected: {error.reason.split(' ')[0]}")
        return
    event("parsed")
    assert records
    for record in records:
        assert re.fullmatch(r"[ACGTNRYSWKMBDHV]+", record["sequence"]) and record["label"]


# -------------------------------------------------------------------------------------------------- VCF
@pytest.fixture(scope="module")
def vcf_genome() -> Path:
    path = FOLDER / "vcf_genome.fa"
    path.write_text(f">chr1\n{CHROM1}\n>chr2\n{CHROM1[:50]}\n")
    Genome(path).close()
    return path


@st.composite
def vcf_texts(draw) -> bytes:
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for _ in range(draw(st.integers(0, 4))):
        chrom = draw(st.sampled_from(["chr1", "chr1", "chr1", "chr2", "chrX"]))
        pos = draw(
            st.one_of(
                st.integers(1, 998),
                st.integers(-2, 1002),
                st.sampled_from(["x", "", "1.5", str(2**70), "1_0", "+5", " 7", "7 ", "\u0661\u0662"]),
            )
        )
        try:
            number = int(pos)  # lenient: also "1_0", "+5", " 7", "\u0661" (which the reader must refuse)
        except ValueError:
            number = None
        if number is not None and chrom == "chr1" and 1 <= number <= 998 and draw(st.integers(0, 4)):
            ref = CHROM1[number - 1 : number - 1 + draw(st.integers(1, 3))]  # a REF that matches the genome
        else:
            ref = draw(st.sampled_from(["A", "C", "AC", "N", "X", ""]))
        alt = draw(st.sampled_from(["G", "G", "T,C", "A", "<DEL>", "*", ""]))
        info = draw(st.sampled_from(["LABEL=1", "LABEL=1", "LABEL=", "DP=3", ""]))
        fields = [chrom, str(pos), draw(st.sampled_from(["rs1", ".", ""])), ref, alt, ".", "PASS", info]
        lines.append("\t".join(fields[: draw(st.sampled_from([8, 8, 8, 5, 3]))]))
    return maybe_gzip(draw, lines_of(lines).encode())


@FUZZ
@given(st.one_of(st.binary(max_size=200), vcf_texts()), st.sampled_from([None, "LABEL"]))
def test_fuzz_vcf(vcf_genome, data, label_key):
    path = put("fuzz.vcf", data)
    try:
        records = variant_windows(path, vcf_genome, window=10, label_info_key=label_key)
    except InputFileError as error:
        assert str(error).startswith((str(path), str(vcf_genome)))
        event(f"rejected: {error.reason.split(' ')[0]}")
        return
    event("parsed")
    assert records
    text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode()
    written = {tuple(line.split("\t")[:2]) for line in text.splitlines()}
    for record in records:
        assert (record["chrom"], str(record["pos"])) in written  # POS as written, in plain digits
        chrom = CHROM1 if record["chrom"] == "chr1" else CHROM1[:50]
        start = record["pos"] - 1
        assert chrom[start : start + len(record["ref"])] == record["ref"]
        assert len(record["ref_sequence"]) == 10 + len(record["ref"])
        assert record["ref_sequence"][5 : 5 + len(record["ref"])] == record["ref"]
        assert (
            record["alt_sequence"]
            == record["ref_sequence"][:5] + record["alt"] + record["ref_sequence"][5 + len(record["ref"]) :]
        )


# ------------------------------------------------------------------------------------ count-matrix folders
PEAK_POOL = [("chr1", 0, 10), ("chr1", 5, 60), ("chr1", 100, 1000), ("chr2", 0, 50), ("chr2", 10, 20)]
MTX_FORMATS = [
    "coordinate integer",
    "coordinate integer",
    "coordinate real",
    "coordinate pattern",
    "array real",
]


@dataclass
class MatrixFolder:
    """A generated count-matrix folder and what reading it must give."""

    files: dict[str, bytes]
    options: dict
    expected: dict[str, set] | None = None  # cell type -> accessible peaks; None: an error is expected
    error: tuple[str, int | None] | None = None  # the file (and line; None: any) the error must name
    exact: bool = True  # False (random bytes): parsing into a valid result or the documented error both pass


def mtx_lines(draw, stored: np.ndarray, field: str, layout: str) -> tuple[list[str], int, list[int]]:
    """Matrix Market lines for ``stored``; the index of the size line and of the entry lines."""
    lines = [
        f"%%MatrixMarket matrix {layout} {field} general",
        *["% a comment", "%"][: draw(st.integers(0, 2))],
    ]
    rows, cols = stored.shape
    if layout == "array":
        size = f"{rows} {cols}"
        entries = [draw(st.sampled_from(["{}", "{}.0", "{}e0"])).format(v) for v in stored.T.ravel()]
    else:
        explicit_zeros = field != "pattern" and draw(st.booleans())
        cells = [(i, j) for i in range(rows) for j in range(cols) if stored[i, j] or explicit_zeros]
        cells = draw(st.permutations(cells))
        size = f"{rows} {cols} {len(cells)}"
        value = {"integer": " {}", "real": " {}.0", "pattern": ""}[field]
        entries = [f"{i + 1} {j + 1}" + value.format(stored[i, j]) for i, j in cells]
    size_index = len(lines)
    lines.append(size)
    entry_indices = []
    for entry in entries:
        if one_in(draw, 8):
            lines.append(draw(st.sampled_from(["", "  "])))  # blank lines may separate entries
        entry_indices.append(len(lines))
        lines.append(entry)
    return lines, size_index, entry_indices


def accessible_peaks(counts, labels, peaks, options) -> dict[str, set]:
    """The pseudo-bulk binarisation of accessibility.from_count_matrix, written out directly."""
    names = sorted({label for label in labels if label and label.upper() not in ("NA", "NAN", "NONE")})
    expected = {}
    for name in names:
        cells = counts[:, [i for i, label in enumerate(labels) if label == name]]
        hit = (cells.sum(axis=1) >= options["min_counts"]) & ((cells > 0).sum(axis=1) >= options["min_cells"])
        expected[name] = {peak for peak, on in zip(peaks, hit, strict=True) if on and peak[0] in SIZES}
    return expected


@st.composite
def matrix_folders(draw) -> MatrixFolder:
    skip = draw(st.booleans())
    peaks = draw(st.lists(st.sampled_from(PEAK_POOL), min_size=1, max_size=4))
    if skip and draw(st.booleans()):  # a peak on a chromosome the genome lacks: left out with "skip"
        peaks.insert(draw(st.integers(0, len(peaks))), ("chrUn", 0, 10))
    barcodes = draw(
        st.lists(
            st.sampled_from(["c1", "c2", "c3", "AAAC-1", "c 5", "é"]), min_size=1, max_size=4, unique=True
        )
    )
    counts = np.array(
        [[draw(st.integers(0, 3)) for _ in barcodes] for _ in peaks], dtype=np.int64
    )  # peaks x cells
    layout, field = draw(st.sampled_from(MTX_FORMATS)).split()
    if field == "pattern":
        counts = (counts > 0).astype(np.int64)
    transpose = len(peaks) != len(barcodes) and draw(st.booleans())  # stored cells x peaks
    mtx, size_index, entry_indices = mtx_lines(draw, counts.T if transpose else counts, field, layout)
    sep = draw(st.sampled_from(["\t", ","]))
    header = draw(
        st.sampled_from([["barcode", "cell_type"], ["", "cell_type"], ["cell_type"]])
    )  # R: no row-name field
    cell_type = {
        b: draw(st.sampled_from(["T", "B", "T", "B", "", "NA", "nan"]))
        for b in barcodes
        if not one_in(draw, 6)
    }
    metadata = [
        sep.join(header),
        *(f"{b}{sep}{t}" for b, t in draw(st.permutations(list(cell_type.items())))),
    ]
    for extra in ("zz" + sep + "T", ""):  # a cell that is not in the matrix; a blank line
        if draw(st.booleans()):
            metadata.insert(draw(st.integers(1, len(metadata))), extra)
    barcode_lines = list(barcodes)
    if one_in(draw, 5):
        barcode_lines.insert(draw(st.integers(0, len(barcode_lines))), "")
    text = {
        "matrix.mtx": mtx,
        "peaks.bed": [f"{c}\t{s}\t{e}" for c, s, e in peaks],
        "barcodes.tsv": barcode_lines,
        "cell_metadata.tsv": metadata,
    }
    options = dict(
        min_counts=draw(st.integers(1, 2)),
        min_cells=draw(st.integers(1, 2)),
        unknown_chroms="skip" if skip else "error",
    )
    expected = accessible_peaks(counts, [cell_type.get(b, "") for b in barcodes], peaks, options)
    folder = MatrixFolder({}, options, expected or None, None if expected else ("matrix.mtx", None))

    # One defect on a known line of one file, or none: the error must name that file and line.
    defect = draw(
        st.sampled_from(["none"] * 6 + ["entry", "size", "extra-entry", "metadata", "peaks", "utf8"])
    )
    rows, cols = (counts.T if transpose else counts).shape
    if defect == "entry" and entry_indices:
        index = draw(st.sampled_from(entry_indices))
        if layout == "array":
            bad = ["x", "-", "abc"]
        else:
            value = "" if field == "pattern" else " 1"
            bad = [f"{rows + 1} 1{value}", f"1 {cols + 1}{value}", f"0 1{value}", f"x 1{value}", "1"]
            bad += (
                []
                if field == "pattern"
                else ["1 1 x"] + (["1 1 99999999999999999999999"] if field == "integer" else [])
            )
        mtx[index] = draw(st.sampled_from(bad))
        folder.error = ("matrix.mtx", index + 1)
    elif defect == "size":
        fields = mtx[size_index].split()
        fields[draw(st.integers(0, 1))] = draw(st.sampled_from(["9", "x", "-1"]))
        mtx[size_index] = " ".join(fields)
        folder.error = ("matrix.mtx", size_index + 1)
    elif defect == "extra-entry":  # more entries than the size line declares
        mtx.append("1" if layout == "array" else "1 1 1")
        folder.error = ("matrix.mtx", len(mtx))
    elif defect == "metadata" and any(row.strip() for row in metadata[1:]):
        index = draw(st.sampled_from([i for i, row in enumerate(metadata) if i and row.strip()]))
        where = draw(st.integers(index + 1, len(metadata)))
        metadata.insert(where, metadata[index].split(sep)[0] + draw(st.sampled_from(["", sep + "B"])))
        folder.error = ("cell_metadata.tsv", where + 1)  # a barcode seen before (its row perhaps too short)
    elif defect == "peaks":
        index = draw(st.integers(0, len(peaks) - 1))
        text["peaks.bed"][index] = draw(
            st.sampled_from(["chr1\tx\t5", "chr1\t5", "chr1\t9\t3", "chr2\t0\t51"])
        )
        folder.error = ("peaks.bed", index + 1)
    elif defect == "utf8":
        name = draw(st.sampled_from(["barcodes.tsv", "cell_metadata.tsv", "peaks.bed"]))
        index = draw(st.integers(0, len(text[name]) - 1))
        text[name][index] += "\udcff"  # written as the byte 0xff
        folder.error = (name, index + 1)
    if folder.error and defect != "none":
        folder.expected = None
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    folder.files = {
        name: lines_of(parts, newline).encode("utf-8", "surrogateescape") for name, parts in text.items()
    }
    if one_in(draw, 6):  # a gzip-compressed matrix (scipy decides by the name)
        data = folder.files.pop("matrix.mtx")
        intact = gzip.compress(data, mtime=0)
        packed = folder.files["matrix.mtx.gz"] = maybe_gzip(draw, data) if draw(st.booleans()) else intact
        if folder.error and folder.error[0] == "matrix.mtx":
            folder.error = ("matrix.mtx.gz", folder.error[1])
        if packed != intact:  # damaged or not compressed: fails as a gzip stream, or decompresses intact
            folder.exact, folder.error = False, (folder.error[0] if folder.error else "matrix.mtx.gz", None)
    return folder


@st.composite
def damaged_matrix_folders(draw) -> MatrixFolder:
    """A generated folder with one file replaced by random bytes (the matrix: a banner and random lines)."""
    folder = draw(matrix_folders())
    name = draw(st.sampled_from(sorted(folder.files)))
    if name.startswith("matrix") and draw(st.booleans()):
        body = draw(st.text(alphabet="0123456789 .-ex%\n", max_size=60)).encode()
        folder.files[name] = folder.files[name].split(b"\n", 1)[0] + b"\n" + body
    else:
        folder.files[name] = draw(st.binary(max_size=200))
    folder.exact, folder.error, folder.expected = False, (name, None), None
    return folder


def peak_tuples(regions, indices) -> set:
    return {(regions.chrom_of(i), int(regions.starts[i]), int(regions.ends[i])) for i in indices}


@FUZZ
@given(st.one_of(matrix_folders(), damaged_matrix_folders()))
def test_fuzz_count_matrix_folders(folder):
    from genebert.genomics.accessibility import from_count_matrix

    with tempfile.TemporaryDirectory(dir=FOLDER) as name:
        root = Path(name)
        for file, data in folder.files.items():
            (root / file).write_bytes(data)
        matrix_name = next(file for file in folder.files if file.startswith("matrix"))
        try:
            result = from_count_matrix(root, "cell_type", SIZES, matrix_name=matrix_name, **folder.options)
        except InputFileError as error:
            assert sorted(p.name for p in root.iterdir()) == sorted(folder.files)  # nothing written
            names = [str(root / file) for file in folder.files]
            assert error.path in names and str(error).startswith(error.path + ":"), str(error)
            if folder.exact:
                assert folder.error is not None, f"unexpected error: {error}"
                assert (Path(error.path).name, error.line) == folder.error or (
                    folder.error[1] is None and Path(error.path).name == folder.error[0]
                ), f"expected {folder.error}, got {error}"
            elif error.line is not None:
                raw = (root / Path(error.path).name).read_bytes()
                raw = gzip.decompress(raw) if error.path.endswith(".gz") else raw
                lines = len(re.split(rb"\r\n|\r|\n", raw))  # text readers also end a line at a lone \r
                assert 1 <= error.line <= lines, str(error)
            event(f"rejected: {error.reason.split(' ')[0]}")
            return
    event("parsed")
    assert not folder.exact or folder.error is None, f"expected an error naming {folder.error}"
    # a valid result: cell types named, regions sorted and unique, every member index valid
    assert result.cell_types and result.cell_types == sorted(set(result.cell_types))
    assert len(result.members) == len(result.cell_types)
    regions = result.regions
    keys = [
        (regions.chroms.index(regions.chrom_of(i)), int(regions.starts[i]), int(regions.ends[i]))
        for i in range(len(regions))
    ]
    assert keys == sorted(set(keys))
    for chrom, start, end in peak_tuples(regions, range(len(regions))):
        assert 0 <= start < end <= SIZES[chrom]
    for members in result.members:
        assert np.all(np.diff(members) > 0) and (
            len(members) == 0 or 0 <= members[0] <= members[-1] < len(regions)
        )
    assert sorted(set(np.concatenate(result.members).tolist())) == list(range(len(regions)))
    if folder.expected is not None:  # valid generated input (or intact after damage): the exact pseudo-bulk
        got = {
            name: peak_tuples(regions, members)
            for name, members in zip(result.cell_types, result.members, strict=True)
        }
        assert got == folder.expected


# ---------------------------------------------------------------------------------------- splice: GTF, UCI
GTF_COORDINATES = weighted(
    (7, st.integers(1, 60).map(str)),  # mostly valid, so that whole files parse and deeper checks run
    (1, st.sampled_from(["0", "-3", "x", "", "1.5", "1_0", "+5", " 7", "7 ", "\u0661", str(2**70)])),
)
GTF_JUNK_ATTRIBUTES = st.sampled_from(['transcript_id "";', "transcript_id t1;", 'gene_id "g1";', ""])


@st.composite
def gtf_texts(draw) -> tuple[str, bytes]:
    place = {
        t: (draw(st.sampled_from(["chr1", "chr2"])), draw(st.sampled_from("+-"))) for t in ("t1", "t2", "t3")
    }
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["exon"] * 12 + ["gene", "gene", "comment", "blank", "junk"]))
        if kind in ("exon", "gene"):
            transcript = draw(st.sampled_from(sorted(place)))
            chrom, strand = place[transcript]
            if one_in(draw, 10):  # a transcript on two chromosomes or strands, or a bad strand
                chrom, strand = (
                    draw(st.sampled_from(["chr1", "chr2", ""])),
                    draw(st.sampled_from(["+", "-", ".", ""])),
                )
            start = draw(GTF_COORDINATES)
            if re.fullmatch("[0-9]+", start) and not one_in(draw, 5):
                end = str(int(start) + draw(st.integers(0, 30)))
            else:
                end = draw(GTF_COORDINATES)
            attributes = f'gene_id "g"; transcript_id "{transcript}";'
            if one_in(draw, 10):
                attributes = draw(GTF_JUNK_ATTRIBUTES)
            feature = (
                "exon" if kind == "exon" else draw(st.sampled_from(["gene", "transcript", "CDS", "Exon"]))
            )
            fields = [chrom, "src", feature, start, end, ".", strand, ".", attributes]
            fields = fields[: draw(st.sampled_from([9] * 16 + [8, 5]))]
            lines.append("\t".join(fields) + draw(st.sampled_from(["", "", "", "\textra", " "])))
        elif kind == "comment":
            lines.append("#" + draw(st.text(max_size=8)))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", " "])))
        else:
            lines.append(draw(st.text(max_size=20)))
    data = lines_of(lines).encode("utf-8", "surrogatepass")
    if not one_in(draw, 4):
        return ".gtf", data
    packed = maybe_gzip(draw, data)  # sometimes truncated or corrupt
    return ".gtf.gz", gzip.compress(data) if packed == data else packed


@FUZZ
@given(
    weighted((1, st.tuples(st.sampled_from([".gtf", ".gtf.gz"]), st.binary(max_size=200))), (2, gtf_texts()))
)
def test_fuzz_gtf(case):
    suffix, data = case
    path = put("fuzz" + suffix, data)
    try:
        transcripts = read_gtf_transcripts(path)
    except InputFileError as error:
        assert str(error).startswith(str(path) + ":")
        event(f"rejected: {error.reason.split(' ')[0]}")
        return
    event("parsed")
    text = (gzip.decompress(data) if suffix.endswith(".gz") else data).decode("utf-8")
    rows = [line.split("\t") for line in re.split(r"\r\n|\r|\n", text) if not line.startswith("#")]
    exon_lines = [fields for fields in rows if len(fields) >= 9 and fields[2] == "exon"]
    assert transcripts and len({t.transcript_id for t in transcripts}) == len(transcripts)
    assert sum(len(t.exons) for t in transcripts) == len(exon_lines)
    written = {(fields[0], fields[6], fields[3], fields[4]) for fields in exon_lines}
    for transcript in transcripts:
        assert transcript.transcript_id and transcript.strand in "+-" and len(transcript.strand) == 1
        assert transcript.exons and list(transcript.exons) == sorted(transcript.exons)
        for start, end in transcript.exons:
            assert 0 <= start < end
            # the coordinates as written, in plain digits (int() alone reads "1_0", "+5", " 7", "\u0661")
            assert (transcript.chrom, transcript.strand, str(start + 1), str(end)) in written


@st.composite
def transcript_sets(draw) -> dict[str, tuple[str, str, list[tuple[int, int]]]]:
    transcripts = {}
    for number in range(draw(st.integers(1, 4))):
        starts = draw(st.lists(st.integers(0, 500), min_size=1, max_size=4, unique=True))
        exons = [(start, start + draw(st.integers(1, 40))) for start in starts]
        transcripts[f"t{number}.{draw(st.integers(0, 9))}"] = (
            draw(st.sampled_from(["chr1", "chr2", "1", "scaffold_7"])),
            draw(st.sampled_from("+-")),
            exons,
        )
    return transcripts


@FUZZ
@given(transcript_sets(), st.booleans(), st.randoms(use_true_random=False))
def test_fuzz_gtf_round_trip(transcripts, compress, random):
    rows = []
    for name, (chrom, strand, exons) in transcripts.items():
        attributes = f'gene_id "g_{name}"; transcript_id "{name}";'
        rows.append(f"{chrom}\ttest\ttranscript\t1\t999\t.\t{strand}\t.\t{attributes}")
        rows += [
            f'{chrom}\ttest\texon\t{s + 1}\t{e}\t.\t{strand}\t.\t{attributes} exon_number "1";'
            for s, e in exons
        ]
    random.shuffle(rows)
    text = "##description: generated\n" + lines_of(rows)
    path = put(
        "round.gtf.gz" if compress else "round.gtf", gzip.compress(text.encode()) if compress else text
    )
    got = read_gtf_transcripts(path)
    assert sorted(t.transcript_id for t in got) == sorted(transcripts)
    for transcript in got:
        chrom, strand, exons = transcripts[transcript.transcript_id]
        assert (transcript.chrom, transcript.strand, transcript.exons) == (
            chrom,
            strand,
            tuple(sorted(exons)),
        )


# UCI splice.data
UCI_SEQUENCES = weighted(
    (5, st.text(alphabet="ACGT", min_size=60, max_size=60)),
    (2, st.text(alphabet="ACGTNDSRacgt", min_size=60, max_size=60)),
    (1, st.text(alphabet="ACGT", min_size=0, max_size=61)),
    (
        1,
        st.tuples(
            st.text(alphabet="ACGT", min_size=30, max_size=30), JUNK, st.text(alphabet="ACGT", max_size=30)
        ).map("".join),
    ),
)


@st.composite
def uci_texts(draw) -> tuple[bytes, list[dict] | None]:
    """A splice.data-like file, and the records it holds when every row is valid (else None)."""
    lines, records, valid = [], [], True
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from(["Label,Name,Sequence", "label,id,sequence"])))
    for number in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["row"] * 12 + ["blank", "short", "junk", "header"]))
        if kind == "row":
            label = draw(st.sampled_from(["EI", "IE", "N"] * 3 + ["XX", "ei", ""]))
            name = draw(st.sampled_from([f"HUMAN-{number}", "", " x "]))
            sequence = draw(UCI_SEQUENCES)
            space = draw(st.sampled_from(["", " ", "  "]))
            lines.append(f"{label},{space}{name},{space}{sequence}")
            ok = (
                label in ("EI", "IE", "N")
                and len(sequence) == 60
                and re.fullmatch("[ACGTNDSRacgt]+", sequence)
            )
            valid = valid and bool(ok)
            records.append(
                {
                    "id": name.strip(),
                    "sequence": sequence.upper(),
                    "label": {"N": 0, "IE": 1, "EI": 2}.get(label),
                }
            )
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "  "])))
        else:
            valid = False
            lines.append(
                {"short": "EI,x", "junk": draw(st.text(max_size=20)), "header": "label,name,sequence"}[kind]
            )
    data = lines_of(lines, draw(st.sampled_from(["\n", "\r\n"]))).encode("utf-8", "surrogatepass")
    return data, records if valid and records else None


@FUZZ
@given(
    weighted((1, st.binary(max_size=200).map(lambda b: (b, None))), (2, uci_texts())),
    st.sampled_from(["keep", "drop", "error"]),
)
def test_fuzz_uci_splice(case, ambiguity):
    data, expected = case
    path = put("splice.data", data)
    try:
        records = read_uci_splice(path, ambiguity=ambiguity)
    except InputFileError as error:
        assert str(error).startswith(str(path) + ":")
        if expected is not None:  # valid rows: only ambiguity codes may be refused
            assert ambiguity != "keep" and re.search("ambiguity|no rows", error.reason), str(error)
        event(f"rejected: {error.reason.split(' ')[0]}")
        return
    event("parsed")
    assert records
    for record in records:
        assert record["label"] in (0, 1, 2) and len(record["sequence"]) == 60
        assert re.fullmatch(r"[ACGTNRYSWKMBDHV]+" if ambiguity == "keep" else "[ACGT]+", record["sequence"])
    if expected is not None:
        kept = [r for r in expected if ambiguity == "keep" or re.fullmatch("[ACGT]+", r["sequence"])]
        assert records == kept


# ------------------------------------------------------------------------------- VCF label tables, VCF round trip
LABEL_HEADERS = [
    ["id", "label"],
    ["ID", "Label", "note"],
    ["chrom", "pos", "ref", "alt", "label"],
    ["id", "chrom", "pos", "ref", "alt", "label"],
    ["label"],
    ["id", "lab"],
    [],
]


@st.composite
def label_tables(draw) -> bytes:
    sep = draw(st.sampled_from(["\t", ","]))
    header = draw(st.sampled_from(LABEL_HEADERS))
    lines = [sep.join(header)]
    for _ in range(draw(st.integers(0, 4))):
        pool = {
            "id": st.sampled_from(["rs1", "rs2", ".", "", " rs3 "]),
            "chrom": st.sampled_from(["chr1", "chr2"]),
            "pos": st.integers(1, 50).map(str),
            "ref": st.sampled_from(["A", "c", "AC"]),
            "alt": st.sampled_from(["G", "t"]),
        }
        fields = [
            draw(pool.get(name.lower(), st.sampled_from(["0", "1", "", " 1 ", "benign", '"a,b"', '"x'])))
            for name in header
        ]
        fields = fields[: draw(st.sampled_from([len(fields)] * 4 + [max(len(fields) - 1, 0)]))]
        fields += draw(st.lists(st.text(max_size=3), max_size=1))
        lines.append(draw(st.text(max_size=12)) if one_in(draw, 10) else sep.join(fields))
    return lines_of(lines, draw(st.sampled_from(["\n", "\r\n"]))).encode("utf-8", "surrogatepass")


@FUZZ
@given(st.one_of(st.binary(max_size=200), label_tables()))
def test_fuzz_vcf_label_table(data):
    path = put("labels.tsv", data)
    try:
        table = read_label_table(path)
    except InputFileError as error:
        assert str(error).startswith(str(path) + ":")
        event(f"rejected: {error.reason.split(' ')[0]}")
        return
    event("parsed")
    for key, label in table.items():
        assert key and key != "." and key == key.strip()
        assert label and label == label.strip()
        if key.count(":") == 3:  # chrom:pos:REF:ALT, alleles upper-cased
            assert (
                key.split(":")[2] == key.split(":")[2].upper()
                and key.split(":")[3] == key.split(":")[3].upper()
            )


@st.composite
def vcf_cases(draw):
    """A genome, variants whose REF matches it, and how their labels are given."""
    genome = {
        name: draw(st.text(alphabet="ACGTacgtN", min_size=1, max_size=120))
        for name in draw(
            st.lists(st.sampled_from(["chr1", "chr2", "1", "MT"]), min_size=1, max_size=3, unique=True)
        )
    }
    variants = []
    for number in range(draw(st.integers(1, 5))):
        chrom = draw(st.sampled_from(sorted(genome)))
        pos = draw(st.integers(1, len(genome[chrom])))
        ref = genome[chrom][pos - 1 : pos - 1 + draw(st.integers(1, 3))]
        alts = draw(st.lists(st.text(alphabet="ACGTacgtN", min_size=1, max_size=3), min_size=1, max_size=3))
        label = draw(st.sampled_from(["0", "1", "benign", "pathogenic"]))
        variants.append((chrom, pos, draw(st.sampled_from([f"rs{number}", "."])), ref, alts, label))
    source = draw(st.sampled_from(["info", "table-id", "table-key", None]))
    return genome, variants, source, draw(st.integers(0, 12)) * 2, draw(st.integers(1, 60))


@FUZZ
@given(vcf_cases(), st.booleans())
def test_fuzz_vcf_round_trip(case, compress):
    genome, variants, source, window, width = case
    if source == "table-id":  # a table by id needs the ids
        variants = [v for v in variants if v[2] != "."]
    labels = {}  # what the table says: one label per id or per allele (the first, when drawn twice)
    for chrom, pos, variant_id, ref, alts, label in variants:
        keys = (
            [variant_id]
            if source == "table-id"
            else [f"{chrom}:{pos}:{ref.upper()}:{alt.upper()}" for alt in alts]
        )
        for key in keys:
            labels.setdefault(key, label)
    root = FOLDER / "vcf_round_trip"
    root.mkdir(exist_ok=True)
    (root / "genome.fa.fai").unlink(missing_ok=True)  # the FASTA changes every example
    (root / "genome.fa").write_text(
        "".join(
            f">{c} x\n" + "".join(s[i : i + width] + "\n" for i in range(0, len(s), width))
            for c, s in genome.items()
        )
    )
    rows = ["##fileformat=VCFv4.2", "##contig=<ID=chr1>", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for chrom, pos, variant_id, ref, alts, label in variants:
        info = f"DP=3;LABEL={label}" if source == "info" else "DP=3"
        rows.append(f"{chrom}\t{pos}\t{variant_id}\t{ref}\t{','.join(alts)}\t.\tPASS\t{info}")
    text = lines_of(rows).encode()
    (root / "v.vcf.gz").write_bytes(gzip.compress(text) if compress else text)  # read by content, not name
    table = ["id\tchrom\tpos\tref\talt\tlabel"]
    for key, label in labels.items():
        fields = [key, ".", ".", ".", "."] if source == "table-id" else [".", *key.split(":")]
        table.append("\t".join([*fields, label]))
    (root / "labels.tsv").write_text(lines_of(table))
    options = {"info": {"label_info_key": "LABEL"}, None: {}}.get(
        source, {"label_table": root / "labels.tsv"}
    )
    if not variants:
        with pytest.raises(InputFileError, match="no variant records"):
            variant_windows(root / "v.vcf.gz", root / "genome.fa", window=window, **options)
        return
    records = variant_windows(root / "v.vcf.gz", root / "genome.fa", window=window, **options)
    flank = window // 2
    expected = []
    for chrom, pos, variant_id, ref, alts, label in variants:
        padded = "N" * flank + genome[chrom].upper() + "N" * flank
        left, right = (
            padded[pos - 1 : pos - 1 + flank],
            padded[pos - 1 + flank + len(ref) : pos - 1 + 2 * flank + len(ref)],
        )
        for alt in alts:
            key = f"{chrom}:{pos}:{ref.upper()}:{alt.upper()}"
            expected.append(
                {
                    "id": variant_id if variant_id != "." and len(alts) == 1 else key,
                    "chrom": chrom,
                    "pos": pos,
                    "ref": ref.upper(),
                    "alt": alt.upper(),
                    "ref_sequence": left + ref.upper() + right,
                    "alt_sequence": left + alt.upper() + right,
                    "label": {None: None, "info": label, "table-id": labels.get(variant_id)}.get(
                        source, labels.get(key)
                    ),
                }
            )
    assert records == expected


# ------------------------------------------------------------------------------------------- tokenizer
@pytest.fixture(scope="module")
def tokenizer():
    from genebert import GeneBertTokenizer

    return GeneBertTokenizer(kmer=6)


TOKENIZER_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="ACGTNacgtnRYKM", max_size=40),
    st.tuples(st.text(alphabet="ACGT", max_size=20), JUNK, st.text(alphabet="ACGT", max_size=20)).map(
        "".join
    ),
)


@FUZZ
@given(st.lists(TOKENIZER_TEXT, min_size=1, max_size=4))
def test_fuzz_tokenizer(tokenizer, texts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sequences shorter than k warn
        try:
            batch = tokenizer(texts)
        except ValueError as error:
            message = str(error)
            assert message.startswith("Invalid character") and re.search(
                r"position \d+ of sequence \d+", message
            )
            index = int(re.search(r"of sequence (\d+)", message).group(1))
            with pytest.raises(ValueError, match=r"^Invalid character"):
                tokenizer(texts[index])  # the named sequence is the bad one
            event("rejected")
            return
        event("encoded")
        singles = [tokenizer(text)["input_ids"] for text in texts]
    assert batch["input_ids"] == singles  # the vectorised batch path agrees with the per-k-mer path
    for text, ids in zip(texts, batch["input_ids"], strict=True):
        assert len(ids) == max(len(text) - 5, 0) + 2 and ids[0] == 2 and ids[-1] == 3
        assert all(0 <= i < tokenizer.vocab_size for i in ids)
        if len(text) >= 6 and re.fullmatch(r"[ACGTacgt]+", text):
            assert tokenizer.decode(ids, skip_special_tokens=True).replace(" ", "") == text.upper()
