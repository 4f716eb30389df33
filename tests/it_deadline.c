/*  tests/it_deadline.c - the broker as the timekeeper: a request carries its
 *  deadline, and a client that gave up on a call is told the truth
 *  A broker stalled past a client's timeout (here: SIGSTOPped, as a loop
 *  stalled by huge requests once was) used to run the requests that had
 *  queued meanwhile when it came back: a get whose caller had been told
 *  ETIMEOUT took the item for nobody (qsize 1 -> 0, the item lost), and
 *  a nowait acquire granted the lock to a caller told ETIMEOUT, which then
 *  stayed held. Now the broker does not start a request past its
 *  deadline, and libzmgr answers ETIMEOUT only when the request did not
 *  run (a write it cannot vouch for is EINDOUBT). */
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
#include <string.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

static kit_daemon_t s_d;

static int s_setup (void **state)
{
    (void) state;
    const char *args[] = { "-w", "0", NULL };
    return kit_daemon_start (&s_d, args);
}

static int s_teardown (void **state)
{
    (void) state;
    kill (s_d.pid, SIGCONT);
    int rc = kit_daemon_stop (&s_d);
    kit_daemon_fini (&s_d);
    return rc == 0 ? 0 : -1;
}

/*  Stops the broker for ms while fn runs against it on handle c. */
static void s_stall (int ms)
{
    assert_int_equal (kill (s_d.pid, SIGSTOP), 0);
    usleep ((useconds_t) ms * 1000);
    assert_int_equal (kill (s_d.pid, SIGCONT), 0);
}

static void test_get_during_stall (void **state)
{
    (void) state;
    zmgr_client_t *c = kit_client (s_d.endpoint, 1000);
    assert_non_null (c);
    zmgr_value_t *item = zmgr_value_new_str ("the only item");
    assert_int_equal (zmgr_queue_put (c, "q", item, 0), 0);
    zmgr_value_destroy (&item);
    pid_t child = fork ();
    if (child == 0) {
        zmgr_client_t *g = kit_client (s_d.endpoint, 1000);
        usleep (150 * 1000);   /* the get goes out while the broker is stopped */
        zmgr_value_t *got = NULL;
        int rc = g ? zmgr_queue_get (g, "q", 0, &got) : -100;
        zmgr_value_destroy (&got);
        zmgr_client_destroy (&g);
        _exit (rc == ZMGR_ETIMEOUT ? 0 : 10 + (rc < 0 ? -rc : rc));
    }
    usleep (100 * 1000);
    s_stall (2500);
    int st = kit_child_wait (child, 10000);
    fprintf (stderr, "  get during the stall: child exit %d (0: ETIMEOUT)\n", st);
    assert_int_equal (st, 0);
    /*  Told ETIMEOUT: it did not happen. The item is still there. */
    usleep (200 * 1000);
    int64_t n = 99;
    assert_int_equal (zmgr_queue_qsize (c, "q", &n), 0);
    assert_int_equal (n, 1);
    zmgr_client_destroy (&c);
}

static void test_acquire_during_stall (void **state)
{
    (void) state;
    pid_t child = fork ();
    if (child == 0) {
        zmgr_client_t *l = kit_client (s_d.endpoint, 1000);
        usleep (150 * 1000);
        int rc = l ? zmgr_lock_acquire (l, "L", false, 0) : -100;
        /*  The holder process lives on: a lock granted to it would stay. */
        usleep (3000 * 1000);
        zmgr_client_destroy (&l);
        _exit (rc == ZMGR_ETIMEOUT ? 0 : 10 + (rc < 0 ? -rc : rc));
    }
    usleep (100 * 1000);
    s_stall (2500);
    usleep (300 * 1000);
    /*  While the child still runs: nobody holds L. */
    zmgr_client_t *c = kit_client (s_d.endpoint, 1000);
    assert_non_null (c);
    bool locked = true;
    assert_int_equal (zmgr_lock_locked (c, "L", &locked), 0);
    assert_false (locked);
    assert_int_equal (zmgr_lock_acquire (c, "L", false, 0), 0);
    assert_int_equal (zmgr_lock_release (c, "L"), 0);
    int st = kit_child_wait (child, 10000);
    assert_int_equal (st, 0);
    zmgr_client_destroy (&c);
}

static void test_write_during_stall (void **state)
{
    (void) state;
    pid_t child = fork ();
    if (child == 0) {
        zmgr_client_t *w = kit_client (s_d.endpoint, 1000);
        usleep (150 * 1000);
        zmgr_value_t *v = zmgr_value_new_int (7);
        int rc = w ? zmgr_list_append (w, "stalled", v) : -100;
        zmgr_value_destroy (&v);
        zmgr_client_destroy (&w);
        /*  Not vouched for either way: EINDOUBT, or ETIMEOUT when the
         *  broker's own "not run" came within the grace. */
        _exit (rc == ZMGR_EINDOUBT ? 0 : rc == ZMGR_ETIMEOUT ? 1 : 10 + (rc < 0 ? -rc : rc));
    }
    usleep (100 * 1000);
    s_stall (2500);
    int st = kit_child_wait (child, 10000);
    fprintf (stderr, "  append during the stall: child exit %d (0 EINDOUBT, 1 ETIMEOUT)\n", st);
    assert_true (st == 0 || st == 1);
    /*  Its deadline had passed when the broker came back: not run. */
    usleep (200 * 1000);
    zmgr_client_t *c = kit_client (s_d.endpoint, 1000);
    bool there = true;
    assert_int_equal (zmgr_exists (c, "stalled", &there), 0);
    assert_false (there);
    zmgr_client_destroy (&c);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_get_during_stall, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_acquire_during_stall, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_write_during_stall, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
