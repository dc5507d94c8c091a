"""The pre-training corpus: accessible regions + genome + motifs -> a `datasets` corpus (paper 3.1 and 4.1).

Layout of a corpus directory::

    metadata.json                 motif names, per-motif mean/std, fingerprints, every parameter
    regions/regions-00000.arrow   one Arrow file per chunk of regions (memory-mapped by `datasets`)
    samples.arrow                 cell type, chromosome and the ids of 10 consecutive regions

Motif scans run once per unique region (the union over cell types); samples are lists of region ids, so
storage grows with regions, not samples x 10. Row ``i`` of the region table has ``region_id == i``.

Building is resumable and deterministic. Work happens in ``OUT.partial/``: each chunk (a block of
``chunk_size`` consecutive regions of one chromosome) is written atomically (temporary file + rename), so
a killed build resumes from its finished chunks. The corpus is then assembled in a temporary directory and
renamed into place. ``--shard I/N`` builds only the chunks of one deterministic set of whole chromosomes;
:func:`merge_corpus` assembles shards into a corpus byte-identical to a single-machine build.
"""

from .build import (
    CorpusSummary,
    build_corpus,
    estimated_corpus_bytes,
    merge_corpus,
    parse_shard,
    window_bounds,
)
from .format import (
    FORMAT_VERSION,
    MAX_TOKENS,
    MOTIF_SCOPES,
    Corpus,
    CorpusConfig,
    corpus_fingerprint,
    default_region_window_bp,
    load_corpus,
    region_features,
    sample_features,
)
from .samples import BlockSplit, make_samples, split_by_genome_blocks

__all__ = [
    "FORMAT_VERSION",
    "MAX_TOKENS",
    "MOTIF_SCOPES",
    "BlockSplit",
    "Corpus",
    "CorpusConfig",
    "CorpusSummary",
    "build_corpus",
    "corpus_fingerprint",
    "default_region_window_bp",
    "estimated_corpus_bytes",
    "load_corpus",
    "make_samples",
    "merge_corpus",
    "parse_shard",
    "region_features",
    "sample_features",
    "split_by_genome_blocks",
    "window_bounds"
]  # fmt: skip
