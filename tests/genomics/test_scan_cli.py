"""`genebert scan-motifs`: FASTA or BED + genome in, TSV or parquet out."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from genebert.cli import main
from genebert.errors import InputFileError, UsageError
from genebert.genomics.motifs import load_motifs, scan_max

MOTIF = ">MA9001.1 TESTTF\nA [ 10 0 0 0 10 ]\nC [ 0 10 0 0 0 ]\nG [ 0 0 10 0 0 ]\nT [ 0 0 0 10 0 ]\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "m.jaspar").write_text(MOTIF)
    (tmp_path / "s.fa").write_text(">one\nTTACGTATT\n>two\nGGGGGGGG\n")
    (tmp_path / "g.fa").write_text(">chr1\nTTACGTATTGGGGGGGG\n")
    (tmp_path / "r.bed").write_text("chr1\t0\t9\nchr1\t9\t17\n")
    return tmp_path


def test_fasta_to_tsv_and_bed_to_parquet_agree(files, capsys):
    motifs = load_motifs(files / "m.jaspar")
    expected = scan_max(["TTACGTATT", "GGGGGGGG"], motifs)[:, 0]
    assert (
        main(
            [
                "scan-motifs",
                "--motifs",
                str(files / "m.jaspar"),
                "--fasta",
                str(files / "s.fa"),
                "--out",
                str(files / "o.tsv"),
                "--no-progress",
            ]
        )
        == 0
    )
    lines = (files / "o.tsv").read_text().splitlines()
    assert lines[0] == "name\tMA9001.1 TESTTF"
    assert [line.split("\t")[0] for line in lines[1:]] == ["one", "two"]
    np.testing.assert_allclose([float(line.split("\t")[1]) for line in lines[1:]], expected, atol=1e-4)
    assert (
        main(
            [
                "scan-motifs",
                "--motifs",
                str(files / "m.jaspar"),
                "--bed",
                str(files / "r.bed"),
                "--genome",
                str(files / "g.fa"),
                "--out",
                str(files / "o.parquet"),
                "--no-progress",
            ]
        )
        == 0
    )
    table = pq.read_table(files / "o.parquet").to_pydict()
    assert table["name"] == ["chr1:0-9", "chr1:9-17"]
    np.testing.assert_allclose(table["MA9001.1 TESTTF"], expected, atol=1e-6)
    assert "wrote 2 rows" in capsys.readouterr().out


def test_bad_requests(files):
    with pytest.raises(UsageError, match="either a FASTA file or a BED file"):
        main(["scan-motifs", "--motifs", str(files / "m.jaspar"), "--out", str(files / "o.tsv")])
    with pytest.raises(UsageError, match="needs the genome"):
        main(
            [
                "scan-motifs",
                "--motifs",
                str(files / "m.jaspar"),
                "--bed",
                str(files / "r.bed"),
                "--out",
                str(files / "o.tsv"),
            ]
        )
    (files / "bad.fa").write_text(">x\nAC-GT\n")
    with pytest.raises(InputFileError, match=r"bad\.fa:2"):
        main(
            [
                "scan-motifs",
                "--motifs",
                str(files / "m.jaspar"),
                "--fasta",
                str(files / "bad.fa"),
                "--out",
                str(files / "o.tsv"),
                "--no-progress",
            ]
        )
    assert not list(files.glob(".o.tsv*")) and not (files / "o.tsv").exists()
