"""Regions from a genome alone: non-overlapping tiles over its unambiguous blocks (``build-corpus --tile BP``).

With no accessibility data the tiles form one pseudo cell type, ``genome``; with peaks or a count matrix, each
cell type gets the tiles that overlap its accessible regions. Either way a corpus can be built from a genome
and motifs alone, and every tile is DNA the sequence tower reads whole when ``--region-window-bp`` equals the
tile.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputFileError, UsageError
from .accessibility import Accessibility
from .intervals import RegionTable
from .sequences import Genome

GENOME_CELL_TYPE = "genome"
# bases read at a time (pyfaidx cannot read a whole bgzip-compressed chromosome in one call)
_CHUNK_BP = 1_000_000
_NUCLEOTIDE = np.zeros(256, dtype=bool)
for _base in "ACGTacgt":
    _NUCLEOTIDE[ord(_base)] = True


def genome_tiles(genome: Genome, tile_bp: int, *, min_tile_bp: int = 1) -> RegionTable:
    """``tile_bp`` windows laid end to end over every run of A, C, G, T (any case) at least ``tile_bp`` long,
    starting at the run's first base; N and IUPAC codes break runs.

    Raises:
        UsageError: ``tile_bp`` smaller than ``min_tile_bp`` (a tile shorter than k holds no k-mer).
        InputFileError: the genome has no such run.
    """
    if tile_bp < max(1, min_tile_bp):
        raise UsageError(f"--tile must be at least {max(1, min_tile_bp)} bp (k), got {tile_bp}")
    chroms = list(genome.sizes)
    codes, starts = [], []
    for code, (chrom, size) in enumerate(genome.sizes.items()):
        chunks = (
            genome.fetch(chrom, start, min(start + _CHUNK_BP, size)) for start in range(0, size, _CHUNK_BP)
        )
        ok = np.concatenate([_NUCLEOTIDE[np.frombuffer(c.encode("latin-1"), dtype=np.uint8)] for c in chunks])
        edges = np.flatnonzero(np.diff(np.concatenate([[False], ok, [False]]).astype(np.int8)))
        for run_start, run_end in zip(edges[0::2], edges[1::2], strict=True):
            count = (run_end - run_start) // tile_bp
            if count:
                starts.append(run_start + tile_bp * np.arange(count, dtype=np.int64))
                codes.append(np.full(count, code, dtype=np.int32))
    if not starts:
        raise InputFileError(genome.path, f"no block of at least {tile_bp} unambiguous bases to tile")
    begin = np.concatenate(starts)
    return RegionTable(chroms, np.concatenate(codes), begin, begin + tile_bp)


def tile_accessibility(
    genome: Genome, tile_bp: int, accessibility: Accessibility | None = None, *, min_tile_bp: int = 1
) -> Accessibility:
    """Genome tiles as accessibility: one pseudo cell type ``genome`` (``accessibility`` None), or per cell type
    of ``accessibility`` the tiles that overlap any of its regions (cell types with none are kept, empty)."""
    tiles = genome_tiles(genome, tile_bp, min_tile_bp=min_tile_bp)
    if accessibility is None:
        return Accessibility(tiles, [GENOME_CELL_TYPE], [np.arange(len(tiles), dtype=np.int64)])
    index = {name: code for code, name in enumerate(tiles.chroms)}
    members = []
    for indices in accessibility.members:
        regions = accessibility.regions.take(indices)
        covered = np.zeros(len(tiles), dtype=bool)
        for source_code, chrom in enumerate(regions.chroms):
            if chrom not in index:
                continue
            on_chrom = regions.chrom_codes == source_code
            starts, ends = _union(regions.starts[on_chrom], regions.ends[on_chrom])
            rows = np.flatnonzero(tiles.chrom_codes == index[chrom])
            last = (
                np.searchsorted(starts, tiles.ends[rows], side="left") - 1
            )  # last interval starting before the end
            covered[rows] = (last >= 0) & (ends[np.maximum(last, 0)] > tiles.starts[rows])
        members.append(np.flatnonzero(covered).astype(np.int64))
    return Accessibility(tiles, list(accessibility.cell_types), members)


def _union(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, merged intervals (so the last one starting before a point is the only one that can cover it)."""
    if len(starts) == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], np.maximum.accumulate(ends[order])
    new = np.concatenate([[True], starts[1:] > ends[:-1]])
    group = np.cumsum(new) - 1
    merged_ends = np.zeros(group[-1] + 1, dtype=np.int64)
    np.maximum.at(merged_ends, group, ends)
    return starts[new], merged_ends


__all__ = ["GENOME_CELL_TYPE", "genome_tiles", "tile_accessibility"]
