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


# The functions below run once per sample in DataLoader workers, so they work on the sample's regions
# concatenated (one numpy pass instead of one per region) and update counts incrementally. They draw from the
# generator in exactly the order, and with exactly the calls, of the straightforward per-region version, so a
# seed gives the same masks as before the optimisation (tests/test_collator.py pins the properties).


class _Layout:
    """Where each region's bases and tokens sit in the concatenation of a sample's regions."""

    def __init__(self, lengths_bp: Sequence[int], n_tokens: Sequence[int]) -> None:
        self.lengths_bp = np.asarray(lengths_bp, dtype=np.int64).reshape(-1)
        self.n_tokens = np.asarray(n_tokens, dtype=np.int64).reshape(-1)
        self.base_starts = np.zeros(len(self.lengths_bp) + 1, dtype=np.int64)
        np.cumsum(self.lengths_bp, out=self.base_starts[1:])
        self.token_starts = np.zeros(len(self.n_tokens) + 1, dtype=np.int64)
        np.cumsum(self.n_tokens, out=self.token_starts[1:])
        # first base of each token, as an index into the concatenated bases
        self.window_starts = np.repeat(
            self.base_starts[:-1] - self.token_starts[:-1], self.n_tokens
        ) + np.arange(self.token_starts[-1])

    def tokens_touched(self, kmer: int, bases: np.ndarray) -> np.ndarray:
        """Bool (total tokens,): the token contains a True base of ``bases`` (concatenated, bool)."""
        before = np.zeros(bases.size + 1, dtype=np.int32)
        np.cumsum(bases, out=before[1:])
        return (before[self.window_starts + kmer] - before[self.window_starts]) > 0

    def split_bases(self, values: np.ndarray) -> list[np.ndarray]:
        return np.split(values, self.base_starts[1:-1]) if len(self.lengths_bp) else []


def _touch(tokens: np.ndarray, start: int, end: int, kmer: int) -> int:
    """Mark the tokens containing any of bases ``start:end`` of one region; return how many were new."""
    low, high = max(start - kmer + 1, 0), min(end, tokens.size)
    if low >= high:
        return 0
    part = tokens[low:high]
    new = (high - low) - int(np.count_nonzero(part))
    part[:] = True
    return new


def choose_hidden_nucleotides(
    lengths_bp: Sequence[int], kmer: int, rate: float, mean_span_bp: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Hide spans of nucleotides in each region until ``round(rate * total tokens)`` tokens are touched."""
    lengths_bp = [int(n) for n in lengths_bp]
    n_tokens = np.array([max(n - kmer + 1, 0) for n in lengths_bp], dtype=np.int64)
    layout = _Layout(lengths_bp, n_tokens)
    concatenated = np.zeros(int(layout.base_starts[-1]), dtype=bool)
    hidden = layout.split_bases(concatenated)  # views: writing a region writes the concatenation
    target = round(rate * int(n_tokens.sum()))
    if target == 0:
        return hidden
    tokens = [np.zeros(n, dtype=bool) for n in n_tokens.tolist()]
    touched = np.zeros(len(lengths_bp), dtype=np.int64)
    weights = n_tokens / n_tokens.sum()
    # `rng.choice(len(lengths_bp), p=weights)` draws one uniform and searches it in this normalised CDF
    cdf = weights.cumsum()
    cdf /= cdf[-1]
    p = 1.0 / max(mean_span_bp, 1.0)
    total = 0
    for _ in range(10 * target + 100):  # a bound, never reached in practice
        remaining = target - total
        if remaining <= 0:
            break
        region = int(cdf.searchsorted(rng.random(), side="right"))
        length_bp = lengths_bp[region]
        span = int(min(rng.geometric(p), length_bp))
        if span + kmer - 1 > remaining:  # finish precisely by growing existing runs one base at a time
            _grow_to_target(concatenated, hidden, layout, tokens, kmer, touched, target, rng)
            break
        start = int(rng.integers(0, length_bp - span + 1))
        hidden[region][start : start + span] = True
        new = _touch(tokens[region], start, start + span, kmer)
        touched[region] += new
        total += new
    return hidden


def _grow_to_target(
    concatenated: np.ndarray,
    hidden: list[np.ndarray],
    layout: _Layout,
    tokens: list[np.ndarray],
    kmer: int,
    touched: np.ndarray,
    target: int,
    rng: np.random.Generator,
) -> None:
    """Add single hidden bases next to hidden runs (one new token each) until ``target`` tokens are touched."""
    n_regions = len(hidden)
    region_of = np.repeat(np.arange(n_regions), layout.lengths_bp)
    local = np.arange(concatenated.size) - layout.base_starts[:-1][region_of]
    region_start = np.zeros(concatenated.size, dtype=bool)
    region_start[layout.base_starts[:-1][layout.lengths_bp > 0]] = True
    tokens_of_base = layout.n_tokens[region_of]
    while touched.sum() < target:
        # a visible base right after a hidden one of the same region, inside the region's tokens, in a region
        # whose tokens are not all touched yet; in region order, then position order
        after = np.flatnonzero(~concatenated[1:] & concatenated[:-1]) + 1
        keep = ~region_start[after] & (local[after] < tokens_of_base[after])
        after = after[keep]
        after = after[touched[region_of[after]] < layout.n_tokens[region_of[after]]]
        if after.size:
            chosen = int(after[int(rng.integers(0, after.size))])
            region, position = int(region_of[chosen]), int(local[chosen])
        else:  # no run to grow (e.g. runs at region ends): start a 1-base span instead
            free = [
                (r, i)
                for r, m in enumerate(hidden)
                for i in np.flatnonzero(~_tokens_touched(int(layout.lengths_bp[r]), kmer, m))
            ]
            if not free:
                return
            region, position = free[int(rng.integers(0, len(free)))]
        hidden[region][position] = True
        touched[region] += _touch(tokens[region], position, position + 1, kmer)


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
    lengths_bp = [len(s) for s in sequences]
    hidden = choose_hidden_nucleotides(lengths_bp, kmer, rate, mean_span_bp, rng)
    token_ids = [np.asarray(ids, dtype=np.int64).reshape(-1) for ids in token_ids]
    if len(token_ids) != len(sequences):
        raise ValueError(f"{len(sequences)} sequences but {len(token_ids)} token id arrays")
    layout = _Layout(lengths_bp, [len(ids) for ids in token_ids])
    ids = np.concatenate(token_ids) if token_ids else np.zeros(0, dtype=np.int64)
    hidden_all = np.concatenate(hidden) if hidden else np.zeros(0, dtype=bool)
    fates = np.full(hidden_all.size, -1, dtype=np.int8)

    # maximal hidden runs, never crossing a region boundary, in region then position order
    boundary = np.zeros(hidden_all.size + 1, dtype=bool)
    boundary[layout.base_starts] = True
    previous_hidden = np.concatenate([[False], hidden_all[:-1]]) & ~boundary[:-1]
    next_hidden = np.concatenate([hidden_all[1:], [False]]) & ~boundary[1:]
    run_starts = np.flatnonzero(hidden_all & ~previous_hidden).tolist()
    run_ends = (np.flatnonzero(hidden_all & ~next_hidden) + 1).tolist()
    corrupted = None
    random_regions: list[int] = []
    for start, end in zip(run_starts, run_ends, strict=True):
        draw = rng.random()
        fate = MASK if draw < mask_fraction else RANDOM if draw < mask_fraction + random_fraction else KEEP
        fates[start:end] = fate
        if fate == RANDOM:
            if corrupted is None:
                corrupted = np.frombuffer("".join(sequences).encode("ascii"), dtype=np.uint8).copy()
            corrupted[start:end] = _BASES[rng.integers(0, 4, end - start)]
            region = int(np.searchsorted(layout.base_starts, start, side="right")) - 1
            if not random_regions or random_regions[-1] != region:
                random_regions.append(region)

    masked = layout.tokens_touched(kmer, hidden_all)
    new_ids = ids.copy()
    if corrupted is not None:
        randomised = layout.tokens_touched(kmer, fates == RANDOM)
        corrupted_ids = ids.copy()
        texts = [_region_text(corrupted, layout, r) for r in random_regions]
        for region, region_ids in zip(random_regions, encode(texts), strict=True):
            first, last = layout.token_starts[region], layout.token_starts[region + 1]
            corrupted_ids[first:last] = np.asarray(region_ids, dtype=np.int64)[: last - first]
        new_ids[randomised] = corrupted_ids[randomised]
    new_ids[layout.tokens_touched(kmer, fates == MASK)] = mask_token_id
    labels = np.where(masked & (ids != unk_token_id), ids, IGNORE_INDEX)
    baseline = None
    if fill_base is not None:
        filled = np.frombuffer("".join(sequences).upper().encode("ascii"), dtype=np.uint8).copy()
        filled[hidden_all] = ord(fill_base)
        guesses = encode([_region_text(filled, layout, r) for r in range(len(sequences))])
        guess = np.concatenate(
            [
                np.asarray(g, dtype=np.int64)[: len(region_ids)]
                for g, region_ids in zip(guesses, token_ids, strict=True)
            ]
            or [np.zeros(0, dtype=np.int64)]
        )
        baseline = np.where(labels != IGNORE_INDEX, guess, IGNORE_INDEX)
    return MaskedRegions(
        new_ids,
        labels.astype(np.int64),
        masked,
        hidden,
        layout.split_bases(fates),
        baseline,
    )


def _region_text(buffer: np.ndarray, layout: _Layout, region: int) -> str:
    return buffer[layout.base_starts[region] : layout.base_starts[region + 1]].tobytes().decode("ascii")
