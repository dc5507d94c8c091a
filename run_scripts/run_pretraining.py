#!/usr/bin/env python
"""Pre-train GeneBERT: a thin wrapper of :mod:`genebert.training.pretrain` (``python run_scripts/run_pretraining.py --help``).

python run_scripts/run_pretraining.py --corpus_dir outputs/demo/corpus --output_dir outputs/pretrain --preset tiny
torchrun --nproc_per_node 2 run_scripts/run_pretraining.py ...
accelerate launch --config_file run_scripts/configs/multi_gpu.yaml run_scripts/run_pretraining.py ...
"""

from genebert.training.pretrain import main

if __name__ == "__main__":
    try:
        main()
    finally:
        # Close the process group before the interpreter exits: under DeepSpeed's CPU backend a rank sometimes
        # aborted at exit otherwise ("terminate called without an active exception", exit code -6).
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
