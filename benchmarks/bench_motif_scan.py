"""Motif scanning throughput: genebert.genomics.motifs.scan_max vs Biopython, MOODS and lightmotif, in one run.

    .venv/bin/python benchmarks/bench_motif_scan.py [--regions 2000] [--length 500] [--threads 2]

Writes benchmarks/results/motif_scan.json and prints a table. The task is the paper's region feature: for
2,000 regions x 500 bp of real hg19 chr22 sequence (random windows inside the covered blocks of
../shared/data/hg19_chr22; synthetic uniform sequence, flagged in the output, when that is absent) and the
579 JASPAR 2018 CORE vertebrate motifs, the best log2-odds score of every motif in every region, both
strands (a dense 2,000 x 579 matrix). Every tool gets the same PWMs: pseudocount 0.8 split over a uniform
background, log2.

(a) ours, numba CPU kernel (``scan_max(..., device=None)``), ``--threads`` threads;
(b) ours, torch path on the CPU (``device="cpu-torch"``; the same code runs on CUDA);
(c) the float64 brute force ``scan_max_reference`` (exactness reference, on ``--subset`` regions);
(d) Biopython ``PositionSpecificScoringMatrix.calculate`` on both strands (on ``--subset`` regions,
    throughput extrapolated; it is the independent exactness check);
(e) MOODS ``Scanner`` with p < 1e-4 thresholds (hits, not a dense max: it can skip most windows; threshold
    set-up is timed separately);
(f) lightmotif (SIMD striped scoring, dense scores, both strands).

Packages: biopython, moods-python, lightmotif (each is skipped, with a note, when it does not import).
Timings on a shared machine are noisy: the CPU time of our kernel is reported next to the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
import torch

from genebert.genomics.motifs import load_motifs, scan_max, scan_max_reference

RESULTS = Path(__file__).resolve().parent / "results" / "motif_scan.json"
CHR22 = Path(__file__).resolve().parents[2] / "shared" / "data" / "hg19_chr22"
PSEUDOCOUNT = 0.8
TARGET_REGIONS_PER_S = 5000


def chr22_regions(count: int, length: int, seed: int) -> tuple[list[str], str]:
    """Random windows fully inside covered (non-N) blocks of hg19 chr22, read with plain Python."""
    fasta, bed = CHR22 / "chr22.fa", CHR22 / "covered_blocks.bed"
    if not (fasta.is_file() and bed.is_file()):
        rng = np.random.default_rng(seed)
        letters = np.frombuffer(b"ACGT", dtype=np.uint8)
        sequences = [letters[rng.integers(0, 4, length)].tobytes().decode() for _ in range(count)]
        return sequences, f"SYNTHETIC uniform random sequence ({CHR22} not found)"
    with fasta.open() as handle:
        handle.readline()
        chromosome = handle.read().replace("\n", "")
    blocks = [tuple(map(int, line.split()[1:3])) for line in bed.read_text().splitlines() if line.strip()]
    blocks = [(start, end) for start, end in blocks if end - start >= length]
    rng = np.random.default_rng(seed)
    sequences = []
    for index in rng.integers(0, len(blocks), count):
        start, end = blocks[index]
        offset = int(rng.integers(start, end - length + 1))
        sequences.append(chromosome[offset : offset + length])
    return sequences, f"hg19 chr22, random {length} bp windows inside covered_blocks.bed (seed {seed})"


def timed(function: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Median wall and CPU (all threads of this process) seconds over ``repeats`` calls."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def biopython_scan(jaspar_motifs, sequences: list[str]) -> np.ndarray:
    pssms = []
    for motif in jaspar_motifs:
        pwm = motif.counts.normalize(pseudocounts={b: PSEUDOCOUNT / 4 for b in "ACGT"})
        pssm = pwm.log_odds({b: 0.25 for b in "ACGT"})
        pssms.append((pssm, pssm.reverse_complement()))
    out = np.empty((len(sequences), len(pssms)))
    for s, sequence in enumerate(sequences):
        for m, (forward, reverse) in enumerate(pssms):
            out[s, m] = max(np.max(forward.calculate(sequence)), np.max(reverse.calculate(sequence)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--regions", type=int, default=2000)
    parser.add_argument("--length", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--subset", type=int, default=200, help="regions for the reference and Biopython")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    numba.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    sequences, data_note = chr22_regions(args.regions, args.length, args.seed)
    # External tools get upper case (our scanner is case-insensitive; soft-masking is not a mismatch).
    upper = [s.upper() for s in sequences]
    subset = upper[: args.subset]
    start = time.perf_counter()
    motifs = load_motifs("JASPAR2018", pseudocount=PSEUDOCOUNT)
    load_seconds = time.perf_counter() - start
    from pyjaspar import jaspardb

    jaspar_motifs = jaspardb(release="JASPAR2018").fetch_motifs(
        collection="CORE", tax_group=["vertebrates"], all_versions=False
    )
    assert [f"{m.matrix_id} {m.name}" for m in jaspar_motifs] == motifs.names
    n, m = len(sequences), len(motifs)
    rows: list[dict] = []

    def record(name: str, wall: float, cpu: float | None, regions: int, **extra) -> dict:
        row = {
            "method": name,
            "regions_timed": regions,
            "wall_s": wall,
            "cpu_s": cpu,
            "regions_per_s": regions / wall if wall > 0 else None,
            # CPU time over all threads: robust to other jobs on a shared machine, and fair between
            # multi-threaded (ours) and single-threaded (the others) tools.
            "regions_per_cpu_s": regions / cpu if cpu else None,
            **extra,
        }
        rows.append(row)
        return row

    # (c) the float64 reference on the subset: ground truth for every exactness figure.
    wall, cpu, reference = timed(lambda: scan_max_reference(subset, motifs), 1)
    record("scan_max_reference (float64 numpy)", wall, cpu, len(subset), max_abs_diff=0.0)

    # (a) ours, numba. The first call loads the kernel from numba's cache (or compiles it) and builds the tables.
    start = time.perf_counter()
    scan_max(sequences[:8], motifs)
    first_call = time.perf_counter() - start
    wall, cpu, ours = timed(lambda: scan_max(sequences, motifs), args.repeats)
    numba_row = record(
        f"genebert scan_max, numba CPU ({args.threads} threads)",
        wall,
        cpu,
        n,
        max_abs_diff=float(np.abs(ours[: len(subset)] - reference).max()),
        first_call_s=first_call,
        note="cpu_s sums all threads; regions_per_cpu_s x threads estimates the rate on idle cores",
    )

    # (b) ours, torch on the CPU.
    scan_max(sequences[:8], motifs, device="cpu-torch")
    wall, cpu, ours_torch = timed(lambda: scan_max(sequences, motifs, device="cpu-torch"), 1)
    record(
        "genebert scan_max, torch conv1d on CPU",
        wall,
        cpu,
        n,
        max_abs_diff=float(np.abs(ours_torch[: len(subset)] - reference).max()),
        max_abs_diff_vs_numba=float(np.abs(ours_torch - ours).max()),
    )

    # (d) Biopython.
    try:
        wall, cpu, bio = timed(lambda: biopython_scan(jaspar_motifs, subset), 1)
        import Bio

        record(
            f"Biopython {Bio.__version__} PSSM.calculate, both strands",
            wall,
            cpu,
            len(subset),
            max_abs_diff=float(np.abs(bio - reference).max()),
            note=f"timed on {len(subset)} regions, regions/s extrapolates linearly; single-threaded",
        )
    except ImportError as error:
        rows.append({"method": "Biopython", "skipped": str(error)})

    # (e) MOODS: thresholded hits, not a dense max.
    try:
        import MOODS.scan
        import MOODS.tools

        background = MOODS.tools.flat_bg(4)
        start = time.perf_counter()
        matrices = [
            MOODS.tools.log_odds([mo.counts[b] for b in "ACGT"], background, PSEUDOCOUNT, 2)
            for mo in jaspar_motifs
        ]
        matrices += [MOODS.tools.reverse_complement(matrix) for matrix in matrices]
        thresholds = [MOODS.tools.threshold_from_p(matrix, background, 1e-4) for matrix in matrices]
        scanner = MOODS.scan.Scanner(7)
        scanner.set_motifs(matrices, background, thresholds)
        setup = time.perf_counter() - start

        def moods_scan():
            best = np.full((n, m), -np.inf)
            for s, sequence in enumerate(upper):
                for k, hits in enumerate(scanner.scan(sequence)):
                    if hits:
                        best[s, k % m] = max(best[s, k % m], max(hit.score for hit in hits))
            return best

        wall, cpu, moods_best = timed(moods_scan, 1)
        hit = np.isfinite(moods_best[: len(subset)])
        record(
            "MOODS 1.9 Scanner, p < 1e-4 hits, both strands",
            wall,
            cpu,
            n,
            threshold_setup_s=setup,
            max_abs_diff=float(np.abs(moods_best[: len(subset)][hit] - reference[hit]).max())
            if hit.any()
            else None,
            cells_with_a_hit=float(np.isfinite(moods_best).mean()),
            note="not a dense max: only (region, motif) cells with a hit above the p < 1e-4 threshold get a "
            "score; max_abs_diff is over those cells. Setup (thresholds + scanner) excluded from regions/s.",
        )
    except ImportError as error:
        rows.append({"method": "MOODS", "skipped": str(error)})

    # (f) lightmotif.
    try:
        import lightmotif

        keep = np.array([name != "MA1153.1 Smad4" for name in motifs.names])
        start = time.perf_counter()
        pssms = []
        for motif in jaspar_motifs:
            # lightmotif takes integer counts; only MA1153.1 (999.999) is not already whole.
            counts = lightmotif.CountMatrix({b: [round(v) for v in motif.counts[b]] for b in "ACGT"})
            pssm = counts.normalize({b: PSEUDOCOUNT / 4 for b in "ACGT"}).log_odds()
            pssms.append((pssm, pssm.reverse_complement()))
        setup = time.perf_counter() - start

        def best(scores) -> float:
            # StripedScores.max() also sees the striped padding, which scores 0: it returns 0 instead of the
            # true best whenever that is negative. Then (only) take the max over the first len(scores) values
            # of the buffer, the valid windows (checked below against per-position indexing).
            value = scores.max()
            return value if value > 0 else float(np.asarray(scores).reshape(-1)[: len(scores)].max())

        check = pssms[0][0].calculate(lightmotif.stripe(upper[0]))
        assert np.array_equal(
            np.asarray(check).reshape(-1)[: len(check)],
            np.array([check[j] for j in range(len(check))], np.float32),
        )

        def lightmotif_scan(batch):
            out = np.empty((len(batch), m))
            for s, sequence in enumerate(batch):
                striped = lightmotif.stripe(sequence)
                for k, (forward, reverse) in enumerate(pssms):
                    out[s, k] = max(best(forward.calculate(striped)), best(reverse.calculate(striped)))
            return out

        wall, cpu, light = timed(lambda: lightmotif_scan(upper), 1)
        record(
            f"lightmotif {lightmotif.__version__} striped SIMD, both strands",
            wall,
            cpu,
            n,
            setup_s=setup,
            max_abs_diff=float(np.abs(light[: len(subset)] - reference).max()),
            max_abs_diff_without_MA1153_1=float(np.abs(light[: len(subset)] - reference)[:, keep].max()),
            note="single-threaded Python loop over (region, motif); stripe() per region included; counts "
            "rounded to integers (changes MA1153.1 only, whose counts are fractional: that is all of the "
            "max_abs_diff); StripedScores.max() returns 0 (padding) when every window scores below 0, so those "
            "cells are taken from the valid part of the score buffer",
        )
    except ImportError as error:
        rows.append({"method": "lightmotif", "skipped": str(error)})

    result = {
        "task": f"{n} regions x {args.length} bp, {m} JASPAR 2018 CORE vertebrate motifs, dense best log2-odds "
        "per motif per region, both strands",
        "data": data_note,
        "pwm": f"pseudocount {PSEUDOCOUNT} split over a uniform background, log2",
        "threads": args.threads,
        "motif_load_s": load_seconds,
        "target_regions_per_s": TARGET_REGIONS_PER_S,
        "target_reached_wall": numba_row["regions_per_s"] >= TARGET_REGIONS_PER_S,
        "target_reached_on_idle_cores_estimate": numba_row["regions_per_cpu_s"] * args.threads
        >= TARGET_REGIONS_PER_S,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "load_average_at_end": list(os.getloadavg()),
        },
        "versions": {"numpy": np.__version__, "numba": numba.__version__, "torch": torch.__version__},
        "results": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")

    print(result["task"])
    print(
        f"data: {data_note}; threads: {args.threads}; load average {result['machine']['load_average_at_end']}"
    )
    print(
        f"{'method':<58} {'regions':>7} {'wall s':>8} {'regions/s':>10} {'regions/CPU-s':>13} {'max |diff|':>11}"
    )
    for row in rows:
        if "skipped" in row:
            print(f"{row['method']:<58} skipped: {row['skipped']}")
            continue
        diff = row.get("max_abs_diff")
        print(
            f"{row['method']:<58} {row['regions_timed']:>7} {row['wall_s']:>8.3f} {row['regions_per_s']:>10.0f} "
            f"{row['regions_per_cpu_s']:>13.0f} {'n/a' if diff is None else f'{diff:.1e}':>11}"
        )
    for row in rows:
        if "threshold_setup_s" in row:
            print(f"MOODS threshold + scanner set-up (not in regions/s): {row['threshold_setup_s']:.2f} s")
        if "max_abs_diff_without_MA1153_1" in row:
            print(
                "lightmotif max |diff| without MA1153.1 (fractional counts, rounded for lightmotif): "
                f"{row['max_abs_diff_without_MA1153_1']:.1e}"
            )
    print(
        f"ours (numba): {numba_row['regions_per_cpu_s']:.0f} regions per CPU-second -> "
        f"~{numba_row['regions_per_cpu_s'] * args.threads:.0f} regions/s on {args.threads} idle cores (estimate); "
        f"first call {numba_row['first_call_s']:.2f} s; target {TARGET_REGIONS_PER_S} regions/s "
        f"{'reached' if result['target_reached_wall'] else 'NOT reached'} in wall time this run"
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
