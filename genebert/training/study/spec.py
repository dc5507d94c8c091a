"""Study files: parsing and validating them into a `Study` of `Cell` s, and the cache keys of their pre-trainings."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import GeneBertError

#: Version of the cache key: bump when a code change makes old checkpoints unusable for a study.
CACHE_VERSION = 2  # 2: same-DNA motif windows and genome-block hold-out
#: Version of a tiled corpus's cache key: bump when the way a study builds it changes.
TILED_CORPUS_VERSION = 1

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
        "comparisons",
        "references",
        "pretrain_evaluation",
    }
)
VARIANT_KEYS = frozenset({"name", "x", "pretrain", "paper", "finetune", "init"})
#: ``init``: how a variant's model starts. "pretrained": trained with its ``pretrain`` arguments; "random": the
#: model those arguments would start from, saved untrained (the "random init" arm, a model of the same config).
VARIANT_INITS = ("pretrained", "random")
TASK_TYPES = ("finetune", "embeddings", "probe")
EMBEDDING_TASK_KEYS = frozenset({"name", "type", "pooling", "max_samples"})
#: A frozen-embedding probe: logistic regression on the sequence tower's pooled embeddings of a built-in task.
PROBE_TASK_KEYS = frozenset(
    {"name", "type", "task", "data_root", "split_seed", "max_train_samples", "max_eval_samples",
     "max_test_samples", "pooling", "batch_size"}
)  # fmt: skip
DEMO_CORPORA = ("demo_real", "demo_synthetic")
#: ``corpus`` as a mapping: a genome tiled into regions, scored with motifs (paths relative to the data root).
TILED_CORPUS_KEYS = frozenset(
    {"genome", "motifs", "tile_bp", "kmer", "regions_per_sample", "max_regions", "motif_dtype", "seed"}
)
#: ``references``: reference classifiers fitted once per task on the same splits as the cells.
REFERENCE_KEYS = frozenset({"motif_scores", "kmer_counts"})
#: ``pretrain_evaluation``: held-out metrics of every pre-trained (or random-init) model.
PRETRAIN_EVALUATION_KEYS = frozenset({"max_train_samples", "max_eval_samples", "batch_size"})

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


class StudyError(GeneBertError, ValueError):
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
    init: str = "pretrained"


@dataclass(frozen=True)
class Task:
    """A downstream evaluation: ``finetune`` (``args`` are fine-tuning flags), ``embeddings`` (Figure 2) or
    ``probe`` (logistic regression on frozen, mean-pooled embeddings of a built-in task)."""

    name: str
    type: str
    args: dict[str, Any]


@dataclass
class Study:
    """A parsed, validated study file with its preset applied."""

    name: str
    title: str
    factor: str
    corpus: str | dict[str, Any]
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
    comparisons: list[tuple[str, str]] = field(default_factory=list)
    references: dict[str, Any] = field(default_factory=dict)
    pretrain_evaluation: dict[str, Any] | None = None

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
        if args is None:
            return None
        return pretrain_hash(args, self.study.corpus, self.seed, init=self.variant.init)

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
    from ..pretrain import DataArguments, GeneBertPretrainingArguments, ModelArguments

    names = _dataclass_fields((ModelArguments, DataArguments, GeneBertPretrainingArguments))
    return (names - RUNNER_PRETRAIN_FIELDS) | {"global_batch_size"}


def finetune_fields() -> set[str]:
    """Names a study may set in ``finetune`` and in a fine-tuning task (run_finetuning.py's arguments)."""
    from ..finetune import DataArguments, GeneBertFinetuningArguments, ModelArguments

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


def corpus_cache_key(corpus: str | Mapping[str, Any]) -> str:
    """What identifies a corpus in cache keys: the demo corpus's name, a tiled corpus's settings, or the content of
    ``metadata.json``."""
    if isinstance(corpus, Mapping):
        return f"tiled-v{TILED_CORPUS_VERSION}:" + stable_hash(dict(corpus))
    if corpus in DEMO_CORPORA:
        return corpus
    metadata = Path(corpus) / "metadata.json"
    if metadata.is_file():
        return "sha256:" + hashlib.sha256(metadata.read_bytes()).hexdigest()
    return str(Path(corpus).resolve())


def pretrain_hash(
    args: Mapping[str, Any], corpus: str | Mapping[str, Any], seed: int, init: str = "pretrained"
) -> str:
    """The cache key of a pre-training run: its arguments (without fields that cannot change the weights), the
    corpus and the seed (and ``init`` when the model is saved untrained). Two cells (of any study) with the same
    key share one checkpoint."""
    defaults = pretrain_model_defaults(args.get("preset", "base"))
    relevant = {
        k: v
        for k, v in normalise_pretrain_args(args).items()
        if k not in HASH_IRRELEVANT_FIELDS and not (k in defaults and defaults[k] == v)
    }
    key = {
        "version": CACHE_VERSION,
        "pretrain": relevant,
        "corpus": corpus_cache_key(corpus),
        "seed": int(seed),
    }
    if init != "pretrained":  # keys of pre-trained models stay as they were
        key["init"] = init
    return stable_hash(key)


def pretrain_model_defaults(preset: str) -> dict[str, Any]:
    """Defaults of the model and data arguments of pre-training under ``preset``. Arguments equal to their
    default are left out of the hash, so ``{}`` and ``{"srm_weight": 0.5}`` hash alike and a new optional
    argument added to genebert does not invalidate cached checkpoints. Training-argument defaults are keyed by the
    preset name itself."""
    from ..pretrain import PRESETS, DataArguments, ModelArguments

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
        if base.pretrain is None or base.init != "pretrained":
            expanded.append(base)  # "no pre-training" and "random init" have nothing to vary
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
                    init=base.init,
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
        init = raw.get("init", "pretrained")
        if init not in VARIANT_INITS:
            raise StudyError(f"{where}: init must be one of {VARIANT_INITS}, got {init!r}")
        if init == "random" and variant_pretrain is None:
            raise StudyError(f"{where}: init 'random' builds the model of 'pretrain': give it (a mapping)")
        variants.append(
            Variant(str(raw["name"]), variant_pretrain, raw.get("x"), paper, variant_finetune, init)
        )
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
        elif kind == "probe":
            _check_keys(where, raw, PROBE_TASK_KEYS)
            if not args.get("task"):
                raise StudyError(f"{where}: a probe task needs 'task' (a built-in task)")
            if args.get("pooling", "mean") not in ("cls", "mean"):
                raise StudyError(f"{where}: pooling must be 'cls' or 'mean', got {args['pooling']!r}")
            if any(v.pretrain is None for v in variants):
                raise StudyError(
                    f"{where}: a probe task needs a model in every variant: for no pre-training use "
                    "'init: random' with the variants' 'pretrain' arguments, not 'pretrain: null'"
                )
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
        ["precision_macro", "recall_macro", "auc", "mcc"] if kinds & {"finetune", "probe"} else ["silhouette"]
    )
    if "embeddings" in kinds and kinds & {"finetune", "probe"}:
        default_metrics.append("silhouette")
    metrics = values.get("metrics") or default_metrics
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise StudyError(f"{source}: 'metrics' must be a list of metric names")
    plot_metric = values.get("plot_metric") or metrics[0]
    corpus = values.get("corpus")
    if isinstance(corpus, Mapping):
        corpus = _tiled_corpus(f"{source}: corpus", corpus)
    elif not isinstance(corpus, str) or not corpus:
        raise StudyError(
            f"{source}: 'corpus' must be {' or '.join(DEMO_CORPORA)}, a corpus directory (genebert build-corpus) or "
            "a mapping {genome, motifs, tile_bp, ...} (a tiled genome); give it in the file, the preset or with "
            "--corpus"
        )
    names = {v.name for v in variants}
    comparisons = []
    for index, pair in enumerate(values.get("comparisons") or []):
        if not (isinstance(pair, list) and len(pair) == 2 and set(map(str, pair)) <= names):
            raise StudyError(
                f"{source}: comparisons[{index}] must be [VARIANT, VARIANT] (the difference first - second, "
                f"paired by seed) naming variants of {sorted(names)}, got {pair!r}"
            )
        comparisons.append((str(pair[0]), str(pair[1])))
    references = _mapping(f"{source}: references", values.get("references"))
    _check_keys(f"{source}: references", references, REFERENCE_KEYS)
    pretrain_evaluation = values.get("pretrain_evaluation")
    if pretrain_evaluation is not None:
        pretrain_evaluation = _mapping(f"{source}: pretrain_evaluation", pretrain_evaluation)
        _check_keys(f"{source}: pretrain_evaluation", pretrain_evaluation, PRETRAIN_EVALUATION_KEYS)
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
        comparisons=comparisons,
        references=references,
        pretrain_evaluation=pretrain_evaluation,
    )


def _tiled_corpus(where: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A validated tiled-corpus mapping (see :data:`TILED_CORPUS_KEYS`), keys sorted."""
    spec = dict(spec)
    _check_keys(where, spec, TILED_CORPUS_KEYS)
    missing = sorted({"genome", "motifs", "tile_bp"} - set(spec))
    if missing:
        raise StudyError(f"{where}: a tiled corpus needs {missing} (paths relative to the data root)")
    for key in ("tile_bp", "kmer", "regions_per_sample", "max_regions", "seed"):
        value = spec.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise StudyError(f"{where}: {key} must be a non-negative integer, got {value!r}")
    return dict(sorted(spec.items()))


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
