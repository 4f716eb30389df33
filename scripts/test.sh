#!/bin/bash
# scripts/test.sh - install dependencies, build twice (plain, then with
# AddressSanitizer + UndefinedBehaviorSanitizer) with warnings as errors, and
# run the whole cmocka/ctest suite against each build; then the fuzz targets
# for a bounded time each (scripts/fuzz.sh, clang).
set -euo pipefail
cd "$(dirname "$0")/.."
ZMGR_FUZZ_DEPS=1 bash scripts/deps.sh

run_suite () {
    local dir=$1; shift
    cmake -S . -B "$dir" -DZMGR_WERROR=ON "$@"
    cmake --build "$dir" -j2
    ctest --test-dir "$dir" --output-on-failure --timeout 300 -j2
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
# halt_on_error: a sanitizer report fails the test that caused it.
export ASAN_OPTIONS=abort_on_error=0:halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DZMGR_SANITIZE=address,undefined
bash scripts/fuzz.sh "${ZMGR_FUZZ_SECONDS:-60}"
echo "zmgr: all tests passed, plain and under ASan+UBSan, and the fuzz targets found nothing"
