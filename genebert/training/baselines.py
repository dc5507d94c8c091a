"""The strongest simple baselines we know, printed beside every learning metric.

* :func:`kmer_counts`: overlapping k-mer counts per sequence (N-containing k-mers left out), vectorised.
* :func:`kmer_logistic_regression`: a bag-of-k-mers logistic regression fitted on a fine-tuning train split and
  scored on its test split with the paper's metrics, so users see whether the deep model adds anything.
* :func:`strand_symmetry`: whether a task's labels survive reverse complementing, judged by that regression on
  the dev split and on its reverse complement (``--reverse_complement_augmentation auto``).
* :func:`composition_ridge`: a ridge regression from each window's 3-mer counts to its motif vector, the
  composition baseline of sequence-region matching (what DNA composition alone predicts of the motif view).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..genomics.io import reverse_complement
from ..genomics.tables import subsample
from .metrics import classification_metrics

_CODE = np.full(256, 255, dtype=np.uint8)
for _index, _base in enumerate("ACGT"):
    _CODE[ord(_base)] = _CODE[ord(_base.lower())] = _index


def kmer_counts(sequences: Sequence[str], k: int = 4) -> np.ndarray:
    """``(n, 4**k)`` float32 counts of the overlapping k-mers of each sequence (A, C, G, T order, base 4);
    a k-mer holding any other character (N, IUPAC codes) is not counted."""
    if not 1 <= k <= 8:
        raise ValueError(f"k must be in 1..8, got {k}")
    counts = np.zeros((len(sequences), 4**k), dtype=np.float32)
    weights = 4 ** np.arange(k - 1, -1, -1, dtype=np.int64)
    for row, sequence in enumerate(sequences):
        codes = _CODE[np.frombuffer(sequence.encode("latin-1"), dtype=np.uint8)]
        if len(codes) < k:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(codes, k)
        valid = (windows != 255).all(axis=1)
        index = windows[valid].astype(np.int64) @ weights
        counts[row] = np.bincount(index, minlength=4**k)
    return counts


def _features(sequences: Sequence[str], k: int) -> np.ndarray:
    counts = kmer_counts(sequences, k)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)  # frequencies: length-independent


def kmer_logistic_regression(
    train_sequences: Sequence[str],
    train_labels: Sequence[int],
    test_sequences: Sequence[str],
    test_labels: Sequence[int],
    k: int = 4,
    seed: int = 0,
) -> dict[str, float]:
    """Test-split metrics (:func:`classification_metrics`) of a logistic regression on k-mer frequencies fitted
    on the train split; ``{"k": k}`` is added."""
    score = _fit_kmer_logistic_regression(train_sequences, train_labels, k, seed)
    return {**score(test_sequences, test_labels), "k": k}


def _fit_kmer_logistic_regression(
    train_sequences: Sequence[str], train_labels: Sequence[int], k: int, seed: int
) -> Callable[[Sequence[str], Sequence[int]], dict[str, float]]:
    """The fitted regression of :func:`kmer_logistic_regression`, as ``score(sequences, labels) -> metrics``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    features = _features(train_sequences, k)
    scaler = StandardScaler().fit(features)
    model = LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
    model.fit(scaler.transform(features), np.asarray(train_labels))

    def score(sequences: Sequence[str], labels: Sequence[int]) -> dict[str, float]:
        probabilities = np.zeros((len(sequences), int(max(max(train_labels), max(labels))) + 1))
        probabilities[:, model.classes_] = model.predict_proba(scaler.transform(_features(sequences, k)))
        return classification_metrics(np.asarray(labels), probabilities)

    return score


def strand_symmetry(
    train_sequences: Sequence[str],
    train_labels: Sequence[int],
    dev_sequences: Sequence[str],
    dev_labels: Sequence[int],
    k: int = 4,
    seed: int = 0,
) -> dict[str, float]:
    """``{"dev_auc", "reverse_complement_dev_auc", "drop"}`` of a k-mer logistic regression fitted on train.

    On a strand-symmetric task (a ChIP-seq peak, a promoter scored on either strand) the regression scores the
    reverse-complemented dev sequences about as well as the dev sequences; on a stranded one (splice sites, whose
    GT-AG reads AC-CT backwards) the AUC falls towards chance or below, measured 0.37 on UCI splice against at most
    0.04 on the GUE, Oct4 and CTCF tasks. ``drop`` is ``dev_auc - reverse_complement_dev_auc``.
    """
    score = _fit_kmer_logistic_regression(train_sequences, train_labels, k, seed)  # one fit, scored twice
    forward = score(dev_sequences, dev_labels)
    backward = score([reverse_complement(s) for s in dev_sequences], dev_labels)
    return {
        "dev_auc": forward["auc"],
        "reverse_complement_dev_auc": backward["auc"],
        "drop": forward["auc"] - backward["auc"],
    }


#: ``--reverse_complement_augmentation auto``: the largest dev AUC a k-mer regression may lose on reverse-
#: complemented dev sequences for the task to count as strand-symmetric. Measured drops: UCI splice 0.37; GUE
#: prom_core_all 0.005, tf0 0.011, Oct4 vs MafK -0.003, CTCF vs shuffled -0.010 (docs/fine-tuning.md).
RC_AUTO_MAX_DROP = 0.05
#: At most this many train / dev sequences (seeded subsets) fit and score that regression: seconds, not minutes.
RC_AUTO_MAX_SEQUENCES = (20000, 2000)


def decide_reverse_complement(
    splits: dict[str, list[dict]], setting: str, k: int = 4, seed: int = 42
) -> dict[str, Any]:
    """Whether to add reverse complements to train: ``{"setting", "used"}`` plus, for ``auto``, the measure it
    went by (:func:`strand_symmetry` on seeded subsets of train and dev) or the
    reason it could not measure one."""
    if setting != "auto":
        return {"setting": setting, "used": setting == "true"}
    train, dev = splits.get("train", []), splits.get("validation", [])
    if not dev or len({r["label"] for r in train}) < 2 or len({r["label"] for r in dev}) < 2:
        return {
            "setting": "auto",
            "used": False,
            "reason": "no dev split with two classes to judge strand symmetry",
        }
    train = subsample(train, RC_AUTO_MAX_SEQUENCES[0], seed)
    dev = subsample(dev, RC_AUTO_MAX_SEQUENCES[1], seed)
    measure = strand_symmetry(
        [r["sequence"] for r in train], [r["label"] for r in train],
        [r["sequence"] for r in dev], [r["label"] for r in dev], k=k, seed=seed,
    )  # fmt: skip
    return {"setting": "auto", "used": bool(measure["drop"] <= RC_AUTO_MAX_DROP), "k": k, **measure}


def composition_ridge(
    train_sequences: Sequence[str], train_targets: np.ndarray, alpha: float = 1.0, k: int = 3
):
    """A ridge regression from k-mer frequencies to ``train_targets`` (e.g. standardised motif vectors);
    returns ``predict(sequences) -> (n, targets)``."""
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=alpha).fit(_features(train_sequences, k), np.asarray(train_targets, dtype=np.float64))
    return lambda sequences: model.predict(_features(sequences, k))


def copy_aware_guess(
    input_ids: torch.Tensor, neighbour_guess: torch.Tensor, mask_token_id: int
) -> torch.Tensor:
    """The copy-aware MGM baseline's k-mer at every position: the input k-mer where the input shows one (kept
    or randomly replaced spans), the neighbour-copy guess where it shows ``[MASK]``."""
    return torch.where(input_ids != mask_token_id, input_ids, neighbour_guess.to(input_ids.device))


def srm_cell_type_oracle(cell_types: Sequence[str], batch_size: int) -> float | None:
    """Expected SRM top-1 of an oracle that knows each sample's cell type and nothing else, over consecutive
    contrastive batches of ``batch_size``: it picks uniformly among its batch's samples of that cell type.
    ``None`` when no batch holds two samples."""
    types = [str(c) for c in cell_types]
    hits = [1 / chunk.count(t) for b in range(0, len(types), batch_size) for chunk in [types[b : b + batch_size]]
            for t in chunk if len(chunk) > 1]  # fmt: skip
    return sum(hits) / len(hits) if hits else None


def ngsp_cell_type_oracle(
    cell_types: Sequence[str], pool_cell_types: Sequence[str], negative_probability: float
) -> float:
    """Expected NGSP accuracy of the oracle that says "next" exactly when segment B's sample shares A's cell
    type: right on every true next segment, and on a negative unless its sample, drawn uniformly from the other
    samples of ``pool_cell_types``, shares it."""
    counts, total = Counter(map(str, pool_cell_types)), len(pool_cell_types)
    same = [(counts[str(t)] - 1) / max(total - 1, 1) for t in cell_types]
    return float(np.mean([(1 - negative_probability) + negative_probability * (1 - p) for p in same]))


__all__ = [
    "composition_ridge", "copy_aware_guess", "kmer_counts", "kmer_logistic_regression", "ngsp_cell_type_oracle",
    "srm_cell_type_oracle",
]  # fmt: skip
