"""The launch configurations parse; DeepSpeed configs reference files that exist and are valid JSON."""

from __future__ import annotations

import json

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

        # not BertEmbeddings: its word embeddings are tied to the MGM decoder (tests/test_fsdp_cpu.py)
        assert tuple(layers) == FSDP_LAYERS_TO_WRAP
        assert set(layers) <= set(GeneBertForPreTraining._no_split_modules)
        assert config.fsdp_config["fsdp_cpu_ram_efficient_loading"] is False  # see genebert.training.sharding
