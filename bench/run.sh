#!/usr/bin/env bash
# bench/run.sh [STEPS] [THREADS] - graft and PyTorch side by side in one run:
# training throughput and peak memory of the demo's VGG-style network, then
# the conv/matmul micro-benchmarks; prints the ratios (graft / torch).
# Benchmarks are not tests: nothing here fails on a slow result.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
steps=${1:-30}
threads=${2:-2}
"$root/scripts/setup.sh" >/dev/null
cmake -S "$root" -B "$root/build" -DGRAFT_BUILD_BENCH=ON >/dev/null
cmake --build "$root/build" -j2 --target bench_train bench_ops >/dev/null
g=$("$root/build/bench_train" "$steps" "$threads")
t=$(/usr/bin/python3 "$root/bench/bench_train_torch.py" "$steps" "$threads")
echo "$g"
echo "$t"
val() { echo "$1" | sed -E "s/.*$2=([0-9.]+).*/\1/"; }
awk -v gi="$(val "$g" img_per_s)" -v ti="$(val "$t" img_per_s)" -v gm="$(val "$g" peak_rss_mb)" \
    -v tm="$(val "$t" peak_rss_mb)" 'BEGIN {
    printf "ratio train throughput graft/torch = %.2f (higher is better for graft)\n", gi / ti;
    printf "ratio peak memory      graft/torch = %.2f (lower is better for graft)\n", gm / tm }'
/usr/bin/python3 "$root/bench/bench_ops_torch.py" > "$root/build/torch_times.txt"
GRAFT_BENCH_THREADS=$threads "$root/build/bench_ops" "$root/build/torch_times.txt"
