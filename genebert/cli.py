"""The ``genebert`` command line.

    genebert demo [--kmer 6] [--fasta FILE]
    genebert build-corpus --genome FASTA (--peaks CELLTYPE=FILE ... | --matrix-dir DIR --cell-type-column COL
                          | --h5ad FILE --cell-type-column COL) --motifs SOURCE --out DIR [options]
    genebert merge-corpus --out DIR SHARD_DIR ...
    genebert scan-motifs --motifs SOURCE (--fasta FILE | --bed FILE --genome FASTA) --out TABLE.tsv|.parquet
    genebert pretrain ARGS...            (run_scripts/run_pretraining.py's arguments)
    genebert finetune ARGS...            (run_scripts/run_finetuning.py's arguments)
    genebert study STUDY.yaml ARGS...    (run_scripts/run_study.py's arguments)
    genebert predict | embed | export | push ...
    genebert tokenize [--fasta FILE]

Subcommands are added as the library grows; ``genebert SUBCOMMAND --help`` documents each.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .demo import demo_data_path
from .genomics.errors import InputFileError
from .genomics.sequences import read_fasta
from .tokenization_genebert import GeneBertTokenizer

DEMO_FASTA = "chromvar_chr22_peaks.fa"


def demo_fasta_path() -> Path:
    """The embedded demo data: the chr22 scATAC peaks of the chromVAR example, with hg19 sequence."""
    return demo_data_path(DEMO_FASTA)


def run_demo(args: argparse.Namespace) -> int:
    """Real data to a pre-trained model and a report, on a CPU: build corpora (embedded real data and a synthetic
    one with planted motifs), pre-train the tiny preset, evaluate against baselines, write report.md."""
    from .demo import DemoSettings
    from .demo import run_demo as run

    settings = DemoSettings(real_steps=args.real_steps, synthetic_steps=args.synthetic_steps, seed=args.seed)
    run(args.out, settings, progress=not args.no_progress)
    if args.fasta is not None:
        print()
        return _tokenize_fasta(args.fasta, args.kmer)
    return 0


def run_tokenize(args: argparse.Namespace) -> int:
    """Tokenize a FASTA file (the embedded chromVAR chr22 peaks by default) and print a summary."""
    return _tokenize_fasta(args.fasta or demo_fasta_path(), args.kmer)


def run_pretrain(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """Pre-train on a corpus: the arguments of run_scripts/run_pretraining.py (``genebert pretrain --help``)."""
    from .training.pretrain import main as pretrain

    pretrain(list(extra))
    return 0


def _tokenize_fasta(fasta: Path, kmer: int) -> int:
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
    print(f"  fasta              {fasta}")
    print(
        f"  records            {len(records)} ({', '.join(f'{k}: {v}' for k, v in sorted(labels.items()))})"
    )
    print(f"  bases              {bases:,} ({n_bases / max(bases, 1):.1%} N)")
    print(f"  k                  {tokenizer.kmer} (vocabulary {len(tokenizer):,} tokens)")
    print(
        f"  batch              {ids.shape[0]} x {ids.shape[1]} (padded, truncated to {tokenizer.model_max_length})"
    )
    print(
        f"  k-mer tokens       {kmer_tokens:,} ({unknown / max(kmer_tokens, 1):.1%} [UNK]: k-mers touching N)"
    )
    print(f"  time               {seconds * 1e3:.1f} ms ({real_tokens / seconds / 1e6:.1f} M tokens/s)")
    print(
        f"  first record       {records[0].name} -> {tokenizer.convert_ids_to_tokens(ids[0][:4].tolist())} ..."
    )
    return 0


def _load_accessibility(args: argparse.Namespace, chrom_sizes: dict[str, int]):
    from .genomics import accessibility

    peaks = None
    if args.peaks:
        peaks = {}
        for item in args.peaks:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise SystemExit(f"--peaks takes CELLTYPE=FILE, got {item!r}")
            if name in peaks:
                raise SystemExit(f"--peaks: cell type {name!r} given twice")
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
        if isinstance(error, InputFileError):
            raise
        raise SystemExit(f"build-corpus: {error}") from error


def run_build_corpus(args: argparse.Namespace) -> int:
    """Build a pre-training corpus from accessible regions, a genome and motifs."""
    from .genomics.corpus import CorpusConfig, build_corpus, parse_shard
    from .genomics.motifs import load_motifs
    from .genomics.sequences import Genome

    with Genome(args.genome) as genome:
        sizes = dict(genome.sizes)
    accessibility = _load_accessibility(args, sizes)
    motifs = load_motifs(args.motifs)
    config = CorpusConfig(
        kmer=args.kmer,
        region_window_bp=args.region_window_bp,
        regions_per_sample=args.regions_per_sample,
        stride=args.stride,
        leftover=args.leftover,
        max_ambiguous_fraction=args.max_ambiguous_fraction,
        chunk_size=args.chunk_size,
        motif_dtype=args.motif_dtype,
        seed=args.seed,
    )
    shard = parse_shard(args.shard) if args.shard else None
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
    )
    print(summary.format())
    return 0


def run_merge_corpus(args: argparse.Namespace) -> int:
    """Join the shards of a ``build-corpus --shard I/N`` build into one corpus."""
    from .genomics.corpus import merge_corpus

    print(merge_corpus(args.shards, args.out).format())
    return 0


def _add_build_corpus(commands) -> None:
    build = commands.add_parser(
        "build-corpus",
        help="build a pre-training corpus",
        description=run_build_corpus.__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    build.add_argument("--genome", required=True, type=Path, help="reference FASTA (plain or bgzip)")
    build.add_argument(
        "--peaks", nargs="+", metavar="CELLTYPE=FILE", help="one BED/narrowPeak file per cell type"
    )
    build.add_argument(
        "--matrix-dir",
        type=Path,
        nargs="+",
        help="folder(s) with matrix.mtx, peaks.bed, barcodes.tsv, cell_metadata.tsv (several are joined)",
    )
    build.add_argument("--h5ad", type=Path, help="AnnData file, cells x peaks")
    build.add_argument(
        "--cell-type-column",
        nargs="+",
        help="cell-type column of the cell metadata / obs (one per --matrix-dir, or one for all)",
    )
    build.add_argument(
        "--min-counts", type=int, default=1, help="pseudo-bulk count for a region to be accessible"
    )
    build.add_argument(
        "--min-cells", type=int, default=1, help="cells with a non-zero count for a region to be accessible"
    )
    build.add_argument(
        "--skip-unknown-chroms",
        action="store_true",
        help="leave out peaks on chromosomes absent from the genome (default: an error)",
    )
    build.add_argument(
        "--motifs", required=True, help="pyjaspar release (e.g. JASPAR2018) or a JASPAR/MEME/PFM file"
    )
    build.add_argument(
        "--out", required=True, type=Path, help="corpus directory (shard directory with --shard)"
    )
    build.add_argument("--kmer", type=int, default=6)
    build.add_argument(
        "--region-window-bp",
        type=int,
        default=None,
        help="bases per region for the sequence tower (default: fits 512 tokens)",
    )
    build.add_argument("--regions-per-sample", type=int, default=10)
    build.add_argument(
        "--stride", type=int, default=None, help="step between samples (default: regions per sample)"
    )
    build.add_argument("--leftover", choices=["overlap", "drop"], default="overlap")
    build.add_argument("--max-ambiguous-fraction", type=float, default=0.5)
    build.add_argument("--chunk-size", type=int, default=4096)
    build.add_argument("--motif-dtype", choices=["float32", "float16"], default="float32")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--workers", type=int, default=1, help="processes reading and scanning in parallel")
    build.add_argument("--device", default=None, help="scanner device, e.g. cuda (default: CPU)")
    build.add_argument("--shard", default=None, metavar="I/N", help="build shard I of N (whole chromosomes)")
    build.add_argument("--no-progress", action="store_true")
    build.set_defaults(handler=run_build_corpus)

    merge = commands.add_parser(
        "merge-corpus", help="join corpus shards", description=run_merge_corpus.__doc__
    )
    merge.add_argument("--out", required=True, type=Path)
    merge.add_argument("shards", nargs="+", type=Path)
    merge.set_defaults(handler=run_merge_corpus)


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
        if isinstance(error, InputFileError):
            raise
        raise SystemExit(f"scan-motifs: {error}") from error
    print(f"wrote {rows} rows to {args.out}")
    return 0


def _add_scan_motifs(commands) -> None:
    scan = commands.add_parser(
        "scan-motifs",
        help="motif scores of FASTA records or BED regions",
        description=run_scan_motifs.__doc__,
    )
    scan.add_argument(
        "--motifs", required=True, help="pyjaspar release (e.g. JASPAR2018) or a JASPAR/MEME/PFM file"
    )
    scan.add_argument("--fasta", type=Path, help="sequences to scan")
    scan.add_argument("--bed", type=Path, help="regions to scan (with --genome)")
    scan.add_argument("--genome", type=Path, help="the genome FASTA of --bed")
    scan.add_argument("--out", required=True, type=Path, help="output table: .tsv or .parquet")
    scan.add_argument("--chunk-size", type=int, default=2048)
    scan.add_argument("--device", default=None, help="e.g. cuda (default: CPU)")
    scan.add_argument("--no-progress", action="store_true")
    scan.set_defaults(handler=run_scan_motifs)


def run_finetune(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """Fine-tune on a task: the arguments of run_scripts/run_finetuning.py (``genebert finetune --help``)."""
    from .training.finetune import main as finetune

    finetune(list(extra))
    return 0


def run_study(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """Run a study (pre-training configurations x downstream tasks x seeds; resumes finished cells): the
    arguments of run_scripts/run_study.py (``genebert study --help``)."""
    from .training.study import main as study

    return study(list(extra))


def _add_hub_and_inference(commands) -> None:
    from .hub import add_export_arguments, add_push_arguments, cli_export, cli_push
    from .pipelines import add_embed_arguments, add_predict_arguments, cli_embed, cli_predict

    for name, help_text, add_arguments, handler in (
        ("predict", "score a FASTA file with a classifier (TSV out)", add_predict_arguments, cli_predict),
        ("embed", "embed a FASTA file (.npy or .parquet out)", add_embed_arguments, cli_embed),
        ("export", "checkpoint -> self-contained Hub model folder", add_export_arguments, cli_export),
        ("push", "upload an exported folder (or a corpus) to the Hub", add_push_arguments, cli_push),
    ):
        sub = commands.add_parser(name, help=help_text, description=handler.__doc__)
        add_arguments(sub)
        sub.set_defaults(handler=handler)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genebert", description="GeneBERT: multi-modal pre-training for the regulatory genome"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="the end-to-end demo on the embedded real data", description=run_demo.__doc__
    )
    demo.add_argument("--real-steps", type=int, default=150, help="pre-training steps on the real corpus")
    demo.add_argument(
        "--synthetic-steps", type=int, default=600, help="pre-training steps on the synthetic corpus"
    )
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--no-progress", action="store_true")
    demo.add_argument("--kmer", type=int, default=6, help="k for --fasta")
    demo.add_argument("--fasta", type=Path, default=None, help="also tokenize this FASTA file and summarise")
    demo.add_argument(
        "--out", type=Path, default=Path("outputs/demo"), help="where the demo writes its outputs"
    )
    demo.set_defaults(handler=run_demo)
    tokenize = commands.add_parser(
        "tokenize", help="tokenize a FASTA file and summarise", description=run_tokenize.__doc__
    )
    tokenize.add_argument("--kmer", type=int, default=6, help="k of the k-mer tokens (3..6)")
    tokenize.add_argument(
        "--fasta", type=Path, default=None, help="a FASTA file (default: the embedded demo peaks)"
    )
    tokenize.set_defaults(handler=run_tokenize)
    # Commands that hand their arguments to a run script's parser (which also gives their --help).
    for name, handler, summary in (
        ("pretrain", run_pretrain, "pre-train on a corpus (arguments of run_pretraining.py)"),
        ("finetune", run_finetune, "fine-tune on a task (arguments of run_finetuning.py)"),
        ("study", run_study, "run a study of the paper's section 5 (arguments of run_study.py)"),
    ):
        command = commands.add_parser(
            name, help=summary, add_help=False, prog=f"genebert {name}", description=handler.__doc__
        )
        command.set_defaults(handler=handler, passthrough=True)
    _add_build_corpus(commands)
    _add_scan_motifs(commands)
    _add_hub_and_inference(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = build_parser().parse_known_args(argv)
    if getattr(args, "passthrough", False):
        return args.handler(args, extra)
    if extra:
        build_parser().error(f"unrecognized arguments: {' '.join(extra)}")
    return args.handler(args)


def _is_user_error(error: BaseException) -> bool:
    """Errors about the user's files, folders or models, whose message says all there is to say."""
    from .modeling_genebert import GeneBertLoadingError
    from .storage import OutputLocationError

    known: tuple[type[BaseException], ...] = (InputFileError, OutputLocationError, GeneBertLoadingError)
    pretrain = sys.modules.get("genebert.training.pretrain")  # loaded if it raised
    if pretrain is not None:
        known += (pretrain.MotifMismatchError,)
    return isinstance(error, known)


def console_main(argv: Sequence[str] | None = None) -> int:
    """The ``genebert`` command: :func:`main`, with errors about the user's input printed as one line
    (``genebert: error: PATH:LINE: reason``, exit status 2) instead of a traceback. ``GENEBERT_TRACEBACK=1``
    shows the traceback; :func:`main` itself raises, for callers and tests."""
    try:
        return main(argv)
    except Exception as error:
        if not _is_user_error(error) or os.environ.get("GENEBERT_TRACEBACK"):
            raise
        print(f"genebert: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(console_main())
