/*  tests/it_jobs_cli.c - the job commands of zmgr and the local workers'
 *  failure paths, against a real zmgrd (issue 10, "CLI and worker fixes")
 *  A signal during submit --wait cancels the job (--detach leaves it); a
 *  job nobody offers is pointed out after 2 s, and --require-worker refuses
 *  it at once with exit 17; a failed map item prints an error line in its
 *  place and map exec exits non-zero when a command failed; a worker with a
 *  client key exits with the broker's reason; --check-config loads the
 *  modules; a worker whose module never loads is given up on instead of
 *  being restarted forever. The CLI is $ZMGR_CLI, run as a child (kit_run,
 *  bounded); every broker and child is stopped by pid. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit.h"

/*  Exit codes from CLI.md. */
enum { EX_OK = 0, EX_USAGE = 2, EX_TIMEOUT = 5, EX_JOBFAILED = 11, EX_NOWORKER = 17 };

#define RUN_TIMEOUT_MS 10000 /* no single CLI run may take longer */

typedef struct {
    int rc;          /* exit code (128+sig if killed) */
    long long ms;    /* how long it ran */
    char out[16384]; /* stdout */
    char err[8192];  /* stderr */
} run_t;

static kit_daemon_t s_daemon; /* one local worker that offers exec */
static run_t s_run;           /* last run; too big for a test's stack */

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

static run_t *s_cli_in (const char *input, const char *first, ...)
{
    va_list ap;
    va_start (ap, first);
    run_t *r = s_cli_v (input, first, ap);
    va_end (ap);
    if (getenv ("ZMGR_TEST_VERBOSE"))
        fprintf (stderr, "# zmgr %s...: exit %d after %lld ms\n# out: %s# err: %s\n",
                 first, r->rc, r->ms, r->out, r->err);
    return r;
}

#define CLI(...) s_cli_in (NULL, __VA_ARGS__, (const char *)NULL)
#define CLI_IN(input, ...) s_cli_in (input, __VA_ARGS__, (const char *)NULL)

static int s_setup (void **state)
{
    (void)state;
    const char *args[] = {"--workers",     "1", "--worker-path", kit_worker_path (),
                          "--enable-exec", NULL};
    return kit_daemon_start (&s_daemon, args) == 0 ? 0 : -1;
}

static int s_teardown (void **state)
{
    (void)state;
    kit_children_kill ();
    return kit_daemon_fini (&s_daemon) == 0 ? 0 : -1;
}

/*  Lines of text (each ending in '\n'). */
static int s_lines (const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strchr (p, '\n')); p++)
        n++;
    return n;
}

/*  Line i (from 0) of text, copied into buf. */
static const char *s_line (const char *text, int i, char *buf, size_t size)
{
    const char *p = text;
    for (; i > 0 && p; i--)
        if ((p = strchr (p, '\n')))
            p++;
    buf[0] = '\0';
    if (!p)
        return buf;
    size_t len = strcspn (p, "\n");
    snprintf (buf, size, "%.*s", (int)(len < size ? len : size - 1), p);
    return buf;
}

/*  A string field of the job's status map, "" when absent. */
static void s_status_field (uint64_t id, const char *key, char *buf, size_t size)
{
    zmgr_client_t *c = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (c);
    zmgr_value_t *st = NULL;
    assert_int_equal (zmgr_job_status (c, id, &st), 0);
    msgpack_unpacked u;
    buf[0] = '\0';
    if (kit_unpack (st, &u)) {
        const msgpack_object *o = kit_map_get (&u.data, key);
        if (o && o->type == MSGPACK_OBJECT_STR)
            snprintf (buf, size, "%.*s", (int)o->via.str.size, o->via.str.ptr);
        msgpack_unpacked_destroy (&u);
    }
    zmgr_value_destroy (&st);
    zmgr_client_destroy (&c);
}

/* ---- a signal during submit --wait ------------------------------------- */

typedef struct {
    const char *const *argv;
    const char *err_path;
} s_bg_t;

/*  In a child: the CLI with stderr into a file. */
static int s_bg_exec (void *arg)
{
    const s_bg_t *bg = arg;
    int fd = open (bg->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 126;
    dup2 (fd, 2);
    close (fd);
    int null = open ("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2 (null, 0);
        dup2 (null, 1);
    }
    execv (bg->argv[0], (char *const *)bg->argv);
    return 127;
}

/*  Runs `zmgr submit sleep [30] --wait [extra]`, waits until its job runs,
 *  SIGINTs it and returns its exit code; the job id from its message goes
 *  to *id (0 when it named none), its stderr to err. */
static int s_interrupt_submit (const char *extra, uint64_t *id, char *err, size_t size)
{
    char path[300];
    snprintf (path, sizeof path, "%s/bg.err", s_daemon.dir);
    const char *argv[] = {kit_cli_path (), "submit", "sleep", "[30]",
                          "--wait",        extra,    NULL};
    s_bg_t bg = {argv, path};
    zmgr_client_t *c = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (c);
    int64_t before = kit_stat_int (c, "jobs_running");
    pid_t pid = kit_child_spawn (s_bg_exec, &bg);
    assert_true (pid > 0);
    long long deadline = kit_now_ms () + 8000;
    while (kit_stat_int (c, "jobs_running") <= before && kit_now_ms () < deadline)
        usleep (20000);
    assert_true (kit_stat_int (c, "jobs_running") > before);
    zmgr_client_destroy (&c);
    kill (pid, SIGINT);
    int rc = kit_child_wait (pid, 5000);
    char *text = kit_slurp (path);
    snprintf (err, size, "%s", text ? text : "");
    free (text);
    fprintf (stderr, "# submit --wait %s, SIGINT: exit %d: %s", extra ? extra : "", rc,
             err);
    const char *job = strstr (err, "job ");
    *id = job ? strtoull (job + 4, NULL, 10) : 0;
    return rc;
}

static void test_sigint_cancels_submit_wait (void **state)
{
    (void)state;
    uint64_t id;
    char err[1024], field[64];
    int rc = s_interrupt_submit (NULL, &id, err, sizeof err);
    assert_int_equal (rc, 128 + SIGINT);
    assert_non_null (strstr (err, "interrupted"));
    assert_true (id > 0);
    /*  The job is over, and cancelled: its state or reason says so. */
    s_status_field (id, "state", field, sizeof field);
    assert_string_not_equal (field, "running");
    assert_string_not_equal (field, "pending");
    char reason[64];
    s_status_field (id, "reason", reason, sizeof reason);
    assert_true (strstr (field, "cancel") || strstr (reason, "cancel"));
}

static void test_sigint_detach_leaves_job (void **state)
{
    (void)state;
    uint64_t id;
    char err[1024], field[64];
    int rc = s_interrupt_submit ("--detach", &id, err, sizeof err);
    assert_int_equal (rc, 128 + SIGINT);
    assert_non_null (strstr (err, "goes on"));
    assert_true (id > 0);
    s_status_field (id, "state", field, sizeof field);
    assert_string_equal (field, "running");
    /*  Not this test's to keep. */
    zmgr_client_t *c = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (c);
    bool cancelled = false;
    assert_int_equal (zmgr_job_cancel (c, id, &cancelled), 0);
    assert_true (cancelled);
    zmgr_client_destroy (&c);
    /*  --detach without --wait means nothing: a usage error. */
    run_t *r = CLI ("submit", "echo", "--detach");
    assert_int_equal (r->rc, EX_USAGE);
    assert_non_null (strstr (r->err, "--detach"));
}

/* ---- no worker offers the function ------------------------------------- */

static void test_no_worker_warning (void **state)
{
    (void)state;
    const char *want = "no connected worker offers nosuchfunc";
    run_t *r = CLI ("submit", "nosuchfunc", "--wait", "--timeout", "2.6");
    assert_int_equal (r->rc, EX_TIMEOUT);
    assert_non_null (strstr (r->err, want));
    assert_true (r->ms >= 2000);
    r = CLI_IN ("1\n2\n", "map", "nosuchfn", "--timeout", "2.6");
    assert_int_equal (r->rc, EX_TIMEOUT);
    assert_non_null (strstr (r->err, "no connected worker offers nosuchfn"));
    /*  A served function that is merely slow gets no warning. */
    r = CLI ("submit", "sleep", "[2.5]", "--wait", "--timeout", "8");
    assert_int_equal (r->rc, EX_OK);
    assert_null (strstr (r->err, "warning"));
}

static void test_require_worker (void **state)
{
    (void)state;
    zmgr_client_t *c = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (c);
    int64_t jobs = kit_stat_int (c, "jobs");
    run_t *r = CLI ("submit", "nosuchfunc", "--require-worker");
    assert_int_equal (r->rc, EX_NOWORKER);
    assert_true (r->ms < 2000);
    assert_non_null (strstr (r->err, "no connected worker offers nosuchfunc"));
    r = CLI ("submit", "nosuchfunc", "--wait", "--require-worker");
    assert_int_equal (r->rc, EX_NOWORKER);
    r = CLI_IN ("1\n", "map", "nosuchfn", "--require-worker");
    assert_int_equal (r->rc, EX_NOWORKER);
    /*  Nothing was submitted. */
    assert_int_equal (kit_stat_int (c, "jobs"), jobs);
    zmgr_client_destroy (&c);
    /*  A served function goes through. */
    r = CLI ("submit", "echo", "[1]", "--wait", "--require-worker");
    assert_int_equal (r->rc, EX_OK);
    assert_string_equal (r->out, "[1]\n");
    r = CLI ("run", "--wait", "--require-worker", "--", "true");
    assert_int_equal (r->rc, EX_OK);
    /*  The exit code is documented. */
    r = CLI ("--help");
    assert_non_null (strstr (r->out, "17 no connected worker"));
}

/* ---- map: failed items and exec statuses -------------------------------- */

static void test_map_error_lines (void **state)
{
    (void)state;
    char line[256];
    /*  sum_range refuses a string: line 2 fails, lines 1 and 3 do not. */
    run_t *r = CLI_IN ("3\n\"x\"\n4\n", "map", "sum_range", "--timeout", "20");
    assert_int_equal (r->rc, EX_JOBFAILED);
    assert_int_equal (s_lines (r->out), 3);
    assert_string_equal (s_line (r->out, 0, line, sizeof line), "3");
    assert_non_null (strstr (s_line (r->out, 1, line, sizeof line), "{\"error\":"));
    assert_string_equal (s_line (r->out, 2, line, sizeof line), "6");
    assert_non_null (strstr (r->err, "line 2:"));
    /*  A failed chunk: an error line for each of its items. */
    r = CLI_IN ("3\n\"x\"\n4\n", "map", "sum_range", "--chunksize", "2", "--timeout",
                "20");
    assert_int_equal (r->rc, EX_JOBFAILED);
    assert_int_equal (s_lines (r->out), 3);
    assert_non_null (strstr (s_line (r->out, 0, line, sizeof line), "{\"error\":"));
    assert_non_null (strstr (s_line (r->out, 1, line, sizeof line), "{\"error\":"));
    assert_string_equal (s_line (r->out, 2, line, sizeof line), "6");
}

static void test_map_exec_status (void **state)
{
    (void)state;
    run_t *r = CLI_IN ("[\"true\"]\n[\"false\"]\n[\"sh\",\"-c\",\"exit 3\"]\n", "map",
                       "exec", "--timeout", "20");
    assert_int_equal (r->rc, EX_JOBFAILED);
    assert_int_equal (s_lines (r->out), 3);
    assert_non_null (strstr (r->out, "\"status\":1"));
    assert_non_null (strstr (r->err, "line 2: exit status 1"));
    assert_non_null (strstr (r->err, "line 3: exit status 3"));
    assert_null (strstr (r->err, "line 1:"));
    r = CLI_IN ("[\"true\"]\n[\"true\"]\n", "map", "exec", "--timeout", "20");
    assert_int_equal (r->rc, EX_OK);
    assert_int_equal (s_lines (r->out), 2);
}

/* ---- workers ------------------------------------------------------------ */

static int s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal (bind (fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal (getsockname (fd, (struct sockaddr *)&sa, &len), 0);
    close (fd);
    return ntohs (sa.sin_port);
}

/*  zmgr keygen NAME --role ROLE --dir DIR. */
static void s_keygen (const char *name, const char *role, const char *dir)
{
    run_t *r = CLI ("keygen", name, "--role", role, "--dir", dir);
    assert_int_equal (r->rc, EX_OK);
}

static void test_worker_client_key_exits (void **state)
{
    (void)state;
    char dir[256], allow[300], bkey[320], bpub[320], ckey[320], ep[64];
    kit_tmpdir (dir, sizeof dir);
    snprintf (allow, sizeof allow, "%s/allow", dir);
    assert_int_equal (mkdir (allow, 0755), 0);
    s_keygen ("broker", "client", dir);
    s_keygen ("cl", "client", allow);
    snprintf (bkey, sizeof bkey, "%s/broker.key", dir);
    snprintf (bpub, sizeof bpub, "%s/broker.pub", dir);
    snprintf (ckey, sizeof ckey, "%s/cl.key", allow);
    snprintf (ep, sizeof ep, "tcp://127.0.0.1:%d", s_free_port ());
    kit_daemon_t d = {0};
    const char *args[] = {
        "--workers", "0", "--secret-key", bkey, "--allow-dir", allow, "-e", ep, NULL};
    assert_int_equal (kit_daemon_start (&d, args), 0);
    setenv ("ZMGR_SERVER_KEY", bpub, 1);
    setenv ("ZMGR_CLIENT_KEY", ckey, 1);
    const char *argv[] = {kit_worker_path (), "--connect", ep, NULL};
    char out[256], err[2048];
    long long t0 = kit_now_ms ();
    int rc = kit_run (argv, NULL, out, sizeof out, err, sizeof err, 8000);
    long long ms = kit_now_ms () - t0;
    unsetenv ("ZMGR_SERVER_KEY");
    unsetenv ("ZMGR_CLIENT_KEY");
    fprintf (stderr, "# worker with a client key: exit %d after %lld ms: %s", rc, ms,
             err);
    /*  It gave up by itself (not killed at kit_run's bound), saying why. */
    assert_true (rc > 0 && rc < 128);
    assert_non_null (strstr (err, "a client key cannot register as a worker"));
    kit_daemon_fini (&d);
    kit_daemon_env (&s_daemon); /* the CLI's broker again */
    kit_rmtree (dir);
}

/*  A file that is not a shared object, where a module should be. */
static void s_bad_module (char *path, size_t size)
{
    snprintf (path, size, "%s/bad.so", s_daemon.dir);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs ("not an ELF object\n", f);
    fclose (f);
}

static void test_check_config_loads_modules (void **state)
{
    (void)state;
    char bad[320], out[8192], err[2048];
    s_bad_module (bad, sizeof bad);
    const char *argv[] = {kit_zmgrd_path (), "--check-config", "--module", bad, NULL};
    int rc = kit_run (argv, NULL, out, sizeof out, err, sizeof err, 15000);
    fprintf (stderr, "# --check-config --module bad.so: exit %d: %s", rc, err);
    assert_int_equal (rc, 1);
    assert_non_null (strstr (err, bad));
    const char *good = getenv ("ZMGR_EXAMPLE_MODULE");
    if (good) {
        const char *argv2[] = {kit_zmgrd_path (), "--check-config", "--module", good,
                               NULL};
        rc = kit_run (argv2, NULL, out, sizeof out, err, sizeof err, 15000);
        assert_int_equal (rc, 0);
        assert_non_null (strstr (out, "[workers]"));
    }
}

static void test_bad_module_given_up (void **state)
{
    (void)state;
    char bad[320];
    s_bad_module (bad, sizeof bad);
    kit_daemon_t d = {0};
    const char *args[] = {
        "--workers", "1", "--worker-path", kit_worker_path (), "--module", bad, NULL};
    assert_int_equal (kit_daemon_start_ex (&d, KIT_DAEMON_LOG, args), 0);
    /*  Three failed starts, then no more; zmgrd says ready without it. */
    assert_true (kit_daemon_log_has (&d, "not restarting it", 8000));
    assert_true (kit_daemon_log_has (&d, "failed to load their modules", 2000));
    zmgr_client_t *c = kit_client (d.endpoint, 5000);
    assert_non_null (c);
    assert_int_equal (kit_stat_int (c, "local_workers_failed"), 1);
    assert_int_equal (kit_stat_int (c, "local_workers"), 0);
    zmgr_client_destroy (&c);
    /*  And it stays so: no further start. */
    usleep (1500 * 1000);
    char *log = kit_slurp (d.log);
    assert_non_null (log);
    int starts = 0; /* each start's worker says why it exits */
    for (const char *p = log; (p = strstr (p, "cannot load")); p++)
        starts++;
    free (log);
    fprintf (stderr, "# bad module: %d worker starts\n", starts);
    assert_int_equal (starts, 3);
    assert_int_equal (kit_daemon_fini (&d), 0);
    kit_daemon_env (&s_daemon);
}

int main (void)
{
    if (!kit_cli_path () || !kit_zmgrd_path () || !kit_worker_path ()) {
        fprintf (stderr, "skip: zmgr, zmgrd or zmgr-worker not found (set ZMGR_CLI, "
                         "ZMGRD, ZMGR_WORKER)\n");
        return 77;
    }
    unsetenv ("ZMGR_SERVER_KEY");
    unsetenv ("ZMGR_CLIENT_KEY");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_sigint_cancels_submit_wait),
        cmocka_unit_test (test_sigint_detach_leaves_job),
        cmocka_unit_test (test_no_worker_warning),
        cmocka_unit_test (test_require_worker),
        cmocka_unit_test (test_map_error_lines),
        cmocka_unit_test (test_map_exec_status),
        cmocka_unit_test (test_worker_client_key_exits),
        cmocka_unit_test (test_check_config_loads_modules),
        cmocka_unit_test (test_bad_module_given_up),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
