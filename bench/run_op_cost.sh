#!/usr/bin/env bash
# bench/run_op_cost.sh - what zmgrd spends per object operation, in
# instructions (callgrind), for one build or two to compare
# The object ops' counterpart of run_jobs_cost.sh: zmgrd (no workers) runs
# under callgrind, zmgr_bench sends N1 and then, on a fresh zmgrd, N2
# operations OP (one client, 16 in flight); (Ir(N2) - Ir(N1)) / (N2 - N1)
# leaves start-up and shutdown out. A loaded machine moves ops/s a lot and
# these counts hardly at all.
#
# usage: bench/run_op_cost.sh [--ops N1,N2] BUILD_DIR OP [BASE_BUILD_DIR]
#   OP: a zmgr_bench op (dict_set, dict_get, list_append, queue_rt,
#   value_add); BASE_BUILD_DIR: a build of the version to compare with.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
N1=20000 N2=60000
if [ "${1:-}" = --ops ]; then
    IFS=, read -r N1 N2 <<<"${2:?--ops needs N1,N2}"
    shift 2
fi
[ $# -ge 2 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
command -v valgrind >/dev/null || { echo "run_op_cost.sh: needs valgrind" >&2; exit 77; }
OP=$2

one() {  # build n: zmgrd's total Ir
    local b=$1 n=$2 d pid
    d=$(mktemp -d /tmp/zmgr-opcost.XXXXXX)
    XDG_RUNTIME_DIR=$d valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" \
        "$b/daemon/zmgrd" --workers 0 2>"$d/log" &
    pid=$!
    for _ in $(seq 300); do
        XDG_RUNTIME_DIR=$d "$b/client/zmgr" ping >/dev/null 2>&1 && break
        sleep 0.2
    done
    XDG_RUNTIME_DIR=$d "$b/bench/zmgr_bench" --op "$OP" --clients 1 --depth 16 \
        --max-ops "$n" --seconds 120 >/dev/null
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    awk '/^totals:/ {print $2}' "$d/cg.out"
    rm -rf "$d"
}
cost_report "$OP" one "$N1" "$N2" "$1" ${3:+"$3"}
