/*  tests/it_nsarray.c - namespaces, arrays and path ops against a real zmgrd
 *  One durable broker (kit_broker.c) for the file; clients in separate
 *  processes. Checks that array.add from 4 processes x 500 ends at an
 *  exact total, that a namespace's attributes set, read and deleted from
 *  different processes agree (a missing one is EKEY naming it), that 4
 *  processes x 200 add_path and append_path on the same nested value lose
 *  nothing, and that arrays, namespaces and path-op'd values survive a
 *  SIGTERM restart, a SIGKILL (log replay) and a snapshot.
 *
 *  Children never use cmocka and report through their exit code. A
 *  watchdog alarm kills what the file started before ctest's TIMEOUT
 *  would. About 3 s. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

#define S_WATCHDOG_S 100   /* whole-file limit (ctest's TIMEOUT is 120) */
#define S_PROCS 4          /* concurrent writers */

static kit_broker_t s_b;           /* the broker of the file */
static zmgr_client_t *s_c;         /* the parent's client */

static void s_watchdog (int sig)
{
    (void) sig;
    kit_kill_all ();
    _exit (124);
}

/*  The parent's client, made again after a restart. */
static void s_connect (void)
{
    zmgr_client_destroy (&s_c);
    s_c = kit_client (s_b.endpoint, 5000);
    assert_non_null (s_c);
}

/*  Does the value equal the literal (structurally)? Destroys *v. */
static bool s_is (zmgr_value_t **v, const char *text)
{
    bool same = *v && kit_value_is (*v, text);
    zmgr_value_destroy (v);
    return same;
}

static int s_wait_all (pid_t *pids, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int rc = kit_child_wait (pids[i], 30000);
        if (rc != 0) {
            fprintf (stderr, "  child %d ended with %d\n", i, rc);
            bad++;
        }
    }
    return bad;
}

/* ---- array: concurrent adds ----------------------------------------------- */

static int s_array_adder (void *arg)
{
    int me = (int) (intptr_t) arg;
    zmgr_client_t *c = kit_client (s_b.endpoint, 5000);
    if (!c)
        return 10;
    zmgr_value_t *half = zmgr_value_new_double (0.5);
    int rc = 0;
    for (int i = 0; i < 500 && rc == 0; i++) {
        int64_t now;
        if ((rc = zmgr_array_add_int (c, "a.count", 0, 1, &now)) != 0)
            break;
        if (now < 1 || now > S_PROCS * 500)
            rc = 11;
        else if ((rc = zmgr_array_add_int (c, "a.count", 1 + me, 2, NULL)) != 0)
            break;
        else
            rc = zmgr_array_add (c, "a.sum", -1, half, NULL);
    }
    if (rc)
        fprintf (stderr, "  adder %d: %s (%s)\n", me, zmgr_errname (rc), zmgr_client_errmsg (c));
    zmgr_value_destroy (&half);
    zmgr_client_destroy (&c);
    return rc ? 1 : 0;
}

static void test_array_concurrent_add (void **state)
{
    (void) state;
    assert_int_equal (zmgr_array_create (s_c, "a.count", 'q', 1 + S_PROCS), 0);
    assert_int_equal (zmgr_array_create (s_c, "a.sum", 'd', 3), 0);
    /*  Made again alike: nothing changes; otherwise EEXISTS. */
    assert_int_equal (zmgr_array_create (s_c, "a.count", 'q', 1 + S_PROCS), 0);
    assert_int_equal (zmgr_array_create (s_c, "a.count", 'i', 1 + S_PROCS), ZMGR_EEXISTS);
    assert_non_null (strstr (zmgr_client_errmsg (s_c), "typecode 'q'"));
    pid_t pids[S_PROCS];
    int64_t t0 = kit_now_ms ();
    for (int i = 0; i < S_PROCS; i++)
        pids[i] = kit_child_spawn (s_array_adder, (void *) (intptr_t) i);
    assert_int_equal (s_wait_all (pids, S_PROCS), 0);
    fprintf (stderr, "  %d x 500 x 3 array adds in %lld ms\n", S_PROCS,
             (long long) (kit_now_ms () - t0));
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_array_slice (s_c, "a.count", ZMGR_SLICE_NONE, ZMGR_SLICE_NONE,
                                        ZMGR_SLICE_NONE, &v), 0);
    assert_true (s_is (&v, "[2000, 1000, 1000, 1000, 1000]"));
    assert_int_equal (zmgr_array_get (s_c, "a.sum", 2, &v), 0);
    assert_true (s_is (&v, "1000.0"));
    /*  Python's errors. */
    zmgr_value_t *big = zmgr_value_new_double (1.5);
    assert_int_equal (zmgr_array_set (s_c, "a.count", 0, big), ZMGR_ETYPE);
    zmgr_value_destroy (&big);
    assert_int_equal (zmgr_array_get (s_c, "a.count", 5, &v), ZMGR_EINDEX);
    assert_int_equal (zmgr_array_add_int (s_c, "a.count", 0, INT64_MAX, NULL), ZMGR_EOVERFLOW);
    char tc;
    int64_t len;
    assert_int_equal (zmgr_array_info (s_c, "a.sum", &tc, &len), 0);
    assert_int_equal (tc, 'd');
    assert_int_equal (len, 3);
}

/* ---- namespace across processes -------------------------------------------- */

static int s_ns_setter (void *arg)
{
    (void) arg;
    zmgr_client_t *c = kit_client (s_b.endpoint, 5000);
    if (!c)
        return 10;
    zmgr_value_t *v = kit_value_try ("{\"lr\": 0.01, \"layers\": [64, 32]}");
    zmgr_value_t *n = zmgr_value_new_int (42);
    int rc = zmgr_namespace_set (c, "ns.cfg", "model", v);
    if (rc == 0)
        rc = zmgr_namespace_set (c, "ns.cfg", "seed", n);
    if (rc == 0)
        rc = zmgr_namespace_set (c, "ns.cfg", "tmp", n);
    zmgr_value_destroy (&v);
    zmgr_value_destroy (&n);
    zmgr_client_destroy (&c);
    return rc ? 1 : 0;
}

static int s_ns_deleter (void *arg)
{
    (void) arg;
    zmgr_client_t *c = kit_client (s_b.endpoint, 5000);
    if (!c)
        return 10;
    zmgr_value_t *v = NULL;
    int rc = zmgr_namespace_get (c, "ns.cfg", "seed", &v);
    int64_t seed = 0;
    if (rc == 0 && zmgr_value_to_int (v, &seed) == 0 && seed == 42)
        rc = zmgr_namespace_delete (c, "ns.cfg", "tmp");
    else if (rc == 0)
        rc = 12;
    zmgr_value_destroy (&v);
    zmgr_client_destroy (&c);
    return rc ? 1 : 0;
}

static void test_namespace_processes (void **state)
{
    (void) state;
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_namespace_get (s_c, "ns.cfg", "model", &v), ZMGR_ENOTFOUND);
    pid_t p = kit_child_spawn (s_ns_setter, NULL);
    assert_int_equal (kit_child_wait (p, 10000), 0);
    p = kit_child_spawn (s_ns_deleter, NULL);
    assert_int_equal (kit_child_wait (p, 10000), 0);
    assert_int_equal (zmgr_namespace_get (s_c, "ns.cfg", "model", &v), 0);
    assert_true (s_is (&v, "{\"lr\": 0.01, \"layers\": [64, 32]}"));
    assert_int_equal (zmgr_namespace_get (s_c, "ns.cfg", "tmp", &v), ZMGR_EKEY);
    assert_null (v);
    assert_non_null (strstr (zmgr_client_errmsg (s_c), "'tmp'"));
    assert_int_equal (zmgr_namespace_list (s_c, "ns.cfg", &v), 0);
    assert_true (s_is (&v, "{\"model\": {\"lr\": 0.01, \"layers\": [64, 32]}, \"seed\": 42}"));
    assert_int_equal (zmgr_namespace_delete (s_c, "ns.cfg", "tmp"), ZMGR_EKEY);
}

/* ---- path ops under concurrency --------------------------------------------- */

static int s_path_writer (void *arg)
{
    int me = (int) (intptr_t) arg;
    zmgr_client_t *c = kit_client (s_b.endpoint, 5000);
    if (!c)
        return 10;
    zmgr_value_t *hits = kit_value_try ("[\"stats\", \"hits\"]");
    zmgr_value_t *log = kit_value_try ("[\"stats\", \"log\"]");
    zmgr_value_t *lpath = kit_value_try ("[0, \"n\"]");
    zmgr_value_t *one = zmgr_value_new_int (1);
    zmgr_value_t *mine = zmgr_value_new_int (me);
    int rc = hits && log && lpath ? 0 : 13;
    for (int i = 0; i < 200 && rc == 0; i++) {
        if ((rc = zmgr_dict_add_path (c, "p.cfg", hits, one, NULL)) != 0)
            break;
        int64_t len;
        if ((rc = zmgr_dict_append_path (c, "p.cfg", log, mine, &len)) != 0)
            break;
        if (len < 1 || len > S_PROCS * 200) {
            rc = 11;
            break;
        }
        rc = zmgr_list_add_path (c, "p.list", lpath, one, NULL);
    }
    if (rc && rc < 10)
        fprintf (stderr, "  writer %d: %s (%s)\n", me, zmgr_errname (rc), zmgr_client_errmsg (c));
    zmgr_value_destroy (&hits);
    zmgr_value_destroy (&log);
    zmgr_value_destroy (&lpath);
    zmgr_value_destroy (&one);
    zmgr_value_destroy (&mine);
    zmgr_client_destroy (&c);
    return rc ? 1 : 0;
}

static void test_path_concurrent (void **state)
{
    (void) state;
    zmgr_value_t *k = zmgr_value_new_str ("stats");
    zmgr_value_t *init = kit_value ("{\"hits\": 0, \"log\": []}");
    assert_int_equal (zmgr_dict_set (s_c, "p.cfg", k, init), 0);
    zmgr_value_destroy (&init);
    init = kit_value ("{\"n\": 0}");
    assert_int_equal (zmgr_list_append (s_c, "p.list", init), 0);
    zmgr_value_destroy (&init);
    pid_t pids[S_PROCS];
    int64_t t0 = kit_now_ms ();
    for (int i = 0; i < S_PROCS; i++)
        pids[i] = kit_child_spawn (s_path_writer, (void *) (intptr_t) i);
    assert_int_equal (s_wait_all (pids, S_PROCS), 0);
    fprintf (stderr, "  %d x 200 x 3 path ops in %lld ms\n", S_PROCS,
             (long long) (kit_now_ms () - t0));
    /*  Exact: hits 800, 800 log entries, 200 from each writer. */
    zmgr_value_t *v = NULL;
    zmgr_value_t *hits = kit_value ("[\"stats\", \"hits\"]");
    zmgr_value_t *zero = zmgr_value_new_int (0);
    assert_int_equal (zmgr_dict_add_path (s_c, "p.cfg", hits, zero, &v), 0);
    assert_true (s_is (&v, "800"));
    assert_int_equal (zmgr_dict_get (s_c, "p.cfg", k, NULL, &v), 0);
    msgpack_unpacked u;
    assert_true (kit_unpack (v, &u));
    const msgpack_object *logo = kit_map_get (&u.data, "log");
    assert_non_null (logo);
    assert_int_equal (logo->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (logo->via.array.size, S_PROCS * 200);
    int per[S_PROCS] = { 0 };
    for (uint32_t i = 0; i < logo->via.array.size; i++) {
        uint64_t w = logo->via.array.ptr[i].via.u64;
        assert_true (w < S_PROCS);
        per[w]++;
    }
    for (int i = 0; i < S_PROCS; i++)
        assert_int_equal (per[i], 200);
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&v);
    assert_int_equal (zmgr_list_get (s_c, "p.list", 0, &v), 0);
    assert_true (s_is (&v, "{\"n\": 800}"));
    /*  The trap Manager leaves: d['stats']['missing'].append(1) names the key. */
    zmgr_value_t *bad = kit_value ("[\"stats\", \"missing\", 0]");
    assert_int_equal (zmgr_dict_set_path (s_c, "p.cfg", bad, zero), ZMGR_EKEY);
    assert_non_null (strstr (zmgr_client_errmsg (s_c), "\"missing\""));
    zmgr_value_destroy (&bad);
    zmgr_value_destroy (&hits);
    zmgr_value_destroy (&zero);
    zmgr_value_destroy (&k);
}

/* ---- the CLI ----------------------------------------------------------------- */

/*  Runs zmgr with up to 6 arguments: its exit code; stdout in out. */
static int s_cli (char *out, size_t size, const char *a0, const char *a1, const char *a2,
                  const char *a3, const char *a4, const char *a5)
{
    const char *argv[] = { kit_cli_path (), "-e", s_b.endpoint, a0, a1, a2, a3, a4, a5, NULL };
    char err[512];
    int rc = kit_run (argv, NULL, out, size, err, sizeof err, 10000);
    if (rc != 0)
        fprintf (stderr, "  zmgr %s %s %s: exit %d: %s", a0, a1, a2 ? a2 : "", rc, err);
    return rc;
}

static void test_cli (void **state)
{
    (void) state;
    char out[512];
    assert_int_equal (s_cli (out, sizeof out, "array", "create", "c.a", "--typecode", "i",
                             "--length"), 2);
    assert_int_equal (s_cli (out, sizeof out, "array", "create", "c.a", "--typecode", "i",
                             "--items=[1,2,3]"), 0);
    assert_int_equal (s_cli (out, sizeof out, "array", "add", "c.a", "-1", "5", NULL), 0);
    assert_string_equal (out, "8\n");
    assert_int_equal (s_cli (out, sizeof out, "array", "slice", "c.a", "null", "null", "-1"), 0);
    assert_string_equal (out, "[8,2,1]\n");
    assert_int_equal (s_cli (out, sizeof out, "array", "set", "c.a", "0", "2147483648", NULL),
                      1);
    assert_int_equal (s_cli (out, sizeof out, "array", "get", "c.a", "3", NULL, NULL), 7);
    assert_int_equal (s_cli (out, sizeof out, "namespace", "set", "c.ns", "x", "[1]", NULL), 0);
    assert_int_equal (s_cli (out, sizeof out, "namespace", "get", "c.ns", "x", NULL, NULL), 0);
    assert_string_equal (out, "[1]\n");
    assert_int_equal (s_cli (out, sizeof out, "namespace", "get", "c.ns", "y", NULL, NULL), 6);
    assert_int_equal (s_cli (out, sizeof out, "dict", "set", "c.d", "x", "[]", NULL), 0);
    assert_int_equal (s_cli (out, sizeof out, "dict", "append-path", "c.d", "[\"x\"]", "1",
                             NULL), 0);
    assert_string_equal (out, "1\n");
    assert_int_equal (s_cli (out, sizeof out, "dict", "get", "c.d", "x", NULL, NULL), 0);
    assert_string_equal (out, "[1]\n");
    assert_int_equal (s_cli (out, sizeof out, "list", "append", "c.l", "{\"n\":1}", NULL, NULL),
                      0);
    assert_int_equal (s_cli (out, sizeof out, "list", "add-path", "c.l", "[0,\"n\"]", "2",
                             NULL), 0);
    assert_string_equal (out, "3\n");
    assert_int_equal (s_cli (out, sizeof out, "list", "set-path", "c.l", "[0,\"n\",0]", "2",
                             NULL), 8);
}

/* ---- durability -------------------------------------------------------------- */

/*  The state the tests above left, as a restarted broker must show it. */
static void s_check_state (const char *when)
{
    fprintf (stderr, "  state after %s\n", when);
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_array_slice (s_c, "a.count", ZMGR_SLICE_NONE, ZMGR_SLICE_NONE,
                                        ZMGR_SLICE_NONE, &v), 0);
    assert_true (s_is (&v, "[2000, 1000, 1000, 1000, 1000]"));
    assert_int_equal (zmgr_array_slice (s_c, "a.f", ZMGR_SLICE_NONE, ZMGR_SLICE_NONE, -1, &v), 0);
    zmgr_value_t *want = zmgr_value_new_double ((double) 0.1f);
    msgpack_unpacked u;
    assert_true (kit_unpack (v, &u));
    assert_int_equal (u.data.via.array.size, 2);
    assert_true (u.data.via.array.ptr[1].via.f64 == (double) 0.1f);
    assert_true (u.data.via.array.ptr[0].via.f64 == -2.5);
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&want);
    zmgr_value_destroy (&v);
    char tc;
    int64_t len;
    assert_int_equal (zmgr_array_info (s_c, "a.f", &tc, &len), 0);
    assert_int_equal (tc, 'f');
    assert_int_equal (zmgr_namespace_list (s_c, "ns.cfg", &v), 0);
    assert_true (s_is (&v, "{\"model\": {\"lr\": 0.01, \"layers\": [64, 32]}, \"seed\": 42}"));
    assert_int_equal (zmgr_list_get (s_c, "p.list", 0, &v), 0);
    assert_true (s_is (&v, "{\"n\": 800}"));
}

static void test_restart (void **state)
{
    (void) state;
    zmgr_value_t *items = kit_value ("[0.1, -2.5]");
    assert_int_equal (zmgr_array_create_from (s_c, "a.f", 'f', items), 0);
    zmgr_value_destroy (&items);
    s_check_state ("the writes");
    /*  SIGTERM: the log is replayed. */
    zmgr_client_destroy (&s_c);
    assert_int_equal (kit_broker_stop (&s_b), 0);
    assert_int_equal (kit_broker_start (&s_b, 10000, true), 0);
    s_connect ();
    s_check_state ("a SIGTERM restart");
    /*  A snapshot, then SIGKILL: the snapshot's records recreate it all. */
    zmgr_value_t *seq = NULL;
    assert_int_equal (zmgr_call (s_c, ZMGR_OP_SAVE, NULL, NULL, 0, 10000, &seq), 0);
    zmgr_value_destroy (&seq);
    zmgr_client_destroy (&s_c);
    kit_broker_kill (&s_b);
    assert_int_equal (kit_broker_start (&s_b, 10000, true), 0);
    s_connect ();
    s_check_state ("a snapshot and a SIGKILL");
    assert_int_equal (kit_broker_log_count (&s_b, "cannot be recovered"), 0);
    /*  Still one array of that typecode and length. */
    assert_int_equal (zmgr_array_create (s_c, "a.f", 'f', 3), ZMGR_EEXISTS);
    assert_int_equal (zmgr_array_create (s_c, "a.f", 'f', 2), 0);
}

/*  The broker's --max-items, given to it from s_group_setup: lowered here
 *  between restarts. */
static char s_max_items[24] = "10000000";

/*  max_items lowered below an array's length, then a restart: the array
 *  is recovered whole (from the log, then from a snapshot) and only new
 *  arrays meet the new limit; the store is not taken for damaged. */
static void test_lowered_limit_restart (void **state)
{
    (void) state;
    assert_int_equal (zmgr_array_create (s_c, "a.long", 'q', 100), 0);
    int64_t sum = 0;
    assert_int_equal (zmgr_array_add_int (s_c, "a.long", 99, 7, &sum), 0);
    zmgr_client_destroy (&s_c);
    kit_broker_kill (&s_b);
    snprintf (s_max_items, sizeof s_max_items, "10");
    int rc = kit_broker_start (&s_b, 10000, true);
    if (rc != 0)
        kit_broker_log_tail (&s_b, 5);
    assert_int_equal (rc, 0);
    s_connect ();
    for (int round = 0; round < 2; round++) {
        int64_t len = 0;
        assert_int_equal (zmgr_array_len (s_c, "a.long", &len), 0);
        assert_int_equal (len, 100);
        zmgr_value_t *v = NULL;
        assert_int_equal (zmgr_array_get (s_c, "a.long", -1, &v), 0);
        assert_true (s_is (&v, "7"));
        assert_int_equal (zmgr_array_create (s_c, "a.new", 'q', 20), ZMGR_ELIMIT);
        if (round == 0) {
            /*  Again from a snapshot. */
            zmgr_value_t *seq = NULL;
            assert_int_equal (zmgr_call (s_c, ZMGR_OP_SAVE, NULL, NULL, 0, 10000, &seq), 0);
            zmgr_value_destroy (&seq);
            zmgr_client_destroy (&s_c);
            kit_broker_kill (&s_b);
            assert_int_equal (kit_broker_start (&s_b, 10000, true), 0);
            s_connect ();
        }
    }
    assert_int_equal (kit_broker_log_count (&s_b, "cannot be recovered"), 0);
}

static int s_group_setup (void **state)
{
    (void) state;
    signal (SIGALRM, s_watchdog);
    alarm (S_WATCHDOG_S);
    static const char *const args[] = { "--workers", "0", "--fsync", "no",
                                        "--max-items", s_max_items, NULL };
    if (kit_broker_init (&s_b, args, NULL) != 0 || kit_broker_start (&s_b, 10000, false) != 0)
        return -1;
    s_c = kit_client (s_b.endpoint, 5000);
    return s_c ? 0 : -1;
}

static int s_group_teardown (void **state)
{
    (void) state;
    zmgr_client_destroy (&s_c);
    kit_children_kill ();
    int rc = kit_broker_stop (&s_b);
    if (rc != 0)
        kit_broker_log_tail (&s_b, 20);
    kit_broker_fini (&s_b);
    return rc == 0 ? 0 : -1;
}

int main (void)
{
    /*  In this order: the restart checks what the others left. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_array_concurrent_add),
        cmocka_unit_test (test_namespace_processes),
        cmocka_unit_test (test_path_concurrent),
        cmocka_unit_test (test_cli),
        cmocka_unit_test (test_restart),
        cmocka_unit_test (test_lowered_limit_restart),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
