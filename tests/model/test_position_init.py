"""`position_embedding_init`: the sinusoidal start of the learned position embeddings."""

import pytest
import torch

from genebert.configuration_genebert import GeneBertConfig
from genebert.modeling_genebert import GeneBertForPreTraining, sinusoidal_positions


def _positions(model):
    return model.bert.embeddings.position_embeddings.weight


def test_sinusoidal_start_with_the_normal_init_scale():
    model = GeneBertForPreTraining(
        GeneBertConfig.tiny(kmer=3, position_embedding_init="sinusoidal", use_srm=False)
    )
    weight = _positions(model)
    assert torch.allclose(weight, sinusoidal_positions(*weight.shape, 0.02))
    assert weight.pow(2).mean().sqrt().item() == pytest.approx(0.02, rel=1e-3)
    # neighbouring positions are one rotation apart: position p + 1 is a fixed linear map of position p
    table = sinusoidal_positions(64, 8, 1.0)
    shift = torch.linalg.lstsq(table[:-1], table[1:]).solution
    assert torch.allclose(table[:-1] @ shift, table[1:], atol=1e-4)
    assert weight.requires_grad  # still learned


def test_default_is_berts_normal_init():
    weight = _positions(GeneBertForPreTraining(GeneBertConfig.tiny(kmer=3, use_srm=False)))
    assert not torch.allclose(weight, sinusoidal_positions(*weight.shape, 0.02))
    assert weight.std().item() == pytest.approx(0.02, rel=0.1)


def test_loaded_weights_are_not_reinitialised(tmp_path):
    config = GeneBertConfig.tiny(kmer=3, position_embedding_init="sinusoidal", use_srm=False)
    model = GeneBertForPreTraining(config)
    with torch.no_grad():
        _positions(model).add_(1.0)
    model.save_pretrained(tmp_path)
    loaded = GeneBertForPreTraining.from_pretrained(tmp_path)
    assert loaded.config.position_embedding_init == "sinusoidal"
    assert torch.equal(_positions(loaded), _positions(model))


def test_unknown_value_names_the_option():
    with pytest.raises(ValueError, match="position_embedding_init"):
        GeneBertConfig.tiny(position_embedding_init="rotary")
