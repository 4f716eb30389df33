/*  bench/gearman_worker.c - the Gearman reference's worker
 *  A libgearman worker with one function, "echo", that returns its workload
 *  unchanged: Gearman's counterpart of zmgr's built-in echo. bench/
 *  run_jobs.sh starts two of them against its own gearmand, as it starts
 *  zmgrd --workers 2. One job at a time, as zmgr's local workers run them.
 *  It runs until killed (SIGTERM's default action: there is nothing to
 *  flush) or until --max-jobs jobs are done.
 *  Usage: gearman_worker [--host H] --port P [--function NAME] [--max-jobs N] */
#define _GNU_SOURCE
#include <libgearman/gearman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  The task function (libgearman's v1 interface): the result is a malloc'd
 *  copy of the workload, which libgearman sends in WORK_COMPLETE and then
 *  frees with its allocator (free by default). */
static void *s_echo (gearman_job_st *job, void *context, size_t *result_size,
                     gearman_return_t *ret_ptr)
{
    (void) context;
    size_t size = gearman_job_workload_size (job);
    void *copy = malloc (size ? size : 1);
    if (!copy) {
        *result_size = 0;
        *ret_ptr = GEARMAN_WORK_FAIL;
        return NULL;
    }
    if (size)
        memcpy (copy, gearman_job_workload (job), size);
    *result_size = size;
    *ret_ptr = GEARMAN_SUCCESS;
    return copy;
}

static void s_usage (FILE *f)
{
    fprintf (f, "usage: gearman_worker [--host H] --port P [--function NAME]"
                " [--max-jobs N]\n"
                "  serves NAME (default echo), which returns its workload\n");
}

int main (int argc, char **argv)
{
    const char *host = "127.0.0.1", *function = "echo";
    long port = 0;
    long long max_jobs = 0;
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "-h") || !strcmp (a, "--help")) {
            s_usage (stdout);
            return 0;
        }
        if (!v) {
            s_usage (stderr);
            return 2;
        }
        if (!strcmp (a, "--host"))
            host = v;
        else if (!strcmp (a, "--port"))
            port = strtol (v, NULL, 10);
        else if (!strcmp (a, "--function"))
            function = v;
        else if (!strcmp (a, "--max-jobs"))
            max_jobs = strtoll (v, NULL, 10);
        else {
            s_usage (stderr);
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || max_jobs < 0) {
        s_usage (stderr);
        return 2;
    }
    gearman_worker_st *worker = gearman_worker_create (NULL);
    if (!worker) {
        fprintf (stderr, "gearman_worker: out of memory\n");
        return 1;
    }
    int rc = 1;
    gearman_return_t ret = gearman_worker_add_server (worker, host, (in_port_t) port);
    if (gearman_failed (ret)) {
        fprintf (stderr, "gearman_worker: add server %s:%ld: %s\n", host, port,
                 gearman_worker_error (worker));
        goto done;
    }
    ret = gearman_worker_add_function (worker, function, 0, s_echo, NULL);
    if (gearman_failed (ret)) {
        fprintf (stderr, "gearman_worker: add function %s: %s\n", function,
                 gearman_worker_error (worker));
        goto done;
    }
    for (long long n = 0; max_jobs == 0 || n < max_jobs; n++) {
        ret = gearman_worker_work (worker);
        if (gearman_failed (ret)) {
            fprintf (stderr, "gearman_worker: %s\n", gearman_worker_error (worker));
            goto done;
        }
    }
    rc = 0;
done:
    gearman_worker_free (worker);
    return rc;
}
