"""Fine-tuning end to end on tiny generated data (from scratch, GeneBERT and DNABERT-style checkpoints)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genebert.errors import UsageError
from genebert.hub import read_training_args
from genebert.training import finetune as finetune_module
from genebert.training.finetune import crop, main, parse_arguments
from genebert.training.metrics import METRIC_KEYS

RNG = np.random.default_rng(5)


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models on a shared CPU: several threads spin against each other and run ~10x slower.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def write_split(path, n: int, length: int = 40, sep: str = ",") -> None:
    rows = []
    for i in range(n):
        sequence = "".join(RNG.choice(list("ACGT"), size=length))
        label = i % 2
        if label:  # a learnable signal: positives carry a motif
            sequence = sequence[:10] + "TATAAAAG" + sequence[18:]
        rows.append(f"{sequence}{sep}{label}")
    path.write_text(f"sequence{sep}label\n" + "\n".join(rows) + "\n")


@pytest.fixture
def csv_task(tmp_path):
    for split, n in (("train", 48), ("dev", 16), ("test", 16)):
        write_split(tmp_path / f"{split}.csv", n)
    return tmp_path


FAST = ["--max_steps", "2", "--eval_steps", "1", "--save_steps", "1", "--logging_steps", "1",
        "--per_device_train_batch_size", "8", "--disable_tqdm", "true", "--seed", "0"]  # fmt: skip


def files(root) -> list[str]:
    return ["--train_file", str(root / "train.csv"), "--validation_file", str(root / "dev.csv"),
            "--test_file", str(root / "test.csv")]  # fmt: skip


def check_outputs(output, n_test: int = 16) -> dict:
    results = json.loads((output / "test_results.json").read_text())
    assert set(METRIC_KEYS) <= set(results)
    assert results["n"] == n_test
    lines = (output / "test_predictions.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["id", "label", "prediction", "score_0", "score_1"]
    assert len(lines) == n_test + 1
    assert len(json.loads((output / "test_predictions.json").read_text())) == n_test
    assert (output / "model.safetensors").is_file() and (output / "vocab.txt").is_file()
    assert (output / "eval_results.json").is_file()
    return results


def test_from_scratch_with_early_stopping(csv_task, tmp_path, monkeypatch):
    created = []

    class RecordingEarlyStopping(finetune_module.EarlyStoppingCallback):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(finetune_module, "EarlyStoppingCallback", RecordingEarlyStopping)
    output = tmp_path / "scratch"
    outcome = main([*files(csv_task), "--preset", "tiny", "--output_dir", str(output), *FAST])
    results = check_outputs(output)
    assert outcome["auc"] == pytest.approx(results["auc"])
    assert len(created) == 1 and created[0].early_stopping_patience == 5
    _, _, args = parse_arguments([*files(csv_task), "--preset", "tiny"])
    assert args.load_best_model_at_end and args.metric_for_best_model == "auc" and args.greater_is_better
    config = json.loads((output / "config.json").read_text())
    assert len(config["id2label"]) == 2 and config["hidden_size"] == 32
    decision = results["reverse_complement_augmentation"]  # the default, with the measure it went by
    assert decision["setting"] == "auto" and isinstance(decision["used"], bool) and "drop" in decision
    all_results = json.loads((output / "all_results.json").read_text())
    assert all_results["reverse_complement_augmentation"] == decision


def test_from_genebert_pretraining_checkpoint(csv_task, tmp_path):
    from genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer

    checkpoint = tmp_path / "pretrained"
    model = GeneBertForPreTraining(GeneBertConfig.tiny(use_srm=False))
    model.save_pretrained(checkpoint)
    GeneBertTokenizer(kmer=6).save_pretrained(checkpoint)
    expected = model.bert.embeddings.word_embeddings.weight.detach().clone()
    output = tmp_path / "from_genebert"
    main([*files(csv_task), "--model_name_or_path", str(checkpoint), "--output_dir", str(output), *FAST,
          "--learning_rate", "0"])  # fmt: skip
    check_outputs(output)
    from genebert import GeneBertForSequenceClassification

    tuned = GeneBertForSequenceClassification.from_pretrained(output)
    torch.testing.assert_close(tuned.bert.embeddings.word_embeddings.weight, expected)


def test_from_dnabert_style_checkpoint(csv_task, tmp_path):
    from transformers import BertConfig, BertForMaskedLM

    checkpoint = tmp_path / "dnabert"
    bert = BertForMaskedLM(
        BertConfig(
            vocab_size=4**6 + 5,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
        )
    )
    bert.save_pretrained(checkpoint)
    output = tmp_path / "from_dnabert"
    main([*files(csv_task), "--dnabert_checkpoint", str(checkpoint), "--output_dir", str(output), *FAST,
          "--learning_rate", "0"])  # fmt: skip
    check_outputs(output)
    from genebert import GeneBertForSequenceClassification

    tuned = GeneBertForSequenceClassification.from_pretrained(output)
    torch.testing.assert_close(
        tuned.bert.embeddings.word_embeddings.weight, bert.bert.embeddings.word_embeddings.weight
    )


def test_parquet_tsv_no_validation_file_and_centre_crop(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_split(tmp_path / "train.tsv", 40, length=60, sep="\t")
    sequences = ["".join(RNG.choice(list("ACGT"), size=60)) for _ in range(6)]
    pq.write_table(pa.table({"sequence": sequences, "label": [0, 1] * 3}), tmp_path / "test.parquet")
    output = tmp_path / "out"
    main(["--train_file", str(tmp_path / "train.tsv"), "--test_file", str(tmp_path / "test.parquet"), "--preset",
          "tiny", "--output_dir", str(output), "--max_seq_length", "20", *FAST,
          "--reverse_complement_augmentation", "false"])  # fmt: skip  # (it would double the train crops)
    results = json.loads((output / "all_results.json").read_text())
    assert (
        results["cropped_train"] == 36 and results["cropped_validation"] == 4 and results["cropped_test"] == 6
    )
    check_outputs(output, n_test=6)
    # the model card's recipe comes from this JSON file (a training_args.bin pickle is never read)
    assert read_training_args(output)["output_dir"] == str(output)
    assert crop("AACCGGTT", 4, "centre") == "CCGG" and crop("AACCGGTTA", 4, "centre") == "CCGG"
    assert crop("AACCGGTT", 4, "left") == "AACC" and crop("AACCGGTT", 4, "right") == "GGTT"
    with pytest.raises(ValueError, match="longer than 4 bp"):
        crop("AACCGGTT", 4, "error")


def test_argument_errors(csv_task):
    with pytest.raises(UsageError, match="either --task"):
        parse_arguments(["--preset", "tiny"])
    with pytest.raises(UsageError, match="--truncation"):
        parse_arguments([*files(csv_task), "--truncation", "middle"])
    with pytest.raises(UsageError, match="--reverse_complement_augmentation must be"):
        parse_arguments([*files(csv_task), "--reverse_complement_augmentation", "sometimes"])
    for given, stored in (("TRUE", "true"), ("no", "false"), ("auto", "auto")):
        _, data_args, _ = parse_arguments([*files(csv_task), "--reverse_complement_augmentation", given])
        assert data_args.reverse_complement_augmentation == stored
    values = {"train_file": str(csv_task / "train.csv"), "reverse_complement_augmentation": True}
    assert finetune_module.arguments_from_values(values)[1].reverse_complement_augmentation == "true"


def _records(n: int, insert, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        sequence = "".join(rng.choice(list("ACGT"), size=60))
        label = i % 2
        records.append({"id": str(i), "sequence": insert(sequence, label, rng), "label": label})
    return records


def test_reverse_complement_augmentation_auto_follows_strand_symmetry():
    def stranded(sequence, label, rng):  # positives read poly-A, negatives poly-C: reversed, neither is seen
        return sequence[:20] + ("A" if label else "C") * 12 + sequence[32:]

    def symmetric(sequence, label, rng):  # positives carry a CTCF-like site on either strand
        site = "CCGCGNGGNGGCAG".replace("N", "A")
        if label:
            site = site if rng.random() < 0.5 else finetune_module.reverse_complement(site)
            return sequence[:20] + site + sequence[20 + len(site) :]
        return sequence

    decide = finetune_module.decide_reverse_complement
    for insert, expected in ((stranded, False), (symmetric, True)):
        splits = {"train": _records(400, insert, 0), "validation": _records(200, insert, 1)}
        decision = decide(splits, "auto")
        assert decision["used"] is expected, decision
        assert decision["drop"] == pytest.approx(decision["dev_auc"] - decision["reverse_complement_dev_auc"])
        assert (decision["drop"] <= finetune_module.RC_AUTO_MAX_DROP) is expected
    assert decide({"train": splits["train"]}, "auto") == {
        "setting": "auto", "used": False, "reason": "no dev split with two classes to judge strand symmetry",
    }  # fmt: skip
    assert decide(splits, "true") == {"setting": "true", "used": True}
    assert decide(splits, "false") == {"setting": "false", "used": False}


@pytest.mark.shared_data
def test_reproduce_tables_on_one_tiny_task(shared_data, tmp_path):
    from run_scripts.reproduce_tables import main as reproduce

    results = reproduce(
        [
            "--tasks",
            "uci_splice",
            "--preset",
            "tiny",
            "--out",
            str(tmp_path),
            "--data-root",
            str(shared_data),
            "--max-steps",
            "2",
        ]
    )
    record = json.loads((tmp_path / "uci_splice.json").read_text())
    assert set(METRIC_KEYS) <= set(record) and record["kind"] == "splice" and record["global_step"] == 2
    assert record == json.loads(json.dumps(results["uci_splice"]))
    tables = (tmp_path / "tables.md").read_text()
    assert "Top-k accuracy" in tables and "| uci_splice |" in tables
    (tmp_path / "tables.md").unlink()
    again = reproduce(["--tasks", "uci_splice", "--out", str(tmp_path), "--tables-only"])
    assert again["uci_splice"]["auc"] == pytest.approx(record["auc"])
    assert (tmp_path / "tables.md").read_text().count("| uci_splice |") == 1


def test_reproduce_tables_rebuilds_a_published_folder_from_its_task_files(tmp_path):
    """docs/results_tables/seed1 keeps <task>.json, not the run folders; tasks trained by two commands."""
    from run_scripts.reproduce_tables import main as reproduce

    for task, auc, command in (("ctcf_vs_shuffled", 0.916, "python a"), ("gue_prom_core_all", 0.885, "python b")):
        record = {"task": task, "kind": "classification", "auc": auc, "global_step": 10, "command": command}
        (tmp_path / f"{task}.json").write_text(json.dumps(record))
    results = reproduce(["--tasks", "ctcf_vs_shuffled,gue_prom_core_all", "--out", str(tmp_path), "--tables-only"])
    assert [results[t]["auc"] for t in ("ctcf_vs_shuffled", "gue_prom_core_all")] == [0.916, 0.885]
    tables = (tmp_path / "tables.md").read_text()
    assert "| ctcf_vs_shuffled |" in tables and "| 0.885 |" in tables
    assert "- `python a`" in tables and "- `python b`" in tables
    with pytest.raises(SystemExit, match=r"gue_tf0 has neither .*test_results\.json nor .*gue_tf0\.json"):
        reproduce(["--tasks", "gue_tf0", "--out", str(tmp_path), "--tables-only"])


def test_cli_finetune_passes_arguments_through(csv_task, tmp_path):
    from genebert.cli import main as cli_main

    output = tmp_path / "cli"
    assert (
        cli_main(["finetune", *files(csv_task), "--preset", "tiny", "--output_dir", str(output), *FAST]) == 0
    )
    check_outputs(output)


def test_numeric_labels_are_normalised_and_an_undefined_metric_is_null(csv_task, tmp_path):
    """Issue 18: ``1`` and ``1.0`` are one class; a single-class test split gives ``null`` AUC, valid JSON."""
    train = (csv_task / "train.csv").read_text().splitlines()
    (csv_task / "train.csv").write_text(
        "\n".join([train[0], *(row[:-1] + "1.0" if row.endswith(",1") and i % 4 else row
                               for i, row in enumerate(train[1:])), ""])
    )  # fmt: skip
    test = [row for row in (csv_task / "test.csv").read_text().splitlines()[1:] if row.endswith(",1")]
    (csv_task / "test.csv").write_text("sequence,label\n" + "\n".join(test) + "\n")  # one class only
    output = tmp_path / "run"
    main([*files(csv_task), "--preset", "tiny", "--output_dir", str(output), *FAST])
    text = (output / "test_results.json").read_text()
    results = json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in test_results.json"))
    assert results["auc"] is None and results["n"] == len(test)
    config = json.loads((output / "config.json").read_text())
    assert config["id2label"] == {"0": "0", "1": "1"}  # two classes, not three


def test_reproduce_tables_without_a_recipe_uses_the_preset_defaults(tmp_path):
    import argparse

    from run_scripts.reproduce_tables import TASK_RECIPES, finetune_argv

    args = argparse.Namespace(
        preset="tiny",
        seed=42,
        data_root=None,
        model_name_or_path=None,
        extra="",
        max_steps=None,
        no_recipe=False,
    )
    tuned = finetune_argv("ctcf_vs_shuffled", args, tmp_path)
    assert tuned[-len(TASK_RECIPES["ctcf_vs_shuffled"]) :] == TASK_RECIPES["ctcf_vs_shuffled"]
    args.no_recipe = True
    plain = finetune_argv("ctcf_vs_shuffled", args, tmp_path)
    assert "--reverse_complement_augmentation" not in plain and "--max_steps" not in plain
    assert plain[:4] == ["--task", "ctcf_vs_shuffled", "--preset", "tiny"]
