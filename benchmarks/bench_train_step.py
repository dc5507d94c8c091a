"""Time one pre-training optimizer step of GeneBERT against transformers' BertForPreTraining.

For each preset, median milliseconds per step (forward + backward + AdamW) at batch 8 x 512 tokens of
(a) GeneBertForPreTraining (MGM + NGSP + SRM, region tower in the chosen input mode) and
(b) transformers' BertForPreTraining with the identical BERT configuration (MLM + NSP),
timed alternately in one process. Also reports each model's FLOPs per step (counted by
torch.utils.flop_counter on one forward + backward) and its model FLOP utilisation (MFU) against a measured
4096 x 4096 fp32 matmul on the same machine.

    python benchmarks/bench_train_step.py            # tiny and base-small-swin, 10 timed steps after 2 warm-up
    python benchmarks/bench_train_step.py --quick    # 3 timed steps after 1 warm-up

Writes benchmarks/results/train_step.json (or --output) and prints a table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode
from transformers import BertConfig, BertForPreTraining

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from genebert import GeneBertConfig, GeneBertForPreTraining
from genebert.configuration_genebert import TINY_SWIN_KWARGS
from genebert.modeling_genebert import _BERT_CONFIG_FIELDS

REPO = Path(__file__).resolve().parents[1]
# the BERT part of a GeneBertConfig, as the model maps it (plus the vocabulary size)
BERT_FIELDS = ("vocab_size", *_BERT_CONFIG_FIELDS)


def preset_config(name: str, mode: str) -> GeneBertConfig:
    if name == "tiny":
        return GeneBertConfig.tiny(region_input_mode=mode)
    if name == "base-small-swin":  # BERT-base sequence tower, the tiny preset's Swin
        return GeneBertConfig.base(region_input_mode=mode, region_backbone_kwargs=dict(TINY_SWIN_KWARGS))
    if name == "base":  # BERT-base + swin_tiny (the paper's scale)
        return GeneBertConfig.base(region_input_mode=mode)
    raise ValueError(f"unknown preset {name!r}")


def make_batch(config: GeneBertConfig, batch: int, length: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, config.vocab_size, (batch, length), generator=gen)
    input_ids[:, 0] = 2  # [CLS]
    input_ids[:, length // 2] = 3  # [SEP]
    input_ids[:, -1] = 3
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, length // 2 + 1 :] = 1
    labels = torch.full_like(input_ids, -100)
    masked = torch.rand(batch, length, generator=gen) < 0.15
    masked[:, 0] = masked[:, length // 2] = masked[:, -1] = False
    labels[masked] = input_ids[masked]
    input_ids = input_ids.masked_fill(masked, 4)  # [MASK]
    return {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "token_type_ids": token_type_ids,
        "labels": labels,
        "next_label": torch.randint(0, 2, (batch,), generator=gen),
        "region_matrix": torch.rand(batch, config.num_regions, config.num_motifs, generator=gen) * 10,
    }


def genebert_inputs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    keys = ("input_ids", "attention_mask", "token_type_ids", "labels", "region_matrix")
    return {**{k: batch[k] for k in keys}, "next_segment_label": batch["next_label"]}


def bert_inputs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    keys = ("input_ids", "attention_mask", "token_type_ids", "labels")
    return {**{k: batch[k] for k in keys}, "next_sentence_label": batch["next_label"]}


def count_flops(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> int:
    """FLOPs of one forward + backward (matmuls/convolutions/attention, as torch's flop counter counts them)."""
    with FlopCounterMode(display=False) as counter:
        model(**inputs).loss.backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def matmul_peak_flops(size: int = 4096, repeats: int = 5) -> float:
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    torch.mm(a, b)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * size**3 / min(times)  # the best run: a peak, not a typical value


def train_step(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, inputs: dict[str, torch.Tensor]
) -> float:
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    model(**inputs).loss.backward()
    optimizer.step()
    return (time.perf_counter() - start) * 1000.0


def bench_preset(name: str, args: argparse.Namespace, peak: float) -> dict[str, Any]:
    config = preset_config(name, args.mode)
    bert_config = BertConfig(**{field: getattr(config, field) for field in BERT_FIELDS})
    torch.manual_seed(0)
    genebert = GeneBertForPreTraining(config).train()
    bert = BertForPreTraining(bert_config).train()
    batch = make_batch(config, args.batch_size, args.seq_len)
    inputs = {"genebert": genebert_inputs(batch), "bert": bert_inputs(batch)}
    models = {"genebert": genebert, "bert": bert}
    optimizers = {key: torch.optim.AdamW(model.parameters(), lr=1e-4) for key, model in models.items()}
    flops = {key: count_flops(models[key], inputs[key]) for key in models}

    times: dict[str, list[float]] = {key: [] for key in models}
    for step in range(args.warmup + args.steps):
        order = ("genebert", "bert") if step % 2 == 0 else ("bert", "genebert")  # alternate who runs first
        last = {}
        for key in order:
            last[key] = train_step(models[key], optimizers[key], inputs[key])
            if step >= args.warmup:
                times[key].append(last[key])
        kind = "warm-up" if step < args.warmup else "timed"
        print(
            f"  [{name}] step {step + 1}/{args.warmup + args.steps} ({kind}): genebert {last['genebert']:.0f} ms, "
            f"bert {last['bert']:.0f} ms",
            flush=True,
        )

    result: dict[str, Any] = {
        "preset": name,
        "region_input_mode": args.mode,
        "region_image_size": list(genebert.region_encoder.image_size),
        "parameters": {key: sum(p.numel() for p in model.parameters()) for key, model in models.items()},
    }
    for key in models:
        median_ms = statistics.median(times[key])
        result[key] = {
            "median_ms": round(median_ms, 1),
            "all_ms": [round(t, 1) for t in times[key]],
            "gflop_per_step_fwd_bwd": round(flops[key] / 1e9, 2),
            "mfu": round(flops[key] / (median_ms / 1000.0) / peak, 4),
        }
    result["ratio_genebert_over_bert"] = round(
        result["genebert"]["median_ms"] / result["bert"]["median_ms"], 3
    )
    # Each step times both models back to back, so the per-step ratio is robust to slow drifts in machine load.
    pair_ratios = [a / b for a, b in zip(times["genebert"], times["bert"], strict=True)]
    result["ratio_median_of_step_pairs"] = round(statistics.median(pair_ratios), 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--presets", default="tiny,base-small-swin", help="comma list: tiny, base-small-swin, base"
    )
    parser.add_argument("--steps", type=int, default=10, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model")
    parser.add_argument("--quick", action="store_true", help="3 timed steps after 1 warm-up")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--mode", choices=("pad", "resize"), default="pad", help="region input mode")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "train_step.json")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup = 3, 1
    torch.set_num_threads(args.threads)

    load_at_start = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    peak = matmul_peak_flops()
    print(f"fp32 4096x4096 matmul: {peak / 1e9:.1f} GFLOP/s on {args.threads} threads", flush=True)
    results = [bench_preset(name.strip(), args, peak) for name in args.presets.split(",") if name.strip()]

    header = (
        f"{'preset':<16} {'GeneBERT ms':>12} {'BERT ms':>10} {'ratio a/b':>10} {'pair ratio':>10} "
        f"{'MFU a':>7} {'MFU b':>7}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(
            f"{r['preset']:<16} {r['genebert']['median_ms']:>12.1f} {r['bert']['median_ms']:>10.1f} "
            f"{r['ratio_genebert_over_bert']:>10.3f} {r['ratio_median_of_step_pairs']:>10.3f} "
            f"{r['genebert']['mfu']:>7.1%} {r['bert']['mfu']:>7.1%}"
        )

    report = {
        "benchmark": "train_step",
        "description": "median ms per optimizer step (fwd+bwd+AdamW), GeneBertForPreTraining (a) vs "
        "transformers BertForPreTraining with the identical BERT config (b), alternating in one process",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
        "settings": {
            "batch_size": args.batch_size,
            "seq_len": args.seq_len,
            "threads": args.threads,
            "steps": args.steps,
            "warmup": args.warmup,
            "quick": args.quick,
            "region_input_mode": args.mode,
        },
        "matmul_4096_fp32_gflops": round(peak / 1e9, 1),
        "load_average_1_5_15min": {
            "start": load_at_start,
            "end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
