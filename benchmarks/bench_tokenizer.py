"""Tokenizer throughput: GeneBertTokenizer vs the DNABERT way, in one run.

    .venv/bin/python benchmarks/bench_tokenizer.py [--sequences 2000] [--length 512] [--repeats 5]

Writes benchmarks/results/tokenizer.json and prints a table of tokens/s for a batch call with padding to
512 and ``return_tensors="pt"``:

(a) GeneBertTokenizer.__call__ (vectorised batch path),
(b) DNABERT's way: space-separated k-mers through transformers' slow WordPiece tokenizer
    (``BertTokenizerLegacy``) with the same vocab.txt,
(c) the same through the fast, tokenizers-backed ``BertTokenizer``,
(d) a floor: one numpy lookup-table pass over the bytes (no k-mers, no padding, no tensors).

(a), (b) and (c) must give identical ids; the run fails otherwise.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import BertTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

from genebert import GeneBertTokenizer

RESULTS = Path(__file__).resolve().parent / "results" / "tokenizer.json"


def random_sequences(count: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    return [letters[rng.integers(0, 4, length)].tobytes().decode() for _ in range(count)]


def spaced_kmers(sequence: str, k: int) -> str:
    return " ".join(sequence[i : i + k] for i in range(len(sequence) - k + 1))


def time_call(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    function()  # warm-up
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sequences", type=int, default=2000)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--kmer", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slow-repeats", type=int, default=1, help="repeats for the slow WordPiece path (b)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    sequences = random_sequences(args.sequences, args.length)
    ours = GeneBertTokenizer(kmer=args.kmer)
    with tempfile.TemporaryDirectory() as tmp:
        ours.save_vocabulary(tmp)
        vocab = str(Path(tmp) / "vocab.txt")
        # DNABERT's tokenizer is BERT's with do_lower_case=False over space-separated k-mers.
        legacy = BertTokenizerLegacy(vocab, do_lower_case=False, tokenize_chinese_chars=False)
        fast = BertTokenizer(vocab=vocab, do_lower_case=False, tokenize_chinese_chars=False)
    spaced = [spaced_kmers(s, args.kmer) for s in sequences]
    call = dict(
        padding="max_length", truncation=True, max_length=512, return_tensors="pt", return_token_type_ids=True
    )
    byte_table = np.zeros(256, dtype=np.uint8)
    for code, base in enumerate(b"ATCG"):
        byte_table[base] = code
    joined = "".join(sequences)

    def floor() -> np.ndarray:
        return byte_table[np.frombuffer(joined.encode("ascii"), dtype=np.uint8)]

    runs = {
        "a_genebert": (lambda: ours(sequences, **call), args.repeats),
        "b_dnabert_slow_wordpiece": (lambda: legacy(spaced, **call), args.slow_repeats),
        "c_dnabert_fast_wordpiece": (lambda: fast(spaced, **call), args.repeats),
        "d_numpy_lookup_floor": (floor, args.repeats),
    }
    tokens = sum(min(len(s) - args.kmer + 1, 510) + 2 for s in sequences)
    seconds, outputs = {}, {}
    for name, (function, repeats) in runs.items():
        seconds[name], outputs[name] = time_call(function, repeats)
        print(f"  {name}: {seconds[name] * 1e3:.1f} ms", flush=True)

    reference = outputs["a_genebert"]
    for name in ("b_dnabert_slow_wordpiece", "c_dnabert_fast_wordpiece"):
        for key in ("input_ids", "token_type_ids", "attention_mask"):
            if not torch.equal(reference[key], outputs[name][key]):
                raise SystemExit(f"{name} gives different {key} from GeneBertTokenizer")

    rates = {name: tokens / s for name, s in seconds.items()}
    rates["d_numpy_lookup_floor"] = len(joined) / seconds["d_numpy_lookup_floor"]  # bytes/s, one per token
    result = {
        "benchmark": "tokenizer",
        "sequences": args.sequences,
        "length_bp": args.length,
        "kmer": args.kmer,
        "tokens": tokens,
        "threads": args.threads,
        "seconds": seconds,
        "tokens_per_second": rates,
        "speedup_a_over_b": rates["a_genebert"] / rates["b_dnabert_slow_wordpiece"],
        "speedup_a_over_c": rates["a_genebert"] / rates["c_dnabert_fast_wordpiece"],
        "ids_identical": True,
        "versions": {
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result, indent=2) + "\n")
    temporary.replace(args.out)

    print(f"\n{args.sequences} x {args.length} bp, k={args.kmer}, padding to 512, return_tensors='pt'")
    print(f"| {'tokenizer':<28} | {'M tokens/s':>10} | {'ms / batch':>10} |")
    print(f"|{'-' * 30}|{'-' * 12}|{'-' * 12}|")
    for name, rate in rates.items():
        print(f"| {name:<28} | {rate / 1e6:>10.2f} | {seconds[name] * 1e3:>10.1f} |")
    print(
        f"\n(a)/(b) = {result['speedup_a_over_b']:.0f}x (target >= 100x); "
        f"(a)/(c) = {result['speedup_a_over_c']:.1f}x (target >= 20x); ids identical: yes"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
