"""Safe loading: safetensors only, no unpickling of weights, inert remote code, loud key mismatches, motif checks."""

from __future__ import annotations

import ast
import json

import pytest
import torch
from conftest import REPO_ROOT, run_without_genebert
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoModelForSequenceClassification

from genebert import (
    GeneBertConfig,
    GeneBertForPreTraining,
    GeneBertForSequenceClassification,
    GeneBertModel,
    GeneBertTokenizer,
)
from genebert.hub import REMOTE_CODE_FILES, export_for_hub
from genebert.modeling_genebert import GeneBertLoadingError
from genebert.training.pretrain import MotifMismatchError
from genebert.training.pretrain import main as run_pretraining

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
MOTIFS = ["MA9000.1 TF0", "MA9001.1 TF1", "MA9002.1 TF2"]


@pytest.fixture(scope="module")
def pretraining_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = GeneBertForPreTraining(GeneBertConfig.tiny(num_motifs=3, motif_names=MOTIFS))
    out = tmp_path_factory.mktemp("safe") / "pretrained"
    model.save_pretrained(out)
    return out


def test_weights_are_written_as_safetensors_only(pretraining_checkpoint, tmp_path):
    files = sorted(p.name for p in pretraining_checkpoint.iterdir())
    assert "model.safetensors" in files
    assert not [name for name in files if name.endswith(PICKLE_SUFFIXES)], files
    model = GeneBertForPreTraining.from_pretrained(pretraining_checkpoint)
    exported = export_for_hub(model, GeneBertTokenizer(kmer=6), tmp_path / "hub")
    pickles = [p.name for p in exported.rglob("*") if p.name.endswith(PICKLE_SUFFIXES)]
    assert pickles == []


def _calls(tree: ast.AST, dotted: str):
    module, _, attribute = dotted.rpartition(".")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == attribute
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == module
        ):
            yield node


def test_no_code_unpickles_weights():
    """Every torch.load passes weights_only=True; nothing calls pickle.load(s) or np.load(allow_pickle=True)."""
    sources = [
        p
        for folder in ("genebert", "run_scripts", "benchmarks", "dataset_scripts", "metrics", "scripts")
        for p in (REPO_ROOT / folder).rglob("*.py")
    ]
    assert len(sources) > 30
    offences = []
    for path in sources:
        tree = ast.parse(path.read_text(), filename=str(path))
        for call in _calls(tree, "torch.load"):
            weights_only = [k for k in call.keywords if k.arg == "weights_only"]
            if not weights_only or not (
                isinstance(weights_only[0].value, ast.Constant) and weights_only[0].value.value is True
            ):
                offences.append(f"{path}:{call.lineno} torch.load without weights_only=True")
        for name in ("pickle.load", "pickle.loads"):
            offences += [f"{path}:{call.lineno} {name}" for call in _calls(tree, name)]
        for call in _calls(tree, "np.load"):
            for keyword in call.keywords:
                if keyword.arg == "allow_pickle" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                ):
                    offences.append(f"{path}:{call.lineno} np.load(allow_pickle=...)")
    assert offences == []


def test_remote_code_does_no_io_or_network_at_import(tmp_path):
    """Importing the Hub remote-code files (as transformers does for trust_remote_code) opens no file other than
    Python modules, connects nowhere and starts no process."""
    folder = tmp_path / "remote"
    folder.mkdir()
    for name in REMOTE_CODE_FILES:
        (folder / name).write_text((REPO_ROOT / "genebert" / name).read_text())
    (folder / "__init__.py").write_text("")
    result = run_without_genebert(
        f"""
        import sys, json
        import torch, transformers, timm  # their own imports are not under test
        from transformers import BertModel, PreTrainedTokenizer  # noqa: F401 (transformers' lazy modules)
        events = []
        MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pth")

        def audit(event, args):
            if event == "open" and args and isinstance(args[0], (str, bytes)):
                path = args[0] if isinstance(args[0], str) else args[0].decode()
                if not path.endswith(MODULE_SUFFIXES) and "__pycache__" not in path:
                    events.append(("open", path))
            elif event.startswith(("socket.", "subprocess.", "os.system", "urllib.", "http.")):
                events.append((event, repr(args)[:200]))

        sys.addaudithook(audit)
        sys.path.insert(0, {str(tmp_path)!r})
        import remote.configuration_genebert, remote.tokenization_genebert, remote.modeling_genebert
        print(json.dumps(events))
        """,
        tmp_path,
    )
    events = json.loads(result.stdout.strip().splitlines()[-1])
    assert events == [], events


def test_task_heads_may_differ_between_classes(pretraining_checkpoint):
    """Pre-training checkpoint -> classification (new classifier, unused cls.*) and -> base model: accepted."""
    _, info = GeneBertForSequenceClassification.from_pretrained(
        pretraining_checkpoint, num_labels=2, output_loading_info=True
    )
    assert info["missing_keys"] and all(key.startswith("classifier.") for key in info["missing_keys"])
    assert isinstance(AutoModel.from_pretrained(pretraining_checkpoint), GeneBertModel)
    assert (
        AutoModelForSequenceClassification.from_pretrained(pretraining_checkpoint, num_labels=3).num_labels
        == 3
    )
    reloaded = GeneBertForPreTraining.from_pretrained(pretraining_checkpoint)
    original = load_file(str(pretraining_checkpoint / "model.safetensors"))
    torch.testing.assert_close(
        reloaded.bert.encoder.layer[0].attention.self.query.weight,
        original["bert.encoder.layer.0.attention.self.query.weight"],
    )


def _tampered(source, target, drop: str | None = None, add: str | None = None):
    target.mkdir()
    (target / "config.json").write_text((source / "config.json").read_text())
    weights = load_file(str(source / "model.safetensors"))
    if drop is not None:
        del weights[drop]
    if add is not None:
        weights[add] = torch.zeros(3)
    save_file(weights, str(target / "model.safetensors"), metadata={"format": "pt"})
    return target


@pytest.mark.parametrize(
    "model_class", [GeneBertForPreTraining, GeneBertForSequenceClassification, AutoModel]
)
def test_missing_sequence_tower_weights_fail_loudly(pretraining_checkpoint, tmp_path, model_class):
    key = "bert.encoder.layer.1.output.dense.weight"
    broken = _tampered(pretraining_checkpoint, tmp_path / "broken", drop=key)
    with pytest.raises(
        GeneBertLoadingError, match=r"1 missing weight\(s\) beyond whole task heads.*layer\.1"
    ):
        model_class.from_pretrained(broken)
    _, info = GeneBertForPreTraining.from_pretrained(broken, strict_loading=False, output_loading_info=True)
    assert key in info["missing_keys"]


def test_unknown_weights_fail_loudly(pretraining_checkpoint, tmp_path):
    broken = _tampered(pretraining_checkpoint, tmp_path / "extra", add="bert.adapter.scale")
    with pytest.raises(GeneBertLoadingError, match=r"unexpected weight\(s\).*bert\.adapter\.scale"):
        GeneBertForPreTraining.from_pretrained(broken)
    GeneBertForPreTraining.from_pretrained(broken, strict_loading=False)


@pytest.mark.parametrize(
    ("drop", "add", "message"),
    [
        ("cls.predictions.transform.dense.weight", None, r"1 missing .*cls\.predictions\.transform\.dense"),
        ("logit_scale", None, r"1 missing .*logit_scale"),
        (None, "region_encoder.bogus", r"1 unexpected .*region_encoder\.bogus"),
        (None, "cls.predictions.extra", r"1 unexpected .*cls\.predictions\.extra"),
    ],
    ids=["part-of-mgm-head", "part-of-srm-head", "unknown-region-tower-key", "unknown-head-key"],
)
def test_a_damaged_task_head_fails_loudly(pretraining_checkpoint, tmp_path, drop, add, message):
    """A head may be absent as a whole, but not in part: a half head is a damaged or foreign checkpoint."""
    broken = _tampered(pretraining_checkpoint, tmp_path / "broken", drop=drop, add=add)
    with pytest.raises(GeneBertLoadingError, match=message):
        GeneBertForPreTraining.from_pretrained(broken)
    GeneBertForPreTraining.from_pretrained(broken, strict_loading=False)


def test_a_missing_region_tower_weight_fails_loudly(pretraining_checkpoint, tmp_path):
    weights = load_file(str(pretraining_checkpoint / "model.safetensors"))
    key = next(k for k in sorted(weights) if k.startswith("region_encoder.") and k.endswith(".weight"))
    broken = _tampered(pretraining_checkpoint, tmp_path / "broken", drop=key)
    with pytest.raises(GeneBertLoadingError, match="1 missing weight"):
        GeneBertForPreTraining.from_pretrained(broken)


def test_a_classification_checkpoint_loads_for_pre_training(pretraining_checkpoint, tmp_path):
    """The other direction: a fine-tuned checkpoint has no MGM/NGSP heads at all (new) and a classifier (unused)."""
    classifier = GeneBertForSequenceClassification.from_pretrained(pretraining_checkpoint, num_labels=2)
    classifier.save_pretrained(tmp_path / "classifier")
    _, info = GeneBertForPreTraining.from_pretrained(tmp_path / "classifier", output_loading_info=True)
    assert any(key.startswith("cls.") for key in info["missing_keys"])
    assert all(key.startswith("classifier.") for key in info["unexpected_keys"])


def test_mismatched_shapes_fail_unless_ignored(pretraining_checkpoint):
    with pytest.raises(RuntimeError, match=r"size mismatch|mismatch"):
        GeneBertForPreTraining.from_pretrained(pretraining_checkpoint, projection_dim=8)
    model = GeneBertForPreTraining.from_pretrained(
        pretraining_checkpoint, projection_dim=8, ignore_mismatched_sizes=True
    )
    assert model.sequence_projection.weight.shape[0] == 8


# ------------------------------------------------------------------------------------------- motif columns


def _model_with_motifs(tmp_path, names: list[str]):
    out = tmp_path / "model"
    GeneBertForPreTraining(GeneBertConfig.tiny(num_motifs=len(names), motif_names=names)).save_pretrained(out)
    return out


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["MA9000.1 TF0", "MA9001.1 TF1"], r"1 only in the corpus \['MA9002\.1 TF2'\]"),
        (["MA9000.1 TF0", "MA9001.1 TF1", "MA0139.1 CTCF"], r"only in the model \['MA0139\.1 CTCF'\]"),
        (["MA9001.1 TF1", "MA9000.1 TF0", "MA9002.1 TF2"], r"column 0 is 'MA9001\.1 TF1' in the model"),
    ],
    ids=["fewer", "other", "reordered"],
)
def test_a_model_for_other_motifs_is_refused(tiny_corpus, tmp_path, names, message):
    model = _model_with_motifs(tmp_path, names)
    with pytest.raises(MotifMismatchError, match=message):
        run_pretraining(
            [
                "--corpus_dir",
                str(tiny_corpus),
                "--model_name_or_path",
                str(model),
                "--output_dir",
                str(tmp_path / "out"),
                "--max_steps",
                "1",
            ]
        )
    assert not (tmp_path / "out").exists()


def test_embed_accepts_a_pre_training_checkpoints_encoder(pretraining_checkpoint, tmp_path):
    """Issue 18: `predict` refuses a pre-training checkpoint (no trained classifier, tested in test_bad_inputs.py);
    `embed` deliberately uses its sequence encoder."""
    import numpy as np

    from genebert.inference import embed_fasta

    model_dir = tmp_path / "model"
    for file in pretraining_checkpoint.iterdir():
        (model_dir / file.name).parent.mkdir(exist_ok=True)
        (model_dir / file.name).write_bytes(file.read_bytes())
    GeneBertTokenizer(kmer=6).save_pretrained(model_dir)
    fasta = tmp_path / "seqs.fa"
    fasta.write_text(">a\nACGTACGTACGTAC\n>b\nTTTTGGGGCCCCAA\n")
    vectors = embed_fasta(str(model_dir), fasta, tmp_path / "e.npy", progress=False)
    assert vectors.shape == (2, GeneBertConfig.tiny().hidden_size) and np.isfinite(vectors).all()


def test_a_pickle_with_code_is_refused_naming_the_file(pretraining_checkpoint, tmp_path):
    """A ``pytorch_model.bin`` (DNABERT's format) is read with weights-only unpickling: an object that would run
    code is refused, nothing runs, and the error names the file."""
    import os

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_bytes((pretraining_checkpoint / "config.json").read_bytes())
    weights = dict(load_file(pretraining_checkpoint / "model.safetensors"), payload=Payload())
    torch.save(weights, model_dir / "pytorch_model.bin")
    with pytest.raises(
        GeneBertLoadingError, match=r"pytorch_model\.bin: cannot read the weights.*never unpickled"
    ):
        GeneBertForPreTraining.from_pretrained(model_dir)
    assert not (tmp_path / "ran").exists()
