"""The `datasets` builders, used directly (datasets 5 has no loading scripts)."""

from __future__ import annotations

import warnings

from dataset_scripts.genebert_pretraining import GeneBertPretraining, export_parquet
from genebert.genomics.examples import demo_data_path


def test_pretraining_builder_regions_and_samples(tmp_path):
    common = dict(
        genome=str(demo_data_path("chr22_head.fa.gz")),
        matrix_dirs=[str(demo_data_path("scatac_chromvar_chr22"))],
        cell_type_columns=["Cell_Type"],
        motifs="JASPAR2018",
        cache_dir=str(tmp_path / "cache"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        regions_builder = GeneBertPretraining(config_name="regions", **common)
        regions_builder.download_and_prepare()
        regions = regions_builder.as_dataset(split="train")
        samples_builder = GeneBertPretraining(config_name="samples", **common)
        samples_builder.download_and_prepare()
        samples = samples_builder.as_dataset(split="train")
    assert len(regions) > 0 and len(regions[0]["motif_scores"]) == 579
    assert regions["region_id"] == list(range(len(regions)))
    assert len(samples) > 0 and all(len(ids) == 10 for ids in samples["region_ids"])
    assert set(samples["cell_type"]) <= {"GM", "H1"}
    corpus_dirs = list((tmp_path / "cache").rglob("metadata.json"))
    out = export_parquet(corpus_dirs[0].parent, tmp_path / "parquet")
    assert (out / "regions.parquet").is_file() and (out / "samples.parquet").is_file()
