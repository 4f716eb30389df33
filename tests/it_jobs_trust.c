/*  tests/it_jobs_trust.c - jobs users can trust: one live attempt, crash
 *  records, dead letters (issue 10, sections 1 and 2), against a real zmgrd
 *  Jobs run in the test module mod_trust.c ($ZMGR_TRUST_MODULE): "track"
 *  appends "start PID" and "end PID" to a file shared by every attempt of a
 *  job, so the test sees which attempts ran when; "poison" kills its worker
 *  while a file exists. Local workers are zmgrd's own (--workers); remote
 *  ones are zmgr-worker processes this test starts, each tracked and
 *  stopped by pid. A SIGSTOPped worker is always resumed or killed before
 *  its test ends. Takes about 18 s: two 4 s lease waits, a 1 s one, and
 *  restarts. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

#define S_WATCHDOG_S 100 /* whole-file limit (ctest's TIMEOUT is 120) */
#define S_MAX_LINES 64   /* lines of a track file looked at */

static const char *s_module;    /* trust.so */
static kit_daemon_t s_daemon;   /* the broker of the running group */
static zmgr_client_t *s_client; /* the test's client of it */
static pid_t s_remote[2];       /* remote workers of the remote group */
static char s_dir[256];         /* scratch files (track files, markers) */

static void s_on_alarm (int sig)
{
    (void)sig;
    static const char msg[] =
        "it_jobs_trust: watchdog expired, killing what we started\n";
    ssize_t w = write (2, msg, sizeof msg - 1);
    (void)w;
    kit_kill_all ();
    _exit (1);
}

/* ---- reading replies ------------------------------------------------------------ */

static int64_t s_int_at (const msgpack_object *m, const char *key, int64_t dflt)
{
    const msgpack_object *o = m ? kit_map_get (m, key) : NULL;
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (int64_t)o->via.u64;
    if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    return dflt;
}

static void s_str_at (const msgpack_object *m, const char *key, char *out, size_t size)
{
    const msgpack_object *o = m ? kit_map_get (m, key) : NULL;
    out[0] = '\0';
    if (o && (o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN))
        snprintf (out, size, "%.*s", (int)o->via.str.size, o->via.str.ptr);
}

/*  job.status, unpacked (destroy with msgpack_unpacked_destroy). The
 *  objects point into the reply, kept until the next call. */
static zmgr_value_t *s_last_status;

static bool s_status (uint64_t id, msgpack_unpacked *u)
{
    zmgr_value_destroy (&s_last_status);
    return zmgr_job_status (s_client, id, &s_last_status) == 0 &&
           kit_unpack (s_last_status, u);
}

static void s_state (uint64_t id, char *state, size_t size)
{
    msgpack_unpacked u;
    state[0] = '\0';
    if (s_status (id, &u)) {
        s_str_at (&u.data, "state", state, size);
        msgpack_unpacked_destroy (&u);
    }
}

/*  The pid of the worker running job id, or 0. */
static int64_t s_worker_of (uint64_t id)
{
    zmgr_value_t *v = NULL;
    msgpack_unpacked u;
    int64_t pid = 0;
    if (zmgr_workers (s_client, &v) == 0 && kit_unpack (v, &u)) {
        if (u.data.type == MSGPACK_OBJECT_ARRAY)
            for (uint32_t i = 0; i < u.data.via.array.size && !pid; i++) {
                const msgpack_object *w = &u.data.via.array.ptr[i];
                const msgpack_object *jobs = kit_map_get (w, "jobs");
                if (jobs && jobs->type == MSGPACK_OBJECT_ARRAY)
                    for (uint32_t j = 0; j < jobs->via.array.size; j++)
                        if (jobs->via.array.ptr[j].via.u64 == id)
                            pid = s_int_at (w, "pid", 0);
            }
        msgpack_unpacked_destroy (&u);
    }
    zmgr_value_destroy (&v);
    return pid;
}

static int64_t s_wait_worker_of (uint64_t id, int ms)
{
    long long deadline = kit_now_ms () + ms;
    int64_t pid;
    while (!(pid = s_worker_of (id)) && kit_now_ms () < deadline)
        usleep (10 * 1000);
    return pid;
}

/*  Connected workers, waiting up to ms for n of them. */
static bool s_wait_workers (int n, int ms)
{
    long long deadline = kit_now_ms () + ms;
    do {
        zmgr_value_t *v = NULL;
        msgpack_unpacked u;
        int have = -1;
        if (zmgr_workers (s_client, &v) == 0 && kit_unpack (v, &u)) {
            if (u.data.type == MSGPACK_OBJECT_ARRAY)
                have = (int)u.data.via.array.size;
            msgpack_unpacked_destroy (&u);
        }
        zmgr_value_destroy (&v);
        if (have >= n)
            return true;
        usleep (50 * 1000);
    } while (kit_now_ms () < deadline);
    return false;
}

/* ---- track files ------------------------------------------------------------------ */

typedef struct {
    bool start; /* else end */
    int pid;
} s_line_t;

static int s_read_track (const char *path, s_line_t *lines)
{
    char *text = kit_slurp (path);
    int n = 0;
    for (char *p = text, *nl; *p && n < S_MAX_LINES; p = nl + 1) {
        nl = strchr (p, '\n');
        if (!nl)
            break;
        int pid;
        if (sscanf (p, "start %d", &pid) == 1)
            lines[n++] = (s_line_t){true, pid};
        else if (sscanf (p, "end %d", &pid) == 1)
            lines[n++] = (s_line_t){false, pid};
    }
    free (text);
    return n;
}

/*  No two attempts overlap: once an attempt has started, no line of an
 *  earlier one follows (an attempt that was killed has no end). Prints the
 *  lines. Returns the number of starts. */
static int s_check_no_overlap (const char *path)
{
    s_line_t l[S_MAX_LINES];
    int n = s_read_track (path, l), starts = 0;
    fprintf (stderr, "  track:");
    for (int i = 0; i < n; i++)
        fprintf (stderr, " %s(%d)", l[i].start ? "start" : "end", l[i].pid);
    fprintf (stderr, "\n");
    int current = 0; /* pid of the latest attempt to start */
    for (int i = 0; i < n; i++) {
        if (l[i].start) {
            starts++;
            current = l[i].pid;
        } else
            assert_int_equal (l[i].pid, current); /* an end of an earlier attempt */
    }
    return starts;
}

static uint64_t s_submit_track (const char *path, int first_ms, int later_ms,
                                int timeout_ms)
{
    char args[512];
    snprintf (args, sizeof args, "[\"%s\", %d, %d]", path, first_ms, later_ms);
    zmgr_value_t *a = kit_value (args);
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.timeout_ms = timeout_ms;
    o.retries = 2;
    o.backoff_base_ms = 1; /* the lease wait is what is tested, not the backoff */
    o.backoff_max_ms = 1;
    uint64_t id = 0;
    assert_int_equal (zmgr_job_submit (s_client, "track", a, &o, &id), 0);
    zmgr_value_destroy (&a);
    return id;
}

/* ---- groups ------------------------------------------------------------------------ */

/*  The lease group's broker has a short liveness window: heartbeats every
 *  250 ms, 4 missed end a session (window 1000 ms, lease wait 1000 ms). */
static bool s_short_window;

static int s_start_daemon (const char *workers)
{
    const char *args[] = {"--workers",
                          workers,
                          "--module",
                          s_module,
                          s_short_window ? "--heartbeat" : NULL,
                          "250",
                          "--liveness",
                          "4",
                          NULL};
    if (kit_daemon_start_ex (&s_daemon, KIT_DAEMON_LOG, args) != 0)
        return -1;
    s_client = kit_client (s_daemon.endpoint, 10000);
    if (!s_client)
        return -1;
    snprintf (s_dir, sizeof s_dir, "%s", s_daemon.dir);
    return 0;
}

static int s_setup_local (void **state)
{
    (void)state;
    if (s_start_daemon ("2") != 0)
        return -1;
    return s_wait_workers (2, 10000) ? 0 : -1;
}

static pid_t s_start_remote (void)
{
    const char *argv[] = {
        kit_worker_path (), "--connect", s_daemon.endpoint, "--module", s_module,
        "--no-builtins",    NULL};
    return kit_spawn (argv);
}

static int s_setup_remote (void **state)
{
    (void)state;
    if (s_start_daemon ("0") != 0)
        return -1;
    s_remote[0] = s_start_remote ();
    s_remote[1] = s_start_remote ();
    return s_wait_workers (2, 10000) ? 0 : -1;
}

static int s_setup_lease (void **state)
{
    s_short_window = true;
    int rc = s_setup_remote (state);
    s_short_window = false;
    return rc;
}

static int s_teardown (void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        if (s_remote[i] > 0) {
            kill (s_remote[i], SIGCONT);
            kit_child_stop (s_remote[i], 5000);
            s_remote[i] = 0;
        }
    zmgr_value_destroy (&s_last_status);
    zmgr_client_destroy (&s_client);
    int rc = kit_daemon_fini (&s_daemon);
    return rc == 0 ? 0 : -1;
}

/* ---- overdue attempts -----------------------------------------------------------------
 */

/*  SLOW ~2 s: a local worker SIGSTOPped past its job's timeout is killed
 *  by zmgrd (SIGKILL works on a stopped process) before the job runs on
 *  the other one: one result, from the second attempt, and no overlap. */
static void test_local_stopped_past_timeout (void **state)
{
    (void)state;
    char path[300];
    snprintf (path, sizeof path, "%s/local.track", s_dir);
    uint64_t id = s_submit_track (path, 30000, 200, 1000);
    int64_t victim = s_wait_worker_of (id, 5000);
    assert_true (victim > 0);
    assert_true (kit_file_has (path, "start", 5000));
    assert_int_equal (kill ((pid_t)victim, SIGSTOP), 0);
    zmgr_value_t *r = NULL;
    int rc = zmgr_job_result (s_client, id, 15000, &r);
    int64_t by = -1;
    if (rc == 0)
        zmgr_value_to_int (r, &by);
    zmgr_value_destroy (&r);
    bool alive = kill ((pid_t)victim, 0) == 0;
    long long deadline = kit_now_ms () + 5000;
    while (alive && kit_now_ms () < deadline) {
        usleep (20 * 1000);
        alive = kill ((pid_t)victim, 0) == 0;
    }
    if (alive)
        kill ((pid_t)victim, SIGCONT); /* leave no stopped process behind */
    fprintf (stderr, "  result %d from pid %lld; stopped worker %lld %s\n", rc,
             (long long)by, (long long)victim, alive ? "alive" : "killed");
    assert_int_equal (rc, 0);
    assert_false (alive);
    assert_true (by > 0 && by != victim);
    assert_int_equal (s_check_no_overlap (path), 2);
    assert_true (s_wait_workers (2, 10000));
}

/*  The defect of issue 10: `submit sleep 3 --job-timeout 1` said
 *  "worker-died: gave up after 3 attempts" where every attempt timed out. */
static void test_timeout_reason (void **state)
{
    (void)state;
    char args[400];
    snprintf (args, sizeof args, "[\"%s/timeout.track\", 3000, 3000]", s_dir);
    zmgr_value_t *a = kit_value (args);
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.timeout_ms = 300;
    o.retries = 1;
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 1;
    uint64_t id = 0;
    assert_int_equal (zmgr_job_submit (s_client, "track", a, &o, &id), 0);
    zmgr_value_destroy (&a);
    zmgr_value_t *r = NULL;
    assert_int_equal (zmgr_job_result (s_client, id, 10000, &r), ZMGR_EJOBFAILED);
    const char *msg = zmgr_client_errmsg (s_client);
    fprintf (stderr, "  %s\n", msg);
    assert_true (strncmp (msg, "timeout: ", 9) == 0);
    char st[32];
    s_state (id, st, sizeof st);
    assert_string_equal (st, "failed");
    assert_true (s_wait_workers (2, 10000));
}

/*  SLOW ~5 s: a remote worker SIGSTOPped past its job's timeout. The job
 *  runs again only after that worker's lease has lapsed (timeout + 3 s);
 *  resumed then, the worker finds its job past its deadline and exits
 *  (status 70) at once, without a line more: no overlap, one result. */
static void test_remote_stopped_past_timeout (void **state)
{
    (void)state;
    char path[300];
    snprintf (path, sizeof path, "%s/remote.track", s_dir);
    long long t0 = kit_now_ms ();
    uint64_t id = s_submit_track (path, 30000, 200, 1000);
    int64_t victim = s_wait_worker_of (id, 5000);
    assert_true (victim == s_remote[0] || victim == s_remote[1]);
    assert_true (kit_file_has (path, "start", 5000));
    assert_int_equal (kill ((pid_t)victim, SIGSTOP), 0);
    zmgr_value_t *r = NULL;
    int rc = zmgr_job_result (s_client, id, 15000, &r);
    long long took = kit_now_ms () - t0;
    int64_t by = -1;
    if (rc == 0)
        zmgr_value_to_int (r, &by);
    zmgr_value_destroy (&r);
    kill ((pid_t)victim, SIGCONT);
    int slot = victim == s_remote[0] ? 0 : 1;
    int code = kit_child_wait ((pid_t)victim, 5000);
    s_remote[slot] = 0;
    fprintf (stderr,
             "  result %d from pid %lld after %lld ms; resumed worker exited %d\n", rc,
             (long long)by, took, code);
    assert_int_equal (rc, 0);
    assert_true (by > 0 && by != victim);
    assert_true (took >= 1000 + 3000); /* the lease lapsed first */
    assert_int_equal (code, 70);       /* killed its overdue job itself */
    usleep (200 * 1000);               /* a line it might have written late */
    assert_int_equal (s_check_no_overlap (path), 2);
    s_remote[slot] = s_start_remote ();
    assert_true (s_wait_workers (2, 10000));
}

/*  SLOW ~5 s: a remote worker whose function overruns the timeout a little
 *  (1.3 s of 1 s, before its own kill at 1.5 s) reports its late result:
 *  refused (not the current attempt's: counted in the stats). The user
 *  sees the second attempt's result only. */
static void test_late_result_refused (void **state)
{
    (void)state;
    char path[300];
    snprintf (path, sizeof path, "%s/late.track", s_dir);
    int64_t stale0 = kit_stat_int (s_client, "jobs_stale_reports");
    assert_true (stale0 >= 0);
    uint64_t id = s_submit_track (path, 1300, 100, 1000);
    int64_t first = s_wait_worker_of (id, 5000);
    assert_true (first > 0);
    zmgr_value_t *r = NULL;
    int rc = zmgr_job_result (s_client, id, 15000, &r);
    zmgr_value_destroy (&r);
    assert_int_equal (rc, 0);
    int64_t stale = kit_stat_int (s_client, "jobs_stale_reports");
    bool first_alive = kill ((pid_t)first, 0) == 0;
    fprintf (stderr, "  stale reports %lld -> %lld; first worker %s\n", (long long)stale0,
             (long long)stale, first_alive ? "alive" : "gone");
    msgpack_unpacked u;
    assert_true (s_status (id, &u));
    assert_int_equal (s_int_at (&u.data, "attempts", -1), 2);
    msgpack_unpacked_destroy (&u);
    assert_int_equal (s_check_no_overlap (path), 2);
    /*  Its late job.done came before its own deadline unless the machine
     *  was too slow for 200 ms; then it killed itself instead. */
    if (first_alive)
        assert_true (stale > stale0);
    for (int i = 0; i < 2; i++)
        if (s_remote[i] > 0 && kill (s_remote[i], 0) != 0) {
            kit_child_wait (s_remote[i], 1000);
            s_remote[i] = s_start_remote ();
        }
    assert_true (s_wait_workers (2, 10000));
}

/*  SLOW ~4 s: a remote worker SIGSTOPped while it runs a job WITHOUT a
 *  timeout (no lease of its own) loses its session after the liveness
 *  window; the job waits, running with no worker, for the window once
 *  more (the broker's lease wait), then runs on the other worker.
 *  Resumed, the stopped worker finds it was stopped past half the window
 *  and exits (status 70) before its function can go on: no end line of
 *  its own, no overlap, one result. Before the lease wait the job ran
 *  again at once, and the resumed worker ran on beside it. */
static void test_remote_stopped_no_timeout (void **state)
{
    (void)state;
    char path[300];
    snprintf (path, sizeof path, "%s/notimeout.track", s_dir);
    uint64_t id = s_submit_track (path, 30000, 200, 0);
    int64_t victim = s_wait_worker_of (id, 5000);
    assert_true (victim == s_remote[0] || victim == s_remote[1]);
    assert_true (kit_file_has (path, "start", 5000));
    assert_int_equal (kill ((pid_t)victim, SIGSTOP), 0);
    /*  Its session ends after 1 s stopped (plus up to a heartbeat). */
    long long gone = 0, deadline = kit_now_ms () + 5000;
    while (!gone && kit_now_ms () < deadline) {
        if (s_worker_of (id) != victim)
            gone = kit_now_ms ();
        else
            usleep (10 * 1000);
    }
    assert_true (gone > 0);
    usleep (200 * 1000);
    char st[32] = "";
    s_state (id, st, sizeof st);
    int64_t during = s_worker_of (id);
    long long looked = kit_now_ms () - gone;
    fprintf (stderr, "  %lld ms after the session ended: %s, worker %lld\n", looked, st,
             (long long)during);
    if (looked < 800) { /* within the 1000 ms wait, unless the machine lagged */
        assert_string_equal (st, "running");
        assert_int_equal (during, 0);
    }
    zmgr_value_t *r = NULL;
    int rc = zmgr_job_result (s_client, id, 10000, &r);
    long long waited = kit_now_ms () - gone;
    int64_t by = -1;
    if (rc == 0)
        zmgr_value_to_int (r, &by);
    zmgr_value_destroy (&r);
    kill ((pid_t)victim, SIGCONT);
    int slot = victim == s_remote[0] ? 0 : 1;
    int code = kit_child_wait ((pid_t)victim, 3000);
    s_remote[slot] = 0;
    fprintf (stderr,
             "  result %d from pid %lld %lld ms after the session ended; resumed "
             "worker exited %d\n",
             rc, (long long)by, waited, code);
    assert_int_equal (rc, 0);
    assert_true (by > 0 && by != victim);
    assert_true (waited >= 900); /* the lease wait (1000 ms), less polling slack */
    assert_int_equal (code, 70); /* killed its job itself on resuming */
    usleep (200 * 1000);         /* a line it might have written late */
    assert_int_equal (s_check_no_overlap (path), 2);
    s_line_t l[S_MAX_LINES];
    int n = s_read_track (path, l);
    for (int i = 0; i < n; i++)
        if (!l[i].start)
            assert_int_not_equal (l[i].pid, (int)victim);
    msgpack_unpacked u;
    assert_true (s_status (id, &u));
    assert_int_equal (s_int_at (&u.data, "attempts", -1), 2);
    msgpack_unpacked_destroy (&u);
    s_remote[slot] = s_start_remote ();
    assert_true (s_wait_workers (2, 10000));
}

/* ---- dead letters
 * ---------------------------------------------------------------------- */

static uint64_t s_submit_poison (const char *path, int retries)
{
    char args[400];
    snprintf (args, sizeof args, "[\"%s\"]", path);
    zmgr_value_t *a = kit_value (args);
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.retries = retries;
    o.backoff_base_ms = 50;
    o.backoff_max_ms = 100;
    uint64_t id = 0;
    assert_int_equal (zmgr_job_submit (s_client, "poison", a, &o, &id), 0);
    zmgr_value_destroy (&a);
    return id;
}

/*  The crash record of attempt i: its signal, and whether its stderr tail
 *  has text. */
static void s_check_record (uint64_t id, uint32_t i, const char *text)
{
    msgpack_unpacked u;
    assert_true (s_status (id, &u));
    const msgpack_object *log = kit_map_get (&u.data, "attempt_log");
    assert_non_null (log);
    assert_true (log->type == MSGPACK_OBJECT_ARRAY && log->via.array.size > i);
    const msgpack_object *a = &log->via.array.ptr[i];
    char end[32], exit_text[96], tail[4200];
    s_str_at (a, "end", end, sizeof end);
    s_str_at (a, "exit", exit_text, sizeof exit_text);
    s_str_at (a, "stderr", tail, sizeof tail);
    fprintf (stderr, "  attempt %u: %s, %s, pid %lld, stderr tail %zu bytes\n", i + 1,
             end, exit_text, (long long)s_int_at (a, "pid", -1), strlen (tail));
    assert_string_equal (end, "worker-died");
    assert_int_equal (s_int_at (a, "signal", -1), SIGABRT);
    assert_non_null (strstr (exit_text, "SIGABRT"));
    assert_true (s_int_at (a, "pid", 0) > 0);
    assert_true (s_int_at (a, "ended_ms", 0) >= s_int_at (a, "started_ms", 0));
    assert_non_null (strstr (tail, text));
    msgpack_unpacked_destroy (&u);
}

/*  Waits for attempt i's record to have its worker's exit. */
static bool s_wait_exit_recorded (uint64_t id, uint32_t i, int ms)
{
    long long deadline = kit_now_ms () + ms;
    do {
        msgpack_unpacked u;
        int64_t sig = -1;
        if (s_status (id, &u)) {
            const msgpack_object *log = kit_map_get (&u.data, "attempt_log");
            if (log && log->type == MSGPACK_OBJECT_ARRAY && log->via.array.size > i)
                sig = s_int_at (&log->via.array.ptr[i], "signal", -1);
            msgpack_unpacked_destroy (&u);
        }
        if (sig > 0)
            return true;
        usleep (20 * 1000);
    } while (kit_now_ms () < deadline);
    return false;
}

/*  SLOW ~2 s: a job that crashes its worker is dead after 2 deaths though
 *  it had retries left; the function's other jobs are unaffected; each
 *  attempt's record shows the signal and the worker's last stderr;
 *  job.retry runs it again (and, the poison gone, it succeeds). */
static void test_poison_is_dead_then_retried (void **state)
{
    (void)state;
    char poison[300], harmless[300];
    snprintf (poison, sizeof poison, "%s/poison.on", s_dir);
    snprintf (harmless, sizeof harmless, "%s/poison.off", s_dir);
    FILE *f = fopen (poison, "w");
    assert_non_null (f);
    fclose (f);
    uint64_t id = s_submit_poison (poison, 5);
    uint64_t others[4];
    for (int i = 0; i < 4; i++)
        others[i] = s_submit_poison (harmless, 0);
    zmgr_value_t *r = NULL;
    assert_int_equal (zmgr_job_result (s_client, id, 15000, &r), ZMGR_EJOBFAILED);
    fprintf (stderr, "  %s\n", zmgr_client_errmsg (s_client));
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "worker-died"));
    char st[32];
    s_state (id, st, sizeof st);
    assert_string_equal (st, "dead");
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        if (zmgr_job_result (s_client, others[i], 15000, &r) == 0 &&
            kit_value_is (r, "\"ok\""))
            ok++;
        zmgr_value_destroy (&r);
    }
    assert_int_equal (ok, 4);
    msgpack_unpacked u;
    assert_true (s_status (id, &u));
    assert_int_equal (s_int_at (&u.data, "attempts", -1), 2);
    msgpack_unpacked_destroy (&u);
    char text[64];
    snprintf (text, sizeof text, "poison: job %llu in pid", (unsigned long long)id);
    assert_true (s_wait_exit_recorded (id, 1, 5000));
    s_check_record (id, 0, text);
    s_check_record (id, 1, text);
    /*  jobs counts it as dead, not failed. */
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_jobs (s_client, &v), 0);
    assert_true (kit_unpack (v, &u));
    assert_true (s_int_at (&u.data, "dead", -1) >= 1);
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&v);
    /*  Only a dead job can be retried. */
    assert_int_equal (zmgr_job_retry (s_client, others[0]), ZMGR_EINVAL);
    assert_int_equal (unlink (poison), 0);
    assert_int_equal (zmgr_job_retry (s_client, id), 0);
    assert_int_equal (zmgr_job_result (s_client, id, 15000, &r), 0);
    assert_true (kit_value_is (r, "\"ok\""));
    zmgr_value_destroy (&r);
    assert_true (s_status (id, &u));
    assert_int_equal (s_int_at (&u.data, "attempts", -1), 1); /* fresh */
    msgpack_unpacked_destroy (&u);
    assert_true (s_wait_workers (2, 10000));
}

/* ---- restart
 * ---------------------------------------------------------------------------- */

/*  SLOW ~4 s: a dead job and its attempt records survive a restart (WAL
 *  replay, then a snapshot and its load), and it can be retried after. */
static void test_dead_survives_restart (void **state)
{
    (void)state;
    kit_broker_t b;
    const char *args[] = {"--workers", "1", "--module", s_module, NULL};
    assert_int_equal (kit_broker_init (&b, args, NULL), 0);
    assert_int_equal (kit_broker_start (&b, 10000, false), 0);
    s_client = kit_client (b.endpoint, 10000);
    assert_non_null (s_client);
    snprintf (s_dir, sizeof s_dir, "%s", b.dir);
    assert_true (s_wait_workers (1, 10000));
    char poison[300];
    snprintf (poison, sizeof poison, "%s/poison.on", s_dir);
    FILE *f = fopen (poison, "w");
    assert_non_null (f);
    fclose (f);
    uint64_t id = s_submit_poison (poison, 5);
    zmgr_value_t *r = NULL;
    assert_int_equal (zmgr_job_result (s_client, id, 15000, &r), ZMGR_EJOBFAILED);
    char text[64];
    snprintf (text, sizeof text, "poison: job %llu in pid", (unsigned long long)id);
    /*  The last worker's exit is recorded once zmgrd has reaped it, a
     *  moment after the job's end. */
    assert_true (s_wait_exit_recorded (id, 1, 5000));
    for (int round = 0; round < 2; round++) {
        /*  Round 0: killed, the WAL replayed. Round 1: saved first, so the
         *  snapshot's records recreate it. */
        if (round == 1) {
            zmgr_value_t *seq = NULL;
            assert_int_equal (
                zmgr_call (s_client, ZMGR_OP_SAVE, NULL, NULL, 0, 10000, &seq), 0);
            zmgr_value_destroy (&seq);
        }
        zmgr_client_destroy (&s_client);
        kit_broker_kill (&b);
        assert_int_equal (kit_broker_start (&b, 10000, true), 0);
        s_client = kit_client (b.endpoint, 10000);
        assert_non_null (s_client);
        char st[32];
        s_state (id, st, sizeof st);
        fprintf (stderr, "  after restart %d: %s\n", round + 1, st);
        assert_string_equal (st, "dead");
        s_check_record (id, 0, text);
        s_check_record (id, 1, text);
    }
    assert_true (s_wait_workers (1, 10000));
    assert_int_equal (unlink (poison), 0);
    assert_int_equal (zmgr_job_retry (s_client, id), 0);
    assert_int_equal (zmgr_job_result (s_client, id, 15000, &r), 0);
    assert_true (kit_value_is (r, "\"ok\""));
    zmgr_value_destroy (&r);
    zmgr_value_destroy (&s_last_status);
    zmgr_client_destroy (&s_client);
    assert_int_equal (kit_broker_stop (&b), 0);
    kit_broker_fini (&b);
}

int main (void)
{
    signal (SIGALRM, s_on_alarm);
    alarm (S_WATCHDOG_S);
    s_module = getenv ("ZMGR_TRUST_MODULE");
    if (access (kit_worker_path (), X_OK) != 0 || !s_module ||
        access (s_module, R_OK) != 0) {
        fprintf (stderr,
                 "it_jobs_trust: no zmgr-worker or no $ZMGR_TRUST_MODULE; skipping\n");
        return 77;
    }
    const struct CMUnitTest local[] = {
        cmocka_unit_test (test_local_stopped_past_timeout),
        cmocka_unit_test (test_timeout_reason),
        cmocka_unit_test (test_poison_is_dead_then_retried),
    };
    const struct CMUnitTest remote[] = {
        cmocka_unit_test (test_remote_stopped_past_timeout),
        cmocka_unit_test (test_late_result_refused),
    };
    const struct CMUnitTest lease[] = {
        cmocka_unit_test (test_remote_stopped_no_timeout),
    };
    const struct CMUnitTest durable[] = {
        cmocka_unit_test (test_dead_survives_restart),
    };
    int failed = 0;
    failed +=
        cmocka_run_group_tests_name ("trust_local", local, s_setup_local, s_teardown);
    failed +=
        cmocka_run_group_tests_name ("trust_remote", remote, s_setup_remote, s_teardown);
    failed +=
        cmocka_run_group_tests_name ("trust_lease", lease, s_setup_lease, s_teardown);
    failed += cmocka_run_group_tests_name ("trust_durable", durable, NULL, NULL);
    kit_children_kill ();
    return failed ? 1 : 0;
}
