"""DeepSpeed ZeRO-2 and ZeRO-3 on 2 CPU processes, through the real launch: `accelerate launch --config_file
run_scripts/configs/deepspeed_zero{2,3}.yaml run_scripts/run_pretraining.py`, started from a directory other than
the repository root (the YAMLs name their JSON relative to the root).

DeepSpeed picks its CPU accelerator when no GPU is present (it JIT-builds a small shared-memory communication op
the first time, which needs a C++ compiler). Skipped when deepspeed is not installed (`pip install
'genebert[deepspeed]'`; not part of the `dev` extra). Checks, for each stage:

* the first 20 losses equal a DDP run of the same script and arguments (tolerance below);
* SRM contrasts the global batch (8 = 2 processes x 4);
* the sharded checkpoint (one optimizer shard per rank) resumes to the same losses;
* the saved model loads into a plain `AutoModelForPreTraining` (the 0-dim logit_scale keeps its shape on disk).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import REPO_ROOT

pytest.importorskip("deepspeed")

STEPS, SAVE_AT, LOCAL_BATCH = 20, 10, 4
# DeepSpeed reduces gradients in its own buckets (and ZeRO-3 gathers parameters per layer), so float32 rounding can
# differ from DDP's; measured on this project's machine: identical to the printed precision. Bound: 1e-4 relative.
LOSS_RTOL = 1e-4


def _launch(
    tiny_corpus, out, cwd, *launch_args: str, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "accelerate.commands.launch", *launch_args,
        str(REPO_ROOT / "run_scripts" / "run_pretraining.py"),
        "--corpus_dir", str(tiny_corpus), "--output_dir", str(out), "--preset", "tiny",
        "--per_device_train_batch_size", str(LOCAL_BATCH), "--warmup_steps", "2", "--seed", "11",
        "--dataloader_num_workers", "0", "--max_steps", str(STEPS), "--logging_steps", "1",
        "--eval_strategy", "no", "--save_steps", str(SAVE_AT), "--validation_fraction", "0", *extra,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=cwd)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def _losses(out) -> dict[int, dict]:
    history = json.loads((out / "log_history.json").read_text())
    return {entry["step"]: entry for entry in history if "loss" in entry}


@pytest.fixture(scope="module")
def ddp_losses(tiny_corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    _launch(
        tiny_corpus,
        folder / "out",
        folder,
        "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no",
        extra=("--save_strategy", "no"),
    )  # fmt: skip
    return _losses(folder / "out")


@pytest.mark.slow
@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_zero_matches_ddp_and_resumes(stage, tiny_corpus, tmp_path, ddp_losses):
    config = str(REPO_ROOT / "run_scripts" / "configs" / f"deepspeed_zero{stage}.yaml")
    cwd = tmp_path / "elsewhere"  # not the repository root
    cwd.mkdir()
    out = tmp_path / "out"
    _launch(tiny_corpus, out, cwd, "--config_file", config, "--num_processes", "2")
    straight = _losses(out)
    assert sorted(straight) == list(range(1, STEPS + 1))
    torch.testing.assert_close(
        torch.tensor([straight[s]["loss"] for s in range(1, STEPS + 1)], dtype=torch.float64),
        torch.tensor([ddp_losses[s]["loss"] for s in range(1, STEPS + 1)], dtype=torch.float64),
        rtol=LOSS_RTOL,
        atol=0.0,
    )
    assert {entry["train_srm_contrastive_batch"] for entry in straight.values()} == {2 * LOCAL_BATCH}

    checkpoint = out / f"checkpoint-{SAVE_AT}"
    shards = list((checkpoint / f"global_step{SAVE_AT}").glob("*optim_states.pt"))
    assert len(shards) == 2  # ZeRO: one optimizer partition per rank

    from transformers import AutoModelForPreTraining

    model = AutoModelForPreTraining.from_pretrained(out)
    assert model.logit_scale.shape == ()

    shutil.rmtree(out / f"checkpoint-{STEPS}")  # as if killed after step 10's checkpoint
    (out / "log_history.json").unlink()
    _launch(
        tiny_corpus, out, cwd, "--config_file", config, "--num_processes", "2",
        extra=("--resume_from_checkpoint", str(checkpoint)),
    )  # fmt: skip
    resumed = _losses(out)  # steps 1-10 come from the checkpoint's trainer state, 11-20 are trained again
    assert sorted(resumed) == list(range(1, STEPS + 1))
    for step in range(SAVE_AT + 1, STEPS + 1):
        assert resumed[step]["loss"] == pytest.approx(straight[step]["loss"], rel=1e-6), step
