"""Dinucleotide-preserving shuffling: the negatives of the paper's TF-binding task.

Altschul & Erickson (1985) showed that a random sequence with exactly the dinucleotide counts of a given
sequence is a random Eulerian path in the sequence's dinucleotide multigraph (one vertex per letter, one edge
per adjacent pair), starting at its first letter. We sample one as Kandel et al. (1996) and uShuffle (Jiang et
al. 2008) do:

1. For every vertex except the last letter, choose its *last* outgoing edge so that these last edges form a
   spanning arborescence directed towards the last letter. Wilson's loop-erased random walk does this with
   multiplicities taken into account.
2. Shuffle each vertex's remaining outgoing edges uniformly and put the chosen last edge at the end.
3. Walk from the first letter, always taking the next unused edge of the current vertex.

The result has the same length, the same letter counts, the same dinucleotide counts (hence also the same
first and last letter), and every such sequence is equally likely. Letters are symbols: ``a`` and ``A`` (and
``N``) are different vertices, so upper-case the input first if soft-masking should be ignored.
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np


def dinucleotide_shuffle(sequence: str, seed: int) -> str:
    """A uniformly random sequence with exactly the dinucleotide counts of ``sequence`` (Altschul-Erickson).

    Deterministic for a given ``(sequence, seed)``. The first and last letters are kept (they are fixed by the
    dinucleotide counts). Sequences of length <= 2, or whose dinucleotide graph admits only one Eulerian path
    (e.g. ``"AAAA"``, ``"ACGT"``), come back unchanged.

    Args:
        sequence: any string (case and ambiguity codes are kept as distinct letters).
        seed: seed of the random generator (``numpy.random.default_rng``).
    """
    if len(sequence) <= 2:
        return sequence
    rng = np.random.default_rng(seed)
    # Outgoing edges of each vertex, as the list of successor letters in sequence order.
    edges: dict[str, list[str]] = {}
    for a, b in itertools.pairwise(sequence):
        edges.setdefault(a, []).append(b)
    last = sequence[-1]

    # Step 1: Wilson's algorithm for a random arborescence towards `last` in the multigraph. Choosing an
    # outgoing edge index uniformly weights each successor by its multiplicity, as the method requires.
    in_tree = {last}
    last_edge: dict[str, int] = {}
    for start in sorted(edges):  # sorted: a fixed visiting order keeps the result deterministic per seed
        vertex = start
        while vertex not in in_tree:  # random walk; overwriting last_edge erases loops
            index = int(rng.integers(len(edges[vertex])))
            last_edge[vertex] = index
            vertex = edges[vertex][index]
        vertex = start
        while vertex not in in_tree:
            in_tree.add(vertex)
            vertex = edges[vertex][last_edge[vertex]]

    # Step 2: shuffle the other edges of each vertex; its arborescence edge goes last.
    order: dict[str, list[str]] = {}
    for vertex, successors in edges.items():
        if vertex in last_edge:
            chosen = successors[last_edge[vertex]]
            rest = successors[: last_edge[vertex]] + successors[last_edge[vertex] + 1 :]
        else:  # the last letter: no edge must be kept for the end
            chosen, rest = None, list(successors)
        permutation = rng.permutation(len(rest))
        ordered = [rest[i] for i in permutation]
        if chosen is not None:
            ordered.append(chosen)
        order[vertex] = ordered[::-1]  # reversed so that pop() takes them in order

    # Step 3: the Eulerian walk.
    letters = [sequence[0]]
    vertex = sequence[0]
    for _ in range(len(sequence) - 1):
        vertex = order[vertex].pop()
        letters.append(vertex)
    return "".join(letters)


def dinucleotide_counts(sequence: str) -> Counter[str]:
    """Counts of the overlapping dinucleotides of ``sequence`` (what :func:`dinucleotide_shuffle` preserves)."""
    return Counter(sequence[i : i + 2] for i in range(len(sequence) - 1))


__all__ = ["dinucleotide_counts", "dinucleotide_shuffle"]
