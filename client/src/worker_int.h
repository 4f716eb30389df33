/*  client/src/worker_int.h - the worker runtime's internals shared with
 *  builtins.c and tests/test_worker.c (nothing here is API: the runtime's
 *  contract is zmgr_module.h). */
#ifndef ZMGR_WORKER_INT_H
#define ZMGR_WORKER_INT_H

#include "zmgr_module.h"

/*  Longest function name, in bytes (zmgr_worker_add). */
#define WORKER_MAX_NAME 64

/*  Runs one job the way the run loop does, with no broker: function with
 *  args (an array; with chunk, an array of argument arrays). Returns 0 and
 *  *result (yours) on success, ZMGR_EJOBFAILED and *message (malloc'd,
 *  yours) when the job failed (unknown function, bad args, the function's
 *  error). The other out-pointer is NULL. For tests. */
int worker_run_task_for_test (zmgr_worker_t *self, const char *function,
                              const zmgr_value_t *args, bool chunk, zmgr_value_t **result,
                              char **message);

#endif
