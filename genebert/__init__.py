"""GeneBERT: multi-modal self-supervised pre-training for the regulatory genome (Mo et al., 2021).

``import genebert`` is light: torch, timm and transformers load when a class that needs them is first used.
Using any of the classes below (``genebert.GeneBertConfig``, ``from genebert import GeneBertModel``...)
registers GeneBERT with transformers' Auto classes and the ``dna-classification`` pipeline; so does
:func:`register_auto_classes`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"
PAPER_URL = "https://arxiv.org/abs/2110.05231"
CITATION = """@article{mo2021genebert,
  title   = {Multi-modal Self-supervised Pre-training for Regulatory Genome Across Cell Types},
  author  = {Mo, Shentong and Fu, Xi and Hong, Chenyang and Chen, Yizhen and Zheng, Yuxuan and Tang, Xiangru
             and Shen, Zhiqiang and Xing, Eric P. and Lan, Yanyan},
  journal = {arXiv preprint arXiv:2110.05231},
  year    = {2021}
}"""

# public name -> the module that defines it
_LAZY: dict[str, str] = {
    "GeneBertConfig": "configuration_genebert",
    "GeneBertTokenizer": "tokenization_genebert",
    "GeneBertModel": "modeling_genebert",
    "GeneBertPreTrainedModel": "modeling_genebert",
    "GeneBertForPreTraining": "modeling_genebert",
    "GeneBertForPreTrainingOutput": "modeling_genebert",
    "GeneBertForSequenceClassification": "modeling_genebert",
    "GeneBertForMaskedLM": "modeling_genebert",
    "GeneBertForTokenClassification": "modeling_genebert",
    "GeneBertRegionEncoder": "modeling_genebert",
    "GeneBertMotifFeatureExtractor": "processing_genebert",
    "GeneBertProcessor": "processing_genebert",
    "DnaClassificationPipeline": "pipelines",
    "embed": "pipelines",
    "GeneBertError": "errors",
    "InputFileError": "errors",
}

_registered = False


def register_auto_classes() -> None:
    """Register GeneBERT's config, tokenizer and models with transformers' Auto classes, and the
    ``dna-classification`` pipeline task. Idempotent; called on first use of any class of this package."""
    global _registered
    if _registered:
        return
    _registered = True
    from transformers import (
        AutoConfig,
        AutoFeatureExtractor,
        AutoModel,
        AutoModelForMaskedLM,
        AutoModelForPreTraining,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoProcessor,
        AutoTokenizer,
    )

    from . import pipelines  # noqa: F401  (registers the "dna-classification" task)
    from .configuration_genebert import GeneBertConfig
    from .modeling_genebert import (
        GeneBertForMaskedLM,
        GeneBertForPreTraining,
        GeneBertForSequenceClassification,
        GeneBertForTokenClassification,
        GeneBertModel,
    )
    from .processing_genebert import GeneBertMotifFeatureExtractor, GeneBertProcessor
    from .tokenization_genebert import GeneBertTokenizer

    AutoConfig.register(GeneBertConfig.model_type, GeneBertConfig, exist_ok=True)
    AutoTokenizer.register(GeneBertConfig, tokenizer_class=GeneBertTokenizer, exist_ok=True)
    # save_pretrained then writes `auto_map` and copies tokenization_genebert.py, so a saved tokenizer loads
    # with trust_remote_code=True where genebert is not installed.
    GeneBertTokenizer.register_for_auto_class("AutoTokenizer")
    AutoModel.register(GeneBertConfig, GeneBertModel, exist_ok=True)
    AutoModelForPreTraining.register(GeneBertConfig, GeneBertForPreTraining, exist_ok=True)
    AutoModelForSequenceClassification.register(
        GeneBertConfig, GeneBertForSequenceClassification, exist_ok=True
    )
    AutoModelForMaskedLM.register(GeneBertConfig, GeneBertForMaskedLM, exist_ok=True)
    AutoModelForTokenClassification.register(GeneBertConfig, GeneBertForTokenClassification, exist_ok=True)
    AutoFeatureExtractor.register(GeneBertConfig, GeneBertMotifFeatureExtractor, exist_ok=True)
    AutoProcessor.register(GeneBertConfig, GeneBertProcessor, exist_ok=True)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genebert' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    if module != "errors":
        register_auto_classes()
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


if TYPE_CHECKING:
    from .configuration_genebert import GeneBertConfig
    from .errors import GeneBertError, InputFileError
    from .modeling_genebert import (
        GeneBertForMaskedLM,
        GeneBertForPreTraining,
        GeneBertForPreTrainingOutput,
        GeneBertForSequenceClassification,
        GeneBertForTokenClassification,
        GeneBertModel,
        GeneBertPreTrainedModel,
        GeneBertRegionEncoder,
    )
    from .pipelines import DnaClassificationPipeline, embed
    from .processing_genebert import GeneBertMotifFeatureExtractor, GeneBertProcessor
    from .tokenization_genebert import GeneBertTokenizer

__all__ = [
    "CITATION", "PAPER_URL", "DnaClassificationPipeline", "GeneBertConfig", "GeneBertError",
    "GeneBertForMaskedLM", "GeneBertForPreTraining", "GeneBertForPreTrainingOutput",
    "GeneBertForSequenceClassification", "GeneBertForTokenClassification", "GeneBertModel",
    "GeneBertMotifFeatureExtractor", "GeneBertPreTrainedModel", "GeneBertProcessor", "GeneBertRegionEncoder",
    "GeneBertTokenizer", "InputFileError", "__version__", "embed", "register_auto_classes",
]  # fmt: skip
