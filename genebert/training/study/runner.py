"""Running a study: pre-train (or reuse a cached checkpoint), fine-tune or embed, append, report; resumable."""

from __future__ import annotations

import errno
import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...storage import OutputLocationError, claim_output, output_lock, write_output_marker
from .. import finetune as finetune_module
from .. import pretrain as pretrain_module
from .report import RunSummary, _finite, _quiet_threads, read_results, write_json_atomic, write_reports
from .spec import DEMO_CORPORA, Cell, Study, StudyError, corpus_cache_key, stable_hash

logger = logging.getLogger("genebert.study")

# --------------------------------------------------------------------------------------------------- running


def prepare_corpus(corpus: str | Mapping[str, Any], cache_dir: Path, data_root: str | None = None) -> Path:
    """The corpus directory: a demo corpus or a tiled genome is built once into ``cache_dir/corpora`` (seconds to
    minutes), a path is checked."""
    if isinstance(corpus, Mapping):
        from filelock import FileLock

        target = cache_dir / "corpora" / corpus_cache_key(corpus).replace(":", "-") / "corpus"
        target.parent.mkdir(parents=True, exist_ok=True)
        # studies started in parallel (e.g. one per seed) wait for the first one's build instead of failing
        with FileLock(str(target.parent / "build.lock")):
            if not (target / "metadata.json").is_file():
                build_tiled_corpus(corpus, target, data_root)
        return target
    if corpus in DEMO_CORPORA:
        target = cache_dir / "corpora" / corpus / "corpus"
        if (target / "metadata.json").is_file():
            return target
        import warnings

        from genebert.genomics.examples import build_real_corpus, build_synthetic_corpus

        if target.exists():
            shutil.rmtree(target)  # an interrupted build
        target.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if corpus == "demo_real":
                build_real_corpus(target, progress=False)
            else:  # 3 cell types with planted motifs, 800 regions each (240 samples), seed 0
                build_synthetic_corpus(target, 800, 0, progress=False)
        return target
    path = Path(corpus)
    if not (path / "metadata.json").is_file():
        raise StudyError(
            f"corpus {corpus!r} is neither {' nor '.join(DEMO_CORPORA)} nor a corpus directory with metadata.json "
            "(build one with `genebert build-corpus`)"
        )
    return path


def build_tiled_corpus(spec: Mapping[str, Any], target: Path, data_root: str | None = None) -> Path:
    """Build a corpus from a genome alone (``build-corpus --tile``): ``tile_bp``-long tiles of the genome's
    unambiguous blocks as one pseudo cell type, each tile's window the whole tile (so the motif vector, scored over
    the window, covers exactly the DNA the sequence tower reads), the first ``max_regions`` tiles in genome order
    when given (a contiguous stretch). ``genome`` and ``motifs`` are relative to the data root (absolute paths and
    pyjaspar release names work too)."""
    import warnings

    from genebert.genomics.accessibility import Accessibility
    from genebert.genomics.corpus import CorpusConfig, build_corpus
    from genebert.genomics.motifs import load_motifs
    from genebert.genomics.sequences import Genome
    from genebert.genomics.tasks import default_data_root
    from genebert.genomics.tiles import tile_accessibility

    root = Path(data_root) if data_root else default_data_root()
    genome_path = root / str(spec["genome"])
    motifs_path = root / str(spec["motifs"])
    if not genome_path.is_file():
        raise StudyError(
            f"corpus.genome: {genome_path} does not exist (paths are relative to --data-root {root})"
        )
    kmer, tile_bp = int(spec.get("kmer", 6)), int(spec["tile_bp"])
    with Genome(genome_path) as genome:
        accessibility = tile_accessibility(genome, tile_bp, None, min_tile_bp=kmer)
    if spec.get("max_regions"):
        keep = np.arange(min(int(spec["max_regions"]), len(accessibility.regions)), dtype=np.int64)
        accessibility = Accessibility(accessibility.regions.take(keep), accessibility.cell_types, [keep])
    config = CorpusConfig(
        kmer=kmer, region_window_bp=tile_bp, regions_per_sample=int(spec.get("regions_per_sample", 10)),
        motif_dtype=str(spec.get("motif_dtype", "float32")), seed=int(spec.get("seed", 0)),
    )  # fmt: skip
    motifs = load_motifs(str(motifs_path) if motifs_path.exists() else str(spec["motifs"]))
    target.parent.mkdir(parents=True, exist_ok=True)  # an interrupted build resumes (build_corpus)
    logger.info("building the tiled corpus %s (%d regions) into %s", spec, len(accessibility.regions), target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        build_corpus(genome_path, accessibility, motifs, target, config, progress=False)
    return target


def check_tasks(study: Study, data_root: str | None) -> None:
    """Fail before any training when a task's data is missing (e.g. GUE not at the data root)."""
    from genebert.genomics.tasks import TASKS, default_data_root, load_task

    for task in study.tasks:
        if task.type not in ("finetune", "probe"):
            continue
        name = task.args.get("task")
        if name:
            if name not in TASKS:
                raise StudyError(
                    f"task {task.name!r}: unknown built-in task {name!r}; known: {', '.join(TASKS)}"
                )
            root = Path(task.args.get("data_root") or data_root or default_data_root())
            try:
                load_task(name, root)
            except (FileNotFoundError, OSError) as error:
                raise StudyError(
                    f"task {task.name!r} ({name}) needs its data under {root}: {error}. Give the data folder with "
                    "--data-root (or 'data_root' in the study file / $GENEBERT_DATA_ROOT); GUE is described in "
                    "docs/studies/README.md"
                ) from error
        else:
            for key in ("train_file", "validation_file", "test_file"):
                if task.args.get(key) and not Path(task.args[key]).is_file():
                    raise StudyError(f"task {task.name!r}: {key} {task.args[key]} does not exist")


def pretrain_values(args: Mapping[str, Any], corpus_dir: Path, output_dir: Path, seed: int) -> dict[str, Any]:
    """The pre-training arguments of a cell, as ``{field: value}`` for
    :func:`genebert.training.pretrain.arguments_from_values`."""
    defaults = {"save_strategy": "no", "eval_strategy": "no", "disable_tqdm": True, "report_to": "none"}
    values = {**defaults, **args}
    # nested values (region_backbone_kwargs) are JSON text in the argument dataclasses
    values = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in values.items()}
    return {**values, "corpus_dir": str(corpus_dir), "output_dir": str(output_dir), "seed": seed}


def ensure_pretrained(
    cell: Cell,
    corpus_dir: Path,
    cache_dir: Path,
    pretrain_fn: Callable[..., dict],
    summary: RunSummary,
) -> Path | None:
    """The cell's pre-trained checkpoint: from the cache when its hash is there, otherwise trained now (or, for an
    ``init: random`` variant, the untrained model of its arguments, saved)."""
    from filelock import FileLock

    args = cell.pretrain_args()
    if args is None:
        return None
    key = cell.pretrain_hash()
    directory = cache_dir / "checkpoints" / key
    directory.parent.mkdir(parents=True, exist_ok=True)
    # Studies run in parallel share the cache (one `--pretrain-only` process per seed, a full run beside them):
    # one process trains a checkpoint while the others wait for it, then reuse it.
    with FileLock(str(directory.parent / f".{key}.study.lock")):
        return _pretrained_locked(cell, args, key, directory, corpus_dir, pretrain_fn, summary)


_pause = time.sleep  # (a test replaces it, not the `time` module every other caller shares)


def wait_while_written(directory: Path, poll_seconds: float = 30.0) -> None:
    """Return once no process holds ``directory``'s output lock (a pre-training writing it, perhaps started by a
    study run outside this cache's per-checkpoint lock); its folder must not be taken for an interrupted one."""
    while True:
        try:
            with output_lock(directory, what="study pre-training checkpoint"):
                return
        except OutputLocationError as error:
            if error.errno != errno.EBUSY:
                raise
            logger.info("waiting: %s", error)
            _pause(poll_seconds)


def _pretrained_locked(
    cell: Cell,
    args: dict[str, Any],
    key: str,
    directory: Path,
    corpus_dir: Path,
    pretrain_fn: Callable[..., dict],
    summary: RunSummary,
) -> Path:
    marker = directory / "study_pretrain.json"
    if not marker.is_file():
        wait_while_written(directory)
    if marker.is_file():
        summary.reused_checkpoints.append(key)
        return directory
    if directory.exists():
        shutil.rmtree(directory)  # an interrupted pre-training
    values = pretrain_values(args, corpus_dir, directory, cell.seed)
    started = time.perf_counter()
    if cell.variant.init == "random":
        logger.info("random init %s (seed %d) -> %s", cell.variant.name, cell.seed, directory)
        metrics = pretrain_module.save_initial_model(*pretrain_module.arguments_from_values(values))
    else:
        logger.info("pre-training %s (seed %d) -> %s", cell.variant.name, cell.seed, directory)
        metrics = pretrain_fn(*pretrain_module.arguments_from_values(values))
    seconds = time.perf_counter() - started
    for checkpoint in directory.glob("checkpoint-*"):
        shutil.rmtree(checkpoint, ignore_errors=True)
    write_json_atomic(
        marker,
        {
            "hash": key,
            "init": cell.variant.init,
            "args": args,
            "corpus": corpus_cache_key(cell.study.corpus),
            "seed": cell.seed,
            "values": values,
            "seconds": round(seconds, 2),
            "metrics": metrics,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    summary.pretrained.append(key)
    return directory


def finetune_values(
    cell: Cell, checkpoint: Path | None, output_dir: Path, data_root: str | None
) -> dict[str, Any]:
    """The fine-tuning arguments of a cell, as ``{field: value}`` for
    :func:`genebert.training.finetune.arguments_from_values`."""
    # Off unless the study says so: every arm and seed fine-tunes on the same data, never on a data-driven switch
    # (the fine-tuning default is `auto`), and cells run before `auto` existed stay comparable.
    values = {
        "disable_tqdm": True, "report_to": "none", "save_total_limit": 1,
        "reverse_complement_augmentation": "false", **cell.finetune_args(),
    }  # fmt: skip
    if values.get("task") and not values.get("data_root") and data_root:
        values["data_root"] = data_root
    values.update(output_dir=str(output_dir), seed=cell.seed)
    if checkpoint is not None:
        values["model_name_or_path"] = str(checkpoint)
    return values


@dataclass
class EmbeddingResult:
    """Embeddings of held-out corpus samples and their cell types."""

    cls: np.ndarray
    mean: np.ndarray
    cell_types: list[str]


def embed_held_out(
    checkpoint: Path,
    corpus_dir: Path,
    pretrain_args: Mapping[str, Any],
    seed: int,
    max_samples: int | None = None,
    batch_size: int = 16,
) -> EmbeddingResult:
    """Sequence-tower embeddings ([CLS] and mean-pooled last hidden state) of the samples held out of the cell's
    pre-training (the same seeded split as :func:`genebert.training.pretrain.split_samples`), unmasked and with
    their true second segment."""
    import torch

    from genebert import GeneBertForPreTraining, GeneBertTokenizer
    from genebert.data import DataCollatorForGenomeModeling, RegionStore
    from genebert.genomics.corpus import load_corpus
    from genebert.pipelines import pool_hidden_states, special_token_ids

    from ..pretrain import DataArguments, split_samples

    corpus = load_corpus(corpus_dir)
    fraction = float(pretrain_args.get("validation_fraction", DataArguments.validation_fraction))
    _, held_out = split_samples(
        corpus,
        DataArguments(
            corpus_dir=str(corpus_dir),
            validation_fraction=fraction,
            heldout_block_bp=pretrain_args.get("heldout_block_bp"),
        ),
        seed,
    )
    if held_out is None or len(held_out) < 4:
        raise StudyError(
            f"an embeddings task needs at least 4 held-out samples; the corpus {corpus_dir} with validation_fraction "
            f"{fraction} holds out {0 if held_out is None else len(held_out)} (raise validation_fraction)"
        )
    features = list(held_out)[: max_samples or None]
    model = GeneBertForPreTraining.from_pretrained(checkpoint)
    model.eval()
    tokenizer = GeneBertTokenizer(kmer=corpus.metadata["config"]["kmer"])
    collator = DataCollatorForGenomeModeling(
        tokenizer, RegionStore(corpus.regions), np.asarray(corpus.samples["region_ids"]),
        mask_rate=0.0, negative_probability=0.0, seed=seed,
    )  # fmt: skip
    cls_rows, mean_rows = [], []
    special = special_token_ids(tokenizer)
    with torch.no_grad():
        for start in range(0, len(features), batch_size):
            batch = collator(features[start : start + batch_size])
            output = model.bert(
                batch["input_ids"],
                attention_mask=batch["attention_mask"],
                token_type_ids=batch["token_type_ids"],
            )
            hidden, ids, mask = output.last_hidden_state, batch["input_ids"], batch["attention_mask"]
            cls_rows.append(pool_hidden_states(hidden, ids, mask, special, "cls").float().numpy())
            mean_rows.append(pool_hidden_states(hidden, ids, mask, special, "mean").float().numpy())
    return EmbeddingResult(
        np.concatenate(cls_rows), np.concatenate(mean_rows), [str(f["cell_type"]) for f in features]
    )


def run_embeddings_cell(cell: Cell, checkpoint: Path, corpus_dir: Path, output_dir: Path) -> dict[str, Any]:
    """Figure 2 for one cell: held-out embeddings saved to ``embeddings.npz`` and their silhouette scores."""
    from genebert.figures import cluster_separation

    args = cell.pretrain_args() or {}
    result = embed_held_out(checkpoint, corpus_dir, args, cell.seed, cell.task.args.get("max_samples"))
    output_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        output_dir / "embeddings.npz",
        cls=result.cls,
        mean=result.mean,
        cell_types=np.asarray(result.cell_types),
    )
    pooled = result.mean if cell.task.args.get("pooling", "cls") == "mean" else result.cls
    with _quiet_threads():
        primary = cluster_separation(pooled, result.cell_types)
        other = cluster_separation(result.mean if pooled is result.cls else result.cls, result.cell_types)
    counts = {name: result.cell_types.count(name) for name in sorted(set(result.cell_types))}
    return {
        "silhouette": primary if primary is not None else math.nan,
        "silhouette_mean_pool" if pooled is result.cls else "silhouette_cls": other
        if other is not None
        else math.nan,
        "samples": len(result.cell_types),
        "cell_types": counts,
    }


def pretraining_evaluation(cell: Cell, checkpoint: Path, corpus_dir: Path) -> dict[str, Any]:
    """The held-out pre-training metrics of a cell's model (`downstream.pretraining_metrics`), computed once per
    checkpoint and settings and kept beside it (``study_pretrain_eval.json``)."""
    from .downstream import pretraining_metrics

    settings = dict(cell.study.pretrain_evaluation or {})
    path = checkpoint / "study_pretrain_eval.json"
    if path.is_file():
        cached = json.loads(path.read_text())
        if cached.get("settings") == settings:
            return cached
    started = time.perf_counter()
    values = pretrain_values(cell.pretrain_args() or {}, corpus_dir, checkpoint, cell.seed)
    metrics = pretraining_metrics(checkpoint, corpus_dir, values, cell.seed, settings)
    record = {"settings": settings, "metrics": metrics, "seconds": round(time.perf_counter() - started, 2)}
    write_json_atomic(path, record)
    return record


def ensure_references(study: Study, results_path: Path, data_root: str | None) -> None:
    """Fit the study's reference classifiers (`downstream.reference_metrics`) once per task on the splits its cells
    use, into ``results.json``'s ``references`` (recomputed only when the task or the references change)."""
    from .downstream import reference_metrics

    if not study.references:
        return
    for task in study.tasks:
        if task.type not in ("finetune", "probe") or not task.args.get("task"):
            continue
        key = stable_hash({"task": task.args, "references": study.references, "data_root": data_root})
        results = read_results(results_path)
        if results.get("references", {}).get(task.name, {}).get("key") == key:
            continue
        print(f"[study {study.name}] references for {task.name}", flush=True)
        started = time.perf_counter()
        metrics = reference_metrics(task.args, study.references, data_root)
        results = read_results(results_path)
        results.setdefault("references", {})[task.name] = {
            "key": key, "metrics": metrics, "seconds": round(time.perf_counter() - started, 2),
        }  # fmt: skip
        write_json_atomic(results_path, results)


def _record_pretraining(results_path: Path, cell: Cell, checkpoint: Path, corpus_dir: Path) -> None:
    """Add the held-out pre-training metrics of ``cell``'s model to ``results.json`` (``pretraining``) unless they
    are there; a no-op when the study asks for none."""
    if cell.study.pretrain_evaluation is None:
        return
    key = (cell.variant.name, cell.seed, cell.pretrain_hash())
    if key in {
        (r["variant"], r["seed"], r.get("pretrain_hash"))
        for r in read_results(results_path).get("pretraining", [])
    }:
        return
    record = pretraining_evaluation(cell, checkpoint, corpus_dir)
    results = read_results(results_path)
    rows = [
        r
        for r in results.get("pretraining", [])
        if (r["variant"], r["seed"]) != (cell.variant.name, cell.seed)
    ]
    rows.append(
        {"variant": cell.variant.name, "seed": cell.seed, "init": cell.variant.init,
         "pretrain_hash": cell.pretrain_hash(), **record}
    )  # fmt: skip
    results["pretraining"] = rows
    write_json_atomic(results_path, results)


def _cell_row(
    cell: Cell,
    metrics: Mapping[str, Any],
    seconds: float,
    run_dir: Path,
    checkpoint: Path | None,
    pretrain_seconds: float | None,
) -> dict[str, Any]:
    return {
        "cell_id": cell.cell_id,
        "variant": cell.variant.name,
        "x": cell.variant.x,
        "task": cell.task.name,
        "task_type": cell.task.type,
        "seed": cell.seed,
        "pretrain_hash": cell.pretrain_hash(),
        "finetune_hash": cell.finetune_hash(),
        "pretrain_args": cell.pretrain_args(),
        "checkpoint": str(checkpoint) if checkpoint is not None else None,
        "pretrain_seconds": pretrain_seconds,
        "paper": cell.variant.paper,
        "metrics": dict(metrics),
        "seconds": round(seconds, 2),
        "run_dir": str(run_dir),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def finished(row: Mapping[str, Any], cell: Cell) -> bool:
    """Whether ``row`` (from results.json) is ``cell`` run with the same configuration."""
    return (
        row.get("cell_id") == cell.cell_id
        and row.get("pretrain_hash") == cell.pretrain_hash()
        and row.get("finetune_hash") == cell.finetune_hash()
    )


def run_study(
    study: Study,
    out: str | Path,
    cache_dir: str | Path | None = None,
    data_root: str | None = None,
    command: str | None = None,
    pretrain_fn: Callable[..., dict] | None = None,
    finetune_fn: Callable[..., dict] | None = None,
    overwrite: bool = False,
    pretrain_only: bool = False,
) -> RunSummary:
    """Run every unfinished cell of ``study``, appending each to ``out/results.json``, then write the reports.

    Args:
        out: the study's output folder (``results.json``, ``results.md``, PNGs, ``runs/``).
        cache_dir: pre-training checkpoints by configuration hash (``checkpoints/<hash>``) and built demo
            corpora; share it between studies to reuse identical pre-trainings (default ``out/cache``).
        data_root: folder of the built-in tasks' data (default: the study's ``data_root``, then
            ``$GENEBERT_DATA_ROOT`` or ``../shared/data``).
        pretrain_fn, finetune_fn: the training functions, called with the three argument dataclasses (default
            :func:`genebert.training.pretrain.run_pretraining` and
            :func:`genebert.training.finetune.run_finetuning`); tests may wrap them.
        overwrite: write into ``out`` even when it holds files that are not a study's (``--overwrite``); without
            it such a folder is refused (`genebert.storage.claim_output`). A second run into ``out`` while one
            runs fails at once (`genebert.storage.output_lock`).
        pretrain_only: only pre-train (or save the random-init models) into the cache, with their held-out
            metrics, and run no cell: several such runs (``--seeds``, each with its own ``out``) pre-train arms in
            parallel, and the full run then reuses every checkpoint.
    """
    pretrain_fn = pretrain_fn or pretrain_module.run_pretraining
    finetune_fn = finetune_fn or finetune_module.run_finetuning
    out = Path(out)
    cache = Path(cache_dir) if cache_dir is not None else out / "cache"
    data_root = data_root or study.data_root
    claim_output(out, "study", overwrite=overwrite, recognise=lambda path: (path / "results.json").is_file())
    check_tasks(study, data_root)
    with output_lock(out):
        out.mkdir(parents=True, exist_ok=True)
        write_output_marker(out, "study")
        corpus_dir = prepare_corpus(study.corpus, cache, data_root)
        results_path = out / "results.json"
        summary = RunSummary()
        if pretrain_only:
            models = {
                cell.pretrain_hash(): cell for cell in study.cells() if cell.pretrain_args() is not None
            }
            for key, cell in models.items():
                print(f"[study {study.name}] model {cell.variant.name}, seed {cell.seed}: {key}", flush=True)
                checkpoint = ensure_pretrained(cell, corpus_dir, cache, pretrain_fn, summary)
                _record_pretraining(results_path, cell, checkpoint, corpus_dir)
            return summary
        ensure_references(study, results_path, data_root)
        cells = study.cells()
        for index, cell in enumerate(cells, 1):
            results = read_results(results_path)
            if any(finished(row, cell) for row in results["cells"]):
                summary.skipped.append(cell.cell_id)
                continue
            logger.info("cell %d/%d: %s", index, len(cells), cell.cell_id)
            print(f"[study {study.name}] cell {index}/{len(cells)}: {cell.cell_id}", flush=True)
            started = time.perf_counter()
            pretrained_before = len(summary.pretrained)
            checkpoint = ensure_pretrained(cell, corpus_dir, cache, pretrain_fn, summary)
            pretrain_seconds = (
                time.perf_counter() - started if len(summary.pretrained) > pretrained_before else None
            )
            if checkpoint is not None:
                _record_pretraining(results_path, cell, checkpoint, corpus_dir)
            run_dir = out / "runs" / f"{stable_hash(cell.cell_id, 8)}_{_slug(cell.cell_id)}"
            if run_dir.exists():
                shutil.rmtree(run_dir)
            if cell.task.type == "finetune":
                values = finetune_values(cell, checkpoint, run_dir, data_root)
                metrics = dict(finetune_fn(*finetune_module.arguments_from_values(values)))
                if not study.keep_finetuned_models:
                    _drop_weights(run_dir)
            elif cell.task.type == "probe":
                from .downstream import run_probe_cell

                metrics = run_probe_cell(checkpoint, cell.task.args, data_root, cell.seed, run_dir)
            else:
                metrics = run_embeddings_cell(cell, checkpoint, corpus_dir, run_dir)
            row = _cell_row(
                cell, metrics, time.perf_counter() - started, run_dir, checkpoint, pretrain_seconds
            )
            results = read_results(results_path)  # append to what is on disk now
            results["cells"] = [r for r in results["cells"] if r.get("cell_id") != cell.cell_id] + [row]
            write_json_atomic(results_path, results)
            summary.ran.append(cell.cell_id)
            shown = {
                m: round(v, 4) for m, v in metrics.items() if m in study.metrics and _finite(v) is not None
            }
            print(f"[study {study.name}] done {cell.cell_id} in {row['seconds']:.0f} s: {shown}", flush=True)
        for (
            cell
        ) in study.cells():  # models whose cells were all done before the study asked for these metrics
            directory = cache / "checkpoints" / str(cell.pretrain_hash())
            if cell.pretrain_args() is not None and (directory / "study_pretrain.json").is_file():
                _record_pretraining(results_path, cell, directory, corpus_dir)
        reports = write_reports(study, out, cache, command)
        summary.results_path, summary.markdown_path, summary.figures = (
            reports.results_path, reports.markdown_path, reports.figures,
        )  # fmt: skip
        return summary


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in text)[:80]


def _drop_weights(run_dir: Path) -> None:
    """Remove fine-tuned weights and checkpoints (the metrics and predictions stay): a study keeps its numbers."""
    for checkpoint in run_dir.glob("checkpoint-*"):
        shutil.rmtree(checkpoint, ignore_errors=True)
    for pattern in ("*.safetensors", "*.bin", "training_args.bin"):
        for file in run_dir.glob(pattern):
            file.unlink(missing_ok=True)
