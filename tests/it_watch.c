/*  tests/it_watch.c - watch, TTLs and ephemeral objects against a real zmgrd
 *  One durable zmgrd per run (group setup, --data-dir), restarted by the
 *  tests that need a restart. Watch notices of changes made by another
 *  process; a watcher that does not read while 200k changes are made gets
 *  one overflow notice and the broker's peak RSS stays bounded; TTLs expire
 *  within a bounded time, persist, and survive a restart; ephemeral objects
 *  go when their session ends, also when its process is SIGKILLed, and at
 *  a restart. Uses only zmgr.h (and kit.h). */
#define _GNU_SOURCE
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

static kit_daemon_t s_daemon;  /* the broker every test talks to */
static char s_data[256];       /* its data dir */
static int s_stop_status = -1; /* kit_daemon_fini's result, checked in main */

static int s_group_setup (void **state)
{
    (void)state;
    kit_tmpdir (s_data, sizeof s_data);
#if defined(__SANITIZE_ADDRESS__)
    /*  ASan keeps freed memory resident (its quarantine, 256 MiB): the
     *  broker's RSS would measure that, not what it holds. */
    static char opts[1024];
    const char *was = getenv ("ASAN_OPTIONS");
    snprintf (opts, sizeof opts, "%s%squarantine_size_mb=1", was ? was : "",
              was ? ":" : "");
    setenv ("ASAN_OPTIONS", opts, 1);
#endif
    const char *args[] = {"--workers", "0", "--data-dir", s_data, NULL};
    return kit_daemon_start_ex (&s_daemon, KIT_DAEMON_LOG, args) == 0 ? 0 : -1;
}

static int s_group_teardown (void **state)
{
    (void)state;
    kit_children_kill ();
    s_stop_status = kit_daemon_fini (&s_daemon);
    kit_rmtree (s_data);
    return s_stop_status == 0 ? 0 : -1;
}

static zmgr_client_t *s_client (void)
{
    zmgr_client_t *c = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (c);
    return c;
}

static bool s_exists (zmgr_client_t *c, const char *name)
{
    bool yes = false;
    int rc = zmgr_exists (c, name, &yes);
    if (rc) {
        fprintf (stderr, "exists %s: %s\n", name, zmgr_client_errmsg (c));
        kit_daemon_dump_log (&s_daemon);
    }
    assert_int_equal (rc, 0);
    return yes;
}

/*  Waits up to ms for name to be gone: true when it went. */
static bool s_gone_within (zmgr_client_t *c, const char *name, int ms)
{
    long long deadline = kit_now_ms () + ms;
    while (s_exists (c, name)) {
        if (kit_now_ms () > deadline)
            return false;
        usleep (20 * 1000);
    }
    return true;
}

/*  The next change notice within 5 s (fails the test when none comes). */
static zmgr_watch_notice_t *s_next (zmgr_client_t *c)
{
    zmgr_watch_notice_t *n = NULL;
    int rc = zmgr_watch_next (c, &n, 5000);
    if (rc)
        fprintf (stderr, "watch_next: %s\n", zmgr_client_errmsg (c));
    assert_int_equal (rc, 0);
    assert_non_null (n);
    return n;
}

static void s_expect (zmgr_client_t *c, const char *op, const char *name)
{
    zmgr_watch_notice_t *n = s_next (c);
    assert_int_equal (zmgr_watch_notice_kind (n), ZMGR_NOTICE_WATCH);
    assert_string_equal (zmgr_watch_notice_op (n), op);
    assert_string_equal (zmgr_watch_notice_name (n), name);
    zmgr_watch_notice_destroy (&n);
}

/* ---- watch ------------------------------------------------------------------ */

static int s_writer (void *arg)
{
    (void)arg;
    zmgr_client_t *c = kit_client (getenv ("ZMGR_ENDPOINT"), 5000);
    if (!c)
        return 10;
    zmgr_value_t *one = zmgr_value_new_int (42), *x = zmgr_value_new_str ("x");
    int rc = zmgr_value_set (c, "wp/v", one) || zmgr_list_append (c, "wp/l", x) ||
             zmgr_value_set (c, "other/v", one) || zmgr_delete (c, "wp/l");
    zmgr_value_destroy (&one);
    zmgr_value_destroy (&x);
    zmgr_client_destroy (&c);
    return rc ? 11 : 0;
}

static void test_watch_other_process (void **state)
{
    (void)state;
    zmgr_client_t *c = s_client ();
    uint64_t id = 0, exact = 0;
    assert_int_equal (zmgr_watch (c, "wp/", 0, &id), 0);
    assert_true (id > 0);
    assert_int_equal (
        zmgr_watch (c, "wp/v", ZMGR_WATCH_VALUES | ZMGR_WATCH_EXACT, &exact), 0);
    assert_int_equal (zmgr_watch_next (c, &(zmgr_watch_notice_t *){NULL}, 0),
                      ZMGR_ETIMEOUT);
    pid_t pid = kit_child_spawn (s_writer, NULL);
    assert_int_equal (kit_child_wait (pid, 10000), 0);
    /*  wp/v's set comes twice: to the prefix watch (no values) and to the
     *  exact one (with them), in either order. */
    bool plain = false, valued = false;
    for (int i = 0; i < 2; i++) {
        zmgr_watch_notice_t *n = s_next (c);
        assert_string_equal (zmgr_watch_notice_op (n), "value.set");
        assert_string_equal (zmgr_watch_notice_name (n), "wp/v");
        assert_int_equal (zmgr_watch_notice_version (n), 1);
        assert_int_equal (zmgr_watch_notice_missed (n), 0);
        assert_false (zmgr_watch_notice_deleted (n));
        if (zmgr_watch_notice_watch (n) == exact) {
            assert_true (kit_value_is (zmgr_watch_notice_args (n), "[42]"));
            valued = true;
        } else {
            assert_int_equal (zmgr_watch_notice_watch (n), id);
            assert_null (zmgr_watch_notice_args (n));
            plain = true;
        }
        zmgr_watch_notice_destroy (&n);
    }
    assert_true (plain && valued);
    s_expect (c, "list.append", "wp/l");
    zmgr_watch_notice_t *n = s_next (c);
    assert_string_equal (zmgr_watch_notice_op (n), "delete");
    assert_string_equal (zmgr_watch_notice_name (n), "wp/l");
    assert_true (zmgr_watch_notice_deleted (n));
    zmgr_watch_notice_destroy (&n);
    /*  other/v was not watched. */
    assert_int_equal (zmgr_watch_next (c, &n, 300), ZMGR_ETIMEOUT);
    assert_int_equal (zmgr_unwatch (c, id), 0);
    assert_int_equal (zmgr_unwatch (c, id), ZMGR_ENOTFOUND);
    assert_int_equal (zmgr_unwatch (c, exact), 0);
    assert_int_equal (zmgr_watch_next (c, &n, 0), ZMGR_EINVAL);
    assert_int_equal (zmgr_delete (c, "wp/v"), 0);
    assert_int_equal (zmgr_delete (c, "other/v"), 0);
    zmgr_client_destroy (&c);
}

/*  VmHWM or VmRSS of pid in KiB, -1 when unreadable. */
static long s_vm (pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen (path, "r");
    long kb = -1;
    size_t flen = strlen (field);
    while (f && fgets (line, sizeof line, f))
        if (strncmp (line, field, flen) == 0 && line[flen] == ':')
            kb = strtol (line + flen + 1, NULL, 10);
    if (f)
        fclose (f);
    return kb;
}

#define S_CHANGES 200000

/*  200k sets of ov/v with a 100-byte string, 256 in flight at a time. */
static int s_flood (void *arg)
{
    (void)arg;
    zmgr_client_t *c = kit_client (getenv ("ZMGR_ENDPOINT"), 5000);
    if (!c)
        return 10;
    char text[101];
    memset (text, 'z', 100);
    text[100] = '\0';
    zmgr_value_t *v = zmgr_value_new_str (text);
    int rc = 0;
    for (int sent = 0; sent < S_CHANGES && rc == 0;) {
        uint64_t rid;
        while (zmgr_pending (c) < 256 && sent < S_CHANGES && rc == 0) {
            rc = zmgr_send (c, ZMGR_OP_VALUE_SET, "ov/v", &v, 1, &rid);
            sent++;
        }
        while (zmgr_pending (c) > (sent < S_CHANGES ? 128u : 0u) && rc == 0) {
            int status;
            rc = zmgr_recv (c, 10000, &rid, &status, NULL);
            if (rc == 0 && status)
                rc = status;
        }
    }
    zmgr_value_destroy (&v);
    zmgr_client_destroy (&c);
    return rc ? 11 : 0;
}

static void test_overflow_bounded (void **state)
{
    (void)state;
    zmgr_client_t *w = s_client ();
    zmgr_client_t *c = s_client ();
    uint64_t id;
    assert_int_equal (zmgr_watch (w, "ov/", ZMGR_WATCH_VALUES, &id), 0);
    long rss0 = s_vm (s_daemon.pid, "VmRSS");
    assert_true (rss0 > 0);
    long long t0 = kit_now_ms ();
    pid_t pid = kit_child_spawn (s_flood, NULL);
    assert_int_equal (kit_child_wait (pid, 60000), 0);
    long hwm = s_vm (s_daemon.pid, "VmHWM");
    fprintf (stderr,
             "  %d changes in %lld ms; broker VmRSS %ld KiB before, VmHWM %ld KiB "
             "after\n",
             S_CHANGES, kit_now_ms () - t0, rss0, hwm);
    /*  Unbounded, the notices (about 150 bytes each) would hold 30 MB. */
    assert_true (hwm - rss0 < 12 * 1024);
    /*  The watcher, reading now: a window of notices, one overflow. */
    size_t changes = 0, overflows = 0;
    zmgr_watch_notice_t *n;
    while (zmgr_watch_next (w, &n, 500) == 0) {
        if (zmgr_watch_notice_kind (n) == ZMGR_NOTICE_WATCH_OVERFLOW) {
            assert_int_equal (zmgr_watch_notice_watch (n), id);
            overflows++;
        } else {
            assert_int_equal (zmgr_watch_notice_missed (n), 0);
            changes++;
        }
        zmgr_watch_notice_destroy (&n);
        assert_true (changes + overflows <= 5000);
    }
    fprintf (stderr, "  the watcher got %zu notices and %zu overflow notice\n", changes,
             overflows);
    assert_int_equal (overflows, 1);
    assert_int_equal (changes, 1000); /* watch_window's default */
    assert_true (kit_stat_int (c, "watch_dropped") >= S_CHANGES - 1000);
    assert_int_equal (kit_stat_int (c, "watches"), 1);
    /*  Read up: notices flow again and say how many were missed. */
    zmgr_value_t *v = zmgr_value_new_int (1);
    assert_int_equal (zmgr_value_set (c, "ov/v", v), 0);
    zmgr_value_destroy (&v);
    n = s_next (w);
    assert_int_equal (zmgr_watch_notice_kind (n), ZMGR_NOTICE_WATCH);
    assert_int_equal (zmgr_watch_notice_missed (n), S_CHANGES - 1000);
    assert_int_equal (zmgr_watch_notice_version (n), S_CHANGES + 1);
    zmgr_watch_notice_destroy (&n);
    assert_int_equal (zmgr_delete (c, "ov/v"), 0);
    zmgr_client_destroy (&w);
    zmgr_client_destroy (&c);
}

/* ---- TTLs ------------------------------------------------------------------- */

static void test_ttl_expiry (void **state)
{
    (void)state;
    zmgr_client_t *c = s_client ();
    zmgr_client_t *w = s_client ();
    int64_t ms;
    assert_int_equal (zmgr_ttl (c, "t/v", &ms), 0);
    assert_int_equal (ms, -2);
    assert_int_equal (zmgr_expire (c, "t/v", 1000), ZMGR_ENOTFOUND);
    zmgr_value_t *v = zmgr_value_new_int (1);
    assert_int_equal (zmgr_value_set (c, "t/v", v), 0);
    assert_int_equal (zmgr_ttl (c, "t/v", &ms), 0);
    assert_int_equal (ms, -1);
    assert_int_equal (zmgr_watch (w, "t/v", ZMGR_WATCH_EXACT, NULL), 0);
    long long t0 = kit_now_ms ();
    assert_int_equal (zmgr_expire (c, "t/v", 1500), 0);
    int64_t first, second;
    assert_int_equal (zmgr_ttl (c, "t/v", &first), 0);
    assert_true (first > 0 && first <= 1500);
    usleep (300 * 1000);
    assert_int_equal (zmgr_ttl (c, "t/v", &second), 0);
    assert_true (second >= 0 && second < first);
    assert_true (s_gone_within (c, "t/v", 5000));
    long long took = kit_now_ms () - t0;
    fprintf (stderr, "  a 1500 ms TTL: gone after %lld ms\n", took);
    assert_true (took >= 1400);
    /*  The watcher saw the expire and the expiry. */
    s_expect (w, "expire", "t/v");
    zmgr_watch_notice_t *n = s_next (w);
    assert_string_equal (zmgr_watch_notice_op (n), "expired");
    assert_true (zmgr_watch_notice_deleted (n));
    zmgr_watch_notice_destroy (&n);
    /*  persist: the TTL goes, the object stays. */
    assert_int_equal (zmgr_value_set (c, "t/p", v), 0);
    assert_int_equal (zmgr_expire (c, "t/p", 500), 0);
    bool had = false;
    assert_int_equal (zmgr_persist (c, "t/p", &had), 0);
    assert_true (had);
    assert_int_equal (zmgr_persist (c, "t/p", &had), 0);
    assert_false (had);
    assert_int_equal (zmgr_ttl (c, "t/p", &ms), 0);
    assert_int_equal (ms, -1);
    usleep (800 * 1000);
    assert_true (s_exists (c, "t/p"));
    assert_int_equal (zmgr_delete (c, "t/p"), 0);
    zmgr_value_destroy (&v);
    zmgr_client_destroy (&w);
    zmgr_client_destroy (&c);
}

static void test_ttl_restart (void **state)
{
    (void)state;
    zmgr_client_t *c = s_client ();
    zmgr_value_t *v = zmgr_value_new_int (7);
    assert_int_equal (zmgr_value_set (c, "tr/long", v), 0);
    assert_int_equal (zmgr_value_set (c, "tr/short", v), 0);
    assert_int_equal (zmgr_value_set (c, "tr/none", v), 0);
    assert_int_equal (zmgr_expire (c, "tr/long", 60000), 0);
    assert_int_equal (zmgr_expire (c, "tr/short", 700), 0);
    zmgr_value_destroy (&v);
    zmgr_client_destroy (&c);
    /*  Killed: nothing but the log tells the next broker. */
    assert_int_equal (kit_daemon_kill (&s_daemon), 0);
    usleep (1000 * 1000);
    assert_int_equal (kit_daemon_restart (&s_daemon), 0);
    c = s_client ();
    /*  Overdue while no broker ran: gone at once. */
    assert_false (s_exists (c, "tr/short"));
    int64_t ms;
    assert_int_equal (zmgr_ttl (c, "tr/long", &ms), 0);
    assert_true (ms > 50000 && ms < 59500);
    assert_int_equal (zmgr_ttl (c, "tr/none", &ms), 0);
    assert_int_equal (ms, -1);
    /*  And after a snapshot (admin.save) and a clean restart too. */
    zmgr_value_t *r = NULL;
    assert_int_equal (zmgr_call (c, ZMGR_OP_SAVE, NULL, NULL, 0, 10000, &r), 0);
    zmgr_value_destroy (&r);
    zmgr_client_destroy (&c);
    assert_int_equal (kit_daemon_restart (&s_daemon), 0);
    c = s_client ();
    assert_int_equal (zmgr_ttl (c, "tr/long", &ms), 0);
    assert_true (ms > 40000 && ms < 59500);
    assert_int_equal (zmgr_delete (c, "tr/long"), 0);
    assert_int_equal (zmgr_delete (c, "tr/none"), 0);
    zmgr_client_destroy (&c);
}

/* ---- ephemeral objects ------------------------------------------------------ */

/*  Creates e/<arg> ephemeral, says so on fd 1 of the pipe in arg, then
 *  waits to be killed (or, for "bye", leaves at once). */
typedef struct {
    const char *name;
    int fd;         /* write end of the parent's pipe */
    bool linger;    /* wait to be killed */
    const char *ep; /* endpoint, NULL: $ZMGR_ENDPOINT (unix://) */
} s_eph_arg_t;

static int s_ephemeral_child (void *arg)
{
    s_eph_arg_t *a = arg;
    zmgr_client_t *c = kit_client (a->ep ? a->ep : getenv ("ZMGR_ENDPOINT"), 5000);
    if (!c || zmgr_create_ephemeral (c, a->name, ZMGR_TYPE_LIST) != 0)
        return 10;
    zmgr_value_t *v = zmgr_value_new_int (1);
    int rc = zmgr_list_append (c, a->name, v);
    zmgr_value_destroy (&v);
    if (rc)
        return 11;
    kit_write_full (a->fd, "k", 1);
    while (a->linger)
        pause ();
    zmgr_client_destroy (&c);
    return 0;
}

static void s_wait_ready (int fd)
{
    char ch;
    assert_true (kit_read_full (fd, &ch, 1, 10000));
}

static void test_ephemeral_session_end (void **state)
{
    (void)state;
    zmgr_client_t *c = s_client ();
    int p[2];
    assert_int_equal (pipe (p), 0);
    s_eph_arg_t a = {"e/bye", p[1], false, NULL};
    pid_t pid = kit_child_spawn (s_ephemeral_child, &a);
    s_wait_ready (p[0]);
    assert_int_equal (kit_child_wait (pid, 10000), 0);
    assert_true (s_gone_within (c, "e/bye", 3000));
    /*  SIGKILLed: the unix connection's EOF ends the session at once. */
    uint64_t id;
    assert_int_equal (zmgr_watch (c, "e/kill", ZMGR_WATCH_EXACT, &id), 0);
    s_eph_arg_t k = {"e/kill", p[1], true, NULL};
    pid = kit_child_spawn (s_ephemeral_child, &k);
    s_wait_ready (p[0]);
    assert_true (s_exists (c, "e/kill"));
    long long t0 = kit_now_ms ();
    kill (pid, SIGKILL);
    assert_true (s_gone_within (c, "e/kill", 3000));
    fprintf (stderr, "  ephemeral object of a SIGKILLed process gone after %lld ms\n",
             kit_now_ms () - t0);
    assert_int_equal (kit_child_wait (pid, 5000), 128 + SIGKILL);
    s_expect (c, "create", "e/kill");
    s_expect (c, "list.append", "e/kill");
    zmgr_watch_notice_t *n = s_next (c);
    assert_string_equal (zmgr_watch_notice_op (n), "ended");
    assert_true (zmgr_watch_notice_deleted (n));
    zmgr_watch_notice_destroy (&n);
    /*  Over ZeroMQ (ipc://) a killed process's connection closes too, and
     *  the broker hears of it from the socket monitor. */
    char ipc[320];
    kit_ipc_endpoint (s_daemon.dir, ipc, sizeof ipc);
    s_eph_arg_t z = {"e/zmq", p[1], true, ipc};
    pid = kit_child_spawn (s_ephemeral_child, &z);
    s_wait_ready (p[0]);
    assert_true (s_exists (c, "e/zmq"));
    t0 = kit_now_ms ();
    kill (pid, SIGKILL);
    assert_true (s_gone_within (c, "e/zmq", 10000));
    fprintf (stderr, "  over ipc://: gone after %lld ms\n", kit_now_ms () - t0);
    assert_int_equal (kit_child_wait (pid, 5000), 128 + SIGKILL);
    /*  Only the creator's session counts: another's end leaves it. */
    assert_int_equal (zmgr_create_ephemeral (c, "e/mine", ZMGR_TYPE_VALUE), 0);
    zmgr_client_t *other = s_client ();
    assert_true (s_exists (other, "e/mine"));
    zmgr_client_destroy (&other);
    assert_true (s_exists (c, "e/mine"));
    assert_int_equal (zmgr_create (c, "e/mine", ZMGR_TYPE_VALUE, NULL), ZMGR_EEXISTS);
    zmgr_client_destroy (&c);
    c = s_client ();
    assert_true (s_gone_within (c, "e/mine", 3000));
    close (p[0]);
    close (p[1]);
    zmgr_client_destroy (&c);
}

static void test_ephemeral_restart (void **state)
{
    (void)state;
    zmgr_client_t *c = s_client ();
    assert_int_equal (zmgr_create_ephemeral (c, "er/x", ZMGR_TYPE_DICT), 0);
    zmgr_value_t *v = zmgr_value_new_int (1);
    assert_int_equal (zmgr_value_set (c, "er/kept", v), 0);
    zmgr_value_destroy (&v);
    /*  The broker dies with the creator still connected: its session is
     *  gone with that broker, so the next one deletes the object. */
    assert_int_equal (kit_daemon_kill (&s_daemon), 0);
    zmgr_client_destroy (&c);
    assert_int_equal (kit_daemon_restart (&s_daemon), 0);
    c = s_client ();
    assert_false (s_exists (c, "er/x"));
    assert_true (s_exists (c, "er/kept"));
    assert_int_equal (zmgr_delete (c, "er/kept"), 0);
    zmgr_client_destroy (&c);
}

/* ---- the CLI ---------------------------------------------------------------- */

static char s_cli_out[300]; /* where the watching zmgr's output goes */

static int s_cli_watcher (void *arg)
{
    (void)arg;
    const char *argv[] = {kit_cli_path (), "watch",     "cw/", "--values", "--count",
                          "100",           "--timeout", "3",   NULL};
    static char out[65536];
    int rc = kit_run (argv, NULL, out, sizeof out, NULL, 0, 10000);
    FILE *f = fopen (s_cli_out, "w");
    if (!f)
        return 100;
    fputs (out, f);
    fclose (f);
    return rc;
}

/*  Runs zmgr with args, its stdout in out: its exit code. */
static int s_zmgr (char *out, size_t size, const char *a, const char *b, const char *c,
                   const char *d)
{
    const char *argv[] = {kit_cli_path (), a, b, c, d, NULL};
    return kit_run (argv, NULL, out, size, NULL, 0, 10000);
}

static void test_cli (void **state)
{
    (void)state;
    zmgr_client_t *c = s_client ();
    snprintf (s_cli_out, sizeof s_cli_out, "%s/watch.out", s_data);
    /*  The watcher's output is seen only when it ends (kit_run): ticks go
     *  on for 1.5 s, so that later ones come after its watch is in place
     *  however long zmgr takes to start, and the writes checked after. */
    pid_t pid = kit_child_spawn (s_cli_watcher, NULL);
    long long deadline = kit_now_ms () + 1500;
    zmgr_value_t *v = zmgr_value_new_str ("x");
    while (kit_now_ms () < deadline) {
        assert_int_equal (zmgr_value_set (c, "cw/tick", v), 0);
        usleep (50 * 1000);
    }
    assert_int_equal (zmgr_list_append (c, "cw/l", v), 0);
    assert_int_equal (zmgr_delete (c, "cw/l"), 0);
    zmgr_value_destroy (&v);
    /*  --count 100 not reached when --timeout 3 passes: exit 5. */
    assert_int_equal (kit_child_wait (pid, 10000), 5);
    char *text = kit_slurp (s_cli_out);
    assert_non_null (text);
    assert_non_null (
        strstr (text, "{\"watch\":1,\"op\":\"value.set\",\"name\":\"cw/tick\""));
    assert_non_null (strstr (text,
                             "\"op\":\"list.append\",\"name\":\"cw/l\",\"version\":1,"
                             "\"missed\":0,\"deleted\":false,\"args\":[\"x\"]}\n"));
    assert_non_null (strstr (text, "\"op\":\"delete\",\"name\":\"cw/l\""));
    free (text);
    /*  expire, ttl, persist. */
    char out[256];
    assert_int_equal (s_zmgr (out, sizeof out, "ttl", "cw/tick", NULL, NULL), 0);
    assert_string_equal (out, "-1\n");
    assert_int_equal (s_zmgr (out, sizeof out, "expire", "cw/tick", "30", NULL), 0);
    assert_int_equal (s_zmgr (out, sizeof out, "ttl", "cw/tick", NULL, NULL), 0);
    assert_string_equal (out, "30\n");
    assert_int_equal (s_zmgr (out, sizeof out, "ttl", "cw/tick", "--ms", NULL), 0);
    assert_true (atoi (out) > 28000 && atoi (out) <= 30000);
    assert_int_equal (s_zmgr (out, sizeof out, "persist", "cw/tick", NULL, NULL), 0);
    assert_string_equal (out, "true\n");
    assert_int_equal (s_zmgr (out, sizeof out, "ttl", "cw/nothing", NULL, NULL), 0);
    assert_string_equal (out, "-2\n");
    assert_int_equal (s_zmgr (out, sizeof out, "expire", "cw/nothing", "1", NULL), 6);
    assert_int_equal (s_zmgr (out, sizeof out, "expire", "cw/tick", "soon", NULL), 2);
    assert_int_equal (s_zmgr (out, sizeof out, "expire", "cw/tick", "0.2", NULL), 0);
    assert_true (s_gone_within (c, "cw/tick", 3000));
    /*  create --ephemeral holds the object until it is signalled. */
    const char *argv[] = {kit_cli_path (), "create",      "list",
                          "cw/eph",        "--ephemeral", NULL};
    pid = kit_spawn (argv);
    deadline = kit_now_ms () + 5000;
    while (!s_exists (c, "cw/eph")) {
        assert_true (kit_now_ms () < deadline);
        usleep (20 * 1000);
    }
    usleep (1200 * 1000); /* past a ping of its hold */
    assert_true (s_exists (c, "cw/eph"));
    kill (pid, SIGTERM);
    assert_int_equal (kit_child_wait (pid, 5000), 0);
    assert_true (s_gone_within (c, "cw/eph", 3000));
    zmgr_client_destroy (&c);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_watch_other_process),
        cmocka_unit_test (test_overflow_bounded),
        cmocka_unit_test (test_ttl_expiry),
        cmocka_unit_test (test_ttl_restart),
        cmocka_unit_test (test_ephemeral_session_end),
        cmocka_unit_test (test_ephemeral_restart),
        cmocka_unit_test (test_cli),
    };
    int failed = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    if (s_stop_status != 0 && failed == 0)
        failed = 1;
    return failed;
}
