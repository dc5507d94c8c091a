"""SRM across processes: with 2 gloo processes, the gathered InfoNCE equals the single-process loss on the
concatenated batch, and so do its gradients (after DDP's averaging over ranks)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from genebert import GeneBertConfig, GeneBertForPreTraining

WORLD_SIZE = 2
GLOBAL_BATCH = 6
SPLITS = {"equal": [3, 3], "unequal": [2, 4]}  # rows of the global batch held by rank 0 and rank 1


def _config() -> GeneBertConfig:
    # SRM only, no dropout: the comparison is exact up to float rounding.
    return GeneBertConfig.tiny(
        use_mgm=False, use_ngsp=False, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )


def _model() -> GeneBertForPreTraining:
    torch.manual_seed(0)
    return GeneBertForPreTraining(_config()).train()


def _global_batch() -> dict[str, torch.Tensor]:
    config = _config()
    gen = torch.Generator().manual_seed(11)
    input_ids = torch.randint(5, config.vocab_size, (GLOBAL_BATCH, 24), generator=gen)
    input_ids[:, 0] = 2
    return {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "region_matrix": torch.rand(GLOBAL_BATCH, config.num_regions, config.num_motifs, generator=gen),
    }


def _grads(model: GeneBertForPreTraining) -> dict[str, torch.Tensor]:
    names = (
        "logit_scale",
        "sequence_projection.weight",
        "region_projection.weight",
        "bert.embeddings.word_embeddings.weight",
        "region_encoder.backbone.patch_embed.proj.weight",
    )
    params = dict(model.named_parameters())
    return {name: params[name].grad.detach().clone() for name in names}


def _worker(rank: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE)
    try:
        batch = _global_batch()
        results = {}
        for split_name, sizes in SPLITS.items():
            start = sum(sizes[:rank])
            local = {k: v[start : start + sizes[rank]] for k, v in batch.items()}
            model = _model()
            out = model(**local)
            out.loss.backward()
            grads = _grads(model)
            for grad in grads.values():  # what DDP does: average the gradients over ranks
                dist.all_reduce(grad)
                grad /= WORLD_SIZE
            results[split_name] = {
                "srm_loss": out.srm_loss.detach(),
                "logits_per_sequence": out.logits_per_sequence.detach(),
                "logits_per_region": out.logits_per_region.detach(),
                "grads": grads,
            }
        torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_gathered_srm_equals_single_process_loss_and_gradients(tmp_path):
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD_SIZE, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD_SIZE)]

    model = _model()
    out = model(**_global_batch())
    out.loss.backward()
    expected_grads = _grads(model)

    for split_name, sizes in SPLITS.items():
        per_rank = [r[split_name] for r in ranks]
        # Each rank scores its rows against the whole global batch ...
        torch.testing.assert_close(
            torch.cat([r["logits_per_sequence"] for r in per_rank]), out.logits_per_sequence.detach()
        )
        torch.testing.assert_close(
            torch.cat([r["logits_per_region"] for r in per_rank]), out.logits_per_sequence.detach().t()
        )
        # ... so the size-weighted mean of the rank losses is the global loss (the plain mean when sizes are equal).
        weighted = sum(r["srm_loss"] * n for r, n in zip(per_rank, sizes, strict=True)) / GLOBAL_BATCH
        torch.testing.assert_close(weighted, out.srm_loss.detach())
        if split_name == "equal":
            # DDP-averaged gradients equal the single-process gradients: negatives from the other rank pass their
            # gradient back to the rank that produced them.
            for name, grad in expected_grads.items():
                for r in per_rank:
                    assert torch.count_nonzero(r["grads"][name]) > 0, name
                    torch.testing.assert_close(r["grads"][name], grad, rtol=1e-4, atol=1e-6, msg=name)
