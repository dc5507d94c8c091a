"""GeneBERT inference: the ``dna-classification`` pipeline (sliding windows, reverse complement) and embeddings.

This whole file is copied into exported model repositories as ``pipeline_genebert.py`` (see
:func:`genebert.hub.export_for_hub`), so that

    pipeline("dna-classification", model="user/repo", trust_remote_code=True)

works where ``genebert`` is not installed. It imports only the standard library, numpy, torch, transformers and
(relatively) ``tokenization_genebert``, which every exported repository holds. Files in, files out (``genebert
predict`` / ``embed``) live in :mod:`genebert.inference`.

Standard pipelines work too: ``pipeline("text-classification", model=dir)`` scores one window per sequence (longer
sequences are truncated), ``pipeline("feature-extraction", model=dir)`` returns token features.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification
from transformers.pipelines import PIPELINE_REGISTRY
from transformers.pipelines.base import ChunkPipeline

from .tokenization_genebert import find_invalid_character, invalid_character_error

TASK = "dna-classification"
AGGREGATIONS = ("mean", "max")
AGGREGATION_SPACES = ("probabilities", "logits")
FUNCTIONS = ("softmax", "sigmoid", "none")
POOLINGS = ("cls", "mean")
_COMPLEMENT = str.maketrans("ACGTRYKMBVDHNSWacgtrykmbvdhnsw", "TGCAYRMKVBHDNSWtgcayrmkvbhdnsw")


def reverse_complement(sequence: str) -> str:
    """The reverse complement of a DNA sequence (IUPAC codes complemented, case kept): ``"AACGn"`` -> ``"nCGTT"``."""
    return sequence.translate(_COMPLEMENT)[::-1]


_reverse_complement = reverse_complement  # `preprocess` has a parameter of that name


def validate_dna(sequence: Any, index: int | None = None) -> str:
    """Return ``sequence`` if it is a non-empty DNA string (A, C, G, T or IUPAC codes, any case).

    Raises:
        TypeError: not a ``str``.
        ValueError: empty, or a character that is not a nucleotide or IUPAC code (named with its 0-based position,
            and the sequence's index in the batch when ``index`` is given).
    """
    where = "" if index is None else f" (sequence {index})"
    if not isinstance(sequence, str):
        raise TypeError(f"expected a DNA sequence as a str{where}, got {type(sequence).__name__}")
    if not sequence:
        raise ValueError(f"empty DNA sequence{where}: nothing to score")
    found = find_invalid_character(sequence)
    if found is not None:
        raise invalid_character_error(index, *found)
    return sequence


def max_window_bp(tokenizer: Any, model: Any) -> int:
    """The longest window in bases that fits the model: ``max_tokens - 2`` k-mers (for [CLS] and [SEP]) span
    ``max_tokens - 2 + k - 1`` bases, with ``max_tokens = min(tokenizer.model_max_length,
    config.max_position_embeddings)``."""
    kmer = int(getattr(tokenizer, "kmer", 1))
    limits = [int(getattr(model.config, "max_position_embeddings", 512))]
    model_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(model_max, int) and model_max < 1_000_000:
        limits.append(model_max)
    return min(limits) - 2 + kmer - 1


def window_starts(length: int, window_size: int, stride: int) -> list[int]:
    """Start positions of the windows covering ``[0, length)``: every ``stride`` bases, and a last window flush with
    the end (so no base is left out). A sequence no longer than ``window_size`` is one window at 0."""
    if length <= window_size:
        return [0]
    starts = list(range(0, length - window_size + 1, stride))
    if starts[-1] != length - window_size:
        starts.append(length - window_size)
    return starts


def resolve_window(
    tokenizer: Any, model: Any, window_size: int | None, stride: int | None
) -> tuple[int, int]:
    """Check ``window_size`` / ``stride`` (bases) against the model and fill in defaults.

    Defaults: the longest window the model takes, and half of it as stride. The stride may be at most
    ``window_size - k + 1`` so that consecutive windows share no fewer than ``k - 1`` bases (every k-mer of the
    sequence is then in some window).
    """
    kmer = int(getattr(tokenizer, "kmer", 1))
    largest = max_window_bp(tokenizer, model)
    if window_size is None:
        window_size = largest
    if (
        isinstance(window_size, bool)
        or not isinstance(window_size, int)
        or not kmer <= window_size <= largest
    ):
        raise ValueError(
            f"window_size must be an int between k={kmer} and {largest} bases, got {window_size!r}"
        )
    if stride is None:
        stride = max(1, window_size // 2)
    most = window_size - kmer + 1
    if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= most:
        raise ValueError(
            f"stride must be an int between 1 and window_size - k + 1 = {most} bases (larger strides would skip "
            f"k-mers), got {stride!r}"
        )
    return window_size, stride


def default_function(config: Any) -> str:
    """``"sigmoid"`` for multi-label or single-output models, ``"none"`` for regression, else ``"softmax"``."""
    problem = getattr(config, "problem_type", None)
    if problem == "regression":
        return "none"
    if problem == "multi_label_classification" or getattr(config, "num_labels", 2) == 1:
        return "sigmoid"
    return "softmax"


def _apply(function: str, logits: np.ndarray) -> np.ndarray:
    if function == "softmax":
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)
    if function == "sigmoid":
        return 1.0 / (1.0 + np.exp(-logits))
    return logits


class DnaClassificationPipeline(ChunkPipeline):
    """Classify DNA sequences of any length with a GeneBERT sequence classifier.

    Each sequence is cut into windows of ``window_size`` bases every ``stride`` bases (the last window ends flush with
    the sequence); every window (and, with ``reverse_complement=True``, its reverse complement) is one model input,
    batched across windows and sequences by ``batch_size``. Per window, the two strands are averaged; then the
    windows are aggregated by ``aggregation`` (``"mean"`` or ``"max"``) in ``aggregation_space``
    (``"probabilities"``: apply ``function_to_apply`` per window, then aggregate; ``"logits"``: aggregate logits, then
    apply it). With ``"max"`` over probabilities each class gets its own maximum (the scores then need not sum to 1).

    Call parameters (also accepted at construction): ``window_size``, ``stride`` (bases, defaults: the longest window
    the model takes and half of it), ``reverse_complement`` (default False), ``aggregation`` (default ``"mean"``),
    ``aggregation_space`` (default ``"probabilities"``), ``function_to_apply`` (``"softmax"``, ``"sigmoid"`` or
    ``"none"``; default from ``config.problem_type`` / ``num_labels``), ``return_windows`` (default False).

    Returns, per sequence, a dict: ``label`` (best class), ``score`` (its score), ``scores`` (``{label: score}`` for
    every class), ``num_windows``; with ``return_windows=True`` also ``windows``: ``[{"start", "end", "scores":
    [num_labels floats]}]`` (strand-averaged, after ``function_to_apply``).

    Raises ``TypeError`` / ``ValueError`` for input that is not a non-empty DNA string, naming the offending character
    and its 0-based position.
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False

    def _sanitize_parameters(
        self,
        window_size: int | None = None,
        stride: int | None = None,
        reverse_complement: bool | None = None,
        aggregation: str | None = None,
        aggregation_space: str | None = None,
        function_to_apply: str | None = None,
        return_windows: bool | None = None,
        **unknown: Any,
    ) -> tuple[dict, dict, dict]:
        if unknown:
            raise TypeError(f"{TASK} pipeline: unknown parameter(s) {sorted(unknown)}")
        preprocess: dict[str, Any] = {}
        postprocess: dict[str, Any] = {}
        if window_size is not None or stride is not None:
            current = getattr(self, "_preprocess_params", {})
            size = window_size if window_size is not None else current.get("window_size")
            step = stride if stride is not None else current.get("stride")
            if window_size is not None and stride is None:
                step = None  # a new window size takes a matching default stride
            preprocess["window_size"], preprocess["stride"] = resolve_window(
                self.tokenizer, self.model, size, step
            )
        if reverse_complement is not None:
            preprocess["reverse_complement"] = bool(reverse_complement)
        for name, value, allowed in (
            ("aggregation", aggregation, AGGREGATIONS),
            ("aggregation_space", aggregation_space, AGGREGATION_SPACES),
            ("function_to_apply", function_to_apply, FUNCTIONS),
        ):
            if value is not None:
                if value not in allowed:
                    raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
                postprocess[name] = value
        if return_windows is not None:
            postprocess["return_windows"] = bool(return_windows)
        return preprocess, {}, postprocess

    def preprocess(
        self,
        inputs: str,
        window_size: int | None = None,
        stride: int | None = None,
        reverse_complement: bool = False,
    ) -> Iterator[dict[str, Any]]:
        sequence = validate_dna(inputs)
        if window_size is None or stride is None:
            window_size, stride = resolve_window(self.tokenizer, self.model, window_size, stride)
        starts = window_starts(len(sequence), window_size, stride)
        windows = [sequence[start : start + window_size] for start in starts]
        strands = [windows]
        if reverse_complement:
            strands.append([_reverse_complement(window) for window in windows])
        items = []
        for strand, texts in enumerate(strands):
            encoded = self.tokenizer(texts)
            for index, start in enumerate(starts):
                item = {
                    name: torch.tensor([encoded[name][index]], dtype=torch.long)
                    for name in self.tokenizer.model_input_names
                    if name in encoded
                }
                item.update(
                    window=index, strand=strand, start=start, end=min(start + window_size, len(sequence))
                )
                items.append(item)
        for position, item in enumerate(items):
            yield {**item, "is_last": position == len(items) - 1}

    def _forward(self, model_inputs: dict[str, Any]) -> dict[str, Any]:
        names = [name for name in self.tokenizer.model_input_names if name in model_inputs]
        logits = self.model(**{name: model_inputs[name] for name in names}).logits
        output: dict[str, Any] = {"logits": logits}
        for key in ("window", "strand", "start", "end", "is_last"):
            output[key] = model_inputs[key]
        return output

    def postprocess(
        self,
        model_outputs: list[dict[str, Any]],
        aggregation: str = "mean",
        aggregation_space: str = "probabilities",
        function_to_apply: str | None = None,
        return_windows: bool = False,
    ) -> dict[str, Any]:
        function = function_to_apply or default_function(self.model.config)
        num_windows = 1 + max(int(_scalar(output["window"])) for output in model_outputs)
        num_labels = model_outputs[0]["logits"].shape[-1]
        sums = np.zeros((num_windows, num_labels), dtype=np.float64)
        counts = np.zeros(num_windows, dtype=np.int64)
        bounds: dict[int, tuple[int, int]] = {}
        for output in model_outputs:
            window = int(_scalar(output["window"]))
            logits = output["logits"].float().numpy().reshape(-1)
            values = _apply(function, logits) if aggregation_space == "probabilities" else logits
            sums[window] += values
            counts[window] += 1
            bounds[window] = (int(_scalar(output["start"])), int(_scalar(output["end"])))
        per_window = sums / counts[:, None]  # (num_windows, num_labels): strands averaged
        pooled = per_window.mean(axis=0) if aggregation == "mean" else per_window.max(axis=0)
        if aggregation_space == "logits":
            pooled = _apply(function, pooled)
            per_window = _apply(function, per_window)
        id2label = getattr(self.model.config, "id2label", None) or {}
        labels = [str(id2label.get(i, f"LABEL_{i}")) for i in range(num_labels)]
        best = int(np.argmax(pooled))
        result: dict[str, Any] = {
            "label": labels[best],
            "score": float(pooled[best]),
            "scores": {label: float(value) for label, value in zip(labels, pooled, strict=True)},
            "num_windows": num_windows,
        }
        if return_windows:
            result["windows"] = [
                {"start": bounds[w][0], "end": bounds[w][1], "scores": [float(v) for v in per_window[w]]}
                for w in range(num_windows)
            ]
        return result


def _scalar(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.reshape(-1)[0].item()
    if isinstance(value, (list, tuple)):
        return value[0]
    return value


def special_token_ids(tokenizer: Any, device: Any = None) -> torch.Tensor:
    """``(3,)`` ids of [CLS], [SEP] and [PAD]: the tokens mean pooling leaves out."""
    ids = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]
    return torch.tensor(ids, device=device)


def pool_hidden_states(
    hidden_states: torch.Tensor,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    special_ids: torch.Tensor,
    pooling: str = "cls",
) -> torch.Tensor:
    """One vector per sequence, the one pooling every genebert tool uses (``embed``, the studies, the probes).

    Args:
        hidden_states: ``(batch, tokens, hidden)`` final hidden states.
        input_ids, attention_mask: ``(batch, tokens)``.
        special_ids: ids left out of the mean (`special_token_ids`).
        pooling: ``"cls"``: the state of [CLS]; ``"mean"``: the mean over k-mer tokens ([CLS], [SEP] and padding
            excluded).

    Returns:
        ``(batch, hidden)``.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if pooling == "cls":
        return hidden_states[:, 0]
    mask = (attention_mask.bool() & ~torch.isin(input_ids, special_ids)).unsqueeze(-1)
    return (hidden_states * mask).sum(1) / mask.sum(1).clamp(min=1)


@torch.inference_mode()
def embed(
    sequences: Sequence[str] | Iterable[str],
    model: Any,
    tokenizer: Any,
    pooling: str = "cls",
    batch_size: int = 32,
    window_size: int | None = None,
    stride: int | None = None,
    progress: Any = None,
) -> np.ndarray:
    """Embed DNA sequences with a GeneBERT sequence tower.

    Args:
        sequences: `n` DNA strings (A, C, G, T, IUPAC codes; any case; any length).
        model: a `GeneBertModel`, `GeneBertForSequenceClassification` or `GeneBertForPreTraining` (its
            `base_model`, the BERT sequence tower, is used).
        tokenizer: the model's `GeneBertTokenizer`.
        pooling: `"cls"`: the final hidden state of [CLS]; `"mean"`: the mean over the k-mer tokens ([CLS], [SEP] and
            padding excluded).
        batch_size: windows per forward pass.
        window_size, stride: sequences longer than `window_size` bases (default: the longest the model takes) are
            cut into windows every `stride` bases (default: half a window); a sequence's embedding is the mean of its
            windows' embeddings weighted by their number of k-mers.
        progress: an optional callable `progress(n_windows_done)` called after each batch (e.g. `tqdm.update`).

    Returns:
        `np.ndarray` of shape `(n, hidden_size)`, float32.

    Raises:
        ValueError: `pooling` unknown, an empty sequence, or a non-DNA character (named with its position and the
            sequence's index).
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    sequences = [validate_dna(sequence, index) for index, sequence in enumerate(sequences)]
    window_size, stride = resolve_window(tokenizer, model, window_size, stride)
    kmer = int(getattr(tokenizer, "kmer", 1))
    owners: list[int] = []
    texts: list[str] = []
    for index, sequence in enumerate(sequences):
        for start in window_starts(len(sequence), window_size, stride):
            owners.append(index)
            texts.append(sequence[start : start + window_size])
    encoder = model.base_model
    was_training = encoder.training
    encoder.eval()
    hidden = int(model.config.hidden_size)
    sums = np.zeros((len(sequences), hidden), dtype=np.float64)
    weights = np.zeros(len(sequences), dtype=np.float64)
    device = next(encoder.parameters()).device
    special = special_token_ids(tokenizer, device)
    try:
        for begin in range(0, len(texts), batch_size):
            chunk = texts[begin : begin + batch_size]
            batch = tokenizer(chunk, padding=True, return_tensors="pt").to(device)
            states = encoder(**batch).last_hidden_state  # (batch, tokens, hidden)
            pooled = pool_hidden_states(states, batch["input_ids"], batch["attention_mask"], special, pooling)
            pooled = pooled.float().cpu().numpy()
            for row, text in enumerate(chunk):
                owner = owners[begin + row]
                weight = max(len(text) - kmer + 1, 1)
                sums[owner] += weight * pooled[row]
                weights[owner] += weight
            if progress is not None:
                progress(len(chunk))
    finally:
        encoder.train(was_training)
    return (sums / np.maximum(weights, 1)[:, None]).astype(np.float32)


PIPELINE_REGISTRY.register_pipeline(
    TASK,
    pipeline_class=DnaClassificationPipeline,
    pt_model=AutoModelForSequenceClassification,
    type="text",
)


__all__ = [
    "DnaClassificationPipeline", "embed", "pool_hidden_states", "reverse_complement", "special_token_ids",
    "validate_dna", "window_starts"
]  # fmt: skip
