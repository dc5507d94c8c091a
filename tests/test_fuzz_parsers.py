"""Property-based fuzzing of the input parsers and the tokenizer (hypothesis, 1,000 examples each).

Every parser gets random bytes and near-valid structured input (so that fuzzing reaches past the first check):
it must either return a valid result (invariants checked; valid generated input round-trips) or raise the documented
exception, :class:`InputFileError` for files and ``ValueError`` for tokenizer text, and never anything else
(no IndexError, KeyError, UnicodeDecodeError, OverflowError, zlib.error, ...). tests/test_bad_inputs.py holds the
hand-written cases.
"""

from __future__ import annotations

import gzip
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from genebert.genomics.errors import InputFileError
from genebert.genomics.intervals import read_bed
from genebert.genomics.motifs import load_motifs
from genebert.genomics.sequences import Genome, read_fasta
from genebert.genomics.tasks import read_sequence_table
from genebert.genomics.variants import variant_windows

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
                st.integers(1, 998), st.integers(-2, 1002), st.sampled_from(["x", "", "1.5", str(2**70)])
            )
        )
        if isinstance(pos, int) and chrom == "chr1" and 1 <= pos <= 998 and draw(st.integers(0, 4)):
            ref = CHROM1[pos - 1 : pos - 1 + draw(st.integers(1, 3))]  # a REF that matches the genome
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
    for record in records:
        chrom = CHROM1 if record["chrom"] == "chr1" else CHROM1[:50]
        start = record["pos"] - 1
        assert chrom[start : start + len(record["ref"])] == record["ref"]
        assert len(record["ref_sequence"]) == 10 + len(record["ref"])
        assert record["ref_sequence"][5 : 5 + len(record["ref"])] == record["ref"]
        assert (
            record["alt_sequence"]
            == record["ref_sequence"][:5] + record["alt"] + record["ref_sequence"][5 + len(record["ref"]) :]
        )


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
