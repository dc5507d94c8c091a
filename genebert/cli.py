"""The ``genebert`` command line.

    genebert demo [--kmer 6] [--fasta FILE]

Subcommands are added as the library grows; ``genebert SUBCOMMAND --help`` documents each.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from .genomics.sequences import read_fasta
from .tokenization_genebert import GeneBertTokenizer

DEMO_FASTA = "chromvar_chr22_peaks.fa"


def demo_fasta_path() -> Path:
    """The embedded demo data: the chr22 scATAC peaks of the chromVAR example, with hg19 sequence."""
    return Path(str(resources.files("genebert") / "demo_data" / DEMO_FASTA))


def run_demo(args: argparse.Namespace) -> int:
    fasta = args.fasta or demo_fasta_path()
    records = list(read_fasta(fasta))
    tokenizer = GeneBertTokenizer(kmer=args.kmer)
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
    print(f"GeneBERT demo: tokenizing {fasta}")
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
    first = records[0]
    print(f"  first record       {first.name} -> {tokenizer.convert_ids_to_tokens(ids[0][:4].tolist())} ...")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genebert", description="GeneBERT: multi-modal pre-training for the regulatory genome"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="run the demo on the embedded real data", description=run_demo.__doc__
    )
    demo.add_argument("--kmer", type=int, default=6, help="k of the k-mer tokens (3..6)")
    demo.add_argument(
        "--fasta", type=Path, default=None, help="a FASTA file instead of the embedded demo data"
    )
    demo.set_defaults(handler=run_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
