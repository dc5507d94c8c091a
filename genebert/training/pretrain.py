"""Pre-train GeneBERT on a corpus built by ``genebert build-corpus`` (run_scripts/run_pretraining.py, ``genebert pretrain``).

Runs as it is on one CPU, and unchanged under ``torchrun --nproc_per_node N`` or ``accelerate launch`` (see
run_scripts/configs/README.md for DDP, DeepSpeed ZeRO-2/3 and FSDP)::

    python run_scripts/run_pretraining.py --corpus_dir outputs/demo/corpus --output_dir outputs/pretrain --preset tiny
    accelerate launch --config_file run_scripts/configs/multi_gpu.yaml run_scripts/run_pretraining.py \\
        --corpus_dir corpus --output_dir out
    python run_scripts/run_pretraining.py args.yaml     # the same arguments in a YAML or JSON file

Defaults reproduce the paper's recipe at full scale (section 4.1): BERT-base + swin_tiny, 120k steps, learning
rate 4e-4 with warm-up, a global batch of 2,000 (250 per device on 8 devices), lambda 0.5, 15 % of k-mers masked,
then 20 % for the last 20k steps. ``--preset tiny`` is a CPU-sized run of the same code.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import transformers
from transformers import TrainingArguments, set_seed

from genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from genebert.configuration_genebert import SRM_LEVELS
from genebert.data import REGION_PAIRINGS, DataCollatorForGenomeModeling, RegionStore, permuted_pairing
from genebert.errors import GeneBertError, UsageError
from genebert.genomics.corpus import BlockSplit, load_corpus, split_by_genome_blocks
from genebert.storage import atomic_write, ensure_writable_directory, write_json
from genebert.training import (
    CollatorEpochCallback,
    GeneBertTrainer,
    MaskRateScheduleCallback,
    corpus_info_from,
)
from genebert.training.arguments import (
    TRAINING_PRESETS,
    option,
    parse_config_overrides,
    parse_values,
    parse_with_presets,
)
from genebert.training.runs import (
    checkpoint_space_needed,
    file_fingerprint,
    holds_output_lock,
    prepare_run_output,
    run_identity,
)

logger = logging.getLogger("genebert.pretrain")


@dataclass
class ModelArguments:
    preset: str = option("base", "architecture preset: 'tiny' (CPU) or 'base' (the paper)")
    config_name: str | None = option(None, "a GeneBertConfig JSON file or directory")
    model_name_or_path: str | None = option(
        None, "continue from a GeneBERT checkpoint (local directory or Hub id)"
    )
    dnabert_checkpoint: str | None = option(
        None, "initialise the sequence tower from a DNABERT-style BertForMaskedLM checkpoint"
    )
    region_backbone: str | None = option(None, "timm model name of the region tower")
    region_input_mode: str | None = option(None, "'pad' or 'resize'")
    region_backbone_kwargs: str | None = option(
        None, 'timm kwargs of the region tower as a JSON object, e.g. \'{"embed_dim": 32, "depth": 2}\''
    )
    region_pretrained: str | None = option(
        None, "region tower weights: 'true' (timm Hub default), a Hub id or a local file"
    )
    use_mgm: bool = option(True, "masked genome modelling loss")
    use_ngsp: bool = option(True, "next genome-segment prediction loss")
    use_srm: bool = option(True, "sequence-region matching loss")
    srm_weight: float = option(0.5, "lambda: total = MGM + NGSP + lambda * SRM")
    srm_warmup_steps: int = option(
        0,
        "train with lambda 0 for this many steps, then raise it linearly to srm_weight over as many again "
        "(0: lambda from the start, the paper). Lets MGM learn to read k-mers before the contrast, whose larger "
        "gradients otherwise dominate the shared parameters' Adam statistics",
    )
    srm_level: str | None = option(
        None,
        "'sample' (the paper: [CLS] vs the region tower, default) or 'region' (each region's mean token state vs "
        "an MLP of its motif vector, contrasted across every region of the batch)",
    )
    attn_implementation: str = option("sdpa", "'sdpa' or 'eager'")
    config_overrides: str | None = option(
        None, "comma-separated config overrides, e.g. 'hidden_size=128,num_hidden_layers=4'"
    )


@dataclass
class DataArguments:
    corpus_dir: str = option(help="a corpus directory from `genebert build-corpus`")
    validation_fraction: float = option(
        0.02, "share of genome blocks held out: evaluation samples share no DNA with training samples"
    )
    heldout_block_bp: int | None = option(
        None, "genome block size of the held-out split (default: 1 Mb, smaller for small genomes)"
    )
    max_train_samples: int | None = option(None)
    max_eval_samples: int | None = option(None)
    mask_rate: float = option(0.15, "k-mer mask rate at the start")
    final_mask_rate: float = option(0.20, "k-mer mask rate for the last part of training")
    mask_switch_fraction: float = option(
        5 / 6, "fraction of max_steps after which final_mask_rate applies (paper: 100k/120k)"
    )
    mean_span_bp: float = option(1.0, "mean hidden-nucleotide span (1 = DNABERT)")
    negative_probability: float = option(0.5, "NGSP: chance of a segment B from elsewhere")
    region_pairing: str = option(
        "paired",
        "'paired' (each sample's own motif vectors) or 'permuted' (the SRM control arm: every sample shown another "
        "sample's region matrix under one seeded fixed permutation, within train and within held-out)",
    )
    verify_corpus_checksums: bool = option(
        False, "check the sha256 of every corpus table before training (a full read)"
    )


@dataclass
class GeneBertPretrainingArguments(TrainingArguments):
    output_dir: str = option("outputs/pretrain")
    max_steps: int = option(120_000)
    learning_rate: float = option(4e-4)
    warmup_steps: float = option(10_000)
    weight_decay: float = option(0.01)
    adam_beta2: float = option(0.98)
    adam_epsilon: float = option(1e-6)
    per_device_train_batch_size: int = option(250)
    per_device_eval_batch_size: int = option(250)
    logging_steps: float = option(100)
    save_steps: float = option(2_000)
    eval_strategy: str = option("steps")
    eval_steps: float | None = option(2_000)
    save_total_limit: int | None = option(3)
    remove_unused_columns: bool = option(False)
    prediction_loss_only: bool = option(True)
    save_safetensors: bool = option(True)
    overwrite_output_dir: bool = option(
        False, "train into an output_dir holding another run (its checkpoints are removed)"
    )


PRESETS = TRAINING_PRESETS["pretrain"]


ARGUMENT_TYPES = (ModelArguments, DataArguments, GeneBertPretrainingArguments)


def parse_arguments(argv: list[str]) -> tuple[ModelArguments, DataArguments, GeneBertPretrainingArguments]:
    """The three argument dataclasses from a command line (or the one YAML/JSON file it names)."""
    return parse_with_presets(ARGUMENT_TYPES, argv, PRESETS)


def arguments_from_values(
    values: dict[str, Any],
) -> tuple[ModelArguments, DataArguments, GeneBertPretrainingArguments]:
    """The three argument dataclasses from ``{field: value}`` (presets applied as on the command line)."""
    return parse_values(ARGUMENT_TYPES, values, PRESETS)


def build_config(model_args: ModelArguments, corpus) -> GeneBertConfig:
    corpus_config = corpus.metadata["config"]
    if model_args.config_name:
        config = GeneBertConfig.from_pretrained(model_args.config_name)
    else:
        config = GeneBertConfig.from_preset(model_args.preset)
    updates = {
        "kmer": corpus_config["kmer"],
        "num_regions": corpus_config["regions_per_sample"],
        "num_motifs": len(corpus.motif_names),
        "use_mgm": model_args.use_mgm,
        "use_ngsp": model_args.use_ngsp,
        "use_srm": model_args.use_srm,
        "srm_weight": model_args.srm_weight,
    }
    for name in ("region_backbone", "region_input_mode", "srm_level"):
        if getattr(model_args, name) is not None:
            updates[name] = getattr(model_args, name)
    if model_args.region_backbone_kwargs is not None:
        try:
            kwargs = json.loads(model_args.region_backbone_kwargs)
        except json.JSONDecodeError as error:
            raise UsageError(f"--region_backbone_kwargs must be a JSON object: {error}") from None
        if not isinstance(kwargs, dict):
            raise UsageError(f"--region_backbone_kwargs must be a JSON object, got {kwargs!r}")
        updates["region_backbone_kwargs"] = kwargs
    if model_args.region_pretrained is not None:
        value = model_args.region_pretrained
        updates["region_pretrained"] = (
            value.lower() == "true" if value.lower() in ("true", "false") else value
        )
    if model_args.srm_level is not None and model_args.srm_level not in SRM_LEVELS:
        raise UsageError(f"--srm_level must be one of {SRM_LEVELS}, got {model_args.srm_level!r}")
    updates.update(parse_config_overrides(model_args.config_overrides))
    values = {**config.to_dict(), **updates}
    for key in ("model_type", "transformers_version", "architectures", "auto_map", "vocab_size"):
        values.pop(key, None)
    config = GeneBertConfig(**values)
    config.motif_names = corpus.motif_names  # saved with every checkpoint: the region matrix's column order
    return config


class MotifMismatchError(GeneBertError, ValueError):
    """A model whose region tower was trained on other motif columns than the corpus provides."""


def check_motifs_match(config: GeneBertConfig, corpus, model_source: str = "the model") -> None:
    """Refuse a model whose motif columns (count, names, order) differ from the corpus's region matrices.

    Raises:
        MotifMismatchError: naming the counts, the motifs only one side has, or the first column that differs.
    """
    ours, theirs = getattr(config, "motif_names", None), list(corpus.motif_names)
    where = (
        f"{model_source} (num_motifs={config.num_motifs}) and the corpus {corpus.path} ({len(theirs)} motifs)"
    )
    if ours is not None:
        ours = list(ours)
        only_model = [name for name in ours if name not in set(theirs)]
        only_corpus = [name for name in theirs if name not in set(ours)]
        if only_model or only_corpus:
            raise MotifMismatchError(
                f"{where} use different motifs: {len(only_model)} only in the model {only_model[:5]}, "
                f"{len(only_corpus)} only in the corpus {only_corpus[:5]}"
            )
        if ours != theirs:
            column = next(i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b)
            raise MotifMismatchError(
                f"{where} order the same motifs differently: column {column} is {ours[column]!r} in the model "
                f"and {theirs[column]!r} in the corpus"
            )
    if config.num_motifs != len(theirs):
        raise MotifMismatchError(f"{where} differ in the number of motifs")


def block_split(corpus, data_args: DataArguments, seed: int) -> BlockSplit:
    """The seeded genome-block split of ``corpus``'s samples (see `split_by_genome_blocks`)."""
    regions = corpus.regions.data
    return split_by_genome_blocks(
        regions.column("chrom").to_pylist(),
        regions.column("start").to_numpy(),
        np.asarray(corpus.samples["region_ids"]),
        data_args.validation_fraction,
        data_args.heldout_block_bp,
        seed,
    )


def split_samples(corpus, data_args: DataArguments, seed: int, split: BlockSplit | None = None):
    """Training and held-out samples (``None`` when nothing is held out), split by genome blocks so that no
    region of a held-out sample occurs in a training sample (``split``: one already computed by
    :func:`block_split` with the same arguments)."""
    split = split if split is not None else block_split(corpus, data_args, seed)
    train_indices, eval_indices = split.train, split.evaluation
    if data_args.max_train_samples:
        train_indices = train_indices[: data_args.max_train_samples]
    if data_args.max_eval_samples:
        eval_indices = eval_indices[: data_args.max_eval_samples]
    train = corpus.samples.select(train_indices)
    evaluation = corpus.samples.select(eval_indices) if len(eval_indices) else None
    return train, evaluation


def build_model(model_args: ModelArguments, corpus) -> GeneBertForPreTraining:
    """The model a run starts from: a checkpoint (``model_name_or_path``), a DNABERT sequence tower, or fresh
    weights of ``build_config`` (seed them with `transformers.set_seed` first); the region tower gets the corpus's
    motif statistics unless it comes from a checkpoint."""
    if model_args.model_name_or_path:
        model = GeneBertForPreTraining.from_pretrained(
            model_args.model_name_or_path, attn_implementation=model_args.attn_implementation
        )
        check_motifs_match(model.config, corpus, model_args.model_name_or_path)
        return model
    config = build_config(model_args, corpus)
    config._attn_implementation = model_args.attn_implementation
    if model_args.dnabert_checkpoint:
        model, report = GeneBertForPreTraining.from_dnabert(
            model_args.dnabert_checkpoint, config=config, output_loading_info=True
        )
        logger.info("sequence tower from %s: %s", model_args.dnabert_checkpoint, report)
    else:
        model = GeneBertForPreTraining(config)
    if model.region_encoder is not None:
        model.region_encoder.set_motif_statistics(corpus.motif_mean, corpus.motif_std)
    return model


def make_collator(
    corpus, tokenizer: GeneBertTokenizer, data_args: DataArguments, seed: int, split: BlockSplit,
    config: GeneBertConfig,
) -> DataCollatorForGenomeModeling:  # fmt: skip
    """The pre-training collator of ``corpus`` (training and evaluation alike), with ``data_args``'s masking,
    NGSP negatives and region pairing (a permuted pairing is drawn within ``split``'s train and held-out samples,
    so no held-out motif vector is shown in training), and per-region token indices under region-level SRM."""
    if data_args.region_pairing not in REGION_PAIRINGS:
        raise UsageError(
            f"--region_pairing must be one of {REGION_PAIRINGS}, got {data_args.region_pairing!r}"
        )
    sample_ids = np.asarray(corpus.samples["region_ids"])
    pairing = None
    if data_args.region_pairing == "permuted":
        pairing = permuted_pairing(len(sample_ids), seed, [split.train, split.evaluation])
    return DataCollatorForGenomeModeling(
        tokenizer,
        RegionStore(corpus.regions),
        sample_ids,
        mask_rate=data_args.mask_rate,
        mean_span_bp=data_args.mean_span_bp,
        negative_probability=data_args.negative_probability,
        regions_per_segment=corpus.metadata["config"]["regions_per_sample"] // 2,
        seed=seed,
        region_pairing=pairing,
        return_region_token_index=config.use_srm and getattr(config, "srm_level", "sample") == "region",
    )


def save_initial_model(
    model_args: ModelArguments, data_args: DataArguments, training_args: GeneBertPretrainingArguments
) -> dict:
    """Save, untrained, the model a run with these arguments starts from (seeded with ``training_args.seed``), with
    the tokenizer, into ``training_args.output_dir``: the "random init" arm of a study, a model of exactly the
    pre-trained arms' configuration. Returns ``{"train_steps": 0}``."""
    set_seed(training_args.seed)
    corpus = load_corpus(data_args.corpus_dir)
    model = build_model(model_args, corpus)
    output = Path(training_args.output_dir)
    model.save_pretrained(output)
    GeneBertTokenizer(kmer=corpus.metadata["config"]["kmer"]).save_pretrained(output)
    return {"train_steps": 0}


def main(argv: list[str] | None = None) -> dict:
    """Entry point of ``run_scripts/run_pretraining.py`` and ``genebert pretrain``: parse, then
    :func:`run_pretraining`."""
    return run_pretraining(*parse_arguments(sys.argv[1:] if argv is None else argv))


@holds_output_lock("training output")
def run_pretraining(
    model_args: ModelArguments, data_args: DataArguments, training_args: GeneBertPretrainingArguments
) -> dict:
    """Pre-train on ``data_args.corpus_dir`` and save the model, tokenizer, ``all_results.json``,
    ``training_args.json`` and ``log_history.json`` in ``training_args.output_dir``; returns the metrics."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_warning()
    set_seed(training_args.seed)

    corpus = load_corpus(
        data_args.corpus_dir, verify="checksums" if data_args.verify_corpus_checksums else "sizes"
    )
    split = block_split(corpus, data_args, training_args.seed)
    train_dataset, eval_dataset = split_samples(corpus, data_args, training_args.seed, split)
    logger.info(
        "held out %d genome blocks of %d bp: %d training samples, %d held-out samples, %d straddling both dropped",
        len(split.blocks),
        split.block_bp,
        len(split.train),
        len(split.evaluation),
        len(split.dropped),
    )
    if eval_dataset is None and training_args.eval_strategy != "no":
        training_args.eval_strategy = "no"
    tokenizer = GeneBertTokenizer(kmer=corpus.metadata["config"]["kmer"])

    if data_args.region_pairing not in REGION_PAIRINGS:  # before any work
        raise UsageError(
            f"--region_pairing must be one of {REGION_PAIRINGS}, got {data_args.region_pairing!r}"
        )
    model = build_model(model_args, corpus)

    identity = run_identity(
        "pretrain",
        (model_args, data_args, training_args),
        {"corpus": file_fingerprint(Path(corpus.path) / "metadata.json")},
    )
    resume = prepare_run_output(
        training_args.output_dir,
        identity,
        training_args.resume_from_checkpoint,
        overwrite=training_args.overwrite_output_dir,
        main_process=training_args.should_save,
    )
    # the checkpoint's weights replace the model's: its motif columns must fit the corpus too
    if isinstance(resume, str):
        check_motifs_match(GeneBertConfig.from_pretrained(resume), corpus, resume)

    if training_args.should_save:  # every checkpoint kept at once (weights + Adam's moments), the final model
        ensure_writable_directory(
            training_args.output_dir,
            need_bytes=checkpoint_space_needed(model, training_args),
            what="training output",
        )
    collator = make_collator(corpus, tokenizer, data_args, training_args.seed, split, model.config)
    if data_args.region_pairing != "paired":
        logger.info(
            "region pairing %s: SRM sees other samples' region matrices (control arm)",
            data_args.region_pairing,
        )
    callbacks = [
        MaskRateScheduleCallback(
            collator, data_args.mask_rate, data_args.final_mask_rate, data_args.mask_switch_fraction
        ),
        CollatorEpochCallback(collator),
    ]
    trainer = GeneBertTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=callbacks,
        corpus_info=corpus_info_from(corpus),
        sample_cell_types=corpus.samples["cell_type"],  # for the cell-type oracles beside the eval metrics
        srm_warmup_steps=model_args.srm_warmup_steps if model_args.use_srm else 0,
    )
    world = training_args.world_size
    global_batch = (
        training_args.per_device_train_batch_size * world * training_args.gradient_accumulation_steps
    )
    contrastive = training_args.per_device_train_batch_size * world
    if trainer.is_world_process_zero():
        logger.info(
            "world size %d, global batch %d, contrastive batch %d (SRM negatives gathered across processes), "
            "train samples %d, eval samples %d, parameters %.1fM",
            world,
            global_batch,
            contrastive,
            len(train_dataset),
            len(eval_dataset or []),
            sum(p.numel() for p in model.parameters()) / 1e6,
        )
    result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model()
    metrics = dict(result.metrics)
    metrics.update(world_size=world, global_batch_size=global_batch, contrastive_batch_size=contrastive)
    if eval_dataset is not None:
        metrics.update(trainer.evaluate())
    if trainer.is_world_process_zero():
        output = Path(training_args.output_dir)
        tokenizer.save_pretrained(output)
        write_json(output / "all_results.json", metrics)
        # readable without unpickling (model cards read this file)
        atomic_write(output / "training_args.json", training_args.to_json_string())
        write_json(output / "log_history.json", trainer.state.log_history)
        write_json(output / "heldout_split.json", split.to_json())
        final_loss = next((e["loss"] for e in reversed(trainer.state.log_history) if "loss" in e), math.nan)
        logger.info("done: final train loss %.4f, model in %s", final_loss, output)
    return metrics
