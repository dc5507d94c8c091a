"""Shared fixtures: small generated data, the optional real data in ../shared/data, fresh processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# Nothing in the test suite may reach the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def pytest_configure(config):
    # Marks used by transformers' common test mixins (tests/model/test_transformers_common.py), registered by transformers'
    # own conftest, which the sdist's test files come without.
    for mark in (
        "accelerate_tests",
        "flash_attn_test",
        "flash_attn_3_test",
        "flash_attn_4_test",
        "torch_compile_test",
    ):
        config.addinivalue_line("markers", f"{mark}: a mark of transformers' common tests")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (small real public data sets); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA} does not exist (it ships beside the repo in CI)")
    return SHARED_DATA


# Prepended to code run by `run_without_genebert`: makes `import genebert` fail as on a machine where only
# transformers is installed, even though the package is installed in this venv.
_BLOCK_GENEBERT = """
import sys
sys.modules["genebert"] = None
try:
    import genebert  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("genebert is importable in the fresh process")
"""


def run_without_genebert(code: str, tmp_path: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python process where ``genebert`` cannot be imported; raise on failure."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(
        HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "hf_modules"), TRANSFORMERS_VERBOSITY="error"
    )
    script = tmp_path / "fresh_process.py"
    script.write_text(_BLOCK_GENEBERT + textwrap.dedent(code))
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"fresh process failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


ALPHABET = np.array(list("ACGT"))


@pytest.fixture(scope="session")
def corpus_inputs(tmp_path_factory):
    """A synthetic genome (with an N gap and soft-masked bases), three cell types' peaks and three motifs."""
    root = tmp_path_factory.mktemp("corpus_inputs")
    rng = np.random.default_rng(7)
    chromosomes = {"chr1": 40_000, "chr2": 25_000, "chr3": 8_000}
    with open(root / "genome.fa", "w") as handle:
        for name, length in chromosomes.items():
            sequence = "".join(ALPHABET[rng.integers(0, 4, length)])
            if name == "chr1":
                sequence = sequence[:5_000] + "N" * 2_000 + sequence[7_000:9_000].lower() + sequence[9_000:]
            handle.write(f">{name}\n" + "\n".join(sequence[i : i + 60] for i in range(0, length, 60)) + "\n")
    peaks = {}
    for cell_type, count in (("alpha", 60), ("beta", 45), ("rare", 4)):
        lines = []
        for name, length in chromosomes.items():
            starts = np.sort(
                rng.choice(
                    np.arange(0, length - 400, 250), size=min(count, (length - 400) // 250), replace=False
                )
            )
            lines += [f"{name}\t{s}\t{s + int(rng.integers(150, 400))}" for s in starts[:count]]
        (root / f"{cell_type}.bed").write_text("\n".join(lines) + "\n")
        peaks[cell_type] = root / f"{cell_type}.bed"
    (root / "overlap.bed").write_text("chr1\t5100\t5400\n")  # inside the N gap
    motifs = root / "motifs.jaspar"
    motif_lines = []
    for index, length in enumerate((6, 9, 12)):
        counts = rng.integers(0, 20, size=(4, length)) + 1
        counts[0] += 100 - counts.sum(0)  # columns sum to 100 (a count matrix)
        counts = np.abs(counts)
        counts[1] += 100 - counts.sum(0)
        motif_lines.append(f">MA900{index}.1 TF{index}")
        motif_lines += [
            f"{base} [ {' '.join(map(str, row))} ]" for base, row in zip("ACGT", counts, strict=True)
        ]
    motifs.write_text("\n".join(motif_lines) + "\n")
    return root, peaks, motifs


@pytest.fixture(scope="session")
def tiny_corpus(corpus_inputs, tmp_path_factory):
    """A corpus built from ``corpus_inputs`` (synthetic, 3 motifs): its path."""
    import warnings

    from genebert.genomics import accessibility as acc
    from genebert.genomics.corpus import CorpusConfig, build_corpus
    from genebert.genomics.motifs import load_motifs
    from genebert.genomics.sequences import Genome

    root, peaks, motifs = corpus_inputs
    with Genome(root / "genome.fa") as genome:
        sizes = dict(genome.sizes)
    out = tmp_path_factory.mktemp("tiny_corpus") / "corpus"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        build_corpus(
            root / "genome.fa",
            acc.from_peak_files(peaks, sizes),
            load_motifs(motifs),
            out,
            CorpusConfig(chunk_size=64),
            progress=False,
        )
    return out
