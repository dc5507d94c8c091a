"""Files in, files out: score or embed every record of a FASTA file (``genebert predict`` / ``genebert embed``).

The model-side work is :class:`genebert.pipelines.DnaClassificationPipeline` and :func:`genebert.pipelines.embed`;
this module reads the FASTA (validated, errors naming the line) and writes the outputs atomically.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UsageError
from .genomics.sequences import read_fasta
from .storage import atomic_output, atomic_write

EMBEDDING_SUFFIXES = (".npy", ".parquet")


def _load(model_path: str, model_class: Any, trust_remote_code: bool) -> tuple[Any, Any]:
    from transformers import AutoTokenizer

    from . import register_auto_classes

    register_auto_classes()
    model, info = model_class.from_pretrained(
        model_path, trust_remote_code=trust_remote_code, output_loading_info=True
    )
    missing = sorted(info.get("missing_keys", ()))
    if any(key.startswith("classifier.") for key in missing):
        # a random head would give scores that look valid and differ on every run
        raise UsageError(
            f"{model_path} has no trained classifier (no classifier weights in its checkpoint): it is a "
            "pre-training checkpoint. Fine-tune it first (genebert finetune --model_name_or_path ...), or use "
            "`genebert embed` for its sequence embeddings"
        )
    untrained = [key for key in missing if not key.startswith(("pooler.", "bert.pooler."))]
    if untrained:
        raise UsageError(
            f"{model_path} lacks {len(untrained)} encoder weight(s), e.g. {untrained[:3]}: its embeddings would "
            "come from random weights"
        )
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=trust_remote_code)
    model.eval()
    return model, tokenizer


def _check_output_file(out: Path, *names: Path) -> None:
    """Refuse, before any work, an output that is (or would replace) a folder."""
    for path in (out, *names):
        if path.is_dir():
            raise UsageError(f"--out {out}: {path} is a folder; give a file name")


def predict_fasta(
    model_path: str,
    fasta: str | os.PathLike,
    out: str | os.PathLike,
    *,
    batch_size: int = 16,
    device: Any = None,
    trust_remote_code: bool = False,
    progress: bool = True,
    **pipeline_options: Any,
) -> int:
    """Score every record of ``fasta`` with a sequence classifier and write a TSV (id, length, num_windows,
    label, score, one ``score_<label>`` column per class). ``pipeline_options`` go to the pipeline
    (``window_size``, ``stride``, ``reverse_complement``, ``aggregation``, ``aggregation_space``).

    Returns:
        The number of records scored.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModelForSequenceClassification

    from .pipelines import TASK, DnaClassificationPipeline

    out = Path(out)
    _check_output_file(out)
    records = list(read_fasta(fasta))
    model, tokenizer = _load(model_path, AutoModelForSequenceClassification, trust_remote_code)
    if device is None:
        device = 0 if torch.cuda.is_available() else -1
    classifier = DnaClassificationPipeline(
        model=model, tokenizer=tokenizer, task=TASK, device=device, **pipeline_options
    )
    labels = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(
            ["id", "length", "num_windows", "label", "score", *(f"score_{label}" for label in labels)]
        )
        results = classifier((record.sequence for record in records), batch_size=batch_size)
        bar = tqdm(zip(records, results, strict=True), total=len(records), unit="seq", disable=not progress)
        for record, result in bar:
            row = [record.name, len(record.sequence), result["num_windows"], result["label"]]
            row += [f"{result['score']:.6g}", *(f"{result['scores'][label]:.6g}" for label in labels)]
            writer.writerow(row)
    return len(records)


def embed_fasta(
    model_path: str,
    fasta: str | os.PathLike,
    out: str | os.PathLike,
    *,
    pooling: str = "cls",
    batch_size: int = 32,
    window_size: int | None = None,
    stride: int | None = None,
    trust_remote_code: bool = False,
    progress: bool = True,
) -> np.ndarray:
    """Embed every record of ``fasta`` (see :func:`genebert.pipelines.embed`) and write ``NAME.npy`` (with the
    record ids in ``NAME.ids.txt``) or ``NAME.parquet`` (columns id, embedding).

    Returns:
        The ``(n, hidden_size)`` float32 embeddings.

    Raises:
        UsageError: ``out`` does not end in ``.npy`` or ``.parquet``.
    """
    from tqdm.auto import tqdm
    from transformers import AutoModel

    from .pipelines import embed

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in EMBEDDING_SUFFIXES:
        raise UsageError(f"--out must end in .npy or .parquet, got {out}")
    _check_output_file(out, *([out.with_suffix(".ids.txt")] if suffix == ".npy" else []))
    records = list(read_fasta(fasta))
    model, tokenizer = _load(model_path, AutoModel, trust_remote_code)
    with tqdm(unit="window", disable=not progress, desc="embedding") as bar:
        vectors = embed(
            [record.sequence for record in records],
            model,
            tokenizer,
            pooling=pooling,
            batch_size=batch_size,
            window_size=window_size,
            stride=stride,
            progress=bar.update,
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as temporary:
        if suffix == ".npy":
            with open(temporary, "wb") as handle:
                np.save(handle, vectors)
            atomic_write(out.with_suffix(".ids.txt"), "".join(record.name + "\n" for record in records))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            embedding = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
            pq.write_table(pa.table({"id": [r.name for r in records], "embedding": embedding}), temporary)
    return vectors


__all__ = ["embed_fasta", "predict_fasta"]
