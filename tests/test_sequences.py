"""FASTA reading: records, soft-masking, and bad input named by file and line."""

from __future__ import annotations

import pytest

from genebert.genomics.errors import InputFileError
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
