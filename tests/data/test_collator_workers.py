"""The mask-rate schedule and the epoch reach DataLoader workers, persistent ones included, whichever way the
workers are started (fork: Linux's default before Python 3.14; spawn: macOS and Windows; forkserver: Linux from
Python 3.14). A change reaches batches collated after it; batches already prefetched keep the old rate."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from torch.utils.data import DataLoader

from genebert import GeneBertTokenizer
from genebert.data import DataCollatorForGenomeModeling
from genebert.genomics.corpus import load_corpus


def _collator(tiny_corpus):
    corpus = load_corpus(tiny_corpus)
    tokenizer = GeneBertTokenizer(kmer=corpus.metadata["config"]["kmer"])
    collator = DataCollatorForGenomeModeling(
        tokenizer, corpus.regions, np.asarray(corpus.samples["region_ids"]), mask_rate=0.15, seed=1
    )
    return corpus, collator


def _rate(batch) -> float:
    labels = batch["labels"]
    tokens = (batch["attention_mask"] == 1) & (batch["input_ids"] > 4)  # k-mers, not special tokens
    return float((labels != -100).sum() / (tokens | (labels != -100)).sum())


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_mask_rate_and_epoch_reach_persistent_workers(tiny_corpus, context):
    corpus, collator = _collator(tiny_corpus)
    loader = DataLoader(
        corpus.samples, batch_size=4, collate_fn=collator, num_workers=1, persistent_workers=True,
        prefetch_factor=1, multiprocessing_context=context,
    )  # fmt: skip
    first = next(iter(loader))  # starts the worker
    assert _rate(first) == pytest.approx(0.15, abs=0.02)
    collator.mask_rate, collator.epoch = 0.5, 3
    rates = [_rate(batch) for batch in loader]  # a new epoch on the same (persistent) worker
    # at most the one prefetched batch (prefetch_factor 1) was collated before the change
    assert all(rate == pytest.approx(0.5, abs=0.03) for rate in rates[1:]), rates
    again = collator(corpus.samples.__getitems__([0, 1, 2, 3]))
    assert _rate(again) == pytest.approx(0.5, abs=0.03)


def test_copies_outside_process_start_get_plain_values(tiny_corpus):
    _, collator = _collator(tiny_corpus)
    for clone in (copy.deepcopy(collator), pickle.loads(pickle.dumps(collator))):
        assert clone.mask_rate == 0.15
        clone.mask_rate = 0.3  # independent of the original
        assert collator.mask_rate == 0.15
