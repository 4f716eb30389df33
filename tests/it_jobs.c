/*  tests/it_jobs.c - the job pool end to end: real zmgrd, real zmgr-worker processes
 *  Each group starts its own zmgrd with an explicit --workers count (never
 *  the CPU count) and checks PROTOCOL.md section 8 through zmgr.h only:
 *  jobs running in parallel; the Pool calls (apply, map, starmap, imap,
 *  imap_unordered, map_async, close/join/terminate); futures (as_completed,
 *  wait); faults (a worker SIGKILLed mid-job, a crashing function, timeouts,
 *  a function's own error, a function no worker has yet); 10,000 jobs from
 *  four client processes; a worker of our own over tcp; bad submissions;
 *  exec; --max-tasks-per-child; modules that do not load; a graceful
 *  shutdown that lets a running job finish; local workers that must not
 *  outlive a killed broker.
 *
 *  Children (client processes) never touch the parent's handle, never use
 *  cmocka, and leave with _exit (exit() would run the parent's atexit hook,
 *  which kills the daemon). Workers this file starts itself are fork+exec'd
 *  zmgr-worker processes ($ZMGR_WORKER), tracked so that a failed test
 *  cannot leave them behind. The example `double` module comes from
 *  $ZMGR_EXAMPLE_MODULE (set by tests/CMakeLists.txt when the example is
 *  built); without it the parts that need it say so and are skipped. Some
 *  groups send zmgrd's stderr to a file: the tcp endpoint it bound
 *  (tcp://127.0.0.1:*) is read back from there, and restarts are seen there.
 *
 *  Slow parts (sleep jobs, restarts) are marked SLOW with their cost; the
 *  whole file takes about 20 s (30 s under ASan), and a watchdog alarm
 *  ends it (killing what it started) before ctest's TIMEOUT would. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

#define S_WATCHDOG_S 110          /* whole-file limit (ctest's TIMEOUT is 120) */
#define S_MAX_WORKERS 16          /* workers a zmgr_workers answer is read into */

static kit_daemon_t s_daemon;     /* the broker of the running group */
static zmgr_client_t *s_client;   /* the parent's client of that broker */
static int s_nworkers;            /* --workers of the running group */
static int s_stop_failures;       /* groups whose zmgrd did not exit 0, checked in main */

/* ---- processes we start ----------------------------------------------------------- */

/*  The watchdog: a hung wait somewhere must not outlive the test run, nor
 *  leave a daemon or worker behind (only async-signal-safe calls here). */
static void s_on_alarm (int sig)
{
    (void) sig;
    static const char msg[] = "it_jobs: watchdog expired, killing what we started\n";
    ssize_t w = write (2, msg, sizeof msg - 1);
    (void) w;
    kit_kill_all ();
    _exit (1);
}

/*  The example module's path, or NULL (with a note naming what is skipped). */
static const char *s_example_module (const char *skipping)
{
    const char *m = getenv ("ZMGR_EXAMPLE_MODULE");
    if (m && *m && access (m, R_OK) == 0)
        return m;
    fprintf (stderr, "  SKIP part: %s (ZMGR_EXAMPLE_MODULE %s)\n", skipping,
             m && *m ? "is not readable" : "is not set");
    return NULL;
}

/*  Starts zmgr-worker --connect endpoint [--module module] [--no-builtins]. */
static pid_t s_start_worker (const char *endpoint, const char *module, bool builtins)
{
    const char *argv[10];
    size_t argc = 0;
    argv[argc++] = kit_worker_path ();
    argv[argc++] = "--connect";
    argv[argc++] = endpoint;
    if (module) {
        argv[argc++] = "--module";
        argv[argc++] = module;
    }
    if (!builtins)
        argv[argc++] = "--no-builtins";
    argv[argc] = NULL;
    return kit_spawn (argv);
}

/* ---- values (literals are the kit's, kit.h) ------------------------------------ */

/*  A value unpacked for reading (msgpack objects point into the value). */
typedef struct {
    msgpack_unpacked u;
    bool ok;
} s_obj_t;

static const msgpack_object *s_open (s_obj_t *o, const zmgr_value_t *v)
{
    o->ok = kit_unpack (v, &o->u);
    return o->ok ? &o->u.data : NULL;
}

static void s_close (s_obj_t *o)
{
    msgpack_unpacked_destroy (&o->u);
}

static bool s_int_of (const msgpack_object *o, int64_t *i)
{
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *i = (int64_t) o->via.u64;
    else if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *i = o->via.i64;
    else
        return false;
    return true;
}

/*  Copies a string object into buf ("" when not a string). */
static const char *s_str_of (const msgpack_object *o, char *buf, size_t size)
{
    buf[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR) {
        size_t n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
        memcpy (buf, o->via.str.ptr, n);
        buf[n] = '\0';
    }
    return buf;
}

/* ---- broker views ----------------------------------------------------------------- */

typedef struct {
    int64_t pid;                 /* as the worker said */
    bool local;                  /* supervised by zmgrd */
    bool busy;                   /* state "busy" */
    uint64_t jobs[8];            /* ids it runs now */
    size_t njobs;
    char name[64];
} s_worker_t;

/*  zmgr_workers read into w[max]: how many there are, or -1. */
static int s_workers (zmgr_client_t *c, s_worker_t *w, int max)
{
    zmgr_value_t *v = NULL;
    if (zmgr_workers (c, &v) != 0)
        return -1;
    s_obj_t o;
    const msgpack_object *arr = s_open (&o, v);
    int n = -1;
    if (arr && arr->type == MSGPACK_OBJECT_ARRAY) {
        n = (int) arr->via.array.size;
        for (int i = 0; i < n && i < max; i++) {
            const msgpack_object *m = &arr->via.array.ptr[i];
            memset (&w[i], 0, sizeof w[i]);
            s_int_of (kit_map_get (m, "pid"), &w[i].pid);
            const msgpack_object *b = kit_map_get (m, "local");
            w[i].local = b && b->type == MSGPACK_OBJECT_BOOLEAN && b->via.boolean;
            char state[16];
            s_str_of (kit_map_get (m, "state"), state, sizeof state);
            w[i].busy = strcmp (state, "busy") == 0;
            s_str_of (kit_map_get (m, "name"), w[i].name, sizeof w[i].name);
            const msgpack_object *jobs = kit_map_get (m, "jobs");
            if (jobs && jobs->type == MSGPACK_OBJECT_ARRAY)
                for (uint32_t j = 0; j < jobs->via.array.size && j < 8; j++) {
                    int64_t id = 0;
                    if (s_int_of (&jobs->via.array.ptr[j], &id))
                        w[i].jobs[w[i].njobs++] = (uint64_t) id;
                }
        }
    }
    s_close (&o);
    zmgr_value_destroy (&v);
    return n;
}

/*  Is pid gone (no such process, or a zombie nobody reaped yet)? */
static bool s_pid_gone (pid_t pid)
{
    if (kill (pid, 0) != 0)
        return errno == ESRCH;
    char path[64], buf[256] = "";
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return true;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = '\0';
    const char *paren = strrchr (buf, ')');
    return paren && paren[1] == ' ' && paren[2] == 'Z';
}

/*  Waits (bounded) until exactly n workers are connected and, with idle,
 *  none is busy, each process is alive, and the same pids are seen again
 *  100 ms later: a local worker killed a moment ago (its job cancelled or
 *  timed out) stays listed, idle, until the broker notices its death and
 *  replaces it. */
static bool s_wait_workers (zmgr_client_t *c, int n, bool idle, int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    s_worker_t w[S_MAX_WORKERS];
    int64_t seen[S_MAX_WORKERS];
    bool have_seen = false;
    int got = -1;
    while (kit_now_ms () < deadline) {
        got = s_workers (c, w, S_MAX_WORKERS);
        bool ok = got == n;
        for (int i = 0; ok && idle && i < got && i < S_MAX_WORKERS; i++)
            ok = !w[i].busy
                 && !(w[i].local && w[i].pid > 0 && s_pid_gone ((pid_t) w[i].pid));
        if (ok && !idle)
            return true;
        if (ok && have_seen) {
            bool same = true;
            for (int i = 0; i < got && i < S_MAX_WORKERS; i++)
                same &= seen[i] == w[i].pid;
            if (same)
                return true;
        }
        have_seen = ok;
        for (int i = 0; ok && i < got && i < S_MAX_WORKERS; i++)
            seen[i] = w[i].pid;
        usleep ((ok ? 100 : 20) * 1000);
    }
    fprintf (stderr, "  wanted %d%s workers, have %d\n", n, idle ? " idle" : "", got);
    return false;
}

/*  The pid of the worker running job id, or 0. */
static int64_t s_worker_of (zmgr_client_t *c, uint64_t id)
{
    s_worker_t w[S_MAX_WORKERS];
    int n = s_workers (c, w, S_MAX_WORKERS);
    for (int i = 0; i < n && i < S_MAX_WORKERS; i++)
        for (size_t j = 0; j < w[i].njobs; j++)
            if (w[i].jobs[j] == id)
                return w[i].pid;
    return 0;
}

/*  job.status fields: attempts (or -1) and state (or ""). */
static int64_t s_job_attempts (zmgr_client_t *c, uint64_t id, char *state, size_t size)
{
    zmgr_value_t *v = NULL;
    int64_t attempts = -1;
    if (state)
        state[0] = '\0';
    if (zmgr_job_status (c, id, &v) == 0) {
        s_obj_t o;
        const msgpack_object *m = s_open (&o, v);
        s_int_of (kit_map_get (m, "attempts"), &attempts);
        if (state)
            s_str_of (kit_map_get (m, "state"), state, size);
        s_close (&o);
    }
    zmgr_value_destroy (&v);
    return attempts;
}

/*  A counter of zmgr_jobs (pending, running, done, failed), or -1. */
static int64_t s_jobs_count (zmgr_client_t *c, const char *key)
{
    zmgr_value_t *v = NULL;
    int64_t n = -1;
    if (zmgr_jobs (c, &v) == 0) {
        s_obj_t o;
        s_int_of (kit_map_get (s_open (&o, v), key), &n);
        s_close (&o);
    }
    zmgr_value_destroy (&v);
    return n;
}

/*  Does zmgr_jobs list function under no_worker? */
static bool s_no_worker_lists (zmgr_client_t *c, const char *function)
{
    zmgr_value_t *v = NULL;
    bool found = false;
    if (zmgr_jobs (c, &v) == 0) {
        s_obj_t o;
        const msgpack_object *nw = kit_map_get (s_open (&o, v), "no_worker");
        if (nw && nw->type == MSGPACK_OBJECT_ARRAY)
            for (uint32_t i = 0; i < nw->via.array.size; i++) {
                char name[80];
                found |= strcmp (s_str_of (&nw->via.array.ptr[i], name, sizeof name),
                                 function) == 0;
            }
        s_close (&o);
    }
    zmgr_value_destroy (&v);
    return found;
}

/*  Submits function(json args) with opts; asserts it was accepted. */
static uint64_t s_submit (const char *function, const char *args,
                          const zmgr_job_opts_t *opts)
{
    zmgr_value_t *a = kit_value (args);
    uint64_t id = 0;
    int rc = zmgr_job_submit (s_client, function, a, opts, &id);
    zmgr_value_destroy (&a);
    if (rc != 0)
        fprintf (stderr, "  submit %s%s: %s (%s)\n", function, args, zmgr_errname (rc),
                 zmgr_client_errmsg (s_client));
    assert_int_equal (rc, 0);
    assert_true (id > 0);
    return id;
}

static zmgr_future_t *s_future (const char *function, const char *args,
                                const zmgr_job_opts_t *opts)
{
    zmgr_value_t *a = kit_value (args);
    zmgr_future_t *f = NULL;
    int rc = zmgr_submit (s_client, function, a, opts, &f);
    zmgr_value_destroy (&a);
    if (rc != 0)
        fprintf (stderr, "  submit %s%s: %s (%s)\n", function, args, zmgr_errname (rc),
                 zmgr_client_errmsg (s_client));
    assert_int_equal (rc, 0);
    assert_non_null (f);
    return f;
}

/*  zmgrd's captured log contains text? */
static bool s_log_has (const char *text)
{
    return kit_daemon_log_has (&s_daemon, text, 0);
}

/* ---- fixtures --------------------------------------------------------------------- */

/*  Group setup: zmgrd with args and nworkers local workers, a client, and
 *  every local worker connected. */
static int s_setup (const char *const *args, int nworkers, bool capture)
{
    s_nworkers = nworkers;
    if (kit_daemon_start_ex (&s_daemon, capture ? KIT_DAEMON_LOG : 0, args) != 0)
        return -1;
    s_client = kit_client (s_daemon.endpoint, 5000);
    if (!s_client)
        return -1;
    if (nworkers > 0 && !s_wait_workers (s_client, nworkers, true, 10000))
        return -1;
    return 0;
}

static int s_teardown (void **state)
{
    (void) state;
    kit_children_kill ();
    zmgr_client_destroy (&s_client);
    bool running = s_daemon.pid > 0;   /* else a test stopped or killed it */
    int rc = kit_daemon_fini (&s_daemon);
    if (running && rc != 0)
        s_stop_failures++;
    return 0;
}

static int s_setup_w4 (void **state)
{
    (void) state;
    static const char *const args[] = { "--workers", "4", NULL };
    return s_setup (args, 4, false);
}

static int s_setup_w2 (void **state)
{
    (void) state;
    static const char *const args[] = { "--workers", "2", NULL };
    return s_setup (args, 2, false);
}

static int s_setup_w1_exec (void **state)
{
    (void) state;
    static const char *const args[] = { "--workers", "1", "--enable-exec",
                                         "--grace-ms", "5000", NULL };
    return s_setup (args, 1, false);
}

/*  A tcp endpoint on a port the kernel picks, read back from the log. */
static int s_setup_tcp (void **state)
{
    (void) state;
    static const char *const args[] = { "--workers", "0", "--allow-plain-tcp", "-e",
                                         "tcp://127.0.0.1:*", NULL };
    return s_setup (args, 0, true);
}

static int s_setup_recycle (void **state)
{
    (void) state;
    static const char *const args[] = { "--workers", "1", "--max-tasks-per-child", "3",
                                         "-v", NULL };
    return s_setup (args, 1, true);
}

static char s_badmodule[64];   /* a readable file that is no shared object */

/*  zmgrd checks at start that each --module is readable (a missing one
 *  stops it there); one that is readable but does not load fails only in
 *  the worker: garbage named .so. */
static int s_setup_badmodule (void **state)
{
    (void) state;
    snprintf (s_badmodule, sizeof s_badmodule, "/tmp/zmgr-itjobs-bad-XXXXXX.so");
    int fd = mkstemps (s_badmodule, 3);
    if (fd < 0) {
        perror ("mkstemps");
        s_badmodule[0] = '\0';
        return -1;
    }
    static const char junk[] = "this is not an ELF shared object\n";
    ssize_t w = write (fd, junk, sizeof junk - 1);
    close (fd);
    if (w != (ssize_t) sizeof junk - 1)
        return -1;
    const char *const args[] = { "--workers", "1", "--module", s_badmodule, NULL };
    return s_setup (args, 0, true);   /* its worker never connects */
}

static int s_teardown_badmodule (void **state)
{
    if (s_badmodule[0])
        unlink (s_badmodule);
    s_badmodule[0] = '\0';
    return s_teardown (state);
}

/*  Each test starts with every local worker connected and idle, since a
 *  fault test before it may have had one killed and restarted. */
static int s_each_setup (void **state)
{
    (void) state;
    return s_wait_workers (s_client, s_nworkers, true, 10000) ? 0 : -1;
}

/* ---- 1. parallelism --------------------------------------------------------------- */

/*  SLOW ~1 s: four sleep(1) jobs on four workers run side by side. */
static void test_four_sleeps_in_parallel (void **state)
{
    (void) state;
    zmgr_future_t *fs[4];
    long long t0 = kit_now_ms ();
    for (int i = 0; i < 4; i++)
        fs[i] = s_future ("sleep", "[1.0]", NULL);
    size_t ndone = 0;
    int rc = zmgr_wait (fs, 4, ZMGR_ALL_COMPLETED, 5000, &ndone);
    long long elapsed = kit_now_ms () - t0;
    assert_int_equal (rc, 0);
    assert_int_equal (ndone, 4);
    for (int i = 0; i < 4; i++) {
        const zmgr_value_t *r = NULL;
        assert_true (zmgr_future_done (fs[i]));
        assert_int_equal (zmgr_future_result (fs[i], 0, &r), 0);
        assert_true (!r || zmgr_value_kind (r) == ZMGR_VAL_NIL);
        assert_null (zmgr_future_exception (fs[i]));
        assert_true (zmgr_future_id (fs[i]) > 0);
        zmgr_future_destroy (&fs[i]);
    }
    fprintf (stderr, "  4 x sleep(1) on 4 workers: %lld ms\n", elapsed);
    assert_true (elapsed >= 900);
    assert_true (elapsed < 2500);
}

/* ---- 2. the Pool ------------------------------------------------------------------ */

static int s_callbacks, s_errbacks;   /* apply_async callback counts */

static void s_on_result (zmgr_future_t *f, void *user)
{
    (void) f;
    (void) user;
    s_callbacks++;
}

static void s_on_error (zmgr_future_t *f, void *user)
{
    (void) f;
    (void) user;
    s_errbacks++;
}

/*  pool.map / starmap with json items; asserts the result array. */
static void s_check_map (zmgr_pool_t *pool, bool star, const char *function,
                         const char *items, size_t chunksize, const char *want)
{
    zmgr_value_t *in = kit_value (items), *out = NULL;
    int rc = star ? zmgr_pool_starmap (pool, function, in, chunksize, 10000, &out)
                  : zmgr_pool_map (pool, function, in, chunksize, 10000, &out);
    zmgr_value_destroy (&in);
    if (rc != 0)
        fprintf (stderr, "  %s %s%s chunk %zu: %s (%s)\n", star ? "starmap" : "map",
                 function, items, chunksize, zmgr_errname (rc),
                 zmgr_client_errmsg (s_client));
    assert_int_equal (rc, 0);
    assert_true (kit_value_is (out, want));
    zmgr_value_destroy (&out);
}

/*  SLOW ~0.5 s: two applies of sleep 0.2 run one after the other. */
static void test_pool_apply (void **state)
{
    (void) state;
    zmgr_pool_t *pool = zmgr_pool_new (s_client, NULL);
    assert_non_null (pool);
    zmgr_value_t *args = kit_value ("[0.2]"), *r = NULL;
    long long t0 = kit_now_ms ();
    assert_int_equal (zmgr_pool_apply (pool, "sleep", args, 5000, &r), 0);
    zmgr_value_destroy (&r);
    assert_int_equal (zmgr_pool_apply (pool, "sleep", args, 5000, &r), 0);
    zmgr_value_destroy (&r);
    long long elapsed = kit_now_ms () - t0;
    zmgr_value_destroy (&args);
    assert_true (elapsed >= 350);
    assert_true (elapsed < 3000);

    args = kit_value ("[10]");
    assert_int_equal (zmgr_pool_apply (pool, "sum_range", args, 5000, &r), 0);
    zmgr_value_destroy (&args);
    assert_true (kit_value_is (r, "45"));
    zmgr_value_destroy (&r);
    args = kit_value ("[10000000]");
    assert_int_equal (zmgr_pool_apply (pool, "sum_range", args, 10000, &r), 0);
    zmgr_value_destroy (&args);
    assert_true (kit_value_is (r, "49999995000000"));
    zmgr_value_destroy (&r);

    /*  A failing apply: EJOBFAILED, the function's text in the errmsg, no result. */
    args = kit_value ("[\"apply went wrong\"]");
    r = (zmgr_value_t *) 1;
    assert_int_equal (zmgr_pool_apply (pool, "fail", args, 5000, &r), ZMGR_EJOBFAILED);
    zmgr_value_destroy (&args);
    assert_null (r);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "apply went wrong"));
    zmgr_pool_destroy (&pool);
}

static void test_pool_map_starmap (void **state)
{
    (void) state;
    zmgr_pool_t *pool = zmgr_pool_new (s_client, NULL);
    assert_non_null (pool);
    /*  map wraps each item as [item]; echo returns its argument array. */
    s_check_map (pool, false, "echo", "[1, 2, 3, 4]", 0, "[[1], [2], [3], [4]]");
    s_check_map (pool, false, "echo", "[1, 2, 3, 4]", 1, "[[1], [2], [3], [4]]");
    s_check_map (pool, false, "echo", "[1, 2, 3, 4, 5]", 3, "[[1], [2], [3], [4], [5]]");
    s_check_map (pool, false, "echo", "[1, 2]", 100, "[[1], [2]]");
    s_check_map (pool, false, "echo", "[]", 0, "[]");
    s_check_map (pool, false, "sum_range", "[0, 1, 10, 100]", 0, "[0, 0, 45, 4950]");
    s_check_map (pool, false, "echo", "[\"a\", [1, 2], {\"k\": null}]", 2,
                 "[[\"a\"], [[1, 2]], [{\"k\": null}]]");
    /*  starmap: each item is the argument array itself. */
    s_check_map (pool, true, "sum_range", "[[3], [4], [5]]", 0, "[3, 6, 10]");
    s_check_map (pool, true, "echo", "[[1, 2], [3], []]", 2, "[[1, 2], [3], []]");

    /*  One failing item fails the whole map. */
    zmgr_value_t *in = kit_value ("[\"map item failed\"]"), *out = (zmgr_value_t *) 1;
    assert_int_equal (zmgr_pool_map (pool, "fail", in, 0, 5000, &out), ZMGR_EJOBFAILED);
    zmgr_value_destroy (&in);
    assert_null (out);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "map item failed"));
    in = kit_value ("[[1], [\"second of three\"], [3]]");
    out = (zmgr_value_t *) 1;
    assert_int_equal (zmgr_pool_starmap (pool, "fail", in, 1, 5000, &out),
                      ZMGR_EJOBFAILED);
    zmgr_value_destroy (&in);
    assert_null (out);
    zmgr_pool_destroy (&pool);
}

/*  Reads every result of it (at most max) into out; returns how many, or
 *  -1 when a call other than the end failed. */
static int s_drain_imap (zmgr_imap_t *it, zmgr_value_t **out, int max)
{
    int n = 0;
    for (;;) {
        zmgr_value_t *r = NULL;
        int rc = zmgr_imap_next (it, 5000, &r);
        if (rc == ZMGR_EEMPTY)
            return n;
        if (rc != 0 || n == max) {
            fprintf (stderr, "  imap_next: %s\n", zmgr_errname (rc));
            zmgr_value_destroy (&r);
            return -1;
        }
        out[n++] = r;
    }
}

/*  SLOW ~1 s: imap in input order, imap_unordered in completion order,
 *  map_async collected at once. */
static void test_pool_imap (void **state)
{
    (void) state;
    zmgr_pool_t *pool = zmgr_pool_new (s_client, NULL);
    assert_non_null (pool);

    /*  imap: input order. */
    zmgr_value_t *items = kit_value ("[10, 20, 30, 40, 50]");
    zmgr_imap_t *it = zmgr_pool_imap (pool, "echo", items, 1, true, false);
    zmgr_value_destroy (&items);
    assert_non_null (it);
    zmgr_value_t *res[8];
    assert_int_equal (s_drain_imap (it, res, 8), 5);
    const char *want[] = { "[10]", "[20]", "[30]", "[40]", "[50]" };
    for (int i = 0; i < 5; i++) {
        assert_true (kit_value_is (res[i], want[i]));
        zmgr_value_destroy (&res[i]);
    }
    size_t done = 0, total = 0;
    zmgr_imap_progress (it, &done, &total);
    assert_int_equal (done, 5);
    assert_int_equal (total, 5);
    zmgr_value_t *r = (zmgr_value_t *) 1;
    assert_int_equal (zmgr_imap_next (it, 0, &r), ZMGR_EEMPTY);   /* stays at the end */
    assert_null (r);
    zmgr_imap_destroy (&it);
    assert_null (it);

    /*  imap_unordered: every result once, in some order. */
    items = kit_value ("[1, 2, 3, 4, 5, 6]");
    it = zmgr_pool_imap (pool, "echo", items, 1, false, false);
    zmgr_value_destroy (&items);
    assert_non_null (it);
    assert_int_equal (s_drain_imap (it, res, 8), 6);
    bool seen[7] = { false };
    for (int i = 0; i < 6; i++) {
        s_obj_t o;
        const msgpack_object *a = s_open (&o, res[i]);
        int64_t v = 0;
        assert_true (a && a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 1);
        assert_true (s_int_of (&a->via.array.ptr[0], &v));
        assert_true (v >= 1 && v <= 6);
        assert_false (seen[v]);
        seen[v] = true;
        s_close (&o);
        zmgr_value_destroy (&res[i]);
    }
    zmgr_imap_destroy (&it);

    /*  Order that shows: a slow first item holds imap back, not imap_unordered. */
    items = kit_value ("[[0.5], [0.05]]");
    long long t0 = kit_now_ms ();
    it = zmgr_pool_imap (pool, "sleep", items, 1, true, true);
    assert_non_null (it);
    assert_int_equal (zmgr_imap_next (it, 5000, &r), 0);
    long long first_ordered = kit_now_ms () - t0;
    zmgr_value_destroy (&r);
    assert_int_equal (zmgr_imap_next (it, 5000, &r), 0);
    zmgr_value_destroy (&r);
    zmgr_imap_destroy (&it);
    assert_true (s_wait_workers (s_client, s_nworkers, true, 5000));
    t0 = kit_now_ms ();
    it = zmgr_pool_imap (pool, "sleep", items, 1, false, true);
    assert_non_null (it);
    assert_int_equal (zmgr_imap_next (it, 5000, &r), 0);
    long long first_unordered = kit_now_ms () - t0;
    zmgr_value_destroy (&r);
    assert_int_equal (zmgr_imap_next (it, 5000, &r), 0);
    zmgr_value_destroy (&r);
    assert_int_equal (zmgr_imap_next (it, 0, &r), ZMGR_EEMPTY);
    zmgr_imap_destroy (&it);
    zmgr_value_destroy (&items);
    fprintf (stderr, "  first of [0.5 s, 0.05 s]: imap %lld ms, imap_unordered %lld ms\n",
             first_ordered, first_unordered);
    assert_true (first_ordered >= 400);
    assert_true (first_unordered < 350);

    /*  map_async: the whole array in order. */
    items = kit_value ("[1, 2, 3, 4, 5]");
    it = zmgr_pool_imap (pool, "sum_range", items, 2, true, false);
    zmgr_value_destroy (&items);
    assert_non_null (it);
    zmgr_value_t *all = NULL;
    assert_int_equal (zmgr_imap_collect (it, 5000, &all), 0);
    assert_true (kit_value_is (all, "[0, 1, 3, 6, 10]"));
    zmgr_value_destroy (&all);
    zmgr_imap_progress (it, &done, &total);
    assert_int_equal (done, 5);
    assert_int_equal (total, 5);
    zmgr_imap_destroy (&it);

    /*  A failed item shows at its place: EJOBFAILED with the text. */
    items = kit_value ("[[\"imap item failed\"]]");
    it = zmgr_pool_imap (pool, "fail", items, 1, true, true);
    zmgr_value_destroy (&items);
    assert_non_null (it);
    r = (zmgr_value_t *) 1;
    assert_int_equal (zmgr_imap_next (it, 5000, &r), ZMGR_EJOBFAILED);
    assert_null (r);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "imap item failed"));
    zmgr_imap_destroy (&it);
    zmgr_pool_destroy (&pool);
}

static void test_pool_async_close_join (void **state)
{
    (void) state;
    zmgr_pool_t *pool = zmgr_pool_new (s_client, NULL);
    assert_non_null (pool);
    s_callbacks = s_errbacks = 0;
    int rc;
    zmgr_value_t *args = kit_value ("[7, \"x\"]");
    zmgr_future_t *ok = NULL, *bad = NULL;
    rc = zmgr_pool_apply_async (pool, "echo", args, s_on_result, s_on_error, NULL, &ok);
    assert_int_equal (rc, 0);
    zmgr_value_destroy (&args);
    args = kit_value ("[\"async failure\"]");
    rc = zmgr_pool_apply_async (pool, "fail", args, s_on_result, s_on_error, NULL, &bad);
    assert_int_equal (rc, 0);
    zmgr_value_destroy (&args);
    assert_non_null (ok);
    assert_non_null (bad);
    const zmgr_value_t *r = NULL;
    assert_int_equal (zmgr_future_result (ok, 5000, &r), 0);
    assert_true (kit_value_is (r, "[7, \"x\"]"));
    assert_int_equal (zmgr_future_result (bad, 5000, &r), ZMGR_EJOBFAILED);
    assert_non_null (zmgr_future_exception (bad));
    assert_non_null (strstr (zmgr_future_exception (bad), "async failure"));
    /*  Each callback ran exactly once, the right one. */
    assert_int_equal (s_callbacks, 1);
    assert_int_equal (s_errbacks, 1);

    /*  A long job, then close: join waits for it; later submissions fail. */
    zmgr_future_t *slow = NULL;
    args = kit_value ("[0.3]");
    rc = zmgr_pool_apply_async (pool, "sleep", args, NULL, NULL, NULL, &slow);
    assert_int_equal (rc, 0);
    assert_int_equal (zmgr_pool_close (pool), 0);
    zmgr_future_t *late = NULL;
    rc = zmgr_pool_apply_async (pool, "sleep", args, NULL, NULL, NULL, &late);
    assert_int_equal (rc, ZMGR_ESHUTDOWN);
    assert_null (late);
    zmgr_value_t *out = NULL;
    assert_int_equal (zmgr_pool_apply (pool, "sleep", args, 1000, &out), ZMGR_ESHUTDOWN);
    zmgr_value_destroy (&args);
    assert_int_equal (zmgr_pool_join (pool, 5000), 0);
    assert_true (zmgr_future_done (slow));
    zmgr_future_destroy (&ok);
    zmgr_future_destroy (&bad);
    zmgr_future_destroy (&slow);
    zmgr_pool_destroy (&pool);
    assert_null (pool);

    /*  terminate cancels what a pool still has. */
    pool = zmgr_pool_new (s_client, NULL);
    assert_non_null (pool);
    args = kit_value ("[5.0]");
    rc = zmgr_pool_apply_async (pool, "sleep", args, NULL, NULL, NULL, &slow);
    assert_int_equal (rc, 0);
    zmgr_value_destroy (&args);
    long long t0 = kit_now_ms ();
    assert_int_equal (zmgr_pool_terminate (pool), 0);
    rc = zmgr_future_result (slow, 3000, &r);
    assert_int_equal (rc, ZMGR_ECANCELLED);
    assert_true (kit_now_ms () - t0 < 2000);
    zmgr_future_destroy (&slow);
    zmgr_pool_destroy (&pool);
}

/* ---- 3. futures ------------------------------------------------------------------- */

/*  SLOW ~0.6 s: as_completed yields sleep 0.2, 0.4, 0.6 in that order. */
static void test_as_completed (void **state)
{
    (void) state;
    zmgr_future_t *fs[3];
    fs[0] = s_future ("sleep", "[0.6]", NULL);
    fs[1] = s_future ("sleep", "[0.2]", NULL);
    fs[2] = s_future ("sleep", "[0.4]", NULL);
    zmgr_as_completed_t *it = zmgr_as_completed_new (fs, 3);
    assert_non_null (it);
    const int order[3] = { 1, 2, 0 };
    for (int i = 0; i < 3; i++) {
        zmgr_future_t *next = NULL;
        int rc = zmgr_as_completed_next (it, 5000, &next);
        assert_int_equal (rc, 0);
        if (next != fs[order[i]])
            fprintf (stderr, "  yield %d: want the future of sleep %s\n", i,
                     order[i] == 0 ? "0.6" : order[i] == 1 ? "0.2" : "0.4");
        assert_ptr_equal (next, fs[order[i]]);
        assert_true (zmgr_future_done (next));
    }
    zmgr_future_t *none = (zmgr_future_t *) 1;
    assert_int_equal (zmgr_as_completed_next (it, 1000, &none), ZMGR_EEMPTY);
    zmgr_as_completed_destroy (&it);
    assert_null (it);
    for (int i = 0; i < 3; i++)
        zmgr_future_destroy (&fs[i]);
}

/*  SLOW ~0.9 s: wait with FIRST_COMPLETED, ALL_COMPLETED, FIRST_EXCEPTION. */
static void test_wait_modes (void **state)
{
    (void) state;
    zmgr_future_t *fs[2];
    long long t0 = kit_now_ms ();
    fs[0] = s_future ("sleep", "[0.8]", NULL);
    fs[1] = s_future ("sleep", "[0.1]", NULL);
    size_t ndone = 99;
    assert_int_equal (zmgr_wait (fs, 2, ZMGR_ALL_COMPLETED, 20, &ndone), ZMGR_ETIMEOUT);
    assert_int_equal (zmgr_wait (fs, 2, ZMGR_FIRST_COMPLETED, 5000, &ndone), 0);
    long long first = kit_now_ms () - t0;
    assert_int_equal (ndone, 1);
    assert_true (zmgr_future_done (fs[1]));
    assert_false (zmgr_future_done (fs[0]));
    assert_int_equal (zmgr_wait (fs, 2, ZMGR_ALL_COMPLETED, 5000, &ndone), 0);
    long long all = kit_now_ms () - t0;
    assert_int_equal (ndone, 2);
    fprintf (stderr, "  FIRST_COMPLETED after %lld ms, ALL_COMPLETED after %lld ms\n",
             first, all);
    assert_true (first >= 80 && first < 700);
    assert_true (all >= 750);
    /*  Done already: at once. */
    assert_int_equal (zmgr_wait (fs, 2, ZMGR_FIRST_COMPLETED, 0, &ndone), 0);
    for (int i = 0; i < 2; i++)
        zmgr_future_destroy (&fs[i]);

    /*  FIRST_EXCEPTION returns on the failure, not after the slow job. */
    t0 = kit_now_ms ();
    fs[0] = s_future ("sleep", "[3.0]", NULL);
    fs[1] = s_future ("fail", "[\"first exception\"]", NULL);
    assert_int_equal (zmgr_wait (fs, 2, ZMGR_FIRST_EXCEPTION, 5000, &ndone), 0);
    assert_true (kit_now_ms () - t0 < 2500); /* well before the sleep's 3 s */
    assert_int_equal (ndone, 1);
    assert_non_null (zmgr_future_exception (fs[1]));
    bool cancelled = false;
    assert_int_equal (zmgr_future_cancel (fs[0], &cancelled), 0);
    assert_true (cancelled);
    const zmgr_value_t *r = NULL;
    assert_int_equal (zmgr_future_result (fs[0], 2000, &r), ZMGR_ECANCELLED);
    for (int i = 0; i < 2; i++)
        zmgr_future_destroy (&fs[i]);
}

/* ---- 4. faults -------------------------------------------------------------------- */

/*  SLOW ~2 s: a worker SIGKILLed mid-job; the job runs again elsewhere and
 *  the supervisor replaces the worker. */
static void test_worker_killed_mid_job (void **state)
{
    (void) state;
    s_worker_t before[S_MAX_WORKERS];
    int n = s_workers (s_client, before, S_MAX_WORKERS);
    assert_int_equal (n, s_nworkers);
    uint64_t id = s_submit ("sleep", "[1.5]", NULL);   /* retries: the default (2) */
    int64_t victim = 0;
    long long deadline = kit_now_ms () + 3000;
    while (!(victim = s_worker_of (s_client, id)) && kit_now_ms () < deadline)
        usleep (10 * 1000);
    assert_true (victim > 0);
    assert_int_equal (kill ((pid_t) victim, SIGKILL), 0);
    zmgr_value_t *r = NULL;
    int rc = zmgr_job_result (s_client, id, 8000, &r);
    if (rc != 0)
        fprintf (stderr, "  job_result: %s (%s)\n", zmgr_errname (rc),
                 zmgr_client_errmsg (s_client));
    assert_int_equal (rc, 0);
    assert_true (!r || zmgr_value_kind (r) == ZMGR_VAL_NIL);
    zmgr_value_destroy (&r);
    char state_name[16];
    assert_int_equal (s_job_attempts (s_client, id, state_name, sizeof state_name), 2);
    assert_string_equal (state_name, "done");

    /*  Same count again, the victim gone, a pid never seen before. (At
     *  least one: a worker killed by an earlier test's cancel may have
     *  still been listed, not yet reaped, in `before`.) */
    long long until = kit_now_ms () + 10000;
    int fresh = 0;
    bool victim_listed = true;
    s_worker_t after[S_MAX_WORKERS];
    while (kit_now_ms () < until) {
        int m = s_workers (s_client, after, S_MAX_WORKERS);
        fresh = 0;
        victim_listed = false;
        for (int i = 0; i < m && i < S_MAX_WORKERS; i++) {
            bool old = false;
            for (int j = 0; j < n; j++)
                old |= before[j].pid == after[i].pid;
            fresh += !old && after[i].local;
            victim_listed |= after[i].pid == victim;
        }
        if (m == s_nworkers && fresh >= 1 && !victim_listed)
            break;
        usleep (20 * 1000);
    }
    assert_false (victim_listed);
    assert_true (fresh >= 1);
    assert_int_equal (s_workers (s_client, after, S_MAX_WORKERS), s_nworkers);
}

/*  crash with retries 1: two attempts, both kill their worker. */
static void test_crash_gives_up (void **state)
{
    (void) state;
    zmgr_job_opts_t opts = ZMGR_JOB_OPTS_INIT;
    opts.retries = 1;
    uint64_t id = s_submit ("crash", "[]", &opts);
    zmgr_value_t *r = (zmgr_value_t *) 1;
    int rc = zmgr_job_result (s_client, id, 10000, &r);
    assert_int_equal (rc, ZMGR_EJOBFAILED);
    assert_null (r);
    fprintf (stderr, "  crash: %s\n", zmgr_client_errmsg (s_client));
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "worker-died"));
    char state_name[16];
    assert_int_equal (s_job_attempts (s_client, id, state_name, sizeof state_name), 2);
    assert_string_equal (state_name, "dead");   /* 2 worker deaths: poison_kills */
    /*  The result stays: asked again, the same failure. */
    assert_int_equal (zmgr_job_result (s_client, id, 0, &r), ZMGR_EJOBFAILED);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "worker-died"));
    assert_true (s_wait_workers (s_client, s_nworkers, true, 10000));
}

/*  SLOW ~1.5 s: a job over its timeout is killed with its worker. */
static void test_timeout (void **state)
{
    (void) state;
    zmgr_job_opts_t opts = ZMGR_JOB_OPTS_INIT;
    opts.timeout_ms = 300;
    opts.retries = 0;
    long long t0 = kit_now_ms ();
    uint64_t id = s_submit ("sleep", "[5.0]", &opts);
    int64_t victim = 0;
    while (!(victim = s_worker_of (s_client, id)) && kit_now_ms () - t0 < 250)
        usleep (5 * 1000);
    zmgr_value_t *r = NULL;
    int rc = zmgr_job_result (s_client, id, 5000, &r);
    long long elapsed = kit_now_ms () - t0;
    assert_int_equal (rc, ZMGR_EJOBFAILED);
    fprintf (stderr, "  timeout after %lld ms: %s\n", elapsed,
             zmgr_client_errmsg (s_client));
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "timeout"));
    assert_true (elapsed >= 250 && elapsed < 1300);
    assert_int_equal (s_job_attempts (s_client, id, NULL, 0), 1);
    /*  The stuck worker was killed and replaced. */
    if (victim > 0) {
        long long deadline = kit_now_ms () + 3000;
        while (kill ((pid_t) victim, 0) == 0 && kit_now_ms () < deadline)
            usleep (10 * 1000);
        assert_int_not_equal (kill ((pid_t) victim, 0), 0);
    }
    assert_true (s_wait_workers (s_client, s_nworkers, true, 10000));
    assert_int_equal (s_worker_of (s_client, id), 0);

    /*  With one retry: two attempts of 300 ms each. */
    opts.retries = 1;
    t0 = kit_now_ms ();
    id = s_submit ("sleep", "[5.0]", &opts);
    rc = zmgr_job_result (s_client, id, 5000, &r);
    elapsed = kit_now_ms () - t0;
    assert_int_equal (rc, ZMGR_EJOBFAILED);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "timeout"));
    assert_int_equal (s_job_attempts (s_client, id, NULL, 0), 2);
    assert_true (elapsed >= 550 && elapsed < 2500);
    assert_true (s_wait_workers (s_client, s_nworkers, true, 10000));
}

/*  SLOW ~1.7 s: one worker with credit 2 is handed both jobs at once; the
 *  second waits 0.8 s behind the first, then runs 0.8 s. Its 1.2 s
 *  timeout counts from its start (job.start), not from its dispatch, so
 *  it succeeds: counted from dispatch it would be killed at 1.2 s. */
static void test_timeout_counts_from_start (void **state)
{
    (void) state;
    zmgr_job_opts_t opts = ZMGR_JOB_OPTS_INIT;
    opts.retries = 0;
    uint64_t first = s_submit ("sleep", "[0.8]", &opts);
    opts.timeout_ms = 1200;
    uint64_t second = s_submit ("sleep", "[0.8]", &opts);
    long long t0 = kit_now_ms ();
    zmgr_value_t *r = NULL;
    assert_int_equal (zmgr_job_result (s_client, first, 5000, &r), 0);
    zmgr_value_destroy (&r);
    int rc = zmgr_job_result (s_client, second, 5000, &r);
    long long elapsed = kit_now_ms () - t0;
    fprintf (stderr, "  second job: %s after %lld ms%s%s\n", zmgr_errname (rc), elapsed,
             rc ? ": " : "", rc ? zmgr_client_errmsg (s_client) : "");
    zmgr_value_destroy (&r);
    assert_int_equal (rc, 0);
    assert_true (elapsed >= 1400);   /* it did wait behind the first */
    assert_int_equal (s_job_attempts (s_client, second, NULL, 0), 1);
}

/*  SLOW ~1 s: a job over its timeout gets its worker killed. The jobs
 *  queued behind it in that worker's credit never started, so they cost
 *  no attempt: with retries 0 they still run, on the restarted worker.
 *  Before, they failed with "worker-died: gave up after 1 attempt". */
static void test_queued_jobs_outlive_a_kill (void **state)
{
    (void) state;
    zmgr_job_opts_t opts = ZMGR_JOB_OPTS_INIT;
    opts.retries = 0;
    opts.timeout_ms = 300;
    uint64_t stuck = s_submit ("sleep", "[5.0]", &opts);
    opts.timeout_ms = 0;
    enum { N = 4 };
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        char json[16];
        snprintf (json, sizeof json, "[%d]", i);
        ids[i] = s_submit ("echo", json, &opts);
    }
    zmgr_value_t *r = NULL;
    assert_int_equal (zmgr_job_result (s_client, stuck, 5000, &r), ZMGR_EJOBFAILED);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "timeout"));
    int ok = 0;
    for (int i = 0; i < N; i++) {
        char json[16];
        snprintf (json, sizeof json, "[%d]", i);
        int rc = zmgr_job_result (s_client, ids[i], 10000, &r);
        if (rc != 0)
            fprintf (stderr, "  queued job %d: %s: %s\n", i, zmgr_errname (rc),
                     zmgr_client_errmsg (s_client));
        ok += rc == 0 && kit_value_is (r, json);
        zmgr_value_destroy (&r);
        if (rc == 0)   /* one attempt: the one that ran */
            assert_int_equal (s_job_attempts (s_client, ids[i], NULL, 0), 1);
    }
    fprintf (stderr, "  %d of %d jobs queued behind the killed one succeeded\n", ok, N);
    assert_int_equal (ok, N);
    assert_true (s_wait_workers (s_client, s_nworkers, true, 10000));
}

/*  SLOW ~6 s: a local worker SIGSTOPped mid-job loses its session after the
 *  liveness window (3 s) and the job runs again elsewhere; the stopped
 *  worker is killed first, so that after a SIGCONT it could neither finish
 *  its attempt beside the new one nor report it. Before, it lived on
 *  stopped, and both runs completed once it was resumed. */
static void test_stopped_worker_is_killed (void **state)
{
    (void) state;
    uint64_t id = s_submit ("sleep", "[1.0]", NULL);   /* retries: the default (2) */
    int64_t victim = 0;
    long long deadline = kit_now_ms () + 3000;
    while (!(victim = s_worker_of (s_client, id)) && kit_now_ms () < deadline)
        usleep (10 * 1000);
    assert_true (victim > 0);
    assert_int_equal (kill ((pid_t) victim, SIGSTOP), 0);
    zmgr_value_t *r = NULL;
    int rc = zmgr_job_result (s_client, id, 15000, &r);
    zmgr_value_destroy (&r);
    assert_int_equal (rc, 0);
    assert_int_equal (s_job_attempts (s_client, id, NULL, 0), 2);
    /*  Killed (SIGKILL works on a stopped process), and reaped by zmgrd. */
    deadline = kit_now_ms () + 5000;
    bool alive = true;
    while ((alive = kill ((pid_t) victim, 0) == 0) && kit_now_ms () < deadline)
        usleep (20 * 1000);
    if (alive)
        kill ((pid_t) victim, SIGCONT);   /* leave no stopped process behind */
    fprintf (stderr, "  stopped worker %lld %s\n", (long long) victim,
             alive ? "still alive (resumed)" : "killed");
    assert_false (alive);
    assert_true (s_wait_workers (s_client, s_nworkers, true, 10000));
}

/*  A function's own error reaches the caller, without a retry. */
static void test_fail_text (void **state)
{
    (void) state;
    zmgr_future_t *f = s_future ("fail", "[\"the disk is on fire\"]", NULL);
    const zmgr_value_t *r = (const zmgr_value_t *) 1;
    assert_int_equal (zmgr_future_result (f, 5000, &r), ZMGR_EJOBFAILED);
    assert_true (zmgr_future_done (f));
    const char *exc = zmgr_future_exception (f);
    assert_non_null (exc);
    fprintf (stderr, "  future exception: %s\n", exc);
    assert_non_null (strstr (exc, "the disk is on fire"));
    zmgr_future_destroy (&f);

    uint64_t id = s_submit ("fail", "[\"the disk is on fire\"]", NULL);
    zmgr_value_t *v = (zmgr_value_t *) 1;
    assert_int_equal (zmgr_job_result (s_client, id, 5000, &v), ZMGR_EJOBFAILED);
    assert_null (v);
    const char *msg = zmgr_client_errmsg (s_client);
    assert_non_null (strstr (msg, "the disk is on fire"));
    assert_non_null (strstr (msg, "error"));   /* "error: <text>" */
    char state_name[16];
    assert_int_equal (s_job_attempts (s_client, id, state_name, sizeof state_name), 1);
    assert_string_equal (state_name, "failed");
}

/*  A function nobody has waits; a worker with it comes and runs it. */
static void test_no_worker_waits (void **state)
{
    (void) state;
    uint64_t id = s_submit ("double", "[21]", NULL);
    zmgr_value_t *r = NULL;
    long long t0 = kit_now_ms ();
    assert_int_equal (zmgr_job_result (s_client, id, 300, &r), ZMGR_ETIMEOUT);
    assert_true (kit_now_ms () - t0 >= 250);
    char state_name[16];
    assert_int_equal (s_job_attempts (s_client, id, state_name, sizeof state_name), 0);
    assert_string_equal (state_name, "pending");
    assert_true (s_no_worker_lists (s_client, "double"));

    const char *module = s_example_module ("a worker with `double` joining later");
    if (!module) {
        bool cancelled = false;
        assert_int_equal (zmgr_job_cancel (s_client, id, &cancelled), 0);
        assert_true (cancelled);
        return;
    }
    pid_t w = s_start_worker (s_daemon.endpoint, module, false);
    int rc = zmgr_job_result (s_client, id, 10000, &r);
    if (rc != 0)
        fprintf (stderr, "  double[21]: %s (%s)\n", zmgr_errname (rc),
                 zmgr_client_errmsg (s_client));
    assert_int_equal (rc, 0);
    assert_true (kit_value_is (r, "42"));
    zmgr_value_destroy (&r);
    assert_false (s_no_worker_lists (s_client, "double"));
    /*  It does not take builtins (--no-builtins): echo goes elsewhere. */
    s_worker_t ws[S_MAX_WORKERS];
    int n = s_workers (s_client, ws, S_MAX_WORKERS);
    assert_int_equal (n, s_nworkers + 1);
    int locals = 0;
    for (int i = 0; i < n; i++)
        locals += ws[i].local;
    assert_int_equal (locals, s_nworkers);
    assert_int_equal (kit_child_stop (w, 5000), 0);
    assert_true (s_wait_workers (s_client, s_nworkers, true, 5000));
}

/*  One client process of the 10,000-job test: 2500 echo [p, i], all
 *  submitted first, then collected; each result must be its own args. */
#define S_PER_CLIENT 2500
static int s_echo_client (void *arg)
{
    int p = (int) (intptr_t) arg;
    int st = 0;
    zmgr_client_t *c = zmgr_client_new_timeout (s_daemon.endpoint, 5000, &st);
    if (!c) {
        fprintf (stderr, "  client %d: client_new: %s\n", p, zmgr_errname (st));
        return 1;
    }
    zmgr_future_t **fs = calloc (S_PER_CLIENT, sizeof *fs);
    int code = fs ? 0 : 2;
    for (int i = 0; i < S_PER_CLIENT && code == 0; i++) {
        char json[64];
        snprintf (json, sizeof json, "[%d, %d]", p, i);
        zmgr_value_t *a = kit_value_try (json);
        int rc = a ? zmgr_submit (c, "echo", a, NULL, &fs[i]) : ZMGR_ENOMEM;
        zmgr_value_destroy (&a);
        if (rc != 0) {
            fprintf (stderr, "  client %d: submit %d: %s (%s)\n", p, i, zmgr_errname (rc),
                     zmgr_client_errmsg (c));
            code = 3;
        }
    }
    for (int i = 0; i < S_PER_CLIENT && code == 0; i++) {
        const zmgr_value_t *r = NULL;
        int rc = zmgr_future_result (fs[i], 30000, &r);
        char json[64];
        snprintf (json, sizeof json, "[%d, %d]", p, i);
        if (rc != 0) {
            fprintf (stderr, "  client %d: result %d: %s (%s)\n", p, i, zmgr_errname (rc),
                     zmgr_future_exception (fs[i]) ? zmgr_future_exception (fs[i]) : "");
            code = 4;
        } else if (!kit_value_is (r, json))
            code = 5;
        else if (zmgr_future_id (fs[i]) == 0)
            code = 6;
        for (int j = 0; j < i && code == 0 && i % 500 == 0; j++)
            if (zmgr_future_id (fs[j]) == zmgr_future_id (fs[i]))
                code = 7;   /* a spot check that ids are distinct */
    }
    for (int i = 0; fs && i < S_PER_CLIENT; i++)
        zmgr_future_destroy (&fs[i]);
    free (fs);
    zmgr_client_destroy (&c);
    return code;
}

/*  SLOW ~2-5 s: 10,000 echo jobs from four processes on two workers. */
static void test_ten_thousand_jobs (void **state)
{
    (void) state;
    long long t0 = kit_now_ms ();
    pid_t pids[4];
    for (int p = 0; p < 4; p++)
        pids[p] = kit_child_spawn (s_echo_client, (void *) (intptr_t) p);
    int st[4];
    for (int p = 0; p < 4; p++)
        st[p] = kit_child_wait (pids[p], 60000);
    fprintf (stderr, "  10000 echo jobs, 4 clients, 2 workers: %lld ms\n",
             kit_now_ms () - t0);
    for (int p = 0; p < 4; p++)
        assert_int_equal (st[p], 0);
    /*  The broker saw exactly 10,000 jobs end, all done, none left. */
    assert_int_equal (s_jobs_count (s_client, "done"), 4 * S_PER_CLIENT);
    assert_int_equal (s_jobs_count (s_client, "failed"), 0);
    assert_int_equal (s_jobs_count (s_client, "pending"), 0);
    assert_int_equal (s_jobs_count (s_client, "running"), 0);
}

/* ---- 5. a worker of its own over tcp ---------------------------------------------- */

/*  The tcp endpoint zmgrd logged ("listening on tcp://..."), or false. */
static bool s_logged_tcp (char *ep, size_t size)
{
    FILE *f = s_daemon.log[0] ? fopen (s_daemon.log, "r") : NULL;
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets (line, sizeof line, f)) {
        char *p = strstr (line, "listening on tcp://");
        if (p) {
            p += strlen ("listening on ");
            p[strcspn (p, " \r\n")] = '\0';
            snprintf (ep, size, "%s", p);
            found = true;
        }
    }
    fclose (f);
    return found;
}

static void test_tcp_worker (void **state)
{
    (void) state;
    char ep[128];
    assert_true (s_logged_tcp (ep, sizeof ep));
    assert_null (strchr (ep, '*'));
    fprintf (stderr, "  broker on %s\n", ep);
    const char *module = s_example_module ("`double` over tcp (echo still tested)");
    pid_t w = s_start_worker (ep, module, true);
    int st = 0;
    zmgr_client_t *c = zmgr_client_new_timeout (ep, 5000, &st);
    assert_non_null (c);
    assert_true (s_wait_workers (c, 1, true, 10000));
    s_worker_t ws[2];
    assert_int_equal (s_workers (c, ws, 2), 1);
    assert_false (ws[0].local);      /* not one of zmgrd's own */
    assert_int_equal (ws[0].pid, w);

    zmgr_value_t *a = kit_value ("[\"over\", \"tcp\"]"), *r = NULL;
    uint64_t id = 0;
    assert_int_equal (zmgr_job_submit (c, "echo", a, NULL, &id), 0);
    zmgr_value_destroy (&a);
    assert_int_equal (zmgr_job_result (c, id, 10000, &r), 0);
    assert_true (kit_value_is (r, "[\"over\", \"tcp\"]"));
    zmgr_value_destroy (&r);
    if (module) {
        a = kit_value ("[21]");
        assert_int_equal (zmgr_job_submit (c, "double", a, NULL, &id), 0);
        zmgr_value_destroy (&a);
        assert_int_equal (zmgr_job_result (c, id, 10000, &r), 0);
        assert_true (kit_value_is (r, "42"));
        zmgr_value_destroy (&r);
    }
    zmgr_client_destroy (&c);
    assert_int_equal (kit_child_stop (w, 5000), 0);
    assert_true (s_wait_workers (s_client, 0, false, 5000));
}

/* ---- 6. bad input ----------------------------------------------------------------- */

/*  job.submit by hand: function, args and options as json (options NULL:
 *  left out). Returns the status. */
static int s_raw_submit (const char *function, const char *args, const char *options)
{
    zmgr_value_t *v[3] = { zmgr_value_new_str (function), kit_value (args),
                           options ? kit_value (options) : NULL };
    zmgr_value_t *r = NULL;
    int rc = zmgr_call (s_client, ZMGR_OP_JOB_SUBMIT, NULL, v, options ? 3 : 2, 5000, &r);
    if (rc == 0) {
        /*  Accepted: take it back out of the way. */
        int64_t id = 0;
        bool cancelled;
        if (zmgr_value_to_int (r, &id) == 0 && id > 0)
            zmgr_job_cancel (s_client, (uint64_t) id, &cancelled);
    }
    for (int i = 0; i < 3; i++)
        zmgr_value_destroy (&v[i]);
    zmgr_value_destroy (&r);
    return rc;
}

static void test_bad_submissions (void **state)
{
    (void) state;
    /*  Unknown function: it waits (documented), listed under no_worker. */
    uint64_t id = s_submit ("no_such_function", "[1]", NULL);
    zmgr_value_t *r = NULL;
    assert_int_equal (zmgr_job_result (s_client, id, 200, &r), ZMGR_ETIMEOUT);
    assert_null (r);
    assert_true (s_no_worker_lists (s_client, "no_such_function"));
    bool cancelled = false;
    assert_int_equal (zmgr_job_cancel (s_client, id, &cancelled), 0);
    assert_true (cancelled);
    assert_int_equal (zmgr_job_result (s_client, id, 0, &r), ZMGR_ECANCELLED);
    assert_false (s_no_worker_lists (s_client, "no_such_function"));
    assert_int_equal (zmgr_job_cancel (s_client, id, &cancelled), 0);
    assert_false (cancelled);   /* already over */

    /*  The well-formed call is accepted, so the refusals below are about
     *  what they change. */
    assert_int_equal (s_raw_submit ("echo", "[1]", "{\"timeout_ms\": 1000}"), 0);
    /*  args not an array. */
    assert_int_equal (s_raw_submit ("echo", "5", NULL), ZMGR_EINVAL);
    assert_int_equal (s_raw_submit ("echo", "{\"a\": 1}", NULL), ZMGR_EINVAL);
    assert_int_equal (s_raw_submit ("echo", "\"str\"", NULL), ZMGR_EINVAL);
    /*  Bad options. */
    assert_int_equal (s_raw_submit ("echo", "[1]", "{\"timeout_ms\": -1}"), ZMGR_EINVAL);
    assert_int_equal (s_raw_submit ("echo", "[1]", "{\"timeout_ms\": 1000000000000000}"),
                      ZMGR_EINVAL);
    assert_int_equal (s_raw_submit ("echo", "[1]", "{\"timeout_ms\": \"soon\"}"),
                      ZMGR_EINVAL);
    assert_int_equal (s_raw_submit ("echo", "[1]", "{\"no_such_option\": 1}"),
                      ZMGR_EINVAL);
    assert_int_equal (s_raw_submit ("echo", "[1]", "{\"retries\": -1}"), ZMGR_EINVAL);
    assert_int_equal (s_raw_submit ("echo", "[1]", "{\"notify\": 1}"), ZMGR_EINVAL);
    assert_int_equal (s_raw_submit ("echo", "[1]", "[1]"), ZMGR_EINVAL);
    assert_int_equal (s_raw_submit ("", "[1]", NULL), ZMGR_EINVAL);
    assert_int_equal (s_raw_submit ("echo", "[1, 2]", "{\"chunk\": true}"), ZMGR_EINVAL);
    /*  args not an array, through the API: the library catches it. */
    zmgr_value_t *notarray = kit_value ("7");
    int rc = zmgr_job_submit (s_client, "echo", notarray, NULL, &id);
    assert_true (rc == ZMGR_EINVAL || rc == ZMGR_ETYPE);
    assert_int_equal (id, 0);
    zmgr_value_destroy (&notarray);
    zmgr_value_t *args = kit_value ("[1]");
    /*  exec is off unless zmgrd says --enable-exec. */
    zmgr_value_t *argv = kit_value ("[[\"/bin/echo\", \"hi\"]]");
    assert_int_equal (zmgr_job_submit (s_client, "exec", argv, NULL, &id),
                      ZMGR_EDISABLED);
    /*  zmgr_submit does not wait for the broker: the refusal may come at
     *  once or through the future. */
    zmgr_future_t *f = NULL;
    rc = zmgr_submit (s_client, "exec", argv, NULL, &f);
    if (rc == 0) {
        const zmgr_value_t *fr = NULL;
        rc = zmgr_future_result (f, 5000, &fr);
        fprintf (stderr, "  exec through a future: %s (%s)\n", zmgr_errname (rc),
                 zmgr_future_exception (f) ? zmgr_future_exception (f) : "no text");
        assert_true (zmgr_future_done (f));
        assert_non_null (zmgr_future_exception (f));
        zmgr_future_destroy (&f);
    }
    assert_int_equal (rc, ZMGR_EDISABLED);
    assert_null (f);
    zmgr_value_destroy (&argv);
    zmgr_value_destroy (&args);
    /*  Unknown ids. */
    assert_int_equal (zmgr_job_result (s_client, 987654321, 0, &r), ZMGR_ENOTFOUND);
    assert_int_equal (zmgr_job_status (s_client, 987654321, &r), ZMGR_ENOTFOUND);
    assert_null (r);
    /*  Everything still works. */
    assert_int_equal (zmgr_ping (s_client, NULL), 0);
    id = s_submit ("echo", "[\"still fine\"]", NULL);
    assert_int_equal (zmgr_job_result (s_client, id, 5000, &r), 0);
    assert_true (kit_value_is (r, "[\"still fine\"]"));
    zmgr_value_destroy (&r);
}

/*  Negative times in zmgr_job_opts_t are refused (EINVAL), as the broker
 *  refuses them on the wire, not quietly taken for "none"/"the default":
 *  a caller who computed a negative timeout has a bug to hear about. */
static void test_bad_opts_refused (void **state)
{
    (void) state;
    zmgr_value_t *args = kit_value ("[1]");
    const char *field[] = { "timeout_ms", "delay_ms", "ttl_ms" };
    int rcs[3];
    for (int i = 0; i < 3; i++) {
        zmgr_job_opts_t opts = ZMGR_JOB_OPTS_INIT;
        *(i == 0 ? &opts.timeout_ms : i == 1 ? &opts.delay_ms : &opts.ttl_ms) = -5;
        uint64_t id = 99;
        rcs[i] = zmgr_job_submit (s_client, "echo", args, &opts, &id);
        if (rcs[i] != ZMGR_EINVAL)
            fprintf (stderr, "  %s = -5: %s, want EINVAL\n", field[i],
                     zmgr_errname (rcs[i]));
        if (rcs[i] == 0) {
            bool cancelled;
            zmgr_job_cancel (s_client, id, &cancelled);
        } else
            assert_int_equal (id, 0);
    }
    zmgr_value_destroy (&args);
    for (int i = 0; i < 3; i++)
        assert_int_equal (rcs[i], ZMGR_EINVAL);
}

/*  With --enable-exec: exec runs argv (no shell) and returns its output. */
static void test_exec_enabled (void **state)
{
    (void) state;
    uint64_t id = s_submit ("exec", "[[\"/bin/echo\", \"hi\"]]", NULL);
    zmgr_value_t *r = NULL;
    int rc = zmgr_job_result (s_client, id, 10000, &r);
    if (rc != 0)
        fprintf (stderr, "  exec: %s (%s)\n", zmgr_errname (rc),
                 zmgr_client_errmsg (s_client));
    assert_int_equal (rc, 0);
    s_obj_t o;
    const msgpack_object *m = s_open (&o, r);
    char out[64];
    int64_t status = -1;
    if (!m || m->type != MSGPACK_OBJECT_MAP) {
        fprintf (stderr, "  exec result: ");
        if (m)
            msgpack_object_print (stderr, *m);
        fprintf (stderr, "\n");
    }
    assert_true (m && m->type == MSGPACK_OBJECT_MAP);
    assert_string_equal (s_str_of (kit_map_get (m, "stdout"), out, sizeof out), "hi\n");
    assert_true (s_int_of (kit_map_get (m, "status"), &status));
    assert_int_equal (status, 0);
    s_close (&o);
    zmgr_value_destroy (&r);

    /*  The flat form: every argument a string. */
    id = s_submit ("exec", "[\"/bin/echo\", \"flat\", \"form\"]", NULL);
    assert_int_equal (zmgr_job_result (s_client, id, 10000, &r), 0);
    m = s_open (&o, r);
    assert_string_equal (s_str_of (kit_map_get (m, "stdout"), out, sizeof out),
                         "flat form\n");
    s_close (&o);
    zmgr_value_destroy (&r);

    /*  Its own time limit: killed, and says so. */
    long long t0 = kit_now_ms ();
    id = s_submit ("exec", "[[\"/bin/sleep\", \"5\"], {\"timeout_ms\": 200}]", NULL);
    assert_int_equal (zmgr_job_result (s_client, id, 10000, &r), 0);
    assert_true (kit_now_ms () - t0 < 3000);
    m = s_open (&o, r);
    const msgpack_object *timed_out = kit_map_get (m, "timed_out");
    assert_true (timed_out && timed_out->type == MSGPACK_OBJECT_BOOLEAN
                 && timed_out->via.boolean);
    assert_true (s_int_of (kit_map_get (m, "status"), &status));
    assert_true (status < 0);   /* -signal */
    s_close (&o);
    zmgr_value_destroy (&r);

    /*  A program that cannot be started fails the job. */
    id = s_submit ("exec", "[\"/nonexistent/program\"]", NULL);
    assert_int_equal (zmgr_job_result (s_client, id, 10000, &r), ZMGR_EJOBFAILED);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "/nonexistent/program"));

    /*  A command that fails still returns, with its status. */
    id = s_submit ("exec", "[[\"/bin/sh\", \"-c\", \"exit 3\"]]", NULL);
    rc = zmgr_job_result (s_client, id, 10000, &r);
    if (rc == 0) {
        m = s_open (&o, r);
        assert_true (s_int_of (kit_map_get (m, "status"), &status));
        assert_int_equal (status, 3);
        s_close (&o);
    } else   /* or as a failed job naming the status */
        assert_int_equal (rc, ZMGR_EJOBFAILED);
    zmgr_value_destroy (&r);
}

/*  zmgr-worker with a module that is not there: out at once, saying why. */
static void test_worker_bad_module (void **state)
{
    (void) state;
    const char *argv[] = { kit_worker_path (), "--connect", s_daemon.endpoint, "--module",
                           "/nonexistent.so", NULL };
    char out[1024], err[4096];
    long long t0 = kit_now_ms ();
    int rc = kit_run (argv, NULL, out, sizeof out, err, sizeof err, 5000);
    long long elapsed = kit_now_ms () - t0;
    fprintf (stderr, "  zmgr-worker --module /nonexistent.so: exit %d after %lld ms: %s",
             rc, elapsed, err);
    assert_true (rc > 0 && rc < 128);
    assert_true (elapsed < 3000);
    assert_non_null (strstr (err, "/nonexistent.so"));
}

/*  zmgrd --module /nonexistent.so refuses to start, naming the module
 *  (on an endpoint of its own, so that it cannot touch the group's). */
static void test_daemon_missing_module (void **state)
{
    (void) state;
    char dir[] = "/tmp/zmgr-itjobs-ep-XXXXXX", ep[96];
    assert_non_null (mkdtemp (dir));
    snprintf (ep, sizeof ep, "ipc://%s/zmgrd.sock", dir);
    const char *argv[] = { kit_zmgrd_path (), "--no-default-endpoint", "-e", ep,
                           "--workers", "1", "--module", "/nonexistent.so", NULL };
    char out[1024], err[4096];
    long long t0 = kit_now_ms ();
    int rc = kit_run (argv, NULL, out, sizeof out, err, sizeof err, 5000);
    long long elapsed = kit_now_ms () - t0;
    char sock[128];
    snprintf (sock, sizeof sock, "%s/zmgrd.sock", dir);
    unlink (sock);
    rmdir (dir);
    fprintf (stderr, "  zmgrd --module /nonexistent.so: exit %d after %lld ms: %s", rc,
             elapsed, err);
    assert_true (rc > 0 && rc < 128);
    assert_true (elapsed < 3000);
    assert_non_null (strstr (err, "/nonexistent.so"));
}

/*  SLOW ~1.5 s: zmgrd whose local worker cannot load its module stays up,
 *  restarting the worker with backoff. */
static void test_daemon_bad_module (void **state)
{
    (void) state;
    usleep (1500 * 1000);
    assert_true (kit_daemon_alive (&s_daemon));
    assert_int_equal (zmgr_ping (s_client, NULL), 0);
    s_worker_t ws[2];
    assert_int_equal (s_workers (s_client, ws, 2), 0);
    /*  Its log says it restarts the worker after a wait, and the worker
     *  said why it left. */
    assert_true (s_log_has ("restart in"));
    assert_true (s_log_has (s_badmodule));
    /*  Jobs just wait meanwhile. */
    uint64_t id = s_submit ("echo", "[1]", NULL);
    zmgr_value_t *r = NULL;
    assert_int_equal (zmgr_job_result (s_client, id, 100, &r), ZMGR_ETIMEOUT);
    assert_true (s_no_worker_lists (s_client, "echo"));
}

/*  --max-tasks-per-child 3: the worker recycles itself every three jobs
 *  (a clean exit, restarted at once) and no job is lost on the way. */
static void test_max_tasks_per_child (void **state)
{
    (void) state;
    enum { N = 16 };   /* five recycles */
    int64_t pids[N + 1] = { 0 };
    int distinct = 0, rcs[N];
    int64_t attempts[N];
    zmgr_job_opts_t opts = ZMGR_JOB_OPTS_INIT;
    opts.retries = 0;   /* a result lost at a recycle would show as a failure */
    for (int i = 0; i < N; i++) {
        char json[32];
        snprintf (json, sizeof json, "[%d]", i);
        uint64_t id = s_submit ("echo", json, &opts);
        zmgr_value_t *r = NULL;
        rcs[i] = zmgr_job_result (s_client, id, 10000, &r);
        if (rcs[i] == 0 && !kit_value_is (r, json))
            rcs[i] = ZMGR_EPROTO;
        zmgr_value_destroy (&r);
        char why[256];
        snprintf (why, sizeof why, "%s", rcs[i] ? zmgr_client_errmsg (s_client) : "");
        attempts[i] = s_job_attempts (s_client, id, NULL, 0);
        if (rcs[i] != 0 || attempts[i] != 1)
            fprintf (stderr, "  job %d (id %llu): %s (%s), %lld attempts\n", i,
                     (unsigned long long) id, zmgr_errname (rcs[i]), why,
                     (long long) attempts[i]);
        /*  Which worker ran it: the one listed now, once it is idle again. */
        s_worker_t ws[2];
        assert_true (s_wait_workers (s_client, 1, true, 5000));
        assert_int_equal (s_workers (s_client, ws, 2), 1);
        bool seen = false;
        for (int j = 0; j < distinct; j++)
            seen |= pids[j] == ws[0].pid;
        if (!seen && distinct < N + 1)
            pids[distinct++] = ws[0].pid;
    }
    fprintf (stderr, "  %d jobs, --max-tasks-per-child 3: %d worker pids seen\n", N,
             distinct);
    assert_true (distinct >= 3);
    assert_true (s_log_has ("exited; restarting"));
    assert_false (s_log_has ("restart in"));   /* a clean exit needs no backoff */
    /*  Every job ran once and succeeded: a recycling worker delivers its
     *  last result before it goes. */
    for (int i = 0; i < N; i++) {
        assert_int_equal (rcs[i], 0);
        assert_int_equal (attempts[i], 1);
    }
}

/* ---- 7. graceful shutdown --------------------------------------------------------- */

/*  Submits sleep 0.5, says so on the pipe, waits for the result: 0 when
 *  it came (while the broker was shutting down). */
static int s_slow_submitter (void *arg)
{
    int fd = (int) (intptr_t) arg;
    int st = 0;
    zmgr_client_t *c = zmgr_client_new_timeout (s_daemon.endpoint, 5000, &st);
    if (!c)
        return 1;
    zmgr_value_t *a = kit_value_try ("[0.5]"), *r = NULL;
    uint64_t id = 0;
    int rc = zmgr_job_submit (c, "sleep", a, NULL, &id);
    zmgr_value_destroy (&a);
    char ok = rc == 0 ? 'y' : 'n';
    ssize_t w = write (fd, &ok, 1);
    (void) w;
    if (rc != 0)
        return 2;
    rc = zmgr_job_result (c, id, 5000, &r);
    int code = rc == 0 && (!r || zmgr_value_kind (r) == ZMGR_VAL_NIL) ? 0 : 3;
    if (rc != 0)
        fprintf (stderr, "  submitter: job_result: %s (%s)\n", zmgr_errname (rc),
                 zmgr_client_errmsg (c));
    zmgr_value_destroy (&r);
    zmgr_client_destroy (&c);
    return code;
}

/*  SLOW ~0.5 s: SIGTERM with a job running: zmgrd lets it finish, answers
 *  its waiter, then exits 0. Runs last in its group: it stops the broker. */
static void test_graceful_shutdown (void **state)
{
    (void) state;
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    long long t0 = kit_now_ms ();
    pid_t pid = kit_child_spawn (s_slow_submitter, (void *) (intptr_t) fds[1]);
    char ok = 0;
    struct pollfd pfd = { fds[0], POLLIN, 0 };
    bool got = poll (&pfd, 1, 10000) == 1 && read (fds[0], &ok, 1) == 1;
    close (fds[0]);
    close (fds[1]);
    assert_true (got && ok == 'y');
    /*  The job runs and its result request is parked before the SIGTERM. */
    long long deadline = kit_now_ms () + 3000;
    bool busy = false;
    while (!busy && kit_now_ms () < deadline) {
        s_worker_t ws[2];
        busy = s_workers (s_client, ws, 2) == 1 && ws[0].busy;
        if (!busy)
            usleep (5 * 1000);
    }
    assert_true (busy);
    usleep (50 * 1000);
    int rc = kit_daemon_stop (&s_daemon);
    long long elapsed = kit_now_ms () - t0;
    int child = kit_child_wait (pid, 5000);
    fprintf (stderr, "  zmgrd exit %d after %lld ms; submitter %d\n", rc, elapsed, child);
    assert_int_equal (rc, 0);
    assert_true (elapsed >= 450);
    assert_int_equal (child, 0);
}

/* ---- 8. local workers die with their broker --------------------------------------- */

/*  zmgrd SIGKILLed (or crashed): its local workers must not live on as
 *  orphans that reconnect forever -- to a restarted broker they would come
 *  back as extra, unsupervised workers (not "local": a timeout could not
 *  kill them). Runs in a group of its own: it kills the broker. */
static void test_workers_die_with_broker (void **state)
{
    (void) state;
    s_worker_t ws[4];
    int n = s_workers (s_client, ws, 4);
    assert_int_equal (n, 2);
    zmgr_client_destroy (&s_client);
    assert_int_equal (kit_daemon_kill (&s_daemon), 0);
    assert_false (kit_daemon_alive (&s_daemon));
    long long deadline = kit_now_ms () + 5000;
    int alive = n;
    while (alive > 0 && kit_now_ms () < deadline) {
        alive = 0;
        for (int i = 0; i < n; i++)
            alive += ws[i].pid > 0 && !s_pid_gone ((pid_t) ws[i].pid);
        if (alive)
            usleep (20 * 1000);
    }
    /*  Clean up after a failure: the orphans are ours to end. */
    for (int i = 0; i < n; i++)
        if (ws[i].pid > 0 && !s_pid_gone ((pid_t) ws[i].pid)) {
            fprintf (stderr, "  worker pid %lld outlived its broker by 5 s\n",
                     (long long) ws[i].pid);
            kill ((pid_t) ws[i].pid, SIGKILL);
        }
    assert_int_equal (alive, 0);
}

/* ---- main ------------------------------------------------------------------------- */

int main (void)
{
    signal (SIGALRM, s_on_alarm);
    alarm (S_WATCHDOG_S);
    if (access (kit_worker_path (), X_OK) != 0) {
        fprintf (stderr, "it_jobs: no zmgr-worker at %s (set ZMGR_WORKER); skipping\n",
                 kit_worker_path ());
        return 77;
    }
    /*  Four local workers: parallelism, the Pool, futures, faults, bad input. */
    const struct CMUnitTest w4[] = {
        cmocka_unit_test_setup (test_four_sleeps_in_parallel, s_each_setup),
        cmocka_unit_test_setup (test_pool_apply, s_each_setup),
        cmocka_unit_test_setup (test_pool_map_starmap, s_each_setup),
        cmocka_unit_test_setup (test_pool_imap, s_each_setup),
        cmocka_unit_test_setup (test_pool_async_close_join, s_each_setup),
        cmocka_unit_test_setup (test_as_completed, s_each_setup),
        cmocka_unit_test_setup (test_wait_modes, s_each_setup),
        cmocka_unit_test_setup (test_worker_killed_mid_job, s_each_setup),
        cmocka_unit_test_setup (test_stopped_worker_is_killed, s_each_setup),
        cmocka_unit_test_setup (test_crash_gives_up, s_each_setup),
        cmocka_unit_test_setup (test_timeout, s_each_setup),
        cmocka_unit_test_setup (test_fail_text, s_each_setup),
        cmocka_unit_test_setup (test_no_worker_waits, s_each_setup),
        cmocka_unit_test_setup (test_bad_submissions, s_each_setup),
        cmocka_unit_test_setup (test_bad_opts_refused, s_each_setup),
    };
    /*  Two local workers, four client processes. */
    const struct CMUnitTest w2[] = {
        cmocka_unit_test (test_ten_thousand_jobs),
    };
    /*  No local workers; one of our own over tcp. */
    const struct CMUnitTest tcp[] = {
        cmocka_unit_test (test_tcp_worker),
    };
    /*  One local worker, exec enabled; ends with the broker's shutdown. */
    const struct CMUnitTest w1[] = {
        cmocka_unit_test_setup (test_exec_enabled, s_each_setup),
        cmocka_unit_test_setup (test_timeout_counts_from_start, s_each_setup),
        cmocka_unit_test_setup (test_queued_jobs_outlive_a_kill, s_each_setup),
        cmocka_unit_test_setup (test_graceful_shutdown, s_each_setup),
    };
    /*  One local worker that recycles itself. */
    const struct CMUnitTest recycle[] = {
        cmocka_unit_test (test_max_tasks_per_child),
    };
    /*  Two local workers whose broker is SIGKILLed. */
    const struct CMUnitTest orphans[] = {
        cmocka_unit_test (test_workers_die_with_broker),
    };
    /*  A module that does not load. */
    const struct CMUnitTest bad[] = {
        cmocka_unit_test (test_worker_bad_module),
        cmocka_unit_test (test_daemon_missing_module),
        cmocka_unit_test (test_daemon_bad_module),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name ("jobs_w4", w4, s_setup_w4, s_teardown);
    failed += cmocka_run_group_tests_name ("jobs_w2", w2, s_setup_w2, s_teardown);
    failed += cmocka_run_group_tests_name ("jobs_tcp", tcp, s_setup_tcp, s_teardown);
    failed += cmocka_run_group_tests_name ("jobs_exec", w1, s_setup_w1_exec, s_teardown);
    failed += cmocka_run_group_tests_name ("jobs_recycle", recycle, s_setup_recycle,
                                           s_teardown);
    failed += cmocka_run_group_tests_name ("jobs_orphans", orphans, s_setup_w2,
                                           s_teardown);
    failed += cmocka_run_group_tests_name ("jobs_badmodule", bad, s_setup_badmodule,
                                           s_teardown_badmodule);
    if (s_stop_failures > 0 && failed == 0)
        failed = 1;
    return failed;
}
