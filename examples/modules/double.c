/*  examples/modules/double.c - a task module: "double" returns 2 × its argument
 *  The smallest useful module, built against zmgr_module.h alone (it links
 *  nothing: the zmgr_task_* calls resolve against the libzmgr already in
 *  the worker that dlopens it). Also used by the tests. Run it with
 *      zmgr-worker --module ./double.so
 *  and submit `double` with [21] (-> 42) or [1.25] (-> 2.5). */
#include <zmgr_module.h>

#include <stdint.h>

static void s_double (zmgr_task_t *task, void *user)
{
    (void)user;
    int64_t n;
    double d;
    if (zmgr_task_argc (task) != 1) {
        zmgr_task_error (task, "double takes one number");
        return;
    }
    if (zmgr_task_arg_int (task, 0, &n) == 0) {
        if (n > INT64_MAX / 2 || n < INT64_MIN / 2)
            zmgr_task_error (task, "double(%lld) overflows int64", (long long)n);
        else
            zmgr_task_result_int (task, 2 * n);
    } else if (zmgr_task_arg_double (task, 0, &d) == 0)
        zmgr_task_result_double (task, 2 * d);
    else
        zmgr_task_error (task, "double takes one number");
}

/*  Exported explicitly: zmgr builds with hidden visibility by default, and
 *  the worker finds this function by name with dlsym. */
ZMGR_EXPORT int zmgr_module_init (zmgr_worker_t *worker, int abi);

int zmgr_module_init (zmgr_worker_t *worker, int abi)
{
    if (abi != ZMGR_MODULE_ABI)
        return -1;
    return zmgr_worker_add (worker, "double", s_double, NULL);
}
