"""Does pre-training learn? Held-out metrics against honest baselines, real and synthetic corpora.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_pretrain_learning.py [--steps 6000] [--quick]

The defaults: synthetic corpus of 3 x 30,000 regions, k=3, 12-bp region windows, 3 planted instances per region;
the tiny preset widened to 4 x 64 (4 heads) with dropout off, 6,000 steps, batch 32, lr 2e-3 (50 warm-up
steps, linear decay); on the real tiled slice the demo's model and steps. ``--quick`` is a 2-minute smoke run.
The recorded run and its settings are in benchmarks/results/pretrain_learning.json (README, Performance).

For each corpus the tiny preset (optionally widened with --config-overrides) is pre-trained on a CPU, then
evaluated with `genebert.training.evaluation.evaluate_pretraining` on held-out genome blocks (no region of a
held-out sample occurs in a training sample), every metric beside the strongest simple baseline we know:

- MGM accuracy vs the copy-aware baseline (copy the input k-mer where the input still shows one, the kept and
  randomised spans; elsewhere rebuild it from the visible neighbours, hidden bases filled with the corpus's most
  frequent base);
- NGSP accuracy vs chance and the cell-type oracle (knows each sample's cell type and nothing else);
- SRM top-1 retrieval vs chance, the cell-type oracle and the 3-mer composition ridge;
- per region: the ridge probe from the sequence tower's region embedding to the motif vector (held-out R^2,
  retrieval among all held-out regions) vs the same ridge on 3-mer counts.

Targets: MGM at least 3 points above copy-aware; SRM top-1 (both directions) and NGSP at least 1 point above
their cell-type oracles.
Corpora: the embedded real chr22 slice tiled as in the demo (one pseudo cell type, so the oracles equal chance)
and a synthetic genome with planted cell-type-specific JASPAR motifs (`genebert.genomics.synthetic`).
Writes benchmarks/results/pretrain_learning.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "pretrain_learning.json"


def learning_targets(held: dict) -> dict:
    """The benchmark's verdicts from held-out metrics: MGM at least 3 points above copy-aware; SRM (both
    directions) and NGSP at least 1 point above their cell-type oracles (a smaller lead is within noise)."""
    srm = min(held["srm_top1_seq2region"], held["srm_top1_region2seq"])
    return {
        "mgm_points_above_copy_aware": round(
            100 * (held["mgm_accuracy"] - held["mgm_copy_aware_accuracy"]), 2
        ),
        "mgm_target_met": held["mgm_accuracy"] - held["mgm_copy_aware_accuracy"] >= 0.03,
        "srm_points_above_cell_type_oracle": round(100 * (srm - held["srm_cell_type_oracle"]), 2),
        "srm_target_met": srm - held["srm_cell_type_oracle"] >= 0.01,
        "ngsp_points_above_cell_type_oracle": round(
            100 * (held["ngsp_accuracy"] - held["ngsp_cell_type_oracle"]), 2
        ),
        "ngsp_target_met": held["ngsp_accuracy"] - held["ngsp_cell_type_oracle"] >= 0.01,
        "probe_r2_above_3mer": round(held["probe_r2"] - held["composition_r2"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=6000, help="pre-training steps on the synthetic corpus")
    parser.add_argument(
        "--real-steps",
        type=int,
        default=None,
        help="pre-training steps on the real corpus (default: the demo's)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument(
        "--region-window-bp", type=int, default=12, help="synthetic corpus: bases per region window"
    )
    parser.add_argument("--regions-per-cell-type", type=int, default=30000)
    parser.add_argument(
        "--instances-per-region",
        type=int,
        default=3,
        help="synthetic corpus: planted motif instances per region (the first at the centre, inside the window)",
    )
    parser.add_argument("--kmer", type=int, default=3, help="synthetic corpus and model: k of the k-mers")
    parser.add_argument(
        "--config-overrides",
        default="hidden_size=64,num_hidden_layers=4,num_attention_heads=4,intermediate_size=128,"
        "hidden_dropout_prob=0.0,attention_probs_dropout_prob=0.0",
        help="model overrides of the tiny preset (dropout off: the small model underfits, and CPU attention "
        "without dropout runs ~3x faster)",
    )
    parser.add_argument("--warmup-steps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, default=Path("outputs/bench_pretrain_learning"))
    parser.add_argument("--quick", action="store_true", help="a 2-minute smoke run (few steps)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.real_steps, args.regions_per_cell_type = 20, 5, 200

    from genebert.demo import DEMO_MODEL, DemoSettings, pretrain_and_evaluate
    from genebert.genomics.examples import build_synthetic_corpus, build_tiled_real_corpus

    demo = DemoSettings()
    if args.real_steps is None:
        args.real_steps = demo.pretrain_steps

    warnings.simplefilter("ignore", UserWarning)
    extra = {
        "learning_rate": args.learning_rate,
        "warmup_steps": args.warmup_steps,
        "config_overrides": args.config_overrides,
    }
    rows = {}
    started = time.perf_counter()
    real_corpus = args.work_dir / "real" / "corpus"
    build_tiled_real_corpus(real_corpus, demo.tile_bp, demo.kmer, progress=False)
    real_extra = {
        "learning_rate": demo.learning_rate,
        "warmup_steps": args.warmup_steps,
        "config_overrides": f"kmer={demo.kmer},{DEMO_MODEL}",
        "srm_warmup_steps": demo.srm_warmup_steps,
        "max_eval_samples": 256,
    }
    synthetic_corpus = args.work_dir / "synthetic" / "corpus"
    build_synthetic_corpus(
        synthetic_corpus,
        args.regions_per_cell_type,
        args.seed,
        progress=False,
        region_window_bp=args.region_window_bp,
        kmer=args.kmer,
        instances_per_region=args.instances_per_region,
    )
    for name, corpus, steps, arguments in (
        ("real", real_corpus, args.real_steps, real_extra),
        ("synthetic", synthetic_corpus, args.steps, extra),
    ):
        result = pretrain_and_evaluate(
            corpus, args.work_dir / name / "model", steps, args.batch_size, args.seed, extra_arguments=arguments,
            max_heldout_samples=demo.heldout_eval_samples,
        )  # fmt: skip
        held = result["held_out"]
        if held.get("samples", 0) == 0:
            raise SystemExit(
                f"{name}: no held-out genome block holds a whole sample; nothing honest to report"
            )
        result["targets"] = learning_targets(held)
        result.pop("trainer_metrics", None)
        rows[name] = result
        print(name, json.dumps(result, indent=1), flush=True)
    record = {
        "benchmark": "pretrain_learning",
        "settings": {key: str(value) for key, value in vars(args).items()},
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "results": rows,
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=1) + "\n")
    temporary.replace(args.out)
    print(
        "\n| corpus | steps | MGM | copy-aware | NGSP | NGSP oracle | SRM top-1 (min of both) | SRM oracle | "
        "3-mer SRM | probe R^2 | 3-mer R^2 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, result in rows.items():
        held = result["held_out"]
        srm = min(held["srm_top1_seq2region"], held["srm_top1_region2seq"])
        print(
            f"| {name} | {result['steps']} | {held['mgm_accuracy']:.3f} | {held['mgm_copy_aware_accuracy']:.3f} | "
            f"{held['ngsp_accuracy']:.3f} | {held['ngsp_cell_type_oracle']:.3f} | {srm:.3f} | "
            f"{held['srm_cell_type_oracle']:.3f} | {held['srm_composition_top1']:.3f} | {held['probe_r2']:.3f} | "
            f"{held['composition_r2']:.3f} |"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
