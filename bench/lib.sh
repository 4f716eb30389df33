# shellcheck shell=bash
# bench/lib.sh - shell helpers shared by run.sh, run_jobs.sh, run_durable.sh and the
# run_*_cost.sh scripts (sourced).
# ME names the calling script in messages; TMP is its scratch directory (only the
# functions use it, so the file may be sourced before TMP exists).

stop_pid() {  # pid: SIGTERM, up to 5 s, then SIGKILL; only our own children
    local pid=$1 _
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

show_logs() {  # the last lines of every non-empty log in $TMP, on stderr
    local log
    for log in "$TMP"/*.log; do
        [ -s "$log" ] || continue
        echo "---- last lines of $(basename "$log")" >&2
        tail -n 15 "$log" >&2
    done
}

wait_until() {  # what pid timeout_s command...: poll until the command
    local what=$1 pid=$2 limit=$3 end  # succeeds, the server dies or time is up
    shift 3
    end=$((SECONDS + limit))
    while [ "$SECONDS" -lt "$end" ]; do
        "$@" >/dev/null 2>&1 && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$ME: $what exited during start" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "$ME: $what did not come up within ${limit} s" >&2
    return 1
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Every Python figure comes from Debian's interpreter, named by its path: the
# first python3 on PATH may be a pyenv or venv build with other timings. -I
# (isolated) also keeps PYTHONPATH, PYTHONHOME and a user site from reaching
# it; multiprocessing passes the flag on to the processes it starts.
PYTHON=/usr/bin/python3

python_missing() {  # -> status 0 (and a word for the missing list) if $PYTHON cannot run
    if [ -x "$PYTHON" ] && "$PYTHON" -I -c 'import multiprocessing' >/dev/null 2>&1; then
        return 1
    fi
    echo "$PYTHON"
}

python_about() {  # -> "/usr/bin/python3 3.11.2", plus the PATH's python3 if it is another
    local v other
    v=$("$PYTHON" -I -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo '?')
    other=$(command -v python3 2>/dev/null || true)
    if [ -n "$other" ] && [ "$(readlink -f "$other")" != "$(readlink -f "$PYTHON")" ]; then
        echo "$PYTHON $v (not $other, first on PATH)"
    else
        echo "$PYTHON $v"
    fi
}

# ---- added for run_durable.sh (run.sh and run_jobs.sh define their own
# copies of field, note_invalid, result, progress, ratio, median and goal
# after sourcing this file, which replace these) ---------------------------

FAILED=${FAILED:-0}   # set to 1 by note_invalid; the caller exits 1 then

field() {  # line key -> value
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

note_invalid() {  # message: counts the run as invalid, says why on stderr
    FAILED=1
    echo "$ME: INVALID: $1" >&2
}

result() {  # command...: runs it, echoes its last RESULT line; errors on stderr
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

progress() {  # a status line on a terminal, nothing in a log
    if [ -t 2 ]; then printf '  %-60s\r' "$*" >&2; fi
}

ratio() {  # a b -> a/b with 2 decimals; "-" if either is missing or zero
    awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
        if (a == "" || b == "" || a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0)
            print "-"
        else printf "%.2f\n", a / b }'
}

median() {  # words -> the median of the numbers among them ("-" skipped)
    tr ' ' '\n' | awk '$0 != "" && $0 != "-"' | sort -g | awk '{ v[NR] = $1 }
    END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

met() {  # x op limit -> status 0 when x is a number and x op limit; op: >= <= <
    awk -v x="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (x !~ /^[0-9.]+$/) exit 1
        if (op == ">=") exit !(x + 0 >= l + 0)
        if (op == "<=") exit !(x + 0 <= l + 0)
        exit !(x + 0 < l + 0) }'
}

goal() {  # x op limit [unit] -> "met (x unit)", "NOT met (x unit)" or "n/a"
    if [ -z "${1:-}" ] || [ "$1" = - ]; then echo n/a
    elif met "$1" "$2" "$3"; then echo "met ($1${4:-})"
    else echo "NOT met ($1${4:-})"; fi
}

ensure_built() {  # build_dir target=path...: configures (Release) and builds
    local build=$1 t missing=""  # the targets whose file is missing
    shift
    for t in "$@"; do
        [ -x "$build/${t#*=}" ] || missing="$missing ${t%%=*}"
    done
    [ -n "$missing" ] || return 0
    echo "$ME: building$missing in $build" >&2
    # A new dir is configured as Release; an existing one again as it is, so
    # that it learns of targets added since it was made.
    if [ -f "$build/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$build" >&2
    else
        cmake -S "$ROOT" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >&2
    fi
    # shellcheck disable=SC2086 # one word per target
    cmake --build "$build" -j2 --target $missing >&2
}

children_of() {  # pid -> the pids whose parent it is, from /proc
    local stat
    for stat in /proc/[0-9]*/stat; do
        # comm (field 2) may hold spaces: the ppid is the 2nd field after ')'
        sed -n 's/^\([0-9]*\) .*) [A-Za-z] \([0-9]*\) .*/\1 \2/p' "$stat" 2>/dev/null
    done | awk -v p="$1" '$2 == p { print $1 }'
}

fs_of() {  # dir -> "TYPE (DEVICE on MOUNT)", from df -T
    df -PT "$1" | awk 'NR == 2 { printf "%s (%s on %s)\n", $2, $1, $7 }'
}

disk_syncs() {  # dir -> 100-byte appends per second, each synced (O_DSYNC)
    local f=$1/dsync-probe out   # the disk's own limit for a log that syncs every write
    out=$(timeout 60 dd if=/dev/zero of="$f" bs=100 count=2000 oflag=dsync 2>&1 | tail -n 1)
    rm -f "$f"
    awk -v l="$out" 'BEGIN { n = split(l, w, " ")
        for (i = 1; i <= n; i++) if (w[i] == "copied,") { printf "%.0f\n", 2000 / w[i + 1]; exit }
        print "-" }'
}

ms_since() {  # t0 (an $EPOCHREALTIME) -> milliseconds since, 1 decimal
    awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
}

# The redis-benchmark command that matches a zmgr_bench op (run.sh's).
declare -A RB_CMD=(
    [dict_set]="HSET bench:h key:__rand_int__ v"
    [dict_get]="HGET bench:h key:__rand_int__"
    [list_append]="RPUSH bench:list v"
    [value_add]="INCRBY bench:value 1"
)

redis_bench() {  # sock op clients depth seconds -> ops/s, "" if it failed
    local sock=$1 op=$2 c=$3 d=$4 secs=$5 n rps="" round
    # redis-benchmark runs a request count, not a time: a short run finds
    # the rate, then one of about `seconds` is measured.
    n=$((100 * c * d)); [ "$n" -ge 500 ] || n=500
    for round in calibrate measure; do
        # shellcheck disable=SC2086 # the command is words on purpose
        rps=$(timeout $((secs * 10 + 60)) redis-benchmark -s "$sock" -c "$c" -P "$d" \
                -n "$n" -r 10000 --csv ${RB_CMD[$op]} 2>"$TMP/rb.err" | tail -n 1 \
              | awk -F'"' '{ print $4 }') || true
        if [ -z "$rps" ]; then
            echo "$ME: redis-benchmark $op -c $c -P $d ($round): $(tail -n 1 "$TMP/rb.err")" >&2
            return 0
        fi
        n=$(awk -v r="$rps" -v s="$secs" 'BEGIN { n = int(r * s)
            print n < 1000 ? 1000 : (n > 50000000 ? 50000000 : n) }')
    done
    printf '%s\n' "${rps%.*}"
}

cost_report() {  # what one n1 n2 build [base]: `one BUILD N` prints zmgrd's
    # instructions for N units of work on a fresh broker; prints the
    # instructions per unit, (Ir(n2) - Ir(n1)) / (n2 - n1), which leaves
    # start-up and shutdown out, for build and base, and their difference
    local what=$1 one=$2 n1=$3 n2=$4 b a z new base
    shift 4
    for b in "$@"; do
        a=$("$one" "$b" "$n1")
        z=$("$one" "$b" "$n2")
        echo "zmgrd instructions per $what: $(((z - a) / (n2 - n1))) ($b)"
    done | tee "${TMPDIR:-/tmp}/zmgr-cost.$$"
    if [ $# -ge 2 ]; then
        new=$(sed -n '1s/.*: \([0-9-]*\) .*/\1/p' "${TMPDIR:-/tmp}/zmgr-cost.$$")
        base=$(sed -n '2s/.*: \([0-9-]*\) .*/\1/p' "${TMPDIR:-/tmp}/zmgr-cost.$$")
        awk -v n="$new" -v b="$base" 'BEGIN { printf "difference: %+.1f%%\n", (n - b) * 100 / b }'
    fi
    rm -f "${TMPDIR:-/tmp}/zmgr-cost.$$"
}
