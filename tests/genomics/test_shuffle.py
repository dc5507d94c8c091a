"""Dinucleotide-preserving shuffle (Altschul-Erickson): exact counts, ends kept, seeded, actually shuffles."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from genebert.genomics.shuffle import dinucleotide_counts, dinucleotide_shuffle

dna = st.text(alphabet="ACGT", min_size=0, max_size=300)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=200, deadline=None)
@given(sequence=dna, seed=seeds)
def test_dinucleotide_counts_and_ends_preserved(sequence, seed):
    shuffled = dinucleotide_shuffle(sequence, seed)
    assert len(shuffled) == len(sequence)
    assert dinucleotide_counts(shuffled) == dinucleotide_counts(sequence)
    assert Counter(shuffled) == Counter(sequence)
    if sequence:
        assert shuffled[0] == sequence[0] and shuffled[-1] == sequence[-1]


@settings(max_examples=50, deadline=None)
@given(sequence=st.text(alphabet="ACGTNacgt", min_size=0, max_size=120), seed=seeds)
def test_any_alphabet_is_preserved(sequence, seed):
    shuffled = dinucleotide_shuffle(sequence, seed)
    assert dinucleotide_counts(shuffled) == dinucleotide_counts(sequence)


@settings(max_examples=50, deadline=None)
@given(sequence=dna, seed=seeds)
def test_deterministic_per_seed(sequence, seed):
    assert dinucleotide_shuffle(sequence, seed) == dinucleotide_shuffle(sequence, seed)


def test_long_sequences_change_and_seeds_differ():
    rng = np.random.default_rng(0)
    for index in range(20):
        sequence = "".join(rng.choice(list("ACGT"), size=100))
        first, second = dinucleotide_shuffle(sequence, index), dinucleotide_shuffle(sequence, index + 1000)
        assert first != sequence
        assert first != second


def test_sequences_with_a_single_eulerian_path_are_unchanged():
    for sequence in ("", "A", "AC", "AAAA", "ACGT"):
        assert dinucleotide_shuffle(sequence, 3) == sequence


def test_every_permutation_is_reachable_and_roughly_uniform():
    # ACATAG has exactly two sequences with its dinucleotide counts: ACATAG and ATACAG.
    outcomes = Counter(dinucleotide_shuffle("ACATAG", seed) for seed in range(2000))
    assert set(outcomes) == {"ACATAG", "ATACAG"}
    assert 0.4 < outcomes["ACATAG"] / 2000 < 0.6
