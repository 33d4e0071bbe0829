#!/bin/sh
# scripts/fuzz.sh - builds the libFuzzer targets of tests/fuzz/ with clang-14
# (-fsanitize=fuzzer,address,undefined) and runs each for SECONDS seconds with
# -malloc_limit_mb=512 -rss_limit_mb=2048 -timeout=1 (h5: see below), then prints executions and
# findings per target. Usage: scripts/fuzz.sh [SECONDS] [target...]   (default 60, all)
# Env: GRAFT_FUZZ_BUILD (build dir, default build-fuzz), JOBS (make -j, default 2),
# MAX_LEN (libFuzzer -max_len; default per target: meta 32768, state 16384, others
# libFuzzer's choice from the corpus), NOBUILD=1 (run binaries already built, e.g.
# a second run beside a long one), RUNS (stop each target after this many executions,
# libFuzzer -runs; SECONDS still bounds the time), KEEP_GOING=1 (libFuzzer fork mode:
# crashes, OOMs and timeouts are saved and the run goes on; for h5, whose findings are
# mostly libhdf5's own and contained by graft's child process, to be triaged by stack;
# FORK=N runs N jobs at once).
# The working corpus grows in $BUILD/corpus/<target> (seeded from tests/fuzz/corpus);
# findings land in $BUILD/findings/<target>: minimise one, commit it under
# tests/fuzz/crashes/<target>/ and fix the bug (test_fuzz_replay replays it).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-"index entries bundle v1 meta state npy h5"}
BUILD=${GRAFT_FUZZ_BUILD:-$ROOT/build-fuzz}
JOBS=${JOBS:-2}
CC=${CC:-clang-14}
command -v "$CC" >/dev/null || { echo "fuzz.sh: $CC not found: apt-get install clang-14 libclang-rt-14-dev" >&2; exit 2; }

FLAGS="-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
if [ "${NOBUILD:-0}" = 1 ]; then
  TARGETS_BUILD=""
else
  TARGETS_BUILD=$TARGETS
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="$FLAGS -fsanitize=fuzzer-no-link,address,undefined" \
    -DGRAFT_BUILD_TESTS=OFF -DGRAFT_BUILD_EXAMPLES=OFF -DGRAFT_BUILD_TOOLS=OFF -DGRAFT_ENABLE_FUZZ=ON >/dev/null
  cmake --build "$BUILD" -j"$JOBS" --target graft_static >/dev/null
fi
LIBS=$(pkg-config --libs libprotobuf-c hdf5 openblas zlib)
for t in $TARGETS_BUILD; do
  # linked here rather than through cmake/fuzz.cmake so the script also works before
  # that file is included by CMakeLists.txt
  $CC $FLAGS -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
    -I"$ROOT/include" -I"$ROOT/lib" -I"$BUILD/proto" "$ROOT/tests/fuzz/fuzz_$t.c" \
    "$BUILD/libgraft_static.a" $LIBS -lm -o "$BUILD/fuzz_$t"
done

# Every fixture file of a target's kind joins its working corpus (the committed
# corpus holds the small ones and the abuse files; entries seeds come from
# make_entries_seeds.py). Named by a hash of the path, so reruns do not duplicate.
FIX=${GRAFT_FIXTURES_DIR:-$ROOT/../shared/fixtures}
seed_fixtures() {
  [ -d "$FIX" ] || return 0
  case "$1" in
    index) set -- "$1" "$2" -name '*.index' ;;
    meta) set -- "$1" "$2" \( -name '*.meta' -o -name saved_model.pb \) ;;
    state) set -- "$1" "$2" -name checkpoint ;;
    npy) set -- "$1" "$2" -name '*.npy' ;;
    h5) set -- "$1" "$2" \( -name '*.h5' -o -name '*.hdf5' \) -size -2M ;;
    v1) set -- "$1" "$2" -path '*/tf1v1/*' ! -name '*.meta' ! -name '*.json' ! -name '*.txt' ! -name checkpoint ;;
    *) return 0 ;;
  esac
  dst=$2
  shift 2
  find "$FIX" -type f "$@" | while read -r f; do
    cp -n "$f" "$dst/fixture_$(printf '%s' "$f" | sha1sum | cut -c1-16)"
  done
}

KEEP=""
[ "${KEEP_GOING:-0}" = 1 ] && KEEP="-fork=${FORK:-1} -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1"
printf '%-8s %12s %10s %8s %s\n' target executions exec/s findings seconds
total=0
nfind=0
for t in $TARGETS; do
  corpus="$BUILD/corpus/$t"
  found="$BUILD/findings/$t"
  mkdir -p "$corpus" "$found"
  cp -n "$ROOT/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  seed_fixtures "$t" "$corpus"
  before=$(ls "$found" | wc -l)
  log="$BUILD/fuzz_$t.log"
  case "$t" in meta) ml=32768 ;; state) ml=16384 ;; h5) ml=16384 ;; *) ml=0 ;; esac
  ml=${MAX_LEN:-$ml}
  # h5 parses in process with libhdf5 1.10 uninstrumented: its own error-path leaks and
  # gigabyte allocations from a few KB of input (tests/fuzz/crashes/h5) would stop every
  # run; graft contains them in a child process by default (lib/data/h5child.c), so this
  # target looks for crashes and UB, with leak checks off and a 2 GB malloc limit.
  leaks=1 mlim=512
  [ "$t" = h5 ] && leaks=0 mlim=2048
  ASAN_OPTIONS=detect_leaks=$leaks:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$BUILD/fuzz_$t" "$corpus" -max_total_time="$SECS" -malloc_limit_mb="$mlim" -rss_limit_mb=2048 -timeout=1 -max_len="$ml" -runs="${RUNS:--1}" \
    -print_final_stats=1 -artifact_prefix="$found/" -close_fd_mask=3 $KEEP >"$log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ -n "$KEEP" ]; then # fork mode prints "#N: cov: ... exec/s: R ..." lines instead
    execs=$(sed -n 's/^#\([0-9][0-9]*\): cov:.*/\1/p' "$log" | tail -1)
    rate=$(sed -n 's/^#[0-9][0-9]*: cov:.* exec\/s: \([0-9]*\).*/\1/p' "$log" | tail -1)
  fi
  after=$(ls "$found" | wc -l)
  f=$((after - before))
  printf '%-8s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$f" "$SECS"
  total=$((total + ${execs:-0}))
  nfind=$((nfind + f))
done
echo "total executions: $total; new findings: $nfind (logs: $BUILD/fuzz_<target>.log, inputs: $BUILD/findings/)"
[ "$nfind" -eq 0 ]
