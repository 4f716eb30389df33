/*  tests/testutil.c - start/stop a real zmgrd and run child commands
 *  Used by every it_*.c integration test; see testutil.h. */
#define _GNU_SOURCE
#include "testutil.h"
#include "zmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t s_leftover_pid;   /* daemon to kill at exit, if any */
static pid_t s_broker_pid;     /* zt_broker_t's zmgrd to kill at exit, if any */

static void s_kill_leftover (void)
{
    if (s_leftover_pid > 0) {
        kill (s_leftover_pid, SIGKILL);
        waitpid (s_leftover_pid, NULL, 0);
    }
    if (s_broker_pid > 0) {
        kill (s_broker_pid, SIGKILL);
        waitpid (s_broker_pid, NULL, 0);
    }
}

static void s_hook_exit (void)
{
    static bool hooked;
    if (!hooked) {
        atexit (s_kill_leftover);
        hooked = true;
    }
}

long long zt_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *zt_zmgrd_path (void)
{
    const char *p = getenv ("ZMGRD");
    return p ? p : "./zmgrd";
}

const char *zt_cli_path (void)
{
    const char *p = getenv ("ZMGR_CLI");
    return p ? p : "./zmgr";
}

int zt_daemon_start (zt_daemon_t *d, const char *const *extra_args)
{
    memset (d, 0, sizeof *d);
    snprintf (d->dir, sizeof d->dir, "/tmp/zmgr-test-XXXXXX");
    if (!mkdtemp (d->dir)) {
        perror ("mkdtemp");
        return -1;
    }
    setenv ("XDG_RUNTIME_DIR", d->dir, 1);
    snprintf (d->endpoint, sizeof d->endpoint, "ipc://%s/zmgr/zmgrd.sock",
              d->dir);
    setenv (ZMGR_ENDPOINT_ENV, d->endpoint, 1);

    const char *argv[32];
    size_t argc = 0;
    argv[argc++] = zt_zmgrd_path ();
    for (size_t i = 0; extra_args && extra_args[i] && argc < 30; i++)
        argv[argc++] = extra_args[i];
    argv[argc] = NULL;

    d->pid = fork ();
    if (d->pid < 0) {
        perror ("fork");
        return -1;
    }
    if (d->pid == 0) {
        execv (argv[0], (char *const *) argv);
        fprintf (stderr, "exec %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    s_leftover_pid = d->pid;
    s_hook_exit ();
    long long deadline = zt_now_ms () + 10000;
    while (zt_now_ms () < deadline) {
        if (!zt_daemon_alive (d)) {
            fprintf (stderr, "zmgrd exited during start\n");
            return -1;
        }
        int rc;
        zmgr_client_t *c = zmgr_client_new_timeout (d->endpoint, 500, &rc);
        if (c) {
            rc = zmgr_ping (c, NULL);
            zmgr_client_destroy (&c);
            if (rc == 0)
                return 0;
        }
        usleep (20 * 1000);
    }
    fprintf (stderr, "zmgrd did not answer within 10 s\n");
    return -1;
}

bool zt_daemon_alive (zt_daemon_t *d)
{
    if (d->pid <= 0)
        return false;
    int st;
    pid_t r = waitpid (d->pid, &st, WNOHANG);
    if (r == d->pid) {
        d->pid = 0;
        s_leftover_pid = 0;
        return false;
    }
    return true;
}

static void s_rmtree (const char *dir)
{
    char cmd[512];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", dir);
}

int zt_daemon_stop (zt_daemon_t *d)
{
    int result = -1;
    if (d->pid > 0) {
        kill (d->pid, SIGTERM);
        long long deadline = zt_now_ms () + 10000;
        int st = 0;
        pid_t r = 0;
        while (zt_now_ms () < deadline
               && (r = waitpid (d->pid, &st, WNOHANG)) == 0)
            usleep (10 * 1000);
        if (r == d->pid)
            result = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
        else {
            kill (d->pid, SIGKILL);
            waitpid (d->pid, NULL, 0);
        }
        d->pid = 0;
        s_leftover_pid = 0;
    }
    if (d->dir[0])
        s_rmtree (d->dir);
    return result;
}

/* ---- a broker that is killed and started again ---------------------------- */

int zt_broker_init (zt_broker_t *b, const char *const *args, const char *const *env)
{
    memset (b, 0, sizeof *b);
    b->status = -1;
    snprintf (b->dir, sizeof b->dir, "/tmp/zmgr-test-XXXXXX");
    if (!mkdtemp (b->dir)) {
        perror ("mkdtemp");
        b->dir[0] = '\0';
        return -1;
    }
    snprintf (b->data_dir, sizeof b->data_dir, "%s/data", b->dir);
    snprintf (b->log, sizeof b->log, "%s/zmgrd.log", b->dir);
    snprintf (b->endpoint, sizeof b->endpoint, "ipc://%s/zmgr/zmgrd.sock", b->dir);
    setenv ("XDG_RUNTIME_DIR", b->dir, 1);
    setenv (ZMGR_ENDPOINT_ENV, b->endpoint, 1);
    size_t n = 0, max = sizeof b->args / sizeof b->args[0] - 1;
    b->args[n++] = "--data-dir";
    b->args[n++] = b->data_dir;
    for (size_t i = 0; args && args[i] && n < max; i++)
        b->args[n++] = args[i];
    b->args[n] = NULL;
    n = 0;
    for (; env && env[n] && n + 1 < sizeof b->env / sizeof b->env[0]; n++)
        b->env[n] = env[n];
    b->env[n] = NULL;
    return 0;
}

/*  Forks and execs zmgrd, its stdout and stderr appended to the log. */
static int s_broker_spawn (zt_broker_t *b)
{
    const char *argv[26];
    size_t argc = 0;
    argv[argc++] = zt_zmgrd_path ();
    for (size_t i = 0; b->args[i]; i++)
        argv[argc++] = b->args[i];
    argv[argc] = NULL;
    int log = open (b->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0) {
        perror ("open the broker's log");
        return -1;
    }
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid < 0) {
        perror ("fork");
        close (log);
        return -1;
    }
    if (pid == 0) {
        dup2 (log, 1);
        dup2 (log, 2);
        int null = open ("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2 (null, 0);
        for (size_t i = 0; b->env[i]; i++)
            putenv ((char *) b->env[i]);
        execv (argv[0], (char *const *) argv);
        fprintf (stderr, "exec %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    close (log);
    b->pid = pid;
    b->starts++;
    s_broker_pid = pid;
    s_hook_exit ();
    return 0;
}

/*  Has zmgrd ended? Reaps it and keeps its status. */
static bool s_broker_ended (zt_broker_t *b)
{
    if (b->pid <= 0)
        return true;
    int st = 0;
    pid_t r = waitpid (b->pid, &st, WNOHANG);
    if (r == 0)
        return false;
    b->status = r == b->pid ? (WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st)) : -1;
    b->pid = 0;
    s_broker_pid = 0;
    return true;
}

int zt_broker_start (zt_broker_t *b, int timeout_ms, bool retry)
{
    long long deadline = zt_now_ms () + timeout_ms;
    if (b->pid <= 0 && s_broker_spawn (b) != 0)
        return -1;
    while (zt_now_ms () < deadline) {
        if (s_broker_ended (b)) {
            b->early_exits++;
            if (!retry)
                return -1;
            usleep (20 * 1000);
            if (s_broker_spawn (b) != 0)
                return -1;
            continue;
        }
        int rc;
        zmgr_client_t *c = zmgr_client_new_timeout (b->endpoint, 200, &rc);
        if (c) {
            rc = zmgr_ping (c, NULL);
            zmgr_client_destroy (&c);
            if (rc == 0)
                return 0;
        } else
            usleep (10 * 1000);
    }
    if (!s_broker_ended (b))
        b->status = -1;
    return -1;
}

void zt_broker_kill (zt_broker_t *b)
{
    if (b->pid > 0) {
        kill (b->pid, SIGKILL);
        int st = 0;
        if (waitpid (b->pid, &st, 0) == b->pid)
            b->status = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
        b->pid = 0;
        s_broker_pid = 0;
    }
}

int zt_broker_wait_exit (zt_broker_t *b, int timeout_ms)
{
    long long deadline = zt_now_ms () + timeout_ms;
    for (;;) {
        if (s_broker_ended (b))
            return b->status;
        if (zt_now_ms () >= deadline)
            return -1;
        usleep (10 * 1000);
    }
}

int zt_broker_stop (zt_broker_t *b)
{
    if (b->pid <= 0)
        return -1;
    kill (b->pid, SIGTERM);
    int rc = zt_broker_wait_exit (b, 10000);
    if (rc < 0)
        zt_broker_kill (b);
    return rc;
}

void zt_broker_fini (zt_broker_t *b)
{
    if (b->pid > 0)
        zt_broker_stop (b);
    if (b->dir[0])
        s_rmtree (b->dir);
    b->dir[0] = '\0';
}

int zt_broker_log_count (const zt_broker_t *b, const char *text)
{
    FILE *f = fopen (b->log, "r");
    if (!f)
        return 0;
    char line[2048];
    int n = 0;
    while (fgets (line, sizeof line, f))
        n += strstr (line, text) != NULL;
    fclose (f);
    return n;
}

void zt_broker_log_tail (const zt_broker_t *b, int lines)
{
    FILE *f = fopen (b->log, "r");
    if (!f)
        return;
    int total = 0;
    char line[2048];
    while (fgets (line, sizeof line, f))
        total++;
    rewind (f);
    for (int i = 0; fgets (line, sizeof line, f); i++)
        if (i >= total - lines)
            fprintf (stderr, "    log: %s", line);
    fclose (f);
}

/*  Reads what is available on fd into buf at *len (bounded by size-1). */
static void s_drain (int fd, char *buf, size_t size, size_t *len, bool *open)
{
    char scratch[4096];
    ssize_t n = read (fd, scratch, sizeof scratch);
    if (n <= 0) {
        *open = false;
        return;
    }
    if (buf && size > 0) {
        size_t room = size - 1 - *len;
        size_t take = (size_t) n < room ? (size_t) n : room;
        memcpy (buf + *len, scratch, take);
        *len += take;
        buf[*len] = '\0';
    }
}

int zt_run (const char *const *argv, const char *input, char *out,
            size_t out_size, char *err, size_t err_size, int timeout_ms)
{
    int pin[2], pout[2], perr[2];
    if (pipe (pin) || pipe (pout) || pipe (perr))
        return -1;
    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2 (pin[0], 0);
        dup2 (pout[1], 1);
        dup2 (perr[1], 2);
        close (pin[1]);
        close (pout[0]);
        close (perr[0]);
        execv (argv[0], (char *const *) argv);
        _exit (127);
    }
    close (pin[0]);
    close (pout[1]);
    close (perr[1]);
    if (input) {
        size_t left = strlen (input);
        const char *p = input;
        while (left > 0) {
            ssize_t n = write (pin[1], p, left);
            if (n <= 0)
                break;
            p += n;
            left -= (size_t) n;
        }
    }
    close (pin[1]);
    size_t olen = 0, elen = 0;
    if (out && out_size)
        out[0] = '\0';
    if (err && err_size)
        err[0] = '\0';
    bool oopen = true, eopen = true;
    long long deadline = zt_now_ms () + timeout_ms;
    while ((oopen || eopen) && zt_now_ms () < deadline) {
        struct pollfd fds[2] = { { oopen ? pout[0] : -1, POLLIN, 0 },
                                 { eopen ? perr[0] : -1, POLLIN, 0 } };
        int n = poll (fds, 2, 50);
        if (n <= 0)
            continue;
        if (fds[0].revents)
            s_drain (pout[0], out, out_size, &olen, &oopen);
        if (fds[1].revents)
            s_drain (perr[0], err, err_size, &elen, &eopen);
    }
    close (pout[0]);
    close (perr[0]);
    int st = 0;
    while (waitpid (pid, &st, WNOHANG) == 0) {
        if (zt_now_ms () >= deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, &st, 0);
            return 128 + SIGKILL;
        }
        usleep (5000);
    }
    return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
}
