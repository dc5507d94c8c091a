"""Best-hit scanners: `scan_max` (a numba CPU kernel, a torch path for GPUs) and the float64
`scan_max_reference` both are tested against."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from .motif_set import _BASE_OF_MASK, _IS_AMBIGUOUS, _MASK_BASES, MotifSet, _encode

# --------------------------------------------------------------------------------------------------
# Scoring tables shared by the scanners


def _reverse_complement_pwm(pwm: np.ndarray) -> np.ndarray:
    # Columns are A, C, G, T, so complementing a base is reversing the column order.
    return pwm[::-1, ::-1]


def _ambiguity_table(pwm: np.ndarray) -> np.ndarray:
    """``(L, 16)``: score of each IUPAC mask at each position = min over the bases it stands for."""
    table = np.where(_MASK_BASES[None, :, :], pwm[:, None, :], np.inf).min(axis=2)
    table[:, 0] = 0.0  # mask 0 never occurs in a window (padding only)
    return table


def scan_max_reference(sequences: Sequence[str], motif_set: MotifSet) -> np.ndarray:
    """Brute-force float64 :func:`scan_max` (pure numpy, same policies), the exactness reference.

    Returns:
        ``(n_sequences, n_motifs)`` float64.
    """
    batch = _encode(sequences)
    out = np.empty((len(sequences), len(motif_set)), dtype=np.float64)
    minima = motif_set.min_scores()
    for m, pwm in enumerate(motif_set.pwms):
        length = pwm.shape[0]
        forward = _ambiguity_table(pwm)
        reverse = _ambiguity_table(_reverse_complement_pwm(pwm))
        rows = np.arange(length)
        for s in range(len(sequences)):
            masks = batch.masks[batch.offsets[s] : batch.offsets[s + 1]]
            if masks.size < length:
                out[s, m] = minima[m]
                continue
            windows = np.lib.stride_tricks.sliding_window_view(masks, length)
            out[s, m] = max(
                forward[rows, windows].sum(axis=1).max(), reverse[rows, windows].sum(axis=1).max()
            )
    return out


# --------------------------------------------------------------------------------------------------
# numba CPU path: block lookup tables.
#
# For each motif, the positions are cut into nb = ceil(L / 7) blocks of (nearly) equal size b <= 7. Each
# block has a table of 4^b partial scores, one per b-mer, with the forward and reverse-complement scores
# side by side, so one lookup serves both strands and a window costs nb lookups instead of L. The sequence
# is packed once into 7-mer codes (uint16); the b-mer code at i is the 7-mer code at i shifted right,
# because the first base is the most significant digit. Equal block sizes keep tables small (L=10 -> 5+5,
# 16 KB) so each motif's tables stay in L2 while the motif-outer parallel loop streams the sequences.

_MAX_BLOCK = 7


@dataclass
class _LookupTables:
    order: np.ndarray  # (M,) motif order for the parallel loop (longest first: better load balance)
    lengths: np.ndarray  # (M,) int64
    nblocks: np.ndarray  # (M,) int64
    block_start: np.ndarray  # (M, max_nb) int64 first motif position of each block
    block_shift: np.ndarray  # (M, max_nb) int64 right shift turning a 7-mer code into the block's b-mer
    table_offset: np.ndarray  # (M, max_nb) int64 offset of each block's table in ``tables``
    tables: np.ndarray  # float32, pairs (forward, reverse) per b-mer
    ambiguity_offset: np.ndarray  # (M,) int64 offset in ``ambiguity``
    ambiguity: np.ndarray  # float32, (L, 16, 2) per motif: per-position mask scores, both strands
    min_scores: np.ndarray  # (M,) float32


def _block_table(pwm_block: np.ndarray) -> np.ndarray:
    """``(4^b,)`` float64 sum of scores of every b-mer, first base most significant."""
    table = pwm_block[0]
    for row in pwm_block[1:]:
        table = (table[:, None] + row[None, :]).reshape(-1)
    return table


def _lookup_tables(motif_set: MotifSet) -> _LookupTables:
    key = "lookup:" + motif_set.fingerprint()
    cached = motif_set._cache.get(key)
    if cached is not None:
        return cached
    lengths = motif_set.lengths
    nblocks = -(-lengths // _MAX_BLOCK)
    width = int(nblocks.max())
    block_start = np.zeros((len(lengths), width), dtype=np.int64)
    block_shift = np.zeros((len(lengths), width), dtype=np.int64)
    table_offset = np.zeros((len(lengths), width), dtype=np.int64)
    tables, ambiguity, ambiguity_offset = [], [], np.zeros(len(lengths), dtype=np.int64)
    offset = ambiguity_total = 0
    for m, pwm in enumerate(motif_set.pwms):
        reverse = _reverse_complement_pwm(pwm)
        sizes = np.full(nblocks[m], lengths[m] // nblocks[m])
        sizes[: lengths[m] % nblocks[m]] += 1
        start = 0
        for j, size in enumerate(sizes):
            pair = np.stack(
                [_block_table(pwm[start : start + size]), _block_table(reverse[start : start + size])], 1
            )
            block_start[m, j], block_shift[m, j], table_offset[m, j] = start, 2 * (_MAX_BLOCK - size), offset
            tables.append(pair.reshape(-1))
            offset += pair.size
            start += size
        amb = np.stack([_ambiguity_table(pwm), _ambiguity_table(reverse)], axis=2)  # (L, 16, 2)
        ambiguity.append(amb.reshape(-1))
        ambiguity_offset[m] = ambiguity_total
        ambiguity_total += amb.size
    result = _LookupTables(
        order=np.argsort(-lengths, kind="stable").astype(np.int64),
        lengths=lengths,
        nblocks=nblocks.astype(np.int64),
        block_start=block_start,
        block_shift=block_shift,
        table_offset=table_offset,
        tables=np.concatenate(tables).astype(np.float32),
        ambiguity_offset=ambiguity_offset,
        ambiguity=np.concatenate(ambiguity).astype(np.float32),
        min_scores=motif_set.min_scores().astype(np.float32),
    )
    motif_set._cache[key] = result
    return result


def _packed_kmers(masks: np.ndarray) -> np.ndarray:
    """``(n,)`` uint16 code of the 7-mer starting at each position (``masks`` carries 7 padding bytes)."""
    bases = _BASE_OF_MASK[masks].astype(np.uint16)
    n = masks.size - _MAX_BLOCK
    packed = np.zeros(n, dtype=np.uint16)
    for t in range(_MAX_BLOCK):
        packed <<= 2
        packed |= bases[t : t + n]
    return packed


# Indices are unsigned on purpose: numba adds negative-index wrap-around to every signed array access,
# which tripled the time of these loops. Mixing uint64 with int64 would promote to float64 in numba, so
# every index is converted with _U first.
_U = numba.uint64


@numba.njit(cache=True, nogil=True, inline="always")
def _best_1(packed, tables, a, last, o0, h0):
    best_f = np.float32(-np.inf)
    best_r = np.float32(-np.inf)
    o0, h0 = _U(o0), _U(h0)
    for i in range(_U(a), _U(last) + _U(1)):
        k0 = o0 + _U(2) * (_U(packed[i]) >> h0)
        best_f = max(best_f, tables[k0])
        best_r = max(best_r, tables[k0 + _U(1)])
    return max(best_f, best_r)


@numba.njit(cache=True, nogil=True, inline="always")
def _best_2(packed, tables, a, last, o0, h0, s1, o1, h1):
    best_f = np.float32(-np.inf)
    best_r = np.float32(-np.inf)
    o0, h0, s1, o1, h1 = _U(o0), _U(h0), _U(s1), _U(o1), _U(h1)
    for i in range(_U(a), _U(last) + _U(1)):
        k0 = o0 + _U(2) * (_U(packed[i]) >> h0)
        k1 = o1 + _U(2) * (_U(packed[i + s1]) >> h1)
        best_f = max(best_f, tables[k0] + tables[k1])
        best_r = max(best_r, tables[k0 + _U(1)] + tables[k1 + _U(1)])
    return max(best_f, best_r)


@numba.njit(cache=True, nogil=True, inline="always")
def _best_3(packed, tables, a, last, o0, h0, s1, o1, h1, s2, o2, h2):
    best_f = np.float32(-np.inf)
    best_r = np.float32(-np.inf)
    o0, h0, s1, o1, h1, s2, o2, h2 = _U(o0), _U(h0), _U(s1), _U(o1), _U(h1), _U(s2), _U(o2), _U(h2)
    for i in range(_U(a), _U(last) + _U(1)):
        k0 = o0 + _U(2) * (_U(packed[i]) >> h0)
        k1 = o1 + _U(2) * (_U(packed[i + s1]) >> h1)
        k2 = o2 + _U(2) * (_U(packed[i + s2]) >> h2)
        best_f = max(best_f, tables[k0] + tables[k1] + tables[k2])
        best_r = max(best_r, tables[k0 + _U(1)] + tables[k1 + _U(1)] + tables[k2 + _U(1)])
    return max(best_f, best_r)


@numba.njit(cache=True, nogil=True)
def _best_general(
    packed, masks, prefix, tables, ambiguity, a, last, m, length, nb, starts, shifts, offsets, amb_off
):
    """Any block count; windows with an ambiguous base (``prefix`` counts them) use per-position scores."""
    best = np.float32(-np.inf)
    size = _U(length)
    amb_off = _U(amb_off)
    for i in range(_U(a), _U(last) + _U(1)):
        f = np.float32(0.0)
        r = np.float32(0.0)
        if prefix[i + size] == prefix[i]:
            for j in range(nb):
                k = _U(offsets[m, j]) + _U(2) * (_U(packed[i + _U(starts[m, j])]) >> _U(shifts[m, j]))
                f += tables[k]
                r += tables[k + _U(1)]
        else:
            for p in range(size):
                k = amb_off + _U(2) * (_U(16) * p + _U(masks[i + p]))
                f += ambiguity[k]
                r += ambiguity[k + _U(1)]
        best = max(best, max(f, r))
    return best


@numba.njit(cache=True, nogil=True, parallel=True)
def _scan_kernel(
    packed, masks, prefix, offsets, has_ambiguous, order, lengths, nblocks, starts, shifts, table_offsets,
    tables, ambiguity_offsets, ambiguity, min_scores, out,
):  # fmt: skip
    n_sequences = offsets.size - 1
    # Motif-outer: each thread keeps one motif's tables hot in its L2 while it walks all sequences.
    for index in numba.prange(order.size):
        m = order[index]
        length = lengths[m]
        nb = nblocks[m]
        for s in range(n_sequences):
            a = offsets[s]
            last = offsets[s + 1] - length
            if last < a:
                out[s, m] = min_scores[m]
            elif has_ambiguous[s] or nb > 3:
                out[s, m] = _best_general(
                    packed, masks, prefix, tables, ambiguity, a, last, m, length, nb, starts, shifts,
                    table_offsets, ambiguity_offsets[m],
                )  # fmt: skip
            elif nb == 1:
                out[s, m] = _best_1(packed, tables, a, last, table_offsets[m, 0], shifts[m, 0])
            elif nb == 2:
                out[s, m] = _best_2(
                    packed, tables, a, last, table_offsets[m, 0], shifts[m, 0],
                    starts[m, 1], table_offsets[m, 1], shifts[m, 1],
                )  # fmt: skip
            else:
                out[s, m] = _best_3(
                    packed, tables, a, last, table_offsets[m, 0], shifts[m, 0],
                    starts[m, 1], table_offsets[m, 1], shifts[m, 1],
                    starts[m, 2], table_offsets[m, 2], shifts[m, 2],
                )  # fmt: skip


def _scan_numba(sequences: Sequence[str], lookup: _LookupTables, out: np.ndarray) -> None:
    batch = _encode(sequences, pad=_MAX_BLOCK)
    packed = _packed_kmers(batch.masks)
    prefix = np.zeros(batch.masks.size + 1, dtype=np.int32)
    np.cumsum(_IS_AMBIGUOUS[batch.masks], out=prefix[1:])
    # Small dynamically scheduled chunks of motifs balance the threads (motifs differ in length and the
    # machine may be shared); set here because numba cannot cache a kernel using the context manager.
    # numba's OpenMP threading layer shares the OpenMP runtime with torch and sets its own thread count there
    # when it starts: without restoring it, torch in the same process silently switches thread count (ignoring
    # OMP_NUM_THREADS), which changes the order of float reductions and so the losses of a later training run.
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    previous = numba.set_parallel_chunksize(4)
    try:
        _scan_kernel(
            packed, batch.masks, prefix, batch.offsets, batch.has_ambiguous, lookup.order, lookup.lengths,
            lookup.nblocks, lookup.block_start, lookup.block_shift, lookup.table_offset, lookup.tables,
            lookup.ambiguity_offset, lookup.ambiguity, lookup.min_scores, out,
        )  # fmt: skip
    finally:
        numba.set_parallel_chunksize(previous)
        if torch is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)


# --------------------------------------------------------------------------------------------------
# torch path: conv1d over one-hot sequences, device-agnostic (CPU for tests, CUDA/MPS in production).

# Ambiguous masks get their own one-hot channels so their min-over-bases scores stay exact.
_AMBIGUOUS_MASKS = [mask for mask in range(1, 16) if _IS_AMBIGUOUS[mask]]
_CHANNEL_OF_MASK = np.full(16, -1, dtype=np.int64)
_CHANNEL_OF_MASK[[1, 2, 4, 8]] = [0, 1, 2, 3]
_CHANNEL_OF_MASK[_AMBIGUOUS_MASKS] = np.arange(4, 4 + len(_AMBIGUOUS_MASKS))
# Budget for one chunk's (sequences x 2 motifs x positions) float32 score tensor.
_TORCH_SCORE_ELEMENTS = 1 << 26


def _torch_weights(motif_set: MotifSet, device) -> tuple[Any, Any, Any]:
    import torch

    key = f"torch:{device}:" + motif_set.fingerprint()
    cached = motif_set._cache.get(key)
    if cached is not None:
        return cached
    longest = int(motif_set.lengths.max())
    n_channels = 4 + len(_AMBIGUOUS_MASKS)
    weight = np.zeros((2 * len(motif_set), n_channels, longest), dtype=np.float32)
    for m, pwm in enumerate(motif_set.pwms):
        for strand, matrix in enumerate((pwm, _reverse_complement_pwm(pwm))):
            table = _ambiguity_table(matrix)  # (L, 16)
            channels = _CHANNEL_OF_MASK[1:]
            # Output channel 2m is the forward strand, 2m + 1 the reverse; zero weights beyond L.
            weight[2 * m + strand, channels, : matrix.shape[0]] = table[:, 1:].T
    result = (
        torch.from_numpy(weight).to(device),
        torch.from_numpy(motif_set.lengths).to(device),
        torch.from_numpy(motif_set.min_scores().astype(np.float32)).to(device),
    )
    motif_set._cache[key] = result
    return result


def _scan_torch(sequences: Sequence[str], motif_set: MotifSet, device, out: np.ndarray) -> None:
    import torch

    weight, lengths, minima = _torch_weights(motif_set, device)
    longest = weight.shape[2]
    batch = _encode(sequences)
    seq_lengths = np.diff(batch.offsets)
    width = int(seq_lengths.max(initial=0))
    # (n, width + longest - 1) channel index per position, -1 = padding (contributes nothing).
    channels = np.full((len(sequences), width + longest - 1), -1, dtype=np.int64)
    position = np.arange(width)
    inside = position[None, :] < seq_lengths[:, None]
    channels[:, :width][inside] = _CHANNEL_OF_MASK[batch.masks[: batch.offsets[-1]]]
    use_ambiguous = bool(batch.has_ambiguous.any())
    n_channels = weight.shape[1] if use_ambiguous else 4
    index = torch.from_numpy(channels).to(device)
    one_hot = torch.zeros((len(sequences), n_channels, index.shape[1]), dtype=torch.float32, device=device)
    valid = index >= 0
    one_hot.scatter_(1, index.clamp(min=0).unsqueeze(1), valid.unsqueeze(1).float())
    # TF32 convolutions (cuDNN's default) would cost ~1e-2 of accuracy; keep full float32.
    cudnn = torch.backends.cudnn
    with (
        torch.no_grad(),
        cudnn.flags(enabled=cudnn.enabled, benchmark=False, deterministic=True, allow_tf32=False),
    ):
        scores = torch.nn.functional.conv1d(one_hot, weight[:, :n_channels])  # (n, 2M, width)
    scores = scores.view(len(sequences), -1, 2, scores.shape[-1])  # (n, M, strand, window)
    last_start = torch.from_numpy(seq_lengths).to(device)[:, None] - lengths[None, :]  # (n, M)
    if scores.shape[-1]:
        # Windows running past a sequence's end saw zero padding (a partial score): exclude them. In place
        # and over both strands at once, because these passes over the score tensor cost as much as the conv.
        window = torch.arange(scores.shape[-1], device=device)
        scores.masked_fill_((window[None, None, :] > last_start[:, :, None]).unsqueeze(2), -torch.inf)
        best = scores.amax(dim=(2, 3))
    else:
        best = torch.full(last_start.shape, -torch.inf, device=device)
    best = torch.where(last_start >= 0, best, minima[None, :])
    out[:] = best.cpu().numpy()


# --------------------------------------------------------------------------------------------------


def _torch_device(device) -> Any | None:
    """None for the numba path, else the torch device to use."""
    if device is None or device == "cpu":
        return None
    import torch

    if device == "cpu-torch":
        return torch.device("cpu")
    device = torch.device(device)
    return None if device.type == "cpu" else device


def scan_max(
    sequences: Sequence[str], motif_set: MotifSet, device=None, *, chunk_size: int | None = None
) -> np.ndarray:
    """Best log-odds score of every motif in every sequence, over all positions and both strands.

    Args:
        sequences: DNA strings, any case; N and IUPAC codes score the minimum over the bases they stand
            for; sequences shorter than a motif get the motif's minimum possible score.
        motif_set: the motifs (:func:`load_motifs`).
        device: None or ``"cpu"``: the numba CPU kernel (uses ``numba.get_num_threads()`` threads).
            ``"cpu-torch"``: the torch path on the CPU (for tests). Any other torch device (``"cuda"``,
            ``torch.device("cuda:1")``, ``"mps"``): the torch path there; ``torch.device("cpu")`` means
            the numba kernel.
        chunk_size: sequences per chunk, bounding memory (about 7 bytes per base for the numba path,
            and ``chunk x 2 n_motifs x longest sequence`` float32 scores for torch). Default: 4096 for numba,
            for torch as many as keep that score tensor under 2^26 elements.

    Returns:
        ``(n_sequences, n_motifs)`` float32, finite, deterministic.
    """
    if isinstance(sequences, (str, bytes)):
        raise TypeError("sequences must be a list of str, not a single string")
    sequences = list(sequences)
    out = np.empty((len(sequences), len(motif_set)), dtype=np.float32)
    if not sequences or not len(motif_set):
        return out
    torch_device = _torch_device(device)
    if chunk_size is None:
        if torch_device is None:
            chunk_size = 4096
        else:
            longest = max(max(len(s) for s in sequences), 1)
            chunk_size = max(1, _TORCH_SCORE_ELEMENTS // (2 * len(motif_set) * longest))
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    lookup = _lookup_tables(motif_set) if torch_device is None else None
    for start in range(0, len(sequences), chunk_size):
        chunk = sequences[start : start + chunk_size]
        try:
            if torch_device is None:
                _scan_numba(chunk, lookup, out[start : start + len(chunk)])
            else:
                _scan_torch(chunk, motif_set, torch_device, out[start : start + len(chunk)])
        except ValueError as error:
            message = str(error)
            if start and message.startswith("sequence "):  # report the index in the caller's list
                index, rest = message[len("sequence ") :].split(":", 1)
                raise ValueError(f"sequence {int(index) + start}:{rest}") from None
            raise
    return out
