/*  client/include/zmgr_module.h - task functions, modules and workers
 *  A worker is a process that connects to zmgrd, says which task functions
 *  it has and how many jobs it takes at once (credit), and runs the jobs
 *  the broker sends it. Task functions live in modules: shared objects that
 *  a worker loads with dlopen and that register their functions from
 *  zmgr_module_init. Any C program can also be a worker by registering
 *  functions itself and calling zmgr_worker_run.
 *
 *  This header is a stable interface: a module built against ABI version
 *  ZMGR_MODULE_ABI keeps working with every libzmgr of the same ABI.
 *
 *  A minimal module:
 *
 *      #include <zmgr_module.h>
 *      static void s_double (zmgr_task_t *task, void *user) {
 *          int64_t n;
 *          if (zmgr_task_arg_int (task, 0, &n) != 0) {
 *              zmgr_task_error (task, "double takes one integer");
 *              return;
 *          }
 *          zmgr_task_result_int (task, 2 * n);
 *      }
 *      int zmgr_module_init (zmgr_worker_t *worker, int abi) {
 *          if (abi != ZMGR_MODULE_ABI) return -1;
 *          return zmgr_worker_add (worker, "double", s_double, NULL);
 *      }
 *
 *  Build: cc -shared -fPIC -o double.so double.c $(pkg-config --cflags zmgr)
 *  Run:   zmgr-worker --connect ENDPOINT --module ./double.so */
#ifndef ZMGR_MODULE_H
#define ZMGR_MODULE_H

#include "zmgr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZMGR_MODULE_ABI 1

typedef struct zmgr_worker zmgr_worker_t;   /* a worker process's runtime */
typedef struct zmgr_task zmgr_task_t;       /* the job being run */

/*  A task function. It reads its arguments with zmgr_task_arg* and ends
 *  with at most one zmgr_task_result* or zmgr_task_error (neither: the
 *  result is nil). It runs on the worker's thread; a long function may call
 *  zmgr_task_progress. The task handle is valid only during the call. */
typedef void (*zmgr_task_fn) (zmgr_task_t *task, void *user);

/*  What every module exports (looked up by name after dlopen). Returns 0,
 *  or a negative number to refuse loading (the worker says so and exits). */
typedef int (*zmgr_module_init_fn) (zmgr_worker_t *worker, int abi);
#define ZMGR_MODULE_INIT_SYMBOL "zmgr_module_init"

/* ---- inside a task function ---------------------------------------------- */

/*  The arguments: an array value, borrowed from the task. */
ZMGR_EXPORT const zmgr_value_t *zmgr_task_args (zmgr_task_t *task);
ZMGR_EXPORT size_t zmgr_task_argc (zmgr_task_t *task);
/*  Argument i as a value (yours to destroy), or NULL when out of range. */
ZMGR_EXPORT zmgr_value_t *zmgr_task_arg (zmgr_task_t *task, size_t i);
/*  Typed readers of argument i: 0, ZMGR_EINDEX (no such argument) or
 *  ZMGR_ETYPE. A string is copied into a malloc'd, NUL-terminated buffer
 *  that is yours to free. */
ZMGR_EXPORT int zmgr_task_arg_int (zmgr_task_t *task, size_t i, int64_t *v);
ZMGR_EXPORT int zmgr_task_arg_double (zmgr_task_t *task, size_t i, double *v);
ZMGR_EXPORT int zmgr_task_arg_str (zmgr_task_t *task, size_t i, char **v);
/*  The result: copied; a later call replaces an earlier one. */
ZMGR_EXPORT void zmgr_task_result (zmgr_task_t *task, const zmgr_value_t *result);
ZMGR_EXPORT void zmgr_task_result_int (zmgr_task_t *task, int64_t v);
ZMGR_EXPORT void zmgr_task_result_double (zmgr_task_t *task, double v);
ZMGR_EXPORT void zmgr_task_result_str (zmgr_task_t *task, const char *s);
/*  Fails the job with a message (printf format); the client sees
 *  ZMGR_EJOBFAILED with "error: <message>". Final: no retry. */
ZMGR_EXPORT void zmgr_task_error (zmgr_task_t *task, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/*  Reports progress (like Gearman's work status): done of total. It
 *  also extends the job's lease, as zmgr_task_touch. */
ZMGR_EXPORT void zmgr_task_progress (zmgr_task_t *task, uint64_t done,
                                     uint64_t total);
/*  Says the job is alive (job.touch): a job with a timeout may run that
 *  long again from now. zmgr_task_progress does the same. A worker kills
 *  itself, exiting, when a job runs 500 ms past its timeout without
 *  either, so that the broker can safely run it elsewhere. */
ZMGR_EXPORT void zmgr_task_touch (zmgr_task_t *task);
ZMGR_EXPORT uint64_t zmgr_task_id (zmgr_task_t *task);
/*  True once the broker asked to abandon the job (cancelled, timed out):
 *  a long function may check it and return early. */
ZMGR_EXPORT bool zmgr_task_cancelled (zmgr_task_t *task);

/* ---- the worker runtime ---------------------------------------------------- */

/*  Options for a worker; zero-initialise for defaults. */
typedef struct {
    const char *name;      /* shown by `zmgr workers`; NULL: "HOST:PID" */
    int credit;            /* jobs taken at once; 0 = 1 */
    int64_t max_jobs;      /* exit the run loop after this many; 0 = never */
    int timeout_ms;        /* connect and request timeout; 0 = 5000 */
} zmgr_worker_opts_t;

/*  Makes a worker for endpoint (NULL: the default endpoint). Nothing is
 *  sent until zmgr_worker_run. NULL when out of memory. */
ZMGR_EXPORT zmgr_worker_t *zmgr_worker_new (const char *endpoint,
                                            const zmgr_worker_opts_t *opts);
ZMGR_EXPORT void zmgr_worker_destroy (zmgr_worker_t **self_p);
/*  Registers a task function under name (before zmgr_worker_run). */
ZMGR_EXPORT int zmgr_worker_add (zmgr_worker_t *self, const char *name,
                                 zmgr_task_fn fn, void *user);
/*  The built-in functions: echo, sleep, sum_range, fail, crash, and exec
 *  when with_exec (the broker still refuses exec unless enabled there). */
ZMGR_EXPORT int zmgr_worker_add_builtins (zmgr_worker_t *self, bool with_exec);
/*  Loads a module (dlopen, then its zmgr_module_init). On failure returns
 *  an error with the reason (dlerror, missing symbol, init refused) in
 *  zmgr_worker_errmsg. */
ZMGR_EXPORT int zmgr_worker_load (zmgr_worker_t *self, const char *path);
/*  Connects, says hello and runs jobs until zmgr_worker_stop, max_jobs, or
 *  an unrecoverable error. A lost broker is reconnected to (with backoff);
 *  the job in hand when the connection dropped is re-run by the broker.
 *  Returns 0 when stopped or done, else an error code. */
ZMGR_EXPORT int zmgr_worker_run (zmgr_worker_t *self);
/*  Asks the run loop to return after the current job; async-signal-safe. */
ZMGR_EXPORT void zmgr_worker_stop (zmgr_worker_t *self);
ZMGR_EXPORT const char *zmgr_worker_errmsg (zmgr_worker_t *self);
/*  Jobs completed so far. */
ZMGR_EXPORT uint64_t zmgr_worker_jobs_done (zmgr_worker_t *self);

#ifdef __cplusplus
}
#endif

#endif
