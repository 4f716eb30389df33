/*  daemon/limit.h - per-function dispatch limits: rate, concurrency, pause
 *  A pure half: one limit_t per function (embedded in its queue, jobs.h),
 *  with no effects and no clock of its own (the caller passes the time).
 *  The broker is the only dispatcher, so a limit kept here holds across
 *  every worker and host. The rate is a token bucket of "count per
 *  period": it holds at most count tokens (the burst), refills count
 *  tokens per period evenly, and a start takes one; so in any window of
 *  W ms at most count + count * W / period jobs start. The function's
 *  retry backoff lives here too, beside its other dispatch policy. */
#ifndef ZMGRD_LIMIT_H
#define ZMGRD_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t rate;        /* tokens per period; 0 = no rate limit */
    int64_t period_ms;   /* the rate's period (1000 for "/s") */
    int64_t level;       /* tokens held, in units of 1/period_ms token */
    int64_t refilled_ms; /* monotonic time of the last refill */
    int64_t concurrency; /* running jobs at most; 0 = no limit */
    bool paused;         /* start nothing */
    int64_t backoff_base_ms, backoff_max_ms; /* retry delays; -1: the broker's */
} limit_t;

/*  A function's limits before any is set: none, backoff from the broker. */
void limit_init (limit_t *l);

/*  Sets the rate (0: none) and concurrency (0: none); the bucket starts
 *  full. */
void limit_set (limit_t *l, int64_t rate, int64_t period_ms, int64_t concurrency,
                int64_t now_ms);
void limit_clear (limit_t *l);
/*  Sets the function's retry backoff base and max (-1: the broker's). */
void limit_set_backoff (limit_t *l, int64_t base_ms, int64_t max_ms);
/*  Whether a backoff of the function's own is set. */
bool limit_has_backoff (const limit_t *l);
/*  The delay before a retry: base and max each from the job (job_base,
 *  job_max), else the function (l, may be NULL), else the broker
 *  (cfg_base, cfg_max), a -1 passing to the next; the base doubled for
 *  each attempt after the first, up to the max, then shortened by up to
 *  half by rnd (any number: jitter spreads retries of jobs that failed
 *  together). 0: at once. */
int64_t limit_backoff_ms (const limit_t *l, int64_t job_base, int64_t job_max,
                          int64_t cfg_base, int64_t cfg_max, int64_t attempts,
                          uint64_t rnd);
/*  Whether any limit, the pause or a backoff is set (worth listing,
 *  snapshotting). */
bool limit_any (const limit_t *l);
/*  May one more job start now with running jobs running? */
bool limit_may_start (limit_t *l, uint64_t running, int64_t now_ms);
/*  A job started: takes its token (call after limit_may_start said yes). */
void limit_took (limit_t *l, int64_t now_ms);
/*  Milliseconds until a token is there (0: now, -1: no rate limit). */
int64_t limit_wait_ms (limit_t *l, int64_t now_ms);
/*  Parses "N/s", "N/m", "N/h" (or "N" per second) into rate and period:
 *  0, or -1 when it is not one (N from 1 to 1000000). */
int limit_parse_rate (const char *text, int64_t *rate, int64_t *period_ms);

#endif
