"""End-to-end corpus build: regions/s and peak memory at 10k, 100k and 1M regions.

    .venv/bin/python benchmarks/bench_corpus_build.py [--sizes 10000 100000 1000000] [--workers 1]

A synthetic genome (random sequence, 20 chromosomes, sized to the largest run) and synthetic peaks (500 bp,
two cell types sharing most regions) are written to a temporary folder; each size is then built by
``genebert build-corpus`` against the 579 JASPAR 2018 motifs in a fresh process, so its peak RSS is its own.
Writes benchmarks/results/corpus_build.json and prints a table. Targets: >= 2,000 regions/s end to end,
time linear in regions, peak RSS under 2 GiB at 1M regions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "corpus_build.json"
CHROMOSOMES = 20
SPACING = 400  # bp between region starts; regions are 500 bp, so neighbours overlap (distinct intervals)


def write_inputs(folder: Path, regions: int, seed: int = 0) -> tuple[Path, dict[str, Path]]:
    rng = np.random.default_rng(seed)
    per_chrom = -(-regions // CHROMOSOMES)
    length = -(-(per_chrom * SPACING + 1_000) // 60) * 60  # whole 60-bp lines
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    genome = folder / "genome.fa"
    with open(genome, "wb") as handle:
        for index in range(CHROMOSOMES):
            lines = np.full((length // 60, 61), ord("\n"), dtype=np.uint8)
            lines[:, :60] = letters[rng.integers(0, 4, length)].reshape(-1, 60)
            handle.write(f">chr{index + 1}\n".encode() + lines.tobytes())
    peaks = {}
    for cell_type, keep in (("typeA", 0.9), ("typeB", 0.8)):
        path = folder / f"{cell_type}.bed"
        with open(path, "w") as handle:
            for index in range(CHROMOSOMES):
                count = min(per_chrom, regions - index * per_chrom)
                starts = np.arange(count) * SPACING
                chosen = starts[rng.random(count) < keep] if cell_type == "typeB" else starts
                handle.write("".join(f"chr{index + 1}\t{s}\t{s + 500}\n" for s in chosen))
        peaks[cell_type] = path
    return genome, peaks


def run_one(genome: Path, peaks: dict[str, Path], out: Path, workers: int) -> dict:
    command = [
        sys.executable,
        "-m",
        "genebert.cli",
        "build-corpus",
        "--genome",
        str(genome),
        "--motifs",
        "JASPAR2018",
        "--out",
        str(out),
        "--no-progress",
        "--workers",
        str(workers),
        "--peaks",
        *[f"{name}={path}" for name, path in peaks.items()],
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"build failed:\n{result.stdout}\n{result.stderr}")
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    metadata = json.loads((out / "metadata.json").read_text())
    return {
        "regions": metadata["regions"],
        "seconds": seconds,
        "regions_per_second": metadata["regions"] / seconds,
        "peak_rss_mib": peak,
        "samples": sum(metadata["samples_per_cell_type"].values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            folder = Path(tmp) / f"n{size}"
            folder.mkdir()
            genome, peaks = write_inputs(folder, size)
            row = {"size": size, **run_one(genome, peaks, folder / "corpus", args.workers)}
            rows.append(row)
            print(
                f"  {size:>9,} regions: {row['seconds']:.1f} s, {row['regions_per_second']:,.0f} regions/s, "
                f"peak RSS {row['peak_rss_mib']:,.0f} MiB",
                flush=True,
            )
            for path in folder.iterdir():  # keep the disk footprint to one size at a time
                if path.is_file():
                    path.unlink()
    # note: RUSAGE_CHILDREN's maximum is over all children so far, so each row's RSS is an upper bound
    result = {
        "benchmark": "corpus_build",
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "motifs": "JASPAR2018 CORE vertebrates non-redundant (579)",
        "region_bp": 500,
        "rows": rows,
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result, indent=2) + "\n")
    temporary.replace(args.out)
    print("\n| regions | seconds | regions/s | peak RSS (MiB) |\n|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['size']:,} | {row['seconds']:.1f} | {row['regions_per_second']:,.0f} | {row['peak_rss_mib']:,.0f} |"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
