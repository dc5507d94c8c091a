"""BED / narrowPeak reading and region unions."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from genebert.errors import InputFileError
from genebert.genomics.intervals import read_bed, union_regions

SIZES = {"chr1": 1000, "chr2": 500}


def test_reads_narrowpeak_with_headers_and_gzip(tmp_path):
    text = "track name=x\n# comment\nbrowser position chr1\nchr2\t10\t20\tp1\t0\t.\t1\t2\t3\t5\n\nchr1\t0\t1000\n"
    plain = tmp_path / "a.narrowPeak"
    plain.write_text(text)
    packed = tmp_path / "a.bed.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        table = read_bed(path, SIZES)
        assert table.chroms == ["chr2", "chr1"]
        assert table.starts.tolist() == [10, 0] and table.ends.tolist() == [20, 1000]
        assert table.source_rows.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("chr1\t10", "expected at least 3 fields"),
        ("chr1\tten\t20", "start and end must be integers"),
        ("chr1\t-5\t20", "negative start -5"),
        ("chr1\t20\t20", "start 20 is not before end 20"),
        ("chr1\t30\t20", "start 30 is not before end 20"),
        ("chrX\t10\t20", "unknown chromosome 'chrX'"),
        ("chr2\t10\t501", "end 501 is past the end of chr2 \\(length 500\\)"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.bed"
    path.write_text(f"chr1\t0\t10\n{line}\n")
    with pytest.raises(InputFileError, match=message) as error:
        read_bed(path, SIZES)
    assert str(error.value).startswith(f"{path}:2:")


def test_empty_missing_and_binary_files(tmp_path):
    empty = tmp_path / "empty.bed"
    empty.write_text("# only a comment\n")
    with pytest.raises(InputFileError, match="no interval found"):
        read_bed(empty)
    with pytest.raises(InputFileError, match="file not found"):
        read_bed(tmp_path / "missing.bed")
    binary = tmp_path / "binary.bed"
    binary.write_bytes(b"chr1\t0\t10\n\xff\xfe\x00\n")
    with pytest.raises(InputFileError, match="not a UTF-8 text file"):
        read_bed(binary)
    broken = tmp_path / "broken.bed.gz"
    broken.write_bytes(gzip.compress(b"chr1\t0\t10\n" * 100)[:30])
    with pytest.raises(InputFileError, match="cannot read the file"):
        read_bed(broken)


def test_skip_unknown_chromosomes_keeps_row_numbers(tmp_path):
    path = tmp_path / "a.bed"
    path.write_text("chrX\t1\t2\nchr1\t5\t9\nchrY\t1\t2\nchr2\t1\t3\n")
    table = read_bed(path, SIZES, unknown_chroms="skip")
    assert table.source_rows.tolist() == [1, 3]
    only_unknown = tmp_path / "b.bed"
    only_unknown.write_text("chrX\t1\t2\n")
    with pytest.raises(InputFileError, match="no interval found on the genome's chromosomes"):
        read_bed(only_unknown, SIZES, unknown_chroms="skip")


def test_union_is_sorted_and_keeps_membership(tmp_path):
    a, b = tmp_path / "a.bed", tmp_path / "b.bed"
    a.write_text("chr2\t5\t9\nchr1\t50\t60\nchr1\t10\t20\nchr1\t10\t20\n")
    b.write_text("chr1\t10\t20\nchr1\t10\t25\nchr2\t1\t3\n")
    union, members = union_regions([read_bed(a, SIZES), read_bed(b, SIZES)], list(SIZES))
    got = [
        (union.chroms[c], s, e) for c, s, e in zip(union.chrom_codes, union.starts, union.ends, strict=True)
    ]
    assert got == [("chr1", 10, 20), ("chr1", 10, 25), ("chr1", 50, 60), ("chr2", 1, 3), ("chr2", 5, 9)]
    assert members[0].tolist() == [0, 2, 4]
    assert members[1].tolist() == [0, 1, 3]
    assert np.all(np.diff(union.sort_order()) > 0)
