"""Smaller gaps of issue 15: an exported corpus loads without a configuration name; the evaluate module says in
one line what it needs where genebert is not installed."""

from __future__ import annotations

from conftest import REPO_ROOT, run_without_genebert

from genebert.hub import export_dataset


def test_exported_corpus_loads_without_a_configuration_name(tiny_corpus, tmp_path):
    import datasets

    folder = export_dataset(tiny_corpus, tmp_path / "corpus-repo")
    default = datasets.load_dataset(str(folder))  # the regions: DNA windows and motif scores
    assert list(default) == ["train"]
    assert {"sequence", "motif_scores", "region_id"} <= set(default["train"].column_names)
    samples = datasets.load_dataset(str(folder), "samples")["train"]
    assert "region_ids" in samples.column_names
    assert default["train"].num_rows == datasets.load_dataset(str(folder), "regions")["train"].num_rows


def test_evaluate_module_without_genebert_names_what_to_install(tmp_path):
    """FRESH: the metric computes with genebert.training.metrics (one source for the module, fine-tuning and the
    tables), so without genebert it cannot run; evaluate refuses with one line naming the package."""
    result = run_without_genebert(
        f"""
        import evaluate
        try:
            evaluate.load({str(REPO_ROOT / "metrics" / "genebert_classification")!r})
        except ImportError as error:
            print("REFUSED:", error)
        else:
            raise SystemExit("loaded without genebert")
        """,
        tmp_path,
    )
    assert "REFUSED:" in result.stdout and "pip install genebert" in result.stdout
