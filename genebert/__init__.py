"""GeneBERT: multi-modal self-supervised pre-training for the regulatory genome (Mo et al., 2021).

Importing this package registers GeneBERT with transformers' Auto classes.
"""

from transformers import AutoConfig, AutoTokenizer

from .configuration_genebert import GeneBertConfig
from .tokenization_genebert import GeneBertTokenizer

__version__ = "0.1.0.dev0"

AutoConfig.register(GeneBertConfig.model_type, GeneBertConfig, exist_ok=True)
AutoTokenizer.register(GeneBertConfig, tokenizer_class=GeneBertTokenizer, exist_ok=True)
# save_pretrained then writes `auto_map` and copies tokenization_genebert.py, so a saved tokenizer loads with
# trust_remote_code=True where genebert is not installed.
GeneBertTokenizer.register_for_auto_class("AutoTokenizer")

# --- model classes (issue 3) ---
from transformers import (  # noqa: E402
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
)

from .modeling_genebert import (  # noqa: E402
    GeneBertForMaskedLM,
    GeneBertForPreTraining,
    GeneBertForPreTrainingOutput,
    GeneBertForSequenceClassification,
    GeneBertForTokenClassification,
    GeneBertModel,
    GeneBertPreTrainedModel,
    GeneBertRegionEncoder,
)

AutoModel.register(GeneBertConfig, GeneBertModel, exist_ok=True)
AutoModelForPreTraining.register(GeneBertConfig, GeneBertForPreTraining, exist_ok=True)
AutoModelForSequenceClassification.register(GeneBertConfig, GeneBertForSequenceClassification, exist_ok=True)
AutoModelForMaskedLM.register(GeneBertConfig, GeneBertForMaskedLM, exist_ok=True)
AutoModelForTokenClassification.register(GeneBertConfig, GeneBertForTokenClassification, exist_ok=True)

# --- processor (issue 15): DNA of a sample's regions -> input_ids + region_matrix ---
from transformers import AutoFeatureExtractor, AutoProcessor  # noqa: E402

from .processing_genebert import GeneBertMotifFeatureExtractor, GeneBertProcessor  # noqa: E402

AutoFeatureExtractor.register(GeneBertConfig, GeneBertMotifFeatureExtractor, exist_ok=True)
AutoProcessor.register(GeneBertConfig, GeneBertProcessor, exist_ok=True)

# --- pipelines (issue 7): importing registers the "dna-classification" task with transformers ---
from .pipelines import DnaClassificationPipeline, embed  # noqa: E402

__all__ = [
    "DnaClassificationPipeline",
    "GeneBertConfig",
    "GeneBertForMaskedLM",
    "GeneBertForPreTraining",
    "GeneBertForPreTrainingOutput",
    "GeneBertForSequenceClassification",
    "GeneBertForTokenClassification",
    "GeneBertModel",
    "GeneBertMotifFeatureExtractor",
    "GeneBertPreTrainedModel",
    "GeneBertProcessor",
    "GeneBertRegionEncoder",
    "GeneBertTokenizer",
    "__version__",
    "embed",
]
