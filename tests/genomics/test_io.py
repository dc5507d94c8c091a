"""genebert.genomics.io: the one home of the genomic basics, and the remote-code copies pinned equal to it."""

from __future__ import annotations

import gzip
import itertools

import pytest

from genebert import pipelines, tokenization_genebert
from genebert.errors import InputFileError
from genebert.genomics import io

EVERY_DNA_CHARACTER = io.DNA_ALPHABET + io.DNA_ALPHABET.lower()


def test_reverse_complement_keeps_case_and_complements_iupac():
    assert io.reverse_complement("AACGn") == "nCGTT"
    assert io.reverse_complement("RYKMBVDHSWN") == "NWSDHBVKMRY"
    for text in ("".join(p) for p in itertools.product("ACGTNRYacgtnry", repeat=3)):
        assert io.reverse_complement(io.reverse_complement(text)) == text


def test_remote_code_copies_equal_the_library():
    """pipelines.py and tokenization_genebert.py are Hub remote code and keep their own copies."""
    for text in (EVERY_DNA_CHARACTER, "ACGTTGCAnnRYk"):
        assert pipelines.reverse_complement(text) == io.reverse_complement(text)
    assert tokenization_genebert.AMBIGUITY_CODES == io.AMBIGUITY_CODES
    assert tokenization_genebert.NUCLEOTIDES == io.NUCLEOTIDES
    for char in map(chr, range(32, 127)):
        valid_here = char in EVERY_DNA_CHARACTER
        assert (tokenization_genebert.find_invalid_character(char) is None) == valid_here, char


def test_check_dna_names_the_character_and_line(tmp_path):
    assert io.check_dna("acgtN", "f.csv", 3) == "ACGTN"
    with pytest.raises(InputFileError, match=r"f\.csv:3: invalid character 'X' at position 4"):
        io.check_dna("ACGX", "f.csv", 3)
    with pytest.raises(InputFileError, match=r"f\.csv:7: empty sequence"):
        io.check_dna("", "f.csv", 7)


def test_open_text_reads_gzip_by_content_not_name(tmp_path):
    plain, packed = tmp_path / "a.gz", tmp_path / "b.txt"
    plain.write_text("x\ny\n")
    with gzip.open(packed, "wt") as handle:
        handle.write("x\ny\n")
    for path in (plain, packed):
        assert list(io.numbered_lines(path)) == [(1, "x\n"), (2, "y\n")]


def test_numbered_lines_names_the_undecodable_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nfine\n\xff\xfe\n")
    with pytest.raises(InputFileError, match=r"bad\.txt:3: not a UTF-8 text file"):
        list(io.numbered_lines(path))
