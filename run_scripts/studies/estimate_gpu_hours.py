#!/usr/bin/env python
"""Estimate the GPU-hours of the shipped studies at the paper's scale from a step measured on this machine.

    OMP_NUM_THREADS=1 python run_scripts/studies/estimate_gpu_hours.py --out docs/studies/gpu_hours.json

Method: one pre-training step (forward + backward) of the paper-size model (BERT-base + swin_tiny, the region
matrix resized to 224 x 224, 512 tokens) and one fine-tuning step (BERT-base, GUE prom_core_all's 70 bp = 67
tokens) are run on the CPU with a small batch; torch's FlopCounterMode counts their FLOPs and the wall time is
measured. FLOPs per sample x samples of a run (steps x global batch, or epochs x rows) gives the run's FLOPs;
dividing by an assumed sustained GPU throughput (default: A100 bf16 dense peak 312 TFLOP/s at 40 % model FLOPs
utilisation = 125 TFLOP/s) gives GPU-hours. The CPU's measured FLOP/s is reported beside it for scale.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertForSequenceClassification


def measure(model: torch.nn.Module, inputs: dict, repeats: int = 2) -> tuple[float, float]:
    """(FLOPs, seconds) of one forward + backward on ``inputs``."""
    model.train()
    with FlopCounterMode(display=False) as counter:
        model(**inputs).loss.backward()
    flops = float(counter.get_total_flops())
    started = time.perf_counter()
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        model(**inputs).loss.backward()
    return flops, (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="docs/studies/gpu_hours.json")
    parser.add_argument("--batch", type=int, default=2, help="samples per measured step on the CPU")
    parser.add_argument("--gpu-tflops", type=float, default=312.0, help="GPU peak dense bf16 TFLOP/s (A100)")
    parser.add_argument("--mfu", type=float, default=0.40, help="assumed model FLOPs utilisation")
    args = parser.parse_args()
    torch.manual_seed(0)
    b, tokens, motifs = args.batch, 512, 579

    config = GeneBertConfig.base(num_motifs=motifs, region_input_mode="resize")
    pretraining = GeneBertForPreTraining(config)
    inputs = {
        "input_ids": torch.randint(5, config.vocab_size, (b, tokens)),
        "attention_mask": torch.ones(b, tokens, dtype=torch.long),
        "token_type_ids": torch.zeros(b, tokens, dtype=torch.long),
        "region_matrix": torch.rand(b, config.num_regions, motifs),
        "labels": torch.randint(5, config.vocab_size, (b, tokens)),
        "next_segment_label": torch.randint(0, 2, (b,)),
    }
    pre_flops, pre_seconds = measure(pretraining, inputs)
    del pretraining

    classifier = GeneBertForSequenceClassification(GeneBertConfig.base(num_labels=2))
    fb, ft_tokens = 32, 67
    ft_inputs = {
        "input_ids": torch.randint(5, 4101, (fb, ft_tokens)),
        "attention_mask": torch.ones(fb, ft_tokens, dtype=torch.long),
        "labels": torch.randint(0, 2, (fb,)),
    }
    ft_flops, ft_seconds = measure(classifier, ft_inputs)

    per_pre_sample, per_ft_sample = pre_flops / b, ft_flops / fb
    gpu = args.gpu_tflops * 1e12 * args.mfu
    pretrain_run = 120_000 * 2_000 * per_pre_sample  # the paper: 120k steps at a global batch of 2,000
    finetune_run = 3 * 47_356 * per_ft_sample  # prom_core_all train split, 3 epochs
    hours = {
        "pretraining_run": pretrain_run / gpu / 3600,
        "finetuning_run_prom_core_all": finetune_run / gpu / 3600,
    }
    # Cells at the paper preset (5 seeds): pre-trainings per study (batch-size rows scale with their batch).
    studies = {
        "losses": 3 * 5 * hours["pretraining_run"] + 4 * 5 * hours["finetuning_run_prom_core_all"],
        "lambda": 6 * 5 * hours["pretraining_run"] + 6 * 5 * hours["finetuning_run_prom_core_all"],
        "batch_size": 5 * sum(bs / 2000 for bs in (16, 32, 64, 128, 256, 512)) * hours["pretraining_run"]
        + 6 * 5 * hours["finetuning_run_prom_core_all"],
        "backbones (swin_tiny cost; bigger backbones cost more)": 9 * 5 * hours["pretraining_run"]
        + 9 * 5 * hours["finetuning_run_prom_core_all"],
        "modality": 2 * 5 * hours["pretraining_run"],
    }
    result = {
        "method": __doc__.split("Method:")[1].strip(),
        "cpu": {
            "threads": torch.get_num_threads(),
            "pretraining_step": {
                "batch": b,
                "tokens": tokens,
                "flops": pre_flops,
                "seconds": round(pre_seconds, 2),
            },
            "finetuning_step": {
                "batch": fb,
                "tokens": ft_tokens,
                "flops": ft_flops,
                "seconds": round(ft_seconds, 2),
            },
            "measured_tflops": round(pre_flops / pre_seconds / 1e12, 4),
        },
        "flops_per_sample": {"pretraining": per_pre_sample, "finetuning": per_ft_sample},
        "assumed_gpu": {"peak_tflops": args.gpu_tflops, "mfu": args.mfu, "sustained_tflops": gpu / 1e12},
        "gpu_hours": {key: round(value, 3) for key, value in hours.items()},
        "gpu_hours_per_study_paper_preset": {key: round(value) for key, value in studies.items()},
        "cpu_hours_pretraining_run_at_measured_speed": round(pretrain_run / (pre_flops / pre_seconds) / 3600),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
