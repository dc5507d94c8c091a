"""Masked genome modelling for overlapping k-mers, without leaking the answer.

With overlapping k-mers, masking tokens one by one (BERT's scheme) leaks: a masked k-mer's bases are all
visible in its unmasked neighbours (DNABERT issue #86). Here we hide *nucleotides* and mask every token that
contains a hidden nucleotide, so no unmasked token contains one:

1. Spans of nucleotides are hidden, with lengths drawn from a geometric distribution of mean
   ``mean_span_bp`` (1 reproduces DNABERT's k contiguous masked tokens; longer spans as in SpanBERT), until
   the number of tokens containing a hidden nucleotide reaches ``round(rate * n_tokens)``. The last tokens
   are added by extending a hidden run by one base, which adds exactly one token, so the realised rate is
   the target up to rounding.
2. Each maximal run of hidden nucleotides is a span. Its fate is drawn once, not per token: 80 % of spans
   become ``[MASK]`` in every token containing them, 10 % have their bases replaced by one consistent random
   nucleotide string (every affected token is the k-mer of the corrupted sequence), 10 % are kept.
3. A token touching spans of several fates takes the strongest (mask > random > keep), so a kept or randomised
   token never shows a base of a ``[MASK]`` span. Labels are the original ids of every token containing a
   hidden nucleotide (-100 elsewhere, and for ``[UNK]`` tokens, which carry no k-mer to predict).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MASK, RANDOM, KEEP = 0, 1, 2
IGNORE_INDEX = -100
_BASES = np.frombuffer(b"ATCG", dtype=np.uint8)


@dataclass
class MaskedRegions:
    """The result of masking a list of token sequences (one per region), concatenated.

    Attributes:
        input_ids: int64 (n_tokens,) ids fed to the model.
        labels: int64 (n_tokens,) original ids where masked, -100 elsewhere.
        masked: bool (n_tokens,) tokens containing a hidden nucleotide (the masked positions).
        hidden: list of bool arrays, per region, which nucleotides are hidden.
        fates: list of int8 arrays, per region and nucleotide: -1 visible, else MASK / RANDOM / KEEP.
        baseline_ids: int64 (n_tokens,) or None: the neighbour-copy guess at masked tokens (the true k-mer with
            every hidden base replaced by ``fill_base``), -100 elsewhere.
    """

    input_ids: np.ndarray
    labels: np.ndarray
    masked: np.ndarray
    hidden: list[np.ndarray]
    fates: list[np.ndarray]
    baseline_ids: np.ndarray | None = None


def _tokens_touched(length_bp: int, kmer: int, hidden: np.ndarray) -> np.ndarray:
    """Bool (n_tokens,): token i (bases i..i+k-1) contains a hidden base."""
    n_tokens = max(length_bp - kmer + 1, 0)
    if n_tokens == 0:
        return np.zeros(0, dtype=bool)
    before = np.concatenate([[0], np.cumsum(hidden, dtype=np.int64)])
    return (before[kmer : kmer + n_tokens] - before[:n_tokens]) > 0


def choose_hidden_nucleotides(
    lengths_bp: Sequence[int], kmer: int, rate: float, mean_span_bp: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Hide spans of nucleotides in each region until ``round(rate * total tokens)`` tokens are touched."""
    n_tokens = np.array([max(n - kmer + 1, 0) for n in lengths_bp], dtype=np.int64)
    hidden = [np.zeros(n, dtype=bool) for n in lengths_bp]
    target = round(rate * int(n_tokens.sum()))
    if target == 0:
        return hidden
    touched = np.zeros(len(lengths_bp), dtype=np.int64)
    weights = n_tokens / n_tokens.sum()
    p = 1.0 / max(mean_span_bp, 1.0)
    for _ in range(10 * target + 100):  # a bound, never reached in practice
        remaining = target - touched.sum()
        if remaining <= 0:
            break
        region = int(rng.choice(len(lengths_bp), p=weights))
        length_bp = lengths_bp[region]
        span = int(min(rng.geometric(p), length_bp))
        if span + kmer - 1 > remaining:  # finish precisely by growing existing runs one base at a time
            _grow_to_target(hidden, lengths_bp, kmer, touched, target, rng)
            break
        start = int(rng.integers(0, length_bp - span + 1))
        hidden[region][start : start + span] = True
        touched[region] = _tokens_touched(length_bp, kmer, hidden[region]).sum()
    return hidden


def _grow_to_target(
    hidden: list[np.ndarray],
    lengths_bp: Sequence[int],
    kmer: int,
    touched: np.ndarray,
    target: int,
    rng: np.random.Generator,
) -> None:
    """Add single hidden bases next to hidden runs (one new token each) until ``target`` tokens are touched."""
    while touched.sum() < target:
        candidates = []
        for region, mask in enumerate(hidden):
            n_tokens = max(lengths_bp[region] - kmer + 1, 0)
            if n_tokens == 0 or touched[region] >= n_tokens:
                continue
            # a visible base right after a hidden one, whose k-mer (starting there) is untouched
            after = np.flatnonzero(~mask[1:] & mask[:-1]) + 1
            after = after[after < n_tokens]
            candidates += [(region, int(i)) for i in after]
        if not candidates:  # no run to grow (e.g. runs at region ends): start a 1-base span instead
            free = [
                (r, i)
                for r, m in enumerate(hidden)
                for i in np.flatnonzero(~_tokens_touched(lengths_bp[r], kmer, m))
            ]
            if not free:
                return
            candidates = free
        region, position = candidates[int(rng.integers(0, len(candidates)))]
        hidden[region][position] = True
        touched[region] = _tokens_touched(lengths_bp[region], kmer, hidden[region]).sum()


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def mask_regions(
    sequences: Sequence[str],
    token_ids: Sequence[np.ndarray],
    encode: callable,
    *,
    kmer: int,
    rate: float,
    mean_span_bp: float,
    rng: np.random.Generator,
    mask_token_id: int,
    unk_token_id: int,
    mask_fraction: float = 0.8,
    random_fraction: float = 0.1,
    fill_base: str | None = None,
) -> MaskedRegions:
    """Mask the concatenated tokens of several regions (see the module docstring).

    Args:
        sequences: each region's DNA (the window the tokens come from).
        token_ids: each region's k-mer ids (``len(sequence) - k + 1`` each, no special tokens).
        encode: ``list[str] -> list[np.ndarray]``, the tokenizer's k-mer encoder (for randomised spans).
        fill_base: when given, also compute the neighbour-copy baseline guesses (``baseline_ids``) with it.
    """
    hidden = choose_hidden_nucleotides([len(s) for s in sequences], kmer, rate, mean_span_bp, rng)
    input_parts, label_parts, masked_parts, fates_out, baseline_parts = [], [], [], [], []
    for sequence, ids, region_hidden in zip(sequences, token_ids, hidden, strict=True):
        ids = np.asarray(ids, dtype=np.int64)
        n_tokens = len(ids)
        fates = np.full(len(sequence), -1, dtype=np.int8)
        corrupted = None
        for start, end in _runs(region_hidden):
            draw = rng.random()
            fate = (
                MASK if draw < mask_fraction else RANDOM if draw < mask_fraction + random_fraction else KEEP
            )
            fates[start:end] = fate
            if fate == RANDOM:
                if corrupted is None:
                    corrupted = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8).copy()
                corrupted[start:end] = _BASES[rng.integers(0, 4, end - start)]
        masked = _tokens_touched(len(sequence), kmer, region_hidden)[:n_tokens]
        new_ids = ids.copy()
        if corrupted is not None:
            randomised = _tokens_touched(len(sequence), kmer, fates == RANDOM)[:n_tokens]
            corrupted_ids = np.asarray(encode([corrupted.tobytes().decode("ascii")])[0], dtype=np.int64)
            new_ids[randomised] = corrupted_ids[randomised]
        new_ids[_tokens_touched(len(sequence), kmer, fates == MASK)[:n_tokens]] = mask_token_id
        labels = np.where(masked & (ids != unk_token_id), ids, IGNORE_INDEX)
        if fill_base is not None:
            filled = np.frombuffer(sequence.upper().encode("ascii"), dtype=np.uint8).copy()
            filled[region_hidden] = ord(fill_base)
            guess = np.asarray(encode([filled.tobytes().decode("ascii")])[0], dtype=np.int64)[:n_tokens]
            baseline_parts.append(np.where(labels != IGNORE_INDEX, guess, IGNORE_INDEX))
        input_parts.append(new_ids)
        label_parts.append(labels)
        masked_parts.append(masked)
        fates_out.append(fates)
    concat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
    return MaskedRegions(
        concat(input_parts, np.int64),
        concat(label_parts, np.int64),
        concat(masked_parts, bool),
        hidden,
        fates_out,
        concat(baseline_parts, np.int64) if fill_base is not None else None,
    )
