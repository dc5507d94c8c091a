"""The command line: `genebert demo` runs on the embedded real data."""

from __future__ import annotations

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


def test_demo_prints_summary(capsys, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "corpus" / "metadata.json").is_file()
    assert "motifs        579" in out and "first sample" in out
    assert "records            525 (GM: 334, H1: 191)" in out
    assert "bases              262,500" in out
    assert "[CLS]" in out


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "genebert.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "demo" in result.stdout
