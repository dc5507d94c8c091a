"""The transfer study (run_scripts/studies/transfer.yaml): its smoke preset end to end on generated data, the
study-file options it needs (tiled corpus, random-init arm, probes, references, comparisons), and its real-data
presets against ../shared/data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import REPO_ROOT

from genebert.cli import main as genebert_main
from genebert.training.study import StudyError, load_study, parse_study, pretrain_hash, read_results
from genebert.training.study.runner import check_tasks

STUDY = REPO_ROOT / "run_scripts" / "studies" / "transfer.yaml"
ARMS = ["A random init", "B MGM+NGSP", "C +SRM", "D +SRM permuted", "E +SRM region-level"]
# A CTCF-like core and a splice donor / acceptor, planted so that the generated tasks are learnable.
CTCF_CORE, DONOR, ACCEPTOR = "CCGCGNGGNGGCAG".replace("N", "A"), "CAGGTAAGT", "TTTTTTCCCTTTTAGGT"


def _random(rng: np.random.Generator, n: int, gc: float = 0.5) -> str:
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return "".join(rng.choice(list("ACGT"), size=n, p=p))


def _plant(sequence: str, motif: str, at: int) -> str:
    return sequence[:at] + motif + sequence[at + len(motif) :]


@pytest.fixture(scope="module")
def generated_data_root(tmp_path_factory):
    """A data root laid out as ../shared/data with generated stand-ins for what the smoke preset reads: a
    220 kb "chr22" (segments of varying GC, motifs planted in some), six JASPAR-format motifs, 150 "CTCF peaks"
    (their dinucleotide shuffles are the task's negatives) and 180 UCI-format splice rows."""
    root = tmp_path_factory.mktemp("data_root")
    rng = np.random.default_rng(5)
    segments = []
    for index in range(220):
        segment = _random(rng, 1000, gc=float(rng.uniform(0.3, 0.7)))
        if index % 3 == 0:
            segment = _plant(segment, CTCF_CORE, int(rng.integers(0, 980)))
        segments.append(segment)
    genome = "".join(segments)
    (root / "hg19_chr22").mkdir()
    (root / "hg19_chr22" / "chr22.fa").write_text(
        ">chr22\n" + "\n".join(genome[i : i + 60] for i in range(0, len(genome), 60)) + "\n"
    )
    lines = ["# generated motifs in GimmeMotifs .pfm format"]
    for index, core in enumerate(
        ["CCGCGAGGAGGCAG", "CAGGTAAGT", "TTTTCCCTTTTAG", "TGACTCA", "CACGTG", "GGAA"]
    ):
        lines.append(f">MA90{index:02d}.1_TF{index}")
        for base in core:
            row = [0.05] * 4
            row["ACGT".index(base)] = 0.85
            lines.append("\t".join(f"{v:.4f}" for v in row))
    (root / "jaspar2018_gimmemotifs").mkdir()
    (root / "jaspar2018_gimmemotifs" / "JASPAR2018_vertebrates.pfm").write_text("\n".join(lines) + "\n")
    peaks = [_plant(_random(rng, 200), CTCF_CORE, int(rng.integers(20, 170))) for _ in range(150)]
    (root / "ctcf_gm12878_gimmemotifs").mkdir()
    (root / "ctcf_gm12878_gimmemotifs" / "Gm12878.CTCF.top500.w200.fa").write_text(
        "".join(f">chr1:{1000 * i}-{1000 * i + 200}\n{s}\n" for i, s in enumerate(peaks))
    )
    rows = ["label,instance_name,sequence"]
    for i in range(180):
        label = ("EI", "IE", "N")[i % 3]
        sequence = _random(rng, 60)
        if label == "EI":
            sequence = _plant(sequence, DONOR, 27)
        elif label == "IE":
            sequence = _plant(sequence, ACCEPTOR, 15)
        rows.append(f"{label},  GEN-{label}-{i},  {sequence}")
    (root / "uci_splice").mkdir()
    (root / "uci_splice" / "splice.csv").write_text("\n".join(rows) + "\n")
    return root


def test_smoke_preset_runs_end_to_end_on_generated_data(generated_data_root, tmp_path, capsys):
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = [
        "study",
        str(STUDY),
        "--preset",
        "smoke",
        "--cache-dir",
        str(cache),
        "--data-root",
        str(generated_data_root),
    ]
    # arms pre-train first (as parallel runs, one per seed, would), then the full run reuses every model
    assert genebert_main([*argv, "--out", str(tmp_path / "models"), "--pretrain-only"]) == 0
    assert "0 cells run, 0 already done, 5 pre-trainings" in capsys.readouterr().out
    assert len(read_results(tmp_path / "models" / "results.json")["pretraining"]) == 5
    argv += ["--out", str(out)]
    assert genebert_main(argv) == 0
    assert "15 cells run, 0 already done, 0 pre-trainings" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    study = load_study(STUDY, "smoke")
    assert len(results["cells"]) == len(study.cells()) == 5 * 3
    assert {row["variant"] for row in results["cells"]} == set(ARMS)
    for row in results["cells"]:
        assert 0.0 <= row["metrics"]["auc"] <= 1.0, row["cell_id"]
    # the references: once per task, on the same splits as the cells
    assert set(results["references"]) == {"ctcf probe", "ctcf ft", "splice probe"}
    for entry in results["references"].values():
        assert set(entry["metrics"]) == {"motif_scores", "kmer_counts"}
        assert entry["metrics"]["motif_scores"]["motifs"] == 6 and entry["metrics"]["kmer_counts"]["k"] == 4
    # held-out pre-training metrics of every arm, each beside its baseline
    pretraining = {row["variant"]: row["metrics"] for row in results["pretraining"]}
    assert set(pretraining) == set(ARMS)
    for metrics in pretraining.values():
        assert {"mgm_copy_aware_accuracy", "probe_r2", "composition_r2", "probe_region_top1"} <= set(metrics)
    assert (
        "srm_top1_seq2region" in pretraining["C +SRM"]
        and "srm_top1_seq2region" not in pretraining["B MGM+NGSP"]
    )
    assert "srm_region_top1_seq2region" in pretraining["E +SRM region-level"]
    # the random-init arm is the untrained model of the same configuration
    random_init = next(r for r in results["cells"] if r["variant"] == "A random init")
    marker = json.loads(
        (cache / "checkpoints" / random_init["pretrain_hash"] / "study_pretrain.json").read_text()
    )
    assert marker["init"] == "random" and marker["metrics"] == {"train_steps": 0}
    # paired differences: one row per comparison and task (one seed: no interval, no claim)
    labels = {(d["label"], d["task"]) for d in results["differences"]}
    assert ("C +SRM − B MGM+NGSP", "ctcf probe") in labels and (
        "B MGM+NGSP − A random init",
        "pre-training",
    ) in labels
    assert all(d["low"] is None and "no claim" in d["reading"] for d in results["differences"])
    markdown = (out / "results.md").read_text()
    for text in (
        "reference: LR on motif max scores",
        "Pre-training, held-out genome blocks",
        "Paired differences",
    ):
        assert text in markdown
    assert (out / "transfer.png").is_file() and (out / "transfer.json").is_file()
    # a second run resumes: nothing is trained or fitted again
    assert genebert_main(argv) == 0
    assert "0 cells run, 15 already done, 0 pre-trainings" in capsys.readouterr().out


def _values(**changes) -> dict:
    values = {
        "name": "t",
        "corpus": {"genome": "g.fa", "motifs": "m.pfm", "tile_bp": 50},
        "pretrain": {"preset": "tiny"},
        "variants": [
            {"name": "A", "init": "random", "pretrain": {}},
            {"name": "B", "pretrain": {"use_srm": False}},
        ],
        "tasks": [{"name": "p", "type": "probe", "task": "ctcf_vs_shuffled"}],
        "comparisons": [["B", "A"]],
    }
    values.update(changes)
    return values


def test_study_options_are_validated():
    study = parse_study(_values())
    assert study.comparisons == [("B", "A")] and study.variants[0].init == "random"
    cells = study.cells()
    random_init, pretrained = cells
    assert random_init.pretrain_hash() != pretrain_hash(
        random_init.pretrain_args(), study.corpus, 42
    )  # keyed
    assert pretrained.pretrain_hash() == pretrain_hash(pretrained.pretrain_args(), study.corpus, 42)
    for change, message in (
        ({"comparisons": [["B", "Z"]]}, "comparisons\\[0\\]"),
        ({"variants": [{"name": "A", "init": "warm", "pretrain": {}}]}, "init must be one of"),
        ({"variants": [{"name": "A", "pretrain": None}]}, "a probe task needs a model in every variant"),
        ({"corpus": {"genome": "g.fa", "tile_bp": 50}}, "needs \\['motifs'\\]"),
        (
            {"corpus": {"genome": "g.fa", "motifs": "m", "tile_bp": 50, "tiles": 3}},
            "unknown keys \\['tiles'\\]",
        ),
        (
            {"tasks": [{"name": "p", "type": "probe", "task": "x", "epochs": 3}]},
            "unknown keys \\['epochs'\\]",
        ),
        ({"references": {"motifs": "m.pfm"}}, "unknown keys \\['motifs'\\]"),
    ):
        with pytest.raises(StudyError, match=message):
            parse_study(_values(**change))


def test_paired_differences_give_t_intervals():
    from genebert.training.study.report import paired_differences

    study = parse_study(_values(metrics=["auc"]))
    cells = [
        {"variant": v, "task": "p", "seed": s, "metrics": {"auc": base + 0.01 * s}}
        for v, base in (("A", 0.6), ("B", 0.7))
        for s in (0, 1, 2)
    ]
    cells[4]["metrics"]["auc"] += 0.02  # B seed 1: the differences are 0.1, 0.12, 0.1
    (row,) = paired_differences(study, {"cells": cells})
    assert row["n"] == 3 and math.isclose(row["mean"], 0.32 / 3)
    half = 4.302653 * row["sd"] / math.sqrt(3)  # t(0.975, 2)
    assert math.isclose(row["low"], row["mean"] - half, rel_tol=1e-5) and row["low"] > 0
    assert row["reading"] == "B above A (the interval excludes 0)"


def test_real_data_presets_find_their_data(shared_data):
    for preset in ("cpu", "smoke"):
        study = load_study(STUDY, preset)
        assert [v.name for v in study.variants] == ARMS and len(study.seeds) >= (3 if preset == "cpu" else 1)
        check_tasks(study, str(shared_data))  # every task's data loads from ../shared/data
        for key in ("genome", "motifs"):
            assert (shared_data / study.corpus[key]).is_file()
    cpu = load_study(STUDY, "cpu")
    assert {t.args["task"] for t in cpu.tasks} == {
        "ctcf_vs_shuffled", "oct4_vs_mafk", "gue_tf0", "gue_tf1", "gue_tf2", "gue_tf3", "gue_tf4",
        "gue_prom_core_all", "uci_splice",
    }  # fmt: skip
    assert all(t.args.get("max_train_samples") == 500 for t in cpu.tasks if t.type == "finetune")
