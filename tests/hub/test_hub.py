"""Hub publishing: export (remote code, card, atomic writes), loading in a fresh process without genebert, and
pushes to a loopback Hub stub (pytest-httpserver) recording every request."""

from __future__ import annotations

import ast
import base64
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_without_genebert
from huggingface_hub import ModelCard

from genebert import (
    GeneBertConfig,
    GeneBertForPreTraining,
    GeneBertForSequenceClassification,
    GeneBertTokenizer,
)
from genebert.hub import (
    PIPELINE_FILE,
    REMOTE_CODE_FILES,
    evaluation_metrics,
    export_dataset,
    export_for_hub,
    push_dataset,
    read_training_args,
    read_training_run,
    remote_pipeline_source,
)
from genebert.pipelines import DnaClassificationPipeline

LABELS = {0: "background", 1: "promoter"}
SEQUENCES = [
    "ACGTAGCATCGGATCTATCTATCGACACTTGGTTATCGATCTACGAGCATCTCGTTAGC",
    "TTGACAGCTAGCTCAGTCCTAGGTATAATGCTAGCNNACGT",
    "acgtacgtacgtagctagctacgatcgatcgtacgatcgatcgatgctagcatcgatcgatcgatc",
]


def run_cli(argv: list[str]) -> int:
    """`genebert COMMAND ...`, as a user runs it."""
    from genebert import cli

    return cli.main(argv)


def make_classifier(seed: int = 0) -> GeneBertForSequenceClassification:
    torch.manual_seed(seed)
    config = GeneBertConfig.tiny(num_labels=2, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    model = GeneBertForSequenceClassification(config).eval()
    with torch.no_grad():  # random heads score everything ~0.5; make the outputs informative
        model.classifier.weight.mul_(40)
    return model


def make_training_run(root: Path) -> Path:
    """A run directory as genebert pretrain / finetune leave it (JSON files, training_args.json among them)."""
    from transformers import TrainingArguments

    run = root / "run"
    checkpoint = run / "checkpoint-20"
    checkpoint.mkdir(parents=True)
    results = {
        "train_loss": 0.61,
        "train_runtime": 12.5,
        "eval_loss": 0.42,
        "eval_accuracy": 0.875,
        "eval_mcc": 0.75,
        "test_accuracy": 0.85,
        "eval_runtime": 1.0,
        "eval_samples_per_second": 100.0,
        "epoch": 2.0,
        "global_batch_size": 32,
        "reverse_complement_augmentation": {
            "setting": "auto",
            "used": True,
            "k": 4,
            "dev_auc": 0.9127,
            "reverse_complement_dev_auc": 0.916,
            "drop": -0.0033,
        },
    }
    (run / "all_results.json").write_text(json.dumps(results))
    (run / "log_history.json").write_text(json.dumps([{"loss": 0.9, "step": 10}, {"loss": 0.55, "step": 20}]))
    corpus = {
        "motif_names": ["MA0001.1 AGL3", "MA0002.2 RUNX1"],
        "motif_mean": [0.0, 0.0],
        "motif_std": [1.0, 1.0],
        "genome_fingerprint": "186e9f3e2f5440d1",
        "cell_types": ["GM", "H1"],
        "config": {"kmer": 6, "regions_per_sample": 10, "region_window_bp": 55},
    }
    (checkpoint / "genebert_corpus.json").write_text(json.dumps(corpus))
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": 20, "log_history": []}))
    args = TrainingArguments(
        output_dir=str(run), learning_rate=3e-4, warmup_steps=5, seed=7, report_to="none"
    )
    (run / "training_args.json").write_text(args.to_json_string())
    return run


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An exported classifier with a training run, and the reference outputs of the in-memory model."""
    root = tmp_path_factory.mktemp("hub")
    model = make_classifier()
    tokenizer = GeneBertTokenizer(kmer=6)
    run = make_training_run(root)
    out = export_for_hub(
        model,
        tokenizer,
        root / "export",
        repo_id="someone/genebert-promoter",
        datasets=["someone/promoters"],
        base_model="someone/genebert-base",
        training_dir=run,
    )
    batch = tokenizer(SEQUENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        np.save(root / "logits.npy", model(**batch).logits.numpy())
        np.save(root / "hidden.npy", model.bert(**batch).last_hidden_state.numpy())
    pipe = DnaClassificationPipeline(model=model, tokenizer=tokenizer, device=-1)
    long_sequence = (SEQUENCES[0] * 20)[:1100]
    reference = pipe(long_sequence, stride=200, reverse_complement=True, return_windows=True)
    (root / "pipeline.json").write_text(json.dumps(reference))
    return out, root, long_sequence


def test_export_writes_a_self_contained_repository(exported):
    out, _, _ = exported
    names = {p.name for p in out.iterdir()}
    assert names == {
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer_config.json",
        "vocab.txt",
        PIPELINE_FILE,
        *REMOTE_CODE_FILES,
    }
    config = json.loads((out / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_genebert.GeneBertConfig",
        "AutoModel": "modeling_genebert.GeneBertModel",
        "AutoModelForPreTraining": "modeling_genebert.GeneBertForPreTraining",
        "AutoModelForSequenceClassification": "modeling_genebert.GeneBertForSequenceClassification",
        "AutoModelForMaskedLM": "modeling_genebert.GeneBertForMaskedLM",
        "AutoModelForTokenClassification": "modeling_genebert.GeneBertForTokenClassification",
    }
    assert config["custom_pipelines"] == {
        "dna-classification": {
            "impl": "pipeline_genebert.DnaClassificationPipeline",
            "pt": ["AutoModelForSequenceClassification"],
            "type": "text",
        }
    }
    tokenizer_config = json.loads((out / "tokenizer_config.json").read_text())
    assert tokenizer_config["auto_map"]["AutoTokenizer"][0] == "tokenization_genebert.GeneBertTokenizer"
    # The pipeline file imports only the standard library, numpy, torch, transformers and the remote-code files.
    source = (out / PIPELINE_FILE).read_text()
    assert source == remote_pipeline_source()
    imports = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imports |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imports.add(("." * node.level) + (node.module or "").split(".")[0])
    assert imports == {
        "__future__",
        "collections",
        "typing",
        "numpy",
        "torch",
        "transformers",
        ".tokenization_genebert",
    }
    # no temporary directories left beside the export
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_model_card_metadata_and_sections(exported):
    out, _, _ = exported
    card = ModelCard.load(out / "README.md")
    data = card.data
    assert data.library_name == "transformers"
    assert data.pipeline_tag == "text-classification"
    assert {"genomics", "dna", "genebert"} <= set(data.tags)
    assert data.license == "apache-2.0"
    assert data.datasets == ["someone/promoters"]
    assert data.base_model == "someone/genebert-base"
    metrics = {(r.metric_type, r.dataset_split): r.metric_value for r in data.eval_results}
    assert metrics == {
        ("loss", "validation"): 0.42,
        ("accuracy", "validation"): 0.875,
        ("mcc", "validation"): 0.75,
        ("accuracy", "test"): 0.85,
    }
    assert data.model_name == "genebert-promoter"
    text = card.text
    for heading in (
        "## What it is",
        "## How to load",
        "## Training data and recipe",
        "## Evaluation",
        "## Limitations",
        "## Citation",
    ):
        assert heading in text
    assert (
        'AutoModelForSequenceClassification.from_pretrained("someone/genebert-promoter", trust_remote_code=True)'
        in text
    )
    assert "pip install genebert" in text
    # what each use needs: a classifier without region tower loads with torch + transformers 5.x, no timm
    assert "With `torch` and `transformers` installed" in text and "transformers>=5.0,<6" in text
    assert 'pipeline("dna-classification", model="someone/genebert-promoter", trust_remote_code=True)' in text
    assert "| learning_rate | 0.0003 |" in text  # read from training_args.json
    assert "| warmup_steps | 5 |" in text
    assert "| seed | 7 |" in text
    assert "| steps run | 20 |" in text  # trainer_state.json of the latest checkpoint
    assert (
        "| reverse-complement augmentation | on (`auto`: a 4-mer logistic regression scored dev AUC 0.913 and "
        "0.916 on its reverse complement) |" in text
    )
    assert "| final training loss | 0.55 |" in text
    assert "2 cell types (GM, H1), 2 motifs" in text
    assert "| validation | accuracy | 0.875 |" in text and "| test | accuracy | 0.85 |" in text
    assert "arXiv:2110.05231" in text
    assert "`background`, `promoter`" in text


def test_exported_folder_loads_without_genebert(exported):
    """FRESH: a process where genebert cannot be imported loads the folder through the Auto classes and the custom
    pipeline with trust_remote_code=True and reproduces the in-memory model's outputs exactly."""
    out, root, long_sequence = exported
    run_without_genebert(
        f"""
        import json
        import numpy as np
        import torch
        from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

        path = {str(out)!r}
        sequences = {SEQUENCES!r}
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True)
        assert type(tokenizer).__name__ == "GeneBertTokenizer", type(tokenizer)
        assert "genebert" not in type(tokenizer).__module__.split(".")[0]
        classifier = AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=True).eval()
        encoder = AutoModel.from_pretrained(path, trust_remote_code=True).eval()
        batch = tokenizer(sequences, padding=True, return_tensors="pt")
        with torch.no_grad():
            logits = classifier(**batch).logits.numpy()
            hidden = encoder(**batch).last_hidden_state.numpy()
        np.testing.assert_array_equal(logits, np.load({str(root / "logits.npy")!r}))
        np.testing.assert_array_equal(hidden, np.load({str(root / "hidden.npy")!r}))

        pipe = pipeline(task="dna-classification", model=path, trust_remote_code=True, device=-1)
        assert type(pipe).__name__ == "DnaClassificationPipeline"
        result = pipe({long_sequence!r}, stride=200, reverse_complement=True, return_windows=True)
        reference = json.load(open({str(root / "pipeline.json")!r}))
        assert result["label"] == reference["label"] and result["num_windows"] == reference["num_windows"] == 4
        np.testing.assert_allclose(list(result["scores"].values()), list(reference["scores"].values()), rtol=1e-6)
        print("FRESH OK")
        """,
        root,
    )


def test_exported_pipeline_needs_trust_remote_code_even_with_genebert(exported):
    """transformers' rule: a repository that ships a pipeline needs trust_remote_code=True by path; the installed
    pipeline runs when the loaded model and tokenizer are passed."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    out, _, _ = exported
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        pipeline("dna-classification", model=str(out), device=-1)
    model = AutoModelForSequenceClassification.from_pretrained(out)  # genebert's own classes, no remote code
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert type(model) is GeneBertForSequenceClassification and type(tokenizer) is GeneBertTokenizer
    classifier = pipeline("dna-classification", model=model, tokenizer=tokenizer, device=-1)
    assert type(classifier) is DnaClassificationPipeline


def test_export_is_atomic_and_refuses_to_overwrite(tmp_path):
    model, tokenizer = make_classifier(1), GeneBertTokenizer(kmer=6)
    target = tmp_path / "repo"
    target.mkdir()
    (target / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="overwrite"):
        export_for_hub(model, tokenizer, target)
    assert (target / "keep.txt").exists()
    with pytest.raises(TypeError):
        export_for_hub(model, tokenizer, target, overwrite=True, not_a_card_field=1)
    assert (target / "keep.txt").exists()  # a failed export leaves the old folder as it was
    export_for_hub(model, tokenizer, target, overwrite=True)
    assert not (target / "keep.txt").exists() and (target / "model.safetensors").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_pretraining_model_card_has_no_custom_pipeline(tmp_path):
    torch.manual_seed(0)
    model = GeneBertForPreTraining(GeneBertConfig.tiny(num_motifs=8))
    out = export_for_hub(model, GeneBertTokenizer(kmer=6), tmp_path / "base")
    config = json.loads((out / "config.json").read_text())
    assert "custom_pipelines" not in config and not (out / PIPELINE_FILE).exists()
    card = ModelCard.load(out / "README.md")
    assert card.data.pipeline_tag == "feature-extraction"
    assert card.data.eval_results is None
    assert "No evaluation results" in card.text
    assert "AutoModel.from_pretrained" in card.text


def test_read_training_args_never_runs_pickled_code(tmp_path):
    """A training_args.bin whose pickle would run os.system is never read (only training_args.json is)."""
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    payload = {"learning_rate": 1e-3, "evil": Evil()}
    torch.save(payload, tmp_path / "training_args.bin")
    with zipfile.ZipFile(tmp_path / "training_args.bin") as archive:
        assert any(name.endswith("data.pkl") for name in archive.namelist())
    assert read_training_args(tmp_path) == {}  # a pickle is never read
    assert read_training_args(tmp_path / "training_args.bin") == {}
    assert not marker.exists()
    (tmp_path / "training_args.json").write_text(json.dumps({"learning_rate": 5e-5}))
    assert read_training_args(tmp_path) == {"learning_rate": 5e-5}
    assert read_training_args(tmp_path / "missing") == {}


def test_read_training_run_and_metrics(tmp_path):
    run = read_training_run(make_training_run(tmp_path))
    assert run["training_args"]["learning_rate"] == 3e-4
    assert run["training_args"]["lr_scheduler_type"] == "linear"  # an enum, as its value
    assert run["corpus"]["num_motifs"] == 2 and "motif_mean" not in run["corpus"]
    assert run["trainer_state"] == {"global_step": 20}
    assert run["final_train_loss"] == 0.55
    metrics = evaluation_metrics(
        {"eval_f1": 0.5, "test_f1": 0.4, "eval_runtime": 3.0, "eval_nan": float("nan")}
    )
    assert metrics == {("validation", "f1"): 0.5, ("test", "f1"): 0.4}
    with pytest.raises(FileNotFoundError):
        read_training_run(tmp_path / "nope")


# ----------------------------------------------------------------------------------------------------- loopback Hub


class HubStub:
    """Records the requests of create_repo, README validation, preupload and commit, and answers like the Hub (every
    file "regular": small weights go inline in the commit, so no LFS / Xet storage needs stubbing)."""

    def __init__(self, server, repo_type: str, repo_id: str):
        self.server = server
        self.requests: list[tuple[str, str, bytes, dict]] = []
        prefix = f"/api/{repo_type}s/{repo_id}"
        base = server.url_for("").rstrip("/")
        server.expect_request("/api/repos/create", method="POST").respond_with_handler(
            self._record(lambda r: {"url": f"{base}/{repo_id}", "name": repo_id})
        )
        server.expect_request("/api/validate-yaml", method="POST").respond_with_handler(
            self._record(lambda r: {"errors": [], "warnings": []})
        )
        server.expect_request(f"{prefix}/preupload/main", method="POST").respond_with_handler(
            self._record(
                lambda r: {
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                        for f in r.json["files"]
                    ]
                }
            )
        )
        server.expect_request(f"{prefix}/commit/main", method="POST").respond_with_handler(
            self._record(
                lambda r: {"commitUrl": f"{base}/{repo_id}/commit/{'a' * 40}", "commitOid": "a" * 40}
            )
        )

    def _record(self, answer):
        from werkzeug import Response

        def handler(request):
            self.requests.append((request.method, request.path, request.get_data(), dict(request.headers)))
            return Response(json.dumps(answer(request)), status=200, content_type="application/json")

        return handler

    def paths(self) -> list[str]:
        return [path for _, path, _, _ in self.requests]

    def committed_files(self) -> dict[str, bytes]:
        files = {}
        for _, path, body, _ in self.requests:
            if path.endswith("/commit/main"):
                for line in body.decode().splitlines():
                    item = json.loads(line)
                    if item["key"] == "file":
                        files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
        return files


def test_cli_export_and_push_to_a_loopback_hub(tmp_path, httpserver):
    """`genebert export` then `genebert push` in a subprocess with HF_ENDPOINT at a loopback stub."""
    checkpoint = tmp_path / "checkpoint"
    model = make_classifier(2)
    model.save_pretrained(checkpoint)
    GeneBertTokenizer(kmer=6).save_pretrained(checkpoint)
    (checkpoint / "all_results.json").write_text(json.dumps({"eval_accuracy": 0.9}))
    out = tmp_path / "export"
    argv = ["export", str(checkpoint), str(out), "--repo-id", "someone/genebert-promoter"]
    assert run_cli([*argv, "--dataset", "someone/promoters", "--base-model", "someone/genebert-base"]) == 0
    card = ModelCard.load(out / "README.md")
    assert card.data.eval_results[0].metric_value == 0.9 and card.data.base_model == "someone/genebert-base"

    stub = HubStub(httpserver, "model", "someone/genebert-promoter")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        HF_ENDPOINT=httpserver.url_for("").rstrip("/"),
        HF_HUB_OFFLINE="0",
        HF_TOKEN="hf_test_token",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    code = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parents[1])!r}]
        from test_hub import run_cli
        raise SystemExit(run_cli(["push", {str(out)!r}, "someone/genebert-promoter", "--private"]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "someone/genebert-promoter" in result.stdout
    assert stub.paths()[0] == "/api/repos/create"
    create = json.loads(stub.requests[0][2])
    assert create == {
        "name": "genebert-promoter",
        "organization": "someone",
        "visibility": "private",
        "type": "model",
    }
    assert stub.requests[0][3].get("Authorization") == "Bearer hf_test_token"
    validated = [json.loads(body) for _, path, body, _ in stub.requests if path == "/api/validate-yaml"]
    assert validated and validated[0]["repoType"] == "model"
    assert validated[0]["content"] == (out / "README.md").read_text()
    assert "/api/models/someone/genebert-promoter/preupload/main" in stub.paths()
    assert stub.paths()[-1] == "/api/models/someone/genebert-promoter/commit/main"
    files = stub.committed_files()
    assert set(files) == {p.name for p in out.iterdir()}
    assert all(files[name] == (out / name).read_bytes() for name in files)
    httpserver.check_assertions()


def test_push_dataset_to_a_loopback_hub(tmp_path, httpserver, monkeypatch):
    """A DatasetDict becomes parquet + a dataset card; pushed in-process through an explicit endpoint."""
    import datasets
    import huggingface_hub.constants

    data = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"sequence": ["ACGT" * 5, "GGCC" * 5], "label": [0, 1]}),
            "test": datasets.Dataset.from_dict({"sequence": ["TTAA" * 5], "label": [1]}),
        }
    )
    folder = export_dataset(data, tmp_path / "promoters", pretty_name="Promoters")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "README.md",
        "data/test.parquet",
        "data/train.parquet",
    ]
    loaded = datasets.load_dataset("parquet", data_files={"test": str(folder / "data/test.parquet")})
    assert loaded["test"]["sequence"] == ["TTAA" * 5]
    card = (folder / "README.md").read_text()
    assert "config_name: default" in card and "path: data/train.parquet" in card

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    stub = HubStub(httpserver, "dataset", "someone/promoters")
    url = push_dataset(
        data, "someone/promoters", token="hf_test", endpoint=httpserver.url_for("").rstrip("/")
    )
    assert url.endswith("/commit/" + "a" * 40)
    assert json.loads(stub.requests[0][2])["type"] == "dataset"
    files = stub.committed_files()
    assert set(files) == {"README.md", "data/train.parquet", "data/test.parquet"}
    assert b"pretty_name: promoters" in files["README.md"]


def test_export_corpus_as_dataset(tiny_corpus, tmp_path, httpserver, monkeypatch):
    """`genebert push CORPUS REPO --repo-type dataset` exports the corpus to parquet + card, then uploads it."""
    import datasets
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", httpserver.url_for("").rstrip("/"))
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    stub = HubStub(httpserver, "dataset", "someone/genebert-corpus")
    assert run_cli(["push", str(tiny_corpus), "someone/genebert-corpus", "--repo-type", "dataset"]) == 0
    assert set(stub.committed_files()) == {
        "README.md",
        "corpus/regions.parquet",
        "corpus/samples.parquet",
        "corpus/metadata.json",
    }

    folder = export_dataset(tiny_corpus, tmp_path / "corpus-repo")
    assert {p.name for p in (folder / "corpus").iterdir()} == {
        "regions.parquet",
        "samples.parquet",
        "metadata.json",
    }
    card = (folder / "README.md").read_text()
    assert "config_name: regions" in card and "config_name: samples" in card
    samples = datasets.load_dataset("parquet", data_files=str(folder / "corpus/samples.parquet"))["train"]
    assert "region_ids" in samples.column_names


def test_push_refuses_a_folder_that_was_not_exported(tmp_path):
    from genebert.hub import push

    (tmp_path / "weights").mkdir()
    with pytest.raises(ValueError, match="export it first"):
        push(tmp_path / "weights", "someone/x")
    with pytest.raises(FileNotFoundError):
        push(tmp_path / "missing", "someone/x")
