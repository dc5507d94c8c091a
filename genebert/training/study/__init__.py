"""Experiment studies: the paper's section 5 (Tables 5, 7, 8 and Figure 2) as grids of runs that resume.

A *study* is a YAML file (``run_scripts/studies/*.yaml``; runner ``run_scripts/run_study.py`` or ``genebert
study``) describing a grid of pre-training configurations crossed with downstream tasks and seeds. Each *cell*
(variant x task x seed)

1. pre-trains with :func:`genebert.training.pretrain.run_pretraining`, or reuses a cached checkpoint whose configuration hash
   (:func:`pretrain_hash`) matches; a variant without ``pretrain`` (``pretrain: null``) is the paper's "no
   pre-training" row: the downstream model starts from random weights;
2. fine-tunes with :func:`genebert.training.finetune.run_finetuning` and evaluates on the test split with the paper's metrics
   (:func:`genebert.training.metrics.classification_metrics`), or, for an ``embeddings`` task (Figure 2), embeds
   held-out pre-training samples and scores how well cell types cluster (silhouette);
3. is appended atomically to ``results.json`` (temporary file + ``os.replace``).

Re-running a study skips the cells already in ``results.json`` with the same hashes, so an interrupted study
resumes where it stopped. At the end ``results.md`` (the paper's table layout: mean +- standard deviation over
seeds beside the paper's numbers) and ``<study>.png`` (metric vs the varied factor, seed error bars) are written.

Beyond the paper's grids (the transfer study, ``run_scripts/studies/transfer.yaml``; :mod:`.downstream`):
``type: probe`` tasks (logistic regression on frozen, mean-pooled embeddings), ``init: random`` variants (the
model of the variant's ``pretrain`` arguments, saved untrained), ``references`` fitted once per task,
``pretrain_evaluation`` (held-out pre-training metrics of every model beside their baselines), ``comparisons``
(paired differences between variants with 95 % t-intervals over seeds; the figure then shows every arm per task
and the differences) and a ``corpus`` tiled from a genome.

Study file (every key is validated; unknown keys are errors)::

    name: lambda                      # required; output file names
    title: "Table 8 (right): lambda"  # shown in results.md and the plot
    factor: lambda                    # the varied factor: x-axis label and first table column
    corpus: demo_real                 # demo_real | demo_synthetic | a corpus directory (genebert build-corpus)
    # corpus: {genome: hg19_chr22/chr22.fa, motifs: jaspar2018_gimmemotifs/JASPAR2018_vertebrates.pfm,
    #          tile_bp: 50, kmer: 4, max_regions: 200000}   # a genome tiled, built once into the cache
    #                                                        # (paths relative to --data-root)
    seeds: [0, 1, 2, 3, 4]
    pretrain: {preset: base}          # pre-training arguments shared by every variant (run_pretraining.py flags)
    finetune: {preset: base}          # fine-tuning arguments shared by every task (run_finetuning.py flags)
    variants:                         # explicit rows ...
      - {name: "0.01", x: 0.01, pretrain: {srm_weight: 0.01}, paper: {precision: 0.633, recall: 0.621, auc: 0.683}}
      - {name: random, init: random, pretrain: {}}   # the same model, untrained ('pretrain: null': a preset's)
    grid: {srm_weight: [0.01, 0.5]}   # ... and/or a cartesian grid of pre-training fields (crossed with variants)
    tasks:
      - {name: prom_core_all, task: gue_prom_core_all}                 # fine-tuning tasks
      - {name: cell_types, type: embeddings, pooling: cls}              # Figure 2
      - {name: ctcf probe, type: probe, task: ctcf_vs_shuffled, max_train_samples: 2000}  # frozen embeddings
    comparisons: [[C, B]]             # paired differences C - B by seed, 95 % t-intervals
    references: {motif_scores: jaspar2018_gimmemotifs/JASPAR2018_vertebrates.pfm, kmer_counts: 4}
    pretrain_evaluation: {max_train_samples: 300, max_eval_samples: 300}
    metrics: [precision_macro, recall_macro, auc, mcc]
    plot_metric: auc
    presets:                          # --preset NAME deep-merges presets[NAME] over the file (lists replace)
      tiny: {seeds: [0, 1], pretrain: {preset: tiny, max_steps: 60}}

Pre-training fields are any argument of ``run_pretraining.py`` (``use_mgm``, ``use_ngsp``, ``use_srm``,
``srm_weight``, ``region_backbone``, ``region_input_mode``, ``config_overrides``, ``per_device_train_batch_size``,
...) plus ``global_batch_size`` (split into the per-device batch and gradient accumulation of one process).
"""

from .downstream import fit_logistic_regression, pretraining_metrics, reference_metrics, run_probe_cell
from .report import (
    RunSummary,
    aggregate,
    paired_differences,
    plot_study,
    read_results,
    results_markdown,
    write_json_atomic,
    write_reports,
)
from .runner import build_tiled_corpus, check_tasks, embed_held_out, finished, prepare_corpus, run_study
from .spec import Cell, Study, StudyError, Task, Variant, load_study, parse_study, pretrain_hash, stable_hash

__all__ = [
    "Cell", "RunSummary", "Study", "StudyError", "Task", "Variant", "aggregate", "build_tiled_corpus",
    "check_tasks", "embed_held_out", "finished", "fit_logistic_regression", "load_study", "paired_differences",
    "parse_study", "plot_study", "prepare_corpus", "pretrain_hash", "pretraining_metrics", "read_results",
    "reference_metrics", "results_markdown", "run_probe_cell", "run_study", "stable_hash", "write_json_atomic",
    "write_reports"
]  # fmt: skip
