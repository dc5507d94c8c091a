"""The command line: `genebert demo` runs on the embedded real data."""

from __future__ import annotations

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


def test_demo_end_to_end_small(capsys, tmp_path):
    """The demo's whole path with 2 training steps per corpus (the full demo is `make demo`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert (
            main(
                [
                    "demo",
                    "--out",
                    str(tmp_path),
                    "--real-steps",
                    "2",
                    "--synthetic-steps",
                    "2",
                    "--no-progress",
                ]
            )
            == 0
        )
    out = capsys.readouterr().out
    assert "motifs        579" in out and "report:" in out
    report = (tmp_path / "report.md").read_text()
    assert "| real |" in report and "| synthetic |" in report
    for name in ("real", "synthetic"):
        assert (tmp_path / name / "corpus" / "metadata.json").is_file()
        assert (tmp_path / name / "model" / "model.safetensors").is_file()
        assert (tmp_path / name / "model" / "training_curves.png").is_file()
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"mgm_accuracy", "mgm_neighbour_copy_accuracy", "srm_chance", "ngsp_accuracy"} <= results[
        "synthetic"
    ]["held_out"].keys()


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
