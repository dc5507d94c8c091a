"""GeneBERT's tokenizer: overlapping DNA k-mers with DNABERT's vocabulary.

Hub remote code: this file imports only numpy, transformers and the standard library (never ``genebert.*``)
so that it works when copied beside a saved vocabulary.

Two paths produce identical ids:

* the per-k-mer path (``tokenize`` / ``_tokenize``), used for single sequences and for anything unusual
  (added tokens, overflowing tokens, pre-split input), and
* a vectorised path (``KmerEncoder``) that ``__call__`` takes for batches of plain DNA strings: one byte
  lookup table pass and a base-4 rolling code, then padding and special tokens as whole-array operations.
"""

from __future__ import annotations

import itertools
import os
import re
import warnings
from collections.abc import Sequence

import numpy as np
from transformers import PreTrainedTokenizer
from transformers.tokenization_utils_base import (
    BatchEncoding,
    PaddingStrategy,
    TruncationStrategy,
)

from .alignment_genebert import KmerAlignmentMixin

VOCAB_FILES_NAMES = {"vocab_file": "vocab.txt"}

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(len(SPECIAL_TOKENS))
NUCLEOTIDES = "ATCG"  # DNABERT's order: A=0, T=1, C=2, G=3 as base-4 digits, most significant first.
# IUPAC ambiguity codes (N included). A k-mer touching one of these becomes [UNK].
AMBIGUITY_CODES = "NRYSWKMBDHV"
MIN_KMER, MAX_KMER = 3, 6

_INVALID = 255
_AMBIGUOUS = 4


def build_kmer_vocab(kmer: int) -> list[str]:
    """DNABERT's vocabulary for ``kmer``: the five special tokens, then ``itertools.product("ATCG", repeat=k)``."""
    _check_kmer(kmer)
    return list(SPECIAL_TOKENS) + ["".join(p) for p in itertools.product(NUCLEOTIDES, repeat=kmer)]


def _check_kmer(kmer: int) -> None:
    if not isinstance(kmer, int) or not MIN_KMER <= kmer <= MAX_KMER:
        raise ValueError(f"kmer must be an integer between {MIN_KMER} and {MAX_KMER}, got {kmer!r}")


def _byte_lookup_table() -> np.ndarray:
    table = np.full(256, _INVALID, dtype=np.uint8)
    for digit, base in enumerate(NUCLEOTIDES):
        table[ord(base)] = table[ord(base.lower())] = digit
    for code in AMBIGUITY_CODES:
        table[ord(code)] = table[ord(code.lower())] = _AMBIGUOUS
    return table


_BYTE_TO_CODE = _byte_lookup_table()


def find_invalid_character(sequence: str) -> tuple[int, str] | None:
    """Position and value of the first character that is neither a nucleotide nor an IUPAC code."""
    if sequence.isascii():
        codes = _BYTE_TO_CODE[np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)]
        bad = np.flatnonzero(codes == _INVALID)
        return (int(bad[0]), sequence[int(bad[0])]) if bad.size else None
    for position, char in enumerate(sequence):
        if not char.isascii() or _BYTE_TO_CODE[ord(char)] == _INVALID:
            return position, char
    return None


def invalid_character_error(sequence_index: int | None, position: int, char: str) -> ValueError:
    where = f"position {position}" + ("" if sequence_index is None else f" of sequence {sequence_index}")
    return ValueError(
        f"Invalid character {char!r} (U+{ord(char):04X}) at {where}: a DNA sequence may contain only "
        f"A, C, G, T and the IUPAC ambiguity codes {', '.join(AMBIGUITY_CODES)} (any case)"
    )


class KmerEncoder:
    """Vectorised overlapping k-mer encoder giving DNABERT vocabulary ids (without special tokens).

    ``encode_batch`` concatenates the batch into one byte buffer, maps bytes to base-4 digits with a lookup
    table and sums ``k`` shifted digit arrays into k-mer codes; k-mers touching an ambiguity code become
    [UNK]. The windows that straddle two sequences are computed and then ignored, which is cheaper than
    slicing per sequence.
    """

    def __init__(self, kmer: int):
        _check_kmer(kmer)
        self.kmer = kmer

    def encode_batch(self, sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encode ``sequences``.

        Returns:
            ids: int64 array of all k-mer ids, sequence after sequence.
            offsets: int64 array (n + 1,): the ids of sequence i are ``ids[offsets[i]:offsets[i + 1]]``.
            lengths: int64 array (n,): number of k-mers per sequence (0 for sequences shorter than k).

        Raises:
            ValueError: a character that is not a nucleotide or IUPAC code, naming it, its sequence and position.
        """
        k = self.kmer
        n = len(sequences)
        try:
            joined = "".join(sequences).encode("ascii")
        except UnicodeEncodeError:
            joined = None
        except TypeError as error:
            raise TypeError("KmerEncoder.encode_batch takes a sequence of str") from error
        seq_lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=n)
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(seq_lengths, out=starts[1:])
        if joined is None:
            self._raise_first_invalid(sequences)
        codes = _BYTE_TO_CODE[np.frombuffer(joined, dtype=np.uint8)]
        if codes.size and codes.max() == _INVALID:
            self._raise_first_invalid(sequences)

        lengths = np.maximum(seq_lengths - k + 1, 0)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        total_windows = codes.size - k + 1
        if total_windows <= 0 or offsets[-1] == 0:
            return np.zeros(0, dtype=np.int64), offsets, lengths

        ambiguous = codes == _AMBIGUOUS
        digits = np.where(ambiguous, 0, codes).astype(np.int64)
        values = np.zeros(total_windows, dtype=np.int64)
        for j in range(k):
            values <<= 2
            values += digits[j : j + total_windows]
        ambiguous_before = np.zeros(codes.size + 1, dtype=np.int32)
        np.cumsum(ambiguous, out=ambiguous_before[1:])
        has_ambiguous = (ambiguous_before[k:] - ambiguous_before[:-k]) > 0
        window_ids = np.where(has_ambiguous, UNK_ID, values + len(SPECIAL_TOKENS))

        # Keep only windows that start and end inside one sequence.
        window_starts = np.repeat(starts[:-1] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return window_ids[window_starts], offsets, lengths

    @staticmethod
    def _raise_first_invalid(sequences: Sequence[str]) -> None:
        for index, sequence in enumerate(sequences):
            found = find_invalid_character(sequence)
            if found is not None:
                raise invalid_character_error(index, *found)
        raise AssertionError(
            "an invalid byte was detected but no invalid character found"
        )  # pragma: no cover


class GeneBertTokenizer(KmerAlignmentMixin, PreTrainedTokenizer):
    r"""Overlapping k-mer tokenizer for DNA, with DNABERT's vocabulary.

    ``"ACGTACG"`` with k=6 becomes ``[CLS] ACGTAC CGTACG [SEP]``. Pairs become ``[CLS] a [SEP] b [SEP]`` with
    token_type_ids 0 then 1. Lower case is accepted (soft-masked genome); a k-mer containing N or another
    IUPAC ambiguity code becomes ``[UNK]``; any other character raises ``ValueError`` naming the character
    and its 0-based position. A sequence shorter than k yields only the special tokens (with a warning).
    ``decode`` merges overlapping k-mers back into DNA (positions covered only by ``[UNK]`` k-mers come back
    as ``N``).

    Args:
        vocab_file (`str`, *optional*): path to a ``vocab.txt`` (one token per line). When omitted, the
            vocabulary is generated from ``kmer``. A given file must be exactly DNABERT's vocabulary for
            its k (the vectorised encoder relies on the arithmetic id order).
        kmer (`int`, *optional*): k, 3..6. Defaults to 6, or to the k of ``vocab_file``.
        model_max_length (`int`, defaults to 512): maximum number of tokens, special tokens included.
        truncate_long_inputs (`bool`, defaults to True): truncate input longer than `model_max_length` tokens when a
            call says nothing about `truncation` or `max_length` (transformers' standard pipelines need it).

    Offsets (`return_offsets_mapping=True`: token `i` covers bases `(i, i + k)`), per-base labels and scores and
    masked bases: see `alignment_genebert.KmerAlignmentMixin`.
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]

    def __init__(
        self,
        vocab_file: str | None = None,
        kmer: int | None = None,
        model_max_length: int = 512,
        truncate_long_inputs: bool = True,
        **kwargs,
    ):
        vocab = self._load_or_build_vocab(vocab_file, kmer)
        self.truncate_long_inputs = bool(truncate_long_inputs)
        self.kmer = len(vocab[-1])
        self.vocab: dict[str, int] = {token: index for index, token in enumerate(vocab)}
        self.ids_to_tokens: list[str] = vocab
        self.encoder = KmerEncoder(self.kmer)
        self.use_vectorized = True
        kwargs.setdefault("pad_token", "[PAD]")
        kwargs.setdefault("unk_token", "[UNK]")
        kwargs.setdefault("cls_token", "[CLS]")
        kwargs.setdefault("sep_token", "[SEP]")
        kwargs.setdefault("mask_token", "[MASK]")
        kwargs.setdefault("special_tokens_pattern", "cls_sep")
        kwargs.setdefault("clean_up_tokenization_spaces", False)
        kwargs["truncate_long_inputs"] = self.truncate_long_inputs  # saved in tokenizer_config.json
        super().__init__(kmer=self.kmer, model_max_length=model_max_length, **kwargs)

    @staticmethod
    def _load_or_build_vocab(vocab_file: str | None, kmer: int | None) -> list[str]:
        if vocab_file is None:
            return build_kmer_vocab(6 if kmer is None else kmer)
        with open(vocab_file, encoding="utf-8") as handle:
            tokens = [line.rstrip("\r\n") for line in handle]
        while tokens and tokens[-1] == "":
            tokens.pop()
        file_kmer = len(tokens[-1]) if tokens else 0
        if kmer is not None and kmer != file_kmer:
            raise ValueError(f"{vocab_file}: holds {file_kmer}-mers but kmer={kmer} was requested")
        if not MIN_KMER <= file_kmer <= MAX_KMER:
            raise ValueError(f"{vocab_file}: not a k-mer vocabulary (last token {tokens[-1:]!r})")
        expected = build_kmer_vocab(file_kmer)
        for line_number, (found, wanted) in enumerate(zip(tokens, expected, strict=False), start=1):
            if found != wanted:
                raise ValueError(
                    f"{vocab_file}, line {line_number}: expected {wanted!r} (DNABERT's {file_kmer}-mer vocabulary "
                    f"order), found {found!r}"
                )
        if len(tokens) != len(expected):
            raise ValueError(
                f"{vocab_file}: {len(tokens)} tokens, DNABERT's {file_kmer}-mer vocabulary has {len(expected)}"
            )
        return expected

    # ----------------------------------------------------------------------------------------------- vocab
    @property
    def vocab_size(self) -> int:
        return len(self.ids_to_tokens)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab, **self.added_tokens_encoder)

    def _convert_token_to_id(self, token: str) -> int:
        return self.vocab.get(token.upper(), UNK_ID)

    def _convert_id_to_token(self, index: int) -> str:
        return self.ids_to_tokens[index] if 0 <= index < len(self.ids_to_tokens) else self.unk_token

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        if not os.path.isdir(save_directory):
            raise NotADirectoryError(f"Vocabulary path ({save_directory}) should be a directory")
        name = (filename_prefix + "-" if filename_prefix else "") + VOCAB_FILES_NAMES["vocab_file"]
        path = os.path.join(save_directory, name)
        temporary = path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write("\n".join(self.ids_to_tokens) + "\n")
        os.replace(temporary, path)
        return (path,)

    # ------------------------------------------------------------------------------------ per-k-mer path
    def _tokenize(self, text: str, **kwargs) -> list[str]:
        """Split ``text`` into overlapping k-mers; k-mers with an IUPAC ambiguity code become ``[UNK]``."""
        found = find_invalid_character(text)
        if found is not None:
            raise invalid_character_error(None, *found)
        sequence = text.upper()
        k = self.kmer
        if 0 < len(sequence) < k:
            self._warn_short(len(sequence))
        tokens = []
        for start in range(len(sequence) - k + 1):
            kmer = sequence[start : start + k]
            tokens.append(kmer if kmer in self.vocab else self.unk_token)
        return tokens

    def _warn_short(self, length: int) -> None:
        warnings.warn(
            f"A sequence of {length} bp is shorter than k={self.kmer}: it yields no k-mer, only special tokens",
            UserWarning,
            stacklevel=4,
        )

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Merge overlapping k-mers back into DNA.

        ``[CLS]`` and ``[PAD]`` are dropped and ``[SEP]`` ends a segment (the segments of a pair are joined
        with a space). ``[UNK]`` and ``[MASK]`` keep their place as unknown k-mers: a position that no known
        k-mer covers comes back as ``N``.
        """
        segments: list[list[str]] = [[]]
        for token in tokens:
            if token == self.sep_token:
                segments.append([])
            elif token not in (self.cls_token, self.pad_token):
                segments[-1].append(token)
        return " ".join(self._merge_kmers(segment) for segment in segments if segment)

    def _merge_kmers(self, kmers: list[str]) -> str:
        k = self.kmer
        bases = ["N"] * (len(kmers) + k - 1)
        for start, kmer in enumerate(kmers):
            if kmer in self.vocab and kmer not in SPECIAL_TOKENS:
                bases[start : start + k] = kmer
        return "".join(bases)

    def _decode(
        self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces=None, **kwargs
    ) -> str:
        """Decode ids to DNA. Special tokens are structure, not sequence, so they never appear in the output
        (``skip_special_tokens`` is accepted for API compatibility; [UNK]/[MASK] always keep their place)."""
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        return self.convert_tokens_to_string(
            self.convert_ids_to_tokens(list(token_ids), skip_special_tokens=False)
        )

    def _encode_plus(
        self,
        text,
        text_pair=None,
        add_special_tokens: bool = True,
        padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD,
        truncation_strategy: TruncationStrategy = TruncationStrategy.DO_NOT_TRUNCATE,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors=None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        **kwargs,
    ) -> BatchEncoding:
        arguments = dict(
            add_special_tokens=add_special_tokens,
            padding_strategy=padding_strategy,
            truncation_strategy=truncation_strategy,
            max_length=max_length,
            stride=stride,
            is_split_into_words=is_split_into_words,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_tensors=return_tensors,
            return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask,
            return_overflowing_tokens=return_overflowing_tokens,
            return_special_tokens_mask=return_special_tokens_mask,
            return_length=return_length,
            verbose=verbose,
        )
        if self._vectorizable(text, text_pair, is_split_into_words, return_overflowing_tokens, kwargs):
            encoded = self._encode_batch_vectorized(text, text_pair, **arguments)
            if encoded is not None:
                return encoded
        try:
            return super()._encode_plus(text, text_pair, **arguments, **kwargs)
        except ValueError as error:
            located = self._name_invalid_sequence(error, text, text_pair)
            if located is None:
                raise
            raise located from None

    def _name_invalid_sequence(self, error: ValueError, text, text_pair) -> ValueError | None:
        """For a batch, ``error`` (an invalid character) with the index of the sequence holding it, as the
        vectorised path reports it; None when ``error`` is something else or the input is not a batch."""
        message = str(error)
        if not message.startswith("Invalid character") or " of sequence " in message:
            return None
        for suffix, batch in (("", text), (" of the second segments", text_pair)):
            if not isinstance(batch, (list, tuple)):
                continue
            for index, sequence in enumerate(batch):
                try:
                    if isinstance(sequence, str):
                        self.tokenize(sequence)
                except ValueError as found:
                    located = rf"at position \1 of sequence {index}{suffix}"
                    return ValueError(re.sub(r"at position (\d+)", located, str(found), count=1))
        return None

    def _vectorizable(self, text, text_pair, is_split_into_words, return_overflowing_tokens, kwargs) -> bool:
        if not self.use_vectorized or is_split_into_words or return_overflowing_tokens:
            return False
        if kwargs.get("return_offsets_mapping") or self.added_tokens_encoder.keys() - set(SPECIAL_TOKENS):
            return False
        if not isinstance(text, (list, tuple)) or not text or not all(isinstance(t, str) for t in text):
            return False
        if text_pair is None:
            return True
        return (
            isinstance(text_pair, (list, tuple))
            and len(text_pair) == len(text)
            and all(isinstance(t, str) for t in text_pair)
        )

    def _encode_batch_vectorized(
        self,
        text: Sequence[str],
        text_pair: Sequence[str] | None,
        *,
        add_special_tokens: bool,
        padding_strategy: PaddingStrategy,
        truncation_strategy: TruncationStrategy,
        max_length: int | None,
        pad_to_multiple_of: int | None,
        padding_side: str | None,
        return_tensors,
        return_token_type_ids: bool | None,
        return_attention_mask: bool | None,
        return_special_tokens_mask: bool,
        return_length: bool,
        verbose: bool,
        **_ignored,
    ) -> BatchEncoding | None:
        """Batch encoding as whole-array operations; ``None`` when the slow path must decide (edge cases)."""
        # An invalid character: let the per-k-mer path raise (or handle added tokens such as "[MASK]").
        try:
            ids_a, offsets_a, len_a = self.encoder.encode_batch(text)
            ids_b, offsets_b, len_b = (
                self.encoder.encode_batch(text_pair) if text_pair is not None else (None, None, None)
            )
        except ValueError:
            return None
        for sequences in (text, text_pair or ()):
            if any(0 < len(s) < self.kmer for s in sequences):
                self._warn_short(min(len(s) for s in sequences if len(s) > 0))

        is_pair = text_pair is not None
        n_special = (3 if is_pair else 2) if add_special_tokens else 0
        keep_a, keep_b = len_a.copy(), (len_b.copy() if is_pair else np.zeros_like(len_a))
        total = keep_a + keep_b + n_special
        if (
            truncation_strategy != TruncationStrategy.DO_NOT_TRUNCATE
            and max_length
            and (total > max_length).any()
        ):
            if is_pair and not len_b.all():
                return None  # transformers drops an empty second segment when truncating; keep its behaviour
            keep_a, keep_b = self._truncated_lengths(
                keep_a, keep_b, max_length - n_special, truncation_strategy
            )
            if keep_a is None:
                return None
            total = keep_a + keep_b + n_special
        longest = int(total.max())

        width = longest
        if padding_strategy == PaddingStrategy.MAX_LENGTH:
            if max_length is None or longest > max_length:
                return None  # the per-sequence path leaves such rows ragged
            width = max_length
        if padding_strategy != PaddingStrategy.DO_NOT_PAD and pad_to_multiple_of:
            width = -(-width // pad_to_multiple_of) * pad_to_multiple_of  # rounded up
        ragged = padding_strategy == PaddingStrategy.DO_NOT_PAD and bool((total != width).any())
        if ragged and return_tensors is not None:
            return None  # the per-sequence path raises its usual error about ragged tensors
        if verbose and longest > self.model_max_length and max_length is None:
            self._eventual_warn_about_too_long_sequence([0] * longest, None, verbose)

        batch = len(text)
        left = (
            padding_side or self.padding_side
        ) == "left" and padding_strategy != PaddingStrategy.DO_NOT_PAD
        row_start = (width - total) if left else np.zeros(batch, dtype=np.int64)
        input_ids = np.full((batch, width), self.pad_token_id, dtype=np.int64)
        token_types = np.full((batch, width), self.pad_token_type_id, dtype=np.int64)
        special = np.ones((batch, width), dtype=np.int64)
        attention = np.zeros((batch, width), dtype=np.int64)
        columns = np.arange(width)
        real = (columns >= row_start[:, None]) & (columns < (row_start + total)[:, None])
        attention[real] = 1
        special[real] = 0
        token_types[real] = 0

        rows = np.arange(batch)
        cursor = row_start.copy()
        if add_special_tokens:
            input_ids[rows, cursor] = CLS_ID
            special[rows, cursor] = 1
            cursor += 1
        segments = [(ids_a, offsets_a, len_a, keep_a)] + (
            [(ids_b, offsets_b, len_b, keep_b)] if is_pair else []
        )
        for index, (ids, offsets, lengths, keep) in enumerate(segments):
            segment_start = cursor.copy()
            self._scatter(input_ids, ids, offsets, lengths, keep, cursor, self.truncation_side == "left")
            cursor += keep
            if add_special_tokens:  # each segment ends with [SEP]
                input_ids[rows, cursor] = SEP_ID
                special[rows, cursor] = 1
                cursor += 1
                if index == 1:  # without special tokens transformers gives pairs all-zero token types
                    token_types[(columns >= segment_start[:, None]) & (columns < cursor[:, None])] = 1

        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        arrays: dict[str, np.ndarray] = {"input_ids": input_ids}
        if return_token_type_ids:
            arrays["token_type_ids"] = token_types
        if return_special_tokens_mask:
            arrays["special_tokens_mask"] = special if add_special_tokens else np.where(real, 0, 1)
        if return_attention_mask:
            arrays["attention_mask"] = attention
        outputs: dict = dict(arrays)
        if ragged or return_tensors is None:
            outputs = {
                key: [row[: total[i]].tolist() if ragged else row.tolist() for i, row in enumerate(value)]
                for key, value in arrays.items()
            }
        if return_length:
            outputs["length"] = total.tolist() if return_tensors is None else total
        return BatchEncoding(outputs, tensor_type=return_tensors)

    @staticmethod
    def _scatter(
        target: np.ndarray,
        ids: np.ndarray,
        offsets: np.ndarray,
        lengths: np.ndarray,
        keep: np.ndarray,
        column_start: np.ndarray,
        truncate_left: bool,
    ) -> None:
        """Write ``keep[i]`` ids of sequence i into row i from ``column_start[i]`` (dropping the tail, or the head)."""
        if not keep.any():
            return
        rows = np.repeat(np.arange(len(keep)), keep)
        within = np.arange(int(keep.sum())) - np.repeat(np.cumsum(keep) - keep, keep)
        source_start = offsets[:-1] + (lengths - keep if truncate_left else 0)
        target[rows, np.repeat(column_start, keep) + within] = ids[np.repeat(source_start, keep) + within]

    @staticmethod
    def _truncated_lengths(
        len_a: np.ndarray, len_b: np.ndarray, budget: int, strategy: TruncationStrategy
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Lengths after transformers' truncation rules (same results as ``truncate_sequences``)."""
        excess = np.maximum(len_a + len_b - budget, 0)
        if strategy == TruncationStrategy.ONLY_FIRST:
            if (excess > len_a).any():
                return None, None  # transformers logs an error and leaves the row; let it decide
            return len_a - excess, len_b
        if strategy == TruncationStrategy.ONLY_SECOND:
            if (excess > len_b).any():
                return None, None
            return len_a, len_b - excess
        # longest_first: remove from the longer one; on a tie from the second.
        gap = np.abs(len_a - len_b)
        from_gap = np.minimum(gap, excess)
        rest = excess - from_gap
        new_a = len_a - np.where(len_a > len_b, from_gap, 0) - rest // 2
        new_b = len_b - np.where(len_a > len_b, 0, from_gap) - (rest - rest // 2)
        if (new_a < 0).any() or (new_b < 0).any():
            return None, None
        return new_a, new_b


__all__ = ["GeneBertTokenizer", "KmerEncoder", "build_kmer_vocab"]
