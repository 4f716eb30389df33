#!/usr/bin/env python3
"""bench/pool_bench.py - the Python references of the jobs benchmark

multiprocessing.Pool and concurrent.futures.ProcessPoolExecutor, each with
the same number of worker processes as zmgrd gets (2 by default), running a
no-op task (noop(x) returns x, Python's counterpart of zmgr's echo). Prints
one line per mode in the format of jobs_bench:

  RESULT mode=apply_async api=pool jobs=... seconds=... jobs_per_sec=...
         errors=0 valid=yes

Modes (the clock covers what the application would wait for):
  apply_async  rs = [pool.apply_async(noop, (i,)) for i in range(N)],
               then [r.get() for r in rs]
  map          pool.map(noop, range(N), chunksize) (default chunksize as
               Python picks it: N / (4 x workers), rounded up)
  apply        K calls pool.apply(noop, (i,)), each timed: p50/p99
  executor     fs = [ex.submit(noop, i) for i in range(N)], then
               f.result() for f in as_completed(fs)

Each pool is started and warmed up (every worker has run a task) before
the clock starts.
"""
import argparse
import concurrent.futures as cf
import multiprocessing as mp
import sys
import time

MODES = ["apply_async", "map", "apply", "executor"]


def noop(x):
    """The task: returns its argument, like zmgr's echo."""
    return x


def percentile(sorted_vals, pct):
    if not sorted_vals:
        return 0.0
    i = min(len(sorted_vals) - 1, int(pct / 100.0 * len(sorted_vals)))
    return sorted_vals[i]


def report(mode, api, count_key, n, secs, errors, extra=""):
    print("RESULT mode=%s api=%s %s=%d seconds=%.3f jobs_per_sec=%.0f%s "
          "errors=%d valid=%s" % (
              mode, api, count_key, n, secs, n / secs if secs > 0 else 0,
              extra, errors, "yes" if errors == 0 else "no"), flush=True)
    return errors == 0


def warm_up(pool, workers):
    # Every worker process has started and run a task.
    pool.map(noop, range(workers * 4), chunksize=1)


def run_apply_async(pool, n):
    errors = 0
    t0 = time.perf_counter()
    rs = [pool.apply_async(noop, (i,)) for i in range(n)]
    for i, r in enumerate(rs):
        if r.get(timeout=120) != i:
            errors += 1
    secs = time.perf_counter() - t0
    return report("apply_async", "pool", "jobs", n, secs, errors)


def run_map(pool, n, chunksize):
    t0 = time.perf_counter()
    out = pool.map(noop, range(n), chunksize or None)
    secs = time.perf_counter() - t0
    errors = 0 if out == list(range(n)) else 1
    return report("map", "pool", "items", n, secs, errors,
                  " chunksize=%d" % chunksize)


def run_apply(pool, calls):
    lat = []
    errors = 0
    t0 = time.perf_counter()
    for i in range(calls):
        a = time.perf_counter()
        if pool.apply(noop, (i,)) != i:
            errors += 1
        lat.append(time.perf_counter() - a)
    secs = time.perf_counter() - t0
    lat.sort()
    print("RESULT mode=apply api=pool calls=%d seconds=%.3f calls_per_sec=%.0f "
          "p50_us=%.1f p99_us=%.1f errors=%d valid=%s" % (
              calls, secs, calls / secs if secs > 0 else 0,
              percentile(lat, 50) * 1e6, percentile(lat, 99) * 1e6, errors,
              "yes" if errors == 0 else "no"), flush=True)
    return errors == 0


def run_executor(workers, n, ctx):
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        # Workers start on demand: make them all run something first.
        list(ex.map(noop, range(workers * 4)))
        errors = 0
        t0 = time.perf_counter()
        fs = [ex.submit(noop, i) for i in range(n)]
        got = 0
        for f in cf.as_completed(fs, timeout=120 + n / 1000):
            got += f.result()
        secs = time.perf_counter() - t0
        if got != n * (n - 1) // 2:
            errors += 1
    return report("executor", "executor", "jobs", n, secs, errors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", action="append", choices=MODES,
                    help="mode (repeatable; default: all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=200000,
                    help="jobs for apply_async and executor")
    ap.add_argument("--map-items", type=int, default=200000)
    ap.add_argument("--chunksize", type=int, action="append",
                    help="map chunksize, 0 = Python's default (repeatable; "
                         "default: 0)")
    ap.add_argument("--calls", type=int, default=5000,
                    help="synchronous apply calls")
    ap.add_argument("--start-method", choices=mp.get_all_start_methods(),
                    help="multiprocessing start method (default: the "
                         "platform's)")
    args = ap.parse_args()
    ctx = mp.get_context(args.start_method)
    modes = args.mode or MODES
    ok = True
    if any(m != "executor" for m in modes):
        with ctx.Pool(args.workers) as pool:
            warm_up(pool, args.workers)
            for m in modes:
                if m == "apply_async":
                    ok = run_apply_async(pool, args.jobs) and ok
                elif m == "map":
                    for cs in args.chunksize or [0]:
                        ok = run_map(pool, args.map_items, cs) and ok
                elif m == "apply":
                    ok = run_apply(pool, args.calls) and ok
    if "executor" in modes:
        ok = run_executor(args.workers, args.jobs, ctx) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
