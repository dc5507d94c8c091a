"""What a study measures beside fine-tuning: frozen-embedding probes, reference classifiers and held-out
pre-training metrics (the transfer study, ``run_scripts/studies/transfer.yaml``).

* :func:`run_probe_cell`: a ``type: probe`` cell. The checkpoint's sequence tower embeds a built-in task's
  sequences (mean over k-mer tokens, [CLS], [SEP] and padding excluded: `genebert.pipelines.embed`), and a
  logistic regression on the frozen embeddings is fitted on the train split and scored on the test split.
* :func:`reference_metrics`: the same logistic regression on two fixed representations of the same splits, the
  bars a pre-trained embedding has to clear: the best score of every motif over the sequence (both strands,
  `genebert.genomics.motifs.scan_max`) and overlapping k-mer frequencies (`genebert.training.baselines`).
* :func:`pretraining_metrics`: one model's held-out pre-training metrics beside their baselines
  (`genebert.training.evaluation`): MGM accuracy vs the copy-aware baseline, NGSP, SRM retrieval, and per region
  the linear probe of the motif vector (R^2, retrieval among all held-out regions) vs the 3-mer ridge.

Every logistic regression standardises its features and picks its inverse regularisation ``C`` from
:data:`C_GRID` by the AUC on (a seeded subset of) the task's validation split, so probes and references are
tuned alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import classification_metrics
from .spec import StudyError

#: Inverse regularisation strengths tried by every logistic regression (chosen on the validation split).
C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)


def task_splits(args: Mapping[str, Any], data_root: str | None) -> tuple[dict[str, list[dict]], list[str]]:
    """A built-in task's records per split (``train``, ``validation``, ``test``), subsampled as fine-tuning does
    (`genebert.training.finetune.subsample` with ``split_seed``), so a probe with ``max_train_samples: 500`` and a
    fine-tuning cell with the same value see the same 500 sequences."""
    from .. import finetune

    data_args = finetune.DataArguments(
        task=args["task"],
        data_root=args.get("data_root") or data_root,
        split_seed=int(args.get("split_seed", 42)),
    )
    splits, classes, _ = finetune.load_splits(data_args)
    limits = {"train": "max_train_samples", "validation": "max_eval_samples", "test": "max_test_samples"}
    chosen = {
        name: finetune.subsample(records, args.get(limits[name]), data_args.split_seed)
        for name, records in splits.items()
    }
    if "train" not in chosen or "test" not in chosen:
        raise StudyError(f"task {args['task']!r} has no train or no test split")
    return chosen, classes


def fit_logistic_regression(
    features: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray], seed: int = 0
) -> dict[str, Any]:
    """Test-split metrics (`classification_metrics`) of a logistic regression on standardised ``features``.

    Args:
        features: ``{"train": (n_train, d), "test": (n_test, d)}`` and optionally ``"validation"``.
        labels: integer class ids for the same splits.

    ``C`` is chosen from :data:`C_GRID` by validation AUC (1.0 without a validation split); returned as ``C``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from .report import _quiet_threads

    scaler = StandardScaler().fit(features["train"])
    x = {name: scaler.transform(values) for name, values in features.items()}
    n_classes = int(max(int(np.max(y)) for y in labels.values())) + 1

    def fit(c: float) -> LogisticRegression:
        return LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(x["train"], labels["train"])

    def scores(model: LogisticRegression, split: str) -> np.ndarray:
        probabilities = np.zeros((len(x[split]), n_classes))
        probabilities[:, model.classes_] = model.predict_proba(x[split])
        return probabilities

    with _quiet_threads():
        best_c, best_auc = 1.0, -np.inf
        if "validation" in x and len(np.unique(labels["validation"])) > 1:
            for c in C_GRID:
                auc = classification_metrics(labels["validation"], scores(fit(c), "validation"))["auc"]
                if auc is not None and np.isfinite(auc) and auc > best_auc:
                    best_c, best_auc = c, auc
        model = fit(best_c)
        result = classification_metrics(labels["test"], scores(model, "test"))
    return {**result, "C": best_c, "train_samples": len(x["train"])}


def _labels(splits: Mapping[str, list[dict]]) -> dict[str, np.ndarray]:
    return {name: np.asarray([int(r["label"]) for r in records]) for name, records in splits.items()}


def run_probe_cell(
    checkpoint: Path, args: Mapping[str, Any], data_root: str | None, seed: int, output_dir: Path
) -> dict[str, Any]:
    """A probe cell: embed the task's splits with ``checkpoint``'s frozen sequence tower, fit a logistic
    regression on the train embeddings, score the test split. The embeddings are saved to ``embeddings.npz``."""
    import torch

    from genebert import GeneBertForPreTraining, GeneBertTokenizer
    from genebert.pipelines import embed

    from .report import _quiet_threads

    splits, _ = task_splits(args, data_root)
    model = GeneBertForPreTraining.from_pretrained(checkpoint).eval()
    tokenizer = GeneBertTokenizer(kmer=model.config.kmer)
    pooling, batch_size = args.get("pooling", "mean"), int(args.get("batch_size", 64))
    with torch.inference_mode(), _quiet_threads():
        features = {
            name: embed(
                [r["sequence"] for r in records], model, tokenizer, pooling=pooling, batch_size=batch_size
            )
            for name, records in splits.items()
        }
    output_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output_dir / "embeddings.npz", **features)
    result = fit_logistic_regression(features, _labels(splits), seed)
    return {**result, "pooling": pooling, "test_samples": len(splits["test"])}


def reference_metrics(
    args: Mapping[str, Any], references: Mapping[str, Any], data_root: str | None
) -> dict[str, dict[str, Any]]:
    """The reference classifiers of one task on the splits its cells use: ``{"motif_scores": metrics,
    "kmer_counts": metrics}`` for the references the study asks for.

    ``references["motif_scores"]``: a motif file (relative to the data root, or a pyjaspar release name); the
    features are the best log-odds score of every motif over each sequence, both strands (579 for JASPAR 2018).
    ``references["kmer_counts"]``: k of the overlapping k-mer frequencies.
    """
    from genebert.genomics.motifs import load_motifs, scan_max
    from genebert.genomics.tasks import default_data_root

    from ..baselines import kmer_counts

    splits, _ = task_splits(args, data_root)
    labels = _labels(splits)
    sequences = {name: [r["sequence"] for r in records] for name, records in splits.items()}
    result: dict[str, dict[str, Any]] = {}
    if references.get("motif_scores"):
        source = str(references["motif_scores"])
        root = Path(data_root) if data_root else default_data_root()
        path = root / source
        motifs = load_motifs(str(path) if path.exists() else source)
        features = {name: scan_max(values, motifs) for name, values in sequences.items()}
        result["motif_scores"] = {**fit_logistic_regression(features, labels), "motifs": len(motifs)}
    if references.get("kmer_counts"):
        k = int(references["kmer_counts"])
        features = {}
        for name, values in sequences.items():
            counts = kmer_counts(values, k)
            features[name] = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)  # length-independent
        result["kmer_counts"] = {**fit_logistic_regression(features, labels), "k": k}
    return result


def pretraining_metrics(
    checkpoint: Path,
    corpus_dir: Path,
    pretrain_values: Mapping[str, Any],
    seed: int,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """Held-out pre-training metrics of ``checkpoint`` on the samples its run held out (the same genome-block
    split), with their baselines: `evaluate_pretraining` (with the 3-mer composition baseline of SRM) and
    `motif_view_probes` (per-region probe R^2 and retrieval among all held-out regions vs the 3-mer ridge).

    Args:
        pretrain_values: the run's pre-training arguments (``{field: value}``, as the runner passes them).
        settings: ``max_train_samples`` (training samples whose regions fit the probes, default 300),
            ``max_eval_samples`` (held-out samples, default 300) and ``batch_size`` (32), seeded subsets.
    """
    from transformers import set_seed

    from genebert import GeneBertForPreTraining, GeneBertTokenizer
    from genebert.genomics.corpus import load_corpus

    from .. import pretrain
    from ..evaluation import evaluate_pretraining, fit_composition, motif_view_probes
    from .report import _quiet_threads

    set_seed(seed)
    _, data_args, _ = pretrain.arguments_from_values(dict(pretrain_values))
    corpus = load_corpus(corpus_dir)
    split = pretrain.block_split(corpus, data_args, seed)
    train, held_out = pretrain.split_samples(corpus, data_args, seed, split)
    if held_out is None or len(held_out) < 2:
        raise StudyError(
            f"pre-training evaluation needs held-out samples; {corpus_dir} with validation_fraction "
            f"{data_args.validation_fraction} holds out {0 if held_out is None else len(held_out)}"
        )
    rng = np.random.default_rng(seed)

    def subset(dataset: Any, limit: int) -> list[dict]:
        chosen = np.sort(rng.choice(len(dataset), size=min(limit, len(dataset)), replace=False))
        return [dataset[int(i)] for i in chosen]

    train_features = subset(train, int(settings.get("max_train_samples", 300)))
    held_out_features = subset(held_out, int(settings.get("max_eval_samples", 300)))
    model = GeneBertForPreTraining.from_pretrained(checkpoint).eval()
    tokenizer = GeneBertTokenizer(kmer=model.config.kmer)
    collator = pretrain.make_collator(corpus, tokenizer, data_args, seed, split, model.config)
    batch_size = int(settings.get("batch_size", 32))
    with _quiet_threads():
        metrics = evaluate_pretraining(
            model, collator, held_out_features, batch_size,
            corpus_cell_types=corpus.samples["cell_type"], composition=fit_composition(collator, train_features, seed=seed),
        )  # fmt: skip
        metrics.update(motif_view_probes(model, collator, train_features, held_out_features, seed=seed))
    return metrics


__all__ = [
    "C_GRID", "fit_logistic_regression", "pretraining_metrics", "reference_metrics", "run_probe_cell", "task_splits"
]  # fmt: skip
