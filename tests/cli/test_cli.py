"""The command line: `genebert demo` runs on the embedded real data."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import warnings

from genebert.cli import demo_fasta_path, main
from genebert.genomics.sequences import read_fasta


def test_embedded_demo_data_is_packaged():
    records = list(read_fasta(demo_fasta_path()))
    assert len(records) == 525
    assert {r.description.split("_")[0] for r in records} == {"GM", "H1"}
    assert all(len(r.sequence) == 500 for r in records)


def test_demo_end_to_end_small(capsys, tmp_path, monkeypatch):
    """The demo's whole path through the CLI with 2 pre-training and 2 fine-tuning steps and small evaluation sets
    (the full demo is `make demo`)."""
    import genebert.demo

    small = functools.partial(genebert.demo.DemoSettings, heldout_eval_samples=64, predict_sequences=10)
    monkeypatch.setattr(genebert.demo, "DemoSettings", small)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        argv = ["demo", "--out", str(tmp_path), "--pretrain-steps", "2", "--finetune-steps", "2", "--no-progress"]
        assert main(argv) == 0
    out = capsys.readouterr().out
    assert "motifs        579" in out and "report:" in out
    report = (tmp_path / "report.md").read_text()
    for section in ("## 1. Pre-training on real DNA", "## 2. Fine-tuning", "## 3. Export and prediction"):
        assert section in report
    assert "| MGM accuracy" in report and "copy-aware" in report and "logistic regression on 4-mer" in report
    assert (tmp_path / "corpus" / "metadata.json").is_file()
    assert (tmp_path / "pretrain" / "model.safetensors").is_file()
    assert (tmp_path / "pretrain" / "training_curves.png").is_file()
    assert (tmp_path / "pretrain" / "heldout_split.json").is_file()
    assert (tmp_path / "hub_model" / "modeling_genebert.py").is_file()
    results = json.loads((tmp_path / "results.json").read_text())
    held_out = results["pretrain"]["held_out"]
    assert {"mgm_accuracy", "mgm_copy_aware_accuracy", "srm_chance", "srm_cell_type_oracle", "ngsp_accuracy",
            "probe_r2", "composition_r2"} <= held_out.keys()  # fmt: skip
    assert held_out["samples"] > 0 and results["finetune"]["baseline_kmer_logistic_regression"]["k"] == 4
    predictions = (tmp_path / "predict" / "predictions.tsv").read_text().splitlines()
    assert (
        len(predictions)
        == 1 + results["settings"]["predict_sequences"]
        == 1 + results["predict"]["predicted"]
    )


def test_tokenize_prints_summary(capsys):
    assert main(["tokenize"]) == 0
    out = capsys.readouterr().out
    assert "records            525 (GM: 334, H1: 191)" in out
    assert "bases              262,500" in out and "[CLS]" in out


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "genebert.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "demo" in result.stdout


def test_cli_choices_equal_the_pipelines():
    """genebert.cli repeats the pipelines' choices so that --help does not import torch."""
    from genebert import cli, pipelines

    assert (cli.AGGREGATIONS, cli.AGGREGATION_SPACES, cli.POOLINGS) == (
        pipelines.AGGREGATIONS,
        pipelines.AGGREGATION_SPACES,
        pipelines.POOLINGS,
    )


def test_every_command_has_help():
    from genebert.cli import COMMANDS, build_parser

    parser = build_parser()
    names = {command.name for command in COMMANDS}
    assert names == set(parser._subparsers._group_actions[0].choices)
    for command in COMMANDS:
        assert command.run.__doc__, command.name
