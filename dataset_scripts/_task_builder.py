"""Shared parts of the downstream-task builders: a citation, and ``export_parquet`` for publishing on the Hub."""

from __future__ import annotations

import logging
from pathlib import Path

import datasets

from genebert import CITATION
from genebert.genomics.tables import deduplicate_splits

logger = logging.getLogger(__name__)

# The paper's BibTeX entry, kept once (in genebert.hub, which writes it into model and dataset cards).
GENEBERT_CITATION = CITATION + "\n"


class TaskBuilder(datasets.GeneratorBasedBuilder):
    """A `GeneratorBasedBuilder` that can write itself as parquet + a dataset card (README.md)."""

    def _records_to_splits(self, splits: dict[str, list[dict]]) -> list[datasets.SplitGenerator]:
        """One SplitGenerator per non-empty split (datasets' names: train / validation / test). No sequence is
        shared between splits (see `genebert.genomics.tables.deduplicate_splits`); removals are logged."""
        splits, report = deduplicate_splits(splits)
        if any(report["removed"].values()):
            logger.warning("%s: removed records whose sequence is in an earlier split: %s", self.name, report)
        return [
            datasets.SplitGenerator(name=name, gen_kwargs={"records": records})
            for name, records in splits.items()
            if records
        ]

    def _generate_examples(self, records: list[dict]):
        names = set(self.info.features)
        for index, record in enumerate(records):
            yield index, {key: value for key, value in record.items() if key in names}

    def export_parquet(self, out_dir: str | Path) -> Path:
        """Prepare (if needed) and write ``<split>.parquet`` for every split and a README.md dataset card.

        The folder can be pushed as it is (``huggingface-cli upload``); the card's YAML lists the files so
        ``load_dataset(repo)`` finds the splits.
        """
        self.download_and_prepare()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        dataset = self.as_dataset()
        for split, data in dataset.items():
            data.to_parquet(str(out / f"{split}.parquet"))
        files = "\n".join(f"  - split: {split}\n    path: {split}.parquet" for split in dataset)
        counts = "\n".join(f"| {split} | {len(data)} |" for split, data in dataset.items())
        (out / "README.md").write_text(
            f"---\nconfigs:\n- config_name: {self.config.name}\n  data_files:\n{files}\n---\n\n"
            f"# {type(self).__name__} ({self.config.name})\n\n{self.info.description}\n\n"
            f"| split | rows |\n|---|---|\n{counts}\n\nFeatures: `{self.info.features}`\n\n"
            f"## Citation\n\n```bibtex\n{self.info.citation}```\n"
        )
        return out
