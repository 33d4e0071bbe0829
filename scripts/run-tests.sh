#!/usr/bin/env bash
# scripts/run-tests.sh - the whole test suite, as CI runs it (.ci/run calls this):
#   1. scripts/setup.sh --tests           install missing Debian packages
#   2. scripts/build-refread.sh           reference reader -> build/refread (GRAFT_REFREAD_DIR)
#   3. build/      -DGRAFT_WERROR=ON      configure, build (-j2), ctest -LE slow
#   4. build-asan/ -DGRAFT_SANITIZE=ON    gcc ASan+UBSan (-g -O1), same suite, leaks detected
# Prints "N passed, N failed" (tests of both runs; a failed step counts as one failure)
# and exits non-zero on any failure. GRAFT_TESTS_SLOW=1 also runs tests labelled slow.
# GRAFT_TESTS_NO_ASAN=1 skips step 4 (quick local runs; CI never sets it).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${GRAFT_JOBS:-2}

if ! "$root/scripts/setup.sh" --tests; then
    echo "run-tests: package setup failed" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

passed=0
failed=0
failures=()
step_failed() { failed=$((failed + 1)); failures+=("$1"); echo "run-tests: FAILED: $1" >&2; }

# Environment every test can rely on (documented in README.md).
export GRAFT_REFREAD_DIR="$root/build/refread"
export REFREAD_BUILD="$GRAFT_REFREAD_DIR/build"
export GRAFT_PYTHON=/usr/bin/python3
"$root/scripts/build-refread.sh" "$GRAFT_REFREAD_DIR" || step_failed "build-refread"

ctest_sel=(-LE slow)
[ "${GRAFT_TESTS_SLOW:-0}" = "1" ] && ctest_sel=()

# run_suite NAME BUILDDIR CMAKE_ARGS... : configure, build, ctest; adds to the counts.
run_suite() {
    local name=$1 dir=$2
    shift 2
    local t0=$SECONDS
    echo "==== $name: configure + build in $dir"
    if ! cmake -S "$root" -B "$dir" -DGRAFT_WERROR=ON "$@"; then step_failed "$name: configure"; return; fi
    if ! cmake --build "$dir" -j"$jobs"; then step_failed "$name: build"; return; fi
    echo "==== $name: ctest ${ctest_sel[*]} (build took $((SECONDS - t0))s)"
    local log="$dir/ctest-summary.log"
    ctest --test-dir "$dir" "${ctest_sel[@]}" --output-on-failure -j"$jobs" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    # "95% tests passed, 1 tests failed out of 20"
    local line total nfail
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
    if [ -n "$line" ]; then
        nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/')
        total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
        passed=$((passed + total - nfail))
        failed=$((failed + nfail))
        [ "$nfail" -gt 0 ] && failures+=("$name: $nfail test(s)")
        [ "$nfail" -eq 0 ] && [ "$rc" -ne 0 ] && step_failed "$name: ctest exit $rc"
    elif grep -q 'No tests were found' "$log"; then
        echo "run-tests: $name: no tests registered yet"
    else
        step_failed "$name: ctest exit $rc without a summary"
    fi
    echo "==== $name: done in $((SECONDS - t0))s"
}

run_suite "gcc" "$root/build"
if [ "${GRAFT_TESTS_NO_ASAN:-0}" != "1" ]; then
    ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run_suite "asan+ubsan" "$root/build-asan" -DGRAFT_SANITIZE=ON \
            -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-g -O1" # -O1: ASan's advice, and a faster build
fi

echo
for f in "${failures[@]+"${failures[@]}"}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
