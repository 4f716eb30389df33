/*  tests/it_systemd.c - zmgrd's sd_notify protocol, as systemd sees it
 *  The test plays systemd: it binds an AF_UNIX datagram socket, starts
 *  zmgrd (fork+exec) with NOTIFY_SOCKET pointing at it and reads what
 *  comes. READY=1 must mean ready: the ipc endpoint takes a client at once
 *  and the local worker is connected. Then STATUS= lines, STOPPING=1 and a
 *  clean exit on SIGTERM, and WATCHDOG=1 at half of WATCHDOG_USEC when
 *  WATCHDOG_PID names the daemon (none when it names another process).
 *  Skipped (77) when zmgrd was built without libsystemd. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

typedef struct {
    char dir[256];        /* XDG_RUNTIME_DIR of the daemon; the notify socket too */
    char ipc[320];        /* its default ipc endpoint */
    char log[320];        /* its stderr */
    int notify_fd;        /* our end: the datagram socket NOTIFY_SOCKET names */
    pid_t pid;            /* the daemon, 0 when not running */
} s_sd_t;

static pid_t s_leftover;   /* killed at exit if a test aborts */

static void s_kill_leftover (void)
{
    if (s_leftover > 0) {
        kill (s_leftover, SIGKILL);
        waitpid (s_leftover, NULL, 0);
    }
}

/*  Was zmgrd linked with libsystemd? Its dynamic symbol table names
 *  sd_notify then. */
static bool s_zmgrd_has_sd_notify (void)
{
    FILE *f = fopen (kit_zmgrd_path (), "rb");
    if (!f)
        return false;
    static char buf[1 << 16];
    const char *needle = "sd_notify";
    size_t keep = 0, got;
    bool found = false;
    while (!found && (got = fread (buf + keep, 1, sizeof buf - keep, f)) > 0) {
        size_t n = keep + got;
        found = memmem (buf, n, needle, strlen (needle)) != NULL;
        keep = strlen (needle);
        memmove (buf, buf + n - keep, keep);
    }
    fclose (f);
    return found;
}

/*  Binds the notify socket and starts zmgrd with args; watchdog_usec
 *  (NULL: none) and, when other_pid, a WATCHDOG_PID that is not zmgrd's. */
static void s_start (s_sd_t *sd, const char *const *args, const char *watchdog_usec,
                     bool other_pid)
{
    memset (sd, 0, sizeof *sd);
    snprintf (sd->dir, sizeof sd->dir, "/tmp/zmgr-sd-XXXXXX");
    assert_non_null (mkdtemp (sd->dir));
    snprintf (sd->ipc, sizeof sd->ipc, "ipc://%s/zmgr/zmgrd.sock", sd->dir);
    snprintf (sd->log, sizeof sd->log, "%s/zmgrd.log", sd->dir);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    assert_true (strlen (sd->dir) + sizeof "/notify.sock" <= sizeof sa.sun_path);
    memcpy (sa.sun_path, sd->dir, strlen (sd->dir));
    strcat (sa.sun_path, "/notify.sock");
    sd->notify_fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true (sd->notify_fd >= 0);
    assert_int_equal (bind (sd->notify_fd, (struct sockaddr *) &sa, sizeof sa), 0);

    const char *argv[32];
    size_t argc = 0;
    argv[argc++] = kit_zmgrd_path ();
    for (size_t i = 0; args && args[i] && argc < 31; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    pid_t parent = getpid ();
    sd->pid = fork ();
    assert_true (sd->pid >= 0);
    if (sd->pid == 0) {
        int fd = open (sd->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || dup2 (fd, 2) < 0)
            _exit (126);
        setenv ("NOTIFY_SOCKET", sa.sun_path, 1);
        setenv ("XDG_RUNTIME_DIR", sd->dir, 1);
        unsetenv ("WATCHDOG_USEC");
        unsetenv ("WATCHDOG_PID");
        unsetenv ("JOURNAL_STREAM");
        if (watchdog_usec) {
            /*  After the fork: the pid is the daemon's own, as exec keeps it. */
            char pid[32];
            snprintf (pid, sizeof pid, "%d", other_pid ? (int) parent : (int) getpid ());
            setenv ("WATCHDOG_USEC", watchdog_usec, 1);
            setenv ("WATCHDOG_PID", pid, 1);
        }
        execv (argv[0], (char *const *) argv);
        _exit (127);
    }
    s_leftover = sd->pid;
}

static void s_dump_log (const s_sd_t *sd)
{
    char cmd[400];
    snprintf (cmd, sizeof cmd, "cat '%s' >&2", sd->log);
    if (system (cmd) != 0)
        fprintf (stderr, "(no log)\n");
}

/*  Receives one notify datagram within timeout_ms into buf (NUL-terminated);
 *  its length, or -1 on timeout. */
static ssize_t s_recv (s_sd_t *sd, char *buf, size_t size, int timeout_ms)
{
    struct pollfd p = { sd->notify_fd, POLLIN, 0 };
    if (poll (&p, 1, timeout_ms) <= 0)
        return -1;
    ssize_t n = recv (sd->notify_fd, buf, size - 1, 0);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/*  Does a datagram hold this assignment as one of its lines? */
static bool s_has_line (const char *msg, const char *line)
{
    size_t len = strlen (line);
    for (const char *p = msg; p && *p;) {
        if (!strncmp (p, line, len) && (p[len] == '\n' || p[len] == '\0'))
            return true;
        p = strchr (p, '\n');
        if (p)
            p++;
    }
    return false;
}

/*  Reads datagrams until one has `line` (a prefix match when prefix);
 *  copies it into out. false after timeout_ms. */
static bool s_wait_for (s_sd_t *sd, const char *line, bool prefix, char *out, size_t size,
                        int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    char buf[4096];
    for (;;) {
        long long left = deadline - kit_now_ms ();
        if (left <= 0 || s_recv (sd, buf, sizeof buf, (int) left) < 0)
            return false;
        bool hit = prefix ? strstr (buf, line) != NULL : s_has_line (buf, line);
        if (hit) {
            if (out)
                snprintf (out, size, "%s", buf);
            return true;
        }
    }
}

/*  SIGTERM, wait up to 15 s; the exit status or -1. */
static int s_stop (s_sd_t *sd)
{
    int result = -1;
    if (sd->pid > 0) {
        kill (sd->pid, SIGTERM);
        long long deadline = kit_now_ms () + 15000;
        int st = 0;
        pid_t r = 0;
        while (kit_now_ms () < deadline && (r = waitpid (sd->pid, &st, WNOHANG)) == 0)
            usleep (10 * 1000);
        if (r == sd->pid)
            result = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
        else {
            kill (sd->pid, SIGKILL);
            waitpid (sd->pid, NULL, 0);
        }
        sd->pid = 0;
        s_leftover = 0;
    }
    return result;
}

static void s_cleanup (s_sd_t *sd)
{
    if (sd->pid > 0)
        s_stop (sd);
    if (sd->notify_fd > 0)
        close (sd->notify_fd);
    sd->notify_fd = -1;
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", sd->dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", sd->dir);
}

static void test_ready_means_ready (void **state)
{
    (void) state;
    s_sd_t sd;
    const char *args[] = { "--workers", "1", NULL };
    s_start (&sd, args, NULL, false);
    char msg[4096];
    long long t0 = kit_now_ms ();
    if (!s_wait_for (&sd, "READY=1", false, msg, sizeof msg, 15000)) {
        s_dump_log (&sd);
        fail_msg ("no READY=1 within 15 s");
    }
    fprintf (stderr, "# READY=1 after %lld ms\n", kit_now_ms () - t0);
    /*  At once, no retry: the endpoint takes a client... */
    int rc = 0;
    zmgr_client_t *c = zmgr_client_new_timeout (sd.ipc, 2000, &rc);
    if (!c)
        fprintf (stderr, "connect right after READY=1: %s\n", zmgr_errname (rc));
    assert_non_null (c);
    /*  ...and the local worker is connected: an array of one worker map. */
    zmgr_value_t *workers = NULL;
    assert_int_equal (zmgr_workers (c, &workers), 0);
    size_t len = 0;
    const uint8_t *packed = zmgr_value_packed (workers, &len);
    assert_true (len > 1);
    assert_int_equal (packed[0], 0x91);   /* msgpack fixarray of 1 */
    zmgr_value_destroy (&workers);
    zmgr_client_destroy (&c);

    /*  STATUS= comes with READY=1 (or right after) and then every 5 s. */
    if (!strstr (msg, "STATUS="))
        assert_true (s_wait_for (&sd, "STATUS=", true, msg, sizeof msg, 7000));
    fprintf (stderr, "# %s\n", strstr (msg, "STATUS="));
    assert_non_null (strstr (msg, "1 local workers up"));
    assert_true (s_wait_for (&sd, "STATUS=", true, msg, sizeof msg, 7000));

    kill (sd.pid, SIGTERM);
    assert_true (s_wait_for (&sd, "STOPPING=1", false, NULL, 0, 10000));
    int status = s_stop (&sd);
    if (status != 0)
        s_dump_log (&sd);
    assert_int_equal (status, 0);
    s_cleanup (&sd);
}

static void test_no_workers_ready_at_once (void **state)
{
    (void) state;
    s_sd_t sd;
    const char *args[] = { "--workers", "0", NULL };
    s_start (&sd, args, NULL, false);
    long long t0 = kit_now_ms ();
    assert_true (s_wait_for (&sd, "READY=1", false, NULL, 0, 10000));
    assert_true (kit_now_ms () - t0 < 5000);
    int rc = 0;
    zmgr_client_t *c = zmgr_client_new_timeout (sd.ipc, 2000, &rc);
    assert_non_null (c);
    assert_int_equal (zmgr_ping (c, NULL), 0);
    zmgr_client_destroy (&c);
    assert_int_equal (s_stop (&sd), 0);
    s_cleanup (&sd);
}

static void test_watchdog (void **state)
{
    (void) state;
    s_sd_t sd;
    const char *args[] = { "--workers", "0", NULL };
    s_start (&sd, args, "400000", false);
    assert_true (s_wait_for (&sd, "READY=1", false, NULL, 0, 10000));
    /*  Count WATCHDOG=1 for 2 s: one every 200 ms is expected, and the
     *  gap that matters is the largest, which must stay under 400 ms. */
    long long start = kit_now_ms (), last = -1, max_gap = 0;
    int pings = 0;
    char buf[4096];
    while (kit_now_ms () - start < 2000) {
        if (s_recv (&sd, buf, sizeof buf, 500) < 0)
            break;
        if (!s_has_line (buf, "WATCHDOG=1"))
            continue;
        long long now = kit_now_ms ();
        if (last >= 0 && now - last > max_gap)
            max_gap = now - last;
        last = now;
        pings++;
    }
    fprintf (stderr, "# WATCHDOG_USEC=400000: %d pings in 2 s, largest gap %lld ms\n", pings,
             max_gap);
    assert_true (pings >= 8 && pings <= 12);
    assert_true (max_gap < 400);
    assert_int_equal (s_stop (&sd), 0);
    s_cleanup (&sd);
}

static void test_watchdog_for_another_pid (void **state)
{
    (void) state;
    s_sd_t sd;
    const char *args[] = { "--workers", "0", NULL };
    s_start (&sd, args, "400000", true);
    assert_true (s_wait_for (&sd, "READY=1", false, NULL, 0, 10000));
    /*  WATCHDOG_PID names the test, not zmgrd: the watchdog is not its. */
    assert_false (s_wait_for (&sd, "WATCHDOG=1", false, NULL, 0, 800));
    assert_int_equal (s_stop (&sd), 0);
    s_cleanup (&sd);
}

int main (void)
{
    if (!s_zmgrd_has_sd_notify ()) {
        fprintf (stderr, "%s has no sd_notify (built without libsystemd): skipped\n",
                 kit_zmgrd_path ());
        return 77;
    }
    atexit (s_kill_leftover);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_ready_means_ready),
        cmocka_unit_test (test_no_workers_ready_at_once),
        cmocka_unit_test (test_watchdog),
        cmocka_unit_test (test_watchdog_for_another_pid),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
