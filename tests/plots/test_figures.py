"""Figure 2 (t-SNE by cell type, silhouette in the legend) and ROC/PR curves: PNG + JSON written, numbers right."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from genebert.figures import cluster_separation, figure2_tsne, roc_pr_curves


def clustered(rng, labels, spread):
    centres = {label: rng.normal(size=16) * 4 for label in sorted(set(labels))}
    return np.stack([centres[label] + rng.normal(size=16) * spread for label in labels]).astype(np.float32)


def test_figure2_tsne_side_by_side_with_silhouette(tmp_path):
    rng = np.random.default_rng(0)
    labels = ["GM12878", "K562", "HepG2"] * 20
    embeddings = {
        "uni-modal": rng.normal(size=(60, 24)),
        "multi-modal (GeneBERT)": clustered(rng, labels, 0.3),
    }
    path = figure2_tsne(embeddings, labels, tmp_path / "figure2.png", perplexity=10, threads=1)
    assert path.exists()
    with Image.open(path) as image:
        width, height = image.size
    assert width > 1.8 * height  # two panels side by side
    data = json.loads(path.with_suffix(".json").read_text())
    assert data["labels"] == labels and data["perplexity"] == 10
    uni, multi = data["models"]["uni-modal"], data["models"]["multi-modal (GeneBERT)"]
    assert multi["silhouette"] > 0.5 > abs(uni["silhouette"])
    assert multi["silhouette"] == pytest.approx(
        cluster_separation(embeddings["multi-modal (GeneBERT)"], labels)
    )
    assert np.asarray(uni["tsne"]).shape == (60, 2)
    # deterministic for a seed
    again = figure2_tsne(embeddings, labels, tmp_path / "again.png", perplexity=10, threads=1)
    assert json.loads(again.with_suffix(".json").read_text())["models"] == data["models"]


def test_figure2_tsne_checks_shapes(tmp_path):
    with pytest.raises(ValueError, match="expected \\(6, d\\)"):
        figure2_tsne({"a": np.zeros((5, 3))}, list("aabbcc"), tmp_path / "x.png")
    with pytest.raises(ValueError, match="empty"):
        figure2_tsne({}, list("aabbcc"), tmp_path / "x.png")
    assert cluster_separation(np.zeros((4, 2)), ["a"] * 4) is None


def test_roc_pr_curves_per_task(tmp_path):
    rng = np.random.default_rng(1)
    promoter = rng.integers(0, 2, 200)
    splice = rng.integers(0, 3, 150)
    labels = {"promoter": promoter, "splice": splice}
    scores = {
        "promoter": promoter + rng.normal(size=200) * 0.8,  # informative
        "splice": rng.dirichlet(np.ones(3), size=150),  # 3 classes: one-vs-rest
    }
    path = roc_pr_curves(labels, scores, tmp_path / "curves.png", title="fine-tuning")
    assert path.exists()
    data = json.loads(path.with_suffix(".json").read_text())
    assert set(data) == {"promoter", "splice (class 0)", "splice (class 1)", "splice (class 2)"}
    assert data["promoter"]["auroc"] == pytest.approx(roc_auc_score(promoter, scores["promoter"]))
    assert data["promoter"]["auroc"] > 0.75
    assert data["promoter"]["positives"] == int(promoter.sum())
    assert data["promoter"]["roc"]["fpr"][0] == 0 and data["promoter"]["roc"]["tpr"][-1] == 1
    # a single task from plain arrays, two-column probabilities
    probabilities = np.stack([1 - promoter * 0.8, promoter * 0.8 + 0.1], axis=1)
    single = roc_pr_curves(promoter, probabilities, tmp_path / "single.png")
    assert json.loads(single.with_suffix(".json").read_text())["task"]["auroc"] == 1.0


def test_roc_pr_curves_errors(tmp_path):
    with pytest.raises(ValueError, match="both positive and negative"):
        roc_pr_curves([1, 1, 1], [0.2, 0.3, 0.4], tmp_path / "x.png")
    with pytest.raises(TypeError):
        roc_pr_curves({"a": [0, 1]}, [0.1, 0.2], tmp_path / "x.png")
    with pytest.raises(ValueError, match="2 labels but 3 scores"):
        roc_pr_curves([0, 1], [0.1, 0.2, 0.3], tmp_path / "x.png")
