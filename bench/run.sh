#!/usr/bin/env bash
# bench/run.sh - run the zmgr benchmark and its references in one go
# Starts its own zmgrd (on its ipc endpoint and on a unix:// one), a raw
# libzmq ROUTER echo (zmq_echo) and a Redis (Debian's redis-server), all on
# ipc:// or unix sockets in a fresh temp dir; runs zmgr_bench against each
# (zmgr once per transport), unix_pingpong for the AF_UNIX floor,
# redis-benchmark against Redis and manager_bench.py (Debian's python3) for
# Python's multiprocessing.Manager; prints one table of ops/s, ratios and
# the goals, the latency and memory lines; stops all it started on exit.
# What the columns mean: bench/README.md.
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
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<EOF

  --seconds S   measuring time per cell, whole seconds (default 3)
  --quick       1 second per cell (the memory test keeps its size)
  --mem N       dict entries for the memory comparison (default 1000000)
  --ops LIST    operations to run (default: $OPS)
  BUILD_DIR     cmake build dir (default: build-bench in the repository);
                configured (Release) and built if a program is missing
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
ME=run.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
missing=""
for tool in redis-server redis-cli redis-benchmark cmake; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
py=$(python_missing) && missing="$missing $py"
if [ -n "$missing" ]; then
    echo "run.sh: missing:$missing" >&2
    echo "run.sh: the references need Debian's Redis and Debian's Python at $PYTHON" >&2
    echo "    (not whichever python3 comes first on PATH); install them with" >&2
    echo "    sudo apt-get install redis-server redis-tools python3 cmake" >&2
    echo "run.sh: (redis-server is only started by this script, on a unix socket" >&2
    echo "    in a temp dir; you may 'systemctl disable --now redis-server' after)" >&2
    exit 2
fi

ZMGRD=$BUILD/daemon/zmgrd
BENCH=$BUILD/bench/zmgr_bench
ECHO=$BUILD/bench/zmq_echo
PINGPONG=$BUILD/bench/unix_pingpong
ensure_built "$BUILD" zmgrd=daemon/zmgrd zmgr_bench=bench/zmgr_bench \
    zmq_echo=bench/zmq_echo unix_pingpong=bench/unix_pingpong

# ---- servers --------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)  # others' work skews the numbers
TMP=$(mktemp -d /tmp/zmgr-bench-XXXXXX)
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
# The zmgr rows run once per transport: the default ipc:// endpoint (ZeroMQ)
# and a direct unix:// one. A zmgrd or a libzmgr that does not know unix://
# leaves those rows n/a, with the reason in UNIX_NA.
declare -A ZEP=([ipc]=$ZMGR_ENDPOINT [unix]=unix://$TMP/zmgrd-unix.sock)
TRANSPORTS="ipc unix"
UNIX_NA=""
start_zmgrd() {  # extra-args...: starts the broker under test, sets ZMGRD_PID
    # No workers: the bench measures the object store. A high item limit: a
    # long list_append cell at 4 clients can pass the default 10,000,000.
    "$ZMGRD" --workers 0 --max-items 1000000000 "$@" >"$TMP/zmgrd.log" 2>&1 &
    ZMGRD_PID=$!
}
# --mem-clear connects, says hello and deletes a dict that is not there.
start_zmgrd -e "${ZEP[unix]}"
if ! wait_until zmgrd "$ZMGRD_PID" 10 "$BENCH" --mem-clear 2>/dev/null; then
    if kill -0 "$ZMGRD_PID" 2>/dev/null; then
        echo "run.sh: zmgrd did not come up within 10 s" >&2
        exit 1
    fi
    wait "$ZMGRD_PID" 2>/dev/null || true
    why=$(grep -m 1 -i 'unix' "$TMP/zmgrd.log" || true)
    if [ -z "$why" ]; then
        echo "run.sh: zmgrd exited during start" >&2
        exit 1
    fi
    UNIX_NA="unix:// not supported by this zmgrd"
    echo "run.sh: zmgrd refused ${ZEP[unix]}: $why" >&2
    echo "run.sh: the zmgr unix rows are n/a; zmgrd runs on ipc:// only" >&2
    rm -f "$TMP/zmgrd.log"
    start_zmgrd
    wait_until zmgrd "$ZMGRD_PID" 10 "$BENCH" --mem-clear
elif ! wait_until "zmgrd on ${ZEP[unix]}" "$ZMGRD_PID" 5 \
        "$BENCH" --endpoint "${ZEP[unix]}" --mem-clear 2>/dev/null; then
    # The broker took the endpoint; the client library cannot use it.
    UNIX_NA="unix:// not supported by this libzmgr"
    echo "run.sh: zmgr_bench cannot reach ${ZEP[unix]}:" \
         "$("$BENCH" --endpoint "${ZEP[unix]}" --mem-clear 2>&1 | tail -n 1)" >&2
    echo "run.sh: the zmgr unix rows are n/a" >&2
fi
[ -z "$UNIX_NA" ] || TRANSPORTS=ipc

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
declare -A Z ZP ZV E EP EV R RV H HV HP P PP PV U UP UV N NP NV
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
        # The kernel's floor: AF_UNIX ping-pong over socketpairs (the table's
        # column) and over a named socket reached with connect (a line below).
        progress "AF_UNIX ping-pong c=$c d=$d"
        line=$(result "$PINGPONG" --clients "$c" --depth "$d" --seconds "$SECS")
        U[$c,$d]=$(field "$line" ops_per_sec); UP[$c,$d]=$(field "$line" p50_us)
        UV[$c,$d]=$(field "$line" valid)
        line=$(result "$PINGPONG" --transport named --path "$TMP/pingpong.sock" \
                      --clients "$c" --depth "$d" --seconds "$SECS")
        N[$c,$d]=$(field "$line" ops_per_sec); NP[$c,$d]=$(field "$line" p50_us)
        NV[$c,$d]=$(field "$line" valid)
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
            for tr in $TRANSPORTS; do
                progress "zmgr $tr $op c=$c d=$d"
                line=$(bench --endpoint "${ZEP[$tr]}" --op "$op" --clients "$c" \
                             --depth "$d" --seconds "$SECS")
                Z[$tr,$k]=$(field "$line" ops_per_sec); ZP[$tr,$k]=$(field "$line" p50_us)
                ZV[$tr,$k]=$(field "$line" valid)
            done

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
timeout $((SECS * 20 + 120)) "$PYTHON" -I "$ROOT/bench/manager_bench.py" $pyops \
    --clients 1 --clients 4 --seconds "$SECS" >"$TMP/python.out" 2>"$TMP/python.log" \
    || note_invalid "manager_bench.py failed (see python.log)"
while read -r line; do
    case $line in RESULT*) ;; *) continue ;; esac
    k=$(field "$line" op),$(field "$line" clients)
    P[$k]=$(field "$line" ops_per_sec); PP[$k]=$(field "$line" p50_us)
    PV[$k]=$(field "$line" valid)
    [ "${PV[$k]}" = yes ] || note_invalid "$line"
done <"$TMP/python.out"

# Latency: a depth-1 p50 moves with whatever else the machine does (an idle
# CPU wakes up slower than a busy one), so the echo, the AF_UNIX ping-pong
# and zmgr on each transport are measured back to back, alternating, and
# the medians compared (lib.sh's median: a run that printed nothing is left
# out, and no value at all gives an empty median, not an error).
LAT_ROUNDS=5 LAT_SECS=1
[ "$SECS" -ge 3 ] || LAT_ROUNDS=3
e_lat="" u_lat=""
declare -A z_lat raw_lat
for r in $(seq "$LAT_ROUNDS"); do
    progress "latency round $r of $LAT_ROUNDS"
    line=$(bench --echo "$ECHO_EP" --clients 1 --depth 1 --seconds "$LAT_SECS")
    e_lat="$e_lat $(field "$line" p50_us)"
    line=$(result "$PINGPONG" --clients 1 --depth 1 --seconds "$LAT_SECS")
    u_lat="$u_lat $(field "$line" p50_us)"
    for tr in $TRANSPORTS; do
        line=$(bench --endpoint "${ZEP[$tr]}" --op dict_set --clients 1 --depth 1 \
                     --seconds "$LAT_SECS")
        z_lat[$tr]="${z_lat[$tr]:-} $(field "$line" p50_us)"
        line=$(bench --endpoint "${ZEP[$tr]}" --op dict_set --clients 1 --depth 1 --raw \
                     --seconds "$LAT_SECS")
        raw_lat[$tr]="${raw_lat[$tr]:-} $(field "$line" p50_us)"
    done
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

pass_miss() {  # x op limit [bad] -> PASS or MISS ("!" when a cell was invalid), "-" without x
    local verdict
    case ${1:-} in ''|-) echo "-"; return ;; esac
    if met "$1" "$2" "$3"; then verdict=PASS; else verdict=MISS; fi
    [ "${4:-yes}" = yes ] || verdict="$verdict!"
    echo "$verdict"
}
valid_all() {  # valid-flags... -> yes if every one is yes (an empty one counts as yes)
    local v
    for v in "$@"; do [ -z "$v" ] || [ "$v" = yes ] || { echo no; return; }; done
    echo yes
}

echo
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
sanit=$(sed -n 's/^ZMGR_SANITIZE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
echo "zmgr benchmark - $(date -u +%FT%TZ), $(nproc) CPUs, load $LOAD_START at start," \
     "$SECS s per cell, ${btype:-unknown} build${sanit:+ with sanitizers $sanit (numbers not meaningful)}"
echo "python   $(python_about)"
unix_ep=${ZEP[unix]}
[ -z "$UNIX_NA" ] || unix_ep="n/a ($UNIX_NA)"
echo "zmgrd    endpoints: ipc ${ZEP[ipc]}, unix $unix_ep"
row() {
    printf '%-11s %2s %5s %-4s | %9s %6s | %9s %9s %6s | %9s %9s %9s | %6s %6s %6s %6s %6s | %-5s %-5s %-5s\n' "$@"
}
row op cl depth via zmgr p50 echo af_unix p50 redis redis-h python \
    z/echo z/red z/redh z/py p50/u py redis p50
row "" "" "" "" ops/s us ops/s ops/s us ops/s ops/s ops/s "" "" "" "" "" ">=1.5" "1.5|1" "<=3"
printf '%s\n' "$(printf '%.0s-' $(seq 150))"
declare -A G_PASS G_CELLS   # transport,goal -> cells that passed, cells measured
for op in $OPS; do
    for c in $CLIENTS; do
        for d in $DEPTHS; do
            k=$op,$c,$d
            r=${R[$k]:-}
            rv=${RV[$k]:-yes}
            [ -n "$r" ] || { r=${H[$k]:-}; rv=${HV[$k]:-}; }  # queue_rt
            p=${P[$op,$c]:-}
            for tr in ipc unix; do
                if [ "$tr" = unix ] && [ -n "$UNIX_NA" ]; then
                    printf '%-11s %2s %5s %-4s | %s\n' "$op" "$c" "$d" "$tr" "n/a ($UNIX_NA)"
                    continue
                fi
                z=${Z[$tr,$k]:-} zv=${ZV[$tr,$k]:-}
                zr=$(ratio "$z" "$r")
                zp=$(ratio "$z" "$p")
                zu="" up=""
                if [ "$d" = 1 ]; then
                    zu=${ZP[$tr,$k]:-}; up=${UP[$c,1]:-}
                fi
                pu=$(ratio "$zu" "$up")
                # The goals: depth 1 (the synchronous calls) >= 1.5x Python's
                # Manager and >= 1.5x Redis, p50 <= 3x the AF_UNIX ping-pong's;
                # depth 64 >= redis-benchmark at the same clients and depth.
                g_py=- g_red=- g_p50=-
                if [ "$d" = 1 ]; then
                    g_py=$(pass_miss "$zp" '>=' 1.5 "$(valid_all "$zv" "${PV[$op,$c]:-}")")
                    g_red=$(pass_miss "$zr" '>=' 1.5 "$(valid_all "$zv" "$rv")")
                    g_p50=$(pass_miss "$pu" '<=' 3 "$(valid_all "$zv" "${UV[$c,1]:-}")")
                    gl=("sync_py:$g_py" "sync_red:$g_red" "p50:$g_p50")
                else
                    g_red=$(pass_miss "$zr" '>=' 1 "$(valid_all "$zv" "$rv")")
                    gl=("d64_red:$g_red")
                fi
                for g in "${gl[@]}"; do
                    [ "${g#*:}" != - ] || continue
                    G_CELLS[$tr,${g%%:*}]=$(( ${G_CELLS[$tr,${g%%:*}]:-0} + 1 ))
                    case ${g#*:} in PASS) G_PASS[$tr,${g%%:*}]=$(( ${G_PASS[$tr,${g%%:*}]:-0} + 1 )) ;; esac
                done
                row "$op" "$c" "$d" "$tr" "$(mark "$z" "$zv")" "${zu:--}" \
                    "$(mark "${E[$c,$d]}" "${EV[$c,$d]}")" \
                    "$(mark "${U[$c,$d]:-}" "${UV[$c,$d]:-}")" "${up:--}" \
                    "$(mark "$r" "$rv")$([ -n "${R[$k]:-}" ] || echo '*')" \
                    "$(mark "${H[$k]}" "${HV[$k]}")" \
                    "$(mark "$p" "${PV[$op,$c]:-}")$([ "$d" = 1 ] || echo '^')" \
                    "$(ratio "$z" "${E[$c,$d]}")" "$zr" "$(ratio "$z" "${H[$k]}")" "$zp" \
                    "$pu" "$g_py" "$g_red" "$g_p50"
            done
        done
    done
done
echo "  via = zmgr's transport: ipc = the ipc:// endpoint (ZeroMQ), unix = the direct unix://"
echo "  endpoint; p50 = the depth-1 round trip (zmgr: the synchronous call) in us."
echo "  af_unix = unix_pingpong, the kernel's floor: N clients and one echo process over"
echo "  socketpairs, 30-byte messages (depth 64: 64 written at once, 64 read back)."
echo "  redis = redis-benchmark -c N -P D (* = no single command: queue_rt is RPUSH+LPOP"
echo "  pairs through zmgr_bench's own RESP client, = redis-h); redis-h = the same harness"
echo "  as zmgr (N processes, D in flight); python = multiprocessing.Manager at depth 1"
echo "  (^ = the depth-1 number repeated; a Manager proxy cannot pipeline); ! = invalid run."
echo "  z/X = zmgr ops/s / X's (above 1 zmgr is faster); p50/u = zmgr p50 / af_unix p50."
echo "  Goals, PASS or MISS: py = z/py >= 1.5 (depth 1); redis = z/red >= 1.5 at depth 1,"
echo "  >= 1 at depth 64; p50 = p50/u <= 3 (depth 1)."
af_cells=""
for c in $CLIENTS; do
    for d in $DEPTHS; do
        cell="cl $c depth $d $(mark "${N[$c,$d]:-}" "${NV[$c,$d]:-}") ops/s"
        [ "$d" != 1 ] || cell="$cell p50 ${NP[$c,$d]:--} us"
        af_cells="${af_cells:+$af_cells, }$cell"
    done
done
echo "af_unix  over a named socket (listen, connect, accept) instead of socketpairs: $af_cells"
echo

k=dict_set,1,1
e_p50=$(echo "$e_lat" | median) u_p50=$(echo "$u_lat" | median)
lat_z="" lat_r=""
for tr in ipc unix; do
    if [ "$tr" = unix ] && [ -n "$UNIX_NA" ]; then
        lat_z="$lat_z, zmgr unix n/a"
        continue
    fi
    zl=$(echo "${z_lat[$tr]:-}" | median) rl=$(echo "${raw_lat[$tr]:-}" | median)
    lat_z="$lat_z, zmgr $tr sync ${zl:--} us (zmgr_send/recv ${rl:--} us)"
    lu=$(ratio "$zl" "$u_p50")
    lat_r="$lat_r, zmgr $tr/af_unix = $lu $(pass_miss "$lu" '<=' 3)"
done
z_unix_p50="${ZP[unix,$k]:--} us"
[ -z "$UNIX_NA" ] || z_unix_p50=n/a
echo "latency  dict_set, 1 client, depth 1, p50 round trip, median of $LAT_ROUNDS" \
     "alternating runs: ${lat_z#, }, raw echo ${e_p50:--} us, af_unix ${u_p50:--} us"
echo "         ${lat_r#, } (goal: <= 3);" \
     "zmgr ipc/echo = $(ratio "$(echo "${z_lat[ipc]:-}" | median)" "$e_p50")"
echo "         (from the table's runs: zmgr ipc ${ZP[ipc,$k]:--} us," \
     "zmgr unix $z_unix_p50, echo ${EP[1,1]:--} us, af_unix ${UP[1,1]:--} us," \
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
goal_count() {  # transport goal -> "P of N PASS"
    echo "${G_PASS[$1,$2]:-0} of ${G_CELLS[$1,$2]:-0} PASS"
}
lead="goals   "
for tr in ipc unix; do
    if [ "$tr" = unix ] && [ -n "$UNIX_NA" ]; then
        echo "$lead zmgr unix: n/a ($UNIX_NA)"
    else
        echo "$lead zmgr $tr: sync >= 1.5x python $(goal_count "$tr" sync_py);" \
             "sync >= 1.5x redis $(goal_count "$tr" sync_red);" \
             "p50 <= 3x af_unix $(goal_count "$tr" p50);" \
             "depth 64 >= redis-benchmark $(goal_count "$tr" d64_red)"
    fi
    lead="        "
done
if [ "$FAILED" -ne 0 ]; then
    echo "run.sh: some runs were INVALID (marked !); see the messages above" >&2
    exit 1
fi
