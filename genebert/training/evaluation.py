"""Held-out evaluation of a pre-trained GeneBERT against honest baselines.

- MGM accuracy against the *neighbour-copy* baseline: most of a masked k-mer is visible in its neighbours, so
  the baseline reads the true k-mer with every hidden base filled by the corpus's most frequent base. Chance
  (1 / 4^k) would be far too weak a bar.
- SRM top-1 retrieval (sequence -> its region matrix, and back) against chance, 1 / batch size.
- NGSP accuracy against 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


@torch.no_grad()
def evaluate_pretraining(model, collator, features: Sequence[dict], batch_size: int = 32) -> dict[str, float]:
    """Evaluate ``model`` on ``features`` (corpus samples) in fixed batches.

    The collator is used with its current mask rate; its baseline output is switched on for the call.
    Returns accuracies and their baselines, with the counts they are computed over.
    """
    model.eval()
    device = next(model.parameters()).device
    previous = collator.return_baseline
    collator.return_baseline = True
    totals = dict.fromkeys(
        ("mgm_correct", "baseline_correct", "masked", "ngsp_correct", "samples", "seq2region", "region2seq"),
        0.0,
    )
    srm_samples = srm_batches = 0
    try:
        for start in range(0, len(features), batch_size):
            batch = collator(list(features[start : start + batch_size]))
            baseline = batch.pop("mgm_baseline_ids")
            batch.pop("region_ids", None)
            inputs = {key: value.to(device) for key, value in batch.items()}
            outputs = model(**inputs)
            labels = batch["labels"]
            masked = labels != -100
            if outputs.masked_prediction_logits is not None:
                predicted = outputs.masked_prediction_logits.argmax(-1).cpu()
                totals["mgm_correct"] += float((predicted == labels[masked]).sum())
            totals["baseline_correct"] += float((baseline[masked] == labels[masked]).sum())
            totals["masked"] += float(masked.sum())
            size = len(labels)
            totals["samples"] += size
            if outputs.ngsp_logits is not None:
                totals["ngsp_correct"] += float(
                    (outputs.ngsp_logits.argmax(-1).cpu() == batch["next_segment_label"]).sum()
                )
            if outputs.logits_per_sequence is not None and size > 1:
                targets = torch.arange(size)
                totals["seq2region"] += float((outputs.logits_per_sequence.argmax(-1).cpu() == targets).sum())
                totals["region2seq"] += float((outputs.logits_per_region.argmax(-1).cpu() == targets).sum())
                srm_samples += size
                srm_batches += 1  # a random guess hits 1/size of the batch's samples: size * (1/size) = 1
    finally:
        collator.return_baseline = previous
    result = {
        "samples": int(totals["samples"]),
        "masked_tokens": int(totals["masked"]),
        "batch_size": batch_size,
    }
    if totals["masked"]:
        result["mgm_accuracy"] = totals["mgm_correct"] / totals["masked"]
        result["mgm_neighbour_copy_accuracy"] = totals["baseline_correct"] / totals["masked"]
    if totals["samples"]:
        result["ngsp_accuracy"] = totals["ngsp_correct"] / totals["samples"]
        result["ngsp_chance"] = 0.5
    if srm_samples:
        result["srm_top1_seq2region"] = totals["seq2region"] / srm_samples
        result["srm_top1_region2seq"] = totals["region2seq"] / srm_samples
        result["srm_chance"] = srm_batches / srm_samples
    return {key: (round(value, 6) if isinstance(value, float) else value) for key, value in result.items()}
