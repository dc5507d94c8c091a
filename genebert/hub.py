"""Publishing GeneBERT models and data sets on the Hugging Face Hub.

* :func:`export_for_hub`: a self-contained model repository in a local folder: ``config.json`` (with ``auto_map`` and,
  for classifiers, ``custom_pipelines``), the remote-code files, ``model.safetensors``, the tokenizer files and a
  model card (``README.md``) built with ``huggingface_hub``'s ``ModelCard`` from the model and, when given, the
  training run's output directory. Written atomically (temporary directory + rename).
* :func:`push`: ``create_repo`` + ``upload_folder`` of such a folder (or of any folder).
* :func:`export_dataset` / :func:`push_dataset`: a corpus or a downstream data set as parquet + a dataset card.

Everything read from a training run is JSON. ``training_args.bin`` (a pickle) is never unpickled: when no
``training_args.json`` exists, its pickle stream is read with an unpickler that resolves every class to an inert
placeholder, so no code from the file runs (see :func:`read_training_args`).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import pickle
import shutil
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData, EvalResult, HfApi, ModelCard, ModelCardData

from .storage import replace_directory

PAPER_URL = "https://arxiv.org/abs/2110.05231"
REMOTE_CODE_FILES = (
    "configuration_genebert.py",
    "modeling_genebert.py",
    "tokenization_genebert.py",
    "alignment_genebert.py",  # imported by the tokenizer: offsets, per-base helpers
)
PIPELINE_FILE = "pipeline_genebert.py"
PIPELINE_CLASS = "DnaClassificationPipeline"
PIPELINE_TASK = "dna-classification"
REMOTE_CODE_MARKER = "# === END OF HUB REMOTE CODE ==="
TAGS = ("genomics", "dna", "genebert")
CITATION = """@article{mo2021genebert,
  title   = {Multi-modal Self-supervised Pre-training for Regulatory Genome Across Cell Types},
  author  = {Mo, Shentong and Fu, Xi and Hong, Chenyang and Chen, Yizhen and Zheng, Yuxuan and Tang, Xiangru
             and Shen, Zhiqiang and Xing, Eric P. and Lan, Yanyan},
  journal = {arXiv preprint arXiv:2110.05231},
  year    = {2021}
}"""
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
# Reading a training run (JSON only; never unpickling)
# ---------------------------------------------------------------------------------------------------------------------


class _Inert:
    """What every class in a pickle becomes: stores its constructor arguments and state, runs nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _InertUnpickler(pickle.Unpickler):
    """Parses a pickle stream without importing or calling anything from it (every global is :class:`_Inert`)."""

    def find_class(self, module: str, name: str) -> Any:
        return type(name, (_Inert,), {"__module__": f"inert.{module}"})

    def persistent_load(self, pid: Any) -> None:  # torch storages: not needed for arguments
        return None


def _plain(value: Any, depth: int = 0) -> Any:
    """JSON-friendly view of what :class:`_InertUnpickler` produced (enums become their value)."""
    if depth > 8:
        return None
    if isinstance(value, _Inert):
        if isinstance(value.state, dict):
            return _plain(value.state, depth + 1)
        if len(value.args) == 1:
            return _plain(value.args[0], depth + 1)
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def read_training_args(path: str | os.PathLike) -> dict[str, Any]:
    """The TrainingArguments of a run as a dict, from ``training_args.json`` or, failing that, ``training_args.bin``.

    Args:
        path: a run output / checkpoint directory, or the file itself.

    ``training_args.bin`` is written by ``torch.save`` (a zip holding a pickle). It is parsed by an unpickler whose
    ``find_class`` returns inert placeholders, so nothing in the file is imported or executed; enum values come back
    as their plain values. Returns ``{}`` when neither file exists or the file cannot be parsed.
    """
    path = Path(path)
    candidates = [path] if path.is_file() else [path / "training_args.json", path / "training_args.bin"]
    for candidate in candidates:
        if not candidate.is_file():
            continue
        if candidate.suffix == ".json":
            return json.loads(candidate.read_text())
        try:
            with zipfile.ZipFile(candidate) as archive:
                name = next(n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl")
                stream = archive.read(name)
            result = _plain(_InertUnpickler(io.BytesIO(stream)).load())
        except (zipfile.BadZipFile, StopIteration, pickle.UnpicklingError, EOFError, ValueError, TypeError):
            return {}
        return result if isinstance(result, dict) else {}
    return {}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _latest_checkpoint(run_dir: Path) -> Path | None:
    checkpoints = [p for p in run_dir.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(checkpoints, key=lambda p: int(p.name.split("-")[-1])) if checkpoints else None


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
    latest = _latest_checkpoint(run)
    places = [run] + ([latest] if latest is not None else [])

    def first(name: str) -> Any:
        for place in places:
            value = _read_json(place / name)
            if value is not None:
                return value
        return None

    corpus = dict(first("genebert_corpus.json") or {})
    if corpus:
        corpus["num_motifs"] = len(corpus.get("motif_names", []))
        for key in ("motif_names", "motif_mean", "motif_std"):
            corpus.pop(key, None)
    args: dict[str, Any] = {}
    for place in places:
        args = read_training_args(place)
        if args:
            break
    state = dict(first("trainer_state.json") or {})
    history = first("log_history.json") or state.get("log_history") or []
    state.pop("log_history", None)
    losses = [entry["loss"] for entry in history if isinstance(entry, dict) and "loss" in entry]
    return {
        "results": first("all_results.json") or {},
        "training_args": args,
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
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


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


# ---------------------------------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------------------------------


def remote_pipeline_source() -> str:
    """The Hub remote-code part of :mod:`genebert.pipelines` (everything above its end marker)."""
    source = (Path(__file__).parent / "pipelines.py").read_text()
    head, marker, _ = source.partition(REMOTE_CODE_MARKER)
    if not marker:
        raise RuntimeError(f"genebert/pipelines.py lost its {REMOTE_CODE_MARKER!r} line")
    return head.rstrip() + "\n"


def _prepare_target(out_dir: str | os.PathLike, overwrite: bool) -> tuple[Path, Path]:
    out = Path(out_dir).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(
            f"{out} exists and is not empty; pass overwrite=True (--overwrite) to replace it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    return out, Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))


def _raw_corpus_info(training_dir: str | os.PathLike | None) -> dict[str, Any]:
    """``genebert_corpus.json`` of a run (or its latest checkpoint) as written, per-motif arrays included."""
    if training_dir is None:
        return {}
    run = Path(training_dir)
    latest = _latest_checkpoint(run) if run.is_dir() else None
    for place in [run] + ([latest] if latest is not None else []):
        value = _read_json(place / "genebert_corpus.json")
        if isinstance(value, dict):
            return value
    return {}


def processor_for(
    model: Any,
    tokenizer: Any,
    motifs: Any,
    training_dir: str | os.PathLike | None = None,
) -> Any:
    """A `GeneBertProcessor` for a pre-training `model`: the tokenizer, and a motif feature extractor with the motif
    set the model was trained on and its corpus statistics.

    Args:
        motifs: a `MotifSet`, or what `load_motifs` takes (``"JASPAR2018"``, a JASPAR / MEME / PFM file). The motifs
            named in the model's config (``motif_names``, the region matrix's columns) are taken from it, in that
            order; their fingerprint must match the corpus's when the run recorded it.
        training_dir: the run directory (its ``genebert_corpus.json`` gives the region window and the fingerprint).

    The standardisation statistics are the model's own (``region_encoder.motif_mean`` / ``motif_std``, set from the
    corpus at training time).
    """
    from .genomics.corpus import default_region_window_bp
    from .genomics.motifs import MotifSet, load_motifs
    from .processing_genebert import GeneBertMotifFeatureExtractor, GeneBertProcessor

    config = model.config
    encoder = getattr(model, "region_encoder", None)
    if encoder is None:
        raise ValueError(f"{type(model).__name__} has no region tower: it needs no motif feature extractor")
    motif_set = motifs if isinstance(motifs, MotifSet) else load_motifs(motifs)
    info = _raw_corpus_info(training_dir)
    names = getattr(config, "motif_names", None) or info.get("motif_names")
    if names:
        try:
            motif_set = motif_set.subset(names)
        except KeyError as error:
            raise ValueError(
                f"these motifs are not the ones the model was trained on: {error.args[0]}"
            ) from None
    if len(motif_set) != config.num_motifs:
        raise ValueError(f"{len(motif_set)} motifs for a model with {config.num_motifs} motif columns")
    expected = info.get("motif_fingerprint")
    if expected and motif_set.fingerprint() != expected:
        raise ValueError(
            "these motifs are not the ones the model was trained on (fingerprint "
            f"{motif_set.fingerprint()[:12]} vs the corpus's {str(expected)[:12]})"
        )
    corpus_config = info.get("config") or {}
    extractor = GeneBertMotifFeatureExtractor.from_motif_set(
        motif_set,
        motif_mean=encoder.motif_mean.tolist(),
        motif_std=encoder.motif_std.tolist(),
        num_regions=config.num_regions,
        region_window_bp=int(
            corpus_config.get("region_window_bp") or default_region_window_bp(config.kmer, config.num_regions)
        ),
    )
    return GeneBertProcessor(extractor, tokenizer)


def export_for_hub(
    model: Any,
    tokenizer: Any,
    out_dir: str | os.PathLike,
    *,
    overwrite: bool = False,
    motifs: Any = None,
    processor: Any = None,
    **card_fields: Any,
) -> Path:
    """Write a self-contained Hub model repository for `model` and `tokenizer` to `out_dir`.

    Contents: ``config.json`` (``auto_map`` for AutoConfig, AutoModel, AutoModelForPreTraining and
    AutoModelForSequenceClassification; for a sequence classifier also ``custom_pipelines`` for the
    ``dna-classification`` task), ``configuration_genebert.py``, ``modeling_genebert.py``, ``tokenization_genebert.py``,
    ``model.safetensors``, ``tokenizer_config.json`` + ``vocab.txt`` (``auto_map`` for AutoTokenizer), for a classifier
    ``pipeline_genebert.py``, and ``README.md`` (see :func:`build_model_card`; `card_fields` are its keyword arguments).

    The folder is built in a temporary sibling directory and renamed into place, so `out_dir` is never half-written.

    Raises:
        FileExistsError: `out_dir` exists, is not empty and `overwrite` is False.
        TypeError: an unknown card field.
    """
    if processor is None and motifs is not None:
        processor = processor_for(model, tokenizer, motifs, card_fields.get("training_dir"))
    card = build_model_card(
        model, processor=processor, **card_fields
    )  # unknown fields fail before any writing
    out, temporary = _prepare_target(out_dir, overwrite)
    try:
        model.save_pretrained(temporary)
        if processor is not None:
            processor.save_pretrained(temporary)  # the tokenizer, the motif feature extractor and their code
        else:
            tokenizer.save_pretrained(temporary)
        package = Path(__file__).parent
        for name in REMOTE_CODE_FILES:
            if not (temporary / name).exists():
                shutil.copyfile(package / name, temporary / name)
        config_path = temporary / "config.json"
        config = json.loads(config_path.read_text())
        _, classifier = _task_of(model)
        if classifier:
            (temporary / PIPELINE_FILE).write_text(remote_pipeline_source())
            config["custom_pipelines"] = {
                PIPELINE_TASK: {
                    "impl": f"{Path(PIPELINE_FILE).stem}.{PIPELINE_CLASS}",
                    "pt": ["AutoModelForSequenceClassification"],
                    "type": "text",
                }
            }
        else:
            config.pop("custom_pipelines", None)
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        card.save(temporary / "README.md")
        os.chmod(temporary, 0o755)
        replace_directory(temporary, out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------------------------------------------------


def _is_corpus(path: Path) -> bool:
    return (path / "metadata.json").is_file() and (path / "samples.arrow").exists()


def export_dataset(
    source: Any,
    out_dir: str | os.PathLike,
    *,
    pretty_name: str | None = None,
    description: str | None = None,
    license: str = "apache-2.0",
    tags: Sequence[str] = (),
    overwrite: bool = False,
) -> Path:
    """Write a Hub data set repository: parquet files plus a dataset card (``README.md``) whose ``configs`` let
    ``datasets.load_dataset(repo)`` read them.

    Args:
        source: a `datasets.DatasetDict` (one parquet file per split, ``data/{split}.parquet``), a `datasets.Dataset`
            (split ``train``), a path saved by ``save_to_disk``, or a GeneBERT corpus directory (two configurations,
            ``regions`` and ``samples``, plus ``metadata.json``).
        out_dir: the folder to write (replaced atomically; see `overwrite`).
        pretty_name, description, license, tags: card fields.

    Returns:
        `out_dir` as a `Path`.
    """
    import datasets as hf_datasets

    out, temporary = _prepare_target(out_dir, overwrite)
    try:
        configs: list[dict[str, Any]] = []
        summary: list[str] = []
        if isinstance(source, (str, os.PathLike)) and _is_corpus(Path(source)):
            from .genomics.corpus import load_corpus

            corpus = load_corpus(source)
            corpus.export_parquet(temporary / "corpus")
            for name, table in (("regions", corpus.regions), ("samples", corpus.samples)):
                configs.append(
                    {
                        "config_name": name,
                        "data_files": [{"split": "train", "path": f"corpus/{name}.parquet"}],
                        # `load_dataset(repo)` without a name reads the regions (DNA + motif scores)
                        **({"default": True} if name == "regions" else {}),
                    }
                )
                summary.append(f"| {name} | train | {table.num_rows:,} | {', '.join(table.column_names)} |")
            kind = "GeneBERT pre-training corpus (accessible regions with DNA and motif scores; samples of 10 regions)"
        else:
            data = source
            if isinstance(data, (str, os.PathLike)):
                data = hf_datasets.load_from_disk(str(data))
            if isinstance(data, hf_datasets.Dataset):
                data = hf_datasets.DatasetDict({"train": data})
            if not isinstance(data, hf_datasets.DatasetDict):
                raise TypeError(
                    f"export_dataset takes a Dataset, a DatasetDict, a save_to_disk folder or a corpus folder, got {type(source).__name__}"
                )
            (temporary / "data").mkdir()
            files = []
            for split, table in data.items():
                table.to_parquet(str(temporary / "data" / f"{split}.parquet"))
                files.append({"split": split, "path": f"data/{split}.parquet"})
                summary.append(
                    f"| default | {split} | {table.num_rows:,} | {', '.join(table.column_names)} |"
                )
            configs.append({"config_name": "default", "data_files": files})
            kind = "DNA sequence data set"
        card_data = DatasetCardData(
            license=license,
            tags=[*TAGS, *tags],
            pretty_name=pretty_name,
            configs=configs,
        )
        title = pretty_name or out.name
        body = [
            f"# {title}",
            "",
            description
            or f"A {kind}, published with `genebert` for GeneBERT ([arXiv 2110.05231]({PAPER_URL})).",
            "",
            "| configuration | split | rows | columns |",
            "|---|---|---|---|",
            *summary,
            "",
            "## Loading",
            "",
            "```python",
            "from datasets import load_dataset",
            "",
            f'data = load_dataset("<user>/{out.name}"{", " + repr(configs[0]["config_name"]) if len(configs) > 1 else ""})',
            "```",
            "",
            "## Citation",
            "",
            "```bibtex",
            CITATION,
            "```",
            "",
        ]
        DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(body)).save(temporary / "README.md")
        os.chmod(temporary, 0o755)
        replace_directory(temporary, out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Push
# ---------------------------------------------------------------------------------------------------------------------


def push(
    out_dir: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    repo_type: str = "model",
    commit_message: str = "Upload GeneBERT model with genebert",
    endpoint: str | None = None,
) -> str:
    """Create `repo_id` (if needed) and upload the folder `out_dir` to it in one commit.

    Uses ``HfApi.create_repo(exist_ok=True)`` then ``HfApi.upload_folder``. The endpoint is `endpoint`, else
    ``HF_ENDPOINT`` (read by huggingface_hub at import), else https://huggingface.co; the token is `token`, else
    ``HF_TOKEN`` / the cached login.

    Returns:
        The commit URL.

    Raises:
        FileNotFoundError: `out_dir` is not a folder. ValueError: a model folder without ``config.json`` or
        ``README.md`` (export it with :func:`export_for_hub` first).
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a directory")
    required = ("config.json", "README.md") if repo_type == "model" else ("README.md",)
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise ValueError(
            f"{folder} has no {', '.join(missing)}: export it first (genebert export / genebert.hub.export_for_hub)"
        )
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id, folder_path=folder, repo_type=repo_type, commit_message=commit_message
    )
    return str(info.commit_url)


def push_dataset(
    source: Any,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload data set with genebert",
    endpoint: str | None = None,
    **card_fields: Any,
) -> str:
    """Export `source` with :func:`export_dataset` (into a temporary folder) and push it as a dataset repository.

    `source` may also be a folder already written by :func:`export_dataset` (it has a ``README.md``); it is then
    pushed as it is. Returns the commit URL.
    """
    folder = Path(source) if isinstance(source, (str, os.PathLike)) else None
    if folder is not None and (folder / "README.md").is_file() and not _is_corpus(folder):
        return push(folder, repo_id, token=token, private=private, repo_type="dataset",
                    commit_message=commit_message, endpoint=endpoint)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="genebert-dataset-") as scratch:
        card_fields.setdefault("pretty_name", repo_id.split("/")[-1])
        exported = export_dataset(source, Path(scratch) / repo_id.split("/")[-1], **card_fields)
        return push(exported, repo_id, token=token, private=private, repo_type="dataset",
                    commit_message=commit_message, endpoint=endpoint)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------------
# Command line (wired into genebert.cli)
# ---------------------------------------------------------------------------------------------------------------------


def _model_class_for(checkpoint: Path) -> Any:
    from . import modeling_genebert

    config = json.loads((checkpoint / "config.json").read_text())
    for architecture in config.get("architectures") or []:
        model_class = getattr(modeling_genebert, architecture, None)
        if model_class is not None:
            return model_class
    return modeling_genebert.GeneBertForPreTraining


def _default_training_dir(checkpoint: Path) -> Path | None:
    markers = ("all_results.json", "trainer_state.json", "training_args.json", "training_args.bin")
    for place in (checkpoint, checkpoint.parent):
        if any((place / marker).exists() for marker in markers):
            return place
    return None


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``genebert export CHECKPOINT OUT``."""
    parser.add_argument("checkpoint", type=Path, help="a GeneBERT checkpoint / run output directory")
    parser.add_argument("out", type=Path, help="the Hub-ready folder to write")
    parser.add_argument("--repo-id", default=None, help="the Hub id the model card's examples load from")
    parser.add_argument("--model-name", default=None, help="title of the model card")
    parser.add_argument("--description", default=None, help="a paragraph for the model card")
    parser.add_argument("--license", default="apache-2.0")
    parser.add_argument("--dataset", action="append", default=[], help="Hub data set id (repeatable)")
    parser.add_argument("--dataset-name", default=None, help="readable name of the evaluation data")
    parser.add_argument("--base-model", default=None, help="Hub id of the checkpoint it was fine-tuned from")
    parser.add_argument(
        "--training-dir",
        type=Path,
        default=None,
        help="run output directory (default: CHECKPOINT or its parent)",
    )
    parser.add_argument("--eval-results", type=Path, default=None, help="JSON of eval_*/test_* metrics")
    parser.add_argument(
        "--motifs",
        default=None,
        help="pre-training models: the corpus's motifs (JASPAR2018 or a motif file), to ship a GeneBertProcessor "
        "that turns DNA into the model's inputs",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def cli_export(args: argparse.Namespace) -> int:
    """Turn a checkpoint into a self-contained Hub model folder (remote code, weights, tokenizer, model card)."""
    from .tokenization_genebert import GeneBertTokenizer

    checkpoint = Path(args.checkpoint)
    if not (checkpoint / "config.json").is_file():
        raise SystemExit(f"{checkpoint} is not a model checkpoint (no config.json)")
    model = _model_class_for(checkpoint).from_pretrained(checkpoint)
    if (checkpoint / "vocab.txt").is_file():
        tokenizer = GeneBertTokenizer.from_pretrained(checkpoint)
    else:
        tokenizer = GeneBertTokenizer(kmer=model.config.kmer)
    training_dir = args.training_dir or _default_training_dir(checkpoint)
    if args.motifs is None and getattr(model, "region_encoder", None) is not None:
        print(
            "note: no --motifs given, so the export has no GeneBertProcessor: its users cannot build the "
            "region_matrix from DNA"
        )
    out = export_for_hub(
        model,
        tokenizer,
        args.out,
        overwrite=args.overwrite,
        repo_id=args.repo_id,
        model_name=args.model_name,
        description=args.description,
        license=args.license,
        datasets=args.dataset,
        dataset_name=args.dataset_name,
        base_model=args.base_model,
        training_dir=training_dir,
        eval_results=args.eval_results,
        motifs=args.motifs,
    )
    print(f"{type(model).__name__} -> {out} ({', '.join(sorted(p.name for p in out.iterdir()))})")
    return 0


def add_push_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``genebert push FOLDER REPO_ID``."""
    parser.add_argument(
        "folder", type=Path, help="an exported model folder, an exported data set or a corpus"
    )
    parser.add_argument("repo_id", help="e.g. user/genebert-promoter")
    parser.add_argument("--repo-type", choices=["model", "dataset"], default="model")
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or the cached login)")
    parser.add_argument("--commit-message", default=None)


def cli_push(args: argparse.Namespace) -> int:
    """Upload an exported folder to the Hub (a corpus folder is exported to parquet + card first)."""
    if args.repo_type == "dataset":
        url = push_dataset(
            args.folder,
            args.repo_id,
            token=args.token,
            private=args.private,
            commit_message=args.commit_message or "Upload data set with genebert",
        )
    else:
        url = push(
            args.folder,
            args.repo_id,
            token=args.token,
            private=args.private,
            commit_message=args.commit_message or "Upload GeneBERT model with genebert",
        )
    print(f"pushed {args.folder} -> {args.repo_id}: {url}")
    return 0


__all__ = [
    "build_model_card",
    "cli_export",
    "cli_push",
    "evaluation_metrics",
    "export_dataset",
    "export_for_hub",
    "processor_for",
    "push",
    "push_dataset",
    "read_training_args",
    "read_training_run",
    "remote_pipeline_source",
]
