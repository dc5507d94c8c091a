"""`datasets` builders for splice sites: UCI splice junctions, and SpliceAI-style windows from FASTA + GTF.

    from dataset_scripts.splice import Splice

    uci = Splice(config_name="uci", data_files="../shared/data/uci_splice/splice.csv", cache_dir="cache")
    windows = Splice(config_name="spliceai_400", genome="hg38.fa", gtf="gencode.gtf", cache_dir="cache")
    for builder in (uci, windows):
        builder.download_and_prepare()
    dataset = windows.as_dataset()   # train / validation / test (SpliceAI's chromosome split)

Classes: 0 = neither, 1 = acceptor, 2 = donor (SpliceAI's order; UCI IE = acceptor, EI = donor, N = neither).

* ``uci``: 3190 x 60 nt. Ambiguity codes (N, D, S, R in a few rows) are kept by default (the tokenizer makes
  every k-mer touching one ``[UNK]``); ``ambiguity="drop"`` leaves those rows out, ``"error"`` rejects them.
  Split: seeded stratified 80/10/10.
* ``spliceai_80`` / ``spliceai_400`` / ``spliceai_2000``: windows of context + 1 nt centred on every donor,
  acceptor and an equal number of sampled non-site bases of each transcript, on the transcript's strand.
  Test = chromosomes 1, 3, 5, 7, 9 (SpliceAI); train = the rest, a seeded 10% of its transcripts for validation.
  See :mod:`genebert.genomics.splice` for the exact site positions.
"""

from __future__ import annotations

import dataclasses

import datasets

from dataset_scripts._task_builder import GENEBERT_CITATION, TaskBuilder
from genebert.genomics.splice import (
    SPLICE_LABELS,
    SPLICEAI_CONTEXTS,
    SPLICEAI_TEST_CHROMOSOMES,
    read_uci_splice,
    spliceai_windows,
)
from genebert.genomics.tables import SPLITS, deduplicate_pool, seeded_split

_DESCRIPTION = """\
Splice site prediction, three classes (0 neither, 1 acceptor, 2 donor): the UCI splice-junction data set
(Towell, Noordewier and Shavlik 1992; 60 nt) or SpliceAI-style windows (80/400/2000 nt of context around the
labelled base) from a genome FASTA and a GTF annotation, split by chromosome as SpliceAI.
"""

_CITATION = (
    GENEBERT_CITATION
    + """@article{jaganathan2019spliceai,
  title   = {Predicting Splicing from Primary Sequence with Deep Learning},
  author  = {Jaganathan, Kishore and others},
  journal = {Cell}, volume = {176}, number = {3}, pages = {535--548}, year = {2019}
}
@misc{uci_splice,
  title  = {Molecular Biology (Splice-junction Gene Sequences)},
  author = {Towell, Geoffrey and Noordewier, Michiel and Shavlik, Jude},
  howpublished = {UCI Machine Learning Repository, DOI 10.24432/C5M888}, year = {1992}
}
"""
)


@dataclasses.dataclass
class SpliceConfig(datasets.BuilderConfig):
    """``uci``: ``data_files`` (the splice.csv / splice.data path) and ``ambiguity``; ``spliceai_*``: ``genome``,
    ``gtf``, ``context``, ``neither_per_site``, ``test_chromosomes``."""

    ambiguity: str = "keep"
    genome: str | None = None
    gtf: str | None = None
    context: int = 400
    neither_per_site: float = 1.0
    test_chromosomes: tuple[str, ...] = SPLICEAI_TEST_CHROMOSOMES
    seed: int = 42


class Splice(TaskBuilder):
    """UCI splice junctions or SpliceAI-style windows (see the module docstring)."""

    BUILDER_CONFIG_CLASS = SpliceConfig
    BUILDER_CONFIGS = [SpliceConfig(name="uci", description="UCI splice junctions, 60 nt")] + [
        SpliceConfig(
            name=f"spliceai_{c}", context=c, description=f"SpliceAI-style windows, {c} nt of context"
        )
        for c in SPLICEAI_CONTEXTS
    ]
    DEFAULT_CONFIG_NAME = "uci"

    def _info(self) -> datasets.DatasetInfo:
        columns = {
            "id": datasets.Value("string"),
            "sequence": datasets.Value("string"),
            "label": datasets.ClassLabel(names=list(SPLICE_LABELS)),
        }
        if self.config.name.startswith("spliceai"):
            columns.update(
                chrom=datasets.Value("string"),
                position=datasets.Value("int64"),
                strand=datasets.Value("string"),
                transcript_id=datasets.Value("string"),
            )
        return datasets.DatasetInfo(
            description=_DESCRIPTION, citation=_CITATION, features=datasets.Features(columns)
        )

    def _split_generators(self, dl_manager):
        config = self.config
        if config.name.startswith("spliceai"):
            if not (config.genome and config.gtf):
                raise ValueError(f"{config.name} needs genome=... and gtf=...")
            splits = spliceai_windows(
                config.genome,
                config.gtf,
                context=config.context,
                neither_per_site=config.neither_per_site,
                test_chromosomes=tuple(config.test_chromosomes),
                seed=config.seed,
            )
            return self._records_to_splits(splits)
        files = config.data_files
        path = None
        if isinstance(files, str):
            path = files
        elif files:  # datasets normalises data_files to {split: [paths]}
            path = next(iter(files.values()))[0]
        if path is None:
            raise ValueError("the 'uci' config needs data_files=... (the UCI splice.csv / splice.data)")
        # identical sequences kept once, conflicting labels left out, before splitting (as genebert's uci_splice)
        records, _ = deduplicate_pool(read_uci_splice(path, config.ambiguity))
        names = seeded_split(len(records), config.seed, stratify=[r["label"] for r in records])
        splits = {split: [r for r, s in zip(records, names, strict=True) if s == split] for split in SPLITS}
        return self._records_to_splits(splits)
