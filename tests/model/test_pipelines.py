"""Pipelines: the standard text-classification / feature-extraction pipelines with GeneBERT, the dna-classification
pipeline (sliding windows, aggregation, reverse complement, validation, batching), embeddings and the predict / embed
command-line handlers."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from transformers import pipeline

from genebert import GeneBertConfig, GeneBertForSequenceClassification, GeneBertTokenizer
from genebert.errors import UsageError
from genebert.pipelines import (
    DnaClassificationPipeline,
    embed,
    reverse_complement,
    window_starts,
)

LABELS = {0: "closed", 1: "open"}


def run_cli(argv: list[str]) -> int:
    """`genebert COMMAND ...`, as a user runs it."""
    from genebert import cli

    return cli.main(argv)


def random_dna(rng: np.random.Generator, length: int) -> str:
    return "".join(rng.choice(list("ACGT"), size=length))


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    config = GeneBertConfig.tiny(num_labels=2, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    model = GeneBertForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(40)  # spread the random scores
    return model, GeneBertTokenizer(kmer=6)


@pytest.fixture(scope="module")
def model_dir(classifier, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "classifier"
    model, tokenizer = classifier
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def dna_pipe(classifier):
    model, tokenizer = classifier
    return pipeline("dna-classification", model=model, tokenizer=tokenizer, device=-1)


def window_logits(model, tokenizer, windows: list[str]) -> np.ndarray:
    with torch.no_grad():
        return model(**tokenizer(windows, padding=True, return_tensors="pt")).logits.double().numpy()


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ------------------------------------------------------------------------------------------ standard pipelines


def test_standard_text_classification_and_feature_extraction(classifier, model_dir):
    model, tokenizer = classifier
    sequence = random_dna(np.random.default_rng(1), 120)
    text = pipeline("text-classification", model=str(model_dir), device=-1)
    scores = {d["label"]: d["score"] for d in text(sequence, top_k=None)}
    expected = softmax(window_logits(model, tokenizer, [sequence]))[0]
    assert scores == pytest.approx({"closed": expected[0], "open": expected[1]}, rel=1e-5)
    batched = text([sequence, sequence[:50]], batch_size=2)
    assert [d["label"] for d in batched] == [d["label"] for d in text([sequence, sequence[:50]])]

    features = pipeline("feature-extraction", model=str(model_dir), device=-1)
    output = features(sequence, return_tensors=True)
    assert output.shape == (1, len(sequence) - 6 + 1 + 2, model.config.hidden_size)
    with torch.no_grad():
        reference = model.bert(**tokenizer([sequence], return_tensors="pt")).last_hidden_state
    torch.testing.assert_close(output, reference)


# ------------------------------------------------------------------------------------------ dna-classification


def test_window_starts_cover_the_sequence():
    assert window_starts(100, 515, 257) == [0]
    assert window_starts(1100, 515, 200) == [0, 200, 400, 585]
    assert window_starts(915, 515, 200) == [0, 200, 400]
    for length in (516, 777, 2048):
        starts = window_starts(length, 100, 37)
        assert starts[0] == 0 and starts[-1] + 100 == length
        assert all(b - a <= 37 for a, b in itertools.pairwise(starts))


def test_reverse_complement():
    assert reverse_complement("AACGTn") == "nACGTT"
    assert reverse_complement("RYKMSW") == "WSKMRY"


def test_sliding_windows_match_a_manual_computation(classifier, dna_pipe):
    model, tokenizer = classifier
    sequence = random_dna(np.random.default_rng(2), 1300)
    starts = window_starts(len(sequence), 515, 160)
    windows = [sequence[s : s + 515] for s in starts]
    forward = window_logits(model, tokenizer, windows)
    backward = window_logits(model, tokenizer, [reverse_complement(w) for w in windows])

    result = dna_pipe(sequence, stride=160, return_windows=True)
    assert result["num_windows"] == len(starts) == 6
    assert [w["start"] for w in result["windows"]] == starts and result["windows"][-1]["end"] == 1300
    expected = softmax(forward).mean(0)
    assert list(result["scores"].values()) == pytest.approx(expected, rel=1e-5)
    assert result["label"] == LABELS[int(expected.argmax())] and result["score"] == pytest.approx(
        expected.max()
    )

    maximum = dna_pipe(sequence, stride=160, aggregation="max")
    assert list(maximum["scores"].values()) == pytest.approx(softmax(forward).max(0), rel=1e-5)

    logits_mean = dna_pipe(sequence, stride=160, aggregation_space="logits")
    assert list(logits_mean["scores"].values()) == pytest.approx(softmax(forward.mean(0)), rel=1e-5)

    both = dna_pipe(sequence, stride=160, reverse_complement=True)
    strand_mean = (softmax(forward) + softmax(backward)) / 2
    assert list(both["scores"].values()) == pytest.approx(strand_mean.mean(0), rel=1e-5)

    sigmoid = dna_pipe(sequence, stride=160, function_to_apply="sigmoid", window_size=300)
    small = [sequence[s : s + 300] for s in window_starts(1300, 300, 160)]
    expected_sigmoid = (1 / (1 + np.exp(-window_logits(model, tokenizer, small)))).mean(0)
    assert list(sigmoid["scores"].values()) == pytest.approx(expected_sigmoid, rel=1e-5)


def test_batched_equals_unbatched_and_short_sequences(classifier, dna_pipe):
    model, tokenizer = classifier
    rng = np.random.default_rng(3)
    sequences = [random_dna(rng, n) for n in (40, 700, 1500, 9)]
    one_by_one = dna_pipe(sequences, reverse_complement=True)
    batched = dna_pipe(sequences, reverse_complement=True, batch_size=5)
    assert [r["num_windows"] for r in batched] == [1, 2, 5, 1]
    for a, b in zip(one_by_one, batched, strict=True):
        assert a["label"] == b["label"]
        assert list(a["scores"].values()) == pytest.approx(list(b["scores"].values()), rel=1e-5, abs=1e-6)
    # a sequence shorter than the window is one window: the plain classifier's probabilities
    single = dna_pipe(sequences[0])
    assert list(single["scores"].values()) == pytest.approx(
        softmax(window_logits(model, tokenizer, sequences[0:1]))[0], rel=1e-5
    )
    # generators stream
    streamed = list(dna_pipe((s for s in sequences[:2]), batch_size=3))
    assert [r["num_windows"] for r in streamed] == [1, 2]


def test_input_validation_and_parameters(dna_pipe):
    with pytest.raises(ValueError, match=r"Invalid character 'X' \(U\+0058\) at position 4"):
        dna_pipe("ACGTXACGT")
    with pytest.raises(ValueError, match="empty DNA sequence"):
        dna_pipe("")
    with pytest.raises(TypeError, match="expected a DNA sequence"):
        dna_pipe([b"ACGT"])
    with pytest.raises(ValueError, match="aggregation must be one of"):
        dna_pipe("ACGTACGT", aggregation="median")
    with pytest.raises(ValueError, match="stride must be an int between 1 and window_size - k \\+ 1 = 95"):
        dna_pipe("ACGTACGT", window_size=100, stride=96)
    with pytest.raises(ValueError, match="window_size must be an int between k=6 and 515"):
        dna_pipe("ACGTACGT", window_size=600)
    with pytest.raises(TypeError, match="unknown parameter"):
        dna_pipe("ACGTACGT", windw_size=100)
    assert dna_pipe("acgtnnACGTRY")["num_windows"] == 1  # lower case and IUPAC codes are DNA


def test_pipeline_parameters_at_construction(classifier):
    model, tokenizer = classifier
    pipe = DnaClassificationPipeline(
        model=model, tokenizer=tokenizer, device=-1, window_size=200, stride=100, return_windows=True
    )
    result = pipe("A" * 450)
    assert [(w["start"], w["end"]) for w in result["windows"]] == [
        (0, 200),
        (100, 300),
        (200, 400),
        (250, 450),
    ]


# ------------------------------------------------------------------------------------------ embeddings


def test_embed_pooling_and_long_sequences(classifier):
    model, tokenizer = classifier
    rng = np.random.default_rng(4)
    short = [random_dna(rng, 80), random_dna(rng, 33)]
    batch = tokenizer(short, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = model.bert(**batch).last_hidden_state.numpy()
    cls = embed(short, model, tokenizer, pooling="cls", batch_size=1)
    assert cls.shape == (2, 32) and cls.dtype == np.float32
    np.testing.assert_allclose(cls, states[:, 0], rtol=1e-5, atol=1e-6)
    mean = embed(short, model, tokenizer, pooling="mean")
    np.testing.assert_allclose(
        mean[0], states[0, 1:76].mean(0), rtol=1e-5, atol=1e-6
    )  # 75 k-mers, no [CLS]/[SEP]
    np.testing.assert_allclose(mean[1], states[1, 1:29].mean(0), rtol=1e-5, atol=1e-6)  # padding excluded

    long = random_dna(rng, 700)
    windows = [long[0:515], long[185:700]]  # stride 257: starts 0, then flush with the end
    parts = embed(windows, model, tokenizer, pooling="mean")
    np.testing.assert_allclose(embed([long], model, tokenizer, pooling="mean")[0], parts.mean(0), rtol=1e-5)
    assert model.training is False
    with pytest.raises(ValueError, match="position 2 of sequence 1"):
        embed(["ACGT", "AC-T"], model, tokenizer)
    with pytest.raises(ValueError, match="pooling must be one of"):
        embed(["ACGT"], model, tokenizer, pooling="max")


# ------------------------------------------------------------------------------------------ command line


@pytest.fixture(scope="module")
def fasta(tmp_path_factory):
    rng = np.random.default_rng(5)
    path = tmp_path_factory.mktemp("fasta") / "sequences.fa"
    records = {"peak_1": random_dna(rng, 300), "peak_2": random_dna(rng, 1200), "peak_3": random_dna(rng, 64)}
    path.write_text(
        "".join(f">{name} some description\n{seq[:600]}\n{seq[600:]}\n" for name, seq in records.items())
    )
    return path, records


def test_cli_predict_writes_a_tsv(classifier, model_dir, fasta, tmp_path):
    path, records = fasta
    out = tmp_path / "predictions.tsv"
    argv = ["predict", "--model", str(model_dir), "--fasta", str(path), "--out", str(out)]
    assert run_cli([*argv, "--stride", "128", "--reverse-complement", "--no-progress"]) == 0
    rows = list(csv.DictReader(out.open(), delimiter="\t"))
    assert list(rows[0]) == ["id", "length", "num_windows", "label", "score", "score_closed", "score_open"]
    assert [row["id"] for row in rows] == list(records)
    assert [int(row["num_windows"]) for row in rows] == [1, 7, 1]
    model, tokenizer = classifier
    expected = DnaClassificationPipeline(model=model, tokenizer=tokenizer, device=-1)(
        list(records.values()), stride=128, reverse_complement=True
    )
    for row, result in zip(rows, expected, strict=True):
        assert row["label"] == result["label"]
        assert float(row["score_open"]) == pytest.approx(result["scores"]["open"], rel=1e-4)
    assert not out.with_name(out.name + ".tmp").exists()


def test_cli_embed_writes_npy_and_parquet(classifier, model_dir, fasta, tmp_path):
    path, records = fasta
    model, tokenizer = classifier
    expected = embed(list(records.values()), model, tokenizer, pooling="mean")
    npy = tmp_path / "embeddings.npy"
    assert (
        run_cli(
            ["embed", "--model", str(model_dir), "--fasta", str(path), "--out", str(npy), "--pooling", "mean"]
        )
        == 0
    )
    np.testing.assert_allclose(np.load(npy), expected, rtol=1e-5, atol=1e-6)
    assert (tmp_path / "embeddings.ids.txt").read_text().split() == list(records)
    parquet = tmp_path / "embeddings.parquet"
    assert (
        run_cli(
            ["embed", "--model", str(model_dir), "--fasta", str(path), "--out", str(parquet), "--no-progress"]
        )
        == 0
    )
    table = pq.read_table(parquet)
    assert table.column("id").to_pylist() == list(records)
    vectors = np.asarray(table.column("embedding").to_pylist(), dtype=np.float32)
    np.testing.assert_allclose(vectors, embed(list(records.values()), model, tokenizer), rtol=1e-5, atol=1e-6)
    with pytest.raises(UsageError, match=r"must end in \.npy or \.parquet"):
        run_cli(["embed", "--model", str(model_dir), "--fasta", str(path), "--out", str(tmp_path / "x.csv")])
