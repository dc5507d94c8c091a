"""Hub-ready model and data-set folders, and pushing them."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData, HfApi

from .. import CITATION, PAPER_URL
from ..errors import UsageError
from ..storage import claim_output, replace_directory
from .cards import (
    PIPELINE_CLASS,
    PIPELINE_FILE,
    PIPELINE_TASK,
    REMOTE_CODE_FILES,
    TAGS,
    _first_run_json,
    _task_of,
    build_model_card,
)

# ---------------------------------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------------------------------


def remote_pipeline_source() -> str:
    """:mod:`genebert.pipelines`, copied whole into classifier repositories as ``pipeline_genebert.py``."""
    return (Path(__file__).parent.parent / "pipelines.py").read_text()


def _is_export(path: Path) -> bool:
    """A folder written by `export_for_hub` / `export_dataset`, told by its contents: an exported folder carries no
    marker file, since everything in it is uploaded to the Hub."""
    model = (path / "config.json").is_file() and (path / "modeling_genebert.py").is_file()
    data = (path / "data").is_dir() or (path / "corpus" / "metadata.json").is_file()
    return (path / "README.md").is_file() and (model or data)


def _prepare_target_check(out_dir: str | os.PathLike, overwrite: bool) -> None:
    claim_output(out_dir, "export", overwrite=overwrite, recognise=_is_export, option="the export folder")


@contextmanager
def _staged_target(out_dir: str | os.PathLike, overwrite: bool) -> Iterator[tuple[Path, Path]]:
    """``out_dir`` (absolute) and a fresh temporary folder beside it, to be filled in the block: when the block
    succeeds the folder replaces ``out_dir`` in one rename, when it raises the folder is removed. ``out_dir`` must be
    absent, empty or a previous export (`genebert.storage.claim_output`; a symlink or file is refused), or
    ``overwrite`` given."""
    _prepare_target_check(out_dir, overwrite)
    out = Path(out_dir).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield out, temporary
        os.chmod(temporary, 0o755)
        replace_directory(temporary, out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _raw_corpus_info(training_dir: str | os.PathLike | None) -> dict[str, Any]:
    """``genebert_corpus.json`` of a run (or its latest checkpoint) as written, per-motif arrays included."""
    value = None if training_dir is None else _first_run_json(Path(training_dir), "genebert_corpus.json")
    return value if isinstance(value, dict) else {}


def processor_for(
    model: Any,
    tokenizer: Any,
    motifs: Any,
    training_dir: str | os.PathLike | None = None,
) -> Any:
    """A `GeneBertProcessor` for a pre-training `model`: the tokenizer, and a motif feature extractor with the motif
    set the model was trained on and its corpus statistics.

    Args:
        motifs: a `MotifSet`, or what `load_motifs` takes (``"JASPAR2018"``, a JASPAR / MEME / PFM file). The motifs
            named in the model's config (``motif_names``, the region matrix's columns) are taken from it, in that
            order; their fingerprint must match the corpus's when the run recorded it.
        training_dir: the run directory (its ``genebert_corpus.json`` gives the region window and the fingerprint).

    The standardisation statistics are the model's own (``region_encoder.motif_mean`` / ``motif_std``, set from the
    corpus at training time).
    """
    from ..genomics.corpus import default_region_window_bp
    from ..genomics.motifs import MotifSet, load_motifs
    from ..processing_genebert import GeneBertMotifFeatureExtractor, GeneBertProcessor

    config = model.config
    encoder = getattr(model, "region_encoder", None)
    if encoder is None:
        raise ValueError(f"{type(model).__name__} has no region tower: it needs no motif feature extractor")
    motif_set = motifs if isinstance(motifs, MotifSet) else load_motifs(motifs)
    info = _raw_corpus_info(training_dir)
    names = getattr(config, "motif_names", None) or info.get("motif_names")
    if names:
        try:
            motif_set = motif_set.subset(names)
        except KeyError as error:
            raise ValueError(
                f"these motifs are not the ones the model was trained on: {error.args[0]}"
            ) from None
    if len(motif_set) != config.num_motifs:
        raise ValueError(f"{len(motif_set)} motifs for a model with {config.num_motifs} motif columns")
    expected = info.get("motif_fingerprint")
    if expected and motif_set.fingerprint() != expected:
        raise ValueError(
            "these motifs are not the ones the model was trained on (fingerprint "
            f"{motif_set.fingerprint()[:12]} vs the corpus's {str(expected)[:12]})"
        )
    corpus_config = info.get("config") or {}
    extractor = GeneBertMotifFeatureExtractor.from_motif_set(
        motif_set,
        motif_mean=encoder.motif_mean.tolist(),
        motif_std=encoder.motif_std.tolist(),
        num_regions=config.num_regions,
        region_window_bp=int(
            corpus_config.get("region_window_bp") or default_region_window_bp(config.kmer, config.num_regions)
        ),
        # corpora from before motif scopes scored whole regions
        scope=corpus_config.get("motif_scope", "region" if corpus_config else "window"),
    )
    return GeneBertProcessor(extractor, tokenizer)


def export_for_hub(
    model: Any,
    tokenizer: Any,
    out_dir: str | os.PathLike,
    *,
    overwrite: bool = False,
    motifs: Any = None,
    processor: Any = None,
    **card_fields: Any,
) -> Path:
    """Write a self-contained Hub model repository for `model` and `tokenizer` to `out_dir`.

    Contents: ``config.json`` (``auto_map`` for AutoConfig, AutoModel, AutoModelForPreTraining and
    AutoModelForSequenceClassification; for a sequence classifier also ``custom_pipelines`` for the
    ``dna-classification`` task), ``configuration_genebert.py``, ``modeling_genebert.py``, ``tokenization_genebert.py``,
    ``model.safetensors``, ``tokenizer_config.json`` + ``vocab.txt`` (``auto_map`` for AutoTokenizer), for a classifier
    ``pipeline_genebert.py``, and ``README.md`` (see :func:`build_model_card`; `card_fields` are its keyword arguments).

    The folder is built in a temporary sibling directory and renamed into place, so `out_dir` is never half-written.

    Raises:
        FileExistsError: `out_dir` holds something other than a previous export and `overwrite` is False
            (`genebert.storage.OutputExistsError`, also raised for a symlink or a file at `out_dir`).
        TypeError: an unknown card field.
    """
    if processor is None and motifs is not None:
        processor = processor_for(model, tokenizer, motifs, card_fields.get("training_dir"))
    card = build_model_card(
        model, processor=processor, **card_fields
    )  # unknown fields fail before any writing
    with _staged_target(out_dir, overwrite) as (out, temporary):
        model.save_pretrained(temporary)
        if processor is not None:
            processor.save_pretrained(temporary)  # the tokenizer, the motif feature extractor and their code
        else:
            tokenizer.save_pretrained(temporary)
        package = Path(__file__).parent.parent
        for name in REMOTE_CODE_FILES:
            if not (temporary / name).exists():
                shutil.copyfile(package / name, temporary / name)
        config_path = temporary / "config.json"
        config = json.loads(config_path.read_text())
        _, classifier = _task_of(model)
        if classifier:
            (temporary / PIPELINE_FILE).write_text(remote_pipeline_source())
            config["custom_pipelines"] = {
                PIPELINE_TASK: {
                    "impl": f"{Path(PIPELINE_FILE).stem}.{PIPELINE_CLASS}",
                    "pt": ["AutoModelForSequenceClassification"],
                    "type": "text",
                }
            }
        else:
            config.pop("custom_pipelines", None)
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        card.save(temporary / "README.md")
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------------------------------------------------


def _is_corpus(path: Path) -> bool:
    return (path / "metadata.json").is_file() and (path / "samples.arrow").exists()


def export_dataset(
    source: Any,
    out_dir: str | os.PathLike,
    *,
    pretty_name: str | None = None,
    description: str | None = None,
    license: str = "apache-2.0",
    tags: Sequence[str] = (),
    overwrite: bool = False,
) -> Path:
    """Write a Hub data set repository: parquet files plus a dataset card (``README.md``) whose ``configs`` let
    ``datasets.load_dataset(repo)`` read them.

    Args:
        source: a `datasets.DatasetDict` (one parquet file per split, ``data/{split}.parquet``), a `datasets.Dataset`
            (split ``train``), a path saved by ``save_to_disk``, or a GeneBERT corpus directory (two configurations,
            ``regions`` and ``samples``, plus ``metadata.json``).
        out_dir: the folder to write (replaced atomically; see `overwrite`).
        pretty_name, description, license, tags: card fields.

    Returns:
        `out_dir` as a `Path`.
    """
    import datasets as hf_datasets

    with _staged_target(out_dir, overwrite) as (out, temporary):
        configs: list[dict[str, Any]] = []
        summary: list[str] = []
        if isinstance(source, (str, os.PathLike)) and _is_corpus(Path(source)):
            from ..genomics.corpus import load_corpus

            corpus = load_corpus(source)
            corpus.export_parquet(temporary / "corpus")
            for name, table in (("regions", corpus.regions), ("samples", corpus.samples)):
                configs.append(
                    {
                        "config_name": name,
                        "data_files": [{"split": "train", "path": f"corpus/{name}.parquet"}],
                        # `load_dataset(repo)` without a name reads the regions (DNA + motif scores)
                        **({"default": True} if name == "regions" else {}),
                    }
                )
                summary.append(f"| {name} | train | {table.num_rows:,} | {', '.join(table.column_names)} |")
            kind = "GeneBERT pre-training corpus (accessible regions with DNA and motif scores; samples of 10 regions)"
        else:
            data = source
            if isinstance(data, (str, os.PathLike)):
                data = hf_datasets.load_from_disk(str(data))
            if isinstance(data, hf_datasets.Dataset):
                data = hf_datasets.DatasetDict({"train": data})
            if not isinstance(data, hf_datasets.DatasetDict):
                raise TypeError(
                    f"export_dataset takes a Dataset, a DatasetDict, a save_to_disk folder or a corpus folder, got {type(source).__name__}"
                )
            (temporary / "data").mkdir()
            files = []
            for split, table in data.items():
                table.to_parquet(str(temporary / "data" / f"{split}.parquet"))
                files.append({"split": split, "path": f"data/{split}.parquet"})
                summary.append(
                    f"| default | {split} | {table.num_rows:,} | {', '.join(table.column_names)} |"
                )
            configs.append({"config_name": "default", "data_files": files})
            kind = "DNA sequence data set"
        card_data = DatasetCardData(
            license=license,
            tags=[*TAGS, *tags],
            pretty_name=pretty_name,
            configs=configs,
        )
        title = pretty_name or out.name
        body = [
            f"# {title}",
            "",
            description
            or f"A {kind}, published with `genebert` for GeneBERT ([arXiv 2110.05231]({PAPER_URL})).",
            "",
            "| configuration | split | rows | columns |",
            "|---|---|---|---|",
            *summary,
            "",
            "## Loading",
            "",
            "```python",
            "from datasets import load_dataset",
            "",
            f'data = load_dataset("<user>/{out.name}"{", " + repr(configs[0]["config_name"]) if len(configs) > 1 else ""})',
            "```",
            "",
            "## Citation",
            "",
            "```bibtex",
            CITATION,
            "```",
            "",
        ]
        DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(body)).save(temporary / "README.md")
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Push
# ---------------------------------------------------------------------------------------------------------------------


def push(
    out_dir: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    repo_type: str = "model",
    commit_message: str = "Upload GeneBERT model with genebert",
    endpoint: str | None = None,
) -> str:
    """Create `repo_id` (if needed) and upload the folder `out_dir` to it in one commit.

    Uses ``HfApi.create_repo(exist_ok=True)`` then ``HfApi.upload_folder``. The endpoint is `endpoint`, else
    ``HF_ENDPOINT`` (read by huggingface_hub at import), else https://huggingface.co; the token is `token`, else
    ``HF_TOKEN`` / the cached login.

    Returns:
        The commit URL.

    Raises:
        FileNotFoundError: `out_dir` is not a folder. ValueError: a model folder without ``config.json`` or
        ``README.md`` (export it with :func:`export_for_hub` first).
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a directory")
    required = ("config.json", "README.md") if repo_type == "model" else ("README.md",)
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise ValueError(
            f"{folder} has no {', '.join(missing)}: export it first (genebert export / genebert.hub.export_for_hub)"
        )
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id, folder_path=folder, repo_type=repo_type, commit_message=commit_message
    )
    return str(info.commit_url)


def push_dataset(
    source: Any,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload data set with genebert",
    endpoint: str | None = None,
    **card_fields: Any,
) -> str:
    """Export `source` with :func:`export_dataset` (into a temporary folder) and push it as a dataset repository.

    `source` may also be a folder already written by :func:`export_dataset` (it has a ``README.md``); it is then
    pushed as it is. Returns the commit URL.
    """
    folder = Path(source) if isinstance(source, (str, os.PathLike)) else None
    if folder is not None and (folder / "README.md").is_file() and not _is_corpus(folder):
        return push(folder, repo_id, token=token, private=private, repo_type="dataset",
                    commit_message=commit_message, endpoint=endpoint)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="genebert-dataset-") as scratch:
        card_fields.setdefault("pretty_name", repo_id.split("/")[-1])
        exported = export_dataset(source, Path(scratch) / repo_id.split("/")[-1], **card_fields)
        return push(exported, repo_id, token=token, private=private, repo_type="dataset",
                    commit_message=commit_message, endpoint=endpoint)  # fmt: skip


def _model_class_for(checkpoint: Path) -> Any:
    from .. import modeling_genebert

    architectures = json.loads((checkpoint / "config.json").read_text()).get("architectures") or []
    known = [getattr(modeling_genebert, name) for name in architectures if hasattr(modeling_genebert, name)]
    return known[0] if known else modeling_genebert.GeneBertForPreTraining


def _default_training_dir(checkpoint: Path) -> Path | None:
    markers = ("all_results.json", "trainer_state.json", "training_args.json", "training_args.bin")
    return next((p for p in (checkpoint, checkpoint.parent) if any((p / m).exists() for m in markers)), None)


def export_checkpoint(
    checkpoint: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    training_dir: str | os.PathLike | None = None,
    motifs: Any = None,
    **card: Any,
) -> tuple[Any, Path]:
    """Export a checkpoint folder (a training run's output or one of its ``checkpoint-*``) with
    :func:`export_for_hub`: the model class comes from its ``architectures``, the tokenizer from its files (or
    the model's k), the training run from ``training_dir`` (default: the checkpoint or its parent).

    Returns:
        ``(model, out)``.

    Raises:
        UsageError: the folder holds no ``config.json``.
    """
    from ..tokenization_genebert import GeneBertTokenizer

    checkpoint = Path(checkpoint)
    _prepare_target_check(out_dir, card.get("overwrite", False))  # before loading anything
    if not (checkpoint / "config.json").is_file():
        raise UsageError(f"{checkpoint} is not a model checkpoint (no config.json)")
    model = _model_class_for(checkpoint).from_pretrained(checkpoint)
    if (checkpoint / "vocab.txt").is_file():
        tokenizer = GeneBertTokenizer.from_pretrained(checkpoint)
    else:
        tokenizer = GeneBertTokenizer(kmer=model.config.kmer)
    run = training_dir or _default_training_dir(checkpoint)
    return model, export_for_hub(model, tokenizer, out_dir, training_dir=run, motifs=motifs, **card)
