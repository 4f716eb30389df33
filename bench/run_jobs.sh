#!/usr/bin/env bash
# bench/run_jobs.sh - the jobs benchmark: zmgr's Pool against its references
# Starts its own zmgrd with 2 local workers (clients on its default unix://
# endpoint, as libzmgr's default; a second ipc:// endpoint for the latency
# over ZeroMQ); one with 1 worker for the speed-up line,
# one with none for the memory line), a raw libzmq ROUTER echo (zmq_echo),
# and Gearman (Debian's gearmand on 127.0.0.1, a free port, with 2
# bench/gearman_worker processes); runs jobs_bench, pool_bench.py with
# Debian's /usr/bin/python3 (multiprocessing.Pool and ProcessPoolExecutor) and
# gearman_client; prints a table of jobs/s and ratios, the latency, speed-up
# and memory lines and the issue's goals; stops all it started on exit.
# What the numbers mean: bench/README.md, section "Jobs".
#
# usage: bench/run_jobs.sh [--quick] [--rounds R] [--jobs N] [--map-items N]
#                          [--calls K] [--pending N] [--no-gearman] [BUILD_DIR]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-bench
WORKERS=2            # everywhere: zmgrd, Python's pools, gearman workers
JOBS=200000          # apply_async, executor and gearman jobs
MAP_ITEMS=200000
MAP_CHUNK=1000       # the map row with an explicit chunksize
CALLS=5000           # synchronous apply calls (latency)
PENDING=1000000      # jobs queued for the memory line
GM_PENDING=""        # gearmand's background jobs for it (default: PENDING)
SUM_JOBS=8 SUM_N=10000000
ROUNDS=3
GEARMAN=1

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<EOF

  --quick        1 round, $((JOBS / 4)) jobs, 2000 apply calls, Gearman's
                 memory line with 200000 jobs (about 1 minute); options
                 given explicitly keep their values
  --rounds R     rounds of every throughput and latency cell; the table
                 shows the median (default $ROUNDS)
  --jobs N       jobs of the apply_async row (default $JOBS)
  --map-items N  items of the map rows (default $MAP_ITEMS)
  --calls K      synchronous apply calls per round (default $CALLS)
  --pending N    jobs queued for the memory line (default $PENDING)
  --no-gearman   leave Gearman out (its cells show -)
  BUILD_DIR      cmake build dir (default: build-bench in the repository);
                 configured (Release) and built if a program is missing
EOF
}

quick=0 jobs_set=0 calls_set=0 rounds_set=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1; shift ;;
    --rounds) ROUNDS=${2:?--rounds needs a value}; rounds_set=1; shift 2 ;;
    --jobs) JOBS=${2:?--jobs needs a value}; jobs_set=1; shift 2 ;;
    --map-items) MAP_ITEMS=${2:?--map-items needs a value}; shift 2 ;;
    --calls) CALLS=${2:?--calls needs a value}; calls_set=1; shift 2 ;;
    --pending) PENDING=${2:?--pending needs a value}; shift 2 ;;
    --no-gearman) GEARMAN=0; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "run_jobs.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) BUILD=$1; shift ;;
    esac
done
if [ "$quick" = 1 ]; then
    [ "$rounds_set" = 1 ] || ROUNDS=1
    [ "$jobs_set" = 1 ] || JOBS=$((JOBS / 4))
    [ "$calls_set" = 1 ] || CALLS=2000
    GM_PENDING=${GM_PENDING:-200000}
fi
GM_PENDING=${GM_PENDING:-$PENDING}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
for v in "$ROUNDS" "$JOBS" "$MAP_ITEMS" "$CALLS" "$PENDING"; do
    case $v in ''|*[!0-9]*|0) echo "run_jobs.sh: counts are whole numbers > 0" >&2; exit 2 ;; esac
done

# ---- what we need ---------------------------------------------------------
ME=run_jobs.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
missing=""
tools="cmake"
[ "$GEARMAN" = 0 ] || tools="$tools gearmand"
for tool in $tools; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
py=$(python_missing) && missing="$missing $py"
# The Gearman programs need libgearman to build (Debian names its .pc gearmand).
if [ "$GEARMAN" = 1 ] && ! { [ -x "$BUILD/bench/gearman_client" ] \
        && [ -x "$BUILD/bench/gearman_worker" ]; } \
    && ! pkg-config --exists libgearman 2>/dev/null \
    && ! pkg-config --exists gearmand 2>/dev/null; then
    missing="$missing libgearman-dev"
fi
if [ -n "$missing" ]; then
    echo "run_jobs.sh: missing:$missing" >&2
    echo "run_jobs.sh: the references need Debian's Python at $PYTHON (not whichever" >&2
    echo "    python3 comes first on PATH) and Debian's Gearman; install them with" >&2
    echo "    sudo apt-get install python3 cmake pkg-config gearman-job-server libgearman-dev" >&2
    echo "run_jobs.sh: (gearmand is only started by this script, on 127.0.0.1; you may" >&2
    echo "    'systemctl disable --now gearman-job-server' after), or run with --no-gearman" >&2
    exit 2
fi

ZMGRD=$BUILD/daemon/zmgrd
WORKER=$BUILD/client/zmgr-worker
JBENCH=$BUILD/bench/jobs_bench
ZBENCH=$BUILD/bench/zmgr_bench
ECHO=$BUILD/bench/zmq_echo
CLI=$BUILD/client/zmgr
GM_WORKER=$BUILD/bench/gearman_worker
GM_CLIENT=$BUILD/bench/gearman_client
need="$ZMGRD $WORKER $JBENCH $ZBENCH $ECHO $CLI"
targets="zmgrd zmgr_worker jobs_bench zmgr_bench zmq_echo zmgr_cli"
if [ "$GEARMAN" = 1 ]; then
    need="$need $GM_WORKER $GM_CLIENT"
    targets="$targets gearman_worker gearman_client"
fi
build=0
for f in $need; do [ -x "$f" ] || build=1; done
if [ "$build" = 1 ]; then
    echo "run_jobs.sh: building in $BUILD" >&2
    # A new dir is configured as Release; an existing one is configured again
    # as it is (that also finds a libgearman installed since the last time).
    if [ -f "$BUILD/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$BUILD" >&2
    else
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >&2
    fi
    # shellcheck disable=SC2086 # a list of targets
    cmake --build "$BUILD" -j2 --target $targets >&2
fi

# ---- servers --------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)  # others' work skews the numbers
TMP=$(mktemp -d /tmp/zmgr-jobsbench-XXXXXX)
PIDS=()           # everything we started, stopped in reverse order on exit
FAILED=0

cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
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
# Clients use what libzmgr uses by default: the direct transport.
export ZMGR_ENDPOINT=unix://$XDG_RUNTIME_DIR/zmgr/zmgrd.unix
EP1=ipc://$TMP/zmgrd-1.sock    # the 1-worker broker (speed-up)
EP0=ipc://$TMP/zmgrd-0.sock    # the broker without workers (memory)
# The 2-worker broker listens on a second ipc:// endpoint too, for the
# latency over ZeroMQ (UNIX_EP and UNIX_NA keep their names from when
# that second figure was the unix one).
UNIX_EP=ipc://$TMP/zmgrd-zmq.sock
UNIX_NA=""

start_zmgrd() {  # name workers extra-args...: starts one, sets ZPID
    local name=$1 n=$2
    shift 2
    "$ZMGRD" --workers "$n" --worker-path "$WORKER" "$@" >"$TMP/$name.log" 2>&1 &
    ZPID=$!
    PIDS+=("$ZPID")
}
start_zmgrd zmgrd "$WORKERS" -e "$UNIX_EP"
ZMGRD_PID=$ZPID
start_zmgrd zmgrd-1 1 --no-default-endpoint -e "$EP1"
ZMGRD1_PID=$ZPID
start_zmgrd zmgrd-0 0 --no-default-endpoint -e "$EP0"
ZMGRD0_PID=$ZPID
if ! wait_until zmgrd "$ZMGRD_PID" 20 "$JBENCH" --workers "$WORKERS" wait 2>/dev/null; then
    why=$(grep -m 1 -i 'unix' "$TMP/zmgrd.log" || true)
    if kill -0 "$ZMGRD_PID" 2>/dev/null || [ -z "$why" ]; then
        echo "run_jobs.sh: zmgrd did not come up (see zmgrd.log)" >&2
        exit 1
    fi
    UNIX_NA="unix:// not supported by this zmgrd"
    echo "run_jobs.sh: zmgrd refused $UNIX_EP: $why; its unix latency is n/a" >&2
    rm -f "$TMP/zmgrd.log"
    start_zmgrd zmgrd "$WORKERS"
    ZMGRD_PID=$ZPID
    wait_until zmgrd "$ZMGRD_PID" 20 "$JBENCH" --workers "$WORKERS" wait
elif ! wait_until "zmgrd on $UNIX_EP" "$ZMGRD_PID" 5 \
        "$JBENCH" --endpoint "$UNIX_EP" --workers "$WORKERS" wait 2>/dev/null; then
    UNIX_NA="unix:// not supported by this libzmgr"
    echo "run_jobs.sh: jobs_bench cannot reach $UNIX_EP; its unix latency is n/a" >&2
fi
wait_until "zmgrd (1 worker)" "$ZMGRD1_PID" 20 "$JBENCH" --endpoint "$EP1" --workers 1 wait
wait_until "zmgrd (no workers)" "$ZMGRD0_PID" 20 "$JBENCH" --endpoint "$EP0" --workers 0 wait

ECHO_EP=ipc://$TMP/echo.sock
"$ECHO" "$ECHO_EP" >"$TMP/zmq_echo.log" 2>&1 &
PIDS+=($!)
wait_until zmq_echo "$!" 10 test -S "$TMP/echo.sock"

free_port() {  # a TCP port on 127.0.0.1 that nothing listens on right now
    "$PYTHON" -I -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
start_gearmand() {  # name: starts one on 127.0.0.1, sets GPID and GPORT
    GPORT=$(free_port)
    gearmand --listen 127.0.0.1 --port "$GPORT" --log-file "$TMP/$1.log" \
        --pid-file "$TMP/$1.pid" --verbose ERROR >"$TMP/$1.out.log" 2>&1 &
    GPID=$!
    PIDS+=("$GPID")
    wait_until "$1" "$GPID" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GPORT"
}
if [ "$GEARMAN" = 1 ]; then
    start_gearmand gearmand
    GM_PID=$GPID GM_PORT=$GPORT
    for i in $(seq "$WORKERS"); do
        "$GM_WORKER" --port "$GM_PORT" >"$TMP/gearman_worker-$i.log" 2>&1 &
        PIDS+=($!)
    done
    # Workers are up once a few tasks come back (gearmand queues them till then).
    wait_until "gearman workers" "$GM_PID" 20 timeout 5 "$GM_CLIENT" --port "$GM_PORT" --tasks 8
fi

# ---- result bookkeeping ---------------------------------------------------
declare -A V        # cell -> values of the rounds, space-separated
field() {  # line key -> value
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
note_invalid() {
    FAILED=1
    echo "run_jobs.sh: INVALID: $1" >&2
}
result() {  # command...: runs it, echoes its last RESULT line
    local out
    out=$("$@" 2> >(sed 's/^/  /' >&2)) || true
    out=$(printf '%s\n' "$out" | grep '^RESULT' | tail -n 1)
    if [ -z "$out" ]; then
        note_invalid "$(basename "$1") ${*:2} printed no result"
        out="RESULT valid=no"
    elif [ "$(field "$out" valid)" != yes ]; then
        note_invalid "$(basename "$1") ${*:2}: $out"
    fi
    printf '%s\n' "$out"
}
keep() {  # cell line key: appends the line's value of key to the cell
    local v
    v=$(field "$2" "$3")
    [ "$(field "$2" valid)" = yes ] || v=""
    V[$1]="${V[$1]:-} ${v:--}"
}
progress() {  # a status line on a terminal, nothing in a log
    if [ -t 2 ]; then printf '  %-60s\r' "$*" >&2; fi
}
median() { tr ' ' '\n' | awk '$0 != "" && $0 != "-"' | sort -g | awk '{ v[NR] = $1 }
    END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
med() { printf '%s\n' "${V[$1]:-}" | median; }

# ---- memory: pending jobs, on brokers that have no worker for them ---------
echo "run_jobs.sh: memory: $PENDING pending echo jobs" >&2
progress "zmgr: $PENDING pending jobs"
z_rss0=$(rss_kb "$ZMGRD0_PID")
zmem=$(result "$JBENCH" --endpoint "$EP0" pending_mem "$PENDING")
z_rss1=$(rss_kb "$ZMGRD0_PID")
stop_pid "$ZMGRD0_PID"   # a million queued jobs are of no further use
g_rss0="" g_rss1="" gmem=""
if [ "$GEARMAN" = 1 ]; then
    progress "gearman: $GM_PENDING pending background jobs"
    start_gearmand gearmand-mem
    g_rss0=$(rss_kb "$GPID")
    gmem=$(result "$GM_CLIENT" --port "$GPORT" --background --function nobody \
                  --tasks "$GM_PENDING")
    g_rss1=$(rss_kb "$GPID")
    stop_pid "$GPID"
fi

# ---- throughput and latency, ROUNDS times ----------------------------------
echo "run_jobs.sh: $ROUNDS round(s): $JOBS jobs, map $MAP_ITEMS items, $CALLS apply calls;" \
     "$WORKERS workers; zmgrd pid $ZMGRD_PID" >&2
for r in $(seq "$ROUNDS"); do
    progress "round $r: zmgr apply_async"
    line=$(result "$JBENCH" apply_async "$JOBS")
    keep z_async "$line" jobs_per_sec
    line=$(result "$JBENCH" apply_async "$JOBS" --api futures)
    keep z_futures "$line" jobs_per_sec
    # The same with a rate and a concurrency limit on echo too high to
    # bind: what the limit checks cost on every dispatch.
    progress "round $r: zmgr apply_async under a limit"
    if "$CLI" limit set echo --rate 1000000/s --concurrency 1000000 >/dev/null; then
        line=$(result "$JBENCH" apply_async "$JOBS")
        keep z_limited "$line" jobs_per_sec
        "$CLI" limit clear echo >/dev/null || true
    fi
    progress "round $r: zmgr map"
    line=$(result "$JBENCH" map "$MAP_ITEMS" 0)
    keep z_map0 "$line" jobs_per_sec
    line=$(result "$JBENCH" map "$MAP_ITEMS" "$MAP_CHUNK")
    keep z_mapc "$line" jobs_per_sec
    progress "round $r: zmgr apply, raw echo"
    line=$(result "$JBENCH" apply "$CALLS")
    keep z_p50 "$line" p50_us
    keep z_p99 "$line" p99_us
    if [ -z "$UNIX_NA" ]; then
        line=$(result "$JBENCH" --endpoint "$UNIX_EP" apply "$CALLS")
        keep zu_p50 "$line" p50_us
        keep zu_p99 "$line" p99_us
    fi
    line=$(result "$ZBENCH" --echo "$ECHO_EP" --clients 1 --depth 1 --seconds 1)
    keep e_p50 "$line" p50_us
    keep e_p99 "$line" p99_us

    progress "round $r: python"
    timeout $((JOBS / 500 + CALLS / 100 + 300)) "$PYTHON" -I "$ROOT/bench/pool_bench.py" \
        --workers "$WORKERS" --jobs "$JOBS" --map-items "$MAP_ITEMS" \
        --chunksize 0 --chunksize "$MAP_CHUNK" --calls "$CALLS" \
        >"$TMP/python.out" 2>"$TMP/python.log" \
        || note_invalid "pool_bench.py failed (see python.log)"
    while read -r line; do
        case $line in RESULT*) ;; *) continue ;; esac
        [ "$(field "$line" valid)" = yes ] || note_invalid "$line"
        case $(field "$line" mode),$(field "$line" chunksize) in
        apply_async,*) keep p_async "$line" jobs_per_sec ;;
        executor,*) keep p_exec "$line" jobs_per_sec ;;
        map,0) keep p_map0 "$line" jobs_per_sec ;;
        map,*) keep p_mapc "$line" jobs_per_sec ;;
        apply,*) keep p_p50 "$line" p50_us; keep p_p99 "$line" p99_us ;;
        esac
    done <"$TMP/python.out"

    if [ "$GEARMAN" = 1 ]; then
        progress "round $r: gearman"
        line=$(result "$GM_CLIENT" --port "$GM_PORT" --tasks "$JOBS")
        keep g_async "$line" jobs_per_sec
    fi
done

# ---- speed-up: CPU-bound jobs on 1 and on 2 workers ------------------------
SUM_ROUNDS=$((ROUNDS < 3 ? 3 : ROUNDS))
for r in $(seq "$SUM_ROUNDS"); do
    progress "speed-up round $r of $SUM_ROUNDS"
    line=$(result "$JBENCH" --endpoint "$EP1" --workers 1 sumrange "$SUM_JOBS" "$SUM_N")
    keep s1 "$line" seconds
    line=$(result "$JBENCH" --workers "$WORKERS" sumrange "$SUM_JOBS" "$SUM_N")
    keep s2 "$line" seconds
done
progress ""

# A server that died mid-run makes every number after it meaningless.
for srv in "zmgrd:$ZMGRD_PID" "zmgrd (1 worker):$ZMGRD1_PID" ${GM_PID:+"gearmand:$GM_PID"}; do
    kill -0 "${srv##*:}" 2>/dev/null || note_invalid "${srv%:*} is no longer running"
done
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)

# ---- report ---------------------------------------------------------------
ratio() {  # a b -> a/b with 2 decimals, "-" if either is missing or zero
    awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
        if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"
        else printf "%.2f\n", a / b }'
}
goal() {  # x op limit -> "met (x)" / "NOT met (x)"; op is >= or <=
    awk -v x="${1:-}" -v op="$2" -v l="$3" 'BEGIN {
        if (x == "" || x == "-") { print "-"; exit }
        ok = (op == ">=") ? (x + 0 >= l + 0) : (x + 0 <= l + 0)
        printf "%s (%s)\n", ok ? "met" : "NOT met", x }'
}
num() { [ -n "${1:-}" ] && printf '%s' "$1" || printf -- '-'; }

echo
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
sanit=$(sed -n 's/^ZMGR_SANITIZE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
echo "zmgr jobs benchmark - $(date -u +%FT%TZ), $(nproc) CPUs, load $LOAD_START at start," \
     "$LOAD_END at end, ${btype:-unknown} build${sanit:+ with sanitizers $sanit (numbers not meaningful)};" \
     "$WORKERS workers everywhere; median of $ROUNDS round(s)"
echo "python   $(python_about)"
row() {
    printf '%-34s | %9s %9s %9s %9s | %6s %6s %6s\n' "$@"
}
row "no-op jobs" zmgr "py Pool" "py Exec" gearman z/pool z/exec z/gear
row "" jobs/s jobs/s jobs/s jobs/s "" "" ""
printf '%s\n' "$(printf '%.0s-' $(seq 90))"
za=$(med z_async) zf=$(med z_futures) pa=$(med p_async) pe=$(med p_exec)
ga=$(med g_async)
zm0=$(med z_map0) pm0=$(med p_map0) zmc=$(med z_mapc) pmc=$(med p_mapc)
row "apply_async $JOBS, then collect" "$(num "$za")" "$(num "$pa")" "$(num "$pe")" \
    "$(num "$ga")" "$(ratio "$za" "$pa")" "$(ratio "$za" "$pe")" "$(ratio "$za" "$ga")"
row "  zmgr_submit futures, as above" "$(num "$zf")" "" "" "" \
    "$(ratio "$zf" "$pa")" "$(ratio "$zf" "$pe")" "$(ratio "$zf" "$ga")"
zl=$(med z_limited)
row "  under a limit set high on echo" "$(num "$zl")" "" "" "" \
    "$(ratio "$zl" "$pa")" "$(ratio "$zl" "$pe")" "$(ratio "$zl" "$ga")"
row "map $MAP_ITEMS, default chunksize" "$(num "$zm0")" "$(num "$pm0")" "" "" \
    "$(ratio "$zm0" "$pm0")" "" ""
row "map $MAP_ITEMS, chunksize $MAP_CHUNK" "$(num "$zmc")" "$(num "$pmc")" "" "" \
    "$(ratio "$zmc" "$pmc")" "" ""
echo "  zmgr = jobs_bench through zmgr_pool_apply_async (row 2: zmgr_submit) and"
echo "  zmgr_pool_map; py Pool = multiprocessing.Pool.apply_async + get, Pool.map;"
echo "  py Exec = ProcessPoolExecutor.submit + as_completed; gearman = gearman_client"
echo "  add_task x N + run_tasks (concurrent tasks); map rows count items per second."
echo

zp50=$(med z_p50) zp99=$(med z_p99) pp50=$(med p_p50) pp99=$(med p_p99)
ep50=$(med e_p50)
lat_py=$(ratio "$zp50" "$pp50") lat_echo=$(ratio "$zp50" "$ep50")
zu="n/a ($UNIX_NA)"
[ -n "$UNIX_NA" ] || zu="$(num "$(med zu_p50)") / $(num "$(med zu_p99)") us"
echo "latency  synchronous apply of echo, p50 / p99 over $CALLS calls: zmgr $(num "$zp50") /" \
     "$(num "$zp99") us (unix://), over ipc:// $zu; Python Pool.apply $(num "$pp50") /" \
     "$(num "$pp99") us; raw libzmq echo round trip p50 $(num "$ep50") us;" \
     "zmgr/python = $lat_py, zmgr/echo = $lat_echo"
s1=$(med s1) s2=$(med s2)
speedup=$(ratio "$s1" "$s2")
echo "speed-up $SUM_JOBS x sum_range($SUM_N), median of $SUM_ROUNDS: 1 worker $(num "$s1") s," \
     "$WORKERS workers $(num "$s2") s; speed-up $speedup (ideal $WORKERS)"
z_delta=$(( (z_rss1 - z_rss0) * 1024 ))
per() { awk -v b="$1" -v n="$2" 'BEGIN { printf "%.0f", b / n }'; }
zstat=$(field "$zmem" stats_memory_delta)
mem_line="memory   $PENDING pending echo jobs: zmgrd RSS +$((z_delta / 1048576)) MiB"
mem_line="$mem_line ($(per "$z_delta" "$PENDING") B/job; broker's own count"
mem_line="$mem_line $( [ -n "$zstat" ] && [ "$zstat" != -1 ] && per "$zstat" "$PENDING" || echo -) B/job)"
if [ -n "$g_rss1" ]; then
    g_delta=$(( (g_rss1 - g_rss0) * 1024 ))
    mem_line="$mem_line; gearmand, $GM_PENDING background jobs: +$((g_delta / 1048576)) MiB"
    mem_line="$mem_line ($(per "$g_delta" "$GM_PENDING") B/job)"
fi
echo "$mem_line"
echo "         submission rates: zmgr $(num "$(field "$zmem" jobs_per_sec)") jobs/s pipelined" \
     "(zmgr_send/zmgr_recv)${gmem:+, gearman $(num "$(field "$gmem" jobs_per_sec)") background jobs/s}"
echo
echo "goals    apply_async >= 5x Python Pool: $(goal "$(ratio "$za" "$pa")" '>=' 5);" \
     ">= 5x Gearman: $(goal "$(ratio "$za" "$ga")" '>=' 5);" \
     "map >= Pool.map: $(goal "$(ratio "$zm0" "$pm0")" '>=' 1);"
echo "         limit checks cost <= 5% (apply_async under a limit / without):" \
     "$(goal "$(ratio "$zl" "$za")" '>=' 0.95)"
echo "         apply p50 below Pool.apply: $(goal "$lat_py" '<=' 0.9999);" \
     "within 3x of the raw echo: $(goal "$lat_echo" '<=' 3);" \
     "speed-up on $WORKERS workers: $speedup"
if [ "$FAILED" -ne 0 ]; then
    echo "run_jobs.sh: some runs were INVALID; see the messages above" >&2
    exit 1
fi
