"""FASTA reading: records, soft-masking, and bad input named by file and line."""

from __future__ import annotations

import os

import pytest

from genebert.errors import InputFileError
from genebert.genomics.sequences import read_fasta


def write(tmp_path, text: str, name: str = "in.fa"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_records_multiline_and_soft_masked(tmp_path):
    path = write(tmp_path, ">chr1 first one\nACGTN\nacgtr\n\n>chr2\nGGGG\n")
    records = list(read_fasta(path))
    assert [(r.name, r.description, r.sequence) for r in records] == [
        ("chr1", "first one", "ACGTNacgtr"),
        ("chr2", "", "GGGG"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", None, "no FASTA record found"),
        ("ACGT\n", 1, "sequence before the first '>' header"),
        (">\nACGT\n", 1, "empty FASTA header"),
        (">a\nACGT\n>a\nAC\n", 3, "duplicate record name 'a'"),
        (">a\n>b\nACGT\n", 1, "record 'a' has no sequence"),
        (">a\nACGT\nAC-GT\n", 3, "invalid character '-' at column 3"),
        (">a\nAC1\n", 2, "invalid character '1'"),
        (">a\nACGT\n>b\n", 3, "record 'b' has no sequence"),
    ],
)
def test_bad_fasta_names_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(InputFileError, match=message) as error:
        list(read_fasta(path))
    assert str(path) in str(error.value)
    assert error.value.line == line
    if line is not None:
        assert f"{path}:{line}:" in str(error.value)


def test_non_ascii_fasta(tmp_path):
    path = tmp_path / "u.fa"
    path.write_bytes(">a\nAC\xc3\x84GT\n".encode("latin-1"))
    with pytest.raises(InputFileError, match="not an ASCII text file"):
        list(read_fasta(path))


# ------------------------------------------------------------------------------------------------ Genome
from genebert.genomics.sequences import Genome  # noqa: E402


def write_genome(path, records: dict[str, str], width: int = 10):
    with open(path, "w") as handle:
        for name, sequence in records.items():
            handle.write(
                f">{name}\n"
                + "\n".join(sequence[i : i + width] for i in range(0, len(sequence), width))
                + "\n"
            )
    return path


def test_genome_fetch_soft_masked_and_iupac(tmp_path):
    genome = Genome(write_genome(tmp_path / "g.fa", {"c1": "ACGTacgtNNRYACGTACGTAC", "c2": "GGGGCCCC"}))
    assert genome.sizes == {"c1": 22, "c2": 8} and genome.chroms == ["c1", "c2"]
    assert genome.fetch("c1", 2, 14) == "GTacgtNNRYAC"
    assert genome.ambiguous_fraction("ACNN") == 0.5
    assert len(genome.fingerprint()) == 64


def test_genome_invalid_letter_names_line(tmp_path):
    path = write_genome(tmp_path / "g.fa", {"c1": "A" * 25, "c2": "ACGTACGTAC" + "ACG-TACGTA" + "AAAAA"})
    genome = Genome(path)
    assert genome.fetch("c2", 0, 10) == "ACGTACGTAC"
    with pytest.raises(InputFileError, match="invalid character '-' in c2 at position 13") as error:
        genome.fetch("c2", 5, 20)
    # c1: header line 1 + 3 sequence lines; c2 header at line 5, its second sequence line is line 7
    assert error.value.line == 7 and str(error.value).startswith(f"{path}:7:")


def test_genome_bounds_unknown_and_empty(tmp_path):
    genome = Genome(write_genome(tmp_path / "g.fa", {"c1": "ACGT" * 5}))
    with pytest.raises(KeyError, match="unknown chromosome 'c9'"):
        genome.fetch("c9", 0, 5)
    with pytest.raises(ValueError, match="outside c1"):
        genome.fetch("c1", 10, 21)
    (tmp_path / "empty.fa").write_text("")
    with pytest.raises(InputFileError):
        Genome(tmp_path / "empty.fa")
    with pytest.raises(InputFileError, match="not found"):
        Genome(tmp_path / "missing.fa")


def test_genome_in_read_only_folder_indexes_elsewhere(tmp_path, monkeypatch):
    write_genome(tmp_path / "g.fa", {"c1": "ACGT" * 5})
    monkeypatch.setenv("GENEBERT_CACHE", str(tmp_path / "cache"))
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: False if str(path) == str(tmp_path) else real_access(path, mode)
    )
    assert Genome(tmp_path / "g.fa").fetch("c1", 0, 4) == "ACGT"
    assert not (tmp_path / "g.fa.fai").exists()
    assert list((tmp_path / "cache" / "fai").glob("g.fa.*.fai"))


def test_bgzip_genome(tmp_path):
    from Bio import bgzf

    path = tmp_path / "g.fa.gz"
    with bgzf.BgzfWriter(str(path), "wb") as writer:
        writer.write(b">c1\nACGTACGTAC\nGGGG\n")
    assert Genome(path).fetch("c1", 8, 14) == "ACGGGG"
