"""Held-out evaluation of a pre-trained GeneBERT, every metric beside the strongest simple baseline we know.

- MGM accuracy against the *copy-aware* baseline: at a kept or randomly replaced position the input shows a
  k-mer, which it copies; at a ``[MASK]`` it reads the true k-mer off the neighbours with every hidden base
  filled by the corpus's most frequent base (the neighbour-copy baseline, also reported). Chance (1 / 4^k) is
  far too weak a bar.
- NGSP accuracy against 0.5 and a *cell-type oracle*, which knows each sample's cell type and nothing else: it
  calls segment B "next" exactly when B's sample has A's cell type (expected accuracy from the corpus's cell
  types and the negative rate).
- SRM top-1 retrieval (sequence -> its region matrix, and back) in each batch against chance (1 / batch), the
  cell-type oracle (1 / the batch samples of that cell type) and, with a fitted ``composition`` model, a
  composition baseline: a ridge regression from each window's 3-mer counts to its motif vector, retrieving the
  region matrix whose predicted and actual values agree best.
- :func:`motif_view_probes`: the second view judged per region. A linear probe from the sequence tower's
  per-region embedding (the mean of that region's tokens) to its standardised motif vector, held-out R^2 and
  region-level retrieval over the whole held-out set, beside the 3-mer ridge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .baselines import composition_ridge


def _cosine_top1(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Share of rows whose best-matching row of ``actual`` (cosine of centred rows) is their own."""
    a = predicted - predicted.mean(axis=1, keepdims=True)
    b = actual - actual.mean(axis=1, keepdims=True)
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float((np.argmax(a @ b.T, axis=1) == np.arange(len(a))).mean())


def _r2(predicted: np.ndarray, actual: np.ndarray) -> float:
    residual = ((actual - predicted) ** 2).sum()
    total = ((actual - actual.mean(axis=0)) ** 2).sum()
    return float(1 - residual / total) if total > 0 else float("nan")


def fit_composition(collator, train_features: Sequence[dict], max_regions: int = 20_000, seed: int = 0):
    """The composition baseline, fitted on the regions of ``train_features``: ``predict(region_ids)`` gives the
    standardised motif vectors a 3-mer ridge expects for those regions' windows."""
    store, (mean, std) = collator.store, _statistics_cached(collator)
    ids = np.unique(np.concatenate([np.asarray(f["region_ids"]) for f in train_features]))
    if len(ids) > max_regions:
        ids = np.sort(np.random.default_rng(seed).choice(ids, max_regions, replace=False))
    predict = composition_ridge([store.sequences[i] for i in ids], (store.motif_scores(ids) - mean) / std)
    return lambda region_ids: predict([store.sequences[int(i)] for i in region_ids])


def _statistics(collator) -> tuple[np.ndarray, np.ndarray]:
    scores = collator.store.motif_scores(np.arange(len(collator.store)))
    return scores.mean(axis=0), np.maximum(scores.std(axis=0), 1e-6)


@torch.no_grad()
def evaluate_pretraining(
    model,
    collator,
    features: Sequence[dict],
    batch_size: int = 32,
    *,
    corpus_cell_types: Sequence[str] | None = None,
    composition: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, float]:
    """Evaluate ``model`` on ``features`` (held-out corpus samples) in fixed batches.

    Args:
        corpus_cell_types: the cell type of every corpus sample, in the collator's sample order (the pool NGSP
            negatives are drawn from); gives the NGSP cell-type oracle.
        composition: from :func:`fit_composition`; gives the SRM composition baseline.

    The collator is used with its current mask rate; its baseline output is switched on for the call.
    Returns accuracies and their baselines, with the counts they are computed over.
    """
    model.eval()
    device = next(model.parameters()).device
    previous = collator.return_baseline, collator.return_region_ids
    collator.return_baseline = collator.return_region_ids = True
    mask_id = collator.tokenizer.mask_token_id
    keys = ("mgm_correct", "neighbour", "copy_aware", "masked", "ngsp_correct", "samples", "seq2region",
            "region2seq", "oracle", "composition", "regions", "region_batches")  # fmt: skip
    totals = dict.fromkeys(keys, 0.0)
    region_level = getattr(model.config, "srm_level", "sample") == "region"
    srm_samples = srm_batches = 0
    try:
        for start in range(0, len(features), batch_size):
            chunk = list(features[start : start + batch_size])
            batch = collator(chunk)
            neighbour = batch.pop("mgm_baseline_ids")
            region_ids = batch.pop("region_ids").numpy()
            outputs = model(**{key: value.to(device) for key, value in batch.items()})
            labels, inputs = batch["labels"], batch["input_ids"]
            masked = labels != -100
            copy_aware = torch.where(inputs != mask_id, inputs, neighbour)
            if outputs.masked_prediction_logits is not None:
                predicted = outputs.masked_prediction_logits.argmax(-1).cpu()
                totals["mgm_correct"] += float((predicted == labels[masked]).sum())
            totals["neighbour"] += float((neighbour[masked] == labels[masked]).sum())
            totals["copy_aware"] += float((copy_aware[masked] == labels[masked]).sum())
            totals["masked"] += float(masked.sum())
            size = len(labels)
            totals["samples"] += size
            if outputs.ngsp_logits is not None:
                totals["ngsp_correct"] += float(
                    (outputs.ngsp_logits.argmax(-1).cpu() == batch["next_segment_label"]).sum()
                )
            if outputs.logits_per_sequence is not None and region_level:
                # region-level SRM (an option beyond the paper): retrieval among all regions of the batch
                rows = outputs.logits_per_sequence.shape[0]
                targets = torch.arange(rows)
                totals["seq2region"] += float((outputs.logits_per_sequence.argmax(-1).cpu() == targets).sum())
                totals["region2seq"] += float((outputs.logits_per_region.argmax(-1).cpu() == targets).sum())
                totals["regions"], totals["region_batches"] = (
                    totals["regions"] + rows,
                    totals["region_batches"] + 1,
                )
            elif outputs.logits_per_sequence is not None and size > 1:
                targets = torch.arange(size)
                totals["seq2region"] += float((outputs.logits_per_sequence.argmax(-1).cpu() == targets).sum())
                totals["region2seq"] += float((outputs.logits_per_region.argmax(-1).cpu() == targets).sum())
                counts = Counter(str(f["cell_type"]) for f in chunk)
                totals["oracle"] += sum(1 / counts[str(f["cell_type"])] for f in chunk)
                if composition is not None:
                    mean, std = _statistics_cached(collator)
                    actual = ((batch["region_matrix"].numpy() - mean) / std).reshape(size, -1)
                    guess = composition(region_ids.reshape(-1)).reshape(size, -1)
                    totals["composition"] += _cosine_top1(guess, actual) * size
                srm_samples += size
                srm_batches += 1  # a random guess hits 1/size of the batch's samples: size * (1/size) = 1
    finally:
        collator.return_baseline, collator.return_region_ids = previous
    result = {
        "samples": int(totals["samples"]),
        "masked_tokens": int(totals["masked"]),
        "batch_size": batch_size,
    }
    if totals["masked"]:
        result["mgm_accuracy"] = totals["mgm_correct"] / totals["masked"]
        result["mgm_copy_aware_accuracy"] = totals["copy_aware"] / totals["masked"]
        result["mgm_neighbour_copy_accuracy"] = totals["neighbour"] / totals["masked"]
    if totals["samples"]:
        result["ngsp_accuracy"] = totals["ngsp_correct"] / totals["samples"]
        result["ngsp_chance"] = 0.5
        if corpus_cell_types is not None:
            result["ngsp_cell_type_oracle"] = _ngsp_oracle(features, corpus_cell_types, collator)
    if totals["regions"]:
        result["srm_region_top1_seq2region"] = totals["seq2region"] / totals["regions"]
        result["srm_region_top1_region2seq"] = totals["region2seq"] / totals["regions"]
        result["srm_region_chance"] = totals["region_batches"] / totals["regions"]
    if srm_samples:
        result["srm_top1_seq2region"] = totals["seq2region"] / srm_samples
        result["srm_top1_region2seq"] = totals["region2seq"] / srm_samples
        result["srm_chance"] = srm_batches / srm_samples
        result["srm_cell_type_oracle"] = totals["oracle"] / srm_samples
        if composition is not None:
            result["srm_composition_top1"] = totals["composition"] / srm_samples
    return {key: (round(value, 6) if isinstance(value, float) else value) for key, value in result.items()}


_STATISTICS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _statistics_cached(collator) -> tuple[np.ndarray, np.ndarray]:
    key = id(collator.store)
    if key not in _STATISTICS:
        _STATISTICS[key] = _statistics(collator)
    return _STATISTICS[key]


def _ngsp_oracle(features: Sequence[dict], corpus_cell_types: Sequence[str], collator) -> float:
    """Expected accuracy of the oracle that says "next" exactly when segment B's sample shares A's cell type:
    right on every true next segment, and on a negative unless its (uniformly drawn other) sample shares it."""
    counts, total = Counter(map(str, corpus_cell_types)), len(corpus_cell_types)
    q = collator.negative_probability
    same = [(counts[str(f["cell_type"])] - 1) / max(total - 1, 1) for f in features]
    return float(np.mean([(1 - q) + q * (1 - p) for p in same]))


@torch.no_grad()
def region_embeddings(
    model, collator, features: Sequence[dict], batch_size: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """``(region_ids, embeddings)``: every region of ``features`` (unmasked, true segment B) embedded by the
    sequence tower as the mean final state of that region's own tokens."""
    from genebert.modeling_genebert import pool_regions

    model.eval()
    device = next(model.parameters()).device
    saved = collator.mask_rate, collator.negative_probability, collator.return_region_ids
    saved_index = collator.return_region_token_index
    collator.mask_rate, collator.negative_probability, collator.return_region_ids = 0.0, 0.0, True
    collator.return_region_token_index = True
    ids, vectors = [], []
    try:
        for start in range(0, len(features), batch_size):
            batch = collator(list(features[start : start + batch_size]))
            region_ids = batch.pop("region_ids").numpy()
            states = model.base_model(
                batch["input_ids"].to(device),
                attention_mask=batch["attention_mask"].to(device),
                token_type_ids=batch["token_type_ids"].to(device),
            ).last_hidden_state.float()
            # the collator says which tokens are each region's, as it does for region-level SRM
            pooled, _ = pool_regions(states, batch["region_token_index"].to(device), region_ids.shape[1])
            ids.extend(int(region) for region in region_ids.reshape(-1))
            vectors.extend(pooled.reshape(-1, pooled.shape[-1]).cpu().numpy())
    finally:
        collator.mask_rate, collator.negative_probability, collator.return_region_ids = saved
        collator.return_region_token_index = saved_index
    ids_array = np.asarray(ids)
    _, first = np.unique(ids_array, return_index=True)  # a region of several samples counts once
    return ids_array[np.sort(first)], np.stack(vectors)[np.sort(first)]


def motif_view_probes(
    model, collator, train_features: Sequence[dict], heldout_features: Sequence[dict], max_regions: int = 6000,
    alpha: float = 10.0, seed: int = 0,
) -> dict[str, float]:  # fmt: skip
    """What the sequence tower knows of the motif view, per region, beside what composition alone predicts.

    A ridge probe from per-region embeddings (:func:`region_embeddings`) of training samples to standardised
    motif vectors, scored on held-out regions: R^2 and region-level top-1 retrieval among (up to
    ``max_regions``) held-out regions; the same for the 3-mer composition ridge fitted on the same regions.
    """
    from sklearn.linear_model import Ridge

    mean, std = _statistics_cached(collator)
    train_ids, train_x = region_embeddings(model, collator, train_features)
    held_ids, held_x = region_embeddings(model, collator, heldout_features)
    keep = ~np.isin(held_ids, train_ids)  # held-out means held out
    held_ids, held_x = held_ids[keep], held_x[keep]
    if len(held_ids) > max_regions:
        chosen = np.sort(np.random.default_rng(seed).choice(len(held_ids), max_regions, replace=False))
        held_ids, held_x = held_ids[chosen], held_x[chosen]
    target = lambda ids: (collator.store.motif_scores(ids) - mean) / std  # noqa: E731
    probe = Ridge(alpha=alpha).fit(train_x, target(train_ids))
    actual = target(held_ids)
    model_guess = probe.predict(held_x)
    store = collator.store
    composition = composition_ridge([store.sequences[i] for i in train_ids], target(train_ids))
    composition_guess = composition([store.sequences[i] for i in held_ids])
    return {
        "regions_train": len(train_ids),
        "regions_heldout": len(held_ids),
        "probe_r2": round(_r2(model_guess, actual), 6),
        "composition_r2": round(_r2(composition_guess, actual), 6),
        "probe_region_top1": round(_cosine_top1(model_guess, actual), 6),
        "composition_region_top1": round(_cosine_top1(composition_guess, actual), 6),
        "region_chance": round(1 / max(len(held_ids), 1), 6),
    }


__all__ = ["evaluate_pretraining", "fit_composition", "motif_view_probes", "region_embeddings"]
