/*  tests/it_kit.c - the kit's daemon fixture itself, against the real zmgrd
 *  Restart tests (a daemon stopped or killed and started again on the same
 *  endpoint and dir) rest on kit_daemon_stop, _kill and _restart doing what
 *  kit.h says, so this checks them: a clean exit after SIGTERM, 128+9 after
 *  SIGKILL, the same endpoint answering after a restart with the same flags,
 *  the log kept across restarts, and the dir gone after kit_daemon_fini. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "kit.h"

static const char *const s_args[] = { "--workers", "0", "--heartbeat", "700", NULL };

/*  Pings the daemon's endpoint with a fresh client. */
static int s_ping (const kit_daemon_t *d)
{
    zmgr_client_t *c = kit_client (d->endpoint, 2000);
    if (!c)
        return -1;
    int rc = zmgr_ping (c, NULL);
    zmgr_client_destroy (&c);
    return rc;
}

static void test_stop_and_restart (void **state)
{
    (void) state;
    kit_daemon_t d;
    assert_int_equal (kit_daemon_start_ex (&d, KIT_DAEMON_LOG, s_args), 0);
    char endpoint[sizeof d.endpoint], dir[sizeof d.dir];
    strcpy (endpoint, d.endpoint);
    strcpy (dir, d.dir);
    assert_true (kit_daemon_alive (&d));
    assert_int_equal (s_ping (&d), 0);
    /*  Clean exit on SIGTERM; the dir stays for the restart. */
    pid_t first = d.pid;
    assert_int_equal (kit_daemon_stop (&d), 0);
    assert_false (kit_daemon_alive (&d));
    assert_int_equal (d.pid, 0);
    assert_int_equal (access (dir, F_OK), 0);
    assert_int_equal (kit_daemon_stop (&d), 0);   /* again: the same status */
    /*  The same endpoint, dir and flags. */
    assert_int_equal (kit_daemon_restart (&d), 0);
    assert_true (d.pid != first);
    assert_string_equal (d.endpoint, endpoint);
    assert_string_equal (d.dir, dir);
    assert_string_equal (d.argv[3], "--heartbeat");
    assert_string_equal (d.argv[4], "700");
    assert_int_equal (s_ping (&d), 0);
    /*  SIGKILL: 128+9, and a restart after it works too. */
    assert_int_equal (kit_daemon_kill (&d), 0);
    assert_int_equal (d.status, 128 + SIGKILL);
    assert_int_equal (kit_daemon_kill (&d), -1);   /* not running */
    assert_int_equal (kit_daemon_restart (&d), 0);
    assert_int_equal (s_ping (&d), 0);
    /*  Restarting a running daemon stops it first. */
    pid_t running = d.pid;
    assert_int_equal (kit_daemon_restart (&d), 0);
    assert_true (d.pid != running);
    assert_int_equal (d.status, 0);
    /*  The log holds every run's lines. */
    char *log = kit_slurp (d.log);
    size_t runs = 0;
    for (const char *p = log; (p = strstr (p, " running, pid ")); p++)
        runs++;
    free (log);
    if (runs != 4)
        kit_daemon_dump_log (&d);
    assert_int_equal (runs, 4);
    /*  fini stops it and removes the dir; twice is fine. */
    assert_int_equal (kit_daemon_fini (&d), 0);
    assert_int_equal (access (dir, F_OK), -1);
    assert_int_equal (kit_daemon_fini (&d), 0);
    assert_int_equal (kit_daemon_restart (&d), -1);
}

/*  A daemon that cannot start: -1, its reason in the log, and fini cleans up. */
static void test_bad_start (void **state)
{
    (void) state;
    static const char *const bad[] = { "--no-such-flag", NULL };
    kit_daemon_t d;
    assert_int_equal (kit_daemon_start_ex (&d, KIT_DAEMON_LOG, bad), -1);
    assert_false (kit_daemon_alive (&d));
    assert_true (d.status > 0 && d.status < 128);
    assert_true (kit_daemon_log_has (&d, "no-such-flag", 0));
    assert_int_equal (kit_daemon_fini (&d), d.status);
    assert_string_equal (d.dir, "");
}

int main (void)
{
    if (access (kit_zmgrd_path (), X_OK) != 0) {
        fprintf (stderr, "it_kit: no zmgrd at %s (set ZMGRD); skipping\n", kit_zmgrd_path ());
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_stop_and_restart),
        cmocka_unit_test (test_bad_start),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
