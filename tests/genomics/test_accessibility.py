"""Accessibility from peak files, from a peak x cell count matrix (pseudo-bulk) and from h5ad."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from genebert.errors import InputFileError
from genebert.genomics import accessibility as acc

SIZES = {"chr1": 10_000, "chr2": 5_000}
PEAKS = ["chr1\t100\t600", "chr1\t1000\t1500", "chr2\t0\t500", "chrUn\t0\t10"]
BARCODES = ["c1", "c2", "c3", "c4"]
# peaks x cells
COUNTS = np.array([[1, 0, 0, 0], [2, 1, 0, 3], [0, 0, 0, 1], [5, 5, 5, 5]])


def write_matrix_dir(folder, counts=COUNTS, peaks=PEAKS, barcodes=BARCODES, metadata=None, transpose=False):
    folder.mkdir(parents=True, exist_ok=True)
    matrix = scipy.sparse.coo_matrix(counts.T if transpose else counts)
    scipy.io.mmwrite(str(folder / "matrix.mtx"), matrix, field="integer")
    (folder / "peaks.bed").write_text("\n".join(peaks) + "\n")
    (folder / "barcodes.tsv").write_text("\n".join(barcodes) + "\n")
    metadata = metadata or "\tcell_type\tdepth\nc1\tT\t1\nc2\tT\t1\nc3\tB\t1\nc4\tB\t1\n"
    (folder / "cell_metadata.tsv").write_text(metadata)
    return folder


def as_tuples(result):
    regions = result.regions
    return [
        (regions.chroms[c], int(s), int(e))
        for c, s, e in zip(regions.chrom_codes, regions.starts, regions.ends, strict=True)
    ]


def test_peak_files(tmp_path):
    (tmp_path / "t.bed").write_text("chr1\t100\t600\nchr2\t0\t500\n")
    (tmp_path / "b.bed").write_text("chr1\t100\t600\nchr1\t1000\t1500\n")
    result = acc.from_peak_files({"T": tmp_path / "t.bed", "B": tmp_path / "b.bed"}, SIZES)
    assert result.cell_types == ["T", "B"]
    assert as_tuples(result) == [("chr1", 100, 600), ("chr1", 1000, 1500), ("chr2", 0, 500)]
    assert result.membership_matrix().tolist() == [[True, True], [False, True], [True, False]]


@pytest.mark.parametrize("transpose", [False, True])
def test_pseudo_bulk_binarised(tmp_path, transpose):
    # a fifth cell without metadata (left out), so that the stored orientation is unambiguous
    counts = np.hstack([COUNTS, np.full((4, 1), 9)])
    folder = write_matrix_dir(tmp_path / "m", counts=counts, barcodes=[*BARCODES, "c5"], transpose=transpose)
    result = acc.from_count_matrix(folder, "cell_type", SIZES, unknown_chroms="skip")
    assert result.cell_types == ["B", "T"]
    assert as_tuples(result) == [("chr1", 100, 600), ("chr1", 1000, 1500), ("chr2", 0, 500)]
    # B = cells c3, c4: sums (0, 3, 1); T = c1, c2: sums (1, 3, 0)
    assert result.membership_matrix().tolist() == [[False, True], [True, True], [True, False]]
    strict = acc.from_count_matrix(
        folder, "cell_type", SIZES, unknown_chroms="skip", min_counts=2, min_cells=2
    )
    # only peak 2 has >= 2 counts from >= 2 cells, in T (c1=2, c2=1); in B only c4 has counts
    assert strict.membership_matrix().tolist() == [[False, True]]


def test_matrix_errors(tmp_path):
    with pytest.raises(InputFileError, match="unknown chromosome 'chrUn'") as error:
        acc.from_count_matrix(write_matrix_dir(tmp_path / "a"), "cell_type", SIZES)
    assert ":4:" in str(error.value)
    folder = write_matrix_dir(tmp_path / "b", barcodes=BARCODES[:3])
    with pytest.raises(
        InputFileError, match=r"matrix is 4 x 4 but peaks\.bed has 4 peaks and barcodes\.tsv has 3"
    ):
        acc.from_count_matrix(folder, "cell_type", SIZES, unknown_chroms="skip")
    folder = write_matrix_dir(tmp_path / "c")
    with pytest.raises(InputFileError, match="no column 'Cell_Type'"):
        acc.from_count_matrix(folder, "Cell_Type", SIZES, unknown_chroms="skip")
    folder = write_matrix_dir(tmp_path / "d", metadata="\tcell_type\nc1\tT\nc1\tB\n")
    with pytest.raises(InputFileError, match="duplicate barcode 'c1'") as error:
        acc.from_count_matrix(folder, "cell_type", SIZES, unknown_chroms="skip")
    assert "cell_metadata.tsv:3:" in str(error.value)
    folder = write_matrix_dir(tmp_path / "e", metadata="\tcell_type\nzz\tT\n")
    with pytest.raises(InputFileError, match="no cell has a cell type"):
        acc.from_count_matrix(folder, "cell_type", SIZES, unknown_chroms="skip")
    folder = write_matrix_dir(tmp_path / "f")
    (folder / "matrix.mtx").write_text("not a matrix\n")
    with pytest.raises(InputFileError, match="not a readable Matrix Market file"):
        acc.from_count_matrix(folder, "cell_type", SIZES, unknown_chroms="skip")
    folder = write_matrix_dir(tmp_path / "g")
    (folder / "barcodes.tsv").write_text("")
    with pytest.raises(InputFileError, match="empty barcodes file"):
        acc.from_count_matrix(folder, "cell_type", SIZES, unknown_chroms="skip")


def test_h5ad_matches_matrix(tmp_path):
    anndata = pytest.importorskip("anndata", reason="anndata is in the dev extra; h5ad support is optional")
    import pandas as pd

    keep = slice(0, 3)
    var = pd.DataFrame(index=["chr1:100-600", "chr1:1000-1500", "chr2:0-500"])
    obs = pd.DataFrame({"cell_type": ["T", "T", "B", "B"]}, index=BARCODES)
    adata = anndata.AnnData(X=scipy.sparse.csr_matrix(COUNTS[keep].T.astype(np.float32)), obs=obs, var=var)
    adata.write_h5ad(tmp_path / "x.h5ad")
    from_h5ad = acc.from_h5ad(tmp_path / "x.h5ad", "cell_type", SIZES)
    from_mtx = acc.from_count_matrix(
        write_matrix_dir(tmp_path / "m"), "cell_type", SIZES, unknown_chroms="skip"
    )
    assert as_tuples(from_h5ad) == as_tuples(from_mtx)
    assert from_h5ad.membership_matrix().tolist() == from_mtx.membership_matrix().tolist()
    var_all = pd.DataFrame(index=["chr1:100-600", "chrUn:0-10", "chr2:0-500"])
    counts_all = COUNTS[[0, 3, 2]].T.astype(np.float32)
    anndata.AnnData(X=scipy.sparse.csr_matrix(counts_all), obs=obs, var=var_all).write_h5ad(
        tmp_path / "y.h5ad"
    )
    with pytest.raises(InputFileError, match="unknown chromosome 'chrUn'"):
        acc.from_h5ad(tmp_path / "y.h5ad", "cell_type", SIZES)
    skipped = acc.from_h5ad(tmp_path / "y.h5ad", "cell_type", SIZES, unknown_chroms="skip")
    assert as_tuples(skipped) == [("chr1", 100, 600), ("chr2", 0, 500)]
    assert skipped.membership_matrix().tolist() == [[False, True], [True, False]]
    with pytest.raises(InputFileError, match="obs has no column 'celltype'"):
        acc.from_h5ad(tmp_path / "x.h5ad", "celltype", SIZES)
    (tmp_path / "bad.h5ad").write_bytes(b"not hdf5")
    with pytest.raises(InputFileError, match="not a readable h5ad file"):
        acc.from_h5ad(tmp_path / "bad.h5ad", "cell_type", SIZES)


def test_combine_rejects_duplicate_cell_types(tmp_path):
    (tmp_path / "t.bed").write_text("chr1\t100\t600\n")
    (tmp_path / "u.bed").write_text("chr2\t0\t500\n")
    one = acc.from_peak_files({"T": tmp_path / "t.bed"}, SIZES)
    two = acc.from_peak_files({"U": tmp_path / "u.bed"}, SIZES)
    joined = acc.combine([one, two], list(SIZES))
    assert joined.cell_types == ["T", "U"] and joined.membership_matrix().tolist() == [
        [True, False],
        [False, True],
    ]
    with pytest.raises(ValueError, match="more than one input: \\['T'\\]"):
        acc.combine([one, one], list(SIZES))


def test_load_accessibility_dispatch_and_errors(tmp_path):
    folder = write_matrix_dir(tmp_path / "m")
    (tmp_path / "t.bed").write_text("chr1\t100\t600\n")
    with pytest.raises(ValueError, match="exactly one"):
        acc.load_accessibility(SIZES, peaks={"T": tmp_path / "t.bed"}, matrix_dirs=[folder])
    with pytest.raises(ValueError, match="need a cell-type column"):
        acc.load_accessibility(SIZES, matrix_dirs=[folder])
    with pytest.raises(ValueError, match="one per count-matrix folder"):
        acc.load_accessibility(SIZES, matrix_dirs=[folder, folder, folder], cell_type_columns=["a", "b"])
    one = acc.load_accessibility(
        SIZES, matrix_dirs=[folder], cell_type_columns=["cell_type"], unknown_chroms="skip"
    )
    assert one.cell_types == ["B", "T"]
    assert acc.load_accessibility(SIZES, peaks={"T": tmp_path / "t.bed"}).cell_types == ["T"]
