"""Training: the Trainer subclass, callbacks and metrics."""

from .trainer import (
    AtomicCheckpointTrainer,
    CollatorEpochCallback,
    GeneBertTrainer,
    MaskRateScheduleCallback,
    corpus_info_from,
    pretraining_metric_sums,
    resolve_resume_checkpoint,
)

__all__ = [
    "AtomicCheckpointTrainer", "CollatorEpochCallback", "GeneBertTrainer", "MaskRateScheduleCallback",
    "corpus_info_from", "pretraining_metric_sums", "resolve_resume_checkpoint"
]  # fmt: skip
