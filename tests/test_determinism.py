"""Determinism on CPU: same inputs + seed -> the same corpus bytes, tokens, masked batches and training losses,
in another process (with another hash seed) as well as in this one."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
from conftest import REPO_ROOT

from genebert import GeneBertTokenizer
from genebert.data import DataCollatorForGenomeModeling, RegionStore
from genebert.genomics import accessibility as acc
from genebert.genomics.corpus import CorpusConfig, build_corpus, corpus_fingerprint, load_corpus
from genebert.genomics.motifs import load_motifs
from genebert.genomics.sequences import Genome
from genebert.training.pretrain import main as run_pretraining

CHILD = """
import hashlib, json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from genebert import GeneBertTokenizer
from genebert.data import DataCollatorForGenomeModeling, RegionStore
from genebert.genomics import accessibility as acc
from genebert.genomics.corpus import CorpusConfig, build_corpus, corpus_fingerprint, load_corpus
from genebert.genomics.motifs import load_motifs
from genebert.genomics.sequences import Genome

root, out = sys.argv[1], sys.argv[2]
{body}
"""

BODY = """
with Genome(root + "/genome.fa") as genome:
    sizes = dict(genome.sizes)
access = acc.from_peak_files({name: root + f"/{name}.bed" for name in ("alpha", "beta", "rare")}, sizes)
build_corpus(root + "/genome.fa", access, load_motifs(root + "/motifs.jaspar"), out, CorpusConfig(chunk_size=16),
             progress=False)
corpus = load_corpus(out)
tokenizer = GeneBertTokenizer(kmer=6)
sequences = corpus.regions["sequence"][:40]
token_digest = hashlib.sha256(json.dumps(tokenizer(sequences)["input_ids"]).encode()).hexdigest()
collator = DataCollatorForGenomeModeling(
    tokenizer, RegionStore(corpus.regions), np.asarray(corpus.samples["region_ids"]), seed=3
)
batch = collator([corpus.samples[i] for i in range(6)])
batch_digest = hashlib.sha256(
    b"".join(batch[key].numpy().tobytes() for key in sorted(batch))
).hexdigest()
result = {"corpus": corpus_fingerprint(out), "tokens": token_digest, "batch": batch_digest}
"""


def _run_child(tmp_path, root, out, hash_seed: str) -> dict:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(body=textwrap.dedent(BODY) + "print(json.dumps(result))\n"))
    result = subprocess.run(
        [sys.executable, str(script), str(root), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONHASHSEED=hash_seed),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_corpus_tokens_and_masked_batches_are_identical_across_processes(corpus_inputs, tmp_path):
    root, _, _ = corpus_inputs
    first = _run_child(tmp_path, root, tmp_path / "first", "1")
    second = _run_child(tmp_path, root, tmp_path / "second", "4242")
    namespace = {
        "root": str(root),
        "out": str(tmp_path / "here"),
        "acc": acc,
        "build_corpus": build_corpus,
        "CorpusConfig": CorpusConfig,
        "Genome": Genome,
        "load_motifs": load_motifs,
        "load_corpus": load_corpus,
        "corpus_fingerprint": corpus_fingerprint,
        "GeneBertTokenizer": GeneBertTokenizer,
        "DataCollatorForGenomeModeling": DataCollatorForGenomeModeling,
        "RegionStore": RegionStore,
        "np": np,
        "json": json,
        "hashlib": hashlib,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        exec(textwrap.dedent(BODY), namespace)  # the same steps in this process
    assert first == second == namespace["result"]


def _losses(out) -> list[float]:
    history = json.loads((out / "log_history.json").read_text())
    return [entry["loss"] for entry in history if "loss" in entry]


def test_first_50_pretraining_losses_are_identical(tiny_corpus, tmp_path):
    arguments = [
        "--corpus_dir",
        str(tiny_corpus),
        "--preset",
        "tiny",
        "--per_device_train_batch_size",
        "4",
        "--max_steps",
        "50",
        "--logging_steps",
        "1",
        "--eval_strategy",
        "no",
        "--save_strategy",
        "no",
        "--dataloader_num_workers",
        "0",
        "--seed",
        "21",
    ]
    import torch

    threads = torch.get_num_threads()  # the same in both processes: another count reorders float reductions
    run_pretraining([*arguments, "--output_dir", str(tmp_path / "here")])
    other = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "run_scripts" / "run_pretraining.py"),
            *arguments,
            "--output_dir",
            str(tmp_path / "there"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONHASHSEED="99", OMP_NUM_THREADS=str(threads)),
    )
    assert other.returncode == 0, other.stderr[-3000:]
    here, there = _losses(tmp_path / "here"), _losses(tmp_path / "there")
    assert len(here) == 50
    assert here == there  # bit for bit, not approximately


def test_motif_scanning_leaves_torch_thread_count_alone(corpus_inputs):
    """numba's OpenMP layer would otherwise switch torch to its own thread count (and so change the float
    reduction order of a later training run in the same process)."""
    import torch

    from genebert.genomics.motifs import scan_max

    _, _, motifs = corpus_inputs
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        scan_max(["ACGTTGCAACGTAGCTAGCATCGA" * 4] * 8, load_motifs(motifs))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
