#!/usr/bin/env bash
# bench/run_jobs_cost.sh - what zmgrd spends per no-op apply_async job,
# in instructions (callgrind), for one build or two to compare
# A shared or loaded machine moves jobs/s by a factor of two between runs
# (bench/README.md, "Jobs"), far more than a change of a few per cent; the
# instructions zmgrd executes per job do not move. zmgrd runs under
# callgrind with 2 local workers (not traced), jobs_bench sends N1 and then,
# on a fresh zmgrd, N2 echo jobs; (Ir(N2) - Ir(N1)) / (N2 - N1) leaves
# start-up and shutdown out.
#
# usage: bench/run_jobs_cost.sh [--jobs N1,N2] BUILD_DIR [BASE_BUILD_DIR]
#   BASE_BUILD_DIR: a build of the version to compare with (e.g. of
#   `git archive REV | tar -x -C DIR`); the difference is printed in %.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
N1=5000 N2=15000
if [ "${1:-}" = --jobs ]; then
    IFS=, read -r N1 N2 <<<"${2:?--jobs needs N1,N2}"
    shift 2
fi
[ $# -ge 1 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
command -v valgrind >/dev/null || { echo "run_jobs_cost.sh: needs valgrind" >&2; exit 77; }

one() {  # build jobs: zmgrd's total Ir
    local b=$1 n=$2 d pid
    d=$(mktemp -d /tmp/zmgr-cost.XXXXXX)
    XDG_RUNTIME_DIR=$d valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" \
        "$b/daemon/zmgrd" --workers 2 --worker-path "$b/client/zmgr-worker" 2>"$d/log" &
    pid=$!
    for _ in $(seq 300); do
        XDG_RUNTIME_DIR=$d "$b/bench/jobs_bench" --workers 2 wait >/dev/null 2>&1 && break
        sleep 0.2
    done
    XDG_RUNTIME_DIR=$d "$b/bench/jobs_bench" --workers 2 apply_async "$n" >/dev/null
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    awk '/^totals:/ {print $2}' "$d/cg.out"
    rm -rf "$d"
}
cost_report "apply_async job" one "$N1" "$N2" "$@"
