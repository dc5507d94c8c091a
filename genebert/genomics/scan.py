"""Scan the sequences of a FASTA file, or the regions of a BED file, with a motif set and write a table."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from ..storage import atomic_output
from .intervals import read_bed
from .motifs import MotifSet, scan_max
from .sequences import Genome, read_fasta


def _records(fasta: Path | None, bed: Path | None, genome: Path | None) -> Iterator[tuple[str, str]]:
    if fasta is not None:
        for record in read_fasta(fasta):
            yield record.name, record.sequence
        return
    with Genome(genome) as reference:
        regions = read_bed(bed, reference.sizes)
        for index in range(len(regions)):
            chrom, start, end = regions.chrom_of(index), int(regions.starts[index]), int(regions.ends[index])
            yield f"{chrom}:{start}-{end}", reference.fetch(chrom, start, end)


def scan_to_table(
    motifs: MotifSet,
    out: str | Path,
    *,
    fasta: str | Path | None = None,
    bed: str | Path | None = None,
    genome: str | Path | None = None,
    chunk_size: int = 2048,
    device: str | None = None,
    progress: bool = True,
) -> int:
    """Write the best score of every motif for every sequence (FASTA) or region (BED + genome).

    The output is a TSV (``.tsv``/``.txt``) or parquet (``.parquet``) table: a ``name`` column (FASTA record name
    or ``chrom:start-end``) then one float32 column per motif, in the motif set's order. Written to a temporary
    file and renamed, so a failed scan leaves no partial table. Returns the number of rows.
    """
    if (fasta is None) == (bed is None):
        raise ValueError("give either a FASTA file or a BED file (with its genome)")
    if bed is not None and genome is None:
        raise ValueError("a BED file needs the genome FASTA it refers to")
    out = Path(out)
    if out.suffix not in (".tsv", ".txt", ".parquet"):
        raise ValueError(f"{out}: the output must end in .tsv, .txt or .parquet")
    names: list[str] = []
    blocks: list[np.ndarray] = []
    records = _records(
        Path(fasta) if fasta else None, Path(bed) if bed else None, Path(genome) if genome else None
    )
    with tqdm(unit="seq", desc="scanning", disable=not progress) as bar:
        while batch := list(itertools.islice(records, chunk_size)):
            blocks.append(scan_max([sequence for _, sequence in batch], motifs, device=device))
            names += [name for name, _ in batch]
            bar.update(len(batch))
    scores = np.concatenate(blocks) if blocks else np.zeros((0, len(motifs)), dtype=np.float32)
    with atomic_output(out) as temporary:
        if out.suffix == ".parquet":
            columns = {"name": pa.array(names, type=pa.string())}
            columns.update({motif: pa.array(scores[:, i]) for i, motif in enumerate(motifs.names)})
            pq.write_table(pa.table(columns), temporary)
        else:
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.write("name\t" + "\t".join(motifs.names) + "\n")
                for name, row in zip(names, scores, strict=True):
                    handle.write(name + "\t" + "\t".join(f"{value:.4f}" for value in row) + "\n")
    return len(names)
