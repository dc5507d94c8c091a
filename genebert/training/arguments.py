"""Arguments shared by the pre-training and fine-tuning scripts, from a command line or from Python values.

Both take three `HfArgumentParser` dataclasses, optionally from one YAML/JSON file, with a ``--preset`` that
changes defaults (an explicit flag always wins), and both must run as several CPU processes under torchrun or
accelerate. :func:`parse_values` builds the same dataclasses from a mapping (the studies call the training
functions this way, without a command line in between).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import HfArgumentParser

from ..errors import UsageError

#: The scripts' training defaults per preset (the architectures are `genebert.configuration_genebert.PRESETS`).
TRAINING_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "pretrain": {
        # A CPU run of the same code: a few minutes on 2 cores for the demo corpus.
        "tiny": {
            "max_steps": 200, "learning_rate": 1e-3, "warmup_steps": 10, "per_device_train_batch_size": 16,
            "per_device_eval_batch_size": 16, "logging_steps": 10, "save_steps": 100, "eval_steps": 50,
            "validation_fraction": 0.1, "dataloader_num_workers": 0,
        },
        # The paper's GPU recipe. Collation runs in 4 DataLoader worker processes per GPU, kept across epochs, into
        # pinned memory: the pipeline gives ~3,300 samples per CPU-second at 512 tokens x 579 motifs and an A100
        # or H100 consumes ~400-1,400 samples/s of the base model (benchmarks/bench_input_pipeline.py,
        # docs/scaling.md).
        "base": {
            "dataloader_num_workers": 4, "dataloader_persistent_workers": True, "dataloader_pin_memory": True,
            "dataloader_prefetch_factor": 4,
        },
    },
    "finetune": {
        # A CPU model trained until dev AUC stops improving (early-stopping patience 5 evaluations, best dev
        # checkpoint kept), within a budget of 5,000 steps: minutes on 2 cores. 3,000 stopped GUE prom_core_all
        # and tf0 with dev AUC still rising (docs/results.md, "The defaults for a plain CSV").
        "tiny": {
            "max_steps": 5000, "learning_rate": 5e-4, "warmup_steps": 0.05, "per_device_train_batch_size": 32,
            "per_device_eval_batch_size": 128, "logging_steps": 50, "eval_steps": 200, "save_steps": 200,
            "dataloader_num_workers": 0,
        },
        # A larger CPU model for the downstream tables (see docs/results.md).
        "small": {
            "max_steps": 5000, "learning_rate": 5e-4, "warmup_steps": 0.05, "per_device_train_batch_size": 32,
            "per_device_eval_batch_size": 128, "logging_steps": 50, "eval_steps": 200, "save_steps": 200,
            "dataloader_num_workers": 0,
        },
        "base": {},
    },
}  # fmt: skip


def option(default: Any = dataclasses.MISSING, help: str | None = None) -> Any:
    """A field of the scripts' argument dataclasses: its default (none: a required option) and its ``--help`` text."""
    return dataclasses.field(default=default, metadata={} if help is None else {"help": help})


def _check_preset(preset: str, presets: Mapping[str, Any]) -> None:
    if preset not in presets:
        raise UsageError(f"--preset must be one of {sorted(presets)}, got {preset!r}")


def parse_with_presets(
    dataclass_types: Sequence[type],
    argv: list[str],
    presets: Mapping[str, Mapping[str, Any]],
    default_preset: str = "base",
) -> tuple:
    """Parse ``argv`` (or the single YAML/JSON file it names) into ``dataclass_types``.

    The preset named by ``--preset`` sets defaults first. Without a GPU (or other torch accelerator),
    ``use_cpu`` defaults to True: with several processes transformers sets up gloo DDP only when told to use
    the CPU (otherwise each process would silently train alone), and ``--bf16`` (CPU autocast) needs it.
    """
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        path = Path(argv[0]).resolve()
        values = json.loads(path.read_text()) if path.suffix == ".json" else _read_yaml(path)
        return parse_values(dataclass_types, values, presets, default_preset)
    parser = HfArgumentParser(tuple(dataclass_types))
    preset = peek_argument(argv, "--preset") or default_preset
    _check_preset(preset, presets)
    parser.set_defaults(report_to="none", **presets[preset])
    if not _has_accelerator():
        # several processes: transformers sets up gloo DDP only when told to use the CPU; one process: the same
        # device either way, and `--bf16` (CPU autocast) is accepted only with use_cpu
        parser.set_defaults(use_cpu=True)
    resolve_deepspeed_config_file()  # read when TrainingArguments is built
    return parser.parse_args_into_dataclasses(args=argv)


def parse_values(
    dataclass_types: Sequence[type],
    values: Mapping[str, Any],
    presets: Mapping[str, Mapping[str, Any]],
    default_preset: str = "base",
) -> tuple:
    """The dataclasses of ``values`` (field name -> value), with the same preset and CPU defaults as
    :func:`parse_with_presets`; a value in ``values`` always wins over a preset's."""
    preset = values.get("preset") or default_preset
    _check_preset(preset, presets)
    merged = {"report_to": "none", **presets[preset], **values}
    if not _has_accelerator():  # as in parse_with_presets
        merged.setdefault("use_cpu", True)
    return HfArgumentParser(tuple(dataclass_types)).parse_dict(merged)


def _has_accelerator() -> bool:
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and hasattr(accelerator, "is_available"):
        return bool(accelerator.is_available())
    return torch.cuda.is_available()


def resolve_deepspeed_config_file(environ: dict | None = None) -> str | None:
    """Make the DeepSpeed JSON named by a launch YAML findable from any working directory.

    `accelerate launch` hands the YAML's ``deepspeed_config_file`` to the script as written
    (``ACCELERATE_DEEPSPEED_CONFIG_FILE``), and DeepSpeed reads it relative to the working directory, so
    ``run_scripts/configs/ds_zero2.json`` worked only from the repository root (``ValueError: Expected a string
    path to an existing deepspeed config, or a dictionary, or a base64 encoded string. Received:
    run_scripts/configs/ds_zero2.json``). A relative path that does not exist from the working directory is
    looked up from the directories above the launched script and above this package; the variable is set to the
    absolute path found. Returns the (possibly updated) value.
    """
    environ = os.environ if environ is None else environ
    value = environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE")
    if not value or value == "none" or os.path.isabs(value) or os.path.exists(value):
        return value
    starts = [Path(__file__).resolve().parent]
    if sys.argv and sys.argv[0]:
        starts.insert(0, Path(sys.argv[0]).resolve().parent)
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / value
            if candidate.is_file():
                environ["ACCELERATE_DEEPSPEED_CONFIG_FILE"] = str(candidate)
                return str(candidate)
    return value


def _read_yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def peek_argument(argv: Sequence[str], flag: str) -> str | None:
    """The value of ``flag`` in ``argv`` (``--flag value`` or ``--flag=value``), before full parsing."""
    for index, item in enumerate(argv):
        if item == flag and index + 1 < len(argv):
            return argv[index + 1]
        if item.startswith(flag + "="):
            return item.split("=", 1)[1]
    return None


def parse_config_overrides(text: str | None) -> dict[str, Any]:
    """``"hidden_size=128,region_input_mode=resize"`` -> ``{"hidden_size": 128, "region_input_mode": "resize"}``."""
    overrides: dict[str, Any] = {}
    for item in filter(None, (text or "").split(",")):
        key, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"--config_overrides takes key=value pairs, got {item!r}")
        try:
            overrides[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key.strip()] = raw
    return overrides
