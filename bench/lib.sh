# shellcheck shell=bash
# bench/lib.sh - shell helpers shared by run.sh and run_jobs.sh (sourced).
# ME names the calling script in messages; TMP is its scratch directory.

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
