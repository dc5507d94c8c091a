"""Pre-training: mask schedule, GeneBertTrainer metrics and checkpoints, resume, the run script, 2 processes."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import REPO_ROOT
from transformers import AutoModelForPreTraining, TrainerControl, TrainerState

from genebert.training import MaskRateScheduleCallback
from genebert.training.pretrain import main as run_pretraining

TINY = [
    "--preset",
    "tiny",
    "--per_device_train_batch_size",
    "4",
    "--per_device_eval_batch_size",
    "4",
    "--warmup_steps",
    "2",
    "--dataloader_num_workers",
    "0",
    "--seed",
    "11",
]


class _Collator:
    mask_rate = 0.0


def test_mask_rate_schedule_switches_for_the_last_sixth():
    collator = _Collator()
    callback = MaskRateScheduleCallback(collator)
    state = TrainerState(max_steps=120_000)
    for step, expected in ((0, 0.15), (99_999, 0.15), (100_000, 0.20), (119_999, 0.20)):
        state.global_step = step
        callback.on_step_begin(None, state, TrainerControl())
        assert collator.mask_rate == expected
    custom = MaskRateScheduleCallback(collator, 0.1, 0.3, switch_fraction=0.5)
    assert custom.rate_at(49, 100) == 0.1 and custom.rate_at(50, 100) == 0.3


def test_run_pretraining_tiny_end_to_end(tiny_corpus, tmp_path):
    out = tmp_path / "run"
    metrics = run_pretraining(
        [
            "--corpus_dir",
            str(tiny_corpus),
            "--output_dir",
            str(out),
            *TINY,
            "--max_steps",
            "6",
            "--logging_steps",
            "2",
            "--eval_steps",
            "3",
            "--save_steps",
            "3",
            "--dataloader_drop_last",
            "true",  # every logged batch is full, so the contrastive batch is exactly 4
        ]
    )
    assert metrics["world_size"] == 1 and metrics["contrastive_batch_size"] == 4
    split = json.loads((out / "heldout_split.json").read_text())  # the held-out genome blocks, with the run
    assert split["heldout_blocks"] and split["evaluation_samples"] > 0
    for key in (
        "eval_loss",
        "eval_loss_mgm",
        "eval_loss_ngsp",
        "eval_loss_srm",
        "eval_mgm_accuracy",
        "eval_ngsp_accuracy",
        "eval_srm_top1_seq2region",
        "eval_srm_top1_region2seq",
        # the baselines beside them
        "eval_mgm_copy_aware_accuracy",
        "eval_mgm_neighbour_copy_accuracy",
        "eval_srm_cell_type_oracle",
        "eval_ngsp_cell_type_oracle",
    ):
        assert key in metrics, key
    assert metrics["eval_mgm_copy_aware_accuracy"] >= metrics["eval_mgm_neighbour_copy_accuracy"]
    assert 0 < metrics["eval_srm_cell_type_oracle"] <= 1 and 0.5 <= metrics["eval_ngsp_cell_type_oracle"] <= 1
    logged = [entry for entry in json.loads((out / "log_history.json").read_text()) if "loss" in entry]
    assert (
        logged and {"train_loss_mgm", "train_mgm_accuracy", "train_srm_top1_seq2region"} <= logged[-1].keys()
    )
    assert logged[-1]["train_srm_contrastive_batch"] == 4
    checkpoint = out / "checkpoint-3"
    corpus_info = json.loads((checkpoint / "genebert_corpus.json").read_text())
    assert corpus_info["motif_names"][0].startswith("MA9000.1")
    assert (checkpoint / "model.safetensors").is_file()
    model = AutoModelForPreTraining.from_pretrained(out)
    assert model.config.motif_names == corpus_info["motif_names"]
    torch.testing.assert_close(model.region_encoder.motif_mean, torch.tensor(corpus_info["motif_mean"]))
    assert (out / "tokenizer_config.json").is_file()


def _final_loss(out) -> float:
    history = json.loads((out / "log_history.json").read_text())
    return [entry for entry in history if "loss" in entry and entry["step"] == 20][-1]["loss"]


def test_resume_continues_the_same_loss_trajectory(tiny_corpus, tmp_path):
    common = [
        "--corpus_dir",
        str(tiny_corpus),
        *TINY,
        "--max_steps",
        "20",
        "--logging_steps",
        "1",
        "--eval_strategy",
        "no",
        "--save_steps",
        "10",
        "--validation_fraction",
        "0",
    ]
    straight = tmp_path / "straight"
    run_pretraining([*common, "--output_dir", str(straight)])
    interrupted = tmp_path / "interrupted"
    run_pretraining([*common, "--output_dir", str(interrupted)])
    shutil.rmtree(interrupted / "checkpoint-20")  # as if killed after step 10's checkpoint
    (interrupted / "log_history.json").unlink()
    run_pretraining(
        [
            *common,
            "--output_dir",
            str(interrupted),
            "--resume_from_checkpoint",
            str(interrupted / "checkpoint-10"),
        ]
    )
    assert abs(_final_loss(straight) - _final_loss(interrupted)) <= 1e-5


def _interrupted_run(tiny_corpus, out):
    common = ["--corpus_dir", str(tiny_corpus), *TINY, "--max_steps", "20", "--eval_strategy", "no",
              "--save_steps", "10", "--validation_fraction", "0", "--output_dir", str(out)]  # fmt: skip
    run_pretraining(common)
    shutil.rmtree(out / "checkpoint-20")  # as if killed after step 10's checkpoint
    return common, _tree(out / "checkpoint-10")


def _tree(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_resume_onto_a_corpus_with_other_motifs_is_refused(tiny_corpus, tmp_path):
    from genebert.training.pretrain import MotifMismatchError

    out = tmp_path / "run"
    common, _ = _interrupted_run(tiny_corpus, out)
    config_file = out / "checkpoint-10" / "config.json"
    config = json.loads(config_file.read_text())
    config["motif_names"] = [name.replace("TF1", "TFX") for name in config["motif_names"]]
    config_file.write_text(json.dumps(config))  # the checkpoint was trained on other motif columns
    before = _tree(out / "checkpoint-10")
    with pytest.raises(MotifMismatchError, match=r"only in the model \['MA9001\.1 TFX'\]"):
        run_pretraining([*common, "--resume_from_checkpoint", "latest"])
    assert _tree(out / "checkpoint-10") == before and not (out / "checkpoint-20").exists()


def test_resume_into_another_architecture_fails_loudly(tiny_corpus, tmp_path):
    from safetensors.torch import load_file, save_file

    from genebert.modeling_genebert import GeneBertLoadingError
    from genebert.training.runs import RunMismatchError

    out = tmp_path / "run"
    common, before = _interrupted_run(tiny_corpus, out)
    # other arguments: the checkpoint belongs to another run (its genebert_run.json), refused before loading
    with pytest.raises(
        RunMismatchError, match=r'another run \(config_overrides: null -> "num_hidden_layers=1"\)'
    ):
        run_pretraining(
            [*common, "--config_overrides", "num_hidden_layers=1", "--resume_from_checkpoint", "latest"]
        )
    assert _tree(out / "checkpoint-10") == before and not (out / "checkpoint-20").exists()
    # this run's checkpoint with weights that no longer fit (a damaged file): the Trainer's loading fails loudly
    weights_file = out / "checkpoint-10" / "model.safetensors"
    weights = load_file(weights_file)
    del weights[next(key for key in sorted(weights) if ".layer.1." in key)]
    save_file(weights, weights_file, metadata={"format": "pt"})
    with pytest.raises(GeneBertLoadingError, match=r"does not fit the model being trained.*1 missing"):
        run_pretraining([*common, "--resume_from_checkpoint", "latest"])
    assert not (out / "checkpoint-20").exists()


def test_two_processes_contrast_the_global_batch(tiny_corpus, tmp_path):
    out = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        str(REPO_ROOT / "run_scripts" / "run_pretraining.py"),
        "--corpus_dir",
        str(tiny_corpus),
        "--output_dir",
        str(out),
        *TINY,
        "--max_steps",
        "3",
        "--logging_steps",
        "1",
        "--eval_strategy",
        "no",
        "--save_strategy",
        "no",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((out / "all_results.json").read_text())
    assert metrics["world_size"] == 2 and metrics["contrastive_batch_size"] == 8
    logged = [entry for entry in json.loads((out / "log_history.json").read_text()) if "loss" in entry]
    assert all(entry["train_srm_contrastive_batch"] == 8 for entry in logged)  # negatives from both processes


@pytest.mark.parametrize("file_type", ["json", "yaml"])
def test_arguments_from_a_file(tiny_corpus, tmp_path, file_type):
    values = {
        "corpus_dir": str(tiny_corpus),
        "output_dir": str(tmp_path / "f"),
        "preset": "tiny",
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "eval_strategy": "no",
        "save_strategy": "no",
        "use_ngsp": False,
        "logging_steps": 1,
    }
    path = tmp_path / f"args.{file_type}"
    if file_type == "json":
        path.write_text(json.dumps(values))
    else:
        import yaml

        path.write_text(yaml.safe_dump(values))
    metrics = run_pretraining([str(path)])
    assert metrics["world_size"] == 1
    logged = [
        entry
        for entry in json.loads((tmp_path / "f" / "log_history.json").read_text())
        if "train_loss_mgm" in entry
    ]
    assert logged and "train_loss_ngsp" not in logged[-1]  # the switched-off loss is absent


@pytest.mark.parametrize(
    "flags",
    [["--region_pairing", "permuted"], ["--srm_level", "region"]],
    ids=["permuted-control-arm", "region-level-srm"],
)
def test_srm_variants_train_evaluate_and_record_their_identity(tiny_corpus, tmp_path, flags):
    out = tmp_path / "run"
    metrics = run_pretraining(
        ["--corpus_dir", str(tiny_corpus), "--output_dir", str(out), *TINY, "--max_steps", "3",
         "--eval_strategy", "no", "--save_strategy", "no", *flags]
    )  # fmt: skip
    assert math.isfinite(metrics["eval_loss_srm"])
    identity = json.loads((out / "genebert_run.json").read_text())
    assert identity["arguments"][flags[0].lstrip("-")] == flags[1]
    config = json.loads((out / "config.json").read_text())
    assert config["srm_level"] == ("region" if flags[0] == "--srm_level" else "sample")


@pytest.mark.parametrize("flag", ["--region_pairing", "--srm_level"])
def test_unknown_srm_variant_is_one_line_naming_the_option(tiny_corpus, tmp_path, flag):
    from genebert.errors import UsageError

    with pytest.raises(UsageError, match=f"{flag} must be one of"):
        run_pretraining(
            ["--corpus_dir", str(tiny_corpus), "--output_dir", str(tmp_path / "x"), *TINY, flag, "shuffled"]
        )


def test_srm_warmup_trains_without_the_contrast_then_ramps_lambda_in(tiny_corpus, tmp_path):
    from genebert.errors import UsageError
    from genebert.training.trainer import GeneBertTrainer

    trainer = GeneBertTrainer.__new__(GeneBertTrainer)  # only the schedule, no model
    trainer.srm_warmup_steps = 4
    assert [trainer.srm_factor(step) for step in (0, 3, 4, 5, 6, 8, 100)] == [0, 0, 0, 0.25, 0.5, 1, 1]
    trainer.srm_warmup_steps = 0
    assert trainer.srm_factor(0) == 1.0

    out = tmp_path / "run"
    run_pretraining(
        ["--corpus_dir", str(tiny_corpus), "--output_dir", str(out), *TINY, "--max_steps", "3",
         "--logging_steps", "1", "--eval_strategy", "no", "--save_strategy", "no", "--srm_warmup_steps", "1"]
    )  # fmt: skip
    logged = [e for e in json.loads((out / "log_history.json").read_text()) if "train_loss_srm" in e]
    assert [e["step"] for e in logged] == [1, 2, 3]
    for entry, factor in zip(logged, (0.0, 0.0, 1.0), strict=True):
        expected = entry["train_loss_mgm"] + entry["train_loss_ngsp"] + factor * 0.5 * entry["train_loss_srm"]
        assert entry["loss"] == pytest.approx(expected, rel=1e-3, abs=1e-3)
    identity = json.loads((out / "genebert_run.json").read_text())
    assert identity["arguments"]["srm_warmup_steps"] == 1
    with pytest.raises(UsageError, match="--srm_warmup_steps must be >= 0"):
        run_pretraining(
            [
                "--corpus_dir",
                str(tiny_corpus),
                "--output_dir",
                str(tmp_path / "y"),
                *TINY,
                "--srm_warmup_steps",
                "-1",
            ]
        )
