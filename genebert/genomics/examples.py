"""Corpora from the data shipped in the package (``genebert/demo_data``, see its PROVENANCE.md): the real hg19
chr22 slice with two scATAC data sets, and synthetic genomes with planted motifs. The demo, the studies and the
benchmarks build from here."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def demo_data_path(name: str) -> Path:
    """A file or folder of the embedded demo data (``genebert/demo_data``, see its PROVENANCE.md)."""
    return Path(str(resources.files("genebert") / "demo_data" / name))


def build_real_corpus(out: Path, progress: bool = True):
    from . import accessibility
    from .corpus import build_corpus
    from .motifs import load_motifs
    from .sequences import Genome

    genome = demo_data_path("chr22_head.fa.gz")
    with Genome(genome) as reference:
        sizes = dict(reference.sizes)
    access = accessibility.load_accessibility(
        sizes,
        matrix_dirs=[demo_data_path("scatac_chromvar_chr22"), demo_data_path("scatac_hemato_chr22")],
        cell_type_columns=["Cell_Type", "BioClassification"],
    )
    return build_corpus(genome, access, load_motifs("JASPAR2018"), out, progress=progress)


def build_tiled_real_corpus(out: Path, tile_bp: int, kmer: int, progress: bool = True):
    """The embedded hg19 chr22 slice cut into ``tile_bp`` tiles (one pseudo cell type ``genome``), every tile a
    region whose motif vector is scored over exactly its bases: tens of thousands of samples of real DNA, enough
    to pre-train on in minutes (the demo's corpus)."""
    from .corpus import CorpusConfig, build_corpus
    from .motifs import load_motifs
    from .sequences import Genome
    from .tiles import tile_accessibility

    genome = demo_data_path("chr22_head.fa.gz")
    with Genome(genome) as reference:
        access = tile_accessibility(reference, tile_bp, min_tile_bp=kmer)
    config = CorpusConfig(kmer=kmer, region_window_bp=tile_bp)
    return build_corpus(genome, access, load_motifs("JASPAR2018"), out, config, progress=progress)


def build_synthetic_corpus(
    out: Path,
    regions_per_cell_type: int,
    seed: int,
    progress: bool = True,
    region_window_bp: int | None = None,
    kmer: int = 6,
    instances_per_region: int = 3,
):
    """Write a planted-motif data set (:mod:`genebert.genomics.synthetic`) and build its corpus at ``out``.

    ``instances_per_region`` planted motif instances per region (the first at the centre, inside the sequence
    window); ``region_window_bp`` and ``kmer`` are the corpus's. Returns ``(corpus, truth)``.
    """
    from . import accessibility
    from .corpus import CorpusConfig, build_corpus
    from .motifs import load_motifs
    from .sequences import Genome
    from .synthetic import SyntheticSpec, write_planted_dataset

    motifs = load_motifs("JASPAR2018")
    truth = write_planted_dataset(
        out.parent / (out.name + "_inputs"),
        motifs,
        SyntheticSpec(
            regions_per_cell_type=regions_per_cell_type, instances_per_region=instances_per_region, seed=seed
        ),
    )
    with Genome(truth["genome"]) as reference:
        sizes = dict(reference.sizes)
    access = accessibility.from_peak_files(truth["peaks"], sizes)
    config = CorpusConfig(kmer=kmer, region_window_bp=region_window_bp)
    return build_corpus(truth["genome"], access, motifs, out, config, progress=progress), truth


__all__ = ["build_real_corpus", "build_synthetic_corpus", "build_tiled_real_corpus", "demo_data_path"]
