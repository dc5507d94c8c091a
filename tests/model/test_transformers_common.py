"""transformers' own common model and configuration tests (``ModelTesterMixin``, ``ConfigTester``) over every GeneBERT
model class, from the sdist of the installed transformers version (see tests/hf_common_tests.py).

The tester is tiny (k = 3, 2 layers of width 32, 8 motifs, a 2-stage Swin) so the whole mixin runs in about a minute.
``GeneBertForPreTraining`` gets a ``region_matrix`` in its inputs, so its region tower and SRM path are exercised.
Skips come from the mixins themselves (each with its own reason); this file adds none.
"""

from __future__ import annotations

import importlib
import sys
import unittest

import pytest
import torch
import transformers
from hf_common_tests import PACKAGE, common_tests_dir

from genebert import GeneBertConfig
from genebert.configuration_genebert import TINY_SWIN_KWARGS
from genebert.modeling_genebert import (
    GeneBertForMaskedLM,
    GeneBertForPreTraining,
    GeneBertForSequenceClassification,
    GeneBertForTokenClassification,
    GeneBertModel,
)

_FOLDER, _REASON = common_tests_dir(transformers.__version__)

if _FOLDER is None:
    pytestmark = pytest.mark.skip(reason=f"transformers' common tests unavailable: {_REASON}")

    class ModelTesterMixin:  # the test class below is then skipped whole
        pass

    ConfigTester = ids_tensor = random_attention_mask = None
else:
    sys.path.insert(0, str(_FOLDER))
    _modeling = importlib.import_module(f"{PACKAGE}.test_modeling_common")
    _configuration = importlib.import_module(f"{PACKAGE}.test_configuration_common")
    ModelTesterMixin = _modeling.ModelTesterMixin
    ids_tensor = _modeling.ids_tensor
    random_attention_mask = _modeling.random_attention_mask
    ConfigTester = _configuration.ConfigTester
    # The mixins decide per class *name* what a model is (base model, pre-training, masked LM, ...) from transformers'
    # auto mappings, which list only transformers' own models. Add GeneBERT's names to the copies the test module
    # reads (transformers' real mappings stay untouched).
    for _name, _class in (
        ("MODEL_MAPPING_NAMES", GeneBertModel),
        ("MODEL_FOR_PRETRAINING_MAPPING_NAMES", GeneBertForPreTraining),
        ("MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES", GeneBertForSequenceClassification),
        ("MODEL_FOR_MASKED_LM_MAPPING_NAMES", GeneBertForMaskedLM),
        ("MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES", GeneBertForTokenClassification),
    ):
        setattr(_modeling, _name, {**getattr(_modeling, _name), "genebert": _class.__name__})


class GeneBertModelTester:
    def __init__(
        self,
        parent,
        batch_size=3,
        seq_length=9,
        kmer=3,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        num_regions=10,
        num_motifs=8,
        num_labels=3,
    ):
        self.parent = parent
        self.batch_size = batch_size
        self.seq_length = seq_length
        self.kmer = kmer
        self.vocab_size = 4**kmer + 5
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.num_regions = num_regions
        self.num_motifs = num_motifs
        self.num_labels = num_labels
        self.type_vocab_size = 2
        self.is_training = True

    def get_config(self) -> GeneBertConfig:
        return GeneBertConfig(
            kmer=self.kmer,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            intermediate_size=self.intermediate_size,
            max_position_embeddings=64,
            num_regions=self.num_regions,
            num_motifs=self.num_motifs,
            region_backbone="swin_tiny_patch4_window7_224",
            region_backbone_kwargs=dict(TINY_SWIN_KWARGS),
            projection_dim=16,
            num_labels=self.num_labels,
        )

    def prepare_config_and_inputs_for_common(self):
        input_ids = ids_tensor([self.batch_size, self.seq_length], self.vocab_size)
        attention_mask = random_attention_mask([self.batch_size, self.seq_length])
        token_type_ids = ids_tensor([self.batch_size, self.seq_length], self.type_vocab_size)
        inputs = {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask}
        return self.get_config(), inputs

    def region_matrix(self, batch_size: int) -> torch.Tensor:
        """The same matrix for the same batch size (the mixins prepare inputs several times and compare outputs)."""
        generator = torch.Generator().manual_seed(batch_size)
        return torch.randn(batch_size, self.num_regions, self.num_motifs, generator=generator)


class GeneBertModelTest(ModelTesterMixin, unittest.TestCase):
    all_model_classes = (
        GeneBertModel,
        GeneBertForPreTraining,
        GeneBertForSequenceClassification,
        GeneBertForMaskedLM,
        GeneBertForTokenClassification,
    )
    # Our config file carries no copyright year; opt in so that the missing-weights initialisation test runs.
    test_can_init_all_missing_weights_before_2023 = True

    def setUp(self):
        self.model_tester = GeneBertModelTester(self)
        self.config_tester = ConfigTester(self, config_class=GeneBertConfig, hidden_size=36)

    def _prepare_for_class(self, inputs_dict, model_class, return_labels=False):
        inputs = super()._prepare_for_class(inputs_dict, model_class, return_labels=return_labels)
        if model_class is GeneBertForPreTraining:
            input_ids = inputs["input_ids"]
            batch_size, device = input_ids.shape[0], input_ids.device
            inputs["region_matrix"] = self.model_tester.region_matrix(batch_size).to(device)
            if return_labels:  # all three losses, so that every head gets a gradient
                inputs["labels"] = torch.zeros_like(input_ids)
                inputs["next_segment_label"] = torch.zeros(batch_size, dtype=torch.long, device=device)
        return inputs

    def test_config(self):
        self.config_tester.run_common_tests()
