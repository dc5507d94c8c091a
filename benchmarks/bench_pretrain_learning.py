"""Does pre-training learn? Held-out metrics against honest baselines, real and synthetic corpora.

    .venv/bin/python benchmarks/bench_pretrain_learning.py [--steps 1200] [--real-steps 300] [--quick]

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
    parser.add_argument("--steps", type=int, default=1200, help="pre-training steps on the synthetic corpus")
    parser.add_argument("--real-steps", type=int, default=300, help="pre-training steps on the real corpus")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument(
        "--region-window-bp", type=int, default=25, help="synthetic corpus: bases per region window"
    )
    parser.add_argument("--regions-per-cell-type", type=int, default=1500)
    parser.add_argument("--kmer", type=int, default=6, help="synthetic corpus and model: k of the k-mers")
    parser.add_argument(
        "--config-overrides",
        default="hidden_size=64,num_hidden_layers=4,num_attention_heads=4,intermediate_size=128",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, default=Path("outputs/bench_pretrain_learning"))
    parser.add_argument("--quick", action="store_true", help="a 2-minute smoke run (few steps)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.real_steps, args.regions_per_cell_type = 20, 5, 200

    from genebert.demo import build_real_corpus, build_synthetic_corpus, pretrain_and_evaluate

    warnings.simplefilter("ignore", UserWarning)
    extra = [
        "--learning_rate",
        str(args.learning_rate),
        "--warmup_steps",
        "50",
        "--config_overrides",
        args.config_overrides,
    ]
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
