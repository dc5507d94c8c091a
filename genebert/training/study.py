"""Experiment studies: the paper's section 5 (Tables 5, 7, 8 and Figure 2) as grids of runs that resume.

A *study* is a YAML file (``run_scripts/studies/*.yaml``; runner ``run_scripts/run_study.py`` or ``genebert
study``) describing a grid of pre-training configurations crossed with downstream tasks and seeds. Each *cell*
(variant x task x seed)

1. pre-trains with :func:`genebert.training.pretrain.main`, or reuses a cached checkpoint whose configuration hash
   (:func:`pretrain_hash`) matches; a variant without ``pretrain`` (``pretrain: null``) is the paper's "no
   pre-training" row: the downstream model starts from random weights;
2. fine-tunes with :func:`genebert.training.finetune.main` and evaluates on the test split with the paper's metrics
   (:func:`genebert.training.metrics.classification_metrics`), or, for an ``embeddings`` task (Figure 2), embeds
   held-out pre-training samples and scores how well cell types cluster (silhouette);
3. is appended atomically to ``results.json`` (temporary file + ``os.replace``).

Re-running a study skips the cells already in ``results.json`` with the same hashes, so an interrupted study
resumes where it stopped. At the end ``results.md`` (the paper's table layout: mean +- standard deviation over
seeds beside the paper's numbers) and ``<study>.png`` (metric vs the varied factor, seed error bars) are written.

Study file (every key is validated; unknown keys are errors)::

    name: lambda                      # required; output file names
    title: "Table 8 (right): lambda"  # shown in results.md and the plot
    factor: lambda                    # the varied factor: x-axis label and first table column
    corpus: demo_real                 # demo_real | demo_synthetic | a corpus directory (genebert build-corpus)
    seeds: [0, 1, 2, 3, 4]
    pretrain: {preset: base}          # pre-training arguments shared by every variant (run_pretraining.py flags)
    finetune: {preset: base}          # fine-tuning arguments shared by every task (run_finetuning.py flags)
    variants:                         # explicit rows ...
      - {name: "0.01", x: 0.01, pretrain: {srm_weight: 0.01}, paper: {precision: 0.633, recall: 0.621, auc: 0.683}}
    grid: {srm_weight: [0.01, 0.5]}   # ... and/or a cartesian grid of pre-training fields (crossed with variants)
    tasks:
      - {name: prom_core_all, task: gue_prom_core_all}                 # fine-tuning tasks
      - {name: cell_types, type: embeddings, pooling: cls}              # Figure 2
    metrics: [precision_macro, recall_macro, auc, mcc]
    plot_metric: auc
    presets:                          # --preset NAME deep-merges presets[NAME] over the file (lists replace)
      tiny: {seeds: [0, 1], pretrain: {preset: tiny, max_steps: 60}}

Pre-training fields are any argument of ``run_pretraining.py`` (``use_mgm``, ``use_ngsp``, ``use_srm``,
``srm_weight``, ``region_backbone``, ``region_input_mode``, ``config_overrides``, ``per_device_train_batch_size``,
...) plus ``global_batch_size`` (split into the per-device batch and gradient accumulation of one process).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import itertools
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger("genebert.study")

#: Version of the cache key: bump when a code change makes old checkpoints unusable for a study.
CACHE_VERSION = 1

#: Top-level keys of a study file.
STUDY_KEYS = frozenset(
    {
        "name",
        "title",
        "description",
        "factor",
        "corpus",
        "data_root",
        "seeds",
        "pretrain",
        "finetune",
        "variants",
        "grid",
        "tasks",
        "metrics",
        "plot_metric",
        "x_log",
        "paper_note",
        "presets",
        "keep_finetuned_models",
        "tsne_seed",
    }
)
VARIANT_KEYS = frozenset({"name", "x", "pretrain", "paper", "finetune"})
TASK_TYPES = ("finetune", "embeddings")
EMBEDDING_TASK_KEYS = frozenset({"name", "type", "pooling", "max_samples"})
DEMO_CORPORA = ("demo_real", "demo_synthetic")

#: Pre-training arguments the runner sets itself (per cell) or that cannot change the trained weights; they are
#: left out of the configuration hash.
RUNNER_PRETRAIN_FIELDS = frozenset({"corpus_dir", "output_dir", "seed"})
HASH_IRRELEVANT_FIELDS = frozenset(
    {
        "logging_steps",
        "logging_dir",
        "logging_strategy",
        "logging_first_step",
        "save_steps",
        "save_strategy",
        "save_total_limit",
        "eval_steps",
        "eval_strategy",
        "per_device_eval_batch_size",
        "max_eval_samples",
        "disable_tqdm",
        "report_to",
        "dataloader_num_workers",
        "overwrite_output_dir",
        "run_name",
    }
)
#: Paper metric names (columns of the paper's tables) -> our metric keys.
METRIC_LABELS = {
    "precision_macro": "Precision",
    "recall_macro": "Recall",
    "auc": "AUC",
    "mcc": "MCC",
    "f1": "F1",
    "accuracy": "Accuracy",
    "pr_auc": "PR-AUC",
    "precision": "Precision (class 1)",
    "recall": "Recall (class 1)",
    "silhouette": "Silhouette",
    "silhouette_mean_pool": "Silhouette (mean pool)",
}
#: The paper reports macro precision / recall (see genebert.training.metrics): its "precision" is ours "precision_macro".
PAPER_METRIC_ALIASES = {"precision": "precision_macro", "recall": "recall_macro"}


class StudyError(ValueError):
    """A study file or its inputs are invalid; the message names the file and the offending entry."""


# --------------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Variant:
    """One pre-training configuration (a row of the paper's table). ``pretrain`` None: no pre-training."""

    name: str
    pretrain: dict[str, Any] | None
    x: Any = None
    paper: dict[str, float] = field(default_factory=dict)
    finetune: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """A downstream evaluation: ``finetune`` (``args`` are fine-tuning flags) or ``embeddings`` (Figure 2)."""

    name: str
    type: str
    args: dict[str, Any]


@dataclass
class Study:
    """A parsed, validated study file with its preset applied."""

    name: str
    title: str
    factor: str
    corpus: str
    seeds: list[int]
    pretrain: dict[str, Any]
    finetune: dict[str, Any]
    variants: list[Variant]
    tasks: list[Task]
    metrics: list[str]
    plot_metric: str
    preset: str | None = None
    source: str | None = None
    description: str = ""
    paper_note: str = ""
    data_root: str | None = None
    x_log: bool = False
    keep_finetuned_models: bool = False
    tsne_seed: int | None = None

    def cells(self) -> list[Cell]:
        """Every (variant, task, seed) of the grid, variants outermost (the order runs and tables use)."""
        return [
            Cell(self, variant, task, seed)
            for variant in self.variants
            for task in self.tasks
            for seed in self.seeds
        ]


@dataclass(frozen=True)
class Cell:
    """One run of a study: a variant's pre-training (or none), one task, one seed."""

    study: Study
    variant: Variant
    task: Task
    seed: int

    @property
    def cell_id(self) -> str:
        return f"{self.variant.name}|{self.task.name}|seed={self.seed}"

    def pretrain_args(self) -> dict[str, Any] | None:
        """The variant's full pre-training arguments (study defaults, then the variant), None for no pre-training."""
        if self.variant.pretrain is None:
            return None
        return normalise_pretrain_args({**self.study.pretrain, **self.variant.pretrain})

    def pretrain_hash(self) -> str | None:
        args = self.pretrain_args()
        return None if args is None else pretrain_hash(args, self.study.corpus, self.seed)

    def finetune_args(self) -> dict[str, Any]:
        return {**self.study.finetune, **self.variant.finetune, **self.task.args}

    def finetune_hash(self) -> str:
        return stable_hash(
            {
                "task": self.task.type,
                "args": self.finetune_args(),
                "pretrain": self.pretrain_hash(),
                "seed": self.seed,
            }
        )


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``update``; nested mappings merge, everything else (lists included) is replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _dataclass_fields(types: Iterable[type]) -> set[str]:
    return {f.name for kind in types for f in dataclasses.fields(kind)}


def pretrain_fields() -> set[str]:
    """Names a study may set in ``pretrain`` (run_pretraining.py's arguments, ``global_batch_size``)."""
    from .pretrain import DataArguments, GeneBertPretrainingArguments, ModelArguments

    names = _dataclass_fields((ModelArguments, DataArguments, GeneBertPretrainingArguments))
    return (names - RUNNER_PRETRAIN_FIELDS) | {"global_batch_size"}


def finetune_fields() -> set[str]:
    """Names a study may set in ``finetune`` and in a fine-tuning task (run_finetuning.py's arguments)."""
    from .finetune import DataArguments, GeneBertFinetuningArguments, ModelArguments

    names = _dataclass_fields((ModelArguments, DataArguments, GeneBertFinetuningArguments))
    return names - {"output_dir", "seed", "model_name_or_path"}


def _check_keys(where: str, values: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise StudyError(f"{where}: unknown keys {unknown}; allowed: {', '.join(sorted(allowed))}")


def _mapping(where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise StudyError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
    return dict(value)


def normalise_pretrain_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve ``global_batch_size`` into ``per_device_train_batch_size`` (one process) and sort the keys."""
    args = dict(args)
    if "global_batch_size" in args:
        total = int(args.pop("global_batch_size"))
        accumulation = int(args.get("gradient_accumulation_steps", 1))
        if total <= 0 or total % accumulation:
            raise StudyError(
                f"global_batch_size {total} is not a positive multiple of gradient_accumulation_steps {accumulation}"
            )
        args["per_device_train_batch_size"] = total // accumulation
    return dict(sorted(args.items()))


def stable_hash(value: Any, length: int = 12) -> str:
    """A short SHA-256 of ``value``'s canonical JSON (sorted keys): equal values hash equal across runs."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def corpus_fingerprint(corpus: str) -> str:
    """What identifies a corpus in cache keys: the demo corpus's name, or the content of ``metadata.json``."""
    if corpus in DEMO_CORPORA:
        return corpus
    metadata = Path(corpus) / "metadata.json"
    if metadata.is_file():
        return "sha256:" + hashlib.sha256(metadata.read_bytes()).hexdigest()
    return str(Path(corpus).resolve())


def pretrain_hash(args: Mapping[str, Any], corpus: str, seed: int) -> str:
    """The cache key of a pre-training run: its arguments (without fields that cannot change the weights), the
    corpus and the seed. Two cells (of any study) with the same key share one checkpoint."""
    defaults = pretrain_model_defaults(args.get("preset", "base"))
    relevant = {
        k: v
        for k, v in normalise_pretrain_args(args).items()
        if k not in HASH_IRRELEVANT_FIELDS and not (k in defaults and defaults[k] == v)
    }
    return stable_hash(
        {
            "version": CACHE_VERSION,
            "pretrain": relevant,
            "corpus": corpus_fingerprint(corpus),
            "seed": int(seed),
        }
    )


def pretrain_model_defaults(preset: str) -> dict[str, Any]:
    """Defaults of the model and data arguments of pre-training under ``preset``. Arguments equal to their
    default are left out of the hash, so ``{}`` and ``{"srm_weight": 0.5}`` hash alike and a new optional
    argument added to genebert does not invalidate cached checkpoints. Training-argument defaults are keyed by the
    preset name itself."""
    from .pretrain import PRESETS, DataArguments, ModelArguments

    values = {
        f.name: f.default
        for kind in (ModelArguments, DataArguments)
        for f in dataclasses.fields(kind)
        if f.default is not dataclasses.MISSING and f.name not in RUNNER_PRETRAIN_FIELDS
    }
    values.update({k: v for k, v in PRESETS.get(preset, {}).items() if k in values})
    values.pop("preset", None)
    return values


def _expand_variants(where: str, variants: list[Variant], grid: Mapping[str, Any]) -> list[Variant]:
    """``variants`` crossed with the cartesian ``grid`` of pre-training fields (either may be empty)."""
    if not grid:
        return variants
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise StudyError(f"{where}: grid.{key} must be a non-empty list, got {values!r}")
    points = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    bases = variants or [Variant(name="", pretrain={})]
    expanded = []
    for base in bases:
        if base.pretrain is None:
            expanded.append(base)  # "no pre-training" has nothing to vary
            continue
        for point in points:
            label = ",".join(f"{k}={v}" for k, v in point.items())
            x = next(iter(point.values())) if len(point) == 1 else label
            expanded.append(
                Variant(
                    name=f"{base.name} {label}".strip(),
                    pretrain={**base.pretrain, **point},
                    x=x if base.x is None else base.x,
                    paper=dict(base.paper),
                    finetune=dict(base.finetune),
                )
            )
    return expanded


def parse_study(values: Mapping[str, Any], preset: str | None = None, source: str = "<study>") -> Study:
    """Validate a study mapping (a loaded YAML file), apply ``presets[preset]`` and expand the grid."""
    if not isinstance(values, Mapping):
        raise StudyError(f"{source}: a study file must be a mapping, got {type(values).__name__}")
    _check_keys(source, values, STUDY_KEYS)
    presets = _mapping(f"{source}: presets", values.get("presets"))
    if preset is not None:
        if preset not in presets:
            raise StudyError(f"{source}: no preset {preset!r}; the file defines {sorted(presets) or 'none'}")
        chosen = _mapping(f"{source}: presets.{preset}", presets[preset])
        _check_keys(f"{source}: presets.{preset}", chosen, STUDY_KEYS - {"presets", "name"})
        values = deep_merge({k: v for k, v in values.items() if k != "presets"}, chosen)
    name = values.get("name")
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "/\\ "):
        raise StudyError(
            f"{source}: 'name' must be a non-empty string without spaces or slashes, got {name!r}"
        )

    allowed_pretrain, allowed_finetune = pretrain_fields(), finetune_fields()
    pretrain = _mapping(f"{source}: pretrain", values.get("pretrain"))
    _check_keys(f"{source}: pretrain", pretrain, allowed_pretrain)
    finetune = _mapping(f"{source}: finetune", values.get("finetune"))
    _check_keys(f"{source}: finetune", finetune, allowed_finetune)

    variants: list[Variant] = []
    raw_variants = values.get("variants") or []
    if not isinstance(raw_variants, list):
        raise StudyError(f"{source}: 'variants' must be a list")
    for index, raw in enumerate(raw_variants):
        where = f"{source}: variants[{index}]"
        raw = _mapping(where, raw)
        _check_keys(where, raw, VARIANT_KEYS)
        if "name" not in raw:
            raise StudyError(f"{where}: every variant needs a 'name'")
        if "pretrain" not in raw:
            raise StudyError(
                f"{where}: give 'pretrain' (a mapping, {{}} for the defaults, or null for no pre-training)"
            )
        variant_pretrain = raw["pretrain"]
        if variant_pretrain is not None:
            variant_pretrain = _mapping(f"{where}.pretrain", variant_pretrain)
            _check_keys(f"{where}.pretrain", variant_pretrain, allowed_pretrain)
        variant_finetune = _mapping(f"{where}.finetune", raw.get("finetune"))
        _check_keys(f"{where}.finetune", variant_finetune, allowed_finetune)
        paper = _mapping(f"{where}.paper", raw.get("paper"))
        paper = {PAPER_METRIC_ALIASES.get(k, k): float(v) for k, v in paper.items()}
        variants.append(Variant(str(raw["name"]), variant_pretrain, raw.get("x"), paper, variant_finetune))
    grid = _mapping(f"{source}: grid", values.get("grid"))
    _check_keys(f"{source}: grid", grid, allowed_pretrain)
    variants = _expand_variants(source, variants, grid)
    if not variants:
        raise StudyError(f"{source}: no variants (give 'variants' and/or 'grid')")
    names = [v.name for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise StudyError(f"{source}: duplicate variant names {duplicates}")

    seeds = values.get("seeds", [42])
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        raise StudyError(f"{source}: 'seeds' must be a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise StudyError(f"{source}: duplicate seeds in {seeds}")

    tasks: list[Task] = []
    raw_tasks = values.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise StudyError(f"{source}: 'tasks' must be a non-empty list")
    for index, raw in enumerate(raw_tasks):
        where = f"{source}: tasks[{index}]"
        raw = _mapping(where, raw)
        kind = raw.get("type", "finetune")
        if kind not in TASK_TYPES:
            raise StudyError(f"{where}: type must be one of {TASK_TYPES}, got {kind!r}")
        if "name" not in raw:
            raise StudyError(f"{where}: every task needs a 'name'")
        args = {k: v for k, v in raw.items() if k not in ("name", "type")}
        if kind == "finetune":
            _check_keys(where, args, allowed_finetune)
            if bool(args.get("task")) == bool(args.get("train_file")):
                raise StudyError(f"{where}: give either 'task' (a built-in task) or 'train_file'")
        else:
            _check_keys(where, raw, EMBEDDING_TASK_KEYS)
            if args.get("pooling", "cls") not in ("cls", "mean"):
                raise StudyError(f"{where}: pooling must be 'cls' or 'mean', got {args['pooling']!r}")
            if any(v.pretrain is None for v in variants):
                raise StudyError(
                    f"{where}: an embeddings task needs every variant to pre-train (no 'pretrain: null')"
                )
        tasks.append(Task(str(raw["name"]), kind, args))
    task_names = [t.name for t in tasks]
    if len(set(task_names)) != len(task_names):
        raise StudyError(f"{source}: duplicate task names {task_names}")

    kinds = {t.type for t in tasks}
    default_metrics = (
        ["precision_macro", "recall_macro", "auc", "mcc"] if "finetune" in kinds else ["silhouette"]
    )
    if "embeddings" in kinds and "finetune" in kinds:
        default_metrics.append("silhouette")
    metrics = values.get("metrics") or default_metrics
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise StudyError(f"{source}: 'metrics' must be a list of metric names")
    plot_metric = values.get("plot_metric") or metrics[0]
    corpus = values.get("corpus")
    if not isinstance(corpus, str) or not corpus:
        raise StudyError(
            f"{source}: 'corpus' must be {' or '.join(DEMO_CORPORA)} or a corpus directory (genebert build-corpus); "
            "give it in the file, the preset or with --corpus"
        )
    return Study(
        name=name,
        title=str(values.get("title") or name),
        factor=str(values.get("factor") or "variant"),
        corpus=corpus,
        seeds=list(seeds),
        pretrain=pretrain,
        finetune=finetune,
        variants=variants,
        tasks=tasks,
        metrics=list(metrics),
        plot_metric=str(plot_metric),
        preset=preset,
        source=source,
        description=str(values.get("description") or ""),
        paper_note=str(values.get("paper_note") or ""),
        data_root=values.get("data_root"),
        x_log=bool(values.get("x_log", False)),
        keep_finetuned_models=bool(values.get("keep_finetuned_models", False)),
        tsne_seed=values.get("tsne_seed"),
    )


def load_study(
    path: str | Path, preset: str | None = None, overrides: Mapping[str, Any] | None = None
) -> Study:
    """Read and validate a study YAML (or JSON) file; ``overrides`` (e.g. ``{"corpus": ...}``) win over it."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise StudyError(f"study file {path} does not exist")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise StudyError(f"{path}: not valid YAML: {error}") from error
    if isinstance(values, Mapping) and overrides:
        values = dict(values)
        presets = values.get("presets") or {}
        if preset is not None and preset in presets:
            # command-line overrides win over the preset too
            presets = {**presets, preset: deep_merge(presets[preset] or {}, overrides)}
            values["presets"] = presets
        values = deep_merge(values, overrides)
    return parse_study(values, preset, source=str(path))


# --------------------------------------------------------------------------------------------------- results


def read_results(path: Path) -> dict[str, Any]:
    """``results.json`` as ``{"study", "preset", "cells": [row, ...], "summary": [...]}`` (empty when absent)."""
    if not path.is_file():
        return {"cells": []}
    return json.loads(path.read_text())


def write_json_atomic(path: Path, value: Any) -> None:
    """Write ``value`` as JSON through a temporary file in the same folder and ``os.replace``: readers (and a
    study interrupted mid-write) see either the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(value, stream, indent=1, default=_json_default)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


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
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
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
        missing = [v.name for v in study.variants if v.name not in {e["variant"] for e in entries}]
        if missing:
            lines += ["", f"Not run yet: {', '.join(missing)}."]
        lines.append("")
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


# --------------------------------------------------------------------------------------------------- running


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


def prepare_corpus(corpus: str, cache_dir: Path) -> Path:
    """The corpus directory: a demo corpus is built once into ``cache_dir/corpora`` (seconds), a path is checked."""
    if corpus in DEMO_CORPORA:
        target = cache_dir / "corpora" / corpus / "corpus"
        if (target / "metadata.json").is_file():
            return target
        import warnings

        from genebert.demo import build_real_corpus, build_synthetic_corpus

        if target.exists():
            shutil.rmtree(target)  # an interrupted build
        target.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if corpus == "demo_real":
                build_real_corpus(target, progress=False)
            else:  # 3 cell types with planted motifs, 800 regions each (240 samples), seed 0
                build_synthetic_corpus(target, 800, 0, progress=False)
        return target
    path = Path(corpus)
    if not (path / "metadata.json").is_file():
        raise StudyError(
            f"corpus {corpus!r} is neither {' nor '.join(DEMO_CORPORA)} nor a corpus directory with metadata.json "
            "(build one with `genebert build-corpus`)"
        )
    return path


def check_tasks(study: Study, data_root: str | None) -> None:
    """Fail before any training when a task's data is missing (e.g. GUE not at the data root)."""
    from genebert.genomics.tasks import TASKS, default_data_root, load_task

    for task in study.tasks:
        if task.type != "finetune":
            continue
        name = task.args.get("task")
        if name:
            if name not in TASKS:
                raise StudyError(
                    f"task {task.name!r}: unknown built-in task {name!r}; known: {', '.join(TASKS)}"
                )
            root = Path(task.args.get("data_root") or data_root or default_data_root())
            try:
                load_task(name, root)
            except (FileNotFoundError, OSError) as error:
                raise StudyError(
                    f"task {task.name!r} ({name}) needs its data under {root}: {error}. Give the data folder with "
                    "--data-root (or 'data_root' in the study file / $GENEBERT_DATA_ROOT); GUE is described in "
                    "docs/studies/README.md"
                ) from error
        else:
            for key in ("train_file", "validation_file", "test_file"):
                if task.args.get(key) and not Path(task.args[key]).is_file():
                    raise StudyError(f"task {task.name!r}: {key} {task.args[key]} does not exist")


def _pretrain_argv(args: Mapping[str, Any], corpus_dir: Path, output_dir: Path, seed: int) -> list[str]:
    from .arguments import values_to_argv

    defaults = {"save_strategy": "no", "eval_strategy": "no", "disable_tqdm": True, "report_to": "none"}
    values = {**defaults, **args}
    # nested values (region_backbone_kwargs) travel as JSON text
    values = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in values.items()}
    return [
        "--corpus_dir", str(corpus_dir), "--output_dir", str(output_dir), "--seed", str(seed),
        *values_to_argv(values),
    ]  # fmt: skip


def ensure_pretrained(
    cell: Cell,
    corpus_dir: Path,
    cache_dir: Path,
    pretrain_fn: Callable[[list[str]], dict],
    summary: RunSummary,
) -> Path | None:
    """The cell's pre-trained checkpoint: from the cache when its hash is there, otherwise trained now."""
    args = cell.pretrain_args()
    if args is None:
        return None
    key = cell.pretrain_hash()
    directory = cache_dir / "checkpoints" / key
    marker = directory / "study_pretrain.json"
    if marker.is_file():
        summary.reused_checkpoints.append(key)
        return directory
    if directory.exists():
        shutil.rmtree(directory)  # an interrupted pre-training
    argv = _pretrain_argv(args, corpus_dir, directory, cell.seed)
    logger.info("pre-training %s (seed %d) -> %s", cell.variant.name, cell.seed, directory)
    started = time.perf_counter()
    metrics = pretrain_fn(argv)
    seconds = time.perf_counter() - started
    for checkpoint in directory.glob("checkpoint-*"):
        shutil.rmtree(checkpoint, ignore_errors=True)
    write_json_atomic(
        marker,
        {
            "hash": key,
            "args": args,
            "corpus": corpus_fingerprint(cell.study.corpus),
            "seed": cell.seed,
            "argv": argv,
            "seconds": round(seconds, 2),
            "metrics": metrics,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    summary.pretrained.append(key)
    return directory


def _finetune_argv(cell: Cell, checkpoint: Path | None, output_dir: Path, data_root: str | None) -> list[str]:
    from .arguments import values_to_argv

    values = {"disable_tqdm": True, "report_to": "none", "save_total_limit": 1, **cell.finetune_args()}
    if values.get("task") and not values.get("data_root") and data_root:
        values["data_root"] = data_root
    argv = ["--output_dir", str(output_dir), "--seed", str(cell.seed), *values_to_argv(values)]
    if checkpoint is not None:
        argv += ["--model_name_or_path", str(checkpoint)]
    return argv


@contextlib.contextmanager
def _quiet_threads() -> Any:
    """Keep sklearn / t-SNE to the threads torch uses (a shared 2-core machine is much faster that way)."""
    import torch
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=max(1, torch.get_num_threads())):
        yield


@dataclass
class EmbeddingResult:
    """Embeddings of held-out corpus samples and their cell types."""

    cls: np.ndarray
    mean: np.ndarray
    cell_types: list[str]


def embed_held_out(
    checkpoint: Path,
    corpus_dir: Path,
    pretrain_args: Mapping[str, Any],
    seed: int,
    max_samples: int | None = None,
    batch_size: int = 16,
) -> EmbeddingResult:
    """Sequence-tower embeddings ([CLS] and mean-pooled last hidden state) of the samples held out of the cell's
    pre-training (the same seeded split as :func:`genebert.training.pretrain.split_samples`), unmasked and with
    their true second segment."""
    import torch

    from genebert import GeneBertForPreTraining, GeneBertTokenizer
    from genebert.data import DataCollatorForGenomeModeling, RegionStore
    from genebert.genomics.corpus import load_corpus

    from .pretrain import DataArguments, split_samples

    corpus = load_corpus(corpus_dir)
    fraction = float(pretrain_args.get("validation_fraction", DataArguments.validation_fraction))
    _, held_out = split_samples(
        corpus, DataArguments(corpus_dir=str(corpus_dir), validation_fraction=fraction), seed
    )
    if held_out is None or len(held_out) < 4:
        raise StudyError(
            f"an embeddings task needs at least 4 held-out samples; the corpus {corpus_dir} with validation_fraction "
            f"{fraction} holds out {0 if held_out is None else len(held_out)} (raise validation_fraction)"
        )
    features = list(held_out)[: max_samples or None]
    model = GeneBertForPreTraining.from_pretrained(checkpoint)
    model.eval()
    tokenizer = GeneBertTokenizer(kmer=corpus.metadata["config"]["kmer"])
    collator = DataCollatorForGenomeModeling(
        tokenizer, RegionStore(corpus.regions), np.asarray(corpus.samples["region_ids"]),
        mask_rate=0.0, negative_probability=0.0, seed=seed,
    )  # fmt: skip
    cls_rows, mean_rows = [], []
    with torch.no_grad():
        for start in range(0, len(features), batch_size):
            batch = collator(features[start : start + batch_size])
            output = model.bert(
                batch["input_ids"],
                attention_mask=batch["attention_mask"],
                token_type_ids=batch["token_type_ids"],
            )
            hidden = output.last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            cls_rows.append(hidden[:, 0].float().numpy())
            mean_rows.append(((hidden * mask).sum(1) / mask.sum(1)).float().numpy())
    return EmbeddingResult(
        np.concatenate(cls_rows), np.concatenate(mean_rows), [str(f["cell_type"]) for f in features]
    )


def run_embeddings_cell(cell: Cell, checkpoint: Path, corpus_dir: Path, output_dir: Path) -> dict[str, Any]:
    """Figure 2 for one cell: held-out embeddings saved to ``embeddings.npz`` and their silhouette scores."""
    from genebert.figures import cluster_separation

    args = cell.pretrain_args() or {}
    result = embed_held_out(checkpoint, corpus_dir, args, cell.seed, cell.task.args.get("max_samples"))
    output_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        output_dir / "embeddings.npz",
        cls=result.cls,
        mean=result.mean,
        cell_types=np.asarray(result.cell_types),
    )
    pooled = result.mean if cell.task.args.get("pooling", "cls") == "mean" else result.cls
    with _quiet_threads():
        primary = cluster_separation(pooled, result.cell_types)
        other = cluster_separation(result.mean if pooled is result.cls else result.cls, result.cell_types)
    counts = {name: result.cell_types.count(name) for name in sorted(set(result.cell_types))}
    return {
        "silhouette": primary if primary is not None else math.nan,
        "silhouette_mean_pool" if pooled is result.cls else "silhouette_cls": other
        if other is not None
        else math.nan,
        "samples": len(result.cell_types),
        "cell_types": counts,
    }


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


def _cell_row(
    cell: Cell,
    metrics: Mapping[str, Any],
    seconds: float,
    run_dir: Path,
    checkpoint: Path | None,
    pretrain_seconds: float | None,
) -> dict[str, Any]:
    return {
        "cell_id": cell.cell_id,
        "variant": cell.variant.name,
        "x": cell.variant.x,
        "task": cell.task.name,
        "task_type": cell.task.type,
        "seed": cell.seed,
        "pretrain_hash": cell.pretrain_hash(),
        "finetune_hash": cell.finetune_hash(),
        "pretrain_args": cell.pretrain_args(),
        "checkpoint": str(checkpoint) if checkpoint is not None else None,
        "pretrain_seconds": pretrain_seconds,
        "paper": cell.variant.paper,
        "metrics": dict(metrics),
        "seconds": round(seconds, 2),
        "run_dir": str(run_dir),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def finished(row: Mapping[str, Any], cell: Cell) -> bool:
    """Whether ``row`` (from results.json) is ``cell`` run with the same configuration."""
    return (
        row.get("cell_id") == cell.cell_id
        and row.get("pretrain_hash") == cell.pretrain_hash()
        and row.get("finetune_hash") == cell.finetune_hash()
    )


def write_reports(study: Study, out: Path, cache_dir: Path, command: str | None = None) -> RunSummary:
    """(Re)write ``results.json``'s summary, ``results.md``, the metric plot and any t-SNE figures."""
    summary = RunSummary()
    results_path = out / "results.json"
    results = read_results(results_path)
    command = command or results.get("command")  # --report-only keeps the command that ran the cells
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
        figures=[str(f.name) for f in figures],
        summary=aggregate(results["cells"], study.metrics),
    )
    write_json_atomic(results_path, results)
    markdown = out / "results.md"
    markdown.write_text(results_markdown(study, results, command))
    summary.results_path, summary.markdown_path, summary.figures = results_path, markdown, figures
    return summary


def run_study(
    study: Study,
    out: str | Path,
    cache_dir: str | Path | None = None,
    data_root: str | None = None,
    command: str | None = None,
    pretrain_fn: Callable[[list[str]], dict] | None = None,
    finetune_fn: Callable[[list[str]], dict] | None = None,
) -> RunSummary:
    """Run every unfinished cell of ``study``, appending each to ``out/results.json``, then write the reports.

    Args:
        out: the study's output folder (``results.json``, ``results.md``, PNGs, ``runs/``).
        cache_dir: pre-training checkpoints by configuration hash (``checkpoints/<hash>``) and built demo
            corpora; share it between studies to reuse identical pre-trainings (default ``out/cache``).
        data_root: folder of the built-in tasks' data (default: the study's ``data_root``, then
            ``$GENEBERT_DATA_ROOT`` or ``../shared/data``).
        pretrain_fn, finetune_fn: the training entry points (default :mod:`genebert.training.pretrain` and
            :mod:`genebert.training.finetune` ``main``); tests may wrap them.
    """
    from . import finetune as finetune_module
    from . import pretrain as pretrain_module

    pretrain_fn = pretrain_fn or pretrain_module.main
    finetune_fn = finetune_fn or finetune_module.main
    out = Path(out)
    cache = Path(cache_dir) if cache_dir is not None else out / "cache"
    data_root = data_root or study.data_root
    out.mkdir(parents=True, exist_ok=True)
    check_tasks(study, data_root)
    corpus_dir = prepare_corpus(study.corpus, cache)
    results_path = out / "results.json"
    summary = RunSummary()
    cells = study.cells()
    for index, cell in enumerate(cells, 1):
        results = read_results(results_path)
        if any(finished(row, cell) for row in results["cells"]):
            summary.skipped.append(cell.cell_id)
            continue
        logger.info("cell %d/%d: %s", index, len(cells), cell.cell_id)
        print(f"[study {study.name}] cell {index}/{len(cells)}: {cell.cell_id}", flush=True)
        started = time.perf_counter()
        pretrained_before = len(summary.pretrained)
        checkpoint = ensure_pretrained(cell, corpus_dir, cache, pretrain_fn, summary)
        pretrain_seconds = (
            time.perf_counter() - started if len(summary.pretrained) > pretrained_before else None
        )
        run_dir = out / "runs" / f"{stable_hash(cell.cell_id, 8)}_{_slug(cell.cell_id)}"
        if run_dir.exists():
            shutil.rmtree(run_dir)
        if cell.task.type == "finetune":
            metrics = dict(finetune_fn(_finetune_argv(cell, checkpoint, run_dir, data_root)))
            if not study.keep_finetuned_models:
                _drop_weights(run_dir)
        else:
            metrics = run_embeddings_cell(cell, checkpoint, corpus_dir, run_dir)
        row = _cell_row(cell, metrics, time.perf_counter() - started, run_dir, checkpoint, pretrain_seconds)
        results = read_results(results_path)  # append to what is on disk now
        results["cells"] = [r for r in results["cells"] if r.get("cell_id") != cell.cell_id] + [row]
        write_json_atomic(results_path, results)
        summary.ran.append(cell.cell_id)
        shown = {m: round(v, 4) for m, v in metrics.items() if m in study.metrics and _finite(v) is not None}
        print(f"[study {study.name}] done {cell.cell_id} in {row['seconds']:.0f} s: {shown}", flush=True)
    reports = write_reports(study, out, cache, command)
    summary.results_path, summary.markdown_path, summary.figures = (
        reports.results_path, reports.markdown_path, reports.figures,
    )  # fmt: skip
    return summary


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in text)[:80]


def _drop_weights(run_dir: Path) -> None:
    """Remove fine-tuned weights and checkpoints (the metrics and predictions stay): a study keeps its numbers."""
    for checkpoint in run_dir.glob("checkpoint-*"):
        shutil.rmtree(checkpoint, ignore_errors=True)
    for pattern in ("*.safetensors", "*.bin", "training_args.bin"):
        for file in run_dir.glob(pattern):
            file.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------------- command line


def build_parser() -> Any:
    """The arguments of ``run_scripts/run_study.py`` and ``genebert study``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="run_study.py (genebert study)",
        description="Run a GeneBERT study (pre-training configurations x downstream tasks x seeds), resuming "
        "finished cells, and write results.json, results.md and PNG plots.",
    )
    parser.add_argument("study", help="a study YAML file, e.g. run_scripts/studies/losses.yaml")
    parser.add_argument(
        "--preset", default="paper", help="a preset of the study file: 'tiny' (CPU) or 'paper'"
    )
    parser.add_argument("--out", default=None, help="output folder (default outputs/studies/<name>)")
    parser.add_argument(
        "--cache-dir", default=None,
        help="pre-training checkpoints by configuration hash, shared between studies (default outputs/studies/cache)",
    )  # fmt: skip
    parser.add_argument("--corpus", default=None, help="demo_real, demo_synthetic or a corpus directory")
    parser.add_argument("--data-root", default=None, help="folder of the built-in tasks' data (GUE, ...)")
    parser.add_argument(
        "--seeds", default=None, help="comma-separated seeds, e.g. 0,1,2 (overrides the file)"
    )
    parser.add_argument(
        "--list", action="store_true", help="print the cells and whether they are done; run nothing"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite results.md and the PNGs; run nothing"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``run_scripts/run_study.py`` and ``genebert study``."""
    import shlex
    import sys

    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    overrides: dict[str, Any] = {}
    if args.corpus:
        overrides["corpus"] = args.corpus
    if args.seeds:
        try:
            overrides["seeds"] = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise SystemExit(f"--seeds takes comma-separated integers, got {args.seeds!r}") from None
    try:
        study = load_study(args.study, args.preset, overrides)
    except StudyError as error:
        raise SystemExit(f"error: {error}") from None
    out = Path(args.out or Path("outputs") / "studies" / study.name)
    cache = Path(args.cache_dir or Path("outputs") / "studies" / "cache")
    command = "python run_scripts/run_study.py " + " ".join(
        shlex.quote(a) for a in (list(sys.argv[1:]) if argv is None else list(argv))
    )
    if args.list:
        rows = read_results(out / "results.json")["cells"]
        for cell in study.cells():
            done = any(finished(row, cell) for row in rows)
            print(f"{'done' if done else 'todo'}  {cell.cell_id}  pretrain={cell.pretrain_hash()}")
        return 0
    if args.report_only:
        reports = write_reports(study, out, cache)
        print(f"wrote {reports.markdown_path}")
        return 0
    try:
        summary = run_study(study, out, cache, args.data_root, command)
    except StudyError as error:
        raise SystemExit(f"error: {error}") from None
    print(
        f"study {study.name}: {len(summary.ran)} cells run, {len(summary.skipped)} already done, "
        f"{len(summary.pretrained)} pre-trainings, {len(summary.reused_checkpoints)} reused; {summary.markdown_path}"
    )
    return 0


__all__ = [
    "Cell",
    "RunSummary",
    "Study",
    "StudyError",
    "Task",
    "Variant",
    "aggregate",
    "load_study",
    "main",
    "parse_study",
    "plot_study",
    "pretrain_hash",
    "results_markdown",
    "run_study",
    "stable_hash",
    "write_json_atomic",
    "write_reports",
]
