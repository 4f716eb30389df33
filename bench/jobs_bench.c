/*  bench/jobs_bench.c - load generator for zmgr's jobs (Pool and futures)
 *  One client process drives a zmgrd with local workers (zmgrd --workers N)
 *  through libzmgr the way an application would: Pool.apply_async then
 *  collect, Pool.map with a chunksize, synchronous Pool.apply, a CPU-bound
 *  batch of sum_range jobs, and a pipelined flood of submissions that stay
 *  pending (for the broker's memory per pending job). Every job is the
 *  built-in no-op `echo` except in sumrange. Prints one RESULT line of
 *  key=value pairs, in the format of zmgr_bench, that bench/run_jobs.sh
 *  parses. Usage: jobs_bench --help. What the numbers mean: bench/README.md,
 *  section "Jobs". */
#define _GNU_SOURCE
#include "zmgr.h"

#include <inttypes.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESULT_TIMEOUT_MS 120000  /* a job not done this long fails the run */
#define WAIT_WORKERS_MS 20000     /* the workers must be up within this */
#define SUBMIT_DEPTH 256          /* pending_mem: submissions in flight */
#define WARMUP_CALLS 200          /* apply: calls before the clock starts */

typedef enum { API_POOL, API_FUTURES } api_t;

/*  What one run does; filled from the command line. */
typedef struct {
    const char *endpoint;    /* NULL: $ZMGR_ENDPOINT, else the default */
    const char *mode;        /* apply_async map apply sumrange pending_mem wait */
    uint64_t n;              /* jobs (apply_async, pending_mem), items (map),
                                calls (apply) or jobs (sumrange) */
    uint64_t chunksize;      /* map: items per job; 0 = as Python */
    int64_t range;           /* sumrange: the argument of each job */
    int workers;             /* workers to wait for; -1 = mode's default */
    api_t api;               /* apply_async: Pool or bare futures */
} config_t;

static uint64_t s_errors;    /* failed or wrong results in this run */
static char s_first_error[300];   /* the first one, for the report */

/* ---- small helpers ----------------------------------------------------- */

static int64_t s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void s_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/*  Counts a failure; the first one is kept for the report. */
static void s_error (const char *fmt, ...)
{
    s_errors++;
    if (s_first_error[0])
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (s_first_error, sizeof s_first_error, fmt, ap);
    va_end (ap);
}

/*  Packs [i], the argument array of one echo job, into sb (cleared first).
 *  An sbuffer write fails only when out of memory; the caller sees that as
 *  a buffer that is not exactly one value (zmgr_value_from_msgpack: NULL). */
static void s_pack_args (msgpack_sbuffer *sb, int64_t i)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear (sb);
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    if (msgpack_pack_array (&pk, 1) == 0)
        (void) msgpack_pack_int64 (&pk, i);
}

/*  [i] as a value (yours), or NULL when out of memory. */
static zmgr_value_t *s_args (msgpack_sbuffer *sb, int64_t i)
{
    s_pack_args (sb, i);
    return zmgr_value_from_msgpack (sb->data, sb->size);
}

/*  True when result is what echo returns for [i]: the same array. The
 *  packing is canonical, so equal values have equal bytes. */
static bool s_is_echo (msgpack_sbuffer *sb, const zmgr_value_t *result, int64_t i)
{
    size_t len;
    const void *packed = result ? zmgr_value_packed (result, &len) : NULL;
    s_pack_args (sb, i);
    return packed && len == sb->size && memcmp (packed, sb->data, len) == 0;
}

/*  Reads integer field key of a map value; -1 if absent or not one. */
static int64_t s_map_int (const zmgr_value_t *map, const char *key)
{
    msgpack_zone zone;
    msgpack_object obj;
    int64_t result = -1;
    size_t klen = strlen (key);
    if (!map)
        return -1;
    msgpack_zone_init (&zone, 2048);
    if (zmgr_value_to_object (map, &zone, &obj) == 0
        && obj.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < obj.via.map.size; i++) {
            msgpack_object_kv *kv = &obj.via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen
                && memcmp (kv->key.via.str.ptr, key, klen) == 0
                && kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                result = (int64_t) kv->val.via.u64;
        }
    }
    msgpack_zone_destroy (&zone);
    return result;
}

/*  The broker's malloc in-use bytes (STATS memory_bytes), or -1. */
static int64_t s_stats_memory (zmgr_client_t *c)
{
    zmgr_value_t *stats = NULL;
    if (zmgr_stats (c, &stats))
        return -1;
    int64_t bytes = s_map_int (stats, "memory_bytes");
    zmgr_value_destroy (&stats);
    return bytes;
}

/*  Connected workers, or -1 when the broker did not answer. */
static int s_count_workers (zmgr_client_t *c)
{
    zmgr_value_t *workers = NULL;
    if (zmgr_workers (c, &workers))
        return -1;
    msgpack_zone zone;
    msgpack_object obj;
    int n = -1;
    msgpack_zone_init (&zone, 4096);
    if (zmgr_value_to_object (workers, &zone, &obj) == 0
        && obj.type == MSGPACK_OBJECT_ARRAY)
        n = (int) obj.via.array.size;
    msgpack_zone_destroy (&zone);
    zmgr_value_destroy (&workers);
    return n;
}

/*  Waits until at least want workers are connected, so that no run
 *  measures the workers' start. 0, or -1 after WAIT_WORKERS_MS. */
static int s_wait_workers (zmgr_client_t *c, int want)
{
    int64_t deadline = s_now_ns () + (int64_t) WAIT_WORKERS_MS * 1000000;
    int have = 0;
    while ((have = s_count_workers (c)) < want) {
        if (s_now_ns () > deadline) {
            fprintf (stderr, "jobs_bench: %d of %d workers after %d ms\n",
                     have < 0 ? 0 : have, want, WAIT_WORKERS_MS);
            return -1;
        }
        usleep (20000);
    }
    return 0;
}

static int s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

/*  Percentile pct of n sorted samples, in microseconds. */
static double s_pct_us (const int64_t *sorted, size_t n, double pct)
{
    if (n == 0)
        return 0;
    size_t i = (size_t) (pct / 100.0 * (double) n);
    if (i >= n)
        i = n - 1;
    return (double) sorted[i] / 1000.0;
}

static void s_print_tail (void)
{
    printf (" errors=%" PRIu64 " valid=%s\n", s_errors, s_errors ? "no" : "yes");
    fflush (stdout);
    if (s_first_error[0])
        fprintf (stderr, "jobs_bench: %s\n", s_first_error);
}

/* ---- apply_async: N jobs one by one, then collect ---------------------- */

/*  As Python's [pool.apply_async(f, (i,)) for i in range(n)] followed by
 *  [r.get() for r in results]; the clock covers both, argument building
 *  included. */
static int s_apply_async (zmgr_client_t *c, const config_t *cfg)
{
    zmgr_future_t **fs = calloc (cfg->n, sizeof *fs);
    zmgr_pool_t *pool = cfg->api == API_POOL ? zmgr_pool_new (c, NULL) : NULL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    if (!fs || (cfg->api == API_POOL && !pool)) {
        fprintf (stderr, "jobs_bench: out of memory\n");
        free (fs);
        zmgr_pool_destroy (&pool);
        return 2;
    }
    uint64_t submitted = 0;
    int64_t t0 = s_now_ns ();
    for (uint64_t i = 0; i < cfg->n; i++) {
        zmgr_value_t *args = s_args (&sb, (int64_t) i);
        int rc = !args ? ZMGR_ENOMEM
                 : pool ? zmgr_pool_apply_async (pool, "echo", args, NULL, NULL,
                                                 NULL, &fs[i])
                        : zmgr_submit (c, "echo", args, NULL, &fs[i]);
        zmgr_value_destroy (&args);
        if (rc) {
            s_error ("submit %" PRIu64 ": %s (%s)", i, zmgr_errname (rc),
                     zmgr_client_errmsg (c));
            break;
        }
        submitted++;
    }
    int64_t t1 = s_now_ns ();
    for (uint64_t i = 0; i < submitted; i++) {
        const zmgr_value_t *result = NULL;
        int rc = zmgr_future_result (fs[i], RESULT_TIMEOUT_MS, &result);
        if (rc) {
            const char *text = zmgr_future_exception (fs[i]);
            s_error ("job %" PRIu64 ": %s (%s)", i, zmgr_errname (rc),
                     text ? text : zmgr_client_errmsg (c));
            if (rc == ZMGR_ETIMEOUT || rc == ZMGR_EDISCONNECTED
                || rc == ZMGR_EUNREACHABLE)
                break;   /* the rest would wait as long */
        }
        else if (!s_is_echo (&sb, result, (int64_t) i))
            s_error ("job %" PRIu64 ": echo returned something else", i);
    }
    int64_t t2 = s_now_ns ();
    double secs = (double) (t2 - t0) / 1e9;
    printf ("RESULT mode=apply_async api=%s jobs=%" PRIu64 " seconds=%.3f"
            " submit_seconds=%.3f jobs_per_sec=%.0f",
            pool ? "pool" : "futures", submitted, secs, (double) (t1 - t0) / 1e9,
            secs > 0 ? (double) submitted / secs : 0);
    if (submitted < cfg->n)
        s_error ("only %" PRIu64 " of %" PRIu64 " submitted", submitted, cfg->n);
    s_print_tail ();
    for (uint64_t i = 0; i < cfg->n; i++)
        zmgr_future_destroy (&fs[i]);
    free (fs);
    zmgr_pool_destroy (&pool);
    msgpack_sbuffer_destroy (&sb);
    return s_errors ? 1 : 0;
}

/* ---- map: N items in chunks -------------------------------------------- */

/*  Checks map's result: an array of n, element i being echo's result for
 *  item i. Echo returns its argument array, so that is [i]; a bare i is
 *  accepted too (a pool may unwrap single results as Python's map would). */
static void s_check_map (const zmgr_value_t *results, uint64_t n)
{
    msgpack_zone zone;
    msgpack_object obj;
    msgpack_zone_init (&zone, 1 << 16);
    if (zmgr_value_to_object (results, &zone, &obj) != 0
        || obj.type != MSGPACK_OBJECT_ARRAY) {
        s_error ("map: the result is not an array");
        goto done;
    }
    if (obj.via.array.size != n) {
        s_error ("map: %" PRIu32 " results for %" PRIu64 " items",
                 obj.via.array.size, n);
        goto done;
    }
    for (uint32_t i = 0; i < obj.via.array.size; i++) {
        const msgpack_object *o = &obj.via.array.ptr[i];
        if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 1)
            o = &o->via.array.ptr[0];
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            s_error ("map: result %" PRIu32 " is not an integer", i);
            break;
        }
        if (o->via.u64 != i) {
            s_error ("map: result %" PRIu32 " is %" PRIu64, i, o->via.u64);
            break;
        }
    }
done:
    msgpack_zone_destroy (&zone);
}

/*  As Python's pool.map(f, range(n), chunksize): the item array is built
 *  before the clock starts (Python's range is lazy; building 200,000 ints
 *  here takes about a millisecond). */
static int s_map (zmgr_client_t *c, const config_t *cfg)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    int prc = msgpack_pack_array (&pk, (size_t) cfg->n);
    for (uint64_t i = 0; prc == 0 && i < cfg->n; i++)
        prc = msgpack_pack_uint64 (&pk, i);
    zmgr_value_t *items = prc == 0 ? zmgr_value_from_msgpack (sb.data, sb.size) : NULL;
    msgpack_sbuffer_destroy (&sb);
    zmgr_pool_t *pool = zmgr_pool_new (c, NULL);
    if (!items || !pool) {
        fprintf (stderr, "jobs_bench: out of memory\n");
        zmgr_value_destroy (&items);
        zmgr_pool_destroy (&pool);
        return 2;
    }
    zmgr_value_t *results = NULL;
    int64_t t0 = s_now_ns ();
    int rc = zmgr_pool_map (pool, "echo", items, (size_t) cfg->chunksize,
                            RESULT_TIMEOUT_MS, &results);
    int64_t t1 = s_now_ns ();
    if (rc)
        s_error ("map: %s (%s)", zmgr_errname (rc), zmgr_client_errmsg (c));
    else
        s_check_map (results, cfg->n);
    double secs = (double) (t1 - t0) / 1e9;
    printf ("RESULT mode=map items=%" PRIu64 " chunksize=%" PRIu64 " seconds=%.3f"
            " jobs_per_sec=%.0f",
            cfg->n, cfg->chunksize, secs, secs > 0 ? (double) cfg->n / secs : 0);
    s_print_tail ();
    zmgr_value_destroy (&results);
    zmgr_value_destroy (&items);
    zmgr_pool_destroy (&pool);
    return s_errors ? 1 : 0;
}

/* ---- apply: synchronous latency ---------------------------------------- */

/*  K calls of pool.apply(echo, (i,)), one after another, each timed; the
 *  argument is built outside the clock. WARMUP_CALLS first, untimed. */
static int s_apply (zmgr_client_t *c, const config_t *cfg)
{
    int64_t *lat = calloc (cfg->n, sizeof *lat);
    zmgr_pool_t *pool = zmgr_pool_new (c, NULL);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    if (!lat || !pool) {
        fprintf (stderr, "jobs_bench: out of memory\n");
        free (lat);
        zmgr_pool_destroy (&pool);
        return 2;
    }
    uint64_t done = 0;
    int64_t t0 = 0;
    for (uint64_t k = 0; k < cfg->n + WARMUP_CALLS; k++) {
        bool timed = k >= WARMUP_CALLS;
        int64_t i = (int64_t) k;
        zmgr_value_t *args = s_args (&sb, i), *result = NULL;
        if (!args) {
            s_error ("out of memory");
            break;
        }
        if (k == WARMUP_CALLS)
            t0 = s_now_ns ();
        int64_t a = s_now_ns ();
        int rc = zmgr_pool_apply (pool, "echo", args, RESULT_TIMEOUT_MS, &result);
        int64_t b = s_now_ns ();
        zmgr_value_destroy (&args);
        if (rc)
            s_error ("apply %" PRIu64 ": %s (%s)", k, zmgr_errname (rc),
                     zmgr_client_errmsg (c));
        else if (!s_is_echo (&sb, result, i))
            s_error ("apply %" PRIu64 ": echo returned something else", k);
        zmgr_value_destroy (&result);
        if (rc == ZMGR_ETIMEOUT || rc == ZMGR_EDISCONNECTED || rc == ZMGR_EUNREACHABLE)
            break;
        if (timed)
            lat[done++] = b - a;
    }
    double secs = t0 ? (double) (s_now_ns () - t0) / 1e9 : 0;
    qsort (lat, done, sizeof *lat, s_cmp_i64);
    printf ("RESULT mode=apply calls=%" PRIu64 " seconds=%.3f calls_per_sec=%.0f"
            " p50_us=%.1f p99_us=%.1f",
            done, secs, secs > 0 ? (double) done / secs : 0,
            s_pct_us (lat, done, 50), s_pct_us (lat, done, 99));
    s_print_tail ();
    free (lat);
    zmgr_pool_destroy (&pool);
    msgpack_sbuffer_destroy (&sb);
    return s_errors ? 1 : 0;
}

/* ---- sumrange: CPU-bound jobs, for the speed-up ------------------------ */

/*  n jobs sum_range([range]) submitted at once, then waited for together:
 *  the wall time is what changes with the number of workers. Each result
 *  must be sum(range(range)) = range * (range - 1) / 2, as in Python. */
static int s_sumrange (zmgr_client_t *c, const config_t *cfg)
{
    zmgr_future_t **fs = calloc (cfg->n, sizeof *fs);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    zmgr_value_t *args = s_args (&sb, cfg->range);
    if (!fs || !args) {
        fprintf (stderr, "jobs_bench: out of memory\n");
        free (fs);
        zmgr_value_destroy (&args);
        msgpack_sbuffer_destroy (&sb);
        return 2;
    }
    uint64_t submitted = 0;
    int64_t t0 = s_now_ns ();
    for (uint64_t i = 0; i < cfg->n; i++) {
        int rc = zmgr_submit (c, "sum_range", args, NULL, &fs[i]);
        if (rc) {
            s_error ("submit sum_range: %s (%s)", zmgr_errname (rc),
                     zmgr_client_errmsg (c));
            break;
        }
        submitted++;
    }
    size_t ndone = 0;
    int rc = zmgr_wait (fs, (size_t) submitted, ZMGR_ALL_COMPLETED, RESULT_TIMEOUT_MS,
                        &ndone);
    int64_t t1 = s_now_ns ();
    if (rc)
        s_error ("wait: %s, %zu of %" PRIu64 " done", zmgr_errname (rc), ndone,
                 submitted);
    int64_t want = cfg->range * (cfg->range - 1) / 2, got = 0;
    for (uint64_t i = 0; rc == 0 && i < submitted; i++) {
        const zmgr_value_t *result = NULL;
        int st = zmgr_future_result (fs[i], 0, &result);
        if (st) {
            const char *text = zmgr_future_exception (fs[i]);
            s_error ("sum_range job %" PRIu64 ": %s (%s)", i, zmgr_errname (st),
                     text ? text : "");
        }
        else if (zmgr_value_to_int (result, &got) != 0 || got != want)
            s_error ("sum_range(%" PRId64 ") returned %" PRId64 ", not %" PRId64,
                     cfg->range, got, want);
    }
    double secs = (double) (t1 - t0) / 1e9;
    printf ("RESULT mode=sumrange jobs=%" PRIu64 " range=%" PRId64
            " seconds=%.3f jobs_per_sec=%.2f workers=%d",
            submitted, cfg->range, secs, secs > 0 ? (double) submitted / secs : 0,
            s_count_workers (c));
    if (submitted < cfg->n)
        s_error ("only %" PRIu64 " of %" PRIu64 " submitted", submitted, cfg->n);
    s_print_tail ();
    for (uint64_t i = 0; i < cfg->n; i++)
        zmgr_future_destroy (&fs[i]);
    free (fs);
    zmgr_value_destroy (&args);
    msgpack_sbuffer_destroy (&sb);
    return s_errors ? 1 : 0;
}

/* ---- pending_mem: N jobs that stay queued ------------------------------ */

/*  Submits n echo jobs to a broker that has no worker for them (zmgrd
 *  --workers 0), SUBMIT_DEPTH in flight through zmgr_send/zmgr_recv, and
 *  checks that the broker counts them all as pending. The caller reads
 *  the broker's VmRSS around this run; the broker's own count (STATS
 *  memory_bytes) is printed next to it. */
static int s_pending_mem (zmgr_client_t *c, const config_t *cfg)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    zmgr_value_t *fname = zmgr_value_new_str ("echo");
    if (!fname) {
        fprintf (stderr, "jobs_bench: out of memory\n");
        return 2;
    }
    int64_t mem0 = s_stats_memory (c);
    uint64_t sent = 0, done = 0;
    int64_t t0 = s_now_ns ();
    while (done < cfg->n) {
        while (sent < cfg->n && sent - done < SUBMIT_DEPTH) {
            zmgr_value_t *args[2] = { fname, s_args (&sb, (int64_t) sent) };
            uint64_t rid;
            int rc = args[1] ? zmgr_send (c, ZMGR_OP_JOB_SUBMIT, NULL, args, 2, &rid)
                             : ZMGR_ENOMEM;
            zmgr_value_destroy (&args[1]);
            if (rc) {
                s_error ("send job.submit: %s (%s)", zmgr_errname (rc),
                         zmgr_client_errmsg (c));
                goto out;
            }
            sent++;
        }
        uint64_t rid;
        int status;
        int rc = zmgr_recv (c, RESULT_TIMEOUT_MS, &rid, &status, NULL);
        if (rc) {
            s_error ("recv: %s (%s)", zmgr_errname (rc), zmgr_client_errmsg (c));
            goto out;
        }
        if (status)
            s_error ("job.submit: %s (%s)", zmgr_errname (status),
                     zmgr_client_errmsg (c));
        done++;
    }
out:;
    double secs = (double) (s_now_ns () - t0) / 1e9;
    zmgr_value_t *jobs = NULL;
    int64_t pending = zmgr_jobs (c, &jobs) == 0 ? s_map_int (jobs, "pending") : -1;
    zmgr_value_destroy (&jobs);
    int64_t mem1 = s_stats_memory (c);
    if (pending >= 0 && (uint64_t) pending < done)
        s_error ("the broker counts %" PRId64 " pending, %" PRIu64 " submitted",
                 pending, done);
    printf ("RESULT mode=pending_mem jobs=%" PRIu64 " seconds=%.3f jobs_per_sec=%.0f"
            " pending=%" PRId64 " stats_memory_bytes=%" PRId64
            " stats_memory_delta=%" PRId64,
            done, secs, secs > 0 ? (double) done / secs : 0, pending, mem1,
            mem0 >= 0 && mem1 >= 0 ? mem1 - mem0 : -1);
    if (done < cfg->n)
        s_error ("only %" PRIu64 " of %" PRIu64 " submitted", done, cfg->n);
    s_print_tail ();
    zmgr_value_destroy (&fname);
    msgpack_sbuffer_destroy (&sb);
    return s_errors ? 1 : 0;
}

/* ---- command line ------------------------------------------------------ */

static void s_usage (FILE *f)
{
    fprintf (f,
        "usage: jobs_bench [--endpoint EP] [--workers W] MODE ...\n"
        "  apply_async N [--api pool|futures]   N echo jobs one by one\n"
        "        (zmgr_pool_apply_async, or zmgr_submit), then every result\n"
        "  map N CHUNKSIZE      zmgr_pool_map of echo over [0..N-1];\n"
        "                       CHUNKSIZE 0 = as Python (N / (4 x workers))\n"
        "  apply K              K synchronous zmgr_pool_apply, each timed (p50/p99)\n"
        "  sumrange [COUNT [N]] COUNT (8) jobs sum_range([N]) (10000000) submitted,\n"
        "                       then waited for; wall time\n"
        "  pending_mem N        N echo jobs submitted pipelined to a broker without\n"
        "                       workers (zmgrd --workers 0); they stay pending\n"
        "  wait                 exit 0 once W workers are connected\n"
        "--workers W: before measuring, wait (up to %d s) for W workers\n"
        "  (default: 1, or 0 for pending_mem).\n"
        "Prints one line: RESULT key=value ...; exit 0 only if valid.\n",
        WAIT_WORKERS_MS / 1000);
}

/*  A whole number >= lo, or -1 (bad). */
static int64_t s_count (const char *s, int64_t lo)
{
    char *end;
    long long v = s ? strtoll (s, &end, 10) : -1;
    if (!s || *s == '\0' || *end != '\0' || v < lo)
        return -1;
    return v;
}

int main (int argc, char **argv)
{
    config_t cfg = { .workers = -1, .api = API_POOL, .range = 10000000, .n = 8 };
    const char *pos[3] = { NULL, NULL, NULL };
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "--help") || !strcmp (a, "-h")) {
            s_usage (stdout);
            return 0;
        }
        else if (!strcmp (a, "--endpoint") && v)
            cfg.endpoint = v, i++;
        else if (!strcmp (a, "--workers") && v) {
            int64_t w = s_count (v, 0);
            if (w < 0 || w > 1024)
                goto bad;
            cfg.workers = (int) w, i++;
        }
        else if (!strcmp (a, "--api") && v) {
            if (!strcmp (v, "pool"))
                cfg.api = API_POOL;
            else if (!strcmp (v, "futures"))
                cfg.api = API_FUTURES;
            else
                goto bad;
            i++;
        }
        else if (a[0] == '-' || npos == 3)
            goto bad;
        else
            pos[npos++] = a;
    }
    if (npos == 0)
        goto bad;
    cfg.mode = pos[0];
    int64_t n1 = npos > 1 ? s_count (pos[1], 1) : 0;
    int64_t n2 = npos > 2 ? s_count (pos[2], 0) : 0;
    int (*run) (zmgr_client_t *, const config_t *) = NULL;
    int default_workers = 1;
    if (!strcmp (cfg.mode, "apply_async") && npos == 2)
        run = s_apply_async;
    else if (!strcmp (cfg.mode, "map") && npos == 3 && n1 <= UINT32_MAX)
        run = s_map, cfg.chunksize = (uint64_t) n2;
    else if (!strcmp (cfg.mode, "apply") && npos == 2)
        run = s_apply;
    else if (!strcmp (cfg.mode, "sumrange")) {
        run = s_sumrange;
        if (npos < 2)
            n1 = 8;
        if (npos == 3 && (n2 < 1 || n2 > 3000000000LL))
            goto bad;   /* the sum must fit in an int64 */
        if (npos == 3)
            cfg.range = n2;
    }
    else if (!strcmp (cfg.mode, "pending_mem") && npos == 2)
        run = s_pending_mem, default_workers = 0;
    else if (!strcmp (cfg.mode, "wait") && npos == 1)
        n1 = 1;
    else
        goto bad;
    if (n1 < 1)
        goto bad;
    cfg.n = (uint64_t) n1;
    if (cfg.workers < 0)
        cfg.workers = default_workers;

    int rc;
    zmgr_client_t *c = zmgr_client_new (cfg.endpoint, &rc);
    if (!c) {
        fprintf (stderr, "jobs_bench: cannot reach %s: %s\n",
                 cfg.endpoint ? cfg.endpoint : "the broker (default endpoint)",
                 zmgr_strerror (rc));
        return 2;
    }
    rc = s_wait_workers (c, cfg.workers) ? 2 : run ? run (c, &cfg) : 0;
    zmgr_client_destroy (&c);
    return rc;
bad:
    s_usage (stderr);
    return 2;
}
