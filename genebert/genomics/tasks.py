"""The built-in downstream tasks: a registry of loaders over a data root laid out as ``../shared/data``.

The readers and splits they use live in :mod:`genebert.genomics.tables`.

Built-in tasks (``TASKS``, loaded by :func:`load_task` from a data root laid out as ``../shared/data``):

=========================  ==========================================================  ========================
name                       data                                                        split
=========================  ==========================================================  ========================
``gue_prom_core_all`` ...  GUE promoter CSVs (``gue/prom/<name>/{train,dev,test}.csv``)  GUE's own train/dev/test
``gue_tf0`` .. ``gue_tf4`` GUE human TF ChIP-seq CSVs (``gue/tf/<i>/``)                  GUE's own
``oct4_vs_mafk``           janggu Oct4 (1) vs MafK (0) ChIP peaks, 200 bp                janggu's ``*_test.fa`` as
                                                                                       test; the rest 90/10
                                                                                       (seeded, stratified)
``ctcf_vs_shuffled``       500 GM12878 CTCF peaks (1) vs their dinucleotide shuffles (0)  seeded 80/10/10 over
                                                                                       peaks, each shuffle in
                                                                                       its peak's split
``uci_splice``             UCI splice junctions: neither 0 / acceptor (IE) 1 / donor (EI)  seeded stratified
                           2; ambiguity codes kept (see :mod:`.splice`)                    80/10/10
=========================  ==========================================================  ========================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .splice import SPLICE_LABELS, read_uci_splice
from .tables import (
    SPLITS,
    deduplicate_pool,
    deduplicate_splits,
    read_fasta_sequences,
    read_sequence_table,
    seeded_split,
    tf_binding_examples,
)

# ---------------------------------------------------------------------------------------------- built-in tasks


@dataclass(frozen=True)
class TaskData:
    """A built-in task: records per split (``{"id", "sequence", "label": int}``) and class names."""

    name: str
    splits: dict[str, list[dict]]
    label_names: list[str]
    description: str
    kind: str = "classification"  # "splice": report top-k accuracy and PR-AUC first
    notes: dict = field(default_factory=dict)


def _gue(folder: str, length: int | None) -> Callable[[Path, int], TaskData]:
    def load(root: Path, seed: int) -> TaskData:
        base = root / "gue" / folder
        splits = {}
        for split, stem in (("train", "train"), ("validation", "dev"), ("test", "test")):
            records = read_sequence_table(base / f"{stem}.csv", labels=("0", "1"), sequence_length=length)
            for record in records:
                record["label"] = int(record["label"])
            splits[split] = records
        return TaskData(folder, splits, ["0", "1"], f"GUE {folder} (DNABERT-2 benchmark), binary")

    return load


def _oct4_vs_mafk(root: Path, seed: int) -> TaskData:
    base = root / "janggu_oct4_mafk"
    pools = {}
    for split, (oct4, mafk) in {
        "train": ("sample.fa", "sample2.fa"),
        "test": ("sample_test.fa", "sample2_test.fa"),
    }.items():
        records = [{**r, "label": 1} for r in read_fasta_sequences(base / oct4, 200)]
        records += [{**r, "label": 0} for r in read_fasta_sequences(base / mafk, 200)]
        pools[split] = records
    # janggu ships train and test files; the dev split for early stopping is a seeded 10% of train.
    names = seeded_split(
        len(pools["train"]), seed, (0.9, 0.1, 0.0), stratify=[r["label"] for r in pools["train"]]
    )
    splits = {
        "train": [r for r, s in zip(pools["train"], names, strict=True) if s == "train"],
        "validation": [r for r, s in zip(pools["train"], names, strict=True) if s == "validation"],
        "test": pools["test"],
    }
    return TaskData(
        "oct4_vs_mafk", splits, ["MafK", "Oct4"], "janggu Oct4 (1) vs MafK (0) ChIP-seq peaks, 200 bp"
    )


def _ctcf_vs_shuffled(root: Path, seed: int) -> TaskData:
    positives = read_fasta_sequences(root / "ctcf_gm12878_gimmemotifs" / "Gm12878.CTCF.top500.w200.fa", 200)
    examples = tf_binding_examples(positives, seed)
    names = seeded_split(len(examples), seed, groups=[e["group"] for e in examples])
    splits = {split: [e for e, s in zip(examples, names, strict=True) if s == split] for split in SPLITS}
    return TaskData(
        "ctcf_vs_shuffled",
        splits,
        ["shuffled", "CTCF"],
        "500 GM12878 CTCF peaks (1) vs their dinucleotide shuffles (0), 200 bp (the paper's TF-binding protocol)",
    )


def _uci_splice(root: Path, seed: int) -> TaskData:
    records, pooled = deduplicate_pool(read_uci_splice(root / "uci_splice" / "splice.csv"))
    names = seeded_split(len(records), seed, stratify=[r["label"] for r in records])
    splits = {split: [r for r, s in zip(records, names, strict=True) if s == split] for split in SPLITS}
    return TaskData(
        "uci_splice",
        splits,
        list(SPLICE_LABELS),
        "UCI splice junctions, 60 nt, neither/acceptor/donor (identical sequences kept once; sequences with "
        "conflicting labels left out)",
        "splice",
        {"pool": pooled},
    )


TASKS: dict[str, Callable[[Path, int], TaskData]] = {
    "gue_prom_core_all": _gue("prom/prom_core_all", 70),
    "gue_prom_core_notata": _gue("prom/prom_core_notata", 70),
    "gue_prom_core_tata": _gue("prom/prom_core_tata", 70),
    "gue_prom_300_tata": _gue("prom/prom_300_tata", 300),
    **{f"gue_tf{i}": _gue(f"tf/{i}", 101) for i in range(5)},
    "oct4_vs_mafk": _oct4_vs_mafk,
    "ctcf_vs_shuffled": _ctcf_vs_shuffled,
    "uci_splice": _uci_splice,
}


def default_data_root() -> Path:
    """``$GENEBERT_DATA_ROOT``, else ``../shared/data`` beside the current directory's parent (the repo layout)."""
    import os

    if os.environ.get("GENEBERT_DATA_ROOT"):
        return Path(os.environ["GENEBERT_DATA_ROOT"])
    return Path.cwd().resolve().parent / "shared" / "data"


def load_task(name: str, data_root: str | Path | None = None, seed: int = 42) -> TaskData:
    """Load built-in task ``name`` (see :data:`TASKS`) from ``data_root`` (default :func:`default_data_root`).

    ``seed`` fixes the splits of tasks that do not ship one and the shuffled negatives; the default 42 is the
    one the published tables use. No sequence is shared between splits: records of validation (test) whose
    sequence occurs in train (train or validation) are removed, and ``notes["deduplication"]`` counts them.
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; built-in tasks: {', '.join(TASKS)}")
    root = Path(data_root) if data_root is not None else default_data_root()
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} does not exist (pass --data_root / data_root=...)")
    task = TASKS[name](root, seed)
    splits, report = deduplicate_splits(task.splits)
    return dataclasses.replace(task, splits=splits, notes={**task.notes, "deduplication": report})


__all__ = ["TASKS", "TaskData", "default_data_root", "load_task"]
