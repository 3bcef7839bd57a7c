#!/usr/bin/env bash
# The benchmarks and the main job on a CUDA GPU: absolute figures (docs/performance.md).
# Nothing else depends on a GPU; on one, LocalBackend generates and DPO trains there by itself.
# Usage: benchmarks/on_gpu.sh OUT_DIR [limits] [throughput] [job]   (default: all three)
#   limits      machine_limits.py on the GPU (bf16): matmul and copy rates, the decode limit
#   throughput  batch_throughput.py on the GPU: 32 arith problems at batch 1, 8 and 32
#   job         `fcdistill run configs/default.yaml` into OUT_DIR/run, GPU memory sampled each second
# PYTHON names the interpreter (default: python).
set -euo pipefail
out=$(realpath "${1:?usage: benchmarks/on_gpu.sh OUT_DIR [limits] [throughput] [job]}")
shift
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(limits throughput job)
py=${PYTHON:-python}
mkdir -p "$out"
cd "$(dirname "$0")"
export PYTHONUNBUFFERED=1
for part in "${parts[@]}"; do
  case $part in
    limits) $py machine_limits.py --dtype bfloat16 --device cuda 2>&1 | tee "$out/limits.txt" ;;
    throughput)
      $py batch_throughput.py --device cuda --n 32 --batches 1 8 32 --no-baselines 2>&1 | tee "$out/throughput.txt" ;;
    job)
      nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv -l 1 >"$out/gpu.csv" &
      sampler=$!
      started=$(date +%s)
      (cd .. && $py -m fcdistill run configs/default.yaml --out "$out/run") 2>&1 | tee "$out/job.log"
      echo "job: $(($(date +%s) - started)) s wall" | tee -a "$out/job.log"
      kill $sampler
      ;;
    *) echo "unknown part: $part (limits, throughput or job)" >&2; exit 2 ;;
  esac
done
