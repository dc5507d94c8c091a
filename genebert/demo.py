"""The demo (``make demo`` / ``genebert demo``): the whole product on real DNA shipped in the package, on a CPU.

1. Build a pre-training corpus from the embedded hg19 chr22 slice cut into short tiles, every tile's motif vector
   scored over exactly the bases the sequence tower reads (:func:`genebert.genomics.examples.build_tiled_real_corpus`).
2. Pre-train a small model (MGM + NGSP + SRM), holding out whole genome blocks, and evaluate it on them beside the
   strongest simple baselines we know (:mod:`genebert.training.evaluation`).
3. Fine-tune that checkpoint on a real downstream task shipped in the package (UCI splice junctions), beside a
   k-mer-count logistic regression fitted on the same training split.
4. Export the fine-tuned model as a self-contained Hub repository, then predict held-out test sequences with the
   ``dna-classification`` pipeline loaded from the export (``trust_remote_code=True``).

Each step's numbers go to ``report.md`` (with the training curves) and ``results.json``.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .genomics.examples import build_tiled_real_corpus, demo_data_path

#: The demo's model: the tiny preset widened to 2 x 128 (2 heads), dropout off, position embeddings starting from
#: the sinusoidal table. Wide heads and related positions let it learn to read the visible bases of overlapping
#: k-mers (what MGM needs first) within the demo's minutes; the 2 x 32 tiny preset with BERT's normal start stays
#: on a plateau for thousands of steps (docs/pretraining.md, "Learning on a CPU budget").
DEMO_MODEL = (
    "hidden_size=128,num_hidden_layers=2,num_attention_heads=2,intermediate_size=256,hidden_dropout_prob=0.0,"
    "attention_probs_dropout_prob=0.0,position_embedding_init=sinusoidal"
)


@dataclass
class DemoSettings:
    tile_bp: int = 12
    kmer: int = 3
    pretrain_steps: int = 4000
    batch_size: int = 32
    learning_rate: float = 3e-3
    #: SRM's lambda is 0 for this many steps, then ramps to 0.5 over as many: MGM first learns to read k-mers
    #: (with the contrast on from step 0 it stays on its copy plateau; docs/pretraining.md)
    srm_warmup_steps: int = 500
    finetune_steps: int = 600
    heldout_eval_samples: int = 1024
    predict_sequences: int = 100
    seed: int = 0


def pretrain_and_evaluate(
    corpus_dir: Path,
    output_dir: Path,
    steps: int,
    batch_size: int,
    seed: int,
    extra_arguments: dict | None = None,
    max_heldout_samples: int | None = None,
) -> dict:
    """Tiny-preset pre-training, then held-out evaluation against the baselines; returns all numbers.
    ``extra_arguments``: more pre-training arguments (``{field: value}``), over the ones set here;
    ``max_heldout_samples``: evaluate on a seeded subset of the held-out samples of at most this size."""
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
    model = AutoModelForPreTraining.from_pretrained(output_dir)  # the checkpoint loads through Auto classes
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
    if max_heldout_samples is not None and len(held_out) > max_heldout_samples:
        held_out = held_out.shuffle(seed=seed).select(range(max_heldout_samples))
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
        title=f"{corpus_dir.parent.name}: {steps} pre-training steps",
    )
    return {
        "steps": steps,
        "seconds": round(seconds, 1),
        "train_samples": len(train),
        "held_out": evaluation,
        "trainer_metrics": metrics,
    }


def finetune_splice(checkpoint: Path, output_dir: Path, settings: DemoSettings) -> dict:
    """Fine-tune ``checkpoint`` on UCI splice junctions (shipped, deduplicated across splits) until dev AUC stops
    improving or ``settings.finetune_steps``; returns ``test_results.json`` (with the k-mer baseline)."""
    from .training.finetune import arguments_from_values, run_finetuning

    every = max(1, settings.finetune_steps // 6)
    values = {
        "task": "uci_splice", "data_root": str(demo_data_path("")), "model_name_or_path": str(checkpoint),
        "output_dir": str(output_dir), "max_steps": settings.finetune_steps, "learning_rate": 1e-3,
        "warmup_steps": 0.05, "per_device_train_batch_size": 32, "per_device_eval_batch_size": 128,
        "eval_steps": every, "save_steps": every, "logging_steps": every, "early_stopping_patience": 3,
        "seed": settings.seed, "disable_tqdm": True, "overwrite_output_dir": True, "report_to": "none",
    }  # fmt: skip
    started = time.perf_counter()
    outcome = run_finetuning(*arguments_from_values(values))
    return {**outcome, "seconds": round(time.perf_counter() - started, 1)}


def export_and_predict(finetuned: Path, out: Path, settings: DemoSettings) -> dict:
    """Export ``finetuned`` for the Hub, then predict held-out test sequences through the exported folder's
    ``dna-classification`` pipeline (remote code), and score the predictions against the true labels."""
    from .genomics.tasks import load_task
    from .hub.export import export_checkpoint
    from .inference import predict_fasta

    export_dir = out / "hub_model"
    export_checkpoint(finetuned, export_dir, overwrite=True)  # the demo's own folder
    task = load_task("uci_splice", demo_data_path(""), seed=0)
    records = task.splits["test"][: settings.predict_sequences]
    fasta = out / "predict" / "splice_test.fa"
    fasta.parent.mkdir(parents=True, exist_ok=True)
    fasta.write_text("".join(f">{r['id']}\n{r['sequence']}\n" for r in records))
    table = out / "predict" / "predictions.tsv"
    if table.exists():
        table.unlink()  # the demo's own previous output: predict refuses to overwrite
    predict_fasta(str(export_dir), fasta, table, trust_remote_code=True, progress=False)
    lines = table.read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    truth = {r["id"]: task.label_names[r["label"]] for r in records}
    correct = sum(row["label"] == truth[row["id"]] for row in rows)
    return {
        "export_dir": str(export_dir),
        "files": sorted(p.name for p in export_dir.iterdir()),
        "predicted": len(rows),
        "accuracy": correct / max(len(rows), 1),
        "examples": [
            {**{k: row[k] for k in ("id", "label", "score")}, "true": truth[row["id"]]} for row in rows[:5]
        ],
    }


def _verdict(value: float | None, *baselines: float | None) -> str:
    if value is None or any(b is None for b in baselines):
        return "not measured"
    return "beats" if all(value > b for b in baselines) else "**does not beat**"


def write_report(out: Path, results: dict, corpus_summary: str, settings: DemoSettings) -> Path:
    from .storage import write_json

    pre, e = results["pretrain"], results["pretrain"]["held_out"]
    fine, baseline = results["finetune"], results["finetune"].get("baseline_kmer_logistic_regression") or {}
    pred = results["predict"]

    def f(key: str, digits: int = 3) -> str:
        value = e.get(key)
        return "n/a" if value is None else f"{value:.{digits}f}"

    directions = (e.get("srm_top1_seq2region"), e.get("srm_top1_region2seq"))
    srm = None if None in directions else min(directions)  # both directions must beat the baselines
    text = [
        "# GeneBERT demo report",
        "",
        f"Everything below ran on this machine's CPU in {results['minutes']:.1f} minutes, from data shipped in the "
        "package. The numbers are computed by this run; the verdicts compare them with the baselines on the same "
        "held-out data.",
        "",
        "## 1. Pre-training on real DNA",
        "",
        f"Corpus: the embedded hg19 chr22 slice cut into {settings.tile_bp} bp tiles (one pseudo cell type, "
        f"`genome`); a sample is 10 consecutive tiles; k = {settings.kmer}; each tile's motif vector (579 JASPAR "
        "2018 motifs) is scored over exactly the bases the sequence tower reads. Whole genome blocks are held out: "
        "no region of a held-out sample occurs in a training sample (`heldout_split.json`). Model: the tiny "
        f"preset widened to 2 x 128 with its 16-wide Swin region tower; {pre['steps']} steps of batch "
        f"{settings.batch_size} ({pre['seconds'] / 60:.1f} min), the loss MGM + NGSP + lambda SRM with lambda 0 for "
        f"the first {settings.srm_warmup_steps} steps, then raised linearly to 0.5 over as many (`--srm_warmup_steps`); "
        f"{pre['train_samples']:,} training samples; evaluated on {e.get('samples', 0):,} held-out samples.",
        "",
        "| task | model | baselines (same held-out data) | verdict |",
        "|---|---:|---|---|",
        f"| MGM accuracy (masked k-mers) | {f('mgm_accuracy')} | copy-aware {f('mgm_copy_aware_accuracy')}; "
        f"neighbour copy {f('mgm_neighbour_copy_accuracy')} | "
        f"{_verdict(e.get('mgm_accuracy'), e.get('mgm_copy_aware_accuracy'))} copy-aware |",
        f"| SRM top-1 (sequence -> region matrix / back, batch {settings.batch_size}) | "
        f"{f('srm_top1_seq2region')} / {f('srm_top1_region2seq')} | chance {f('srm_chance')}; cell-type oracle "
        f"{f('srm_cell_type_oracle')}; 3-mer composition ridge {f('srm_composition_top1')} | "
        f"{_verdict(srm, e.get('srm_chance'), e.get('srm_cell_type_oracle'))} chance and oracle |",
        f"| NGSP accuracy | {f('ngsp_accuracy')} | chance {f('ngsp_chance')}; cell-type oracle "
        f"{f('ngsp_cell_type_oracle')} | {_verdict(e.get('ngsp_accuracy'), e.get('ngsp_chance'), e.get('ngsp_cell_type_oracle'))} chance and oracle |",
        f"| motif probe R^2 (per region, ridge on the region's mean token embedding) | {f('probe_r2')} | 3-mer "
        f"counts {f('composition_r2')} | {_verdict(e.get('probe_r2'), e.get('composition_r2'))} 3-mer counts |",
        f"| region retrieval top-1 among {e.get('regions_heldout', 0):,} held-out regions | "
        f"{f('probe_region_top1', 4)} | 3-mer counts {f('composition_region_top1', 4)}; chance "
        f"{f('region_chance', 4)} | "
        f"{_verdict(e.get('probe_region_top1'), e.get('composition_region_top1'))} 3-mer counts |",
        "",
        "How to read it. *Copy-aware*: at a masked position whose input still shows a k-mer (the 10 % kept and 10 % "
        "randomised spans) copy it; elsewhere rebuild the k-mer from the visible neighbours and fill hidden bases "
        "with the most frequent base. Beating it means the model predicts hidden bases from context. With one "
        "pseudo cell type the *cell-type oracle* equals chance. The *3-mer composition* baseline retrieves a "
        "sample's matrix from its sequence by ridge regression on 3-mer counts: at the sample level (10 tiles) "
        "composition alone almost solves in-batch SRM, so SRM top-1 shows that the two towers align, not that the "
        "sequence tower learned motifs; the per-region probe and retrieval are the stricter test of the second "
        "view (docs/differences-from-the-paper.md).",
        "",
        "![pre-training curves](pretrain/training_curves.png)",
        "",
        "## 2. Fine-tuning on a real task: UCI splice junctions",
        "",
        f"From the pre-trained checkpoint, at most {settings.finetune_steps} steps, keeping the best dev AUC "
        f"({fine.get('global_step', 'n/a')} steps run, {fine['seconds'] / 60:.1f} min, "
        f"{fine.get('train_samples', 'n/a')} training sequences; identical sequences kept once across splits).",
        "",
        "| model | test accuracy | test AUC (macro) | test MCC |",
        "|---|---:|---:|---:|",
        f"| GeneBERT (this demo) | {fine.get('accuracy', float('nan')):.3f} | {fine.get('auc', float('nan')):.3f} | "
        f"{fine.get('mcc', float('nan')):.3f} |",
        f"| logistic regression on {baseline.get('k', 4)}-mer counts (same train split) | "
        f"{baseline.get('accuracy', float('nan')):.3f} | {baseline.get('auc', float('nan')):.3f} | "
        f"{baseline.get('mcc', float('nan')):.3f} |",
        "",
        "## 3. Export and prediction",
        "",
        f"`{pred['export_dir']}` is a self-contained Hub repository ({', '.join(pred['files'])}). The "
        f"`dna-classification` pipeline loaded from it with `trust_remote_code=True` labelled {pred['predicted']} "
        f"held-out test sequences with accuracy {pred['accuracy']:.3f} (`predict/predictions.tsv`). First rows:",
        "",
        "| id | predicted | score | true |",
        "|---|---|---:|---|",
        *(f"| {x['id']} | {x['label']} | {float(x['score']):.3f} | {x['true']} |" for x in pred["examples"]),
        "",
        "## Corpus",
        "",
        "```",
        corpus_summary,
        "```",
        "",
    ]
    report = out / "report.md"
    report.write_text("\n".join(text))
    write_json(out / "results.json", {"settings": asdict(settings), **results}, default=str)
    return report


def run_demo(out: Path, settings: DemoSettings | None = None, progress: bool = True) -> Path:
    settings = settings or DemoSettings()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        print(
            f"GeneBERT demo 1/4: corpus from the embedded hg19 chr22 slice ({settings.tile_bp} bp tiles)",
            flush=True,
        )
        corpus = build_tiled_real_corpus(out / "corpus", settings.tile_bp, settings.kmer, progress)
        print(corpus.format(), flush=True)
        print(
            f"GeneBERT demo 2/4: pre-training ({settings.pretrain_steps} steps), held-out evaluation",
            flush=True,
        )
        extra = {
            "config_overrides": f"kmer={settings.kmer},{DEMO_MODEL}",
            "learning_rate": settings.learning_rate,
            "warmup_steps": 50,
            "srm_warmup_steps": settings.srm_warmup_steps,
            "max_eval_samples": 256,  # the training curve's evaluations; the final one uses heldout_eval_samples
        }
        results: dict = {}
        results["pretrain"] = pretrain_and_evaluate(
            out / "corpus", out / "pretrain", settings.pretrain_steps, settings.batch_size, settings.seed,
            extra_arguments=extra, max_heldout_samples=settings.heldout_eval_samples,
        )  # fmt: skip
        print(json.dumps(results["pretrain"]["held_out"], indent=1), flush=True)
        print("GeneBERT demo 3/4: fine-tuning on UCI splice junctions", flush=True)
        results["finetune"] = finetune_splice(out / "pretrain", out / "finetune", settings)
        print("GeneBERT demo 4/4: export, then dna-classification predictions from the export", flush=True)
        results["predict"] = export_and_predict(out / "finetune", out, settings)
    results["minutes"] = (time.perf_counter() - started) / 60
    report = write_report(out, results, corpus.format(), settings)
    print(f"report: {report}")
    return report
