"""GeneBertTrainer: transformers' Trainer with GeneBERT's losses and metrics, and corpus-aware checkpoints."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch
from transformers import Trainer, TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint, rotate_checkpoints

from genebert.errors import GeneBertError, UsageError
from genebert.modeling_genebert import GeneBertLoadingError, is_genebert_card, tied_weight_keys
from genebert.storage import atomic_write, disk_full_error, is_disk_full, replace_directory
from genebert.training.baselines import copy_aware_guess, ngsp_cell_type_oracle, srm_cell_type_oracle

logger = logging.getLogger(__name__)

CORPUS_INFO_FILE = "genebert_corpus.json"
#: A run's identity (arguments, data and seed; see `genebert.training.runs`), in the output folder and in every
#: checkpoint, so that a checkpoint is only ever resumed by the run that wrote it.
RUN_FILE = "genebert_run.json"
# Checkpoints are written here first and renamed to `checkpoint-<step>` once complete. The name does not match
# transformers' `checkpoint-<digits>` pattern, so `get_last_checkpoint` never returns a half-written checkpoint.
CHECKPOINT_STAGING_DIR = ".checkpoint-staging"

# Each metric is a (numerator, denominator) pair summed over steps (and processes) and divided at log time,
# so an average over batches of different sizes is exact.
_METRICS = (
    "mgm_copy_aware_accuracy",
    "mgm_neighbour_copy_accuracy",
    "loss_mgm",
    "loss_ngsp",
    "loss_srm",
    "mgm_accuracy",
    "ngsp_accuracy",
    "srm_top1_seq2region",
    "srm_top1_region2seq",
    "srm_contrastive_batch",
)


def pretraining_metric_sums(outputs: Any, inputs: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
    """Per-batch (sum, count) of every pre-training metric that this batch's outputs allow.

    - ``loss_*``: the loss terms (weighted by batch, i.e. averaged over batches).
    - ``mgm_accuracy``: top-1 accuracy of the k-mer prediction over masked tokens.
    - ``ngsp_accuracy``: next genome-segment prediction accuracy.
    - ``srm_top1_seq2region`` / ``srm_top1_region2seq``: top-1 retrieval of the matching region matrix for each
      sequence (and back) among the contrastive batch (the global batch under distributed training).
    - ``srm_contrastive_batch``: how many region matrices each sequence is contrasted with (the global batch).
    """
    sums: dict[str, tuple[float, float]] = {}
    batch = inputs["input_ids"].shape[0]
    for name in ("mgm", "ngsp", "srm"):
        value = getattr(outputs, f"{name}_loss", None)
        if value is not None:
            sums[f"loss_{name}"] = (float(value.detach()) * batch, batch)
    labels = inputs.get("labels")
    logits = getattr(outputs, "masked_prediction_logits", None)
    if labels is not None and logits is not None:
        targets = labels[labels != -100]
        sums["mgm_accuracy"] = (float((logits.argmax(-1) == targets).sum()), targets.numel())
    if outputs.ngsp_logits is not None and inputs.get("next_segment_label") is not None:
        predicted = outputs.ngsp_logits.argmax(-1)
        sums["ngsp_accuracy"] = (float((predicted == inputs["next_segment_label"].view(-1)).sum()), batch)
    if outputs.logits_per_sequence is not None:
        local = outputs.logits_per_sequence.shape[0]
        offset = _contrastive_offset(outputs.logits_per_sequence)
        targets = torch.arange(local, device=outputs.logits_per_sequence.device) + offset
        sums["srm_top1_seq2region"] = (
            float((outputs.logits_per_sequence.argmax(-1) == targets).sum()),
            local,
        )
        sums["srm_top1_region2seq"] = (float((outputs.logits_per_region.argmax(-1) == targets).sum()), local)
        sums["srm_contrastive_batch"] = (float(outputs.logits_per_sequence.shape[1]), 1.0)
    return sums


def _contrastive_offset(logits: torch.Tensor) -> int:
    """Row offset of this process's samples in the gathered contrastive batch (equal local batch sizes)."""
    if logits.shape[1] == logits.shape[0] or not (
        torch.distributed.is_available() and torch.distributed.is_initialized()
    ):
        return 0
    return torch.distributed.get_rank() * logits.shape[0]


class NonFiniteLossError(GeneBertError, FloatingPointError):
    """Training reached a NaN or infinite loss (the weights would be NaN from the next step on)."""


class AtomicCheckpointTrainer(Trainer):
    """A `transformers.Trainer` whose checkpoints appear complete or not at all, and that stops at a bad loss.

    Each checkpoint is written into ``<output_dir>/.checkpoint-staging/`` and renamed to ``checkpoint-<step>``
    once every process has written its part, so a run killed during a save resumes from the previous complete
    checkpoint (``get_last_checkpoint`` never sees the half-written one). The run's identity
    (``genebert_run.json``, see `genebert.training.runs`) is copied into every checkpoint; a disk that fills
    up during a save raises `genebert.storage.OutputLocationError` naming the folder and the bytes needed.

    The first NaN or infinite training loss raises `NonFiniteLossError` naming the step and the loss terms,
    before the optimizer applies it (transformers would log it as 0 and train on with NaN weights).
    """

    #: Loss terms of the last batch, ``{name: tensor}``, for the error message (set by subclasses).
    _last_loss_terms: dict[str, Any] = {}

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        if not bool(torch.isfinite(loss).all()):
            terms = ", ".join(f"{name} {float(value):.6g}" for name, value in self._last_loss_terms.items())
            raise NonFiniteLossError(
                f"the training loss is {float(loss):.6g} at step {self.state.global_step + 1}"
                f"{f' ({terms})' if terms else ''}: stopped before the optimizer step, so the last checkpoint is "
                "intact. Look for NaN/inf in the inputs (the corpus's motif scores: load it with "
                "verify='checksums'), or lower the learning rate / use fp32"
            )
        return loss

    def create_accelerator_and_postprocess(self) -> None:
        """As the Trainer's, then: under FSDP2, keep the parameters `fully_shard` cannot shard replicated; under
        DeepSpeed, make 0-dim parameters 1-element (`genebert.training.sharding`); and say so when an FSDP launch
        fell back to DDP (accelerate runs FSDP only on GPUs)."""
        super().create_accelerator_and_postprocess()
        plugin = getattr(self.accelerator.state, "fsdp_plugin", None)
        if plugin is not None and getattr(plugin, "fsdp_version", 1) == 2 and self.model is not None:
            from genebert.training.sharding import prepare_for_fsdp2

            prepare_for_fsdp2(self.model, plugin, device=self.args.device)
        elif getattr(self, "is_deepspeed_enabled", False) and self.model is not None:
            from genebert.training.sharding import one_element_scalar_parameters

            one_element_scalar_parameters(self.model)
        elif plugin is None and os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true":
            logger.warning(
                "an FSDP launch configuration was given, but accelerate runs FSDP only on GPUs: these %d "
                "process(es) train with %s instead (see docs/scaling.md)",
                self.accelerator.num_processes,
                self.accelerator.distributed_type,
            )

    #: Resuming from (or loading the best) checkpoint whose weights do not fit the model raises
    #: `GeneBertLoadingError` instead of transformers' warning; set False to accept it.
    strict_checkpoint_loading: bool = True

    def _issue_warnings_after_load(self, load_result: Any) -> None:
        """A resumed checkpoint with missing or unexpected weights (another architecture, a damaged file) fails
        loudly: training on would continue from partly fresh weights. Tied copies are not missing."""
        missing = sorted(set(load_result.missing_keys) - tied_weight_keys(self.model))
        unexpected = sorted(load_result.unexpected_keys)
        if self.strict_checkpoint_loading and (missing or unexpected):
            raise GeneBertLoadingError(
                f"the checkpoint does not fit the model being trained ({type(self.model).__name__}): "
                f"{len(missing)} missing weight(s) {missing[:5]}, {len(unexpected)} unexpected {unexpected[:5]}. "
                "Resume with the arguments that wrote it (model preset, config overrides, corpus), or set "
                "strict_checkpoint_loading = False on the trainer to accept it"
            )
        if missing or unexpected:
            super()._issue_warnings_after_load(load_result)

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        if state_dict is not None:  # DeepSpeed ZeRO-3 consolidates the weights without model.state_dict()
            from genebert.training.sharding import squeeze_one_element_entries

            state_dict = squeeze_one_element_entries(self.accelerator.unwrap_model(self.model), state_dict)
        super()._save(output_dir, state_dict)

    def create_model_card(self, *args: Any, **kwargs: Any) -> None:
        """transformers' training-summary card, unless ``output_dir`` already holds a GeneBERT model card (the
        project's card, which `save_pretrained` copies from the folder a model was loaded from): a push then keeps
        it. (A plain `transformers.Trainer` always writes its own; it offers no hook.)"""
        card = os.path.join(self.args.output_dir, "README.md")
        if os.path.isfile(card) and is_genebert_card(card):
            return
        super().create_model_card(*args, **kwargs)

    def _get_output_dir(self, trial: Any) -> str:
        run_dir = super()._get_output_dir(trial)
        return os.path.join(run_dir, CHECKPOINT_STAGING_DIR) if getattr(self, "_staging", False) else run_dir

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        """Write the checkpoint into a staging folder, then rename it to ``checkpoint-<step>`` in one step.

        A process killed while saving leaves only the staging folder (cleared by the next save), so the latest
        ``checkpoint-<step>`` is always complete. Old checkpoints are rotated only after the new one is in place.
        """
        run_dir = self._get_output_dir(trial)
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staging_root = os.path.join(run_dir, CHECKPOINT_STAGING_DIR)
        staged, final = os.path.join(staging_root, name), os.path.join(run_dir, name)
        if self.args.should_save and os.path.isdir(staged):
            shutil.rmtree(staged)  # left by a save that was killed
        self.accelerator.wait_for_everyone()
        self._staging = True
        # weights + Adam moments
        need = 3 * sum(p.numel() * p.element_size() for p in self.model.parameters())
        try:
            super()._save_checkpoint(model, trial)
            if self.args.should_save and os.path.isfile(os.path.join(run_dir, RUN_FILE)):
                shutil.copyfile(os.path.join(run_dir, RUN_FILE), os.path.join(staged, RUN_FILE))
        except (OSError, RuntimeError) as error:  # torch: a full disk is "basic_ios::clear: iostream error"
            if is_disk_full(error, run_dir, need):
                raise disk_full_error(run_dir, need, error, name) from error
            raise
        finally:
            self._staging = False
        best = self.state.best_model_checkpoint
        if best is not None and os.path.dirname(best) == staging_root:
            self.state.best_model_checkpoint = os.path.join(run_dir, os.path.basename(best))
            if self.args.should_save:
                self.state.save_to_json(os.path.join(staged, "trainer_state.json"))
        self.accelerator.wait_for_everyone()  # every process has written its part (sharded optimisers)
        if self.args.should_save:
            _publish_directory(staged, final)
            rotate_checkpoints(
                output_dir=run_dir,
                save_total_limit=self.args.save_total_limit,
                best_model_checkpoint=self.state.best_model_checkpoint,
                use_mtime=True,  # as transformers rotates
            )
        self.accelerator.wait_for_everyone()


class GeneBertTrainer(AtomicCheckpointTrainer):
    """A `transformers.Trainer` for GeneBERT pre-training.

    On top of the Trainer it logs every loss term and the accuracies of the three tasks (``train_*`` in the
    training logs, ``eval_*`` from ``evaluate``), and writes the corpus's motif names and standardisation
    statistics into every checkpoint (``genebert_corpus.json``; the model's region tower also keeps the
    statistics as buffers and ``config.motif_names`` keeps the names).

    Args:
        corpus_info: ``{"motif_names": [...], "motif_mean": [...], "motif_std": [...], ...}`` to save with
            checkpoints (see :func:`corpus_info_from`).
        Other arguments: as `transformers.Trainer`.
    """

    def __init__(
        self,
        *args: Any,
        corpus_info: dict | None = None,
        sample_cell_types: Sequence[str] | None = None,
        srm_warmup_steps: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if srm_warmup_steps < 0:
            raise UsageError(f"--srm_warmup_steps must be >= 0, got {srm_warmup_steps}")
        self.srm_warmup_steps = srm_warmup_steps
        self.corpus_info = corpus_info
        # every corpus sample's cell type, in the collator's order (the pool NGSP negatives come from)
        self.sample_cell_types = None if sample_cell_types is None else [str(c) for c in sample_cell_types]
        self._metric_sums: dict[str, dict[str, list[float]]] = {
            split: defaultdict(lambda: [0.0, 0.0]) for split in ("train", "eval")
        }

    def compute_loss(self, model, inputs, return_outputs: bool = False, num_items_in_batch=None):
        neighbour = inputs.pop("mgm_baseline_ids", None)  # evaluation only: the collator's baseline guesses
        outputs = model(**inputs)
        split = "train" if model.training else "eval"
        if neighbour is not None:
            self._add_copy_baselines(inputs, neighbour)
        self._last_loss_terms = {
            name: getattr(outputs, f"{name}_loss").detach()
            for name in ("mgm", "ngsp", "srm")
            if getattr(outputs, f"{name}_loss", None) is not None
        }
        for name, (total, count) in pretraining_metric_sums(outputs, inputs).items():
            entry = self._metric_sums[split][name]
            entry[0] += total
            entry[1] += count
        loss = outputs.loss
        factor = self.srm_factor(self.state.global_step) if model.training else 1.0
        if factor < 1.0 and outputs.srm_loss is not None:  # default runs never touch the model's loss
            loss = loss - (1.0 - factor) * self._srm_weight() * outputs.srm_loss
        if self.args.n_gpu > 1:  # DataParallel gathers one loss per device
            loss = loss.mean()
        return (loss, outputs) if return_outputs else loss

    def srm_factor(self, step: int) -> float:
        """The share of lambda that training uses at ``step``: 0 for ``srm_warmup_steps`` steps, then a linear
        ramp to 1 over as many steps (always 1 without a warm-up). Evaluation always uses the whole lambda."""
        if self.srm_warmup_steps <= 0:
            return 1.0
        return min(max(step - self.srm_warmup_steps, 0) / self.srm_warmup_steps, 1.0)

    def _srm_weight(self) -> float:
        return float(self.accelerator.unwrap_model(self.model).config.srm_weight)

    def _add_copy_baselines(self, inputs: dict[str, torch.Tensor], neighbour: torch.Tensor) -> None:
        """MGM baselines on the same masked tokens: neighbour copy, and copy-aware (copy the input k-mer where
        a kept or replaced span shows one, the neighbour-copy guess at a [MASK])."""
        labels, shown = inputs["labels"], inputs["input_ids"]
        masked = labels != -100
        copy_aware = copy_aware_guess(shown, neighbour, getattr(self.processing_class, "mask_token_id", None))
        count = float(masked.sum())
        for name, guess in (("mgm_neighbour_copy_accuracy", neighbour.to(shown.device)),
                            ("mgm_copy_aware_accuracy", copy_aware)):  # fmt: skip
            entry = self._metric_sums["eval"][name]
            entry[0] += float((guess[masked] == labels[masked]).sum())
            entry[1] += count

    def _cell_type_oracles(self, dataset: Any, prefix: str) -> dict[str, float]:
        """Expected accuracy of an oracle that knows each sample's cell type and nothing else: SRM top-1 picks
        uniformly among the contrastive batch's samples of that cell type; NGSP says "next" exactly when segment
        B's sample shares A's cell type."""
        if dataset is None or "cell_type" not in getattr(dataset, "column_names", ()):
            return {}
        types = [str(c) for c in dataset["cell_type"]]
        size = self.args.per_device_eval_batch_size * max(self.accelerator.num_processes, 1)
        srm = srm_cell_type_oracle(types, size)
        result = {f"{prefix}_srm_cell_type_oracle": round(srm, 6)} if srm is not None else {}
        pool = self.sample_cell_types
        q = getattr(self.data_collator, "negative_probability", None)
        if pool and q is not None and len(pool) > 1:
            result[f"{prefix}_ngsp_cell_type_oracle"] = round(ngsp_cell_type_oracle(types, pool, q), 6)
        return result

    def prediction_step(self, model, inputs, prediction_loss_only: bool, ignore_keys=None):
        """Evaluation computes the loss and the metrics; pre-training has no per-example predictions to keep."""
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def _reduced_metrics(self, split: str, prefix: str) -> dict[str, float]:
        sums = self._metric_sums[split]
        if not sums:
            return {}
        names = [name for name in _METRICS if name in sums]
        local = torch.tensor([sums[n] for n in names], dtype=torch.float64, device=self.args.device)
        total = (
            self.accelerator.reduce(local, reduction="sum") if self.accelerator.num_processes > 1 else local
        )
        sums.clear()
        return {
            f"{prefix}{name}": round(float(s / c), 6)
            for name, (s, c) in zip(names, total.tolist(), strict=True)
            if c > 0
        }

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and not any(key.startswith("eval_") for key in logs):
            logs = {**logs, **self._reduced_metrics("train", "train_")}
        super().log(logs, start_time)

    def evaluation_loop(self, *args: Any, **kwargs: Any):
        """The Trainer's, with every pre-training metric and, beside them, the baselines: copy-aware and
        neighbour-copy MGM (the collator returns its guesses during evaluation) and cell-type oracles for SRM
        and NGSP (docs/pretraining.md)."""
        self._metric_sums["eval"].clear()
        collator = self.data_collator
        previous = getattr(collator, "return_baseline", None)
        if previous is not None:
            collator.return_baseline = True
        try:
            output = super().evaluation_loop(*args, **kwargs)
        finally:
            if previous is not None:
                collator.return_baseline = previous
        prefix = kwargs.get("metric_key_prefix", args[3] if len(args) > 3 else "eval")
        output.metrics.update(self._reduced_metrics("eval", f"{prefix}_"))
        dataset = args[0].dataset if args and hasattr(args[0], "dataset") else None
        output.metrics.update(self._cell_type_oracles(dataset, prefix))
        return output

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        super()._save(output_dir, state_dict)
        # transformers calls _save on every rank under DeepSpeed (non-writers return early): write on one only
        if self.corpus_info is not None and self.args.should_save:
            target = os.path.join(output_dir or self.args.output_dir, CORPUS_INFO_FILE)
            atomic_write(target, json.dumps(self.corpus_info, indent=1))


def _publish_directory(staged: str, final: str) -> None:
    """Rename a complete ``staged`` folder to ``final``, replacing the ``final`` of an earlier save of the same step
    (after resuming from an earlier checkpoint) without a moment where neither exists."""
    replace_directory(staged, final)


def resolve_resume_checkpoint(value: str | bool | None, output_dir: str) -> str | bool | None:
    """``--resume_from_checkpoint`` as given, with ``latest``/``true``/``auto`` meaning the newest complete
    checkpoint in ``output_dir`` (or a fresh start when there is none, so a restart loop can always pass it)."""
    if value is True or (isinstance(value, str) and value.lower() in ("latest", "true", "auto")):
        return get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
    return value


def corpus_info_from(corpus) -> dict:
    """What a checkpoint needs to know about the corpus it was trained on."""
    metadata = corpus.metadata
    skipped = list(metadata.get("skipped_cell_types") or ())
    return {
        "motif_names": corpus.motif_names,
        "motif_mean": corpus.motif_mean.tolist(),
        "motif_std": corpus.motif_std.tolist(),
        "motif_fingerprint": metadata["motifs"]["fingerprint"],
        "genome_fingerprint": metadata["genome"]["fingerprint"],
        # only the cell types that have samples (build-corpus skips those with too few regions)
        "cell_types": [c for c in metadata["accessibility"]["cell_types"] if c not in skipped],
        "skipped_cell_types": skipped,
        "config": metadata["config"],
    }


class MaskRateScheduleCallback(TrainerCallback):
    """The paper's schedule: mask ``initial_rate`` of k-mers, then ``final_rate`` for the last part of training.

    The switch happens at ``switch_fraction`` of ``max_steps`` (paper: 15 % for 100k steps, then 20 % for the
    last 20k of 120k, i.e. switch_fraction = 5/6).
    """

    def __init__(
        self, collator, initial_rate: float = 0.15, final_rate: float = 0.20, switch_fraction: float = 5 / 6
    ):
        if not 0.0 <= switch_fraction <= 1.0:
            raise ValueError("switch_fraction must be in [0, 1]")
        self.collator = collator
        self.initial_rate, self.final_rate, self.switch_fraction = initial_rate, final_rate, switch_fraction

    def rate_at(self, step: int, max_steps: int) -> float:
        switched = max_steps > 0 and step >= self.switch_fraction * max_steps
        return self.final_rate if switched else self.initial_rate

    def on_step_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs
    ) -> None:
        self.collator.mask_rate = self.rate_at(state.global_step, state.max_steps)

    on_train_begin = on_step_begin


class CollatorEpochCallback(TrainerCallback):
    """Tells the collator the epoch, so that its per-batch randomness differs between epochs."""

    def __init__(self, collator):
        self.collator = collator

    def on_epoch_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs
    ) -> None:
        self.collator.epoch = int(state.epoch or 0)
