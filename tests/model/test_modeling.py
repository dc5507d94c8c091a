"""GeneBERT models on the tiny preset: outputs, losses, towers, save/load (in-process and as Hub remote code),
DNABERT loading, overfitting. CPU, a few seconds each."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
    BertConfig,
    BertForMaskedLM,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from genebert import (
    GeneBertConfig,
    GeneBertForPreTraining,
    GeneBertForSequenceClassification,
    GeneBertModel,
)
from genebert.configuration_genebert import kmer_vocab_size
from genebert.modeling_genebert import GeneBertRegionEncoder, clip_loss, contrastive_loss

torch.set_num_threads(min(2, os.cpu_count() or 1))

NUM_REGIONS, NUM_MOTIFS = 10, 579
PAD, UNK, CLS, SEP, MASK = range(5)


def tiny(**overrides) -> GeneBertConfig:
    return GeneBertConfig.tiny(**overrides)


def make_batch(config: GeneBertConfig, batch: int = 4, length: int = 48, seed: int = 0, pad: bool = True):
    """A pre-training batch: [CLS] A [SEP] B [SEP] with padding on odd rows, ~15% masked, region matrices."""
    gen = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, config.vocab_size, (batch, length), generator=gen)
    token_type_ids = torch.zeros(batch, length, dtype=torch.long)
    attention_mask = torch.ones(batch, length, dtype=torch.long)
    half = length // 2
    input_ids[:, 0] = CLS
    input_ids[:, half] = SEP
    input_ids[:, -1] = SEP
    token_type_ids[:, half + 1 :] = 1
    if pad:
        for row in range(1, batch, 2):  # odd rows: a shorter sequence, right-padded
            cut = length - 7 - row
            input_ids[row, cut - 1] = SEP
            input_ids[row, cut:] = PAD
            attention_mask[row, cut:] = 0
            token_type_ids[row, cut:] = 0
    labels = torch.full_like(input_ids, -100)
    maskable = (input_ids >= 5) & (attention_mask == 1)
    chosen = maskable & (torch.rand(batch, length, generator=gen) < 0.15)
    chosen[:, 2] = True  # at least one masked token per row
    labels[chosen] = input_ids[chosen]
    masked_input = input_ids.clone()
    masked_input[chosen] = MASK
    return {
        "input_ids": masked_input,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
        "labels": labels,
        "next_segment_label": torch.arange(batch) % 2,
        "region_matrix": torch.rand(batch, config.num_regions, config.num_motifs, generator=gen) * 10,
    }


@pytest.fixture
def config() -> GeneBertConfig:
    # A fresh object per test: models keep (and may change, e.g. set_attn_implementation) their config object.
    return tiny()


@pytest.fixture
def model(config) -> GeneBertForPreTraining:
    torch.manual_seed(0)
    return GeneBertForPreTraining(config).eval()


# --------------------------------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------------------------------


def test_config_presets_and_roundtrip(tmp_path):
    base = GeneBertConfig.base()
    assert (base.hidden_size, base.num_hidden_layers, base.num_attention_heads, base.intermediate_size) == (
        768,
        12,
        12,
        3072,
    )
    assert base.vocab_size == kmer_vocab_size(6) == 4101
    assert base.num_regions == 10 and base.num_motifs == 579
    assert base.region_backbone.startswith("swin_tiny")
    assert math.isclose(base.logit_scale_init, math.log(1 / 0.07))
    assert base.srm_weight == 0.5 and base.tie_word_embeddings
    config = tiny(region_image_size=16, region_input_mode="resize")
    assert config.region_image_size == [16, 16]
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, GeneBertConfig)
    drop = {"_name_or_path", "transformers_version"}
    assert {k: v for k, v in loaded.to_dict().items() if k not in drop} == {
        k: v for k, v in config.to_dict().items() if k not in drop
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kmer": 7}, "kmer"),
        ({"kmer": 5, "vocab_size": 4101}, "vocab_size"),
        ({"hidden_size": 30, "num_attention_heads": 4}, "multiple"),
        ({"region_input_mode": "crop"}, "region_input_mode"),
        ({"region_image_size": [8, 600]}, "never crops"),
        ({"region_image_size": [12, 0]}, "positive"),
        ({"region_backbone_kwargs": {"img_size": 224}}, "region_image_size"),
        ({"num_motifs": 0}, "num_motifs"),
        ({"logit_scale_init": 5.0}, "logit_scale"),
        ({"srm_weight": -1.0}, "srm_weight"),
        ({"region_pretrained": 3}, "region_pretrained"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        GeneBertConfig(**kwargs)


def test_pad_mode_rejects_image_size_that_drops_data():
    # 10 x 579 is not a multiple of the patch size 4: timm would floor the grid and silently drop cells.
    with pytest.raises(ValueError, match="patch size"):
        GeneBertRegionEncoder(tiny(region_image_size=[10, 579]))


# --------------------------------------------------------------------------------------------------------------------
# Pre-training outputs and losses
# --------------------------------------------------------------------------------------------------------------------


def test_pretraining_outputs_shapes_dtypes_and_losses(model, config):
    batch = make_batch(config)
    b, length = batch["input_ids"].shape
    num_masked = int((batch["labels"] != -100).sum())
    with torch.no_grad():
        out = model(**batch)
    p = config.projection_dim
    expected = {
        "loss": (),
        "mgm_loss": (),
        "ngsp_loss": (),
        "srm_loss": (),
        "masked_prediction_logits": (num_masked, config.vocab_size),
        "ngsp_logits": (b, 2),
        "sequence_embeds": (b, p),
        "region_embeds": (b, p),
        "logits_per_sequence": (b, b),
        "logits_per_region": (b, b),
        "logit_scale": (),
    }
    assert set(out.keys()) == set(expected)  # prediction_logits is not computed in training mode
    for name, shape in expected.items():
        assert tuple(out[name].shape) == shape, name
        assert out[name].dtype == torch.float32, name
    for name in ("mgm_loss", "ngsp_loss", "srm_loss", "loss"):
        assert torch.isfinite(out[name]) and out[name] > 0, name
    torch.testing.assert_close(out.loss, out.mgm_loss + out.ngsp_loss + config.srm_weight * out.srm_loss)
    torch.testing.assert_close(out.logits_per_region, out.logits_per_sequence.t())
    torch.testing.assert_close(out.sequence_embeds.norm(dim=-1), torch.ones(b))
    torch.testing.assert_close(out.region_embeds.norm(dim=-1), torch.ones(b))
    torch.testing.assert_close(out.logit_scale, torch.tensor(1 / 0.07))
    # MGM loss = BERT's cross-entropy over all positions with ignore_index -100.
    with torch.no_grad():
        full = model(**batch, return_full_prediction_logits=True)
    assert full.prediction_logits.shape == (b, length, config.vocab_size)
    reference = torch.nn.functional.cross_entropy(
        full.prediction_logits.reshape(-1, config.vocab_size), batch["labels"].reshape(-1), ignore_index=-100
    )
    torch.testing.assert_close(out.mgm_loss, reference)
    torch.testing.assert_close(full.prediction_logits[batch["labels"] != -100], out.masked_prediction_logits)


def test_full_prediction_logits_without_labels_and_tuple_output(model, config):
    batch = make_batch(config)
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        as_tuple = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], return_dict=False
        )
    assert out.loss is None and out.srm_loss is None and out.masked_prediction_logits is None
    assert out.prediction_logits.shape == (*batch["input_ids"].shape, config.vocab_size)
    assert isinstance(as_tuple, tuple)
    torch.testing.assert_close(as_tuple[0], out.prediction_logits)
    with torch.no_grad():
        hidden = model(input_ids=batch["input_ids"], output_hidden_states=True).hidden_states
    assert len(hidden) == config.num_hidden_layers + 1
    assert hidden[-1].shape == (*batch["input_ids"].shape, config.hidden_size)


def test_empty_mask_gives_zero_mgm_loss(model, config):
    batch = make_batch(config)
    batch["labels"][:] = -100
    with torch.no_grad():
        out = model(**batch)
    assert out.mgm_loss == 0 and out.masked_prediction_logits.shape == (0, config.vocab_size)


def test_gradients_reach_both_towers_and_logit_scale(config):
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config).train()
    model(**make_batch(config)).loss.backward()
    checks = {
        "k-mer embeddings (tied decoder)": model.bert.embeddings.word_embeddings.weight,
        "last BERT layer": model.bert.encoder.layer[-1].output.dense.weight,
        "pooler (NGSP)": model.bert.pooler.dense.weight,
        "timm patch embedding": model.region_encoder.backbone.patch_embed.proj.weight,
        "timm last block": list(model.region_encoder.backbone.layers[-1].parameters())[-1],
        "projections": model.region_projection.weight,
        "logit scale": model.logit_scale,
    }
    for name, param in checks.items():
        assert param.grad is not None and torch.isfinite(param.grad).all() and param.grad.abs().sum() > 0, (
            name
        )
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight


@pytest.mark.parametrize("switch", ["use_mgm", "use_ngsp", "use_srm"])
def test_switching_a_loss_off_removes_it(switch):
    config = tiny(**{switch: False})
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config).eval()
    batch = make_batch(config)
    if switch == "use_srm":
        batch.pop("region_matrix")  # runs without region input
        assert model.region_encoder is None and model.logit_scale is None
    with torch.no_grad():
        out = model(**batch)
    term = {"use_mgm": "mgm_loss", "use_ngsp": "ngsp_loss", "use_srm": "srm_loss"}[switch]
    assert getattr(out, term) is None
    expected = sum(
        weight * getattr(out, name)
        for name, weight in (("mgm_loss", 1.0), ("ngsp_loss", 1.0), ("srm_loss", config.srm_weight))
        if getattr(out, name) is not None
    )
    torch.testing.assert_close(out.loss, expected)
    # No parameters without a use: every trainable parameter gets a gradient (safe under DDP).
    model.train()
    model(**batch).loss.backward()
    unused = [name for name, param in model.named_parameters() if param.grad is None]
    assert unused == []


def test_srm_only_model_runs_without_text_heads():
    config = tiny(use_mgm=False, use_ngsp=False)
    model = GeneBertForPreTraining(config).eval()
    with torch.no_grad():
        out = model(**make_batch(config))
    assert out.mgm_loss is None and out.ngsp_loss is None
    torch.testing.assert_close(out.loss, config.srm_weight * out.srm_loss)


def test_get_sequence_and_region_features(model, config):
    batch = make_batch(config)
    with torch.no_grad():
        seq = model.get_sequence_features(
            batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
        )
        reg = model.get_region_features(batch["region_matrix"])
        out = model(**batch)
    assert seq.shape == reg.shape == (4, config.projection_dim)
    torch.testing.assert_close(torch.nn.functional.normalize(seq, dim=-1), out.sequence_embeds)
    torch.testing.assert_close(torch.nn.functional.normalize(reg, dim=-1), out.region_embeds)


# --------------------------------------------------------------------------------------------------------------------
# Contrastive loss
# --------------------------------------------------------------------------------------------------------------------


def _naive_symmetric_infonce(seq: list[list[float]], reg: list[list[float]], scale: float) -> float:
    """CLIP's loss written out with Python loops and math only."""

    def normalise(v):
        n = math.sqrt(sum(x * x for x in v))
        return [x / n for x in v]

    seq = [normalise(v) for v in seq]
    reg = [normalise(v) for v in reg]
    n = len(seq)
    sim = [
        [scale * sum(a * b for a, b in zip(seq[i], reg[j], strict=True)) for j in range(n)] for i in range(n)
    ]
    seq_to_reg = sum(-sim[i][i] + math.log(sum(math.exp(sim[i][j]) for j in range(n))) for i in range(n)) / n
    reg_to_seq = sum(-sim[j][j] + math.log(sum(math.exp(sim[i][j]) for i in range(n))) for j in range(n)) / n
    return (seq_to_reg + reg_to_seq) / 2


def test_infonce_matches_naive_computation(config):
    gen = torch.Generator().manual_seed(3)
    seq = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    reg = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    scale = 1 / 0.07
    expected = _naive_symmetric_infonce(seq.tolist(), reg.tolist(), scale)
    logits = (
        scale * torch.nn.functional.normalize(seq, dim=-1) @ torch.nn.functional.normalize(reg, dim=-1).t()
    )
    assert math.isclose(clip_loss(logits).item(), expected, rel_tol=1e-10)
    assert math.isclose(
        ((contrastive_loss(logits) + contrastive_loss(logits.t())) / 2).item(), expected, rel_tol=1e-10
    )
    # ... and the model's SRM term equals it on the model's own embeddings.
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config).eval()
    batch = make_batch(config, batch=6)
    with torch.no_grad():
        out = model(**batch)
        seq_f = model.get_sequence_features(
            batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
        )
        reg_f = model.get_region_features(batch["region_matrix"])
    naive = _naive_symmetric_infonce(seq_f.double().tolist(), reg_f.double().tolist(), out.logit_scale.item())
    assert math.isclose(out.srm_loss.item(), naive, rel_tol=1e-5)


def test_logit_scale_is_clamped_at_100(config):
    model = GeneBertForPreTraining(config).eval()
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
        out = model(**make_batch(config))
    torch.testing.assert_close(out.logit_scale, torch.tensor(100.0))


# --------------------------------------------------------------------------------------------------------------------
# Attention implementations
# --------------------------------------------------------------------------------------------------------------------


def test_sdpa_is_default_and_matches_eager_on_padded_batch(tmp_path, config):
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config).eval()
    assert model.config._attn_implementation == "sdpa"
    model.save_pretrained(tmp_path)
    eager = GeneBertForPreTraining.from_pretrained(tmp_path, attn_implementation="eager").eval()
    assert eager.config._attn_implementation == "eager"
    assert eager.bert.encoder.layer[0].attention.self.config._attn_implementation == "eager"
    batch = make_batch(config, batch=4, pad=True)
    assert (batch["attention_mask"] == 0).any()
    with torch.no_grad():
        a = model(**batch, return_full_prediction_logits=True)
        b = eager(**batch, return_full_prediction_logits=True)
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(a.prediction_logits[real], b.prediction_logits[real], atol=1e-5, rtol=1e-5)
    for name in ("loss", "ngsp_logits", "sequence_embeds", "logits_per_sequence"):
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-5)
    model.set_attn_implementation("eager")
    with torch.no_grad():
        c = model(**batch)
    torch.testing.assert_close(c.loss, b.loss, atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------------------------------------------------
# Region tower
# --------------------------------------------------------------------------------------------------------------------


def _cells_that_change_output(
    encoder: GeneBertRegionEncoder, delta: float = 3.0, tol: float = 1e-4
) -> torch.Tensor:
    """Perturb each of the num_regions x num_motifs cells alone; return a bool matrix: did the output change?"""
    encoder.eval()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, NUM_REGIONS, NUM_MOTIFS, generator=gen)
    changed = torch.zeros(NUM_REGIONS, NUM_MOTIFS, dtype=torch.bool)
    columns = torch.arange(NUM_MOTIFS)
    with torch.inference_mode():
        for row in range(NUM_REGIONS):
            # One copy per column, plus a last copy left unperturbed: a same-batch baseline.
            perturbed = x.repeat(NUM_MOTIFS + 1, 1, 1)
            perturbed[columns, row, columns] += delta
            out = encoder(perturbed)
            diff = (out[:-1] - out[-1]).abs().amax(dim=-1)
            changed[row] = diff > tol
    return changed


def test_every_cell_reaches_the_output_pad_mode():
    config = tiny()  # the preset: 2 stages x 2 Swin blocks (shifted windows), 5790 + 10 forward passes, ~4 s
    torch.manual_seed(0)
    encoder = GeneBertRegionEncoder(config)
    assert encoder.image_size == (12, 580)
    assert tuple(encoder.prepare_image(torch.zeros(2, 10, 579)).shape) == (2, 1, 12, 580)
    changed = _cells_that_change_output(encoder)
    assert changed.all(), f"{int((~changed).sum())} cells never reach the output"


def test_every_cell_reaches_the_output_resize_mode():
    config = tiny(region_input_mode="resize", region_image_size=[16, 128])
    torch.manual_seed(0)
    encoder = GeneBertRegionEncoder(config)
    assert encoder.image_size == (16, 128)
    changed = _cells_that_change_output(encoder)
    assert changed.all(), f"{int((~changed).sum())} cells never reach the output"


def test_standardisation_and_buffers_survive_save_load(tmp_path, config):
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config).eval()
    gen = torch.Generator().manual_seed(1)
    corpus = torch.rand(32, NUM_REGIONS, NUM_MOTIFS, generator=gen) * 5 + 2
    corpus[..., 7] = 1.5  # a constant motif: std 0 -> 1
    mean, std = model.region_encoder.fit_motif_statistics(corpus)
    torch.testing.assert_close(mean, corpus.reshape(-1, NUM_MOTIFS).mean(0))
    assert std[7] == 1.0
    image = model.region_encoder.prepare_image(corpus[:4])
    standardised = image[:, 0, :NUM_REGIONS, :NUM_MOTIFS]
    assert standardised.reshape(-1, NUM_MOTIFS)[:, :7].mean().abs() < 0.2
    assert (image[:, :, NUM_REGIONS:, :] == 0).all() and (image[:, :, :, NUM_MOTIFS:] == 0).all()
    with pytest.raises(ValueError, match="shape"):
        model.region_encoder.set_motif_statistics(torch.zeros(3), torch.ones(3))
    model.save_pretrained(tmp_path)
    from safetensors.torch import load_file

    saved = load_file(tmp_path / "model.safetensors")
    assert "region_encoder.motif_mean" in saved and "region_encoder.motif_std" in saved
    loaded = GeneBertForPreTraining.from_pretrained(tmp_path)
    torch.testing.assert_close(
        loaded.region_encoder.motif_mean, model.region_encoder.motif_mean, rtol=0, atol=0
    )
    torch.testing.assert_close(
        loaded.region_encoder.motif_std, model.region_encoder.motif_std, rtol=0, atol=0
    )


def test_region_tower_loads_local_timm_weights(tmp_path, config):
    import timm
    from safetensors.torch import save_file

    reference = GeneBertRegionEncoder(config).backbone
    with torch.no_grad():
        for param in reference.parameters():
            param.add_(0.5)
    weights = tmp_path / "swin_weights.safetensors"
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(weights))
    model = GeneBertForPreTraining(tiny(region_pretrained=str(weights))).eval()
    for (name, mine), theirs in zip(
        model.region_encoder.backbone.state_dict().items(), reference.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=0, msg=name)
    # Loading the GeneBERT checkpoint later never goes back to the timm file (its weights win).
    model.save_pretrained(tmp_path / "ckpt")
    weights.unlink()
    GeneBertForPreTraining.from_pretrained(tmp_path / "ckpt")
    with pytest.raises(FileNotFoundError):
        GeneBertForPreTraining(tiny(region_pretrained=str(weights)))
    assert timm.__version__


def test_gradient_checkpointing_reaches_both_towers(config):
    model = GeneBertForPreTraining(config).train()
    # transformers 5 renamed gradient_checkpointing_enable/disable to activation_checkpointing_*.
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    disable = getattr(model, "activation_checkpointing_disable", None) or model.gradient_checkpointing_disable
    enable()
    assert all(layer.gradient_checkpointing for layer in model.bert.encoder.layer)
    assert all(stage.grad_checkpointing for stage in model.region_encoder.backbone.layers)
    model(**make_batch(config)).loss.backward()
    assert model.region_encoder.backbone.patch_embed.proj.weight.grad is not None
    disable()
    assert not any(stage.grad_checkpointing for stage in model.region_encoder.backbone.layers)


# --------------------------------------------------------------------------------------------------------------------
# Sequence classification
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num_labels", "labels", "problem_type"),
    [
        (3, torch.tensor([0, 2, 1, 1]), "single_label_classification"),
        (3, torch.tensor([[1.0, 0.0, 1.0]] * 4), "multi_label_classification"),
        (1, torch.tensor([0.5, -1.0, 2.0, 0.0]), "regression"),
    ],
)
@pytest.mark.parametrize("use_regions", [False, True])
def test_sequence_classification(num_labels, labels, problem_type, use_regions):
    config = tiny(num_labels=num_labels, classifier_use_regions=use_regions)
    torch.manual_seed(0)
    model = GeneBertForSequenceClassification(config)
    batch = make_batch(config)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    if use_regions:
        inputs["region_matrix"] = batch["region_matrix"]
    out = model(**inputs, labels=labels)
    assert model.config.problem_type == problem_type
    assert out.logits.shape == (4, num_labels) and out.loss.shape == () and torch.isfinite(out.loss)
    out.loss.backward()
    assert model.bert.embeddings.word_embeddings.weight.grad is not None
    if use_regions:
        assert model.region_encoder.backbone.patch_embed.proj.weight.grad.abs().sum() > 0
        model.eval()
        with torch.no_grad():  # without region input, the region part of the classifier input is zeros
            assert model(**{k: v for k, v in inputs.items() if k != "region_matrix"}).logits.shape == (
                4,
                num_labels,
            )
    else:
        with pytest.raises(ValueError, match="classifier_use_regions"):
            model(**inputs, region_matrix=batch["region_matrix"])


def test_auto_classes_are_registered(config):
    assert type(AutoModel.from_config(config)) is GeneBertModel
    assert type(AutoModelForPreTraining.from_config(config)) is GeneBertForPreTraining
    assert type(AutoModelForSequenceClassification.from_config(config)) is GeneBertForSequenceClassification


def test_classification_from_pretraining_checkpoint(tmp_path, model, config):
    model.save_pretrained(tmp_path)
    classifier = GeneBertForSequenceClassification.from_pretrained(tmp_path, num_labels=2)
    for name, param in model.bert.state_dict().items():
        torch.testing.assert_close(classifier.bert.state_dict()[name], param, rtol=0, atol=0, msg=name)


# --------------------------------------------------------------------------------------------------------------------
# Save / load
# --------------------------------------------------------------------------------------------------------------------


def _classifier(config_overrides=None) -> GeneBertForSequenceClassification:
    torch.manual_seed(1)
    model = GeneBertForSequenceClassification(
        tiny(num_labels=3, classifier_use_regions=True, **(config_overrides or {}))
    )
    return model.eval()


def test_save_load_in_process_is_bit_identical(tmp_path, model, config):
    batch = make_batch(config)
    model.region_encoder.set_motif_statistics(torch.full((NUM_MOTIFS,), 2.0), torch.full((NUM_MOTIFS,), 3.0))
    with torch.no_grad():
        before = model(**batch, return_full_prediction_logits=True)
    model.save_pretrained(tmp_path / "pt")
    loaded = GeneBertForPreTraining.from_pretrained(tmp_path / "pt")
    assert not loaded.training
    with torch.no_grad():
        after = loaded(**batch, return_full_prediction_logits=True)
    for name in before:
        assert torch.equal(before[name], after[name]), name
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    for (name, a), b in zip(model.named_buffers(), loaded.buffers(), strict=True):
        assert torch.equal(a, b), name  # includes timm's non-persistent Swin buffers

    classifier = _classifier()
    classifier.save_pretrained(tmp_path / "cls")
    loaded_cls = GeneBertForSequenceClassification.from_pretrained(tmp_path / "cls")
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids", "region_matrix")}
    with torch.no_grad():
        assert torch.equal(classifier(**inputs).logits, loaded_cls(**inputs).logits)


FRESH_PROCESS_CODE = """
import sys
sys.modules["genebert"] = None  # a machine with transformers but without the genebert package
try:
    import genebert  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("genebert is importable in the fresh process")

import torch
from transformers import AutoModel, AutoModelForPreTraining, AutoModelForSequenceClassification

data = torch.load("io.pt")
pt_dir, cls_dir = "pretraining", "classifier"

pretraining = AutoModelForPreTraining.from_pretrained(pt_dir, trust_remote_code=True)
assert type(pretraining).__name__ == "GeneBertForPreTraining", type(pretraining)
assert "genebert" not in type(pretraining).__module__.split(".")[0]
buffers = dict(pretraining.named_buffers())
for name, expected in data["buffers"].items():
    assert torch.equal(buffers[name], expected), f"buffer {name} differs after load"
with torch.no_grad():
    out = pretraining(**data["pt_inputs"], return_full_prediction_logits=True)
for name, expected in data["pt_outputs"].items():
    assert torch.equal(out[name], expected), f"pre-training output {name} differs"

base = AutoModel.from_pretrained(pt_dir, trust_remote_code=True)
assert type(base).__name__ == "GeneBertModel", type(base)
with torch.no_grad():
    hidden = base(**{k: data["pt_inputs"][k] for k in ("input_ids", "attention_mask", "token_type_ids")})
assert torch.equal(hidden.last_hidden_state, data["base_hidden"]), "AutoModel hidden states differ"

classifier = AutoModelForSequenceClassification.from_pretrained(cls_dir, trust_remote_code=True)
assert type(classifier).__name__ == "GeneBertForSequenceClassification"
with torch.no_grad():
    logits = classifier(**data["cls_inputs"]).logits
assert torch.equal(logits, data["cls_logits"]), "classifier logits differ"
print("FRESH-PROCESS-OK")
"""


def test_remote_code_load_in_fresh_process_without_genebert(tmp_path, config):
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config).eval()
    model.region_encoder.set_motif_statistics(torch.full((NUM_MOTIFS,), 1.0), torch.full((NUM_MOTIFS,), 2.0))
    batch = make_batch(config)
    pt_inputs = {k: v for k, v in batch.items()}
    with torch.no_grad():
        pt_out = model(**pt_inputs, return_full_prediction_logits=True)
        base_hidden = model.bert(
            **{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        ).last_hidden_state
    model.save_pretrained(tmp_path / "pretraining")
    classifier = _classifier()
    cls_inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids", "region_matrix")}
    with torch.no_grad():
        cls_logits = classifier(**cls_inputs).logits
    classifier.save_pretrained(tmp_path / "classifier")

    saved = json.loads((tmp_path / "pretraining" / "config.json").read_text())
    assert set(saved["auto_map"]) == {
        "AutoConfig",
        "AutoModel",
        "AutoModelForPreTraining",
        "AutoModelForSequenceClassification",
        "AutoModelForMaskedLM",
        "AutoModelForTokenClassification",
    }
    assert {"configuration_genebert.py", "modeling_genebert.py"} <= set(os.listdir(tmp_path / "pretraining"))
    torch.save(
        {
            "pt_inputs": pt_inputs,
            "pt_outputs": dict(pt_out.items()),
            "base_hidden": base_hidden,
            "buffers": {k: v.clone() for k, v in model.named_buffers()},
            "cls_inputs": cls_inputs,
            "cls_logits": cls_logits,
        },
        tmp_path / "io.pt",
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env.update(
        HF_HUB_OFFLINE="1",
        HF_MODULES_CACHE=str(tmp_path / "hf_modules"),
        TRANSFORMERS_VERBOSITY="error",
        PYTHONSAFEPATH="1",
    )
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FRESH_PROCESS_CODE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "FRESH-PROCESS-OK" in result.stdout


# --------------------------------------------------------------------------------------------------------------------
# DNABERT checkpoints
# --------------------------------------------------------------------------------------------------------------------


def test_load_dnabert_style_checkpoint(tmp_path):
    bert_config = BertConfig(
        vocab_size=kmer_vocab_size(6),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    torch.manual_seed(5)
    dnabert = BertForMaskedLM(bert_config).eval()
    dnabert.save_pretrained(tmp_path / "dnabert")

    model, info = GeneBertForPreTraining.from_dnabert(
        tmp_path / "dnabert", output_loading_info=True, region_backbone_kwargs=tiny().region_backbone_kwargs
    )
    assert model.config.kmer == 6 and model.config.hidden_size == 32
    theirs = dnabert.bert.state_dict()
    for name, value in model.bert.encoder.state_dict().items():
        torch.testing.assert_close(value, theirs[f"encoder.{name}"], rtol=0, atol=0, msg=name)
    for name, value in model.bert.embeddings.state_dict().items():
        torch.testing.assert_close(value, theirs[f"embeddings.{name}"], rtol=0, atol=0, msg=name)
    # DNABERT's MLM head loads into the MGM head (same names), still tied to the embeddings.
    torch.testing.assert_close(model.cls.predictions.bias, dnabert.cls.predictions.bias, rtol=0, atol=0)
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    missing = set(info["missing_keys"])
    assert "cls.seq_relationship.weight" in missing and "bert.pooler.dense.weight" in missing
    assert "logit_scale" in missing and any(k.startswith("region_encoder.backbone.") for k in missing)
    assert not any(k.startswith(("bert.encoder.", "bert.embeddings.")) for k in missing)
    assert info["unexpected_keys"] == [] and info["mismatched_keys"] == []
    # The sequence tower computes exactly what DNABERT computes.
    batch = make_batch(model.config)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs).prediction_logits, dnabert(**inputs).logits)
    # Into the base model and a classifier; an unexpected head is reported.
    base, base_info = GeneBertModel.from_dnabert(tmp_path / "dnabert", output_loading_info=True)
    assert any(k.startswith("cls.predictions") for k in base_info["unexpected_keys"])
    torch.testing.assert_close(
        base.embeddings.word_embeddings.weight, dnabert.bert.embeddings.word_embeddings.weight, rtol=0, atol=0
    )
    classifier = GeneBertForSequenceClassification.from_dnabert(tmp_path / "dnabert", num_labels=2)
    assert classifier.config.num_labels == 2
    # Plain from_pretrained also works (a DNABERT config.json parses as a GeneBertConfig): the weights the
    # checkpoint lacks, timm's included, are materialised off the meta device and initialised.
    direct = GeneBertForPreTraining.from_pretrained(tmp_path / "dnabert", config=tiny())
    assert not any(p.is_meta for p in direct.parameters())
    assert all(torch.isfinite(p).all() and p.abs().max() < 10 for p in direct.parameters())
    assert direct.region_encoder.backbone.patch_embed.proj.weight.std() > 0
    torch.testing.assert_close(direct.logit_scale, torch.tensor(math.log(1 / 0.07)))
    with torch.no_grad():
        assert torch.isfinite(direct.get_region_features(batch["region_matrix"])).all()
    bad = BertForMaskedLM(
        BertConfig(
            vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        )
    )
    bad.save_pretrained(tmp_path / "not_dnabert")
    with pytest.raises(ValueError, match="k-mer vocabulary"):
        GeneBertForPreTraining.from_dnabert(tmp_path / "not_dnabert")


# --------------------------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------------------------


def test_overfits_eight_samples_in_fifty_steps():
    config = tiny(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config).train()
    batch = make_batch(config, batch=8, length=48, seed=7, pad=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(50):
        out = model(**batch)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] <= 0.5 * losses[0], f"loss {losses[0]:.3f} -> {losses[-1]:.3f}"
    with torch.no_grad():
        final = model.eval()(**batch)
    assert final.srm_loss < math.log(8)  # better than chance at matching the 8 pairs


# --------------------------------------------------------------------------------------------------------------------
# Region-level SRM (config.srm_level="region", an option beyond the paper)
# --------------------------------------------------------------------------------------------------------------------


def _region_token_index(batch: dict, num_regions: int) -> torch.Tensor:
    """Each row's k-mer tokens cut into ``num_regions`` runs of nearly equal length (special tokens and padding -1)."""
    ids, mask = batch["input_ids"], batch["attention_mask"]
    index = torch.full_like(ids, -1)
    for row in range(ids.shape[0]):
        positions = [p for p in range(ids.shape[1]) if mask[row, p] and ids[row, p] not in (CLS, SEP, PAD)]
        for slot, chunk in enumerate(torch.tensor(positions).tensor_split(num_regions)):
            index[row, chunk] = slot
    return index


def test_region_level_srm_shapes_loss_gradients_and_round_trip(tmp_path):
    from genebert.modeling_genebert import GeneBertMotifRowEncoder, pool_regions

    config = tiny(srm_level="region")
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config)
    assert isinstance(model.region_encoder, GeneBertMotifRowEncoder)
    assert not any("backbone" in name for name, _ in model.named_parameters())  # no timm tower is built
    batch = make_batch(config, batch=3, length=60)
    batch["region_token_index"] = _region_token_index(batch, config.num_regions)
    output = model(**batch)
    regions = 3 * config.num_regions
    assert output.logits_per_sequence.shape == output.logits_per_region.shape == (regions, regions)
    assert output.sequence_embeds.shape == output.region_embeds.shape == (regions, config.projection_dim)
    assert torch.isfinite(output.srm_loss) and output.srm_loss > 0
    torch.testing.assert_close(output.loss, output.mgm_loss + output.ngsp_loss + 0.5 * output.srm_loss)
    output.loss.backward()
    for name in ("sequence_projection.weight", "region_projection.weight", "region_encoder.dense.weight"):
        assert model.get_parameter(name).grad.abs().sum() > 0, name
    # the pooled sequence embedding of a region is the mean of its tokens' states
    states = torch.randn(2, 7, 4)
    index = torch.tensor([[-1, 0, 0, 1, -1, 1, -1], [-1, 1, 1, 1, -1, -1, -1]])
    means, counts = pool_regions(states, index, 2)
    torch.testing.assert_close(means[0, 1], states[0, [3, 5]].mean(0))
    assert counts.tolist() == [[2, 2], [0, 3]] and means[1, 0].abs().sum() == 0
    with pytest.raises(ValueError, match="region_token_index"):
        model(**{k: v for k, v in batch.items() if k != "region_token_index"})

    model.region_encoder.set_motif_statistics(torch.arange(config.num_motifs) * 0.1, torch.full((579,), 2.0))
    model.eval().save_pretrained(tmp_path)
    loaded = GeneBertForPreTraining.from_pretrained(tmp_path).eval()
    assert loaded.config.srm_level == "region" and isinstance(loaded.region_encoder, GeneBertMotifRowEncoder)
    with torch.no_grad():
        torch.testing.assert_close(loaded(**batch).srm_loss, model(**batch).srm_loss)
    classifier = GeneBertForSequenceClassification.from_pretrained(
        tmp_path, num_labels=2
    )  # heads differ: fine
    assert classifier.region_encoder is None


def test_sample_level_srm_stays_the_default(model, config):
    assert config.srm_level == "sample" and GeneBertConfig().srm_level == "sample"
    assert isinstance(model.region_encoder, GeneBertRegionEncoder)
    batch = make_batch(config)
    with torch.no_grad():
        plain = model(**batch)
        indexed = model(**batch, region_token_index=_region_token_index(batch, config.num_regions))
    assert plain.logits_per_sequence.shape == (4, 4)
    torch.testing.assert_close(plain.srm_loss, indexed.srm_loss)  # ignored at sample level
    with pytest.raises(ValueError, match="srm_level must be one of"):
        tiny(srm_level="batch")


def test_region_level_classifier_fuses_mean_region_features():
    torch.manual_seed(0)
    config = tiny(srm_level="region", classifier_use_regions=True, num_labels=2)
    classifier = GeneBertForSequenceClassification(config)
    batch = make_batch(config, batch=2)
    logits = classifier(batch["input_ids"], region_matrix=batch["region_matrix"]).logits
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()
