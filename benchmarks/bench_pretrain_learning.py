"""Does pre-training learn? Held-out metrics against honest baselines, real and synthetic corpora.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_pretrain_learning.py [--steps 12000] [--quick]

The defaults are the recorded run (benchmarks/results/pretrain_learning.json, ~50 minutes on one CPU core shared
with other jobs): synthetic corpus of 3 x 30,000 regions (9,000 samples, 900 held out), k=3, 12-bp region
windows, 3 planted instances per region; the tiny preset widened to 4 x 64 (4 heads) with dropout off, 12,000
steps, batch 32, lr 2e-3 (50 warm-up steps, linear decay); 100 steps on the real corpus. ``--quick`` is a
2-minute smoke run. Shorter runs and a smaller corpus are recorded beside it (README, Performance).

For each corpus the tiny preset (optionally widened with --config-overrides) is pre-trained on a CPU, then
evaluated on held-out samples (10 %) with `genebert.training.evaluation.evaluate_pretraining`:

- MGM accuracy vs the neighbour-copy baseline (the true k-mer with hidden bases filled by the corpus's most
  frequent base; most of a masked k-mer is visible in its neighbours, so chance is far too weak a bar);
- SRM top-1 retrieval (sequence -> region matrix and back) vs 1 / batch;
- NGSP accuracy vs 0.5.

Targets: MGM at least 3 points above neighbour copy, SRM top-1 at least 5x chance, NGSP at least 0.6.
Corpora: the embedded real data (a few dozen samples: too small to learn from, reported for completeness) and
a synthetic genome with planted cell-type-specific JASPAR motifs (`genebert.genomics.synthetic`).
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=12000, help="pre-training steps on the synthetic corpus")
    parser.add_argument("--real-steps", type=int, default=100, help="pre-training steps on the real corpus")
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

    from genebert.demo import pretrain_and_evaluate
    from genebert.genomics.examples import build_real_corpus, build_synthetic_corpus

    warnings.simplefilter("ignore", UserWarning)
    extra = {
        "learning_rate": args.learning_rate,
        "warmup_steps": args.warmup_steps,
        "config_overrides": args.config_overrides,
    }
    rows = {}
    started = time.perf_counter()
    real_corpus = args.work_dir / "real" / "corpus"
    build_real_corpus(real_corpus, progress=False)
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
    for name, corpus, steps in (
        ("real", real_corpus, args.real_steps),
        ("synthetic", synthetic_corpus, args.steps),
    ):
        result = pretrain_and_evaluate(
            corpus, args.work_dir / name / "model", steps, args.batch_size, args.seed, extra_arguments=extra
        )
        held = result["held_out"]
        result["targets"] = {
            "mgm_points_above_neighbour_copy": round(
                100 * (held["mgm_accuracy"] - held["mgm_neighbour_copy_accuracy"]), 2
            ),
            "mgm_target_met": held["mgm_accuracy"] - held["mgm_neighbour_copy_accuracy"] >= 0.03,
            "srm_times_chance": round(held["srm_top1_seq2region"] / held["srm_chance"], 2),
            "srm_target_met": held["srm_top1_seq2region"] >= 5 * held["srm_chance"],
            "ngsp_target_met": held["ngsp_accuracy"] >= 0.6,
        }
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
    print("\n| corpus | steps | MGM acc | neighbour copy | SRM top-1 | chance | NGSP acc |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, result in rows.items():
        held = result["held_out"]
        print(
            f"| {name} | {result['steps']} | {held['mgm_accuracy']:.3f} | {held['mgm_neighbour_copy_accuracy']:.3f} | "
            f"{held['srm_top1_seq2region']:.3f} | {held['srm_chance']:.3f} | {held['ngsp_accuracy']:.3f} |"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
