/*  daemon/jobs.h - the job table and dispatch to workers
 *  The table, its states and timers are jobs.c's; the worker registry,
 *  credit and dispatch are workers.c's (workers.h).
 *  A job waits in its function's pending heap (priority, then FIFO) until
 *  a worker that has the function has credit left; then it runs until the
 *  worker reports it done, dies, or overruns the job's timeout. A death
 *  or timeout re-queues it while retries are left (at-least-once); every
 *  other end is final, and a final job keeps its result for its TTL.
 *  Every transition is recorded as an effect (submit, start, requeue,
 *  finish, forget); recovery replays them through jobs_restore_* and then
 *  jobs_recovered puts the table back to work. The commands are in
 *  jobs_cmd.c; this header is shared by the two halves only. */
#ifndef ZMGRD_JOBS_H
#define ZMGRD_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "limit.h"
#include "peers.h"
#include "store.h"
#include "util.h"

enum { J_PENDING, J_DELAYED, J_RUNNING, J_DONE, J_FAILED };
extern const char *const jobs_state_names[5];

/*  The per-function queue; function names are interned here. */
typedef struct fq {
    char *name;             /* function name (owned) */
    heap_t pending;         /* jobs ready to run: -priority, then FIFO */
    size_t nworkers;        /* connected workers that have it */
    uint64_t count[5];      /* jobs by state (J_*) */
    limit_t limit;          /* rate, concurrency, pause (limit.h) */
    struct fq *next;        /* in the list of functions */
} fq_t;

typedef struct job {
    heap_node_t pnode;      /* in fq->pending (deadline = -priority) */
    heap_node_t tnode;      /* in the job timers (delay, run timeout or TTL) */
    uint64_t id;            /* > 0 */
    fq_t *fq;               /* its function */
    blob_t *args;           /* packed argument array; freed once final */
    int64_t timeout_ms;     /* per attempt, 0 = none */
    int64_t ttl_ms;         /* result kept this long once final */
    uint64_t dispatched;    /* dispatch order: a worker runs its jobs in it */
    const char *owner_key;  /* CURVE key (or uid:N) of its submitter, "" when
                               local; interned (jobs_intern_key), never freed */
    uint64_t submitter;     /* session that submitted it */
    struct peer *worker;    /* running on, or NULL */
    const char *reason;     /* final failure: error/timeout/worker-died/cancelled */
    blob_t *result;         /* final: result value or message string */
    uint64_t progress_done, progress_total; /* last progress report */
    int64_t created_ms;     /* submission time, monotonic */
    int64_t start_wall_ms;  /* a delayed job's start, wall clock (0: at once) */
    int64_t final_wall_ms;  /* when it ended, wall clock */
    wlist_t *waiters;       /* parked job.result requests, made on demand */
    char *ukey;             /* unique key (owned, unique.h), or NULL */
    size_t ukey_len;
    uint64_t *after;        /* jobs it runs after (owned), or NULL */
    size_t nafter;
    uint64_t *dependents;   /* jobs that run after it (owned), or NULL */
    size_t ndependents;
    size_t deps_left;       /* of after, not yet done */
    uint64_t *watchers;     /* other sessions to push job.done to (owned) */
    size_t nwatchers;
    struct job *hnext;      /* id hash chain */
    int state;              /* J_* */
    int priority;           /* higher first */
    int retries_left;       /* further attempts after death/timeout */
    int attempts;           /* attempts started */
    int status;             /* final: 0 or ZMGR_EJOBFAILED/ECANCELLED */
    bool timed;             /* tnode is in the timers */
    bool chunk;             /* args is an array of argument arrays */
    bool notify;            /* push job.done to the submitter */
    bool shared;            /* any key may see it, not only its owner's */
} job_t;

/*  A connected worker (peer->worker). */
typedef struct worker {
    peer_t *peer;           /* its session */
    fq_t **fqs;             /* functions it has */
    size_t nfqs;
    int credit;             /* jobs it takes at once */
    job_t **running;        /* jobs it runs now (credit slots) */
    size_t nrunning;
    uint64_t done;          /* attempts it finished */
    char name[64], host[64];/* as it said */
    int64_t pid;            /* as it said */
    bool local;             /* one of our supervised children */
    bool killed;            /* killed by us (a job overran): fed no more */
    bool fresh;             /* not fed yet: its hello reply goes first */
    struct worker *next, *prev; /* in the worker list */
} worker_t;

/*  What a submission asks for (jobs_cmd.c parses it). */
typedef struct {
    const uint8_t *fn;      /* function name */
    size_t fn_len;
    proto_slice_t args;     /* packed argument array */
    int priority;
    int64_t timeout_ms, ttl_ms, delay_ms;
    int64_t at_wall_ms;     /* start no earlier (wall ms), 0: delay_ms */
    const uint8_t *key;     /* unique key, or NULL */
    size_t key_len;
    const uint64_t *after;  /* jobs to run after (all must be done) */
    size_t nafter;
    int retries;
    bool chunk, notify, shared;
} job_spec_t;

job_t *jobs_find (uint64_t id);
/*  Adds a job (recorded) and starts it if a worker can take it. The id
 *  is the next of a sequence never reused. */
job_t *jobs_submit (const job_spec_t *spec, const peer_t *submitter);
/*  Session wants job.done for job too (it submitted it again with its
 *  unique key, and notify): pushed at its end, or, for a job already
 *  final, by jobs_flush_watch after this turn's replies. */
void jobs_watch (job_t *job, uint64_t session);
void jobs_flush_watch (void);
/*  Cancels a job not yet final: true when it was. */
bool jobs_cancel (job_t *job);
/*  Worker w reports job done (status 0, value the result) or failed
 *  (value the message). */
void jobs_done (worker_t *w, job_t *job, int status, proto_slice_t value);
/*  Worker w began running job (its attempt), which had waited in the
 *  worker's credit: its run timeout counts from now. */
void jobs_started (job_t *job);
/*  A worker joined (w filled by the caller, functions resolved with
 *  jobs_function); fed after its hello reply (jobs_feed_fresh). */
void jobs_worker_join (worker_t *w);
fq_t *jobs_function (const uint8_t *name, size_t len);
/*  A session ended: a worker's running jobs are re-queued or failed. */
void jobs_peer_gone (peer_t *peer);
/*  Feeds workers that joined this turn (after their hello was answered). */
void jobs_feed_fresh (void);
/*  Deadlines of jobs (delays, run timeouts, result TTLs). */
int64_t jobs_next_timeout (int64_t now_ms);
void jobs_expire (int64_t now_ms);
/*  Stop starting jobs (shutdown). */
void jobs_stop_dispatch (void);
fq_t *jobs_functions (void);    /* list head, by ->next */
/*  Calls fn for every job in the table (in no order); fn must not add or
 *  remove jobs. */
void jobs_each (void (*fn) (job_t *job, void *arg), void *arg);
worker_t *jobs_workers (void);  /* list head, by ->next */
size_t jobs_running (void);
size_t jobs_total (void);
void jobs_shutdown (void);

/*  Recovery: replay of the job effects, then the table put to work
 *  (running attempts lost to the restart are re-queued and counted;
 *  delays and TTLs resume from their wall-clock times). */
int jobs_restore_submit (uint64_t id, proto_slice_t fn, proto_slice_t args, int64_t priority,
                         int64_t timeout_ms, int64_t ttl_ms, int64_t retries, int64_t flags,
                         int64_t start_wall_ms, proto_slice_t owner_key, proto_slice_t key,
                         proto_slice_t after);
int jobs_restore_start (uint64_t id, int64_t attempt);
int jobs_restore_requeue (uint64_t id, int64_t retries_left, int64_t attempts);
int jobs_restore_finish (uint64_t id, int64_t status, proto_slice_t reason, proto_slice_t result,
                         int64_t final_wall_ms);
int jobs_restore_forget (uint64_t id);
void jobs_restore_seq (uint64_t last_id);
void jobs_recovered (void);
/*  Writes records that recreate the table (snapshots). */
void jobs_snapshot (void);
/*  The id sequence starts above every id a broker started before this
 *  one can have given (from the start time), even without a data dir. */
void jobs_init_ids (void);

/*  Between jobs.c and workers.c only: the transitions workers.c makes
 *  happen, each recorded where the state changes. */
void jobs_set_state (job_t *job, int state);   /* moves the per-function counts */
/*  Sets the job's one deadline (run timeout, delay or TTL); -1 clears it. */
void jobs_timer (job_t *job, int64_t deadline);
/*  Into its function's pending heap, and offered to the workers. */
void jobs_ready (job_t *job);
/*  An attempt ended without a result (reason "timeout", "worker-died"):
 *  run again while retries are left, else failed. */
void jobs_attempt_lost (job_t *job, const char *reason);
void jobs_record_start (const job_t *job);
void jobs_record_requeue (const job_t *job);

#endif
