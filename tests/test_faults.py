"""Faults survived with nothing lost: SIGKILLed corpus builds and training runs, full and unwritable disks,
readers racing a rebuild.

Kills are real ``SIGKILL``s of child processes. Where a kill must land at an exact point (inside a checkpoint
save), the child patches the function at that point to kill itself; elsewhere the point is random.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from transformers.trainer_utils import get_last_checkpoint

from genebert.genomics import accessibility as acc
from genebert.genomics.corpus import CorpusConfig, build_corpus, corpus_fingerprint, load_corpus
from genebert.genomics.corpus import build as corpus_module
from genebert.genomics.motifs import load_motifs
from genebert.genomics.sequences import Genome
from genebert.storage import OutputLocationError, replace_directory
from genebert.training.pretrain import main as run_pretraining
from genebert.training.trainer import CHECKPOINT_STAGING_DIR, AtomicCheckpointTrainer

CELL_TYPES = ("alpha", "beta", "rare")

# ------------------------------------------------------------------------------------------------ corpus

CORPUS_CHILD = """
import sys, time, warnings
warnings.simplefilter("ignore")
from genebert.genomics import accessibility as acc
from genebert.genomics import corpus as C
from genebert.genomics.corpus import build as corpus_build
from genebert.genomics.motifs import load_motifs
from genebert.genomics.sequences import Genome

root, out, window, delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
original = corpus_build._process_chunk

def slowed(job, work_dir):  # stretches the build so that a random kill lands inside it
    time.sleep(delay)
    return original(job, work_dir)

corpus_build._process_chunk = slowed
with Genome(root + "/genome.fa") as genome:
    sizes = dict(genome.sizes)
access = acc.from_peak_files({n: f"{root}/{n}.bed" for n in ("alpha", "beta", "rare")}, sizes)
motifs = load_motifs(root + "/motifs.jaspar")
print("START", flush=True)
C.build_corpus(root + "/genome.fa", access, motifs, out, C.CorpusConfig(chunk_size=8, region_window_bp=window),
               progress=False)
print("DONE", flush=True)
"""


def _corpus_child(tmp_path: Path, root: Path, out: Path, window: int, delay: float) -> subprocess.Popen:
    script = tmp_path / "build_child.py"
    script.write_text(CORPUS_CHILD)
    env = dict(os.environ, PYTHONHASHSEED=str(np.random.default_rng().integers(1, 2**31)))
    return subprocess.Popen(
        [sys.executable, str(script), str(root), str(out), str(window), str(delay)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _build_in_process(root: Path, out: Path, window: int | None = None, **config) -> None:
    with Genome(root / "genome.fa") as genome:
        sizes = dict(genome.sizes)
    access = acc.from_peak_files({name: root / f"{name}.bed" for name in CELL_TYPES}, sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        build_corpus(
            root / "genome.fa",
            access,
            load_motifs(root / "motifs.jaspar"),
            out,
            CorpusConfig(chunk_size=8, region_window_bp=window, **config),
            progress=False,
        )


def _version(corpus) -> tuple[int, int, int]:
    """What identifies a complete corpus version: its window size and its table lengths."""
    return corpus.metadata["config"]["region_window_bp"], len(corpus.regions), len(corpus.samples)


class _Reader(threading.Thread):
    """Loads the corpus over and over while it is being rebuilt, recording every version it saw."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.seen, self.errors, self.stop = path, [], [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                corpus = load_corpus(self.path)
                # every sample's regions exist in this version's region table, and every region's sequence
                # has this version's window (the two versions differ in it): nothing mixed or truncated
                ids = np.asarray(corpus.samples["region_ids"])
                assert ids.size == 0 or ids.max() < len(corpus.regions)
                window = corpus.metadata["config"]["region_window_bp"]
                lengths = {len(sequence) for sequence in corpus.regions["sequence"]}
                assert lengths == {window}, (window, sorted(lengths)[:5])
                self.seen.append(_version(corpus))
            except Exception as error:
                self.errors.append(repr(error))
            time.sleep(0.01)


def test_corpus_rebuild_killed_five_times_resumes_byte_identical(corpus_inputs, tmp_path):
    root, _, _ = corpus_inputs
    out = tmp_path / "corpus"
    _build_in_process(root, out)  # version 1, complete, which readers use while version 2 is built
    old = _version(load_corpus(out))
    old_fingerprint = corpus_fingerprint(out)

    reference = tmp_path / "reference"
    child = _corpus_child(tmp_path, root, reference, 40, 0.0)
    assert child.wait(timeout=300) == 0, child.stderr.read()
    new_fingerprint = corpus_fingerprint(reference)
    new = _version(load_corpus(reference))
    assert new != old

    reader = _Reader(out)
    reader.start()
    rng = np.random.default_rng(2026)
    landed_inside = attempts = 0
    while landed_inside < 5 and attempts < 15:  # 5 kills in a row inside the build (a late one finished it)
        attempts += 1
        child = _corpus_child(tmp_path, root, out, 40, 0.03)
        assert child.stdout.readline().strip() == "START", child.stderr.read()
        time.sleep(rng.uniform(0.0, 1.5))  # ~40 chunks x 30 ms, then the assembly
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        if child.returncode == -signal.SIGKILL and (out.parent / "corpus.partial").exists():
            landed_inside += 1
            # killed mid-build: the corpus in place is still a complete version (the old one, until a build
            # finished; the mid-build state is only ever in corpus.partial)
            assert corpus_fingerprint(out) in (old_fingerprint, new_fingerprint)
    child = _corpus_child(tmp_path, root, out, 40, 0.0)
    assert child.wait(timeout=300) == 0, child.stderr.read()
    reader.stop.set()
    reader.join(timeout=30)

    assert landed_inside == 5, f"only {landed_inside} of {attempts} kills landed inside the build"
    assert corpus_fingerprint(out) == new_fingerprint
    assert not (tmp_path / "corpus.partial").exists()
    assert not list(tmp_path.glob(".corpus.*")), "no assembling/old leftovers"
    assert reader.errors == []
    assert set(reader.seen) <= {old, new} and old in reader.seen


def test_reader_waits_out_a_replacement_without_atomic_exchange(corpus_inputs, tmp_path, monkeypatch):
    """Where renameat2(RENAME_EXCHANGE) is unavailable, the corpus is briefly absent between two renames; a
    reader arriving then retries and gets the new version instead of failing."""
    root, _, _ = corpus_inputs
    out, new = tmp_path / "corpus", tmp_path / "new"
    _build_in_process(root, out)
    _build_in_process(root, new, window=40)
    expected = _version(load_corpus(new))
    aside = tmp_path / ".corpus.old-1"
    os.replace(out, aside)  # the first of the two renames
    result: list = []
    thread = threading.Thread(target=lambda: result.append(_version(load_corpus(out))))
    thread.start()
    time.sleep(0.2)
    os.replace(new, out)  # the second
    thread.join(timeout=30)
    assert result == [expected]

    # and the fallback path itself replaces completely
    monkeypatch.setattr("genebert.storage.exchange_paths", lambda first, second: False)
    _build_in_process(root, new)
    replace_directory(new, out)
    assert _version(load_corpus(out))[0] == 55 and not new.exists() and not aside.exists()


def test_disk_full_during_a_corpus_rebuild_keeps_the_old_corpus(corpus_inputs, tmp_path, monkeypatch):
    root, _, _ = corpus_inputs
    out = tmp_path / "corpus"
    _build_in_process(root, out)
    before = corpus_fingerprint(out)
    original = corpus_module._write_arrow_atomic
    writes = {"count": 0}

    def fills_up(path, table):
        writes["count"] += 1
        if writes["count"] == 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return original(path, table)

    monkeypatch.setattr(corpus_module, "_write_arrow_atomic", fills_up)
    with pytest.raises(OSError) as caught:
        _build_in_process(root, out, window=40)
    assert caught.value.errno == errno.ENOSPC
    assert corpus_fingerprint(out) == before  # the complete earlier corpus is intact
    monkeypatch.setattr(corpus_module, "_write_arrow_atomic", original)
    _build_in_process(root, out, window=40)  # space freed: resumes from the three finished chunks
    reference = tmp_path / "reference"
    _build_in_process(root, reference, window=40)
    assert corpus_fingerprint(out) == corpus_fingerprint(reference)


def test_too_little_free_space_is_reported_before_any_work(corpus_inputs, tmp_path, monkeypatch):
    root, _, _ = corpus_inputs
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr("genebert.storage.shutil.disk_usage", lambda path: usage._replace(free=4096))
    with pytest.raises(OutputLocationError, match=r"corpus output directory .* has 0\.0 MiB free; this job"):
        _build_in_process(root, tmp_path / "corpus")
    assert not (tmp_path / "corpus.partial").exists() and not (tmp_path / "corpus").exists()


def test_unwritable_output_location_is_reported_before_any_work(corpus_inputs, tmp_path):
    root, _, _ = corpus_inputs
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(OutputLocationError, match=r"cannot create the corpus output directory .*a_file"):
        _build_in_process(root, blocker / "corpus")
    assert blocker.read_text() == "not a directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories; run as a normal user")
def test_read_only_output_directory_is_reported(corpus_inputs, tmp_path):
    root, _, _ = corpus_inputs
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(OutputLocationError, match="cannot write to the corpus output directory"):
            _build_in_process(root, locked / "corpus")
    finally:
        locked.chmod(0o755)
    assert list(locked.iterdir()) == []


def _can_mount_read_only() -> bool:
    """Whether a private read-only tmpfs can be mounted (``unshare -rm``: user + mount namespace, no trace left)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o ro tmpfs /tmp && ! touch /tmp/.probe"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.skipif(
    not _can_mount_read_only(),
    reason="needs `unshare -rm` and mount (user and mount namespaces) to make a read-only file system",
)
def test_read_only_file_system_is_reported_before_any_work(corpus_inputs, tiny_corpus, tmp_path):
    """Root too cannot write to a read-only file system: the commands a user runs say so in one line, before
    any work, and write nothing (the CLI as a user meets it: ``genebert build-corpus`` and ``genebert pretrain``)."""
    root, peaks, motifs = corpus_inputs
    locked = tmp_path / "locked"
    locked.mkdir()
    commands = {
        "corpus": ["build-corpus", "--genome", str(root / "genome.fa"), "--peaks", f"alpha={peaks['alpha']}",
                   "--motifs", str(motifs), "--out", str(locked / "corpus"), "--no-progress"],
        "pretrain": ["pretrain", "--corpus_dir", str(tiny_corpus), "--preset", "tiny", "--max_steps", "1",
                     "--output_dir", str(locked / "run")],
    }  # fmt: skip
    script = 'mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"'
    for name, arguments in commands.items():
        result = subprocess.run(
            ["unshare", "-rm", "sh", "-c", script, "sh", str(locked), sys.executable, "-m", "genebert.cli",
             *arguments],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        expected = {
            "corpus": f"cannot write to the corpus output directory {locked}",  # OUT.partial goes beside OUT
            "pretrain": f"cannot create the training output directory {locked / 'run'}",
        }[name]
        assert result.returncode == 2, (name, result.stderr[-3000:])
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines()[-1] == (
            f"genebert: error: [Errno 30] {expected}: Read-only file system"
        )
    assert list(locked.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["locked"]


# ------------------------------------------------------------------------------------------------ training

PRETRAIN_CHILD = """
import os, signal, sys
from genebert.training import trainer as T
from genebert.training.pretrain import main

mode, step, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "between-saves":
    original_step = T.GeneBertTrainer.training_step
    def training_step(self, *args, **kwargs):
        if self.state.global_step == step:
            die()
        return original_step(self, *args, **kwargs)
    T.GeneBertTrainer.training_step = training_step
elif mode == "after-weights":  # weights written, optimizer and RNG states not yet
    original_save = T.AtomicCheckpointTrainer._save_optimizer_and_scheduler
    def save(self, output_dir):
        if self.state.global_step == step:
            die()
        return original_save(self, output_dir)
    T.AtomicCheckpointTrainer._save_optimizer_and_scheduler = save
elif mode == "before-rename":  # every file written, the folder not yet renamed into place
    original_publish = T._publish_directory
    def publish(staged, final):
        if final.endswith(f"checkpoint-{step}"):
            die()
        return original_publish(staged, final)
    T._publish_directory = publish
main(argv)
"""

TRAIN = [
    "--preset",
    "tiny",
    "--per_device_train_batch_size",
    "4",
    "--warmup_steps",
    "2",
    "--dataloader_num_workers",
    "0",
    "--seed",
    "5",
    "--logging_steps",
    "1",
    "--eval_strategy",
    "no",
    "--save_steps",
    "10",
    "--save_total_limit",
    "1",
    "--validation_fraction",
    "0",
]


def _losses(out: Path) -> dict[int, float]:
    history = json.loads((out / "log_history.json").read_text())
    return {entry["step"]: entry["loss"] for entry in history if "loss" in entry}


@pytest.fixture(scope="module")
def straight_run(tiny_corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("straight") / "run"
    run_pretraining(["--corpus_dir", str(tiny_corpus), *TRAIN, "--max_steps", "30", "--output_dir", str(out)])
    return out


@pytest.mark.parametrize(
    ("mode", "step"), [("between-saves", 15), ("after-weights", 20), ("before-rename", 20)]
)
def test_training_killed_resumes_from_the_last_complete_checkpoint(
    tiny_corpus, straight_run, tmp_path, mode, step
):
    out = tmp_path / "run"
    common = ["--corpus_dir", str(tiny_corpus), *TRAIN, "--max_steps", "30", "--output_dir", str(out)]
    script = tmp_path / "train_child.py"
    script.write_text(textwrap.dedent(PRETRAIN_CHILD))
    child = subprocess.run(
        [sys.executable, str(script), mode, str(step), *common], capture_output=True, text=True, timeout=600
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]

    assert not (out / "checkpoint-20").exists()
    latest = get_last_checkpoint(str(out))
    assert latest == str(out / "checkpoint-10")  # the half-written one is never "latest"
    for name in ("model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json"):
        assert (Path(latest) / name).is_file(), name

    run_pretraining([*common, "--resume_from_checkpoint", "latest"])
    straight, resumed = _losses(straight_run), _losses(out)
    assert sorted(resumed) == list(range(1, 31))
    for index in range(11, 31):
        assert abs(straight[index] - resumed[index]) <= 1e-5, (index, straight[index], resumed[index])
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-30"]  # rotation, limit 1
    assert not any((out / CHECKPOINT_STAGING_DIR).iterdir())


def test_disk_full_during_a_checkpoint_save_keeps_the_previous_one(tiny_corpus, tmp_path, monkeypatch):
    out = tmp_path / "run"
    original = AtomicCheckpointTrainer._save_rng_state

    def fills_up(self, output_dir):
        if self.state.global_step == 20:
            raise OSError(errno.ENOSPC, "No space left on device", output_dir)
        return original(self, output_dir)

    monkeypatch.setattr(AtomicCheckpointTrainer, "_save_rng_state", fills_up)
    with pytest.raises(OSError) as caught:
        run_pretraining(
            ["--corpus_dir", str(tiny_corpus), *TRAIN, "--max_steps", "30", "--output_dir", str(out)]
        )
    assert caught.value.errno == errno.ENOSPC
    assert f"the disk holding {out} is full while writing checkpoint-20: it needs about" in str(caught.value)
    assert get_last_checkpoint(str(out)) == str(out / "checkpoint-10")
    state = json.loads((out / "checkpoint-10" / "trainer_state.json").read_text())
    assert state["global_step"] == 10


def test_training_output_checks_happen_before_training(tiny_corpus, tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(OutputLocationError, match="cannot create the training output directory"):
        run_pretraining(
            ["--corpus_dir", str(tiny_corpus), *TRAIN, "--max_steps", "2", "--output_dir", str(blocker / "x")]
        )
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr("genebert.storage.shutil.disk_usage", lambda path: usage._replace(free=1024))
    out = tmp_path / "run"
    with pytest.raises(OutputLocationError, match=r"training output directory .* free; this job needs"):
        run_pretraining(
            ["--corpus_dir", str(tiny_corpus), *TRAIN, "--max_steps", "2", "--output_dir", str(out)]
        )
    assert not list(out.glob("checkpoint-*"))


# ------------------------------------------------------------------------------------ locks (issue 18)

HOLD_LOCK_CHILD = """
import sys, time
from genebert.storage import output_lock
lock = output_lock(sys.argv[1], command="holder-of-the-lock").acquire()
print("LOCKED", flush=True)
time.sleep(600)
"""


def _lock_holder(tmp_path: Path, output: Path) -> subprocess.Popen:
    script = tmp_path / "hold_lock.py"
    script.write_text(HOLD_LOCK_CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(output)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "LOCKED"
    return child


def test_a_second_job_on_a_locked_output_fails_at_once_and_a_killed_holder_is_taken_over(
    corpus_inputs, tiny_corpus, tmp_path
):
    """Another process holds the lock of an output: build-corpus and pre-training into it fail at once naming its
    PID, and write nothing; once the holder is SIGKILLed (the kernel releases its flock), the lock is taken over."""
    out, run = tmp_path / "corpus", tmp_path / "run"
    holders = [_lock_holder(tmp_path, out), _lock_holder(tmp_path, run)]
    try:
        busy = rf"is being written by another genebert process \(PID {holders[0].pid}: holder-of-the-lock\)"
        with pytest.raises(OutputLocationError, match=busy) as caught:
            _build_in_process(corpus_inputs[0], out)
        assert caught.value.errno == errno.EBUSY
        busy = rf"another genebert process \(PID {holders[1].pid}: holder-of-the-lock\)"
        with pytest.raises(OutputLocationError, match=busy):
            run_pretraining(
                ["--corpus_dir", str(tiny_corpus), *TRAIN, "--max_steps", "2", "--output_dir", str(run)]
            )
        assert not out.exists() and not (tmp_path / "corpus.partial").exists() and not run.exists()
    finally:
        for holder in holders:
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=60)
    # the stale lock (its files are still there) is taken over
    assert (tmp_path / ".corpus.lock").exists() and (tmp_path / ".corpus.lock.pid").exists()
    _build_in_process(corpus_inputs[0], out)
    assert load_corpus(out).metadata["config"]["region_window_bp"] == 55
    assert not list(tmp_path.glob(".corpus.lock*")), "the lock's files are removed when it is released"


def test_concurrent_builds_into_one_output_do_not_mix(corpus_inputs, tmp_path):
    """Two builds with different windows into one --out: the second fails at once; the corpus is the first's, with
    one window size throughout (before the fix both shared OUT.partial and the result mixed 40 and 55 bp windows)."""
    root, _, _ = corpus_inputs
    out = tmp_path / "corpus"
    child = _corpus_child(tmp_path, root, out, 40, 0.05)  # slowed: still building when the second one starts
    assert child.stdout.readline().strip() == "START", child.stderr.read()
    deadline = time.monotonic() + 120
    while not (tmp_path / ".corpus.lock.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(OutputLocationError, match=rf"PID {child.pid}"):
        _build_in_process(root, out, window=55)
    assert child.wait(timeout=300) == 0, child.stderr.read()
    corpus = load_corpus(out)
    assert corpus.metadata["config"]["region_window_bp"] == 40
    assert {len(sequence) for sequence in corpus.regions["sequence"]} == {40}


def test_a_previous_corpus_is_replaced_but_a_users_folder_only_with_overwrite(corpus_inputs, tmp_path):
    root, _, _ = corpus_inputs
    out = tmp_path / "corpus"
    _build_in_process(root, out)
    (out / ".genebert-output.json").unlink()  # a corpus written before output markers is recognised too
    _build_in_process(root, out, window=40)
    assert load_corpus(out).metadata["config"]["region_window_bp"] == 40
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("keep me")
    with pytest.raises(OutputLocationError, match=r"already holds 1 entry \(thesis\.txt\)"):
        _build_in_process(root, mine)
    assert (mine / "thesis.txt").read_text() == "keep me"
    with Genome(root / "genome.fa") as genome:
        sizes = dict(genome.sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        build_corpus(root / "genome.fa", acc.from_peak_files({"alpha": root / "alpha.bed"}, sizes),
                     load_motifs(root / "motifs.jaspar"), mine, CorpusConfig(chunk_size=8), progress=False,
                     overwrite=True)  # fmt: skip
    assert not (mine / "thesis.txt").exists() and load_corpus(mine).regions.num_rows > 0


# ------------------------------------------------------------------------ runs and disks (issue 18)


def _train(tiny_corpus: Path, out: Path, *extra: str) -> dict:
    return run_pretraining(
        ["--corpus_dir", str(tiny_corpus), *TRAIN, "--max_steps", "4", "--save_steps", "2", "--save_total_limit", "2",
         "--output_dir", str(out), *extra]
    )  # fmt: skip


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_run_only_resumes_and_overwrites_its_own_checkpoints(tiny_corpus, tmp_path):
    from genebert.storage import OutputExistsError
    from genebert.training.runs import RunMismatchError, read_run

    out = tmp_path / "run"
    _train(tiny_corpus, out)
    shutil.rmtree(out / "checkpoint-4")  # as if killed after step 2's checkpoint
    identity = read_run(out)
    assert read_run(out / "checkpoint-2") == identity and identity["seed"] == 5
    before = _tree(out)
    # resuming with other arguments: refused, naming them, before anything is written
    with pytest.raises(RunMismatchError, match=r"belongs to another run \(learning_rate: 0\.001 -> 0\.002\)"):
        _train(tiny_corpus, out, "--learning_rate", "0.002", "--resume_from_checkpoint", "latest")
    with pytest.raises(RunMismatchError, match=r"seed: 5 -> 6"):
        _train(tiny_corpus, out, "--seed", "6", "--resume_from_checkpoint", str(out / "checkpoint-2"))
    # a new run into this folder: refused (it would rotate these checkpoints away)
    with pytest.raises(
        OutputExistsError, match=r"holds another run's checkpoints \(learning_rate: 0\.001 -> 0\.002"
    ):
        _train(tiny_corpus, out, "--learning_rate", "0.002")
    assert _tree(out) == before
    # the same run resumes, also extended (max_steps and the saving cadence are not part of its identity)
    _train(tiny_corpus, out, "--resume_from_checkpoint", "latest", "--max_steps", "6", "--logging_steps", "2")
    assert read_run(out / "checkpoint-6") == identity
    # --overwrite_output_dir: the other run's checkpoints go, this run's identity replaces it
    _train(tiny_corpus, out, "--learning_rate", "0.002", "--overwrite_output_dir")
    assert read_run(out)["arguments"]["learning_rate"] == 0.002
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert json.loads((out / "training_args.json").read_text())["learning_rate"] == 0.002


def test_a_folder_of_user_files_is_not_a_training_output(tiny_corpus, tmp_path):
    from genebert.storage import OutputExistsError

    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match=r"holds files that are not a training run's \(thesis\.txt"):
        _train(tiny_corpus, out)
    assert sorted(p.name for p in out.iterdir()) == ["thesis.txt"]
    _train(
        tiny_corpus, out, "--save_strategy", "no", "--overwrite_output_dir"
    )  # written beside, nothing deleted
    assert (out / "thesis.txt").read_text() == "keep me" and (out / "model.safetensors").is_file()


def test_a_non_finite_loss_stops_training_naming_the_step_and_terms(tiny_corpus, tmp_path, monkeypatch):
    """Before the fix a NaN loss was logged as 0 and the saved weights were NaN."""
    from genebert import GeneBertForPreTraining
    from genebert.training.trainer import NonFiniteLossError

    original, calls = GeneBertForPreTraining.forward, {"n": 0}

    def goes_nan(self, *args, **kwargs):
        output = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] >= 3:  # the third training batch
            output.mgm_loss = output.mgm_loss * float("nan")
            output.loss = output.loss * float("nan")
        return output

    monkeypatch.setattr(GeneBertForPreTraining, "forward", goes_nan)
    out = tmp_path / "run"
    with pytest.raises(
        NonFiniteLossError, match=r"training loss is nan at step 3 \(mgm nan, ngsp [0-9.]+, srm [0-9.]+\)"
    ):
        _train(tiny_corpus, out)
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2"]  # the last good one, intact
    assert not (out / "model.safetensors").exists() and not (out / "all_results.json").exists()


def test_a_full_disk_during_a_checkpoint_names_the_path_and_the_bytes(tiny_corpus, tmp_path, monkeypatch):
    """torch reports a full disk as ``RuntimeError: basic_ios::clear: iostream error``; it becomes one line."""
    import torch

    out = tmp_path / "run"
    original, state = torch.save, {"full": False}

    def full(obj, target, *args, **kwargs):
        if "checkpoint-4" in str(target):
            state["full"] = True
            raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos; basic_ios::clear: "
                               "iostream error")  # fmt: skip
        return original(obj, target, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full)
    usage = shutil.disk_usage(tmp_path)
    real_usage = shutil.disk_usage

    def little_left(path):  # the up-front check passed; by step 4 the disk has filled up
        return usage._replace(free=1024) if state["full"] and Path(path) == out else real_usage(path)

    monkeypatch.setattr("genebert.storage.shutil.disk_usage", little_left)
    with pytest.raises(OutputLocationError, match=rf"the disk holding {out} is full while writing checkpoint-4: "
                       r"it needs about [0-9.]+ MiB and has 0\.0 MiB free") as caught:  # fmt: skip
        _train(tiny_corpus, out)
    assert caught.value.errno == errno.ENOSPC
    assert get_last_checkpoint(str(out)) == str(out / "checkpoint-2")


def test_the_space_check_counts_every_checkpoint_kept():
    from types import SimpleNamespace

    import torch

    from genebert.training.runs import checkpoint_space_needed

    model = torch.nn.Linear(10, 10)  # 110 float32 weights
    weights = 110 * 4
    args = SimpleNamespace(save_strategy="steps", save_steps=10, save_total_limit=3, load_best_model_at_end=False,
                           max_steps=100)  # fmt: skip
    assert (
        checkpoint_space_needed(model, args) == 4 * 3 * weights + weights
    )  # 3 kept + 1 before rotation, + final
    assert checkpoint_space_needed(model, args, steps=20) == 2 * 3 * weights + weights
    args.load_best_model_at_end = True
    assert checkpoint_space_needed(model, args) == 5 * 3 * weights + weights
    args.save_strategy = "no"
    assert checkpoint_space_needed(model, args) == weights
