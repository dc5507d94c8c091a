"""The launch configurations parse; DeepSpeed configs reference files that exist and are valid JSON."""

from __future__ import annotations

import json
import sys

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from conftest import REPO_ROOT

CONFIGS = sorted((REPO_ROOT / "run_scripts" / "configs").glob("*.yaml"))


def test_every_documented_config_exists():
    readme = (REPO_ROOT / "run_scripts" / "configs" / "README.md").read_text()
    assert {path.name for path in CONFIGS} == {
        "cpu.yaml",
        "cpu_2proc.yaml",
        "single_gpu.yaml",
        "multi_gpu.yaml",
        "deepspeed_zero2.yaml",
        "deepspeed_zero3.yaml",
        "fsdp.yaml",
    }
    for path in CONFIGS:
        assert f"`{path.name}`" in readme


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_loads(path):
    config = load_config_from_file(str(path))
    assert config.num_processes >= 1
    if config.distributed_type.value == "DEEPSPEED":
        ds_file = REPO_ROOT / config.deepspeed_config["deepspeed_config_file"]
        ds = json.loads(ds_file.read_text())
        assert ds["zero_optimization"]["stage"] in (2, 3)
        assert ds_file.stem.endswith(str(ds["zero_optimization"]["stage"]))
    if config.distributed_type.value == "FSDP":
        layers = config.fsdp_config["fsdp_transformer_layer_cls_to_wrap"].split(",")
        from genebert import GeneBertForPreTraining
        from genebert.training.sharding import FSDP_LAYERS_TO_WRAP

        # not BertEmbeddings: its word embeddings are tied to the MGM decoder (tests/training/test_fsdp_cpu.py)
        assert tuple(layers) == FSDP_LAYERS_TO_WRAP
        assert set(layers) <= set(GeneBertForPreTraining._no_split_modules)
        assert config.fsdp_config["fsdp_cpu_ram_efficient_loading"] is False  # see genebert.training.sharding


@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_json_is_found_from_any_working_directory(stage, tmp_path, monkeypatch):
    """accelerate hands the YAML's relative deepspeed_config_file to the script as written; the run scripts resolve
    it from above the script or the package (without that: "Expected a string path to an existing deepspeed
    config ... Received: run_scripts/configs/ds_zero2.json")."""
    from genebert.training.arguments import resolve_deepspeed_config_file

    config = load_config_from_file(str(REPO_ROOT / "run_scripts" / "configs" / f"deepspeed_zero{stage}.yaml"))
    relative = config.deepspeed_config["deepspeed_config_file"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(REPO_ROOT / "run_scripts" / "run_pretraining.py")])  # as launched
    environ = {"ACCELERATE_DEEPSPEED_CONFIG_FILE": relative}
    assert resolve_deepspeed_config_file(environ) == str(REPO_ROOT / relative)
    assert environ["ACCELERATE_DEEPSPEED_CONFIG_FILE"] == str(REPO_ROOT / relative)
    # the Trainer's optimizer and schedule, as under DDP and FSDP: the JSON defines neither
    ds = json.loads((REPO_ROOT / relative).read_text())
    assert "optimizer" not in ds and "scheduler" not in ds


def test_base_preset_feeds_the_gpu_from_persistent_workers():
    from genebert.training.pretrain import parse_arguments

    _, _, base = parse_arguments(["--corpus_dir", "c"])
    assert base.dataloader_num_workers == 4 and base.dataloader_persistent_workers
    assert base.dataloader_prefetch_factor == 4
    _, _, tiny = parse_arguments(["--corpus_dir", "c", "--preset", "tiny"])
    assert tiny.dataloader_num_workers == 0
