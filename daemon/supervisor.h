/*  daemon/supervisor.h - the local worker processes (fork+exec of
 *  zmgr-worker), restarted with backoff and recycled. */
#ifndef ZMGRD_SUPERVISOR_H
#define ZMGRD_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*  Starts the configured local workers, connecting to endpoint. */
int supervisor_start (const char *endpoint);
/*  SIGCHLD: reap and schedule restarts with backoff. A child that is not
 *  a worker (a snapshot writer) goes to other with its wait status. */
void supervisor_reap (void (*other) (pid_t pid, int status));
/*  Restarts due ones; returns ms to the next due restart, or -1. */
int64_t supervisor_tick (int64_t now_ms);
/*  Is the worker that says it is pid and knows secret (the one its spawn
 *  was given, ZMGR_WORKER_SECRET) one of ours? Marks it connected. */
bool supervisor_claim (pid_t pid, const uint8_t *secret, size_t len);
/*  Kills a local worker (its job overran its timeout, or was cancelled). */
void supervisor_kill (pid_t pid);
/*  Local workers running and connected. */
size_t supervisor_connected (void);
/*  Asks every local worker to stop (SIGTERM) and restarts none; the loop
 *  keeps answering them (their goodbyes) until supervisor_alive is 0. */
void supervisor_terminate (void);
size_t supervisor_alive (void);
/*  Stops every local worker: SIGTERM, then SIGKILL after wait_ms. */
void supervisor_stop (int wait_ms);
/*  Changes the number of local workers (SIGHUP). */
void supervisor_resize (int n);
/*  Local workers given up on: their modules did not load several times in
 *  a row, so they are not restarted (stats: local_workers_failed). */
size_t supervisor_failed (void);
/*  Starts those again (SIGHUP: the module may have been fixed). */
void supervisor_retry (void);
/*  --check-config: runs the worker executable with --check and the
 *  configured modules, in a child, as a local worker would load them. 0, or
 *  -1 after printing why on stderr. */
int supervisor_check_modules (void);

#endif
