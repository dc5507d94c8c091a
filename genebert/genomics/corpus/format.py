"""The corpus format: its configuration, its features, and `load_corpus` (see the package docstring for the
layout of a corpus directory)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np

from ...storage import atomic_write

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MOTIF_SCOPES = ("window", "region")
MAX_TOKENS = 512
SPECIAL_TOKENS_PER_SAMPLE = 3  # [CLS] segment A [SEP] segment B [SEP]


def default_region_window_bp(
    kmer: int = 6, regions_per_sample: int = 10, max_tokens: int = MAX_TOKENS
) -> int:
    """The largest window per region such that a sample's k-mer tokens and special tokens fit ``max_tokens``."""
    tokens_per_region = (max_tokens - SPECIAL_TOKENS_PER_SAMPLE) // regions_per_sample
    return tokens_per_region + kmer - 1


@dataclass(frozen=True)
class CorpusConfig:
    """Parameters of a corpus build (all recorded in ``metadata.json``).

    Args:
        kmer: k of the tokenizer the windows are sized for.
        region_window_bp: bases per region given to the sequence tower, centred on the region (default: the
            largest that fits ``regions_per_sample`` regions in 512 tokens, 55 bp for k=6).
        regions_per_sample: consecutive regions per sample (the paper: 10).
        stride: step between consecutive samples of a cell type (default ``regions_per_sample``:
            non-overlapping).
        leftover: what to do with the last regions of a chromosome that do not fill a sample: ``"overlap"``
            adds one more sample ending at the chromosome's last region (overlapping the previous one),
            ``"drop"`` leaves them out. A chromosome with fewer regions than a sample gives no sample.
        max_ambiguous_fraction: regions with a larger fraction of N / IUPAC codes are kept in the region
            table (``usable=False``) but used in no sample and in no motif statistic.
        min_regions_per_cell_type: cell types with fewer usable regions are warned about and skipped.
        chunk_size: regions per chunk (the unit of resumption and of parallel work).
        motif_dtype: ``"float32"`` or ``"float16"`` for the stored motif vectors.
        seed: recorded for reproducibility of everything downstream.
        motif_scope: the DNA a region's motif vector is computed over. ``"window"`` (default): exactly the bases
            the sequence tower reads, so both views describe the same DNA; a region's usability is judged on
            the same window. ``"region"``: the whole accessible region (the paper's wording), which the
            sequence tower mostly does not see (docs/differences-from-the-paper.md).
    """

    kmer: int = 6
    region_window_bp: int | None = None
    regions_per_sample: int = 10
    stride: int | None = None
    leftover: str = "overlap"
    max_ambiguous_fraction: float = 0.5
    min_regions_per_cell_type: int = 10
    chunk_size: int = 4096
    motif_dtype: str = "float32"
    seed: int = 0
    motif_scope: str = "window"

    def __post_init__(self) -> None:
        if self.region_window_bp is None:
            object.__setattr__(
                self, "region_window_bp", default_region_window_bp(self.kmer, self.regions_per_sample)
            )
        if self.stride is None:
            object.__setattr__(self, "stride", self.regions_per_sample)
        if self.leftover not in ("overlap", "drop"):
            raise ValueError(f"leftover must be 'overlap' or 'drop', got {self.leftover!r}")
        if self.motif_scope not in MOTIF_SCOPES:
            raise ValueError(f"motif_scope must be one of {MOTIF_SCOPES}, got {self.motif_scope!r}")
        if self.motif_dtype not in ("float32", "float16"):
            raise ValueError(f"motif_dtype must be 'float32' or 'float16', got {self.motif_dtype!r}")
        if not 0.0 <= self.max_ambiguous_fraction <= 1.0:
            raise ValueError("max_ambiguous_fraction must be in [0, 1]")
        for name in ("region_window_bp", "regions_per_sample", "stride", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if self.region_window_bp < self.kmer:
            raise ValueError(
                f"region_window_bp ({self.region_window_bp}) must be at least kmer ({self.kmer})"
            )


@dataclass
class Corpus:
    """A loaded corpus: ``regions`` and ``samples`` are memory-mapped `datasets.Dataset`s."""

    regions: datasets.Dataset
    samples: datasets.Dataset
    metadata: dict
    path: Path = field(default_factory=Path)

    @property
    def motif_names(self) -> list[str]:
        return list(self.metadata["motifs"]["names"])

    @property
    def motif_mean(self) -> np.ndarray:
        return np.asarray(self.metadata["motifs"]["mean"], dtype=np.float32)

    @property
    def motif_std(self) -> np.ndarray:
        return np.asarray(self.metadata["motifs"]["std"], dtype=np.float32)

    def export_parquet(self, out_dir: str | Path) -> Path:
        """Write ``regions.parquet``, ``samples.parquet`` and ``metadata.json`` (for publishing on the Hub)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.regions.to_parquet(str(out / "regions.parquet"))
        self.samples.to_parquet(str(out / "samples.parquet"))
        atomic_write(out / "metadata.json", _metadata_bytes(self.metadata))
        return out


# --------------------------------------------------------------------------------------------- features
def region_features(n_motifs: int, motif_dtype: str) -> datasets.Features:
    return datasets.Features(
        {
            "region_id": datasets.Value("int64"),
            "chrom": datasets.Value("string"),
            "start": datasets.Value("int64"),
            "end": datasets.Value("int64"),
            "cell_types": datasets.List(datasets.Value("string")),
            "window_start": datasets.Value("int64"),
            "sequence": datasets.Value("string"),
            "ambiguous_fraction": datasets.Value("float32"),
            "usable": datasets.Value("bool"),
            "motif_scores": datasets.List(datasets.Value(motif_dtype), length=n_motifs),
        }
    )


def sample_features(regions_per_sample: int) -> datasets.Features:
    return datasets.Features(
        {
            "sample_id": datasets.Value("int64"),
            "cell_type": datasets.Value("string"),
            "chrom": datasets.Value("string"),
            "region_ids": datasets.List(datasets.Value("int64"), length=regions_per_sample),
        }
    )


# ------------------------------------------------------------------------------------------- planning
def load_corpus(path: str | Path, *, attempts: int = 20) -> Corpus:
    """Open a corpus directory: regions and samples as memory-mapped `datasets.Dataset`s, plus metadata.

    Safe while the corpus is being rebuilt: a rebuild swaps in the new directory in one step, and a load that
    straddled the swap (its ``metadata.json`` changed while the tables were opened) is retried, so the result is
    always one complete version, the old or the new.
    """
    path = Path(path)
    metadata_path = path / "metadata.json"
    for attempt in range(attempts):
        try:
            before = metadata_path.read_bytes()
        except FileNotFoundError:
            if attempt == 0 and not path.exists() and not any(path.parent.glob(f".{path.name}.old-*")):
                raise FileNotFoundError(f"{path} is not a GeneBERT corpus (no metadata.json)") from None
            if attempt == attempts - 1:
                raise FileNotFoundError(f"{path} is not a GeneBERT corpus (no metadata.json)") from None
            time.sleep(0.05)  # between the two renames of a replacement where atomic exchange is unavailable
            continue
        try:
            corpus = _open_tables(path, json.loads(before))
            if metadata_path.read_bytes() == before:
                return corpus
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
        time.sleep(0.05)
    raise RuntimeError(f"{path} kept changing while it was being read ({attempts} attempts)")


def _open_tables(path: Path, metadata: dict) -> Corpus:
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: corpus format {metadata.get('format_version')} (this genebert reads {FORMAT_VERSION})"
        )
    metadata["config"].setdefault("motif_scope", "region")  # corpora from before scopes scored whole regions
    files = [path / "regions" / f"{name}.arrow" for name in metadata["chunks"]]
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(f"{path}: missing region chunk {file.name}")
    parts = [datasets.Dataset.from_file(str(file)) for file in files]
    regions = datasets.concatenate_datasets(parts) if len(parts) != 1 else parts[0]
    samples = datasets.Dataset.from_file(str(path / "samples.arrow"))
    return Corpus(regions=regions, samples=samples, metadata=metadata, path=path)


def corpus_fingerprint(path: str | Path) -> str:
    """sha256 over every file of a corpus (names and bytes), to compare builds."""
    digest = hashlib.sha256()
    root = Path(path)
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _metadata_bytes(metadata: dict) -> bytes:
    return (json.dumps(metadata, indent=1, sort_keys=True) + "\n").encode()
