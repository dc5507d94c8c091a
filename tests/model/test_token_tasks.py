"""Token-level use: offsets, per-base alignment, masked-LM (fill-mask, per-base predictions), token classification,
and long DNA (5 kb) in transformers' standard text-classification and feature-extraction pipelines."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import (
    AutoModelForMaskedLM,
    AutoModelForTokenClassification,
    pipeline,
)

from genebert import (
    GeneBertConfig,
    GeneBertForMaskedLM,
    GeneBertForPreTraining,
    GeneBertForSequenceClassification,
    GeneBertForTokenClassification,
    GeneBertTokenizer,
)


@pytest.fixture(scope="module")
def tokenizer():
    return GeneBertTokenizer(kmer=6)


def random_dna(length: int, seed: int = 0) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), size=length))


# ----------------------------------------------------------------------------------------------- offsets


def test_offset_mapping_single_pairs_batches_and_truncation():
    tokenizer = GeneBertTokenizer(kmer=3)
    single = tokenizer("ACGTACG", return_offsets_mapping=True)
    assert single["offset_mapping"] == [(0, 0), (0, 3), (1, 4), (2, 5), (3, 6), (4, 7), (0, 0)]
    pair = tokenizer(["ACGTAC"], ["TTTTG"], return_offsets_mapping=True, padding="max_length", max_length=12)
    segment_a = [(0, 0), (0, 3), (1, 4), (2, 5), (3, 6), (0, 0)]
    segment_b = [(0, 3), (1, 4), (2, 5), (0, 0)]
    assert pair["offset_mapping"][0] == [*segment_a, *segment_b, (0, 0), (0, 0)]
    # a token's span really holds its k-mer
    sequence = random_dna(40, seed=1)
    encoded = tokenizer(sequence, return_offsets_mapping=True, return_tensors="pt")
    assert encoded["input_ids"].shape == encoded["offset_mapping"].shape[:2]
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
    for token, (start, end) in zip(tokens, encoded["offset_mapping"][0].tolist(), strict=True):
        if end > start:
            assert sequence[start:end] == token
    # truncation from the left keeps the last k-mers, and their spans say so
    tokenizer.truncation_side = "left"
    left = tokenizer(sequence, return_offsets_mapping=True, truncation=True, max_length=6)
    assert left["offset_mapping"][1:-1] == [(34, 37), (35, 38), (36, 39), (37, 40)]
    tokenizer.truncation_side = "right"


def test_per_base_alignment_helpers(tokenizer):
    sequence = random_dna(30, seed=2)
    base_labels = [int(i >= 12) for i in range(30)]
    labels = tokenizer.align_labels_with_tokens(base_labels)
    encoded = tokenizer(sequence, return_offsets_mapping=True)
    assert len(labels) == len(encoded["input_ids"]) and labels[0] == labels[-1] == -100
    # k-mer i is labelled by its centre base i + 2 (k = 6)
    assert labels[1:-1] == [base_labels[i + 2] for i in range(25)]
    # per-token scores back to per-base: the mean over the k-mers covering each base
    token_scores = np.arange(len(encoded["input_ids"]), dtype=float)
    per_base = tokenizer.scores_per_base(token_scores, encoded["offset_mapping"], num_bases=30)
    expected = [np.mean([1 + i for i in range(max(0, b - 5), min(b, 24) + 1)]) for b in range(30)]
    np.testing.assert_allclose(per_base, expected)


# ------------------------------------------------------------------------------------------ masked LM


def test_mask_bases_masks_every_covering_kmer_and_predict_bases_reads_them_back(tokenizer):
    sequence = random_dna(60, seed=3)
    start, end = 20, 23
    masked = tokenizer.mask_bases(sequence, start, end, return_tensors="pt")
    ids = masked["input_ids"][0]
    masked_kmers = [i - 1 for i in range(len(ids)) if ids[i] == tokenizer.mask_token_id]
    assert masked_kmers == list(range(start - 5, end))  # every k-mer that covers base 20, 21 or 22
    original = tokenizer(sequence)["input_ids"]
    # logits that put all the mass on the true k-mer at every position: the hidden bases come back exactly
    logits = torch.full((len(original), len(tokenizer.vocab)), -30.0)
    logits[torch.arange(len(original)), torch.tensor(original)] = 30.0
    bases, probabilities = tokenizer.predict_bases(logits, masked["input_ids"], start, end)
    assert bases == sequence[start:end]
    assert probabilities.shape == (3, 4) and np.allclose(probabilities.sum(1), 1)


def test_masked_lm_loads_the_mgm_head_of_a_pretraining_checkpoint_and_fill_mask_runs(tmp_path, tokenizer):
    torch.manual_seed(0)
    pretraining = GeneBertForPreTraining(GeneBertConfig.tiny(num_motifs=8)).eval()
    pretraining.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    masked_lm = AutoModelForMaskedLM.from_pretrained(tmp_path).eval()
    assert type(masked_lm) is GeneBertForMaskedLM
    batch = tokenizer.mask_bases(random_dna(80, seed=4), 30, 32, return_tensors="pt")
    with torch.no_grad():
        expected = pretraining(**batch).prediction_logits
        got = masked_lm(**batch).logits
    torch.testing.assert_close(got, expected)
    # labels: loss over the masked positions only
    labels = torch.full_like(batch["input_ids"], -100)
    labels[0, 25] = 100
    loss = masked_lm(**batch, labels=labels).loss
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(got[0, 25:26], torch.tensor([100])))

    fill = pipeline("fill-mask", model=str(tmp_path), device=-1)
    results = fill("ACGTAGCATCGG[MASK]TCTATCTATCGACACTTGG", top_k=3)
    assert len(results) == 3 and all(len(r["token_str"]) == 6 for r in results)
    assert results[0]["score"] >= results[1]["score"] >= results[2]["score"]


def test_token_classification(tmp_path, tokenizer):
    torch.manual_seed(0)
    model = GeneBertForTokenClassification(GeneBertConfig.tiny(num_labels=3)).eval()
    sequence = random_dna(50, seed=5)
    encoded = tokenizer(sequence, return_tensors="pt")
    labels = torch.tensor([tokenizer.align_labels_with_tokens([i % 3 for i in range(50)])])
    out = model(**encoded, labels=labels)
    assert out.logits.shape == (1, encoded["input_ids"].shape[1], 3)
    keep = labels[0] != -100
    torch.testing.assert_close(
        out.loss, torch.nn.functional.cross_entropy(out.logits[0][keep], labels[0][keep])
    )
    model.save_pretrained(tmp_path)
    loaded = AutoModelForTokenClassification.from_pretrained(tmp_path).eval()
    assert type(loaded) is GeneBertForTokenClassification
    with torch.no_grad():
        torch.testing.assert_close(loaded(**encoded).logits, out.logits)


# ------------------------------------------------------------------------------------------- long DNA


def test_standard_pipelines_take_5kb_dna(tmp_path, tokenizer):
    """text-classification and feature-extraction truncate 5 kb of DNA to the model's window (515 bases), as the
    docs and the card say, instead of failing on the position embeddings."""
    torch.manual_seed(0)
    model = GeneBertForSequenceClassification(GeneBertConfig.tiny(num_labels=2)).eval()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    long_dna = random_dna(5_000, seed=6)
    window = long_dna[:515]  # 510 k-mers + [CLS] + [SEP] = 512 tokens

    classify = pipeline("text-classification", model=str(tmp_path), device=-1)
    got = classify(long_dna, top_k=None)
    assert got == classify(window, top_k=None)
    with torch.no_grad():
        probabilities = model(**tokenizer(window, return_tensors="pt")).logits.softmax(-1)[0]
    assert {r["label"]: pytest.approx(r["score"], rel=1e-5) for r in got} == {
        f"LABEL_{i}": p for i, p in enumerate(probabilities.tolist())
    }

    features = pipeline("feature-extraction", model=str(tmp_path), device=-1)
    long_features = features(long_dna, return_tensors=True)
    assert tuple(long_features.shape) == (1, 512, model.config.hidden_size)
    torch.testing.assert_close(long_features, features(window, return_tensors=True))
    # explicit truncation=False still gives every k-mer
    assert len(tokenizer(long_dna, truncation=False)["input_ids"]) == 5_000 - 5 + 2
