#!/usr/bin/env bash
# scripts/run-demo.sh [ARGS...] - installs what is missing, builds graft in build/ and runs
# the main job: examples/vgg_transfer (the transfer-learning demo) when the tree has it,
# else examples/xor_mlp. ARGS are passed to the program, which runs from the repository
# root (so ../shared/fixtures and /usr/share/datasets/fashion-mnist are at hand).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${GRAFT_JOBS:-2}

"$root/scripts/setup.sh"

demo=xor_mlp
[ -f "$root/examples/vgg_transfer.c" ] && demo=vgg_transfer
if [ ! -f "$root/examples/$demo.c" ]; then
    echo "run-demo: examples/$demo.c is not in the tree yet" >&2
    exit 1
fi
cmake -S "$root" -B "$root/build" -DGRAFT_WERROR=ON
cmake --build "$root/build" -j"$jobs" --target "$demo"
echo "==== run-demo: build/$demo $*"
exec "$root/build/$demo" "$@"
