"""Samples: runs of consecutive usable regions of one cell type on one chromosome, as rows of region ids."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ...errors import UsageError
from ..accessibility import Accessibility
from .format import CorpusConfig, sample_features


def make_samples(
    accessibility: Accessibility, usable: np.ndarray, config: CorpusConfig
) -> tuple[pa.Table, dict[str, int], list[str]]:
    """Group each cell type's usable regions into samples of consecutive regions on one chromosome."""
    size, stride = config.regions_per_sample, config.stride
    cell_type_column, chrom_column, id_rows = [], [], []
    per_cell_type: dict[str, int] = {}
    skipped: list[str] = []
    regions = accessibility.regions
    for name, members in zip(accessibility.cell_types, accessibility.members, strict=True):
        ids = members[usable[members]]
        if len(ids) < config.min_regions_per_cell_type or len(ids) < size:
            warnings.warn(
                f"cell type {name!r} has {len(ids)} usable regions (< {max(config.min_regions_per_cell_type, size)}): skipped",
                UserWarning,
                stacklevel=2,
            )
            skipped.append(name)
            continue
        produced = 0
        codes = regions.chrom_codes[ids]
        boundaries = np.flatnonzero(np.diff(codes)) + 1
        for run in np.split(ids, boundaries):
            if len(run) < size:
                continue
            starts = list(range(0, len(run) - size + 1, stride))
            if config.leftover == "overlap" and starts[-1] + size < len(run):
                starts.append(len(run) - size)
            for offset in starts:
                id_rows.append(run[offset : offset + size])
                cell_type_column.append(name)
                chrom_column.append(regions.chroms[int(regions.chrom_codes[run[0]])])
            produced += len(starts)
        if produced == 0:
            warnings.warn(
                f"cell type {name!r}: no chromosome has {size} usable regions of it, so it gives no sample: skipped",
                UserWarning,
                stacklevel=2,
            )
            skipped.append(name)
            continue
        per_cell_type[name] = produced
    features = sample_features(size)
    flat = np.concatenate(id_rows).astype(np.int64) if id_rows else np.zeros(0, dtype=np.int64)
    table = pa.Table.from_pydict(
        {
            "sample_id": pa.array(np.arange(len(id_rows), dtype=np.int64)),
            "cell_type": pa.array(cell_type_column, type=pa.string()),
            "chrom": pa.array(chrom_column, type=pa.string()),
            "region_ids": pa.FixedSizeListArray.from_arrays(pa.array(flat), size),
        },
        schema=features.arrow_schema,
    )
    return table, per_cell_type, skipped


@dataclass(frozen=True)
class BlockSplit:
    """Samples split by contiguous genome blocks: every region of an ``evaluation`` sample lies in a held-out
    block and no region of a ``train`` sample does, so the two never share DNA (samples straddling both are
    ``dropped``). ``blocks`` lists the held-out blocks as ``(chrom, start, end)``."""

    train: np.ndarray
    evaluation: np.ndarray
    dropped: np.ndarray
    blocks: list[tuple[str, int, int]]
    block_bp: int
    seed: int

    def to_json(self) -> dict:
        return {
            "block_bp": self.block_bp,
            "seed": self.seed,
            "heldout_blocks": [list(block) for block in self.blocks],
            "train_samples": len(self.train),
            "evaluation_samples": len(self.evaluation),
            "dropped_samples": len(self.dropped),
        }


def split_by_genome_blocks(
    region_chroms: Sequence[str],
    region_starts: np.ndarray,
    sample_region_ids: np.ndarray,
    fraction: float,
    block_bp: int | None,
    seed: int,
) -> BlockSplit:
    """Hold out a seeded ``fraction`` of the genome blocks (``block_bp`` bases each, per chromosome) that hold
    sample regions: evaluation samples lie wholly inside held-out blocks, training samples wholly outside.

    Args:
        region_chroms, region_starts: per region (row = region id).
        sample_region_ids: ``(n_samples, regions_per_sample)`` region ids.
        fraction: share of blocks held out (0: no evaluation samples).
        block_bp: block size; ``None`` picks 4x the median genomic span of a sample, rounded up to 1, 2 or 5 x
            10^k bp (about 2 Mb for ATAC peaks of a mammalian genome, a few kb for tiled windows).

    Raises:
        UsageError: ``block_bp`` < 1, ``fraction`` outside [0, 1), or a split that leaves no training sample.
    """
    if block_bp is None:
        block_bp = _auto_block_bp(region_chroms, region_starts, sample_region_ids)
    if block_bp < 1:
        raise UsageError(f"--heldout_block_bp must be a positive number of bases, got {block_bp}")
    if not 0.0 <= fraction < 1.0:
        raise UsageError(f"--validation_fraction must be in [0, 1), got {fraction}")
    ids = np.asarray(sample_region_ids, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if fraction == 0 or len(ids) == 0:
        return BlockSplit(np.arange(len(ids)), empty, empty, [], block_bp, seed)
    chrom_names, chrom_codes = np.unique(
        np.asarray(region_chroms, dtype=object).astype(str), return_inverse=True
    )
    block_index = np.asarray(region_starts, dtype=np.int64) // block_bp
    # one integer per (chromosome, block) of every region
    region_block = chrom_codes.astype(np.int64) * (int(block_index.max()) + 1) + block_index
    used = np.unique(region_block[ids])
    order = np.random.default_rng(seed).permutation(len(used))
    n_heldout = max(1, round(fraction * len(used)))
    if n_heldout >= len(used):
        raise UsageError(
            f"--validation_fraction {fraction} holds out all {len(used)} genome blocks of {block_bp:,} bp "
            "that hold samples, leaving no training sample; lower it or use smaller --heldout_block_bp"
        )
    heldout = np.isin(region_block[ids], used[order[:n_heldout]])  # (n_samples, regions_per_sample)
    evaluation, train = np.flatnonzero(heldout.all(axis=1)), np.flatnonzero(~heldout.any(axis=1))
    dropped = np.flatnonzero(heldout.any(axis=1) & ~heldout.all(axis=1))
    if len(train) == 0:
        raise UsageError(
            f"holding out {n_heldout} of {len(used)} genome blocks of {block_bp:,} bp leaves no training sample; "
            "lower --validation_fraction or use smaller --heldout_block_bp"
        )
    span = int(block_index.max()) + 1
    blocks = sorted(
        (str(chrom_names[int(b) // span]), int(b) % span * block_bp, (int(b) % span + 1) * block_bp)
        for b in used[order[:n_heldout]]
    )
    return BlockSplit(train, evaluation, dropped, blocks, block_bp, seed)


def _auto_block_bp(
    region_chroms: Sequence[str], region_starts: np.ndarray, sample_region_ids: np.ndarray
) -> int:
    """Blocks much longer than a sample (4x the median span, rounded up to 1, 2 or 5 x 10^k bp), so that few
    samples straddle a block boundary."""
    starts = np.asarray(region_starts, dtype=np.int64)[np.asarray(sample_region_ids, dtype=np.int64)]
    span = int(np.median(starts.max(axis=1) - starts.min(axis=1))) + 1 if len(starts) else 1
    target = 4 * span
    scale = 10 ** max(0, len(str(target)) - 1)
    return next(m * scale for m in (1, 2, 5, 10) if m * scale >= target)


def check_samples_possible(accessibility: Accessibility, config: CorpusConfig) -> None:
    """Refuse, before any scanning, a build that cannot give a single sample: no cell type has
    ``regions_per_sample`` regions on one chromosome and ``min_regions_per_cell_type`` in all."""
    codes = accessibility.regions.chrom_codes
    for members in accessibility.members:
        needed = max(config.min_regions_per_cell_type, config.regions_per_sample)
        if len(members) >= needed and np.bincount(codes[members]).max() >= config.regions_per_sample:
            return
    largest = max((len(m) for m in accessibility.members), default=0)
    raise UsageError(
        f"no sample can be made: the largest cell type has {largest} regions, and a sample needs "
        f"{config.regions_per_sample} (--regions-per-sample) consecutive regions on one chromosome of a cell type "
        f"with at least {config.min_regions_per_cell_type} regions; give more peaks or a smaller --regions-per-sample"
    )
