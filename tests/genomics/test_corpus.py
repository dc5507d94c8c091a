"""The pre-training corpus: build, load, determinism, resume, shards, workers, CLI, real data."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from genebert.cli import main as cli_main
from genebert.errors import UsageError
from genebert.genomics import accessibility as acc
from genebert.genomics import corpus as C
from genebert.genomics.corpus import build as corpus_build
from genebert.genomics.motifs import load_motifs, scan_max
from genebert.genomics.sequences import Genome


def accessibility_of(root, peaks):
    with Genome(root / "genome.fa") as genome:
        sizes = dict(genome.sizes)
    return acc.from_peak_files({**peaks, "gap": root / "overlap.bed"}, sizes)


def build(corpus_inputs, out, **kwargs):
    root, peaks, motifs = corpus_inputs
    config = kwargs.pop("config", C.CorpusConfig(chunk_size=32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return C.build_corpus(
            root / "genome.fa",
            accessibility_of(root, peaks),
            load_motifs(motifs),
            out,
            config,
            progress=False,
            **kwargs,
        )


@pytest.fixture(scope="module")
def built(corpus_inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "corpus"
    summary = build(corpus_inputs, out)
    return out, summary


def test_regions_match_inputs(corpus_inputs, built):
    root, peaks, motif_file = corpus_inputs
    out, summary = built
    corpus = C.load_corpus(out)
    access = accessibility_of(root, peaks)
    assert len(corpus.regions) == len(access.regions) == summary.regions
    assert corpus.regions["region_id"] == list(range(len(access.regions)))
    assert corpus.regions["start"] == access.regions.starts.tolist()
    membership = access.membership_matrix()
    for row, names in enumerate(corpus.regions["cell_types"]):
        assert names == [access.cell_types[i] for i in np.flatnonzero(membership[row])]
    # motif vectors: by default the best score (both strands) over exactly the window the sequence tower reads
    motifs = load_motifs(motif_file)
    assert corpus.metadata["config"]["motif_scope"] == "window"
    expected = scan_max(corpus.regions["sequence"], motifs)
    np.testing.assert_allclose(np.asarray(corpus.regions["motif_scores"]), expected, rtol=0, atol=1e-5)
    assert corpus.motif_names == motifs.names


def test_region_scope_scores_the_whole_region(corpus_inputs, tmp_path):
    """--motif-scope region: the paper's wording, the whole accessible region (recorded in the metadata)."""
    root, _, motif_file = corpus_inputs
    build(corpus_inputs, tmp_path / "region", config=C.CorpusConfig(chunk_size=32, motif_scope="region"))
    corpus = C.load_corpus(tmp_path / "region")
    assert corpus.metadata["config"]["motif_scope"] == "region"
    with Genome(root / "genome.fa") as genome:
        sequences = [genome.fetch(r["chrom"], r["start"], r["end"]) for r in corpus.regions]
    expected = scan_max(sequences, load_motifs(motif_file))
    np.testing.assert_allclose(np.asarray(corpus.regions["motif_scores"]), expected, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="motif_scope must be one of"):
        C.CorpusConfig(motif_scope="peak")


def test_windows_are_centred_and_sized(built, corpus_inputs):
    root = corpus_inputs[0]
    corpus = C.load_corpus(built[0])
    window = C.default_region_window_bp()
    assert window == 55 and corpus.metadata["config"]["region_window_bp"] == 55
    with Genome(root / "genome.fa") as genome:
        for row in corpus.regions.select(range(0, len(corpus.regions), 7)):
            assert len(row["sequence"]) == window
            centre = (row["start"] + row["end"]) // 2
            assert row["window_start"] == max(
                0, min(centre - window // 2, genome.sizes[row["chrom"]] - window)
            )
            assert row["sequence"] == genome.fetch(
                row["chrom"], row["window_start"], row["window_start"] + window
            )


def test_samples_are_consecutive_usable_regions_of_one_chromosome(built):
    corpus = C.load_corpus(built[0])
    regions = corpus.regions.select_columns(["chrom", "cell_types", "usable"])
    chroms, members, usable = regions["chrom"], regions["cell_types"], regions["usable"]
    gap_rows = [i for i, names in enumerate(members) if names == ["gap"]]
    assert gap_rows and not any(usable[i] for i in gap_rows)  # the region in the N gap is not usable
    for sample in corpus.samples:
        ids = sample["region_ids"]
        assert len(ids) == 10 and ids == sorted(ids)
        assert {chroms[i] for i in ids} == {sample["chrom"]}
        assert all(usable[i] and sample["cell_type"] in members[i] for i in ids)
        # consecutive: no usable region of this cell type on this chromosome lies between them
        between = [i for i in range(ids[0], ids[-1] + 1) if usable[i] and sample["cell_type"] in members[i]]
        assert between == ids
    per_type = corpus.metadata["samples_per_cell_type"]
    assert set(per_type) == {"alpha", "beta"} and corpus.metadata["skipped_cell_types"] == ["rare", "gap"]
    assert sum(per_type.values()) == len(corpus.samples)


def test_leftover_policy_and_stride(corpus_inputs, tmp_path):
    drop = C.load_corpus(
        build(corpus_inputs, tmp_path / "drop", config=C.CorpusConfig(chunk_size=32, leftover="drop")).out_dir
    )
    overlap = C.load_corpus(build(corpus_inputs, tmp_path / "overlap").out_dir)
    assert len(overlap.samples) > len(drop.samples)
    strided = C.load_corpus(
        build(corpus_inputs, tmp_path / "strided", config=C.CorpusConfig(chunk_size=32, stride=5)).out_dir
    )
    assert len(strided.samples) > len(overlap.samples)


def test_standardisation_stats_match_stored_values(built):
    corpus = C.load_corpus(built[0])
    scores = np.asarray(corpus.regions["motif_scores"], dtype=np.float64)[
        np.asarray(corpus.regions["usable"])
    ]
    np.testing.assert_allclose(corpus.motif_mean, scores.mean(0), rtol=1e-5)
    np.testing.assert_allclose(corpus.motif_std, scores.std(0), rtol=1e-4)


def test_deterministic_and_resumable(corpus_inputs, built, tmp_path, monkeypatch):
    reference = C.corpus_fingerprint(built[0])
    assert C.corpus_fingerprint(build(corpus_inputs, tmp_path / "again").out_dir) == reference

    calls = {"n": 0}
    original = corpus_build._process_chunk

    def dies_after_three(job, work_dir):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt("simulated kill")
        return original(job, work_dir)

    monkeypatch.setattr(corpus_build, "_process_chunk", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        build(corpus_inputs, tmp_path / "resumed")
    assert not (tmp_path / "resumed").exists()  # nothing half-built is visible
    assert len(list((tmp_path / "resumed.partial").glob("regions-*.arrow"))) == 3
    monkeypatch.setattr(corpus_build, "_process_chunk", original)
    summary = build(corpus_inputs, tmp_path / "resumed")
    assert summary.chunks_reused == 3
    assert C.corpus_fingerprint(tmp_path / "resumed") == reference
    assert not (tmp_path / "resumed.partial").exists()


def test_shards_merge_to_single_build(corpus_inputs, built, tmp_path):
    shards = [tmp_path / f"shard{i}" for i in range(3)]
    for index, shard in enumerate(shards):
        build(corpus_inputs, shard, shard=(index, 3))
    chroms = [json.loads((s / "plan.json").read_text())["shard"]["chroms"] for s in shards]
    assert sorted(c for group in chroms for c in group) == ["chr1", "chr2", "chr3"]
    with pytest.raises(ValueError, match=r"every shard 0\.\.N-1 exactly once"):
        C.merge_corpus(shards[:2], tmp_path / "incomplete")
    C.merge_corpus(shards, tmp_path / "merged")
    assert C.corpus_fingerprint(tmp_path / "merged") == C.corpus_fingerprint(built[0])


@pytest.mark.slow
def test_workers_give_the_same_corpus(corpus_inputs, built, tmp_path):
    build(corpus_inputs, tmp_path / "parallel", workers=2)
    assert C.corpus_fingerprint(tmp_path / "parallel") == C.corpus_fingerprint(built[0])


def test_rebuild_replaces_atomically_and_export_parquet(corpus_inputs, built, tmp_path):
    out = tmp_path / "corpus"
    build(corpus_inputs, out)
    (out / "stale.txt").write_text("from an older build")
    build(corpus_inputs, out, config=C.CorpusConfig(chunk_size=64))
    assert not (out / "stale.txt").exists() and not list(tmp_path.glob(".corpus.*"))
    exported = C.load_corpus(out).export_parquet(tmp_path / "parquet")
    import datasets

    regions = datasets.Dataset.from_parquet(str(exported / "regions.parquet"))
    assert len(regions) == len(C.load_corpus(out).regions)


def test_genome_without_the_regions_chromosome_is_refused(corpus_inputs, tmp_path):
    root, peaks, motifs = corpus_inputs
    (tmp_path / "small.fa").write_text(">chr2\n" + "ACGT" * 100 + "\n")
    with pytest.raises(ValueError, match="not in the genome"):
        C.build_corpus(
            tmp_path / "small.fa",
            accessibility_of(root, peaks),
            load_motifs(motifs),
            tmp_path / "x",
            progress=False,
        )


def test_cli_build_and_merge(corpus_inputs, built, tmp_path, capsys):
    root, peaks, motifs = corpus_inputs
    arguments = [
        "build-corpus",
        "--genome",
        str(root / "genome.fa"),
        "--motifs",
        str(motifs),
        "--chunk-size",
        "32",
        "--no-progress",
        "--peaks",
        *[f"{k}={v}" for k, v in peaks.items()],
        f"gap={root / 'overlap.bed'}",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert cli_main([*arguments, "--out", str(tmp_path / "cli")]) == 0
        for index in range(2):
            assert cli_main([*arguments, "--out", str(tmp_path / f"s{index}"), "--shard", f"{index}/2"]) == 0
        assert (
            cli_main(
                [
                    "merge-corpus",
                    "--out",
                    str(tmp_path / "merged"),
                    str(tmp_path / "s0"),
                    str(tmp_path / "s1"),
                ]
            )
            == 0
        )
    out = capsys.readouterr().out
    assert "regions" in out and "samples" in out and "peak memory" in out
    assert C.corpus_fingerprint(tmp_path / "cli") == C.corpus_fingerprint(built[0])
    assert C.corpus_fingerprint(tmp_path / "merged") == C.corpus_fingerprint(built[0])


def test_embedded_demo_data_builds(tmp_path):
    from genebert.genomics.examples import demo_data_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        code = cli_main(
            [
                "build-corpus",
                "--genome",
                str(demo_data_path("chr22_head.fa.gz")),
                "--motifs",
                "JASPAR2018",
                "--matrix-dir",
                str(demo_data_path("scatac_chromvar_chr22")),
                str(demo_data_path("scatac_hemato_chr22")),
                "--cell-type-column",
                "Cell_Type",
                "BioClassification",
                "--out",
                str(tmp_path / "demo"),
                "--no-progress",
            ]
        )
    assert code == 0
    corpus = C.load_corpus(tmp_path / "demo")
    assert len(corpus.motif_names) == 579 and corpus.motif_names[0] == "MA0004.1 Arnt"
    # 193 + 50 peaks in the slice; accessible ones only
    assert 0 < len(corpus.regions) <= 243
    assert {"GM", "H1"} <= set(corpus.metadata["accessibility"]["cell_types"])


@pytest.mark.shared_data
def test_real_chr22_with_chromvar_matrix(shared_data, tmp_path):
    genome = shared_data / "hg19_chr22" / "chr22.fa"
    with Genome(genome) as g:
        sizes = dict(g.sizes)
    access = acc.from_count_matrix(
        shared_data / "scatac_chromVAR_example", "Cell_Type", sizes, unknown_chroms="skip"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        summary = C.build_corpus(genome, access, load_motifs("JASPAR2018"), tmp_path / "real", progress=False)
    corpus = C.load_corpus(tmp_path / "real")
    assert access.cell_types == ["GM", "H1"]
    assert len(corpus.regions) == summary.regions == len(access.regions) <= 525  # chr22 peaks of the matrix
    usable = np.asarray(corpus.regions["usable"])
    fractions = np.asarray(corpus.regions["ambiguous_fraction"])
    assert usable.sum() == (fractions <= 0.5).sum() and 0 < usable.sum() < len(usable)  # N gaps are real here
    assert np.asarray(corpus.regions["motif_scores"]).shape == (len(corpus.regions), 579)
    assert sum(corpus.metadata["samples_per_cell_type"].values()) == len(corpus.samples) > 0


def test_genome_block_split_shares_no_region(built):
    corpus = C.load_corpus(built[0])
    ids = np.asarray(corpus.samples["region_ids"])
    starts = np.asarray(corpus.regions["start"])
    split = C.split_by_genome_blocks(corpus.regions["chrom"], starts, ids, 0.3, None, seed=4)
    assert len(split.train) and len(split.evaluation)
    assert not set(ids[split.train].ravel()) & set(ids[split.evaluation].ravel())
    assert sorted([*split.train, *split.evaluation, *split.dropped]) == list(range(len(ids)))
    for _, start, end in split.blocks:  # every held-out block has the chosen size
        assert end - start == split.block_bp
    inside = [
        any(c == chrom and start <= s < end for chrom, start, end in split.blocks)
        for c, s in zip(corpus.regions["chrom"], starts, strict=True)
    ]
    assert all(inside[r] for r in ids[split.evaluation].ravel())
    assert not any(inside[r] for r in ids[split.train].ravel())
    again = C.split_by_genome_blocks(corpus.regions["chrom"], starts, ids, 0.3, None, seed=4)
    assert again.to_json() == split.to_json()  # seeded
    with pytest.raises(UsageError, match="validation_fraction"):
        C.split_by_genome_blocks(corpus.regions["chrom"], starts, ids, 1.0, None, seed=4)
    with pytest.raises(ValueError, match=r"leaving no training sample|leaves no training sample"):
        C.split_by_genome_blocks(corpus.regions["chrom"], starts, ids, 0.99, 10**9, seed=4)
