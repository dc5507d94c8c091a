"""GeneBertProcessor: raw DNA of a sample's regions -> the collator's inputs; its remote-code scanner against the
numba scanner; save_pretrained / AutoProcessor round trip without genebert; export of a pre-training model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import run_without_genebert

from genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from genebert.data.collator import DataCollatorForGenomeModeling
from genebert.genomics.corpus import load_corpus
from genebert.genomics.motifs import MotifSet, load_motifs, pfm_to_pwm, scan_max
from genebert.genomics.sequences import Genome
from genebert.processing_genebert import GeneBertMotifFeatureExtractor, GeneBertProcessor


def random_motifs(count: int, seed: int = 0) -> MotifSet:
    rng = np.random.default_rng(seed)
    pwms = [pfm_to_pwm(rng.integers(0, 30, size=(int(rng.integers(3, 22)), 4))) for _ in range(count)]
    return MotifSet(names=[f"M{i}" for i in range(count)], pwms=pwms)


def test_remote_code_scanner_matches_the_numba_scanner():
    rng = np.random.default_rng(1)
    motifs = random_motifs(40)
    sequences = ["".join(rng.choice(list("ACGT"), size=int(rng.integers(1, 400)))) for _ in range(120)]
    sequences[3] = sequences[3][:10] + "NNNNRYKM" + sequences[3][10:].lower()  # ambiguity codes, soft-masking
    sequences[5] = "AC"  # shorter than every motif: the motif's minimum score
    sequences[7] = "N" * 30
    extractor = GeneBertMotifFeatureExtractor.from_motif_set(motifs, num_regions=1)
    got = extractor.scan(sequences, batch_size=50)
    expected = scan_max(sequences, motifs)  # numba
    assert got.shape == expected.shape == (120, 40) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-4
    np.testing.assert_allclose(got[5], motifs.min_scores(), atol=1e-5)
    with pytest.raises(ValueError, match="invalid character 'X' at position 2"):
        extractor.scan(["ACX"])


@pytest.fixture(scope="module")
def processor_and_corpus(tiny_corpus, corpus_inputs):
    root, _, motif_file = corpus_inputs
    corpus = load_corpus(tiny_corpus)
    motifs = load_motifs(motif_file)
    assert motifs.names == corpus.motif_names
    extractor = GeneBertMotifFeatureExtractor.from_motif_set(
        motifs,
        motif_mean=corpus.motif_mean.tolist(),
        motif_std=corpus.motif_std.tolist(),
        num_regions=corpus.metadata["config"]["regions_per_sample"],
        region_window_bp=corpus.metadata["config"]["region_window_bp"],
    )
    return GeneBertProcessor(extractor, GeneBertTokenizer(kmer=6)), corpus, root / "genome.fa"


def test_processor_gives_what_the_collator_builds_from_the_corpus(processor_and_corpus):
    processor, corpus, genome_path = processor_and_corpus
    samples = corpus.samples.select(range(6))
    region_ids = np.asarray(corpus.samples["region_ids"], dtype=np.int64)
    collator = DataCollatorForGenomeModeling(
        processor.tokenizer, corpus.regions, region_ids, mask_rate=0.0, negative_probability=0.0
    )
    batch = collator([{"region_ids": ids} for ids in samples["region_ids"]])
    regions = corpus.regions
    with Genome(genome_path) as genome:
        dna = [
            [
                genome.fetch(regions[int(i)]["chrom"], regions[int(i)]["start"], regions[int(i)]["end"])
                for i in ids
            ]
            for ids in samples["region_ids"]
        ]
    out = processor(dna, return_tensors="pt")
    for name in ("input_ids", "token_type_ids", "attention_mask"):
        assert torch.equal(out[name], batch[name]), name
    assert out["region_matrix"].shape == batch["region_matrix"].shape
    assert (out["region_matrix"] - batch["region_matrix"]).abs().max() < 1e-4
    # one sample alone gives the same row
    single = processor(dna[2], return_tensors="np")
    length = int(batch["attention_mask"][2].sum())
    np.testing.assert_array_equal(single["input_ids"][0], batch["input_ids"][2, :length].numpy())
    # standardised with the corpus statistics, as the model's region tower does
    model = GeneBertForPreTraining(
        GeneBertConfig.tiny(num_motifs=len(processor.feature_extractor.motif_names))
    )
    model.region_encoder.set_motif_statistics(corpus.motif_mean, corpus.motif_std)
    standardized = processor.feature_extractor(dna, standardize=True, return_tensors="pt")["region_matrix"]
    expected = (out["region_matrix"] - model.region_encoder.motif_mean) / model.region_encoder.motif_std
    torch.testing.assert_close(standardized, expected)
    with pytest.raises(ValueError, match="expected 10 DNA strings"):
        processor(dna[0][:9])


def test_processor_round_trip_through_autoprocessor_without_genebert(processor_and_corpus, tmp_path):
    """FRESH: save_pretrained, then AutoProcessor.from_pretrained(trust_remote_code=True) where genebert cannot be
    imported gives the same inputs."""
    processor, _, _ = processor_and_corpus
    rng = np.random.default_rng(4)
    dna = [
        ["".join(rng.choice(list("ACGT"), size=int(rng.integers(60, 300)))) for _ in range(10)]
        for _ in range(2)
    ]
    expected = processor(dna, return_tensors="np")
    np.savez(tmp_path / "expected.npz", **{k: np.asarray(v) for k, v in expected.items()})
    processor.save_pretrained(tmp_path / "proc")
    saved = {p.name for p in (tmp_path / "proc").iterdir()}
    assert {"processing_genebert.py", "tokenization_genebert.py", "vocab.txt"} <= saved
    (tmp_path / "dna.json").write_text(json.dumps(dna))
    run_without_genebert(
        f"""
        import json
        import numpy as np
        from transformers import AutoProcessor

        processor = AutoProcessor.from_pretrained({str(tmp_path / "proc")!r}, trust_remote_code=True)
        assert type(processor).__name__ == "GeneBertProcessor", type(processor)
        assert type(processor.feature_extractor).__name__ == "GeneBertMotifFeatureExtractor"
        out = processor(json.load(open({str(tmp_path / "dna.json")!r})), return_tensors="np")
        expected = np.load({str(tmp_path / "expected.npz")!r})
        for name in ("input_ids", "token_type_ids", "attention_mask", "region_matrix"):
            np.testing.assert_array_equal(out[name], expected[name], err_msg=name)
        print("PROCESSOR OK")
        """,
        tmp_path,
    )


def test_export_of_a_pretraining_model_ships_the_processor(processor_and_corpus, corpus_inputs, tmp_path):
    """`export_for_hub(..., motifs=...)` of a pre-training model writes the processor; without genebert, AutoProcessor
    + AutoModelForPreTraining go from DNA to outputs identical to the in-process model. The card lists only the
    cell types that have samples (the corpus skipped "rare")."""
    from huggingface_hub import ModelCard

    from genebert.hub import export_for_hub
    from genebert.training.trainer import corpus_info_from

    _, corpus, _ = processor_and_corpus
    _, _, motif_file = corpus_inputs
    assert corpus.metadata["skipped_cell_types"] == ["rare"]
    torch.manual_seed(0)
    config = GeneBertConfig.tiny(num_motifs=len(corpus.motif_names))
    config.motif_names = corpus.motif_names
    model = GeneBertForPreTraining(config).eval()
    model.region_encoder.set_motif_statistics(corpus.motif_mean, corpus.motif_std)
    run = tmp_path / "run"
    run.mkdir()
    (run / "genebert_corpus.json").write_text(json.dumps(corpus_info_from(corpus)))
    with pytest.raises(ValueError, match=r"not the ones the model was trained on: .*not in this set"):
        export_for_hub(
            model, GeneBertTokenizer(), tmp_path / "bad", motifs=random_motifs(3), training_dir=run
        )
    same_names = MotifSet(names=corpus.motif_names, pwms=random_motifs(3).pwms)
    with pytest.raises(ValueError, match=r"not the ones the model was trained on \(fingerprint"):
        export_for_hub(model, GeneBertTokenizer(), tmp_path / "bad", motifs=same_names, training_dir=run)
    out = export_for_hub(
        model, GeneBertTokenizer(), tmp_path / "export", motifs=str(motif_file), training_dir=run
    )
    assert {"processing_genebert.py", "tokenization_genebert.py", "model.safetensors"} <= {
        p.name for p in out.iterdir()
    }
    card = ModelCard.load(out / "README.md").text
    assert "AutoProcessor.from_pretrained" in card
    assert "2 cell types (alpha, beta)" in card and "rare" not in card

    rng = np.random.default_rng(9)
    dna = [
        ["".join(rng.choice(list("ACGT"), size=int(rng.integers(80, 200)))) for _ in range(10)]
        for _ in range(3)
    ]
    from genebert.hub import processor_for

    inputs = processor_for(model, GeneBertTokenizer(), str(motif_file), run)(dna, return_tensors="pt")
    with torch.no_grad():
        expected = model(**inputs).logits_per_sequence
    np.save(tmp_path / "expected.npy", expected.numpy())
    (tmp_path / "dna.json").write_text(json.dumps(dna))
    run_without_genebert(
        f"""
        import json
        import numpy as np
        import torch
        from transformers import AutoModelForPreTraining, AutoProcessor

        path = {str(out)!r}
        processor = AutoProcessor.from_pretrained(path, trust_remote_code=True)
        model = AutoModelForPreTraining.from_pretrained(path, trust_remote_code=True).eval()
        inputs = processor(json.load(open({str(tmp_path / "dna.json")!r})), return_tensors="pt")
        with torch.no_grad():
            got = model(**inputs).logits_per_sequence.numpy()
        np.testing.assert_allclose(got, np.load({str(tmp_path / "expected.npy")!r}), rtol=1e-5, atol=1e-6)
        print("EXPORTED PROCESSOR OK")
        """,
        tmp_path,
    )


def test_cli_export_with_motifs_ships_the_processor(processor_and_corpus, corpus_inputs, tmp_path):
    """`genebert export CHECKPOINT OUT --motifs FILE` of a pre-training checkpoint writes a loadable processor."""
    from transformers import AutoProcessor

    from genebert import cli
    from genebert.training.trainer import corpus_info_from

    processor, corpus, _ = processor_and_corpus
    _, _, motif_file = corpus_inputs
    config = GeneBertConfig.tiny(num_motifs=len(corpus.motif_names))
    config.motif_names = corpus.motif_names
    model = GeneBertForPreTraining(config)
    model.region_encoder.set_motif_statistics(corpus.motif_mean, corpus.motif_std)
    checkpoint = tmp_path / "checkpoint"
    model.save_pretrained(checkpoint)
    GeneBertTokenizer().save_pretrained(checkpoint)
    (checkpoint / "genebert_corpus.json").write_text(json.dumps(corpus_info_from(corpus)))
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": 1}))
    assert cli.main(["export", str(checkpoint), str(tmp_path / "out"), "--motifs", str(motif_file)]) == 0
    loaded = AutoProcessor.from_pretrained(tmp_path / "out", trust_remote_code=True)
    assert loaded.feature_extractor.motif_names == corpus.motif_names
    np.testing.assert_allclose(loaded.feature_extractor.motif_mean, corpus.motif_mean, rtol=1e-6)
    assert loaded.feature_extractor.region_window_bp == corpus.metadata["config"]["region_window_bp"]
    rng = np.random.default_rng(2)
    dna = ["".join(rng.choice(list("ACGT"), size=120)) for _ in range(10)]
    np.testing.assert_array_equal(loaded(dna)["input_ids"], processor(dna)["input_ids"])
