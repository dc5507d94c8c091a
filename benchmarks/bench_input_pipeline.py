"""Input pipeline throughput at the paper's base setting, beside the model step it has to feed.

A corpus is built at the paper's base setting (10 regions per sample, 55 bp windows so that a sample is 512 tokens
at k = 6, the 579 JASPAR 2018 motifs: a 10 x 579 region matrix) from a synthetic genome. Then, in one run:

1. Stages, one core, in the training process: corpus rows (the DataLoader's ``__getitems__`` on the samples
   table), then the collator (sample assembly, tokenisation, span masking, NGSP negatives, region matrix, the
   padded batch); the collator's time is split into its parts by timing the functions it calls.
2. The DataLoader as the Trainer builds it (random sampler, the collator, ``num_workers`` 0 = the training
   process, then N worker processes with persistent workers and a prefetch factor of 4): samples/s.
3. The model step: GeneBertForPreTraining at the base preset (BERT-base + swin_tiny, "pad" input), forward +
   backward + AdamW on real collated batches: FLOPs per sample (torch's flop counter) and the CPU's samples/s.
4. What a GPU consumes: FLOPs per sample over an assumed throughput (stated below), i.e. the samples/s one GPU
   asks for, and how many input cores that needs at the measured per-core rate.

    .venv/bin/python benchmarks/bench_input_pipeline.py               # 20,000 regions, workers 1 2
    .venv/bin/python benchmarks/bench_input_pipeline.py --quick       # fewer batches, model batch 1

Writes benchmarks/results/input_pipeline.json (or --output) and prints a table. Target: >= 1,000 samples/s per core.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_corpus_build import write_inputs  # noqa: E402

import genebert.data.collator as collator_module  # noqa: E402
from genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer  # noqa: E402
from genebert.data import DataCollatorForGenomeModeling, RegionStore  # noqa: E402
from genebert.genomics.corpus import load_corpus  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "input_pipeline.json"
TARGET_PER_CORE = 1_000
# Assumed accelerator throughput: peak dense bf16 tensor-core FLOP/s (vendor data sheets) at a model FLOP
# utilisation of 40 %, typical of well-fed BERT-base pre-training. Assumptions, not measurements.
ASSUMED_MFU = 0.40
ACCELERATORS = {"A100 (312 TFLOP/s bf16)": 312e12, "H100 SXM (989 TFLOP/s bf16)": 989e12}


def build_corpus(folder: Path, regions: int) -> Path:
    from genebert.genomics import accessibility as acc
    from genebert.genomics.corpus import CorpusConfig
    from genebert.genomics.corpus import build_corpus as build
    from genebert.genomics.motifs import load_motifs
    from genebert.genomics.sequences import Genome

    genome, peaks = write_inputs(folder, regions)
    with Genome(genome) as handle:
        sizes = dict(handle.sizes)
    out = folder / "corpus"
    build(
        genome,
        acc.from_peak_files(peaks, sizes),
        load_motifs("JASPAR2018"),
        out,
        CorpusConfig(),
        progress=False,
    )
    return out


def make_collator(corpus) -> DataCollatorForGenomeModeling:
    tokenizer = GeneBertTokenizer(kmer=corpus.metadata["config"]["kmer"])
    return DataCollatorForGenomeModeling(
        tokenizer, RegionStore(corpus.regions), np.asarray(corpus.samples["region_ids"]), seed=0
    )


def stage_times(corpus, collator, batch_size: int, batches: int) -> dict[str, Any]:
    """One core, in process: row fetch and collation per sample, and the collator's parts."""
    samples = corpus.samples
    order = np.random.default_rng(0).permutation(len(samples))
    index_batches = [order[i * batch_size : (i + 1) * batch_size].tolist() for i in range(batches)]
    index_batches = [b for b in index_batches if b]
    n = sum(len(b) for b in index_batches)
    collator(samples.__getitems__(index_batches[0]))  # warm-up

    started, cpu_started = time.perf_counter(), time.process_time()
    rows = [samples.__getitems__(b) for b in index_batches]
    fetch, fetch_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    started, cpu_started = time.perf_counter(), time.process_time()
    for batch_rows in rows:
        collator(batch_rows)
    collate, collate_cpu = time.perf_counter() - started, time.process_time() - cpu_started

    # the parts: time the functions the collator calls (a second pass, with the timing wrappers in place)
    spent = {
        "tokenisation (k-mer encoding)": 0.0,
        "span masking (with re-encoding of randomised spans)": 0.0,
        "region matrix": 0.0,
    }
    encoder, store = collator.tokenizer.encoder, collator.store
    original = (encoder.encode_batch, collator_module.mask_regions, store.motif_scores)
    depth = {"masking": 0}

    clock = time.process_time  # CPU time: the machine may be shared

    def timed_encode(sequences):
        t = clock()
        try:
            return original[0](sequences)
        finally:
            if not depth["masking"]:
                spent["tokenisation (k-mer encoding)"] += clock() - t

    def timed_mask(*args, **kwargs):
        t = clock()
        depth["masking"] += 1
        try:
            return original[1](*args, **kwargs)
        finally:
            depth["masking"] -= 1
            spent["span masking (with re-encoding of randomised spans)"] += clock() - t

    def timed_motifs(ids):
        t = clock()
        try:
            return original[2](ids)
        finally:
            spent["region matrix"] += clock() - t

    encoder.encode_batch, collator_module.mask_regions, store.motif_scores = (
        timed_encode,
        timed_mask,
        timed_motifs,
    )
    try:
        started = time.process_time()
        for batch_rows in rows:
            collator(batch_rows)
        instrumented = time.process_time() - started
    finally:
        encoder.encode_batch, collator_module.mask_regions = original[0], original[1]
        store.motif_scores = original[2]
    spent["sample assembly, NGSP negatives, padding, tensors"] = instrumented - sum(spent.values())
    per_sample_us = {name: round(seconds / n * 1e6, 1) for name, seconds in spent.items()}
    return {
        "samples": n,
        "row_fetch_cpu_us_per_sample": round(fetch_cpu / n * 1e6, 1),
        "collate_cpu_us_per_sample": round(collate_cpu / n * 1e6, 1),
        "samples_per_cpu_second": round(n / (fetch_cpu + collate_cpu), 1),
        "samples_per_s_wall": round(n / (fetch + collate), 1),
        "collate_parts_cpu_us_per_sample (instrumented pass)": per_sample_us,
    }


def loader_throughput(corpus, collator, batch_size: int, batches: int, workers: int) -> dict[str, Any]:
    """The DataLoader the Trainer builds (random sampler, collator), timed after its first batch."""
    kwargs: dict[str, Any] = {}
    if workers:
        kwargs = {"persistent_workers": True, "prefetch_factor": 4}
    loader = DataLoader(
        corpus.samples,
        batch_size=batch_size,
        sampler=RandomSampler(corpus.samples, generator=torch.Generator().manual_seed(0)),
        collate_fn=collator,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        **kwargs,
    )
    seen, started, first = 0, None, True
    cpu_before: dict[int, float] = {}
    while True:
        for batch in loader:
            if first:  # worker start-up and the first prefetch are not throughput
                first, started, cpu_before = False, time.perf_counter(), _cpu_seconds()
                continue
            seen += batch["input_ids"].shape[0]
            if seen >= batches * batch_size:
                break
        if seen >= batches * batch_size:
            break
    seconds = time.perf_counter() - started
    cpu_after = _cpu_seconds()
    cpu = sum(cpu_after[pid] - cpu_before.get(pid, 0.0) for pid in cpu_after)
    del loader
    return {
        "workers": workers,
        "samples": seen,
        "samples_per_s_wall": round(seen / seconds, 1),
        "cpu_seconds_all_processes": round(cpu, 2),
        "samples_per_cpu_second": round(seen / cpu, 1),
    }


def _cpu_seconds() -> dict[int, float]:
    """User + system CPU seconds of this process and of each of its children (DataLoader workers), by pid."""
    import psutil

    me = psutil.Process()
    found = {}
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        found[process.pid] = times.user + times.system
    return found


def model_step(corpus, collator, batch: int, steps: int) -> dict[str, Any]:
    config = GeneBertConfig.base(
        kmer=corpus.metadata["config"]["kmer"],
        num_motifs=len(corpus.motif_names),
        num_regions=corpus.metadata["config"]["regions_per_sample"],
    )
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    rows = corpus.samples.__getitems__(list(range(batch)))
    inputs = collator(rows)
    with FlopCounterMode(display=False) as counter:
        model(**inputs).loss.backward()
    model.zero_grad(set_to_none=True)
    flops = int(counter.get_total_flops())
    times = []
    for step in range(steps):
        inputs = collator(corpus.samples.__getitems__(list(range(step * batch, (step + 1) * batch))))
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        model(**inputs).loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    seconds = min(times)
    return {
        "preset": "base (BERT-base 12 x 768 + swin_tiny, pad input)",
        "parameters_millions": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "batch": batch,
        "tokens_per_sample": int(inputs["input_ids"].shape[1]),
        "region_matrix": list(inputs["region_matrix"].shape[1:]),
        "train_flops_per_sample": flops // batch,
        "cpu_step_seconds": round(seconds, 2),
        "cpu_samples_per_s": round(batch / seconds, 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=20_000, help="regions of the synthetic corpus")
    parser.add_argument("--corpus", type=Path, help="use this corpus instead of building one")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=40, help="timed batches per measurement")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model-batch", type=int, default=2)
    parser.add_argument("--model-steps", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="10 batches, model batch 1, one model step")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.model_batch, args.model_steps = 10, 1, 1
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        corpus_dir = args.corpus or build_corpus(Path(tmp), args.regions)
        corpus = load_corpus(corpus_dir)
        build_seconds = time.perf_counter() - started
        collator = make_collator(corpus)
        sample = collator(corpus.samples.__getitems__([0]))
        assert sample["region_matrix"].shape[1:] == (10, 579), sample["region_matrix"].shape
        stages = stage_times(corpus, collator, args.batch_size, args.batches)
        loaders = [
            loader_throughput(corpus, collator, args.batch_size, args.batches, w) for w in [0, *args.workers]
        ]
        threads = 2 if (os.cpu_count() or 1) >= 2 else 1
        torch.set_num_threads(threads)
        model = model_step(corpus, collator, args.model_batch, args.model_steps)
        model["threads"] = threads
        n_samples, n_regions = len(corpus.samples), len(corpus.regions)

    # per core = samples per CPU-second of the whole pipeline in the training process (num_workers 0): what one
    # core delivers when it does nothing else; wall-clock rates depend on what else runs on a shared machine
    per_core = loaders[0]["samples_per_cpu_second"]
    gpu = {}
    for name, peak in ACCELERATORS.items():
        wanted = ASSUMED_MFU * peak / model["train_flops_per_sample"]
        gpu[name] = {
            "assumed_effective_flops": ASSUMED_MFU * peak,
            "samples_per_s_consumed": round(wanted, 1),
            "input_cores_needed_at_measured_rate": round(wanted / per_core, 2),
        }
    result = {
        "benchmark": "input_pipeline",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "corpus": {
            "regions": n_regions,
            "samples": n_samples,
            "tokens_per_sample": model["tokens_per_sample"],
            "region_matrix": model["region_matrix"],
            "build_seconds": round(build_seconds, 1),
        },
        "batch_size": args.batch_size,
        "stages_one_core": stages,
        "dataloader": loaders,
        "model_step": model,
        "gpu_consumption": {"assumed_mfu": ASSUMED_MFU, "accelerators": gpu},
        "target_samples_per_s_per_core": TARGET_PER_CORE,
        "per_core_samples_per_s": per_core,
        "meets_target": per_core >= TARGET_PER_CORE,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print_table(result)
    return result


def print_table(result: dict[str, Any]) -> None:
    stages = result["stages_one_core"]
    print(f"corpus: {result['corpus']['samples']} samples, {result['corpus']['tokens_per_sample']} tokens, "
          f"region matrix {result['corpus']['region_matrix']}; load average {result['machine']['load_average_1_5_15']}")  # fmt: skip
    print(f"one core, CPU time: rows {stages['row_fetch_cpu_us_per_sample']} us + collate "
          f"{stages['collate_cpu_us_per_sample']} us per sample = {stages['samples_per_cpu_second']} samples per "
          f"CPU-second ({stages['samples_per_s_wall']} samples/s wall)")  # fmt: skip
    for name, us in stages["collate_parts_cpu_us_per_sample (instrumented pass)"].items():
        print(f"    {name:<56} {us:>8.1f} us/sample")
    print("| DataLoader workers | samples/s (wall) | samples per CPU-second (all processes) |")
    print("|---:|---:|---:|")
    for entry in result["dataloader"]:
        print(
            f"| {entry['workers']} | {entry['samples_per_s_wall']:,.0f} | {entry['samples_per_cpu_second']:,.0f} |"
        )
    model = result["model_step"]
    print(f"model step ({model['preset']}, batch {model['batch']}, {model['threads']} threads): "
          f"{model['train_flops_per_sample'] / 1e9:,.0f} GFLOP/sample, CPU {model['cpu_samples_per_s']} samples/s")  # fmt: skip
    for name, entry in result["gpu_consumption"]["accelerators"].items():
        print(f"  {name} at {result['gpu_consumption']['assumed_mfu']:.0%} MFU: {entry['samples_per_s_consumed']:,.0f} "
              f"samples/s = {entry['input_cores_needed_at_measured_rate']} input cores")  # fmt: skip
    verdict = "meets" if result["meets_target"] else "does NOT meet"
    print(f"per core (samples per CPU-second, workers 0) {result['per_core_samples_per_s']:,.0f}: {verdict} the target of "
          f"{result['target_samples_per_s_per_core']:,}")  # fmt: skip


if __name__ == "__main__":
    main()
