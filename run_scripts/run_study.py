#!/usr/bin/env python
"""Run a study (a grid of pre-training configurations x downstream tasks x seeds) and write its tables.

    python run_scripts/run_study.py run_scripts/studies/losses.yaml --preset tiny --out outputs/studies/losses
    python run_scripts/run_study.py run_scripts/studies/lambda.yaml --preset paper --corpus path/to/corpus \\
        --data-root ../shared/data --out outputs/studies/lambda

Interrupted studies resume: cells already in OUT/results.json with the same configuration are skipped and
pre-trainings are reused from the checkpoint cache (``--cache-dir``, shared between studies). The logic lives in
:mod:`genebert.training.study`; ``genebert study`` is the same command (its arguments: :mod:`genebert.cli`).
"""

from __future__ import annotations

import sys

from genebert.cli import console_main

if __name__ == "__main__":
    sys.exit(console_main(["study", *sys.argv[1:]]))
