"""genebert.genomics.tiles and ``build-corpus --tile``: corpora from a genome alone."""

from __future__ import annotations

import numpy as np
import pytest

from genebert.cli import main as cli_main
from genebert.errors import InputFileError, UsageError
from genebert.genomics import accessibility as acc
from genebert.genomics.corpus import load_corpus
from genebert.genomics.motifs import load_motifs, scan_max
from genebert.genomics.sequences import Genome
from genebert.genomics.tiles import genome_tiles, tile_accessibility


def test_tiles_cover_unambiguous_runs_end_to_end(corpus_inputs):
    root = corpus_inputs[0]
    with Genome(root / "genome.fa") as genome:
        tiles = genome_tiles(genome, 100)
        for code, start, end in zip(tiles.chrom_codes, tiles.starts, tiles.ends, strict=True):
            chrom = tiles.chroms[code]
            assert end - start == 100
            assert set(genome.fetch(chrom, int(start), int(end)).upper()) <= set("ACGT")
        # chr1 has an N gap at 5,000-7,000: tiles restart at its end, soft-masked bases (lower case) are kept
        chr1 = tiles.starts[tiles.chrom_codes == 0]
        assert 4900 in chr1 and 7000 in chr1 and not ((chr1 > 4900) & (chr1 < 7000)).any()
        assert len(chr1) == 5000 // 100 + 33_000 // 100
        assert np.all(np.diff(chr1) >= 100)  # no overlap


def test_per_cell_type_tiles_are_those_overlapping_its_peaks(corpus_inputs):
    root, peaks, _ = corpus_inputs
    with Genome(root / "genome.fa") as genome:
        sizes = dict(genome.sizes)
        access = acc.from_peak_files(peaks, sizes)
        tiled = tile_accessibility(genome, 200, access)
    assert tiled.cell_types == access.cell_types
    for name, members, original in zip(tiled.cell_types, tiled.members, access.members, strict=True):
        regions = access.regions.take(original)
        expected = []
        for row in range(len(tiled.regions)):  # brute force
            chrom = tiled.regions.chroms[tiled.regions.chrom_codes[row]]
            start, end = tiled.regions.starts[row], tiled.regions.ends[row]
            on = [regions.chroms[c] == chrom for c in regions.chrom_codes]
            hit = np.asarray(on) & (regions.starts < end) & (regions.ends > start)
            if hit.any():
                expected.append(row)
        assert members.tolist() == expected, name


def test_bad_tiles(corpus_inputs, tmp_path):
    root = corpus_inputs[0]
    with Genome(root / "genome.fa") as genome, pytest.raises(UsageError, match="--tile must be at least 6"):
        genome_tiles(genome, 5, min_tile_bp=6)
    gaps = tmp_path / "gaps.fa"
    gaps.write_text(">chrN\n" + "N" * 500 + "\n")
    with Genome(gaps) as genome, pytest.raises(InputFileError, match="no block of at least 100 unambiguous"):
        genome_tiles(genome, 100)


def test_build_corpus_from_a_genome_alone(corpus_inputs, tmp_path):
    root, _, motif_file = corpus_inputs
    out = tmp_path / "tiled"
    argv = ["build-corpus", "--genome", str(root / "genome.fa"), "--motifs", str(motif_file), "--out", str(out),
            "--tile", "55", "--no-progress"]  # fmt: skip
    assert cli_main(argv) == 0
    corpus = load_corpus(out)
    assert corpus.metadata["accessibility"]["cell_types"] == ["genome"]
    assert corpus.metadata["config"]["region_window_bp"] == 55
    sequences = corpus.regions["sequence"]
    assert all(len(s) == 55 for s in sequences)
    # the window is the whole tile, and the motif vector covers exactly it
    assert corpus.regions["window_start"] == corpus.regions["start"]
    expected = scan_max(sequences, load_motifs(motif_file))
    np.testing.assert_allclose(np.asarray(corpus.regions["motif_scores"]), expected, atol=1e-5)
    assert len(corpus.samples) > 100


def test_the_packaged_bgzip_genome_tiles_whole():
    """Reading a whole bgzip-compressed chromosome hits pyfaidx's virtual-offset bug at a block boundary
    (ValueError: within_block_offset 65536); Genome.fetch reads around it."""
    from genebert.genomics.examples import demo_data_path

    with Genome(demo_data_path("chr22_head.fa.gz")) as genome:
        tiles = genome_tiles(genome, 55)
        assert len(tiles) == 119_229  # 6.6 Mbp of real sequence in unambiguous runs
        assert set(genome.fetch("chr22", int(tiles.starts[-1]), int(tiles.ends[-1])).upper()) <= set("ACGT")
