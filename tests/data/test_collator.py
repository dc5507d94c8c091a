"""Leak-free k-mer masking (property tests) and the pre-training collator."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genebert import GeneBertTokenizer
from genebert.data import DataCollatorForGenomeModeling
from genebert.data.masking import KEEP, MASK, RANDOM, mask_regions
from genebert.genomics.corpus import load_corpus

TOKENIZERS = {k: GeneBertTokenizer(kmer=k) for k in (3, 4, 5, 6)}


def encoder_for(tokenizer):
    def encode(sequences):
        ids, offsets, _ = tokenizer.encoder.encode_batch(sequences)
        return [ids[offsets[i] : offsets[i + 1]] for i in range(len(sequences))]

    return encode


def run_masking(sequences, k, rate, mean_span, seed):
    tokenizer = TOKENIZERS[k]
    encode = encoder_for(tokenizer)
    token_ids = encode(sequences)
    result = mask_regions(
        sequences,
        token_ids,
        encode,
        kmer=k,
        rate=rate,
        mean_span_bp=mean_span,
        rng=np.random.default_rng(seed),
        mask_token_id=tokenizer.mask_token_id,
        unk_token_id=tokenizer.unk_token_id,
    )
    return tokenizer, token_ids, result


region_strategy = st.lists(
    st.text(alphabet="ACGTACGTACGTN", min_size=0, max_size=120), min_size=1, max_size=10
)


@settings(max_examples=300, deadline=None)
@given(
    sequences=region_strategy,
    k=st.sampled_from([3, 4, 5, 6]),
    rate=st.sampled_from([0.15, 0.2, 0.3]),
    mean_span=st.sampled_from([1.0, 3.0, 8.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_masked_tokens_are_exactly_those_containing_hidden_bases(sequences, k, rate, mean_span, seed):
    tokenizer, token_ids, result = run_masking(sequences, k, rate, mean_span, seed)
    offset = 0
    for sequence, ids, hidden, fates in zip(sequences, token_ids, result.hidden, result.fates, strict=True):
        for t in range(len(ids)):
            contains_hidden = bool(hidden[t : t + k].any())
            masked = result.masked[offset + t]
            assert masked == contains_hidden  # masked <=> contains a hidden base
            shown = int(result.input_ids[offset + t])
            if not masked:
                assert shown == ids[t] and result.labels[offset + t] == -100
                continue
            assert result.labels[offset + t] == (ids[t] if ids[t] != tokenizer.unk_token_id else -100)
            token_fates = set(fates[t : t + k][hidden[t : t + k]].tolist())
            if MASK in token_fates:
                assert shown == tokenizer.mask_token_id  # a [MASK] span's base never shows
            elif RANDOM in token_fates:
                kmer = tokenizer.convert_ids_to_tokens(shown)
                if kmer == tokenizer.unk_token:  # a visible N remains in the corrupted k-mer
                    assert any(sequence[t + j] == "N" and fates[t + j] != RANDOM for j in range(k))
                    continue
                # the shown k-mer agrees with the true sequence wherever the base is not randomised
                for j in range(k):
                    if fates[t + j] != RANDOM and sequence[t + j] != "N":
                        assert kmer[j] == sequence[t + j].upper()
            else:
                assert token_fates == {KEEP} and shown == ids[t]
        offset += len(ids)


@settings(max_examples=100, deadline=None)
@given(
    lengths=st.lists(st.integers(55, 400), min_size=2, max_size=10),
    k=st.sampled_from([3, 6]),
    rate=st.sampled_from([0.15, 0.2]),
    mean_span=st.sampled_from([1.0, 2.0, 5.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_realised_rate_within_one_point(lengths, k, rate, mean_span, seed):
    rng = np.random.default_rng(seed)
    sequences = ["".join(rng.choice(list("ACGT"), n)) for n in lengths]
    _, token_ids, result = run_masking(sequences, k, rate, mean_span, seed)
    n_tokens = sum(len(t) for t in token_ids)
    assert abs(result.masked.sum() / n_tokens - rate) <= 0.01


def test_random_spans_are_consistent_strings():
    sequences = ["ACGTTGCAAGTCCGATAGCTAGGCTAACGTTGCAAGTCCGATAGCTAGGCTA" * 4]
    for seed in range(200):
        tokenizer, _, result = run_masking(sequences, 6, 0.3, 4.0, seed)
        kmers = tokenizer.convert_ids_to_tokens(result.input_ids.tolist())
        for a, b in itertools.pairwise(kmers):
            if "[" not in a and "[" not in b:
                assert a[1:] == b[:-1]  # overlapping tokens agree: one consistent (corrupted) string


def test_span_fates_are_80_10_10_and_dnabert_scheme():
    counts = np.zeros(3)
    for seed in range(300):
        rng = np.random.default_rng(seed)
        sequence = "".join(rng.choice(list("ACGT"), 500))
        _, _, result = run_masking([sequence], 6, 0.15, 1.0, seed)
        fates, hidden = result.fates[0], result.hidden[0]
        padded = np.concatenate([[False], hidden, [False]])
        starts = np.flatnonzero(padded[1:] & ~padded[:-1])
        for start in starts:
            counts[fates[start]] += 1
    shares = counts / counts.sum()
    assert (
        abs(shares[MASK] - 0.8) < 0.03 and abs(shares[RANDOM] - 0.1) < 0.02 and abs(shares[KEEP] - 0.1) < 0.02
    )
    # mean span 1 bp: a hidden base masks k consecutive tokens (DNABERT's scheme); runs are longer only where two
    # hidden bases fall within k of each other, or where the last tokens were added to reach the rate exactly
    lengths = []
    for seed in range(50):
        _, _, result = run_masking(["ACGT" * 125], 6, 0.15, 1.0, seed)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], result.masked.astype(int), [0]])))
        starts, ends = edges[::2], edges[1::2]
        interior = (starts > 0) & (ends < len(result.masked))  # runs at the ends are cut by the sequence edge
        lengths += (ends - starts)[interior].tolist()
    assert min(lengths) >= 6 and lengths.count(6) / len(lengths) > 0.5


# ------------------------------------------------------------------------------------------------ collator
@pytest.fixture(scope="module")
def corpus(tiny_corpus):
    return load_corpus(tiny_corpus)


def make_collator(corpus, **kwargs):
    return DataCollatorForGenomeModeling(
        GeneBertTokenizer(kmer=6), corpus.regions, np.asarray(corpus.samples["region_ids"]), **kwargs
    )


def test_collator_batch_structure(corpus):
    collator = make_collator(corpus, return_region_ids=True)
    features = [corpus.samples[i] for i in range(8)]
    batch = collator(features)
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert batch["input_ids"].shape[1] <= 512
    assert batch["region_matrix"].shape == (8, 10, 3)
    tokenizer = collator.tokenizer
    sequences = corpus.regions["sequence"]
    scores = np.asarray(corpus.regions["motif_scores"], dtype=np.float32)
    samples = np.asarray(corpus.samples["region_ids"])
    for row, feature in enumerate(features):
        ids = batch["input_ids"][row].numpy()
        labels = batch["labels"][row].numpy()
        original = np.where(labels != -100, labels, ids)
        length = int(batch["attention_mask"][row].sum())
        seps = np.flatnonzero(original[:length] == tokenizer.sep_token_id)
        assert original[0] == tokenizer.cls_token_id and len(seps) == 2 and seps[1] == length - 1
        assert batch["token_type_ids"][row, : seps[0] + 1].sum() == 0
        assert batch["token_type_ids"][row, seps[0] + 1 : length].min() == 1
        regions = batch["region_ids"][row].tolist()
        np.testing.assert_array_equal(
            batch["region_matrix"][row].numpy(), scores[regions]
        )  # rows = these regions
        assert regions[:5] == feature["region_ids"][:5]
        if batch["next_segment_label"][row] == 1:
            assert regions[5:] == feature["region_ids"][5:]
        else:
            others = [s for s in samples if not np.array_equal(s, feature["region_ids"])]
            assert any(
                list(s[o : o + 5]) == regions[5:] for s in others for o in range(6)
            )  # 5 consecutive regions of another sample
        expected = np.concatenate(
            [[tokenizer.cls_token_id]]
            + [tokenizer(sequences[r], add_special_tokens=False)["input_ids"] for r in regions[:5]]
            + [[tokenizer.sep_token_id]]
            + [tokenizer(sequences[r], add_special_tokens=False)["input_ids"] for r in regions[5:]]
            + [[tokenizer.sep_token_id]]
        )
        recovered = original[:length].copy()
        unk = (labels[:length] == -100) & (ids[:length] != original[:length])
        assert not unk.any()
        masked_unk = (ids[:length] == tokenizer.mask_token_id) & (labels[:length] == -100)
        recovered[masked_unk] = tokenizer.unk_token_id  # masked [UNK] tokens carry no label
        assert recovered.tolist() == expected.tolist()


def test_collator_is_deterministic_per_epoch_and_mixes_labels(corpus):
    features = [corpus.samples[i] for i in range(16)]
    one, two = make_collator(corpus, seed=3), make_collator(corpus, seed=3)
    a, b = one(features), two(features)
    assert all(np.array_equal(a[key], b[key]) for key in a)
    two.epoch = 1
    c = two(features)
    assert not np.array_equal(a["input_ids"], c["input_ids"])
    labels = np.concatenate(
        [make_collator(corpus, seed=s)(features)["next_segment_label"].numpy() for s in range(8)]
    )
    assert 0.3 < labels.mean() < 0.7


def test_mask_rate_setter_changes_rate(corpus):
    collator = make_collator(corpus, mask_rate=0.15)
    features = [corpus.samples[i] for i in range(8)]

    def rate(batch):
        special = 3 * len(features)
        masked = ((batch["labels"] != -100) | (batch["input_ids"] == 4)).sum().item()
        return masked / (batch["attention_mask"].sum().item() - special)

    low = rate(collator(features))
    collator.mask_rate = 0.2
    high = rate(collator(features))
    assert abs(low - 0.15) < 0.02 and abs(high - 0.2) < 0.02


def test_neighbour_copy_baseline():
    tokenizer = TOKENIZERS[6]
    encode = encoder_for(tokenizer)
    rng = np.random.default_rng(5)
    sequence = "".join(rng.choice(list("ACGT"), 300))
    result = mask_regions(
        [sequence],
        encode([sequence]),
        encode,
        kmer=6,
        rate=0.15,
        mean_span_bp=2.0,
        rng=np.random.default_rng(1),
        mask_token_id=4,
        unk_token_id=1,
        fill_base="G",
    )
    hidden = result.hidden[0]
    for t in np.flatnonzero(result.labels != -100):
        guess = "".join("G" if hidden[t + j] else sequence[t + j] for j in range(6))
        assert tokenizer.convert_ids_to_tokens(int(result.baseline_ids[t])) == guess
    assert (result.baseline_ids[result.labels == -100] == -100).all()


def test_collator_returns_the_baseline_on_request(corpus):
    collator = make_collator(corpus, return_baseline=True)
    batch = collator([corpus.samples[i] for i in range(4)])
    masked = batch["labels"] != -100
    assert ((batch["mgm_baseline_ids"] != -100) == masked).all()
    assert collator.fill_base in "ACGT"


# ------------------------------------------------------------------------------- SRM control arm and regions
def test_permuted_pairing_is_a_fixed_derangement_within_groups():
    from genebert.data import permuted_pairing

    train, held_out = np.arange(0, 30), np.arange(32, 40)  # 30, 31: dropped samples, in no group
    partner = permuted_pairing(40, seed=3, groups=[train, held_out])
    np.testing.assert_array_equal(partner, permuted_pairing(40, seed=3, groups=[train, held_out]))
    assert not np.array_equal(partner, permuted_pairing(40, seed=4, groups=[train, held_out]))
    for group in (train, held_out):
        assert (partner[group] != group).all()  # no sample keeps its own matrix
        assert sorted(partner[group]) == sorted(group)  # each matrix shown once, never across groups
    assert partner[30] == 30 and partner[31] == 31
    assert permuted_pairing(1, seed=0).tolist() == [0]  # nothing to swap with: documented fixed point


def test_permuted_region_matrix_is_the_partners_paired_matrix(corpus):
    from genebert.data import permuted_pairing

    n = len(corpus.samples)
    partner = permuted_pairing(n, seed=0)
    features = [corpus.samples[i] for i in range(min(n, 8))]
    paired = make_collator(corpus, negative_probability=0.0, return_region_ids=True)
    permuted = make_collator(corpus, negative_probability=0.5, region_pairing=partner, return_region_ids=True)
    batch = permuted(features)
    partners = [corpus.samples[int(partner[int(f["sample_id"])])] for f in features]
    expected = paired(partners)["region_matrix"]
    # sample i shows exactly the paired matrix of perm[i], whatever its own segment B
    np.testing.assert_array_equal(batch["region_matrix"].numpy(), expected.numpy())
    assert not np.array_equal(batch["region_matrix"].numpy(), paired(features)["region_matrix"].numpy())
    # the sequence side is untouched: same tokens as without the permutation
    plain = make_collator(corpus, negative_probability=0.5, return_region_ids=True)(features)
    assert (plain["input_ids"] == batch["input_ids"]).all() and (
        plain["region_ids"] == batch["region_ids"]
    ).all()
    with pytest.raises(ValueError, match="one partner per sample"):
        make_collator(corpus, region_pairing=partner[:-1])


def test_region_token_index_marks_each_regions_tokens(corpus):
    collator = make_collator(corpus, mask_rate=0.0, return_region_ids=True, return_region_token_index=True)
    batch = collator([corpus.samples[i] for i in range(6)])
    index, ids = batch["region_token_index"].numpy(), batch["input_ids"].numpy()
    assert index.shape == ids.shape
    special = np.isin(ids, [collator.tokenizer.cls_token_id, collator.tokenizer.sep_token_id, 0])
    np.testing.assert_array_equal(index == -1, special | (batch["attention_mask"].numpy() == 0))
    sequences = corpus.regions["sequence"]
    for row, regions in enumerate(batch["region_ids"].numpy()):
        for slot, region in enumerate(regions):
            tokens = ids[row][index[row] == slot]
            expected = collator.tokenizer(sequences[int(region)], add_special_tokens=False)["input_ids"]
            assert tokens.tolist() == expected
    assert "region_token_index" not in make_collator(corpus)([corpus.samples[0]])
