"""Memory per GPU for pre-training GeneBERT base and large, computed from the model.

* Parameters: counted on the meta device (nothing allocated). Model state per parameter with AdamW and bf16
  autocast (fp32 master weights, as the Trainer and accelerate keep them): 4 B weights + 4 B gradients + 8 B Adam
  moments = 16 B. How it splits over N GPUs: DDP keeps everything on every GPU; ZeRO-2 shards gradients and Adam
  moments; ZeRO-3 and FSDP (full shard) shard all of it (plus one unit's gathered weights at a time).
* Activations: the bytes autograd saves for the backward pass (saved-tensor hooks, on the CPU, under bf16
  autocast, all three losses) for batches of 1 and 2 real-shaped samples (512 tokens, a 10 x 579 region matrix):
  the difference is the memory per sample, the rest is per batch (bf16 copies of the weights that autocast
  makes). Saved (..., 512, 512) tensors are attention matrices; GPU flash / memory-efficient attention does not
  keep them, so "per sample, GPU" leaves them out.
* Per GPU at the paper's per-device batch (250 = 2,000 / 8) and the largest per-device batch that fits 80 GB,
  without gradient checkpointing; the CUDA context, allocator fragmentation and communication buffers (a few GB)
  come on top.

    .venv/bin/python benchmarks/memory_per_gpu.py        # writes benchmarks/results/memory_per_gpu.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from genebert import GeneBertConfig, GeneBertForPreTraining

RESULTS = Path(__file__).resolve().parent / "results" / "memory_per_gpu.json"
GiB = 1024**3
TOKENS, REGIONS, MOTIFS = 512, 10, 579
PAPER_PER_DEVICE_BATCH, GPUS, GPU_MEMORY_GB = 250, 8, 80


def configs() -> dict[str, GeneBertConfig]:
    common = {"num_motifs": MOTIFS, "num_regions": REGIONS}
    return {
        "base (BERT-base 12 x 768 + swin_tiny)": GeneBertConfig.base(**common),
        "large (BERT-large 24 x 1024 + swin_base)": GeneBertConfig.base(
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            intermediate_size=4096,
            region_backbone="swin_base_patch4_window7_224",
            **common,
        ),
    }


def count_parameters(config: GeneBertConfig) -> int:
    with torch.device("meta"):
        model = GeneBertForPreTraining(config)
    seen, total = set(), 0
    for parameter in model.parameters():  # tied weights once
        if id(parameter) not in seen:
            seen.add(id(parameter))
            total += parameter.numel()
    return total


def samples(config: GeneBertConfig, batch: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    input_ids = torch.randint(5, config.vocab_size, (batch, TOKENS), generator=gen)
    input_ids[:, 0], input_ids[:, TOKENS // 2], input_ids[:, -1] = 2, 3, 3
    masked = torch.rand(batch, TOKENS, generator=gen) < 0.15
    labels = torch.where(masked, input_ids, -100)
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, TOKENS // 2 + 1 :] = 1
    return {
        "input_ids": input_ids.masked_fill(masked, 4),
        "attention_mask": torch.ones_like(input_ids),
        "token_type_ids": token_type_ids,
        "labels": labels,
        "next_segment_label": torch.arange(batch) % 2,
        "region_matrix": torch.rand(batch, REGIONS, MOTIFS, generator=gen) * 10,
    }


def saved_activation_bytes(
    model: torch.nn.Module, inputs: dict[str, torch.Tensor], bf16: bool = True
) -> tuple[int, int]:
    """Bytes of the tensors autograd saves in one forward (parameters excluded: they are counted as state), and
    the part of them that are (..., 512, 512) attention matrices."""
    parameters = {p.data_ptr() for p in model.parameters()}
    seen: set[tuple[int, int]] = set()
    total = attention = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total, attention
        storage = tensor.untyped_storage()
        key = (storage.data_ptr(), storage.nbytes())
        if storage.data_ptr() not in parameters and key not in seen:
            seen.add(key)
            total += storage.nbytes()
            if tensor.dim() >= 3 and tuple(tensor.shape[-2:]) == (TOKENS, TOKENS):
                attention += storage.nbytes()
        return tensor

    with (
        torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
        torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16),
    ):
        model(**inputs).loss.backward()
    model.zero_grad(set_to_none=True)
    return total, attention


def per_gpu_gib(parameters: int, activation_bytes: int, batch: int, gpus: int) -> dict[str, float]:
    weights, grads, adam = 4 * parameters, 4 * parameters, 8 * parameters
    activations = activation_bytes * batch
    return {
        "DDP": round((weights + grads + adam + activations) / GiB, 1),
        "ZeRO-2": round((weights + (grads + adam) / gpus + activations) / GiB, 1),
        "ZeRO-3 / FSDP full shard": round(((weights + grads + adam) / gpus + activations) / GiB, 1),
    }


def largest_batch(parameters: int, activation_bytes: int, gpus: int) -> dict[str, int]:
    budget = GPU_MEMORY_GB * 1e9
    state = {
        "DDP": 16 * parameters,
        "ZeRO-2": 4 * parameters + 12 * parameters / gpus,
        "ZeRO-3 / FSDP full shard": 16 * parameters / gpus,
    }
    return {name: int((budget - used) // activation_bytes) for name, used in state.items()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    results: dict[str, Any] = {}
    for name, config in configs().items():
        parameters = count_parameters(config)
        torch.manual_seed(0)
        model = GeneBertForPreTraining(config).train()
        one, one_attention = saved_activation_bytes(model, samples(config, 1))
        two, two_attention = saved_activation_bytes(model, samples(config, 2))
        del model
        per_sample, attention = two - one, two_attention - one_attention
        gpu = per_sample - attention
        results[name] = {
            "parameters_millions": round(parameters / 1e6, 1),
            "model_state_gib_16_bytes_per_parameter": round(16 * parameters / GiB, 2),
            "activations_bf16_autocast_mib": {
                "per_batch (bf16 weight copies)": round((one - per_sample) / 2**20, 1),
                "per_sample, measured on the CPU": round(per_sample / 2**20, 1),
                "of which attention matrices": round(attention / 2**20, 1),
                "per_sample, GPU (flash attention)": round(gpu / 2**20, 1),
            },
            f"per_gpu_gib_at_batch_{PAPER_PER_DEVICE_BATCH}_{GPUS}_gpus": per_gpu_gib(
                parameters, gpu, PAPER_PER_DEVICE_BATCH, GPUS
            ),
            f"largest_per_gpu_batch_in_{GPU_MEMORY_GB}_gb_{GPUS}_gpus": largest_batch(parameters, gpu, GPUS),
        }
        print(name, json.dumps(results[name], indent=1))
    out = {
        "benchmark": "memory_per_gpu",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "sample": {"tokens": TOKENS, "region_matrix": [REGIONS, MOTIFS]},
        "assumptions": "AdamW, fp32 master weights, bf16 autocast, no gradient checkpointing; CUDA context, "
        "fragmentation and communication buffers not included",
        "models": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()
