#!/bin/bash
# scripts/fuzz.sh - build the libFuzzer targets with clang (every library
# instrumented) and run each for a bounded time on a copy of its seed
# corpus in tests/fuzz/corpus. A crash, leak or sanitizer report fails.
# usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 45)
# Skips (exit 0, with a note) when clang or its fuzzer runtime is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-45}
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz.sh: no clang: fuzz targets not run"
    exit 0
fi
BUILD=build-fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! CC=clang cmake -S . -B "$BUILD" -DZMGR_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >"$work/build.log" 2>&1 \
   || ! cmake --build "$BUILD" -j2 --target fuzz_dispatch fuzz_wal fuzz_direct >>"$work/build.log" 2>&1; then
    if grep -q "fuzzer" "$work/build.log" && grep -qi "cannot find\|not found" "$work/build.log"; then
        echo "fuzz.sh: clang has no libFuzzer runtime (libclang-rt-14-dev): not run"
        exit 0
    fi
    cat "$work/build.log"
    exit 1
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
for t in dispatch wal direct; do
    mkdir -p "$work/$t"
    cp -r "tests/fuzz/corpus/$t/." "$work/$t/" 2>/dev/null || true
    echo "fuzz.sh: fuzz_$t for $SECS s"
    (cd "$work" && "$OLDPWD/$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECS" -max_len=4096 \
        -print_final_stats=1 "$work/$t" >"$work/$t.log" 2>&1) || {
        tail -60 "$work/$t.log"
        echo "fuzz.sh: fuzz_$t FAILED"
        exit 1
    }
    grep -E "^stat::number_of_executed_units|cov:" "$work/$t.log" | tail -2
done
echo "fuzz.sh: no crash"
