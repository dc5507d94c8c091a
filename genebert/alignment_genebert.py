"""Per-base alignment for the overlapping k-mer tokenizer: offsets, labels and scores per base, masked bases.

Hub remote code, part of the tokenizer (``tokenization_genebert`` imports it; ``save_pretrained`` copies it beside
that file): this file imports only numpy and transformers, never ``genebert.*``.

Token ``i`` of a sequence is its ``i``-th k-mer and covers bases ``i .. i + k - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from transformers.tokenization_utils_base import BatchEncoding
from transformers.utils import logging

logger = logging.get_logger(__name__)

# This remote code targets transformers 5.x only. Outside that range it refuses to load, in one line, instead of
# running with other semantics (transformers 4.x would load the tokenizer and silently drop [CLS] and [SEP]).
# Each remote-code file keeps its own copy: transformers 4.x copies only a module's direct relative imports, so
# a guard imported from another file is missing there (tests/hub/test_roundtrips.py runs the real 4.x).
SUPPORTED_TRANSFORMERS = ">=5.0,<6"


def check_transformers_version(version: str | None = None) -> None:
    """Raise `ImportError` (one line) unless the installed transformers is 5.x."""
    import transformers

    version = transformers.__version__ if version is None else version
    major = version.split(".", 1)[0]
    if not (major.isdigit() and int(major) == 5):
        raise ImportError(
            f"GeneBERT's model code needs transformers{SUPPORTED_TRANSFORMERS} (found {version}): "
            f"pip install 'transformers{SUPPORTED_TRANSFORMERS}'"
        )


check_transformers_version()

_NUM_SPECIAL_TOKENS = 5  # [PAD] [UNK] [CLS] [SEP] [MASK] come before the k-mers (DNABERT's order)


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def _as_list(value) -> list:
    return value.tolist() if hasattr(value, "tolist") else list(value)


class KmerAlignmentMixin:
    """Methods of `GeneBertTokenizer` for long input and for mapping between tokens (overlapping k-mers) and bases.
    They use the tokenizer's `kmer`, `ids_to_tokens`, special token ids, `truncation_side`, `truncate_long_inputs`
    and its encoding methods."""

    def __call__(self, text=None, text_pair=None, *args, **kwargs) -> BatchEncoding:
        """As transformers' `__call__`; input longer than `model_max_length` tokens is truncated to it when the call
        says nothing about `truncation` or `max_length` and `truncate_long_inputs` is True (see the class docs)."""
        if (
            self.truncate_long_inputs
            and not args
            and kwargs.get("truncation") is None
            and kwargs.get("max_length") is None
            and not kwargs.get("is_split_into_words")
        ):
            longest = max((len(t) for t in _strings(text) + _strings(text_pair)), default=0)
            if longest - self.kmer + 1 + 3 > self.model_max_length:
                kwargs["truncation"] = True
                logger.warning_once(
                    f"DNA longer than {self.model_max_length} tokens ({longest} bases) is truncated to the model's "
                    "window (truncate_long_inputs=True); use the dna-classification pipeline or "
                    "genebert.pipelines.embed for sliding windows, or pass truncation=False"
                )
        return super().__call__(text, text_pair, *args, **kwargs)

    # ---------------------------------------------------------------------------------- vectorised path

    def _encode_plus(self, text, text_pair=None, **kwargs) -> BatchEncoding:
        """`return_offsets_mapping=True`: encode as usual, then add each token's base span."""
        if not kwargs.pop("return_offsets_mapping", False):
            return super()._encode_plus(text, text_pair, **kwargs)
        return_tensors = kwargs.pop("return_tensors", None)
        encoded = self._encode_plus(text, text_pair, return_tensors=None, **kwargs)
        encoded["offset_mapping"] = self._offset_mapping(encoded["input_ids"], text, text_pair)
        single = not encoded["input_ids"] or isinstance(encoded["input_ids"][0], int)
        return BatchEncoding(dict(encoded), tensor_type=return_tensors, prepend_batch_axis=single)

    def _offset_mapping(self, input_ids, text, text_pair) -> list[list[tuple[int, int]]]:
        """Base spans of every token, rows as in `input_ids` (a list of id lists, or one id list)."""
        single = bool(input_ids) and isinstance(input_ids[0], int)
        rows = [input_ids] if single else list(input_ids)
        texts = [text] if isinstance(text, str) else list(text)
        pairs = [text_pair] if isinstance(text_pair, str) or text_pair is None else list(text_pair)
        if len(pairs) == 1 and len(texts) > 1 and pairs[0] is None:
            pairs = pairs * len(texts)
        k, left = self.kmer, self.truncation_side == "left"
        structural = {self.cls_token_id, self.sep_token_id, self.pad_token_id}
        kmer_like = {self.unk_token_id, self.mask_token_id}
        result = []
        for row, first, second in zip(rows, texts, pairs, strict=True):
            row = [int(i) for i in row]
            if any(i >= len(self.ids_to_tokens) for i in row):
                raise ValueError("return_offsets_mapping needs plain DNA (no added tokens in the text)")
            segments: list[list[int]] = [[]]
            for position, token in enumerate(row):
                if token == self.sep_token_id:
                    segments.append([])
                elif token not in structural and (token >= _NUM_SPECIAL_TOKENS or token in kmer_like):
                    segments[-1].append(position)
            offsets = [(0, 0)] * len(row)
            for segment, positions in enumerate(segments[:2]):
                source = first if segment == 0 else second
                total = max(len(source) - k + 1, 0) if isinstance(source, str) else len(positions)
                start = total - len(positions) if left else 0
                for index, position in enumerate(positions):
                    offsets[position] = (start + index, start + index + k)
            result.append(offsets)
        return result[0] if single else result

    def align_labels_with_tokens(
        self, base_labels: Sequence[int], *, ignore_index: int = -100, add_special_tokens: bool = True
    ) -> list[int]:
        """Per-token labels of one sequence from per-base labels: k-mer `i` (bases `i .. i + k - 1`) takes the label
        of its centre base `i + (k - 1) // 2`; [CLS] and [SEP] get `ignore_index` (ignored by the loss of
        `GeneBertForTokenClassification`). The result lines up with `tokenizer(sequence)["input_ids"]` when the
        sequence is not truncated."""
        n_kmers = max(len(base_labels) - self.kmer + 1, 0)
        centre = (self.kmer - 1) // 2
        labels = [int(base_labels[i + centre]) for i in range(n_kmers)]
        return [ignore_index, *labels, ignore_index] if add_special_tokens else labels

    def scores_per_base(self, token_scores, offset_mapping, num_bases: int | None = None) -> np.ndarray:
        """Per-base scores from per-token scores of one sequence: each base gets the mean over the k-mers covering
        it (bases no token covers get NaN).

        Args:
            token_scores: `(num_tokens, ...)` scores (logits, probabilities, attributions) of one row.
            offset_mapping: that row's `offset_mapping` (`return_offsets_mapping=True`); tokens with an empty span
                ([CLS], [SEP], padding) are skipped.
            num_bases: length of the sequence (default: the end of the last span).
        """
        scores = np.asarray(
            token_scores.detach().float().cpu().numpy() if hasattr(token_scores, "detach") else token_scores,
            dtype=np.float64,
        )
        spans = [(int(a), int(b)) for a, b in np.asarray(offset_mapping).reshape(-1, 2)]
        if len(spans) != scores.shape[0]:
            raise ValueError(f"{scores.shape[0]} token scores for {len(spans)} offsets")
        if num_bases is None:
            num_bases = max((b for _, b in spans), default=0)
        sums = np.zeros((num_bases + 1, *scores.shape[1:]))
        counts = np.zeros(num_bases + 1)
        for (start, end), value in zip(spans, scores, strict=True):
            if end > start:
                sums[start] += value
                sums[min(end, num_bases)] -= value
                counts[start] += 1
                counts[min(end, num_bases)] -= 1
        total, covered = np.cumsum(sums, axis=0)[:num_bases], np.cumsum(counts)[:num_bases]
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / covered.reshape(-1, *([1] * (scores.ndim - 1)))

    def mask_bases(self, sequence: str, start: int, end: int, return_tensors=None) -> BatchEncoding:
        """Encode one `sequence` with the bases `start .. end - 1` hidden: every k-mer covering one of them becomes
        [MASK] (masking one k-mer alone would leave its bases visible in the neighbouring k-mers). The result is
        the usual model input (`input_ids`, `token_type_ids`, `attention_mask`); read the prediction back with
        [`predict_bases`]."""
        if not 0 <= start < end <= len(sequence):
            raise ValueError(f"need 0 <= start < end <= {len(sequence)}, got start={start}, end={end}")
        encoded = self(sequence, truncation=False)
        ids = list(encoded["input_ids"])
        if len(ids) > self.model_max_length:
            raise ValueError(f"{len(sequence)} bases do not fit one window of {self.model_max_length} tokens")
        k = self.kmer
        for kmer_index in range(max(start - k + 1, 0), min(end, len(sequence) - k + 1)):
            ids[kmer_index + 1] = self.mask_token_id  # token 0 is [CLS]
        return BatchEncoding(
            {**dict(encoded), "input_ids": ids}, tensor_type=return_tensors, prepend_batch_axis=True
        )

    def predict_bases(self, logits, input_ids, start: int, end: int) -> tuple[str, np.ndarray]:
        """Read a masked-LM prediction back per base: for each hidden base, the mean over the masked k-mers covering
        it of the probability each puts on A, C, G and T at that base.

        Args:
            logits: `(num_tokens, vocab_size)` or `(1, num_tokens, vocab_size)` logits of `GeneBertForMaskedLM` for
                the output of [`mask_bases`].
            input_ids: that output's `input_ids` (one row).
            start, end: the hidden bases, as given to [`mask_bases`].

        Returns:
            The most likely bases (a string of `end - start` letters) and their `(end - start, 4)` probabilities,
            columns A, C, G, T.
        """
        values = logits.detach().float().cpu().numpy() if hasattr(logits, "detach") else np.asarray(logits)
        values = values.reshape(-1, values.shape[-1])[:, _NUM_SPECIAL_TOKENS : len(self.ids_to_tokens)]
        values = values - values.max(axis=1, keepdims=True)
        probabilities = np.exp(values)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        k = self.kmer
        # the base at each of the k positions of every k-mer (DNABERT order A, T, C, G; first base most significant)
        codes = np.arange(4**k)
        digits = np.stack([(codes >> (2 * (k - 1 - j))) & 3 for j in range(k)], axis=1)
        to_acgt = np.array(["ATCG".index(base) for base in "ACGT"])
        ids = np.asarray(_as_list(input_ids)).reshape(-1)
        sums, counts = np.zeros((end - start, 4)), np.zeros(end - start)
        for position in np.flatnonzero(ids == self.mask_token_id):
            first_base = int(position) - 1  # token 0 is [CLS]
            for j in range(k):
                base = first_base + j
                if start <= base < end:
                    per_base = np.bincount(digits[:, j], weights=probabilities[position], minlength=4)
                    sums[base - start] += per_base[to_acgt]
                    counts[base - start] += 1
        result = sums / np.maximum(counts, 1)[:, None]
        return "".join("ACGT"[i] for i in result.argmax(axis=1)), result


__all__ = ["KmerAlignmentMixin"]
