"""The README's Python quickstart runs as written."""

from __future__ import annotations

import os
import re

from conftest import REPO_ROOT


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def test_readme_quickstart_runs(tmp_path, capsys):
    blocks = python_blocks((REPO_ROOT / "README.md").read_text())
    assert blocks, "README has no python block"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(blocks[0], "README.md quickstart", "exec"), {})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "ACGTACGTTAGCCGATTA TTGACAGGCTAGCTAAC torch.Size([1, 28, 4101]) torch.Size([1, 1])" in out
    for name in (
        "vocab.txt",
        "config.json",
        "model.safetensors",
        "modeling_genebert.py",
        "tokenization_genebert.py",
    ):
        assert (tmp_path / "my-genebert" / name).is_file(), name
