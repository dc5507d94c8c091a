"""The planted-motif synthetic data set, held-out evaluation against baselines, and training-curve figures."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from genebert.data import DataCollatorForGenomeModeling
from genebert.figures import plot_training_curves, training_curves
from genebert.genomics import accessibility as acc
from genebert.genomics.corpus import CorpusConfig, build_corpus, load_corpus
from genebert.genomics.motifs import load_motifs
from genebert.genomics.sequences import Genome
from genebert.genomics.synthetic import SyntheticSpec, write_planted_dataset
from genebert.training.evaluation import evaluate_pretraining, fit_composition, motif_view_probes


def test_planted_motifs_are_enriched_in_their_cell_type(tmp_path):
    motifs = load_motifs("JASPAR2018")
    truth = write_planted_dataset(tmp_path / "in", motifs, SyntheticSpec(regions_per_cell_type=100, seed=1))
    with Genome(truth["genome"]) as genome:
        sizes = dict(genome.sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        build_corpus(
            truth["genome"],
            acc.from_peak_files(truth["peaks"], sizes),
            motifs,
            tmp_path / "c",
            CorpusConfig(),
            progress=False,
        )
    corpus = load_corpus(tmp_path / "c")
    scores = np.asarray(corpus.regions["motif_scores"])
    owner = [names[0] for names in corpus.regions["cell_types"]]
    for cell_type, planted in truth["planted"].items():
        columns = [corpus.motif_names.index(name) for name in planted]
        own = np.array([o == cell_type for o in owner])
        assert scores[own][:, columns].mean() > scores[~own][:, columns].mean() + 1.0
    assert len(corpus.samples) >= 3 * 100 // 10  # plus "overlap" leftovers at chromosome ends


def test_evaluation_reports_metrics_beside_baselines(tiny_corpus):
    corpus = load_corpus(tiny_corpus)
    model = GeneBertForPreTraining(GeneBertConfig.tiny(num_motifs=3))
    collator = DataCollatorForGenomeModeling(
        GeneBertTokenizer(), corpus.regions, np.asarray(corpus.samples["region_ids"])
    )
    features = [corpus.samples[i] for i in range(12)]
    train = [corpus.samples[i] for i in range(12, len(corpus.samples))]
    composition = fit_composition(collator, train)
    cell_types = corpus.samples["cell_type"]
    result = evaluate_pretraining(
        model, collator, features, batch_size=4, corpus_cell_types=cell_types, composition=composition
    )
    assert result["samples"] == 12 and result["masked_tokens"] > 0
    assert result["srm_chance"] == 0.25 and result["ngsp_chance"] == 0.5
    for key in ("mgm_accuracy", "mgm_neighbour_copy_accuracy", "mgm_copy_aware_accuracy", "ngsp_accuracy",
                "srm_top1_seq2region", "srm_cell_type_oracle", "srm_composition_top1", "ngsp_cell_type_oracle"):  # fmt: skip
        assert 0.0 <= result[key] <= 1.0, key
    assert (
        0.1 < result["mgm_neighbour_copy_accuracy"] < 0.6
    )  # one hidden base, filled with the commonest base
    # copying the input where it shows a k-mer (kept spans) can only add to the neighbour copy
    assert result["mgm_copy_aware_accuracy"] >= result["mgm_neighbour_copy_accuracy"]
    # the oracle picks uniformly among the batch's samples of the right cell type
    types = [str(f["cell_type"]) for f in features]
    expected = np.mean([1 / types[b : b + 4].count(t) for b in range(0, 12, 4) for t in types[b : b + 4]])
    assert result["srm_cell_type_oracle"] == pytest.approx(expected, abs=1e-6)
    assert result["srm_cell_type_oracle"] >= result["srm_chance"]
    assert 0.5 < result["ngsp_cell_type_oracle"] < 1.0
    assert collator.return_baseline is False  # restored
    probes = motif_view_probes(model, collator, train[:40], features)
    assert probes["regions_heldout"] > 0 and probes["regions_train"] > 0
    for key in ("probe_r2", "composition_r2", "probe_region_top1", "composition_region_top1"):
        assert np.isfinite(probes[key]), key
    assert probes["composition_r2"] > 0  # best hits of short motifs are partly visible in 3-mer composition


def test_training_curves_figure(tmp_path):
    history = [
        {"loss": 9.0, "train_loss_mgm": 8.0, "train_mgm_accuracy": 0.01, "step": 5},
        {"eval_loss": 8.5, "eval_srm_top1_seq2region": 0.2, "step": 5},
        {"loss": 8.0, "train_loss_mgm": 7.5, "train_mgm_accuracy": 0.05, "step": 10},
        {"train_runtime": 3.0, "train_loss": 8.5, "step": 10},
    ]
    curves = training_curves(history)
    assert curves["train"]["loss"] == [(5, 9.0), (10, 8.0)]
    assert curves["eval"]["srm_top1_seq2region"] == [(5, 0.2)]
    assert "runtime" not in curves["train"]
    path = plot_training_curves(history, tmp_path / "curves.png", title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(path.with_suffix(".json").read_text())["train"]["mgm_accuracy"] == [
        [5, 0.01],
        [10, 0.05],
    ]
