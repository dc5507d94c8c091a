"""The strongest simple baselines we know, printed beside every learning metric.

* :func:`kmer_counts`: overlapping k-mer counts per sequence (N-containing k-mers left out), vectorised.
* :func:`kmer_logistic_regression`: a bag-of-k-mers logistic regression fitted on a fine-tuning train split and
  scored on its test split with the paper's metrics, so users see whether the deep model adds anything.
* :func:`composition_ridge`: a ridge regression from each window's 3-mer counts to its motif vector, the
  composition baseline of sequence-region matching (what DNA composition alone predicts of the motif view).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(_features(train_sequences, k))
    model = LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
    model.fit(scaler.transform(_features(train_sequences, k)), np.asarray(train_labels))
    probabilities = np.zeros((len(test_sequences), int(max(max(train_labels), max(test_labels))) + 1))
    probabilities[:, model.classes_] = model.predict_proba(scaler.transform(_features(test_sequences, k)))
    return {**classification_metrics(np.asarray(test_labels), probabilities), "k": k}


def composition_ridge(
    train_sequences: Sequence[str], train_targets: np.ndarray, alpha: float = 1.0, k: int = 3
):
    """A ridge regression from k-mer frequencies to ``train_targets`` (e.g. standardised motif vectors);
    returns ``predict(sequences) -> (n, targets)``."""
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=alpha).fit(_features(train_sequences, k), np.asarray(train_targets, dtype=np.float64))
    return lambda sequences: model.predict(_features(sequences, k))


__all__ = ["composition_ridge", "kmer_counts", "kmer_logistic_regression"]
