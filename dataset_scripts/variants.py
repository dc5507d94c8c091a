"""`datasets` builder for variant tasks (disease risk, variant effect): VCF + genome -> ref / alt windows.

    from dataset_scripts.variants import Variants

    builder = Variants(vcf="variants.vcf.gz", genome="hg19.fa", window=200, label_info_key="LABEL",
                       cache_dir="cache")           # or label_table="labels.tsv"
    builder.download_and_prepare()
    dataset = builder.as_dataset()                  # train (and test with test_chromosomes=[...])

Each ALT allele of each record gives one row: the reference window (``window // 2`` nt, REF, ``window // 2``
nt) and the alternative window (same flanks around ALT). REF is checked against the genome; a mismatch is an
error naming the variant and the VCF line (:mod:`genebert.genomics.variants`).
"""

from __future__ import annotations

import dataclasses

import datasets

from dataset_scripts._task_builder import GENEBERT_CITATION, TaskBuilder
from genebert.genomics.variants import variant_windows

_DESCRIPTION = """\
Variant effect / disease risk: for every variant of a VCF, the reference and alternative DNA windows centred
on it (REF verified against the genome) and its label from an INFO key or a label table.
"""


@dataclasses.dataclass
class VariantsConfig(datasets.BuilderConfig):
    """``vcf`` and ``genome`` paths; labels from ``label_info_key`` or ``label_table``; ``test_chromosomes``
    (optional) sends those chromosomes' variants to a test split."""

    vcf: str | None = None
    genome: str | None = None
    window: int = 200
    label_info_key: str | None = None
    label_table: str | None = None
    labels: tuple[str, ...] | None = None
    test_chromosomes: tuple[str, ...] = ()


class Variants(TaskBuilder):
    """Reference / alternative windows of VCF variants."""

    BUILDER_CONFIG_CLASS = VariantsConfig
    BUILDER_CONFIGS = [VariantsConfig(name="default", description="ref/alt windows of VCF variants")]
    DEFAULT_CONFIG_NAME = "default"

    def _info(self) -> datasets.DatasetInfo:
        features = datasets.Features(
            {
                "id": datasets.Value("string"),
                "chrom": datasets.Value("string"),
                "pos": datasets.Value("int64"),
                "ref": datasets.Value("string"),
                "alt": datasets.Value("string"),
                "ref_sequence": datasets.Value("string"),
                "alt_sequence": datasets.Value("string"),
                "label": datasets.Value("string"),
            }
        )
        return datasets.DatasetInfo(description=_DESCRIPTION, citation=GENEBERT_CITATION, features=features)

    def _split_generators(self, dl_manager):
        config = self.config
        if not (config.vcf and config.genome):
            raise ValueError("Variants needs vcf=... and genome=...")
        records = variant_windows(
            config.vcf,
            config.genome,
            window=config.window,
            label_info_key=config.label_info_key,
            label_table=config.label_table,
            labels=tuple(config.labels) if config.labels else None,
        )
        test = set(config.test_chromosomes)
        splits = {
            "train": [r for r in records if r["chrom"] not in test],
            "test": [r for r in records if r["chrom"] in test],
        }
        return self._records_to_splits(splits)
