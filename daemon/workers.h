/*  daemon/workers.h - the worker registry, credit and dispatch
 *  Shared by jobs.c and workers.c only; the commands reach workers
 *  through jobs.h (jobs_worker_join, jobs_peer_gone, jobs_workers ...),
 *  which workers.c defines. A job's worker is job->worker (its session);
 *  a worker's jobs are its credit slots (worker_t.running). */
#ifndef ZMGRD_WORKERS_H
#define ZMGRD_WORKERS_H

#include "jobs.h"

/*  Gives worker w the best pending jobs it can run, up to its credit.
 *  A worker killed by us (dying) is given nothing. */
void workers_feed (worker_t *w);
/*  A job is in its pending heap: feed the least loaded worker that can
 *  run it, if any has credit. */
void workers_offer (job_t *job);
/*  Takes a running job off its worker (slot freed, run timer cleared,
 *  running count down); returns that worker, or NULL. */
worker_t *workers_unrun (job_t *job);
/*  Tells worker w to drop job (already off its slots), or kills w when it
 *  is local and running that job rather than holding it queued. */
void workers_abandon (worker_t *w, job_t *job);
/*  Limits: every worker is fed again on the next turn (a limit changed,
 *  a function was resumed); when that turn is due (0: now; -1: none);
 *  called with the time of each turn, notes a rate token come. */
void workers_kick (void);
int64_t workers_wake_in (int64_t now);
void workers_wake (int64_t now);
/*  Back to the state of a fresh start (jobs_shutdown). */
void workers_reset (void);

#endif
