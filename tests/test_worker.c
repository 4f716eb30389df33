/*  tests/test_worker.c - the worker runtime without a broker (client/src/worker.c,
 *  client/src/builtins.c)
 *  Jobs run through worker_run_task_for_test, the path the run loop takes
 *  for a job.run notice, minus the sockets. Checks: each builtin with good
 *  and bad arguments, crash in a forked child, chunk jobs (results in
 *  order, first error fails all), exec's output capture, caps, timeout and
 *  start failures (skipped without /bin/sh), the task argument readers and
 *  result rules, function registration limits, module loading errors, and
 *  that zmgr_worker_run returns promptly once stopped with no broker. */
#define _GNU_SOURCE
/*  cmocka.h needs these before it. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../client/src/worker_int.h"
#include "kit.h"
#include "proto.h"
#include "zmgr_module.h"

static int64_t s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- building values ---------------------------------------------------------- */

/*  Values are spelled as the kit's literals (kit.h): "[\"/bin/echo\", \"hi\"]". */

static proto_slice_t s_slice (const zmgr_value_t *v)
{
    size_t len;
    const void *p = zmgr_value_packed (v, &len);
    return (proto_slice_t){p, len};
}

/*  The value stored under key in a map value; fails the test if absent. */
static proto_slice_t s_map_get (const zmgr_value_t *map, const char *key)
{
    size_t n;
    proto_slice_t body, k, v;
    assert_int_equal (proto_read_map (s_slice (map), &n, &body), 0);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s;
        size_t len;
        assert_int_equal (proto_next (&body, &k), 0);
        assert_int_equal (proto_next (&body, &v), 0);
        if (proto_read_str (k, &s, &len, false) == 0 && len == strlen (key) &&
            memcmp (s, key, len) == 0)
            return v;
    }
    fail_msg ("no key %s in the map", key);
    return (proto_slice_t){NULL, 0};
}

static int64_t s_int (proto_slice_t v)
{
    int64_t i;
    assert_int_equal (proto_read_int (v, &i), 0);
    return i;
}

/* ---- running jobs ---------------------------------------------------------------- */

static zmgr_worker_t *s_worker;

static int s_setup (void **state)
{
    (void)state;
    s_worker = zmgr_worker_new ("ipc:///nonexistent/zmgr-test.sock", NULL);
    assert_non_null (s_worker);
    assert_int_equal (zmgr_worker_add_builtins (s_worker, true), 0);
    return 0;
}

static int s_teardown (void **state)
{
    (void)state;
    zmgr_worker_destroy (&s_worker);
    assert_null (s_worker);
    return 0;
}

/*  Runs fn with args (spec); returns the status, *result and *message. */
static int s_run (const char *fn, const char *spec, bool chunk, zmgr_value_t **result,
                  char **message)
{
    zmgr_value_t *args = kit_value (spec);
    int rc = worker_run_task_for_test (s_worker, fn, args, chunk, result, message);
    zmgr_value_destroy (&args);
    if (rc == 0) {
        assert_non_null (*result);
        assert_null (*message);
    } else {
        assert_null (*result);
    }
    return rc;
}

/*  Expects success with a result equal to spec. */
static void s_expect (const char *fn, const char *args, bool chunk, const char *want)
{
    zmgr_value_t *r, *w = kit_value (want);
    char *msg;
    int rc = s_run (fn, args, chunk, &r, &msg);
    if (rc)
        fail_msg ("%s %s failed: %s", fn, args, msg ? msg : "?");
    assert_true (zmgr_value_eq (r, w));
    zmgr_value_destroy (&r);
    zmgr_value_destroy (&w);
}

/*  Expects failure with a message containing part. */
static void s_expect_error (const char *fn, const char *args, bool chunk,
                            const char *part)
{
    zmgr_value_t *r;
    char *msg;
    int rc = s_run (fn, args, chunk, &r, &msg);
    assert_int_equal (rc, ZMGR_EJOBFAILED);
    assert_non_null (msg);
    if (!strstr (msg, part))
        fail_msg ("%s %s: message '%s' lacks '%s'", fn, args, msg, part);
    free (msg);
}

/* ---- builtins ---------------------------------------------------------------------- */

static void test_echo (void **state)
{
    (void)state;
    s_expect ("echo", "[1, \"x\", null, [true, false], {\"k\": 1.5}]", false,
              "[1, \"x\", null, [true, false], {\"k\": 1.5}]");
    s_expect ("echo", "[]", false, "[]");
}

static void test_sum_range (void **state)
{
    (void)state;
    s_expect ("sum_range", "[10]", false, "45");
    s_expect ("sum_range", "[0]", false, "0");
    s_expect ("sum_range", "[1]", false, "0");
    s_expect ("sum_range", "[3000000]", false, "4499998500000");
    s_expect_error ("sum_range", "[-1]", false, "integer n >= 0");
    s_expect_error ("sum_range", "[\"ten\"]", false, "integer n >= 0");
    s_expect_error ("sum_range", "[1.5]", false, "integer n >= 0");
    s_expect_error ("sum_range", "[]", false, "integer n >= 0");
    s_expect_error ("sum_range", "[1, 2]", false, "integer n >= 0");
    /*  n(n-1)/2 passes INT64_MAX from n = 2^32 + 1: refused before looping. */
    int64_t t0 = s_now_ms ();
    s_expect_error ("sum_range", "[4294967297]", false, "overflows int64");
    s_expect_error ("sum_range", "[9223372036854775807]", false, "overflows int64");
    assert_true (s_now_ms () - t0 < 1000);
}

static void test_fail (void **state)
{
    (void)state;
    s_expect_error ("fail", "[\"boom now\"]", false, "boom now");
    s_expect_error ("fail", "[]", false, "failed as asked");
    s_expect_error ("fail", "[1]", false, "fail takes one message string");
    s_expect_error ("fail", "[\"a\", \"b\"]", false, "fail takes one message string");
}

static void test_sleep (void **state)
{
    (void)state;
    int64_t t0 = s_now_ms ();
    s_expect ("sleep", "[0.12]", false, "null");
    int64_t took = s_now_ms () - t0;
    assert_true (took >= 110);
    assert_true (took < 2000);
    s_expect ("sleep", "[0]", false, "null");
    s_expect_error ("sleep", "[-1]", false, "seconds must be");
    s_expect_error ("sleep", "[1e12]", false, "seconds must be");
    s_expect_error ("sleep", "[\"never\"]", false, "one number of seconds");
    s_expect_error ("sleep", "[]", false, "one number of seconds");
}

static void test_crash (void **state)
{
    (void)state;
    fflush (NULL);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        zmgr_value_t *r;
        char *msg;
        s_run ("crash", "[]", false, &r, &msg);
        _exit (0); /* not reached when crash works */
    }
    int st;
    assert_int_equal (waitpid (pid, &st, 0), pid);
    assert_true (WIFSIGNALED (st));
    assert_int_equal (WTERMSIG (st), SIGKILL);
}

static void test_unknown_and_bad_args (void **state)
{
    (void)state;
    s_expect_error ("nosuch", "[]", false, "no such function: nosuch");
    s_expect_error ("echo", "5", false, "args must be an array");
    s_expect_error ("echo", "{\"a\": 1}", false, "args must be an array");
}

/* ---- chunks ------------------------------------------------------------------------ */

static void test_chunk (void **state)
{
    (void)state;
    s_expect ("sum_range", "[[10], [5], [0]]", true, "[45, 10, 0]");
    s_expect ("echo", "[[1, 2], [], [\"x\"]]", true, "[[1, 2], [], [\"x\"]]");
    s_expect ("sum_range", "[]", true, "[]");
    /*  The first failing element fails the job, with its message. */
    s_expect_error ("fail", "[[\"first\"], [\"second\"]]", true, "first");
    s_expect_error ("sum_range", "[[10], [-1], [\"x\"]]", true, "integer n >= 0");
    s_expect_error ("sum_range", "[[10], 5]", true,
                    "chunk element 1 is not an argument array");
    s_expect_error ("nosuch", "[[1]]", true, "no such function");
}

/* ---- exec ---------------------------------------------------------------------------
 */

static bool s_have_sh (void)
{
    return access ("/bin/sh", X_OK) == 0;
}

static void test_exec_capture (void **state)
{
    (void)state;
    if (access ("/bin/echo", X_OK) != 0) {
        skip ();
        return;
    }
    zmgr_value_t *r;
    char *msg;
    assert_int_equal (
        s_run ("exec", "[\"/bin/echo\", \"hello\", \"world\"]", false, &r, &msg), 0);
    assert_int_equal (s_int (s_map_get (r, "status")), 0);
    const uint8_t *s;
    size_t len;
    assert_int_equal (proto_read_str (s_map_get (r, "stdout"), &s, &len, false), 0);
    assert_int_equal (len, 12);
    assert_memory_equal (s, "hello world\n", 12);
    assert_int_equal (proto_read_str (s_map_get (r, "stderr"), &s, &len, false), 0);
    assert_int_equal (len, 0);
    bool b;
    assert_int_equal (proto_read_bool (s_map_get (r, "truncated"), &b), 0);
    assert_false (b);
    assert_int_equal (proto_read_bool (s_map_get (r, "timed_out"), &b), 0);
    assert_false (b);
    zmgr_value_destroy (&r);

    /*  The [argv, options] form, a PATH lookup, stderr and an exit code. */
    if (!s_have_sh ())
        return;
    assert_int_equal (
        s_run ("exec",
               "[[\"sh\", \"-c\", \"echo oops >&2; exit 3\"], {\"timeout_ms\": 5000}]",
               false, &r, &msg),
        0);
    assert_int_equal (s_int (s_map_get (r, "status")), 3);
    assert_int_equal (proto_read_str (s_map_get (r, "stderr"), &s, &len, false), 0);
    assert_int_equal (len, 5);
    assert_memory_equal (s, "oops\n", 5);
    zmgr_value_destroy (&r);

    /*  Killed by a signal: -signal. */
    assert_int_equal (
        s_run ("exec", "[\"/bin/sh\", \"-c\", \"kill -TERM $$\"]", false, &r, &msg), 0);
    assert_int_equal (s_int (s_map_get (r, "status")), -SIGTERM);
    zmgr_value_destroy (&r);
}

static void test_exec_caps (void **state)
{
    (void)state;
    if (!s_have_sh ()) {
        skip ();
        return;
    }
    zmgr_value_t *r;
    char *msg;
    /*  200000 bytes on stdout, 10 on stderr: stdout is cut at 64 KiB. */
    assert_int_equal (s_run ("exec",
                             "[\"/bin/sh\", \"-c\", \"i=0;while test $i -lt 2000;do "
                             "printf %0100d 0;i=$((i+1));done;echo 123456789>&2\"]",
                             false, &r, &msg),
                      0);
    assert_int_equal (s_int (s_map_get (r, "status")), 0);
    const uint8_t *s;
    size_t len;
    assert_int_equal (proto_read_str (s_map_get (r, "stdout"), &s, &len, false), 0);
    assert_int_equal (len, 64 * 1024);
    assert_int_equal (s[0], '0');
    assert_int_equal (proto_read_str (s_map_get (r, "stderr"), &s, &len, false), 0);
    assert_int_equal (len, 10);
    bool b;
    assert_int_equal (proto_read_bool (s_map_get (r, "truncated"), &b), 0);
    assert_true (b);
    zmgr_value_destroy (&r);
}

static void test_exec_timeout (void **state)
{
    (void)state;
    if (!s_have_sh ()) {
        skip ();
        return;
    }
    zmgr_value_t *r;
    char *msg;
    int64_t t0 = s_now_ms ();
    /*  The grandchild (sleep) holds the pipes too: the whole group goes. */
    assert_int_equal (s_run ("exec",
                             "[[\"/bin/sh\", \"-c\", \"echo started; sleep 10; echo "
                             "late\"], {\"timeout_ms\": 200}]",
                             false, &r, &msg),
                      0);
    int64_t took = s_now_ms () - t0;
    assert_true (took >= 190);
    assert_true (took < 3000);
    assert_int_equal (s_int (s_map_get (r, "status")), -SIGKILL);
    bool b;
    assert_int_equal (proto_read_bool (s_map_get (r, "timed_out"), &b), 0);
    assert_true (b);
    const uint8_t *s;
    size_t len;
    assert_int_equal (proto_read_str (s_map_get (r, "stdout"), &s, &len, false), 0);
    assert_int_equal (len, 8);
    assert_memory_equal (s, "started\n", 8);
    zmgr_value_destroy (&r);
}

static void test_exec_errors (void **state)
{
    (void)state;
    s_expect_error ("exec", "[\"/nonexistent/zmgr-no-such-program\"]", false,
                    "cannot run /nonexistent/zmgr-no-such-program");
    s_expect_error ("exec", "[\"zmgr-no-such-program-anywhere\"]", false, "cannot run");
    s_expect_error ("exec", "[]", false, "exec takes an argv");
    s_expect_error ("exec", "[1]", false, "every argv entry must be a string");
    s_expect_error ("exec", "[\"echo\", 1]", false, "every argv entry must be a string");
    s_expect_error ("exec", "[[]]", false, "argv is empty");
    s_expect_error ("exec", "[[\"echo\"], {\"bogus\": 1}]", false, "unknown option");
    s_expect_error ("exec", "[[\"echo\"], {\"timeout_ms\": -5}]", false,
                    "timeout_ms must be");
    s_expect_error ("exec", "[[\"echo\"], 5]", false, "options map");
    s_expect_error ("exec", "[[\"echo\"], {}, 1]", false, "no more arguments");

    /*  Without with_exec there is no exec. */
    zmgr_worker_t *w = zmgr_worker_new (NULL, NULL);
    assert_non_null (w);
    assert_int_equal (zmgr_worker_add_builtins (w, false), 0);
    zmgr_value_t *args = kit_value ("[\"/bin/echo\"]"), *r;
    char *msg;
    assert_int_equal (worker_run_task_for_test (w, "exec", args, false, &r, &msg),
                      ZMGR_EJOBFAILED);
    assert_string_equal (msg, "no such function: exec");
    free (msg);
    zmgr_value_destroy (&args);
    /*  Builtins twice: the names are taken. */
    assert_int_equal (zmgr_worker_add_builtins (w, false), ZMGR_EEXISTS);
    zmgr_worker_destroy (&w);
}

/* ---- the task API ------------------------------------------------------------------ */

/*  Checks the argument readers on [42, "str", 2.5, nil]; the result rules
 *  are driven by the user pointer: 0 sets nothing, 1 error then result,
 *  2 result then error, 3 a long error. */
static int s_probe_failures;

static void s_probe (zmgr_task_t *task, void *user)
{
    int mode = *(int *)user;
#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf (stderr, "probe: %s failed\n", #cond);                               \
            s_probe_failures++;                                                          \
        }                                                                                \
    } while (0)
    int64_t i;
    double d;
    char *s = NULL;
    CHECK (zmgr_task_argc (task) == 4);
    CHECK (zmgr_task_id (task) == 0);
    CHECK (!zmgr_task_cancelled (task));
    zmgr_task_progress (task, 1, 2); /* no broker: nothing happens */
    CHECK (zmgr_task_arg_int (task, 0, &i) == 0 && i == 42);
    CHECK (zmgr_task_arg_double (task, 0, &d) == 0 && d == 42.0);
    CHECK (zmgr_task_arg_double (task, 2, &d) == 0 && d == 2.5);
    CHECK (zmgr_task_arg_int (task, 2, &i) == ZMGR_ETYPE && i == 0);
    CHECK (zmgr_task_arg_int (task, 1, &i) == ZMGR_ETYPE);
    CHECK (zmgr_task_arg_int (task, 4, &i) == ZMGR_EINDEX);
    CHECK (zmgr_task_arg_str (task, 1, &s) == 0 && s && strcmp (s, "str") == 0);
    free (s);
    CHECK (zmgr_task_arg_str (task, 0, &s) == ZMGR_ETYPE && s == NULL);
    CHECK (zmgr_task_arg_str (task, 9, &s) == ZMGR_EINDEX && s == NULL);
    zmgr_value_t *v = zmgr_task_arg (task, 3);
    CHECK (v && zmgr_value_kind (v) == ZMGR_VAL_NIL);
    zmgr_value_destroy (&v);
    CHECK (zmgr_task_arg (task, 4) == NULL);
    CHECK (zmgr_value_kind (zmgr_task_args (task)) == ZMGR_VAL_ARRAY);
#undef CHECK
    if (mode == 1) {
        zmgr_task_error (task, "first %d", 1);
        zmgr_task_result_str (task, "then a result");
    } else if (mode == 2) {
        zmgr_task_result_double (task, 1.5);
        zmgr_task_error (task, "then an error");
    } else if (mode == 3) {
        char big[10000];
        memset (big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        zmgr_task_error (task, "%s", big);
    } else if (mode == 4)
        zmgr_task_result (task, NULL); /* nil */
}

static void test_task_api (void **state)
{
    (void)state;
    static int modes[5] = {0, 1, 2, 3, 4};
    zmgr_worker_t *w = zmgr_worker_new (NULL, NULL);
    assert_non_null (w);
    char name[16];
    for (int m = 0; m < 5; m++) {
        snprintf (name, sizeof name, "probe%d", m);
        assert_int_equal (zmgr_worker_add (w, name, s_probe, &modes[m]), 0);
    }
    zmgr_value_t *args = kit_value ("[42, \"str\", 2.5, null]"), *r,
                 *nil = kit_value ("null");
    char *msg;
    assert_int_equal (worker_run_task_for_test (w, "probe0", args, false, &r, &msg), 0);
    assert_true (zmgr_value_eq (r, nil)); /* nothing set: nil */
    zmgr_value_destroy (&r);
    assert_int_equal (worker_run_task_for_test (w, "probe1", args, false, &r, &msg), 0);
    zmgr_value_t *want = kit_value ("\"then a result\"");
    assert_true (zmgr_value_eq (r, want));
    zmgr_value_destroy (&want);
    zmgr_value_destroy (&r);
    assert_int_equal (worker_run_task_for_test (w, "probe2", args, false, &r, &msg),
                      ZMGR_EJOBFAILED);
    assert_string_equal (msg, "then an error");
    free (msg);
    assert_int_equal (worker_run_task_for_test (w, "probe3", args, false, &r, &msg),
                      ZMGR_EJOBFAILED);
    assert_true (strlen (msg) < 5000 && strlen (msg) > 1000); /* capped */
    free (msg);
    assert_int_equal (worker_run_task_for_test (w, "probe4", args, false, &r, &msg), 0);
    assert_true (zmgr_value_eq (r, nil));
    zmgr_value_destroy (&r);
    assert_int_equal (s_probe_failures, 0);
    zmgr_value_destroy (&args);
    zmgr_value_destroy (&nil);
    zmgr_worker_destroy (&w);
}

static void test_add (void **state)
{
    (void)state;
    zmgr_worker_t *w = zmgr_worker_new (NULL, NULL);
    assert_non_null (w);
    char name[80];
    memset (name, 'a', sizeof name);
    name[64] = '\0';
    assert_int_equal (zmgr_worker_add (w, name, s_probe, NULL), 0); /* 64 bytes */
    name[64] = 'a';
    name[65] = '\0';
    assert_int_equal (zmgr_worker_add (w, name, s_probe, NULL), ZMGR_EINVAL);
    assert_int_equal (zmgr_worker_add (w, "", s_probe, NULL), ZMGR_EINVAL);
    assert_int_equal (zmgr_worker_add (w, NULL, s_probe, NULL), ZMGR_EINVAL);
    assert_int_equal (zmgr_worker_add (w, "f", NULL, NULL), ZMGR_EINVAL);
    assert_int_equal (zmgr_worker_add (w, "f", s_probe, NULL), 0);
    assert_int_equal (zmgr_worker_add (w, "f", s_probe, NULL), ZMGR_EEXISTS);
    assert_non_null (strstr (zmgr_worker_errmsg (w), "already registered"));
    assert_int_equal (zmgr_worker_add (NULL, "g", s_probe, NULL), ZMGR_EINVAL);
    assert_int_equal (zmgr_worker_jobs_done (w), 0);
    zmgr_worker_destroy (&w);
    zmgr_worker_destroy (&w); /* safe twice */
    zmgr_worker_destroy (NULL);
}

/* ---- modules -------------------------------------------------------------------------
 */

static void test_load_errors (void **state)
{
    (void)state;
    zmgr_worker_t *w = zmgr_worker_new (NULL, NULL);
    assert_non_null (w);
    assert_int_equal (zmgr_worker_load (w, "/nonexistent/zmgr-module.so"), ZMGR_EINVAL);
    assert_non_null (
        strstr (zmgr_worker_errmsg (w), "cannot load /nonexistent/zmgr-module.so: "));

    /*  A file that is no shared object. */
    char path[] = "/tmp/zmgr-test-module-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, "not an ELF file\n", 16), 16);
    close (fd);
    assert_int_equal (zmgr_worker_load (w, path), ZMGR_EINVAL);
    assert_non_null (strstr (zmgr_worker_errmsg (w), "cannot load "));
    unlink (path);

    /*  A shared object that is no module. */
    assert_int_equal (zmgr_worker_load (w, "libm.so.6"), ZMGR_EINVAL);
    assert_non_null (
        strstr (zmgr_worker_errmsg (w), "libm.so.6 has no zmgr_module_init"));
    assert_int_equal (zmgr_worker_load (w, ""), ZMGR_EINVAL);
    assert_int_equal (zmgr_worker_load (w, NULL), ZMGR_EINVAL);
    zmgr_worker_destroy (&w);
}

/*  The example module (examples/modules/double.c), when it is found
 *  ($ZMGR_EXAMPLE_MODULE, else ../examples/double.so next to this test)
 *  and this executable exports libzmgr's symbols for it (ENABLE_EXPORTS). */
static void test_load_example (void **state)
{
    (void)state;
    char path[PATH_MAX];
    const char *env = getenv ("ZMGR_EXAMPLE_MODULE");
    if (env)
        snprintf (path, sizeof path, "%s", env);
    else {
        char self[PATH_MAX];
        ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) {
            skip ();
            return;
        }
        self[n] = '\0';
        char *slash = strrchr (self, '/');
        *slash = '\0';
        snprintf (path, sizeof path, "%.3000s/../examples/double.so", self);
    }
    if (access (path, R_OK) != 0) {
        skip ();
        return;
    }
    zmgr_worker_t *w = zmgr_worker_new (NULL, NULL);
    assert_non_null (w);
    int rc = zmgr_worker_load (w, path);
    if (rc != 0 && strstr (zmgr_worker_errmsg (w), "undefined symbol")) {
        zmgr_worker_destroy (&w);
        skip (); /* this executable does not export libzmgr's symbols */
        return;
    }
    assert_int_equal (rc, 0);
    zmgr_value_t *args = kit_value ("[21]"), *r, *want = kit_value ("42");
    char *msg;
    assert_int_equal (worker_run_task_for_test (w, "double", args, false, &r, &msg), 0);
    assert_true (zmgr_value_eq (r, want));
    zmgr_value_destroy (&r);
    zmgr_value_destroy (&args);
    zmgr_value_destroy (&want);
    /*  Twice: its init's zmgr_worker_add finds the name taken and refuses. */
    assert_int_equal (zmgr_worker_load (w, path), ZMGR_EINVAL);
    assert_non_null (strstr (zmgr_worker_errmsg (w), "refused to load (returned -19"));
    zmgr_worker_destroy (&w);
}

/* ---- the run loop without a broker
 * ----------------------------------------------------- */

static zmgr_worker_t *s_alarm_worker;

static void s_on_alarm (int sig)
{
    (void)sig;
    zmgr_worker_stop (s_alarm_worker);
}

static void test_run_stops (void **state)
{
    (void)state;
    zmgr_worker_t *w = zmgr_worker_new ("ipc:///nonexistent/zmgr-test.sock", NULL);
    assert_non_null (w);
    assert_int_equal (zmgr_worker_run (w), ZMGR_EINVAL); /* no functions */
    assert_int_equal (zmgr_worker_add_builtins (w, false), 0);
    /*  Stopped before it starts: returns at once. */
    zmgr_worker_stop (w);
    int64_t t0 = s_now_ms ();
    assert_int_equal (zmgr_worker_run (w), 0);
    assert_true (s_now_ms () - t0 < 500);
    /*  Waiting for a broker that never comes, stopped from a signal
     *  handler: returns within a nap slice or so. */
    s_alarm_worker = w;
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_alarm;
    sigaction (SIGALRM, &sa, NULL);
    t0 = s_now_ms ();
    alarm (1);
    assert_int_equal (zmgr_worker_run (w), 0);
    int64_t took = s_now_ms () - t0;
    assert_true (took >= 900);
    assert_true (took < 2500);
    signal (SIGALRM, SIG_DFL);
    zmgr_worker_destroy (&w);
    /*  A bad endpoint is an error, not a wait. */
    w = zmgr_worker_new ("bogus://x", NULL);
    assert_int_equal (zmgr_worker_add_builtins (w, false), 0);
    assert_int_equal (zmgr_worker_run (w), ZMGR_EINVAL);
    assert_non_null (strstr (zmgr_worker_errmsg (w), "cannot connect"));
    zmgr_worker_destroy (&w);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_echo),
        cmocka_unit_test (test_sum_range),
        cmocka_unit_test (test_fail),
        cmocka_unit_test (test_sleep),
        cmocka_unit_test (test_crash),
        cmocka_unit_test (test_unknown_and_bad_args),
        cmocka_unit_test (test_chunk),
        cmocka_unit_test (test_exec_capture),
        cmocka_unit_test (test_exec_caps),
        cmocka_unit_test (test_exec_timeout),
        cmocka_unit_test (test_exec_errors),
        cmocka_unit_test (test_task_api),
        cmocka_unit_test (test_add),
        cmocka_unit_test (test_load_errors),
        cmocka_unit_test (test_load_example),
        cmocka_unit_test (test_run_stops),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
