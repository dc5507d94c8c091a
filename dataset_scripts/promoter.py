"""`datasets` builder for promoter / generic DNA sequence classification from ``sequence,label`` tables.

datasets 5 has no loading scripts, so use the class directly::

    from dataset_scripts.promoter import SequenceClassification

    builder = SequenceClassification(data_dir="../shared/data/gue/prom/prom_core_all", cache_dir="cache")
    builder.download_and_prepare()
    dataset = builder.as_dataset()              # DatasetDict: train / validation / test
    builder.export_parquet("out/prom_core_all")  # parquet + README.md for the Hub

``data_dir`` holds ``train``, ``dev`` (or ``validation``) and ``test`` files as ``.csv`` or ``.tsv``: GUE's
``sequence,label`` CSVs and DNABERT's TSVs (space-separated 6-mers, joined back to DNA) are both read, by
:func:`genebert.genomics.tables.read_sequence_table`. Bad rows raise an error naming the file and line.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import datasets

from dataset_scripts._task_builder import GENEBERT_CITATION, TaskBuilder
from genebert.genomics.tables import encode_labels, label_names, read_sequence_table

_DESCRIPTION = """\
DNA sequence classification (promoter vs non-promoter, or any sequence,label task) from GUE CSV or DNABERT
TSV files: one row per sequence with its DNA (upper case; DNABERT k-mers joined back) and class label.
"""

_CITATION = (
    GENEBERT_CITATION
    + """@article{zhou2023dnabert2,
  title   = {DNABERT-2: Efficient Foundation Model and Benchmark For Multi-Species Genome},
  author  = {Zhou, Zhihan and Ji, Yanrong and Li, Weijian and Dutta, Pratik and Davuluri, Ramana and Liu, Han},
  journal = {arXiv preprint arXiv:2306.15006},
  year    = {2023}
}
"""
)

_SPLIT_STEMS = {"train": ("train",), "validation": ("dev", "validation", "valid"), "test": ("test",)}


@dataclasses.dataclass
class SequenceClassificationConfig(datasets.BuilderConfig):
    """``labels``: the class names in id order (default: read from the files, sorted numerically if integers);
    ``sequence_length``: required length of every sequence (bp), or None."""

    labels: list[str] | None = None
    sequence_length: int | None = None
    sequence_column: str = "sequence"
    label_column: str = "label"


def split_files(data_dir: str | Path) -> dict[str, Path]:
    """The train / validation / test files of ``data_dir`` (``dev.*`` is validation; ``.csv`` or ``.tsv``)."""
    folder = Path(data_dir)
    found = {}
    for split, stems in _SPLIT_STEMS.items():
        for stem in stems:
            for suffix in (".csv", ".tsv"):
                if (folder / f"{stem}{suffix}").is_file():
                    found.setdefault(split, folder / f"{stem}{suffix}")
    if not found:
        raise FileNotFoundError(f"no train/dev/test .csv or .tsv in {folder}")
    return found


class SequenceClassification(TaskBuilder):
    """Sequence classification from ``sequence,label`` CSV/TSV files (GUE or DNABERT layout)."""

    BUILDER_CONFIG_CLASS = SequenceClassificationConfig
    BUILDER_CONFIGS = [SequenceClassificationConfig(name="default", description="sequence,label tables")]
    DEFAULT_CONFIG_NAME = "default"

    def _read(self) -> dict[str, list[dict]]:
        if not hasattr(self, "_splits"):
            if not self.config.data_dir:
                raise ValueError(
                    "SequenceClassification needs data_dir=... (a folder with train/dev/test files)"
                )
            self._splits = {
                split: read_sequence_table(
                    path,
                    sequence_column=self.config.sequence_column,
                    label_column=self.config.label_column,
                    labels=self.config.labels,
                    sequence_length=self.config.sequence_length,
                )
                for split, path in split_files(self.config.data_dir).items()
            }
        return self._splits

    def _label_names(self) -> list[str]:
        if self.config.labels:
            return [str(label) for label in self.config.labels]
        return label_names(record["label"] for records in self._read().values() for record in records)

    def _info(self) -> datasets.DatasetInfo:
        features = datasets.Features(
            {
                "id": datasets.Value("string"),
                "sequence": datasets.Value("string"),
                "label": datasets.ClassLabel(names=self._label_names()),
            }
        )
        return datasets.DatasetInfo(description=_DESCRIPTION, citation=_CITATION, features=features)

    def _split_generators(self, dl_manager):
        names = self._label_names()
        splits = {}
        for split, records in self._read().items():
            ids = encode_labels([r["label"] for r in records], names)
            splits[split] = [{**r, "label": i} for r, i in zip(records, ids, strict=True)]
        return self._records_to_splits(splits)
