/*  tests/kit_broker.c - the kit's broker that outlives its processes: a
 *  zmgrd on a data dir, killed and started again on the same temp dir
 *  (same data dir, same ipc endpoint), for crash loops. See kit.h. */
#define _GNU_SOURCE
#include "kit.h"
#include "zmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t s_broker_pid;     /* kit_broker_t's zmgrd to kill at exit, if any */

static void s_kill_broker (void)
{
    if (s_broker_pid > 0) {
        kill (s_broker_pid, SIGKILL);
        waitpid (s_broker_pid, NULL, 0);
    }
}

static void s_hook_exit (void)
{
    static bool hooked;
    if (!hooked) {
        atexit (s_kill_broker);
        hooked = true;
    }
}

/* ---- a broker that is killed and started again ---------------------------- */

int kit_broker_init (kit_broker_t *b, const char *const *args, const char *const *env)
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
    kit_local_endpoint (b->dir, b->endpoint, sizeof b->endpoint);
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
static int s_broker_spawn (kit_broker_t *b)
{
    const char *argv[26];
    size_t argc = 0;
    argv[argc++] = kit_zmgrd_path ();
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
static bool s_broker_ended (kit_broker_t *b)
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

int kit_broker_start (kit_broker_t *b, int timeout_ms, bool retry)
{
    long long deadline = kit_now_ms () + timeout_ms;
    if (b->pid <= 0 && s_broker_spawn (b) != 0)
        return -1;
    while (kit_now_ms () < deadline) {
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

void kit_broker_kill (kit_broker_t *b)
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

int kit_broker_wait_exit (kit_broker_t *b, int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    for (;;) {
        if (s_broker_ended (b))
            return b->status;
        if (kit_now_ms () >= deadline)
            return -1;
        usleep (10 * 1000);
    }
}

int kit_broker_stop (kit_broker_t *b)
{
    if (b->pid <= 0)
        return -1;
    kill (b->pid, SIGTERM);
    int rc = kit_broker_wait_exit (b, 10000);
    if (rc < 0)
        kit_broker_kill (b);
    return rc;
}

void kit_broker_fini (kit_broker_t *b)
{
    if (b->pid > 0)
        kit_broker_stop (b);
    if (b->dir[0])
        kit_rmtree (b->dir);
    b->dir[0] = '\0';
}

int kit_broker_log_count (const kit_broker_t *b, const char *text)
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

void kit_broker_log_tail (const kit_broker_t *b, int lines)
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
