"""The ``genebert`` command line: every command's arguments and entry point, registered one way (`COMMANDS`).

    genebert demo [--kmer 6] [--fasta FILE]
    genebert build-corpus --genome FASTA (--peaks CELLTYPE=FILE ... | --matrix-dir DIR --cell-type-column COL
                          | --h5ad FILE --cell-type-column COL) --motifs SOURCE --out DIR [options]
    genebert merge-corpus --out DIR SHARD_DIR ...
    genebert scan-motifs --motifs SOURCE (--fasta FILE | --bed FILE --genome FASTA) --out TABLE.tsv|.parquet
    genebert pretrain ARGS...            (run_scripts/run_pretraining.py's arguments)
    genebert finetune ARGS...            (run_scripts/run_finetuning.py's arguments)
    genebert study STUDY.yaml [options]  (run_scripts/run_study.py)
    genebert predict | embed | export | push ...
    genebert tokenize [--fasta FILE]

Options are spelt with dashes (``--region-window-bp``); the Trainer-based commands (``pretrain``, ``finetune``)
take transformers' ``TrainingArguments`` and accept both ``--output-dir`` and ``--output_dir``. This module imports
nothing heavy at the top, so ``genebert --help`` answers at once; a command imports what it needs when it runs.
Errors about the user's input (`genebert.errors.GeneBertError`) print as one line, exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import GeneBertError, UsageError

DEMO_FASTA = "chromvar_chr22_peaks.fa"
MOTIFS_HELP = "pyjaspar release (e.g. JASPAR2018) or a JASPAR/MEME/PFM file"
OVERWRITE_HELP = "replace --out even when it holds files that are not a previous output of this command"
Arguments = Callable[[argparse.ArgumentParser], None]
# genebert.pipelines' choices, repeated so that --help does not import torch (tests/test_cli.py pins them equal)
AGGREGATIONS = ("mean", "max")
AGGREGATION_SPACES = ("probabilities", "logits")
POOLINGS = ("cls", "mean")


@dataclass(frozen=True)
class Command:
    """One ``genebert`` subcommand: ``add_arguments(parser)`` declares its options and ``run(args)`` runs it
    (returning the exit status). A ``passthrough`` command hands everything after its name to ``run`` as a list
    of strings, for scripts with a parser of their own (the Trainer-based ones)."""

    name: str
    help: str
    run: Callable[..., int]
    add_arguments: Arguments | None = None
    passthrough: bool = False


# ------------------------------------------------------------------------------------------------------ demo


def demo_fasta_path() -> Path:
    """The embedded demo data: the chr22 scATAC peaks of the chromVAR example, with hg19 sequence."""
    from .genomics.examples import demo_data_path

    return demo_data_path(DEMO_FASTA)


def run_demo(args: argparse.Namespace) -> int:
    """The whole product on real DNA shipped in the package, on a CPU: a tiled chr22 corpus, pre-training with
    held-out genome blocks and baselines, fine-tuning on UCI splice, export and prediction; writes report.md."""
    from .demo import DemoSettings
    from .demo import run_demo as run

    given = {"pretrain_steps": args.pretrain_steps, "finetune_steps": args.finetune_steps}
    settings = DemoSettings(
        seed=args.seed, **{key: value for key, value in given.items() if value is not None}
    )
    run(args.out, settings, progress=not args.no_progress)
    if args.fasta is not None:
        print()
        return _tokenize_fasta(args.fasta, args.kmer)
    return 0


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument  # defaults (None) come from genebert.demo.DemoSettings, imported only to run
    add("--pretrain-steps", type=int, default=None, help="pre-training steps (default 1500)")
    add("--finetune-steps", type=int, default=None, help="at most this many fine-tuning steps (default 600)")
    add("--seed", type=int, default=0)
    add("--no-progress", action="store_true")
    add("--kmer", type=int, default=6, help="k for --fasta")
    add("--fasta", type=Path, default=None, help="also tokenize this FASTA file and summarise")
    add("--out", type=Path, default=Path("outputs/demo"), help="where the demo writes")


def run_tokenize(args: argparse.Namespace) -> int:
    """Tokenize a FASTA file (the embedded chromVAR chr22 peaks by default) and print a summary."""
    return _tokenize_fasta(args.fasta or demo_fasta_path(), args.kmer)


def _tokenize_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kmer", type=int, default=6, help="k of the k-mer tokens (3..6)")
    parser.add_argument("--fasta", type=Path, default=None, help="a FASTA file (default: the embedded peaks)")


def _tokenize_fasta(fasta: Path, kmer: int) -> int:
    import time
    from collections import Counter

    from .genomics.sequences import read_fasta
    from .tokenization_genebert import GeneBertTokenizer

    records = list(read_fasta(fasta))
    tokenizer = GeneBertTokenizer(kmer=kmer)
    sequences = [record.sequence for record in records]
    start = time.perf_counter()
    batch = tokenizer(sequences, padding=True, truncation=True, return_tensors="np")
    seconds = time.perf_counter() - start

    ids, mask = batch["input_ids"], batch["attention_mask"].astype(bool)
    real_tokens = int(mask.sum())
    kmer_tokens = real_tokens - 2 * len(sequences)
    unknown = int((ids == tokenizer.unk_token_id).sum())
    labels = Counter(record.description.split("_")[0] or "?" for record in records)
    bases = sum(len(s) for s in sequences)
    n_bases = sum(s.upper().count("N") for s in sequences)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(labels.items()))
    print(f"  fasta              {fasta}")
    print(f"  records            {len(records)} ({counts})")
    print(f"  bases              {bases:,} ({n_bases / max(bases, 1):.1%} N)")
    print(f"  k                  {tokenizer.kmer} (vocabulary {len(tokenizer):,} tokens)")
    print(
        f"  batch              {ids.shape[0]} x {ids.shape[1]} (padded, truncated to {tokenizer.model_max_length})"
    )
    print(
        f"  k-mer tokens       {kmer_tokens:,} ({unknown / max(kmer_tokens, 1):.1%} [UNK]: k-mers touching N)"
    )
    print(f"  time               {seconds * 1e3:.1f} ms ({real_tokens / seconds / 1e6:.1f} M tokens/s)")
    first = tokenizer.convert_ids_to_tokens(ids[0][:4].tolist())
    print(f"  first record       {records[0].name} -> {first} ...")
    return 0


# ----------------------------------------------------------------------------------------------- corpora


def _load_accessibility(args: argparse.Namespace, chrom_sizes: dict[str, int]):
    from .genomics import accessibility

    peaks = None
    if args.peaks:
        peaks = {}
        for item in args.peaks:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise UsageError(f"--peaks takes CELLTYPE=FILE, got {item!r}")
            if name in peaks:
                raise UsageError(f"--peaks: cell type {name!r} given twice")
            peaks[name] = path
    try:
        return accessibility.load_accessibility(
            chrom_sizes,
            peaks=peaks,
            matrix_dirs=args.matrix_dir,
            h5ad=args.h5ad,
            cell_type_columns=args.cell_type_column,
            min_counts=args.min_counts,
            min_cells=args.min_cells,
            unknown_chroms="skip" if args.skip_unknown_chroms else "error",
        )
    except ValueError as error:
        if isinstance(error, GeneBertError):
            raise
        raise UsageError(f"build-corpus: {error}") from error


def run_build_corpus(args: argparse.Namespace) -> int:
    """Build a pre-training corpus from accessible regions, a genome and motifs."""
    from .genomics.corpus import CorpusConfig, build_corpus, default_region_window_bp, parse_shard
    from .genomics.motifs import load_motifs
    from .genomics.sequences import Genome
    from .genomics.tiles import tile_accessibility

    if args.tile is not None and args.region_window_bp is None:  # the tower reads whole tiles when they fit
        args.region_window_bp = min(args.tile, default_region_window_bp(args.kmer, args.regions_per_sample))
    # every CorpusConfig field that has an option, checked before any input is read
    options = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(CorpusConfig) if hasattr(args, f.name)
    }
    config = CorpusConfig(**options)
    shard = parse_shard(args.shard) if args.shard else None
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    with Genome(args.genome) as genome:
        sizes = dict(genome.sizes)
        given = bool(args.peaks or args.matrix_dir or args.h5ad)
        accessibility = _load_accessibility(args, sizes) if given or args.tile is None else None
        if args.tile is not None:
            accessibility = tile_accessibility(genome, args.tile, accessibility, min_tile_bp=args.kmer)
    motifs = load_motifs(args.motifs)
    summary = build_corpus(
        args.genome,
        accessibility,
        motifs,
        args.out,
        config,
        shard=shard,
        workers=args.workers,
        device=args.device,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    print(summary.format())
    return 0


def _build_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--genome", required=True, type=Path, help="reference FASTA (plain or bgzip)")
    add("--peaks", nargs="+", metavar="CELLTYPE=FILE", help="one BED/narrowPeak file per cell type")
    add("--matrix-dir", type=Path, nargs="+",
        help="folder(s) with matrix.mtx, peaks.bed, barcodes.tsv, cell_metadata.tsv (several are joined)")  # fmt: skip
    add("--h5ad", type=Path, help="AnnData file, cells x peaks")
    add("--tile", type=int, default=None, metavar="BP",
        help="regions are BP-long tiles of the genome's unambiguous blocks: one pseudo cell type 'genome', or with "
        "peaks / a matrix the tiles overlapping each cell type's regions")  # fmt: skip
    add(
        "--cell-type-column",
        nargs="+",
        help="cell-type column of the cell metadata / obs (one per input or one)",
    )
    add("--min-counts", type=int, default=1, help="pseudo-bulk count for a region to be accessible")
    add("--min-cells", type=int, default=1, help="cells with a non-zero count for a region to be accessible")
    add("--skip-unknown-chroms", action="store_true",
        help="leave out peaks on chromosomes absent from the genome (default: an error)")  # fmt: skip
    add("--motifs", required=True, help=MOTIFS_HELP)
    add("--out", required=True, type=Path, help="corpus directory (shard directory with --shard)")
    add("--kmer", type=int, default=6)
    add("--region-window-bp", type=int, default=None, help="bases per region (default: fits 512 tokens)")
    add("--regions-per-sample", type=int, default=10)
    add("--stride", type=int, default=None, help="step between samples (default: regions per sample)")
    add("--leftover", choices=["overlap", "drop"], default="overlap")
    add("--max-ambiguous-fraction", type=float, default=0.5)
    add("--chunk-size", type=int, default=4096)
    add("--motif-dtype", choices=["float32", "float16"], default="float32")
    add("--motif-scope", choices=["window", "region"], default="window",
        help="DNA the motif vector covers: the window the sequence tower reads, or the whole region")  # fmt: skip
    add("--seed", type=int, default=0)
    add("--workers", type=int, default=1, help="processes reading and scanning in parallel")
    add("--device", default=None, help="scanner device, e.g. cuda (default: CPU)")
    add("--shard", default=None, metavar="I/N", help="build shard I of N (whole chromosomes)")
    add("--no-progress", action="store_true")
    add("--overwrite", action="store_true", help=OVERWRITE_HELP)


def run_merge_corpus(args: argparse.Namespace) -> int:
    """Join the shards of a ``build-corpus --shard I/N`` build into one corpus."""
    from .genomics.corpus import merge_corpus

    print(merge_corpus(args.shards, args.out, overwrite=args.overwrite).format())
    return 0


def _merge_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("shards", nargs="+", type=Path)
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def run_scan_motifs(args: argparse.Namespace) -> int:
    """Best score of every motif (both strands) for each FASTA record or BED region, as a TSV or parquet table."""
    from .genomics.motifs import load_motifs
    from .genomics.scan import scan_to_table

    try:
        rows = scan_to_table(
            load_motifs(args.motifs),
            args.out,
            fasta=args.fasta,
            bed=args.bed,
            genome=args.genome,
            chunk_size=args.chunk_size,
            device=args.device,
            progress=not args.no_progress,
        )
    except ValueError as error:
        if isinstance(error, GeneBertError):
            raise
        raise UsageError(f"scan-motifs: {error}") from error
    print(f"wrote {rows} rows to {args.out}")
    return 0


def _scan_motifs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--motifs", required=True, help=MOTIFS_HELP)
    parser.add_argument("--fasta", type=Path, help="sequences to scan")
    parser.add_argument("--bed", type=Path, help="regions to scan (with --genome)")
    parser.add_argument("--genome", type=Path, help="the genome FASTA of --bed")
    parser.add_argument("--out", required=True, type=Path, help="output table: .tsv or .parquet")
    parser.add_argument("--chunk-size", type=int, default=2048)
    parser.add_argument("--device", default=None, help="e.g. cuda (default: CPU)")
    parser.add_argument("--no-progress", action="store_true")


# ---------------------------------------------------------------------------------------------- training


def run_pretrain(argv: Sequence[str]) -> int:
    """Pre-train on a corpus: the arguments of run_scripts/run_pretraining.py (``genebert pretrain --help``)."""
    from .training.pretrain import main

    main(list(argv))
    return 0


def run_finetune(argv: Sequence[str]) -> int:
    """Fine-tune on a task: the arguments of run_scripts/run_finetuning.py (``genebert finetune --help``)."""
    from .training.finetune import main

    main(list(argv))
    return 0


def run_study(args: argparse.Namespace) -> int:
    """Run a study (pre-training configurations x downstream tasks x seeds), resuming finished cells, and write
    results.json, results.md and PNG plots."""
    import logging
    import shlex

    from .training.study import finished, load_study, read_results, run_study, write_reports

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    overrides: dict = {}
    if args.corpus:
        overrides["corpus"] = args.corpus
    if args.seeds:
        try:
            overrides["seeds"] = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise UsageError(f"--seeds takes comma-separated integers, got {args.seeds!r}") from None
    study = load_study(args.study, args.preset, overrides)
    out = Path(args.out or Path("outputs") / "studies" / study.name)
    cache = Path(args.cache_dir or Path("outputs") / "studies" / "cache")
    if args.list:
        rows = read_results(out / "results.json")["cells"]
        for cell in study.cells():
            done = any(finished(row, cell) for row in rows)
            print(f"{'done' if done else 'todo'}  {cell.cell_id}  pretrain={cell.pretrain_hash()}")
        return 0
    if args.report_only:
        print(f"wrote {write_reports(study, out, cache).markdown_path}")
        return 0
    command = "python run_scripts/run_study.py " + " ".join(shlex.quote(a) for a in args.argv)
    summary = run_study(
        study, out, cache, args.data_root, command, overwrite=args.overwrite, pretrain_only=args.pretrain_only
    )
    print(
        f"study {study.name}: {len(summary.ran)} cells run, {len(summary.skipped)} already done, "
        f"{len(summary.pretrained)} pre-trainings, {len(summary.reused_checkpoints)} reused; {summary.markdown_path}"
    )
    return 0


def _study_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("study", help="a study YAML file, e.g. run_scripts/studies/losses.yaml")
    add("--preset", default="paper", help="a preset of the study file: 'tiny' (CPU) or 'paper'")
    add("--out", default=None, help="output folder (default outputs/studies/<name>)")
    add("--cache-dir", default=None,
        help="pre-training checkpoints by configuration hash, shared between studies (default outputs/studies/cache)")  # fmt: skip
    add("--corpus", default=None, help="demo_real, demo_synthetic or a corpus directory")
    add("--data-root", default=None, help="folder of the built-in tasks' data (GUE, ...)")
    add("--seeds", default=None, help="comma-separated seeds, e.g. 0,1,2 (overrides the file)")
    add("--list", action="store_true", help="print the cells and whether they are done; run nothing")
    add("--report-only", action="store_true", help="rewrite results.md and the PNGs; run nothing")
    add("--pretrain-only", action="store_true", help="only pre-train into --cache-dir (one run per seed)")
    add("--overwrite", action="store_true", help=OVERWRITE_HELP)


# -------------------------------------------------------------------------------------- inference and Hub


def run_predict(args: argparse.Namespace) -> int:
    """Score every record of a FASTA file with a sequence classifier; write a TSV (id, length, windows, label,
    score, one score column per class)."""
    from .inference import predict_fasta

    options = {name: getattr(args, name) for name in ("window_size", "stride", "reverse_complement", "aggregation",
                                                       "aggregation_space")}  # fmt: skip
    n = predict_fasta(args.model, args.fasta, args.out, batch_size=args.batch_size, device=args.device,
                      trust_remote_code=args.trust_remote_code, progress=not args.no_progress, **options)  # fmt: skip
    print(f"{n} sequences scored -> {args.out}")
    return 0


def _model_input_arguments(parser: argparse.ArgumentParser, model_help: str, batch_size: int) -> None:
    parser.add_argument("--model", required=True, help=model_help)
    parser.add_argument("--fasta", required=True, type=Path, help="sequences (any length)")
    parser.add_argument("--batch-size", type=int, default=batch_size, help="windows per forward pass")
    parser.add_argument(
        "--window-size", type=int, default=None, help="bases per window (default: the model's)"
    )
    parser.add_argument(
        "--stride", type=int, default=None, help="bases between windows (default: half a window)"
    )
    parser.add_argument("--trust-remote-code", action="store_true", help="load a model repo's own code")
    parser.add_argument("--no-progress", action="store_true")


def _predict_arguments(parser: argparse.ArgumentParser) -> None:
    _model_input_arguments(parser, "a fine-tuned GeneBERT classifier: directory or Hub id", 16)
    parser.add_argument("--out", required=True, type=Path, help="TSV: one row per record")
    parser.add_argument(
        "--aggregation", choices=AGGREGATIONS, default="mean", help="how windows are combined"
    )
    parser.add_argument("--aggregation-space", choices=AGGREGATION_SPACES, default="probabilities")
    parser.add_argument(
        "--reverse-complement", action="store_true", help="average both strands of every window"
    )
    parser.add_argument("--device", default=None, help="e.g. cpu, cuda, cuda:1 (default: GPU 0 if any)")


def run_embed(args: argparse.Namespace) -> int:
    """Embed every record of a FASTA file; write an ``(n, hidden_size)`` float32 array."""
    from .inference import embed_fasta

    vectors = embed_fasta(args.model, args.fasta, args.out, pooling=args.pooling, batch_size=args.batch_size,
                          window_size=args.window_size, stride=args.stride,
                          trust_remote_code=args.trust_remote_code, progress=not args.no_progress)  # fmt: skip
    shape = f"{vectors.shape[0]} x {vectors.shape[1]}"
    print(f"{len(vectors)} sequences -> {args.out} ({shape}, {args.pooling} pooling)")
    return 0


def _embed_arguments(parser: argparse.ArgumentParser) -> None:
    _model_input_arguments(parser, "a GeneBERT checkpoint: directory or Hub id", 32)
    parser.add_argument("--out", required=True, type=Path, help="NAME.npy (+ NAME.ids.txt) or NAME.parquet")
    parser.add_argument("--pooling", choices=POOLINGS, default="cls", help="[CLS] state or mean over k-mers")


def run_export(args: argparse.Namespace) -> int:
    """Turn a checkpoint into a self-contained Hub model folder (remote code, weights, tokenizer, model card)."""
    from .hub import export_checkpoint

    card = {name: getattr(args, name) for name in ("repo_id", "model_name", "description", "license",
                                                    "dataset_name", "base_model", "eval_results")}  # fmt: skip
    model, out = export_checkpoint(args.checkpoint, args.out, training_dir=args.training_dir, motifs=args.motifs,
                                   overwrite=args.overwrite, datasets=args.dataset, **card)  # fmt: skip
    if args.motifs is None and getattr(model, "region_encoder", None) is not None:
        print("note: no --motifs given, so the export has no GeneBertProcessor: its users cannot build the "
              "region_matrix from DNA")  # fmt: skip
    print(f"{type(model).__name__} -> {out} ({', '.join(sorted(p.name for p in out.iterdir()))})")
    return 0


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("checkpoint", type=Path, help="a GeneBERT checkpoint / run output directory")
    add("out", type=Path, help="the Hub-ready folder to write")
    add("--repo-id", default=None, help="the Hub id the model card's examples load from")
    add("--model-name", default=None, help="title of the model card")
    add("--description", default=None, help="a paragraph for the model card")
    add("--license", default="apache-2.0")
    add("--dataset", action="append", default=[], help="Hub data set id (repeatable)")
    add("--dataset-name", default=None, help="readable name of the evaluation data")
    add("--base-model", default=None, help="Hub id of the checkpoint it was fine-tuned from")
    add(
        "--training-dir",
        type=Path,
        default=None,
        help="run output directory (default: CHECKPOINT or its parent)",
    )
    add("--eval-results", type=Path, default=None, help="JSON of eval_*/test_* metrics")
    add("--motifs", default=None,
        help="pre-training models: the corpus's motifs (JASPAR2018 or a motif file), to ship a GeneBertProcessor "
        "that turns DNA into the model's inputs")  # fmt: skip
    add("--overwrite", action="store_true", help="replace OUT if it exists")


def run_push(args: argparse.Namespace) -> int:
    """Upload an exported folder to the Hub (a corpus folder is exported to parquet + card first)."""
    from .hub import push, push_dataset

    upload, what = (push_dataset, "data set") if args.repo_type == "dataset" else (push, "GeneBERT model")
    url = upload(args.folder, args.repo_id, token=args.token, private=args.private,
                 commit_message=args.commit_message or f"Upload {what} with genebert")  # fmt: skip
    print(f"pushed {args.folder} -> {args.repo_id}: {url}")
    return 0


def _push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folder", type=Path, help="an exported model folder, an exported data set or a corpus"
    )
    parser.add_argument("repo_id", help="e.g. user/genebert-promoter")
    parser.add_argument("--repo-type", choices=["model", "dataset"], default="model")
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or the cached login)")
    parser.add_argument("--commit-message", default=None)


# ------------------------------------------------------------------------------------------------ wiring


COMMANDS: tuple[Command, ...] = (
    Command("demo", "the end-to-end demo on the embedded real data", run_demo, _demo_arguments),
    Command("tokenize", "tokenize a FASTA file and summarise", run_tokenize, _tokenize_arguments),
    Command("build-corpus", "build a pre-training corpus", run_build_corpus, _build_corpus_arguments),
    Command("merge-corpus", "join corpus shards", run_merge_corpus, _merge_corpus_arguments),
    Command(
        "scan-motifs", "motif scores of FASTA records or BED regions", run_scan_motifs, _scan_motifs_arguments
    ),
    Command(
        "pretrain", "pre-train on a corpus (arguments of run_pretraining.py)", run_pretrain, passthrough=True
    ),
    Command(
        "finetune", "fine-tune on a task (arguments of run_finetuning.py)", run_finetune, passthrough=True
    ),
    Command("study", "run a study of the paper's section 5", run_study, _study_arguments),
    Command("predict", "score a FASTA file with a classifier (TSV out)", run_predict, _predict_arguments),
    Command("embed", "embed a FASTA file (.npy or .parquet out)", run_embed, _embed_arguments),
    Command("export", "checkpoint -> self-contained Hub model folder", run_export, _export_arguments),
    Command("push", "upload an exported folder (or a corpus) to the Hub", run_push, _push_arguments),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genebert", description="GeneBERT: multi-modal pre-training for the regulatory genome"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.run.__doc__,
            add_help=not command.passthrough,  # a passthrough script's own parser answers --help
            prog=f"genebert {command.name}",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        if command.add_arguments is not None:
            command.add_arguments(sub)
        sub.set_defaults(command_spec=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = build_parser().parse_known_args(argv)
    command: Command = args.command_spec
    if command.passthrough:
        return command.run(extra)
    if extra:
        build_parser().error(f"unrecognized arguments: {' '.join(extra)}")
    args.argv = argv[1:]
    return command.run(args)


def console_main(argv: Sequence[str] | None = None) -> int:
    """The ``genebert`` command: :func:`main`, with errors about the user's input (`GeneBertError`) printed as one
    line (``genebert: error: PATH:LINE: reason``, exit status 2) instead of a traceback. ``GENEBERT_TRACEBACK=1``
    shows the traceback; :func:`main` itself raises, for callers and tests."""
    try:
        return main(argv)
    except Exception as error:
        if not isinstance(error, GeneBertError) or os.environ.get("GENEBERT_TRACEBACK"):
            raise
        print(f"genebert: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(console_main())
