"""Bad input, tried systematically: every malformed file a user can hand GeneBERT, through the entry point they use.

Each case writes bad input file(s) into a fresh folder, calls the highest-level public entry point that reads them
(the ``genebert`` command line where that is how users meet the file), and checks

* the exception type: :class:`InputFileError` (a ``ValueError``) for files; ``ValueError`` / ``TypeError`` for
  in-memory text, as the tokenizer and pipeline document;
* the message: it starts with ``path:line:`` (or ``path:`` when the file has no lines, e.g. a binary format), and
  holds the reason; for in-memory text it names the character, its position and the sequence;
* that nothing was written: the output the call was given does not exist, and the folder holds exactly the input
  files it held before (same names, same bytes).

See docs/reliability.md ("Bad input") for the summary; tests/test_fuzz_parsers.py fuzzes the same parsers.
"""

from __future__ import annotations

import gzip
import os
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from genebert.errors import InputFileError, UsageError
from genebert.genomics.sequences import Genome
from genebert.modeling_genebert import GeneBertInputError, GeneBertLoadingError
from genebert.storage import OutputExistsError, OutputLocationError

OUT = "out"  # every call that writes is pointed at ROOT/out (or a file inside it)
CHROM = "ACGTTGCAAC" * 60  # chr1, 600 bp
SIZES = {"chr1": 600, "chr2": 300}


@dataclass(frozen=True)
class Case:
    id: str
    write: Callable[[Path], None]  # writes the inputs into the folder
    call: Callable[[Path], object]  # reads them, as a user would
    file: str | None  # the file the message must name (relative to the folder), None for in-memory input
    line: int | None  # the line it must name (None: the file has no lines, or no line applies)
    reason: str  # regular expression the message must contain
    error: type[BaseException] = InputFileError


def cli(*argv: str) -> int:
    from genebert.cli import main

    return main([str(arg) for arg in argv])


# ------------------------------------------------------------------------------------------------ inputs
def text(name: str, content: str | bytes) -> Callable[[Path], None]:
    def write(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)

    return write


def both(*writers: Callable[[Path], None]) -> Callable[[Path], None]:
    def write(root: Path) -> None:
        for writer in writers:
            writer(root)

    return write


def fasta(records: dict[str, str], width: int = 60) -> str:
    return "".join(
        f">{name}\n" + "".join(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
        for name, seq in records.items()
    )


def genome(name: str = "genome.fa", content: str | bytes | None = None, index: bool = True):
    """A genome FASTA, indexed as a user's genome usually is (so its ``.fai`` counts as an input)."""
    content = fasta({"chr1": CHROM, "chr2": CHROM[:300]}) if content is None else content

    def write(root: Path) -> None:
        text(name, content)(root)
        if index:
            Genome(root / name).close()

    return write


# enough regions for a sample (a build that cannot make one is refused before reading the genome)
GOOD_PEAKS = text(
    "peaks.bed", "".join(f"chr1\t{i}\t{i + 40}\n" for i in range(0, 550, 50)) + "chr2\t0\t100\n"
)
GOOD_MOTIFS = text("motifs.jaspar", ">MA0001.1 A\nA [ 5 0 1 ]\nC [ 0 5 1 ]\nG [ 0 0 2 ]\nT [ 0 0 1 ]\n")
GOOD_FASTA = text("seqs.fa", ">s1\nACGTACGTAC\n>s2\nTTTTGGGGCC\n")


def build_corpus_cli(
    root: Path, *extra: str, genome_name: str = "genome.fa", motifs: str = "motifs.jaspar", out: str = OUT
):
    return cli(
        "build-corpus",
        "--genome",
        root / genome_name,
        "--motifs",
        root / motifs,
        "--out",
        root / out,
        "--no-progress",
        "--chunk-size",
        "1",
        "--regions-per-sample",
        "2",
        *extra,
    )


def peaks_case(id: str, content: str | bytes, line: int | None, reason: str, name: str = "bad.bed") -> Case:
    return Case(
        f"bed-{id}",
        both(genome(), GOOD_MOTIFS, text(name, content)),
        lambda root: build_corpus_cli(root, "--peaks", f"T={root / name}"),
        name,
        line,
        reason,
    )


def genome_case(id: str, write, reason: str, line: int | None = None, name: str = "genome.fa") -> Case:
    return Case(
        f"genome-{id}",
        both(write, GOOD_PEAKS, GOOD_MOTIFS),
        lambda root: build_corpus_cli(root, "--peaks", f"T={root / 'peaks.bed'}", genome_name=name),
        name,
        line,
        reason,
    )


def tokenize_case(id: str, content: str | bytes, line: int | None, reason: str) -> Case:
    return Case(
        f"fasta-{id}",
        text("bad.fa", content),
        lambda root: cli("tokenize", "--fasta", root / "bad.fa"),
        "bad.fa",
        line,
        reason,
    )


def motif_case(
    id: str, content: str | bytes, line: int | None, reason: str, name: str = "bad.jaspar"
) -> Case:
    return Case(
        f"motifs-{id}",
        both(GOOD_FASTA, text(name, content)),
        lambda root: cli(
            "scan-motifs",
            "--motifs",
            root / name,
            "--fasta",
            root / "seqs.fa",
            "--out",
            root / OUT / "s.tsv",
            "--no-progress",
        ),
        name,
        line,
        reason,
    )


def stale_index(root: Path) -> None:
    genome()(root)  # indexed with 600 + 300 bases, then the FASTA is replaced by a shorter one
    (root / "genome.fa").write_text(fasta({"chr1": CHROM[:200], "chr2": CHROM[:300]}))
    later = time.time() + 60
    os.utime(root / "genome.fa.fai", (later, later))  # an index "newer" than the FASTA: pyfaidx trusts it


def corrupt_gzip(payload: bytes) -> bytes:
    """A gzip stream whose deflate data is damaged (zlib.error when read), deterministic."""
    packed = bytearray(gzip.compress(payload, mtime=0))
    packed[20] ^= 0xFF
    return bytes(packed)


RANDOM_BED = "".join(f"chr1\t{i}\t{i + 5}\n" for i in range(0, 500, 7)).encode()


# ------------------------------------------------------------------------------------------ matrix folders
COUNTS = np.array([[1, 0, 2], [0, 3, 1]])  # peaks x cells
MATRIX_PEAKS = "chr1\t10\t200\nchr2\t0\t100\n"


def matrix_dir(
    counts=COUNTS,
    peaks: str | bytes = MATRIX_PEAKS,
    barcodes: str | bytes = "c1\nc2\nc3\n",
    metadata: str | bytes = "barcode\tcell_type\nc1\tT\nc2\tB\nc3\tT\n",
    matrix: str | bytes | None = None,
):
    def write(root: Path) -> None:
        folder = root / "m"
        folder.mkdir()
        if matrix is None:
            scipy.io.mmwrite(str(folder / "matrix.mtx"), scipy.sparse.coo_matrix(counts), field="integer")
        elif matrix != "absent":
            text("m/matrix.mtx", matrix)(root)
        text("m/peaks.bed", peaks)(root)
        text("m/barcodes.tsv", barcodes)(root)
        text("m/cell_metadata.tsv", metadata)(root)

    return write


def load_matrix(root: Path):
    from genebert.genomics.accessibility import load_accessibility

    return load_accessibility(SIZES, matrix_dirs=[root / "m"], cell_type_columns=["cell_type"])


def matrix_case(id: str, file: str, line: int | None, reason: str, **parts) -> Case:
    return Case(f"mtx-{id}", matrix_dir(**parts), load_matrix, f"m/{file}", line, reason)


MTX_HEADER = "%%MatrixMarket matrix coordinate integer general\n"


# ------------------------------------------------------------------------------------------------- h5ad
def h5ad(var_index=("chr1:10-200", "chr2:0-100"), var_columns=None, x="counts", obs_column="cell_type"):
    def write(root: Path) -> None:
        anndata = pytest.importorskip("anndata")
        import pandas as pd

        obs = pd.DataFrame({obs_column: ["T", "B", "T"]}, index=["c1", "c2", "c3"])
        var = pd.DataFrame(var_columns or {}, index=list(var_index))
        matrix = {
            "counts": COUNTS.T.astype(np.float32),
            "negative": -COUNTS.T.astype(np.float32),
            "none": None,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            anndata.AnnData(X=matrix[x], obs=obs, var=var).write_h5ad(root / "x.h5ad")

    return write


def wrong_shape_h5ad(root: Path) -> None:
    import h5py

    h5ad()(root)
    with h5py.File(root / "x.h5ad", "r+") as handle:
        del handle["X"]
        handle["X"] = np.ones((3, 5), dtype=np.float32)


def load_h5ad(root: Path):
    from genebert.genomics.accessibility import load_accessibility

    return load_accessibility(SIZES, h5ad=root / "x.h5ad", cell_type_columns=["cell_type"])


def h5ad_case(id: str, write, reason: str) -> Case:
    return Case(f"h5ad-{id}", write, load_h5ad, "x.h5ad", None, reason)


# ------------------------------------------------------------------------------------------------ tables
def read_table(name: str):
    def call(root: Path):
        from genebert.training.finetune import read_table

        return read_table(root / name)

    return call


def table_case(id: str, content: str | bytes, line: int | None, reason: str, name: str = "train.csv") -> Case:
    return Case(f"table-{id}", text(name, content), read_table(name), name, line, reason)


def parquet(columns: dict):
    def write(root: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(columns), root / "train.parquet")

    return write


def gue_task(content: str, line: int, reason: str, id: str) -> Case:
    """A GUE task folder (70 bp promoters, labels 0/1) whose train.csv is bad, loaded as a built-in task."""
    good = "sequence,label\n" + f"{'A' * 70},0\n"

    def write(root: Path) -> None:
        for stem in ("train", "dev", "test"):
            text(f"data/gue/prom/prom_core_all/{stem}.csv", content if stem == "train" else good)(root)

    def call(root: Path):
        from genebert.genomics.tasks import load_task

        return load_task("gue_prom_core_all", root / "data")

    return Case(f"task-{id}", write, call, "data/gue/prom/prom_core_all/train.csv", line, reason)


# -------------------------------------------------------------------------------------------------- VCF
VCF_HEAD = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
GOOD_VARIANT = f"chr1\t5\trs1\t{CHROM[4]}\tA\t.\tPASS\tLABEL=1\n"


def vcf_case(
    id: str, content: str | bytes, line: int | None, reason: str, name: str = "v.vcf", **options
) -> Case:
    def call(root: Path):
        from genebert.genomics.variants import variant_windows

        return variant_windows(root / name, root / "genome.fa", window=20, **options)

    return Case(f"vcf-{id}", both(genome(), text(name, content)), call, name, line, reason)


def splice_case(id: str, name: str, content: str | bytes, line: int | None, reason: str) -> Case:
    def call(root: Path):
        from genebert.genomics import splice

        if name.startswith("splice"):
            return splice.read_uci_splice(root / name)
        return splice.spliceai_windows(root / "genome.fa", root / name, context=20)

    return Case(f"splice-{id}", both(genome(), text(name, content)), call, name, line, reason)


# --------------------------------------------------------------------------------------- in-memory text
def tokenizer_call(*args, **kwargs):
    def call(root: Path):
        from genebert import GeneBertTokenizer

        return GeneBertTokenizer(kmer=6)(*args, **kwargs)

    return call


_PIPELINE = {}


def pipeline_call(inputs):
    def call(root: Path):
        if "pipe" not in _PIPELINE:
            import torch
            from transformers import pipeline

            from genebert import GeneBertConfig, GeneBertForSequenceClassification, GeneBertTokenizer

            torch.manual_seed(0)
            model = GeneBertForSequenceClassification(GeneBertConfig.tiny(num_labels=2)).eval()
            _PIPELINE["pipe"] = pipeline(
                "dna-classification", model=model, tokenizer=GeneBertTokenizer(kmer=6), device=-1
            )
        return _PIPELINE["pipe"](inputs)

    return call


def nothing(root: Path) -> None:
    pass


def memory_case(id: str, call, reason: str, error: type[BaseException] = ValueError) -> Case:
    return Case(id, nothing, call, None, None, reason, error)


# ------------------------------------------------------------------------------------------------ cases
CASES = [
    # FASTA, read by `genebert tokenize` / `scan-motifs` / `predict`
    tokenize_case("empty", "", None, "no FASTA record found"),
    tokenize_case("no-header", "ACGTACGT\nACGT\n", 1, "sequence before the first '>' header"),
    tokenize_case(
        "sequence-before-header", "\n\nACGT\n>a\nACGT\n", 3, "sequence before the first '>' header"
    ),
    tokenize_case("duplicate-names", ">a\nAC\n>b\nGG\n>a\nTT\n", 5, "duplicate record name 'a'"),
    tokenize_case("non-dna", ">a\nACGT\nACGU\n", 3, "invalid character 'U' at column 4 in record 'a'"),
    tokenize_case("blank-name", ">a\nAC\n>   \nGG\n", 3, "empty FASTA header"),
    tokenize_case("record-without-sequence", ">a\n>b\nACGT\n", 1, "record 'a' has no sequence"),
    tokenize_case("nul-byte", ">a\nAC\x00GT\n", 2, r"invalid character '\\x00'"),
    tokenize_case(
        "non-ascii-late", b">a\n" + b"ACGT\n" * 40 + b"AC\xc3\x84GT\n", 42, "not an ASCII text file"
    ),  # line was 1 before the fix
    tokenize_case("gzip", gzip.compress(b">a\nACGT\n" * 50)[:30], 1, "not an ASCII text file"),
    Case(
        "fasta-scan-motifs-non-dna",
        both(GOOD_MOTIFS, text("bad.fa", ">a\nACGT\n>b\nAC*T\n")),
        lambda root: cli(
            "scan-motifs",
            "--motifs",
            root / "motifs.jaspar",
            "--fasta",
            root / "bad.fa",
            "--out",
            root / OUT / "s.tsv",
            "--no-progress",
        ),
        "bad.fa",
        4,
        r"invalid character '\*'",
    ),
    Case(
        "fasta-predict-duplicate-names",
        text("bad.fa", ">a\nACGTACGT\n>a\nACGTACGT\n"),
        lambda root: cli(
            "predict", "--model", root / "no-model", "--fasta", root / "bad.fa", "--out", root / OUT / "p.tsv"
        ),
        "bad.fa",
        3,
        "duplicate record name 'a'",
    ),
    # the genome FASTA, read by `genebert build-corpus --genome`
    genome_case("missing", nothing, "genome FASTA not found"),
    genome_case("empty", genome(content="", index=False), "no sequence|cannot index"),
    genome_case(
        "no-header", genome(content="ACGT\nACGT\n", index=False), "cannot index the genome FASTA", line=1
    ),  # named no line before the fix
    genome_case(
        "duplicate-names",
        genome(content=">chr1\nACGT\n>chr2\nAC\n>chr1\nACGT\n", index=False),
        "Duplicate key",
        line=5,
    ),  # left its .fai behind before the fix; named no line before the fix
    genome_case(
        "blank-name",
        genome(content=">a\nAC\n>\nACGT\n", index=False),
        "cannot index the genome FASTA",
        line=3,
    ),  # pyfaidx's message names line 2 (0-based)
    genome_case(
        "ragged-lines",
        genome(content=">chr1\nACGTACGT\nACG\nACGTACGT\n", index=False),
        "not consistent",
        line=3,
    ),  # named no line before the fix
    genome_case(
        "first-line-short",  # pyfaidx indexes it, with the wrong layout; the index check catches it
        genome(content=">chr1\nACG\nACGTACGT\n", index=False),
        "line lengths are not consistent in record 'chr1'",
        line=3,
    ),
    genome_case(
        "plain-gzip",
        genome("genome.fa.gz", gzip.compress(fasta({"chr1": CHROM}).encode()), index=False),
        "BGZF",
        name="genome.fa.gz",
    ),
    genome_case(
        "invalid-character",  # found while the corpus is built: the half-built OUT.partial is removed (fix)
        genome(content=fasta({"chr1": CHROM[:310] + "-" + CHROM[311:], "chr2": CHROM[:300]})),
        r"invalid character '-' in chr1 at position 310",
        line=7,
    ),
    genome_case(
        "non-ascii",  # pyfaidx counted the 2-byte character as one base: silently shifted sequence before the fix
        genome(
            content=fasta({"chr1": CHROM[:130], "chr2": CHROM[:300]}).replace("ACGT", "AC\u00c4T", 1),
            index=False,
        ),
        "not an ASCII text file",
        line=2,
    ),
    genome_case(
        "stale-index", stale_index, "does not match this FASTA.*stale"
    ),  # silently wrong sequence before
    # BED / narrowPeak, read by `genebert build-corpus --peaks CELLTYPE=FILE`
    peaks_case("too-few-columns", "chr1\t0\t100\nchr1\t5\n", 2, "expected at least 3 fields"),
    peaks_case("non-integer", "chr1\t0\t100\nchr1\tabc\t200\n", 2, "start and end must be integers"),
    peaks_case("float-coordinate", "chr1\t10.5\t20\n", 1, "start and end must be integers"),
    peaks_case("underscore-digits", "chr1\t1_000\t2_000\n", 1, "must be integers"),  # read as 1000 before
    peaks_case("huge-coordinate", "chr1\t0\t" + "9" * 30 + "\n", 1, "must be integers"),
    peaks_case("start-after-end", "chr1\t300\t200\n", 1, "start 300 is not before end 200"),
    peaks_case("negative-start", "track x\nchr1\t-5\t20\n", 2, "negative start -5"),
    peaks_case("unknown-chromosome", "chr1\t0\t10\nchrUn\t0\t10\n", 2, "unknown chromosome 'chrUn'"),
    peaks_case(
        "past-chromosome-end", "chr2\t250\t301\n", 1, r"end 301 is past the end of chr2 \(length 300\)"
    ),
    peaks_case("header-junk", "chrom\tstart\tend\nchr1\t0\t10\n", 1, "start and end must be integers"),
    peaks_case("empty", "", None, "no interval found"),
    peaks_case("only-comments", "# nothing\ntrack name=x\n", None, "no interval found"),
    peaks_case(
        "non-utf8-late",
        RANDOM_BED + b"chr1\t\xff\t10\n",
        RANDOM_BED.count(b"\n") + 1,
        "not a UTF-8 text file",
    ),  # line was 1 before the fix
    peaks_case(
        "corrupt-gzip", corrupt_gzip(RANDOM_BED), None, "cannot read the file", "bad.bed.gz"
    ),  # zlib.error
    peaks_case("truncated-gzip", gzip.compress(RANDOM_BED)[:40], None, "cannot read the file", "bad.bed.gz"),
    Case(
        "bed-missing-file",
        both(genome(), GOOD_MOTIFS),
        lambda root: build_corpus_cli(root, "--peaks", f"T={root / 'absent.bed'}"),
        "absent.bed",
        None,
        "file not found",
    ),
    # count matrix folders (matrix.mtx + peaks.bed + barcodes.tsv + cell_metadata.tsv)
    matrix_case(
        "dimension-mismatch", "matrix.mtx", 3, "matrix is 2 x 3 but", barcodes="c1\nc2\n"
    ),  # the size line (after scipy's "%" comment line)
    matrix_case(
        "bad-header", "matrix.mtx", 1, "not a readable Matrix Market file", matrix="not a matrix\n1 2 3\n"
    ),
    matrix_case(
        "bad-size-line",
        "matrix.mtx",
        3,
        "Invalid integer value",
        matrix=MTX_HEADER + "% a comment\n2 x 1\n1 1 3\n",
    ),
    matrix_case(
        "index-out-of-range",
        "matrix.mtx",
        3,
        "Row index out of bounds",
        matrix=MTX_HEADER + "2 3 1\n5 1 3\n",
    ),
    matrix_case(
        "index-out-of-range-after-comment-and-blank-lines",
        "matrix.mtx",
        7,
        "Row index out of bounds",
        matrix=MTX_HEADER + "% a comment\n2 3 3\n1 1 3\n\n1 2 1\n5 1 3\n",
    ),
    matrix_case("truncated", "matrix.mtx", None, "Truncated file", matrix=MTX_HEADER + "2 3 2\n1 1 3\n"),
    matrix_case(
        "non-numeric", "matrix.mtx", 3, "Invalid integer value", matrix=MTX_HEADER + "2 3 1\n1 1 x\n"
    ),
    matrix_case(
        "integer-overflow",  # an OverflowError before the fix
        "matrix.mtx",
        3,
        "Integer out of range",
        matrix=MTX_HEADER + "2 3 1\n1 1 99999999999999999999999\n",
    ),
    matrix_case(
        "huge-entry-count",  # a MemoryError (allocating for 10^10 entries) before the fix
        "matrix.mtx",
        2,
        "declares 10000000000 entries",
        matrix=MTX_HEADER + "2 3 10000000000\n1 1 3\n",
    ),
    matrix_case(
        "nan-counts",  # silently left out of every sum before the fix
        "matrix.mtx",
        None,
        "counts must be finite",
        matrix="%%MatrixMarket matrix coordinate real general\n2 3 2\n1 1 3\n2 2 nan\n",
    ),
    matrix_case("negative-counts", "matrix.mtx", None, "negative counts", counts=-COUNTS),
    matrix_case(
        "complex-counts",  # silently summed as complex numbers before the fix
        "matrix.mtx",
        None,
        "counts must be real numbers",
        matrix="%%MatrixMarket matrix coordinate complex general\n2 3 1\n1 1 3 1\n",
    ),
    matrix_case("matrix-missing", "matrix.mtx", None, "count matrix not found", matrix="absent"),
    matrix_case("barcodes-empty", "barcodes.tsv", None, "empty barcodes file", barcodes="\n\n"),
    matrix_case(
        "barcodes-non-utf8", "barcodes.tsv", 2, "not a UTF-8 text file", barcodes=b"c1\nc\xff2\nc3\n"
    ),  # UnicodeDecodeError before the fix
    matrix_case(
        "peaks-malformed",
        "peaks.bed",
        2,
        "start and end must be integers",
        peaks="chr1\t10\t200\nchr2\tx\t1\n",
    ),
    matrix_case(
        "metadata-no-cell-type-column",
        "cell_metadata.tsv",
        1,
        "no column 'cell_type'",
        metadata="barcode\tct\nc1\tT\n",
    ),
    matrix_case(
        "metadata-duplicate-barcode",
        "cell_metadata.tsv",
        3,
        "duplicate barcode 'c1'",
        metadata="barcode\tcell_type\nc1\tT\nc1\tB\n",
    ),
    matrix_case(
        "metadata-duplicate-barcode-after-blank-lines",  # the line ignored blank lines before the fix (3)
        "cell_metadata.tsv",
        5,
        "duplicate barcode 'c1'",
        metadata="barcode\tcell_type\n\nc1\tT\n\nc1\tB\n",
    ),
    matrix_case(
        "metadata-short-row",
        "cell_metadata.tsv",
        3,
        "expected at least 2 fields",
        metadata="b\tcell_type\nc1\tT\nc2\n",
    ),
    matrix_case(
        "metadata-unknown-barcodes",
        "matrix.mtx",
        None,
        "no cell has a cell type",
        metadata="b\tcell_type\nzz\tT\n",
    ),
    Case(
        "mtx-cli-peaks-unknown-chromosome",
        both(genome(), GOOD_MOTIFS, matrix_dir(peaks="chr1\t10\t200\nchrUn\t0\t100\n")),
        lambda root: build_corpus_cli(root, "--matrix-dir", root / "m", "--cell-type-column", "cell_type"),
        "m/peaks.bed",
        2,
        "unknown chromosome 'chrUn'",
    ),
    # AnnData .h5ad
    h5ad_case("no-var-coordinates", h5ad(var_index=("peak1", "peak2")), "var needs chrom/start/end columns"),
    h5ad_case(
        "non-integer-var-start",  # a bare ValueError from int() before the fix
        h5ad(
            var_index=("p1", "p2"),
            var_columns={"chrom": ["chr1", "chr1"], "start": ["a", "5"], "end": [10, 20]},
        ),
        r"peak 1 \(chr1\): start and end must be integers",
    ),
    h5ad_case("wrong-shape", wrong_shape_h5ad, "not a readable h5ad file"),
    h5ad_case("missing-obs-column", h5ad(obs_column="celltype"), "obs has no column 'cell_type'"),
    h5ad_case("negative-counts", h5ad(x="negative"), "negative counts in X"),  # silently accepted before
    h5ad_case("no-X", h5ad(x="none"), "no X matrix"),  # a bare ValueError from scipy before the fix
    h5ad_case("not-hdf5", text("x.h5ad", "not an hdf5 file"), "not a readable h5ad file"),
    # motif files (JASPAR / PFM / MEME), read by `genebert scan-motifs --motifs FILE`
    motif_case("empty", "# only a comment\n", None, "empty motif file"),
    motif_case(
        "ragged-rows", ">M1 x\nA [ 1 2 3 ]\nC [ 1 2 ]\nG [ 1 2 3 ]\nT [ 1 2 3 ]\n", 3, "row has 2 values"
    ),
    motif_case(
        "negative-count", ">M1 x\nA [ 1 2 3 ]\nC [ 1 -2 3 ]\nG [ 1 2 3 ]\nT [ 1 2 3 ]\n", 3, "negative value"
    ),
    motif_case(
        "non-numeric",
        ">M1 x\nA [ 1 2 3 ]\nC [ 1 2 3 ]\nG [ 1 two 3 ]\nT [ 1 2 3 ]\n",
        4,
        "non-numeric value 'two'",
    ),
    motif_case(
        "missing-base-row", ">M1 x\nA [ 1 2 3 ]\nC [ 1 2 3 ]\nG [ 1 2 3 ]\n>M2 y\n", 4, "exactly 4 rows"
    ),
    motif_case(
        "overflowing-count", ">M1 x\nA [ 1e999 1 ]\nC [ 1 1 ]\nG [ 1 1 ]\nT [ 1 1 ]\n", 2, "too large"
    ),  # a pathless ValueError from MotifSet before the fix
    motif_case("pfm-five-columns", ">M1_x\n1 2 3 4\n1 2 3 4 5\n", 3, "this row has 5 values", "bad.pfm"),
    motif_case(
        "pfm-position-without-counts", ">M1_x\n1 2 3 4\n0 0 0 0\n", 3, "position 2 has no counts", "bad.pfm"
    ),
    motif_case(
        "meme-no-matrix",
        "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF M1 x\n\nMOTIF M2 y\n",
        5,
        "has no letter-probability matrix",
        "bad.meme",
    ),
    motif_case(
        "meme-width-mismatch",
        "MEME version 4\n\nMOTIF M1\nletter-probability matrix: alength= 4 w= 3\n0.25 0.25 0.25 0.25\n",
        4,
        "w=3 but 1 rows",
        "bad.meme",
    ),
    motif_case(
        "meme-alphabet", "MEME version 4\n\nALPHABET= ACGU\n", 3, "unsupported MEME alphabet", "bad.meme"
    ),
    motif_case(
        "meme-frequencies-not-summing-to-1",
        "MEME version 4\n\nMOTIF M1\nletter-probability matrix: w= 2\n0.25 0.25 0.25 0.25\n0.5 0.5 0.5 0.5\n",
        6,
        "sums to 2, not 1",
        "bad.meme",
    ),
    motif_case(
        "meme-infinite-nsites",
        "MEME version 4\n\nMOTIF M1\nletter-probability matrix: w= 1 nsites= inf\n0.25 0.25 0.25 0.25\n",
        4,
        "nsites=inf is not a finite number",
        "bad.meme",
    ),  # a pathless ValueError before the fix
    motif_case(
        "duplicate-ids",
        ">M1 x\nA [ 1 ]\nC [ 1 ]\nG [ 1 ]\nT [ 1 ]\n>M1 y\nA [ 1 ]\nC [ 1 ]\nG [ 1 ]\nT [ 1 ]\n",
        6,
        "duplicate motif ID 'M1'",
    ),
    motif_case("unknown-format", "hello motifs\n", 1, "unknown motif format"),
    motif_case("non-utf8", b">M1 x\nA [ 1 \xff ]\n", 2, "not a text file"),  # named no line before the fix
    # sequence,label tables (GUE CSV, DNABERT TSV, parquet), read by the fine-tuning code
    table_case("empty", "", None, "no rows"),
    table_case("missing-columns", "seq,lab\nACGT,1\n", 1, "has no 'sequence' and 'label' columns"),
    table_case("header-only", "sequence,label\n", None, "no data rows after the header"),
    table_case("non-dna", "sequence,label\nACGT,1\nACGZ,0\n", 3, "invalid character 'Z' at position 4"),
    table_case("empty-label", "sequence,label\nACGT,1\nACGT,\n", 3, "empty label"),
    table_case("short-row", "sequence,label\nACGT,1\nACGT\n", 3, "expected at least 2 fields"),
    table_case("empty-sequence", "sequence,label\n,1\n", 2, "empty sequence"),
    table_case(
        "broken-kmers", "sequence\tlabel\nACGTAC CGTAGG\t1\n", 2, "not a run of overlapping k-mers", "dev.tsv"
    ),
    table_case(
        "non-utf8", b"sequence,label\nACGT,1\nACGT,1\nAC\xffGT,0\n", 4, "not a UTF-8 text file"
    ),  # fix
    table_case(
        "field-too-large", "sequence,label\nACGT,1\n" + "A" * 200_000 + ",1\n", 3, "field larger than"
    ),  # fix
    Case(
        "table-parquet-garbage",
        text("train.parquet", "not parquet"),
        read_table("train.parquet"),
        "train.parquet",
        None,
        "not a readable parquet file",
    ),
    Case(
        "table-parquet-missing-columns",
        parquet({"seq": ["ACGT"], "label": [1]}),
        read_table("train.parquet"),
        "train.parquet",
        None,
        r"missing columns \['sequence'\]",
    ),
    gue_task(
        "sequence,label\n" + "A" * 70 + ",0\n" + "A" * 70 + ",7\n", 3, "unknown label '7'", "unknown-label"
    ),
    gue_task(
        "sequence,label\n" + "A" * 70 + ",0\n" + "A" * 69 + ",1\n",
        3,
        "length 69, expected 70",
        "wrong-length",
    ),
    Case(
        "table-cli-finetune",
        text("train.csv", "sequence,label\nACGTACGT,1\nACGTXCGT,0\n"),
        lambda root: cli(
            "finetune", "--train_file", root / "train.csv", "--output_dir", root / OUT, "--preset", "tiny"
        ),
        "train.csv",
        3,
        "invalid character 'X'",
    ),
    # VCF (variant tasks), read with the genome
    vcf_case("header-without-hash", "CHROM\tPOS\tID\tREF\tALT\n" + GOOD_VARIANT, 1, "POS must be an integer"),
    vcf_case(
        "ref-mismatch", VCF_HEAD + GOOD_VARIANT + "chr1\t1\trs2\tT\tA\n", 4, "REF T does not match the genome"
    ),
    vcf_case("non-integer-pos", VCF_HEAD + "chr1\t1.5\trs1\tA\tC\n", 3, "POS must be an integer, got '1.5'"),
    vcf_case(
        "underscore-pos", VCF_HEAD + "chr1\t1_0\trs1\tC\tA\n", 3, "POS must be an integer, got '1_0'"
    ),  # read as 10 (whose base is C) before the fix
    vcf_case(
        "unknown-chromosome", VCF_HEAD + "chrX\t1\trs1\tA\tC\n", 3, "chromosome 'chrX' is not in the genome"
    ),
    vcf_case(
        "space-separated", VCF_HEAD + "chr1 1 rs1 A C\n", 3, "expected at least 5 tab-separated columns"
    ),
    vcf_case("symbolic-alt", VCF_HEAD + "chr1\t1\trs1\tA\t<DEL>\n", 3, "ALT is symbolic or not DNA"),
    vcf_case("outside-chromosome", VCF_HEAD + "chr2\t300\trs1\tAC\tA\n", 3, "outside chr2"),
    vcf_case(
        "missing-label",
        VCF_HEAD + "chr1\t1\trs1\tA\tC\t.\tPASS\tDP=3\n",
        3,
        "no LABEL= in INFO",
        label_info_key="LABEL",
    ),
    vcf_case("empty", VCF_HEAD, None, "no variant records"),
    vcf_case(
        "non-utf8", (VCF_HEAD + GOOD_VARIANT).encode() + b"chr1\t1\t\xff\tA\tC\n", 4, "not a UTF-8 text file"
    ),  # fix
    vcf_case(
        "truncated-gzip",
        gzip.compress((VCF_HEAD + GOOD_VARIANT * 50).encode())[:60],
        None,
        "cannot read the file",
        "v.vcf.gz",
    ),
    Case(
        "vcf-label-table-non-utf8",
        both(genome(), text("v.vcf", VCF_HEAD + GOOD_VARIANT), text("labels.tsv", b"id\tlabel\nrs1\t\xff\n")),
        lambda root: __import__("genebert.genomics.variants", fromlist=["x"]).variant_windows(
            root / "v.vcf", root / "genome.fa", label_table=root / "labels.tsv"
        ),
        "labels.tsv",
        2,
        "not a UTF-8 text file",
    ),  # UnicodeDecodeError before the fix
    Case(
        "vcf-label-table-conflicting-labels",  # the last label silently won before the fix
        both(
            genome(),
            text("v.vcf", VCF_HEAD + GOOD_VARIANT),
            text("labels.tsv", "id\tlabel\nrs1\t0\nrs1\t1\n"),
        ),
        lambda root: __import__("genebert.genomics.variants", fromlist=["x"]).variant_windows(
            root / "v.vcf", root / "genome.fa", label_table=root / "labels.tsv"
        ),
        "labels.tsv",
        3,
        "variant id 'rs1' has two labels, '0' and '1'",
    ),
    # splice tasks: UCI splice.data and GTF
    splice_case("uci-bad-label", "splice.csv", "XX,a," + "A" * 60 + "\n", 1, "unknown label 'XX'"),
    splice_case(
        "uci-non-ascii",
        "splice.csv",
        ("N,a," + "A" * 60 + "\n").encode() * 3 + "N,b,Ä\n".encode(),
        4,
        "not an ASCII text file",
    ),
    splice_case(
        "gtf-too-few-fields", "genes.gtf", "chr1\tx\texon\t1\t5\n", 1, "expected 9 tab-separated fields"
    ),
    splice_case(
        "gtf-underscore-coordinate",  # read as 10 before the fix
        "genes.gtf",
        'chr1\tx\texon\t1\t1_0\t.\t+\t.\ttranscript_id "t";\n',
        1,
        "start and end must be integers",
    ),
    splice_case(
        "gtf-truncated-gzip",
        "genes.gtf.gz",
        gzip.compress(b'chr1\tx\texon\t1\t5\t.\t+\t.\ttranscript_id "t";\n' * 40)[:50],
        None,
        "cannot read the file",
    ),
    # in-memory text: the tokenizer and the dna-classification pipeline
    memory_case(
        "tokenizer-non-dna", tokenizer_call("ACGU"), r"Invalid character 'U' \(U\+0055\) at position 3"
    ),
    memory_case("tokenizer-newline", tokenizer_call("ACGT\n"), r"'\\n' \(U\+000A\) at position 4"),
    memory_case(
        "tokenizer-batch-names-sequence",  # the batch message named no sequence before the fix
        tokenizer_call(["ACGTACGT", "ACGTACGT", "ACXT"], padding=True, return_tensors="np"),
        r"'X' \(U\+0058\) at position 2 of sequence 2",
    ),
    memory_case("tokenizer-int", tokenizer_call(123), "Input must be a string"),
    memory_case("tokenizer-bytes", tokenizer_call(b"ACGT"), "Input must be a string"),
    memory_case("pipeline-none", pipeline_call(None), "expected a DNA sequence as a str", TypeError),
    memory_case("pipeline-int", pipeline_call(7), "expected a DNA sequence as a str, got int", TypeError),
    memory_case("pipeline-empty", pipeline_call(""), "empty DNA sequence"),
    memory_case(
        "pipeline-non-dna",
        pipeline_call("ACGTACGTAC-GT"),
        r"Invalid character '-' \(U\+002D\) at position 10",
    ),
]


# ------------------------------------------------------------------- outputs, options, corpora, models, labels
# (issue 18: never delete a user's files, never turn bad data into a result that looks valid)
REPO = Path(__file__).resolve().parents[1]
USER_FILES = text("mine/thesis.txt", "three years of work\n")
CORPUS_INPUTS = both(genome(), GOOD_PEAKS, GOOD_MOTIFS)


def build_into(out: str, *extra: str):
    return lambda root: build_corpus_cli(root, "--peaks", f"T={root / 'peaks.bed'}", *extra, out=out)


def symlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda root: (root / name).symlink_to(root / target, target_is_directory=True)


def option_case(id: str, reason: str, *extra: str, error: type[BaseException] = UsageError) -> Case:
    return Case(f"option-{id}", CORPUS_INPUTS, build_into(OUT, *extra), None, None, reason, error)


def output_case(id: str, write, call, reason: str, error: type[BaseException] = OutputExistsError) -> Case:
    return Case(f"output-{id}", write, call, None, None, reason, error)


def small_corpus(root: Path) -> None:
    """A built corpus at ROOT/corpus (the input of the damaged-corpus cases)."""
    CORPUS_INPUTS(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_corpus_cli(root, "--peaks", f"T={root / 'peaks.bed'}", out="corpus")


REGIONS = "corpus/regions/regions-00000.arrow"


def damaged_corpus(damage: Callable[[Path, bytearray], None]) -> Callable[[Path], None]:
    """A corpus whose first region table is then damaged in place: ``damage(root, bytes)`` edits the bytes."""

    def write(root: Path) -> None:
        small_corpus(root)
        table = root / REGIONS
        data = bytearray(table.read_bytes())
        damage(root, data)
        table.write_bytes(bytes(data))

    return write


def _buffer_offset(data: bytearray, column: str, buffer: int) -> int:
    """File offset of a column's data buffer in an uncompressed Arrow IPC stream (read zero-copy)."""
    import pyarrow as pa

    source = pa.py_buffer(bytes(data))
    array = pa.ipc.open_stream(source).read_all().column(column).chunk(0)
    if column == "motif_scores":
        array = array.values
    return array.buffers()[buffer].address - source.address


def base_to_z(root: Path, data: bytearray) -> None:
    data[_buffer_offset(data, "sequence", 2) + 7] = ord("Z")


def base_to_other_base(root: Path, data: bytearray) -> None:
    offset = _buffer_offset(data, "sequence", 2) + 7
    data[offset] = ord("A") if data[offset] != ord("A") else ord("C")


def score_to_nan(root: Path, data: bytearray) -> None:
    import struct

    offset = _buffer_offset(data, "motif_scores", 1)
    data[offset : offset + 4] = struct.pack("<f", float("nan"))


def truncate(root: Path, data: bytearray) -> None:
    del data[len(data) // 2 :]


def truncate_unrecorded(root: Path, data: bytearray) -> None:
    """Truncated, in a corpus from before sizes were recorded (so pyarrow meets the truncation)."""
    import json

    truncate(root, data)
    metadata = json.loads((root / "corpus/metadata.json").read_text())
    del metadata["files"]
    (root / "corpus/metadata.json").write_text(json.dumps(metadata))


def other_window(root: Path, data: bytearray) -> None:
    """The metadata of a build with another window (two builds mixed), the tables of this one."""
    import json

    metadata = json.loads((root / "corpus/metadata.json").read_text())
    metadata["config"]["region_window_bp"] -= 100
    (root / "corpus/metadata.json").write_text(json.dumps(metadata))


def load(verify: str = "sizes"):
    def call(root: Path):
        from genebert.genomics.corpus import load_corpus

        return load_corpus(root / "corpus", verify=verify)

    return call


def corpus_case(id: str, damage, reason: str, call=None, file: str = REGIONS) -> Case:
    return Case(f"corpus-{id}", damaged_corpus(damage), call or load(), file, None, reason)


def saved_model(kind: str = "classifier", damage: str | None = None) -> Callable[[Path], None]:
    """A tiny GeneBERT model (with its tokenizer) at ROOT/model, optionally damaged, and a FASTA to score."""

    def write(root: Path) -> None:
        import torch

        from genebert import (
            GeneBertConfig,
            GeneBertForPreTraining,
            GeneBertForSequenceClassification,
            GeneBertTokenizer,
        )

        torch.manual_seed(0)
        if kind == "classifier":
            model = GeneBertForSequenceClassification(GeneBertConfig.tiny(num_labels=2))
        else:
            model = GeneBertForPreTraining(GeneBertConfig.tiny(num_motifs=8))
        model.save_pretrained(root / "model")
        GeneBertTokenizer(kmer=6).save_pretrained(root / "model")
        if damage == "truncate":
            weights = root / "model" / "model.safetensors"
            weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        GOOD_FASTA(root)

    return write


def predict(out: str = f"{OUT}/p.tsv"):
    return lambda root: cli("predict", "--model", root / "model", "--fasta", root / "seqs.fa", "--out", root / out,
                            "--no-progress")  # fmt: skip


def region_matrix_call(value: float):
    def call(root: Path):
        import torch

        from genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer

        model = GeneBertForPreTraining(GeneBertConfig.tiny(num_motifs=8)).eval()
        batch = GeneBertTokenizer(kmer=6)(["ACGTACGTAC"], ["TTGACAGGCTA"], return_tensors="pt")
        regions = torch.randn(1, 10, 8)
        regions[0, 2, 5] = value
        return model(**batch, region_matrix=regions)

    return call


def finetune_labels(content: str, name: str = "train.csv"):
    def call(root: Path):
        return cli("finetune", "--train_file", root / name, "--output_dir", root / OUT, "--preset", "tiny")

    return text(name, content), call


def label_case(id: str, content: str, line: int | None, reason: str) -> Case:
    write, call = finetune_labels(content)
    return Case(f"label-{id}", write, call, "train.csv", line, reason)


SEQ = "ACGTACGTAC"
CASES += [
    # output folders: refused before any work, the user's files untouched (were replaced or moved before the fix)
    output_case("build-corpus-user-folder", both(CORPUS_INPUTS, USER_FILES), build_into("mine"),
                r"--out .*mine already holds 1 entry \(thesis\.txt\), which is not a previous build-corpus output"),
    output_case("build-corpus-shard-user-folder", both(CORPUS_INPUTS, USER_FILES),
                build_into("mine", "--shard", "0/2"), r"mine already holds 1 entry \(thesis\.txt\)"),
    output_case("build-corpus-regular-file", both(CORPUS_INPUTS, text("notes.txt", "x")), build_into("notes.txt"),
                r"--out .*notes\.txt is a file, not a folder", OutputLocationError),
    output_case("build-corpus-symlink", both(CORPUS_INPUTS, USER_FILES, symlink("link", "mine")),
                build_into("link"), r"--out .*link is a symbolic link", OutputLocationError),
    output_case("build-corpus-work-folder-not-ours", both(CORPUS_INPUTS, text(f"{OUT}.partial/thesis.txt", "x")),
                build_into(OUT), r"out\.partial already holds 1 entry \(thesis\.txt\)"),
    output_case("merge-corpus-user-folder", USER_FILES,
                lambda root: cli("merge-corpus", "--out", root / "mine", root / "shard0"),
                r"--out .*mine already holds 1 entry"),
    output_case("export-user-folder", both(saved_model(), USER_FILES),
                lambda root: cli("export", root / "model", root / "mine"),
                r"the export folder .*mine already holds 1 entry \(thesis\.txt\)"),
    output_case("export-symlink", both(saved_model(), USER_FILES, symlink("link", "mine")),
                lambda root: cli("export", root / "model", root / "link"), "is a symbolic link", OutputLocationError),
    output_case("study-user-folder", USER_FILES,
                lambda root: cli("study", REPO / "run_scripts/studies/losses.yaml", "--preset", "tiny", "--out",
                                 root / "mine"), r"--out .*mine already holds 1 entry"),
    output_case("predict-out-is-a-folder", text(f"{OUT}.tsv/keep.txt", "x"), predict(f"{OUT}.tsv"),
                r"--out .*out\.tsv is a folder; give a file name", UsageError),  # failed after all the scoring
    output_case("embed-out-is-a-folder", text("e.npy/keep.txt", "x"),
                lambda root: cli("embed", "--model", root / "model", "--fasta", root / "seqs.fa", "--out", root / "e.npy"),
                r"e\.npy is a folder", UsageError),
    output_case("embed-ids-file-is-a-folder", text("e.ids.txt/keep.txt", "x"),
                lambda root: cli("embed", "--model", root / "model", "--fasta", root / "seqs.fa", "--out", root / "e.npy"),
                r"e\.ids\.txt is a folder", UsageError),
    # options, checked where they are parsed (a ZeroDivisionError, or a build that pre-training could not use)
    option_case("regions-per-sample-0", r"--regions-per-sample must be an even number >= 2 .* got 0$",
                "--regions-per-sample", "0"),
    option_case("regions-per-sample-negative", r"--regions-per-sample .* got -4$", "--regions-per-sample", "-4"),
    option_case("regions-per-sample-odd", r"--regions-per-sample .* got 3$", "--regions-per-sample", "3"),
    option_case("kmer-9", r"--kmer must be 3, 4, 5 or 6 .* got 9", "--kmer", "9"),
    option_case("kmer-2", r"--kmer must be 3, 4, 5 or 6 .* got 2", "--kmer", "2"),
    option_case("region-window-0", r"--region-window-bp must be positive, got 0", "--region-window-bp", "0"),
    option_case("region-window-below-kmer", r"--region-window-bp \(4\) must be at least --kmer \(6\)",
                "--region-window-bp", "4"),
    option_case("max-ambiguous-fraction", r"--max-ambiguous-fraction must be in \[0, 1\], got 2",
                "--max-ambiguous-fraction", "2"),
    option_case("shard-out-of-range", r"--shard 3/2: need 0 <= I < N", "--shard", "3/2"),
    option_case("workers-0", r"--workers must be at least 1, got 0", "--workers", "0"),
    option_case("zero-samples", r"no sample can be made: the largest cell type has 12 regions.*--regions-per-sample",
                "--regions-per-sample", "20"),  # built a corpus of 0 samples before the fix
    # damaged corpora: loaded silently, or errors naming no file, before the fix
    corpus_case("base-turned-into-Z", base_to_z, r"region 0: the sequence holds a character outside the DNA"),
    corpus_case("score-turned-into-NaN", score_to_nan, r"region 0: motif score nan is not finite"),
    corpus_case("truncated-table", truncate, r"bytes, but the corpus metadata records .*: the table is truncated"),
    corpus_case("truncated-table-without-recorded-sizes", truncate_unrecorded,
                "not a readable Arrow table"),  # a pyarrow error naming no file before the fix
    corpus_case("flipped-base-found-by-checksum", base_to_other_base, "sha256 differs from the corpus metadata",
                load("checksums")),
    corpus_case("mixed-window-sizes", other_window, r"region 0: the sequence is not \d+ bp long"),
    corpus_case("pretrain-on-nan-scores", score_to_nan, "motif score nan is not finite",
                lambda root: cli("pretrain", "--corpus_dir", root / "corpus", "--output_dir", root / OUT,
                                 "--preset", "tiny", "--max_steps", "2")),  # trained to "loss 0" before the fix
    # models
    Case("model-truncated-safetensors", saved_model(damage="truncate"), predict(), None, None,
         r"^\S+/model/model\.safetensors: cannot read the weights, the file is truncated", GeneBertLoadingError),
    output_case("model-predict-with-a-pre-training-checkpoint", saved_model("pretraining"), predict(),
                r"has no trained classifier .* pre-training checkpoint.*genebert embed", UsageError),
    memory_case("model-region-matrix-nan", region_matrix_call(float("nan")),
                r"region_matrix holds 1 non-finite value\(s\) .* \[0, 2, 5\]", GeneBertInputError),
    memory_case("model-region-matrix-inf", region_matrix_call(float("inf")), "non-finite", GeneBertInputError),
    # labels (two classes from "1" and "1.0", and "nan" a class, before the fix)
    label_case("nan", f"sequence,label\n{SEQ},1\n{SEQ},0\n{SEQ},nan\n", 4, r"label 'nan' is not a class"),
    label_case("infinite", f"sequence,label\n{SEQ},1\n{SEQ},-inf\n", 3, r"label '-inf' is not a class"),
    label_case("one-class", f"sequence,label\n{SEQ},1\n{SEQ},1\n", None, r"every training label is '1'"),
    label_case("one-and-one-point-zero-are-one-class", f"sequence,label\n{SEQ},1\n{SEQ},1.0\n{SEQ},+1e0\n", None,
               r"every training label is '1'"),
    Case("label-parquet-nan", parquet({"sequence": [SEQ, SEQ], "label": [1.0, float("nan")]}),
         read_table("train.parquet"), "train.parquet", 2, r"label 'nan' is not a class"),
]  # fmt: skip


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, tmp_path, monkeypatch):
    root = tmp_path / "inputs"
    root.mkdir()
    monkeypatch.chdir(root)  # a call writing into the working directory would show up in the snapshot
    monkeypatch.setenv("GENEBERT_CACHE", str(tmp_path / "cache"))
    case.write(root)
    before = snapshot(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(case.error) as info:
            case.call(root)
    error = info.value
    message = str(error)
    assert type(error) is case.error, f"{type(error).__name__}: {message}"
    assert re.search(case.reason, message), message
    if case.file is not None:
        path = str(root / case.file)
        where = f"{path}:{case.line}:" if case.line is not None else f"{path}:"
        assert message.startswith(where), message
        assert error.path == path and error.line == case.line
        assert error.reason and re.search(case.reason, error.reason), error.reason
    # nothing written: no output, the inputs untouched, no stray file (index, temporary, half-built corpus)
    assert not (root / OUT).exists()
    assert snapshot(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


def test_enough_cases_per_format():
    formats = {}
    for case in CASES:
        key = case.id.split("-")[0]
        formats[key] = formats.get(key, 0) + 1
    assert len(CASES) >= 40
    assert len(CASES) >= 127 + 25  # issue 18 added at least 25
    for key in ("fasta", "genome", "bed", "mtx", "h5ad", "motifs", "table", "vcf", "tokenizer", "pipeline", "output",
                "option", "corpus", "model", "label"):  # fmt: skip
        assert formats.get(key, 0) >= 2, (key, formats)


def test_input_file_error_survives_pickling():
    """A worker process of a parallel corpus build sends its InputFileError to the parent (failed before the fix)."""
    import pickle

    error = pickle.loads(pickle.dumps(InputFileError("genome.fa", "invalid character '-'", 7)))
    assert (type(error), str(error), error.path, error.line) == (
        InputFileError,
        "genome.fa:7: invalid character '-'",
        "genome.fa",
        7,
    )
    assert pickle.loads(pickle.dumps(InputFileError("x.h5ad", "no X matrix"))).line is None


def test_corrupt_gzip_fixture_is_a_deflate_error():
    """The corrupt-gzip case really exercises zlib.error (not just a CRC mismatch)."""
    import zlib

    with pytest.raises(zlib.error):
        gzip.decompress(corrupt_gzip(RANDOM_BED))
