"""FSDP2 on 2 CPU processes (gloo), prepared exactly as `accelerate launch --config_file fsdp.yaml` prepares it.

accelerate runs FSDP only on GPUs (on CPU processes the same launch silently gives DDP), so the Trainer cannot
take this path here. The test therefore builds accelerate's FSDP plugin from the environment that
`accelerate launch` derives from run_scripts/configs/fsdp.yaml, shards GeneBertForPreTraining with accelerate's
own `fsdp2_prepare_model` (after GeneBERT's `prepare_for_fsdp2`, as GeneBertTrainer does),
trains on real collated batches, and saves and loads sharded (DCP) checkpoints with accelerate's
`save_fsdp_model` / `save_fsdp_optimizer`, as the Trainer does for `SHARDED_STATE_DICT`. It checks:

* the first 20 losses equal those of DDP on the same batches (tolerance below);
* SRM contrasts the global batch (negatives gathered from both ranks) under FSDP;
* a sharded checkpoint saved at step 10 and loaded into freshly initialised processes continues identically.
"""

from __future__ import annotations

import json
import os
import socket
import types
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import REPO_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORLD_SIZE = 2
LOCAL_BATCH = 4
STEPS = 20
SAVE_AT = 10
LR = 1e-3
# Losses of FSDP vs DDP: the same arithmetic, but gradients are averaged by a reduce-scatter of flat shards
# instead of an all-reduce of buckets, so float32 rounding may differ and Adam carries it forward. Measured on
# this project's machine (torch 2.14.1, gloo): the 20 losses are bit-identical. The bound leaves room for
# other CPUs, BLAS builds and torch versions.
LOSS_RTOL = 1e-4
FSDP_YAML = REPO_ROOT / "run_scripts" / "configs" / "fsdp.yaml"


def _fsdp_environment() -> dict[str, str]:
    """The environment variables `accelerate launch --config_file fsdp.yaml` gives the training script."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    args = launch_command_parser().parse_args(
        ["--config_file", str(FSDP_YAML), "--num_processes", "2", "--mixed_precision", "no", "train.py"]
    )
    args, _, _ = _validate_launch_command(args)
    env = prepare_multi_gpu_env(args)
    return {k: v for k, v in env.items() if k.startswith(("FSDP_", "ACCELERATE_USE_FSDP"))}


def _config(corpus_info: dict):
    from genebert import GeneBertConfig

    return GeneBertConfig.tiny(
        kmer=corpus_info["kmer"],
        num_motifs=corpus_info["num_motifs"],
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )


def _model(corpus_info: dict, seed: int):
    from genebert import GeneBertForPreTraining

    torch.manual_seed(seed)
    return GeneBertForPreTraining(_config(corpus_info)).train()


def _stub_accelerator(rank: int, plugin):
    """What accelerate's FSDP2 helpers read from an Accelerator (one CPU device mesh over the 2 ranks)."""
    from torch.distributed.device_mesh import init_device_mesh

    mesh = init_device_mesh("cpu", (WORLD_SIZE,), mesh_dim_names=("dp_shard",))
    return types.SimpleNamespace(
        state=types.SimpleNamespace(fsdp_plugin=plugin),
        torch_device_mesh=mesh,
        parallelism_config=types.SimpleNamespace(fsdp_dim_names=("dp_shard",)),
        mixed_precision="no",
        device=torch.device("cpu"),
        is_main_process=rank == 0,
        process_index=rank,
        num_processes=WORLD_SIZE,
        wait_for_everyone=dist.barrier,
    )


def _fsdp_model(
    rank: int, corpus_info: dict, seed: int, environment: dict[str, str], mixed_precision: str = "no"
):
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.fsdp_utils import fsdp2_prepare_model

    from genebert.training.sharding import prepare_for_fsdp2

    os.environ.update(environment)
    plugin = FullyShardedDataParallelPlugin()  # reads the FSDP_* variables, as in a launched script
    assert plugin.fsdp_version == 2
    if mixed_precision != "no":
        plugin.set_mixed_precision(mixed_precision)  # what AcceleratorState does
    model = _model(corpus_info, seed)
    accelerator = _stub_accelerator(rank, plugin)
    accelerator.mixed_precision = mixed_precision
    assert prepare_for_fsdp2(model, plugin) == ["cls.predictions.bias", "logit_scale"]
    model = fsdp2_prepare_model(accelerator, model)
    return model, plugin, accelerator


def _step(model, optimizer, batch: dict[str, torch.Tensor]) -> dict[str, float]:
    optimizer.zero_grad(set_to_none=True)
    out = model(**batch)
    out.loss.backward()
    optimizer.step()
    mean_loss = out.loss.detach().clone()
    dist.all_reduce(mean_loss)
    return {"loss": float(mean_loss) / WORLD_SIZE, "srm_width": int(out.logits_per_sequence.shape[1])}


def _local(batch: dict[str, torch.Tensor], rank: int) -> dict[str, torch.Tensor]:
    return {k: v[rank * LOCAL_BATCH : (rank + 1) * LOCAL_BATCH] for k, v in batch.items()}


def _init(rank: int, port: int) -> None:
    import logging

    from accelerate.utils import fsdp_utils

    # accelerate's logger insists on an Accelerator; these processes have only the process group
    fsdp_utils.logger = logging.getLogger("accelerate.utils.fsdp_utils")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE)


def _train_worker(rank: int, port: int, folder: str, environment: dict[str, str]) -> None:
    from accelerate.utils.fsdp_utils import save_fsdp_model, save_fsdp_optimizer
    from torch.nn.parallel import DistributedDataParallel

    _init(rank, port)
    try:
        data = torch.load(Path(folder) / "batches.pt")
        info, batches = data["info"], data["batches"]
        results: dict[str, list] = {"ddp": [], "fsdp": []}

        ddp = DistributedDataParallel(_model(info, seed=0))
        optimizer = torch.optim.AdamW(ddp.parameters(), lr=LR)
        for batch in batches:
            results["ddp"].append(_step(ddp, optimizer, _local(batch, rank)))

        model, plugin, accelerator = _fsdp_model(rank, info, 0, environment)
        optimizer = torch.optim.AdamW(model.parameters(), lr=LR)
        for step, batch in enumerate(batches, start=1):
            results["fsdp"].append(_step(model, optimizer, _local(batch, rank)))
            if step == SAVE_AT:
                checkpoint = Path(folder) / f"checkpoint-{step}"
                save_fsdp_model(plugin, accelerator, model, str(checkpoint))
                save_fsdp_optimizer(plugin, accelerator, optimizer, model, str(checkpoint))
        # bf16 as fsdp.yaml runs it: accelerate sets FSDP2's MixedPrecisionPolicy and wraps forward in autocast
        bf16_model, bf16_plugin, _ = _fsdp_model(rank, info, 0, environment, mixed_precision="bf16")
        bf16_optimizer = torch.optim.AdamW(bf16_model.parameters(), lr=LR)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            results["fsdp_bf16"] = [_step(bf16_model, bf16_optimizer, _local(b, rank)) for b in batches[:3]]
        results["bf16_policy"] = str(bf16_plugin.mixed_precision_policy)
        results["sharded_logit_scale"] = type(model.logit_scale).__name__
        results["sharded_word_embeddings"] = type(model.bert.embeddings.word_embeddings.weight).__name__
        results["tied"] = model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
        if rank == 0:
            (Path(folder) / "train.json").write_text(json.dumps(results))
        dist.barrier()  # both ranks done with every collective before gloo tears down (its threads abort otherwise)
    finally:
        dist.destroy_process_group()


def _resume_worker(rank: int, port: int, folder: str, environment: dict[str, str]) -> None:
    from accelerate.utils.fsdp_utils import load_fsdp_model, load_fsdp_optimizer

    _init(rank, port)
    try:
        data = torch.load(Path(folder) / "batches.pt")
        info, batches = data["info"], data["batches"]
        model, plugin, accelerator = _fsdp_model(rank, info, 123, environment)  # other initial weights
        optimizer = torch.optim.AdamW(model.parameters(), lr=LR)
        checkpoint = Path(folder) / f"checkpoint-{SAVE_AT}"
        load_fsdp_model(plugin, accelerator, model, str(checkpoint))
        load_fsdp_optimizer(plugin, accelerator, optimizer, model, str(checkpoint))
        resumed = [_step(model, optimizer, _local(batch, rank)) for batch in batches[SAVE_AT:]]
        if rank == 0:
            (Path(folder) / "resume.json").write_text(json.dumps(resumed))
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_batches(corpus_dir: Path, folder: Path) -> None:
    """20 global batches of 8 real collated samples (4 per rank), the same for every run."""
    import numpy as np

    from genebert import GeneBertTokenizer
    from genebert.data import DataCollatorForGenomeModeling
    from genebert.genomics.corpus import load_corpus

    corpus = load_corpus(corpus_dir)
    kmer = corpus.metadata["config"]["kmer"]
    collator = DataCollatorForGenomeModeling(
        GeneBertTokenizer(kmer=kmer), corpus.regions, np.asarray(corpus.samples["region_ids"]), seed=3
    )
    n_samples, global_batch = len(corpus.samples), WORLD_SIZE * LOCAL_BATCH
    batches = []
    for step in range(STEPS):
        collator.epoch = step
        rows = [corpus.samples[(step * global_batch + i) % n_samples] for i in range(global_batch)]
        batches.append(collator(rows))
    info = {"kmer": kmer, "num_motifs": len(corpus.motif_names)}
    torch.save({"info": info, "batches": batches}, folder / "batches.pt")


@pytest.mark.slow
def test_fsdp2_matches_ddp_gathers_srm_negatives_and_resumes_identically(tiny_corpus, tmp_path):
    environment = _fsdp_environment()
    assert environment["FSDP_VERSION"] == "2" and environment["FSDP_STATE_DICT_TYPE"] == "SHARDED_STATE_DICT"
    _write_batches(tiny_corpus, tmp_path)
    mp.spawn(_train_worker, args=(_free_port(), str(tmp_path), environment), nprocs=WORLD_SIZE, join=True)
    results = json.loads((tmp_path / "train.json").read_text())

    # FSDP really sharded the model: parameters are DTensors, the tied pair stayed tied, logit_scale replicated
    assert results["sharded_word_embeddings"] == "DTensor" and results["tied"]
    assert results["sharded_logit_scale"] == "Parameter"

    ddp = torch.tensor([r["loss"] for r in results["ddp"]], dtype=torch.float64)
    fsdp = torch.tensor([r["loss"] for r in results["fsdp"]], dtype=torch.float64)
    assert len(fsdp) == STEPS and bool(torch.isfinite(fsdp).all())
    assert fsdp[-5:].mean() < fsdp[:5].mean()  # it trains
    torch.testing.assert_close(fsdp, ddp, rtol=LOSS_RTOL, atol=0.0)

    # bf16 (fsdp.yaml's mixed precision): bf16 parameters in compute, fp32 shards; the first loss within 2 %
    assert "bfloat16" in results["bf16_policy"]
    bf16 = [r["loss"] for r in results["fsdp_bf16"]]
    assert all(torch.isfinite(torch.tensor(bf16))) and bf16[0] == pytest.approx(float(fsdp[0]), rel=2e-2)

    # each rank scores its 4 sequences against all 8 region matrices, under DDP and FSDP alike
    assert {r["srm_width"] for r in results["fsdp"] + results["ddp"]} == {WORLD_SIZE * LOCAL_BATCH}

    # the sharded checkpoint: one DCP shard file per rank for the model and for the optimizer
    checkpoint = tmp_path / f"checkpoint-{SAVE_AT}"
    for part in ("pytorch_model_fsdp_0", "optimizer_0"):
        assert len(list((checkpoint / part).glob("*.distcp"))) == WORLD_SIZE, part

    mp.spawn(_resume_worker, args=(_free_port(), str(tmp_path), environment), nprocs=WORLD_SIZE, join=True)
    resumed = [r["loss"] for r in json.loads((tmp_path / "resume.json").read_text())]
    straight = [r["loss"] for r in results["fsdp"][SAVE_AT:]]
    assert resumed == straight  # bit-identical continuation
