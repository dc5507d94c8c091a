"""Training: the Trainer subclass, callbacks and metrics."""

from .trainer import (
    CollatorEpochCallback,
    GeneBertTrainer,
    MaskRateScheduleCallback,
    corpus_info_from,
    pretraining_metric_sums,
)

__all__ = [
    "CollatorEpochCallback",
    "GeneBertTrainer",
    "MaskRateScheduleCallback",
    "corpus_info_from",
    "pretraining_metric_sums",
]
