/*  tests/it_fsync_fail.c - a broker whose log cannot reach the disk acknowledges no more
 *  zmgrd runs with LD_PRELOAD=$ZMGR_SHIM_FSYNC (shim_fsync.c), whose
 *  fdatasync and fsync fail with EIO while a trigger file exists (or after
 *  a number of calls). wal.c never retries a failed sync: the broker logs
 *  it and exits 1 without sending the turn's replies. Then zmgrd starts
 *  again without the shim on the same data dir, and what it had
 *  acknowledged must be there:
 *    always    writes are acknowledged; the trigger is set; the next write
 *              fails (its reply is withheld), zmgrd exits 1 logging the
 *              fdatasync error; after the restart every acknowledged item
 *              is there once, in order (the failed one once or not at all).
 *    everysec  the write after the trigger is acknowledged (everysec says
 *              so before its sync), the timed sync fails within about a
 *              second and zmgrd exits 1; every acknowledged item is there
 *              after the restart (the kernel kept the pages: only the shim
 *              failed).
 *    at start  with every sync failing, zmgrd cannot open its first log
 *              segment: it exits non-zero and never answers.
 *
 *  Under AddressSanitizer the shim comes first in the library list, which
 *  ASan refuses by default: the daemon gets verify_asan_link_order=0 in
 *  its ASAN_OPTIONS. Should it still not start that way, the tests skip
 *  (77) rather than fail. Without $ZMGR_SHIM_FSYNC they skip too. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

#if defined(__SANITIZE_ADDRESS__)
#define S_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_ASAN 1
#endif
#endif
#ifndef S_ASAN
#define S_ASAN 0
#endif

#define S_WATCHDOG_S 55         /* whole-file limit (ctest's TIMEOUT is 60) */
#define S_ACKED 200             /* writes acknowledged before the failure */

static kit_broker_t s_b;         /* the broker of the running test */
static char s_preload[600];     /* LD_PRELOAD=<shim> */
static char s_asan[1200];       /* ASAN_OPTIONS=... for the daemon */
static char s_trigger[400];     /* ZMGR_SHIM_FSYNC_TRIGGER=<dir>/fail */
static int s_skipped;           /* tests skipped: all of them make the file exit 77 */

static void s_on_alarm (int sig)
{
    (void) sig;
    static const char msg[] = "it_fsync_fail: watchdog expired, killing the broker\n";
    ssize_t w = write (2, msg, sizeof msg - 1);
    (void) w;
    if (s_b.pid > 0)
        kill (s_b.pid, SIGKILL);
    _exit (1);
}

/*  The trigger file's path (after "ZMGR_SHIM_FSYNC_TRIGGER="). */
static const char *s_trigger_path (void)
{
    return strchr (s_trigger, '=') + 1;
}

/*  Sets the broker up (not started) with the shim and the given flags. */
static void s_init (const char *fsync, const char *fail_after)
{
    static char after[64];
    const char *args[] = { "--fsync", fsync, "--workers", "0", NULL };
    const char *env[4] = { s_preload, s_asan, NULL, NULL };
    if (fail_after) {
        snprintf (after, sizeof after, "ZMGR_SHIM_FSYNC_FAIL_AFTER=%s", fail_after);
        env[2] = after;
    } else
        env[2] = s_trigger;
    assert_int_equal (kit_broker_init (&s_b, args, env), 0);
    snprintf (s_trigger, sizeof s_trigger, "ZMGR_SHIM_FSYNC_TRIGGER=%s/fail", s_b.dir);
}

/*  Starts zmgrd with the shim; false (the test skips) when ASan will not
 *  have the shim first. */
static bool s_start_shimmed (void)
{
    if (kit_broker_start (&s_b, 10000, false) == 0)
        return true;
    int asan_refused = kit_broker_log_count (&s_b, "AddressSanitizer")
                       + kit_broker_log_count (&s_b, "ASan runtime");
    kit_broker_log_tail (&s_b, 10);
    if (S_ASAN && asan_refused) {
        fprintf (stderr, "  SKIP: zmgrd under ASan does not start with the LD_PRELOAD shim\n");
        s_skipped++;
        return false;
    }
    fail_msg ("zmgrd with the shim did not start (exit %d)", s_b.status);
    return false;
}

/*  zmgrd again on the same data dir, without the shim. */
static void s_restart_plain (void)
{
    s_b.env[0] = NULL;
    int rc = kit_broker_start (&s_b, 10000, false);
    if (rc != 0)
        kit_broker_log_tail (&s_b, 20);
    assert_int_equal (rc, 0);
}

static int s_append (zmgr_client_t *c, int n)
{
    char item[32];
    snprintf (item, sizeof item, "a%d", n);
    zmgr_value_t *v = zmgr_value_new_str (item);
    int rc = zmgr_list_append (c, "fsync.list", v);
    zmgr_value_destroy (&v);
    return rc;
}

/*  The list after the restart must be a0 .. a<acked-1>, then the items in
 *  doubt (acked .. sent-1) each at most once, in order. Returns how many
 *  of those are there. */
static size_t s_check_list (zmgr_client_t *c, int acked, int sent)
{
    zmgr_value_t *all = NULL;
    assert_int_equal (zmgr_list_slice (c, "fsync.list", 0, INT64_MAX, &all), 0);
    size_t len = 0, off = 0;
    const void *data = zmgr_value_packed (all, &len);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert_int_equal (msgpack_unpack_next (&u, data, len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal (u.data.type, MSGPACK_OBJECT_ARRAY);
    msgpack_object_array a = u.data.via.array;
    assert_true (a.size >= (uint32_t) acked);
    assert_true (a.size <= (uint32_t) sent);
    int prev = -1;
    for (uint32_t i = 0; i < a.size; i++) {
        char want[32];
        assert_int_equal (a.ptr[i].type, MSGPACK_OBJECT_STR);
        int n = (int) i < acked ? (int) i : -1;
        if (n < 0) {
            /*  In doubt: some later item, after the one before. */
            char buf[32];
            size_t l = a.ptr[i].via.str.size < 31 ? a.ptr[i].via.str.size : 31;
            memcpy (buf, a.ptr[i].via.str.ptr, l);
            buf[l] = '\0';
            n = buf[0] == 'a' ? atoi (buf + 1) : -1;
            assert_true (n > prev && n < sent);
        }
        snprintf (want, sizeof want, "a%d", n);
        assert_int_equal (a.ptr[i].via.str.size, strlen (want));
        assert_memory_equal (a.ptr[i].via.str.ptr, want, strlen (want));
        prev = n;
    }
    size_t extra = a.size - (uint32_t) acked;
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&all);
    return extra;
}

/*  After the restart the store takes writes again, and zmgrd stops cleanly. */
static void s_writable_then_stop (zmgr_client_t **c)
{
    assert_int_equal (s_append (*c, 100000), 0);
    zmgr_client_destroy (c);
    int rc = kit_broker_stop (&s_b);
    if (rc != 0)
        kit_broker_log_tail (&s_b, 20);
    assert_int_equal (rc, 0);
}

static int s_teardown (void **state)
{
    (void) state;
    kit_broker_fini (&s_b);
    return 0;
}

/* ---- always ---------------------------------------------------------------------- */

static void test_always (void **state)
{
    (void) state;
    s_init ("always", NULL);
    if (!s_start_shimmed ())
        skip ();
    int st = 0;
    zmgr_client_t *c = zmgr_client_new_timeout (s_b.endpoint, 1000, &st);
    assert_non_null (c);
    for (int n = 0; n < S_ACKED; n++)
        assert_int_equal (s_append (c, n), 0);

    int fd = open (s_trigger_path (), O_WRONLY | O_CREAT, 0600);
    assert_true (fd >= 0);
    close (fd);
    long long t0 = kit_now_ms ();
    int rc = s_append (c, S_ACKED);
    long long took = kit_now_ms () - t0;
    int code = kit_broker_wait_exit (&s_b, 5000);
    zmgr_client_destroy (&c);
    int told = kit_broker_log_count (&s_b, "fdatasync of log segment");
    int eio = kit_broker_log_count (&s_b, "Input/output error");
    int withheld = kit_broker_log_count (&s_b, "replies withheld");
    fprintf (stderr, "  always: the write after the failure: %s after %lld ms; zmgrd exit %d\n",
             zmgr_errname (rc), took, code);
    if (code != 1 || !told)
        kit_broker_log_tail (&s_b, 10);
    assert_int_not_equal (rc, 0);
    assert_int_equal (code, 1);
    assert_true (told >= 1);
    assert_true (eio >= 1);
    assert_true (withheld >= 1);

    unlink (s_trigger_path ());
    s_restart_plain ();
    c = zmgr_client_new_timeout (s_b.endpoint, 5000, &st);
    assert_non_null (c);
    size_t extra = s_check_list (c, S_ACKED, S_ACKED + 1);
    fprintf (stderr, "  always: %d acknowledged writes all there; the one in doubt %s\n",
             S_ACKED, extra ? "is there (it had been written, not synced)" : "is not");
    s_writable_then_stop (&c);
}

/* ---- everysec -------------------------------------------------------------------- */

static void test_everysec (void **state)
{
    (void) state;
    s_init ("everysec", NULL);
    if (!s_start_shimmed ())
        skip ();
    int st = 0;
    zmgr_client_t *c = zmgr_client_new_timeout (s_b.endpoint, 1000, &st);
    assert_non_null (c);
    for (int n = 0; n < S_ACKED; n++)
        assert_int_equal (s_append (c, n), 0);
    /*  The timed sync of those writes, before the trigger: let it happen. */
    usleep (1200 * 1000);
    int fd = open (s_trigger_path (), O_WRONLY | O_CREAT, 0600);
    assert_true (fd >= 0);
    close (fd);
    long long t0 = kit_now_ms ();
    /*  Acknowledged before its sync, as everysec promises no more. */
    int acked = S_ACKED, sent = S_ACKED;
    int rc = s_append (c, sent++);
    if (rc == 0)
        acked++;
    int code = kit_broker_wait_exit (&s_b, 4000);
    long long took = kit_now_ms () - t0;
    rc = s_append (c, sent++);   /* the broker is gone: not acknowledged */
    zmgr_client_destroy (&c);
    int told = kit_broker_log_count (&s_b, "fdatasync of log segment");
    fprintf (stderr, "  everysec: zmgrd exit %d %lld ms after the trigger; a write then: %s\n",
             code, took, zmgr_errname (rc));
    if (code != 1 || !told)
        kit_broker_log_tail (&s_b, 10);
    assert_int_equal (acked, S_ACKED + 1);
    assert_int_equal (code, 1);
    assert_true (took < 3000);
    assert_true (told >= 1);
    assert_int_not_equal (rc, 0);

    unlink (s_trigger_path ());
    s_restart_plain ();
    c = zmgr_client_new_timeout (s_b.endpoint, 5000, &st);
    assert_non_null (c);
    size_t extra = s_check_list (c, acked, sent);
    fprintf (stderr, "  everysec: %d acknowledged writes all there, %zu more\n", acked, extra);
    s_writable_then_stop (&c);
}

/* ---- at start --------------------------------------------------------------------- */

static void test_fails_at_start (void **state)
{
    (void) state;
    s_init ("always", "0");
    int rc = kit_broker_start (&s_b, 5000, false);
    int code = rc == 0 ? -1 : kit_broker_wait_exit (&s_b, 5000);
    int asan_refused = kit_broker_log_count (&s_b, "ASan runtime");
    if (rc != 0 && S_ASAN && asan_refused) {
        fprintf (stderr, "  SKIP: zmgrd under ASan does not start with the LD_PRELOAD shim\n");
        s_skipped++;
        skip ();
    }
    int eio = kit_broker_log_count (&s_b, "Input/output error");
    int shim = kit_broker_log_count (&s_b, "shim_fsync: failing");
    fprintf (stderr, "  at start: zmgrd %s, exit %d\n", rc == 0 ? "answered" : "did not answer",
             code);
    if (rc == 0 || code <= 0 || !eio)
        kit_broker_log_tail (&s_b, 10);
    assert_int_not_equal (rc, 0);
    assert_true (code > 0);
    assert_true (shim >= 1);
    assert_true (eio >= 1);
    /*  Without the shim the same data dir is fine. */
    s_restart_plain ();
    int st = 0;
    zmgr_client_t *c = zmgr_client_new_timeout (s_b.endpoint, 5000, &st);
    assert_non_null (c);
    int64_t len = -1;
    assert_int_equal (zmgr_list_len (c, "fsync.list", &len), ZMGR_ENOTFOUND);
    s_writable_then_stop (&c);
}

int main (void)
{
    signal (SIGALRM, s_on_alarm);
    alarm (S_WATCHDOG_S);
    const char *shim = getenv ("ZMGR_SHIM_FSYNC");
    if (!shim || !*shim || access (shim, R_OK) != 0) {
        fprintf (stderr, "it_fsync_fail: no shim at $ZMGR_SHIM_FSYNC (%s); skipping\n",
                 shim ? shim : "unset");
        return 77;
    }
    snprintf (s_preload, sizeof s_preload, "LD_PRELOAD=%s", shim);
    const char *asan = getenv ("ASAN_OPTIONS");
    snprintf (s_asan, sizeof s_asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
              asan && *asan ? asan : "", asan && *asan ? ":" : "");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown (test_always, s_teardown),
        cmocka_unit_test_teardown (test_everysec, s_teardown),
        cmocka_unit_test_teardown (test_fails_at_start, s_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    if (failed == 0 && s_skipped == (int) (sizeof tests / sizeof tests[0]))
        return 77;
    return failed;
}
