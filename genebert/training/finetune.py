"""Fine-tune GeneBERT on a sequence classification task (run_scripts/run_finetuning.py).

Data: any ``sequence,label`` CSV / TSV (DNABERT's k-mer TSV is joined back to DNA) or parquet through
``--train_file --validation_file --test_file`` (as transformers' text-classification example), or a built-in
task through ``--task NAME`` (see ``genebert.genomics.tasks.TASKS``)::

    python run_scripts/run_finetuning.py --task gue_prom_core_all --data_root ../shared/data \\
        --preset tiny --output_dir outputs/finetune/prom_core_all
    python run_scripts/run_finetuning.py --train_file train.csv --validation_file dev.csv --test_file test.csv \\
        --model_name_or_path outputs/pretrain --output_dir outputs/finetune/mine
    python run_scripts/run_finetuning.py --task gue_tf0 --dnabert_checkpoint path/to/DNABERT-6 --preset base ...
    torchrun --nproc_per_node 2 run_scripts/run_finetuning.py ...      # DDP on CPU, as pre-training

Model: a GeneBERT checkpoint (``--model_name_or_path``, e.g. a pre-training output), a DNABERT-style
``BertForMaskedLM`` checkpoint (``--dnabert_checkpoint``) or, with neither, a randomly initialised model of
``--preset`` size (the paper's uni-modal "no pre-training" baseline).

Training keeps the checkpoint with the best dev ``--metric_for_best_model`` (default ``auc``) and stops early
after ``--early_stopping_patience`` evaluations without improvement. Outputs in ``--output_dir``: the model and
tokenizer, ``test_results.json`` (precision, recall, f1, accuracy, mcc, auc, pr_auc, ...),
``eval_results.json`` (the dev split, best model), ``test_predictions.tsv`` / ``.json`` (id, label,
prediction, one score per class), ``all_results.json`` and ``log_history.json``.

Long sequences: the model reads at most ``--max_seq_length`` tokens (512 with [CLS] and [SEP]), i.e.
``max_seq_length - 2 + k - 1`` bp (515 bp for k = 6). Longer sequences are cropped by ``--truncation``:
``centre`` (default: keeps the middle, right for peak- and site-centred tasks), ``left`` (keeps the start),
``right`` (keeps the end) or ``error``. The number of cropped sequences per split is logged as a warning and
saved in ``all_results.json`` (``cropped_<split>``), so cropping never goes unnoticed.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from transformers import (
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    TrainingArguments,
    set_seed,
)

from genebert import GeneBertConfig, GeneBertForSequenceClassification, GeneBertTokenizer
from genebert.errors import GeneBertError, InputFileError, UsageError
from genebert.genomics.io import check_dna, reverse_complement
from genebert.genomics.tables import (
    SPLITS,
    encode_labels,
    label_names,
    normalise_label,
    read_sequence_table,
    seeded_split,
    subsample,
)
from genebert.genomics.tasks import load_task
from genebert.storage import atomic_write, ensure_writable_directory, write_json
from genebert.training.arguments import (
    TRAINING_PRESETS,
    option,
    parse_config_overrides,
    parse_values,
    parse_with_presets,
)
from genebert.training.baselines import (
    RC_AUTO_MAX_DROP,
    decide_reverse_complement,
    kmer_logistic_regression,
)
from genebert.training.metrics import METRIC_KEYS, as_probabilities, classification_metrics
from genebert.training.runs import (
    checkpoint_space_needed,
    file_fingerprint,
    holds_output_lock,
    prepare_run_output,
    run_identity,
)
from genebert.training.trainer import AtomicCheckpointTrainer

logger = logging.getLogger("genebert.finetune")

TRUNCATION_POLICIES = ("centre", "left", "right", "error")


@dataclass
class ModelArguments:
    preset: str = option(
        "base", "size and schedule when training from scratch: 'tiny', 'small' (CPU) or 'base'"
    )
    model_name_or_path: str | None = option(
        None, "a GeneBERT checkpoint (pre-training or fine-tuning output, or Hub id)"
    )
    dnabert_checkpoint: str | None = option(
        None, "a DNABERT-style BertForMaskedLM checkpoint for the sequence tower"
    )
    kmer: int = option(6, "k of the k-mer tokens when training from scratch")
    config_overrides: str | None = option(
        None, "comma-separated config overrides, e.g. 'hidden_dropout_prob=0.2'"
    )
    attn_implementation: str = option("sdpa", "'sdpa' or 'eager'")


_SWITCH_VALUES = {"true": "true", "yes": "true", "1": "true", "false": "false", "no": "false", "0": "false"}


@dataclass
class DataArguments:
    task: str | None = option(None, "a built-in task (genebert.genomics.tasks.TASKS)")
    data_root: str | None = option(
        None, "folder of the built-in tasks' data (default $GENEBERT_DATA_ROOT or ../shared/data)"
    )
    train_file: str | None = option(None, "CSV/TSV/parquet with sequence,label")
    validation_file: str | None = option(None, "dev split (early stopping)")
    test_file: str | None = option(None, "test split (test_results.json)")
    sequence_column: str = option("sequence")
    label_column: str = option("label")
    validation_split_percentage: int = option(
        10, "without a validation file: the seeded share of train used as dev"
    )
    split_seed: int = option(42, "seed of data splits and shuffled negatives (tasks without a split)")
    max_seq_length: int = option(512, "tokens per sequence, [CLS] and [SEP] included")
    truncation: str = option("centre", "crop of longer sequences: 'centre', 'left', 'right' or 'error'")
    max_train_samples: int | None = option(None, "use a seeded random subset of train of this size")
    max_eval_samples: int | None = option(
        None, "use a seeded random subset of dev of this size (faster evaluations)"
    )
    max_test_samples: int | None = option(None)
    early_stopping_patience: int = option(5, "evaluations without dev improvement before stopping (0: never)")
    kmer_baseline: int = option(
        4,
        "k of the bag-of-k-mers logistic regression fitted on the same train split and reported beside "
        "the test metrics (0: none)",
    )
    reverse_complement_augmentation: str = option(
        "auto",
        "add the reverse complement of every training sequence (same label): 'true', 'false' or 'auto' (on when "
        "the task looks strand-symmetric: a 4-mer logistic regression fitted on train scores the reverse-"
        f"complemented dev split within {RC_AUTO_MAX_DROP} AUC of the dev split; off without a dev split)",
    )


@dataclass
class GeneBertFinetuningArguments(TrainingArguments):
    output_dir: str = option("outputs/finetune")
    num_train_epochs: float = option(3.0)
    learning_rate: float = option(3e-5)
    warmup_steps: float = option(0.1)
    weight_decay: float = option(0.01)
    per_device_train_batch_size: int = option(32)
    per_device_eval_batch_size: int = option(64)
    logging_steps: float = option(50)
    eval_strategy: str = option("steps")
    eval_steps: float | None = option(200)
    save_strategy: str = option("steps")
    save_steps: float = option(200)
    save_total_limit: int | None = option(2)
    load_best_model_at_end: bool = option(True)
    metric_for_best_model: str | None = option("auc")
    greater_is_better: bool | None = option(True)
    save_safetensors: bool = option(True)
    overwrite_output_dir: bool = option(
        False, "train into an output_dir holding another run (its checkpoints are removed)"
    )


PRESETS = TRAINING_PRESETS["finetune"]
ARGUMENT_TYPES = (ModelArguments, DataArguments, GeneBertFinetuningArguments)


def parse_arguments(argv: list[str]) -> tuple[ModelArguments, DataArguments, GeneBertFinetuningArguments]:
    """The three argument dataclasses from a command line (or the one YAML/JSON file it names), checked."""
    return check_arguments(*parse_with_presets(ARGUMENT_TYPES, argv, PRESETS))


def arguments_from_values(
    values: dict[str, Any],
) -> tuple[ModelArguments, DataArguments, GeneBertFinetuningArguments]:
    """The three argument dataclasses from ``{field: value}`` (presets applied as on the command line), checked."""
    return check_arguments(*parse_values(ARGUMENT_TYPES, values, PRESETS))


def check_arguments(
    model_args: ModelArguments, data_args: DataArguments, training_args: GeneBertFinetuningArguments
) -> tuple[ModelArguments, DataArguments, GeneBertFinetuningArguments]:
    """Raises `UsageError` naming the option for combinations that cannot run."""
    if data_args.truncation not in TRUNCATION_POLICIES:
        raise UsageError(f"--truncation must be one of {TRUNCATION_POLICIES}, got {data_args.truncation!r}")
    if bool(data_args.task) == bool(data_args.train_file):
        raise UsageError("give either --task NAME or --train_file (with --validation_file / --test_file)")
    if model_args.model_name_or_path and model_args.dnabert_checkpoint:
        raise UsageError("give at most one of --model_name_or_path and --dnabert_checkpoint")
    setting = str(data_args.reverse_complement_augmentation).strip().lower()
    setting = "auto" if setting == "auto" else _SWITCH_VALUES.get(setting, "")
    if not setting:
        raise UsageError(
            "--reverse_complement_augmentation must be 'true', 'false' or 'auto', "
            f"got {data_args.reverse_complement_augmentation!r}"
        )
    data_args.reverse_complement_augmentation = setting  # a YAML/JSON boolean becomes its string
    return model_args, data_args, training_args


# ------------------------------------------------------------------------------------------------------ data


def read_table(
    path: str | Path, sequence_column: str = "sequence", label_column: str = "label"
) -> list[dict]:
    """Records ``{"id", "sequence", "label"}`` of a CSV / TSV / parquet file, every row validated."""
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        return read_sequence_table(path, sequence_column=sequence_column, label_column=label_column)
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise InputFileError(path, f"not a readable parquet file: {error}") from error
    missing = {sequence_column, label_column} - set(table.column_names)
    if missing:
        raise InputFileError(path, f"missing columns {sorted(missing)} (has {table.column_names})")
    ids = table.column("id").to_pylist() if "id" in table.column_names else None
    rows = zip(table.column(sequence_column).to_pylist(), table.column(label_column).to_pylist(), strict=True)
    # Parquet has no lines: "line" is the 1-based row number.
    records = [
        {
            "id": str(ids[row - 1]) if ids else f"{path.stem}:{row}",
            "sequence": check_dna(str(sequence or ""), path, row),
            "label": normalise_label(label, path, row),
        }
        for row, (sequence, label) in enumerate(rows, start=1)
    ]
    if not records:
        raise InputFileError(path, "no rows")
    return records


def load_splits(data_args: DataArguments) -> tuple[dict[str, list[dict]], list[str], str]:
    """Records per split (labels as class ids), class names and the task kind."""
    if data_args.task:
        task = load_task(data_args.task, data_args.data_root, seed=data_args.split_seed)
        splits = {name: records for name, records in task.splits.items() if records}
        return splits, task.label_names, task.kind
    files = {name: getattr(data_args, f"{name}_file") for name in SPLITS}
    splits = {
        name: read_table(path, data_args.sequence_column, data_args.label_column)
        for name, path in files.items()
        if path
    }
    if "validation" not in splits and data_args.validation_split_percentage > 0:
        fraction = data_args.validation_split_percentage / 100
        names = seeded_split(len(splits["train"]), data_args.split_seed, (1 - fraction, fraction, 0.0))
        records = splits["train"]
        splits["train"] = [r for r, s in zip(records, names, strict=True) if s == "train"]
        splits["validation"] = [r for r, s in zip(records, names, strict=True) if s == "validation"]
    classes = label_names(record["label"] for record in splits["train"])
    if len(classes) < 2:
        message = f"every training label is {classes[0]!r}: a classifier needs at least two classes"
        if data_args.train_file:
            raise InputFileError(data_args.train_file, message)
        raise UsageError(f"--task {data_args.task}: {message}")
    for name, records in splits.items():
        unknown = sorted({str(r["label"]) for r in records} - set(classes))
        if unknown:
            raise UsageError(f"the {name} split has labels {unknown} that train does not have ({classes})")
        for record, label in zip(records, encode_labels([r["label"] for r in records], classes), strict=True):
            record["label"] = label
    return splits, classes, "classification"


def crop(sequence: str, max_bp: int, policy: str) -> str:
    """``sequence`` cut to ``max_bp`` by ``policy`` (``centre`` keeps the middle; the extra base goes right)."""
    if len(sequence) <= max_bp:
        return sequence
    if policy == "centre":
        start = (len(sequence) - max_bp) // 2
        return sequence[start : start + max_bp]
    if policy == "left":
        return sequence[:max_bp]
    if policy == "right":
        return sequence[-max_bp:]
    raise ValueError(
        f"a sequence of {len(sequence)} bp is longer than {max_bp} bp and --truncation is 'error'"
    )


class TokenizedSplit(torch.utils.data.Dataset):
    """Tokenised sequences + labels; ``ids`` stay beside it for the prediction files."""

    def __init__(self, records: list[dict], tokenizer: GeneBertTokenizer, max_bp: int, policy: str):
        sequences = [crop(r["sequence"], max_bp, policy) for r in records]
        self.cropped = sum(len(r["sequence"]) > max_bp for r in records)
        encoded = tokenizer(sequences, return_token_type_ids=True, return_attention_mask=True)
        self.features = [
            {
                "input_ids": encoded["input_ids"][i],
                "token_type_ids": encoded["token_type_ids"][i],
                "attention_mask": encoded["attention_mask"][i],
                "labels": int(records[i]["label"]),
            }
            for i in range(len(records))
        ]
        self.ids = [str(r["id"]) for r in records]
        self.labels = np.asarray([int(r["label"]) for r in records])

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict:
        return self.features[index]


# ----------------------------------------------------------------------------------------------------- model


def build_model(
    model_args: ModelArguments, classes: list[str]
) -> tuple[GeneBertForSequenceClassification, GeneBertTokenizer]:
    label_kwargs = {
        "num_labels": len(classes),
        "id2label": dict(enumerate(classes)),
        "label2id": {name: i for i, name in enumerate(classes)},
    }
    overrides = parse_config_overrides(model_args.config_overrides)
    if model_args.model_name_or_path:
        source = model_args.model_name_or_path
        model = GeneBertForSequenceClassification.from_pretrained(
            source,
            attn_implementation=model_args.attn_implementation,
            ignore_mismatched_sizes=True,  # a fine-tuned checkpoint with another number of classes
            problem_type="single_label_classification",
            **label_kwargs,
            **overrides,
        )
        has_vocab = Path(source, "vocab.txt").is_file() if Path(source).is_dir() else True
        tokenizer = (
            GeneBertTokenizer.from_pretrained(source)
            if has_vocab
            else GeneBertTokenizer(kmer=model.config.kmer)
        )
        if tokenizer.kmer != model.config.kmer:
            raise GeneBertError(f"{source}: tokenizer k={tokenizer.kmer} but model k={model.config.kmer}")
        logger.info("model from GeneBERT checkpoint %s", source)
    elif model_args.dnabert_checkpoint:
        model, report = GeneBertForSequenceClassification.from_dnabert(
            model_args.dnabert_checkpoint,
            output_loading_info=True,
            problem_type="single_label_classification",
            **label_kwargs,
            **overrides,
        )
        model.config._attn_implementation = model_args.attn_implementation
        tokenizer = GeneBertTokenizer(kmer=model.config.kmer)
        logger.info("sequence tower from DNABERT checkpoint %s: %s", model_args.dnabert_checkpoint, report)
    else:
        values = {"kmer": model_args.kmer, **overrides}
        config = GeneBertConfig.from_preset(
            model_args.preset, problem_type="single_label_classification", **label_kwargs, **values
        )
        config._attn_implementation = model_args.attn_implementation
        model = GeneBertForSequenceClassification(config)
        tokenizer = GeneBertTokenizer(kmer=config.kmer)
        logger.info(
            "model from scratch (preset %s): no pre-training, the uni-modal baseline", model_args.preset
        )
    return model, tokenizer


def _probabilities(prediction) -> np.ndarray:
    """Class probabilities from a Trainer prediction (its logits come first when the model returns more)."""
    logits = prediction.predictions
    return as_probabilities(logits[0] if isinstance(logits, tuple) else logits)


def _compute_metrics(eval_prediction) -> dict[str, float]:
    return classification_metrics(eval_prediction.label_ids, _probabilities(eval_prediction))


def write_predictions(
    output: Path, split: TokenizedSplit, probabilities: np.ndarray, classes: list[str], name: str = "test"
) -> None:
    """``<name>_predictions.tsv`` and ``.json``: id, true label, predicted label and one score per class."""
    predictions = probabilities.argmax(axis=1)
    score_columns = [f"score_{c}" for c in classes]
    rows = []
    for i, identifier in enumerate(split.ids):
        row = {"id": identifier, "label": classes[split.labels[i]], "prediction": classes[predictions[i]]}
        row.update({column: float(probabilities[i, j]) for j, column in enumerate(score_columns)})
        rows.append(row)
    header = ["id", "label", "prediction", *score_columns]
    lines = ["\t".join(header)] + [
        "\t".join(str(row[c]) if not c.startswith("score_") else f"{row[c]:.6g}" for c in header)
        for row in rows
    ]
    atomic_write(output / f"{name}_predictions.tsv", "\n".join(lines) + "\n")
    write_json(output / f"{name}_predictions.json", rows, indent=None)


def main(argv: list[str] | None = None) -> dict:
    """Entry point of ``run_scripts/run_finetuning.py`` and ``genebert finetune``: parse, then
    :func:`run_finetuning`."""
    return run_finetuning(*parse_arguments(sys.argv[1:] if argv is None else argv))


@holds_output_lock("fine-tuning output")
def run_finetuning(
    model_args: ModelArguments, data_args: DataArguments, training_args: GeneBertFinetuningArguments
) -> dict:
    """Fine-tune and evaluate; returns the test metrics (or the dev metrics when there is no test split)."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_warning()
    set_seed(training_args.seed)

    splits, classes, kind = load_splits(data_args)  # input errors first: a bad file writes nothing
    if training_args.should_save:
        ensure_writable_directory(training_args.output_dir, what="fine-tuning output")
    files = {name: getattr(data_args, f"{name}_file") for name in SPLITS}
    identity = run_identity(
        "finetune",
        (model_args, data_args, training_args),
        {name: file_fingerprint(path) for name, path in files.items() if path},
    )
    resume = prepare_run_output(
        training_args.output_dir,
        identity,
        training_args.resume_from_checkpoint,
        overwrite=training_args.overwrite_output_dir,
        main_process=training_args.should_save,
    )
    limits = (data_args.max_train_samples, data_args.max_eval_samples, data_args.max_test_samples)
    for name, limit in zip(SPLITS, limits, strict=True):
        if name in splits:
            splits[name] = subsample(splits[name], limit, data_args.split_seed)

    augmentation = decide_reverse_complement(
        splits, data_args.reverse_complement_augmentation, seed=data_args.split_seed
    )
    logger.info("reverse-complement augmentation: %s", augmentation)
    if augmentation["used"]:
        # TF binding and promoter activity do not depend on which strand a peak file reports: doubling the
        # training set with reverse complements is the usual augmentation (DeepBind, Basset), never on dev/test.
        splits["train"] = splits["train"] + [
            {**r, "id": f"{r['id']}|rc", "sequence": reverse_complement(r["sequence"])}
            for r in splits["train"]
        ]
    model, tokenizer = build_model(model_args, classes)
    if training_args.should_save:  # every checkpoint kept at once and the final model
        batch = training_args.per_device_train_batch_size * training_args.world_size
        steps = training_args.max_steps
        if steps <= 0:
            batches = math.ceil(len(splits["train"]) / (batch * training_args.gradient_accumulation_steps))
            steps = math.ceil(batches * training_args.num_train_epochs)
        ensure_writable_directory(
            training_args.output_dir,
            need_bytes=checkpoint_space_needed(model, training_args, steps),
            what="fine-tuning output",
        )
    max_tokens = min(data_args.max_seq_length, model.config.max_position_embeddings)
    max_bp = max_tokens - 2 + model.config.kmer - 1  # [CLS] + (L - k + 1) k-mers + [SEP] <= max_tokens
    data = {
        name: TokenizedSplit(records, tokenizer, max_bp, data_args.truncation)
        for name, records in splits.items()
    }
    cropped = {f"cropped_{name}": split.cropped for name, split in data.items()}
    for name, split in data.items():
        if split.cropped:
            logger.warning(
                "%d of %d %s sequences are longer than %d bp (%d tokens) and were cropped (--truncation %s)",
                split.cropped,
                len(split),
                name,
                max_bp,
                max_tokens,
                data_args.truncation,
            )

    callbacks = []
    if "validation" not in data:
        training_args.eval_strategy = "no"
        training_args.load_best_model_at_end = False
    elif data_args.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=data_args.early_stopping_patience))
    trainer = AtomicCheckpointTrainer(
        model=model,
        args=training_args,
        train_dataset=data["train"],
        eval_dataset=data.get("validation"),
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=_compute_metrics,
        callbacks=callbacks,
    )
    if trainer.is_world_process_zero():
        logger.info(
            "task %s: %s classes %s, splits %s, %.2fM parameters, world size %d",
            data_args.task or data_args.train_file,
            kind,
            classes,
            {name: len(split) for name, split in data.items()},
            sum(p.numel() for p in model.parameters()) / 1e6,
            training_args.world_size,
        )
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    train_minutes = (time.perf_counter() - started) / 60
    trainer.save_model()
    metrics = {**result.metrics, **cropped, "train_minutes": train_minutes, "num_labels": len(classes)}
    metrics["reverse_complement_augmentation"] = augmentation
    metrics["best_model_checkpoint"] = trainer.state.best_model_checkpoint
    output = Path(training_args.output_dir)
    outcome: dict = {}
    if "validation" in data:
        eval_metrics = trainer.evaluate()
        metrics.update(eval_metrics)
        if trainer.is_world_process_zero():
            write_json(output / "eval_results.json", eval_metrics)
        outcome = {key.removeprefix("eval_"): value for key, value in eval_metrics.items()}
    if "test" in data:
        prediction = trainer.predict(data["test"], metric_key_prefix="test")
        probabilities = _probabilities(prediction)
        outcome = classification_metrics(data["test"].labels, probabilities)
        outcome.update(
            loss=prediction.metrics.get("test_loss", math.nan),
            task=data_args.task or str(data_args.test_file),
            kind=kind,
            train_minutes=train_minutes,
            train_samples=len(data["train"]),
            global_step=trainer.state.global_step,
            reverse_complement_augmentation=augmentation,
        )
        metrics.update({f"test_{key}": value for key, value in outcome.items() if key in METRIC_KEYS})
        if data_args.kmer_baseline > 0 and len({r["label"] for r in splits["train"]}) > 1:
            # what composition alone achieves on the same splits: the deep model has to beat this
            baseline = kmer_logistic_regression(
                [r["sequence"] for r in splits["train"]], [r["label"] for r in splits["train"]],
                [r["sequence"] for r in splits["test"]], data["test"].labels, k=data_args.kmer_baseline,
                seed=training_args.seed,
            )  # fmt: skip
            outcome["baseline_kmer_logistic_regression"] = baseline
            metrics.update({f"test_baseline_kmer_{key}": baseline[key] for key in METRIC_KEYS})
        if trainer.is_world_process_zero():
            write_json(output / "test_results.json", outcome)  # an undefined metric is null, never NaN
            write_predictions(output, data["test"], probabilities, classes)
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(output)
        write_json(output / "all_results.json", metrics, default=str)
        write_json(output / "log_history.json", trainer.state.log_history)
        atomic_write(output / "training_args.json", training_args.to_json_string())  # the card reads this
        logger.info(
            "done in %.1f min: %s",
            train_minutes,
            {key: round(outcome[key], 4) for key in METRIC_KEYS if key in outcome},
        )
        baseline = outcome.get("baseline_kmer_logistic_regression")
        if baseline is not None:
            print(
                f"test AUC {outcome['auc']:.4f}, MCC {outcome['mcc']:.4f} | baseline (logistic regression on "
                f"{baseline['k']}-mer counts, same train split): AUC {baseline['auc']:.4f}, MCC {baseline['mcc']:.4f}"
            )
    return outcome
