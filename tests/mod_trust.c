/*  tests/mod_trust.c - the task module of it_jobs_trust (trust.so)
 *  Two functions whose side effects the test can see from outside:
 *    track [path, first_ms, later_ms]   appends "start PID" to path, runs
 *        first_ms on its first call for that path (a marker file path.ran
 *        says whether one was made) and later_ms after, paying no heed to
 *        cancels (a function stuck in its work), then appends "end PID" and
 *        returns its pid. The lines show which attempts ran when.
 *    poison [path]   writes a line to stderr, then, while path exists,
 *        kills its own process with SIGABRT (no core; a failed
 *        assertion, and a signal sanitizers leave alone); else returns "ok".
 *  Built against zmgr_module.h alone, as a user's module is. */
#define _GNU_SOURCE
#include <zmgr_module.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long long s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  One line, appended in one write (O_APPEND keeps lines whole). */
static void s_append (const char *path, const char *what)
{
    char line[64];
    int n = snprintf (line, sizeof line, "%s %d\n", what, (int)getpid ());
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (write (fd, line, (size_t)n) != n)
        n = 0;
    close (fd);
}

static void s_track (zmgr_task_t *task, void *user)
{
    (void)user;
    char *path = NULL;
    int64_t first, later;
    if (zmgr_task_arg_str (task, 0, &path) != 0 ||
        zmgr_task_arg_int (task, 1, &first) != 0 ||
        zmgr_task_arg_int (task, 2, &later) != 0) {
        free (path);
        zmgr_task_error (task, "track takes a path and two durations in ms");
        return;
    }
    char marker[4200];
    snprintf (marker, sizeof marker, "%s.ran", path);
    int m = open (marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    long long run = m >= 0 ? first : later;
    if (m >= 0)
        close (m);
    s_append (path, "start");
    long long end = s_now_ms () + run;
    while (s_now_ms () < end) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep (&ts, NULL);
    }
    s_append (path, "end");
    free (path);
    zmgr_task_result_int (task, getpid ());
}

static void s_poison (zmgr_task_t *task, void *user)
{
    (void)user;
    char *path = NULL;
    if (zmgr_task_arg_str (task, 0, &path) != 0) {
        zmgr_task_error (task, "poison takes a path");
        return;
    }
    fprintf (stderr, "poison: job %llu in pid %d, about to crash\n",
             (unsigned long long)zmgr_task_id (task), (int)getpid ());
    fflush (stderr);
    if (access (path, F_OK) == 0) {
        struct rlimit none = {0, 0};
        setrlimit (RLIMIT_CORE, &none);
        raise (SIGABRT);
    }
    free (path);
    zmgr_task_result_str (task, "ok");
}

/*  Exported explicitly: the project builds with hidden visibility. */
ZMGR_EXPORT int zmgr_module_init (zmgr_worker_t *worker, int abi);

int zmgr_module_init (zmgr_worker_t *worker, int abi)
{
    if (abi != ZMGR_MODULE_ABI)
        return -1;
    if (zmgr_worker_add (worker, "track", s_track, NULL) != 0)
        return -1;
    return zmgr_worker_add (worker, "poison", s_poison, NULL);
}
