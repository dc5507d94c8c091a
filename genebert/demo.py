"""The demo (``make demo`` / ``genebert demo``): real data to a pre-trained model and a report, on a CPU.

1. Build the pre-training corpus from the embedded real data (hg19 chr22 slice, two scATAC data sets, JASPAR 2018).
2. Build a synthetic corpus with planted cell-type-specific motifs (the real slice is too small to learn from;
   see :mod:`genebert.genomics.synthetic`).
3. Pre-train the tiny preset on each, save checkpoints that ``AutoModel.from_pretrained`` loads.
4. Evaluate on held-out samples against honest baselines (:mod:`genebert.training.evaluation`) and write
   ``report.md`` with the training curves (PNG).
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .genomics.examples import build_real_corpus, build_synthetic_corpus


@dataclass
class DemoSettings:
    real_steps: int = 150
    synthetic_steps: int = 600
    batch_size: int = 16
    synthetic_regions_per_cell_type: int = 1200
    seed: int = 0


def pretrain_and_evaluate(
    corpus_dir: Path,
    output_dir: Path,
    steps: int,
    batch_size: int,
    seed: int,
    extra_arguments: dict | None = None,
) -> dict:
    """Tiny-preset pre-training, then held-out evaluation against the baselines; returns all numbers.
    ``extra_arguments``: more pre-training arguments (``{field: value}``), over the ones set here."""
    from transformers import AutoModelForPreTraining

    from .data import DataCollatorForGenomeModeling, RegionStore
    from .figures import plot_training_curves
    from .genomics.corpus import load_corpus
    from .tokenization_genebert import GeneBertTokenizer
    from .training.evaluation import evaluate_pretraining, fit_composition, motif_view_probes
    from .training.pretrain import DataArguments, arguments_from_values, run_pretraining, split_samples

    started = time.perf_counter()
    values = {
        "corpus_dir": str(corpus_dir), "output_dir": str(output_dir), "preset": "tiny", "max_steps": steps,
        "per_device_train_batch_size": batch_size, "per_device_eval_batch_size": batch_size,
        "logging_steps": max(1, steps // 30), "eval_steps": max(1, steps // 5), "save_steps": steps, "seed": seed,
        "disable_tqdm": True, "overwrite_output_dir": True, **(extra_arguments or {}),  # the demo's own folder
    }  # fmt: skip
    metrics = run_pretraining(*arguments_from_values(values))
    seconds = time.perf_counter() - started
    model = AutoModelForPreTraining.from_pretrained(
        output_dir
    )  # the saved checkpoint loads through Auto classes
    corpus = load_corpus(corpus_dir)
    data_args = DataArguments(
        corpus_dir=str(corpus_dir),
        validation_fraction=values.get("validation_fraction", 0.1),  # the tiny preset's
        heldout_block_bp=values.get("heldout_block_bp"),
    )
    train, held_out = split_samples(corpus, data_args, seed)  # the genome blocks the run held out
    tokenizer = GeneBertTokenizer(kmer=corpus.metadata["config"]["kmer"])
    collator = DataCollatorForGenomeModeling(
        tokenizer, RegionStore(corpus.regions), np.asarray(corpus.samples["region_ids"]), seed=seed + 1
    )
    if held_out is None:  # too few genome blocks hold whole samples: nothing honest to report
        return {"steps": steps, "seconds": round(seconds, 1), "train_samples": len(train),
                "held_out": {"samples": 0}, "trainer_metrics": metrics}  # fmt: skip
    train_features = list(train.select(range(min(len(train), 2000))))
    evaluation = evaluate_pretraining(
        model, collator, list(held_out), batch_size=batch_size,
        corpus_cell_types=corpus.samples["cell_type"], composition=fit_composition(collator, train_features),
    )  # fmt: skip
    evaluation.update(motif_view_probes(model, collator, train_features, list(held_out)))
    history = json.loads((output_dir / "log_history.json").read_text())
    plot_training_curves(
        history,
        output_dir / "training_curves.png",
        title=f"{corpus_dir.parent.name} corpus: tiny preset, {steps} steps",
    )
    return {
        "steps": steps,
        "seconds": round(seconds, 1),
        "train_samples": len(train),
        "held_out": evaluation,
        "trainer_metrics": metrics,
    }


def write_report(out: Path, results: dict[str, dict], summaries: dict[str, str]) -> Path:
    nan = float("nan")
    rows, probes = [], []
    for name, result in results.items():
        e = {key: value for key, value in result["held_out"].items() if value is not None}
        rows.append(
            f"| {name} | {result['train_samples']} | {e['samples']} | {result['steps']} | "
            f"{e.get('mgm_accuracy', nan):.3f} | {e.get('mgm_copy_aware_accuracy', nan):.3f} | "
            f"{e.get('srm_top1_seq2region', nan):.3f} / {e.get('srm_top1_region2seq', nan):.3f} | "
            f"{e.get('srm_chance', nan):.3f} | {e.get('srm_cell_type_oracle', nan):.3f} | "
            f"{e.get('srm_composition_top1', nan):.3f} | {e.get('ngsp_accuracy', nan):.3f} | "
            f"{e.get('ngsp_cell_type_oracle', nan):.3f} |"
        )
        probes.append(
            f"| {name} | {e.get('regions_heldout', 0)} | {e.get('probe_r2', nan):.3f} | "
            f"{e.get('composition_r2', nan):.3f} | {e.get('probe_region_top1', nan):.3f} | "
            f"{e.get('composition_region_top1', nan):.4f} | {e.get('region_chance', nan):.4f} |"
        )
    text = [
        "# GeneBERT demo report",
        "",
        "Tiny preset (BERT 2 x 32, Swin 16-wide), pre-trained on a 2-core CPU. Held-out samples come from held-out",
        "genome blocks: none of their regions occurs in a training sample. Each metric stands beside the strongest",
        "simple baseline we know: MGM beside copying the input k-mer where it shows one and the neighbours' bases",
        "elsewhere (copy-aware); SRM top-1 retrieval (sequence -> region matrix / back) beside chance (1 / batch),",
        "a cell-type oracle and a 3-mer composition ridge; NGSP beside a cell-type oracle (chance is 0.5).",
        "",
        "| corpus | train samples | held-out | steps | MGM acc | copy-aware | SRM top-1 | chance | cell-type "
        "oracle | composition | NGSP acc | cell-type oracle |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "The second view per region: a ridge probe from the sequence tower's per-region embedding to the standardised",
        "motif vector (held-out R^2, and top-1 retrieval among all held-out regions), beside the same from 3-mer counts.",
        "",
        "| corpus | held-out regions | probe R^2 | 3-mer R^2 | probe region top-1 | 3-mer region top-1 | chance |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *probes,
        "",
        "- `real`: the embedded hg19 chr22 slice with the chromVAR (GM12878, H1) and hematopoiesis scATAC peaks:",
        "  a few dozen samples, far too few to learn from; it shows the pipeline runs on real data.",
        "- `synthetic`: planted cell-type-specific JASPAR motifs in a random genome (genebert/genomics/synthetic.py),",
        "  where learning is measurable. The demo's few hundred steps fit its 15-minute budget but are too few for",
        "  the tiny model to beat the neighbour-copy baseline; `benchmarks/bench_pretrain_learning.py` trains the",
        "  same kind of corpus for 6,000 steps (k = 3, a 4 x 64 model, ~20 CPU-minutes) and meets the learning",
        "  targets on held-out samples (README, Performance).",
        "",
        "## Corpora",
        "",
    ]
    for name, summary in summaries.items():
        text += [f"### {name}", "", "```", summary, "```", ""]
    text += ["## Training curves", ""]
    for name in results:
        text += [f"### {name}", "", f"![{name}]({name}/model/training_curves.png)", ""]
    report = out / "report.md"
    report.write_text("\n".join(text))
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return report


def run_demo(out: Path, settings: DemoSettings | None = None, progress: bool = True) -> Path:
    settings = settings or DemoSettings()
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", UserWarning
        )  # cell types with too few regions are listed in the summary
        print("GeneBERT demo 1/4: corpus from the embedded real data", flush=True)
        real = build_real_corpus(out / "real" / "corpus", progress)
        print(real.format(), flush=True)
        print("GeneBERT demo 2/4: synthetic corpus with planted cell-type-specific motifs", flush=True)
        synthetic, _ = build_synthetic_corpus(
            out / "synthetic" / "corpus", settings.synthetic_regions_per_cell_type, settings.seed, progress
        )
        print(synthetic.format(), flush=True)
        results = {}
        for step, (name, steps) in enumerate(
            (("real", settings.real_steps), ("synthetic", settings.synthetic_steps)), 3
        ):
            print(
                f"GeneBERT demo {step}/4: pre-training the tiny preset on the {name} corpus ({steps} steps)",
                flush=True,
            )
            results[name] = pretrain_and_evaluate(
                out / name / "corpus", out / name / "model", steps, settings.batch_size, settings.seed
            )
            print(json.dumps(results[name]["held_out"], indent=1), flush=True)
    report = write_report(out, results, {"real": real.format(), "synthetic": synthetic.format()})
    print(f"report: {report}")
    return report
