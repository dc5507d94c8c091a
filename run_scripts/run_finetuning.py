#!/usr/bin/env python
"""Fine-tune GeneBERT: a thin wrapper of :mod:`genebert.training.finetune` (``python run_scripts/run_finetuning.py --help``).

    python run_scripts/run_finetuning.py --task gue_prom_core_all --data_root ../shared/data --preset tiny \\
        --output_dir outputs/finetune/prom_core_all
    python run_scripts/run_finetuning.py --train_file train.csv --validation_file dev.csv --test_file test.csv \\
        --model_name_or_path outputs/pretrain --output_dir outputs/finetune/mine
    torchrun --nproc_per_node 2 run_scripts/run_finetuning.py ...
"""

from genebert.training.finetune import main

if __name__ == "__main__":
    main()
