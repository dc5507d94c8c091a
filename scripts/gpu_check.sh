#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one short run (about 5 minutes on one GPU):
#   1. pre-training steps on CUDA in bf16 with sdpa attention (tiny corpus built here), loss finite and falling;
#   2. the torch motif scanner on CUDA against the numba CPU kernel (max abs difference, regions/s);
#   3. one FSDP2 step on one GPU through accelerate's fsdp.yaml settings;
#   4. the tests that need CUDA (any test marked or skipped "needs cuda"/"requires accelerator").
# Results go to $OUT (or outputs/gpu_check) as gpu_check.json plus each step's log.
#
#   bash scripts/gpu_check.sh            # from the repository root, with the project's .venv
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
OUT="${OUT:-outputs/gpu_check}"
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1

"$PY" - "$OUT" <<'EOF' 2>&1 | tee "$OUT/steps.log"
import json, sys, time, warnings
from pathlib import Path

import numpy as np
import torch

warnings.simplefilter("ignore")
out = Path(sys.argv[1])
assert torch.cuda.is_available(), "no CUDA device"
result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}

# 1. pre-training in bf16 with sdpa on CUDA
from genebert.genomics.examples import build_synthetic_corpus
from genebert.training.pretrain import arguments_from_values, run_pretraining

corpus = out / "synthetic" / "corpus"
if not (corpus / "metadata.json").is_file():
    build_synthetic_corpus(corpus, 400, 0, progress=False)
values = {"corpus_dir": str(corpus), "output_dir": str(out / "pretrain"), "preset": "tiny", "max_steps": 60,
          "bf16": True, "attn_implementation": "sdpa", "logging_steps": 10, "eval_steps": 30, "save_steps": 60,
          "disable_tqdm": True, "overwrite_output_dir": True}
started = time.perf_counter()
metrics = run_pretraining(*arguments_from_values(values))
history = json.loads((out / "pretrain" / "log_history.json").read_text())
losses = [entry["loss"] for entry in history if "loss" in entry]
result["pretrain_bf16_sdpa"] = {"seconds": round(time.perf_counter() - started, 1), "first_loss": losses[0],
                                "last_loss": losses[-1], "finite": bool(np.isfinite(losses).all())}

# 2. torch motif scanner on CUDA vs numba
from genebert.genomics.motifs import load_motifs, scan_max

motifs = load_motifs("JASPAR2018")
rng = np.random.default_rng(0)
sequences = ["".join(rng.choice(list("ACGTN"), p=[0.245, 0.245, 0.245, 0.245, 0.02], size=500)) for _ in range(4000)]
scan_max(sequences[:10], motifs, device="cuda")  # warm-up
timings = {}
for device in (None, "cuda"):
    started = time.perf_counter()
    scores = scan_max(sequences, motifs, device=device)
    if device == "cuda":
        torch.cuda.synchronize()
    timings[device or "numba"] = (scores, time.perf_counter() - started)
difference = float(np.abs(timings["numba"][0] - timings["cuda"][0]).max())
result["motif_scan"] = {"max_abs_difference": difference, "regions": len(sequences),
                        **{f"{k}_regions_per_s": round(len(sequences) / v[1]) for k, v in timings.items()}}
assert difference < 1e-3, difference
(out / "gpu_check.json").write_text(json.dumps(result, indent=1) + "\n")
print(json.dumps(result, indent=1))
EOF

# 3. one FSDP2 step on one GPU with fsdp.yaml's settings (accelerate runs FSDP only on GPUs)
"$PY" -m accelerate.commands.launch --config_file run_scripts/configs/fsdp.yaml --num_processes 1 \
    run_scripts/run_pretraining.py --corpus_dir "$OUT/synthetic/corpus" --output_dir "$OUT/fsdp" --preset tiny \
    --max_steps 2 --logging_steps 1 --save_steps 2 --eval_strategy no --overwrite_output_dir true \
    2>&1 | tee "$OUT/fsdp.log"

# 4. tests that need CUDA (they skip on CPU machines)
"$PY" -m pytest -q tests -k "cuda or gpu or accelerator" -p no:cacheprovider 2>&1 | tee "$OUT/tests.log"
echo "gpu_check: results in $OUT"
