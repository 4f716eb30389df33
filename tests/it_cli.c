/*  tests/it_cli.c - the zmgr command-line client against a real zmgrd
 *  Each test starts its own broker (tests/kit.c), runs the CLI as a child
 *  process and checks what it printed and its exit code, the contract
 *  scripts rely on (client/cli/CLI.md). Every run is bounded by kit_run's
 *  timeout, so a hung CLI fails the test instead of stalling ctest. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys.h"
#include "kit.h"

/*  Exit codes from CLI.md. */
enum {
    EX_OK = 0,
    EX_USAGE = 2,
    EX_EMPTY = 3,
    EX_FULL = 4,
    EX_TIMEOUT = 5,
    EX_NOTFOUND = 6,
    EX_INDEX = 7,
    EX_WRONGTYPE = 8,
    EX_UNREACHABLE = 9,
    EX_NOTOWNER = 10,
    EX_JOBFAILED = 11,
    EX_DISABLED = 12,
    EX_PERM = 13
};

#define RUN_TIMEOUT_MS 10000 /* no single CLI run may take longer */

typedef struct {
    int rc;          /* exit code (128+sig if killed) */
    long long ms;    /* how long it ran */
    char out[16384]; /* stdout */
    char err[4096];  /* stderr */
} run_t;

static kit_daemon_t s_daemon;
static run_t s_run; /* last run; static, it is too big for a test's stack */

/*  Runs the CLI with a NULL-terminated argument list, stdin from input
 *  (NULL: empty). */
static run_t *s_cli_v (const char *input, const char *first, va_list ap)
{
    const char *argv[40];
    size_t n = 0;
    argv[n++] = kit_cli_path ();
    for (const char *a = first; a && n < 39; a = va_arg (ap, const char *))
        argv[n++] = a;
    argv[n] = NULL;
    long long t0 = kit_now_ms ();
    s_run.rc = kit_run (argv, input, s_run.out, sizeof s_run.out, s_run.err,
                        sizeof s_run.err, RUN_TIMEOUT_MS);
    s_run.ms = kit_now_ms () - t0;
    return &s_run;
}

static run_t *s_cli (const char *first, ...)
{
    va_list ap;
    va_start (ap, first);
    run_t *r = s_cli_v (NULL, first, ap);
    va_end (ap);
    return r;
}

static run_t *s_cli_in (const char *input, const char *first, ...)
{
    va_list ap;
    va_start (ap, first);
    run_t *r = s_cli_v (input, first, ap);
    va_end (ap);
    return r;
}

/*  Runs the CLI and checks its exit code and, unless out is NULL, its
 *  whole stdout; on a mismatch says which line asked and what stderr had. */
static void s_expect (int line, int code, const char *out, const char *first, ...)
{
    va_list ap;
    va_start (ap, first);
    run_t *r = s_cli_v (NULL, first, ap);
    va_end (ap);
    if (r->rc != code || (out && strcmp (r->out, out) != 0))
        print_error ("line %d: zmgr %s ...: exit %d (want %d)\n"
                     "stdout: %s\nstderr: %s\n",
                     line, first ? first : "", r->rc, code, r->out, r->err);
    assert_int_equal (r->rc, code);
    if (out)
        assert_string_equal (r->out, out);
}

#define EXPECT(code, out, ...)                                                           \
    s_expect (__LINE__, code, out, __VA_ARGS__, (const char *)NULL)
#define CLI(...) s_cli (__VA_ARGS__, (const char *)NULL)
#define CLI_IN(input, ...) s_cli_in (input, __VA_ARGS__, (const char *)NULL)

/*  The object tests need no workers, and a broker with local workers
 *  takes longer to start and stop. */
static const char *const s_no_workers[] = {"--workers", "0", NULL};

static int s_setup (void **state)
{
    (void)state;
    return kit_daemon_start (&s_daemon, s_no_workers) == 0 ? 0 : -1;
}

static pid_t s_bg;        /* background CLI of a test, 0 if none */
static char s_bg_err[64]; /* file holding its stderr, "" if none */

static int s_teardown (void **state)
{
    (void)state;
    if (s_bg > 0) {
        kill (s_bg, SIGKILL);
        waitpid (s_bg, NULL, 0);
        s_bg = 0;
    }
    if (s_bg_err[0]) {
        unlink (s_bg_err);
        s_bg_err[0] = '\0';
    }
    assert_true (kit_daemon_alive (&s_daemon));
    assert_int_equal (kit_daemon_fini (&s_daemon), 0);
    return 0;
}

static void test_list (void **state)
{
    (void)state;
    EXPECT (EX_OK, "", "list", "append", "log", "a");
    EXPECT (EX_OK, "", "list", "append", "log", "2");
    EXPECT (EX_OK, "", "list", "append", "log", "{\"k\":[1]}");
    EXPECT (EX_OK, "3\n", "list", "len", "log");
    EXPECT (EX_OK, "{\"k\":[1]}\n", "list", "get", "log", "-1");
    EXPECT (EX_OK, "\"a\"\n", "list", "get", "log", "0");
    /* Python slices: stop -1 excludes the last item, no stop = to the end */
    EXPECT (EX_OK, "[\"a\",2]\n", "list", "slice", "log", "0", "-1");
    EXPECT (EX_OK, "[2,{\"k\":[1]}]\n", "list", "slice", "log", "1");
    EXPECT (EX_OK, "1\n", "list", "index", "log", "2");
    EXPECT (EX_OK, "1\n", "list", "count", "log", "a");
    EXPECT (EX_INDEX, "", "list", "get", "log", "3");
    EXPECT (EX_INDEX, "", "list", "get", "log", "-4");
    EXPECT (EX_INDEX, "", "list", "remove", "log", "zzz");
    EXPECT (EX_OK, "{\"k\":[1]}\n", "list", "pop", "log");
    EXPECT (EX_OK, "\"a\"\n", "list", "pop", "log", "0");
    EXPECT (EX_OK, "[2]\n", "list", "slice", "log", "0");
    EXPECT (EX_OK, "", "list", "extend", "log", "[3,4]");
    EXPECT (EX_OK, "", "list", "insert", "log", "0", "first");
    EXPECT (EX_OK, "", "list", "set", "log", "-1", "last");
    EXPECT (EX_OK, "[\"first\",2,3,\"last\"]\n", "list", "slice", "log", "0");
    EXPECT (EX_OK, "", "list", "clear", "log");
    EXPECT (EX_OK, "0\n", "list", "len", "log");
    EXPECT (EX_INDEX, "", "list", "pop", "log");
}

static void test_dict (void **state)
{
    (void)state;
    /* a plain word is a string, JSON is JSON: apple -> 3 (an int) */
    EXPECT (EX_OK, "", "dict", "set", "counts", "apple", "3");
    EXPECT (EX_OK, "3\n", "dict", "get", "counts", "apple");
    EXPECT (EX_OK, "5\n", "dict", "add", "counts", "apple", "2");
    EXPECT (EX_OK, "5\n", "dict", "get", "counts", "apple");
    EXPECT (EX_OK, "{\"apple\":5}\n", "dict", "items", "counts");
    EXPECT (EX_OK, "[\"apple\"]\n", "dict", "keys", "counts");
    EXPECT (EX_OK, "true\n", "dict", "contains", "counts", "apple");
    EXPECT (EX_OK, "false\n", "dict", "contains", "counts", "pear");
    EXPECT (EX_NOTFOUND, "", "dict", "get", "counts", "pear");
    assert_non_null (strstr (s_run.err, "zmgr: dict get counts: "));
    EXPECT (EX_OK, "0\n", "dict", "get", "counts", "pear", "--default", "0");
    EXPECT (EX_OK, "1.5\n", "dict", "add", "counts", "pear", "1.5");
    EXPECT (EX_OK, "2\n", "dict", "len", "counts");
    EXPECT (EX_OK, "1.5\n", "dict", "pop", "counts", "pear");
    EXPECT (EX_NOTFOUND, "", "dict", "pop", "counts", "pear");
    EXPECT (EX_NOTFOUND, "", "dict", "delete", "counts", "pear");
    /* '"3"' is the string "3", 3 the integer: two different keys */
    EXPECT (EX_OK, "", "dict", "set", "d", "\"3\"", "str");
    EXPECT (EX_OK, "", "dict", "set", "d", "3", "int");
    EXPECT (EX_OK, "\"str\"\n", "dict", "get", "d", "\"3\"");
    EXPECT (EX_OK, "\"int\"\n", "dict", "get", "d", "3");
    EXPECT (EX_OK, "", "dict", "delete", "d", "\"3\"");
    /* a non-string key: items print as pairs */
    EXPECT (EX_OK, "[[3,\"int\"]]\n", "dict", "items", "d");
    EXPECT (EX_OK, "", "dict", "clear", "d");
    EXPECT (EX_OK, "", "dict", "update", "d", "{\"x\":[1,2]}");
    EXPECT (EX_OK, "[1,2]\n", "dict", "setdefault", "d", "x", "0");
    EXPECT (EX_OK, "0\n", "dict", "setdefault", "d", "y", "0");
    EXPECT (EX_USAGE, "", "dict", "update", "d", "[1]");
}

static void test_queue (void **state)
{
    (void)state;
    EXPECT (EX_OK, "", "queue", "put", "jobs", "{\"id\":1}", "--timeout", "5");
    EXPECT (EX_OK, "", "queue", "put", "jobs", "two");
    EXPECT (EX_OK, "2\n", "queue", "qsize", "jobs");
    EXPECT (EX_OK, "false\n", "queue", "empty", "jobs");
    EXPECT (EX_OK, "{\"id\":1}\n", "queue", "get", "jobs", "--timeout", "5");
    /* options may also come first */
    EXPECT (EX_OK, "two\n", "--raw", "--timeout", "5", "queue", "get", "jobs");
    EXPECT (EX_OK, "true\n", "queue", "empty", "jobs");
    EXPECT (EX_EMPTY, "", "queue", "get", "jobs", "--nowait");
    assert_true (s_run.ms < 5000);
    EXPECT (EX_EMPTY, "", "queue", "get", "jobs", "--timeout", "0.2");
    assert_true (s_run.ms >= 150);
    assert_true (s_run.ms < 5000);
    EXPECT (EX_USAGE, "", "queue", "get", "jobs", "--timeout", "-1");
    EXPECT (EX_USAGE, "", "queue", "get", "jobs", "--nowait", "--timeout", "1");
}

static void test_queue_full (void **state)
{
    (void)state;
    EXPECT (EX_OK, "", "queue", "create", "small", "--maxsize", "1");
    EXPECT (EX_OK, "false\n", "queue", "full", "small");
    EXPECT (EX_OK, "", "queue", "put", "small", "1", "--nowait");
    EXPECT (EX_FULL, "", "queue", "put", "small", "2", "--nowait");
    EXPECT (EX_OK, "true\n", "queue", "full", "small");
    EXPECT (EX_FULL, "", "queue", "put", "small", "2", "--timeout", "0.1");
    EXPECT (EX_OK, "1\n", "queue", "get", "small", "--nowait");
}

static void test_queue_join (void **state)
{
    (void)state;
    EXPECT (EX_OK, "", "queue", "put", "work", "1");
    EXPECT (EX_TIMEOUT, "", "queue", "join", "work", "--timeout", "0.1");
    EXPECT (EX_OK, "1\n", "queue", "get", "work", "--nowait");
    EXPECT (EX_OK, "", "queue", "task_done", "work");
    EXPECT (EX_OK, "", "queue", "join", "work", "--timeout", "5");
    EXPECT (EX_INDEX, "", "queue", "task_done", "work");
}

static void test_value (void **state)
{
    (void)state;
    EXPECT (EX_NOTFOUND, "", "value", "get", "hits");
    EXPECT (EX_OK, "1\n", "value", "add", "hits", "1");
    EXPECT (EX_OK, "6\n", "value", "add", "hits", "5");
    EXPECT (EX_OK, "4\n", "value", "add", "hits", "-2");
    EXPECT (EX_OK, "4.5\n", "value", "add", "hits", "0.5");
    EXPECT (EX_OK, "4.5\n", "value", "get", "hits");
    EXPECT (EX_USAGE, "", "value", "add", "hits", "lots");
    EXPECT (EX_OK, "", "value", "set", "state", "idle");
    EXPECT (EX_OK, "{\"swapped\":true,\"value\":\"busy\"}\n", "value", "cas", "state",
            "idle", "busy");
    EXPECT (EX_OK, "{\"swapped\":false,\"value\":\"busy\"}\n", "value", "cas", "state",
            "idle", "done");
    EXPECT (EX_OK, "{\"swapped\":true,\"value\":1}\n", "value", "cas", "fresh",
            "--absent", "1");
    EXPECT (EX_OK, "{\"swapped\":false,\"value\":1}\n", "value", "cas", "fresh",
            "--absent", "2");
}

static void test_raw (void **state)
{
    (void)state;
    EXPECT (EX_OK, "", "value", "set", "greeting", "hello world");
    EXPECT (EX_OK, "\"hello world\"\n", "value", "get", "greeting");
    EXPECT (EX_OK, "hello world\n", "value", "get", "greeting", "--raw");
    /* --raw only changes strings */
    EXPECT (EX_OK, "", "value", "set", "n", "[1]");
    EXPECT (EX_OK, "[1]\n", "--raw", "value", "get", "n");
    EXPECT (EX_OK, "", "value", "set", "q", "say \"hi\"\n");
    EXPECT (EX_OK, "\"say \\\"hi\\\"\\n\"\n", "value", "get", "q");
    EXPECT (EX_OK, "say \"hi\"\n\n", "value", "get", "q", "--raw");
}

static void test_json_roundtrip (void **state)
{
    (void)state;
    /* nested object with array, float, null, bool, unicode, empty ones */
    const char *doc = "{\"a\":[1,2.5,null,true,-7,0.1,1e+100,-0.0],"
                      "\"s\":\"h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80\","
                      "\"o\":{\"deep\":{\"x\":[]}},\"e\":{},\"big\":"
                      "9223372036854775807,\"neg\":-9223372036854775808}";
    char want[1024];
    snprintf (want, sizeof want, "%s\n", doc);
    EXPECT (EX_OK, "", "value", "set", "doc", doc);
    EXPECT (EX_OK, want, "value", "get", "doc");
    /* escapes in, UTF-8 out */
    EXPECT (EX_OK, "", "value", "set", "u", "\"\\u00e9\\t\"");
    EXPECT (EX_OK, "\"\xc3\xa9\\t\"\n", "value", "get", "u");
    /* binary */
    EXPECT (EX_OK, "", "value", "set", "bin", "{\"$bin\":\"AAEC/w==\"}");
    EXPECT (EX_OK, "{\"$bin\":\"AAEC/w==\"}\n", "value", "get", "bin");
    /* a uint over INT64_MAX as a top-level argument */
    EXPECT (EX_OK, "", "value", "set", "u64", "18446744073709551615");
    EXPECT (EX_OK, "18446744073709551615\n", "value", "get", "u64");
    /* words that are not JSON are strings; broken JSON is an error */
    EXPECT (EX_OK, "", "value", "set", "w", "1.2.3");
    EXPECT (EX_OK, "\"1.2.3\"\n", "value", "get", "w");
    EXPECT (EX_USAGE, "", "value", "set", "w", "{\"a\":");
    EXPECT (EX_USAGE, "", "value", "set", "w", "[1,2");
}

static void test_wrong_type (void **state)
{
    (void)state;
    EXPECT (EX_OK, "", "list", "append", "L", "1");
    EXPECT (EX_WRONGTYPE, "", "dict", "get", "L", "k");
    EXPECT (EX_WRONGTYPE, "", "queue", "get", "L", "--nowait");
    EXPECT (EX_OK, "\"list\"\n", "type", "L");
    EXPECT (EX_OK, "list\n", "type", "L", "--raw");
}

static void test_admin (void **state)
{
    (void)state;
    EXPECT (EX_OK, "", "list", "append", "app.log", "x");
    EXPECT (EX_OK, "", "dict", "set", "app.cfg", "k", "v");
    EXPECT (EX_OK, "", "value", "set", "other", "1");
    EXPECT (EX_OK, "true\n", "exists", "app.log");
    EXPECT (EX_OK, "false\n", "exists", "nope");
    EXPECT (EX_NOTFOUND, "", "type", "nope");
    run_t *r = CLI ("objects", "app.");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "app.log list\n"));
    assert_non_null (strstr (r->out, "app.cfg dict\n"));
    assert_null (strstr (r->out, "other"));
    EXPECT (EX_OK, "", "delete", "app.log");
    EXPECT (EX_OK, "false\n", "exists", "app.log");
    r = CLI ("ping");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "\"rtt_ms\":"));
    r = CLI ("stats");
    assert_int_equal (r->rc, EX_OK);
    assert_int_equal (r->out[0], '{');
    r = CLI ("version");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "zmgr "));
}

static void test_pipe (void **state)
{
    (void)state;
    EXPECT (EX_OK, "", "pipe", "send", "p", "0", "[\"hi\"]");
    EXPECT (EX_OK, "[\"hi\"]\n", "pipe", "recv", "p", "1", "--timeout", "5");
    EXPECT (EX_TIMEOUT, "", "pipe", "recv", "p", "1", "--timeout", "0.1");
    EXPECT (EX_USAGE, "", "pipe", "send", "p", "2", "x");
}

static void test_usage (void **state)
{
    (void)state;
    EXPECT (EX_USAGE, "", NULL);
    EXPECT (EX_USAGE, "", "frobnicate");
    EXPECT (EX_USAGE, "", "list");
    EXPECT (EX_USAGE, "", "list", "frob", "x");
    EXPECT (EX_USAGE, "", "list", "append", "log");
    EXPECT (EX_USAGE, "", "list", "append", "log", "1", "2");
    EXPECT (EX_USAGE, "", "list", "get", "log", "first");
    EXPECT (EX_USAGE, "", "list", "extend", "log", "3");
    EXPECT (EX_USAGE, "", "list", "len", "log", "--bogus");
    EXPECT (EX_USAGE, "", "list", "len", "log", "--maxsize", "3");
    EXPECT (EX_USAGE, "", "queue", "get", "q", "--timeout");
    EXPECT (EX_USAGE, "", "queue", "get", "q", "--timeout", "soon");
    EXPECT (EX_USAGE, "", "lock", "run", "L");
    assert_non_null (strstr (s_run.err, "usage:"));
    EXPECT (EX_USAGE, "", "value", "cas", "v", "1");
    /* usage errors need no broker */
    EXPECT (EX_USAGE, "", "-e", "ipc:///nonexistent/zmgr.sock", "list", "append");
}

static void test_help (void **state)
{
    (void)state;
    run_t *r = CLI ("--help");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "usage: zmgr"));
    assert_non_null (strstr (r->out, "Exit status"));
    r = CLI ("-h");
    assert_int_equal (r->rc, EX_OK);
    r = CLI ("list", "--help");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "list slice"));
    r = CLI ("list", "append", "--help");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "usage: zmgr [OPTIONS] list append"));
    r = CLI ("lock", "run", "-h");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "flock"));
    r = CLI ("nosuchtype", "--help");
    assert_int_equal (r->rc, EX_USAGE);
}

/*  A blocking op's --timeout bounds the whole call, connecting included:
 *  with the broker SIGSTOPped, queue get --timeout 1 took the library's
 *  default 5 s to give up. */
static void test_timeout_covers_connect (void **state)
{
    (void)state;
    assert_int_equal (kill (s_daemon.pid, SIGSTOP), 0);
    EXPECT (EX_UNREACHABLE, "", "queue", "get", "cli.stopped", "--timeout", "1");
    long long took = s_run.ms;
    assert_int_equal (kill (s_daemon.pid, SIGCONT), 0);
    fprintf (stderr, "  queue get --timeout 1 on a stopped broker: %lld ms\n", took);
    assert_true (took < 2500);
    /*  and once it runs again, the same call times out in its second */
    EXPECT (EX_EMPTY, "", "queue", "get", "cli.stopped", "--timeout", "1");
    assert_true (s_run.ms >= 900 && s_run.ms < 2500);
}

static void test_unreachable (void **state)
{
    (void)state;
    char ep[512];
    snprintf (ep, sizeof ep, "ipc://%s/nobody-here.sock", s_daemon.dir);
    /* -e wins over $ZMGR_ENDPOINT, which names the live broker; a missing
     * socket file is known at once, no need to wait out a timeout */
    EXPECT (EX_UNREACHABLE, "", "-e", ep, "list", "len", "x");
    assert_true (s_run.ms < 3000);
    assert_non_null (strstr (s_run.err, "zmgr: connect ipc://"));
    EXPECT (EX_UNREACHABLE, "", "--endpoint", ep, "ping", "--timeout", "0.5");
    assert_true (s_run.ms < 3000);
    /* a blocking op on a dead broker does not hang either */
    EXPECT (EX_UNREACHABLE, "", "-e", ep, "queue", "get", "q");
    assert_true (s_run.ms < 3000);
    /* nothing listening on a TCP port: bounded by --timeout */
    EXPECT (EX_UNREACHABLE, "", "-e", "tcp://127.0.0.1:1", "ping", "--timeout", "0.3");
    assert_true (s_run.ms < 3000);
}

static void test_lock_run_exit_code (void **state)
{
    (void)state;
    EXPECT (3, "", "lock", "run", "L", "--", "/bin/sh", "-c", "exit 3");
    EXPECT (EX_OK, "false\n", "lock", "locked", "L");
    /* the command's own options are not ours, even without -- */
    EXPECT (EX_OK, "hi --help\n", "lock", "run", "L", "echo", "hi", "--help");
    EXPECT (127, "", "lock", "run", "L", "--", "/nonexistent/cmd");
    EXPECT (EX_OK, "false\n", "lock", "locked", "L");
    EXPECT (EX_NOTOWNER, "", "lock", "release", "L");
}

/*  Starts the CLI in the background with a NULL-terminated argument list,
 *  stdout discarded, stderr to a temp file (s_bg_err); the pid is kept in
 *  s_bg so that teardown can kill it if the test fails first. */
static pid_t s_start_bg (const char *first, ...)
{
    const char *argv[16];
    size_t n = 0;
    argv[n++] = kit_cli_path ();
    va_list ap;
    va_start (ap, first);
    for (const char *a = first; a && n < 15; a = va_arg (ap, const char *))
        argv[n++] = a;
    va_end (ap);
    argv[n] = NULL;
    snprintf (s_bg_err, sizeof s_bg_err, "/tmp/zmgr-it-cli-XXXXXX");
    int err = mkstemp (s_bg_err);
    assert_true (err >= 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        /* no cmocka, no atexit hooks here: exec or _exit */
        int null = open ("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2 (null, 1);
        dup2 (err, 2);
        execv (argv[0], (char *const *)argv);
        _exit (127);
    }
    close (err);
    s_bg = pid;
    return pid;
}

#define START_BG(...) s_start_bg (__VA_ARGS__, (const char *)NULL)

/*  Waits up to 5 s for lock name to be held (it does not exist until the
 *  background run creates it: exit 6 until then). */
static void s_wait_locked (const char *name)
{
    long long deadline = kit_now_ms () + 5000;
    for (;;) {
        run_t *r = CLI ("lock", "locked", name);
        assert_true (r->rc == EX_OK || r->rc == EX_NOTFOUND);
        if (r->rc == EX_OK && strcmp (r->out, "true\n") == 0)
            return;
        assert_true (kit_now_ms () < deadline);
        usleep (20 * 1000);
    }
}

/*  Waits up to ms for the background run to exit and checks that it
 *  exited with code; shows its stderr if not. */
static void s_wait_bg (int ms, int code)
{
    int st = 0;
    long long deadline = kit_now_ms () + ms;
    pid_t r;
    while ((r = waitpid (s_bg, &st, WNOHANG)) == 0 && kit_now_ms () < deadline)
        usleep (10 * 1000);
    assert_int_equal (r, s_bg);
    s_bg = 0;
    int got = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
    if (got != code) {
        char err[1024] = "";
        FILE *f = fopen (s_bg_err, "r");
        if (f) {
            size_t n = fread (err, 1, sizeof err - 1, f);
            err[n] = '\0';
            fclose (f);
        }
        print_error ("background zmgr exited %d (want %d); stderr: %s\n", got, code, err);
    }
    assert_int_equal (got, code);
}

static void test_lock_run_holds (void **state)
{
    (void)state;
    START_BG ("lock", "run", "L2", "--", "/bin/sleep", "1");
    s_wait_locked ("L2");
    EXPECT (EX_TIMEOUT, "", "lock", "acquire", "L2", "--timeout", "0.1");
    assert_true (s_run.ms >= 80);
    EXPECT (EX_TIMEOUT, "", "lock", "run", "L2", "--nowait", "--", "true");
    s_wait_bg (5000, EX_OK);
    EXPECT (EX_OK, "false\n", "lock", "locked", "L2");
    /* the grant: token 2 (lock run's was 1); nobody died holding it */
    EXPECT (EX_OK, "{\"token\":2,\"owner_died\":false}\n", "lock", "acquire", "L2",
            "--timeout", "1");
}

static void test_lock_run_forwards_sigterm (void **state)
{
    (void)state;
    pid_t pid = START_BG ("lock", "run", "L3", "--", "/bin/sleep", "30");
    s_wait_locked ("L3");
    kill (pid, SIGTERM);
    /* the sleep died of the forwarded SIGTERM; zmgr reports it shell-style */
    s_wait_bg (5000, 128 + SIGTERM);
    EXPECT (EX_OK, "false\n", "lock", "locked", "L3");
}

/*  A broker that goes away while lock run waits: the lock went with the
 *  session, so the command is stopped and zmgr exits 19 (lock lost). */
static void test_lock_run_broker_lost (void **state)
{
    (void)state;
    START_BG ("lock", "run", "L4", "--", "/bin/sleep", "30");
    s_wait_locked ("L4");
    assert_int_equal (kit_daemon_stop (&s_daemon), 0);
    /* noticed by the next ping, which may wait out the request timeout
     * (5 s) when no broker is there any more */
    s_wait_bg (10000, 19);
    /* teardown expects a broker to stop */
    assert_int_equal (kit_daemon_restart (&s_daemon), 0);
}

/*  A get parked forever on a broker that goes away fails at once with
 *  exit 9 instead of hanging. */
static void test_blocking_get_broker_lost (void **state)
{
    (void)state;
    START_BG ("queue", "get", "never");
    /* wait until the get is parked at the broker */
    long long deadline = kit_now_ms () + 5000;
    for (;;) {
        run_t *r = CLI ("exists", "never");
        assert_int_equal (r->rc, EX_OK);
        if (strcmp (r->out, "true\n") == 0)
            break;
        assert_true (kit_now_ms () < deadline);
        usleep (20 * 1000);
    }
    long long t0 = kit_now_ms ();
    assert_int_equal (kit_daemon_stop (&s_daemon), 0);
    s_wait_bg (5000, EX_UNREACHABLE);
    assert_true (kit_now_ms () - t0 < 3000);
    assert_int_equal (kit_daemon_restart (&s_daemon), 0);
}

/* ---- jobs, keys and admin ---------------------------------------------- */

/*  A broker with one local worker (and exec allowed when exec). */
static int s_start_with_worker (bool exec)
{
    const char *args[] = {"--workers",
                          "1",
                          "--worker-path",
                          kit_worker_path (),
                          exec ? "--enable-exec" : NULL,
                          NULL};
    return kit_daemon_start (&s_daemon, args) == 0 ? 0 : -1;
}

static int s_setup_jobs (void **state)
{
    (void)state;
    return s_start_with_worker (false);
}

static int s_setup_exec (void **state)
{
    (void)state;
    return s_start_with_worker (true);
}

/*  Skips the test when there is no zmgr-worker to run jobs. */
#define NEED_WORKER()                                                                    \
    do {                                                                                 \
        if (access (kit_worker_path (), X_OK) != 0) {                                    \
            print_message ("zmgr-worker not found (set ZMGR_WORKER)\n");                 \
            skip ();                                                                     \
        }                                                                                \
    } while (0)

/*  The job id a submit printed: its stdout, a decimal number and a newline. */
static const char *s_job_id (run_t *r, char *buf, size_t size)
{
    assert_int_equal (r->rc, EX_OK);
    size_t n = strspn (r->out, "0123456789");
    assert_true (n > 0 && n < size);
    assert_string_equal (r->out + n, "\n");
    memcpy (buf, r->out, n);
    buf[n] = '\0';
    return buf;
}

static void test_submit_result (void **state)
{
    (void)state;
    NEED_WORKER ();
    char id[32];
    EXPECT (EX_OK, "[1,2]\n", "submit", "echo", "[1,2]", "--wait", "--timeout", "10");
    /* a value that is not an array is the one argument; none is [] */
    EXPECT (EX_OK, "[5]\n", "submit", "echo", "5", "--wait", "--timeout", "10");
    EXPECT (EX_OK, "[]\n", "submit", "echo", "--wait", "--timeout", "10");
    s_job_id (CLI ("submit", "echo", "\"x\"", "--priority", "3", "--retries", "0"), id,
              sizeof id);
    EXPECT (EX_OK, "[\"x\"]\n", "result", id, "--timeout", "10");
    run_t *r = CLI ("status", id);
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "\"state\":\"done\""));
    assert_non_null (strstr (r->out, "\"priority\":3"));
    /* a function's own error: exit 11 with its message */
    EXPECT (EX_JOBFAILED, "", "submit", "fail", "boom", "--wait", "--timeout", "10");
    assert_non_null (strstr (s_run.err, "boom"));
    EXPECT (EX_NOTFOUND, "", "result", "999999", "--timeout", "1");
    EXPECT (EX_NOTFOUND, "", "status", "999999");
    EXPECT (EX_USAGE, "", "result", "abc");
    EXPECT (EX_USAGE, "", "result", "0");
    EXPECT (EX_USAGE, "", "submit");
    EXPECT (EX_USAGE, "", "submit", "echo", "[1", "--wait");
    EXPECT (EX_USAGE, "", "submit", "echo", "--priority", "high");
    EXPECT (EX_USAGE, "", "status", "1", "--wait");
}

static void test_submit_cancel (void **state)
{
    (void)state;
    NEED_WORKER ();
    char id[32];
    s_job_id (CLI ("submit", "sleep", "[5]"), id, sizeof id);
    EXPECT (EX_OK, "true\n", "cancel", id);
    EXPECT (EX_JOBFAILED, "", "result", id, "--timeout", "5");
    assert_non_null (strstr (s_run.err, "cancel"));
    assert_true (s_run.ms < 3000);
    /* it has ended: nothing left to cancel */
    EXPECT (EX_OK, "false\n", "cancel", id);
    EXPECT (EX_NOTFOUND, "", "cancel", "999999");
}

/*  A function no worker has: the job waits, submit --wait times out (exit
 *  5) naming the id, and jobs lists the function as served by nobody. */
static void test_jobs_no_worker (void **state)
{
    (void)state;
    NEED_WORKER ();
    EXPECT (EX_TIMEOUT, "", "submit", "nobody_has_this", "[1]", "--wait", "--timeout",
            "0.3");
    assert_true (s_run.ms >= 250);
    assert_non_null (strstr (s_run.err, "zmgr result "));
    run_t *r = CLI ("jobs");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "FUNCTION"));
    assert_non_null (strstr (r->out, "nobody_has_this"));
    assert_non_null (strstr (r->out, "pending without any worker: nobody_has_this"));
    r = CLI ("jobs", "--json");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "\"no_worker\":[\"nobody_has_this\"]"));
    EXPECT (EX_USAGE, "", "jobs", "extra");
}

/*  Waits up to 10 s for the local worker to show in `zmgr workers`. */
static void s_wait_worker (void)
{
    long long deadline = kit_now_ms () + 10000;
    for (;;) {
        run_t *r = CLI ("workers");
        assert_int_equal (r->rc, EX_OK);
        if (strstr (r->out, "local-1"))
            return;
        assert_true (kit_now_ms () < deadline);
        usleep (50 * 1000);
    }
}

static void test_jobs_workers (void **state)
{
    (void)state;
    NEED_WORKER ();
    s_wait_worker ();
    EXPECT (EX_OK, "[1]\n", "submit", "echo", "[1]", "--wait", "--timeout", "10");
    run_t *r = CLI ("workers");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "NAME"));
    assert_non_null (strstr (r->out, "local-1"));
    assert_non_null (strstr (r->out, "echo"));
    r = CLI ("workers", "--json");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "\"name\":\"local-1\""));
    r = CLI ("jobs");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "echo"));
    assert_non_null (strstr (r->out, "total"));
    r = CLI ("jobs", "--json");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "\"by_function\":"));
}

static void test_map (void **state)
{
    (void)state;
    NEED_WORKER ();
    /* echo returns its argument array: line 3 gives [3], in input order */
    run_t *r = CLI_IN ("1\n2\n3\n4\n5\n", "map", "echo", "-", "--timeout", "20");
    assert_int_equal (r->rc, EX_OK);
    assert_string_equal (r->out, "[1]\n[2]\n[3]\n[4]\n[5]\n");
    /* stderr is not a terminal: no progress bar */
    assert_string_equal (r->err, "");
    /* no FILE is stdin; blank lines are skipped; chunks keep the order */
    r = CLI_IN ("\"a\"\n\n[1,2]\n{\"k\":1}\nplain word\n", "map", "echo", "--chunksize",
                "2", "--timeout", "20");
    assert_int_equal (r->rc, EX_OK);
    assert_string_equal (r->out, "[\"a\"]\n[[1,2]]\n[{\"k\":1}]\n[\"plain word\"]\n");
    r = CLI_IN ("", "map", "echo", "-", "--timeout", "20");
    assert_int_equal (r->rc, EX_OK);
    assert_string_equal (r->out, "");
    /* a failed item: reported with its line, an error line in its place,
     * exit 11 at the end */
    r = CLI_IN ("\"one\"\n\n\"two\"\n", "map", "fail", "--timeout", "20");
    assert_int_equal (r->rc, EX_JOBFAILED);
    assert_string_equal (r->out,
                         "{\"error\":\"error: one\"}\n{\"error\":\"error: two\"}\n");
    assert_non_null (strstr (r->err, "line 1: error: one"));
    assert_non_null (strstr (r->err, "line 3: error: two"));
    /* broken JSON on a line: nothing is submitted */
    r = CLI_IN ("1\n[2\n", "map", "echo", "--timeout", "20");
    assert_int_equal (r->rc, EX_USAGE);
    assert_non_null (strstr (r->err, "stdin:2:"));
    EXPECT (EX_USAGE, "", "map", "echo", "/nonexistent/items.jsonl");
    EXPECT (EX_USAGE, "", "map", "echo", "-", "--chunksize", "0");
}

static void test_run_exec (void **state)
{
    (void)state;
    NEED_WORKER ();
    EXPECT (EX_OK, "hi\n", "run", "--wait", "--timeout", "20", "--", "/bin/echo", "hi");
    /* the command's options are its own; its status is the exit code */
    EXPECT (3, "out\n", "run", "--wait", "--timeout", "20", "/bin/sh", "-c",
            "echo out; echo err >&2; exit 3");
    assert_string_equal (s_run.err, "err\n");
    /* without --wait: the job id; its result is exec's map */
    char id[32];
    s_job_id (CLI ("run", "--", "/bin/echo", "later"), id, sizeof id);
    run_t *r = CLI ("result", id, "--timeout", "20");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "\"stdout\":\"later\\n\""));
    EXPECT (EX_JOBFAILED, "", "run", "--wait", "--timeout", "20", "/nonexistent/cmd");
    EXPECT (EX_USAGE, "", "run", "--wait");
}

static void test_run_disabled (void **state)
{
    (void)state;
    NEED_WORKER ();
    EXPECT (EX_DISABLED, "", "run", "--wait", "--timeout", "5", "--", "/bin/echo", "hi");
    assert_non_null (strstr (s_run.err, "--enable-exec"));
    EXPECT (EX_DISABLED, "", "submit", "exec", "[\"/bin/echo\"]");
}

/*  A fresh directory for key files; removed by s_rmdir_keys. */
static char s_keydir[64];

static void s_rm_keys (void)
{
    if (s_keydir[0]) {
        kit_rmtree (s_keydir);
        s_keydir[0] = '\0';
    }
}

static int s_teardown_keys (void **state)
{
    s_rm_keys ();
    return s_teardown (state);
}

static mode_t s_mode (const char *path)
{
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    return st.st_mode & 07777;
}

/*  Reads a whole small file into buf. */
static void s_slurp (const char *path, char *buf, size_t size)
{
    FILE *f = fopen (path, "r");
    assert_non_null (f);
    size_t n = fread (buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose (f);
}

static void test_keygen (void **state)
{
    (void)state;
    snprintf (s_keydir, sizeof s_keydir, "/tmp/zmgr-it-keys-XXXXXX");
    assert_non_null (mkdtemp (s_keydir));
    char key[128], pub[128], err[300], before[512], after[512];
    snprintf (key, sizeof key, "%s/alice.key", s_keydir);
    snprintf (pub, sizeof pub, "%s/alice.pub", s_keydir);

    mode_t old = umask (077); /* the .pub is 0644 whatever the umask */
    run_t *r = CLI ("keygen", "alice", "--dir", s_keydir);
    umask (old);
    assert_int_equal (r->rc, EX_OK);
    assert_int_equal (strlen (r->out), KEY_Z85_LEN + 1);
    assert_int_equal (s_mode (key), 0600);
    assert_int_equal (s_mode (pub), 0644);
    key_file_t kf;
    assert_int_equal (key_file_read (key, &kf, err, sizeof err), 0);
    assert_memory_equal (kf.public_key, r->out, KEY_Z85_LEN);
    assert_int_equal (strlen (kf.secret_key), KEY_Z85_LEN);
    assert_int_equal (key_resolve (key, true, &kf, err, sizeof err), 0);
    assert_int_equal (key_file_read (pub, &kf, err, sizeof err), 0);
    assert_memory_equal (kf.public_key, r->out, KEY_Z85_LEN);
    assert_string_equal (kf.secret_key, "");
    assert_string_equal (kf.role, "client");

    /* never overwrites: same name again fails and leaves the files */
    s_slurp (key, before, sizeof before);
    EXPECT (1, "", "keygen", "alice", "--dir", s_keydir);
    assert_non_null (strstr (s_run.err, "exists"));
    s_slurp (key, after, sizeof after);
    assert_string_equal (before, after);
    unlink (key); /* the .pub alone also blocks */
    EXPECT (1, "", "keygen", "alice", "--dir", s_keydir);
    assert_int_equal (access (key, F_OK), -1);

    r = CLI ("keygen", "root", "--role", "admin", "--dir", s_keydir);
    assert_int_equal (r->rc, EX_OK);
    snprintf (pub, sizeof pub, "%s/root.pub", s_keydir);
    assert_int_equal (key_file_read (pub, &kf, err, sizeof err), 0);
    assert_string_equal (kf.role, "admin");

    EXPECT (EX_USAGE, "", "keygen", "bob", "--role", "root", "--dir", s_keydir);
    EXPECT (EX_USAGE, "", "keygen", "a/b", "--dir", s_keydir);
    EXPECT (EX_USAGE, "", "keygen");
    EXPECT (1, "", "keygen", "bob", "--dir", "/nonexistent/dir");
}

/*  Starts zmgrd on tcp://127.0.0.1:* with CURVE, its stderr in a file so
 *  that the port it bound can be read back from its "listening on" line.
 *  Writes the endpoint to ep. */
static void s_start_curve (const char *secret, const char *allow, char *ep, size_t size)
{
    const char *args[] = {"-e",
                          "tcp://127.0.0.1:*",
                          "--secret-key",
                          secret,
                          "--allow-dir",
                          allow,
                          "--workers",
                          "0",
                          NULL};
    /* the start shows the log when it fails */
    assert_int_equal (kit_daemon_start_ex (&s_daemon, KIT_DAEMON_LOG, args), 0);
    char log[4096];
    s_slurp (s_daemon.log, log, sizeof log);
    const char *p = strstr (log, "listening on tcp://");
    assert_non_null (p);
    p += strlen ("listening on ");
    size_t n = strcspn (p, " \n");
    assert_true (n < size);
    memcpy (ep, p, n);
    ep[n] = '\0';
}

static void test_curve_keys (void **state)
{
    (void)state;
    assert_int_equal (kit_daemon_fini (&s_daemon), 0); /* this one needs tcp */
    snprintf (s_keydir, sizeof s_keydir, "/tmp/zmgr-it-keys-XXXXXX");
    assert_non_null (mkdtemp (s_keydir));
    char allow[128], path[160], bkey[160], bpub[160], akey[160], apub[160], ckey[160],
        rkey[160], ep[128];
    snprintf (allow, sizeof allow, "%s/allow", s_keydir);
    assert_int_equal (mkdir (allow, 0700), 0);
    snprintf (bkey, sizeof bkey, "%s/broker.key", s_keydir);
    snprintf (bpub, sizeof bpub, "%s/broker.pub", s_keydir);
    snprintf (akey, sizeof akey, "%s/alice.key", s_keydir);
    snprintf (apub, sizeof apub, "%s/alice.pub", s_keydir);
    snprintf (ckey, sizeof ckey, "%s/carol.key", s_keydir);
    snprintf (rkey, sizeof rkey, "%s/root.key", allow);
    EXPECT (EX_OK, NULL, "keygen", "broker", "--dir", s_keydir);
    EXPECT (EX_OK, NULL, "keygen", "alice", "--dir", s_keydir);
    EXPECT (EX_OK, NULL, "keygen", "carol", "--dir", s_keydir); /* not allowed */
    /* root's .pub lands in the allow-list directly; its .key does not count */
    EXPECT (EX_OK, NULL, "keygen", "root", "--role", "admin", "--dir", allow);
    snprintf (path, sizeof path, "%s/alice.pub", allow);
    assert_int_equal (link (apub, path), 0);
    s_start_curve (bkey, allow, ep, sizeof ep);

    EXPECT (EX_OK, NULL, "-e", ep, "--server-key", bpub, "--key", akey, "ping");
    EXPECT (EX_OK, "", "-e", ep, "--server-key", bpub, "--key", akey, "value", "set", "v",
            "1");
    /* a key not on the allow-list: exit 13, fast, with the reason */
    EXPECT (EX_PERM, "", "-e", ep, "--server-key", bpub, "--key", ckey, "ping");
    assert_non_null (strstr (s_run.err, "refused this key"));
    assert_true (s_run.ms < 5000);
    /* admin ops need an admin key */
    EXPECT (EX_PERM, "", "-e", ep, "--server-key", bpub, "--key", akey, "admin",
            "log-level", "debug");
    assert_non_null (strstr (s_run.err, "refused this key"));
    EXPECT (EX_OK, "", "-e", ep, "--server-key", bpub, "--key", rkey, "admin",
            "log-level", "info");
    /* key problems are found before connecting */
    EXPECT (EX_USAGE, "", "-e", ep, "--server-key", bpub, "--key", apub, "ping");
    assert_non_null (strstr (s_run.err, "no secret key"));
    EXPECT (EX_USAGE, "", "-e", ep, "--server-key", "/nonexistent.pub", "--key", akey,
            "ping");
    /* the environment works as the options do */
    setenv ("ZMGR_SERVER_KEY", bpub, 1);
    setenv ("ZMGR_CLIENT_KEY", akey, 1);
    EXPECT (EX_OK, "1\n", "-e", ep, "value", "get", "v");
    unsetenv ("ZMGR_CLIENT_KEY");
    EXPECT (EX_USAGE, "", "-e", ep, "value", "get", "v");
    unsetenv ("ZMGR_SERVER_KEY");
    /* a wrong server key, or no CURVE at all: the broker drops the
     * connection, which is unreachable (exit 9), with a hint */
    EXPECT (EX_UNREACHABLE, "", "-e", ep, "--server-key", apub, "--key", akey, "ping",
            "--timeout", "2");
    assert_non_null (strstr (s_run.err, "server key"));
    /*  No CURVE at all: the handshake fails on the broker's side, which
     *  libzmq reports to the client either as a refused handshake (exit
     *  13) or as a dropped connection (exit 9), depending on timing. */
    run_t *plain = s_cli ("-e", ep, "ping", "--timeout", "2", NULL);
    if (plain->rc != EX_UNREACHABLE && plain->rc != EX_PERM)
        print_error ("plain client on a CURVE endpoint: exit %d\nstderr: %s\n", plain->rc,
                     plain->err);
    assert_true (plain->rc == EX_UNREACHABLE || plain->rc == EX_PERM);
    assert_non_null (strstr (plain->err, plain->rc == EX_PERM ? "refused" : "CURVE"));
}

/*  Admin ops over the local (ipc) connection need no key. */
static void test_admin_ops (void **state)
{
    (void)state;
    EXPECT (EX_OK, "", "admin", "log-level", "debug");
    EXPECT (EX_OK, "", "admin", "log-level", "notice");
    EXPECT (EX_USAGE, "", "admin", "log-level", "loud");
    EXPECT (EX_USAGE, "", "admin", "log-level");
    EXPECT (EX_USAGE, "", "admin", "reboot");
    EXPECT (EX_OK, "", "admin", "shutdown");
    long long deadline = kit_now_ms () + 10000;
    while (kit_daemon_alive (&s_daemon))
        assert_true (kit_now_ms () < deadline);
    /* teardown expects a broker to stop */
    assert_int_equal (kit_daemon_restart (&s_daemon), 0);
}

static void test_help_jobs (void **state)
{
    (void)state;
    run_t *r = CLI ("--help");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "Jobs:"));
    assert_non_null (strstr (r->out, "keygen"));
    assert_non_null (strstr (r->out, "13 the broker refused this key"));
    const char *cmds[] = {"submit", "result",  "status", "cancel", "map",
                          "jobs",   "workers", "run",    "keygen"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char want[64];
        snprintf (want, sizeof want, "usage: zmgr [OPTIONS] %s", cmds[i]);
        r = CLI (cmds[i], "--help");
        assert_int_equal (r->rc, EX_OK);
        assert_non_null (strstr (r->out, want));
        r = CLI ("help", cmds[i]);
        assert_int_equal (r->rc, EX_OK);
        assert_non_null (strstr (r->out, want));
    }
    r = CLI ("submit", "--help");
    assert_non_null (strstr (r->out, "--priority P"));
    r = CLI ("admin", "--help");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "admin log-level"));
    r = CLI ("admin", "shutdown", "--help");
    assert_int_equal (r->rc, EX_OK);
    assert_non_null (strstr (r->out, "usage: zmgr [OPTIONS] admin shutdown"));
    /* the words after run's command are its own, not options of zmgr: not
     * help, not -e; this broker refuses exec */
    EXPECT (EX_DISABLED, "", "run", "--wait", "/bin/echo", "--help", "-e", "x");
}

int main (void)
{
    if (access (kit_cli_path (), X_OK) != 0 || access (kit_zmgrd_path (), X_OK) != 0) {
        fprintf (stderr, "skip: zmgr or zmgrd not found (set ZMGR_CLI, "
                         "ZMGRD)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown (fn, s_setup, s_teardown)
        T (test_list),
        T (test_dict),
        T (test_queue),
        T (test_queue_full),
        T (test_queue_join),
        T (test_value),
        T (test_raw),
        T (test_json_roundtrip),
        T (test_wrong_type),
        T (test_admin),
        T (test_pipe),
        T (test_usage),
        T (test_help),
        T (test_unreachable),
        T (test_timeout_covers_connect),
        T (test_lock_run_exit_code),
        T (test_lock_run_holds),
        T (test_lock_run_forwards_sigterm),
        T (test_lock_run_broker_lost),
        T (test_blocking_get_broker_lost),
        T (test_admin_ops),
        T (test_help_jobs),
#undef T
#define TK(fn) cmocka_unit_test_setup_teardown (fn, s_setup, s_teardown_keys)
        TK (test_keygen),
        TK (test_curve_keys),
#undef TK
#define TJ(fn) cmocka_unit_test_setup_teardown (fn, s_setup_jobs, s_teardown)
        TJ (test_submit_result),
        TJ (test_submit_cancel),
        TJ (test_jobs_no_worker),
        TJ (test_jobs_workers),
        TJ (test_map),
        TJ (test_run_disabled),
#undef TJ
        cmocka_unit_test_setup_teardown (test_run_exec, s_setup_exec, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
