"""genebert.training.sharding without a process group: what the Trainer changes under FSDP2 and DeepSpeed leaves
the model's outputs and its checkpoint format as they were (the distributed runs: test_fsdp_cpu.py,
test_deepspeed_cpu.py)."""

from __future__ import annotations

import torch

from genebert import GeneBertConfig, GeneBertForPreTraining
from genebert.training.sharding import (
    one_element_scalar_parameters,
    prepare_for_fsdp2,
    replicated_parameters,
    squeeze_one_element_entries,
)


def _model() -> GeneBertForPreTraining:
    torch.manual_seed(0)
    config = GeneBertConfig.tiny(num_motifs=3, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return GeneBertForPreTraining(config).eval()


def _inputs(model) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(2)
    ids = torch.randint(5, model.config.vocab_size, (3, 20), generator=gen)
    ids[:, 0] = 2
    return {"input_ids": ids, "region_matrix": torch.rand(3, 10, 3, generator=gen)}


def test_parameters_fsdp2_cannot_shard():
    model = _model()
    assert sorted(replicated_parameters(model)) == ["cls.predictions.bias", "logit_scale"]
    assert prepare_for_fsdp2(model) == ["cls.predictions.bias", "logit_scale"]
    assert prepare_for_fsdp2(model) == ["cls.predictions.bias", "logit_scale"]  # idempotent: one hook each
    assert len(model.logit_scale._backward_hooks) == 1
    srm_only = GeneBertForPreTraining(GeneBertConfig.tiny(num_motifs=3, use_mgm=False, use_ngsp=False))
    assert sorted(replicated_parameters(srm_only)) == ["logit_scale"]


def test_one_element_logit_scale_keeps_outputs_and_checkpoint_format(tmp_path):
    model = _model()
    inputs = _inputs(model)
    with torch.no_grad():
        before = model(**inputs).logits_per_sequence
    assert one_element_scalar_parameters(model) == ["logit_scale"]
    assert one_element_scalar_parameters(model) == []  # idempotent
    assert model.logit_scale.shape == (1,)
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs).logits_per_sequence, before)
    state = model.state_dict()
    assert state["logit_scale"].shape == ()  # checkpoints keep the 0-dim shape
    model.load_state_dict(state)  # and 0-dim entries load back
    assert model.logit_scale.shape == (1,)
    consolidated = {"logit_scale": torch.tensor([2.5]), "other": torch.zeros(1)}  # as ZeRO-3 gathers it
    squeezed = squeeze_one_element_entries(model, consolidated)
    assert squeezed["logit_scale"].shape == () and squeezed["other"].shape == (1,)
    model.save_pretrained(tmp_path)
    reloaded = GeneBertForPreTraining.from_pretrained(tmp_path).eval()
    assert reloaded.logit_scale.shape == ()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**inputs).logits_per_sequence, before)
