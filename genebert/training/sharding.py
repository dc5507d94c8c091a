"""FSDP2 and DeepSpeed support: what the sharding engines need from GeneBERT beyond accelerate's defaults.

DeepSpeed (0.19.8) broadcasts every parameter as bytes when it builds its engine (``p.data.view(torch.uint8)``),
which fails for GeneBERT's 0-dim ``logit_scale``: ``RuntimeError: self.dim() cannot be 0 to view Float as Byte
(different element sizes)`` (any hardware, ZeRO-2 and ZeRO-3 without zero.Init). :func:`one_element_scalar_parameters`
turns such parameters into 1-element ones in memory while their state-dict entries keep the 0-dim shape, so
checkpoints stay loadable everywhere; `GeneBertTrainer` applies it when DeepSpeed runs.

FSDP2:

Running accelerate's FSDP2 preparation (``run_scripts/configs/fsdp.yaml``) on GeneBERT on 2 CPU processes
(tests/training/test_fsdp_cpu.py) found three problems, each fixed here or in the config without changing the model or its
checkpoint format:

* ``fully_shard`` refuses 0-dim parameters: ``ValueError: fully_shard doesn't support scalar parameters. Change
  logit_scale to a 1D tensor with numel equal to 1.`` GeneBERT's learnable temperature ``logit_scale`` is one, as
  CLIP's is.
* Tied parameters must sit in one FSDP unit. The word embeddings are tied to the MGM decoder, so ``BertEmbeddings``
  cannot be its own unit (``RuntimeError: Cannot concatenate overlapping meshes``): ``fsdp.yaml`` wraps only
  ``BertLayer`` and ``GeneBertRegionEncoder`` (:data:`FSDP_LAYERS_TO_WRAP`), and accelerate puts the input and
  output embeddings into one unit itself.
* BERT's decoder bias is tied as well, to ``cls.predictions.bias`` of the root unit: ``ValueError: Parameter
  'cls.predictions.decoder.bias' is shared with a parameter already managed by another FSDP group``.

:func:`prepare_for_fsdp2` keeps the 0-dim parameters and the tied parameters other than the embedding matrix
(``logit_scale`` and the 4^k + 5 decoder biases, a few KB) out of FSDP: they stay whole on every rank, as under DDP,
and a gradient hook averages their gradients across ranks, which is what DDP does for them. `GeneBertTrainer` calls
it when accelerate runs FSDP2.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import nn

#: The FSDP units of GeneBERT (``fsdp_transformer_layer_cls_to_wrap`` in ``fsdp.yaml``).
FSDP_LAYERS_TO_WRAP = ("BertLayer", "GeneBertRegionEncoder")


class _ReplicatedParameters(nn.Module):
    """Holds (the same objects as) parameters to keep out of FSDP, so accelerate's ``ignored_modules`` can name them."""

    def __init__(self, parameters: dict[str, nn.Parameter]) -> None:
        super().__init__()
        for index, parameter in enumerate(parameters.values()):
            self.register_parameter(f"p{index}", parameter)


def replicated_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """Trainable parameters FSDP2 cannot shard in GeneBERT: 0-dim ones, and tied ones other than the input
    embedding matrix (which accelerate shards together with the output embeddings). By first name."""
    embedding = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    embedding_weight = getattr(embedding, "weight", None)
    found: dict[str, nn.Parameter] = {}
    first_name: dict[int, str] = {}
    for name, parameter in model.named_parameters(remove_duplicate=False):
        if not parameter.requires_grad:
            continue
        if parameter.dim() == 0:
            found.setdefault(name, parameter)
        elif id(parameter) in first_name and parameter is not embedding_weight:
            found.setdefault(first_name[id(parameter)], parameter)
        first_name.setdefault(id(parameter), name)
    return found


def _average_over_ranks(grad: torch.Tensor) -> torch.Tensor:
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return grad
    grad = grad.clone()
    dist.all_reduce(grad, op=dist.ReduceOp.SUM)  # gloo has no AVG
    return grad / dist.get_world_size()


def prepare_for_fsdp2(
    model: nn.Module, fsdp_plugin: Any | None = None, device: torch.device | str | None = None
) -> list[str]:
    """Keep :func:`replicated_parameters` out of FSDP2 and average their gradients across ranks.

    Call before the model is sharded (``accelerator.prepare``). With ``fsdp_plugin`` (accelerate's
    ``FullyShardedDataParallelPlugin``) the parameters are added to its ``ignored_modules``; when calling
    ``fully_shard`` yourself, pass ``ignored_params=set(replicated_parameters(model).values())`` to every call. The
    hook averages each backward's gradient, so gradient accumulation sums averages as DDP does. Needs
    ``fsdp_cpu_ram_efficient_loading: false`` (with true, accelerate moves the model to the meta device after
    reading ``ignored_modules``, which replaces the parameter objects). Returns the names; idempotent.
    """
    parameters = replicated_parameters(model)
    for parameter in parameters.values():
        if getattr(parameter, "_genebert_replicated", False):
            continue
        if device is not None:
            parameter.data = parameter.data.to(device)
        parameter.register_hook(_average_over_ranks)
        parameter._genebert_replicated = True
    if fsdp_plugin is not None and parameters:
        ignored = fsdp_plugin.ignored_modules
        if isinstance(ignored, str):
            raise ValueError(
                "fsdp_ignored_modules is a regular expression; GeneBERT must add the parameters "
                f"{sorted(parameters)} as modules: give the modules to ignore as a list instead"
            )
        kept = [m for m in (ignored or []) if not isinstance(m, _ReplicatedParameters)]
        fsdp_plugin.ignored_modules = [*kept, _ReplicatedParameters(parameters)]
    return sorted(parameters)


def _squeeze_on_save(module: nn.Module, state_dict: dict, prefix: str, local_metadata: Any) -> None:
    for name in module._genebert_one_element:
        value = state_dict.get(prefix + name)
        if value is not None and value.dim() == 1 and value.numel() == 1:
            state_dict[prefix + name] = value.reshape(())


def _unsqueeze_on_load(module: nn.Module, state_dict: dict, prefix: str, *args: Any) -> None:
    for name in module._genebert_one_element:
        value = state_dict.get(prefix + name)
        if value is not None and value.dim() == 0:
            state_dict[prefix + name] = value.reshape(1)


def one_element_scalar_parameters(model: nn.Module) -> list[str]:
    """Replace each 0-dim parameter by a 1-element parameter with the same value (the model computes the same:
    GeneBERT's forward broadcasts ``logit_scale``), keeping the 0-dim shape in ``state_dict()`` and accepting it in
    ``load_state_dict()``. Call before the optimizer is built. Returns the names; idempotent."""
    names = []
    for module_name, module in model.named_modules():
        converted = []
        for name, parameter in list(module._parameters.items()):
            # a parameter DeepSpeed already partitioned (built under zero.Init) is left alone: DeepSpeed owns it,
            # and such models skip the broadcast that fails on 0-dim parameters
            if parameter is not None and parameter.dim() == 0 and not hasattr(parameter, "ds_id"):
                module._parameters[name] = nn.Parameter(
                    parameter.detach().reshape(1).clone(), requires_grad=parameter.requires_grad
                )
                converted.append(name)
        if converted:
            if not hasattr(module, "_genebert_one_element"):
                module._genebert_one_element = []
                module.register_state_dict_post_hook(_squeeze_on_save)
                module.register_load_state_dict_pre_hook(_unsqueeze_on_load)
            module._genebert_one_element += converted
        names += [f"{module_name}.{name}" if module_name else name for name in converted]
    return names


def squeeze_one_element_entries(
    model: nn.Module, state_dict: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Give the entries of parameters made 1-element by :func:`one_element_scalar_parameters` their 0-dim shape
    back, in a state dict built without ``model.state_dict()`` (DeepSpeed ZeRO-3 consolidates its own)."""
    for module_name, module in model.named_modules():
        for name in getattr(module, "_genebert_one_element", ()):
            key = f"{module_name}.{name}" if module_name else name
            value = state_dict.get(key)
            if value is not None and value.dim() == 1 and value.numel() == 1:
                state_dict[key] = value.reshape(())
    return state_dict


__all__ = [
    "FSDP_LAYERS_TO_WRAP",
    "one_element_scalar_parameters",
    "prepare_for_fsdp2",
    "replicated_parameters",
    "squeeze_one_element_entries",
]
