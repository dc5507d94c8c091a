"""GeneBertTokenizer: vocabulary, exact ids, special tokens, errors, decode, fast/slow parity, round trips."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest
import torch
from conftest import run_without_genebert
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from genebert import GeneBertConfig, GeneBertTokenizer
from genebert.tokenization_genebert import KmerEncoder, build_kmer_vocab


def kmer_id(kmer: str) -> int:
    """Independent reference: 5 special tokens, then product("ATCG") order, i.e. base 4 with A,T,C,G = 0..3."""
    value = 0
    for base in kmer:
        value = value * 4 + "ATCG".index(base)
    return 5 + value


@pytest.fixture(scope="module")
def tokenizer() -> GeneBertTokenizer:
    return GeneBertTokenizer()


def slow_copy(tokenizer: GeneBertTokenizer) -> GeneBertTokenizer:
    slow = GeneBertTokenizer(kmer=tokenizer.kmer)
    slow.use_vectorized = False
    return slow


# ------------------------------------------------------------------------------------------- vocabulary
@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_vocab_is_dnabert_order(k):
    vocab = build_kmer_vocab(k)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocab[5:] == ["".join(p) for p in itertools.product("ATCG", repeat=k)]
    assert len(GeneBertTokenizer(kmer=k)) == 4**k + 5
    assert GeneBertConfig(kmer=k).vocab_size == 4**k + 5


@pytest.mark.parametrize("k", [2, 7, 0])
def test_kmer_out_of_range(k):
    with pytest.raises(ValueError, match="kmer"):
        GeneBertTokenizer(kmer=k)


def test_vocab_file_round_trip_and_kmer_inferred(tmp_path):
    tok = GeneBertTokenizer(kmer=4)
    tok.save_pretrained(tmp_path)
    lines = (tmp_path / "vocab.txt").read_text().splitlines()
    assert lines == build_kmer_vocab(4)
    loaded = GeneBertTokenizer(vocab_file=str(tmp_path / "vocab.txt"))
    assert loaded.kmer == 4
    reloaded = GeneBertTokenizer.from_pretrained(tmp_path)
    assert reloaded.kmer == 4 and reloaded.model_max_length == 512
    assert reloaded("ACGTTGCA")["input_ids"] == tok("ACGTTGCA")["input_ids"]


def test_vocab_file_in_wrong_order_is_refused_with_line(tmp_path):
    vocab = build_kmer_vocab(3)
    vocab[7], vocab[8] = vocab[8], vocab[7]
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n")
    with pytest.raises(ValueError, match=r"vocab\.txt, line 8: expected 'AAC'"):
        GeneBertTokenizer(vocab_file=str(path))
    with pytest.raises(ValueError, match="holds 3-mers but kmer=6"):
        GeneBertTokenizer(vocab_file=str(path), kmer=6)


# -------------------------------------------------------------------------------------------- exact ids
def test_exact_ids_single(tokenizer):
    encoded = tokenizer("ACGTACG")
    assert encoded["input_ids"] == [2, kmer_id("ACGTAC"), kmer_id("CGTACG"), 3]
    assert encoded["input_ids"] == [2, 727, 2896, 3]
    assert encoded["token_type_ids"] == [0, 0, 0, 0]
    assert encoded["attention_mask"] == [1, 1, 1, 1]
    assert tokenizer.tokenize("ACGTACG") == ["ACGTAC", "CGTACG"]


@pytest.mark.parametrize("k", [3, 4, 5])
def test_exact_ids_other_k(k):
    tok = GeneBertTokenizer(kmer=k)
    seq = "GATTACAGC"
    expected = [2] + [kmer_id(seq[i : i + k]) for i in range(len(seq) - k + 1)] + [3]
    assert tok(seq)["input_ids"] == expected
    assert tok([seq, seq])["input_ids"] == [expected, expected]


def test_pair_layout(tokenizer):
    encoded = tokenizer("ACGTACG", "TTTTTTTT")
    assert encoded["input_ids"] == [
        2,
        727,
        2896,
        3,
        kmer_id("TTTTTT"),
        kmer_id("TTTTTT"),
        kmer_id("TTTTTT"),
        3,
    ]
    assert encoded["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1, 1]
    batch = tokenizer(["ACGTACG", "AAAAAAA"], ["TTTTTTTT", "GGGGGG"], padding=True, return_tensors="pt")
    assert batch["input_ids"].tolist()[0] == encoded["input_ids"]
    assert batch["token_type_ids"].tolist()[1] == [0, 0, 0, 0, 1, 1, 0, 0]
    assert batch["attention_mask"].tolist()[1] == [1, 1, 1, 1, 1, 1, 0, 0]


def test_lower_case_and_ambiguity_codes(tokenizer):
    assert tokenizer("acgtacg")["input_ids"] == tokenizer("ACGTACG")["input_ids"]
    ids = tokenizer("ACGTACGNAAAAAA")["input_ids"][1:-1]
    # k-mers starting at 2..7 contain the N at position 7
    assert ids[:2] == [kmer_id("ACGTAC"), kmer_id("CGTACG")]
    assert ids[2:8] == [1] * 6
    assert ids[8:] == [kmer_id("AAAAAA")]
    for code in "RYSWKMBDHVN" + "rysn":
        assert 1 in tokenizer(f"AAAAA{code}AAAAA")["input_ids"]
        assert 1 in tokenizer([f"AAAAA{code}AAAAA"])["input_ids"][0]


@pytest.mark.parametrize(
    ("sequence", "char", "position"),
    [
        ("ACGT5ACGT", "5", 4),
        ("ACG TACGT", " ", 3),
        ("ACGT-ACGT", "-", 4),
        ("ACGTÄCGT", "Ä", 4),
        ("ACGTU", "U", 4),
        ("\nACGT", "\n", 0),
    ],
)
def test_invalid_characters_named_with_position(tokenizer, sequence, char, position):
    with pytest.raises(ValueError) as single:
        tokenizer(sequence)
    assert repr(char) in str(single.value) and f"position {position}" in str(single.value)
    with pytest.raises(ValueError) as batch:
        tokenizer(["ACGTACGT", sequence], padding=True, return_tensors="pt")
    assert repr(char) in str(batch.value) and f"position {position}" in str(batch.value)
    with pytest.raises(ValueError, match=f"position {position} of sequence 1"):
        KmerEncoder(6).encode_batch(["ACGTACGT", sequence])


def test_empty_and_short_sequences(tokenizer):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tokenizer("")["input_ids"] == [2, 3]
    with pytest.warns(UserWarning, match="shorter than k=6"):
        assert tokenizer("ACG")["input_ids"] == [2, 3]
    with pytest.warns(UserWarning, match="shorter than k=6"):
        batch = tokenizer(["ACG", "ACGTACG", ""], padding=True, return_tensors="np")
    assert batch["input_ids"].tolist() == [[2, 3, 0, 0], [2, 727, 2896, 3], [2, 3, 0, 0]]


def test_padding_truncation_tensors(tokenizer):
    seqs = ["ACGT" * 200, "ACGTAC" * 3]
    out = tokenizer(seqs, padding="max_length", truncation=True, max_length=16, return_tensors="pt")
    assert isinstance(out["input_ids"], torch.Tensor) and out["input_ids"].shape == (2, 16)
    assert out["input_ids"][0, -1].item() == 3 and out["attention_mask"][0].sum().item() == 16
    assert out["attention_mask"][1].sum().item() == 2 + 13
    np_out = tokenizer(seqs, padding=True, truncation=True, return_tensors="np")
    assert isinstance(np_out["input_ids"], np.ndarray) and np_out["input_ids"].shape == (2, 512)
    assert tokenizer.model_max_length == 512
    left = tokenizer(seqs, padding="longest", truncation=True, max_length=20, padding_side="left")
    assert left["input_ids"][1][:2] == [0, 0] and left["attention_mask"][1][:2] == [0, 0]


# ------------------------------------------------------------------------------------------------ decode
def test_decode_examples(tokenizer):
    assert tokenizer.decode(tokenizer("ACGTACG")["input_ids"]) == "ACGTACG"
    assert tokenizer.decode([2, 727, 2896, 3], skip_special_tokens=True) == "ACGTACG"
    assert tokenizer.decode(tokenizer("ACGTACG", "TTTTTTTT")["input_ids"]) == "ACGTACG TTTTTTTT"
    # a [MASK] keeps its place: the masked k-mer's bases come back from its neighbours
    ids = tokenizer("ACGTACGTA")["input_ids"]
    ids[2] = tokenizer.mask_token_id
    assert tokenizer.decode(ids) == "ACGTACGTA"
    assert tokenizer.batch_decode([ids, ids]) == ["ACGTACGTA"] * 2


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ACGTacgt", min_size=6, max_size=300), st.sampled_from([3, 4, 5, 6]))
def test_decode_inverts_encode(sequence, k):
    tok = _tokenizers_by_k()[k]
    assert tok.decode(tok(sequence)["input_ids"]) == sequence.upper()
    assert tok.batch_decode(tok([sequence, sequence[::-1]])["input_ids"]) == [
        sequence.upper(),
        sequence[::-1].upper(),
    ]


# --------------------------------------------------------------------------------- fast == slow path
_CACHE: dict = {}


def _tokenizers_by_k() -> dict[int, GeneBertTokenizer]:
    if not _CACHE:
        _CACHE.update({k: GeneBertTokenizer(kmer=k) for k in (3, 4, 5, 6)})
    return _CACHE


def _slow_by_k() -> dict[int, GeneBertTokenizer]:
    key = "slow"
    if key not in _CACHE:
        _CACHE[key] = {k: slow_copy(t) for k, t in _tokenizers_by_k().items()}
    return _CACHE[key]


dna_text = st.text(alphabet="ACGTNacgtnRYKM", min_size=0, max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    k=st.sampled_from([3, 4, 5, 6]),
    batch=st.lists(dna_text, min_size=1, max_size=6),
    pair=st.booleans(),
    padding=st.sampled_from([False, True, "max_length"]),
    truncation=st.sampled_from([False, True, "only_first", "only_second", "longest_first"]),
    max_length=st.sampled_from([None, 8, 24, 60]),
    padding_side=st.sampled_from(["right", "left"]),
    truncation_side=st.sampled_from(["right", "left"]),
    pad_to_multiple_of=st.sampled_from([None, 8]),
    extras=st.booleans(),
    add_special_tokens=st.booleans(),
    data=st.data(),
)
def test_vectorised_batch_equals_per_kmer_path(
    k,
    batch,
    pair,
    padding,
    truncation,
    max_length,
    padding_side,
    truncation_side,
    pad_to_multiple_of,
    extras,
    add_special_tokens,
    data,
):
    fast, slow = _tokenizers_by_k()[k], _slow_by_k()[k]
    pairs = data.draw(st.lists(dna_text, min_size=len(batch), max_size=len(batch))) if pair else None
    if truncation in ("only_first", "only_second") and not pair:
        truncation = True
    kwargs = dict(
        padding=padding,
        truncation=truncation,
        max_length=max_length,
        padding_side=padding_side,
        pad_to_multiple_of=pad_to_multiple_of if padding else None,
        return_special_tokens_mask=extras,
        return_length=extras,
        add_special_tokens=add_special_tokens,
    )
    if padding == "max_length" and max_length is None:
        kwargs["max_length"] = 64
    results = []
    for tok in (fast, slow):
        tok.truncation_side = truncation_side
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results.append(("ok", dict(tok(batch, pairs, **kwargs))))
        except Exception as error:  # both paths must fail the same way
            results.append(("error", type(error).__name__))
    assert results[0] == results[1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="ACGTNacgtnWS", min_size=0, max_size=700), min_size=1, max_size=8))
def test_vectorised_tensors_equal_per_kmer_path(batch):
    fast, slow = _tokenizers_by_k()[6], _slow_by_k()[6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fast(batch, padding=True, truncation=True, return_tensors="pt")
        b = slow(batch, padding=True, truncation=True, return_tensors="pt")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(alphabet="ACGTN", min_size=0, max_size=50), min_size=1, max_size=5),
    st.sampled_from([3, 6]),
)
def test_kmer_encoder_matches_naive(batch, k):
    ids, offsets, lengths = KmerEncoder(k).encode_batch(batch)
    for i, seq in enumerate(batch):
        naive = [1 if "N" in seq[j : j + k] else kmer_id(seq[j : j + k]) for j in range(len(seq) - k + 1)]
        assert ids[offsets[i] : offsets[i + 1]].tolist() == naive
        assert lengths[i] == len(naive)


def test_added_special_token_text_goes_through_slow_path(tokenizer):
    ids = tokenizer(["ACGTAC[MASK]", "ACGTAC"], padding=True)["input_ids"]
    assert ids[0] == [2, kmer_id("ACGTAC"), 4, 3]


# ----------------------------------------------------------------------------------- Auto / remote code
def test_auto_tokenizer_in_process(tmp_path):
    GeneBertConfig(kmer=5).save_pretrained(tmp_path)
    GeneBertTokenizer(kmer=5).save_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(tok, GeneBertTokenizer) and tok.kmer == 5
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["auto_map"]["AutoTokenizer"][0] == "tokenization_genebert.GeneBertTokenizer"
    assert (tmp_path / "tokenization_genebert.py").is_file()


def test_auto_tokenizer_remote_code_in_fresh_process(tmp_path):
    saved = tmp_path / "tok"
    GeneBertTokenizer(kmer=6).save_pretrained(saved)
    expected = GeneBertTokenizer(kmer=6)(["ACGTACGNNacgt", "GATTACA"], ["TTTTTTT", "CCCCCCC"], padding=True)
    result = run_without_genebert(
        f"""
        import json
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained({str(saved)!r}, trust_remote_code=True)
        assert type(tok).__name__ == "GeneBertTokenizer", type(tok)
        assert "genebert" not in type(tok).__module__.split(".")[0]
        out = tok(["ACGTACGNNacgt", "GATTACA"], ["TTTTTTT", "CCCCCCC"], padding=True)
        print(json.dumps(dict(out)))
        """,
        tmp_path,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == dict(expected)
