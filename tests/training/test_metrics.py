"""Classification metrics against hand-computed values; the evaluate module loads offline by path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import REPO_ROOT

from genebert.training.metrics import (
    METRIC_KEYS,
    as_probabilities,
    classification_metrics,
    top_k_accuracy,
    top_k_accuracy_per_class,
)

BINARY_LABELS = [0, 0, 1, 1]
BINARY_P1 = [0.1, 0.6, 0.4, 0.9]  # predictions 0 1 0 1: TP 1, FP 1, FN 1, TN 1


def test_binary_by_hand():
    result = classification_metrics(BINARY_LABELS, BINARY_P1)
    assert set(METRIC_KEYS) <= set(result)
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(0.5)
    assert result["f1"] == pytest.approx(0.5)
    assert result["accuracy"] == pytest.approx(0.5)
    assert result["mcc"] == pytest.approx(0.0)
    # ROC-AUC: of the 4 (positive, negative) pairs, 3 are ranked correctly (0.4 < 0.6 is not).
    assert result["auc"] == pytest.approx(0.75)
    # Average precision: ranking P N P N -> 1/2 * 1 + 1/2 * 2/3.
    assert result["pr_auc"] == pytest.approx(0.5 + 1 / 3)
    # Top-k, k = 2 true sites: the two best scores are 0.9 (true) and 0.6 (false).
    assert result["top_k_accuracy"] == pytest.approx(0.5)
    assert result["n"] == 4


def test_binary_inputs_are_equivalent():
    p1 = np.asarray(BINARY_P1)
    probabilities = np.stack([1 - p1, p1], axis=1)
    logits = np.log(probabilities) + 3.0  # any per-row shift: softmax gives the probabilities back
    expected = classification_metrics(BINARY_LABELS, p1)
    for scores in (probabilities, logits):
        assert classification_metrics(BINARY_LABELS, scores) == pytest.approx(expected)
    np.testing.assert_allclose(as_probabilities(logits), probabilities)


def test_binary_precision_is_class_one_and_macro_is_separate():
    labels = [1, 1, 1, 0]
    scores = [0.9, 0.8, 0.2, 0.7]  # predictions 1 1 0 1
    result = classification_metrics(labels, scores)
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 3)
    # Macro: class 0 has precision 0 / 1 and recall 0 / 1.
    assert result["precision_macro"] == pytest.approx((0 + 2 / 3) / 2)
    assert result["recall_macro"] == pytest.approx((0 + 2 / 3) / 2)


MULTI_LABELS = [0, 1, 2, 2]
MULTI_SCORES = [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.5, 0.1, 0.4]]  # predictions 0 1 2 0


def test_multiclass_by_hand():
    result = classification_metrics(MULTI_LABELS, MULTI_SCORES)
    assert result["accuracy"] == pytest.approx(0.75)
    # Per-class precision 1/2, 1, 1; recall 1, 1, 1/2; F1 2/3, 1, 2/3.
    assert result["precision"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert result["recall"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert result["f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    # MCC (Gorodkin): c = 3 correct of s = 4, predicted counts (2, 1, 1), true counts (1, 1, 2):
    # (3 * 4 - (2 + 1 + 2)) / sqrt((16 - 6) * (16 - 6)) = 0.7.
    assert result["mcc"] == pytest.approx(0.7)
    assert result["auc"] == pytest.approx(1.0)  # every class's positives outrank its negatives
    assert result["pr_auc"] == pytest.approx(1.0)
    assert result["top_k_accuracy"] == pytest.approx(1.0)


def test_top_k_accuracy_by_hand():
    labels = [1, 0, 1, 0, 0]
    scores = [0.9, 0.8, 0.3, 0.5, 0.1]  # k = 2: top two are positions 0 (site) and 1 (not)
    assert top_k_accuracy(labels, scores) == pytest.approx(0.5)
    # Splice layout: neither 0, acceptor 1, donor 2; "neither" is not scored.
    splice_labels = [0, 1, 2, 2, 0, 1]
    splice_scores = [
        [0.8, 0.1, 0.1],
        [0.2, 0.7, 0.1],  # acceptor: ranks 1st for class 1
        [0.1, 0.1, 0.8],  # donor: 1st for class 2
        [0.6, 0.3, 0.1],  # donor: class-2 score 0.1 ranks below position 4's 0.3
        [0.3, 0.4, 0.3],
        [0.5, 0.45, 0.05],  # acceptor: class-1 0.45 ranks 2nd (0.7, 0.45, 0.4, ...)
    ]
    per_class = top_k_accuracy_per_class(splice_labels, splice_scores)
    assert per_class == {1: pytest.approx(1.0), 2: pytest.approx(0.5)}
    assert top_k_accuracy(splice_labels, splice_scores) == pytest.approx(0.75)


def test_undefined_metrics_are_nan():
    result = classification_metrics([1, 1], [0.2, 0.9])
    assert math.isnan(result["auc"])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="labels"):
        classification_metrics([0, 1], [0.5])
    with pytest.raises(ValueError, match="labels must be in"):
        classification_metrics([0, 3], [[0.5, 0.5], [0.5, 0.5]])


def test_evaluate_module_loads_offline_by_path(tmp_path, monkeypatch):
    import evaluate

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    metric = evaluate.load(str(REPO_ROOT / "metrics" / "genebert_classification"))
    result = metric.compute(predictions=MULTI_SCORES, references=MULTI_LABELS)
    assert result == pytest.approx(classification_metrics(MULTI_LABELS, MULTI_SCORES))
    binary = metric.compute(predictions=BINARY_P1, references=BINARY_LABELS)
    assert binary["auc"] == pytest.approx(0.75)
