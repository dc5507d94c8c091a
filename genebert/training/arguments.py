"""Arguments shared by the pre-training and fine-tuning scripts, from a command line or from Python values.

Both take three `HfArgumentParser` dataclasses, optionally from one YAML/JSON file, with a ``--preset`` that
changes defaults (an explicit flag always wins), and both must run as several CPU processes under torchrun or
accelerate. :func:`parse_values` builds the same dataclasses from a mapping (the studies call the training
functions this way, without a command line in between).
"""

from __future__ import annotations

import json
import os
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
        "base": {},
    },
    "finetune": {
        # A CPU model trained until dev AUC stops improving (early-stopping patience 5 evaluations, best dev
        # checkpoint kept), within a budget of 3,000 steps: minutes on 2 cores.
        "tiny": {
            "max_steps": 3000, "learning_rate": 5e-4, "warmup_steps": 0.05, "per_device_train_batch_size": 32,
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


def _check_preset(preset: str, presets: Mapping[str, Any]) -> None:
    if preset not in presets:
        raise UsageError(f"--preset must be one of {sorted(presets)}, got {preset!r}")


def _distributed_cpu() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


def parse_with_presets(
    dataclass_types: Sequence[type],
    argv: list[str],
    presets: Mapping[str, Mapping[str, Any]],
    default_preset: str = "base",
) -> tuple:
    """Parse ``argv`` (or the single YAML/JSON file it names) into ``dataclass_types``.

    The preset named by ``--preset`` sets defaults first. With several processes and no GPU
    (``WORLD_SIZE`` > 1), ``use_cpu`` defaults to True: transformers sets up gloo DDP only when told to use
    the CPU, otherwise each process would silently train alone.
    """
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        path = Path(argv[0]).resolve()
        values = json.loads(path.read_text()) if path.suffix == ".json" else _read_yaml(path)
        return parse_values(dataclass_types, values, presets, default_preset)
    parser = HfArgumentParser(tuple(dataclass_types))
    preset = peek_argument(argv, "--preset") or default_preset
    _check_preset(preset, presets)
    parser.set_defaults(report_to="none", **presets[preset])
    if _distributed_cpu():
        parser.set_defaults(use_cpu=True)
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
    if _distributed_cpu():
        merged.setdefault("use_cpu", True)
    return HfArgumentParser(tuple(dataclass_types)).parse_dict(merged)


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
