"""Figures from training logs (matplotlib, PNG, with the data behind them as JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

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
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    path.with_suffix(".json").write_text(json.dumps(curves, indent=1))
    return path
