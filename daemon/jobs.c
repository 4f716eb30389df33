/*  daemon/jobs.c - jobs: submission, dispatch to workers, results
 *  A job waits in its function's pending heap (priority, then FIFO) until a
 *  worker that has the function has credit left; then it is sent to that
 *  worker as a job.run notice and runs until the worker reports job.done,
 *  dies, or overruns the job's timeout. A death or timeout re-queues it while
 *  retries are left (at-least-once); every other end is final. A final job
 *  keeps its result for its TTL, answers the job.result requests parked on
 *  it, and pushes a job.done notice to its submitter when asked to.
 *
 *  Each job has at most one deadline at a time in s_timers: its start delay
 *  while delayed, its run timeout while running, its result TTL once final.
 *  Wire format: PROTOCOL.md section 8. */
#define _GNU_SOURCE
#include "zmgrd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { J_PENDING, J_DELAYED, J_RUNNING, J_DONE, J_FAILED };
static const char *s_state_names[] = { "pending", "pending", "running", "done", "failed" };

/*  The per-function queue; function names are interned here. */
typedef struct fq {
    char *name;             /* function name (owned) */
    heap_t pending;         /* jobs ready to run: -priority, then FIFO */
    size_t nworkers;        /* connected workers that have it */
    uint64_t count[5];      /* jobs by state (J_*) */
    struct fq *next;        /* in s_fqs */
} fq_t;

typedef struct job {
    heap_node_t pnode;      /* in fq->pending (deadline = -priority) */
    heap_node_t tnode;      /* in s_timers (delay, run timeout or TTL) */
    bool timed;             /* tnode is in s_timers */
    uint64_t id;            /* > 0 */
    fq_t *fq;               /* its function */
    blob_t *args;           /* packed argument array; freed once final */
    int state;              /* J_* */
    int priority;           /* higher first */
    int64_t timeout_ms;     /* per attempt, 0 = none */
    int64_t ttl_ms;         /* result kept this long once final */
    int retries_left;       /* further attempts after death/timeout */
    int attempts;           /* attempts started */
    uint64_t dispatched;    /* dispatch order: a worker runs its jobs in it */
    bool chunk;             /* args is an array of argument arrays */
    bool notify;            /* push job.done to the submitter */
    uint64_t submitter;     /* session that submitted it */
    struct peer *worker;    /* running on, or NULL */
    int status;             /* final: 0 or ZMGR_EJOBFAILED/ECANCELLED */
    const char *reason;     /* final failure: error/timeout/worker-died/cancelled */
    blob_t *result;         /* final: result value or message string */
    uint64_t progress_done, progress_total; /* last progress report */
    int64_t created_ms;     /* submission time */
    wlist_t waiters;        /* parked job.result requests */
    struct job *hnext;      /* id hash chain */
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
    bool fresh;             /* not fed yet: its hello reply goes first */
    struct worker *next, *prev; /* in s_workers */
} worker_t;

static job_t **s_table;     /* jobs by id */
static size_t s_nbuckets;   /* power of two */
static size_t s_count;      /* jobs in the table */
static uint64_t s_next_id;  /* last id given */
static fq_t *s_fqs;         /* every function seen */
static heap_t s_timers;     /* job deadlines */
static worker_t *s_workers; /* connected workers, round-robin order */
static worker_t *s_workers_tail;
static size_t s_running;    /* jobs running */
static uint64_t s_dispatches; /* jobs sent to workers so far */
static bool s_any_fresh;    /* some worker joined this turn, not fed yet */

/* ---- tables ---------------------------------------------------------------- */

static fq_t *s_fq (const uint8_t *name, size_t len, bool create)
{
    for (fq_t *f = s_fqs; f; f = f->next)
        if (strlen (f->name) == len && memcmp (f->name, name, len) == 0)
            return f;
    if (!create)
        return NULL;
    fq_t *f = xcalloc (1, sizeof *f);
    f->name = xmalloc (len + 1);
    memcpy (f->name, name, len);
    f->name[len] = '\0';
    heap_init (&f->pending);
    f->next = s_fqs;
    s_fqs = f;
    return f;
}

static job_t *s_find (uint64_t id)
{
    if (!s_nbuckets)
        return NULL;
    for (job_t *j = s_table[id & (s_nbuckets - 1)]; j; j = j->hnext)
        if (j->id == id)
            return j;
    return NULL;
}

static void s_insert (job_t *job)
{
    if (s_count >= s_nbuckets) {
        size_t n = s_nbuckets ? s_nbuckets * 2 : 1024;
        job_t **t = xcalloc (n, sizeof *t);
        for (size_t i = 0; i < s_nbuckets; i++)
            for (job_t *j = s_table[i], *next; j; j = next) {
                next = j->hnext;
                j->hnext = t[j->id & (n - 1)];
                t[j->id & (n - 1)] = j;
            }
        free (s_table);
        s_table = t;
        s_nbuckets = n;
    }
    job->hnext = s_table[job->id & (s_nbuckets - 1)];
    s_table[job->id & (s_nbuckets - 1)] = job;
    s_count++;
}

static void s_set_state (job_t *job, int state)
{
    job->fq->count[job->state]--;
    job->state = state;
    job->fq->count[state]++;
}

static void s_timer (job_t *job, int64_t deadline)
{
    if (job->timed)
        heap_remove (&s_timers, &job->tnode);
    job->timed = false;
    if (deadline < 0)
        return;
    job->tnode.deadline = deadline;
    if (heap_push (&s_timers, &job->tnode) != 0) {
        log_msg (LOG_CRIT, 0, "out of memory in the job timers");
        abort ();
    }
    job->timed = true;
}

static void s_free (job_t *job)
{
    park_fail_all (&job->waiters, ZMGR_ENOTFOUND, "job expired");
    free (job->args);
    free (job->result);
    free (job);
}

/* ---- workers --------------------------------------------------------------- */

static bool s_has (const worker_t *w, const fq_t *fq)
{
    for (size_t i = 0; i < w->nfqs; i++)
        if (w->fqs[i] == fq)
            return true;
    return false;
}

static void s_slot_remove (worker_t *w, job_t *job)
{
    for (size_t i = 0; i < w->nrunning; i++)
        if (w->running[i] == job) {
            w->running[i] = w->running[--w->nrunning];
            return;
        }
}

/*  Moves w to the tail of the worker list, so work spreads round-robin. */
static void s_rotate (worker_t *w)
{
    if (s_workers_tail == w)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        s_workers = w->next;
    w->next->prev = w->prev;
    w->prev = s_workers_tail;
    w->next = NULL;
    s_workers_tail->next = w;
    s_workers_tail = w;
}

static void s_send_run (worker_t *w, job_t *job)
{
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_notice (&b, ZMGR_NOTICE_JOB_RUN);
    proto_put_array (&b, 6);
    proto_put_uint (&b, job->id);
    proto_put_uint (&b, (uint64_t) job->attempts);
    proto_put_cstr (&b, job->fq->name);
    proto_put_raw (&b, job->args->data, job->args->len);
    proto_put_int (&b, job->timeout_ms);
    proto_put_bool (&b, job->chunk);
    if (!b.oom)
        loop_send (w->peer->id, w->peer->id_len, b.data, b.len);
    proto_buf_fini (&b);
}

static void s_start (worker_t *w, job_t *job)
{
    job->attempts++;
    job->dispatched = ++s_dispatches;
    job->worker = w->peer;
    job->progress_done = job->progress_total = 0;
    s_set_state (job, J_RUNNING);
    w->running[w->nrunning++] = job;
    s_running++;
    s_timer (job, job->timeout_ms > 0 ? now_ms () + job->timeout_ms : -1);
    s_send_run (w, job);
    s_rotate (w);
}

/*  Is a worker other than w idle and able to run fq's jobs? */
static bool s_idle_other (const worker_t *w, const fq_t *fq)
{
    for (worker_t *o = s_workers; o; o = o->next)
        if (o != w && !o->fresh && o->nrunning == 0 && s_has (o, fq))
            return true;
    return false;
}

/*  Gives a worker with free credit the best pending job it can run. A busy
 *  worker (credit above 1 queues jobs in it) takes more only when no other
 *  worker for that function is idle, so that work spreads first. */
static void s_feed_worker (worker_t *w)
{
    while (!g_srv.stopping && (size_t) w->credit > w->nrunning) {
        fq_t *best = NULL;
        for (size_t i = 0; i < w->nfqs; i++) {
            if (w->nrunning > 0 && s_idle_other (w, w->fqs[i]))
                continue;
            heap_node_t *top = heap_peek (&w->fqs[i]->pending);
            if (top && (!best || top->deadline < heap_peek (&best->pending)->deadline
                        || (top->deadline == heap_peek (&best->pending)->deadline
                            && top->seq < heap_peek (&best->pending)->seq)))
                best = w->fqs[i];
        }
        if (!best)
            return;
        job_t *job = (job_t *) heap_pop (&best->pending);
        s_start (w, job);
    }
}

/*  A job became ready: start it on a worker with credit, or leave it. */
static void s_ready (job_t *job)
{
    s_set_state (job, J_PENDING);
    job->pnode.deadline = -(int64_t) job->priority;
    if (heap_push (&job->fq->pending, &job->pnode) != 0) {
        log_msg (LOG_CRIT, 0, "out of memory in a pending queue");
        abort ();
    }
    if (g_srv.stopping || job->fq->nworkers == 0)
        return;
    /*  The least loaded worker that can take it (first in round-robin
     *  order among equals). */
    worker_t *best = NULL;
    for (worker_t *w = s_workers; w; w = w->next)
        if (!w->fresh && (size_t) w->credit > w->nrunning && s_has (w, job->fq)
            && (!best || w->nrunning < best->nrunning))
            best = w;
    if (best)
        s_feed_worker (best);
}

/* ---- ends ------------------------------------------------------------------ */

/*  The job's final end: answer waiters, notify the submitter, keep the
 *  result for its TTL. value is the packed result or message (copied). */
static void s_finish (job_t *job, int status, const char *reason, const void *value,
                      size_t len)
{
    s_set_state (job, status == 0 ? J_DONE : J_FAILED);
    job->status = status;
    job->reason = reason;
    job->worker = NULL;
    free (job->args);
    job->args = NULL;
    job->result = blob_new (value, len);
    while (job->waiters.head) {
        if (status == 0)
            park_reply (job->waiters.head, value, len);
        else {
            const uint8_t *msg;
            size_t mlen;
            char text[512];
            if (proto_read_str ((proto_slice_t) { value, len }, &msg, &mlen, false) == 0)
                snprintf (text, sizeof text, "%.*s", (int) mlen, msg);
            else
                snprintf (text, sizeof text, "%s", reason);
            park_fail (job->waiters.head, status, text);
        }
    }
    peer_t *to = job->notify ? peers_by_session (job->submitter) : NULL;
    if (to && !to->dead) {
        proto_buf_t b;
        proto_buf_init (&b);
        proto_put_notice (&b, ZMGR_NOTICE_JOB_DONE);
        proto_put_array (&b, 3);
        proto_put_uint (&b, job->id);
        proto_put_int (&b, status);
        proto_put_raw (&b, value, len);
        if (!b.oom)
            loop_send (to->id, to->id_len, b.data, b.len);
        proto_buf_fini (&b);
    }
    s_timer (job, now_ms () + job->ttl_ms);
}

/*  Fails the job with "<reason>: <text>". */
static void s_fail (job_t *job, int status, const char *reason, const char *text)
{
    char msg[600];
    snprintf (msg, sizeof msg, "%s: %s", reason, text);
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_cstr (&b, msg);
    s_finish (job, status, reason, b.data, b.len);
    proto_buf_fini (&b);
}

/*  Takes a running job off its worker (slot freed, timer cleared). */
static worker_t *s_unrun (job_t *job)
{
    worker_t *w = job->worker ? job->worker->worker : NULL;
    if (w)
        s_slot_remove (w, job);
    job->worker = NULL;
    s_running--;
    s_timer (job, -1);
    return w;
}

/*  An attempt ended without a result (worker died, timed out): again if
 *  retries are left, else failed. */
static void s_attempt_lost (job_t *job, const char *reason)
{
    if (job->retries_left > 0) {
        job->retries_left--;
        log_msg (LOG_INFO, 0, "job %llu: attempt %d lost (%s), running it again",
                 (unsigned long long) job->id, job->attempts, reason);
        s_ready (job);
        return;
    }
    char text[128];
    snprintf (text, sizeof text, "gave up after %d attempt%s", job->attempts,
              job->attempts == 1 ? "" : "s");
    log_msg (LOG_NOTICE, 0, "job %llu (%s) failed: %s, %s", (unsigned long long) job->id,
             job->fq->name, reason, text);
    s_fail (job, ZMGR_EJOBFAILED, reason, text);
}

/*  Tells a worker to drop a job (already taken off its list). A local
 *  worker that is running it, rather than holding it queued behind
 *  another (credit above 1), is killed instead: it may be stuck in the
 *  function. It runs its jobs in dispatch order, so the job runs if none
 *  of those still on its list was dispatched earlier. */
static void s_abandon (worker_t *w, job_t *job)
{
    if (!w)
        return;
    bool running = true;
    for (size_t i = 0; i < w->nrunning; i++)
        if (w->running[i]->dispatched < job->dispatched)
            running = false;
    if (w->local && running) {
        supervisor_kill ((pid_t) w->pid);
        return;
    }
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_notice (&b, ZMGR_NOTICE_JOB_CANCEL);
    proto_put_array (&b, 1);
    proto_put_uint (&b, job->id);
    if (!b.oom)
        loop_send (w->peer->id, w->peer->id_len, b.data, b.len);
    proto_buf_fini (&b);
}

/* ---- timers ---------------------------------------------------------------- */

int64_t jobs_next_timeout (int64_t now)
{
    heap_node_t *n = heap_peek (&s_timers);
    if (!n)
        return -1;
    return n->deadline > now ? n->deadline - now : 0;
}

void jobs_expire (int64_t now)
{
    heap_node_t *n;
    while ((n = heap_peek (&s_timers)) && n->deadline <= now) {
        job_t *job = (job_t *) ((char *) n - offsetof (job_t, tnode));
        heap_pop (&s_timers);
        job->timed = false;
        switch (job->state) {
        case J_DELAYED:
            s_ready (job);
            break;
        case J_RUNNING: {
            worker_t *w = s_unrun (job);
            log_msg (LOG_NOTICE, 0, "job %llu (%s) over its timeout of %lld ms",
                     (unsigned long long) job->id, job->fq->name,
                     (long long) job->timeout_ms);
            s_abandon (w, job);
            s_attempt_lost (job, "timeout");
            if (w)
                s_feed_worker (w);
            break;
        }
        default: {   /* final: its TTL is over */
            job_t **pp = &s_table[job->id & (s_nbuckets - 1)];
            while (*pp != job)
                pp = &(*pp)->hnext;
            *pp = job->hnext;
            s_count--;
            job->fq->count[job->state]--;
            s_free (job);
            break;
        }
        }
    }
}

/* ---- client commands -------------------------------------------------------- */

/*  Reads one option value as an int in [lo, hi]. */
static int s_opt_int (cmd_ctx_t *ctx, proto_slice_t v, const char *key, int64_t lo,
                      int64_t hi, int64_t *out)
{
    if (proto_read_int (v, out) != 0 || *out < lo || *out > hi)
        return cmd_error (ctx, ZMGR_EINVAL, "option %s must be an integer from %lld to %lld",
                          key, (long long) lo, (long long) hi);
    return 0;
}

/*  args: function, args array, [options map]. */
int job_cmd_submit (cmd_ctx_t *ctx)
{
    proto_req_t *req = ctx->req;
    const uint8_t *fname;
    size_t flen, n;
    proto_slice_t body;
    if (g_srv.stopping)
        return cmd_error (ctx, ZMGR_ESHUTDOWN, "the broker is shutting down");
    if (proto_read_str (req->args[0], &fname, &flen, false) != 0 || flen == 0 || flen > 64)
        return cmd_error (ctx, ZMGR_EINVAL, "function must be a name of 1 to 64 bytes");
    if (proto_read_array (req->args[1], &n, &body) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "args must be an array of positional arguments");
    if (flen == 4 && memcmp (fname, "exec", 4) == 0 && !g_srv.exec_enabled)
        return cmd_error (ctx, ZMGR_EDISABLED,
                          "exec is disabled; start zmgrd with --enable-exec to allow it");
    if (s_count >= g_srv.max_jobs)
        return cmd_error (ctx, ZMGR_ELIMIT, "%zu jobs is the limit", g_srv.max_jobs);
    int64_t priority = 0, timeout = 0, retries = 2, delay = 0, ttl = 3600000;
    bool chunk = false, notify = false;
    if (req->nargs >= 3 && !proto_is_nil (req->args[2])) {
        size_t nopt;
        proto_slice_t opts, k, v;
        if (proto_read_map (req->args[2], &nopt, &opts) != 0)
            return cmd_error (ctx, ZMGR_EINVAL, "options must be a map");
        for (size_t i = 0; i < nopt; i++) {
            const uint8_t *key;
            size_t klen;
            proto_next (&opts, &k);
            proto_next (&opts, &v);
            if (proto_read_str (k, &key, &klen, false) != 0)
                return cmd_error (ctx, ZMGR_EINVAL, "option names are strings");
            char name[16] = "";
            if (klen < sizeof name)
                memcpy (name, key, klen);
            int rc = 0;
            if (!strcmp (name, "priority"))
                rc = s_opt_int (ctx, v, name, -1000000, 1000000, &priority);
            else if (!strcmp (name, "timeout_ms"))
                rc = s_opt_int (ctx, v, name, 0, 365LL * 86400000, &timeout);
            else if (!strcmp (name, "retries"))
                rc = s_opt_int (ctx, v, name, 0, 1000, &retries);
            else if (!strcmp (name, "delay_ms"))
                rc = s_opt_int (ctx, v, name, 0, 365LL * 86400000, &delay);
            else if (!strcmp (name, "ttl_ms"))
                rc = s_opt_int (ctx, v, name, 0, 30LL * 86400000, &ttl);
            else if (!strcmp (name, "chunk") || !strcmp (name, "notify")) {
                bool b;
                if (proto_read_bool (v, &b) != 0)
                    return cmd_error (ctx, ZMGR_EINVAL, "option %s must be a boolean", name);
                *(name[0] == 'c' ? &chunk : &notify) = b;
            } else
                return cmd_error (ctx, ZMGR_EINVAL, "unknown option '%.*s'", (int) klen, key);
            if (rc)
                return rc;
        }
    }
    if (chunk) {
        proto_slice_t rest = body, item;
        size_t m;
        proto_slice_t inner;
        for (size_t i = 0; i < n; i++) {
            proto_next (&rest, &item);
            if (proto_read_array (item, &m, &inner) != 0)
                return cmd_error (ctx, ZMGR_EINVAL, "a chunk's args are argument arrays");
        }
    }
    job_t *job = xcalloc (1, sizeof *job);
    job->id = ++s_next_id;
    job->fq = s_fq (fname, flen, true);
    job->fq->count[J_PENDING]++;
    job->state = J_PENDING;
    job->args = blob_from_slice (req->args[1]);
    job->priority = (int) priority;
    job->timeout_ms = timeout;
    job->ttl_ms = ttl;
    job->retries_left = (int) retries;
    job->chunk = chunk;
    job->notify = notify;
    job->submitter = ctx->peer->session;
    job->created_ms = now_ms ();
    s_insert (job);
    /*  The reply goes first, so that a submitter knows the id before any
     *  job.done notice for it. */
    proto_put_uint (ctx->out, job->id);
    if (req->rid)
        loop_send (ctx->peer->id, ctx->peer->id_len, ctx->out->data, ctx->out->len);
    ctx->out->len = 0;   /* sent: the dispatcher must not send it again */
    if (delay > 0) {
        s_set_state (job, J_DELAYED);
        s_timer (job, job->created_ms + delay);
    } else
        s_ready (job);
    return CMD_PARKED;   /* answered above */
}

static int s_lookup (cmd_ctx_t *ctx, job_t **job)
{
    int64_t id;
    if (proto_read_int (ctx->req->args[0], &id) != 0 || id <= 0)
        return cmd_error (ctx, ZMGR_EINVAL, "job id must be a positive integer");
    *job = s_find ((uint64_t) id);
    if (!*job)
        return cmd_error (ctx, ZMGR_ENOTFOUND, "no job %lld (unknown, or its result expired)",
                          (long long) id);
    return 0;
}

/*  args: id, [timeout]. */
int job_cmd_result (cmd_ctx_t *ctx)
{
    job_t *job;
    int64_t timeout;
    int rc = s_lookup (ctx, &job);
    if (rc || (rc = arg_timeout (ctx, 1, &timeout)))
        return rc;
    if (job->state == J_DONE) {
        proto_put_raw (ctx->out, job->result->data, job->result->len);
        return 0;
    }
    if (job->state == J_FAILED) {
        const uint8_t *msg;
        size_t len;
        if (proto_read_str (blob_slice (job->result), &msg, &len, false) != 0) {
            msg = (const uint8_t *) job->reason;
            len = strlen (job->reason);
        }
        return cmd_error (ctx, job->status, "%.*s", (int) len, msg);
    }
    if (timeout == 0)
        return cmd_error (ctx, ZMGR_ETIMEOUT, "job %llu is %s", (unsigned long long) job->id,
                          s_state_names[job->state]);
    return park_request (ctx, &job->waiters, timeout, ZMGR_ETIMEOUT, NULL);
}

static void s_kv_str (proto_buf_t *b, const char *k, const char *v)
{
    proto_put_cstr (b, k);
    proto_put_cstr (b, v);
}

static void s_kv_int (proto_buf_t *b, const char *k, int64_t v)
{
    proto_put_cstr (b, k);
    proto_put_int (b, v);
}

int job_cmd_status (cmd_ctx_t *ctx)
{
    job_t *job;
    int rc = s_lookup (ctx, &job);
    if (rc)
        return rc;
    proto_buf_t *b = ctx->out;
    proto_put_map (b, 10);
    s_kv_int (b, "id", (int64_t) job->id);
    s_kv_str (b, "function", job->fq->name);
    s_kv_str (b, "state", s_state_names[job->state]);
    s_kv_str (b, "reason", job->reason ? job->reason : "");
    proto_put_cstr (b, "error");
    if (job->state == J_FAILED && job->result)
        proto_put_raw (b, job->result->data, job->result->len);
    else
        proto_put_nil (b);
    s_kv_int (b, "attempts", job->attempts);
    s_kv_int (b, "priority", job->priority);
    proto_put_cstr (b, "progress");
    proto_put_array (b, 2);
    proto_put_uint (b, job->progress_done);
    proto_put_uint (b, job->progress_total);
    proto_put_cstr (b, "worker");
    if (job->worker && job->worker->worker)
        proto_put_cstr (b, job->worker->worker->name);
    else
        proto_put_nil (b);
    s_kv_int (b, "age_ms", now_ms () - job->created_ms);
    return 0;
}

int job_cmd_cancel (cmd_ctx_t *ctx)
{
    job_t *job;
    int rc = s_lookup (ctx, &job);
    if (rc)
        return rc;
    bool cancelled = true;
    switch (job->state) {
    case J_PENDING:
        heap_remove (&job->fq->pending, &job->pnode);
        s_fail (job, ZMGR_ECANCELLED, "cancelled", "cancelled before it ran");
        break;
    case J_DELAYED:
        s_timer (job, -1);
        s_fail (job, ZMGR_ECANCELLED, "cancelled", "cancelled before it ran");
        break;
    case J_RUNNING: {
        worker_t *w = s_unrun (job);
        s_abandon (w, job);
        s_fail (job, ZMGR_ECANCELLED, "cancelled", "cancelled while running");
        if (w && !w->local)
            s_feed_worker (w);
        break;
    }
    default:
        cancelled = false;
    }
    proto_put_bool (ctx->out, cancelled);
    return 0;
}

int job_cmd_jobs (cmd_ctx_t *ctx)
{
    proto_buf_t *b = ctx->out;
    uint64_t total[5] = { 0 };
    size_t nfq = 0, nlonely = 0;
    int64_t oldest = -1, now = now_ms ();
    for (fq_t *f = s_fqs; f; f = f->next) {
        for (int s = 0; s < 5; s++)
            total[s] += f->count[s];
        nfq++;
        if (f->nworkers == 0 && f->count[J_PENDING] + f->count[J_DELAYED] > 0)
            nlonely++;
        for (size_t i = 0; i < f->pending.count; i++) {
            job_t *j = (job_t *) f->pending.nodes[i];
            if (oldest < 0 || now - j->created_ms > oldest)
                oldest = now - j->created_ms;
        }
    }
    proto_put_map (b, 7);
    s_kv_int (b, "pending", (int64_t) (total[J_PENDING] + total[J_DELAYED]));
    s_kv_int (b, "running", (int64_t) total[J_RUNNING]);
    s_kv_int (b, "done", (int64_t) total[J_DONE]);
    s_kv_int (b, "failed", (int64_t) total[J_FAILED]);
    proto_put_cstr (b, "by_function");
    proto_put_map (b, nfq);
    for (fq_t *f = s_fqs; f; f = f->next) {
        proto_put_cstr (b, f->name);
        proto_put_map (b, 5);
        s_kv_int (b, "pending", (int64_t) (f->count[J_PENDING] + f->count[J_DELAYED]));
        s_kv_int (b, "running", (int64_t) f->count[J_RUNNING]);
        s_kv_int (b, "done", (int64_t) f->count[J_DONE]);
        s_kv_int (b, "failed", (int64_t) f->count[J_FAILED]);
        s_kv_int (b, "workers", (int64_t) f->nworkers);
    }
    proto_put_cstr (b, "oldest_pending_ms");
    if (oldest < 0)
        proto_put_nil (b);
    else
        proto_put_int (b, oldest);
    proto_put_cstr (b, "no_worker");
    proto_put_array (b, nlonely);
    for (fq_t *f = s_fqs; f; f = f->next)
        if (f->nworkers == 0 && f->count[J_PENDING] + f->count[J_DELAYED] > 0)
            proto_put_cstr (b, f->name);
    return 0;
}

int job_cmd_workers (cmd_ctx_t *ctx)
{
    proto_buf_t *b = ctx->out;
    size_t n = 0;
    for (worker_t *w = s_workers; w; w = w->next)
        n++;
    proto_put_array (b, n);
    int64_t now = now_ms ();
    for (worker_t *w = s_workers; w; w = w->next) {
        proto_put_map (b, 11);
        s_kv_int (b, "id", (int64_t) w->peer->session);
        s_kv_str (b, "name", w->name);
        s_kv_str (b, "host", w->host);
        s_kv_int (b, "pid", w->pid);
        proto_put_cstr (b, "local");
        proto_put_bool (b, w->local);
        proto_put_cstr (b, "functions");
        proto_put_array (b, w->nfqs);
        for (size_t i = 0; i < w->nfqs; i++)
            proto_put_cstr (b, w->fqs[i]->name);
        s_kv_int (b, "credit", w->credit);
        s_kv_str (b, "state", w->nrunning ? "busy" : "idle");
        proto_put_cstr (b, "jobs");
        proto_put_array (b, w->nrunning);
        for (size_t i = 0; i < w->nrunning; i++)
            proto_put_uint (b, w->running[i]->id);
        s_kv_int (b, "done", (int64_t) w->done);
        s_kv_int (b, "uptime_ms", now - w->peer->since_ms);
    }
    return 0;
}

/* ---- worker commands -------------------------------------------------------- */

static void s_copy_str (proto_slice_t v, char *dst, size_t size)
{
    const uint8_t *s;
    size_t len;
    if (proto_read_str (v, &s, &len, false) == 0) {
        if (len >= size)
            len = size - 1;
        memcpy (dst, s, len);
        dst[len] = '\0';
        for (char *p = dst; *p; p++)
            if ((unsigned char) *p < 0x20)
                *p = '?';
    }
}

int jobs_worker_hello (cmd_ctx_t *ctx, proto_slice_t options)
{
    peer_t *peer = ctx->peer;
    if (peer->worker)
        return 0;   /* a repeated hello changes nothing */
    size_t n;
    proto_slice_t body, k, v;
    if (proto_read_map (options, &n, &body) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "hello: worker options must be a map");
    worker_t *w = xcalloc (1, sizeof *w);
    w->peer = peer;
    w->credit = 1;
    snprintf (w->name, sizeof w->name, "worker-%llu", (unsigned long long) peer->session);
    proto_slice_t functions = { NULL, 0 };
    for (size_t i = 0; i < n; i++) {
        const uint8_t *key;
        size_t klen;
        int64_t iv;
        proto_next (&body, &k);
        proto_next (&body, &v);
        if (proto_read_str (k, &key, &klen, false) != 0)
            continue;
        if (klen == 9 && !memcmp (key, "functions", 9))
            functions = v;
        else if (klen == 6 && !memcmp (key, "credit", 6) && proto_read_int (v, &iv) == 0)
            w->credit = iv < 1 ? 1 : iv > 1024 ? 1024 : (int) iv;
        else if (klen == 4 && !memcmp (key, "name", 4))
            s_copy_str (v, w->name, sizeof w->name);
        else if (klen == 4 && !memcmp (key, "host", 4))
            s_copy_str (v, w->host, sizeof w->host);
        else if (klen == 3 && !memcmp (key, "pid", 3) && proto_read_int (v, &iv) == 0)
            w->pid = iv;
    }
    size_t nf = 0;
    proto_slice_t fbody, f;
    if (functions.ptr && (proto_read_array (functions, &nf, &fbody) != 0 || nf > 4096)) {
        free (w);
        return cmd_error (ctx, ZMGR_EINVAL, "hello: functions must be an array of names");
    }
    w->fqs = xcalloc (nf ? nf : 1, sizeof *w->fqs);
    for (size_t i = 0; i < nf; i++) {
        const uint8_t *name;
        size_t len;
        proto_next (&fbody, &f);
        if (proto_read_str (f, &name, &len, false) != 0 || len == 0 || len > 64)
            continue;
        fq_t *fq = s_fq (name, len, true);
        if (s_has (w, fq))
            continue;
        fq->nworkers++;
        w->fqs[w->nfqs++] = fq;
    }
    w->running = xcalloc ((size_t) w->credit, sizeof *w->running);
    char myhost[64] = "";
    gethostname (myhost, sizeof myhost - 1);
    w->local = w->pid > 0 && strcmp (w->host, myhost) == 0
               && supervisor_claim ((pid_t) w->pid);
    peer->worker = w;
    w->prev = s_workers_tail;
    if (s_workers_tail)
        s_workers_tail->next = w;
    else
        s_workers = w;
    s_workers_tail = w;
    log_msg (LOG_INFO, 0, "worker %s (%s pid %lld%s) joined with %zu functions, credit %d",
             w->name, w->host, (long long) w->pid, w->local ? ", local" : "", w->nfqs, w->credit);
    w->fresh = true;   /* fed by jobs_feed_fresh, after the hello reply */
    s_any_fresh = true;
    return 0;
}

void jobs_feed_fresh (void)
{
    /*  Called every loop turn: nothing to walk unless a worker joined. */
    if (!s_any_fresh)
        return;
    s_any_fresh = false;
    for (worker_t *w = s_workers, *next; w; w = next) {
        next = w->next;   /* feeding rotates the list */
        if (w->fresh) {
            w->fresh = false;
            s_feed_worker (w);
        }
    }
}

void jobs_peer_gone (peer_t *peer)
{
    worker_t *w = peer->worker;
    if (!w)
        return;
    peer->worker = NULL;
    if (w->prev)
        w->prev->next = w->next;
    else
        s_workers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        s_workers_tail = w->prev;
    for (size_t i = 0; i < w->nfqs; i++)
        w->fqs[i]->nworkers--;
    /*  Its jobs go back (or fail) once it is off the list, so that they
     *  go to the other workers. */
    while (w->nrunning > 0) {
        job_t *job = w->running[--w->nrunning];
        job->worker = NULL;
        s_running--;
        s_timer (job, -1);
        if (peer->said_bye) {
            /*  A worker says bye only between jobs (recycled, stopped):
             *  what it still held never started and costs no retry. */
            job->attempts--;
            s_ready (job);
        } else
            s_attempt_lost (job, "worker-died");
    }
    log_msg (LOG_INFO, 0, "worker %s left after %llu jobs", w->name,
             (unsigned long long) w->done);
    free (w->fqs);
    free (w->running);
    free (w);
}

/*  The current attempt of job id run by this worker, or NULL (stale):
 *  args id, attempt. */
static job_t *s_current (cmd_ctx_t *ctx, int64_t *attempt_out)
{
    int64_t id, attempt;
    if (!ctx->peer->worker || proto_read_int (ctx->req->args[0], &id) != 0
        || proto_read_int (ctx->req->args[1], &attempt) != 0)
        return NULL;
    job_t *job = s_find ((uint64_t) id);
    if (!job || job->state != J_RUNNING || job->worker != ctx->peer
        || job->attempts != attempt)
        return NULL;
    if (attempt_out)
        *attempt_out = attempt;
    return job;
}

/*  args: id, attempt, status, result-or-message. */
int job_cmd_done (cmd_ctx_t *ctx)
{
    if (!ctx->peer->worker)
        return cmd_error (ctx, ZMGR_EINVAL, "job.done is for workers");
    job_t *job = s_current (ctx, NULL);
    if (!job) {
        log_msg (LOG_DEBUG, 0, "stale job.done from %s ignored", ctx->peer->worker->name);
        proto_put_nil (ctx->out);
        return 0;
    }
    int64_t status;
    if (proto_read_int (ctx->req->args[2], &status) != 0 || status > 0)
        status = ZMGR_EJOBFAILED;
    worker_t *w = s_unrun (job);
    w->done++;
    proto_slice_t value = ctx->req->args[3];
    if (status == 0)
        s_finish (job, 0, NULL, value.ptr, value.len);
    else {
        const uint8_t *msg;
        size_t len;
        char text[512];
        if (proto_read_str (value, &msg, &len, false) == 0)
            snprintf (text, sizeof text, "%.*s", (int) len, msg);
        else
            snprintf (text, sizeof text, "the function failed");
        s_fail (job, ZMGR_EJOBFAILED, "error", text);
    }
    s_feed_worker (w);
    proto_put_nil (ctx->out);
    return 0;
}

/*  args: id, done, total. */
int job_cmd_progress (cmd_ctx_t *ctx)
{
    int64_t id, done, total;
    job_t *job = NULL;
    if (ctx->peer->worker && proto_read_int (ctx->req->args[0], &id) == 0 && id > 0)
        job = s_find ((uint64_t) id);
    if (job && job->state == J_RUNNING && job->worker == ctx->peer
        && proto_read_int (ctx->req->args[1], &done) == 0
        && proto_read_int (ctx->req->args[2], &total) == 0 && done >= 0 && total >= 0) {
        job->progress_done = (uint64_t) done;
        job->progress_total = (uint64_t) total;
    }
    proto_put_nil (ctx->out);
    return 0;
}

/* ---- counters and shutdown --------------------------------------------------- */

size_t jobs_running (void)
{
    return s_running;
}

size_t jobs_total (void)
{
    return s_count;
}

void jobs_shutdown (void)
{
    for (size_t i = 0; i < s_nbuckets; i++)
        for (job_t *j = s_table[i], *next; j; j = next) {
            next = j->hnext;
            park_fail_all (&j->waiters, ZMGR_ESHUTDOWN, "broker is shutting down");
            s_free (j);
        }
    free (s_table);
    s_table = NULL;
    s_nbuckets = s_count = 0;
    while (s_fqs) {
        fq_t *f = s_fqs;
        s_fqs = f->next;
        heap_fini (&f->pending);
        free (f->name);
        free (f);
    }
    heap_fini (&s_timers);
    s_running = 0;
}
