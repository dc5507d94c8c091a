"""GeneBertProcessor: raw DNA of a sample's regions -> every input of a GeneBERT pre-training model.

Hub remote code: this file imports only the standard library, numpy, torch, transformers and (relatively)
``tokenization_genebert``, never ``genebert.*``, so it works when copied into a model repository.

* :class:`GeneBertMotifFeatureExtractor` holds the motif set of the training corpus (names, log-odds PWMs in bits,
  background, the scope the scores were taken over) and the corpus's per-motif mean and standard deviation, and
  turns region DNA into the ``(num_regions, num_motifs)`` region matrix: the best score of each motif over each
  region, both strands, as ``genebert build-corpus`` computes it (a torch ``conv1d`` scanner, float32, matching the
  corpus's numba scanner within 1e-4).
* :class:`GeneBertProcessor` (a transformers ``ProcessorMixin``) = that feature extractor + the k-mer tokenizer. For
  the ``num_regions`` regions of a sample it returns ``input_ids``, ``attention_mask``, ``token_type_ids`` (``[CLS]``
  k-mers of the windows of regions 1-5 ``[SEP]`` regions 6-10 ``[SEP]``, each region's window tokenized on its own)
  and ``region_matrix``: what ``DataCollatorForGenomeModeling`` builds from a corpus sample, without masking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import BatchFeature, FeatureExtractionMixin, ProcessorMixin

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

BASES = "ACGT"
SCOPES = ("region", "window")
# IUPAC code -> the bases it stands for (columns A, C, G, T).
_IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip
_CODES = list(_IUPAC)  # channel of each code: A, C, G, T, then the ambiguity codes
_CHANNEL_OF_BYTE = np.full(256, -1, dtype=np.int64)
for _channel, _code in enumerate(_CODES):
    _CHANNEL_OF_BYTE[ord(_code)] = _CHANNEL_OF_BYTE[ord(_code.lower())] = _channel
_MEMBERS = np.array([[base in _IUPAC[code] for base in BASES] for code in _CODES])  # (15, 4)


def window_start(length: int, window: int) -> int:
    """Start of the ``window``-bp window centred on a region of ``length`` bases (as the corpus builder takes it:
    centre ``length // 2``, start ``centre - window // 2``, kept inside the region)."""
    return max(0, min(length // 2 - window // 2, length - window))


class GeneBertMotifFeatureExtractor(FeatureExtractionMixin):
    r"""Region DNA -> region matrix (best motif scores), with the motif set and statistics of a training corpus.

    Args:
        motif_names (`list[str]`): motif names, in the model's column order.
        motif_pwms (`list` of `(L, 4)` nested lists): log-odds PWMs in bits, columns A, C, G, T.
        background (`list[float]`, defaults to uniform): the background the PWMs were computed against (kept for
            provenance; scores use the PWMs as they are).
        motif_mean, motif_std (`list[float]`, *optional*): the training corpus's per-motif statistics (the model's
            region tower standardises with the same values; `standardize=True` in a call applies them here).
        scope (`str`, defaults to `"window"`): the DNA a motif score is taken over: `"window"` (the window the
            sequence tower reads, as `genebert build-corpus` does by default) or `"region"` (the whole region, as
            `build-corpus --motif-scope region` does).
        num_regions (`int`, defaults to 10): regions per sample.
        region_window_bp (`int`, defaults to 55): bases of each region that the sequence tower reads (centred).
        ambiguous scoring: N and the IUPAC codes score, at each motif position, the minimum over the bases they stand
            for; a region shorter than a motif scores that motif's minimum possible score.
    """

    model_input_names = ["region_matrix"]

    def __init__(
        self,
        motif_names: Sequence[str] = (),
        motif_pwms: Sequence[Any] = (),
        background: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
        motif_mean: Sequence[float] | None = None,
        motif_std: Sequence[float] | None = None,
        scope: str = "window",
        num_regions: int = 10,
        region_window_bp: int = 55,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if len(motif_names) != len(motif_pwms):
            raise ValueError(f"{len(motif_names)} motif names for {len(motif_pwms)} PWMs")
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        self.motif_names = [str(name) for name in motif_names]
        self.motif_pwms = [np.asarray(pwm, dtype=np.float64).tolist() for pwm in motif_pwms]
        for name, pwm in zip(self.motif_names, self.motif_pwms, strict=True):
            if np.asarray(pwm).ndim != 2 or np.asarray(pwm).shape[1] != 4 or not pwm:
                raise ValueError(f"motif {name!r}: a PWM must be (L >= 1, 4), columns A, C, G, T")
        self.background = [float(v) for v in background]
        for name, values in (("motif_mean", motif_mean), ("motif_std", motif_std)):
            if values is not None and len(values) != len(self.motif_names):
                raise ValueError(f"{name} has {len(values)} values for {len(self.motif_names)} motifs")
        self.motif_mean = None if motif_mean is None else [float(v) for v in motif_mean]
        self.motif_std = None if motif_std is None else [float(v) for v in motif_std]
        self.scope = scope
        self.num_regions = int(num_regions)
        self.region_window_bp = int(region_window_bp)
        self._weights: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    @classmethod
    def from_motif_set(cls, motif_set: Any, **kwargs: Any) -> GeneBertMotifFeatureExtractor:
        """From an object with `names`, `pwms` and `background` (e.g. `genebert.genomics.motifs.MotifSet`)."""
        return cls(
            motif_names=list(motif_set.names),
            motif_pwms=[np.asarray(pwm).tolist() for pwm in motif_set.pwms],
            background=list(np.asarray(motif_set.background, dtype=float)),
            **kwargs,
        )

    @property
    def num_motifs(self) -> int:
        return len(self.motif_names)

    def to_dict(self) -> dict[str, Any]:
        output = super().to_dict()
        output.pop("_weights", None)
        return output

    # --------------------------------------------------------------------------------------------- scanning
    def _conv_weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self._weights is None:
            longest = max(len(pwm) for pwm in self.motif_pwms)
            weight = np.zeros((2 * self.num_motifs, len(_CODES), longest), dtype=np.float64)
            minima = np.zeros(self.num_motifs)
            for m, pwm in enumerate(self.motif_pwms):
                pwm = np.asarray(pwm, dtype=np.float64)
                minima[m] = pwm.min(axis=1).sum()
                for strand, matrix in enumerate((pwm, pwm[::-1, ::-1])):  # reverse complement: A<->T, C<->G
                    # (L, 15): each code scores the minimum over the bases it stands for
                    table = np.where(_MEMBERS[None, :, :], matrix[:, None, :], np.inf).min(axis=2)
                    weight[2 * m + strand, :, : len(matrix)] = table.T
            lengths = torch.tensor([len(pwm) for pwm in self.motif_pwms])
            self._weights = (torch.from_numpy(weight).float(), lengths, torch.from_numpy(minima).float())
        return self._weights

    def scan(self, sequences: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """`(n, num_motifs)` float32: the best score of every motif in every sequence, both strands."""
        if isinstance(sequences, str):
            raise TypeError("scan takes a list of DNA strings, not one string")
        out = np.empty((len(sequences), self.num_motifs), dtype=np.float32)
        if not len(sequences) or not self.num_motifs:
            return out
        weight, lengths, minima = self._conv_weights()
        longest_motif = weight.shape[2]
        for begin in range(0, len(sequences), batch_size):
            chunk = list(sequences[begin : begin + batch_size])
            seq_lengths = np.array([len(s) for s in chunk], dtype=np.int64)
            width = int(seq_lengths.max(initial=0))
            channels = np.full((len(chunk), width + longest_motif - 1), -1, dtype=np.int64)
            for row, sequence in enumerate(chunk):
                codes = _CHANNEL_OF_BYTE[np.frombuffer(sequence.encode("ascii", "replace"), dtype=np.uint8)]
                if (codes < 0).any():
                    position = int(np.flatnonzero(codes < 0)[0])
                    raise ValueError(
                        f"sequence {begin + row}: invalid character {sequence[position]!r} at position {position} "
                        "(expected A, C, G, T, N or an IUPAC code, any case)"
                    )
                channels[row, : len(sequence)] = codes
            index = torch.from_numpy(channels)
            one_hot = torch.zeros((len(chunk), len(_CODES), index.shape[1]), dtype=torch.float32)
            one_hot.scatter_(1, index.clamp(min=0).unsqueeze(1), (index >= 0).unsqueeze(1).float())
            with torch.no_grad():
                scores = torch.nn.functional.conv1d(one_hot, weight)  # (n, 2M, windows)
            scores = scores.view(len(chunk), self.num_motifs, 2, -1)
            last_start = torch.from_numpy(seq_lengths)[:, None] - lengths[None, :]  # (n, M)
            windows = torch.arange(scores.shape[-1])
            scores = scores.masked_fill(
                (windows[None, None, :] > last_start[:, :, None]).unsqueeze(2), -torch.inf
            )
            best = scores.amax(dim=(2, 3)) if scores.shape[-1] else torch.full(last_start.shape, -torch.inf)
            out[begin : begin + len(chunk)] = torch.where(last_start >= 0, best, minima[None, :]).numpy()
        return out

    # ------------------------------------------------------------------------------------------------ call
    def __call__(
        self,
        regions: Sequence[str] | Sequence[Sequence[str]],
        *,
        standardize: bool = False,
        return_tensors: str | None = None,
        **kwargs: Any,
    ) -> BatchFeature:
        """Region matrices of one sample (`num_regions` DNA strings) or of a batch of samples.

        Returns a `BatchFeature` with `region_matrix` `(batch, num_regions, num_motifs)`: raw best scores (the model
        standardises them), or standardised with the corpus statistics when `standardize=True`.
        """
        samples = _as_samples(regions, self.num_regions)
        flat = [self._scored_dna(region) for sample in samples for region in sample]
        matrix = self.scan(flat).reshape(len(samples), self.num_regions, self.num_motifs)
        if standardize:
            if self.motif_mean is None or self.motif_std is None:
                raise ValueError("standardize=True needs motif_mean and motif_std")
            std = np.asarray(self.motif_std, dtype=np.float32)
            matrix = (matrix - np.asarray(self.motif_mean, dtype=np.float32)) / np.where(std < 1e-6, 1, std)
        return BatchFeature({"region_matrix": matrix}, tensor_type=return_tensors)

    def window(self, region: str) -> str:
        """The part of a region the sequence tower reads: `region_window_bp` bases around its centre."""
        start = window_start(len(region), self.region_window_bp)
        return region[start : start + self.region_window_bp]

    def _scored_dna(self, region: str) -> str:
        return region if self.scope == "region" else self.window(region)


def _as_samples(regions: Any, num_regions: int) -> list[list[str]]:
    if isinstance(regions, str):
        raise TypeError(
            f"give the {num_regions} regions of a sample as a list of DNA strings, not one string"
        )
    regions = list(regions)
    samples = [list(regions)] if regions and isinstance(regions[0], str) else [list(s) for s in regions]
    for index, sample in enumerate(samples):
        if len(sample) != num_regions or not all(isinstance(r, str) for r in sample):
            raise ValueError(f"sample {index}: expected {num_regions} DNA strings, got {len(sample)}")
    return samples


class GeneBertProcessor(ProcessorMixin):
    r"""The k-mer tokenizer and the motif feature extractor of a GeneBERT pre-training model.

    `processor(regions)` takes the DNA of the `num_regions` consecutive accessible regions of a sample (or a batch
    of samples) and returns `input_ids`, `token_type_ids`, `attention_mask` (`[CLS]` the k-mers of the centred
    windows of the first half of the regions `[SEP]` those of the second half `[SEP]`, each window tokenized on its
    own so no k-mer spans two regions; padded to the longest sample) and `region_matrix` (the motif scores of the
    same regions, in order): what `DataCollatorForGenomeModeling` builds from a corpus sample, without masking and
    with segment B the true continuation. Pass `return_tensors="pt"` to feed `GeneBertForPreTraining` directly.

    Args:
        feature_extractor ([`GeneBertMotifFeatureExtractor`]): the motif set and statistics.
        tokenizer ([`GeneBertTokenizer`]): the k-mer tokenizer.
    """

    def __init__(self, feature_extractor: Any, tokenizer: Any):
        super().__init__(feature_extractor, tokenizer)

    def __call__(
        self,
        regions: Sequence[str] | Sequence[Sequence[str]] | None = None,
        *,
        windows: Sequence[str] | Sequence[Sequence[str]] | None = None,
        return_tensors: str | None = None,
        **kwargs: Any,
    ) -> BatchFeature:
        """Args:
        regions: one sample (a list of `num_regions` DNA strings, each a whole accessible region) or a list of
            samples.
        windows: optionally the DNA the sequence tower should read for each region (same layout); by default the
            centred `region_window_bp`-bp window of each region (the whole region when it is shorter).
        return_tensors: `"pt"`, `"np"` or None (lists).
        """
        if kwargs:
            raise TypeError(f"unknown argument(s) {sorted(kwargs)}")
        extractor, tokenizer = self.feature_extractor, self.tokenizer
        samples = _as_samples(regions, extractor.num_regions)
        if windows is None:
            window_samples = [[extractor.window(region) for region in sample] for sample in samples]
        else:
            window_samples = _as_samples(windows, extractor.num_regions)
            if len(window_samples) != len(samples):
                raise ValueError(
                    f"{len(window_samples)} samples of windows for {len(samples)} samples of regions"
                )
        region_matrix = extractor(samples)["region_matrix"]
        half = extractor.num_regions // 2
        cls, sep = [tokenizer.cls_token_id], [tokenizer.sep_token_id]
        rows, first_lengths = [], []
        for sample in window_samples:
            ids, offsets, _ = tokenizer.encoder.encode_batch(sample)
            split = int(offsets[half])
            rows.append(np.concatenate([cls, ids[:split], sep, ids[split:], sep]))
            first_lengths.append(split + 2)
        width = max(len(row) for row in rows)
        if width > tokenizer.model_max_length:
            raise ValueError(
                f"a sample has {width} tokens, more than the model's {tokenizer.model_max_length}: use shorter windows "
                "(region_window_bp)"
            )
        input_ids = np.full((len(rows), width), tokenizer.pad_token_id, dtype=np.int64)
        attention_mask = np.zeros((len(rows), width), dtype=np.int64)
        token_type_ids = np.zeros((len(rows), width), dtype=np.int64)
        for i, (row, first) in enumerate(zip(rows, first_lengths, strict=True)):
            input_ids[i, : len(row)] = row
            attention_mask[i, : len(row)] = 1
            token_type_ids[i, first : len(row)] = 1
        data = {
            "input_ids": input_ids,
            "token_type_ids": token_type_ids,
            "attention_mask": attention_mask,
            "region_matrix": np.asarray(region_matrix, dtype=np.float32),
        }
        if return_tensors is None:
            data = {key: value.tolist() for key, value in data.items()}
        return BatchFeature(data, tensor_type=return_tensors)

    @property
    def model_input_names(self) -> list[str]:
        return ["input_ids", "token_type_ids", "attention_mask", "region_matrix"]


GeneBertMotifFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
GeneBertProcessor.register_for_auto_class("AutoProcessor")

__all__ = ["GeneBertMotifFeatureExtractor", "GeneBertProcessor", "window_start"]
