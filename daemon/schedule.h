/*  daemon/schedule.h - schedules of jobs: cron entries, function limits, pause
 *  The state halves with their effects: a cron entry submits its job at
 *  each tick of its spec (cron.h) unless the job of its last tick is still
 *  going (no overlap); after a restart (downtime) it runs at most once
 *  for the ticks it missed, then goes on from now (no backfill). Limits
 *  and the pause live in each function's queue (fq->limit, limit.h);
 *  here they are set and recorded. Commands: schedule_cmd.c. Effects:
 *  EFF_LIMIT_SET, EFF_FN_PAUSE, EFF_CRON_* (effect.h). */
#ifndef ZMGRD_SCHEDULE_H
#define ZMGRD_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cron.h"
#include "jobs.h"

#define SCHEDULE_MAX_CRON 1024 /* cron entries at most */

typedef struct schedule_cron {
    char *name;             /* 1-64 bytes, unique (owned) */
    char *spec;             /* the spec as given (owned) */
    char *tz;               /* zone, "" = the broker's (owned) */
    cron_spec_t parsed;     /* spec, parsed */
    char *fn;               /* function (owned) */
    blob_t *args;           /* packed argument array (owned) */
    int64_t since_s;        /* added at (wall s): ticks count from here */
    int64_t last_tick_s;    /* the last tick that submitted, 0: none */
    uint64_t last_job;      /* the job it submitted, 0: none */
    int64_t next_s;         /* next tick (wall s), -1: never */
    uint64_t runs, skipped; /* ticks that submitted / skipped (this run) */
    struct schedule_cron *next;
} schedule_cron_t;

/*  Limits and the retry backoff (recorded). rate 0 / concurrency 0: none;
 *  backoff base / max -1: the broker's. */
void schedule_limit_set (fq_t *fq, int64_t rate, int64_t period_ms, int64_t concurrency,
                         int64_t backoff_base_ms, int64_t backoff_max_ms);
/*  Pause or resume (recorded): false when it already was so. */
bool schedule_pause (fq_t *fq, bool paused);

/*  Adds a cron entry (recorded): 0, or -1 with the reason in err (bad
 *  spec or zone, name taken, too many). */
int schedule_cron_add (const char *name, const char *spec, const char *tz, const char *fn,
                       proto_slice_t args, char *err, size_t err_len);
bool schedule_cron_remove (const char *name);
schedule_cron_t *schedule_cron_list (void);
schedule_cron_t *schedule_cron_find (const char *name);

/*  The cron timer: ms until the next tick (-1: none) / fires due ticks. */
int64_t schedule_next_timeout (void);
void schedule_expire (void);

/*  Recovery: replay, then the entries put to work; snapshots. */
int schedule_restore_limit (proto_slice_t fn, int64_t rate, int64_t period_ms,
                            int64_t concurrency, int64_t backoff_base_ms,
                            int64_t backoff_max_ms);
int schedule_restore_pause (proto_slice_t fn, bool paused);
int schedule_restore_cron_add (proto_slice_t name, proto_slice_t spec, proto_slice_t tz,
                               proto_slice_t fn, proto_slice_t args, int64_t since_s);
int schedule_restore_cron_remove (proto_slice_t name);
int schedule_restore_cron_fire (proto_slice_t name, int64_t tick_s, uint64_t job);
void schedule_recovered (void);
void schedule_snapshot (void);
void schedule_shutdown (void);

#endif
