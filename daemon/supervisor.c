/*  daemon/supervisor.c - local worker processes: start, reap, restart
 *  zmgrd starts --workers N copies of zmgr-worker by fork+exec (a ZeroMQ
 *  context must not cross a fork, so the child execs at once), each told
 *  to connect back to our first ipc endpoint. A worker that exits is
 *  restarted: at once when it left cleanly (it recycles itself after
 *  --max-tasks-per-child jobs), else after a backoff that doubles from
 *  100 ms to 10 s, so that a crashing module cannot spin the CPU; the
 *  backoff resets once a worker has lived 10 s. A worker whose modules
 *  will not load (zmgr-worker's exit 3) S_MODULE_FAILS_MAX times in a row
 *  is not restarted at all: restarting cannot fix a module, and the loop
 *  would never end; it counts as failed (stats: local_workers_failed)
 *  until a SIGHUP tries again. SIGCHLD arrives through the loop's
 *  signalfd; children get a clean signal mask before exec.
 *  supervisor_check_modules runs zmgr-worker --check for --check-config. */
#define _GNU_SOURCE
#include "supervisor.h"
#include "config.h"
#include "log.h"
#include "stats.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_WORKERS 1024
#define S_BACKOFF_MIN 100
#define S_BACKOFF_MAX 10000
#define S_STABLE_MS 10000
#define S_EXIT_MODULE 3        /* zmgr-worker: a module did not load */
#define S_MODULE_FAILS_MAX 3   /* such exits in a row before giving up */
#define S_CHECK_WAIT_MS 10000  /* supervisor_check_modules' bound */

typedef struct {
    pid_t pid;              /* running child, 0 when none */
    char secret[33];        /* handed to this spawn only: its hello proves it is ours */
    bool connected;         /* it said hello */
    int64_t started_ms;     /* when it was started */
    int64_t next_start_ms;  /* when to start it again, when pid is 0 */
    int backoff_ms;         /* the wait before the next restart */
    unsigned restarts;      /* how often it was restarted */
    bool retired;           /* beyond the configured count: not restarted */
    int module_fails;       /* exits for a module that did not load, in a row */
    bool failed;            /* gave up on it (module_fails): not restarted */
} s_slot_t;

static s_slot_t *s_slots;   /* one per local worker */
static size_t s_nslots;
static bool s_stopping;     /* no more restarts */

static char s_ep[512];      /* where local workers connect */

static const char *s_endpoint (void)
{
    return s_ep;
}

static void s_spawn (size_t i)
{
    s_slot_t *slot = &s_slots[i];
    char name[32], max_tasks[32], credit[16];
    snprintf (name, sizeof name, "local-%zu", i + 1);
    snprintf (max_tasks, sizeof max_tasks, "%ld", g_cfg.max_tasks_per_child);
    const char *argv[64];
    size_t argc = 0;
    argv[argc++] = g_cfg.worker_path;
    argv[argc++] = "--connect";
    argv[argc++] = s_endpoint ();
    argv[argc++] = "--name";
    argv[argc++] = name;
    snprintf (credit, sizeof credit, "%d", g_cfg.worker_credit > 0 ? g_cfg.worker_credit : 1);
    argv[argc++] = "--credit";
    argv[argc++] = credit;
    if (g_cfg.max_tasks_per_child > 0) {
        argv[argc++] = "--max-tasks";
        argv[argc++] = max_tasks;
    }
    if (g_cfg.exec_enabled)
        argv[argc++] = "--exec";
    for (size_t m = 0; m < g_cfg.nmodules && argc < 60; m++) {
        argv[argc++] = "--module";
        argv[argc++] = g_cfg.modules[m];
    }
    argv[argc] = NULL;
    /*  A fresh secret per spawn, in the child's environment only (not on
     *  its command line, which every local user can read): a worker is
     *  local because it knows it, never because of what it says of its
     *  host or pid. */
    uint8_t raw[16];
    if (getrandom (raw, sizeof raw, 0) != (ssize_t) sizeof raw) {
        log_msg (LOG_ERR, errno, "getrandom for worker %s", name);
        slot->next_start_ms = now_ms () + slot->backoff_ms;
        return;
    }
    for (size_t k = 0; k < sizeof raw; k++)
        snprintf (slot->secret + 2 * k, 3, "%02x", raw[k]);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        log_msg (LOG_ERR, errno, "fork for worker %s", name);
        slot->next_start_ms = now_ms () + slot->backoff_ms;
        return;
    }
    if (pid == 0) {
        /*  Nothing of the parent's ZeroMQ state is touched here: reset the
         *  signal mask and exec. */
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        signal (SIGPIPE, SIG_DFL);
        /*  A local worker dies with its broker (an external one must not:
         *  it outlives the shell that started it, so zmgr-worker cannot
         *  ask for this itself). */
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (0);
        setenv ("ZMGR_WORKER_SECRET", slot->secret, 1);
        execv (argv[0], (char *const *) argv);
        fprintf (stderr, "zmgrd: exec %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    slot->pid = pid;
    slot->connected = false;
    slot->started_ms = now_ms ();
    log_msg (LOG_INFO, 0, "worker %s started, pid %d", name, (int) pid);
}

int supervisor_start (const char *endpoint)
{
    snprintf (s_ep, sizeof s_ep, "%s", endpoint ? endpoint : "");
    if (g_cfg.workers <= 0)
        return 0;
    if (!g_cfg.worker_path || access (g_cfg.worker_path, X_OK) != 0) {
        log_msg (LOG_ERR, errno, "worker executable %s", g_cfg.worker_path ? g_cfg.worker_path : "(none)");
        return -1;
    }
    s_nslots = (size_t) g_cfg.workers > S_MAX_WORKERS ? S_MAX_WORKERS : (size_t) g_cfg.workers;
    s_slots = xcalloc (s_nslots, sizeof *s_slots);
    for (size_t i = 0; i < s_nslots; i++) {
        s_slots[i].backoff_ms = S_BACKOFF_MIN;
        s_spawn (i);
    }
    return 0;
}

void supervisor_reap (void (*other) (pid_t pid, int status))
{
    int st;
    pid_t pid;
    while ((pid = waitpid (-1, &st, WNOHANG)) > 0) {
        bool ours = false;
        for (size_t i = 0; i < s_nslots; i++)
            ours = ours || s_slots[i].pid == pid;
        if (!ours && other)
            other (pid, st);
        for (size_t i = 0; i < s_nslots; i++) {
            s_slot_t *slot = &s_slots[i];
            if (slot->pid != pid)
                continue;
            int64_t now = now_ms ();
            bool clean = WIFEXITED (st) && WEXITSTATUS (st) == 0;
            if (now - slot->started_ms >= S_STABLE_MS)
                slot->backoff_ms = S_BACKOFF_MIN;
            slot->pid = 0;
            slot->connected = false;
            if (s_stopping || slot->retired)
                break;
            if (WIFEXITED (st) && WEXITSTATUS (st) == S_EXIT_MODULE
                && ++slot->module_fails >= S_MODULE_FAILS_MAX) {
                log_msg (LOG_ERR, 0, "worker local-%zu (pid %d): its modules did not load "
                         "%d times in a row; not restarting it (fix the module, then "
                         "SIGHUP zmgrd)", i + 1, (int) pid, slot->module_fails);
                slot->failed = true;
            } else if (clean) {
                log_msg (LOG_INFO, 0, "worker local-%zu (pid %d) exited; restarting", i + 1,
                         (int) pid);
                slot->next_start_ms = now;
            } else {
                if (WIFSIGNALED (st))
                    log_msg (LOG_WARNING, 0, "worker local-%zu (pid %d) killed by signal %d; "
                             "restart in %d ms", i + 1, (int) pid, WTERMSIG (st),
                             slot->backoff_ms);
                else
                    log_msg (LOG_WARNING, 0, "worker local-%zu (pid %d) exited with %d; "
                             "restart in %d ms", i + 1, (int) pid, WEXITSTATUS (st),
                             slot->backoff_ms);
                slot->next_start_ms = now + slot->backoff_ms;
                slot->backoff_ms = slot->backoff_ms * 2 > S_BACKOFF_MAX ? S_BACKOFF_MAX
                                                                        : slot->backoff_ms * 2;
            }
            slot->restarts++;
            break;
        }
    }
}

int64_t supervisor_tick (int64_t now)
{
    int64_t next = -1;
    if (s_stopping)
        return -1;
    for (size_t i = 0; i < s_nslots; i++) {
        s_slot_t *slot = &s_slots[i];
        if (slot->pid || slot->retired || slot->failed)
            continue;
        if (slot->next_start_ms <= now)
            s_spawn (i);
        else if (next < 0 || slot->next_start_ms - now < next)
            next = slot->next_start_ms - now;
    }
    return next;
}

bool supervisor_claim (pid_t pid, const uint8_t *secret, size_t len)
{
    for (size_t i = 0; i < s_nslots; i++) {
        s_slot_t *slot = &s_slots[i];
        if (slot->pid != pid || !slot->pid || len != strlen (slot->secret))
            continue;
        unsigned diff = 0;   /* compared in constant time */
        for (size_t k = 0; k < len; k++)
            diff |= (unsigned) (secret[k] ^ (uint8_t) slot->secret[k]);
        if (diff)
            return false;
        slot->connected = true;
        slot->module_fails = 0;   /* its modules loaded */
        return true;
    }
    return false;
}

void supervisor_kill (pid_t pid)
{
    for (size_t i = 0; i < s_nslots; i++)
        if (s_slots[i].pid == pid) {
            log_msg (LOG_NOTICE, 0, "killing worker local-%zu (pid %d)", i + 1, (int) pid);
            kill (pid, SIGKILL);
            return;
        }
}

size_t supervisor_connected (void)
{
    size_t n = 0;
    for (size_t i = 0; i < s_nslots; i++)
        n += s_slots[i].pid && s_slots[i].connected;
    return n;
}

void supervisor_stop (int wait_ms)
{
    s_stopping = true;
    for (size_t i = 0; i < s_nslots; i++)
        if (s_slots[i].pid)
            kill (s_slots[i].pid, SIGTERM);
    int64_t deadline = now_ms () + wait_ms;
    for (;;) {
        size_t alive = 0;
        for (size_t i = 0; i < s_nslots; i++) {
            if (!s_slots[i].pid)
                continue;
            int st;
            pid_t r = waitpid (s_slots[i].pid, &st, WNOHANG);
            if (r == s_slots[i].pid || (r < 0 && errno == ECHILD))
                s_slots[i].pid = 0;
            else
                alive++;
        }
        if (!alive)
            break;
        if (now_ms () >= deadline) {
            for (size_t i = 0; i < s_nslots; i++)
                if (s_slots[i].pid) {
                    log_msg (LOG_WARNING, 0, "worker local-%zu did not stop; killing it", i + 1);
                    kill (s_slots[i].pid, SIGKILL);
                    waitpid (s_slots[i].pid, NULL, 0);
                    s_slots[i].pid = 0;
                }
            break;
        }
        usleep (10000);
    }
    xfree (s_slots);
    s_slots = NULL;
    s_nslots = 0;
}

void supervisor_resize (int n)
{
    if (n < 0)
        n = 0;
    if ((size_t) n > S_MAX_WORKERS)
        n = S_MAX_WORKERS;
    if ((size_t) n > s_nslots) {
        s_slots = xrealloc (s_slots, (size_t) n * sizeof *s_slots);
        memset (s_slots + s_nslots, 0, ((size_t) n - s_nslots) * sizeof *s_slots);
        for (size_t i = s_nslots; i < (size_t) n; i++)
            s_slots[i].backoff_ms = S_BACKOFF_MIN;
        s_nslots = (size_t) n;
    }
    for (size_t i = 0; i < s_nslots; i++) {
        bool retire = i >= (size_t) n;
        if (retire && !s_slots[i].retired && s_slots[i].pid)
            kill (s_slots[i].pid, SIGTERM);   /* finishes its job, exits */
        if (!retire && s_slots[i].retired)
            s_slots[i].next_start_ms = 0;
        s_slots[i].retired = retire;
    }
    log_msg (LOG_NOTICE, 0, "local workers: now %d", n);
}

void supervisor_terminate (void)
{
    s_stopping = true;
    for (size_t i = 0; i < s_nslots; i++)
        if (s_slots[i].pid)
            kill (s_slots[i].pid, SIGTERM);
}

size_t supervisor_alive (void)
{
    size_t n = 0;
    for (size_t i = 0; i < s_nslots; i++)
        n += s_slots[i].pid != 0;
    return n;
}

size_t supervisor_failed (void)
{
    size_t n = 0;
    for (size_t i = 0; i < s_nslots; i++)
        n += s_slots[i].failed && !s_slots[i].retired;
    return n;
}

void supervisor_retry (void)
{
    for (size_t i = 0; i < s_nslots; i++)
        if (s_slots[i].failed) {
            s_slots[i].failed = false;
            s_slots[i].module_fails = 0;
            s_slots[i].backoff_ms = S_BACKOFF_MIN;
            s_slots[i].next_start_ms = 0;
            log_msg (LOG_NOTICE, 0, "worker local-%zu: trying its modules again", i + 1);
        }
}

int supervisor_check_modules (void)
{
    if (g_cfg.nmodules == 0)
        return 0;
    if (!g_cfg.worker_path || access (g_cfg.worker_path, X_OK) != 0) {
        fprintf (stderr, "zmgrd: cannot check the modules: worker executable %s: %s\n",
                 g_cfg.worker_path ? g_cfg.worker_path : "(none)", strerror (errno));
        return -1;
    }
    const char *argv[2 * 64 + 4];
    size_t argc = 0;
    argv[argc++] = g_cfg.worker_path;
    argv[argc++] = "--check";
    for (size_t m = 0; m < g_cfg.nmodules && argc < 2 * 64 + 2; m++) {
        argv[argc++] = "--module";
        argv[argc++] = g_cfg.modules[m];
    }
    argv[argc] = NULL;
    /*  A module's constructors run in the child, as in a worker: whatever
     *  they do cannot touch this process. */
    pid_t pid = fork ();
    if (pid < 0) {
        fprintf (stderr, "zmgrd: cannot check the modules: fork: %s\n", strerror (errno));
        return -1;
    }
    if (pid == 0) {
        /*  Its stdout would mix with the configuration printed. */
        int null = open ("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2 (null, 1);
        execv (argv[0], (char *const *) argv);
        fprintf (stderr, "zmgrd: exec %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    int st = 0;
    int64_t deadline = now_ms () + S_CHECK_WAIT_MS;
    pid_t r;
    while ((r = waitpid (pid, &st, WNOHANG)) == 0 && now_ms () < deadline)
        usleep (10000);
    if (r == 0) {
        kill (pid, SIGKILL);
        waitpid (pid, &st, 0);
        fprintf (stderr, "zmgrd: module check: %s --check did not finish in %d s\n",
                 g_cfg.worker_path, S_CHECK_WAIT_MS / 1000);
        return -1;
    }
    if (WIFEXITED (st) && WEXITSTATUS (st) == 0)
        return 0;
    if (WIFEXITED (st) && WEXITSTATUS (st) == S_EXIT_MODULE)
        fprintf (stderr, "zmgrd: module check: a module does not load in %s (above); "
                 "local workers could not start\n", g_cfg.worker_path);
    else if (WIFSIGNALED (st))
        fprintf (stderr, "zmgrd: module check: %s --check was killed by signal %d\n",
                 g_cfg.worker_path, WTERMSIG (st));
    else
        fprintf (stderr, "zmgrd: module check: %s --check exited with %d\n",
                 g_cfg.worker_path, WEXITSTATUS (st));
    return -1;
}
