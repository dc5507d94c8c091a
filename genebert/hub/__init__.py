"""Publishing GeneBERT models and data sets on the Hugging Face Hub.

* :func:`export_for_hub`: a self-contained model repository in a local folder: ``config.json`` (with ``auto_map`` and,
  for classifiers, ``custom_pipelines``), the remote-code files, ``model.safetensors``, the tokenizer files and a
  model card (``README.md``) built with ``huggingface_hub``'s ``ModelCard`` from the model and, when given, the
  training run's output directory. Written atomically (temporary directory + rename).
* :func:`push`: ``create_repo`` + ``upload_folder`` of such a folder (or of any folder).
* :func:`export_dataset` / :func:`push_dataset`: a corpus or a downstream data set as parquet + a dataset card.

Everything read from a training run is JSON; ``training_args.bin`` (a pickle) is never read.
"""

from .cards import (
    PIPELINE_FILE,
    REMOTE_CODE_FILES,
    build_model_card,
    evaluation_metrics,
    read_training_args,
    read_training_run,
)
from .export import (
    export_checkpoint,
    export_dataset,
    export_for_hub,
    processor_for,
    push,
    push_dataset,
    remote_pipeline_source,
)

__all__ = [
    "PIPELINE_FILE", "REMOTE_CODE_FILES", "build_model_card", "evaluation_metrics", "export_checkpoint",
    "export_dataset", "export_for_hub", "processor_for", "push", "push_dataset", "read_training_args", "read_training_run",
    "remote_pipeline_source"
]  # fmt: skip
