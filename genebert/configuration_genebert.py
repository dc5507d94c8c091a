"""GeneBERT model configuration.

Hub remote code: this file imports only transformers and the standard library (never ``genebert.*``), so it
works when copied into a model repository beside ``modeling_genebert.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from transformers import PretrainedConfig

# This remote code targets transformers 5.x only. Outside that range it refuses to load, in one line, instead of
# running with other semantics (transformers 4.x would load the tokenizer and silently drop [CLS] and [SEP]).
# Each remote-code file keeps its own copy: transformers 4.x copies only a module's direct relative imports, so
# a guard imported from another file is missing there (tests/hub/test_roundtrips.py runs the real 4.x).
SUPPORTED_TRANSFORMERS = ">=5.0,<6"


def check_transformers_version(version: str | None = None) -> None:
    """Raise `ImportError` (one line) unless the installed transformers is 5.x."""
    import transformers

    version = transformers.__version__ if version is None else version
    major = version.split(".", 1)[0]
    if not (major.isdigit() and int(major) == 5):
        raise ImportError(
            f"GeneBERT's model code needs transformers{SUPPORTED_TRANSFORMERS} (found {version}): "
            f"pip install 'transformers{SUPPORTED_TRANSFORMERS}'"
        )


check_transformers_version()

_SPECIAL_TOKEN_COUNT = 5  # [PAD] [UNK] [CLS] [SEP] [MASK]
_REGION_INPUT_MODES = ("pad", "resize")
#: Where sequence-region matching contrasts (`GeneBertConfig.srm_level`).
SRM_LEVELS = ("sample", "region")
_PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")

#: JASPAR 2018 CORE vertebrates, non-redundant: the motif set of the paper's region matrix.
JASPAR2018_CORE_VERTEBRATES_NON_REDUNDANT = 579

#: A small Swin for CPU tests: two stages of two blocks (so shifted windows and their masks are exercised).
TINY_SWIN_KWARGS: dict[str, Any] = {
    "patch_size": 4,
    "window_size": 7,
    "embed_dim": 16,
    "depths": [2, 2],
    "num_heads": [1, 2],
    "mlp_ratio": 2.0,
    "drop_path_rate": 0.0,
}

#: swin_tiny's architecture with a lighter stochastic depth than ImageNet training uses.
BASE_SWIN_KWARGS: dict[str, Any] = {"drop_path_rate": 0.1}


def kmer_vocab_size(kmer: int) -> int:
    """Size of DNABERT's k-mer vocabulary: the five special tokens then every k-mer over ATCG."""
    return 4**kmer + _SPECIAL_TOKEN_COUNT


def _as_hw(value: int | Sequence[int] | None, name: str) -> list[int] | None:
    """``None``, an int or a pair of positive ints -> ``None`` or ``[h, w]`` (JSON-friendly)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, int):
        value = [value, value]
    value = list(value)
    if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints (height, width), got {value!r}")
    if min(value) <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return value


class GeneBertConfig(PretrainedConfig):
    r"""Configuration of a GeneBERT model: a BERT over overlapping DNA k-mers (sequence tower) and a timm vision
    backbone over the (regions x motifs) matrix (region tower), trained with masked genome modelling (MGM), next
    genome segment prediction (NGSP) and sequence-region matching (SRM).

    Use [`GeneBertConfig.tiny`] for CPU tests (runs in seconds) and [`GeneBertConfig.base`] for the paper's scale
    (BERT-base + swin_tiny).

    Args:
        kmer (`int`, defaults to 6): k of the overlapping k-mer tokens (3..6). Sets `vocab_size` to 4**k + 5
            unless `vocab_size` is given explicitly.
        vocab_size (`int`, *optional*): size of the token embedding table; at least 4**kmer + 5 (larger after
            `tokenizer.add_tokens` and `model.resize_token_embeddings(..., pad_to_multiple_of=...)`).
        hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, hidden_act, hidden_dropout_prob,
        attention_probs_dropout_prob, max_position_embeddings, type_vocab_size, initializer_range,
        layer_norm_eps, pad_token_id, classifier_dropout: as in [`BertConfig`].
        num_regions (`int`, defaults to 10): rows of the region matrix (accessible regions per sample).
        num_motifs (`int`, defaults to 579): columns of the region matrix (one motif score per TF; 579 is JASPAR
            2018 CORE vertebrates non-redundant).
        region_backbone (`str`, defaults to `"swin_tiny_patch4_window7_224"`): a `timm.create_model` name
            (`swin_*`, `vit_*`, `deit_*`, ... any timm model whose `forward` returns pooled features when
            `num_classes=0`).
        region_input_mode (`str`, defaults to `"pad"`): how the (num_regions, num_motifs) matrix becomes an image.
            `"pad"`: zero-pad (after standardisation, so zero is the per-TF mean) at the bottom/right to the
            backbone's patch grid; every cell reaches the backbone; fast. `"resize"`: bilinear resize with
            anti-aliasing to `region_image_size` (the paper's setting; every cell still contributes because the
            anti-aliasing filter widens with the down-scaling factor).
        region_image_size (`int` or `(int, int)`, *optional*): backbone input size. `"pad"` mode: default is the
            smallest multiple of the patch size covering (num_regions, num_motifs); a given size must cover it.
            `"resize"` mode: defaults to the backbone's default size (224 for swin_tiny).
        region_in_chans (`int`, defaults to 1): image channels; the single motif channel is repeated when > 1
            (timm sums an RGB stem into one channel when loading pretrained weights with `in_chans=1`).
        region_backbone_kwargs (`dict`, *optional*): extra `timm.create_model` kwargs, e.g. a small Swin
            (`embed_dim`, `depths`, `num_heads`, `window_size`, `patch_size`, `drop_path_rate`).
        region_pretrained (`bool` or `str`, defaults to `False`): ImageNet weights for the region backbone when the
            model is built from this config (never when loading a GeneBERT checkpoint, whose weights win).
            `True`: timm's default weights from the Hub; a path to an existing local file (`.safetensors`, `.pth`,
            `.bin`): those weights (timm `pretrained_cfg_overlay=dict(file=...)`); any other string: a Hub model id
            holding timm weights (e.g. `"timm/swin_tiny_patch4_window7_224.ms_in1k"`).
        position_embedding_init (`str`, defaults to `"normal"`): how the learned absolute position embeddings
            start. `"normal"`: BERT's N(0, initializer_range). `"sinusoidal"`: the sin/cos table of Vaswani et al.
            with the same per-dimension RMS, so that neighbouring positions are related by one linear map from the
            start; small models then learn to read the visible bases of overlapping k-mers in hundreds of steps
            instead of thousands (the demo uses it; docs/pretraining.md). Still learned; only the start differs.
        projection_dim (`int`, defaults to 256): size of the shared sequence/region embedding space of SRM.
        logit_scale_init (`float`, defaults to ln(1/0.07)): initial value of the learnable log temperature.
        logit_scale_max (`float`, defaults to 100): the scale `exp(logit_scale)` is clamped at this value.
        use_mgm, use_ngsp, use_srm (`bool`, default `True`): switch each pre-training loss on or off (the paper's
            ablations). A switched-off term is `None` and absent from the total; its head is not built.
        srm_weight (`float`, defaults to 0.5): lambda of the paper's Eq. 4, total = MGM + NGSP + lambda * SRM.
        srm_level (`str`, defaults to `"sample"`): what SRM contrasts. `"sample"` (the paper): the projected [CLS]
            against the region tower's embedding of the whole (num_regions, num_motifs) matrix, across the samples
            of the batch. `"region"` (an option beyond the paper): each region's sequence embedding (the mean final
            state of that region's k-mer tokens, special tokens excluded) against an embedding of that region's
            motif vector (a small MLP, `GeneBertMotifRowEncoder`; no timm backbone is built), across every region
            of the batch. Sample-level contrast can be solved from a sample's overall composition; region-level
            contrast has ten times as many candidates, neighbours of the same sample among them.
        srm_gather_distributed (`bool`, defaults to `True`): when torch.distributed is initialised with world size
            > 1, gather the embeddings of all ranks so that SRM contrasts against the global batch.
        classifier_use_regions (`bool`, defaults to `False`): whether [`GeneBertForSequenceClassification`] builds
            the region tower and accepts a `region_matrix` (concatenated, projected, to the pooled [CLS]).
        tie_word_embeddings (`bool`, defaults to `True`): tie the MGM decoder to the k-mer embeddings.
    """

    model_type = "genebert"

    def __init__(
        self,
        kmer: int = 6,
        vocab_size: int | None = None,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        position_embedding_init: str = "normal",
        layer_norm_eps: float = 1e-12,
        pad_token_id: int = 0,
        classifier_dropout: float | None = None,
        num_regions: int = 10,
        num_motifs: int = JASPAR2018_CORE_VERTEBRATES_NON_REDUNDANT,
        region_backbone: str = "swin_tiny_patch4_window7_224",
        region_input_mode: str = "pad",
        region_image_size: int | Sequence[int] | None = None,
        region_in_chans: int = 1,
        region_backbone_kwargs: dict[str, Any] | None = None,
        region_pretrained: bool | str = False,
        projection_dim: int = 256,
        logit_scale_init: float = math.log(1 / 0.07),
        logit_scale_max: float = 100.0,
        use_mgm: bool = True,
        use_ngsp: bool = True,
        use_srm: bool = True,
        srm_weight: float = 0.5,
        srm_level: str = "sample",
        srm_gather_distributed: bool = True,
        classifier_use_regions: bool = False,
        tie_word_embeddings: bool = True,
        **kwargs,
    ):
        if isinstance(kmer, bool) or not isinstance(kmer, int) or not 3 <= kmer <= 6:
            raise ValueError(f"kmer must be an int between 3 and 6, got {kmer!r}")
        expected_vocab = kmer_vocab_size(kmer)
        if vocab_size is None:
            vocab_size = expected_vocab
        elif (
            isinstance(vocab_size, bool)
            or not isinstance(vocab_size, int)
            or vocab_size < expected_vocab
            or vocab_size in {kmer_vocab_size(other) for other in range(3, 7) if other != kmer}
        ):
            # Larger is fine: tokens added with `tokenizer.add_tokens` and embeddings resized with
            # `resize_token_embeddings(..., pad_to_multiple_of=...)` sit after the 4**k + 5 k-mer ids. Exactly the
            # vocabulary of another k is the classic mix-up (a DNABERT-6 checkpoint with kmer=5) and is refused.
            raise ValueError(
                f"vocab_size {vocab_size!r} does not fit kmer={kmer}: the k-mer vocabulary has {expected_vocab} "
                "tokens (4**k + 5); vocab_size may be larger (added tokens, padding) but not smaller, nor the "
                "vocabulary size of another k"
            )
        for name, value in (
            ("hidden_size", hidden_size),
            ("num_hidden_layers", num_hidden_layers),
            ("num_attention_heads", num_attention_heads),
            ("intermediate_size", intermediate_size),
            ("max_position_embeddings", max_position_embeddings),
            ("type_vocab_size", type_vocab_size),
            ("num_regions", num_regions),
            ("num_motifs", num_motifs),
            ("region_in_chans", region_in_chans),
            ("projection_dim", projection_dim),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if hidden_size % num_attention_heads:
            raise ValueError(
                f"hidden_size ({hidden_size}) must be a multiple of num_attention_heads ({num_attention_heads})"
            )
        for name, value in (
            ("hidden_dropout_prob", hidden_dropout_prob),
            ("attention_probs_dropout_prob", attention_probs_dropout_prob),
        ):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        if region_input_mode not in _REGION_INPUT_MODES:
            raise ValueError(
                f"region_input_mode must be one of {_REGION_INPUT_MODES}, got {region_input_mode!r}"
            )
        region_image_size = _as_hw(region_image_size, "region_image_size")
        if (
            region_input_mode == "pad"
            and region_image_size is not None
            and (region_image_size[0] < num_regions or region_image_size[1] < num_motifs)
        ):
            raise ValueError(
                f"region_image_size {region_image_size} is smaller than the region matrix "
                f"({num_regions}, {num_motifs}); 'pad' mode never crops. Use a larger size or "
                "region_input_mode='resize'."
            )
        if not isinstance(region_backbone, str) or not region_backbone:
            raise ValueError(f"region_backbone must be a timm model name, got {region_backbone!r}")
        region_backbone_kwargs = dict(region_backbone_kwargs or {})
        reserved = {"pretrained", "num_classes", "in_chans", "img_size", "pretrained_cfg_overlay"} & set(
            region_backbone_kwargs
        )
        if reserved:
            raise ValueError(
                f"region_backbone_kwargs may not set {sorted(reserved)}: use region_pretrained, region_in_chans and "
                "region_image_size (num_classes is always 0: the backbone returns pooled features)"
            )
        if not isinstance(region_pretrained, (bool, str)):
            raise TypeError(
                f"region_pretrained must be a bool or a str (file path or Hub id), got {region_pretrained!r}"
            )
        if logit_scale_max <= 0 or logit_scale_init > math.log(logit_scale_max):
            raise ValueError(
                f"need logit_scale_max > 0 and logit_scale_init <= ln(logit_scale_max), got {logit_scale_init} and "
                f"{logit_scale_max}"
            )
        if srm_weight < 0:
            raise ValueError(f"srm_weight must be >= 0, got {srm_weight}")
        if position_embedding_init not in ("normal", "sinusoidal"):
            raise ValueError(
                f"position_embedding_init must be 'normal' or 'sinusoidal', got {position_embedding_init!r}"
            )
        if srm_level not in SRM_LEVELS:
            raise ValueError(f"srm_level must be one of {SRM_LEVELS}, got {srm_level!r}")

        self.kmer = kmer
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.position_embedding_init = position_embedding_init
        self.layer_norm_eps = layer_norm_eps
        self.classifier_dropout = classifier_dropout
        # BertModel reads these; GeneBERT is always a bidirectional encoder.
        self.is_decoder = False
        self.add_cross_attention = False
        self.use_cache = False
        kwargs.pop("is_decoder", None)
        kwargs.pop("add_cross_attention", None)
        kwargs.pop("use_cache", None)

        self.num_regions = num_regions
        self.num_motifs = num_motifs
        self.region_backbone = region_backbone
        self.region_input_mode = region_input_mode
        self.region_image_size = region_image_size
        self.region_in_chans = region_in_chans
        self.region_backbone_kwargs = region_backbone_kwargs
        self.region_pretrained = region_pretrained
        self.projection_dim = projection_dim
        self.logit_scale_init = float(logit_scale_init)
        self.logit_scale_max = float(logit_scale_max)
        self.use_mgm = bool(use_mgm)
        self.use_ngsp = bool(use_ngsp)
        self.use_srm = bool(use_srm)
        self.srm_weight = float(srm_weight)
        self.srm_level = srm_level
        self.srm_gather_distributed = bool(srm_gather_distributed)
        self.classifier_use_regions = bool(classifier_use_regions)
        self.tie_word_embeddings = tie_word_embeddings
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        if self.problem_type is not None and self.problem_type not in _PROBLEM_TYPES:
            raise ValueError(
                f"problem_type must be one of {_PROBLEM_TYPES} or None, got {self.problem_type!r}"
            )

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> GeneBertConfig:
        """A configuration of `PRESETS` (``"tiny"``, ``"small"`` or ``"base"``), with ``overrides`` on top."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
        preset = PRESETS[name]
        values = {**preset, "region_backbone_kwargs": dict(preset["region_backbone_kwargs"]), **overrides}
        return cls(**values)

    @classmethod
    def tiny(cls, **overrides: Any) -> GeneBertConfig:
        """A few-second CPU configuration for tests: k=6, 2 layers of width 32, a 2-stage Swin of width 16."""
        return cls.from_preset("tiny", **overrides)

    @classmethod
    def base(cls, **overrides: Any) -> GeneBertConfig:
        """The paper's scale: BERT-base (12 x 768, 12 heads, 3072) with a swin_tiny region tower.

        Pass ``region_pretrained=True`` (Hub) or a local weights file to start the region tower from ImageNet, as
        the paper does, and ``region_input_mode="resize"`` for the paper's 224 x 224 input.
        """
        return cls.from_preset("base", **overrides)


#: The architecture presets, the one table every script and study uses (``--preset NAME``). The scripts' training
#: defaults per preset live in ``genebert.training.arguments.TRAINING_PRESETS``.
PRESETS: dict[str, dict[str, Any]] = {
    # a few-second CPU model for tests and the demo
    "tiny": {
        "kmer": 6, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
        "region_backbone": "swin_tiny_patch4_window7_224", "region_backbone_kwargs": TINY_SWIN_KWARGS,
        "projection_dim": 16,
    },
    # a larger CPU model for the downstream tables (docs/results.md)
    "small": {
        "kmer": 6, "hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 512,
        "region_backbone": "swin_tiny_patch4_window7_224", "region_backbone_kwargs": TINY_SWIN_KWARGS,
        "projection_dim": 16,
    },
    # the paper: BERT-base + swin_tiny
    "base": {
        "kmer": 6, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 3072, "region_backbone": "swin_tiny_patch4_window7_224",
        "region_backbone_kwargs": BASE_SWIN_KWARGS, "projection_dim": 256,
    },
}  # fmt: skip


__all__ = [
    "JASPAR2018_CORE_VERTEBRATES_NON_REDUNDANT", "PRESETS", "SRM_LEVELS", "GeneBertConfig", "kmer_vocab_size"
]  # fmt: skip

# Writes "auto_map" and copies this file on save_pretrained (Hub remote code).
GeneBertConfig.register_for_auto_class()
