"""Start-up time of the command line and of ``import genebert`` in fresh processes (issue: a lazy package).

    .venv/bin/python benchmarks/bench_cli_startup.py [--repeats 7]

Writes ``benchmarks/results/cli_startup.json`` and prints a table: median and worst wall time of ``genebert --help``
(the installed console script), ``import genebert`` and, for comparison, ``import torch`` and the first use of a
model class (which loads torch and transformers). Target: ``genebert --help`` under 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cli_startup.json"
TARGET_SECONDS = 1.5


def timed(command: list[str], repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    console = shutil.which("genebert", path=str(Path(sys.executable).parent)) or "genebert"
    cases = {
        "genebert --help": [console, "--help"],
        "python -m genebert.cli --help": [sys.executable, "-m", "genebert.cli", "--help"],
        "import genebert": [sys.executable, "-c", "import genebert"],
        "import torch (reference)": [sys.executable, "-c", "import torch"],
        "first use of a model class": [sys.executable, "-c", "import genebert; genebert.GeneBertModel"],
    }
    rows = {}
    for name, command in cases.items():
        seconds = timed(command, args.repeats)
        rows[name] = {"median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3)}
    result = {
        "target_help_s": TARGET_SECONDS,
        "help_meets_target": rows["genebert --help"]["median_s"] < TARGET_SECONDS,
        "repeats": args.repeats,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "load_average_1min": round(__import__("os").getloadavg()[0], 2),
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{'command':<32} {'median s':>9} {'max s':>7}")
    for name, row in rows.items():
        print(f"{name:<32} {row['median_s']:>9.3f} {row['max_s']:>7.3f}")
    print(
        f"target: genebert --help < {TARGET_SECONDS} s -> {'met' if result['help_meets_target'] else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
