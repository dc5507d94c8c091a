"""Studies (genebert.training.study, run_scripts/run_study.py): validation, hashing, aggregation, resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO_ROOT

from genebert.cli import main as genebert_main
from genebert.errors import UsageError
from genebert.training import finetune as finetune_module
from genebert.training import pretrain as pretrain_module
from genebert.training.study import (
    StudyError,
    aggregate,
    load_study,
    parse_study,
    pretrain_hash,
    read_results,
    run_study,
    stable_hash,
    write_json_atomic,
)
from genebert.training.study.runner import check_tasks

STUDIES = REPO_ROOT / "run_scripts" / "studies"


def _write_task(root: Path) -> dict[str, str]:
    """A small binary CSV task: class 1 carries a TATA box, class 0 is random."""
    rng = np.random.default_rng(3)
    files = {}
    for split, n in (("train", 48), ("dev", 16), ("test", 24)):
        lines = ["sequence,label"]
        for i in range(n):
            sequence = "".join(rng.choice(list("ACGT"), 70))
            label = i % 2
            if label:
                sequence = sequence[:30] + "TATAAAAG" + sequence[38:]
            lines.append(f"{sequence},{label}")
        path = root / f"{split}.csv"
        path.write_text("\n".join(lines) + "\n")
        files[split] = str(path)
    return files


def _study_values(corpus: Path, task_files: dict[str, str]) -> dict:
    return {
        "name": "toy",
        "title": "toy study",
        "factor": "losses",
        "corpus": str(corpus),
        "seeds": [0],
        "pretrain": {
            "preset": "tiny",
            "max_steps": 2,
            "per_device_train_batch_size": 4,
            "warmup_steps": 0,
            "logging_steps": 1,
        },
        "finetune": {
            "preset": "tiny",
            "max_steps": 2,
            "per_device_train_batch_size": 8,
            "eval_steps": 1,
            "save_steps": 1,
            "logging_steps": 1,
            "early_stopping_patience": 0,
        },
        "variants": [
            {"name": "none", "pretrain": None, "paper": {"precision": 0.016, "recall": 0.012, "auc": 0.021}},
            {"name": "MGM+NGSP+SRM", "pretrain": {}, "paper": {"auc": 0.894}},
        ],
        "tasks": [
            {
                "name": "toy_tata",
                "train_file": task_files["train"],
                "validation_file": task_files["dev"],
                "test_file": task_files["test"],
            }
        ],
        "metrics": ["precision_macro", "recall_macro", "auc", "mcc"],
        "plot_metric": "auc",
    }


class _Counting:
    """Wraps run_pretraining / run_finetuning and counts the runs; ``fail_on`` makes the n-th fine-tuning raise."""

    def __init__(self, fail_on: int | None = None):
        self.pretrain_runs = 0
        self.finetune_runs = 0
        self.fail_on = fail_on

    def pretrain(self, *arguments) -> dict:
        self.pretrain_runs += 1
        return pretrain_module.run_pretraining(*arguments)

    def finetune(self, *arguments) -> dict:
        self.finetune_runs += 1
        if self.fail_on is not None and self.finetune_runs == self.fail_on:
            raise KeyboardInterrupt("simulated interruption")
        return finetune_module.run_finetuning(*arguments)


def test_two_cell_study_runs_skips_and_resumes(tiny_corpus, tmp_path):
    study = parse_study(_study_values(tiny_corpus, _write_task(tmp_path)), source="toy")
    out, cache = tmp_path / "out", tmp_path / "cache"
    counter = _Counting()
    summary = run_study(study, out, cache, pretrain_fn=counter.pretrain, finetune_fn=counter.finetune)
    assert summary.ran == ["none|toy_tata|seed=0", "MGM+NGSP+SRM|toy_tata|seed=0"]
    assert counter.pretrain_runs == 1 and counter.finetune_runs == 2  # "none" does not pre-train
    results = json.loads((out / "results.json").read_text())
    assert [row["variant"] for row in results["cells"]] == ["none", "MGM+NGSP+SRM"]
    for row in results["cells"]:
        assert 0.0 <= row["metrics"]["auc"] <= 1.0 and "precision_macro" in row["metrics"]
    assert results["cells"][0]["pretrain_hash"] is None and results["cells"][1]["pretrain_hash"]
    assert [entry["variant"] for entry in results["summary"]] == ["none", "MGM+NGSP+SRM"]
    markdown = (out / "results.md").read_text()
    assert (
        "| losses | Precision | Recall | AUC | MCC | n | paper Precision | paper Recall | paper AUC |"
        in markdown
    )
    assert "| none |" in markdown and "0.894" in markdown
    assert (out / "toy.png").stat().st_size > 1000
    checkpoint = Path(results["cells"][1]["checkpoint"])
    assert (checkpoint / "study_pretrain.json").is_file() and (checkpoint / "config.json").is_file()

    # Re-run: everything is skipped, nothing trains, results are unchanged.
    before = (out / "results.json").read_text()
    again = _Counting()
    summary = run_study(study, out, cache, pretrain_fn=again.pretrain, finetune_fn=again.finetune)
    assert summary.ran == [] and len(summary.skipped) == 2
    assert again.pretrain_runs == 0 and again.finetune_runs == 0
    assert json.loads((out / "results.json").read_text())["cells"] == json.loads(before)["cells"]

    # A lost cell (as if interrupted before it was written) runs alone and reuses the cached pre-training.
    results = read_results(out / "results.json")
    results["cells"] = [row for row in results["cells"] if row["variant"] != "MGM+NGSP+SRM"]
    write_json_atomic(out / "results.json", results)
    third = _Counting()
    summary = run_study(study, out, cache, pretrain_fn=third.pretrain, finetune_fn=third.finetune)
    assert summary.ran == ["MGM+NGSP+SRM|toy_tata|seed=0"] and summary.skipped == ["none|toy_tata|seed=0"]
    assert third.pretrain_runs == 0 and third.finetune_runs == 1
    assert summary.reused_checkpoints == [results_hash(out)]

    # Interrupted mid-study: the first cell is on disk, the resumed run does only the second one.
    out2 = tmp_path / "out2"
    failing = _Counting(fail_on=2)
    with pytest.raises(KeyboardInterrupt):
        run_study(study, out2, cache, pretrain_fn=failing.pretrain, finetune_fn=failing.finetune)
    assert [row["variant"] for row in read_results(out2 / "results.json")["cells"]] == ["none"]
    assert not list(out2.glob(".results.json.*"))  # no temporary file left behind
    resumed = _Counting()
    summary = run_study(study, out2, cache, pretrain_fn=resumed.pretrain, finetune_fn=resumed.finetune)
    assert summary.ran == ["MGM+NGSP+SRM|toy_tata|seed=0"] and resumed.finetune_runs == 1
    assert resumed.pretrain_runs == 0  # the checkpoint of the first output folder is shared through the cache


def results_hash(out: Path) -> str:
    rows = read_results(out / "results.json")["cells"]
    return next(row["pretrain_hash"] for row in rows if row["pretrain_hash"])


def test_changed_configuration_reruns_only_that_cell(tiny_corpus, tmp_path):
    values = _study_values(tiny_corpus, _write_task(tmp_path))
    values["variants"] = [values["variants"][0]]
    out = tmp_path / "out"
    run_study(parse_study(values), out, tmp_path / "cache")
    values["finetune"]["learning_rate"] = 5e-4  # a different fine-tuning recipe: the finished cell is stale
    summary = run_study(parse_study(values), out, tmp_path / "cache")
    assert summary.ran == ["none|toy_tata|seed=0"]
    assert len(read_results(out / "results.json")["cells"]) == 1


def test_embeddings_task_gives_silhouette_and_tsne(tiny_corpus, tmp_path):
    values = {
        "name": "modality",
        "factor": "pre-training",
        "corpus": str(tiny_corpus),
        "seeds": [0],
        "pretrain": {"preset": "tiny", "max_steps": 1, "per_device_train_batch_size": 4, "warmup_steps": 0,
                     "validation_fraction": 0.6},
        "variants": [
            {"name": "uni-modal", "pretrain": {"use_srm": False}},
            {"name": "multi-modal", "pretrain": {"use_srm": True}},
        ],
        "tasks": [{"name": "cell_types", "type": "embeddings"}],
    }  # fmt: skip
    study = parse_study(values)
    assert study.metrics == ["silhouette"]
    summary = run_study(study, tmp_path / "out", tmp_path / "cache")
    rows = read_results(tmp_path / "out" / "results.json")["cells"]
    assert len(summary.ran) == 2
    for row in rows:
        assert -1.0 <= row["metrics"]["silhouette"] <= 1.0 and row["metrics"]["samples"] >= 4
    assert (tmp_path / "out" / "modality_cell_types_tsne.png").is_file()
    assert "Silhouette" in (tmp_path / "out" / "results.md").read_text()


# ------------------------------------------------------------------------------------------------- units


def test_pretrain_hash_is_stable_and_keyed_by_what_changes_the_weights(tmp_path):
    args = {"preset": "tiny", "max_steps": 10, "srm_weight": 0.25}
    reference = pretrain_hash(args, "demo_real", 0)
    assert pretrain_hash(dict(reversed(args.items())), "demo_real", 0) == reference
    assert pretrain_hash({**args, "logging_steps": 3, "eval_steps": 7}, "demo_real", 0) == reference
    assert pretrain_hash(args, "demo_real", 1) != reference  # seeds differ
    assert pretrain_hash({**args, "srm_weight": 1.0}, "demo_real", 0) != reference
    assert pretrain_hash(args, "demo_synthetic", 0) != reference
    assert pretrain_hash({**args, "global_batch_size": 16}, "demo_real", 0) == pretrain_hash(
        {**args, "per_device_train_batch_size": 16}, "demo_real", 0
    )
    assert stable_hash({"a": 1, "b": [1, 2]}) == stable_hash({"b": [1, 2], "a": 1})


def test_aggregate_mean_and_sample_std_over_seeds():
    rows = [
        {"variant": "a", "task": "t", "seed": s, "metrics": {"auc": v, "mcc": m}}
        for s, v, m in ((0, 0.6, math.nan), (1, 0.8, 0.2), (2, 0.7, 0.4))
    ] + [{"variant": "b", "task": "t", "seed": 0, "metrics": {"auc": 0.5, "mcc": 0.0}}]
    summary = aggregate(rows, ["auc", "mcc"])
    first, second = summary
    assert first["variant"] == "a" and first["seeds"] == [0, 1, 2]
    assert first["mean"]["auc"] == pytest.approx(0.7) and first["std"]["auc"] == pytest.approx(0.1)
    assert first["n"]["mcc"] == 2 and first["mean"]["mcc"] == pytest.approx(0.3)  # nan left out
    assert second["std"]["auc"] == 0.0 and second["n"]["auc"] == 1


def test_grid_and_presets_expand():
    values = {
        "name": "lam",
        "corpus": "demo_real",
        "pretrain": {"max_steps": 100},
        "grid": {"srm_weight": [0.1, 0.5]},
        "tasks": [{"name": "p", "task": "gue_prom_core_all"}],
        "presets": {"tiny": {"seeds": [0, 1], "pretrain": {"max_steps": 5}, "grid": {"srm_weight": [1.0]}}},
    }
    study = parse_study(values)
    assert [v.name for v in study.variants] == ["srm_weight=0.1", "srm_weight=0.5"]
    assert [v.x for v in study.variants] == [0.1, 0.5] and study.seeds == [42]
    tiny = parse_study(values, preset="tiny")
    assert [v.name for v in tiny.variants] == ["srm_weight=1.0"] and tiny.seeds == [0, 1]
    assert tiny.pretrain == {"max_steps": 5} and len(tiny.cells()) == 2
    assert tiny.cells()[0].pretrain_args() == {"max_steps": 5, "srm_weight": 1.0}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"typo": 1}, "unknown keys ['typo']"),
        ({"pretrain": {"use_mgmm": False}}, "pretrain: unknown keys ['use_mgmm']"),
        ({"seeds": []}, "'seeds' must be a non-empty list"),
        ({"seeds": [0, 0]}, "duplicate seeds"),
        ({"corpus": None}, "'corpus' must be"),
        ({"tasks": []}, "'tasks' must be a non-empty list"),
        ({"tasks": [{"name": "x"}]}, "give either 'task'"),
        ({"tasks": [{"name": "x", "type": "bogus"}]}, "type must be one of"),
        ({"variants": [{"name": "a", "pretrain": {}}, {"name": "a", "pretrain": {}}]}, "duplicate variant names"),
        ({"variants": [{"name": "a"}]}, "give 'pretrain'"),
        ({"variants": [{"name": "a", "pretrain": None}], "tasks": [{"name": "e", "type": "embeddings"}]},
         "needs every variant to pre-train"),
        ({"name": "has space"}, "'name' must be"),
    ],
)  # fmt: skip
def test_validation_errors_name_the_problem(change, message):
    values = {
        "name": "ok",
        "corpus": "demo_real",
        "variants": [{"name": "a", "pretrain": {}}],
        "tasks": [{"name": "p", "task": "gue_prom_core_all"}],
    }
    values.update(change)
    with pytest.raises(StudyError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        parse_study(values, source="f.yaml")


def test_unknown_preset_and_missing_task_data(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump(
            {"name": "s", "corpus": "demo_real", "variants": [{"name": "a", "pretrain": {}}],
             "tasks": [{"name": "p", "task": "gue_prom_core_all"}], "presets": {"tiny": {}}}
        )
    )  # fmt: skip
    with pytest.raises(StudyError, match="no preset 'huge'"):
        load_study(path, "huge")
    study = load_study(path, "tiny")
    with pytest.raises(StudyError, match="--data-root"):
        check_tasks(study, str(tmp_path / "nowhere"))
    with pytest.raises(StudyError, match="no preset"):
        genebert_main(["study", str(path), "--preset", "huge"])


@pytest.mark.parametrize("name", ["losses", "backbones", "batch_size", "lambda", "modality"])
@pytest.mark.parametrize("preset", ["tiny", "paper"])
def test_shipped_study_files_are_valid(name, preset):
    study = load_study(
        STUDIES / f"{name}.yaml", preset, {"corpus": "demo_real"} if preset == "paper" else None
    )
    assert study.cells() and study.variants
    if preset == "paper":
        assert study.seeds == [0, 1, 2, 3, 4]  # the paper's 5 seeds


def test_hash_resolves_defaults():
    assert pretrain_hash({"preset": "tiny"}, "demo_real", 0) == pretrain_hash(
        {"preset": "tiny", "srm_weight": 0.5, "use_srm": True, "validation_fraction": 0.1}, "demo_real", 0
    )


def test_cli_lists_cells(tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        genebert_main(
            ["study", str(STUDIES / "losses.yaml"), "--preset", "tiny", "--list", "--out", str(out)]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 12 and all(line.startswith("todo") for line in lines)
    assert "none|prom_core_all|seed=0  pretrain=None" in lines[0]


def test_pretrain_region_backbone_kwargs_flag(tiny_corpus):
    from genebert.genomics.corpus import load_corpus

    model_args, _, _ = pretrain_module.parse_arguments(
        ["--corpus_dir", str(tiny_corpus), "--preset", "tiny", "--region_backbone", "vit_tiny_patch16_224",
         "--region_backbone_kwargs", '{"embed_dim": 32, "depth": 2, "num_heads": 2}']
    )  # fmt: skip
    config = pretrain_module.build_config(model_args, load_corpus(tiny_corpus))
    assert config.region_backbone_kwargs == {"embed_dim": 32, "depth": 2, "num_heads": 2}
    model_args.region_backbone_kwargs = "[1, 2]"
    with pytest.raises(UsageError, match="JSON object"):
        pretrain_module.build_config(model_args, load_corpus(tiny_corpus))


def test_a_checkpoint_being_written_is_waited_for_never_removed(tiny_corpus, tmp_path, monkeypatch):
    """Parallel studies share the cache: a checkpoint folder another process is still writing (its output lock
    held) is not an interrupted run to delete; the study waits, then reuses what that process finished."""
    import subprocess
    import sys

    from genebert.training.study import runner

    study = parse_study(_study_values(tiny_corpus, _write_task(tmp_path)), source="toy")
    cell = next(c for c in study.cells() if c.pretrain_args() is not None)
    directory = tmp_path / "cache" / "checkpoints" / cell.pretrain_hash()
    directory.mkdir(parents=True)
    (directory / "partial.bin").write_text("being written")
    writer = subprocess.Popen(  # another process's pre-training: holds the lock until told to finish
        [sys.executable, "-c", (
            "import sys, pathlib; from genebert.storage import output_lock\n"
            f"d = pathlib.Path({str(directory)!r})\n"
            "with output_lock(d):\n"
            "    print('held', flush=True); sys.stdin.readline()\n"
            "    (d / 'study_pretrain.json').write_text('{}')\n"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout.readline().strip() == "held"
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        assert (directory / "partial.bin").is_file()  # untouched while the writer holds its lock
        writer.communicate("done\n", timeout=60)

    monkeypatch.setattr(runner, "_pause", sleep)
    counter = _Counting()
    found = runner.ensure_pretrained(
        cell, tiny_corpus, tmp_path / "cache", counter.pretrain, runner.RunSummary()
    )
    assert found == directory and counter.pretrain_runs == 0 and len(waits) == 1
    assert (directory / "partial.bin").is_file()  # reused, not removed


def test_reports_list_every_command_that_ran_cells_and_report_only_keeps_them(tiny_corpus, tmp_path):
    """Seeds run by separate commands into one folder: results.md names each, not only the last."""
    from genebert.training.study import write_reports

    study = parse_study(_study_values(tiny_corpus, _write_task(tmp_path)), source="toy")
    out = tmp_path / "out"
    out.mkdir()
    write_json_atomic(out / "results.json", {"cells": [], "command": "run --seeds 0"})  # an older folder
    write_reports(study, out, tmp_path / "cache", "run --seeds 1")
    write_reports(study, out, tmp_path / "cache")  # --report-only
    results = read_results(out / "results.json")
    assert results["commands"] == ["run --seeds 0", "run --seeds 1"]
    assert "```\nrun --seeds 0\nrun --seeds 1\n```" in (out / "results.md").read_text()
