#!/usr/bin/env bash
# scripts/build-refread.sh [OUTDIR] - builds the reference reader (../shared/tools/refread)
# outside the read-only shared/ folder: copies its sources to OUTDIR (default build/refread)
# and runs its build.sh and build_v1.sh there, so every refread script works from the copy
# (refread.py, refread_v1.py, refwrite.py, refrun.py, refgen.py, h5golden.py, golden.sh).
# Tests find it through GRAFT_REFREAD_DIR (= OUTDIR); REFREAD_BUILD = OUTDIR/build.
# Skips the work when OUTDIR is newer than every source file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${GRAFT_SHARED_DIR:-$root/../shared}
src="$shared/tools/refread"
out=${1:-$root/build/refread}
stamp="$out/.built"

if [ ! -f "$src/build.sh" ]; then
    echo "build-refread: $src/build.sh not found (is ../shared beside the clone?)" >&2
    exit 1
fi
if [ -f "$stamp" ] && [ -x "$out/build/ldbdump" ] && [ -x "$out/build/ldbwrite" ] \
   && [ -f "$out/build/refread_pb2.py" ] && [ -f "$out/build/refread_v1_pb2.py" ] \
   && [ -z "$(find "$src" -newer "$stamp" -print -quit)" ]; then
    echo "build-refread: $out is up to date"
    exit 0
fi

rm -rf "$out"
mkdir -p "$out"
# shared/ is read-only: copy contents (not modes), then make the copy writable.
cp -R "$src/." "$out/"
chmod -R u+w "$out"
rm -rf "$out/build" "$out/__pycache__"
unset REFREAD_BUILD
(cd "$out" && ./build.sh && ./build_v1.sh)
touch "$stamp"
echo "build-refread: ready in $out (export GRAFT_REFREAD_DIR=$out)"
