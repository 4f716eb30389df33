/*  bench/gearman_client.c - the Gearman reference's load generator
 *  Submits N tasks to gearmand with libgearman the way its documentation
 *  runs many at once: gearman_client_add_task for each (workload: the
 *  task's number in decimal), then one gearman_client_run_tasks, which
 *  sends them all and takes the answers as they come (concurrent tasks,
 *  Gearman's apply_async). Every result must be the workload, returned by
 *  bench/gearman_worker's echo. With --background the tasks are background
 *  jobs and the run ends when gearmand has acknowledged all of them (JOB_
 *  CREATED): with a function no worker serves they stay queued, which is
 *  how bench/run_jobs.sh measures gearmand's memory per pending job.
 *  Prints one RESULT line of key=value pairs, as jobs_bench does.
 *  Usage: gearman_client --help. */
#define _GNU_SOURCE
#include <libgearman/gearman.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  What the callbacks count; libgearman calls them from run_tasks. */
typedef struct {
    uint64_t done;    /* tasks completed with the right result */
    uint64_t created; /* background tasks acknowledged */
    uint64_t errors;  /* failed, exception, or a wrong result */
    char first[200];  /* the first error, for the report */
} tally_t;

static tally_t s_tally;

static int64_t s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void s_error (const char *what, gearman_task_st *task)
{
    s_tally.errors++;
    if (!s_tally.first[0])
        snprintf (s_tally.first, sizeof s_tally.first, "task %" PRIuPTR ": %s",
                  (uintptr_t) gearman_task_context (task) - 1, what);
}

/*  The task's context is its number + 1; its result must be that number's
 *  decimal text, the workload it was given. */
static gearman_return_t s_on_complete (gearman_task_st *task)
{
    char want[24];
    int len = snprintf (want, sizeof want, "%" PRIuPTR,
                        (uintptr_t) gearman_task_context (task) - 1);
    if (gearman_task_data_size (task) == (size_t) len
        && memcmp (gearman_task_data (task), want, (size_t) len) == 0)
        s_tally.done++;
    else
        s_error ("echo returned something else", task);
    return GEARMAN_SUCCESS;
}

static gearman_return_t s_on_created (gearman_task_st *task)
{
    (void) task;
    s_tally.created++;
    return GEARMAN_SUCCESS;
}

static gearman_return_t s_on_fail (gearman_task_st *task)
{
    s_error ("failed", task);
    return GEARMAN_SUCCESS;
}

static gearman_return_t s_on_exception (gearman_task_st *task)
{
    s_error ("exception", task);
    return GEARMAN_SUCCESS;
}

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: gearman_client [--host H] --port P --tasks N [--function NAME]\n"
             "                      [--background]\n"
             "  adds N tasks (workload: the task number), runs them all at once\n"
             "  (gearman_client_run_tasks) and checks every result is the workload;\n"
             "  --background: background jobs; done when gearmand has queued them all\n"
             "Prints one line: RESULT key=value ...; exit 0 only if valid.\n");
}

int main (int argc, char **argv)
{
    const char *host = "127.0.0.1", *function = "echo";
    long port = 0;
    long long ntasks = 0;
    bool background = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "-h") || !strcmp (a, "--help")) {
            s_usage (stdout);
            return 0;
        }
        if (!strcmp (a, "--background")) {
            background = true;
            continue;
        }
        if (!v)
            goto bad;
        if (!strcmp (a, "--host"))
            host = v;
        else if (!strcmp (a, "--port"))
            port = strtol (v, NULL, 10);
        else if (!strcmp (a, "--tasks"))
            ntasks = strtoll (v, NULL, 10);
        else if (!strcmp (a, "--function"))
            function = v;
        else
            goto bad;
        i++;
    }
    if (port <= 0 || port > 65535 || ntasks < 1)
        goto bad;

    gearman_client_st *client = gearman_client_create (NULL);
    if (!client) {
        fprintf (stderr, "gearman_client: out of memory\n");
        return 2;
    }
    int rc = 1;
    gearman_return_t ret = gearman_client_add_server (client, host, (in_port_t) port);
    if (gearman_failed (ret)) {
        fprintf (stderr, "gearman_client: add server %s:%ld: %s\n", host, port,
                 gearman_client_error (client));
        goto done;
    }
    /*  Tasks are freed as soon as they end, so memory does not grow with N. */
    gearman_client_add_options (client, GEARMAN_CLIENT_FREE_TASKS);
    gearman_client_set_complete_fn (client, s_on_complete);
    gearman_client_set_created_fn (client, s_on_created);
    gearman_client_set_fail_fn (client, s_on_fail);
    gearman_client_set_exception_fn (client, s_on_exception);

    int64_t t0 = s_now_ns ();
    for (long long i = 0; i < ntasks; i++) {
        char workload[24];
        int len = snprintf (workload, sizeof workload, "%lld", i);
        void *ctx = (void *) (uintptr_t) (i + 1);
        gearman_task_st *task =
            background
                ? gearman_client_add_task_background (client, NULL, ctx, function, NULL,
                                                      workload, (size_t) len, &ret)
                : gearman_client_add_task (client, NULL, ctx, function, NULL, workload,
                                           (size_t) len, &ret);
        if (!task || gearman_failed (ret)) {
            fprintf (stderr, "gearman_client: add task %lld: %s\n", i,
                     gearman_client_error (client));
            break;   /* the run is invalid: fewer tasks end than asked */
        }
    }
    int64_t t1 = s_now_ns ();
    ret = gearman_client_run_tasks (client);
    int64_t t2 = s_now_ns ();
    if (gearman_failed (ret)) {
        fprintf (stderr, "gearman_client: run tasks: %s\n",
                 gearman_client_error (client));
        s_tally.errors++;
    }
    uint64_t ok = background ? s_tally.created : s_tally.done;
    if (ok != (uint64_t) ntasks && s_tally.errors == 0)
        s_tally.errors++; /* some never ended */
    double secs = (double) (t2 - t0) / 1e9;
    printf ("RESULT mode=gearman api=%s tasks=%" PRIu64 " seconds=%.3f"
            " add_seconds=%.3f jobs_per_sec=%.0f errors=%" PRIu64 " valid=%s\n",
            background ? "background" : "concurrent", ok, secs, (double) (t1 - t0) / 1e9,
            secs > 0 ? (double) ok / secs : 0, s_tally.errors,
            s_tally.errors ? "no" : "yes");
    fflush (stdout);
    if (s_tally.first[0])
        fprintf (stderr, "gearman_client: %s\n", s_tally.first);
    rc = s_tally.errors ? 1 : 0;
done:
    gearman_client_free (client);
    return rc;
bad:
    s_usage (stderr);
    return 2;
}
