"""DataCollatorForGenomeModeling: corpus samples -> GeneBERT pre-training batches.

A sample of the corpus is ten region ids. The collator materialises it:

* ``input_ids`` = ``[CLS] segA [SEP] segB [SEP]``: segment A is the k-mer tokens of regions 1-5 and segment B
  those of regions 6-10 (``next_segment_label`` 1) or, with probability ``negative_probability``, of 5
  consecutive regions drawn afresh from another sample (label 0). Each region is tokenized on its own
  window, so no k-mer spans two regions.
* ``region_matrix`` (B, 10, n_motifs) = the motif vectors of exactly the regions in the input, in order; under
  a ``region_pairing`` (the permuted control arm) the motif vectors of another sample's regions instead.
* ``region_token_index`` (B, L), when asked: which of the 10 regions each token belongs to (-1 for [CLS], [SEP]
  and padding), for region-level sequence-region matching and per-region embeddings.
* masked genome modelling with the leak-free span masking of :mod:`genebert.data.masking`.

Randomness is a function of ``(seed, epoch, sample ids)`` only, so a batch is the same whether training ran
straight through or resumed from a checkpoint (where skipped batches are never collated).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..tokenization_genebert import GeneBertTokenizer
from .masking import IGNORE_INDEX, mask_regions

#: How a sample's sequence and region matrix are paired (``DataArguments.region_pairing``).
REGION_PAIRINGS = ("paired", "permuted")


def permuted_pairing(n_samples: int, seed: int, groups: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """A seeded fixed pairing of samples with other samples' region matrices, for the permuted control arm.

    Returns ``partner`` (n_samples,) int64: sample ``i`` is shown the region matrix of sample ``partner[i]``. Within
    each group (e.g. the training samples and the held-out samples, so that no held-out motif vector is seen in
    training) the samples form one cycle in a seeded random order, so no sample of a group of two or more keeps
    its own matrix and each matrix is shown exactly once. A sample in no group, or alone in its group, keeps its own.
    """
    partner = np.arange(n_samples, dtype=np.int64)
    rng = np.random.default_rng([int(seed), 0x5EED])
    for members in groups if groups is not None else [np.arange(n_samples)]:
        members = np.asarray(members, dtype=np.int64)
        if len(members) < 2:
            continue
        order = members[rng.permutation(len(members))]
        partner[order] = np.roll(order, -1)  # each sample takes the matrix of the next one in the cycle
    return partner


class RegionStore:
    """Row access to a corpus's region table: window sequences, and motif vectors read from the memory-mapped
    Arrow chunks without copying the (regions x motifs) matrix into memory."""

    def __init__(self, regions) -> None:
        table = regions.data.table if hasattr(regions.data, "table") else regions.data
        if getattr(regions, "_indices", None) is not None:
            table = regions.flatten_indices().data.table
        self.sequences: list[str] = table.column("sequence").to_pylist()
        column = table.column("motif_scores")
        self.n_motifs = column.type.list_size
        self._chunks = [
            chunk.values.to_numpy(zero_copy_only=False).reshape(-1, self.n_motifs)[: len(chunk)]
            if chunk.offset == 0
            else chunk.flatten().to_numpy(zero_copy_only=False).reshape(-1, self.n_motifs)
            for chunk in column.chunks
        ]
        self._starts = np.cumsum([0] + [len(c) for c in self._chunks])

    def __len__(self) -> int:
        return len(self.sequences)

    def motif_scores(self, region_ids: np.ndarray) -> np.ndarray:
        """float32 (len(region_ids), n_motifs), rows in the order asked."""
        region_ids = np.asarray(region_ids, dtype=np.int64)
        chunk_of = np.searchsorted(self._starts, region_ids, side="right") - 1
        out = np.empty((len(region_ids), self.n_motifs), dtype=np.float32)
        for chunk in np.unique(chunk_of):
            rows = chunk_of == chunk
            out[rows] = self._chunks[chunk][region_ids[rows] - self._starts[chunk]]
        return out


class DataCollatorForGenomeModeling:
    """Collate corpus samples (dicts with ``region_ids``) into GeneBERT pre-training inputs.

    Args:
        tokenizer: a [`GeneBertTokenizer`] with the corpus's k.
        regions: the corpus's region table (``load_corpus(path).regions``) or a prepared [`RegionStore`].
        sample_region_ids: int64 (n_samples, 10), the corpus's samples (for NGSP negatives).
        mask_rate: fraction of k-mer tokens masked (changed during training by [`MaskRateScheduleCallback`]).
        mean_span_bp: mean length of hidden nucleotide spans (1 = DNABERT's scheme).
        negative_probability: chance that segment B comes from another sample.
        regions_per_segment: regions per segment (5, half a sample).
        seed: base seed; the RNG of a batch is seeded with (seed, epoch, the batch's sample ids).
        pad_to_multiple_of: pad sequence length to a multiple of this.
        max_length: refuse samples longer than this (default: the tokenizer's ``model_max_length``).
        return_region_ids: also return ``region_ids`` (B, 10), the regions in the input (for analysis; the
            model does not take them).
        return_baseline: also return ``mgm_baseline_ids`` (B, L): at masked positions the neighbour-copy guess
            (the true k-mer with hidden bases filled by the corpus's most frequent base), -100 elsewhere; for
            judging MGM accuracy against an honest baseline. The model does not take it.
        region_pairing: None (each sample's own region matrix) or ``partner`` (n_samples,) from
            :func:`permuted_pairing`: sample ``i`` (its ``sample_id``) gets the motif vectors of sample
            ``partner[i]``'s ten regions in their order, whatever segment B is (the control arm of SRM: the
            pairing is consistently wrong, not re-drawn per batch). Features must carry ``sample_id``.
        return_region_token_index: also return ``region_token_index`` (B, L) int64: the region (0..9, the row of
            ``region_matrix``) each k-mer token belongs to, -1 for [CLS], [SEP] and padding.
    """

    def __init__(
        self,
        tokenizer: GeneBertTokenizer,
        regions,
        sample_region_ids: np.ndarray,
        *,
        mask_rate: float = 0.15,
        mean_span_bp: float = 1.0,
        negative_probability: float = 0.5,
        regions_per_segment: int = 5,
        seed: int = 0,
        pad_to_multiple_of: int | None = None,
        max_length: int | None = None,
        return_region_ids: bool = False,
        return_baseline: bool = False,
        region_pairing: np.ndarray | None = None,
        return_region_token_index: bool = False,
    ) -> None:
        if not 0.0 <= mask_rate < 1.0:
            raise ValueError(f"mask_rate must be in [0, 1), got {mask_rate}")
        self.tokenizer = tokenizer
        self.store = regions if isinstance(regions, RegionStore) else RegionStore(regions)
        self.sample_region_ids = np.asarray(sample_region_ids, dtype=np.int64)
        if self.sample_region_ids.ndim != 2 or self.sample_region_ids.shape[1] != 2 * regions_per_segment:
            raise ValueError(
                f"sample_region_ids must be (n_samples, {2 * regions_per_segment}), got {self.sample_region_ids.shape}"
            )
        self.mean_span_bp = mean_span_bp
        self.negative_probability = negative_probability
        self.regions_per_segment = regions_per_segment
        self.seed = seed
        self.pad_to_multiple_of = pad_to_multiple_of
        self.max_length = max_length or tokenizer.model_max_length
        self.return_region_ids = return_region_ids
        self.return_baseline = return_baseline
        self.return_region_token_index = return_region_token_index
        self.region_pairing = None
        if region_pairing is not None:
            self.region_pairing = np.asarray(region_pairing, dtype=np.int64)
            if self.region_pairing.shape != (len(self.sample_region_ids),):
                raise ValueError(
                    f"region_pairing must have one partner per sample ({len(self.sample_region_ids)}), got shape "
                    f"{self.region_pairing.shape}"
                )
        self._fill_base: str | None = None
        # shared with DataLoader worker processes, so a callback in the trainer process can change them
        self._mask_rate = multiprocessing.Value("d", mask_rate, lock=False)
        self._epoch = multiprocessing.Value("q", 0, lock=False)

    @property
    def mask_rate(self) -> float:
        return self._mask_rate.value

    @mask_rate.setter
    def mask_rate(self, value: float) -> None:
        self._mask_rate.value = float(value)

    @property
    def epoch(self) -> int:
        return self._epoch.value

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch.value = int(value)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # A process being started (a spawn or forkserver DataLoader worker) receives the shared values themselves,
        # so that the mask schedule and the epoch reach persistent workers; any other copy gets plain values.
        if multiprocessing.context.get_spawning_popen() is None:
            state["_mask_rate"], state["_epoch"] = self._mask_rate.value, self._epoch.value
        return state

    def __setstate__(self, state: dict) -> None:
        mask_rate, epoch = state.pop("_mask_rate"), state.pop("_epoch")
        self.__dict__.update(state)
        shared = not isinstance(mask_rate, (int, float))
        self._mask_rate = mask_rate if shared else multiprocessing.Value("d", mask_rate, lock=False)
        self._epoch = epoch if shared else multiprocessing.Value("q", epoch, lock=False)

    @property
    def fill_base(self) -> str:
        """The most frequent base of the corpus's windows (for the neighbour-copy baseline)."""
        if self._fill_base is None:
            counts = {base: 0 for base in "ACGT"}
            for sequence in self.store.sequences:
                upper = sequence.upper()
                for base in counts:
                    counts[base] += upper.count(base)
            self._fill_base = max("ACGT", key=lambda base: counts[base])
        return self._fill_base

    # ------------------------------------------------------------------------------------------------
    def _rng(self, features: Sequence[Mapping[str, Any]]) -> np.random.Generator:
        keys = [
            int(f["sample_id"]) if "sample_id" in f else int(np.asarray(f["region_ids"])[0]) for f in features
        ]
        return np.random.default_rng([self.seed, self.epoch, *keys])

    def _segments(
        self, region_ids: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, int]:
        half = self.regions_per_segment
        first = region_ids[:half]
        if len(self.sample_region_ids) > 1 and rng.random() < self.negative_probability:
            # 5 consecutive regions of another sample: a random offset into a random different sample
            while True:
                other = int(rng.integers(0, len(self.sample_region_ids)))
                candidate = self.sample_region_ids[other]
                if not np.array_equal(candidate, region_ids):
                    break
            offset = int(rng.integers(0, len(candidate) - half + 1))
            return first, candidate[offset : offset + half], 0
        return first, region_ids[half : 2 * half], 1

    def _partner_regions(self, feature: Mapping[str, Any]) -> np.ndarray:
        """The region ids whose motif vectors sample ``feature`` is shown under ``region_pairing``."""
        if "sample_id" not in feature:
            raise ValueError("region_pairing needs each feature's 'sample_id' (a corpus samples row)")
        return self.sample_region_ids[self.region_pairing[int(feature["sample_id"])]]

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        rng = self._rng(features)
        # plain locals: the tokenizer's attributes go through transformers' (slow) __getattr__
        tokenizer, kmer = self.tokenizer, self.tokenizer.kmer
        encoder, all_sequences = tokenizer.encoder, self.store.sequences
        cls_id, sep_id, pad_id = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
        mask_id, unk_id = tokenizer.mask_token_id, tokenizer.unk_token_id
        mask_rate, fill_base = self.mask_rate, (self.fill_base if self.return_baseline else None)
        rows, labels_rows, next_labels, segment_lengths, region_id_rows = [], [], [], [], []
        baseline_rows: list[np.ndarray] = []
        region_index_rows: list[np.ndarray] = []
        matrix_id_rows: list[np.ndarray] = []
        for feature in features:
            region_ids = np.asarray(feature["region_ids"], dtype=np.int64)
            segment_a, segment_b, is_next = self._segments(region_ids, rng)
            ordered = np.concatenate([segment_a, segment_b])
            sequences = [all_sequences[i] for i in ordered.tolist()]
            ids, offsets, _ = encoder.encode_batch(sequences)
            token_ids = [ids[offsets[i] : offsets[i + 1]] for i in range(len(sequences))]
            masked = mask_regions(
                sequences,
                token_ids,
                lambda s: _split(encoder.encode_batch(s)),
                kmer=kmer,
                rate=mask_rate,
                mean_span_bp=self.mean_span_bp,
                rng=rng,
                mask_token_id=mask_id,
                unk_token_id=unk_id,
                fill_base=fill_base,
            )
            length_a = int(offsets[len(segment_a)])
            body, body_labels = masked.input_ids, masked.labels
            row = np.concatenate([[cls_id], body[:length_a], [sep_id], body[length_a:], [sep_id]])
            label_row = np.concatenate(
                [
                    [IGNORE_INDEX],
                    body_labels[:length_a],
                    [IGNORE_INDEX],
                    body_labels[length_a:],
                    [IGNORE_INDEX],
                ]
            )
            if len(row) > self.max_length:
                raise ValueError(
                    f"a sample has {len(row)} tokens, more than max_length {self.max_length}: build the corpus with a "
                    "smaller --region-window-bp"
                )
            rows.append(row)
            labels_rows.append(label_row)
            if self.return_baseline:
                guess = masked.baseline_ids
                baseline_rows.append(
                    np.concatenate(
                        [[IGNORE_INDEX], guess[:length_a], [IGNORE_INDEX], guess[length_a:], [IGNORE_INDEX]]
                    )
                )
            if self.return_region_token_index:
                slots = np.repeat(np.arange(len(ordered)), np.diff(offsets))  # region of each k-mer token
                region_index_rows.append(
                    np.concatenate([[-1], slots[:length_a], [-1], slots[length_a:], [-1]]).astype(np.int64)
                )
            segment_lengths.append(length_a + 2)
            region_id_rows.append(ordered)
            matrix_id_rows.append(ordered if self.region_pairing is None else self._partner_regions(feature))
            next_labels.append(is_next)

        width = max(len(r) for r in rows)
        if self.pad_to_multiple_of:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        batch = len(rows)
        input_ids = np.full((batch, width), pad_id, dtype=np.int64)
        labels = np.full((batch, width), IGNORE_INDEX, dtype=np.int64)
        attention = np.zeros((batch, width), dtype=np.int64)
        token_types = np.zeros((batch, width), dtype=np.int64)
        for i, (row, label_row, first) in enumerate(zip(rows, labels_rows, segment_lengths, strict=True)):
            input_ids[i, : len(row)] = row
            labels[i, : len(row)] = label_row
            attention[i, : len(row)] = 1
            token_types[i, first : len(row)] = 1
        batch_out = {
            "input_ids": torch.from_numpy(input_ids),
            "token_type_ids": torch.from_numpy(token_types),
            "attention_mask": torch.from_numpy(attention),
            "labels": torch.from_numpy(labels),
            "next_segment_label": torch.tensor(next_labels, dtype=torch.long),
            # one read of the memory-mapped motif table for the whole batch, rows in input order
            "region_matrix": torch.from_numpy(
                self.store.motif_scores(np.concatenate(matrix_id_rows)).reshape(
                    batch, -1, self.store.n_motifs
                )
            ),
        }
        if self.return_region_ids:
            batch_out["region_ids"] = torch.from_numpy(np.stack(region_id_rows))
        if self.return_region_token_index:
            index = np.full((batch, width), -1, dtype=np.int64)
            for i, row in enumerate(region_index_rows):
                index[i, : len(row)] = row
            batch_out["region_token_index"] = torch.from_numpy(index)
        if self.return_baseline:
            baseline = np.full((batch, width), IGNORE_INDEX, dtype=np.int64)
            for i, row in enumerate(baseline_rows):
                baseline[i, : len(row)] = row
            batch_out["mgm_baseline_ids"] = torch.from_numpy(baseline)
        return batch_out


def _split(encoded: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[np.ndarray]:
    ids, offsets, _ = encoded
    return [ids[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
