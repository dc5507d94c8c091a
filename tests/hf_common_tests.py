"""Fetch transformers' own common test mixins for the installed transformers version (used by
tests/model/test_transformers_common.py).

The transformers sdist on the package index ships ``tests/test_modeling_common.py`` (``ModelTesterMixin``) and
``tests/test_configuration_common.py`` (``ConfigTester``) of exactly that release. They are extracted into a cache
folder as a package named ``genebert_hf_common_tests`` (their imports are relative, so the name does not matter).

The sdist does not ship three modules those two files import; they are replaced by stand-ins:

* ``tests/exporters/test_export.py`` (``ExportTesterMixin``, the ``torch.export`` tests): an empty mixin, so those
  tests are not run (they are not in the sdist at all; this is not a skip we chose per test).
* ``tests/generation/test_utils.py`` (``GenerationTesterMixin``): an empty class. GeneBERT models cannot generate,
  and the common tests require that a tester of such a model does *not* inherit it.
* ``tests/utils/test_configuration_utils.py``: only ``config_common_kwargs``, the non-default values of
  ``PreTrainedConfig``'s common fields that ``ConfigTester.check_config_arguments_init`` sets and reads back.

Cache: ``$GENEBERT_TEST_CACHE`` or ``~/.cache/genebert``, one folder per transformers version, written atomically.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "genebert_hf_common_tests"
FILES = ("test_modeling_common.py", "test_configuration_common.py")

_STUBS = {
    "exporters/test_export.py": '"""Stand-in: the transformers sdist does not ship tests/exporters."""\n\n\n'
    "class ExportTesterMixin:\n    pass\n",
    "generation/test_utils.py": '"""Stand-in: the transformers sdist does not ship tests/generation."""\n\n\n'
    "class GenerationTesterMixin:\n    pass\n",
    "utils/test_configuration_utils.py": '"""Stand-in: the transformers sdist does not ship tests/utils."""\n\n'
    "config_common_kwargs = {\n"
    '    "return_dict": False,\n'
    '    "output_hidden_states": True,\n'
    '    "output_attentions": True,\n'
    '    "dtype": "float16",\n'
    '    "chunk_size_feed_forward": 5,\n'
    '    "architectures": ["BertModel"],\n'
    '    "id2label": {0: "label"},\n'
    '    "label2id": {"label": "0"},\n'
    '    "problem_type": "regression",\n'
    "}\n",
}


def cache_root() -> Path:
    return Path(os.environ.get("GENEBERT_TEST_CACHE", Path.home() / ".cache" / "genebert"))


def common_tests_dir(version: str, timeout: float = 300) -> tuple[Path | None, str]:
    """The folder holding the ``genebert_hf_common_tests`` package for transformers ``version`` (fetched and cached
    on first use), or ``(None, reason)`` when the sdist cannot be had."""
    target = cache_root() / f"transformers-{version}-common-tests"
    if (target / PACKAGE / "__init__.py").is_file():
        return target, ""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as scratch:
        scratch_path = Path(scratch)
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-binary",
            ":all:",
            "--no-deps",
            "--quiet",
            f"transformers=={version}",
            "-d",
            str(scratch_path / "dl"),
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"pip download of the transformers {version} sdist timed out after {timeout:.0f} s"
        archives = sorted((scratch_path / "dl").glob("transformers-*.tar.gz"))
        if result.returncode != 0 or not archives:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            return None, f"the package index did not give the transformers {version} sdist ({tail[0]})"
        package = scratch_path / "out" / PACKAGE
        package.mkdir(parents=True)
        with tarfile.open(archives[0]) as archive:
            members = {
                Path(m.name).name: m for m in archive.getmembers() if Path(m.name).parent.name == "tests"
            }
            missing = [name for name in FILES if name not in members]
            if missing:
                return None, f"the transformers {version} sdist has no tests/{missing[0]}"
            for name in FILES:
                (package / name).write_bytes(archive.extractfile(members[name]).read())
        (package / "__init__.py").write_text("")
        for relative, text in _STUBS.items():
            path = package / relative
            path.parent.mkdir(exist_ok=True)
            (path.parent / "__init__.py").touch()
            path.write_text(text)
        try:
            os.replace(scratch_path / "out", target)
        except OSError:  # another process won the race
            if not (target / PACKAGE / "__init__.py").is_file():
                raise
    return target, ""
