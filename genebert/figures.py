"""Figures from embeddings and predictions (matplotlib Agg; each PNG is written with the data behind it as JSON).

* :func:`figure2_tsne`: the paper's Figure 2, t-SNE of sequence embeddings coloured by cell type, one panel per model
  (uni-modal vs multi-modal), with the silhouette score of the cell-type clusters in each legend.
* :func:`roc_pr_curves`: ROC and precision-recall curves of fine-tuning predictions, one curve per task (or class).
* :func:`plot_training_curves`: losses and pre-training metrics over steps from a Trainer's log history.
* :func:`comparison_figure`: a study's arms side by side per task (every seed, the mean, reference classifiers)
  and the paired differences between arms with their 95 % intervals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.manifold import TSNE
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
    silhouette_score,
)
from threadpoolctl import threadpool_limits


def _save(figure: Any, path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    path.with_suffix(".json").write_text(json.dumps(data, indent=1))
    return path


def cluster_separation(embeddings: np.ndarray, labels: Sequence[Any]) -> float | None:
    """Silhouette score of `labels` as clusters of `embeddings` `(n, d)` (Euclidean, in the embedding space, not in
    the t-SNE plane); ``None`` when it is undefined (fewer than 2 labels, or as many labels as points)."""
    labels = np.asarray(labels)
    n_labels = len(np.unique(labels))
    if not 2 <= n_labels <= len(labels) - 1:
        return None
    return float(silhouette_score(np.asarray(embeddings, dtype=np.float64), labels))


def figure2_tsne(
    embeddings_by_model: Mapping[str, np.ndarray],
    labels: Sequence[Any],
    path: str | Path,
    *,
    perplexity: float = 30.0,
    seed: int = 0,
    title: str | None = None,
    threads: int | None = None,
) -> Path:
    """The paper's Figure 2: t-SNE maps of sequence embeddings coloured by cell type, models side by side.

    Args:
        embeddings_by_model: ``{model name: (n, d) array}``, e.g. ``{"uni-modal": ..., "multi-modal (GeneBERT)": ...}``;
            every array embeds the same `n` sequences (d may differ between models).
        labels: `n` cell types (any hashable, shown as strings), one per row.
        path: the PNG to write; ``path.with_suffix(".json")`` gets ``{"labels", "perplexity", "seed", "models":
            {name: {"silhouette", "tsne": (n, 2) list}}}``.
        perplexity: t-SNE perplexity, lowered to ``(n - 1) / 3`` for small `n`.
        seed: t-SNE random state (the maps are deterministic for a given seed).
        title: the figure's title.
        threads: OpenMP threads for t-SNE (default: all). On a busy shared machine, 1 is often much faster.

    Returns:
        `path`.
    """
    if not embeddings_by_model:
        raise ValueError("embeddings_by_model is empty")
    labels = [str(label) for label in labels]
    n = len(labels)
    if n < 4:
        raise ValueError(f"need at least 4 sequences for a t-SNE map, got {n}")
    for name, array in embeddings_by_model.items():
        shape = np.shape(array)
        if len(shape) != 2 or shape[0] != n:
            raise ValueError(
                f"embeddings of {name!r} have shape {shape}; expected ({n}, d) to match the labels"
            )
    classes = sorted(set(labels))
    colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    perplexity = float(min(perplexity, (n - 1) / 3))
    figure, axes = plt.subplots(
        1, len(embeddings_by_model), figsize=(5 * len(embeddings_by_model), 4.6), squeeze=False
    )
    data: dict[str, Any] = {"labels": labels, "perplexity": perplexity, "seed": seed, "models": {}}
    label_array = np.asarray(labels)
    for axis, (name, array) in zip(axes[0], embeddings_by_model.items(), strict=True):
        array = np.asarray(array, dtype=np.float32)
        with threadpool_limits(limits=threads):
            points = TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca").fit_transform(
                array
            )
        score = cluster_separation(array, labels)
        for index, cell_type in enumerate(classes):
            chosen = label_array == cell_type
            axis.scatter(
                points[chosen, 0], points[chosen, 1], s=9, color=colours(index % colours.N), label=cell_type
            )
        axis.set_title(name)
        axis.set_xticks([])
        axis.set_yticks([])
        legend_title = "silhouette n/a" if score is None else f"silhouette {score:.3f}"
        axis.legend(title=legend_title, fontsize=7, title_fontsize=8, markerscale=1.5, loc="best")
        data["models"][name] = {"silhouette": score, "tsne": points.round(5).tolist()}
    figure.suptitle(title or "t-SNE of sequence embeddings by cell type")
    figure.tight_layout()
    return _save(figure, Path(path), data)


def _curves_for(labels: np.ndarray, scores: np.ndarray, name: str) -> dict[str, dict[str, Any]]:
    """One binary problem per entry: a 1-D score, a 2-column score (column 1 is positive) or one-vs-rest per class."""
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]
    if scores.ndim == 1:
        problems = {name: (labels.astype(int), scores)}
    elif scores.ndim == 2:
        problems = {
            f"{name} (class {c})": ((labels == c).astype(int), scores[:, c]) for c in range(scores.shape[1])
        }
    else:
        raise ValueError(f"scores of {name!r} must be (n,) or (n, classes), got shape {scores.shape}")
    result = {}
    for problem, (truth, score) in problems.items():
        if len(truth) != len(score):
            raise ValueError(f"{problem!r}: {len(truth)} labels but {len(score)} scores")
        if set(np.unique(truth)) - {0, 1}:
            raise ValueError(f"{problem!r}: binary labels must be 0/1, got {sorted(np.unique(truth))}")
        if len(np.unique(truth)) < 2:
            raise ValueError(f"{problem!r}: needs both positive and negative examples")
        fpr, tpr, _ = roc_curve(truth, score)
        precision, recall, _ = precision_recall_curve(truth, score)
        result[problem] = {
            "n": len(truth),
            "positives": int(truth.sum()),
            "auroc": float(roc_auc_score(truth, score)),
            "average_precision": float(average_precision_score(truth, score)),
            "roc": {"fpr": fpr.round(6).tolist(), "tpr": tpr.round(6).tolist()},
            "pr": {"recall": recall.round(6).tolist(), "precision": precision.round(6).tolist()},
        }
    return result


def roc_pr_curves(
    labels: Sequence[int] | np.ndarray | Mapping[str, Any],
    scores: Sequence[float] | np.ndarray | Mapping[str, Any],
    path: str | Path,
    *,
    title: str | None = None,
) -> Path:
    """ROC and precision-recall curves of fine-tuning predictions, with AUROC and average precision in the legends.

    Args:
        labels: true classes, `(n,)` ints; or ``{task: (n_task,) ints}`` for several tasks in one figure.
        scores: per task, `(n,)` positive-class scores (probabilities or logits), `(n, 2)` (column 1 is used) or
            `(n, C)` for C > 2 classes (one-vs-rest curve per class); a mapping with the same keys as `labels`.
        path: the PNG to write; ``path.with_suffix(".json")`` gets ``{curve: {"n", "positives", "auroc",
            "average_precision", "roc": {"fpr", "tpr"}, "pr": {"recall", "precision"}}}``.

    Returns:
        `path`.
    """
    if isinstance(labels, Mapping) != isinstance(scores, Mapping):
        raise TypeError("labels and scores must both be arrays or both be mappings {task: array}")
    if isinstance(labels, Mapping):
        if set(labels) != set(scores):
            raise ValueError(f"labels and scores have different tasks: {sorted(labels)} vs {sorted(scores)}")
        tasks = {
            name: (np.asarray(labels[name]), np.asarray(scores[name], dtype=np.float64)) for name in labels
        }
    else:
        tasks = {"task": (np.asarray(labels), np.asarray(scores, dtype=np.float64))}
    curves: dict[str, dict[str, Any]] = {}
    for name, (truth, score) in tasks.items():
        curves.update(_curves_for(truth, score, name))
    figure, (roc_axis, pr_axis) = plt.subplots(1, 2, figsize=(10, 4.4))
    for name, curve in curves.items():
        roc_axis.plot(curve["roc"]["fpr"], curve["roc"]["tpr"], label=f"{name} (AUROC {curve['auroc']:.3f})")
        pr_axis.step(
            curve["pr"]["recall"],
            curve["pr"]["precision"],
            where="post",
            label=f"{name} (AP {curve['average_precision']:.3f}, base {curve['positives'] / curve['n']:.2f})",
        )
    roc_axis.plot([0, 1], [0, 1], ":", color="grey", linewidth=1)
    roc_axis.set(
        xlabel="false positive rate", ylabel="true positive rate", title="ROC", xlim=(0, 1), ylim=(0, 1.02)
    )
    pr_axis.set(xlabel="recall", ylabel="precision", title="precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    for axis in (roc_axis, pr_axis):
        axis.legend(fontsize=7, loc="lower right" if axis is roc_axis else "lower left")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return _save(figure, Path(path), curves)


CURVES = (
    ("losses", ("loss", "loss_mgm", "loss_ngsp", "loss_srm")),
    ("MGM accuracy (masked k-mers)", ("mgm_accuracy",)),
    ("NGSP accuracy", ("ngsp_accuracy",)),
    ("SRM top-1 retrieval", ("srm_top1_seq2region", "srm_top1_region2seq")),
)


def training_curves(log_history: Sequence[dict]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """``{"train": {metric: [(step, value), ...]}, "eval": {...}}`` from a Trainer's ``state.log_history``."""
    curves: dict[str, dict[str, list[tuple[int, float]]]] = {"train": {}, "eval": {}}
    for entry in log_history:
        step = entry.get("step")
        if step is None:
            continue
        for key, value in entry.items():
            if not isinstance(value, (int, float)) or key in ("step", "epoch"):
                continue
            if key.startswith("eval_"):
                curves["eval"].setdefault(key[5:], []).append((step, float(value)))
            elif key.startswith("train_") and key not in ("train_runtime", "train_loss"):
                curves["train"].setdefault(key[6:], []).append((step, float(value)))
            elif key == "loss":
                curves["train"].setdefault("loss", []).append((step, float(value)))
    return curves


def plot_training_curves(log_history: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """Plot every loss term, MGM accuracy, NGSP accuracy and SRM retrieval against steps; also write ``.json``."""
    path = Path(path)
    curves = training_curves(log_history)
    figure, axes = plt.subplots(1, len(CURVES), figsize=(4.2 * len(CURVES), 3.4))
    for axis, (panel, keys) in zip(axes, CURVES, strict=True):
        for split, style in (("train", "-"), ("eval", "o--")):
            for key in keys:
                points = curves[split].get(key)
                if points:
                    steps, values = zip(*points, strict=True)
                    axis.plot(steps, values, style, label=f"{split} {key}", markersize=3)
        axis.set_title(panel)
        axis.set_xlabel("step")
        if axis.lines:
            axis.legend(fontsize=7)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return _save(figure, path, curves)


def comparison_figure(
    values: Mapping[str, Mapping[str, Sequence[float]]],
    differences: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    references: Mapping[str, Mapping[str, float]] | None = None,
    metric: str = "AUC",
    title: str = "",
) -> Path:
    """Arms compared on every task, and the paired differences between arms; also writes the data as ``.json``.

    Args:
        values: ``{task: {arm: [value per seed]}}``, arms in the order to draw.
        differences: rows ``{"label": "C-B", "task", "mean", "low", "high"}`` (``low`` / ``high`` None without an
            interval), drawn top to bottom.
        references: ``{task: {reference name: value}}``, drawn as short horizontal lines over the task's arms.
        metric: the y-axis label of the left panel and the x-axis label of the right one (as a difference).
    """
    path = Path(path)
    tasks = list(values)
    arms = list(dict.fromkeys(arm for task in tasks for arm in values[task]))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    rows = max(len(differences), 1)
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(max(7.0, 1.1 * len(tasks) * max(len(arms), 1) / 2 + 3), max(4.4, 0.28 * rows + 1.6)),
        gridspec_kw={"width_ratios": [1.6, 1.0]},
    )  # fmt: skip
    width = 0.8 / max(len(arms), 1)
    styles = ("--", ":", "-.")
    for t, task in enumerate(tasks):
        for a, arm in enumerate(arms):
            points = [v for v in values[task].get(arm, []) if v is not None and np.isfinite(v)]
            if not points:
                continue
            x = t - 0.4 + width * (a + 0.5)
            left.scatter([x] * len(points), points, s=10, color=colours[a % len(colours)], alpha=0.6)
            left.errorbar(x, np.mean(points), yerr=np.std(points, ddof=1) if len(points) > 1 else 0, fmt="o",
                          color=colours[a % len(colours)], capsize=3, label=arm if t == 0 else None)  # fmt: skip
        for r, (name, value) in enumerate(sorted((references or {}).get(task, {}).items())):
            left.hlines(value, t - 0.45, t + 0.45, colors="black", linestyles=styles[r % len(styles)],
                        label=f"reference: {name}" if t == 0 else None)  # fmt: skip
    left.set_xticks(range(len(tasks)))
    left.set_xticklabels(tasks, rotation=30, ha="right", fontsize=8)
    left.set_ylabel(metric)
    left.grid(alpha=0.3)
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3)
    left.set_title("arms per task: every seed, mean ± sd", fontsize=9)
    for row, entry in enumerate(differences):
        y = rows - 1 - row
        low, high = entry.get("low"), entry.get("high")
        if low is not None and high is not None:
            excludes = low > 0 or high < 0
            right.errorbar(entry["mean"], y, xerr=[[entry["mean"] - low], [high - entry["mean"]]], fmt="o",
                           capsize=3, color="C3" if excludes else "C0")  # fmt: skip
        elif entry.get("mean") is not None:
            right.plot(entry["mean"], y, "o", color="grey")
    right.axvline(0.0, color="black", linewidth=0.8)
    right.set_yticks(range(rows))
    right.set_yticklabels([f"{e['label']} {e['task']}" for e in reversed(differences)] or [""], fontsize=7)
    right.set_xlabel(f"paired difference in {metric}, 95 % t-interval")
    right.set_title("red: the interval excludes 0", fontsize=9)
    right.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    data = {
        "values": values,
        "differences": list(differences),
        "references": references or {},
        "metric": metric,
    }
    return _save(figure, path, json.loads(json.dumps(data, default=float)))


__all__ = [
    "cluster_separation", "comparison_figure", "figure2_tsne", "plot_training_curves", "roc_pr_curves",
    "training_curves",
]  # fmt: skip
