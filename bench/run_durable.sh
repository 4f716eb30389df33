#!/usr/bin/env bash
# bench/run_durable.sh - what durability costs zmgrd, next to Redis's AOF
# Starts zmgrd in memory and with --data-dir at --fsync always, everysec
# and no, and Redis with appendonly yes at appendfsync always and
# everysec, all on unix sockets, their data in one fresh dir under
# /var/tmp; runs zmgr_bench and redis-benchmark for dict_set and
# list_append at 1 and 4 clients, depth 1 and 64, the six servers one
# after another in every cell; then times a restart after SIGKILL with
# 1,000,000 dict entries and 100,000 pending jobs, and the ping round
# trip while `zmgr admin save` snapshots 1,000,000 entries. Prints one
# table and the restart and snapshot lines; stops all it started on
# exit. A zmgrd without --data-dir gets n/a in its cells. What the
# columns mean: bench/README.md.
#
# usage: bench/run_durable.sh [--seconds S] [--rounds R] [--quick]
#                             [--entries N] [--jobs N] [--tmp DIR] [BUILD_DIR]
set -euo pipefail
export LC_ALL=C  # $EPOCHREALTIME and awk with a decimal point

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-bench
SECS=2
ROUNDS=3                             # runs per cell; the median is shown
ENTRIES=1000000
JOBS=100000
TMP_PARENT=/var/tmp
OPS="dict_set list_append"
CLIENTS="1 4"
DEPTHS="1 64"
ZMODES="memory always everysec no"   # zmgrd: no data dir, then --fsync MODE
RMODES="always everysec"             # redis: appendfsync MODE
RESTARTS=3                           # restarts timed per case; the median is shown
STALL_ROUNDS=3                       # snapshots (and controls) pinged through

usage() {
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<EOF

  --seconds S   measuring time per run, whole seconds (default 2)
  --rounds R    runs per cell, the median is shown (default 3)
  --quick       1 round of 1 second per cell (restart and snapshot keep
                their sizes)
  --entries N   dict entries for the restart and snapshot tests (1000000)
  --jobs N      pending jobs for the restart test (100000)
  --tmp DIR     where the data dirs go (default /var/tmp; not a tmpfs,
                so that fsync reaches a disk)
  BUILD_DIR     cmake build dir (default: build-bench in the repository);
                configured and built (Release) if a program is missing
EOF
}

ME=run_durable.sh
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) SECS=${2:?--seconds needs a value}; shift 2 ;;
    --quick) SECS=1 ROUNDS=1; shift ;;
    --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
    --entries) ENTRIES=${2:?--entries needs a value}; shift 2 ;;
    --jobs) JOBS=${2:?--jobs needs a value}; shift 2 ;;
    --tmp) TMP_PARENT=${2:?--tmp needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "$ME: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) BUILD=$1; shift ;;
    esac
done
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
for n in "$SECS" "$ROUNDS" "$ENTRIES" "$JOBS"; do
    case $n in ''|*[!0-9]*|0)
        echo "$ME: --seconds, --rounds, --entries and --jobs take a whole number > 0" >&2; exit 2 ;;
    esac
done
[ -d "$TMP_PARENT" ] || { echo "$ME: --tmp $TMP_PARENT is not a directory" >&2; exit 2; }

# ---- what we need ---------------------------------------------------------
missing=""
for tool in redis-server redis-cli redis-benchmark cmake timeout df du; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "$ME: missing:$missing" >&2
    echo "$ME: the reference needs Debian's Redis; install it with" >&2
    echo "    sudo apt-get install redis-server redis-tools cmake coreutils" >&2
    exit 2
fi
if [ -z "${EPOCHREALTIME:-}" ]; then
    echo "$ME: needs bash 5 (\$EPOCHREALTIME)" >&2
    exit 2
fi

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
ZMGRD=$BUILD/daemon/zmgrd
CLI=$BUILD/client/zmgr
BENCH=$BUILD/bench/zmgr_bench
JBENCH=$BUILD/bench/jobs_bench
PROBE=$BUILD/bench/durable_probe
ensure_built "$BUILD" zmgrd=daemon/zmgrd zmgr_cli=client/zmgr \
    zmgr_bench=bench/zmgr_bench jobs_bench=bench/jobs_bench \
    durable_probe=bench/durable_probe

# What this zmgrd can do: the durable modes need both flags, the snapshot
# test `zmgr admin save`. Without them those cells say n/a.
HAVE_DURABLE=no HAVE_SAVE=no
zhelp=$("$ZMGRD" --help 2>&1 || true)
if grep -q -- '--data-dir' <<<"$zhelp" && grep -q -- '--fsync' <<<"$zhelp"; then
    HAVE_DURABLE=yes
fi
chelp=$("$CLI" admin --help 2>&1 || true)
if grep -q 'admin save' <<<"$chelp"; then HAVE_SAVE=yes; fi
save_cmd() {  # endpoint -> the words of the command that asks it to save
    printf '%s\n' "$CLI" --endpoint "$1" --timeout 300 admin save
}

# ---- scratch space, servers, cleanup --------------------------------------
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)  # others' work skews the numbers
TMP=$(mktemp -d /tmp/zmgr-durable-XXXXXX)            # sockets, logs
DATA=$(mktemp -d "$TMP_PARENT/zmgr-durable-XXXXXX")  # every data dir
DATA_FS=$(fs_of "$DATA")
declare -A LIVE      # pid -> name of every server running now

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${!LIVE[@]}"; do stop_pid "$pid"; done
    if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
        show_logs
    fi
    rm -rf "$TMP" "$DATA"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case $DATA_FS in
tmpfs*|ramfs*) echo "$ME: WARNING: $DATA is on $DATA_FS: fsync reaches no disk;" \
                    "use --tmp DIR on a disk" >&2 ;;
esac
export XDG_RUNTIME_DIR=$TMP/run  # the CLI's default endpoint: none of ours
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset ZMGR_ENDPOINT

zep() { echo "ipc://$TMP/zmgrd-$1.sock"; }   # name -> its endpoint
zflags() {  # mode data_dir -> zmgrd's flags for that mode, one a line
    [ "$1" = memory ] || printf '%s\n' --data-dir "$2" --fsync "$1"
}
start_zmgrd() {  # name mode: starts zmgrd NAME (fresh unless its data dir
    local name=$1 mode=$2 dir=$DATA/zmgrd-$1 flags  # exists), sets ZPID
    mapfile -t flags < <(zflags "$mode" "$dir")
    [ "$mode" = memory ] || mkdir -p "$dir"
    # No workers: jobs stay pending, and the bench measures the store. A
    # high item limit: a long list_append cell can pass the default.
    T0=$EPOCHREALTIME
    "$ZMGRD" --workers 0 --max-items 1000000000 --no-default-endpoint \
        -e "$(zep "$name")" ${flags[@]+"${flags[@]}"} >>"$TMP/zmgrd-$name.log" 2>&1 &
    ZPID=$!
    LIVE[$ZPID]=zmgrd-$name
}
zmgrd_up() {  # name pid: waits for the first answered ping, echoes its RESULT
    result timeout 60 "$PROBE" --endpoint "$(zep "$1")" ready --since "$T0" \
        --timeout-ms 50000
    kill -0 "$2" 2>/dev/null || { echo "$ME: zmgrd-$1 exited during start" >&2; return 1; }
}
stop_server() {  # pid [signal]: TERM (then KILL after 5 s), or KILL at once
    local pid=$1 kids                        # with its children, as systemd's
    if [ "${2:-TERM}" = KILL ]; then         # KillMode=control-group would
        kids=$(children_of "$pid")           # (a snapshot writer among them)
        # shellcheck disable=SC2086 # one word per pid
        kill -KILL "$pid" $kids 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    else
        stop_pid "$pid"
    fi
    unset "LIVE[$pid]"
}
start_redis() {  # mode: appendonly with appendfsync MODE, sets RPID
    local dir=$DATA/redis-$1
    mkdir -p "$dir"
    redis-server --port 0 --unixsocket "$TMP/redis-$1.sock" --unixsocketperm 700 \
        --save '' --appendonly yes --appendfsync "$1" --dir "$dir" --daemonize no \
        >"$TMP/redis-$1.log" 2>&1 &
    RPID=$!
    LIVE[$RPID]=redis-$1
    wait_until "redis-server ($1)" "$RPID" 10 redis-cli -s "$TMP/redis-$1.sock" ping
}

# ---- throughput: the six servers in every cell ----------------------------
declare -A ZPIDS RPIDS RUNS VALID  # RUNS[server,op,clients,depth]: ops/s of the rounds
SERVERS=""                          # zmemory ... ralways reverysec, those that run
for m in $ZMODES; do
    [ "$m" = memory ] || [ "$HAVE_DURABLE" = yes ] || continue
    start_zmgrd "$m" "$m"
    ZPIDS[$m]=$ZPID
    zmgrd_up "$m" "$ZPID" >/dev/null
    SERVERS="$SERVERS z$m"
done
for m in $RMODES; do
    start_redis "$m"
    RPIDS[$m]=$RPID
    SERVERS="$SERVERS r$m"
done
ZRUN=${!ZPIDS[*]}
DISK_SYNCS_START=$(disk_syncs "$DATA")   # the disk's own pace, before and after
echo "$ME: $ROUNDS round(s) of $SECS s per cell; data dirs in $DATA on $DATA_FS;" \
     "zmgrd --data-dir: $HAVE_DURABLE, zmgr admin save: $HAVE_SAVE" >&2

run_cell() {  # server op clients depth: one run, appended to RUNS and VALID
    local s=$1 op=$2 c=$3 d=$4 k=$1,$2,$3,$4 line v ok sock
    progress "round $round: $s $op c=$c d=$d"
    case $s in
    z*) line=$(result timeout $((SECS * 4 + 60)) "$BENCH" --endpoint "$(zep "${s#z}")" \
            --op "$op" --clients "$c" --depth "$d" --seconds "$SECS")
        v=$(field "$line" ops_per_sec) ok=$(field "$line" valid) ;;
    r*) sock=$TMP/redis-${s#r}.sock
        [ "$op" != list_append ] || redis-cli -s "$sock" del bench:list >/dev/null
        v=$(redis_bench "$sock" "$op" "$c" "$d" "$SECS") ok=yes
        [ -n "$v" ] || { ok=no; note_invalid "redis-benchmark ${s#r} $op c=$c d=$d failed"; } ;;
    esac
    RUNS[$k]="${RUNS[$k]:-} ${v:--}"
    [ "${VALID[$k]:-yes}" = no ] || VALID[$k]=$ok
}
rotate() {  # n words... -> the words, starting at the n-th (0-based, wraps)
    local n=$1
    shift
    n=$((n % $#))
    echo "${@:n+1}" "${@:1:n}"
}
# Every cell runs all servers back to back, so that what else the machine
# does hits them alike; each round starts the order one server later.
for round in $(seq "$ROUNDS"); do
    for op in $OPS; do
        for c in $CLIENTS; do
            for d in $DEPTHS; do
                # shellcheck disable=SC2086 # one word per server
                for s in $(rotate $((round - 1)) $SERVERS); do
                    run_cell "$s" "$op" "$c" "$d"
                done
            done
        done
    done
done
for m in $ZRUN; do
    kill -0 "${ZPIDS[$m]}" 2>/dev/null || note_invalid "zmgrd $m is no longer running"
    stop_server "${ZPIDS[$m]}"
done
for m in $RMODES; do
    kill -0 "${RPIDS[$m]}" 2>/dev/null || note_invalid "redis $m is no longer running"
    stop_server "${RPIDS[$m]}"
done
rm -rf "${DATA:?}"/zmgrd-* "${DATA:?}"/redis-*   # the disk for what follows

# ---- restart: SIGKILL with ENTRIES dict entries and JOBS pending jobs -----
declare -A RS       # RS[case,what]: ready_ms (median), all, size, dict, pending
load_state() {  # name: ENTRIES dict entries and JOBS pending jobs into it
    local ep
    ep=$(zep "$1")
    result timeout 600 "$BENCH" --endpoint "$ep" --mem "$ENTRIES" >/dev/null
    result timeout 600 "$JBENCH" --endpoint "$ep" --workers 0 pending_mem "$JOBS" >/dev/null
}
restart_case() {  # case name mode: RESTARTS x (SIGKILL, restart, ping, count)
    local case=$1 name=$2 mode=$3 r line all="" count
    for r in $(seq "$RESTARTS"); do
        progress "restart $case $r of $RESTARTS"
        stop_server "$ZPID" KILL
        start_zmgrd "$name" "$mode"
        line=$(zmgrd_up "$name" "$ZPID")
        if [ "$(field "$line" valid)" = yes ]; then
            all="$all $(field "$line" ready_ms)"
        else
            all="$all -"
        fi
    done
    count=$(result timeout 60 "$PROBE" --endpoint "$(zep "$name")" count bench.mem)
    RS[$case,ms]=$(echo "$all" | median)
    RS[$case,all]=${all# }
    RS[$case,dict]=$(field "$count" dict_len)
    RS[$case,pending]=$(field "$count" pending)
    if [ "$mode" != memory ] && { [ "${RS[$case,dict]}" != "$ENTRIES" ] \
            || [ "${RS[$case,pending]}" != "$JOBS" ]; }; then
        note_invalid "restart $case: restored ${RS[$case,dict]} of $ENTRIES entries, ${RS[$case,pending]} of $JOBS pending jobs"
    fi
}
data_size() {  # name -> "X MiB (snapshots A, logs B; D MiB on disk)"
    local dir=$DATA/zmgrd-$1 disk     # file sizes; on disk counts blocks, so
    disk=$(du -sk "$dir" 2>/dev/null | cut -f1)  # space reserved ahead too
    find "$dir" -type f -printf '%s %f\n' 2>/dev/null | awk -v disk="${disk:-0}" '
        { all += $1 }
        $2 ~ /snap/ { snap += $1 }
        $2 ~ /(\.log|wal)/ && $2 !~ /snap/ { log_ += $1 }
        END { printf "%.1f MiB (snapshots %.1f, logs %.1f; %.1f MiB on disk)\n",
                  all / 1048576, snap / 1048576, log_ / 1048576, disk / 1024 }'
}

echo "$ME: restart: $ENTRIES dict entries, $JOBS pending jobs" >&2
# In memory: what a start costs when there is nothing to read (and what a
# crash loses: everything).
start_zmgrd restart-mem memory
zmgrd_up restart-mem "$ZPID" >/dev/null
load_state restart-mem
restart_case memory restart-mem memory
stop_server "$ZPID"
if [ "$HAVE_DURABLE" = yes ]; then
    start_zmgrd restart everysec
    zmgrd_up restart "$ZPID" >/dev/null
    load_state restart
    RS[log,size]=$(data_size restart)
    restart_case log restart everysec
    if [ "$HAVE_SAVE" = yes ]; then
        mapfile -t cmd < <(save_cmd "$(zep restart)")
        timeout 310 "${cmd[@]}" >"$TMP/save.log" 2>&1 \
            || note_invalid "zmgr admin save: $(tail -n 1 "$TMP/save.log")"
        RS[snapshot,size]=$(data_size restart)
        restart_case snapshot restart everysec
    fi
    stop_server "$ZPID"
    rm -rf "$DATA/zmgrd-restart"
fi

# ---- snapshot stall: pings while admin.save runs --------------------------
STALL="" CONTROL=""
if [ "$HAVE_DURABLE" = yes ] && [ "$HAVE_SAVE" = yes ]; then
    echo "$ME: snapshot: $ENTRIES dict entries" >&2
    start_zmgrd stall everysec
    zmgrd_up stall "$ZPID" >/dev/null
    ep=$(zep stall)
    result timeout 600 "$BENCH" --endpoint "$ep" --mem "$ENTRIES" >/dev/null
    # The control: the same pings while a CLI process only pings, so that
    # what starting a process costs on two CPUs is not blamed on the save.
    # Alternating, STALL_ROUNDS of each: one slow ping is one sample.
    mapfile -t cmd < <(save_cmd "$ep")
    for r in $(seq "$STALL_ROUNDS"); do
        progress "snapshot stall $r of $STALL_ROUNDS: control (zmgr ping)"
        CONTROL="$CONTROL$(result timeout 200 "$PROBE" --endpoint "$ep" stall --base-ms 1000 \
            --tail-ms 1000 --max-ms 120000 -- "$CLI" --endpoint "$ep" ping)"$'\n'
        progress "snapshot stall $r of $STALL_ROUNDS: zmgr admin save"
        STALL="$STALL$(result timeout 200 "$PROBE" --endpoint "$ep" stall --base-ms 1000 \
            --tail-ms 1000 --max-ms 120000 -- "${cmd[@]}")"$'\n'
    done
    STALL_SIZE=$(data_size stall)
    stop_server "$ZPID"
fi
progress ""
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
DISK_SYNCS_END=$(disk_syncs "$DATA")

# ---- report ---------------------------------------------------------------
declare -A OPS_AT   # the median of each cell's rounds
for k in "${!RUNS[@]}"; do
    OPS_AT[$k]=$(echo "${RUNS[$k]}" | median)
    OPS_AT[$k]=${OPS_AT[$k]%.*}
done
cell() {  # key -> ops/s, "!" appended for an invalid run, n/a if not run
    local v=${OPS_AT[$1]:-} ok=${VALID[$1]:-}
    if [ -z "$ok" ]; then echo n/a
    elif [ -z "$v" ] || [ "$v" = 0 ]; then echo "-!"
    elif [ "$ok" = yes ]; then echo "$v"
    else echo "$v!"; fi
}
rat() {  # key key -> ratio, n/a when either side did not run
    if [ -z "${VALID[$1]:-}" ] || [ -z "${VALID[$2]:-}" ]; then echo n/a
    else ratio "${OPS_AT[$1]:-}" "${OPS_AT[$2]:-}"; fi
}
us_ms() { awk -v u="${1:-}" 'BEGIN { if (u == "") print "-"; else printf "%.2f\n", u / 1000 }'; }

echo
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
sanit=$(sed -n 's/^ZMGR_SANITIZE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
echo "zmgr durability benchmark - $(date -u +%FT%TZ), $(nproc) CPUs, load $LOAD_START at" \
     "start, $LOAD_END at end, median of $ROUNDS x $SECS s per cell," \
     "${btype:-unknown} build${sanit:+ with sanitizers $sanit (numbers not meaningful)}"
echo "data dirs in $TMP_PARENT on $DATA_FS; zmgrd --data-dir/--fsync:" \
     "$HAVE_DURABLE, zmgr admin save: $HAVE_SAVE; the disk takes $DISK_SYNCS_START synced" \
     "100-byte appends/s (dd oflag=dsync) at start, $DISK_SYNCS_END at end"
row() {
    printf '%-11s %2s %5s | %8s %8s %8s %8s | %8s %8s | %6s %6s %6s %6s %6s\n' "$@"
}
row "" "" "" "zmgrd" "" "" "" "redis" "" "" "" "" "" ""
row op cl depth memory always everysec no always everysec \
    al/mem es/mem no/mem al/ral es/res
printf '%s\n' "$(printf '%.0s-' $(seq 110))"
cells=0 es_met=0 es_cells=0 al_met=0 al_cells=0
for op in $OPS; do
    for c in $CLIENTS; do
        for d in $DEPTHS; do
            k=$op,$c,$d
            es=$(rat "zeverysec,$k" "zmemory,$k")
            al=$(rat "zalways,$k" "ralways,$k")
            row "$op" "$c" "$d" "$(cell "zmemory,$k")" "$(cell "zalways,$k")" \
                "$(cell "zeverysec,$k")" "$(cell "zno,$k")" "$(cell "ralways,$k")" \
                "$(cell "reverysec,$k")" "$(rat "zalways,$k" "zmemory,$k")" "$es" \
                "$(rat "zno,$k" "zmemory,$k")" "$al" "$(rat "zeverysec,$k" "reverysec,$k")"
            cells=$((cells + 1))
            if [ "$es" != n/a ]; then
                es_cells=$((es_cells + 1))
                met "$es" ">=" 0.90 && es_met=$((es_met + 1))
            fi
            if [ "$al" != n/a ]; then
                al_cells=$((al_cells + 1))
                met "$al" ">=" 1 && al_met=$((al_met + 1))
            fi
        done
    done
done
echo "  ops/s summed over the clients; zmgrd: zmgr_bench (memory = no data dir," \
     "else --data-dir DIR --fsync MODE);"
echo "  redis: redis-benchmark -c N -P D, appendonly yes, appendfsync MODE;" \
     "al = zmgrd always, es = everysec,"
echo "  ral/res = redis always/everysec; ! = invalid run; n/a = this zmgrd has no --data-dir."
echo

rs_line() {  # case label -> one restart line
    local c=$1
    if [ -z "${RS[$c,ms]:-}" ]; then
        printf '         %-24s %7s\n' "$2:" n/a
        return
    fi
    local lost=""
    if [ "$c" != memory ] && { [ "${RS[$c,dict]:-}" != "$ENTRIES" ] \
            || [ "${RS[$c,pending]:-}" != "$JOBS" ]; }; then
        lost=" (INCOMPLETE!)"
    fi
    printf '         %-24s %7s ms (runs: %s)  restored %s entries, %s pending%s%s\n' \
        "$2:" "${RS[$c,ms]}" "${RS[$c,all]}" "${RS[$c,dict]:--}" "${RS[$c,pending]:--}" \
        "$lost" "${RS[$c,size]:+; data dir ${RS[$c,size]}}"
}
echo "restart  SIGKILL, then exec to the first answered ping, $ENTRIES dict entries +" \
     "$JOBS pending jobs, median of $RESTARTS:"
rs_line memory "in memory (nothing kept)"
rs_line log "everysec, without a save"
rs_line snapshot "everysec, after save"
values() {  # lines key -> the key's value in each line, space-separated
    local line out=""
    while read -r line; do
        [ -n "$line" ] && out="$out $(field "$line" "$2")"
    done <<<"$1"
    echo "${out# }"
}
worst() { tr ' ' '\n' | awk '$0 ~ /^[0-9.]+$/ && (m == "" || $0 + 0 > m + 0) { m = $0 }
    END { print m }'; }
if [ -n "$STALL" ]; then
    echo "snapshot $ENTRIES dict entries, data dir after it $STALL_SIZE; zmgr admin save took" \
         "$(values "$STALL" cmd_ms | median) ms (median of $STALL_ROUNDS); ping round trip" \
         "in ms, median of $STALL_ROUNDS runs (worst):"
    stall_row() {  # label results phase
        local maxes
        maxes=$(values "$2" "$3"_max_us)
        printf '         %-28s max %6s (%6s)  p99 %5s (%5s)  p50 %5s  %6s pings; slowest at %s ms\n' \
            "$1" "$(us_ms "$(median <<<"$maxes")")" "$(us_ms "$(worst <<<"$maxes")")" \
            "$(us_ms "$(values "$2" "$3"_p99_us | median)")" \
            "$(us_ms "$(values "$2" "$3"_p99_us | worst)")" \
            "$(us_ms "$(values "$2" "$3"_p50_us | median)")" \
            "$(values "$2" "$3"_n | tr ' ' '\n' | awk '{ n += $1 } END { print n }')" \
            "$(values "$2" "$3"_max_at_ms | tr ' ' /)"
    }
    stall_row "during the save (+1 s):" "$STALL" during
    stall_row "without (1 s before each):" "$STALL$CONTROL" base
    stall_row "during 'zmgr ping' (+1 s):" "$CONTROL" during
else
    echo "snapshot n/a (this zmgrd has no --data-dir, or zmgr has no admin save)"
fi
echo

restart_ms=""
for c in snapshot log; do  # the worse of the two durable cases
    v=${RS[$c,ms]:-}
    [ -n "$v" ] || continue
    if [ -z "$restart_ms" ] || met "$v" ">=" "$restart_ms"; then restart_ms=$v; fi
done
stall_ms=""
[ -z "$STALL" ] || stall_ms=$(us_ms "$(values "$STALL" during_max_us | median)")
echo "goals    everysec within 10% of memory: $es_met of $es_cells cells" \
     "(of $cells); always >= redis always: $al_met of $al_cells cells;" \
     "restart < 1 s: $(goal "$restart_ms" "<" 1000 " ms");" \
     "snapshot stall <= 10 ms (median max): $(goal "$stall_ms" "<=" 10 " ms")"
if [ "$FAILED" -ne 0 ]; then
    echo "$ME: some runs were INVALID (marked !); see the messages above" >&2
    exit 1
fi
