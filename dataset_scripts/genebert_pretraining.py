"""`datasets` builder for the GeneBERT pre-training corpus (thin: the logic lives in genebert.genomics).

datasets 5 has no loading scripts, so use the class directly::

    from dataset_scripts.genebert_pretraining import GeneBertPretraining

    builder = GeneBertPretraining(
        config_name="regions",                       # or "samples"
        genome="hg19.fa",
        matrix_dirs=["scatac/"], cell_type_columns=["Cell_Type"],   # or peaks={"GM12878": "gm.bed", ...}
        motifs="JASPAR2018",
        cache_dir="~/.cache/genebert-datasets",
    )
    builder.download_and_prepare()
    regions = builder.as_dataset(split="train")

The corpus itself (``genebert build-corpus``) is the faster path for training; this builder exists so the
corpus can be prepared, cached and published like any `datasets` data set.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from pathlib import Path

import datasets

from dataset_scripts._task_builder import GENEBERT_CITATION
from genebert.genomics import accessibility as access
from genebert.genomics.corpus import CorpusConfig, build_corpus, load_corpus, region_features, sample_features
from genebert.genomics.motifs import load_motifs
from genebert.genomics.sequences import Genome

_DESCRIPTION = """\
GeneBERT pre-training corpus (Mo et al. 2021, section 3.1): accessible regions of several cell types with
their DNA window and a motif vector (the best log-odds score of every motif over the region, both
strands), and samples of 10 consecutive accessible regions of one cell type on one chromosome.
"""


@dataclasses.dataclass
class GeneBertPretrainingConfig(datasets.BuilderConfig):
    """Inputs and parameters of the corpus; ``name`` is ``"regions"`` or ``"samples"``."""

    genome: str | None = None
    peaks: dict[str, str] | None = None
    matrix_dirs: list[str] | None = None
    cell_type_columns: list[str] | None = None
    h5ad: str | None = None
    motifs: str = "JASPAR2018"
    min_counts: int = 1
    min_cells: int = 1
    unknown_chroms: str = "error"
    corpus: dict = dataclasses.field(default_factory=dict)  # CorpusConfig fields


class GeneBertPretraining(datasets.GeneratorBasedBuilder):
    """The regions table or the samples table of a GeneBERT corpus."""

    BUILDER_CONFIG_CLASS = GeneBertPretrainingConfig
    BUILDER_CONFIGS = [
        GeneBertPretrainingConfig(name="regions", description="one row per accessible region"),
        GeneBertPretrainingConfig(name="samples", description="one row per sample of 10 consecutive regions"),
    ]
    DEFAULT_CONFIG_NAME = "regions"

    def _info(self) -> datasets.DatasetInfo:
        corpus_config = CorpusConfig(**self.config.corpus)
        if self.config.name == "samples":
            features = sample_features(corpus_config.regions_per_sample)
        else:
            features = region_features(len(self._motifs()), corpus_config.motif_dtype)
        return datasets.DatasetInfo(description=_DESCRIPTION, citation=GENEBERT_CITATION, features=features)

    def _motifs(self):
        if not hasattr(self, "_motif_set"):
            self._motif_set = load_motifs(self.config.motifs)
        return self._motif_set

    def _accessibility(self, sizes: dict[str, int]):
        config = self.config
        return access.load_accessibility(
            sizes,
            peaks=config.peaks,
            matrix_dirs=config.matrix_dirs,
            h5ad=config.h5ad,
            cell_type_columns=config.cell_type_columns,
            min_counts=config.min_counts,
            min_cells=config.min_cells,
            unknown_chroms=config.unknown_chroms,
        )

    def _split_generators(self, dl_manager):
        if not self.config.genome:
            raise ValueError("GeneBertPretraining needs genome=... (a FASTA path)")
        with Genome(self.config.genome) as genome:
            sizes = dict(genome.sizes)
        key = json.dumps(dataclasses.asdict(self.config), sort_keys=True, default=str)
        corpus_dir = (
            Path(self._cache_dir_root) / "genebert_corpus" / hashlib.sha256(key.encode()).hexdigest()[:16]
        )
        if not (corpus_dir / "metadata.json").is_file():
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                build_corpus(
                    self.config.genome,
                    self._accessibility(sizes),
                    self._motifs(),
                    corpus_dir,
                    CorpusConfig(**self.config.corpus),
                    progress=True,
                )
        return [
            datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={"corpus_dir": str(corpus_dir)})
        ]

    def _generate_examples(self, corpus_dir: str):
        corpus = load_corpus(corpus_dir)
        table = corpus.samples if self.config.name == "samples" else corpus.regions
        yield from enumerate(table)


def export_parquet(corpus_dir: str | Path, out_dir: str | Path) -> Path:
    """Write a built corpus as parquet + metadata.json, ready to publish on the Hub."""
    return load_corpus(corpus_dir).export_parquet(out_dir)
