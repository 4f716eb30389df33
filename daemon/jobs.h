/*  daemon/jobs.h - the job table and dispatch to workers
 *  The table, its states and timers are jobs.c's; the worker registry,
 *  credit and dispatch are workers.c's (workers.h).
 *  A job waits in its function's pending heap (priority, then FIFO) until
 *  a worker that has the function has credit left; then it runs until the
 *  worker reports it done, dies, or overruns the job's timeout (its
 *  lease; a remote worker's lapses before the job runs elsewhere). A
 *  death or timeout runs it again after a backoff while retries are left
 *  (at-least-once), unless its attempts killed their worker poison_kills
 *  times: then it is dead, kept for job.retry. Every other end is final,
 *  and a final job keeps its result and attempt records for its TTL.
 *  Every transition is recorded as an effect (submit, start, requeue,
 *  backoff, attempt, exit, finish, dead, retry, policy, forget); recovery
 *  replays them through jobs_restore_* and then jobs_recovered puts the
 *  table back to work. The commands are in jobs_cmd.c; this header is
 *  shared by the halves only. */
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

/*  States; J_DONE and after are final. J_DELAYED is listed as
 *  "scheduled"; a dead job (its attempts killed their worker poison_kills
 *  times) is not retried unless asked (job.retry). */
enum { J_PENDING, J_DELAYED, J_RUNNING, J_DONE, J_FAILED, J_CANCELLED, J_DEAD, J_NSTATES };
extern const char *const jobs_state_names[J_NSTATES];

/*  How one attempt ended, kept with its job (the crash record). */
typedef struct {
    int64_t start_wall_ms;  /* dispatched (wall clock) */
    int64_t end_wall_ms;    /* given up on, or reported */
    int64_t pid;            /* its worker's, as the worker said */
    const char *end;        /* static: done, error, timeout, worker-died,
                               cancelled, restart */
    int exit_code;          /* the worker process's exit status, -1 unknown */
    int signal;             /* the signal that killed it, 0 none */
    bool oom;               /* the kernel's OOM killer did (cgroup count rose) */
    bool local;             /* a local worker: the exit is reaped by us */
    const char *worker, *host; /* its worker's name and host (interned) */
    blob_t *tail;           /* the last bytes of a local worker's stderr */
} job_attempt_t;
#define JOBS_MAX_ATTEMPT_RECORDS 16   /* kept per job: the latest */

/*  The per-function queue; function names are interned here. */
typedef struct fq {
    char *name;             /* function name (owned) */
    heap_t pending;         /* jobs ready to run: -priority, then FIFO */
    size_t nworkers;        /* connected workers that have it */
    uint64_t count[J_NSTATES]; /* jobs by state (J_*) */
    limit_t limit;          /* rate, concurrency, pause, backoff (limit.h) */
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
    int retries0;           /* retries it was submitted with (job.retry) */
    int kills;              /* attempts that ended worker-died since submit/retry */
    int poison_kills;       /* dead after this many; 0: the setting */
    int64_t backoff_base_ms, backoff_max_ms; /* retry delays; -1: the function's,
                                                else the settings */
    int64_t run_wall_ms;    /* the running attempt's dispatch, wall clock */
    job_attempt_t *att;     /* attempt records, oldest first */
    uint32_t natt;          /* records kept (<= JOBS_MAX_ATTEMPT_RECORDS) */
    uint32_t natt_seen;     /* records ever made (indexes in effects) */
    bool retry_on_error;    /* a function's own error is retried too */
    bool timed;             /* tnode is in the timers */
    bool overdue;           /* its attempt was given up on (running, worker
                               NULL): the lease of a remote worker that may
                               still run it lapses at its timer */
    const char *lapse_reason; /* why, while overdue: timeout or worker-died */
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
    const char *iname, *ihost; /* the same, interned (attempt records point at them) */
    int64_t pid;            /* as it said */
    bool local;             /* one of our supervised children */
    bool killed;            /* killed by us (a job overran): fed no more */
    bool fresh;             /* not fed yet: its hello reply goes first */
    bool reaped;            /* local, exited before its session ended: */
    int exit_code, exit_signal; /* ... how (for the attempt record) */
    bool exit_oom;
    blob_t *exit_tail;      /* ... its stderr tail, or NULL (owned) */
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
    int poison_kills;                   /* 0: the setting */
    int64_t backoff_base_ms, backoff_max_ms; /* -1: the settings */
    bool chunk, notify, shared;
    bool retry_on_error;
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
/*  A dead job back to pending, with its retries and kill count fresh
 *  (attempt records kept). False (nothing done) for any other state: only
 *  a dead job keeps its arguments. */
bool jobs_retry (job_t *job);
/*  A local worker process was reaped: its exit status or signal, whether
 *  the OOM killer did it, and the tail of its stderr (copied; may be
 *  NULL) go to the attempt record it left without one. */
void jobs_worker_exit (int64_t pid, int exit_code, int signal, bool oom, const void *tail,
                       size_t tail_len);
/*  Worker w reports job done (status 0, value the result) or failed
 *  (value the message). */
void jobs_done (worker_t *w, job_t *job, int status, proto_slice_t value);
/*  Worker w began running job (its attempt), which had waited in the
 *  worker's credit: its run timeout counts from now. */
void jobs_started (job_t *job);
/*  A sign of life from the current attempt (job.progress, job.touch):
 *  its lease, the run timeout, starts again from now. */
void jobs_touch (job_t *job);
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
int jobs_restore_attempt (uint64_t id, const proto_slice_t *f);   /* EFF_JOB_ATTEMPT fields */
int jobs_restore_exit (uint64_t id, const proto_slice_t *f);      /* EFF_JOB_EXIT fields */
int jobs_restore_dead (uint64_t id);
int jobs_restore_retry (uint64_t id, int64_t retries_left);
int jobs_restore_policy (uint64_t id, const proto_slice_t *f);    /* EFF_JOB_POLICY fields */
int jobs_restore_backoff (uint64_t id, int64_t retries_left, int64_t attempts,
                          int64_t start_wall_ms);
void jobs_restore_seq (uint64_t last_id);
void jobs_recovered (void);
/*  Writes records that recreate the table (snapshots). */
void jobs_snapshot (void);
/*  Interned strings (keys, worker names): never freed before shutdown. */
const char *jobs_intern (const char *s, size_t len);
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
/*  The attempt of a running job that a remote worker may still run is
 *  given up on (job->worker cleared, reports refused from now on); the job
 *  runs again once that worker's lease lapses, jobs_lapse_ms after
 *  from_ms (its deadline), with reason for the attempt's end. */
void jobs_lapse (job_t *job, int64_t from_ms, const char *reason);
int64_t jobs_lapse_ms (void);
void jobs_record_requeue (const job_t *job);
/*  Appends the record of the running attempt's end (how: static) with its
 *  worker, recorded; the exit of a local worker follows (jobs_worker_exit). */
void jobs_attempt_end (job_t *job, const struct worker *w, const char *how);

#endif
