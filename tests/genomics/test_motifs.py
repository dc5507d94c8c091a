"""Motif loading (pyjaspar, JASPAR, MEME, PFM), PWM math, bad input, and scan_max against the float64 reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genebert.errors import InputFileError
from genebert.genomics.motifs import (
    MotifSet,
    base_composition,
    load_motifs,
    pfm_to_pwm,
    scan_max,
    scan_max_reference,
)

# MA0004.1 Arnt, counts as JASPAR distributes them (20 sites).
ARNT = np.array(
    [[4, 19, 0, 0, 0, 0], [16, 0, 20, 0, 0, 0], [0, 1, 0, 20, 0, 20], [0, 0, 0, 0, 20, 0]], dtype=float
).T  # (6, 4)
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def jaspar2018() -> MotifSet:
    return load_motifs("JASPAR2018")


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def jaspar_text(matrix_id="MA0004.1", name="Arnt", counts=ARNT) -> str:
    rows = "".join(f"{b}  [ {' '.join(f'{v:g}' for v in counts[:, i])} ]\n" for i, b in enumerate("ACGT"))
    return f">{matrix_id}\t{name}\n{rows}"


def meme_text(counts=ARNT) -> str:
    probabilities = counts / counts.sum(1, keepdims=True)
    rows = "".join(" ".join(f"{v:.6f}" for v in row) + "\n" for row in probabilities)
    return (
        "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n"
        "A 0.3 C 0.2 G 0.2 T 0.3\n\nMOTIF MA0004.1 Arnt\n"
        f"letter-probability matrix: alength= 4 w= {len(counts)} nsites= 20 E= 0\n{rows}\n"
        "URL http://jaspar.genereg.net/matrix/MA0004.1\n"
    )


# ---------------------------------------------------------------------------------------------- loading


def test_pyjaspar_2018_is_the_papers_579(jaspar2018):
    assert len(jaspar2018) == 579
    assert jaspar2018.names[0] == "MA0004.1 Arnt"
    assert len(set(jaspar2018.names)) == 579
    assert all(pwm.ndim == 2 and pwm.shape[1] == 4 and pwm.dtype == np.float64 for pwm in jaspar2018.pwms)
    assert jaspar2018.lengths.min() >= 5 and jaspar2018.lengths.max() == 21
    np.testing.assert_allclose(jaspar2018.pwms[0], pfm_to_pwm(ARNT))
    assert jaspar2018.fingerprint() == load_motifs("JASPAR2018").fingerprint()


def test_formats_give_the_same_pwms(tmp_path):
    bare_rows = "".join(" ".join(f"{v:g}" for v in ARNT[:, i]) + "\n" for i in range(4))
    gimme_rows = "".join("\t".join(f"{v:g}" for v in row) + "\n" for row in ARNT)
    files = {
        "jaspar": write(tmp_path, "arnt.jaspar", jaspar_text()),
        "meme": write(tmp_path, "arnt.meme", meme_text()),
        "bare pfm, bases as rows": write(tmp_path, "arnt.pfm", ">MA0004.1 Arnt\n" + bare_rows),
        "gimme pfm, positions as rows": write(
            tmp_path, "arnt_gimme.pfm", "# comment\n>MA0004.1_Arnt\n" + gimme_rows
        ),
    }
    expected = pfm_to_pwm(ARNT)
    for label, path in files.items():
        motifs = load_motifs(path)
        assert motifs.names == ["MA0004.1 Arnt"], label
        np.testing.assert_allclose(motifs.pwms[0], expected, atol=1e-9, err_msg=label)
    forced = load_motifs(files["jaspar"], format="jaspar")
    np.testing.assert_array_equal(forced.pwms[0], load_motifs(files["jaspar"]).pwms[0])
    # A headerless bare matrix is one motif named after the file.
    headerless = load_motifs(write(tmp_path, "MA0004.1.pfm", bare_rows))
    assert headerless.names == ["MA0004.1"]
    np.testing.assert_allclose(headerless.pwms[0], expected)


def test_pwm_math_by_hand():
    counts = np.array([[4.0, 16.0, 0.0, 0.0]])
    uniform = pfm_to_pwm(counts, pseudocount=0.8)
    hand = [np.log2((4 + 0.2) / 20.8 / 0.25), np.log2((16 + 0.2) / 20.8 / 0.25), np.log2(0.2 / 20.8 / 0.25)]
    np.testing.assert_allclose(uniform[0, :3], hand)
    assert uniform[0, 2] == uniform[0, 3]
    q = np.array([0.3, 0.2, 0.2, 0.3])
    skewed = pfm_to_pwm(counts, pseudocount=0.8, background=q)
    np.testing.assert_allclose(skewed[0, 0], np.log2((4 + 0.8 * 0.3) / 20.8 / 0.3))
    np.testing.assert_allclose(skewed[0, 3], np.log2((0.8 * 0.3) / 20.8 / 0.3))
    as_mapping = pfm_to_pwm(counts, background={"a": 3, "c": 2, "g": 2, "t": 3})  # normalised
    np.testing.assert_allclose(as_mapping, skewed)
    # Each position is normalised by its own total.
    np.testing.assert_allclose(pfm_to_pwm(np.array([[1.0, 1, 1, 1], [10, 10, 10, 10]])), 0, atol=1e-12)
    with pytest.raises(ValueError, match="pseudocount"):
        pfm_to_pwm(counts, pseudocount=0)
    with pytest.raises(ValueError, match="background"):
        pfm_to_pwm(counts, background=(0.5, 0.5, 0, 0))


def test_frequencies_are_scaled_to_nsites(tmp_path):
    frequencies = ARNT / 20
    rows = "".join(" ".join(f"{v:.4f}" for v in row) + "\n" for row in frequencies)
    path = write(tmp_path, "freq.pfm", ">X1 tf\n" + rows)
    # No nsites in a PFM: MEME's default of 20 sites, so it equals the 20-site counts.
    np.testing.assert_allclose(load_motifs(path).pwms[0], pfm_to_pwm(ARNT), atol=1e-9)
    np.testing.assert_allclose(
        load_motifs(path, frequency_nsites=100).pwms[0], pfm_to_pwm(ARNT * 5), atol=1e-9
    )
    np.testing.assert_allclose(load_motifs(path).pfms[0], frequencies)


def test_background_from_the_genome(tmp_path):
    np.testing.assert_allclose(base_composition("AACGTNnr", symmetric=False), [0.4, 0.2, 0.2, 0.2])
    np.testing.assert_allclose(base_composition(["AAAC", "gN"]), [0.3, 0.2, 0.2, 0.3])
    path = write(tmp_path, "arnt.jaspar", jaspar_text())
    q = base_composition(["AAAC", "gN"])
    motifs = load_motifs(path, background=q, pseudocount=2.0)
    np.testing.assert_allclose(motifs.pwms[0], pfm_to_pwm(ARNT, pseudocount=2.0, background=q))
    np.testing.assert_allclose(motifs.background, q)
    with pytest.raises(ValueError, match="no A, C, G or T"):
        base_composition("NNNN")


def test_gimmemotifs_file_matches_pyjaspar(shared_data, jaspar2018):
    path = shared_data / "jaspar2018_gimmemotifs" / "JASPAR2018_vertebrates.pfm"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    gimme = load_motifs(path)
    assert len(gimme) == 579
    assert sorted(gimme.names) == sorted(jaspar2018.names)
    by_name = dict(zip(jaspar2018.names, jaspar2018.pfms, strict=True))
    # The file holds frequencies rounded to 4 decimals.
    worst = max(np.abs(pfm - by_name[name]).max() for name, pfm in zip(gimme.names, gimme.pfms, strict=True))
    assert worst < 1e-3


def test_motif_set_helpers(jaspar2018):
    small = jaspar2018.subset(["MA0004.1", "MA0006.1 Ahr::Arnt"])
    assert small.names == ["MA0004.1 Arnt", "MA0006.1 Ahr::Arnt"]
    assert small.ids == ["MA0004.1", "MA0006.1"]
    assert small.fingerprint() != jaspar2018.fingerprint()
    assert small.fingerprint() == jaspar2018.subset(["MA0004.1", "MA0006.1"]).fingerprint()
    with pytest.raises(KeyError, match=r"MA9999\.1"):
        jaspar2018.subset(["MA9999.1"])
    np.testing.assert_allclose(small.min_scores()[0], small.pwms[0].min(1).sum())
    with pytest.raises(ValueError, match="duplicate"):
        MotifSet(names=["a", "a"], pwms=[np.zeros((2, 4)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="shape"):
        MotifSet(names=["a"], pwms=[np.zeros((0, 4))])


# ------------------------------------------------------------------------------------------- bad input

BAD_INPUTS = {
    # name: (file text, expected line, message fragment, load_motifs kwargs)
    "empty file": ("", None, "empty", {}),
    "only comments": ("# nothing here\n\n", None, "empty", {}),
    "unknown format": (">seq1\nACGTACGT\n", 2, "unknown motif format", {}),
    "non-numeric": (">M1 a\n0.2 0.3 x 0.5\n", 2, "non-numeric", {}),
    "nan": (">M1 a\n0.2 0.3 nan 0.5\n", 2, "non-numeric", {}),
    "negative": (">M1 a\n1 2 3 4\n5 -1 3 3\n", 3, "negative", {}),
    "five columns": (">M1 a\n1 2 3 4\n1 2 3 4 5\n", 3, "4 columns", {}),
    "jaspar three rows": (">M1 a\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\n", 4, "exactly 4 rows", {}),
    "jaspar ragged rows": (">M1 a\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 3 ]\nT [ 1 2 ]\n", 4, "values", {}),
    "bare matrix ragged": (">M1 a\n1 2 3 4 5\n1 2 3 4 5\n1 2 3 4\n1 2 3 4 5\n", 4, "values", {}),
    "length 0": (">M1 a\n>M2 b\n1 2 3 4\n", 1, "length 0", {}),
    "jaspar length 0": (">M1 a\nA [ ]\nC [ ]\nG [ ]\nT [ ]\n", 1, "length 0", {}),
    "duplicate ID": (">M1 a\n1 2 3 4\n>M2 b\n1 2 3 4\n>M1 c\n4 3 2 1\n", 5, "duplicate motif ID", {}),
    "duplicate gimme ID": (">MA0001.1_a\n1 2 3 4\n>MA0001.1_b\n1 2 3 4\n", 3, "duplicate", {}),
    "frequencies not summing to 1": (">M1 a\n0.25 0.25 0.25 0.25\n0.2 0.3 0.1 0.1\n", 3, "sums to 0.7", {}),
    "position without counts": (">M1 a\n1 2 3 4\n0 0 0 0\n", 3, "no counts", {}),
    "unequal count totals (strict)": (
        ">M1 a\n1 2 3 4\n1 2 3 5\n",
        3,
        "strict_counts",
        {"strict_counts": True},
    ),
    "jaspar unequal totals (strict)": (
        jaspar_text(counts=ARNT + np.eye(6, 4)),
        2,
        "position 1",
        {"strict_counts": True},
    ),
    "meme w mismatch": (meme_text().replace("w= 6", "w= 7"), 11, "w=7", {}),
    "meme no matrix": ("MEME version 4\n\nMOTIF M1 a\nMOTIF M2 b\n", 3, "no letter-probability", {}),
    "meme alphabet": ("MEME version 4\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n", 2, "alphabet", {}),
    "meme probabilities": (meme_text(ARNT * 2).replace("0.200000", "0.900000"), 12, "sums to", {}),
    "forced format mismatch": (">M1 a\n1 2 3 4\n", 2, "JASPAR row", {"format": "jaspar"}),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_names_file_and_line(tmp_path, case):
    text, line, fragment, kwargs = BAD_INPUTS[case]
    path = write(tmp_path, "motifs.txt", text)
    with pytest.raises(InputFileError) as caught:
        load_motifs(path, **kwargs)
    error = caught.value
    assert error.path == str(path)
    assert error.line == line, str(error)
    assert fragment in str(error)
    assert str(error).startswith(f"{path}:{line}:" if line else f"{path}:")


def test_unequal_count_totals_are_normalised_by_default(tmp_path):
    path = write(tmp_path, "m.pfm", ">M1 a\n1 2 3 4\n2 4 6 8\n")
    pwm = load_motifs(path).pwms[0]
    np.testing.assert_allclose(pwm[1], pfm_to_pwm(np.array([[2.0, 4, 6, 8]]))[0])


def test_missing_source():
    with pytest.raises(FileNotFoundError, match="JASPAR2018"):
        load_motifs("no/such/file.jaspar")


# ------------------------------------------------------------------------------------------- scanning

DNA = "ACGTacgtNnRYSWKMBDHV"


def random_motifs(rng: np.random.Generator, count: int, max_length: int = 25) -> MotifSet:
    lengths = rng.integers(1, max_length + 1, count)
    return MotifSet(names=[f"m{i}" for i in range(count)], pwms=[rng.normal(0, 2, (n, 4)) for n in lengths])


def random_sequences(
    rng: np.random.Generator, count: int, max_length: int = 300, n_rate: float = 0.05
) -> list[str]:
    letters = np.array(list(DNA))
    weights = np.r_[np.full(8, (1 - n_rate) / 8), np.full(len(DNA) - 8, n_rate / (len(DNA) - 8))]
    return ["".join(rng.choice(letters, rng.integers(0, max_length + 1), p=weights)) for _ in range(count)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_rate=st.sampled_from([0.0, 0.02, 0.3, 1.0]))
def test_scan_max_matches_reference(seed, n_rate):
    rng = np.random.default_rng(seed)
    motifs = random_motifs(rng, int(rng.integers(1, 6)))
    sequences = random_sequences(rng, int(rng.integers(1, 8)), n_rate=n_rate)
    reference = scan_max_reference(sequences, motifs)
    fast = scan_max(sequences, motifs)
    assert fast.shape == (len(sequences), len(motifs)) and fast.dtype == np.float32
    assert np.all(np.isfinite(fast))
    np.testing.assert_allclose(fast, reference, atol=TOLERANCE, rtol=0)


def test_torch_path_matches_reference():
    rng = np.random.default_rng(1)
    motifs = random_motifs(rng, 12)
    sequences = [*random_sequences(rng, 30), "", "A", "N" * 34]
    reference = scan_max_reference(sequences, motifs)
    np.testing.assert_allclose(
        scan_max(sequences, motifs, device="cpu-torch"), reference, atol=TOLERANCE, rtol=0
    )
    clean = [s.upper().replace("N", "A") for s in random_sequences(rng, 10, n_rate=0.0)]
    np.testing.assert_allclose(
        scan_max(clean, motifs, device="cpu-torch"), scan_max_reference(clean, motifs), atol=TOLERANCE, rtol=0
    )


def test_real_motifs_on_real_sequence(shared_data, jaspar2018):
    fasta = shared_data / "hg19_chr22" / "chr22.fa"
    if not fasta.is_file():
        pytest.skip(f"{fasta} not available")
    with fasta.open() as handle:  # plain read: the directory is read-only, so no .fai can be written
        handle.readline()
        chromosome = handle.read(2_000_000 + 30_000_000 // 60 * 61).replace("\n", "")
    start = 20_000_000  # inside the covered part of the chromosome (17.44-51.18 Mb)
    sequences = [chromosome[start + 700 * i : start + 700 * i + 500] for i in range(12)]
    sequences.append(chromosome[start - 2_000_000 : start - 2_000_000 + 400])  # N-rich region
    motifs = jaspar2018.subset(jaspar2018.names[::10])
    reference = scan_max_reference(sequences, motifs)
    np.testing.assert_allclose(scan_max(sequences, motifs), reference, atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(
        scan_max(sequences, motifs, device="cpu-torch"), reference, atol=TOLERANCE, rtol=0
    )


def test_reverse_strand_hit():
    pwm = np.full((8, 4), -3.0)
    for position, base in enumerate("AAAACCCG"):
        pwm[position, "ACGT".index(base)] = 2.0
    motifs = MotifSet(names=["m"], pwms=[pwm])
    background = "T" * 20
    forward = background + "AAAACCCG" + background
    reverse = background + "CGGGTTTT" + background  # reverse complement of the consensus
    scores = scan_max([forward, reverse, background], motifs)[:, 0]
    assert scores[0] == pytest.approx(16.0) and scores[1] == pytest.approx(16.0)
    assert scores[2] < 0
    # The reverse hit really comes from the reverse strand: the forward-only score of that sequence is low.
    forward_only = max(
        pwm[np.arange(8), ["ACGT".index(b) for b in reverse[i : i + 8]]].sum() for i in range(41)
    )
    assert forward_only < 0
    for device in (None, "cpu-torch"):
        np.testing.assert_allclose(scan_max([reverse], motifs, device=device)[0, 0], 16.0, atol=1e-5)


def test_ambiguity_and_short_sequence_policy():
    pwm = np.array([[1.0, -1.0, 0.5, -2.0], [0.0, 3.0, -1.0, 0.2]])
    motifs = MotifSet(names=["m"], pwms=[pwm])
    minimum = pwm.min(1).sum()
    cases = {
        "": minimum,  # shorter than the motif
        "A": minimum,
        "NN": minimum,  # N scores the worst base, on both strands
        "nnnnnnnn": minimum,
        "AC": 4.0,
        "RC": 3.5,  # R = A or G: min(1.0, 0.5) + 3.0
        "ac": 4.0,
    }
    scores = scan_max(list(cases), motifs)[:, 0]
    np.testing.assert_allclose(scores, list(cases.values()), atol=1e-6)
    # A window with N never beats the same window with any real base in place of the N.
    rng = np.random.default_rng(3)
    motifs = random_motifs(rng, 8, max_length=10)
    for _ in range(20):
        sequence = "".join(rng.choice(list("ACGT"), 30))
        position = int(rng.integers(0, 30))
        with_n = sequence[:position] + "N" + sequence[position + 1 :]
        filled = [with_n.replace("N", base) for base in "ACGT"]
        assert np.all(scan_max([with_n], motifs)[0] <= scan_max(filled, motifs).min(0) + 1e-6)


def test_chunking_and_determinism():
    rng = np.random.default_rng(7)
    motifs = random_motifs(rng, 9)
    sequences = random_sequences(rng, 23)
    whole = scan_max(sequences, motifs)
    for chunk_size in (1, 4, 100):
        np.testing.assert_array_equal(scan_max(sequences, motifs, chunk_size=chunk_size), whole)
    np.testing.assert_array_equal(scan_max(sequences, motifs), whole)
    np.testing.assert_allclose(
        scan_max(sequences, motifs, device="cpu-torch", chunk_size=5),
        scan_max(sequences, motifs, device="cpu-torch"),
        atol=1e-5,
    )


def test_bad_sequences():
    motifs = MotifSet(names=["m"], pwms=[np.zeros((3, 4))])
    with pytest.raises(ValueError, match=r"sequence 2: invalid character 'X' at position 1"):
        scan_max(["ACGT", "AC", "AXGT"], motifs)
    with pytest.raises(ValueError, match=r"sequence 2: invalid character '-'"):
        scan_max(["ACGT", "AC", "A-GT"], motifs, chunk_size=1)
    with pytest.raises(ValueError, match="invalid character 'é'"):
        scan_max(["ACé"], motifs)
    with pytest.raises(TypeError):
        scan_max("ACGT", motifs)
    assert scan_max([], motifs).shape == (0, 1)
