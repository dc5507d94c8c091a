"""torch.compile (inductor) and bf16 autocast on the CPU: a compiled training step computes what eager does, the
Trainer runs GeneBERT under bf16 autocast (`--bf16`), and run_pretraining.py takes `--torch_compile`.

The compile test pays inductor's cold compilation (C++ kernels): about 130 s on this project's loaded 2-core
machine, about 6 s when inductor's on-disk cache is warm. Timings are not asserted.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from genebert.data import DataCollatorForGenomeModeling
from genebert.genomics.corpus import load_corpus


def _config(**overrides) -> GeneBertConfig:
    values = {"num_motifs": 3, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, **overrides}
    return GeneBertConfig.tiny(**values)


def _batch(config: GeneBertConfig, batch: int = 4, length: int = 64) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    input_ids = torch.randint(5, config.vocab_size, (batch, length), generator=gen)
    input_ids[:, 0] = 2
    masked = torch.rand(batch, length, generator=gen) < 0.15
    masked[:, 0] = False
    labels = torch.full_like(input_ids, -100)
    labels[masked] = input_ids[masked]
    return {
        "input_ids": input_ids.masked_fill(masked, 4),
        "attention_mask": torch.ones_like(input_ids),
        "token_type_ids": torch.zeros_like(input_ids),
        "labels": labels,
        "next_segment_label": torch.arange(batch) % 2,
        "region_matrix": torch.rand(batch, config.num_regions, config.num_motifs, generator=gen),
    }


def test_torch_compile_is_an_argument_of_run_pretraining():
    from genebert.training.pretrain import parse_arguments

    _, _, args = parse_arguments(["--corpus_dir", "c", "--torch_compile", "true", "--bf16", "true"])
    assert args.torch_compile is True and args.bf16 is True
    assert args.torch_compile_backend == "inductor"  # transformers' default once torch_compile is on


@pytest.mark.slow
def test_compiled_training_steps_equal_eager():
    torch.manual_seed(0)
    config = _config()
    eager = GeneBertForPreTraining(config).train()
    compiled_model = copy.deepcopy(eager)
    compiled = torch.compile(compiled_model, backend="inductor")
    batch = _batch(config)
    optimizers = [torch.optim.AdamW(m.parameters(), lr=1e-3) for m in (eager, compiled_model)]
    for step in range(2):
        losses, grads = [], []
        for model, optimizer in zip((eager, compiled), optimizers, strict=True):
            optimizer.zero_grad(set_to_none=True)
            out = model(**batch)
            out.loss.backward()
            losses.append(out.loss.detach())
            grads.append(torch.cat([p.grad.flatten() for p in optimizer.param_groups[0]["params"]]))
            optimizer.step()
        # inductor fuses and reorders float32 arithmetic: equal up to rounding
        torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=0.0, msg=f"loss, step {step}")
        scale = grads[0].abs().max()
        assert (grads[1] - grads[0]).abs().max() <= 1e-4 * scale, f"gradients, step {step}"


def _trainer(tiny_corpus, out, bf16: bool):
    from transformers import TrainingArguments

    from genebert.training import GeneBertTrainer

    corpus = load_corpus(tiny_corpus)
    kmer = corpus.metadata["config"]["kmer"]
    collator = DataCollatorForGenomeModeling(
        GeneBertTokenizer(kmer=kmer), corpus.regions, np.asarray(corpus.samples["region_ids"]), seed=2
    )
    torch.manual_seed(0)
    model = GeneBertForPreTraining(_config(kmer=kmer, num_motifs=len(corpus.motif_names)))
    args = TrainingArguments(
        output_dir=str(out), bf16=bf16, use_cpu=True, max_steps=3, per_device_train_batch_size=4,
        learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to="none", seed=5,
        remove_unused_columns=False, dataloader_num_workers=0,
    )  # fmt: skip
    return GeneBertTrainer(model=model, args=args, train_dataset=corpus.samples, data_collator=collator)


def test_bf16_autocast_through_the_trainer(tiny_corpus, tmp_path):
    dtypes = []
    losses = {}
    for bf16 in (False, True):
        trainer = _trainer(tiny_corpus, tmp_path / str(bf16), bf16)
        query = trainer.model.bert.encoder.layer[0].attention.self.query
        handle = query.register_forward_hook(
            lambda m, a, output, bf16=bf16: dtypes.append((bf16, output.dtype))
        )
        trainer.train()
        handle.remove()
        losses[bf16] = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        assert (
            trainer.model.bert.embeddings.word_embeddings.weight.dtype == torch.float32
        )  # fp32 master weights
    assert {dtype for bf16, dtype in dtypes if bf16} == {torch.bfloat16}  # autocast ran the matmuls in bf16
    assert {dtype for bf16, dtype in dtypes if not bf16} == {torch.float32}
    assert len(losses[True]) == 3 and all(np.isfinite(losses[True]))
    # bf16 keeps 8 bits of mantissa: the first loss (same weights, same batch) agrees to about 1 %
    assert losses[True][0] == pytest.approx(losses[False][0], rel=2e-2)


def test_run_pretraining_takes_bf16(tiny_corpus, tmp_path):
    from genebert.training.pretrain import main

    out = tmp_path / "run"
    main(
        ["--corpus_dir", str(tiny_corpus), "--output_dir", str(out), "--preset", "tiny", "--max_steps", "2",
         "--per_device_train_batch_size", "4", "--eval_strategy", "no", "--save_strategy", "no",
         "--logging_steps", "1", "--bf16", "true", "--dataloader_num_workers", "0"]
    )  # fmt: skip
    args = json.loads((out / "training_args.json").read_text())
    assert args["bf16"] is True
    logged = [e["loss"] for e in json.loads((out / "log_history.json").read_text()) if "loss" in e]
    assert len(logged) == 2 and all(np.isfinite(logged))
