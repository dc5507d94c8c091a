"""Downstream classification metrics, computed with scikit-learn.

:func:`classification_metrics` gives the paper's Precision / Recall / AUC (Table 1) and PR-AUC (Table 4), with
F1, accuracy and MCC (GUE's headline metric) beside them; :func:`top_k_accuracy` is SpliceAI's top-k accuracy.

Conventions:

* ``scores`` are per-class scores ``(n, C)`` (probabilities or logits: a row that is not a probability vector is
  softmaxed) or, for a binary task, the ``(n,)`` score of class 1. Predictions are the arg-max class (a 0.5
  threshold on the class-1 probability for binary tasks).
* Binary tasks (two classes): ``precision``, ``recall`` and ``f1`` are those of class 1 (the positive class,
  as the paper reports them); ``auc`` is the ROC-AUC and ``pr_auc`` the average precision of the class-1 score.
* Multi-class: ``precision``, ``recall`` and ``f1`` are macro averages; ``auc`` and ``pr_auc`` are macro
  averages of one-vs-rest ROC-AUC and average precision.
* ``precision_macro``, ``recall_macro`` and ``f1_macro`` are always the macro averages. The paper's tables
  report macro precision / recall (its Table 2 gives DNABERT 0.250 / 0.500 on balanced binary data: exactly a
  constant prediction's macro values), so ``run_scripts/reproduce_tables.py`` puts these in its Precision /
  Recall columns.
* A metric that is undefined for the data (e.g. AUC with one class present) is ``nan``, never an exception.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy.special import expit, softmax
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

#: The keys every call of :func:`classification_metrics` returns (the columns of the result tables).
METRIC_KEYS = ("precision", "recall", "f1", "accuracy", "mcc", "auc", "pr_auc")


def as_probabilities(scores: np.ndarray | Sequence) -> np.ndarray:
    """``(n, C)`` probabilities from ``(n, C)`` probabilities or logits, or from ``(n,)`` class-1 scores.

    A ``(n,)`` input in [0, 1] is a class-1 probability; outside [0, 1] it is a logit (sigmoid). A ``(n, C)``
    input whose rows are non-negative and sum to 1 is kept; otherwise it is softmaxed.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        p = scores if scores.min(initial=0) >= 0 and scores.max(initial=0) <= 1 else expit(scores)
        return np.stack([1 - p, p], axis=1)
    if scores.ndim != 2:
        raise ValueError(f"scores must be (n,) or (n, C), got shape {scores.shape}")
    if scores.min(initial=0) >= 0 and np.allclose(scores.sum(axis=1), 1.0, atol=1e-4):
        return scores
    return softmax(scores, axis=1)


def _safe(function, *args, **kwargs) -> float:
    """``function(...)``, or nan where scikit-learn finds it undefined (e.g. one class only in ``labels``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        try:
            value = float(function(*args, **kwargs))
        except ValueError:
            return math.nan
    return value


def classification_metrics(
    labels: Sequence[int] | np.ndarray, scores: np.ndarray | Sequence
) -> dict[str, float]:
    """Precision, recall, F1, accuracy, MCC, ROC-AUC and PR-AUC of ``scores`` against integer ``labels``.

    See the module docstring for the binary / multi-class conventions. Also returns ``precision_macro``,
    ``recall_macro``, ``f1_macro``, ``top_k_accuracy`` (:func:`top_k_accuracy`) and ``n`` (the sample count).
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    probabilities = as_probabilities(scores)
    if len(labels) != len(probabilities):
        raise ValueError(f"{len(labels)} labels but {len(probabilities)} score rows")
    n_classes = probabilities.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must be in 0..{n_classes - 1}")
    predictions = probabilities.argmax(axis=1)
    class_ids = list(range(n_classes))
    result: dict[str, float] = {}
    for name, function in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        macro = float(function(labels, predictions, labels=class_ids, average="macro", zero_division=0))
        result[f"{name}_macro"] = macro
        if n_classes == 2:
            result[name] = float(
                function(labels, predictions, pos_label=1, average="binary", zero_division=0)
            )
        else:
            result[name] = macro
    result["accuracy"] = float(skm.accuracy_score(labels, predictions)) if labels.size else math.nan
    result["mcc"] = float(skm.matthews_corrcoef(labels, predictions)) if labels.size else math.nan
    if n_classes == 2:
        result["auc"] = _safe(skm.roc_auc_score, labels, probabilities[:, 1])
        result["pr_auc"] = _safe(skm.average_precision_score, labels, probabilities[:, 1])
    else:
        result["auc"] = _safe(
            skm.roc_auc_score, labels, probabilities, multi_class="ovr", average="macro", labels=class_ids
        )
        one_hot = np.eye(n_classes, dtype=np.int64)[labels]
        per_class = [
            _safe(skm.average_precision_score, one_hot[:, c], probabilities[:, c]) for c in class_ids
        ]
        present = [value for c, value in zip(class_ids, per_class, strict=True) if one_hot[:, c].any()]
        result["pr_auc"] = float(np.mean(present)) if present else math.nan
    result["top_k_accuracy"] = top_k_accuracy(labels, probabilities)
    result["n"] = int(labels.size)
    return {key: result[key] for key in (*METRIC_KEYS, *sorted(set(result) - set(METRIC_KEYS)))}


def top_k_accuracy_per_class(
    labels: Sequence[int] | np.ndarray, scores: np.ndarray | Sequence, classes: Sequence[int] | None = None
) -> dict[int, float]:
    """SpliceAI's top-k accuracy of each class (Jaganathan et al. 2019).

    For class ``c`` with ``k`` true sites among the ``n`` positions: rank all positions by their class-``c``
    score, take the ``k`` best, and return the fraction of them that are true sites (equivalently, of the true
    sites that made the top ``k``). Unlike accuracy it needs no threshold and is not inflated by the many easy
    negatives. Ties are broken by a stable sort (later positions rank higher, as SpliceAI's ``argsort`` does).

    Args:
        classes: the classes to score; by default class 1 for binary tasks and every class except 0 otherwise
            (SpliceAI's acceptor and donor, leaving out "neither"). Classes without true sites are skipped.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    probabilities = as_probabilities(scores)
    n_classes = probabilities.shape[1]
    if classes is None:
        classes = [1] if n_classes == 2 else list(range(1, n_classes))
    result = {}
    for c in classes:
        true_sites = np.flatnonzero(labels == c)
        k = len(true_sites)
        if k == 0:
            continue
        top = np.argsort(probabilities[:, c], kind="stable")[-k:]
        result[int(c)] = float(np.intersect1d(true_sites, top).size / k)
    return result


def top_k_accuracy(
    labels: Sequence[int] | np.ndarray, scores: np.ndarray | Sequence, classes: Sequence[int] | None = None
) -> float:
    """Mean over ``classes`` of :func:`top_k_accuracy_per_class` (SpliceAI averages acceptor and donor)."""
    per_class = top_k_accuracy_per_class(labels, scores, classes)
    return float(np.mean(list(per_class.values()))) if per_class else math.nan


__all__ = [
    "METRIC_KEYS", "as_probabilities", "classification_metrics", "top_k_accuracy",
    "top_k_accuracy_per_class"
]  # fmt: skip
