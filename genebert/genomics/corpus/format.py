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
import pyarrow as pa

from ...errors import InputFileError, UsageError
from ...storage import atomic_write, output_tool
from ..io import DNA_ALPHABET

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MOTIF_SCOPES = ("window", "region")
CORPUS_TOOL = "build-corpus"  # the OUTPUT_MARKER of a corpus (`genebert build-corpus` or `merge-corpus`)
#: What `load_corpus` checks: ``"sizes"`` (always: byte sizes of the tables, and their values) or
#: ``"checksums"`` (also the sha256 of every table, a full read).
VERIFY_LEVELS = ("sizes", "checksums")
_DNA_PATTERN = f"^[{DNA_ALPHABET}{DNA_ALPHABET.lower()}]*$"
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
        # checked first, with the command line's option names: the defaults below divide by them
        if not 3 <= self.kmer <= 6:
            raise UsageError(f"--kmer must be 3, 4, 5 or 6 (the tokenizer's k), got {self.kmer}")
        if self.regions_per_sample < 2 or self.regions_per_sample % 2:
            raise UsageError(
                "--regions-per-sample must be an even number >= 2 (next-segment prediction splits a sample into "
                f"two halves), got {self.regions_per_sample}"
            )
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
            raise UsageError(f"--max-ambiguous-fraction must be in [0, 1], got {self.max_ambiguous_fraction}")
        for name in ("region_window_bp", "stride", "chunk_size", "min_regions_per_cell_type"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.region_window_bp < self.kmer:
            raise UsageError(
                f"--region-window-bp ({self.region_window_bp}) must be at least --kmer ({self.kmer})"
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
def load_corpus(path: str | Path, *, attempts: int = 20, verify: str = "sizes") -> Corpus:
    """Open a corpus directory: regions and samples as memory-mapped `datasets.Dataset`s, plus metadata.

    Safe while the corpus is being rebuilt: a rebuild swaps in the new directory in one step, and a load that
    straddled the swap (its ``metadata.json`` changed while the tables were opened) is retried, so the result is
    always one complete version, the old or the new.

    Integrity: every table's byte size is compared with ``metadata.json`` (``verify="checksums"``: its sha256
    too, a full read), and its values are validated: finite motif scores, sequences of the DNA alphabet with the
    metadata's window length, region ids in order, samples pointing at existing regions. A damaged, truncated or
    unreadable table raises `genebert.errors.InputFileError` naming the file (corpora built before sizes were
    recorded skip the size and checksum checks).
    """
    if verify not in VERIFY_LEVELS:
        raise UsageError(f"verify must be one of {VERIFY_LEVELS}, got {verify!r}")
    path = Path(path)
    metadata_path = path / "metadata.json"
    for attempt in range(attempts):
        try:
            before = metadata_path.read_bytes()
        except FileNotFoundError:
            # a missing folder with no old version beside it is not being replaced: no point in retrying
            absent = attempt == 0 and not path.exists() and not any(path.parent.glob(f".{path.name}.old-*"))
            if absent or attempt == attempts - 1:
                raise FileNotFoundError(f"{path} is not a GeneBERT corpus (no metadata.json)") from None
            time.sleep(0.05)  # between the two renames of a replacement where atomic exchange is unavailable
            continue
        try:
            corpus = _open_tables(path, json.loads(before), verify)
            if metadata_path.read_bytes() == before:
                return corpus
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
        except InputFileError:  # a damaged table, or one of a version swapped in while it was read
            if attempt == attempts - 1 or _read_or_none(metadata_path) == before:
                raise
        time.sleep(0.05)
    raise RuntimeError(f"{path} kept changing while it was being read ({attempts} attempts)")


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _open_tables(path: Path, metadata: dict, verify: str = "sizes") -> Corpus:
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: corpus format {metadata.get('format_version')} (this genebert reads {FORMAT_VERSION})"
        )
    metadata["config"].setdefault("motif_scope", "region")  # corpora from before scopes scored whole regions
    files = [path / "regions" / f"{name}.arrow" for name in metadata["chunks"]]
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(f"{path}: missing region chunk {file.name}")
    records = metadata.get("files", {})
    for file in [*files, path / "samples.arrow"]:
        record = records.get(str(file.relative_to(path)))
        if record is not None:
            _check_file(file, record, verify)
    window = int(metadata["config"]["region_window_bp"])
    parts, begin = [], 0
    for file in files:
        part = _open_arrow(file)
        _check_regions(file, part.data.table, begin, window)
        parts.append(part)
        begin += len(part)
    regions = datasets.concatenate_datasets(parts) if len(parts) != 1 else parts[0]
    samples = _open_arrow(path / "samples.arrow")
    _check_samples(path / "samples.arrow", samples.data.table, len(regions))
    return Corpus(regions=regions, samples=samples, metadata=metadata, path=path)


def file_record(file: Path) -> dict:
    """``{"bytes": size, "sha256": hex}`` of a corpus table, as recorded in ``metadata.json``."""
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": file.stat().st_size, "sha256": digest.hexdigest()}


def _check_file(file: Path, record: dict, verify: str) -> None:
    size = file.stat().st_size
    if size != record["bytes"]:
        raise InputFileError(
            file,
            f"{size:,} bytes, but the corpus metadata records {record['bytes']:,}: the table is truncated or was "
            "replaced; rebuild the corpus",
        )
    if verify == "checksums" and file_record(file)["sha256"] != record["sha256"]:
        raise InputFileError(
            file, "sha256 differs from the corpus metadata: the table is damaged; rebuild the corpus"
        )


def _open_arrow(file: Path) -> datasets.Dataset:
    try:
        return datasets.Dataset.from_file(str(file))
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError, ValueError) as error:
        raise InputFileError(file, f"not a readable Arrow table (truncated or damaged?): {error}") from error


def _check_regions(file: Path, table: pa.Table, begin: int, window: int) -> None:
    """The values of one region table: ids in order, finite scores, DNA of the window length."""
    import pyarrow.compute as pc

    ids = table.column("region_id").to_numpy()
    if not np.array_equal(ids, np.arange(begin, begin + len(ids))):
        raise InputFileError(
            file, f"region ids are not {begin}..{begin + len(ids) - 1} in order: the table is damaged"
        )
    scores = np.asarray(
        table.column("motif_scores").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    )
    finite = np.isfinite(scores)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0]) // max(1, len(scores) // max(1, len(ids)))
        raise InputFileError(
            file,
            f"region {begin + row}: motif score {scores[~finite][0]} is not finite: the table is damaged "
            "(rebuild the corpus)",
        )
    sequences = table.column("sequence")
    bad = pc.invert(pc.match_substring_regex(sequences, _DNA_PATTERN))
    lengths = pc.utf8_length(sequences).to_numpy(zero_copy_only=False)
    short = (lengths != window) & ~((lengths < window) & (table.column("window_start").to_numpy() == 0))
    for name, rows in (("holds a character outside the DNA alphabet", np.flatnonzero(bad.to_numpy(zero_copy_only=False))),
                       (f"is not {window} bp long (the corpus's window)", np.flatnonzero(short))):  # fmt: skip
        if len(rows):
            raise InputFileError(
                file,
                f"region {begin + int(rows[0])}: the sequence {name}: the table is damaged (rebuild the corpus)",
            )


def _check_samples(file: Path, table: pa.Table, n_regions: int) -> None:
    ids = table.column("region_ids").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    if len(ids) and (ids.min() < 0 or ids.max() >= n_regions):
        raise InputFileError(
            file, f"samples point at regions outside 0..{n_regions - 1}: the table is damaged"
        )


def is_corpus_directory(path: Path) -> bool:
    """A corpus folder (a previous output of `genebert build-corpus`, also one written before output markers)."""
    return output_tool(path) == CORPUS_TOOL or (
        (path / "metadata.json").is_file() and (path / "samples.arrow").is_file()
    )


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
