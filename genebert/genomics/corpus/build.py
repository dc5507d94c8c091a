"""Building a corpus: chunks of regions scanned in parallel, resumable, assembled atomically; shards merged."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import resource
import shutil
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm.auto import tqdm

from ...errors import InputFileError, UsageError
from ...storage import (
    atomic_output,
    atomic_write,
    claim_output,
    ensure_writable_directory,
    output_lock,
    replace_directory,
    write_output_marker,
)
from ..accessibility import Accessibility
from ..intervals import RegionTable
from ..motifs import MotifSet, scan_max
from ..sequences import Genome
from .format import (
    CORPUS_TOOL,
    FORMAT_VERSION,
    CorpusConfig,
    _metadata_bytes,
    file_record,
    is_corpus_directory,
    region_features,
)
from .samples import check_samples_possible, make_samples

logger = logging.getLogger(__name__)

SHARD_TOOL = "build-corpus --shard"


@dataclass(frozen=True)
class Chunk:
    """A block of consecutive regions of one chromosome: the unit of work and of resumption."""

    index: int
    chrom: str
    begin: int  # first region id
    end: int  # one past the last region id

    @property
    def name(self) -> str:
        return f"regions-{self.index:05d}"


@dataclass
class CorpusSummary:
    regions: int
    motifs: int
    out_dir: str
    usable_regions: int = -1  # a shard's are not known until the corpus is assembled
    samples_per_cell_type: dict[str, int] = field(default_factory=dict)
    skipped_cell_types: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_memory_mib: float = 0.0
    chunks_reused: int = 0

    def finished(self, started: float, chunks_reused: int = 0) -> CorpusSummary:
        """With the time since ``started`` (``time.perf_counter``), the peak memory and the reused chunks."""
        self.seconds, self.peak_memory_mib = time.perf_counter() - started, _peak_memory_mib()
        self.chunks_reused = chunks_reused
        return self

    def format(self) -> str:
        lines = [
            f"corpus: {self.out_dir}",
            f"  regions       {self.regions:,} ({self.usable_regions:,} usable)",
            f"  motifs        {self.motifs}",
            f"  samples       {sum(self.samples_per_cell_type.values()):,}",
        ]
        lines += [f"    {name:<20} {count:,}" for name, count in self.samples_per_cell_type.items()]
        if self.skipped_cell_types:
            lines.append(f"  skipped cell types (too few regions): {', '.join(self.skipped_cell_types)}")
        lines.append(
            f"  time          {self.seconds:.1f} s ({self.regions / max(self.seconds, 1e-9):,.0f} regions/s)"
        )
        lines.append(f"  peak memory   {self.peak_memory_mib:,.0f} MiB")
        if self.chunks_reused:
            lines.append(f"  resumed       {self.chunks_reused} finished chunks reused")
        return "\n".join(lines)


def accessibility_fingerprint(accessibility: Accessibility) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(accessibility.regions.chroms).encode())
    for array in (
        accessibility.regions.chrom_codes,
        accessibility.regions.starts,
        accessibility.regions.ends,
    ):
        digest.update(np.ascontiguousarray(array).tobytes())
    for name, members in zip(accessibility.cell_types, accessibility.members, strict=True):
        digest.update(name.encode() + b"\0")
        digest.update(np.ascontiguousarray(members, dtype=np.int64).tobytes())
    return digest.hexdigest()


def plan_chunks(accessibility: Accessibility, chunk_size: int) -> list[Chunk]:
    """Consecutive blocks of at most ``chunk_size`` regions, never spanning two chromosomes."""
    codes = accessibility.regions.chrom_codes
    chunks: list[Chunk] = []
    edges = [0, *(np.flatnonzero(np.diff(codes)) + 1).tolist(), len(codes)] if len(codes) else []
    for begin, end in itertools.pairwise(edges):  # the regions of one chromosome
        chrom = accessibility.regions.chrom_of(begin)
        for block in range(begin, end, chunk_size):
            chunks.append(Chunk(len(chunks), chrom, block, min(block + chunk_size, end)))
    return chunks


def shard_chromosomes(chunks: Sequence[Chunk], chrom_sizes: dict[str, int], shards: int) -> list[list[str]]:
    """Whole chromosomes split into ``shards`` sets balanced by chromosome length (greedy, deterministic)."""
    chroms = sorted({chunk.chrom for chunk in chunks}, key=lambda c: (-chrom_sizes[c], c))
    load = [0] * shards
    assigned: list[list[str]] = [[] for _ in range(shards)]
    for chrom in chroms:
        target = min(range(shards), key=lambda i: (load[i], i))
        assigned[target].append(chrom)
        load[target] += chrom_sizes[chrom]
    return assigned


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0-based I) -> (I, N)."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard takes I/N, e.g. 0/4, got {text!r}") from None
    if not 0 <= index < count:
        raise UsageError(f"--shard {text}: need 0 <= I < N")
    return index, count


# ------------------------------------------------------------------------------------------ chunk work
@dataclass(frozen=True)
class _ChunkJob:
    chunk: Chunk
    chroms: list[str]
    chrom_codes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    cell_types: list[list[str]]


_WORKER: dict = {}


def _init_worker(
    genome_path: str, motifs: MotifSet, config: CorpusConfig, device: str | None, threads: int | None
) -> None:
    if threads is not None:
        try:
            import numba

            numba.set_num_threads(threads)
        except (ImportError, ValueError):  # pragma: no cover - numba missing or fewer cores
            pass
    _WORKER.update(genome=Genome(genome_path), motifs=motifs, config=config, device=device)


def window_bounds(start: int, end: int, window: int, chrom_size: int) -> int:
    """Start of a ``window``-bp window centred on [start, end), shifted to lie inside the chromosome."""
    centre = (start + end) // 2
    window_start = centre - window // 2
    return max(0, min(window_start, chrom_size - window))


def _process_chunk(job: _ChunkJob, work_dir: str) -> tuple[str, int]:
    genome: Genome = _WORKER["genome"]
    motifs: MotifSet = _WORKER["motifs"]
    config: CorpusConfig = _WORKER["config"]
    chrom = job.chunk.chrom
    size = genome.sizes[chrom]
    window = min(config.region_window_bp, size)
    region_sequences, windows, window_starts = [], [], []
    for start, end in zip(job.starts.tolist(), job.ends.tolist(), strict=True):
        window_start = window_bounds(start, end, window, size)
        span_start, span_end = min(start, window_start), max(end, window_start + window)
        span = genome.fetch(chrom, span_start, span_end)
        region = span[start - span_start : end - span_start]
        region_sequences.append(region)
        windows.append(span[window_start - span_start : window_start - span_start + window])
        window_starts.append(window_start)
    # Both views describe the same DNA by default: the motif vector and the usability check cover the window
    # the sequence tower reads ("region" scope: the whole accessible region, as the paper words it).
    scanned = windows if config.motif_scope == "window" else region_sequences
    ambiguous = [genome.ambiguous_fraction(sequence) for sequence in scanned]
    scores = np.asarray(scan_max(scanned, motifs, device=_WORKER["device"]), dtype=np.float64)
    ambiguous_array = np.asarray(ambiguous, dtype=np.float32)
    usable = ambiguous_array <= config.max_ambiguous_fraction
    stored = scores.astype(config.motif_dtype)
    # statistics of the stored values, so the region tower standardises exactly what it will read
    kept = stored[usable].astype(np.float64)
    stats = np.stack([np.full(kept.shape[1], kept.shape[0], dtype=np.float64), kept.sum(0), (kept**2).sum(0)])

    features = region_features(len(motifs), config.motif_dtype)
    n = len(job.starts)
    columns = {
        "region_id": pa.array(np.arange(job.chunk.begin, job.chunk.end, dtype=np.int64)),
        "chrom": pa.array([chrom] * n, type=pa.string()),
        "start": pa.array(job.starts.astype(np.int64)),
        "end": pa.array(job.ends.astype(np.int64)),
        "cell_types": pa.array(job.cell_types, type=pa.list_(pa.string())),
        "window_start": pa.array(np.asarray(window_starts, dtype=np.int64)),
        "sequence": pa.array(windows, type=pa.string()),
        "ambiguous_fraction": pa.array(ambiguous_array),
        "usable": pa.array(usable),
        "motif_scores": pa.FixedSizeListArray.from_arrays(pa.array(stored.reshape(-1)), len(motifs)),
    }
    table = pa.Table.from_pydict(columns, schema=features.arrow_schema)
    base = Path(work_dir) / job.chunk.name
    atomic_write(base.with_suffix(".stats.npy"), _npy_bytes(stats))
    _write_arrow_atomic(base.with_suffix(".arrow"), table)
    return job.chunk.name, n


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _write_arrow_atomic(path: Path, table: pa.Table) -> None:
    with (
        atomic_output(path) as temporary,
        pa.OSFile(str(temporary), "wb") as sink,
        pa.ipc.new_stream(sink, table.schema) as writer,
    ):
        writer.write_table(table, max_chunksize=max(len(table), 1))


def _chunk_done(work_dir: Path, chunk: Chunk) -> bool:
    base = work_dir / chunk.name
    return base.with_suffix(".arrow").is_file() and base.with_suffix(".stats.npy").is_file()


# ---------------------------------------------------------------------------------------------- build
def _plan_record(
    genome: Genome,
    accessibility: Accessibility,
    motifs: MotifSet,
    config: CorpusConfig,
    chunks: Sequence[Chunk],
) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "config": dataclasses.asdict(config),
        "genome": {"fingerprint": genome.fingerprint(), "file_name": genome.path.name},
        "motifs": {"fingerprint": motifs.fingerprint(), "count": len(motifs), "names": list(motifs.names)},
        "accessibility": {
            "fingerprint": accessibility_fingerprint(accessibility),
            "cell_types": accessibility.cell_types,
            "chroms": accessibility.regions.chroms,
        },
        "chunks": [[chunk.name, chunk.chrom, chunk.begin, chunk.end] for chunk in chunks],
        "regions": len(accessibility.regions),
    }


def estimated_corpus_bytes(n_regions: int, n_motifs: int, config: CorpusConfig) -> int:
    """Disk a build needs: chunk tables (the corpus hard-links them) plus sample table, with 25 % to spare."""
    motif_bytes = 4 if config.motif_dtype == "float32" else 2
    per_region = config.region_window_bp + n_motifs * motif_bytes + 64  # + ids, coordinates, cell-type lists
    return int(n_regions * per_region * 1.25) + (1 << 20)


def _prepare_work_dir(work_dir: Path, plan: dict, overwrite: bool = False) -> int:
    """Create or reuse ``work_dir`` for ``plan``; returns how many finished chunks it already holds."""
    plan_path = work_dir / "plan.json"
    if work_dir.exists():
        previous = json.loads(plan_path.read_text()) if plan_path.is_file() else None
        # a build's work folder starts with plan.json; any other folder there is never deleted
        ours = lambda p: previous is not None or all(c.name[0] == "." for c in p.iterdir())  # noqa: E731
        claim_output(work_dir, "build-corpus (work folder)", overwrite=overwrite, recognise=ours, option="")
        if previous != plan:
            logger.warning("%s holds a build with other inputs or parameters; starting afresh", work_dir)
            shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    for stale in work_dir.glob(".*.tmp-*"):  # a killed writer's leftovers
        stale.unlink()
    if not plan_path.is_file():
        atomic_write(plan_path, json.dumps(plan, indent=1, sort_keys=True).encode())
    return len(list(work_dir.glob("regions-*.arrow")))


def _run_chunks(
    chunks: Sequence[Chunk],
    accessibility: Accessibility,
    work_dir: Path,
    genome_path: Path,
    motifs: MotifSet,
    config: CorpusConfig,
    workers: int,
    device: str | None,
    progress: bool,
) -> None:
    membership = accessibility.membership_matrix()
    names = np.asarray(accessibility.cell_types, dtype=object)
    todo = [chunk for chunk in chunks if not _chunk_done(work_dir, chunk)]
    total = sum(chunk.end - chunk.begin for chunk in chunks)
    done = total - sum(chunk.end - chunk.begin for chunk in todo)
    regions = accessibility.regions

    def jobs() -> Iterator[_ChunkJob]:
        for chunk in todo:
            rows = slice(chunk.begin, chunk.end)
            yield _ChunkJob(
                chunk,
                regions.chroms,
                regions.chrom_codes[rows],
                regions.starts[rows],
                regions.ends[rows],
                [names[row].tolist() for row in membership[rows]],
            )

    bar = tqdm(
        total=total, initial=done, unit="region", desc="scanning regions", disable=not progress, smoothing=0.1
    )
    try:
        if workers <= 1:
            _init_worker(str(genome_path), motifs, config, device, None)
            for job in jobs():
                _, count = _process_chunk(job, str(work_dir))
                bar.update(count)
        else:
            context = multiprocessing.get_context("spawn")  # numba's thread pools are not fork-safe
            threads = max(1, (os.cpu_count() or 1) // workers)
            with ProcessPoolExecutor(
                workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(str(genome_path), motifs, config, device, threads),
            ) as pool:
                pending = set()
                for job in jobs():
                    pending.add(pool.submit(_process_chunk, job, str(work_dir)))
                    if len(pending) >= 2 * workers:  # bounded memory: few chunks in flight
                        finished = next(iter(as_completed(pending)))
                        pending.remove(finished)
                        bar.update(finished.result()[1])
                for finished in as_completed(pending):
                    bar.update(finished.result()[1])
    finally:
        bar.close()


def build_corpus(
    genome_path: str | Path,
    accessibility: Accessibility,
    motifs: MotifSet,
    out_dir: str | Path,
    config: CorpusConfig | None = None,
    *,
    shard: tuple[int, int] | None = None,
    workers: int = 1,
    device: str | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> CorpusSummary:
    """Build a corpus in ``out_dir`` (or, with ``shard=(I, N)``, shard I of N, to be joined by :func:`merge_corpus`).

    Re-running after an interruption resumes from the finished chunks in ``OUT.partial/``; the result is
    byte-identical to an uninterrupted build. ``out_dir`` must be absent, empty or a corpus (a shard folder with
    ``shard``): anything else is refused (`genebert.storage.claim_output`) unless ``overwrite``. A second build
    into the same ``out_dir`` while one runs fails at once (`genebert.storage.output_lock`).

    Raises:
        UsageError: no sample can be made from these regions with this configuration.
        OutputLocationError: ``out_dir`` is not ours to write, is being written, or lacks space.
    """
    started = time.perf_counter()
    config = config or CorpusConfig()
    out = Path(out_dir)
    genome = Genome(genome_path)
    missing = sorted(set(accessibility.regions.chroms) - set(genome.sizes))
    if missing:
        raise ValueError(f"chromosomes of the regions are not in the genome {genome.path}: {missing}")
    check_samples_possible(accessibility, config)
    chunks = plan_chunks(accessibility, config.chunk_size)
    plan = _plan_record(genome, accessibility, motifs, config, chunks)
    if shard is not None:
        claim_output(out, SHARD_TOOL, overwrite=overwrite, recognise=lambda p: (p / "plan.json").is_file())
    else:
        claim_output(out, CORPUS_TOOL, overwrite=overwrite, recognise=is_corpus_directory)
    if shard is not None:
        index, count = shard
        mine = set(shard_chromosomes(chunks, genome.sizes, count)[index])
        chunks_to_run = [chunk for chunk in chunks if chunk.chrom in mine]
        plan = dict(plan, shard={"index": index, "count": count, "chroms": sorted(mine)})
        work_dir = out
    else:
        chunks_to_run = chunks
        work_dir = out.with_name(out.name + ".partial")
    ensure_writable_directory(
        work_dir.parent,
        need_bytes=estimated_corpus_bytes(len(accessibility.regions), len(motifs), config),
        what="corpus output",
    )
    with output_lock(out):
        created = not work_dir.exists()
        reused = _prepare_work_dir(work_dir, plan, overwrite)
        try:
            _run_chunks(
                chunks_to_run, accessibility, work_dir, genome.path, motifs, config, workers, device, progress
            )
        except InputFileError:
            # Bad input met while reading (e.g. an invalid character in the genome): a work directory this call
            # created holds nothing worth resuming, so a failed build leaves nothing behind.
            if created:
                shutil.rmtree(work_dir, ignore_errors=True)
            raise
        if shard is not None:
            write_output_marker(work_dir, SHARD_TOOL)
            atomic_write(
                work_dir / "shard-complete.json",
                json.dumps({"chunks": [c.name for c in chunks_to_run]}).encode(),
            )
            regions = sum(c.end - c.begin for c in chunks_to_run)
            summary = CorpusSummary(regions=regions, motifs=len(motifs), out_dir=str(work_dir))
            return summary.finished(started, reused)
        try:
            summary = _assemble([work_dir], out, plan)
        except UsageError:  # no sample in the scanned regions: nothing worth resuming
            if created:
                shutil.rmtree(work_dir, ignore_errors=True)
            raise
        shutil.rmtree(work_dir)
    return summary.finished(started, reused)


def merge_corpus(
    shard_dirs: Sequence[str | Path], out_dir: str | Path, *, overwrite: bool = False
) -> CorpusSummary:
    """Join the shard directories of a ``shard=(I, N)`` build (every I once) into one corpus.

    The result is byte-identical to a single-machine build from the same inputs and parameters. ``out_dir`` is
    checked and locked as by :func:`build_corpus`.
    """
    started = time.perf_counter()
    if not shard_dirs:
        raise ValueError("no shard directories given")
    claim_output(out_dir, CORPUS_TOOL, overwrite=overwrite, recognise=is_corpus_directory)
    plans = []
    for directory in map(Path, shard_dirs):
        if not (directory / "shard-complete.json").is_file():
            raise ValueError(f"{directory} is not a finished shard (no shard-complete.json)")
        plans.append(json.loads((directory / "plan.json").read_text()))
    base = {key: value for key, value in plans[0].items() if key != "shard"}
    for directory, plan in zip(shard_dirs, plans, strict=True):
        if {key: value for key, value in plan.items() if key != "shard"} != base:
            raise ValueError(f"{directory} was built from other inputs or parameters than {shard_dirs[0]}")
    counts = {plan["shard"]["count"] for plan in plans}
    indices = sorted(plan["shard"]["index"] for plan in plans)
    if len(counts) != 1 or indices != list(range(counts.pop())):
        raise ValueError(f"need every shard 0..N-1 exactly once, got shards {indices}")
    with output_lock(out_dir):
        return _assemble([Path(d) for d in shard_dirs], Path(out_dir), base).finished(started)


def _assemble(work_dirs: Sequence[Path], out: Path, plan: dict) -> CorpusSummary:
    """Join finished chunks (found in ``work_dirs``) into the corpus at ``out``, atomically.

    Everything comes from the plan and the chunk files, so a single build and a merge of shards run the
    same code on the same bytes.
    """
    config = CorpusConfig(**{"motif_scope": "region", **plan["config"]})  # shards from before scopes: region
    chunks = [Chunk(index, chrom, begin, end) for index, (_, chrom, begin, end) in enumerate(plan["chunks"])]
    n_motifs, n_regions = plan["motifs"]["count"], plan["regions"]
    located: dict[str, Path] = {}
    for directory in work_dirs:
        for chunk in chunks:
            if _chunk_done(directory, chunk):
                located.setdefault(chunk.name, directory)
    missing = [chunk.name for chunk in chunks if chunk.name not in located]
    if missing:
        raise ValueError(
            f"chunks missing from {', '.join(map(str, work_dirs))}: {missing[:5]}{' ...' if len(missing) > 5 else ''}"
        )

    stats = np.zeros((3, n_motifs), dtype=np.float64)
    usable = np.zeros(n_regions, dtype=bool)
    chrom_codes = np.zeros(n_regions, dtype=np.int32)
    cell_type_index = {name: i for i, name in enumerate(plan["accessibility"]["cell_types"])}
    chrom_index = {name: i for i, name in enumerate(plan["accessibility"]["chroms"])}
    members: list[list[np.ndarray]] = [[] for _ in cell_type_index]
    for stale in out.parent.glob(f".{out.name}.assembling-*"):  # an assembly killed before its rename
        shutil.rmtree(stale)
    temporary = out.with_name(f".{out.name}.assembling-{os.getpid()}")
    (temporary / "regions").mkdir(parents=True)
    for chunk in chunks:  # in chunk order: float64 sums in a fixed order give identical statistics
        source = located[chunk.name] / chunk.name
        stats += np.load(source.with_suffix(".stats.npy"), allow_pickle=False)
        with pa.memory_map(str(source.with_suffix(".arrow"))) as mapped:
            table = pa.ipc.open_stream(mapped).read_all().select(["usable", "cell_types"])
        usable[chunk.begin : chunk.end] = table.column("usable").to_numpy()
        chrom_codes[chunk.begin : chunk.end] = chrom_index[chunk.chrom]
        for offset, names in enumerate(table.column("cell_types").to_pylist()):
            for name in names:
                members[cell_type_index[name]].append(chunk.begin + offset)
        _link_or_copy(source.with_suffix(".arrow"), temporary / "regions" / f"{chunk.name}.arrow")

    count = stats[0]
    mean = np.divide(stats[1], count, out=np.zeros_like(stats[1]), where=count > 0)
    variance = np.divide(stats[2], count, out=np.zeros_like(stats[2]), where=count > 0) - mean**2
    std = np.sqrt(np.maximum(variance, 0.0))
    std = np.where(std < 1e-6, 1.0, std)  # a constant motif column standardises to 0, not to inf

    region_chroms = RegionTable(
        plan["accessibility"]["chroms"],
        chrom_codes,
        np.zeros(n_regions, np.int64),
        np.zeros(n_regions, np.int64),
    )
    accessibility = Accessibility(
        region_chroms, plan["accessibility"]["cell_types"], [np.asarray(m, dtype=np.int64) for m in members]
    )
    samples, per_cell_type, skipped = make_samples(accessibility, usable, config)
    if samples.num_rows == 0:
        shutil.rmtree(temporary)
        raise UsageError(
            f"the corpus {out} would hold 0 samples: {int(usable.sum())} of {n_regions} regions are usable "
            f"(--max-ambiguous-fraction {config.max_ambiguous_fraction}) and no cell type has "
            f"{config.regions_per_sample} (--regions-per-sample) of them on one chromosome and "
            f"{config.min_regions_per_cell_type} in all"
        )
    _write_arrow_atomic(temporary / "samples.arrow", samples)
    tables = [f"regions/{chunk.name}.arrow" for chunk in chunks] + ["samples.arrow"]
    metadata = {
        **{key: value for key, value in plan.items() if key not in ("chunks", "shard")},
        "chunks": [chunk.name for chunk in chunks],
        "motifs": {
            **plan["motifs"],
            "mean": [float(x) for x in mean],
            "std": [float(x) for x in std],
        },
        "usable_regions": int(usable.sum()),
        "samples_per_cell_type": per_cell_type,
        "skipped_cell_types": skipped,
        "files": {name: file_record(temporary / name) for name in tables},  # checked by load_corpus
    }
    write_output_marker(temporary, CORPUS_TOOL)
    atomic_write(temporary / "metadata.json", _metadata_bytes(metadata))
    replace_directory(temporary, out)
    return CorpusSummary(
        regions=len(accessibility.regions),
        usable_regions=int(usable.sum()),
        samples_per_cell_type=per_cell_type,
        skipped_cell_types=skipped,
        motifs=n_motifs,
        out_dir=str(out),
    )


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link where possible (no second copy of a genome-scale table), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _peak_memory_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0
