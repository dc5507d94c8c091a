"""Shared fixtures: small generated data, the optional real data in ../shared/data, fresh processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# Nothing in the test suite may reach the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


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
