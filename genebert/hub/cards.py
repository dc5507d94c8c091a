"""Model cards, and what they read from a training run's output directory."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .. import CITATION, PAPER_URL
from ..storage import read_json

REMOTE_CODE_FILES = (
    "configuration_genebert.py",
    "modeling_genebert.py",
    "tokenization_genebert.py",
    "alignment_genebert.py",  # imported by the tokenizer: offsets, per-base helpers
)
PIPELINE_FILE = "pipeline_genebert.py"
PIPELINE_CLASS = "DnaClassificationPipeline"
PIPELINE_TASK = "dna-classification"
TAGS = ("genomics", "dna", "genebert")
# Keys of a Trainer's metrics that describe speed or progress, not quality.
_NOT_METRICS = ("runtime", "samples_per_second", "steps_per_second", "epoch", "flos", "total_flos")
# Training arguments worth showing in a card, in this order.
_RECIPE_KEYS = (
    "max_steps",
    "num_train_epochs",
    "learning_rate",
    "lr_scheduler_type",
    "warmup_steps",
    "warmup_ratio",
    "weight_decay",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "max_grad_norm",
    "bf16",
    "fp16",
    "seed",
)


# ---------------------------------------------------------------------------------------------------------------------
# Reading a training run (JSON only)
# ---------------------------------------------------------------------------------------------------------------------


def read_training_args(path: str | os.PathLike) -> dict[str, Any]:
    """The TrainingArguments of a run as a dict, from its ``training_args.json`` (``genebert pretrain`` and
    ``genebert finetune`` write one). ``training_args.bin`` (a pickle) is never read. Returns ``{}`` when the
    file does not exist.

    Args:
        path: a run output / checkpoint directory, or the JSON file itself.
    """
    path = Path(path)
    candidate = path if path.is_file() else path / "training_args.json"
    if candidate.suffix != ".json" or not candidate.is_file():
        return {}
    return json.loads(candidate.read_text())


def _run_places(run_dir: Path) -> list[Path]:
    """Where a run's files are looked for, in order: the run directory, then its latest ``checkpoint-*``."""
    checkpoints = [p for p in run_dir.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return [run_dir, *([max(checkpoints, key=lambda p: int(p.name.split("-")[-1]))] if checkpoints else [])]


def _first_run_json(run_dir: Path, name: str) -> Any:
    """The JSON file ``name`` of a run (see `_run_places`), or None where no place holds a readable one."""
    return next(
        (v for v in (read_json(place / name) for place in _run_places(run_dir)) if v is not None), None
    )


def read_training_run(run_dir: str | os.PathLike) -> dict[str, Any]:
    """What a model card needs from a training output directory (``genebert pretrain`` / Trainer layout).

    Returns a dict with (each ``{}`` when absent): ``results`` (``all_results.json``), ``training_args`` (see
    :func:`read_training_args`), ``trainer_state`` (``trainer_state.json`` of the run or its latest checkpoint, without
    ``log_history``), ``corpus`` (``genebert_corpus.json`` without the per-motif arrays, plus ``num_motifs``) and
    ``final_train_loss`` (last ``loss`` of ``log_history.json``, or ``None``).
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f"training run directory {run} does not exist")
    corpus = dict(_first_run_json(run, "genebert_corpus.json") or {})
    if corpus:
        corpus["num_motifs"] = len(corpus.get("motif_names", []))
        for key in ("motif_names", "motif_mean", "motif_std"):
            corpus.pop(key, None)
    state = dict(_first_run_json(run, "trainer_state.json") or {})
    history = _first_run_json(run, "log_history.json") or state.get("log_history") or []
    state.pop("log_history", None)
    losses = [entry["loss"] for entry in history if isinstance(entry, dict) and "loss" in entry]
    return {
        "results": _first_run_json(run, "all_results.json") or {},
        "training_args": next((args for args in map(read_training_args, _run_places(run)) if args), {}),
        "trainer_state": state,
        "corpus": corpus,
        "final_train_loss": losses[-1] if losses else None,
    }


def evaluation_metrics(results: Mapping[str, Any]) -> dict[tuple[str, str], float]:
    """``{(split, metric): value}`` from a Trainer results dict: numeric ``eval_*`` (split ``validation``) and
    ``test_*`` (split ``test``) entries, leaving out speed and progress counters and non-finite values."""
    metrics: dict[tuple[str, str], float] = {}
    for key, value in results.items():
        for prefix, split in (("eval_", "validation"), ("test_", "test")):
            if not key.startswith(prefix):
                continue
            name = key[len(prefix) :]
            if name in _NOT_METRICS or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value):
                metrics[(split, name)] = float(value)
    return metrics


# ---------------------------------------------------------------------------------------------------------------------
# Model card
# ---------------------------------------------------------------------------------------------------------------------


def _task_of(model: Any) -> tuple[str, bool]:
    """(pipeline tag, is a sequence classifier)."""
    classifier = type(model).__name__.endswith("ForSequenceClassification")
    return ("text-classification" if classifier else "feature-extraction"), classifier


def _format_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def build_model_card(
    model: Any,
    *,
    repo_id: str | None = None,
    model_name: str | None = None,
    description: str | None = None,
    license: str = "apache-2.0",
    datasets: str | Sequence[str] | None = None,
    dataset_name: str | None = None,
    base_model: str | None = None,
    training_dir: str | os.PathLike | None = None,
    eval_results: str | os.PathLike | Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
    language: str | None = None,
    processor: Any = None,
) -> ModelCard:
    """A model card for a GeneBERT model: YAML metadata and the sections users need.

    Args:
        model: the model being published (its class decides the pipeline tag and the loading example).
        repo_id: the Hub id the card's examples load from (default: a placeholder ``"<user>/<model>"``).
        model_name: the name in the card's title and model-index (default: the repo name).
        description: a paragraph on what this model is for (default: a generic one).
        license: an SPDX-style Hub license id.
        datasets: Hub data set id(s) it was trained on (YAML ``datasets``).
        dataset_name: a readable name of the evaluation data (default: the first of `datasets`).
        base_model: the checkpoint it was fine-tuned from (YAML ``base_model``; only for fine-tuned models).
        training_dir: a run output directory (``all_results.json``, ``trainer_state.json``, ``training_args.json`` or
            ``.bin``, ``genebert_corpus.json``, ``log_history.json``; see :func:`read_training_run`).
        eval_results: a metrics dict or a JSON file of one (``eval_*`` / ``test_*`` keys, as Trainer writes them);
            defaults to the ``results`` of `training_dir`.
        tags: extra tags (``genomics``, ``dna``, ``genebert`` are always there).
        language: rarely useful for DNA; left out by default.
        processor: the `GeneBertProcessor` shipped with a pre-training model (the card then shows how to go from DNA
            to its inputs).
    """
    pipeline_tag, classifier = _task_of(model)
    config = model.config
    repo = repo_id or "<user>/<model>"
    name = model_name or repo.split("/")[-1]
    dataset_list = [datasets] if isinstance(datasets, str) else list(datasets or [])
    run = read_training_run(training_dir) if training_dir is not None else None
    if isinstance(eval_results, (str, os.PathLike)):
        eval_results = json.loads(Path(eval_results).read_text())
    results = dict(eval_results) if eval_results is not None else dict((run or {}).get("results", {}))
    metrics = evaluation_metrics(results)
    eval_dataset = dataset_name or (dataset_list[0] if dataset_list else "held-out split")
    card_data = ModelCardData(
        library_name="transformers",
        pipeline_tag=pipeline_tag,
        license=license,
        tags=[*TAGS, *tags],
        datasets=dataset_list or None,
        base_model=base_model,
        language=language,
        model_name=name if metrics else None,
        eval_results=[
            EvalResult(
                task_type=pipeline_tag,
                dataset_type=dataset_list[0] if dataset_list else "custom",
                dataset_name=eval_dataset,
                dataset_split=split,
                metric_type=metric,
                metric_value=value,
            )
            for (split, metric), value in metrics.items()
        ]
        or None,
    )

    kind = "a DNA sequence classifier" if classifier else "a pre-trained sequence encoder"
    labels = ", ".join(f"`{label}`" for label in config.id2label.values()) if classifier else ""
    lines = [
        f"# {name}",
        "",
        description
        or (
            f"GeneBERT {kind} for the regulatory genome (Mo et al., 2021, [arXiv 2110.05231]({PAPER_URL})): a BERT over "
            f"overlapping DNA {config.kmer}-mers ({config.num_hidden_layers} layers, hidden size {config.hidden_size})."
        ),
        "",
        "## What it is",
        "",
        f"- Architecture: `{type(model).__name__}` ({sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters), "
        f"k-mer size {config.kmer}, up to {config.max_position_embeddings} tokens "
        f"({config.max_position_embeddings - 2 + config.kmer - 1} bases) per window.",
    ]
    if classifier:
        lines.append(f"- Task: {config.num_labels}-way sequence classification; labels {labels}.")
    if getattr(config, "use_srm", False) and not classifier:
        lines.append(
            f"- Region tower: timm `{config.region_backbone}` over a ({config.num_regions} regions x {config.num_motifs} "
            "motifs) matrix, trained with masked genome modelling, next-segment prediction and sequence-region "
            "matching."
        )
    load_class = "AutoModelForSequenceClassification" if classifier else "AutoModel"
    has_region_tower = bool(
        getattr(config, "classifier_use_regions", False) if classifier else getattr(config, "use_srm", False)
    )
    needs = "`torch`, `transformers` and `timm`" if has_region_tower else "`torch` and `transformers`"
    why = (
        "(timm builds the region tower)"
        if has_region_tower
        else "(`AutoModel`, the classifier and the pipeline need no timm; only a model with a region tower, "
        "loaded with `AutoModelForPreTraining`, does)"
    )
    lines += [
        "",
        "## How to load",
        "",
        f"With {needs} installed {why}; the model code ships in this repository and needs transformers>=5.0,<6 "
        "(it refuses any other version with a one-line error):",
        "",
        "```python",
        f"from transformers import AutoTokenizer, {load_class}",
        "",
        f'tokenizer = AutoTokenizer.from_pretrained("{repo}", trust_remote_code=True)',
        f'model = {load_class}.from_pretrained("{repo}", trust_remote_code=True)',
        'inputs = tokenizer(["ACGTAGCATCGGATCTATCTATCGACACTTGGTTATCGATCTACGAGCATCTCGTTAGC"], return_tensors="pt")',
        "outputs = model(**inputs)",
        "```",
        "",
    ]
    if classifier:
        lines += [
            "Sequences of any length, scored by sliding windows (optionally on both strands):",
            "",
            "```python",
            "from transformers import pipeline",
            "",
            f'classifier = pipeline("{PIPELINE_TASK}", model="{repo}", trust_remote_code=True)',
            'classifier("ACGT" * 400, stride=256, reverse_complement=True, aggregation="mean")',
            "```",
            "",
        ]
    if processor is not None:
        extractor = processor.feature_extractor
        lines += [
            f"From DNA: the processor holds the {extractor.num_motifs} motifs of the training corpus and its statistics; "
            f"give it the DNA of the {extractor.num_regions} consecutive accessible regions of a sample:",
            "",
            "```python",
            "from transformers import AutoModelForPreTraining, AutoProcessor",
            "",
            f'processor = AutoProcessor.from_pretrained("{repo}", trust_remote_code=True)',
            f'model = AutoModelForPreTraining.from_pretrained("{repo}", trust_remote_code=True)',
            f'inputs = processor(regions, return_tensors="pt")  # regions: {extractor.num_regions} DNA strings',
            "outputs = model(**inputs)  # MGM logits, NGSP logits, sequence-region similarities",
            "```",
            "",
        ]
    lines += [
        "With the `genebert` package (`pip install genebert`), which registers GeneBERT with the Auto classes and "
        "adds the command line:",
        "",
        "```python",
        "import genebert  # noqa: F401",
        f"from transformers import AutoTokenizer, {load_class}",
        "",
        f'model = {load_class}.from_pretrained("{repo}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{repo}")',
        "```",
        "",
        "```bash",
        f"genebert {'predict' if classifier else 'embed'} --model {repo} --fasta sequences.fa "
        f"--out {'predictions.tsv' if classifier else 'embeddings.npy'}",
        "```",
        "",
        "## Training data and recipe",
        "",
    ]
    lines += _recipe_lines(run, dataset_list, base_model)
    lines += ["", "## Evaluation", ""]
    if metrics:
        lines += [f"On {eval_dataset}:", "", "| split | metric | value |", "|---|---|---|"]
        lines += [f"| {split} | {metric} | {value:.4g} |" for (split, metric), value in metrics.items()]
    else:
        lines.append("No evaluation results were recorded with this export.")
    lines += [
        "",
        "## Limitations",
        "",
        "- Trained and evaluated on the data above only: other species, assemblies, cell types or assays may behave "
        "differently; check on held-out data of your own before relying on predictions.",
        f"- One window holds at most {config.max_position_embeddings - 2 + config.kmer - 1} bases; longer sequences are "
        "truncated by the standard pipelines and need the sliding-window `dna-classification` pipeline or "
        "`genebert.pipelines.embed`.",
        "- k-mers touching N or another IUPAC ambiguity code become `[UNK]`; characters other than nucleotides and "
        "IUPAC codes are rejected.",
        "- Not a clinical tool.",
        "",
        "## Citation",
        "",
        "```bibtex",
        CITATION,
        "```",
        "",
    ]
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(lines))


def _augmentation_text(decision: Mapping[str, Any]) -> str:
    """A fine-tuning run's ``reverse_complement_augmentation`` decision in words."""
    text = ("on" if decision.get("used") else "off") + f" (`{decision.get('setting', '?')}`"
    if "drop" in decision:
        text += (
            f": a {decision.get('k', 4)}-mer logistic regression scored dev AUC {decision['dev_auc']:.3f} and "
            f"{decision['reverse_complement_dev_auc']:.3f} on its reverse complement"
        )
    elif decision.get("reason"):
        text += f": {decision['reason']}"
    return text + ")"


def _recipe_lines(run: dict[str, Any] | None, datasets: list[str], base_model: str | None) -> list[str]:
    lines: list[str] = []
    if base_model:
        lines.append(f"- Fine-tuned from [`{base_model}`](https://huggingface.co/{base_model}).")
    if datasets:
        lines.append(
            "- Data: " + ", ".join(f"[`{d}`](https://huggingface.co/datasets/{d})" for d in datasets) + "."
        )
    if run is None:
        return lines or ["No training run was attached to this export."]
    corpus = run["corpus"]
    if corpus:
        config = corpus.get("config", {})
        skipped = set(corpus.get("skipped_cell_types") or [])
        cell_types = [c for c in corpus.get("cell_types") or [] if c not in skipped]
        lines.append(
            f"- Pre-training corpus: {len(cell_types)} cell types ({', '.join(map(str, cell_types[:8]))}"
            f"{', ...' if len(cell_types) > 8 else ''}), {corpus.get('num_motifs', '?')} motifs, "
            f"{config.get('regions_per_sample', '?')} regions per sample, {config.get('region_window_bp', '?')} bp "
            f"per region, k = {config.get('kmer', '?')}; genome fingerprint `{str(corpus.get('genome_fingerprint', '?'))[:12]}`."
        )
    args = run["training_args"]
    recipe = [(key, args[key]) for key in _RECIPE_KEYS if key in args and args[key] not in (None, "", -1)]
    results = run["results"]
    for key in ("world_size", "global_batch_size", "contrastive_batch_size"):
        if key in results:
            recipe.append((key, results[key]))
    augmentation = results.get("reverse_complement_augmentation")
    if isinstance(augmentation, Mapping):
        recipe.append(("reverse-complement augmentation", _augmentation_text(augmentation)))
    state = run["trainer_state"]
    if "global_step" in state:
        recipe.append(("steps run", state["global_step"]))
    if run["final_train_loss"] is not None:
        recipe.append(("final training loss", run["final_train_loss"]))
    elif "train_loss" in results:
        recipe.append(("mean training loss", results["train_loss"]))
    if recipe:
        lines += ["", "| setting | value |", "|---|---|"]
        lines += [f"| {key} | {_format_value(value)} |" for key, value in recipe]
    return lines or ["The attached training run recorded no recipe."]
