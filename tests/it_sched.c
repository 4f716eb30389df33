/*  tests/it_sched.c - keys, schedules, limits and dependencies of jobs, end to end
 *  A real zmgrd with its own local workers (builtin echo, sleep, fail) and
 *  a data dir, reached through zmgr.h: a unique key gives the same id
 *  back, also after a restart; a delayed job and one given a start time
 *  run no earlier than asked and within a generous bound after; a job
 *  run after others waits for them and ends as dependency-failed when
 *  one fails or is cancelled; rate limits, concurrency limits and pause;
 *  cron entries that tick, skip a tick while their last run goes on, and
 *  survive a restart; the job listing; a function's retry backoff, which
 *  goes before the broker's and survives a restart; the key, start time
 *  and after ids in a job's status. Each group starts its own broker and
 *  stops it. The whole file takes about 21 s; a watchdog alarm ends
 *  it (killing what it started) before ctest's TIMEOUT would. */
#define _GNU_SOURCE
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

#define S_WATCHDOG_S 100 /* whole-file limit (ctest's TIMEOUT is 120) */

static kit_daemon_t s_daemon;   /* the broker of the running group */
static zmgr_client_t *s_client; /* the parent's client of it */
static char s_data[256];        /* its data dir (outlives restarts) */

static void s_on_alarm (int sig)
{
    (void)sig;
    static const char msg[] = "it_sched: watchdog expired, killing what we started\n";
    ssize_t w = write (2, msg, sizeof msg - 1);
    (void)w;
    kit_kill_all ();
    _exit (1);
}

static long long s_wall_ms (void)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/*  Starts a broker with workers local workers on a fresh data dir, with
 *  a broker retry backoff base of backoff_ms (NULL: the default). */
static void s_start_backoff (const char *workers, const char *backoff_ms)
{
    kit_tmpdir (s_data, sizeof s_data);
    const char *args[] = {"-w",
                          workers,
                          "--data-dir",
                          s_data,
                          "--fsync",
                          "always",
                          backoff_ms ? "--retry-backoff-base-ms" : NULL,
                          backoff_ms,
                          NULL};
    assert_int_equal (kit_daemon_start_ex (&s_daemon, KIT_DAEMON_LOG, args), 0);
    s_client = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (s_client);
}

/*  Starts a broker with workers local workers on a fresh data dir. */
static void s_start (const char *workers)
{
    s_start_backoff (workers, NULL);
}

static void s_restart (void)
{
    zmgr_client_destroy (&s_client);
    assert_int_equal (kit_daemon_stop (&s_daemon), 0);
    assert_int_equal (kit_daemon_restart (&s_daemon), 0);
    s_client = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (s_client);
}

static void s_stop (void)
{
    zmgr_client_destroy (&s_client);
    assert_int_equal (kit_daemon_fini (&s_daemon), 0);
    kit_rmtree (s_data);
}

/*  Submits function(args literal) with opts: the rc, the id in *id. */
static int s_try_submit (const char *function, const char *args,
                         const zmgr_job_opts_t *opts, uint64_t *id)
{
    zmgr_value_t *a = kit_value (args);
    *id = 0;
    int rc = zmgr_job_submit (s_client, function, a, opts, id);
    zmgr_value_destroy (&a);
    return rc;
}

static uint64_t s_submit (const char *function, const char *args,
                          const zmgr_job_opts_t *opts)
{
    uint64_t id;
    int rc = s_try_submit (function, args, opts, &id);
    if (rc != 0)
        fprintf (stderr, "  submit %s%s: %s (%s)\n", function, args, zmgr_errname (rc),
                 zmgr_client_errmsg (s_client));
    assert_int_equal (rc, 0);
    assert_true (id > 0);
    return id;
}

/*  A string field of a job's status into buf ("" when none). */
static const char *s_status_str (uint64_t id, const char *field, char *buf, size_t size)
{
    buf[0] = '\0';
    zmgr_value_t *v = NULL;
    if (zmgr_job_status (s_client, id, &v) != 0)
        return buf;
    msgpack_unpacked u;
    if (kit_unpack (v, &u)) {
        const msgpack_object *o = kit_map_get (&u.data, field);
        if (o && o->type == MSGPACK_OBJECT_STR) {
            size_t n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
            memcpy (buf, o->via.str.ptr, n);
            buf[n] = '\0';
        }
        msgpack_unpacked_destroy (&u);
    }
    zmgr_value_destroy (&v);
    return buf;
}

/*  Waits (bounded) for job id to end: its result code. */
static int s_wait (uint64_t id, int timeout_ms)
{
    zmgr_value_t *r = NULL;
    int rc = zmgr_job_result (s_client, id, timeout_ms, &r);
    zmgr_value_destroy (&r);
    return rc;
}

/* ---- unique keys ------------------------------------------------------------ */

static void test_unique_key (void **state)
{
    (void)state;
    s_start ("1");
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    /*  A finished job keeps its key for its TTL. */
    o.key = "report-2026-12-02";
    uint64_t done = s_submit ("echo", "[1]", &o);
    assert_int_equal (s_wait (done, 10000), 0);
    assert_int_equal (s_submit ("echo", "[2]", &o), done);
    /*  A future given the key of a finished job gets its result, and so
     *  do two futures with the key of a running one (the broker pushes
     *  the end to every session that submitted with the key). */
    zmgr_value_t *a1 = kit_value ("[2]");
    zmgr_future_t *fut = NULL;
    assert_int_equal (zmgr_submit (s_client, "echo", a1, &o, &fut), 0);
    const zmgr_value_t *res = NULL;
    assert_int_equal (zmgr_future_result (fut, 5000, &res), 0);
    assert_true (kit_value_is (res, "[1]"));
    assert_int_equal (zmgr_future_id (fut), done);
    zmgr_future_destroy (&fut);
    zmgr_value_destroy (&a1);
    zmgr_job_opts_t r = ZMGR_JOB_OPTS_INIT;
    r.key = "running";
    a1 = kit_value ("[0.3]");
    zmgr_future_t *f1 = NULL, *f2 = NULL;
    assert_int_equal (zmgr_submit (s_client, "sleep", a1, &r, &f1), 0);
    zmgr_client_t *c2 = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (c2);
    assert_int_equal (zmgr_submit (c2, "sleep", a1, &r, &f2), 0);
    zmgr_value_destroy (&a1);
    assert_int_equal (zmgr_future_result (f2, 5000, &res), 0);
    assert_int_equal (zmgr_future_result (f1, 5000, &res), 0);
    assert_int_equal (zmgr_future_id (f1), zmgr_future_id (f2));
    zmgr_future_destroy (&f1);
    zmgr_future_destroy (&f2);
    zmgr_client_destroy (&c2);
    /*  A scheduled one too; another key is another job. */
    o.key = "later";
    o.delay_ms = 60000;
    uint64_t later = s_submit ("echo", "[3]", &o);
    assert_true (later != done);
    assert_int_equal (s_submit ("echo", "[4]", &o), later);
    o.key = "other";
    uint64_t other = s_submit ("echo", "[5]", &o);
    assert_true (other != later && other != done);
    char st[32];
    assert_string_equal (s_status_str (later, "state", st, sizeof st), "scheduled");
    /*  Bad keys are refused, naming the option. */
    uint64_t id;
    o.key = "";
    assert_int_equal (s_try_submit ("echo", "[]", &o, &id), ZMGR_EINVAL);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "key"));
    /*  The keys survive a restart: the same ids come back. */
    s_restart ();
    o = (zmgr_job_opts_t)ZMGR_JOB_OPTS_INIT;
    o.key = "report-2026-12-02";
    assert_int_equal (s_submit ("echo", "[6]", &o), done);
    o.key = "later";
    assert_int_equal (s_submit ("echo", "[7]", &o), later);
    /*  Once its job is forgotten, a key is free: a new job. */
    o.key = "short";
    o.ttl_ms = 100;
    uint64_t shortlived = s_submit ("echo", "[8]", &o);
    assert_int_equal (s_wait (shortlived, 10000), 0);
    usleep (300 * 1000);
    uint64_t again = s_submit ("echo", "[9]", &o);
    assert_true (again > shortlived);
    s_stop ();
}

/* ---- delays ------------------------------------------------------------------ */

static void test_delay_and_at (void **state)
{
    (void)state;
    s_start ("2");
    /*  A warm-up job, so that the workers are there. */
    assert_int_equal (s_wait (s_submit ("echo", "[0]", NULL), 10000), 0);
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.delay_ms = 400;
    long long t0 = kit_now_ms ();
    uint64_t d = s_submit ("echo", "[1]", &o);
    char st[32];
    assert_string_equal (s_status_str (d, "state", st, sizeof st), "scheduled");
    assert_int_equal (s_wait (d, 10000), 0);
    long long late = kit_now_ms () - t0 - 400;
    fprintf (stderr, "  delay 400 ms: result %lld ms after the start time\n", late);
    assert_true (late >= 0);
    assert_true (late < 1000); /* a generous bound: the goal is 100 ms idle */
    /*  At a wall-clock time. */
    o = (zmgr_job_opts_t)ZMGR_JOB_OPTS_INIT;
    o.at_ms = s_wall_ms () + 500;
    uint64_t a = s_submit ("echo", "[2]", &o);
    assert_int_equal (s_wait (a, 10000), 0);
    late = s_wall_ms () - o.at_ms;
    fprintf (stderr, "  at +500 ms: result %lld ms after the start time\n", late);
    assert_true (late >= 0);
    assert_true (late < 1000);
    /*  A time in the past runs at once; at and delay exclude each other. */
    o.at_ms = s_wall_ms () - 60000;
    assert_int_equal (s_wait (s_submit ("echo", "[3]", &o), 10000), 0);
    o.delay_ms = 10;
    uint64_t id;
    assert_int_equal (s_try_submit ("echo", "[]", &o, &id), ZMGR_EINVAL);
    /*  A schedule survives a restart and still runs no earlier. */
    o = (zmgr_job_opts_t)ZMGR_JOB_OPTS_INIT;
    o.at_ms = s_wall_ms () + 1500;
    uint64_t kept = s_submit ("echo", "[4]", &o);
    s_restart ();
    assert_string_equal (s_status_str (kept, "state", st, sizeof st), "scheduled");
    assert_int_equal (s_wait (kept, 10000), 0);
    assert_true (s_wall_ms () >= o.at_ms);
    s_stop ();
}

/* ---- dependencies -------------------------------------------------------------- */

static void test_after (void **state)
{
    (void)state;
    s_start ("2");
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    uint64_t a = s_submit ("sleep", "[0.4]", NULL);
    uint64_t b = s_submit ("sleep", "[0.2]", NULL);
    uint64_t deps[2] = {a, b};
    o.after = deps;
    o.nafter = 2;
    uint64_t c = s_submit ("echo", "[\"c\"]", &o);
    char st[32];
    assert_string_equal (s_status_str (c, "state", st, sizeof st), "scheduled");
    assert_int_equal (s_wait (c, 10000), 0);
    /*  It ran after both: they are done by now. */
    assert_int_equal (s_wait (a, 0), 0);
    assert_int_equal (s_wait (b, 0), 0);
    /*  One fails: the job after it, and the one after that, fail with
     *  dependency-failed and never run. */
    uint64_t bad = s_submit ("fail", "[\"no\"]", NULL);
    o.after = &bad;
    o.nafter = 1;
    uint64_t d = s_submit ("echo", "[\"d\"]", &o);
    o.after = &d;
    uint64_t e = s_submit ("echo", "[\"e\"]", &o);
    assert_int_equal (s_wait (e, 10000), ZMGR_EJOBFAILED);
    assert_string_equal (s_status_str (d, "reason", st, sizeof st), "dependency-failed");
    assert_string_equal (s_status_str (e, "reason", st, sizeof st), "dependency-failed");
    /*  After one already failed: failed at once. */
    o.after = &bad;
    uint64_t f = s_submit ("echo", "[\"f\"]", &o);
    assert_int_equal (s_wait (f, 1000), ZMGR_EJOBFAILED);
    /*  A cancelled one. */
    zmgr_job_opts_t slow = ZMGR_JOB_OPTS_INIT;
    slow.delay_ms = 60000;
    uint64_t g = s_submit ("echo", "[\"g\"]", &slow);
    o.after = &g;
    uint64_t h = s_submit ("echo", "[\"h\"]", &o);
    bool cancelled = false;
    assert_int_equal (zmgr_job_cancel (s_client, g, &cancelled), 0);
    assert_true (cancelled);
    assert_int_equal (s_wait (h, 1000), ZMGR_EJOBFAILED);
    assert_string_equal (s_status_str (h, "reason", st, sizeof st), "dependency-failed");
    /*  An unknown id is refused. */
    uint64_t none = 999, id;
    o.after = &none;
    assert_int_equal (s_try_submit ("echo", "[]", &o, &id), ZMGR_ENOTFOUND);
    /*  A dependency survives a restart: the job still waits, then runs. */
    uint64_t first = s_submit ("echo", "[\"first\"]", &slow);
    o.after = &first;
    uint64_t second = s_submit ("echo", "[\"second\"]", &o);
    s_restart ();
    assert_string_equal (s_status_str (second, "state", st, sizeof st), "scheduled");
    assert_int_equal (s_wait (second, 200), ZMGR_ETIMEOUT);
    s_stop ();
}

/* ---- limits and pause ------------------------------------------------------------ */

/*  An integer / boolean field of the limits entry of function (-1 / false;
 *  -2 when nil). */
static int64_t s_limit_int (const char *function, const char *field)
{
    zmgr_value_t *v = NULL;
    int64_t out = -1;
    if (zmgr_limits (s_client, &v) != 0)
        return -1;
    msgpack_unpacked u;
    if (kit_unpack (v, &u)) {
        const msgpack_object *a = &u.data;
        for (uint32_t i = 0; a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size;
             i++) {
            const msgpack_object *m = &a->via.array.ptr[i];
            const msgpack_object *f = kit_map_get (m, "function");
            if (!f || f->type != MSGPACK_OBJECT_STR ||
                f->via.str.size != strlen (function) ||
                memcmp (f->via.str.ptr, function, f->via.str.size))
                continue;
            const msgpack_object *x = kit_map_get (m, field);
            if (x && x->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                out = (int64_t)x->via.u64;
            else if (x && x->type == MSGPACK_OBJECT_BOOLEAN)
                out = x->via.boolean;
            else if (x && x->type == MSGPACK_OBJECT_NIL)
                out = -2;
        }
        msgpack_unpacked_destroy (&u);
    }
    zmgr_value_destroy (&v);
    return out;
}

/*  An integer field of job id's status (or of its attempt_log's entry
 *  att, when att >= 0): the value, or -1 when not an integer. */
static int64_t s_status_int (uint64_t id, int att, const char *field)
{
    int64_t n = -1;
    zmgr_value_t *v = NULL;
    if (zmgr_job_status (s_client, id, &v) != 0)
        return -1;
    msgpack_unpacked u;
    if (kit_unpack (v, &u)) {
        const msgpack_object *o = &u.data;
        if (att >= 0) {
            const msgpack_object *log = kit_map_get (o, "attempt_log");
            o = log && log->type == MSGPACK_OBJECT_ARRAY &&
                        (uint32_t)att < log->via.array.size
                    ? &log->via.array.ptr[att]
                    : NULL;
        }
        const msgpack_object *f = o ? kit_map_get (o, field) : NULL;
        if (f && f->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            n = (int64_t)f->via.u64;
        msgpack_unpacked_destroy (&u);
    }
    zmgr_value_destroy (&v);
    return n;
}

static void test_rate_limit (void **state)
{
    (void)state;
    s_start ("2");
    assert_int_equal (s_wait (s_submit ("echo", "[0]", NULL), 10000), 0);
    /*  20 per second: a burst of 20, then one every 50 ms. */
    assert_int_equal (zmgr_limit_set (s_client, "echo", 20, 1000, 0), 0);
    assert_int_equal (s_limit_int ("echo", "rate"), 20);
    enum { N = 60 };
    uint64_t ids[N];
    int64_t at[N];
    for (int i = 0; i < N; i++)
        ids[i] = s_submit ("echo", "[1]", NULL);
    for (int i = 0; i < N; i++)
        assert_int_equal (s_wait (ids[i], 10000), 0);
    /*  The broker's own dispatch times (the attempt records' start), not
     *  when this client saw the results: a client held up on a loaded
     *  machine sees a run of late results at once, which says nothing of
     *  the limiter. */
    int64_t first = INT64_MAX, last = 0;
    for (int i = 0; i < N; i++) {
        at[i] = s_status_int (ids[i], 0, "started_ms");
        assert_true (at[i] > 0);
        first = at[i] < first ? at[i] : first;
        last = at[i] > last ? at[i] : last;
    }
    /*  Windows of 990 ms: the bucket holds 20 and refills 19.8 in that
     *  time, so at most 39 start in one; 990 rather than 1000 leaves room
     *  for the wall clock's and the limiter's monotonic clock's
     *  milliseconds not being cut at the same instant. */
    int most = 0;
    for (int i = 0; i < N; i++) {
        int in = 0;
        for (int j = 0; j < N; j++)
            in += at[j] >= at[i] && at[j] < at[i] + 990;
        most = in > most ? in : most;
    }
    fprintf (stderr, "  rate 20/s: 60 jobs started over %lld ms, at most %d in a 990 ms window\n",
             (long long)(last - first), most);
    assert_true (most <= 40);            /* the rate plus one burst */
    assert_true (last - first >= 1900);  /* (60 - 20) / 20 s, less a margin */
    /*  Cleared: no more waiting. */
    bool had = false;
    assert_int_equal (zmgr_limit_clear (s_client, "echo", &had), 0);
    assert_true (had);
    assert_int_equal (s_limit_int ("echo", "rate"), -1);
    /*  Bad limits are refused. */
    assert_int_equal (zmgr_limit_set (s_client, "echo", -1, 1000, 0), ZMGR_EINVAL);
    s_stop ();
}

static void test_concurrency_and_pause (void **state)
{
    (void)state;
    s_start ("4");
    assert_int_equal (s_wait (s_submit ("echo", "[0]", NULL), 10000), 0);
    assert_int_equal (zmgr_limit_set (s_client, "sleep", 0, 0, 2), 0);
    enum { N = 8 };
    uint64_t ids[N];
    long long t0 = kit_now_ms ();
    for (int i = 0; i < N; i++)
        ids[i] = s_submit ("sleep", "[0.25]", NULL);
    int64_t most = 0;
    for (long long end = kit_now_ms () + 10000; kit_now_ms () < end; usleep (10 * 1000)) {
        int64_t running = s_limit_int ("sleep", "running");
        most = running > most ? running : most;
        char st[32];
        if (!strcmp (s_status_str (ids[N - 1], "state", st, sizeof st), "done"))
            break;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal (s_wait (ids[i], 10000), 0);
    long long took = kit_now_ms () - t0;
    fprintf (stderr,
             "  concurrency 2 on 4 workers: at most %lld running, %d jobs in %lld ms\n",
             (long long)most, N, took);
    assert_int_equal (most, 2);
    assert_true (took >= 4 * 250 - 50);
    /*  Pause: jobs stay pending, jobs says so; resume runs them. */
    bool changed = false;
    assert_int_equal (zmgr_pause (s_client, "echo", &changed), 0);
    assert_true (changed);
    assert_int_equal (zmgr_pause (s_client, "echo", &changed), 0);
    assert_false (changed);
    uint64_t held = s_submit ("echo", "[\"held\"]", NULL);
    assert_int_equal (s_wait (held, 300), ZMGR_ETIMEOUT);
    char st[32];
    assert_string_equal (s_status_str (held, "state", st, sizeof st), "pending");
    zmgr_value_t *jobs = NULL;
    assert_int_equal (zmgr_jobs (s_client, &jobs), 0);
    msgpack_unpacked u;
    assert_true (kit_unpack (jobs, &u));
    const msgpack_object *paused = kit_map_get (&u.data, "paused");
    assert_true (paused && paused->type == MSGPACK_OBJECT_ARRAY &&
                 paused->via.array.size == 1);
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&jobs);
    /*  Durable: a restart keeps the pause and the limit. */
    s_restart ();
    assert_int_equal (s_limit_int ("echo", "paused"), 1);
    assert_int_equal (s_limit_int ("sleep", "concurrency"), 2);
    assert_int_equal (s_wait (held, 300), ZMGR_ETIMEOUT);
    assert_int_equal (zmgr_resume (s_client, "echo", &changed), 0);
    assert_true (changed);
    assert_int_equal (s_wait (held, 10000), 0);
    s_stop ();
}

/* ---- cron -------------------------------------------------------------------------- */

/*  A field of cron entry name (-1 when none). */
static int64_t s_cron_int (const char *name, const char *field)
{
    zmgr_value_t *v = NULL;
    int64_t out = -1;
    if (zmgr_cron_list (s_client, &v) != 0)
        return -1;
    msgpack_unpacked u;
    if (kit_unpack (v, &u)) {
        const msgpack_object *a = &u.data;
        for (uint32_t i = 0; a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size;
             i++) {
            const msgpack_object *m = &a->via.array.ptr[i];
            const msgpack_object *f = kit_map_get (m, "name");
            if (!f || f->type != MSGPACK_OBJECT_STR || f->via.str.size != strlen (name) ||
                memcmp (f->via.str.ptr, name, f->via.str.size))
                continue;
            const msgpack_object *x = kit_map_get (m, field);
            if (x && x->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                out = (int64_t)x->via.u64;
        }
        msgpack_unpacked_destroy (&u);
    }
    zmgr_value_destroy (&v);
    return out;
}

/*  Jobs of function in state, from the listing. */
static int s_count_listed (const char *function, const char *state)
{
    zmgr_value_t *v = NULL;
    int n = -1;
    if (zmgr_job_list (s_client, state, function, 1000, 0, &v) != 0)
        return -1;
    msgpack_unpacked u;
    if (kit_unpack (v, &u)) {
        const msgpack_object *jobs = kit_map_get (&u.data, "jobs");
        if (jobs && jobs->type == MSGPACK_OBJECT_ARRAY)
            n = (int)jobs->via.array.size;
        msgpack_unpacked_destroy (&u);
    }
    zmgr_value_destroy (&v);
    return n;
}

static void test_cron (void **state)
{
    (void)state;
    s_start ("2");
    zmgr_value_t *args = kit_value ("[\"tick\"]");
    int64_t next = 0;
    long long wall0 = s_wall_ms ();
    assert_int_equal (
        zmgr_cron_add (s_client, "tick", "*/1 * * * * *", "echo", args, "UTC", &next), 0);
    zmgr_value_destroy (&args);
    assert_true (next > wall0 - 1000 && next <= wall0 + 1000);
    /*  A run outlasts its period: the ticks in between are skipped. */
    args = kit_value ("[1.6]");
    assert_int_equal (
        zmgr_cron_add (s_client, "slow", "* * * * * *", "sleep", args, NULL, NULL), 0);
    zmgr_value_destroy (&args);
    int most = 0;
    for (long long end = kit_now_ms () + 3300; kit_now_ms () < end; usleep (20 * 1000)) {
        int running = s_count_listed ("sleep", "running");
        most = running > most ? running : most;
    }
    int64_t ticks = s_cron_int ("tick", "runs"), runs = s_cron_int ("slow", "runs"),
            skipped = s_cron_int ("slow", "skipped");
    fprintf (stderr,
             "  cron: every second ran %lld times in 3.3 s; the slow one ran %lld, "
             "skipped %lld, at most %d at once\n",
             (long long)ticks, (long long)runs, (long long)skipped, most);
    assert_true (ticks >= 2 && ticks <= 5);
    assert_int_equal (most, 1);
    assert_true (runs >= 1 && runs <= 2);
    assert_true (skipped >= 1);
    assert_true (s_count_listed ("echo", "done") >= 2);
    /*  Bad entries are refused with the reason. */
    args = kit_value ("[]");
    assert_int_equal (
        zmgr_cron_add (s_client, "bad", "61 * * * *", "echo", args, NULL, NULL),
        ZMGR_EINVAL);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "minute"));
    assert_int_equal (
        zmgr_cron_add (s_client, "bad", "* * * * *", "echo", args, "Mars/Base", NULL),
        ZMGR_EINVAL);
    assert_int_equal (
        zmgr_cron_add (s_client, "tick", "* * * * *", "echo", args, NULL, NULL),
        ZMGR_EEXISTS);
    /*  A daily entry survives a restart, and so does the removal of one. */
    assert_int_equal (zmgr_cron_add (s_client, "daily", "0 3 * * *", "echo", args,
                                     "Europe/Berlin", NULL),
                      0);
    zmgr_value_destroy (&args);
    bool removed = false;
    assert_int_equal (zmgr_cron_remove (s_client, "slow", &removed), 0);
    assert_true (removed);
    assert_int_equal (zmgr_cron_remove (s_client, "slow", &removed), 0);
    assert_false (removed);
    /*  Down for 2.5 s: the per-second entry missed two ticks or more, and
     *  runs once for them (no backfill), then on from now. */
    zmgr_client_destroy (&s_client);
    assert_int_equal (kit_daemon_stop (&s_daemon), 0);
    usleep (2500 * 1000);
    assert_int_equal (kit_daemon_restart (&s_daemon), 0);
    s_client = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (s_client);
    /*  (The catch-up is itself skipped when the job of the last tick
     *  before the stop is still pending, as it may be until the workers
     *  are back: then the next tick runs.) */
    int64_t after_restart = 0;
    long long t_restart = kit_now_ms ();
    while (kit_now_ms () < t_restart + 2000 &&
           (after_restart = s_cron_int ("tick", "runs")) < 1)
        usleep (20 * 1000);
    fprintf (stderr, "  cron: %lld runs %lld ms after 2.5 s down\n",
             (long long)after_restart, kit_now_ms () - t_restart);
    assert_true (after_restart >= 1 && after_restart <= 2);
    assert_true (
        kit_daemon_log_has (&s_daemon, "1 missed a tick and run once now", 1000));
    assert_true (s_cron_int ("daily", "next") > s_wall_ms ());
    assert_int_equal (s_cron_int ("slow", "next"), -1);
    /*  It goes on ticking. */
    usleep (1200 * 1000);
    assert_true (s_cron_int ("tick", "runs") > after_restart);
    assert_int_equal (zmgr_cron_remove (s_client, "tick", &removed), 0);
    s_stop ();
}

/* ---- the listing ----------------------------------------------------------------------
 */

static void test_job_list (void **state)
{
    (void)state;
    s_start ("1");
    uint64_t a = s_submit ("echo", "[1]", NULL);
    uint64_t b = s_submit ("fail", "[\"x\"]", NULL);
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.delay_ms = 60000;
    o.key = "k";
    uint64_t c = s_submit ("echo", "[2]", &o);
    assert_int_equal (s_wait (a, 10000), 0);
    assert_int_equal (s_wait (b, 10000), ZMGR_EJOBFAILED);
    assert_int_equal (s_count_listed (NULL, NULL), 3);
    assert_int_equal (s_count_listed ("echo", NULL), 2);
    assert_int_equal (s_count_listed (NULL, "failed"), 1);
    assert_int_equal (s_count_listed (NULL, "scheduled"), 1);
    /*  Pages, newest first. */
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_job_list (s_client, NULL, NULL, 2, 0, &v), 0);
    msgpack_unpacked u;
    assert_true (kit_unpack (v, &u));
    const msgpack_object *jobs = kit_map_get (&u.data, "jobs");
    const msgpack_object *next = kit_map_get (&u.data, "next");
    assert_true (jobs && jobs->type == MSGPACK_OBJECT_ARRAY && jobs->via.array.size == 2);
    const msgpack_object *id0 = kit_map_get (&jobs->via.array.ptr[0], "id");
    assert_true (id0 && id0->via.u64 == c);
    assert_true (next && next->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                 next->via.u64 == b);
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&v);
    assert_int_equal (zmgr_job_list (s_client, NULL, NULL, 2, b, &v), 0);
    assert_true (kit_unpack (v, &u));
    jobs = kit_map_get (&u.data, "jobs");
    next = kit_map_get (&u.data, "next");
    assert_true (jobs && jobs->via.array.size == 1);
    assert_true (next && next->type == MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&v);
    assert_int_equal (zmgr_job_list (s_client, "sleeping", NULL, 0, 0, &v), ZMGR_EINVAL);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "state"));
    s_stop ();
}

/* ---- the CLI ------------------------------------------------------------------------
 */

/*  Runs zmgr with the words given (NULL-terminated): its exit code, its
 *  stdout in out. */
static int s_cli (char *out, size_t size, ...)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = kit_cli_path ();
    argv[n++] = "-e";
    argv[n++] = s_daemon.endpoint;
    va_list ap;
    va_start (ap, size);
    const char *w;
    while ((w = va_arg (ap, const char *)) && n < 15)
        argv[n++] = w;
    va_end (ap);
    argv[n] = NULL;
    char err[512];
    int rc = kit_run (argv, NULL, out, size, err, sizeof err, 10000);
    if (rc != 0 && err[0])
        fprintf (stderr, "  zmgr %s: %s", argv[3], err);
    return rc;
}

static void test_cli (void **state)
{
    (void)state;
    s_start ("1");
    char a[128], b[128], out[4096];
    assert_int_equal (
        s_cli (a, sizeof a, "submit", "echo", "1", "--unique-key", "nightly", NULL), 0);
    assert_int_equal (
        s_cli (b, sizeof b, "submit", "echo", "2", "--unique-key", "nightly", NULL), 0);
    assert_string_equal (a, b);
    assert_int_equal (
        s_cli (out, sizeof out, "submit", "echo", "3", "--delay", "0.2", "--wait", NULL),
        0);
    assert_string_equal (out, "[3]\n");
    assert_int_equal (s_cli (out, sizeof out, "submit", "echo", "4", "--at",
                             "2020-01-01T00:00:00Z", "--wait", NULL),
                      0);
    assert_int_equal (
        s_cli (out, sizeof out, "submit", "echo", "5", "--at", "tomorrow", NULL), 2);
    a[strcspn (a, "\n")] = '\0';
    assert_int_equal (
        s_cli (out, sizeof out, "submit", "echo", "6", "--after", a, "--wait", NULL), 0);
    /*  The listing: JSON lines when stdout is not a terminal. */
    assert_int_equal (s_cli (out, sizeof out, "jobs", "list", "--function", "echo", NULL),
                      0);
    int lines = 0;
    for (const char *p = out; (p = strchr (p, '\n')); p++)
        lines++;
    assert_int_equal (lines, 4);
    assert_non_null (strstr (out, "\"key\":\"nightly\""));
    assert_int_equal (s_cli (out, sizeof out, "jobs", "list", "--state", "bogus", NULL),
                      2);
    /*  Limits, pause, cron. */
    assert_int_equal (s_cli (out, sizeof out, "limit", "set", "echo", "--rate", "100/s",
                             "--concurrency", "4", NULL),
                      0);
    assert_int_equal (
        s_cli (out, sizeof out, "limit", "set", "echo", "--rate", "fast", NULL), 2);
    assert_int_equal (s_cli (out, sizeof out, "limit", "list", NULL), 0);
    assert_non_null (strstr (out, "\"concurrency\":4"));
    assert_int_equal (s_cli (out, sizeof out, "pause", "echo", NULL), 0);
    assert_int_equal (s_cli (out, sizeof out, "jobs", NULL), 0);
    assert_non_null (strstr (out, "paused"));
    assert_int_equal (s_cli (out, sizeof out, "resume", "echo", NULL), 0);
    assert_string_equal (out, "true\n");
    assert_int_equal (s_cli (out, sizeof out, "limit", "clear", "echo", NULL), 0);
    assert_string_equal (out, "true\n");
    assert_int_equal (s_cli (out, sizeof out, "cron", "add", "nightly", "0 2 * * *",
                             "echo", "[\"n\"]", "--tz", "Europe/Berlin", NULL),
                      0);
    assert_int_equal (
        s_cli (out, sizeof out, "cron", "add", "bad", "0 25 * * *", "echo", NULL), 2);
    assert_int_equal (s_cli (out, sizeof out, "cron", "list", NULL), 0);
    assert_non_null (strstr (out, "\"spec\":\"0 2 * * *\""));
    assert_int_equal (s_cli (out, sizeof out, "cron", "remove", "nightly", NULL), 0);
    assert_string_equal (out, "true\n");
    s_stop ();
}

/* ---- a function's retry backoff, and the scheduling fields of job.status -------- */

/*  Runs a fail job retried once on its error and waits for it: the time
 *  from its first attempt's end to its second's start (ms). */
static int64_t s_retry_gap (void)
{
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.retries = 1;
    o.retry_on_error = true;
    uint64_t id = s_submit ("fail", "[\"again\"]", &o);
    assert_int_equal (s_wait (id, 15000), ZMGR_EJOBFAILED);
    assert_int_equal (s_status_int (id, -1, "attempts"), 2);
    int64_t ended = s_status_int (id, 0, "ended_ms"),
            started = s_status_int (id, 1, "started_ms");
    assert_true (ended > 0 && started > 0);
    return started - ended;
}

/*  The broker's backoff base is 5 s (its retries wait 2.5-5 s); the
 *  function's 300 ms goes before it: a retry 150 ms to well under 2.5 s
 *  after the attempt before, also after a restart. */
static void test_fn_backoff (void **state)
{
    (void)state;
    s_start_backoff ("1", "5000");
    assert_int_equal (zmgr_limit_backoff (s_client, "fail", -2, -1), ZMGR_EINVAL);
    assert_int_equal (zmgr_limit_backoff (s_client, "fail", 300, -1), 0);
    assert_int_equal (s_limit_int ("fail", "backoff_base_ms"), 300);
    assert_int_equal (s_limit_int ("fail", "backoff_max_ms"), -2);
    int64_t gap = s_retry_gap ();
    fprintf (stderr, "  function backoff 300 ms: retry %lld ms after the first attempt\n",
             (long long)gap);
    assert_true (gap >= 150);
    assert_true (gap < 2400);
    /*  The rate and concurrency leave it alone, and it survives a restart. */
    assert_int_equal (zmgr_limit_set (s_client, "fail", 0, 1000, 4), 0);
    s_restart ();
    assert_int_equal (s_limit_int ("fail", "backoff_base_ms"), 300);
    assert_int_equal (s_limit_int ("fail", "concurrency"), 4);
    gap = s_retry_gap ();
    fprintf (stderr, "  after a restart: retry %lld ms after\n", (long long)gap);
    assert_true (gap >= 150);
    assert_true (gap < 2400);
    /*  The CLI sets and shows it; limit clear removes it. */
    char out[4096];
    assert_int_equal (s_cli (out, sizeof out, "limit", "set", "echo", "--backoff-base",
                             "0.25", "--backoff-max", "2", NULL),
                      0);
    assert_int_equal (s_cli (out, sizeof out, "limit", "list", NULL), 0);
    assert_non_null (strstr (out, "\"function\":\"echo\""));
    assert_non_null (strstr (out, "\"backoff_base_ms\":250"));
    assert_non_null (strstr (out, "\"backoff_max_ms\":2000"));
    assert_int_equal (
        s_cli (out, sizeof out, "limit", "set", "echo", "--backoff-base", "x", NULL), 2);
    assert_int_equal (
        s_cli (out, sizeof out, "limit", "set", "echo", "--backoff-max", "inf", NULL), 2);
    assert_int_equal (s_cli (out, sizeof out, "limit", "clear", "echo", NULL), 0);
    assert_string_equal (out, "true\n");
    s_stop ();
}

/*  Job id's after ids: the only one, -2 when nil, -1 otherwise. */
static int64_t s_status_after (uint64_t id)
{
    int64_t n = -1;
    zmgr_value_t *v = NULL;
    if (zmgr_job_status (s_client, id, &v) != 0)
        return -1;
    msgpack_unpacked u;
    if (kit_unpack (v, &u)) {
        const msgpack_object *a = kit_map_get (&u.data, "after");
        if (a && a->type == MSGPACK_OBJECT_NIL)
            n = -2;
        else if (a && a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 1 &&
                 a->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            n = (int64_t)a->via.array.ptr[0].via.u64;
        msgpack_unpacked_destroy (&u);
    }
    zmgr_value_destroy (&v);
    return n;
}

/*  job.status names the unique key, the start time of a scheduled job
 *  (wall ms) and the jobs it runs after; nil when not set. */
static void test_status_fields (void **state)
{
    (void)state;
    s_start ("1");
    uint64_t plain = s_submit ("echo", "[1]", NULL);
    assert_int_equal (s_wait (plain, 10000), 0);
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.key = "status-key";
    o.delay_ms = 60000;
    o.after = &plain;
    o.nafter = 1;
    long long t0 = s_wall_ms ();
    uint64_t id = s_submit ("echo", "[2]", &o);
    long long t1 = s_wall_ms ();
    char buf[64];
    assert_string_equal (s_status_str (id, "state", buf, sizeof buf), "scheduled");
    assert_string_equal (s_status_str (id, "key", buf, sizeof buf), "status-key");
    int64_t start = s_status_int (id, -1, "start_ms");
    assert_true (start >= t0 + 60000 && start <= t1 + 60000);
    assert_int_equal (s_status_after (id), (int64_t)plain);
    assert_int_equal (s_status_after (plain), -2);
    assert_int_equal (s_status_int (plain, -1, "start_ms"), -1);
    assert_string_equal (s_status_str (plain, "key", buf, sizeof buf), "");
    char want[64];
    snprintf (want, sizeof want, "\"after\":[%llu]", (unsigned long long)plain);
    /*  zmgr status prints them. */
    char out[4096], idtext[32];
    snprintf (idtext, sizeof idtext, "%llu", (unsigned long long)id);
    assert_int_equal (s_cli (out, sizeof out, "status", idtext, NULL), 0);
    assert_non_null (strstr (out, "\"key\":\"status-key\""));
    assert_non_null (strstr (out, "\"start_ms\":"));
    assert_non_null (strstr (out, want));
    bool cancelled = false;
    assert_int_equal (zmgr_job_cancel (s_client, id, &cancelled), 0);
    assert_true (cancelled);
    s_stop ();
}

int main (void)
{
    signal (SIGALRM, s_on_alarm);
    alarm (S_WATCHDOG_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_unique_key),
        cmocka_unit_test (test_delay_and_at),
        cmocka_unit_test (test_after),
        cmocka_unit_test (test_rate_limit),
        cmocka_unit_test (test_concurrency_and_pause),
        cmocka_unit_test (test_cron),
        cmocka_unit_test (test_job_list),
        cmocka_unit_test (test_cli),
        cmocka_unit_test (test_fn_backoff),
        cmocka_unit_test (test_status_fields),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
