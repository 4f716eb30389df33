/*  client/src/jobs_int.h - the job layer's internals shared between its files
 *  jobs.c holds the synchronous job calls and the submit options' encoding;
 *  futures.c the futures, with the per-handle state and the hooks that feed
 *  them; wait.c as_completed and wait; pool.c the pool and imap, a layer over
 *  futures. u64map.h is the map they index requests and jobs with. */
#ifndef ZMGR_JOBS_INT_H
#define ZMGR_JOBS_INT_H

#include "client_int.h"
#include "u64map.h"

#include <stdbool.h>
#include <stdint.h>

/*  Submissions without their reply before a submit stops to read replies:
 *  keeps the pipeline full without letting replies pile up unread. */
#define JOBS_MAX_UNACKED 1024
/*  Marks the job layer's per-handle state (client_ext may belong to
 *  another layer, e.g. the worker runtime). */
#define JOBS_EXT_MAGIC 0x7a6a6f62u

/*  What a request id in flight is for: the kind is kept in the low bits of
 *  the map value, the future (or NULL) in the rest. */
enum { JOBS_RID_SUBMIT = 0, JOBS_RID_FETCH = 1, JOBS_RID_CANCEL = 2, JOBS_RID_DROP = 3 };

typedef struct jobs_ext jobs_ext_t;

/*  Someone interested in a future's end (as_completed, wait, imap). fn is
 *  called on completion (gone false) and when the future is destroyed
 *  (gone true); it must only touch the job layer's state. */
typedef struct jobs_watch {
    void (*fn) (struct jobs_watch *w, zmgr_future_t *f, bool gone);
    void *owner;             /* the iterator it belongs to */
    zmgr_future_t *future;   /* watched future (borrowed) */
    size_t index;            /* owner's index for it */
    struct jobs_watch *next; /* next watcher of the same future */
    bool fired;              /* completion seen */
    bool dead;               /* future destroyed before it was used */
    bool linked;             /* on the future's watcher list */
} jobs_watch_t;

typedef struct {
    zmgr_future_cb fn;
    void *user;
} jobs_cb_t;

typedef struct {
    zmgr_future_t *prev, *next;
} jobs_link_t;

typedef struct {
    zmgr_future_t *head, *tail;
} jobs_list_t;

struct zmgr_future {
    jobs_ext_t *ext;      /* handle state; NULL once the handle is gone */
    uint64_t id;          /* job id; 0 until the submit is acknowledged */
    uint64_t submit_rid;  /* job.submit awaiting its reply, or 0 */
    uint64_t fetch_rid;   /* job.result re-fetching an orphan, or 0 */
    uint64_t cancel_rid;  /* job.cancel from terminate in flight, or 0 */
    uint64_t seq;         /* completion order on the handle */
    int status;           /* final status once done */
    int hold;             /* callbacks running on it: free later */
    bool done;            /* has its final outcome */
    bool orphaned;        /* acknowledged, its notice lost with the connection */
    bool queued;          /* on the ready list */
    bool detached;        /* no one holds it (apply_async without out-pointer) */
    bool dying;           /* destroyed while held */
    zmgr_value_t *result; /* owned; the result when status is 0 */
    char *exception;      /* owned; failure text when status < 0 */
    jobs_cb_t *cbs;       /* on_done callbacks not yet run */
    size_t ncbs, capcbs;
    zmgr_future_cb pool_ok;  /* apply_async callback */
    zmgr_future_cb pool_err; /* apply_async error_callback */
    void *pool_user;         /* their argument */
    jobs_watch_t *watchers;  /* interested iterators */
    zmgr_pool_t *pool;       /* pool that tracks it, or NULL */
    jobs_link_t all;         /* ext->all */
    jobs_link_t ready;       /* ext->ready */
    jobs_link_t orphan;      /* ext->orphans (waiting for a re-fetch) */
    jobs_link_t in_pool;     /* pool->futures */
};

struct jobs_ext {
    uint32_t magic;           /* JOBS_EXT_MAGIC */
    zmgr_client_t *client;    /* the handle (it owns us) */
    u64map_t rids;            /* request id -> tagged future */
    u64map_t ids;             /* job id -> future, acknowledged and not done */
    size_t nunacked;          /* submits without their reply */
    size_t nfetch;            /* re-fetches in flight */
    size_t ncancel;           /* terminate's cancels in flight */
    uint64_t seq;             /* completions so far */
    long long fetch_after_ms; /* no re-fetch before (after EBUSY) */
    jobs_list_t all;          /* every live future */
    jobs_list_t ready;        /* done, callbacks (or a free) due */
    jobs_list_t orphans;      /* orphans waiting for a re-fetch */
    zmgr_pool_t *pools;       /* live pools, detached when the handle goes */
};

struct zmgr_pool {
    zmgr_client_t *client; /* borrowed; NULL once the handle is gone */
    zmgr_job_opts_t opts;  /* submit options of every job */
    bool closed;           /* close or terminate was called */
    size_t nactive;        /* its futures not yet done */
    jobs_list_t futures;   /* futures it tracks */
    zmgr_pool_t *next;     /* ext->pools */
};

#define JOBS_LINK(f, field) (&(f)->field)
#define JOBS_PUSH(list, f, field)                                                        \
    do {                                                                                 \
        JOBS_LINK (f, field)->prev = (list)->tail;                                       \
        JOBS_LINK (f, field)->next = NULL;                                               \
        if ((list)->tail)                                                                \
            JOBS_LINK ((list)->tail, field)->next = (f);                                 \
        else                                                                             \
            (list)->head = (f);                                                          \
        (list)->tail = (f);                                                              \
    } while (0)
#define JOBS_UNLINK(list, f, field)                                                      \
    do {                                                                                 \
        jobs_link_t *lk_ = JOBS_LINK (f, field);                                         \
        if (lk_->prev)                                                                   \
            JOBS_LINK (lk_->prev, field)->next = lk_->next;                              \
        else                                                                             \
            (list)->head = lk_->next;                                                    \
        if (lk_->next)                                                                   \
            JOBS_LINK (lk_->next, field)->prev = lk_->prev;                              \
        else                                                                             \
            (list)->tail = lk_->prev;                                                    \
        lk_->prev = lk_->next = NULL;                                                    \
    } while (0)

/*  Monotonic time in ms; the deadline of a timeout (-1: none) and what is
 *  left of it (-1: no deadline; 0: passed). Defined in futures.c. */
long long jobs_now_ms (void);
long long jobs_deadline (int timeout_ms);
int jobs_left (long long deadline);

static inline void *jobs_tag (zmgr_future_t *f, int kind)
{
    return (void *)((uintptr_t)f | (uintptr_t)kind);
}

static inline int jobs_tag_kind (void *v)
{
    return (int)((uintptr_t)v & 3);
}

static inline zmgr_future_t *jobs_tag_future (void *v)
{
    return (zmgr_future_t *)((uintptr_t)v & ~(uintptr_t)3);
}

/* ---- jobs.c ----------------------------------------------------------------- */

/*  Writes the submit options map: only fields that differ from the
 *  defaults (o may be NULL), plus the flags given. */
void jobs_put_opts (proto_buf_t *b, const zmgr_job_opts_t *o, bool notify, bool chunk);
/*  0, or ZMGR_EINVAL (on the handle) for options the broker would refuse. */
int jobs_check_opts (zmgr_client_t *self, const zmgr_job_opts_t *o);
/*  Checks function, args (NULL or an array) and options of a submission. */
int jobs_check_submit (zmgr_client_t *self, const char *function,
                       const zmgr_value_t *args, const zmgr_job_opts_t *opts);

/* ---- futures.c -------------------------------------------------------------- */

/*  The job layer's state on the handle, made on first use. NULL: out of
 *  memory or the handle's extension slot belongs to someone else (the
 *  handle's error says which). */
jobs_ext_t *futures_ext_get (zmgr_client_t *client);
/*  Runs due callbacks and frees detached futures (ext may be NULL). Safe
 *  point only: no hook on the stack. */
void futures_run_ready (jobs_ext_t *ext);
/*  Runs callbacks made due by a synchronous call's wait on the handle. */
void futures_settle (zmgr_client_t *self);
typedef bool (*futures_pred_fn) (void *arg);
/*  Reads the connection until pred holds or the deadline (jobs_deadline)
 *  passes, running callbacks as completions come. 0, ZMGR_ETIMEOUT, or the
 *  connection's error when nothing more can come. */
int futures_wait (jobs_ext_t *ext, long long deadline, futures_pred_fn pred, void *arg);
/*  A new future on the handle, or NULL (ENOMEM on the handle). */
zmgr_future_t *futures_new (jobs_ext_t *ext);
/*  Frees f at once, telling its watchers (gone). */
void futures_free (zmgr_future_t *f);
/*  Sends f's job.submit (args: packed array or NULL) without waiting. */
int futures_submit (jobs_ext_t *ext, zmgr_future_t *f, const char *function,
                    const void *args, size_t len, const zmgr_job_opts_t *opts,
                    bool chunk);
/*  Checks and submits one job as a new future (*out), tracked by pool
 *  when pool is not NULL. 0 or an error (*out NULL). */
int futures_submit_tracked (zmgr_client_t *self, zmgr_pool_t *pool, const char *function,
                            const zmgr_value_t *args, const zmgr_job_opts_t *opts,
                            zmgr_future_t **out);
/*  Adds w to f's watchers / takes it off again (no-op when not on). */
void futures_watch_add (zmgr_future_t *f, jobs_watch_t *w);
void futures_watch_remove (jobs_watch_t *w);

/* ---- pool.c ----------------------------------------------------------------- */

/*  Counts f as one of pool's futures / forgets it (pool_untrack of a
 *  future no pool tracks does nothing). */
void pool_track (zmgr_pool_t *pool, zmgr_future_t *f);
void pool_untrack (zmgr_future_t *f);

#endif
