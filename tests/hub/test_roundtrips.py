"""Round trips that must never break: resize / add_tokens then save and load; the loading contract of
`from_pretrained`; re-saving an export (save_pretrained, push_to_hub to a loopback Hub, Trainer push) keeps the remote
code, the pipeline and the project's card; a sequence-only export loads with torch + transformers alone (no timm)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_without_genebert
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file
from test_hub import HubStub, make_classifier

from genebert import (
    GeneBertConfig,
    GeneBertForMaskedLM,
    GeneBertForPreTraining,
    GeneBertForSequenceClassification,
    GeneBertTokenizer,
)
from genebert.hub import PIPELINE_FILE, REMOTE_CODE_FILES, export_for_hub
from genebert.modeling_genebert import GeneBertLoadingError

SEQUENCES = ["ACGTAGCATCGGATCTATCTATCGACACTTGGTTATCG", "TTGACAGCTAGCTCAGTCCTAGGTATAATGCTAGCNNACGT"]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """An exported classifier (remote code, pipeline, card) and its reference logits."""
    root = tmp_path_factory.mktemp("roundtrip")
    model, tokenizer = make_classifier(3), GeneBertTokenizer(kmer=6)
    out = export_for_hub(model, tokenizer, root / "export", repo_id="someone/genebert-promoter")
    batch = tokenizer(SEQUENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        np.save(root / "logits.npy", model(**batch).logits.numpy())
    return out, root


# ------------------------------------------------------------------------------------- vocabulary changes


@pytest.mark.parametrize("model_class", [GeneBertForSequenceClassification, GeneBertForMaskedLM])
def test_resize_with_pad_to_multiple_of_and_add_tokens_then_save_and_load(tmp_path, model_class):
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = GeneBertTokenizer(kmer=6)
    assert tokenizer.add_tokens(["[VAR]"], special_tokens=True) == 1
    model = model_class(GeneBertConfig.tiny(num_labels=2)).eval()
    model.resize_token_embeddings(len(tokenizer), pad_to_multiple_of=8)
    assert model.config.vocab_size == 4104  # 4101 k-mers and specials + [VAR], padded to a multiple of 8
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)

    loaded = model_class.from_pretrained(tmp_path).eval()
    reloaded_tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.config.vocab_size == 4104 and len(reloaded_tokenizer) == 4102
    text = "ACGTACGTTAGC[VAR]GATTACAGATTACA"
    ids = reloaded_tokenizer(text, return_tensors="pt")
    assert tokenizer.convert_tokens_to_ids("[VAR]") in ids["input_ids"][0].tolist()
    assert ids["input_ids"].tolist() == tokenizer(text, return_tensors="pt")["input_ids"].tolist()
    with torch.no_grad():
        torch.testing.assert_close(loaded(**ids).logits, model(**ids).logits, rtol=1e-5, atol=1e-6)
    # and through the Auto classes, as a user loads it
    assert AutoModel.from_pretrained(tmp_path).get_input_embeddings().weight.shape[0] == 4104


def test_config_refuses_a_vocabulary_that_does_not_fit_k():
    with pytest.raises(ValueError, match="vocab_size 100 does not fit kmer=6"):
        GeneBertConfig(kmer=6, vocab_size=100)
    with pytest.raises(ValueError, match="another k"):
        GeneBertConfig(kmer=5, vocab_size=4101)
    assert GeneBertConfig(kmer=6, vocab_size=4104).vocab_size == 4104


# ------------------------------------------------------------------------------------ loading contract


def test_from_pretrained_strict_for_a_damaged_checkpoint_but_transformers_contract_on_request(tmp_path):
    torch.manual_seed(0)
    model = GeneBertForPreTraining(GeneBertConfig.tiny(num_motifs=8)).eval()
    model.save_pretrained(tmp_path / "good")
    weights = load_file(str(tmp_path / "good" / "model.safetensors"))
    key = "bert.encoder.layer.0.output.dense.weight"
    del weights[key]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((tmp_path / "good" / "config.json").read_text())
    save_file(weights, str(broken / "model.safetensors"), metadata={"format": "pt"})

    with pytest.raises(GeneBertLoadingError, match=r"1 missing weight"):
        GeneBertForPreTraining.from_pretrained(
            broken
        )  # the plain way: protection against half-loaded checkpoints
    with pytest.raises(GeneBertLoadingError):
        GeneBertForPreTraining.from_pretrained(broken, strict_loading=True, output_loading_info=True)
    # asking for the report: transformers' contract (initialise, warn, report)
    loaded, info = GeneBertForPreTraining.from_pretrained(broken, output_loading_info=True)
    assert key in info["missing_keys"]
    assert torch.isfinite(dict(loaded.named_parameters())[key]).all()
    # an explicit state_dict is the caller's choice: missing weights are initialised
    empty = GeneBertForPreTraining.from_pretrained(None, config=model.config, state_dict={})
    assert not any(p.is_meta for p in empty.parameters())
    explicit = GeneBertForPreTraining.from_pretrained(
        None, config=model.config, state_dict=model.state_dict()
    )
    for name, value in model.state_dict().items():
        torch.testing.assert_close(explicit.state_dict()[name], value, rtol=0, atol=0, msg=name)


# ------------------------------------------------------------------------- re-saving and pushing an export


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_resaving_an_export_without_genebert_works_exactly_like_the_export(export, tmp_path):
    """FRESH: without genebert, load the export with trust_remote_code, save model + tokenizer, and use the copy."""
    out, root = export
    resaved = tmp_path / "resaved"
    run_without_genebert(
        f"""
        import json
        import numpy as np
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

        source, target = {str(out)!r}, {str(resaved)!r}
        model = AutoModelForSequenceClassification.from_pretrained(source, trust_remote_code=True)
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=True)
        model.save_pretrained(target)
        tokenizer.save_pretrained(target)

        copy = AutoModelForSequenceClassification.from_pretrained(target, trust_remote_code=True).eval()
        batch = tokenizer({SEQUENCES!r}, padding=True, return_tensors="pt")
        with torch.no_grad():
            np.testing.assert_array_equal(copy(**batch).logits.numpy(), np.load({str(root / "logits.npy")!r}))
        long_sequence = "ACGTTGCA" * 150
        results = [
            pipeline("dna-classification", model=path, trust_remote_code=True, device=-1)(long_sequence, stride=200)
            for path in (source, target)
        ]
        assert results[0] == results[1], results
        print("RESAVED OK")
        """,
        tmp_path,
    )
    assert _files(resaved) >= _files(out) - {".gitattributes"}
    assert (resaved / PIPELINE_FILE).read_text() == (out / PIPELINE_FILE).read_text()
    for name in REMOTE_CODE_FILES:
        assert (resaved / name).read_text() == (out / name).read_text(), name
    assert (resaved / "README.md").read_text() == (out / "README.md").read_text()  # the project's card
    config = json.loads((resaved / "config.json").read_text())
    assert config["custom_pipelines"] == json.loads((out / "config.json").read_text())["custom_pipelines"]


def test_resaving_with_genebert_installed_keeps_the_pipeline(export, tmp_path):
    from transformers import AutoModelForSequenceClassification

    out, _ = export
    model = AutoModelForSequenceClassification.from_pretrained(out)  # genebert's own class
    assert type(model) is GeneBertForSequenceClassification
    model.save_pretrained(tmp_path / "copy")
    assert (tmp_path / "copy" / PIPELINE_FILE).read_text() == (out / PIPELINE_FILE).read_text()
    assert "custom_pipelines" in json.loads((tmp_path / "copy" / "config.json").read_text())


def _hub_env(httpserver) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        HF_ENDPOINT=httpserver.url_for("").rstrip("/"),
        HF_HUB_OFFLINE="0",
        HF_TOKEN="hf_test_token",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_ETAG_TIMEOUT="2",
        HF_HUB_DOWNLOAD_TIMEOUT="2",
    )
    return env


def _no_remote_card(httpserver, repo_id: str) -> None:
    """The repository has no README yet: the Hub answers 404 EntryNotFound."""
    from werkzeug import Response

    def missing(request):
        return Response("not found", status=404, headers={"X-Error-Code": "EntryNotFound"})

    for method in ("HEAD", "GET"):
        httpserver.expect_request(f"/{repo_id}/resolve/main/README.md", method=method).respond_with_handler(
            missing
        )


def _run_pushing(code: str, httpserver, tmp_path: Path) -> str:
    script = tmp_path / "push.py"
    script.write_text(textwrap.dedent(code))
    result = subprocess.run(
        [sys.executable, str(script)],
        env=_hub_env(httpserver),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_push_to_hub_keeps_remote_code_pipeline_and_card(export, tmp_path, httpserver):
    """`model.push_to_hub` + `tokenizer.push_to_hub` of a loaded export, to a loopback Hub: the commit holds every
    remote-code file, the pipeline and the project's card (transformers alone would write its generic card)."""
    out, _ = export
    repo = "someone/genebert-copy"
    stub = HubStub(httpserver, "model", repo)
    _no_remote_card(httpserver, repo)
    _run_pushing(
        f"""
        import sys
        sys.modules["genebert"] = None
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        model = AutoModelForSequenceClassification.from_pretrained({str(out)!r}, trust_remote_code=True)
        tokenizer = AutoTokenizer.from_pretrained({str(out)!r}, trust_remote_code=True)
        tokenizer.push_to_hub({repo!r})  # first: on this stub, every push finds no card on the "Hub"
        model.push_to_hub({repo!r})
        """,
        httpserver,
        tmp_path,
    )
    files = stub.committed_files()
    assert {PIPELINE_FILE, "README.md", "config.json", "model.safetensors", *REMOTE_CODE_FILES} <= set(files)
    assert files[PIPELINE_FILE] == (out / PIPELINE_FILE).read_bytes()
    card = ModelCard(files["README.md"].decode())
    assert "genebert" in card.data.tags and "## How to load" in card.text
    assert card.text == ModelCard.load(out / "README.md").text


def test_trainer_push_keeps_remote_code_and_pipeline(export, tmp_path, httpserver):
    """`Trainer(push_to_hub=True).push_to_hub()` of a loaded export uploads the pipeline and all remote code."""
    out, _ = export
    repo = "someone/genebert-trained"
    stub = HubStub(httpserver, "model", repo)
    _no_remote_card(httpserver, repo)
    _run_pushing(
        f"""
        import sys
        sys.modules["genebert"] = None
        from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments
        model = AutoModelForSequenceClassification.from_pretrained({str(out)!r}, trust_remote_code=True)
        tokenizer = AutoTokenizer.from_pretrained({str(out)!r}, trust_remote_code=True)
        args = TrainingArguments(
            output_dir={str(tmp_path / "run")!r}, push_to_hub=True, hub_model_id={repo!r}, report_to="none",
            use_cpu=True,
        )
        Trainer(model=model, args=args, processing_class=tokenizer).push_to_hub()
        """,
        httpserver,
        tmp_path,
    )
    files = stub.committed_files()
    assert {PIPELINE_FILE, "config.json", "model.safetensors", *REMOTE_CODE_FILES} <= set(files)
    assert files[PIPELINE_FILE] == (out / PIPELINE_FILE).read_bytes()
    assert "custom_pipelines" in json.loads(files["config.json"])


# ----------------------------------------------------------------------------- torch + transformers only


def test_sequence_only_export_loads_without_timm_and_genebert(export, tmp_path):
    """FRESH: timm and genebert cannot be imported; the exported classifier (no region tower) loads through the Auto
    classes and the pipeline with identical outputs."""
    out, root = export
    run_without_genebert(
        f"""
        import sys
        sys.modules["timm"] = None
        import numpy as np
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

        path = {str(out)!r}
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True)
        model = AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=True).eval()
        batch = tokenizer({SEQUENCES!r}, padding=True, return_tensors="pt")
        with torch.no_grad():
            np.testing.assert_array_equal(model(**batch).logits.numpy(), np.load({str(root / "logits.npy")!r}))
        assert pipeline("dna-classification", model=path, trust_remote_code=True, device=-1)("ACGT" * 40)["label"]
        # the other sequence-only heads and standard pipelines (5 kb of DNA is truncated to one window)
        from transformers import AutoModelForTokenClassification
        assert AutoModelForTokenClassification.from_pretrained(path, trust_remote_code=True).num_labels == 2
        fill = pipeline("fill-mask", model=path, trust_remote_code=True, device=-1)
        assert len(fill("ACGTAGCATCGG[MASK]TCTATCTATCG", top_k=2)) == 2
        features = pipeline("feature-extraction", model=path, trust_remote_code=True, device=-1)
        assert tuple(features("ACGT" * 1250, return_tensors=True).shape)[:2] == (1, 512)
        assert "timm" not in sys.modules or sys.modules["timm"] is None
        print("NO TIMM OK")
        """,
        tmp_path,
    )


def test_a_region_tower_without_timm_names_what_to_install(tmp_path):
    torch.manual_seed(0)
    GeneBertForPreTraining(GeneBertConfig.tiny(num_motifs=8)).save_pretrained(tmp_path / "pt")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['timm'] = None\n"
            "from transformers import AutoModelForPreTraining\n"
            f"AutoModelForPreTraining.from_pretrained({str(tmp_path / 'pt')!r}, trust_remote_code=True)",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"HF_HUB_OFFLINE": "1"},
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "region tower, which needs timm: pip install timm" in result.stderr


# ----------------------------------------------------------------------------------------- transformers range


@pytest.mark.parametrize("version", ["4.57.6", "6.0.0"])
def test_remote_code_refuses_transformers_outside_5x_in_one_line(export, tmp_path, version):
    """FRESH: under a transformers that reports another major version, every remote-code entry point refuses with
    one clear line; none loads and produces other ids (4.x would drop [CLS]/[SEP])."""
    out, _ = export
    result = run_without_genebert(
        f"""
        import sys
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, pipeline

        # (importing transformers' pipelines replaces the module object in sys.modules: patch that one)
        sys.modules["transformers"].__version__ = {version!r}

        for load in (
            lambda: AutoTokenizer.from_pretrained({str(out)!r}, trust_remote_code=True),
            lambda: AutoConfig.from_pretrained({str(out)!r}, trust_remote_code=True),
            lambda: AutoModelForSequenceClassification.from_pretrained({str(out)!r}, trust_remote_code=True),
            lambda: pipeline("dna-classification", model={str(out)!r}, trust_remote_code=True),
        ):
            try:
                load()
            except ImportError as error:
                print("REFUSED:", str(error).splitlines()[-1])
            else:
                raise SystemExit("loaded under transformers {version}")
        """,
        tmp_path,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("REFUSED:")]
    expected = (
        f"REFUSED: GeneBERT's model code needs transformers>=5.0,<6 (found {version}): "
        "pip install 'transformers>=5.0,<6'"
    )
    assert lines == [expected] * 4, result.stdout


def _transformers_4_python(tmp_path: Path) -> Path:
    """A Python whose transformers is the latest 4.x: a venv with transformers 4 installed from the package index.
    Cached in $GENEBERT_TEST_CACHE (default ~/.cache/genebert). It holds no link to this interpreter, which the
    cache may outlive (a deleted checkout's venv left torch missing there); the code run in it appends this
    interpreter's site-packages itself (:func:`_parent_site_packages_line`)."""
    from hf_common_tests import cache_root

    venv = cache_root() / "venv-transformers4-alone"
    python = venv / "bin" / "python"
    if not (venv / ".complete").is_file():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "transformers>=4,<5"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if installed.returncode != 0:
            pytest.skip(
                f"transformers 4.x could not be installed from the package index: {installed.stderr[-300:]}"
            )
        (venv / ".complete").write_text("ok\n")
    return python


def _parent_site_packages_line() -> str:
    """A line for code run by :func:`_transformers_4_python`: torch from this interpreter, appended after the
    venv's own packages so that its transformers 4 wins."""
    import sysconfig

    return f"import sys; sys.path.append({sysconfig.get_paths()['purelib']!r})"


@pytest.mark.slow
def test_real_transformers_4x_refuses_the_export_in_one_line(export, tmp_path):
    """The latest transformers 4.x (installed in a second venv) is outside the supported range: the exported remote
    code refuses to load (tokenizer, config, model) with one line instead of producing other ids."""
    out, _ = export
    python = _transformers_4_python(tmp_path)
    code = textwrap.dedent(
        f"""
        {_parent_site_packages_line()}
        import transformers
        assert transformers.__version__.startswith("4."), transformers.__version__
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
        for load in (AutoTokenizer, AutoConfig, AutoModelForSequenceClassification):
            try:
                load.from_pretrained({str(out)!r}, trust_remote_code=True)
            except ImportError as error:
                print("REFUSED:", str(error).splitlines()[-1])
            else:
                raise SystemExit(f"{{load.__name__}} loaded under transformers {{transformers.__version__}}")
        print("VERSION:", transformers.__version__)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"), TRANSFORMERS_VERBOSITY="error")
    result = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    version = next(line for line in result.stdout.splitlines() if line.startswith("VERSION:")).split()[-1]
    refused = [line for line in result.stdout.splitlines() if line.startswith("REFUSED:")]
    assert (
        refused
        == [
            f"REFUSED: GeneBERT's model code needs transformers>=5.0,<6 (found {version}): "
            "pip install 'transformers>=5.0,<6'"
        ]
        * 3
    )


def test_remote_code_files_import_only_each_other_torch_numpy_transformers():
    """The Hub remote code imports the standard library, numpy, torch, transformers and each other at module level;
    timm only inside a function (when a region tower is built); never genebert."""
    import ast

    import genebert

    package = Path(genebert.__file__).parent
    allowed = {"numpy", "torch", "transformers"}
    local = {
        ".configuration_genebert",
        ".tokenization_genebert",
        ".alignment_genebert",
        ".modeling_genebert",
        ".processing_genebert",
    }
    for name in (
        "configuration_genebert.py",
        "modeling_genebert.py",
        "tokenization_genebert.py",
        "alignment_genebert.py",
        "processing_genebert.py",
    ):
        tree = ast.parse((package / name).read_text())
        top_level, nested = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = (
                    [alias.name.split(".")[0] for alias in node.names]
                    if isinstance(node, ast.Import)
                    else ["." * node.level + (node.module or "").split(".")[0]]
                )
                (top_level if node in tree.body else nested).update(names)
        outside = {
            module
            for module in top_level | nested
            if module not in allowed | local | {"__future__"} and module not in sys.stdlib_module_names
        }
        # modeling: timm for the region tower, safetensors (a transformers dependency) to read DNABERT checkpoints
        assert outside <= ({"timm", "safetensors"} if name == "modeling_genebert.py" else set()), (
            name,
            outside,
        )
        assert "safetensors" not in top_level, name
        assert "timm" not in top_level, name
        assert not any(module.startswith("genebert") for module in top_level | nested), name


def test_a_pipeline_whose_code_cannot_be_found_is_left_out_of_the_saved_config(tmp_path, caplog):
    model = make_classifier(4)
    model.config.custom_pipelines = {
        "dna-other": {"impl": "pipeline_elsewhere.Missing", "pt": [], "type": "text"}
    }
    model.save_pretrained(tmp_path)
    assert "custom_pipelines" not in json.loads((tmp_path / "config.json").read_text())
    assert not (tmp_path / "pipeline_elsewhere.py").exists()
    assert model.config.custom_pipelines  # the in-memory config is left as it was
    assert "were not found" in caplog.text or "was not found" in caplog.text


def test_genebert_trainer_keeps_the_project_card(export, tmp_path):
    """genebert's Trainer (fine-tuning uses it) writes no training-summary card over a GeneBERT card, so its
    push keeps the project's card; transformers' plain Trainer has no hook for that (docs/publishing.md)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, TrainingArguments

    from genebert.training.trainer import AtomicCheckpointTrainer

    out, _ = export
    model = AutoModelForSequenceClassification.from_pretrained(out, trust_remote_code=True)
    tokenizer = AutoTokenizer.from_pretrained(out, trust_remote_code=True)
    args = TrainingArguments(output_dir=str(tmp_path / "run"), report_to="none", use_cpu=True)
    trainer = AtomicCheckpointTrainer(model=model, args=args, processing_class=tokenizer)
    trainer.save_model()
    trainer.create_model_card(model_name="genebert-trained")
    assert (tmp_path / "run" / "README.md").read_text() == (out / "README.md").read_text()
    (tmp_path / "run" / "README.md").unlink()  # without a GeneBERT card, transformers' summary is written
    trainer.create_model_card(model_name="genebert-trained")
    assert "genebert-trained" in (tmp_path / "run" / "README.md").read_text()
