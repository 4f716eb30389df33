#!/usr/bin/env python3
"""bench/manager_bench.py - the Python reference: multiprocessing.Manager

Runs the same operations as zmgr_bench against the proxies of one
multiprocessing.Manager() server process, with N client processes started
together, each for a fixed time, one request at a time (a Manager proxy has
no pipelining, so it is compared with zmgr at depth 1). Prints one line per
operation in the format of zmgr_bench:

  RESULT mode=python op=dict_set clients=1 depth=1 ops=... seconds=...
         ops_per_sec=... p50_us=... p99_us=... errors=0 valid=yes

What each operation is, on the Python side:
  dict_set     d[key] = 'v'            (key 'k<i % 10000>', one proxy call)
  dict_get     d[key]                  (dict filled beforehand)
  list_append  l.append('v')
  queue_rt     q.put('v'); q.get()     (one Manager().Queue() per client;
                                        the pair counts as one op)
  value_add    v.value += 1            (manager.Value('i'): a get and a
                                        set, two proxy calls and not atomic;
                                        it is what Python code writes)
"""
import argparse
import multiprocessing as mp
import sys
import time

OPS = ["dict_set", "dict_get", "list_append", "queue_rt", "value_add"]
KEYSPACE = 10000


def client(op, index, objs, seconds, start, results):
    """One client process: waits for the start, runs op for `seconds`."""
    d, l, v, queues = objs
    q = queues[index] if queues else None
    keys = ["k%d" % i for i in range(KEYSPACE)]
    lat = []
    start.wait()
    t0 = time.perf_counter()
    deadline = t0 + seconds
    n = 0
    errors = 0
    off = index * 2503
    now = t0
    while now < deadline:
        a = time.perf_counter()
        try:
            if op == "dict_set":
                d[keys[(n + off) % KEYSPACE]] = "v"
            elif op == "dict_get":
                if d[keys[(n + off) % KEYSPACE]] != "v":
                    errors += 1
            elif op == "list_append":
                l.append("v")
            elif op == "queue_rt":
                q.put("v")
                if q.get(timeout=1) != "v":
                    errors += 1
            elif op == "value_add":
                v.value += 1
        except Exception:  # any failure makes the run invalid
            errors += 1
        now = time.perf_counter()
        lat.append(now - a)
        n += 1
    results.put((n - errors, errors, now - t0, lat))


def percentile(sorted_vals, pct):
    if not sorted_vals:
        return 0.0
    i = min(len(sorted_vals) - 1, int(pct / 100.0 * len(sorted_vals)))
    return sorted_vals[i]


def run(manager, op, clients, seconds):
    d = manager.dict()
    if op == "dict_get":
        d.update({"k%d" % i: "v" for i in range(KEYSPACE)})
    l = manager.list()
    v = manager.Value("i", 0)
    queues = [manager.Queue() for _ in range(clients)] if op == "queue_rt" else None
    start = mp.Event()
    results = mp.Queue()
    procs = [mp.Process(target=client,
                        args=(op, i, (d, l, v, queues), seconds, start, results))
             for i in range(clients)]
    for p in procs:
        p.start()
    time.sleep(0.2)  # let the children connect their proxies
    start.set()
    got = [results.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join()
    ops = sum(g[0] for g in got)
    errors = sum(g[1] for g in got)
    secs = max(g[2] for g in got)
    lat = sorted(x for g in got for x in g[3])
    failed = sum(1 for p in procs if p.exitcode != 0)
    print("RESULT mode=python op=%s clients=%d depth=1 api=proxy ops=%d "
          "seconds=%.3f ops_per_sec=%.0f p50_us=%.1f p99_us=%.1f errors=%d "
          "failed=%d valid=%s" % (
              op, clients, ops, secs, ops / secs if secs > 0 else 0,
              percentile(lat, 50) * 1e6, percentile(lat, 99) * 1e6, errors,
              failed, "yes" if errors == 0 and failed == 0 else "no"),
          flush=True)
    return errors == 0 and failed == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--op", action="append", choices=OPS,
                    help="operation (repeatable; default: all)")
    ap.add_argument("--clients", type=int, action="append",
                    help="client processes (repeatable; default: 1 and 4)")
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    ok = True
    with mp.Manager() as manager:
        for op in args.op or OPS:
            for clients in args.clients or [1, 4]:
                ok = run(manager, op, clients, args.seconds) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
