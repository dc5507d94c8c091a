"""Samples: runs of consecutive usable regions of one cell type on one chromosome, as rows of region ids."""

from __future__ import annotations

import warnings

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
