/*  tests/kit.c - the kit's processes: the real zmgrd, forked children, commands run
 *  to completion, and the libzmgr helpers the integration tests share
 *  Every pid started here is in one table, so that the atexit hook (and a
 *  watchdog, through kit_kill_all) can kill what a failed test left running;
 *  daemons' temp dirs are in it too, to be removed. See kit.h. */
#define _GNU_SOURCE
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "kit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- what we started ------------------------------------------------------ */

/*  One process the kit started. Children are "kit_child_*"; daemons carry their
 *  dir, removed at exit unless kit_daemon_fini removed it first. */
typedef struct {
    volatile pid_t pid;   /* 0 when reaped or never started */
    bool daemon;          /* a zmgrd (else a child) */
    char dir[256];        /* a daemon's temp dir, "" when none or removed */
} s_proc_t;

#define S_MAX_PROCS 64
static s_proc_t s_procs[S_MAX_PROCS];
static pid_t s_owner;     /* the process whose atexit hook this is */

void kit_rmtree (const char *dir)
{
    char cmd[512];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", dir);
}

/*  At exit of the test process (never of a child that called exit by mistake):
 *  kill and reap what is left, remove the dirs. */
static void s_at_exit (void)
{
    if (getpid () != s_owner)
        return;
    for (int i = 0; i < S_MAX_PROCS; i++) {
        if (s_procs[i].pid > 0) {
            kill (s_procs[i].pid, SIGKILL);
            waitpid (s_procs[i].pid, NULL, 0);
            s_procs[i].pid = 0;
        }
        if (s_procs[i].dir[0]) {
            kit_rmtree (s_procs[i].dir);
            s_procs[i].dir[0] = '\0';
        }
    }
}

static void s_hook (void)
{
    if (s_owner != getpid ()) {
        s_owner = getpid ();
        atexit (s_at_exit);
    }
}

/*  A free slot for pid (a full table only loses the atexit safety net). */
static void s_track (pid_t pid, bool daemon, const char *dir)
{
    s_hook ();
    for (int i = 0; i < S_MAX_PROCS; i++)
        if (s_procs[i].pid == 0 && !s_procs[i].dir[0]) {
            s_procs[i].daemon = daemon;
            snprintf (s_procs[i].dir, sizeof s_procs[i].dir, "%s", dir ? dir : "");
            s_procs[i].pid = pid;
            return;
        }
    fprintf (stderr, "kit: more than %d processes; %d is not tracked\n", S_MAX_PROCS,
             (int) pid);
}

/*  The slot of pid, or of a daemon's dir when pid is 0. */
static s_proc_t *s_find (pid_t pid, const char *dir)
{
    for (int i = 0; i < S_MAX_PROCS; i++)
        if (pid > 0 ? s_procs[i].pid == pid
                    : dir && dir[0] && strcmp (s_procs[i].dir, dir) == 0)
            return &s_procs[i];
    return NULL;
}

static void s_untrack (pid_t pid)
{
    s_proc_t *p = s_find (pid, NULL);
    if (p)
        p->pid = 0;
}

void kit_kill_all (void)
{
    for (int i = 0; i < S_MAX_PROCS; i++)
        if (s_procs[i].pid > 0)
            kill (s_procs[i].pid, SIGKILL);
}

void kit_children_kill (void)
{
    for (int i = 0; i < S_MAX_PROCS; i++)
        if (s_procs[i].pid > 0 && !s_procs[i].daemon) {
            kill (s_procs[i].pid, SIGKILL);
            waitpid (s_procs[i].pid, NULL, 0);
            s_procs[i].pid = 0;
        }
}

/* ---- clock, paths, files --------------------------------------------------- */

long long kit_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *s_env_or (const char *name, const char *fallback)
{
    const char *p = getenv (name);
    return p && *p ? p : fallback;
}

const char *kit_zmgrd_path (void)
{
    return s_env_or ("ZMGRD", "./zmgrd");
}

const char *kit_cli_path (void)
{
    return s_env_or ("ZMGR_CLI", "./zmgr");
}

const char *kit_worker_path (void)
{
    return s_env_or ("ZMGR_WORKER", "./zmgr-worker");
}

char *kit_slurp (const char *path)
{
    FILE *f = fopen (path, "r");
    size_t cap = 4096, n = 0;
    char *buf = malloc (cap);
    assert_non_null (buf);
    size_t got;
    while (f && (got = fread (buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc (buf, cap);
            assert_non_null (buf);
        }
    }
    buf[n] = '\0';
    if (f)
        fclose (f);
    return buf;
}

bool kit_file_has (const char *path, const char *text, int wait_ms)
{
    long long deadline = kit_now_ms () + wait_ms;
    for (;;) {
        char *all = kit_slurp (path);
        bool found = strstr (all, text) != NULL;
        free (all);
        if (found || kit_now_ms () >= deadline)
            return found;
        usleep (20 * 1000);
    }
}

void kit_tmpdir (char *dir, size_t size)
{
    snprintf (dir, size, "/tmp/zmgr-test-XXXXXX");
    if (!mkdtemp (dir))
        fail_msg ("mkdtemp %s: %s", dir, strerror (errno));
}

/* ---- the daemon ------------------------------------------------------------ */

const char *kit_transport (void)
{
    const char *t = getenv ("ZMGR_TEST_TRANSPORT");
    return t && !strcmp (t, "ipc") ? "ipc" : "unix";
}

void kit_local_endpoint (const char *dir, char *ep, size_t size)
{
    if (!strcmp (kit_transport (), "ipc"))
        snprintf (ep, size, "ipc://%s/zmgr/zmgrd.sock", dir);
    else
        snprintf (ep, size, "unix://%s/zmgr/zmgrd.unix", dir);
}

void kit_ipc_endpoint (const char *dir, char *ep, size_t size)
{
    snprintf (ep, size, "ipc://%s/zmgr/zmgrd.sock", dir);
}

const char *kit_endpoint_path (const char *ep)
{
    const char *colon = strstr (ep, "://");
    return colon ? colon + 3 : ep;
}

/*  Copies args into d's argv (after the zmgrd path). -1 when they do not fit. */
static int s_copy_args (kit_daemon_t *d, const char *const *args)
{
    size_t argc = 0, used = 0;
    d->argv[argc++] = kit_zmgrd_path ();
    for (size_t i = 0; args && args[i]; i++) {
        size_t len = strlen (args[i]) + 1;
        if (argc == KIT_DAEMON_MAX_ARGS + 1 || used + len > sizeof d->argbuf) {
            fprintf (stderr, "kit: too many or too long zmgrd arguments\n");
            return -1;
        }
        memcpy (d->argbuf + used, args[i], len);
        d->argv[argc++] = d->argbuf + used;
        used += len;
    }
    d->argv[argc] = NULL;
    return 0;
}

void kit_daemon_env (const kit_daemon_t *d)
{
    setenv ("XDG_RUNTIME_DIR", d->dir, 1);
    setenv (ZMGR_ENDPOINT_ENV, d->endpoint, 1);
}

/*  Forks and execs d's argv; then pings until it answers (10 s at most). */
static int s_daemon_run (kit_daemon_t *d)
{
    fflush (stdout);
    fflush (stderr);
    d->pid = fork ();
    if (d->pid < 0) {
        perror ("fork");
        d->pid = 0;
        return -1;
    }
    if (d->pid == 0) {
        if (d->log[0]) {
            int fd = open (d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (fd < 0 || dup2 (fd, 2) < 0)
                _exit (126);
        }
        if (d->flags & KIT_DAEMON_FEW_FDS) {
            struct rlimit rl = { KIT_FEW_FDS, KIT_FEW_FDS };
            if (setrlimit (RLIMIT_NOFILE, &rl) != 0) {
                fprintf (stderr, "setrlimit NOFILE %d: %s\n", KIT_FEW_FDS, strerror (errno));
                _exit (126);
            }
        }
        /*  Not under the test's service manager, if it has one. */
        unsetenv ("NOTIFY_SOCKET");
        unsetenv ("JOURNAL_STREAM");
        setenv ("XDG_RUNTIME_DIR", d->dir, 1);
        execv (d->argv[0], (char *const *) d->argv);
        fprintf (stderr, "exec %s: %s\n", d->argv[0], strerror (errno));
        _exit (127);
    }
    s_proc_t *p = s_find (0, d->dir);
    if (p)
        p->pid = d->pid;
    else
        s_track (d->pid, true, d->dir);
    long long deadline = kit_now_ms () + 10000;
    while (kit_now_ms () < deadline) {
        if (!kit_daemon_alive (d)) {
            fprintf (stderr, "zmgrd exited during start (status %d)\n", d->status);
            kit_daemon_dump_log (d);
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
    kit_daemon_dump_log (d);
    return -1;
}

int kit_daemon_start_ex (kit_daemon_t *d, unsigned flags, const char *const *args)
{
    memset (d, 0, sizeof *d);
    d->status = -1;
    d->flags = flags;
    snprintf (d->dir, sizeof d->dir, "/tmp/zmgr-test-XXXXXX");
    if (!mkdtemp (d->dir)) {
        perror ("mkdtemp");
        d->dir[0] = '\0';
        return -1;
    }
    s_track (0, true, d->dir);
    kit_local_endpoint (d->dir, d->endpoint, sizeof d->endpoint);
    if (flags & KIT_DAEMON_LOG)
        snprintf (d->log, sizeof d->log, "%s/zmgrd.log", d->dir);
    kit_daemon_env (d);
    if (s_copy_args (d, args) != 0)
        return -1;
    return s_daemon_run (d);
}

int kit_daemon_start (kit_daemon_t *d, const char *const *args)
{
    return kit_daemon_start_ex (d, 0, args);
}

/*  Reaps d if it exited: true then (its status recorded). */
static bool s_reaped (kit_daemon_t *d, int options)
{
    int st;
    pid_t r = waitpid (d->pid, &st, options);
    if (r != d->pid)
        return false;
    d->status = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
    s_untrack (d->pid);
    d->pid = 0;
    return true;
}

bool kit_daemon_alive (kit_daemon_t *d)
{
    return d->pid > 0 && !s_reaped (d, WNOHANG);
}

int kit_daemon_stop (kit_daemon_t *d)
{
    if (d->pid > 0) {
        kill (d->pid, SIGTERM);
        long long deadline = kit_now_ms () + 10000;
        while (!s_reaped (d, WNOHANG) && kit_now_ms () < deadline)
            usleep (10 * 1000);
        if (d->pid > 0) {
            fprintf (stderr, "zmgrd %d did not exit within 10 s of SIGTERM: killed\n",
                     (int) d->pid);
            kill (d->pid, SIGKILL);
            s_reaped (d, 0);
            d->status = -1;
        }
    }
    if (d->status != 0)
        fprintf (stderr, "zmgrd did not exit cleanly: %d\n", d->status);
    return d->status;
}

int kit_daemon_kill (kit_daemon_t *d)
{
    if (d->pid <= 0)
        return -1;
    kill (d->pid, SIGKILL);
    s_reaped (d, 0);
    return 0;
}

int kit_daemon_restart (kit_daemon_t *d)
{
    if (!d->dir[0])
        return -1;
    if (d->pid > 0)
        kit_daemon_stop (d);
    kit_daemon_env (d);
    return s_daemon_run (d);
}

int kit_daemon_fini (kit_daemon_t *d)
{
    if (d->pid > 0)
        kit_daemon_stop (d);
    if (d->dir[0]) {
        s_proc_t *p = s_find (0, d->dir);
        if (p)
            p->dir[0] = '\0';
        kit_rmtree (d->dir);
        d->dir[0] = '\0';
    }
    return d->status;
}

bool kit_daemon_log_has (const kit_daemon_t *d, const char *text, int wait_ms)
{
    return d->log[0] && kit_file_has (d->log, text, wait_ms);
}

void kit_daemon_dump_log (const kit_daemon_t *d)
{
    if (!d->log[0])
        return;
    char *log = kit_slurp (d->log);
    fprintf (stderr, "---- zmgrd log %s ----\n%s---- end ----\n", d->log, log);
    free (log);
}

/* ---- libzmgr helpers -------------------------------------------------------- */

zmgr_client_t *kit_client (const char *endpoint, int timeout_ms)
{
    int st = 0;
    zmgr_client_t *c = zmgr_client_new_timeout (endpoint, timeout_ms, &st);
    if (!c)
        fprintf (stderr, "  client of %s: %s\n", endpoint, zmgr_errname (st));
    return c;
}

int64_t kit_stat_int (zmgr_client_t *c, const char *key)
{
    zmgr_value_t *st = NULL;
    assert_int_equal (zmgr_stats (c, &st), 0);
    msgpack_unpacked u;
    int64_t found = -1;
    if (kit_unpack (st, &u)) {
        const msgpack_object *v = kit_map_get (&u.data, key);
        if (v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            found = (int64_t) v->via.u64;
    }
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&st);
    return found;
}

/* ---- children ---------------------------------------------------------------- */

pid_t kit_child_spawn (kit_child_fn fn, void *arg)
{
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        /*  Not the parent's watchdog, if it has one (it would kill the daemon). */
        signal (SIGALRM, SIG_DFL);
        alarm (60);
        _exit (fn (arg));
    }
    s_track (pid, false, NULL);
    return pid;
}

pid_t kit_spawn (const char *const *argv)
{
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        execv (argv[0], (char *const *) argv);
        fprintf (stderr, "exec %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    s_track (pid, false, NULL);
    return pid;
}

int kit_child_wait (pid_t pid, int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    int st = 0;
    for (;;) {
        pid_t r = waitpid (pid, &st, WNOHANG);
        if (r == pid) {
            s_untrack (pid);
            return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
        }
        if (r < 0 && errno != EINTR) {
            s_untrack (pid);
            return -2;
        }
        if (kit_now_ms () >= deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, NULL, 0);
            s_untrack (pid);
            fprintf (stderr, "  child %d killed after %d ms\n", (int) pid, timeout_ms);
            return -1;
        }
        usleep (5 * 1000);
    }
}

int kit_child_stop (pid_t pid, int timeout_ms)
{
    kill (pid, SIGTERM);
    return kit_child_wait (pid, timeout_ms);
}

/*  One read of at most n bytes from fd, waiting for it until deadline: the
 *  bytes read, or 0 on EOF, error or time out. */
static size_t s_read_some (int fd, void *buf, size_t n, long long deadline)
{
    for (;;) {
        long long left = deadline - kit_now_ms ();
        if (left <= 0)
            return 0;
        struct pollfd pfd = { fd, POLLIN, 0 };
        int rc = poll (&pfd, 1, (int) left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return 0;
        ssize_t r = read (fd, buf, n);
        if (r < 0 && errno == EINTR)
            continue;
        return r > 0 ? (size_t) r : 0;
    }
}

bool kit_read_full (int fd, void *buf, size_t n, int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    size_t got = 0, r = 1;
    while (got < n && r > 0) {
        r = s_read_some (fd, (char *) buf + got, n - got, deadline);
        got += r;
    }
    return got == n;
}

bool kit_read_line (int fd, char *buf, size_t size, long long deadline)
{
    size_t n = 0;
    char ch;
    while (s_read_some (fd, &ch, 1, deadline) == 1) {
        if (ch == '\n') {
            buf[n] = '\0';
            return true;
        }
        if (n + 1 < size)
            buf[n++] = ch;
    }
    return false;
}

void kit_write_full (int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write (fd, (const char *) buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        done += (size_t) w;
    }
}

/* ---- commands run to completion ---------------------------------------------- */

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

int kit_run (const char *const *argv, const char *input, char *out, size_t out_size,
             char *err, size_t err_size, int timeout_ms)
{
    int pin[2], pout[2], perr[2];
    if (pipe (pin) || pipe (pout) || pipe (perr))
        return -1;
    fflush (stdout);
    fflush (stderr);
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
    s_track (pid, false, NULL);
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
    long long deadline = kit_now_ms () + timeout_ms;
    while ((oopen || eopen) && kit_now_ms () < deadline) {
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
        if (kit_now_ms () >= deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, &st, 0);
            s_untrack (pid);
            return 128 + SIGKILL;
        }
        usleep (5000);
    }
    s_untrack (pid);
    return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
}
