#!/usr/bin/env bash
# bench/run.sh - run the zmgr benchmark and its references in one go
# Starts its own zmgrd, a raw libzmq ROUTER echo (zmq_echo) and a Redis
# (Debian's redis-server), all on ipc:// or unix sockets in a fresh temp
# dir; runs zmgr_bench against each, redis-benchmark against Redis and
# manager_bench.py for Python's multiprocessing.Manager; prints one table
# of ops/s and ratios, the latency line and the memory line; stops all it
# started on exit. What the columns mean: bench/README.md.
#
# usage: bench/run.sh [--seconds S] [--quick] [--mem N] [--ops "op ..."]
#                     [BUILD_DIR]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-bench
SECS=3
MEM_ENTRIES=1000000
OPS="dict_set dict_get list_append queue_rt value_add"
CLIENTS="1 4"
DEPTHS="1 64"

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<EOF

  --seconds S   measuring time per cell, whole seconds (default 3)
  --quick       1 second per cell (the memory test keeps its size)
  --mem N       dict entries for the memory comparison (default 1000000)
  --ops LIST    operations to run (default: $OPS)
  BUILD_DIR     cmake build dir (default: build-bench in the repository);
                configured and built (Release) if zmgrd or zmgr_bench is missing
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
    --seconds) SECS=${2:?--seconds needs a value}; shift 2 ;;
    --quick) SECS=1; shift ;;
    --mem) MEM_ENTRIES=${2:?--mem needs a value}; shift 2 ;;
    --ops) OPS=${2:?--ops needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) BUILD=$1; shift ;;
    esac
done
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
case $SECS in ''|*[!0-9]*|0) echo "run.sh: --seconds takes a whole number > 0" >&2; exit 2 ;; esac
case $MEM_ENTRIES in ''|*[!0-9]*|0) echo "run.sh: --mem takes a number > 0" >&2; exit 2 ;; esac
for op in $OPS; do
    case $op in dict_set|dict_get|list_append|queue_rt|value_add) ;;
    *) echo "run.sh: unknown op $op" >&2; exit 2 ;;
    esac
done

# ---- what we need ---------------------------------------------------------
missing=""
for tool in redis-server redis-cli redis-benchmark python3 cmake; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "run.sh: missing:$missing" >&2
    echo "run.sh: the references need Debian's Redis and Python; install them with" >&2
    echo "    sudo apt-get install redis-server redis-tools python3 cmake" >&2
    echo "run.sh: (redis-server is only started by this script, on a unix socket" >&2
    echo "    in a temp dir; you may 'systemctl disable --now redis-server' after)" >&2
    exit 2
fi

ZMGRD=$BUILD/daemon/zmgrd
BENCH=$BUILD/bench/zmgr_bench
ECHO=$BUILD/bench/zmq_echo
if [ ! -x "$ZMGRD" ] || [ ! -x "$BENCH" ] || [ ! -x "$ECHO" ]; then
    echo "run.sh: building in $BUILD" >&2
    [ -f "$BUILD/CMakeCache.txt" ] \
        || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
                 -DBUILD_TESTING=OFF >&2
    cmake --build "$BUILD" -j2 --target zmgrd zmgr_bench zmq_echo >&2
fi

# ---- servers --------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)  # others' work skews the numbers
TMP=$(mktemp -d /tmp/zmgr-bench-XXXXXX)
ME=run.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
ZMGRD_PID="" ECHO_PID="" REDIS_PID="" FAILED=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$ZMGRD_PID"
    stop_pid "$ECHO_PID"
    stop_pid "$REDIS_PID"
    if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
        show_logs
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM



export XDG_RUNTIME_DIR=$TMP/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
export ZMGR_ENDPOINT=ipc://$XDG_RUNTIME_DIR/zmgr/zmgrd.sock
# No workers: the bench measures the object store. A high item limit: a long
# list_append cell at 4 clients can pass the default 10,000,000.
"$ZMGRD" --workers 0 --max-items 1000000000 >"$TMP/zmgrd.log" 2>&1 &
ZMGRD_PID=$!
# --mem-clear connects, says hello and deletes a dict that is not there.
wait_until zmgrd "$ZMGRD_PID" 10 "$BENCH" --mem-clear

ECHO_EP=ipc://$TMP/echo.sock
"$ECHO" "$ECHO_EP" >"$TMP/zmq_echo.log" 2>&1 &
ECHO_PID=$!
wait_until zmq_echo "$ECHO_PID" 10 test -S "$TMP/echo.sock"

REDIS_SOCK=$TMP/redis.sock
redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
    --save '' --appendonly no --dir "$TMP" --daemonize no \
    >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
wait_until redis-server "$REDIS_PID" 10 redis-cli -s "$REDIS_SOCK" ping
rcli() { redis-cli -s "$REDIS_SOCK" "$@"; }

# ---- result bookkeeping ---------------------------------------------------
declare -A Z ZP ZV E EP EV R RV H HV HP P PP PV
field() {  # line key -> value
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
note_invalid() {
    FAILED=1
    echo "run.sh: INVALID: $1" >&2
}
bench() {  # runs zmgr_bench, echoes its RESULT line; errors go to stderr
    local out
    out=$("$BENCH" "$@" 2> >(sed 's/^/  /' >&2)) || true
    out=$(printf '%s\n' "$out" | grep '^RESULT' | tail -n 1)
    if [ -z "$out" ]; then
        note_invalid "zmgr_bench $* printed no result"
        out="RESULT ops_per_sec=0 valid=no"
    elif [ "$(field "$out" valid)" != yes ]; then
        note_invalid "zmgr_bench $*: $out"
    fi
    printf '%s\n' "$out"
}
progress() {  # a status line on a terminal, nothing in a log
    if [ -t 2 ]; then printf '  %-60s\r' "$*" >&2; fi
}

# ---- memory: 1,000,000 small dict entries ---------------------------------
echo "run.sh: memory: $MEM_ENTRIES dict entries key:<i> -> i % 100" >&2
z_rss0=$(rss_kb "$ZMGRD_PID")
zmem=$(bench --mem "$MEM_ENTRIES")
z_rss1=$(rss_kb "$ZMGRD_PID")
r_used0=$(rcli info memory | tr -d '\r' | sed -n 's/^used_memory://p')
r_rss0=$(rss_kb "$REDIS_PID")
awk -v n="$MEM_ENTRIES" 'BEGIN {
    for (i = 0; i < n; i++) {
        k = "key:" i; v = "" (i % 100)
        printf "*4\r\n$4\r\nHSET\r\n$9\r\nbench:mem\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
               length(k), k, length(v), v
    } }' | rcli --pipe >"$TMP/redis-pipe.log" 2>&1 \
    || note_invalid "redis-cli --pipe: $(tail -n 1 "$TMP/redis-pipe.log")"
r_len=$(rcli hlen bench:mem)
[ "$r_len" = "$MEM_ENTRIES" ] || note_invalid "redis hash has $r_len entries"
r_used1=$(rcli info memory | tr -d '\r' | sed -n 's/^used_memory://p')
r_rss1=$(rss_kb "$REDIS_PID")
"$BENCH" --mem-clear >/dev/null 2>&1 || true
rcli del bench:mem >/dev/null

# ---- throughput -----------------------------------------------------------
echo "run.sh: $SECS s per cell; zmgrd pid $ZMGRD_PID, redis pid $REDIS_PID" >&2
# Redis: the keys dict_get reads (redis-benchmark's __rand_int__ is 12 digits).
awk 'BEGIN { for (i = 0; i < 10000; i++) {
        k = sprintf("key:%012d", i)
        printf "*4\r\n$4\r\nHSET\r\n$7\r\nbench:h\r\n$%d\r\n%s\r\n$1\r\nv\r\n", length(k), k
    } }' | rcli --pipe >/dev/null

for c in $CLIENTS; do
    for d in $DEPTHS; do
        progress "echo c=$c d=$d"
        line=$(bench --echo "$ECHO_EP" --clients "$c" --depth "$d" --seconds "$SECS")
        E[$c,$d]=$(field "$line" ops_per_sec); EP[$c,$d]=$(field "$line" p50_us)
        EV[$c,$d]=$(field "$line" valid)
    done
done

declare -A RB_CMD=(
    [dict_set]="HSET bench:h key:__rand_int__ v"
    [dict_get]="HGET bench:h key:__rand_int__"
    [list_append]="RPUSH bench:list v"
    [value_add]="INCRBY bench:value 1"
)
for op in $OPS; do
    for c in $CLIENTS; do
        for d in $DEPTHS; do
            k=$op,$c,$d
            progress "zmgr $op c=$c d=$d"
            line=$(bench --op "$op" --clients "$c" --depth "$d" --seconds "$SECS")
            Z[$k]=$(field "$line" ops_per_sec); ZP[$k]=$(field "$line" p50_us)
            ZV[$k]=$(field "$line" valid)

            progress "redis (harness) $op c=$c d=$d"
            [ "$op" = list_append ] && rcli del bench:list >/dev/null
            line=$(bench --redis "$REDIS_SOCK" --op "$op" --clients "$c" \
                         --depth "$d" --seconds "$SECS")
            H[$k]=$(field "$line" ops_per_sec); HV[$k]=$(field "$line" valid)
            HP[$k]=$(field "$line" p50_us)

            if [ -n "${RB_CMD[$op]:-}" ]; then
                progress "redis-benchmark $op c=$c d=$d"
                [ "$op" = list_append ] && rcli del bench:list >/dev/null
                # As many requests as the harness did in SECS, so that both
                # run about as long; at least 20000.
                n=$(field "$line" ops); n=${n:-0}
                [ "$n" -ge 20000 ] || n=20000
                # shellcheck disable=SC2086 # the command is words on purpose
                csv=$(redis-benchmark -s "$REDIS_SOCK" -c "$c" -P "$d" -n "$n" \
                        -r 10000 --csv ${RB_CMD[$op]} 2>"$TMP/rb.err" | tail -n 1) || true
                rps=$(printf '%s\n' "$csv" | awk -F'"' '{ print $4 }')
                if [ -z "$rps" ]; then
                    note_invalid "redis-benchmark $op c=$c d=$d: $(tail -n 1 "$TMP/rb.err")"
                    rps=0
                fi
                R[$k]=${rps%.*}; RV[$k]=yes
            fi
        done
    done
done

progress "python multiprocessing.Manager"
pyops=""
for op in $OPS; do pyops="$pyops --op $op"; done
# shellcheck disable=SC2086
timeout $((SECS * 20 + 120)) python3 "$ROOT/bench/manager_bench.py" $pyops --clients 1 --clients 4 \
    --seconds "$SECS" >"$TMP/python.out" 2>"$TMP/python.log" \
    || note_invalid "manager_bench.py failed (see python.log)"
while read -r line; do
    case $line in RESULT*) ;; *) continue ;; esac
    k=$(field "$line" op),$(field "$line" clients)
    P[$k]=$(field "$line" ops_per_sec); PP[$k]=$(field "$line" p50_us)
    PV[$k]=$(field "$line" valid)
    [ "${PV[$k]}" = yes ] || note_invalid "$line"
done <"$TMP/python.out"

# Latency: a depth-1 p50 moves with whatever else the machine does (an idle
# CPU wakes up slower than a busy one), so the echo and zmgr are measured
# back to back, alternating, and the medians compared.
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 }
    END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
LAT_ROUNDS=5 LAT_SECS=1
[ "$SECS" -ge 3 ] || LAT_ROUNDS=3
e_lat="" z_lat="" raw_lat=""
for r in $(seq "$LAT_ROUNDS"); do
    progress "latency round $r of $LAT_ROUNDS"
    line=$(bench --echo "$ECHO_EP" --clients 1 --depth 1 --seconds "$LAT_SECS")
    e_lat="$e_lat $(field "$line" p50_us)"
    line=$(bench --op dict_set --clients 1 --depth 1 --seconds "$LAT_SECS")
    z_lat="$z_lat $(field "$line" p50_us)"
    line=$(bench --op dict_set --clients 1 --depth 1 --raw --seconds "$LAT_SECS")
    raw_lat="$raw_lat $(field "$line" p50_us)"
done
progress ""

# A server that died mid-run makes every number after it meaningless.
for srv in "zmgrd:$ZMGRD_PID" "zmq_echo:$ECHO_PID" "redis-server:$REDIS_PID"; do
    kill -0 "${srv#*:}" 2>/dev/null || note_invalid "${srv%%:*} is no longer running"
done

# ---- report ---------------------------------------------------------------
ratio() {  # a b -> a/b with 2 decimals, "-" if either is missing or zero
    awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
        if (a == "" || b == "" || b + 0 == 0 || a == "-" || b == "-") print "-"
        else printf "%.2f\n", a / b }'
}
mark() {  # value valid -> value, with "!" when the run was invalid
    if [ -z "${1:-}" ]; then echo "-"
    elif [ "${2:-yes}" = yes ]; then echo "$1"
    else echo "$1!"; fi
}

echo
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
sanit=$(sed -n 's/^ZMGR_SANITIZE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
echo "zmgr benchmark - $(date -u +%FT%TZ), $(nproc) CPUs, load $LOAD_START at start," \
     "$SECS s per cell, ${btype:-unknown} build${sanit:+ with sanitizers $sanit (numbers not meaningful)}"
row() {
    printf '%-11s %2s %5s | %9s %9s %9s %9s %9s | %6s %6s %6s %6s\n' "$@"
}
row op cl depth zmgr echo redis redis-h python \
    z/echo z/red z/redh z/py
row "" "" "" ops/s ops/s ops/s ops/s ops/s "" "" "" ""
printf '%s\n' "$(printf '%.0s-' $(seq 104))"
redis_cells=0 redis_met=0 redish_met=0 py_cells=0 py_met=0 py64_met=0
for op in $OPS; do
    for c in $CLIENTS; do
        for d in $DEPTHS; do
            k=$op,$c,$d
            r=${R[$k]:-}
            rv=${RV[$k]:-yes}
            [ -n "$r" ] || { r=${H[$k]:-}; rv=${HV[$k]:-}; }  # queue_rt
            p=${P[$op,$c]:-}
            zr=$(ratio "${Z[$k]}" "$r")
            zp=$(ratio "${Z[$k]}" "$p")
            row "$op" "$c" "$d" "$(mark "${Z[$k]}" "${ZV[$k]}")" \
                "$(mark "${E[$c,$d]}" "${EV[$c,$d]}")" \
                "$(mark "$r" "$rv")$([ -n "${R[$k]:-}" ] || echo '*')" \
                "$(mark "${H[$k]}" "${HV[$k]}")" \
                "$(mark "$p" "${PV[$op,$c]:-}")$([ "$d" = 1 ] || echo '^')" \
                "$(ratio "${Z[$k]}" "${E[$c,$d]}")" "$zr" \
                "$(ratio "${Z[$k]}" "${H[$k]}")" "$zp"
            if [ "$zr" != - ]; then
                redis_cells=$((redis_cells + 1))
                awk -v x="$zr" 'BEGIN { exit !(x >= 1) }' && redis_met=$((redis_met + 1))
            fi
            awk -v x="$(ratio "${Z[$k]}" "${H[$k]}")" 'BEGIN { exit !(x != "-" && x >= 1) }' \
                && redish_met=$((redish_met + 1))
            if [ "$zp" != - ] && [ "$d" = 1 ]; then
                py_cells=$((py_cells + 1))
                awk -v x="$zp" 'BEGIN { exit !(x >= 10) }' && py_met=$((py_met + 1))
            elif [ "$zp" != - ]; then
                awk -v x="$zp" 'BEGIN { exit !(x >= 10) }' && py64_met=$((py64_met + 1))
            fi
        done
    done
done
echo "  redis = redis-benchmark -c N -P D (* = no single command: queue_rt is"
echo "  RPUSH+LPOP pairs through zmgr_bench's own RESP client, = redis-h);"
echo "  redis-h = the same harness as zmgr (N processes, D in flight);"
echo "  python = multiprocessing.Manager at depth 1 (^ = the depth-1 number"
echo "  repeated; a Manager proxy cannot pipeline); ! = invalid run (errors)."
echo

k=dict_set,1,1
z_p50=$(echo "$z_lat" | median) e_p50=$(echo "$e_lat" | median)
raw_p50=$(echo "$raw_lat" | median)
lat_ratio=$(ratio "$z_p50" "$e_p50")
echo "latency  dict_set, 1 client, depth 1, p50 round trip, median of" \
     "$LAT_ROUNDS alternating runs: zmgr sync ${z_p50:--} us" \
     "(zmgr_send/recv ${raw_p50:--} us), raw echo ${e_p50:--} us;" \
     "zmgr/echo = $lat_ratio"
echo "         (from the table's runs: zmgr ${ZP[$k]:--} us, echo ${EP[1,1]:--} us," \
     "redis ${HP[$k]:--} us, python ${PP[dict_set,1]:--} us)"
z_delta=$(( (z_rss1 - z_rss0) * 1024 ))
r_rss_delta=$(( (r_rss1 - r_rss0) * 1024 ))
r_used_delta=$(( r_used1 - r_used0 ))
per() { awk -v b="$1" -v n="$MEM_ENTRIES" 'BEGIN { printf "%.0f", b / n }'; }
echo "memory   $MEM_ENTRIES dict entries: zmgrd RSS +$((z_delta / 1048576)) MiB" \
     "($(per $z_delta) B/entry; broker's own count" \
     "$(field "$zmem" stats_memory_delta) B)," \
     "redis RSS +$((r_rss_delta / 1048576)) MiB ($(per $r_rss_delta) B/entry;" \
     "used_memory +$((r_used_delta / 1048576)) MiB);" \
     "zmgr/redis RSS = $(ratio $z_delta $r_rss_delta)"
echo
echo "goals    sync RTT <= 1.5x echo: $(awk -v x="$lat_ratio" 'BEGIN {
                 print (x != "-" && x <= 1.5) ? "met" : "NOT met" }') ($lat_ratio);" \
     "ops/s >= redis: $redis_met of $redis_cells cells" \
     "(>= redis-h: $redish_met);" \
     ">= 10x python: $py_met of $py_cells depth-1 cells" \
     "(depth 64 vs python: $py64_met of $py_cells)"
if [ "$FAILED" -ne 0 ]; then
    echo "run.sh: some runs were INVALID (marked !); see the messages above" >&2
    exit 1
fi
