"""`datasets` builder for TF binding: peaks (positives) vs dinucleotide-shuffled peaks (negatives).

The paper's protocol: each positive (a ChIP-seq peak sequence) gets one negative, the same sequence shuffled
with its dinucleotide counts preserved (Altschul-Erickson; :func:`genebert.genomics.shuffle.dinucleotide_shuffle`,
seeded per sequence). Positives come from a FASTA, or from a BED + genome FASTA (optionally re-centred to a
fixed ``width``)::

    from dataset_scripts.tf_binding import TfBinding

    builder = TfBinding(positives_fasta="../shared/data/ctcf_gm12878_gimmemotifs/Gm12878.CTCF.top500.w200.fa",
                        cache_dir="cache")
    # or TfBinding(bed="peaks.bed", genome="hg19.fa", width=200)
    builder.download_and_prepare()
    dataset = builder.as_dataset()      # train / validation / test, seeded 80/10/10 over peaks

Each shuffled negative goes to its positive's split, so no split holds the shuffle of another split's peak.
"""

from __future__ import annotations

import dataclasses

import datasets

from dataset_scripts._task_builder import GENEBERT_CITATION, TaskBuilder
from genebert.genomics.tables import (
    SPLITS,
    read_bed_sequences,
    read_fasta_sequences,
    seeded_split,
    tf_binding_examples,
)

_DESCRIPTION = """\
TF binding site prediction: ChIP-seq peak sequences (label 1, "bound") against the same sequences shuffled
with their dinucleotide counts preserved (label 0, "shuffled"; Altschul-Erickson Eulerian-path shuffle, seeded
per sequence), as in the GeneBERT paper's TF-binding evaluation.
"""

_CITATION = (
    GENEBERT_CITATION
    + """@article{altschul1985shuffle,
  title   = {Significance of nucleotide sequence alignments: a method for random sequence permutation that
             preserves dinucleotide and codon usage},
  author  = {Altschul, Stephen F and Erickson, Bruce W},
  journal = {Molecular Biology and Evolution}, volume = {2}, number = {6}, pages = {526--538}, year = {1985}
}
"""
)


@dataclasses.dataclass
class TfBindingConfig(datasets.BuilderConfig):
    """Positives from ``positives_fasta``, or ``bed`` + ``genome`` (``width``: a window centred on each peak)."""

    positives_fasta: str | None = None
    bed: str | None = None
    genome: str | None = None
    width: int | None = None
    seed: int = 42
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)


class TfBinding(TaskBuilder):
    """Peaks vs their dinucleotide shuffles, split 80/10/10 over peaks (seeded)."""

    BUILDER_CONFIG_CLASS = TfBindingConfig
    BUILDER_CONFIGS = [TfBindingConfig(name="default", description="peaks vs dinucleotide shuffles")]
    DEFAULT_CONFIG_NAME = "default"

    def _info(self) -> datasets.DatasetInfo:
        features = datasets.Features(
            {
                "id": datasets.Value("string"),
                "sequence": datasets.Value("string"),
                "label": datasets.ClassLabel(names=["shuffled", "bound"]),
                "group": datasets.Value("int64"),
            }
        )
        return datasets.DatasetInfo(description=_DESCRIPTION, citation=_CITATION, features=features)

    def _split_generators(self, dl_manager):
        config = self.config
        if config.positives_fasta:
            positives = read_fasta_sequences(config.positives_fasta)
        elif config.bed and config.genome:
            positives = read_bed_sequences(config.bed, config.genome, config.width)
        else:
            raise ValueError("TfBinding needs positives_fasta=... or bed=... and genome=...")
        examples = tf_binding_examples(positives, config.seed)
        names = seeded_split(
            len(examples), config.seed, tuple(config.fractions), groups=[e["group"] for e in examples]
        )
        splits = {split: [e for e, s in zip(examples, names, strict=True) if s == split] for split in SPLITS}
        return self._records_to_splits(splits)
