"""A training run's identity, and what it may do with an output folder: resume only its own checkpoints, never
overwrite another run's, hold a lock while it writes, and have the disk space for every checkpoint it keeps.

A run's identity is a hash of its arguments (the three argument dataclasses), of its data (the corpus's
``metadata.json``, or the fine-tuning files) and of its seed, written to ``OUTPUT/genebert_run.json`` when the run
starts and copied into every checkpoint (`AtomicCheckpointTrainer`). Left out, because they cannot change the
weights a step produces: where and how often it logs, saves and evaluates, the output folder, progress bars,
reporting, data-loader workers, ``resume_from_checkpoint`` and ``overwrite_output_dir``, and ``max_steps`` /
``num_train_epochs`` so that a finished run can be extended (the learning-rate schedule and the mask-rate switch
then follow the new length from the resumed step on).
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import GeneBertError
from ..storage import OutputExistsError, atomic_write, output_lock, read_json, write_output_marker
from .trainer import CHECKPOINT_STAGING_DIR, RUN_FILE, resolve_resume_checkpoint

logger = logging.getLogger(__name__)

#: Arguments left out of a run's identity (see the module docstring); also any starting with these prefixes.
IDENTITY_EXCLUDED = frozenset(
    {
        "output_dir", "overwrite_output_dir", "resume_from_checkpoint", "report_to", "disable_tqdm", "run_name",
        "project", "push_to_hub", "log_level", "log_level_replica", "log_on_each_node", "skip_memory_metrics",
        "dataloader_num_workers", "dataloader_persistent_workers", "dataloader_prefetch_factor",
        "dataloader_pin_memory", "max_steps", "num_train_epochs", "eval_strategy", "eval_steps", "eval_delay",
        "eval_on_start", "verify_corpus_checksums", "local_rank", "do_train", "do_eval", "do_predict",
    }
)  # fmt: skip
IDENTITY_EXCLUDED_PREFIXES = ("logging_", "save_", "hub_", "trackio_", "_")


class RunMismatchError(GeneBertError, ValueError):
    """A checkpoint to resume that belongs to another run (other arguments, data or seed)."""


def _argument_values(arguments: Any) -> dict[str, Any]:
    values = arguments.to_dict() if hasattr(arguments, "to_dict") else dataclasses.asdict(arguments)
    return {
        key: value
        for key, value in values.items()
        if key not in IDENTITY_EXCLUDED and not key.startswith(IDENTITY_EXCLUDED_PREFIXES)
    }


def run_identity(tool: str, arguments: Iterable[Any], data: Mapping[str, str]) -> dict[str, Any]:
    """``{"tool", "run_id", "seed", "arguments", "data"}`` of a run: ``arguments`` are its argument dataclasses,
    ``data`` names and fingerprints of what it trains on (see :func:`file_fingerprint`)."""
    values: dict[str, Any] = {}
    for group in arguments:
        values.update(_argument_values(group))
    values = json.loads(json.dumps(values, sort_keys=True, default=str))  # what the JSON file will hold
    content = {"tool": tool, "arguments": values, "data": dict(data)}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return {"tool": tool, "run_id": digest[:16], "seed": values.get("seed"), **content}


def file_fingerprint(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (a corpus's ``metadata.json``, which records its tables' checksums, or a data file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_run(folder: str | os.PathLike) -> dict | None:
    """The identity recorded in ``folder`` (an output folder or a checkpoint), or None."""
    value = read_json(Path(folder) / RUN_FILE)
    return value if isinstance(value, dict) and "run_id" in value else None


def differences(recorded: Mapping[str, Any], current: Mapping[str, Any], limit: int = 6) -> str:
    """The arguments and data that differ between two identities, as ``name: recorded -> now``."""
    lines = []
    for group in ("arguments", "data"):
        old, new = recorded.get(group, {}), current.get(group, {})
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                lines.append(
                    f"{key}: {_short(old.get(key, '(absent)'))} -> {_short(new.get(key, '(absent)'))}"
                )
    if recorded.get("tool") != current.get("tool"):
        lines.insert(0, f"tool: {recorded.get('tool')} -> {current.get('tool')}")
    shown = "; ".join(lines[:limit]) + (f"; and {len(lines) - limit} more" if len(lines) > limit else "")
    return shown or "nothing recorded differs (another genebert version?)"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:16] + "..." + text[-8:]


def _checkpoints(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit())


def prepare_run_output(
    output_dir: str | os.PathLike,
    identity: dict[str, Any],
    resume: str | bool | None,
    *,
    overwrite: bool = False,
    main_process: bool = True,
) -> str | bool | None:
    """Check that this run may write ``output_dir`` and resume ``resume``; record the run; return the checkpoint
    to resume (``latest`` resolved, see `resolve_resume_checkpoint`).

    - Resuming (``latest`` finding a checkpoint, or a checkpoint path): the checkpoint's ``genebert_run.json``
      must be this run's. Otherwise `RunMismatchError` names the differing arguments (a checkpoint written before
      run identities existed is refused too, unless ``overwrite``).
    - Starting afresh: a folder holding another run's checkpoints or model, a run's files without an identity, or
      files that are not a run's, is refused with `OutputExistsError` unless ``overwrite``
      (``--overwrite_output_dir``); with it, the other run's ``checkpoint-*`` folders are removed (they would
      otherwise be rotated with, and resumed instead of, this run's), and nothing else is deleted.
    """
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(
            errno.ENOTDIR, f"--output_dir {out} is a file, not a folder; give another path"
        )
    resolved = resolve_resume_checkpoint(resume, str(out))
    if isinstance(resolved, str):
        theirs = read_run(resolved)
        if theirs is None and not overwrite:
            raise RunMismatchError(
                f"cannot resume {resolved}: it records no run identity ({RUN_FILE}), so it cannot be told apart "
                "from another run's checkpoint. Pass --overwrite_output_dir to resume it anyway, or start a new run "
                "from its weights with --model_name_or_path"
            )
        if theirs is not None and theirs["run_id"] != identity["run_id"]:
            raise RunMismatchError(
                f"cannot resume {resolved}: it belongs to another run ({differences(theirs, identity)}). Resume with "
                "the arguments that wrote it, or start a new run from its weights with --model_name_or_path (and "
                "another --output_dir)"
            )
    elif out.is_dir() and any(out.iterdir()):
        previous = read_run(out)
        checkpoints = _checkpoints(out)
        if previous is not None and previous["run_id"] != identity["run_id"]:
            holds = checkpoints or (out / "model.safetensors").exists()
            if holds and not overwrite:
                raise OutputExistsError(
                    errno.EEXIST,
                    f"--output_dir {out} holds another run's {'checkpoints' if checkpoints else 'model'} "
                    f"({differences(previous, identity)}). Choose another --output_dir, resume that run with its "
                    "own arguments, or pass --overwrite_output_dir to replace it",
                )
        elif previous is None and not overwrite:
            what = (
                "a run without a recorded identity" if checkpoints else "files that are not a training run's"
            )
            raise OutputExistsError(
                errno.EEXIST,
                f"--output_dir {out} holds {what} ({', '.join(sorted(p.name for p in out.iterdir())[:3])}...). "
                "Choose another --output_dir, or pass --overwrite_output_dir to write there anyway",
            )
        if overwrite and main_process and (previous is None or previous["run_id"] != identity["run_id"]):
            for checkpoint in [*checkpoints, out / CHECKPOINT_STAGING_DIR]:
                logger.warning("--overwrite_output_dir: removing %s of another run", checkpoint)
                shutil.rmtree(checkpoint, ignore_errors=True)
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / RUN_FILE, json.dumps(identity, indent=1, sort_keys=True) + "\n")
        write_output_marker(out, identity["tool"])
    return resolved


def holds_output_lock(what: str) -> Callable:
    """Decorate a training function ``f(model_args, data_args, training_args)``: the main process (global rank 0)
    holds `genebert.storage.output_lock` on ``training_args.output_dir`` while it runs, so a second run into the
    same folder fails at once naming the first one's PID."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(model_args: Any, data_args: Any, training_args: Any) -> Any:
            if int(os.environ.get("RANK", "0")) != 0:
                return function(model_args, data_args, training_args)
            with output_lock(training_args.output_dir, what=what):
                return function(model_args, data_args, training_args)

        return wrapper

    return decorate


def checkpoint_space_needed(model: Any, training_args: Any, steps: int | None = None) -> int:
    """Bytes of every checkpoint kept at once (weights + Adam's two moments each) plus the final model.

    At most ``save_total_limit`` checkpoints are kept, plus the new one written before old ones are rotated and,
    with ``load_best_model_at_end``, the best one. ``steps`` (default ``max_steps``) says how many saves there are.
    """
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    steps = steps if steps is not None else int(getattr(training_args, "max_steps", -1))
    strategy = str(getattr(training_args.save_strategy, "value", training_args.save_strategy))
    if strategy == "no":
        saves = 0
    elif strategy == "steps" and steps > 0:
        every = training_args.save_steps
        every = math.ceil(every * steps) if every < 1 else int(every)
        saves = math.ceil(steps / max(every, 1))
    else:
        saves = (training_args.save_total_limit or 3) + 1
    limit = training_args.save_total_limit
    if limit:
        saves = min(saves, limit + 1 + int(bool(training_args.load_best_model_at_end)))
    return saves * 3 * weights + weights
