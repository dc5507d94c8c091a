"""GeneBERT models: the k-mer sequence tower, the timm region tower, the pre-training heads and losses.

Hub remote code: this file imports only ``configuration_genebert`` (relatively), torch, transformers, timm and the
standard library (never ``genebert.*``), so it works when copied into a model repository.

Architecture (Mo et al., 2021, arXiv 2110.05231):

* ``GeneBertModel``: a transformers ``BertModel`` over overlapping k-mers (sdpa attention by default).
* ``GeneBertRegionEncoder``: any timm backbone over the (num_regions x num_motifs) matrix, standardised per TF with
  statistics stored in the checkpoint, padded to the backbone's patch grid or resized (never cropped).
* ``GeneBertForPreTraining``: masked genome modelling (MGM, decoder tied to the k-mer embeddings), next genome
  segment prediction (NGSP, on the pooled [CLS]) and sequence-region matching (SRM, CLIP's symmetric InfoNCE with
  cross-process negatives). Loss = MGM + NGSP + srm_weight * SRM. With ``config.srm_level="region"`` (beyond the
  paper) SRM contrasts each region's mean token state with ``GeneBertMotifRowEncoder``'s embedding of its motif
  vector, across every region of the batch.
* ``GeneBertForSequenceClassification``: pooled [CLS] (optionally with projected region features) -> classifier.
"""

# isort: off
# First, so that a transformers outside 5.x is refused in one line before any 5.x-only import below fails.
from .configuration_genebert import GeneBertConfig, kmer_vocab_size

# isort: on
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from transformers import initialization as init
from transformers.modeling_outputs import MaskedLMOutput, SequenceClassifierOutput, TokenClassifierOutput
from transformers.models.bert.modeling_bert import (
    BertEmbeddings,
    BertLMPredictionHead,
    BertModel,
    BertPreTrainedModel,
)
from transformers.processing_utils import Unpack
from transformers.utils import ModelOutput, TransformersKwargs, logging
from transformers.utils.generic import can_return_tuple

logger = logging.get_logger(__name__)

_BERT_CONFIG_FIELDS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "initializer_range",
    "layer_norm_eps",
    "pad_token_id",
)


# ---------------------------------------------------------------------------------------------------------------------
# Contrastive losses (module-level, as in transformers' CLIP)
# ---------------------------------------------------------------------------------------------------------------------


def sinusoidal_positions(num_positions: int, dim: int, rms: float) -> torch.Tensor:
    """(num_positions, dim) sin/cos table (Vaswani et al. 2017) scaled so every dimension has RMS ``rms``."""
    position = torch.arange(num_positions, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(num_positions, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table * (rms * math.sqrt(2.0))


def contrastive_loss(logits: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy of each row of `logits` against its positive column.

    Args:
        logits: `(n_rows, n_columns)` similarity scores (already multiplied by the logit scale).
        labels: `(n_rows,)` index of the positive column of each row; defaults to `arange(n_rows)` (the diagonal).
    """
    if labels is None:
        labels = torch.arange(logits.shape[0], device=logits.device)
    return F.cross_entropy(logits, labels)


def clip_loss(
    logits_per_sequence: torch.Tensor,
    logits_per_region: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """CLIP's symmetric InfoNCE: the mean of the sequence->region and region->sequence cross-entropies.

    Args:
        logits_per_sequence: `(batch, global_batch)` scores of each (local) sequence against every region.
        logits_per_region: `(batch, global_batch)` scores of each (local) region against every sequence; defaults to
            `logits_per_sequence.T` (single process: both directions share one square matrix).
        labels: `(batch,)` column of each row's positive pair; defaults to the diagonal.
    """
    if logits_per_region is None:
        logits_per_region = logits_per_sequence.t()
    return (contrastive_loss(logits_per_sequence, labels) + contrastive_loss(logits_per_region, labels)) / 2.0


class _AllGatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 whose backward sums the incoming gradients over ranks and returns the local slice.

    Each rank's loss uses the embeddings of every rank, so the gradient of the local embeddings is the sum of the
    gradients of all ranks' losses with respect to them. With DDP/FSDP averaging the parameter gradients over
    ranks, the update equals that of the mean loss, i.e. of the single-process loss on the concatenated batch.
    """

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor, sizes: list[int]) -> torch.Tensor:
        rank = dist.get_rank()
        ctx.rank, ctx.sizes = rank, sizes
        max_size = max(sizes)
        tensor = tensor.contiguous()
        if tensor.shape[0] < max_size:  # all_gather needs equal shapes: pad, gather, then drop the padding
            tensor = F.pad(tensor, (0, 0, 0, max_size - tensor.shape[0]))
        gathered = [torch.empty_like(tensor) for _ in sizes]
        dist.all_gather(gathered, tensor)
        return torch.cat([part[:size] for part, size in zip(gathered, sizes, strict=True)], dim=0)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        grad = grad_output.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start : start + ctx.sizes[ctx.rank]], None


def gather_for_contrastive_loss(tensor: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Concatenate `tensor` `(local_batch, dim)` over all ranks (rank order), keeping the gradient path.

    Returns the `(global_batch, dim)` tensor and the offset of this rank's rows in it (rank * local_batch when all
    local batches have the same size). Without an initialised process group of size > 1, returns `(tensor, 0)`.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor, 0
    world_size, rank = dist.get_world_size(), dist.get_rank()
    local_size = torch.tensor([tensor.shape[0]], device=tensor.device, dtype=torch.long)
    all_sizes = [torch.zeros_like(local_size) for _ in range(world_size)]
    dist.all_gather(all_sizes, local_size)
    sizes = [int(size.item()) for size in all_sizes]
    return _AllGatherWithGrad.apply(tensor, sizes), sum(sizes[:rank])


def pool_regions(
    hidden_states: torch.Tensor, region_token_index: torch.Tensor, num_regions: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean final state of each region's own tokens.

    Args:
        hidden_states: `(batch, sequence_length, hidden)`.
        region_token_index: `(batch, sequence_length)` long, the region (0..num_regions-1, a row of the region
            matrix) of each k-mer token, -1 for [CLS], [SEP] and padding (`DataCollatorForGenomeModeling` with
            `return_region_token_index=True`).
        num_regions: regions per sample.

    Returns:
        `(batch, num_regions, hidden)` means (zeros for a region without tokens) and `(batch, num_regions)` token
        counts.
    """
    if region_token_index.shape != hidden_states.shape[:2]:
        raise GeneBertInputError(
            f"region_token_index must have shape {tuple(hidden_states.shape[:2])} (batch, sequence_length), got "
            f"{tuple(region_token_index.shape)}"
        )
    slots = torch.arange(num_regions, device=region_token_index.device)
    membership = (region_token_index.unsqueeze(-1) == slots).to(
        hidden_states.dtype
    )  # (batch, length, regions)
    counts = membership.sum(dim=1)
    sums = membership.transpose(1, 2) @ hidden_states
    return sums / counts.clamp(min=1).unsqueeze(-1), counts


# ---------------------------------------------------------------------------------------------------------------------
# Output dataclasses
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class GeneBertForPreTrainingOutput(ModelOutput):
    r"""Output of [`GeneBertForPreTraining`]. `batch` is the local batch size, `global_batch` the batch summed over
    processes when SRM gathers negatives across ranks (equal to `batch` in a single process), `num_masked` the
    number of positions with `labels != -100`. Under `config.srm_level="region"` the SRM fields have one row per
    region with tokens instead of one per sample: read `batch` as `batch x num_regions` and `global_batch` as the
    regions of the global batch.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*):
            Total loss: the sum of the computed terms, `mgm_loss + ngsp_loss + config.srm_weight * srm_loss`. A term
            is absent when switched off in the config or when its inputs are not given (`labels`,
            `next_segment_label`, `region_matrix`); `None` when no term is computed.
        mgm_loss (`torch.FloatTensor` of shape `()`, *optional*):
            Masked genome modelling cross-entropy, averaged over the masked positions (0 if none is masked).
        ngsp_loss (`torch.FloatTensor` of shape `()`, *optional*):
            Next genome segment prediction cross-entropy.
        srm_loss (`torch.FloatTensor` of shape `()`, *optional*):
            Sequence-region matching loss (symmetric InfoNCE over the global batch), before `srm_weight`.
        prediction_logits (`torch.FloatTensor` of shape `(batch, sequence_length, vocab_size)`, *optional*):
            MGM scores at every position. Computed only when `labels` is `None` or `return_full_prediction_logits=True`
            (the 4^k-way decoder over every position is a large share of a training step).
        masked_prediction_logits (`torch.FloatTensor` of shape `(num_masked, vocab_size)`, *optional*):
            MGM scores at the masked positions only, in row-major order, so that `labels[labels != -100]` are their
            targets. Computed whenever MGM is on and `labels` is given.
        ngsp_logits (`torch.FloatTensor` of shape `(batch, 2)`, *optional*):
            NGSP scores (index 1: segment B follows segment A in the genome; 0: segment B was drawn elsewhere).
        sequence_embeds (`torch.FloatTensor` of shape `(batch, projection_dim)`, *optional*):
            L2-normalised projected [CLS] embeddings.
        region_embeds (`torch.FloatTensor` of shape `(batch, projection_dim)`, *optional*):
            L2-normalised projected region-tower features.
        logits_per_sequence (`torch.FloatTensor` of shape `(batch, global_batch)`, *optional*):
            Scaled cosine similarities of each local sequence with every region of the global batch.
        logits_per_region (`torch.FloatTensor` of shape `(batch, global_batch)`, *optional*):
            Scaled cosine similarities of each local region with every sequence of the global batch (in a single
            process, the transpose of `logits_per_sequence`).
        logit_scale (`torch.FloatTensor` of shape `()`, *optional*):
            The temperature actually applied, `min(exp(logit_scale), config.logit_scale_max)`.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*, returned with `output_hidden_states=True`):
            Sequence-tower hidden states, one `(batch, sequence_length, hidden_size)` tensor per layer plus the
            embeddings.
        attentions (`tuple(torch.FloatTensor)`, *optional*, returned with `output_attentions=True`):
            Sequence-tower attention weights, one `(batch, num_heads, sequence_length, sequence_length)` per layer.
    """

    loss: torch.FloatTensor | None = None
    mgm_loss: torch.FloatTensor | None = None
    ngsp_loss: torch.FloatTensor | None = None
    srm_loss: torch.FloatTensor | None = None
    prediction_logits: torch.FloatTensor | None = None
    masked_prediction_logits: torch.FloatTensor | None = None
    ngsp_logits: torch.FloatTensor | None = None
    sequence_embeds: torch.FloatTensor | None = None
    region_embeds: torch.FloatTensor | None = None
    logits_per_sequence: torch.FloatTensor | None = None
    logits_per_region: torch.FloatTensor | None = None
    logit_scale: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


# ---------------------------------------------------------------------------------------------------------------------
# Region tower
# ---------------------------------------------------------------------------------------------------------------------


def _building_on_meta_device() -> bool:
    """True inside `from_pretrained`'s meta-device construction (the checkpoint will provide every weight)."""
    return torch.empty(0).device.type == "meta"


def _timm_pretrained_args(source: bool | str) -> tuple[bool, dict[str, Any] | None]:
    """`config.region_pretrained` -> (`pretrained`, `pretrained_cfg_overlay`) for `timm.create_model`."""
    if source is False or source is None or source == "":
        return False, None
    if source is True:
        return True, None
    path = os.path.expanduser(str(source))
    if os.path.isfile(path):
        return True, {"file": os.path.abspath(path)}
    if os.sep in path and (
        path.startswith((".", os.sep, "~")) or path.endswith((".safetensors", ".pth", ".bin"))
    ):
        raise FileNotFoundError(f"region_pretrained points to a file that does not exist: {path}")
    return True, {"hf_hub_id": str(source).removeprefix("hf-hub:")}


def _patch_size_of(backbone: nn.Module) -> tuple[int, int] | None:
    patch_embed = getattr(backbone, "patch_embed", None)
    patch_size = getattr(patch_embed, "patch_size", None)
    if patch_size is None:
        return None
    if isinstance(patch_size, int):
        return (patch_size, patch_size)
    return (int(patch_size[0]), int(patch_size[1]))


def _create_backbone(config: GeneBertConfig) -> tuple[nn.Module, tuple[int, int]]:
    """Create the timm region backbone for `config` and return it with its `(height, width)` input size.

    timm is imported here, not at module level: sequence-only models (classifiers without a region tower, masked
    LM, token classification, the encoder) load where only torch and transformers are installed.
    """
    try:
        import timm
    except ImportError as error:
        raise ImportError(
            "this GeneBERT model has a region tower, which needs timm: pip install timm (sequence-only GeneBERT "
            "models do not need it)"
        ) from error

    name = config.region_backbone
    kwargs: dict[str, Any] = dict(config.region_backbone_kwargs or {})
    kwargs.update(num_classes=0, in_chans=config.region_in_chans)
    rows, cols = config.num_regions, config.num_motifs

    if config.region_input_mode == "pad":
        if config.region_image_size is not None:
            image_size = (int(config.region_image_size[0]), int(config.region_image_size[1]))
        else:
            # Probe the architecture on the meta device (no memory, no download) to learn its patch size.
            with torch.device("meta"):
                probe = timm.create_model(name, pretrained=False, **kwargs)
            patch = _patch_size_of(probe) or (32, 32)  # no patch embedding (CNN): pad to its largest stride
            del probe
            image_size = (math.ceil(rows / patch[0]) * patch[0], math.ceil(cols / patch[1]) * patch[1])
        kwargs["img_size"] = image_size
    elif config.region_image_size is not None:
        kwargs["img_size"] = (int(config.region_image_size[0]), int(config.region_image_size[1]))

    if _building_on_meta_device():
        pretrained, overlay = False, None  # loading a GeneBERT checkpoint: its weights replace ImageNet's
    else:
        pretrained, overlay = _timm_pretrained_args(config.region_pretrained)
    if overlay is not None:
        kwargs["pretrained_cfg_overlay"] = overlay
    backbone = timm.create_model(name, pretrained=pretrained, **kwargs)

    patch_embed = getattr(backbone, "patch_embed", None)
    if "img_size" in kwargs:
        image_size = tuple(int(v) for v in kwargs["img_size"])
    elif patch_embed is not None and getattr(patch_embed, "img_size", None) is not None:
        image_size = tuple(int(v) for v in patch_embed.img_size)
    else:
        image_size = tuple(int(v) for v in backbone.pretrained_cfg["input_size"][-2:])
    # Never drop data silently: the patch grid must tile the whole image (timm floors otherwise).
    patch = _patch_size_of(backbone)
    grid = getattr(patch_embed, "grid_size", None)
    if patch is not None and grid is not None and (grid[0] * patch[0], grid[1] * patch[1]) != image_size:
        raise ValueError(
            f"region backbone {name!r}: image size {image_size} is not a multiple of the patch size {patch}; "
            "the patch embedding would drop the last rows/columns. Choose region_image_size accordingly."
        )
    return backbone, image_size


class _MotifStandardisation(nn.Module):
    """Per-TF standardisation `(x - motif_mean) / motif_std` of motif scores, with both `(num_motifs,)` buffers
    persistent (saved in the checkpoint): the base of both region encoders."""

    def __init__(self, num_motifs: int, num_regions: int):
        super().__init__()
        self.num_motifs = num_motifs
        self.num_regions = num_regions
        self.register_buffer("motif_mean", torch.zeros(num_motifs), persistent=True)
        self.register_buffer("motif_std", torch.ones(num_motifs), persistent=True)

    @torch.no_grad()
    def set_motif_statistics(self, mean: Any, std: Any, min_std: float = 1e-6) -> None:
        """Set the per-TF standardisation from corpus statistics.

        Args:
            mean: `(num_motifs,)` mean motif score of each TF over the corpus' regions (tensor, array or list).
            std: `(num_motifs,)` standard deviation of each TF's score; values below `min_std` (constant motifs)
                are replaced by 1 so that they pass through unscaled.
        """
        mean = torch.as_tensor(mean, dtype=torch.float32)
        std = torch.as_tensor(std, dtype=torch.float32)
        for name, value in (("mean", mean), ("std", std)):
            if value.shape != (self.num_motifs,):
                raise ValueError(
                    f"motif {name} must have shape ({self.num_motifs},), got {tuple(value.shape)}"
                )
            if not torch.isfinite(value).all():
                raise ValueError(f"motif {name} contains non-finite values")
        if (std < 0).any():
            raise ValueError("motif std must be non-negative")
        std = torch.where(std < min_std, torch.ones_like(std), std)
        self.motif_mean.copy_(mean.to(self.motif_mean.device, self.motif_mean.dtype))
        self.motif_std.copy_(std.to(self.motif_std.device, self.motif_std.dtype))

    @torch.no_grad()
    def fit_motif_statistics(self, region_matrices: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute and set the per-TF mean/std from `(..., num_motifs)` region matrices (e.g. a corpus sample)."""
        values = torch.as_tensor(region_matrices, dtype=torch.float64).reshape(-1, self.num_motifs)
        if values.shape[0] < 2:
            raise ValueError("need at least two rows to estimate the motif statistics")
        mean, std = values.mean(dim=0), values.std(dim=0)
        self.set_motif_statistics(mean, std)
        return self.motif_mean.clone(), self.motif_std.clone()

    def standardise(self, scores: torch.Tensor) -> torch.Tensor:
        """`(..., num_motifs)` raw scores -> standardised, in the buffers' dtype."""
        return (scores.to(self.motif_mean.dtype) - self.motif_mean) / self.motif_std

    def standardised_input(self, region_matrix: torch.Tensor) -> torch.Tensor:
        """A `(batch, num_regions, num_motifs)` model input, checked (`GeneBertInputError` for another shape or a
        non-finite score), then standardised."""
        if region_matrix.dim() != 3 or tuple(region_matrix.shape[1:]) != (self.num_regions, self.num_motifs):
            raise GeneBertInputError(
                f"region_matrix must have shape (batch, {self.num_regions}, {self.num_motifs}), "
                f"got {tuple(region_matrix.shape)}"
            )
        check_finite_region_matrix(region_matrix)
        return self.standardise(region_matrix)


class GeneBertRegionEncoder(_MotifStandardisation):
    """The region tower: per-TF standardisation, then a timm backbone over the region matrix as a 1-channel image.

    Input `(batch, num_regions, num_motifs)`; output the backbone's pooled features `(batch, num_features)`.

    * Standardisation: `(x - motif_mean) / motif_std`, with both `(num_motifs,)` buffers persistent (saved in the
      checkpoint). They start as 0 and 1; set them from corpus statistics with [`set_motif_statistics`] or
      [`fit_motif_statistics`].
    * `"pad"` mode zero-pads the standardised matrix at the bottom and right to `image_size` (a multiple of the
      patch size), so every cell is seen by exactly one patch. `"resize"` mode resizes it bilinearly with
      anti-aliasing to `image_size`; the filter support widens with the down-scaling factor so every cell
      contributes (plain bilinear down-sampling would skip columns).
    """

    def __init__(self, config: GeneBertConfig):
        super().__init__(config.num_motifs, config.num_regions)
        self.input_mode = config.region_input_mode
        self.in_chans = config.region_in_chans
        self.backbone, self.image_size = _create_backbone(config)
        self.num_features = int(
            getattr(self.backbone, "head_hidden_size", None) or self.backbone.num_features
        )
        # GeneBertPreTrainedModel._init_weights initialises the backbone's layers with timm's ViT/Swin scheme (see
        # _init_timm_module), in transformers' module order, so that a model built from the config and one whose
        # weights are all missing from a checkpoint get the same values for the same seed. ImageNet weights loaded
        # at construction are marked initialised and left alone.
        for module in self.backbone.modules():
            module._genebert_timm = True
        if not _building_on_meta_device() and _timm_pretrained_args(config.region_pretrained)[0]:
            # Not on the meta device (from_pretrained): there, loaded weights get the flag from the loader, and
            # weights missing from the checkpoint must stay unflagged so that they are materialised and initialised.
            for param in self.backbone.parameters():
                param._is_hf_initialized = True

    def prepare_image(self, region_matrix: torch.Tensor) -> torch.Tensor:
        """`(batch, num_regions, num_motifs)` -> the backbone input `(batch, in_chans, *image_size)`."""
        x = self.standardised_input(region_matrix).unsqueeze(1)  # (batch, 1, rows, cols)
        height, width = self.image_size
        if self.input_mode == "pad":
            x = F.pad(x, (0, width - self.num_motifs, 0, height - self.num_regions))
        else:
            x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
        if self.in_chans > 1:
            x = x.expand(-1, self.in_chans, -1, -1)
        param = next(self.backbone.parameters(), None)
        return x.to(param.dtype) if param is not None else x

    def forward(self, region_matrix: torch.Tensor) -> torch.Tensor:
        """`(batch, num_regions, num_motifs)` -> pooled features `(batch, num_features)`."""
        return self.backbone(self.prepare_image(region_matrix))

    def init_non_persistent_buffers(self) -> None:
        """Recompute timm's derived buffers (e.g. Swin's relative position index and shifted-window masks)."""
        for module in self.backbone.modules():
            if hasattr(module, "init_non_persistent_buffers") and not any(
                p.is_meta for p in module.parameters(recurse=True)
            ):
                module.init_non_persistent_buffers()


class GeneBertMotifRowEncoder(_MotifStandardisation):
    """The region tower of region-level SRM (`config.srm_level="region"`): each region's motif vector on its own,
    standardised per TF, through a small MLP (`Linear(num_motifs, hidden_size)`, GELU, LayerNorm). No timm backbone.

    Input `(batch, num_regions, num_motifs)`; output `(batch, num_regions, num_features)`, `num_features =
    hidden_size`.
    """

    def __init__(self, config: GeneBertConfig):
        super().__init__(config.num_motifs, config.num_regions)
        self.num_features = config.hidden_size
        self.dense = nn.Linear(config.num_motifs, config.hidden_size)
        self.activation = nn.GELU()
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, region_matrix: torch.Tensor) -> torch.Tensor:
        """`(batch, num_regions, num_motifs)` -> `(batch, num_regions, num_features)`."""
        x = self.standardised_input(region_matrix).to(self.dense.weight.dtype)
        return self.layer_norm(self.activation(self.dense(x)))


def build_region_encoder(config: GeneBertConfig) -> nn.Module:
    """The region tower `config.srm_level` asks for: the timm backbone over the whole matrix ("sample") or the
    per-region MLP ("region")."""
    return GeneBertMotifRowEncoder(config) if config.srm_level == "region" else GeneBertRegionEncoder(config)


def _init_timm_module(module: nn.Module) -> None:
    """`_init_weights` for a module of the timm backbone.

    Recomputes its non-persistent buffers (after `from_pretrained` they are uninitialised copies from the meta
    device) and initialises only parameters that are not yet initialised, i.e. missing from a loaded checkpoint,
    with timm's ViT/Swin scheme. Parameters timm initialised itself carry `_is_hf_initialized` and are left alone.
    """
    if hasattr(module, "init_non_persistent_buffers"):
        module.init_non_persistent_buffers()
    own = list(module.named_parameters(recurse=False))
    if isinstance(module, (nn.Conv1d, nn.Conv2d)) and any(
        not getattr(p, "_is_hf_initialized", False) for _, p in own
    ):
        module.reset_parameters()  # timm keeps PyTorch's default initialisation for convolutions
        return
    is_norm = (
        isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm2d)) or "Norm" in type(module).__name__
    )
    for name, param in own:
        if getattr(param, "_is_hf_initialized", False):
            continue
        if is_norm:
            (init.ones_ if name == "weight" else init.zeros_)(param)
        elif name == "bias" or (param.dim() == 1 and "token" not in name):
            init.zeros_(param)
        else:
            init.trunc_normal_(param, std=0.02)
    running_mean = getattr(module, "running_mean", None)
    if isinstance(module, nn.BatchNorm2d) and running_mean is not None:
        init.zeros_(running_mean)
        init.ones_(module.running_var)


# ---------------------------------------------------------------------------------------------------------------------
# Base classes and the sequence tower
# ---------------------------------------------------------------------------------------------------------------------


class GeneBertLoadingError(ValueError):
    """A checkpoint whose weights do not fit the model class beyond the expected differences of task heads."""

    # a `genebert.errors.GeneBertError` (this file is Hub remote code and cannot import genebert)
    genebert_user_error = True


class GeneBertInputError(ValueError):
    """Model inputs that would turn into a meaningless result (e.g. a region matrix holding NaN)."""

    genebert_user_error = True


def check_finite_region_matrix(region_matrix: torch.Tensor) -> None:
    """Raise `GeneBertInputError` when ``region_matrix`` holds NaN or infinite motif scores (they would spread to
    every output and, in training, to every weight). Skipped while torch.compile traces the model."""
    if torch.compiler.is_compiling() or not region_matrix.is_floating_point():
        return
    finite = torch.isfinite(region_matrix)
    if not bool(finite.all()):
        where = [int(i) for i in (~finite).nonzero()[0].tolist()]
        raise GeneBertInputError(
            f"region_matrix holds {int((~finite).sum())} non-finite value(s) (NaN or inf), the first at "
            f"[sample, region, motif] = {where}: check the motif scores it was made from"
        )


# The files a checkpoint's weights are read from, first found first (transformers' order).
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def _unreadable_weights(source: Any, error: BaseException) -> GeneBertLoadingError | None:
    """The `GeneBertLoadingError` naming the weights file for a damaged or truncated one, or None for other errors."""
    name = type(error).__name__
    damaged = name in ("SafetensorError", "UnpicklingError", "HeaderTooLarge") or (
        isinstance(error, RuntimeError)
        and any(s in str(error) for s in ("PytorchStreamReader", "zip archive"))
    )
    if not damaged:
        return None
    path = str(source)
    if os.path.isdir(path):
        path = next(
            (os.path.join(path, f) for f in _WEIGHT_FILES if os.path.isfile(os.path.join(path, f))), path
        )
    why = "the file is truncated or damaged"
    if name == "UnpicklingError":  # transformers reads .bin files with torch.load(weights_only=True)
        why += ", or it is a pickle holding objects other than tensors (never unpickled)"
    return GeneBertLoadingError(f"{path}: cannot read the weights, {why} ({str(error).splitlines()[0]})")


# Modules that differ between GeneBERT's classes (key prefix -> head). A head may be absent from a checkpoint
# as a whole, or present in a checkpoint for a class that has no such head; a head that is there only in part
# (some weights missing, or keys the head does not have) means a damaged or foreign checkpoint.
_HEAD_PREFIXES = {
    "cls.predictions.": "MGM head",
    "cls.seq_relationship.": "NGSP head",
    "classifier.": "classifier",
    "region_encoder.": "region tower",
    "sequence_projection.": "contrastive projections",
    "region_projection.": "contrastive projections",
    "logit_scale": "contrastive projections",
    "pooler.": "pooler",
    "bert.pooler.": "pooler",
}


def _head_of(key: str) -> str | None:
    for prefix, head in _HEAD_PREFIXES.items():
        if key.startswith(prefix):
            return head
    return None


def _unexplained_loading_keys(
    model_keys: set[str], missing: Iterable[str], unexpected: Iterable[str]
) -> dict[str, list[str]]:
    """The missing and unexpected weights that the expected differences between GeneBERT's classes do not explain.

    ``model_keys`` are the weights the model loads (its state dict without tied copies). A missing weight is
    explained when its whole head is missing from the checkpoint; an unexpected one when the model has no such head.
    """
    missing, unexpected = set(missing), set(unexpected)
    heads_in_model: dict[str, set[str]] = {}
    for key in model_keys:
        head = _head_of(key)
        if head is not None:
            heads_in_model.setdefault(head, set()).add(key)
    absent_heads = {head for head, keys in heads_in_model.items() if keys <= missing}
    return {
        "missing_keys": sorted(key for key in missing if _head_of(key) not in absent_heads),
        "unexpected_keys": sorted(key for key in unexpected if _head_of(key) in (None, *heads_in_model)),
    }


def tied_weight_keys(model: nn.Module) -> set[str]:
    """Names of the weights that are tied copies of others (the MGM decoder of the word embeddings): never saved,
    so never missing from a checkpoint."""
    return set(getattr(model, "all_tied_weights_keys", {}) or {})


class GeneBertPreTrainedModel(BertPreTrainedModel):
    """Weight initialisation, DNABERT loading and transformers conventions shared by the GeneBERT models."""

    config_class = GeneBertConfig
    config: GeneBertConfig
    base_model_prefix = "bert"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["BertEmbeddings", "BertLayer", "GeneBertRegionEncoder", "GeneBertMotifRowEncoder"]
    # The losses are per-batch means (no `num_items_in_batch` normalisation): Trainer must scale them for gradient
    # accumulation itself.
    accepts_loss_kwargs = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Initialise one module: BERT's scheme for the sequence tower and heads, timm's for missing region weights.

        Modules of the timm backbone are not re-initialised (timm's own initialisation or the ImageNet weights
        stay); their non-persistent buffers are recomputed, which repairs them after `from_pretrained` built the
        model on the meta device.
        """
        if getattr(module, "_genebert_timm", False):
            _init_timm_module(module)
            return
        super()._init_weights(module)  # Linear/Embedding/LayerNorm, BERT's LM-head bias and embedding buffers
        if isinstance(module, _MotifStandardisation):
            init.zeros_(module.motif_mean)
            init.ones_(module.motif_std)
        elif isinstance(module, GeneBertForPreTraining) and module.logit_scale is not None:
            init.constant_(module.logit_scale, self.config.logit_scale_init)
        elif isinstance(module, BertEmbeddings) and self.config.position_embedding_init == "sinusoidal":
            # after the children (transformers initialises a module's children first): replaces the normal init
            weight = module.position_embeddings.weight
            init.copy_(weight, sinusoidal_positions(*weight.shape, self.config.initializer_range).to(weight))

    def init_non_persistent_buffers(self) -> None:
        """Recompute the region tower's non-persistent buffers (called after every `from_pretrained`)."""
        for module in self.modules():
            if isinstance(module, GeneBertRegionEncoder):
                module.init_non_persistent_buffers()

    @classmethod
    def from_pretrained(cls, *args: Any, strict_loading: bool | None = None, **kwargs: Any) -> Any:
        """As [`PreTrainedModel.from_pretrained`], but a checkpoint that does not fit fails loudly.

        Heads differ between GeneBERT's classes (loading a pre-training checkpoint into
        `GeneBertForSequenceClassification` leaves `classifier.*` new and `cls.*` unused), which is normal and only
        logged: a head may be missing from the checkpoint as a whole, or be in it for a class without that head.
        Any other missing or unexpected weight (in the sequence tower, part of a head, a key a head does not have)
        means the checkpoint is not what the caller thinks (another architecture, renamed keys, a truncated file).

        `strict_loading` decides what happens then:

        * `None` (default): raise `GeneBertLoadingError` naming the keys when loading a checkpoint (a folder or Hub
          id) the plain way. Follow transformers' contract instead (initialise the missing weights, drop the
          unexpected ones, warn) when the caller passes an explicit `state_dict` (the weights are the caller's
          choice) or asks for `output_loading_info=True` (the caller receives the report; the unexplained keys are
          also logged as a warning).
        * `True`: always raise. `False`: never raise (transformers' warning only).

        Mismatched shapes raise in transformers unless `ignore_mismatched_sizes=True`.

        Afterwards the timm backbone's non-persistent buffers are recomputed: `from_pretrained` builds the model on
        the meta device and fills them with uninitialised memory.
        """
        want_info = kwargs.pop("output_loading_info", False)
        if strict_loading is None:
            strict_loading = not want_info and kwargs.get("state_dict") is None
        try:
            model, info = super().from_pretrained(*args, output_loading_info=True, **kwargs)
        except Exception as error:
            damaged = _unreadable_weights(
                args[0] if args else kwargs.get("pretrained_model_name_or_path"), error
            )
            if damaged is None:
                raise
            raise damaged from error
        model.init_non_persistent_buffers()
        tied = tied_weight_keys(model)
        unexplained = _unexplained_loading_keys(
            set(model.state_dict()) - tied,
            set(info.get("missing_keys", ())) - tied,
            info.get("unexpected_keys", ()),
        )
        if any(unexplained.values()):
            source = args[0] if args else kwargs.get("pretrained_model_name_or_path")
            message = f"{source} does not fit {cls.__name__}: " + "; ".join(
                f"{len(keys)} {kind.replace('_keys', '')} weight(s) beyond whole task heads, e.g. {keys[:5]}"
                for kind, keys in unexplained.items()
                if keys
            )
            if strict_loading:
                raise GeneBertLoadingError(
                    message
                    + ". Pass strict_loading=False to load it anyway (those weights are then initialised "
                    "fresh or dropped)."
                )
            logger.warning("%s; those weights were initialised fresh or dropped.", message)
        return (model, info) if want_info else model

    def _set_gradient_checkpointing(self, enable: bool = True, *args: Any, **kwargs: Any) -> None:
        """Activation checkpointing in both towers: BertLayer's and timm's `set_grad_checkpointing`."""
        super()._set_gradient_checkpointing(enable, *args, **kwargs)
        for module in self.modules():
            if isinstance(module, GeneBertRegionEncoder) and hasattr(
                module.backbone, "set_grad_checkpointing"
            ):
                module.backbone.set_grad_checkpointing(enable)

    def save_pretrained(self, save_directory: str | os.PathLike, *args: Any, **kwargs: Any) -> Any:
        """As [`PreTrainedModel.save_pretrained`], keeping what a GeneBERT repository needs beyond the weights.

        * As remote code, `auto_map` lists every GeneBERT auto class, so that `AutoModel`, `AutoModelForPreTraining`,
          `AutoModelForSequenceClassification`, `AutoModelForMaskedLM` and `AutoModelForTokenClassification` all
          load the folder.
        * A config with `custom_pipelines` (an exported classifier) gets its pipeline file (`pipeline_genebert.py`)
          written beside it, so that `pipeline("dna-classification", ...)` works on the copy. The file comes from
          beside this module (remote code), from the folder the model was loaded from, or from the registered
          pipeline class (`import genebert`); when none is found the task is dropped from the saved config with a
          warning rather than left pointing to a missing file.
        * The model card (`README.md`) of the folder the model was loaded from is copied when it is a GeneBERT card
          (tagged `genebert`) and the target has none.
        """
        if self.is_remote_code():
            module = type(self).__module__.rsplit(".", 1)[-1]
            auto_map = dict(getattr(self.config, "auto_map", None) or {})
            for model_class in (
                GeneBertModel,
                GeneBertForPreTraining,
                GeneBertForSequenceClassification,
                GeneBertForMaskedLM,
                GeneBertForTokenClassification,
            ):
                if model_class._auto_class is not None:
                    auto_map.setdefault(model_class._auto_class, f"{module}.{model_class.__name__}")
            self.config.auto_map = auto_map
        pipelines = getattr(self.config, "custom_pipelines", None) or {}
        sources = {task: _pipeline_source(self, spec) for task, spec in pipelines.items()}
        missing = [task for task, source in sources.items() if source is None]
        if missing:
            logger.warning(
                "The code of the custom pipeline(s) %s was not found; they are left out of the saved config",
                missing,
            )
            kept = {t: spec for t, spec in pipelines.items() if t not in missing}
            if kept:
                self.config.custom_pipelines = kept
            else:
                del self.config.custom_pipelines
        try:
            result = super().save_pretrained(save_directory, *args, **kwargs)
        finally:
            if missing:
                self.config.custom_pipelines = pipelines
        if kwargs.get("is_main_process", True):
            for task, source in sources.items():
                if source is not None:
                    filename = str(pipelines[task]["impl"]).rsplit(".", 1)[0] + ".py"
                    _write_text(os.path.join(save_directory, filename), source)
            card = _source_file(self, "README.md")
            target = os.path.join(save_directory, "README.md")
            if card is not None and not os.path.exists(target) and is_genebert_card(card):
                with open(card, encoding="utf-8") as handle:
                    _write_text(target, handle.read())
        return result

    def push_to_hub(self, repo_id: str, *args: Any, **kwargs: Any) -> Any:
        """As [`PreTrainedModel.push_to_hub`], but a GeneBERT model card (from the repository being updated, or from
        the folder the model was loaded from) is kept instead of transformers' generic card; the remote code and
        the pipeline file travel as with `save_pretrained`."""
        import tempfile

        from transformers.utils import hub as transformers_hub

        known = {
            "commit_message",
            "commit_description",
            "private",
            "token",
            "revision",
            "create_pr",
            "max_shard_size",
            "tags",
        }
        if args or set(kwargs) - known:
            raise TypeError(
                f"push_to_hub takes repo_id and the keyword arguments {sorted(known)}; got {len(args)} positional "
                f"argument(s) and {sorted(set(kwargs) - known)}"
            )
        token = kwargs.get("token")
        private = kwargs.get("private")
        tags = kwargs.get("tags")
        api = transformers_hub.hf_api() if hasattr(transformers_hub, "hf_api") else transformers_hub.HfApi()
        repo_id = api.create_repo(repo_id, private=private, token=token, exist_ok=True).repo_id
        card = transformers_hub.create_and_tag_model_card(repo_id, tags, token=token)
        local = _source_file(self, "README.md")
        if "genebert" not in (card.data.tags or []) and local is not None and is_genebert_card(local):
            card = type(card).load(local)
            for tag in tags or ():
                if tag not in (card.data.tags or []):
                    card.data.tags = [*(card.data.tags or []), tag]
        with tempfile.TemporaryDirectory() as work_dir:
            self.save_pretrained(work_dir, max_shard_size=kwargs.get("max_shard_size", "50GB"))
            card.save(os.path.join(work_dir, "README.md"))
            return self._upload_modified_files(
                work_dir,
                repo_id,
                files_timestamps={},
                commit_message=kwargs.get("commit_message"),
                token=token,
                create_pr=kwargs.get("create_pr", False),
                revision=kwargs.get("revision"),
                commit_description=kwargs.get("commit_description"),
            )

    @classmethod
    def from_dnabert(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        config: GeneBertConfig | None = None,
        output_loading_info: bool = False,
        **config_kwargs: Any,
    ) -> Any:
        """Load a DNABERT-style checkpoint (a transformers `BertForMaskedLM` / `BertForPreTraining` / `BertModel`
        over DNABERT's k-mer vocabulary) into this model's sequence tower (and MGM/NGSP heads when present).

        Everything else (region tower, projections, classifier) keeps its fresh initialisation. The loading report
        is logged as a warning and returned with `output_loading_info=True`.

        Args:
            pretrained_model_name_or_path: a local directory with `config.json` and `model.safetensors` /
                `pytorch_model.bin` (sharded checkpoints work too), or a Hub id.
            config: the GeneBERT config to build; by default one with the checkpoint's BERT fields, `kmer` inferred
                from its vocabulary size (4**k + 5), and `config_kwargs` on top (e.g. region fields, `num_labels`).
            output_loading_info: also return a dict with `missing_keys` (model weights the checkpoint did not
                provide), `unexpected_keys` (checkpoint weights the model has no place for) and `mismatched_keys`.

        Returns:
            The model (in eval mode, as `from_pretrained` returns), or `(model, loading_info)`.
        """
        from transformers import BertConfig, BertForPreTraining

        # transformers reads the checkpoint (safetensors or weights-only torch files, sharded or not, local or
        # Hub, legacy LayerNorm gamma/beta names); its report says which weights the file did not hold.
        bert_config = BertConfig.from_pretrained(pretrained_model_name_or_path)
        if config is None:
            vocab_size = int(bert_config.vocab_size)
            kmer = next((k for k in range(3, 7) if kmer_vocab_size(k) == vocab_size), None)
            if kmer is None:
                raise ValueError(
                    f"checkpoint vocab_size {vocab_size} is not a DNABERT k-mer vocabulary (4**k + 5 for k in 3..6)"
                )
            values = {
                key: getattr(bert_config, key) for key in _BERT_CONFIG_FIELDS if hasattr(bert_config, key)
            }
            values.update(kmer=kmer)
            values.update(config_kwargs)
            config = GeneBertConfig(**values)
        elif config_kwargs:
            raise ValueError("pass either config or config_kwargs, not both")
        model = cls(config)

        reference, report = BertForPreTraining.from_pretrained(
            pretrained_model_name_or_path, config=bert_config, output_loading_info=True
        )
        absent = set(report["missing_keys"])  # initialised by transformers, not read from the file
        prefix = cls.base_model_prefix + "."
        own_keys = set(model.state_dict())
        mapped: dict[str, torch.Tensor] = {}
        for key, value in reference.state_dict().items():
            if key in absent:
                continue
            if isinstance(model, GeneBertModel):  # the base model has no "bert." prefix
                key = key.removeprefix(prefix)
            mapped[key] = value
        del reference
        non_persistent = {name for name, _ in model.named_non_persistent_buffers()}
        mismatched = [
            key
            for key, value in mapped.items()
            if key in own_keys and model.state_dict()[key].shape != value.shape
        ]
        loadable = {key: value for key, value in mapped.items() if key in own_keys and key not in mismatched}
        result = model.load_state_dict(loadable, strict=False)
        model.tie_weights()
        tied_targets = tied_weight_keys(model)
        loading_info = {
            "missing_keys": sorted(set(result.missing_keys) - tied_targets),
            "unexpected_keys": sorted(k for k in mapped if k not in own_keys and k not in non_persistent),
            "mismatched_keys": sorted(mismatched),
        }
        logger.warning(
            "Loaded DNABERT checkpoint %s into %s: %d missing keys (initialised fresh) %s, %d unexpected keys "
            "(ignored) %s, %d mismatched keys %s",
            pretrained_model_name_or_path,
            cls.__name__,
            len(loading_info["missing_keys"]),
            loading_info["missing_keys"],
            len(loading_info["unexpected_keys"]),
            loading_info["unexpected_keys"],
            len(loading_info["mismatched_keys"]),
            loading_info["mismatched_keys"],
        )
        model.eval()
        return (model, loading_info) if output_loading_info else model


def _write_text(path: str, text: str) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _source_file(model: nn.Module, filename: str) -> str | None:
    """`filename` in the folder (or cached Hub repository) the model was loaded from, or None."""
    source = str(getattr(model.config, "_name_or_path", "") or "")
    if not source:
        return None
    if os.path.isdir(source):
        candidate = os.path.join(source, filename)
        return candidate if os.path.isfile(candidate) else None
    try:
        from transformers.utils import cached_file

        return cached_file(
            source,
            filename,
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
        )
    except (OSError, ValueError):
        return None


def is_genebert_card(path: str) -> bool:
    """Whether the model card at ``path`` is one of this project's (its YAML tags include ``genebert``)."""
    with open(path, encoding="utf-8") as handle:
        head = handle.read(4096)
    return head.startswith("---") and "- genebert" in head.split("\n---", 1)[0]


_REMOTE_CODE_MARKER = "# === END OF HUB REMOTE CODE ==="


def _pipeline_source(model: nn.Module, spec: Any) -> str | None:
    """The source of the custom pipeline `spec` (`{"impl": "pipeline_genebert.Class", ...}`) of `model`'s config:
    the file beside this module (remote code), in the folder the model came from, or of the registered class."""
    import inspect

    impl = str((spec or {}).get("impl", "")) if isinstance(spec, dict) else ""
    if "." not in impl:
        return None
    filename = impl.rsplit(".", 1)[0] + ".py"
    class_name = impl.rsplit(".", 1)[1]
    here = os.path.dirname(os.path.abspath(__file__))
    # beside this module (remote code), in the folder the model came from, genebert's own pipelines module
    candidates = [
        os.path.join(here, filename),
        _source_file(model, filename),
        os.path.join(here, "pipelines.py"),
    ]
    try:
        from transformers.pipelines import PIPELINE_REGISTRY

        for task in PIPELINE_REGISTRY.get_supported_tasks():
            registered = PIPELINE_REGISTRY.supported_tasks.get(task, {}).get("impl")
            if getattr(registered, "__name__", None) == class_name:
                candidates.append(inspect.getsourcefile(registered))
    except (ImportError, AttributeError, TypeError):
        pass
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            with open(candidate, encoding="utf-8") as handle:
                text = handle.read()
            if f"class {class_name}(" not in text:
                continue
            head, marker, _ = text.partition(_REMOTE_CODE_MARKER)
            return (head.rstrip() + "\n") if marker else text
    return None


class GeneBertModel(GeneBertPreTrainedModel, BertModel):
    """The GeneBERT sequence tower: a transformers [`BertModel`] over overlapping DNA k-mers.

    Same forward as `BertModel`: `input_ids`, `attention_mask`, `token_type_ids` `(batch, sequence_length)` ->
    `last_hidden_state` `(batch, sequence_length, hidden_size)` and `pooler_output` `(batch, hidden_size)`.
    Attention is sdpa by default; pass `attn_implementation="eager"` to `from_pretrained` (or call
    `set_attn_implementation("eager")`) for the reference implementation.
    """

    def __init__(self, config: GeneBertConfig, add_pooling_layer: bool = True):
        BertModel.__init__(self, config, add_pooling_layer=add_pooling_layer)


# ---------------------------------------------------------------------------------------------------------------------
# Pre-training
# ---------------------------------------------------------------------------------------------------------------------


class GeneBertPreTrainingHeads(nn.Module):
    """MGM (`predictions`, BERT's LM head, decoder tied to the k-mer embeddings) and NGSP (`seq_relationship`).

    Parameter names match `BertForPreTraining`'s `cls.*`, so DNABERT/BERT heads load into them.
    """

    def __init__(self, config: GeneBertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config) if config.use_mgm else None
        self.seq_relationship = nn.Linear(config.hidden_size, 2) if config.use_ngsp else None


class GeneBertForPreTraining(GeneBertPreTrainedModel):
    """GeneBERT with its three pre-training objectives: MGM + NGSP + `srm_weight` * SRM.

    Modules: `bert` (sequence tower), `cls.predictions` (MGM, tied decoder), `cls.seq_relationship` (NGSP),
    `region_encoder` (timm region tower; `GeneBertMotifRowEncoder` under `srm_level="region"`),
    `sequence_projection` / `region_projection` (into the shared `projection_dim` space) and `logit_scale`
    (learnable log temperature). Heads of switched-off losses are not built (no unused parameters under DDP); with
    `use_srm=False` neither is the region tower.
    """

    _tied_weights_keys = {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def __init__(self, config: GeneBertConfig):
        super().__init__(config)
        self.bert = GeneBertModel(config, add_pooling_layer=config.use_ngsp)
        self.cls = GeneBertPreTrainingHeads(config)
        if not config.use_mgm:
            self._tied_weights_keys = {}
        if config.use_srm:
            self.region_encoder = build_region_encoder(config)
            self.sequence_projection = nn.Linear(config.hidden_size, config.projection_dim, bias=False)
            self.region_projection = nn.Linear(
                self.region_encoder.num_features, config.projection_dim, bias=False
            )
            self.logit_scale = nn.Parameter(torch.tensor(float(config.logit_scale_init)))
        else:
            self.region_encoder = None
            self.sequence_projection = None
            self.region_projection = None
            self.logit_scale = None
        self.post_init()

    def get_output_embeddings(self) -> nn.Module | None:
        return self.cls.predictions.decoder if self.cls.predictions is not None else None

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.cls.predictions.decoder = new_embeddings
        self.cls.predictions.bias = new_embeddings.bias

    def _require_srm(self, what: str) -> None:
        if self.region_encoder is None:
            raise ValueError(
                f"{what} needs the region tower, which is not built when config.use_srm is False"
            )

    def get_sequence_features(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Projected [CLS] features `(batch, projection_dim)` (not normalised), as CLIP's `get_text_features`.

        Args: `input_ids`, `attention_mask`, `token_type_ids`, `position_ids` of shape `(batch, sequence_length)`.
        """
        self._require_srm("get_sequence_features")
        outputs = self.bert(
            input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, position_ids=position_ids
        )
        return self.sequence_projection(outputs.last_hidden_state[:, 0])

    def get_region_features(self, region_matrix: torch.Tensor) -> torch.Tensor:
        """Projected region features `(batch, projection_dim)` (not normalised) of a `(batch, num_regions,
        num_motifs)` region matrix, as CLIP's `get_image_features`; `(batch, num_regions, projection_dim)`, one per
        region, under `srm_level="region"`."""
        self._require_srm("get_region_features")
        return self.region_projection(self.region_encoder(region_matrix))

    def _region_level_features(
        self,
        sequence_output: torch.Tensor,
        region_matrix: torch.Tensor,
        region_token_index: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Region-level SRM's pairs: `(n_regions, projection_dim)` projected mean token states and projected motif
        rows, one row per region of the batch that has tokens (a region without any has nothing to match)."""
        if region_token_index is None:
            raise GeneBertInputError(
                "srm_level='region' needs region_token_index (batch, sequence_length): collate with "
                "DataCollatorForGenomeModeling(return_region_token_index=True)"
            )
        pooled, counts = pool_regions(sequence_output, region_token_index, self.config.num_regions)
        present = counts.reshape(-1) > 0
        sequence_features = self.sequence_projection(pooled.reshape(-1, pooled.shape[-1])[present])
        region_rows = self.region_encoder(region_matrix)
        region_features = self.region_projection(region_rows.reshape(-1, region_rows.shape[-1])[present])
        return sequence_features, region_features

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        region_matrix: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_segment_label: torch.Tensor | None = None,
        return_full_prediction_logits: bool | None = None,
        region_token_index: torch.Tensor | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> GeneBertForPreTrainingOutput:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch, sequence_length)`):
                k-mer token ids (`[CLS] segment A [SEP] segment B [SEP]`).
            attention_mask (`torch.LongTensor` of shape `(batch, sequence_length)`, *optional*):
                1 for real tokens, 0 for padding.
            token_type_ids (`torch.LongTensor` of shape `(batch, sequence_length)`, *optional*):
                0 for segment A, 1 for segment B.
            position_ids, inputs_embeds: as in `BertModel`.
            region_matrix (`torch.FloatTensor` of shape `(batch, num_regions, num_motifs)`, *optional*):
                Motif scores of the sample's regions (raw: the model standardises them). Needed for SRM; may be
                omitted when `config.use_srm` is False.
            labels (`torch.LongTensor` of shape `(batch, sequence_length)`, *optional*):
                MGM targets: the original token id at masked positions, -100 elsewhere.
            next_segment_label (`torch.LongTensor` of shape `(batch,)`, *optional*):
                NGSP targets: 1 if segment B follows segment A in the genome, 0 if it was drawn elsewhere
                (`DataCollatorForGenomeModeling`'s convention; BERT's NSP uses the reverse).
            return_full_prediction_logits (`bool`, *optional*):
                MGM logits cost a `hidden_size x 4^k` product per position. With `labels` given, the decoder runs only
                at the masked positions (`masked_prediction_logits`, `(num_masked, vocab_size)`) and
                `prediction_logits` is `None`, unless this is True. Without `labels`, `prediction_logits`
                `(batch, sequence_length, vocab_size)` is always computed.
            region_token_index (`torch.LongTensor` of shape `(batch, sequence_length)`, *optional*):
                The region (row of `region_matrix`) of each k-mer token, -1 for special tokens and padding; needed
                for SRM under `config.srm_level="region"`, ignored otherwise (see [`pool_regions`]).
            kwargs: `output_attentions`, `output_hidden_states`, `return_dict` and other `BertModel` kwargs.

        Returns:
            [`GeneBertForPreTrainingOutput`].
        """
        config = self.config
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
            **kwargs,
        )
        sequence_output = outputs.last_hidden_state
        losses: list[torch.Tensor] = []

        mgm_loss = prediction_logits = masked_prediction_logits = None
        if self.cls.predictions is not None:
            if labels is not None:
                masked = labels != -100
                masked_prediction_logits = self.cls.predictions(sequence_output[masked])
                targets = labels[masked]
                # Sum / count rather than mean: a batch without masked tokens gives 0, not NaN.
                mgm_loss = F.cross_entropy(masked_prediction_logits.float(), targets, reduction="sum")
                mgm_loss = mgm_loss / max(targets.numel(), 1)
                losses.append(mgm_loss)
            if labels is None or return_full_prediction_logits:
                prediction_logits = self.cls.predictions(sequence_output)

        ngsp_loss = ngsp_logits = None
        if self.cls.seq_relationship is not None:
            ngsp_logits = self.cls.seq_relationship(outputs.pooler_output)
            if next_segment_label is not None:
                ngsp_loss = F.cross_entropy(ngsp_logits.float(), next_segment_label.view(-1))
                losses.append(ngsp_loss)

        srm_loss = sequence_embeds = region_embeds = logits_per_sequence = logits_per_region = scale = None
        if self.region_encoder is not None and region_matrix is not None:
            if config.srm_level == "region":
                sequence_features, region_features = self._region_level_features(
                    sequence_output, region_matrix, region_token_index
                )
            else:
                sequence_features = self.sequence_projection(sequence_output[:, 0])
                region_features = self.region_projection(self.region_encoder(region_matrix))
            # The contrastive part is tiny (batch x batch): keep it in float32 under autocast.
            sequence_embeds = F.normalize(sequence_features.float(), dim=-1)
            region_embeds = F.normalize(region_features.float(), dim=-1)
            scale = self.logit_scale.float().clamp(max=math.log(config.logit_scale_max)).exp()
            if config.srm_gather_distributed:
                all_sequence_embeds, offset = gather_for_contrastive_loss(sequence_embeds)
                all_region_embeds, _ = gather_for_contrastive_loss(region_embeds)
            else:
                all_sequence_embeds, all_region_embeds, offset = sequence_embeds, region_embeds, 0
            logits_per_sequence = scale * sequence_embeds @ all_region_embeds.t()
            logits_per_region = scale * region_embeds @ all_sequence_embeds.t()
            srm_targets = torch.arange(sequence_embeds.shape[0], device=sequence_embeds.device) + offset
            srm_loss = clip_loss(logits_per_sequence, logits_per_region, srm_targets)
            losses.append(config.srm_weight * srm_loss)

        loss = torch.stack(losses).sum() if losses else None
        return GeneBertForPreTrainingOutput(
            loss=loss,
            mgm_loss=mgm_loss,
            ngsp_loss=ngsp_loss,
            srm_loss=srm_loss,
            prediction_logits=prediction_logits,
            masked_prediction_logits=masked_prediction_logits,
            ngsp_logits=ngsp_logits,
            sequence_embeds=sequence_embeds,
            region_embeds=region_embeds,
            logits_per_sequence=logits_per_sequence,
            logits_per_region=logits_per_region,
            logit_scale=scale,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


# ---------------------------------------------------------------------------------------------------------------------
# Fine-tuning
# ---------------------------------------------------------------------------------------------------------------------


class GeneBertForSequenceClassification(GeneBertPreTrainedModel):
    """Sequence tower + a linear head on the pooled [CLS] (as `BertForSequenceClassification`), optionally fused
    with the region tower.

    With `config.classifier_use_regions=True` the region tower and `region_projection` are built and the classifier
    sees `concat(pooled [CLS], region_projection(region_tower(region_matrix)))` (under `srm_level="region"` the
    tower's per-region features averaged over regions); when a batch has no `region_matrix`, the region part is
    zeros. `config.problem_type` selects the loss as in transformers:
    `"regression"` (MSE), `"single_label_classification"` (cross-entropy), `"multi_label_classification"` (BCE with
    logits); inferred from `num_labels` and the label dtype when unset.
    """

    def __init__(self, config: GeneBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = GeneBertModel(config)
        if config.classifier_use_regions:
            self.region_encoder = build_region_encoder(config)
            self.region_projection = nn.Linear(
                self.region_encoder.num_features, config.projection_dim, bias=False
            )
            fused_size = config.hidden_size + config.projection_dim
        else:
            self.region_encoder = None
            self.region_projection = None
            fused_size = config.hidden_size
        dropout = (
            config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(fused_size, config.num_labels)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        region_matrix: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> SequenceClassifierOutput:
        r"""
        Args:
            input_ids, attention_mask, token_type_ids, position_ids (`torch.LongTensor` of shape
                `(batch, sequence_length)`): as in `BertModel`.
            region_matrix (`torch.FloatTensor` of shape `(batch, num_regions, num_motifs)`, *optional*):
                fused into the classifier input; needs `config.classifier_use_regions=True`.
            labels (*optional*): `(batch,)` class ids (single-label), `(batch, num_labels)` floats in {0, 1}
                (multi-label) or `(batch,)` / `(batch, num_labels)` floats (regression).

        Returns:
            [`SequenceClassifierOutput`] with `loss` `()` when `labels` is given, `logits` `(batch, num_labels)`, and
            `hidden_states` / `attentions` of the sequence tower on request.
        """
        if region_matrix is not None and self.region_encoder is None:
            raise ValueError(
                "region_matrix was given but this model has no region tower: set config.classifier_use_regions=True"
            )
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
            **kwargs,
        )
        features = outputs.pooler_output
        if self.region_encoder is not None:
            if region_matrix is not None:
                region_rows = self.region_encoder(region_matrix)
                if region_rows.dim() == 3:  # the per-region MLP of srm_level="region"
                    region_rows = region_rows.mean(dim=1)
                region_features = self.region_projection(region_rows).to(features.dtype)
            else:
                region_features = features.new_zeros(features.shape[0], self.config.projection_dim)
            features = torch.cat([features, region_features], dim=-1)
        logits = self.classifier(self.dropout(features))

        loss = None
        if labels is not None:
            labels = labels.to(logits.device)
            if self.config.problem_type is None:
                if self.num_labels == 1:
                    self.config.problem_type = "regression"
                elif labels.dtype in (torch.long, torch.int):
                    self.config.problem_type = "single_label_classification"
                else:
                    self.config.problem_type = "multi_label_classification"
            if self.config.problem_type == "regression":
                if self.num_labels == 1:
                    loss = F.mse_loss(logits.squeeze(-1).float(), labels.reshape(-1).float())
                else:
                    loss = F.mse_loss(logits.float(), labels.float())
            elif self.config.problem_type == "single_label_classification":
                loss = F.cross_entropy(logits.view(-1, self.num_labels).float(), labels.view(-1))
            else:
                loss = F.binary_cross_entropy_with_logits(logits.float(), labels.float())

        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


# ---------------------------------------------------------------------------------------------------------------------
# Masked genome modelling and token classification
# ---------------------------------------------------------------------------------------------------------------------


class GeneBertForMaskedLM(GeneBertPreTrainedModel):
    """Sequence tower + the MGM head alone (`cls.predictions`, decoder tied to the k-mer embeddings), as
    `BertForMaskedLM`: `AutoModelForMaskedLM` and the `fill-mask` pipeline.

    Parameter names are those of `GeneBertForPreTraining`, so a pre-training checkpoint loads into it (its NGSP head,
    region tower and projections are unused). Mask *nucleotides*, not single k-mers: a hidden base is visible in the
    k - 1 neighbouring k-mers, so mask every k-mer that covers it (`GeneBertTokenizer.mask_bases` does) and read the
    prediction per base (`GeneBertTokenizer.base_probabilities`).
    """

    _tied_weights_keys = {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def __init__(self, config: GeneBertConfig):
        super().__init__(config)
        self.bert = GeneBertModel(config, add_pooling_layer=False)
        self.cls = GeneBertOnlyMLMHead(config)
        self.post_init()

    def get_output_embeddings(self) -> nn.Module:
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.cls.predictions.decoder = new_embeddings
        self.cls.predictions.bias = new_embeddings.bias

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> MaskedLMOutput:
        r"""
        Args:
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds: as in `BertModel`.
            labels (`torch.LongTensor` of shape `(batch, sequence_length)`, *optional*): the original k-mer id at
                masked positions, -100 elsewhere.

        Returns:
            [`MaskedLMOutput`]: `loss` `()` (mean cross-entropy over the positions with `labels != -100`) when `labels`
            is given, `logits` `(batch, sequence_length, vocab_size)`, `hidden_states` / `attentions` on request.
        """
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
            **kwargs,
        )
        logits = self.cls(outputs.last_hidden_state)
        loss = None
        if labels is not None:
            labels = labels.to(logits.device)
            loss = F.cross_entropy(
                logits.view(-1, logits.shape[-1]).float(), labels.view(-1), ignore_index=-100
            )
        return MaskedLMOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


class GeneBertOnlyMLMHead(nn.Module):
    """`cls.predictions`: BERT's LM head (transform + decoder tied to the k-mer embeddings)."""

    def __init__(self, config: GeneBertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: torch.Tensor) -> torch.Tensor:
        return self.predictions(sequence_output)


class GeneBertForTokenClassification(GeneBertPreTrainedModel):
    """Sequence tower + dropout + a linear head on every token (as `BertForTokenClassification`):
    `AutoModelForTokenClassification`.

    Tokens are overlapping k-mers, so token `i` of a sequence (position `i + 1` after [CLS]) covers bases `i` to
    `i + k - 1`. For labels per base, label k-mers from base labels with `GeneBertTokenizer.kmer_labels_from_bases` and
    turn k-mer scores back into per-base scores with `GeneBertTokenizer.scores_per_base` (the mean over the k-mers
    covering each base).
    """

    def __init__(self, config: GeneBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = GeneBertModel(config, add_pooling_layer=False)
        dropout = (
            config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> TokenClassifierOutput:
        r"""
        Args:
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds: as in `BertModel`.
            labels (`torch.LongTensor` of shape `(batch, sequence_length)`, *optional*): a class per token, -100 for
                tokens without a label ([CLS], [SEP], padding).

        Returns:
            [`TokenClassifierOutput`]: `loss` `()` when `labels` is given, `logits` `(batch, sequence_length,
            num_labels)`, `hidden_states` / `attentions` on request.
        """
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
            **kwargs,
        )
        logits = self.classifier(self.dropout(outputs.last_hidden_state))
        loss = None
        if labels is not None:
            labels = labels.to(logits.device)
            loss = F.cross_entropy(
                logits.view(-1, self.num_labels).float(), labels.view(-1), ignore_index=-100
            )
        return TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


# Writes "auto_map" and copies this file (and configuration_genebert.py) on save_pretrained: Hub remote code.
GeneBertModel.register_for_auto_class("AutoModel")
GeneBertForPreTraining.register_for_auto_class("AutoModelForPreTraining")
GeneBertForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
GeneBertForMaskedLM.register_for_auto_class("AutoModelForMaskedLM")
GeneBertForTokenClassification.register_for_auto_class("AutoModelForTokenClassification")

__all__ = [
    "GeneBertForMaskedLM",
    "GeneBertForPreTraining",
    "GeneBertForPreTrainingOutput",
    "GeneBertForSequenceClassification",
    "GeneBertForTokenClassification",
    "GeneBertLoadingError",
    "GeneBertModel",
    "GeneBertMotifRowEncoder",
    "GeneBertPreTrainedModel",
    "GeneBertRegionEncoder",
    "build_region_encoder",
    "clip_loss",
    "contrastive_loss",
    "gather_for_contrastive_loss",
    "pool_regions",
    "sinusoidal_positions",
]
