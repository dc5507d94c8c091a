"""The package's layers (docs/architecture.md): imports only go down, no two modules import each other, the Hub
remote-code files import no other genebert module, and ``import genebert`` / ``genebert --help`` load no torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "genebert"
#: Lowest first; a module may import modules of its own layer (without cycles) or of a layer listed before.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("basics", ("genebert", "genebert.errors", "genebert.storage")),
    ("genomics", ("genebert.genomics",)),
    ("model", ("genebert.configuration_genebert", "genebert.alignment_genebert", "genebert.tokenization_genebert",
               "genebert.processing_genebert", "genebert.modeling_genebert", "genebert.pipelines")),
    ("data", ("genebert.data",)),
    ("plots", ("genebert.figures",)),
    ("training", ("genebert.training",)),
    ("publishing", ("genebert.hub", "genebert.inference")),
    ("demo", ("genebert.demo",)),
    ("cli", ("genebert.cli",)),
]  # fmt: skip
REMOTE_CODE = LAYERS[2][1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > len(best[1])
            ):
                best = (index, prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS and docs/architecture.md"
    return best[0]


def lazy_names() -> dict[str, str]:
    """genebert's lazily exported names -> the module defining each (``_LAZY`` in genebert/__init__.py)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "_LAZY":
            return {k: f"genebert.{v}" for k, v in ast.literal_eval(node.value).items()}
    raise AssertionError("genebert/__init__.py has no _LAZY table")


def exists(module: str) -> bool:
    location = REPO_ROOT / Path(*module.split("."))
    return location.with_suffix(".py").is_file() or (location / "__init__.py").is_file()


def imports_of(path: Path, lazy: dict[str, str]) -> set[str]:
    """genebert modules that ``path`` imports, at the top or inside functions (an import inside a function is an
    edge all the same). Names taken from the package root resolve to their defining module."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "genebert":
                    assert exists(alias.name), (
                        f"{path}:{node.lineno} imports {alias.name}, which does not exist"
                    )
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "genebert":
                continue
            assert exists(target), f"{path}:{node.lineno} imports {target}, which does not exist"
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                if target == "genebert" and alias.name in lazy:
                    found.add(lazy[alias.name])
                else:
                    found.add(candidate if exists(candidate) else target)
    found.discard(module)
    return found


def import_graph() -> dict[str, set[str]]:
    lazy = lazy_names()
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        edges = imports_of(path, lazy)
        if module == "genebert":
            edges = set()  # the facade imports lazily, on first use of a name (see _LAZY)
        graph[module] = edges
    return graph


def test_imports_only_go_down():
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in import_graph().items()
        for target in targets
        if layer_of(target) > layer_of(module)
    ]
    assert not upward, "imports going up the layers:\n" + "\n".join(upward)


def test_no_import_cycles():
    graph = import_graph()
    # a package's __init__ importing its own modules is how packages re-export; the cycle check covers the rest
    edges = {m: {t for t in ts if t in graph and not m.startswith(t + ".")} for m, ts in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", REMOTE_CODE)
def test_remote_code_imports_only_remote_code(module):
    targets = import_graph()[module]
    assert targets <= set(REMOTE_CODE), f"{module} imports {sorted(targets - set(REMOTE_CODE))}"


def test_modules_stay_small():
    """One job a module: none but modeling_genebert.py (the transformers convention) over 600 lines."""
    big = {
        str(path.relative_to(REPO_ROOT)): n
        for path in PACKAGE.rglob("*.py")
        if path.name != "modeling_genebert.py" and (n := len(path.read_text().splitlines())) > 600
    }
    assert not big, big


@pytest.mark.parametrize(
    "code",
    [
        "import genebert, genebert.errors, genebert.genomics.io",
        "import genebert.cli; genebert.cli.build_parser().format_help()",
    ],
)
def test_light_imports_load_no_torch(code):
    check = f"import sys; {code}; heavy = [m for m in ('torch', 'transformers', 'timm') if m in sys.modules]; print(heavy)"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_classes_used_through_genebert_are_registered_with_auto_classes():
    code = (
        "import genebert; from transformers import AutoConfig, AutoModel; "
        "config = genebert.GeneBertConfig.tiny(); "
        "assert type(AutoConfig.for_model('genebert')).__name__ == 'GeneBertConfig'; "
        "print(type(AutoModel.from_config(config)).__name__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "GeneBertModel"
