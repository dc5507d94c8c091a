"""Command-line parsing shared by the pre-training and fine-tuning scripts.

Both take three `HfArgumentParser` dataclasses, optionally from one YAML/JSON file, with a ``--preset`` that
changes defaults (an explicit flag always wins), and both must run as several CPU processes under torchrun or
accelerate.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import HfArgumentParser


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
    parser = HfArgumentParser(tuple(dataclass_types))
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        path = Path(argv[0]).resolve()
        values = json.loads(path.read_text()) if path.suffix == ".json" else _read_yaml(path)
        argv = values_to_argv(values)
    preset = peek_argument(argv, "--preset") or default_preset
    if preset not in presets:
        raise SystemExit(f"--preset must be one of {sorted(presets)}, got {preset!r}")
    parser.set_defaults(report_to="none", **presets[preset])
    if not _has_accelerator():
        # several processes: transformers sets up gloo DDP only when told to use the CPU; one process: the same
        # device either way, and `--bf16` (CPU autocast) is accepted only with use_cpu
        parser.set_defaults(use_cpu=True)
    resolve_deepspeed_config_file()  # read when TrainingArguments is built
    return parser.parse_args_into_dataclasses(args=argv)


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


def values_to_argv(values: Mapping[str, Any]) -> list[str]:
    """``{"max_steps": 10, "use_srm": False}`` -> ``["--max_steps", "10", "--use_srm", "false"]``."""
    argv: list[str] = []
    for key, value in values.items():
        if isinstance(value, bool):
            argv += [f"--{key}", str(value).lower()]
        elif isinstance(value, list):
            argv += [f"--{key}", *map(str, value)]
        elif value is not None:
            argv += [f"--{key}", str(value)]
    return argv


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
            raise SystemExit(f"--config_overrides takes key=value pairs, got {item!r}")
        try:
            overrides[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key.strip()] = raw
    return overrides
