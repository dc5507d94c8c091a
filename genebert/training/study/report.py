"""Study results: ``results.json`` (appended atomically), the table ``results.md`` and the plots; for studies with
``comparisons``, paired differences between arms with 95 % t-intervals over seeds, the reference classifiers and
the held-out pre-training metrics of every arm."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...storage import atomic_write, write_json
from .spec import METRIC_LABELS, Study, Variant

# --------------------------------------------------------------------------------------------------- results


@dataclass
class RunSummary:
    """What one :func:`run_study` call did (tests and the command line read it)."""

    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    pretrained: list[str] = field(default_factory=list)
    reused_checkpoints: list[str] = field(default_factory=list)
    results_path: Path | None = None
    markdown_path: Path | None = None
    figures: list[Path] = field(default_factory=list)


@contextlib.contextmanager
def _quiet_threads() -> Any:
    """Keep sklearn / t-SNE to the threads torch uses (a shared 2-core machine is much faster that way)."""
    import torch
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=max(1, torch.get_num_threads())):
        yield


def read_results(path: Path) -> dict[str, Any]:
    """``results.json`` as ``{"study", "preset", "cells": [row, ...], "summary": [...]}`` (empty when absent)."""
    if not path.is_file():
        return {"cells": []}
    return json.loads(path.read_text())


def write_json_atomic(path: Path, value: Any) -> None:
    """``value`` as strict JSON (an undefined metric is ``null``), written atomically (`genebert.storage.write_json`):
    readers and a study interrupted mid-write see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, value, default=str)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def aggregate(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """Mean and sample standard deviation (ddof 1; 0 with one seed) of each metric per (variant, task).

    Rows keep the order of their first appearance. Non-finite values are left out (``n`` counts the rest).
    """
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["variant"], row["task"]), []).append(row)
    summary = []
    for (variant, task), members in groups.items():
        entry: dict[str, Any] = {
            "variant": variant,
            "task": task,
            "x": members[0].get("x"),
            "seeds": sorted(int(m["seed"]) for m in members),
            "paper": members[0].get("paper", {}),
            "mean": {},
            "std": {},
            "n": {},
        }
        for metric in metrics:
            values = [v for v in (_finite(m["metrics"].get(metric)) for m in members) if v is not None]
            entry["n"][metric] = len(values)
            entry["mean"][metric] = float(np.mean(values)) if values else None
            entry["std"][metric] = (
                float(np.std(values, ddof=1)) if len(values) > 1 else (0.0 if values else None)
            )
        summary.append(entry)
    return summary


#: Held-out pre-training metrics shown per arm (``results.json`` ``pretraining``), each baseline beside its metric.
PRETRAIN_COLUMNS = (
    ("mgm_accuracy", "MGM acc."), ("mgm_copy_aware_accuracy", "copy-aware MGM"), ("ngsp_accuracy", "NGSP acc."),
    ("srm_top1_seq2region", "SRM top-1"), ("srm_composition_top1", "3-mer SRM top-1"), ("srm_chance", "SRM chance"),
    ("srm_region_top1_seq2region", "region SRM top-1"), ("srm_region_chance", "region SRM chance"),
    ("probe_r2", "probe R²"), ("composition_r2", "3-mer ridge R²"), ("probe_region_top1", "probe region top-1"),
    ("composition_region_top1", "3-mer region top-1"), ("region_chance", "region chance"),
)  # fmt: skip
#: Pre-training metrics whose paired differences are reported beside the downstream ones.
PRETRAIN_DIFFERENCE_METRICS = ("probe_r2", "probe_region_top1")
#: What the study's references are called in tables and figures.
REFERENCE_LABELS = {"motif_scores": "LR on motif max scores", "kmer_counts": "LR on k-mer frequencies"}


def paired_differences(study: Study, results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """For every ``comparisons`` pair (a, b) and every task: the differences a - b of ``plot_metric`` paired by seed,
    their mean, sample sd and 95 % t-interval of the mean (none with one seed), and a one-line reading that claims
    only what the interval supports; then the same for :data:`PRETRAIN_DIFFERENCE_METRICS` of the held-out
    pre-training metrics (task ``pre-training``)."""
    from scipy import stats

    metric = study.plot_metric
    by_seed: dict[tuple[str, str, str], dict[int, float]] = {}
    for row in results.get("cells", []):
        value = _finite(row["metrics"].get(metric))
        if value is not None:
            by_seed.setdefault((row["task"], metric, row["variant"]), {})[int(row["seed"])] = value
    for row in results.get("pretraining", []):
        for name in PRETRAIN_DIFFERENCE_METRICS:
            value = _finite(row.get("metrics", {}).get(name))
            if value is not None:
                by_seed.setdefault(("pre-training", name, row["variant"]), {})[int(row["seed"])] = value
    keys = [(t.name, metric) for t in study.tasks]
    keys += [("pre-training", name) for name in PRETRAIN_DIFFERENCE_METRICS if results.get("pretraining")]
    rows = []
    for a, b in study.comparisons:
        for task, name in keys:
            first, second = by_seed.get((task, name, a), {}), by_seed.get((task, name, b), {})
            seeds = sorted(set(first) & set(second))
            if not seeds:
                continue
            diffs = np.asarray([first[seed] - second[seed] for seed in seeds])
            n, mean = len(diffs), float(diffs.mean())
            sd = float(diffs.std(ddof=1)) if n > 1 else None
            low = high = None
            if n > 1:
                half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
                low, high = mean - half, mean + half
            if low is None:
                reading = "one seed: no interval, no claim"
            elif low > 0:
                reading = f"{a} above {b} (the interval excludes 0)"
            elif high < 0:
                reading = f"{a} below {b} (the interval excludes 0)"
            else:
                reading = "the interval includes 0: no difference shown"
            rows.append(
                {"label": f"{a} − {b}", "a": a, "b": b, "task": task, "metric": name, "seeds": seeds, "n": n,
                 "mean": mean, "sd": sd, "low": low, "high": high, "reading": reading}
            )  # fmt: skip
    return rows


def _comparison_markdown(study: Study, results: Mapping[str, Any]) -> list[str]:
    """The held-out pre-training table per arm and the paired-differences table (studies with comparisons)."""
    lines: list[str] = []
    pretraining = results.get("pretraining") or []
    if pretraining:
        columns = [
            (k, label) for k, label in PRETRAIN_COLUMNS if any(k in r.get("metrics", {}) for r in pretraining)
        ]
        lines += [
            "## Pre-training, held-out genome blocks (mean ± sd over seeds)",
            "",
            "Each metric beside its baseline: MGM accuracy vs the copy-aware baseline, SRM top-1 in the batch vs the "
            "3-mer composition ridge and chance, and per region the linear probe from the sequence tower's "
            "per-region embedding to the standardised motif vector (held-out R², top-1 retrieval among all "
            "held-out regions) vs the 3-mer ridge.",
            "",
            "| arm | " + " | ".join(label for _, label in columns) + " | n |",
            "|---" + "|---:" * (len(columns) + 1) + "|",
        ]
        for variant in study.variants:
            members = [r for r in pretraining if r["variant"] == variant.name]
            if not members:
                continue
            cells = []
            for key, _ in columns:
                numbers = [v for v in (_finite(r["metrics"].get(key)) for r in members) if v is not None]
                std = float(np.std(numbers, ddof=1)) if len(numbers) > 1 else 0.0
                cells.append(_format(float(np.mean(numbers)), std, len(numbers)) if numbers else "")
            lines.append(f"| {variant.name} | " + " | ".join(cells) + f" | {len(members)} |")
        lines.append("")
    differences = results.get("differences") or []
    if differences:
        lines += [
            f"## Paired differences ({METRIC_LABELS.get(study.plot_metric, study.plot_metric)} downstream; "
            "probe R² and region top-1 in pre-training)",
            "",
            "Differences between arms paired by seed: mean, 95 % t-interval of the mean over seeds, and what the "
            "interval supports (nothing more).",
            "",
            "| difference | task | metric | mean | 95 % interval | n | reading |",
            "|---|---|---|---:|---:|---:|---|",
        ]
        for d in differences:
            interval = f"[{d['low']:+.3f}, {d['high']:+.3f}]" if d["low"] is not None else "-"
            lines.append(
                f"| {d['label']} | {d['task']} | {METRIC_LABELS.get(d['metric'], d['metric'])} | {d['mean']:+.3f} "
                f"| {interval} | {d['n']} | {d['reading']} |"
            )
        lines.append("")
    return lines


def _format(mean: float | None, std: float | None, n: int) -> str:
    if mean is None:
        return "n/a"
    return f"{mean:.3f} ± {std:.3f}" if n > 1 else f"{mean:.3f}"


def results_markdown(study: Study, results: Mapping[str, Any], command: str | None = None) -> str:
    """``results.md``: one table per task in the paper's layout (factor, metrics as mean ± std over seeds, then
    the paper's numbers for the same row when the study file gives them)."""
    summary = aggregate(results["cells"], study.metrics)
    lines = [f"# {study.title}", ""]
    if study.description:
        lines += [study.description.strip(), ""]
    lines += [
        f"Preset `{study.preset or 'none'}`, corpus `{study.corpus}`, seeds {study.seeds}; "
        f"values are mean ± sample standard deviation over seeds (n = seeds finished).",
        "",
    ]
    commands = list(results.get("commands") or ([command] if command else []))
    if len(commands) == 1:
        lines += ["Command:", "", "```", commands[0], "```", ""]
    elif commands:
        lines += ["Commands that ran cells into this folder, in order:", "", "```", *commands, "```", ""]
    paper_metrics = [m for m in study.metrics if any(m in v.paper for v in study.variants)]
    order = {v.name: i for i, v in enumerate(study.variants)}
    for task in study.tasks:
        entries = sorted(
            (e for e in summary if e["task"] == task.name), key=lambda e: order.get(e["variant"], 1e9)
        )
        metrics = [m for m in study.metrics if any(e["n"].get(m) for e in entries)] or study.metrics
        lines += [
            f"## {task.name} ({task.type}: {task.args.get('task') or task.args.get('train_file') or 'held-out corpus samples'})",
            "",
        ]
        header = [study.factor, *(METRIC_LABELS.get(m, m) for m in metrics), "n"]
        header += [f"paper {METRIC_LABELS.get(m, m)}" for m in paper_metrics]
        lines += ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
        for entry in entries:
            n = max(entry["n"].values(), default=0)
            cells = [
                entry["variant"],
                *(_format(entry["mean"][m], entry["std"][m], entry["n"][m]) for m in metrics),
                str(n),
            ]
            cells += [f"{entry['paper'][m]:.3f}" if m in entry["paper"] else "" for m in paper_metrics]
            lines.append("| " + " | ".join(cells) + " |")
        for name, values in (results.get("references", {}).get(task.name, {}).get("metrics") or {}).items():
            label = f"reference: {REFERENCE_LABELS.get(name, name)}"
            shown = [f"{values[m]:.3f}" if _finite(values.get(m)) is not None else "n/a" for m in metrics]
            lines.append("| " + " | ".join([label, *shown, "-", *([""] * len(paper_metrics))]) + " |")
        missing = [v.name for v in study.variants if v.name not in {e["variant"] for e in entries}]
        if missing:
            lines += ["", f"Not run yet: {', '.join(missing)}."]
        lines.append("")
    lines += _comparison_markdown(study, results)
    if study.paper_note:
        lines += [study.paper_note.strip(), ""]
    figures = results.get("figures") or []
    if figures:
        lines += ["## Figures", ""] + [f"![{Path(f).stem}]({Path(f).name})" for f in figures] + [""]
    timing = sum(float(row.get("seconds", 0.0)) for row in results["cells"])
    lines += [
        f"Total compute of the cells: {timing / 60:.1f} min (pre-training runs counted once, where run).",
        "",
    ]
    return "\n".join(lines)


def plot_study(study: Study, results: Mapping[str, Any], path: Path) -> Path:
    """Metric vs the varied factor with seed standard deviations as error bars, one line per task. When the study
    gives the paper's numbers they get a second panel with the same x-axis (own y-scale: the scales differ)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = study.plot_metric
    summary = aggregate(results["cells"], [metric])
    order = [v.name for v in study.variants]
    xs_numeric = all(isinstance(v.x, (int, float)) and not isinstance(v.x, bool) for v in study.variants)

    def position(variant: Variant) -> float:
        return float(variant.x) if xs_numeric else float(order.index(variant.name))

    paper = [(v, v.paper[metric]) for v in study.variants if metric in v.paper]
    width = max(7.0, 1.0 + 0.9 * len(order))
    figure, axes = plt.subplots(
        1, 2 if paper else 1, figsize=(2 * width if paper else width, 4.4), squeeze=False
    )
    axis = axes[0][0]
    for task in study.tasks:
        entries = {
            e["variant"]: e for e in summary if e["task"] == task.name and e["mean"][metric] is not None
        }
        chosen = [v for v in study.variants if v.name in entries]
        if not chosen:
            continue
        means = [entries[v.name]["mean"][metric] for v in chosen]
        stds = [entries[v.name]["std"][metric] for v in chosen]
        axis.errorbar([position(v) for v in chosen], means, yerr=stds, marker="o", capsize=4, label=task.name)
    axis.set_title(
        f"this run: preset {study.preset or 'none'}, mean ± sd over {len(study.seeds)} seeds", fontsize=9
    )
    if paper:
        axes[0][1].plot(
            [position(v) for v, _ in paper],
            [value for _, value in paper],
            linestyle="--",
            marker="o",
            markerfacecolor="none",
            color="grey",
            label="paper",
        )
        axes[0][1].set_title("the paper (its scale; printed numbers)", fontsize=9)
    for axis in axes[0]:
        if xs_numeric:
            if study.x_log:
                axis.set_xscale("log")
                axis.minorticks_off()
            axis.set_xticks([float(v.x) for v in study.variants])
            axis.set_xticklabels([str(v.x) for v in study.variants])
        else:
            long = max(map(len, order)) > 8
            axis.set_xticks(range(len(order)))
            axis.set_xticklabels(order, rotation=20 if long else 0, ha="right" if long else "center")
        axis.set_xlabel(study.factor)
        axis.set_ylabel(METRIC_LABELS.get(metric, metric))
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    figure.suptitle(study.title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def comparison_plot(study: Study, results: Mapping[str, Any], path: Path) -> Path:
    """The comparison figure (`genebert.figures.comparison_figure`): ``plot_metric`` of every arm per task with the
    references, and the paired differences of ``results["differences"]``."""
    from genebert.figures import comparison_figure

    metric = study.plot_metric
    values: dict[str, dict[str, list[float]]] = {}
    for task in study.tasks:
        values[task.name] = {}
        for variant in study.variants:
            rows = [r for r in results["cells"] if r["task"] == task.name and r["variant"] == variant.name]
            numbers = [v for v in (_finite(r["metrics"].get(metric)) for r in rows) if v is not None]
            if numbers:
                values[task.name][variant.name] = numbers
    references = {
        task: {
            REFERENCE_LABELS.get(k, k): v[metric]
            for k, v in entry.get("metrics", {}).items()
            if _finite(v.get(metric)) is not None
        }
        for task, entry in (results.get("references") or {}).items()
    }
    downstream = [d for d in results.get("differences", []) if d["task"] != "pre-training"]
    return comparison_figure(
        {t: v for t, v in values.items() if v}, downstream, path, references=references,
        metric=METRIC_LABELS.get(metric, metric), title=f"{study.title} (preset {study.preset or 'none'})",
    )  # fmt: skip


def tsne_figures(study: Study, results: Mapping[str, Any], out: Path, cache_dir: Path) -> list[Path]:
    """For each embeddings task: the paper's Figure 2 (t-SNE by cell type, variants side by side) for one seed."""
    from genebert.figures import figure2_tsne

    figures = []
    for task in study.tasks:
        if task.type != "embeddings":
            continue
        rows = [r for r in results["cells"] if r["task"] == task.name]
        seeds = sorted({int(r["seed"]) for r in rows})
        if not seeds:
            continue
        seed = study.tsne_seed if study.tsne_seed in seeds else seeds[0]
        chosen = {r["variant"]: r for r in rows if int(r["seed"]) == seed}
        embeddings, labels = {}, None
        for variant in study.variants:
            row = chosen.get(variant.name)
            if row is None or not row.get("run_dir"):
                continue
            path = Path(row["run_dir"]) / "embeddings.npz"
            if not path.is_file():
                continue
            data = np.load(path)
            kind = "mean" if task.args.get("pooling", "cls") == "mean" else "cls"
            embeddings[variant.name] = data[kind]
            labels = [str(x) for x in data["cell_types"]]
        if len(embeddings) and labels is not None:
            target = out / f"{study.name}_{task.name}_tsne.png"
            with _quiet_threads():
                figure2_tsne(
                    embeddings, labels, target, seed=seed, threads=1,
                    title=f"{study.name}: held-out samples by cell type, seed {seed}",
                )  # fmt: skip
            figures.append(target)
    return figures


def write_reports(study: Study, out: Path, cache_dir: Path, command: str | None = None) -> RunSummary:
    """(Re)write ``results.json``'s summary, ``results.md``, the metric plot and any t-SNE figures."""
    results_path = out / "results.json"
    results = read_results(results_path)
    # every distinct command that ran here (e.g. one per seed); --report-only passes none and keeps them
    commands = list(results.get("commands") or ([results["command"]] if results.get("command") else []))
    if command and command not in commands:
        commands.append(command)
    command = command or results.get("command")
    if study.comparisons:
        results["differences"] = paired_differences(study, results)
        figures = [comparison_plot(study, results, out / f"{study.name}.png")] if results["cells"] else []
    else:
        figures = [plot_study(study, results, out / f"{study.name}.png")] if results["cells"] else []
    figures += tsne_figures(study, results, out, cache_dir)
    results.update(
        study=study.name,
        title=study.title,
        preset=study.preset,
        corpus=study.corpus,
        seeds=study.seeds,
        metrics=study.metrics,
        command=command,
        commands=commands,
        figures=[str(f.name) for f in figures],
        summary=aggregate(results["cells"], study.metrics),
    )
    write_json_atomic(results_path, results)
    markdown = out / "results.md"
    atomic_write(markdown, results_markdown(study, results, command))
    return RunSummary(results_path=results_path, markdown_path=markdown, figures=figures)
