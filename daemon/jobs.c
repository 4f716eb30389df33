/*  daemon/jobs.c - the job table, its states and timers (jobs.h)
 *  Which worker runs a job is workers.c's (registry, credit, dispatch);
 *  this file owns the jobs themselves. Each job has at most one deadline
 *  at a time in s_timers: its start delay while delayed, its run timeout
 *  while running, its result TTL once final. Every transition is recorded (effect.h: EFF_JOB_*), with
 *  wall-clock times where a restart must resume a delay or a TTL.
 *  Messages to workers and submitters go to the outbox. Wire format:
 *  PROTOCOL.md section 8. */
#define _GNU_SOURCE
#include "jobs.h"
#include "workers.h"
#include "config.h"
#include "effect.h"
#include "log.h"
#include "outbox.h"
#include "park.h"
#include "stats.h"
#include "unique.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const jobs_state_names[J_NSTATES] = { "pending", "scheduled", "running", "done",
                                                  "failed",  "cancelled", "dead" };

static job_t **s_table;     /* jobs by id */
static size_t s_nbuckets;   /* power of two */
static size_t s_count;      /* jobs in the table */
static uint64_t s_next_id;  /* last id given */
static fq_t *s_fqs;         /* every function seen */
static heap_t s_timers;     /* job deadlines */

/* ---- effects ---------------------------------------------------------------- */

void jobs_record_start (const job_t *job)
{
    proto_buf_t *b = store_effect (EFF_JOB_START, 2);
    if (!b)
        return;
    proto_put_uint (b, job->id);
    proto_put_int (b, job->attempts);
    store_effect_end ();
}

void jobs_record_requeue (const job_t *job)
{
    proto_buf_t *b = store_effect (EFF_JOB_REQUEUE, 3);
    if (!b)
        return;
    proto_put_uint (b, job->id);
    proto_put_int (b, job->retries_left);
    proto_put_int (b, job->attempts);
    store_effect_end ();
}

static void s_record_finish (const job_t *job)
{
    proto_buf_t *b = store_effect (EFF_JOB_FINISH, 5);
    if (!b)
        return;
    proto_put_uint (b, job->id);
    proto_put_int (b, job->status);
    proto_put_cstr (b, job->reason ? job->reason : "");
    proto_put_raw (b, job->result->data, job->result->len);
    proto_put_int (b, job->final_wall_ms);
    store_effect_end ();
}

static void s_record_id (int kind, const job_t *job)
{
    proto_buf_t *b = store_effect (kind, 1);
    if (!b)
        return;
    proto_put_uint (b, job->id);
    store_effect_end ();
}

static void s_record_forget (const job_t *job)
{
    s_record_id (EFF_JOB_FORGET, job);
}

/*  Only for a job whose policy is not all defaults (and in snapshots). */
static void s_record_policy (const job_t *job)
{
    proto_buf_t *b = store_effect (EFF_JOB_POLICY, 8);
    if (!b)
        return;
    proto_put_uint (b, job->id);
    proto_put_int (b, job->retries0);
    proto_put_int (b, job->poison_kills);
    proto_put_int (b, job->backoff_base_ms);
    proto_put_int (b, job->backoff_max_ms);
    proto_put_bool (b, job->retry_on_error);
    proto_put_int (b, job->kills);
    proto_put_uint (b, job->natt_seen);
    store_effect_end ();
}

static void s_put_tail (proto_buf_t *b, const blob_t *tail)
{
    if (tail)
        proto_put_bin (b, tail->data, tail->len);
    else
        proto_put_nil (b);
}

static void s_record_attempt (const job_t *job, const job_attempt_t *a)
{
    proto_buf_t *b = store_effect (EFF_JOB_ATTEMPT, 11);
    if (!b)
        return;
    proto_put_uint (b, job->id);
    proto_put_int (b, a->start_wall_ms);
    proto_put_int (b, a->end_wall_ms);
    proto_put_cstr (b, a->end);
    proto_put_cstr (b, a->worker);
    proto_put_cstr (b, a->host);
    proto_put_int (b, a->pid);
    proto_put_int (b, a->exit_code);
    proto_put_int (b, a->signal);
    proto_put_bool (b, a->oom);
    s_put_tail (b, a->tail);
    store_effect_end ();
}

static void s_record_submit (const job_t *job)
{
    proto_buf_t *b = store_effect (EFF_JOB_SUBMIT, 12);
    if (!b)
        return;
    proto_put_uint (b, job->id);
    proto_put_cstr (b, job->fq->name);
    proto_put_raw (b, job->args->data, job->args->len);
    proto_put_int (b, job->priority);
    proto_put_int (b, job->timeout_ms);
    proto_put_int (b, job->ttl_ms);
    proto_put_int (b, job->retries_left);
    proto_put_int (b, (job->chunk ? 1 : 0) | (job->notify ? 2 : 0) | (job->shared ? 4 : 0));
    proto_put_int (b, job->start_wall_ms);
    proto_put_cstr (b, job->owner_key);
    if (job->ukey)
        proto_put_str (b, job->ukey, job->ukey_len);
    else
        proto_put_nil (b);
    proto_put_array (b, job->nafter);
    for (size_t i = 0; i < job->nafter; i++)
        proto_put_uint (b, job->after[i]);
    store_effect_end ();
}

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
    limit_init (&f->limit);
    f->next = s_fqs;
    s_fqs = f;
    return f;
}

job_t *jobs_find (uint64_t id)
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
        xfree (s_table);
        s_table = t;
        s_nbuckets = n;
    }
    job->hnext = s_table[job->id & (s_nbuckets - 1)];
    s_table[job->id & (s_nbuckets - 1)] = job;
    s_count++;
}

void jobs_set_state (job_t *job, int state)
{
    job->fq->count[job->state]--;
    job->state = state;
    job->fq->count[state]++;
}

void jobs_timer (job_t *job, int64_t deadline)
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

/*  Owner keys, interned: a job holds a pointer rather than a copy of 41
 *  bytes. There are as many distinct keys as allowed CURVE keys and
 *  local uids, so they stay until shutdown. */
typedef struct s_key {
    struct s_key *next;
    size_t len;
    char key[];
} s_key_t;
static s_key_t *s_keys[64];

const char *jobs_intern (const char *key, size_t len)
{
    if (len == 0)
        return "";
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t) key[i]) * 1099511628211ull;
    s_key_t **bucket = &s_keys[h & 63];
    for (s_key_t *k = *bucket; k; k = k->next)
        if (k->len == len && memcmp (k->key, key, len) == 0)
            return k->key;
    s_key_t *k = xmalloc (sizeof *k + len + 1);
    k->len = len;
    memcpy (k->key, key, len);
    k->key[len] = '\0';
    k->next = *bucket;
    *bucket = k;
    return k->key;
}

static void s_free_keys (void)
{
    for (size_t b = 0; b < 64; b++)
        while (s_keys[b]) {
            s_key_t *k = s_keys[b];
            s_keys[b] = k->next;
            xfree (k);
        }
}

static void s_records_free (job_t *job);
static void s_spares_free (void);

static void s_free (job_t *job)
{
    if (job->waiters)
        park_fail_all (job->waiters, ZMGR_ENOTFOUND, "job expired");
    xfree (job->waiters);
    xfree (job->ukey);
    xfree (job->after);
    xfree (job->dependents);
    xfree (job->watchers);
    xfree (job->args);
    xfree (job->result);
    s_records_free (job);
    xfree (job);
}

fq_t *jobs_function (const uint8_t *name, size_t len)
{
    return s_fq (name, len, true);
}

/*  Takes a job out of the table and frees it. */
static void s_remove (job_t *job)
{
    job_t **pp = &s_table[job->id & (s_nbuckets - 1)];
    while (*pp != job)
        pp = &(*pp)->hnext;
    *pp = job->hnext;
    s_count--;
    if (job->ukey)
        unique_del (job->owner_key, job->ukey, job->ukey_len, job->id);
    job->fq->count[job->state]--;
    if (job->timed)
        heap_remove (&s_timers, &job->tnode);
    if (job->state == J_PENDING)
        heap_remove (&job->fq->pending, &job->pnode);
    s_free (job);
}


void jobs_started (job_t *job)
{
    if (job->state == J_RUNNING && !job->overdue && job->timeout_ms > 0)
        jobs_timer (job, now_ms () + job->timeout_ms);
}

void jobs_touch (job_t *job)
{
    jobs_started (job);
}

int64_t jobs_lapse_ms (void)
{
    /*  A worker kills its own attempt WORKER_OVERDUE_GRACE_MS (500 ms)
     *  after its deadline; the window is never shorter than twice that. */
    int64_t window = (int64_t) g_cfg.heartbeat_ms * g_cfg.liveness;
    return window > 1000 ? window : 1000;
}

void jobs_lapse (job_t *job, int64_t from_ms, const char *reason)
{
    job->overdue = true;
    job->lapse_reason = reason;
    job->worker = NULL;
    jobs_timer (job, from_ms + jobs_lapse_ms ());
    log_msg (LOG_INFO, 0, "job %llu attempt %d: waiting %lld ms for its worker's lease to "
             "lapse before it runs again", (unsigned long long) job->id, job->attempts,
             (long long) (from_ms + jobs_lapse_ms () - now_ms ()));
}

/*  A job became ready: into its function's pending heap, and to a
 *  worker with credit if one can take it (workers_offer). */
void jobs_ready (job_t *job)
{
    jobs_set_state (job, J_PENDING);
    job->pnode.deadline = -(int64_t) job->priority;
    if (heap_push (&job->fq->pending, &job->pnode) != 0) {
        log_msg (LOG_CRIT, 0, "out of memory in a pending queue");
        abort ();
    }
    workers_offer (job);
}


/* ---- ends ------------------------------------------------------------------ */

/*  Pushes job.done for job id to session, if it is still there. */
static void s_notify (uint64_t session, uint64_t id, int status, const void *value,
                      size_t len)
{
    peer_t *to = peers_by_session (session);
    if (!to || to->dead)
        return;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_notice (&b, ZMGR_NOTICE_JOB_DONE);
    proto_put_array (&b, 3);
    proto_put_uint (&b, id);
    proto_put_int (&b, status);
    proto_put_raw (&b, value, len);
    if (!b.oom)
        outbox_put (to->id, to->id_len, b.data, b.len);
    proto_buf_fini (&b);
}

static void s_fail (job_t *job, int status, const char *reason, const char *text);

/*  Jobs whose end their dependents have yet to hear of. A failure fails
 *  its dependents, whose ends go on down the chain: done through this
 *  list rather than by recursion, so that a long chain cannot run the
 *  stack out. */
static uint64_t *s_ended;
static size_t s_nended, s_ended_cap;
static bool s_resolving;

static void s_tell_dependents (job_t *job)
{
    for (size_t i = 0; i < job->ndependents; i++) {
        job_t *d = jobs_find (job->dependents[i]);
        if (!d || d->state >= J_DONE)
            continue;
        if (job->state == J_DONE) {
            if (d->deps_left > 0 && --d->deps_left == 0 && d->state == J_DELAYED && !d->timed)
                jobs_ready (d);
            continue;
        }
        char text[96];
        snprintf (text, sizeof text, "job %llu, which it runs after, %s",
                  (unsigned long long) job->id,
                  job->status == ZMGR_ECANCELLED ? "was cancelled" : "failed");
        if (d->state == J_PENDING)   /* cannot be: it waits while deps_left */
            heap_remove (&d->fq->pending, &d->pnode);
        jobs_timer (d, -1);
        s_fail (d, ZMGR_EJOBFAILED, "dependency-failed", text);
    }
    xfree (job->dependents);
    job->dependents = NULL;
    job->ndependents = 0;
}

static void s_resolve (job_t *job)
{
    if (!job->ndependents)
        return;
    if (s_nended == s_ended_cap) {
        s_ended_cap = s_ended_cap ? s_ended_cap * 2 : 64;
        s_ended = xrealloc (s_ended, s_ended_cap * sizeof *s_ended);
    }
    s_ended[s_nended++] = job->id;
    if (s_resolving)
        return;
    s_resolving = true;
    while (s_nended > 0) {
        job_t *j = jobs_find (s_ended[--s_nended]);
        if (j)
            s_tell_dependents (j);
    }
    s_resolving = false;
}

/*  Makes job run after dep: false when dep has already failed. */
static bool s_depend (job_t *job, job_t *dep)
{
    if (!dep || dep->state == J_DONE)
        return true;
    if (dep->state > J_DONE)
        return false;
    dep->dependents = xrealloc (dep->dependents, (dep->ndependents + 1) * sizeof (uint64_t));
    dep->dependents[dep->ndependents++] = job->id;
    job->deps_left++;
    return true;
}

/*  The job's final end: answer waiters, notify the submitter, keep the
 *  result for its TTL. value is the packed result or message (copied). */
static void s_finish (job_t *job, int status, const char *reason, const void *value,
                      size_t len, bool dead)
{
    jobs_set_state (job, dead                          ? J_DEAD
                         : status == 0                 ? J_DONE
                         : status == ZMGR_ECANCELLED   ? J_CANCELLED
                                                       : J_FAILED);
    job->status = status;
    job->reason = reason;
    job->worker = NULL;
    job->overdue = false;
    if (!dead) {   /* a dead job keeps them, for job.retry */
        xfree (job->args);
        job->args = NULL;
    }
    job->result = blob_new (value, len);
    job->final_wall_ms = wall_ms ();
    s_record_finish (job);
    if (dead)
        s_record_id (EFF_JOB_DEAD, job);
    while (job->waiters && job->waiters->head) {
        if (status == 0)
            park_reply (job->waiters->head, value, len);
        else {
            const uint8_t *msg;
            size_t mlen;
            char text[512];
            if (proto_read_str ((proto_slice_t) { value, len }, &msg, &mlen, false) == 0)
                snprintf (text, sizeof text, "%.*s", (int) mlen, msg);
            else
                snprintf (text, sizeof text, "%s", reason);
            park_fail (job->waiters->head, status, text);
        }
    }
    if (job->notify)
        s_notify (job->submitter, job->id, status, value, len);
    for (size_t i = 0; i < job->nwatchers; i++)
        s_notify (job->watchers[i], job->id, status, value, len);
    xfree (job->watchers);
    job->watchers = NULL;
    job->nwatchers = 0;
    jobs_timer (job, now_ms () + job->ttl_ms);
    s_resolve (job);
}

/*  Notices of jobs that had ended when a session asked to be told (a
 *  submit with a unique key, notify), sent after that turn's replies: a
 *  notice before the reply that gives its id would find no future. */
typedef struct {
    uint64_t session, id;
} s_late_t;
static s_late_t *s_late;
static size_t s_nlate, s_late_cap;

void jobs_watch (job_t *job, uint64_t session)
{
    if (job->state >= J_DONE) {
        if (s_nlate == s_late_cap) {
            s_late_cap = s_late_cap ? s_late_cap * 2 : 16;
            s_late = xrealloc (s_late, s_late_cap * sizeof *s_late);
        }
        s_late[s_nlate++] = (s_late_t) { session, job->id };
        return;
    }
    if (session == job->submitter && job->notify)
        return;
    for (size_t i = 0; i < job->nwatchers; i++)
        if (job->watchers[i] == session)
            return;
    job->watchers = xrealloc (job->watchers, (job->nwatchers + 1) * sizeof *job->watchers);
    job->watchers[job->nwatchers++] = session;
}

void jobs_flush_watch (void)
{
    for (size_t i = 0; i < s_nlate; i++) {
        job_t *job = jobs_find (s_late[i].id);
        if (job && job->state >= J_DONE && job->result)
            s_notify (s_late[i].session, job->id, job->status, job->result->data,
                      job->result->len);
    }
    s_nlate = 0;
}

/*  Fails the job with "<reason>: <text>" (dead: a poison job). */
static void s_fail_ex (job_t *job, int status, const char *reason, const char *text, bool dead)
{
    char msg[600];
    snprintf (msg, sizeof msg, "%s: %s", reason, text);
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_cstr (&b, msg);
    s_finish (job, status, reason, b.data, b.len, dead);
    proto_buf_fini (&b);
}

static void s_fail (job_t *job, int status, const char *reason, const char *text)
{
    s_fail_ex (job, status, reason, text, false);
}

/*  The delay before the next attempt (limit_backoff_ms): the job's own
 *  base and max, else its function's (limit set --backoff-*), else the
 *  broker's settings. */
static int64_t s_backoff (const job_t *job)
{
    static uint64_t x = 0;
    if (!x)
        x = (uint64_t) wall_ms () | 1;
    x ^= x << 13;   /* xorshift: jitter needs no quality, only spread */
    x ^= x >> 7;
    x ^= x << 17;
    return limit_backoff_ms (&job->fq->limit, job->backoff_base_ms, job->backoff_max_ms,
                             g_cfg.retry_backoff_base_ms, g_cfg.retry_backoff_max_ms,
                             job->attempts, x);
}

/*  Runs the job again after its backoff (a retry is charged already). */
static void s_again (job_t *job)
{
    int64_t delay = s_backoff (job);
    if (delay <= 0) {
        jobs_record_requeue (job);
        jobs_ready (job);
        return;
    }
    job->start_wall_ms = wall_ms () + delay;
    proto_buf_t *b = store_effect (EFF_JOB_BACKOFF, 4);
    if (b) {
        proto_put_uint (b, job->id);
        proto_put_int (b, job->retries_left);
        proto_put_int (b, job->attempts);
        proto_put_int (b, job->start_wall_ms);
        store_effect_end ();
    }
    jobs_set_state (job, J_DELAYED);
    jobs_timer (job, now_ms () + delay);
}

/*  An attempt ended without a result (worker died, timed out): again if
 *  retries are left, else failed; dead once its attempts killed their
 *  worker poison_kills times. */
void jobs_attempt_lost (job_t *job, const char *reason)
{
    int poison = job->poison_kills > 0 ? job->poison_kills : g_cfg.poison_kills;
    if (!strcmp (reason, "worker-died") && ++job->kills >= poison) {
        char text[160];
        snprintf (text, sizeof text, "killed its worker %d time%s: dead, not retried "
                  "(zmgr retry %llu runs it again)", job->kills, job->kills == 1 ? "" : "s",
                  (unsigned long long) job->id);
        log_msg (LOG_WARNING, 0, "job %llu (%s) is dead: %s", (unsigned long long) job->id,
                 job->fq->name, text);
        s_fail_ex (job, ZMGR_EJOBFAILED, reason, text, true);
        return;
    }
    if (job->retries_left > 0) {
        job->retries_left--;
        log_msg (LOG_INFO, 0, "job %llu: attempt %d lost (%s), running it again",
                 (unsigned long long) job->id, job->attempts, reason);
        s_again (job);
        return;
    }
    char text[128];
    snprintf (text, sizeof text, "gave up after %d attempt%s", job->attempts,
              job->attempts == 1 ? "" : "s");
    log_msg (LOG_NOTICE, 0, "job %llu (%s) failed: %s, %s", (unsigned long long) job->id,
             job->fq->name, reason, text);
    s_fail (job, ZMGR_EJOBFAILED, reason, text);
}


/* ---- attempt records ------------------------------------------------------- */

/*  Attempts that ended with a local worker whose exit is not reaped yet:
 *  the supervisor's reap fills in their records (jobs_worker_exit). A
 *  worker dies soon after its attempt ends, so a few slots suffice; the
 *  oldest is reused. */
typedef struct {
    int64_t pid;
    uint64_t job;
    uint32_t index;   /* job->natt_seen at the record */
} s_await_t;
static s_await_t s_await[64];
static size_t s_await_next;

static job_attempt_t *s_attempt_at (job_t *job, uint32_t index)
{
    uint32_t first = job->natt_seen - job->natt;
    if (index < first || index >= job->natt_seen)
        return NULL;
    return &job->att[index - first];
}

static void s_set_exit (job_t *job, uint32_t index, int exit_code, int signal, bool oom,
                        const void *tail, size_t tail_len)
{
    job_attempt_t *a = s_attempt_at (job, index);
    if (!a)
        return;
    a->exit_code = exit_code;
    a->signal = signal;
    a->oom = oom;
    xfree (a->tail);
    a->tail = tail && tail_len ? blob_new (tail, tail_len) : NULL;
    proto_buf_t *b = store_effect (EFF_JOB_EXIT, 6);
    if (!b)
        return;
    proto_put_uint (b, job->id);
    proto_put_uint (b, index);
    proto_put_int (b, exit_code);
    proto_put_int (b, signal);
    proto_put_bool (b, oom);
    s_put_tail (b, a->tail);
    store_effect_end ();
}

/*  Most jobs end with one record, kept until the job's TTL. Single
 *  records come from chunks of S_CHUNK and go back to a free list, which
 *  saves a malloc and a free per job on the no-op apply path (they were a
 *  tenth of its cost). A list of two records or more is an array of natt.
 *  Chunks are freed at shutdown only. */
#define S_CHUNK 64
typedef union s_spare {
    job_attempt_t record;
    union s_spare *next;
} s_spare_t;
typedef struct s_chunk {
    struct s_chunk *next;
    s_spare_t spare[S_CHUNK];
} s_chunk_t;
static s_spare_t *s_spares;
static s_chunk_t *s_chunks;

static void s_records_free (job_t *job)
{
    for (uint32_t i = 0; i < job->natt; i++)
        xfree (job->att[i].tail);
    if (job->natt == 1) {
        s_spare_t *s = (s_spare_t *) job->att;
        s->next = s_spares;
        s_spares = s;
    } else
        xfree (job->att);
    job->att = NULL;
    job->natt = 0;
}

static void s_spares_free (void)
{
    while (s_chunks) {
        s_chunk_t *c = s_chunks;
        s_chunks = c->next;
        xfree (c);
    }
    s_spares = NULL;
}

/*  A new record at the end (the oldest dropped past the limit). */
static job_attempt_t *s_attempt_push (job_t *job)
{
    if (job->natt == JOBS_MAX_ATTEMPT_RECORDS) {
        xfree (job->att[0].tail);
        memmove (job->att, job->att + 1, (job->natt - 1) * sizeof *job->att);
        job->natt--;
    } else if (job->natt == 0) {
        if (!s_spares) {
            s_chunk_t *c = xmalloc (sizeof *c);
            c->next = s_chunks;
            s_chunks = c;
            for (size_t i = 0; i < S_CHUNK; i++) {
                c->spare[i].next = s_spares;
                s_spares = &c->spare[i];
            }
        }
        s_spare_t *s = s_spares;
        s_spares = s->next;
        job->att = &s->record;
    } else if (job->natt == 1) {   /* a spare's room is one record */
        job_attempt_t *list = xmalloc (2 * sizeof *list);
        list[0] = job->att[0];
        s_spare_t *s = (s_spare_t *) job->att;
        s->next = s_spares;
        s_spares = s;
        job->att = list;
    } else
        job->att = xrealloc (job->att, (job->natt + 1) * sizeof *job->att);
    job_attempt_t *a = &job->att[job->natt++];
    job->natt_seen++;
    memset (a, 0, sizeof *a);
    a->exit_code = -1;
    a->worker = a->host = "";
    return a;
}

void jobs_attempt_end (job_t *job, const worker_t *w, const char *how)
{
    job_attempt_t *a = s_attempt_push (job);
    a->start_wall_ms = job->run_wall_ms;
    a->end_wall_ms = wall_ms ();
    a->end = how;
    if (w) {
        a->worker = w->iname ? w->iname : "";
        a->host = w->ihost ? w->ihost : "";
        a->pid = w->pid;
        a->local = w->local;
    }
    /*  A local worker that died, or that we killed for this attempt: its
     *  exit comes from the supervisor, at once if reaped already. */
    bool dies = w && w->local && (w->killed || how[0] == 'w');   /* worker-died */
    if (dies && w->reaped) {
        a->exit_code = w->exit_code;
        a->signal = w->exit_signal;
        a->oom = w->exit_oom;
        if (w->exit_tail)
            a->tail = blob_new (w->exit_tail->data, w->exit_tail->len);
    }
    s_record_attempt (job, a);
    if (dies && !w->reaped) {
        s_await[s_await_next] = (s_await_t) { w->pid, job->id, job->natt_seen - 1 };
        s_await_next = (s_await_next + 1) % (sizeof s_await / sizeof s_await[0]);
    }
}

void jobs_worker_exit (int64_t pid, int exit_code, int signal, bool oom, const void *tail,
                       size_t tail_len)
{
    bool found = false;
    for (size_t i = 0; i < sizeof s_await / sizeof s_await[0]; i++) {
        if (s_await[i].pid != pid || pid <= 0)
            continue;
        job_t *job = jobs_find (s_await[i].job);
        if (job)
            s_set_exit (job, s_await[i].index, exit_code, signal, oom, tail, tail_len);
        s_await[i].pid = 0;
        found = true;
    }
    if (found)
        return;
    /*  Reaped before its session ended: kept for the attempt it ends. */
    for (worker_t *w = jobs_workers (); w; w = w->next)
        if (w->local && w->pid == pid) {
            w->reaped = true;
            w->exit_code = exit_code;
            w->exit_signal = signal;
            w->exit_oom = oom;
            xfree (w->exit_tail);
            w->exit_tail = tail && tail_len ? blob_new (tail, tail_len) : NULL;
        }
}

bool jobs_retry (job_t *job)
{
    if (job->state != J_DEAD || !job->args)
        return false;
    job->kills = 0;
    job->attempts = 0;
    job->retries_left = job->retries0;
    job->status = 0;
    job->reason = NULL;
    xfree (job->result);
    job->result = NULL;
    jobs_timer (job, -1);
    proto_buf_t *b = store_effect (EFF_JOB_RETRY, 2);
    if (b) {
        proto_put_uint (b, job->id);
        proto_put_int (b, job->retries_left);
        store_effect_end ();
    }
    log_msg (LOG_NOTICE, 0, "job %llu (%s) is retried: out of the dead letters",
             (unsigned long long) job->id, job->fq->name);
    jobs_ready (job);
    return true;
}

/* ---- timers ---------------------------------------------------------------- */

int64_t jobs_next_timeout (int64_t now)
{
    heap_node_t *n = heap_peek (&s_timers);
    int64_t t = !n ? -1 : n->deadline > now ? n->deadline - now : 0;
    int64_t w = workers_wake_in (now);   /* a rate-limited function's next token */
    return w >= 0 && (t < 0 || w < t) ? w : t;
}

void jobs_expire (int64_t now)
{
    workers_wake (now);
    heap_node_t *n;
    while ((n = heap_peek (&s_timers)) && n->deadline <= now) {
        job_t *job = (job_t *) ((char *) n - offsetof (job_t, tnode));
        heap_pop (&s_timers);
        job->timed = false;
        switch (job->state) {
        case J_DELAYED:
            if (job->deps_left == 0)   /* else it waits on for those */
                jobs_ready (job);
            break;
        case J_RUNNING: {
            if (job->overdue) {
                /*  The lease of the remote worker that had it lapsed: that
                 *  worker has killed its attempt (its own deadline comes
                 *  first) or is cut off from us for good. */
                job->overdue = false;
                jobs_attempt_lost (job, job->lapse_reason);
                break;
            }
            worker_t *w = workers_unrun (job);
            log_msg (LOG_NOTICE, 0, "job %llu (%s) attempt %d over its timeout of %lld ms",
                     (unsigned long long) job->id, job->fq->name, job->attempts,
                     (long long) job->timeout_ms);
            workers_abandon (w, job);
            jobs_attempt_end (job, w, "timeout");
            if (w && !w->local)
                jobs_lapse (job, now, "timeout");
            else
                jobs_attempt_lost (job, "timeout");
            if (w)
                workers_feed (w);
            break;
        }
        default:   /* final: its TTL is over */
            s_record_forget (job);
            s_remove (job);
            break;
        }
    }
}

/* ---- transitions the commands ask for ---------------------------------------- */

void jobs_init_ids (void)
{
    /*  About 4 million ids per second since 2026: a broker that
     *  starts later begins above any id an earlier one gave, unless that
     *  one gave more than that on average over its whole life. Counted
     *  from milliseconds: whole seconds gave a broker restarted within
     *  the same second the ids its predecessor had just given. */
    const int64_t epoch = 1767225600000;   /* 2026-01-01: keeps ids well under 2^53 */
    int64_t since = wall_ms () - epoch;
    uint64_t base = since > 0 ? ((uint64_t) since << 22) / 1000 : 0;
    if (s_next_id < base)
        s_next_id = base;
}

job_t *jobs_submit (const job_spec_t *spec, const peer_t *submitter)
{
    job_t *job = xcalloc (1, sizeof *job);
    job->owner_key = "";
    job->id = ++s_next_id;
    job->fq = s_fq (spec->fn, spec->fn_len, true);
    job->fq->count[J_PENDING]++;
    job->state = J_PENDING;
    job->args = blob_from_slice (spec->args);
    job->priority = spec->priority;
    job->timeout_ms = spec->timeout_ms;
    job->ttl_ms = spec->ttl_ms;
    job->retries_left = job->retries0 = spec->retries;
    job->poison_kills = spec->poison_kills;
    job->backoff_base_ms = spec->backoff_base_ms;
    job->backoff_max_ms = spec->backoff_max_ms;
    job->retry_on_error = spec->retry_on_error;
    job->chunk = spec->chunk;
    job->notify = spec->notify;
    job->shared = spec->shared;
    if (submitter)
        job->owner_key = jobs_intern (submitter->key, strlen (submitter->key));
    job->submitter = submitter ? submitter->session : 0;
    job->created_ms = now_ms ();
    /*  The wall clock only for a job that waits (the common submit reads
     *  no clock but now_ms). */
    int64_t wall = spec->at_wall_ms > 0 || spec->delay_ms > 0 ? wall_ms () : 0;
    job->start_wall_ms = spec->at_wall_ms > 0    ? spec->at_wall_ms
                         : spec->delay_ms > 0 ? wall + spec->delay_ms
                                              : 0;
    int64_t delay = job->start_wall_ms > wall ? job->start_wall_ms - wall : 0;
    if (spec->key) {
        job->ukey = xmalloc (spec->key_len + 1);
        memcpy (job->ukey, spec->key, spec->key_len);
        job->ukey[spec->key_len] = '\0';
        job->ukey_len = spec->key_len;
        unique_put (job->owner_key, job->ukey, job->ukey_len, job->id);
    }
    bool dep_failed = false;
    if (spec->nafter) {
        job->after = xmalloc (spec->nafter * sizeof *job->after);
        memcpy (job->after, spec->after, spec->nafter * sizeof *job->after);
        job->nafter = spec->nafter;
    }
    s_insert (job);
    s_record_submit (job);
    if (job->poison_kills || job->backoff_base_ms >= 0 || job->backoff_max_ms >= 0
        || job->retry_on_error)
        s_record_policy (job);
    for (size_t i = 0; i < job->nafter && !dep_failed; i++)
        dep_failed = !s_depend (job, jobs_find (job->after[i]));
    if (dep_failed) {
        char text[96];
        snprintf (text, sizeof text, "a job it runs after had already failed");
        s_fail (job, ZMGR_EJOBFAILED, "dependency-failed", text);
    } else if (delay > 0 || job->deps_left > 0) {
        jobs_set_state (job, J_DELAYED);
        if (delay > 0)
            jobs_timer (job, job->created_ms + delay);
    } else
        jobs_ready (job);
    return job;
}

bool jobs_cancel (job_t *job)
{
    switch (job->state) {
    case J_PENDING:
        heap_remove (&job->fq->pending, &job->pnode);
        s_fail (job, ZMGR_ECANCELLED, "cancelled", "cancelled before it ran");
        return true;
    case J_DELAYED:
        jobs_timer (job, -1);
        s_fail (job, ZMGR_ECANCELLED, "cancelled", "cancelled before it ran");
        return true;
    case J_RUNNING: {
        worker_t *w = workers_unrun (job);
        workers_abandon (w, job);
        if (!job->overdue)   /* an overdue one's record is made */
            jobs_attempt_end (job, w, "cancelled");
        job->overdue = false;
        s_fail (job, ZMGR_ECANCELLED, "cancelled", "cancelled while running");
        if (w && !w->local)
            workers_feed (w);
        return true;
    }
    default:
        return false;
    }
}

void jobs_done (worker_t *w, job_t *job, int status, proto_slice_t value)
{
    workers_unrun (job);
    w->done++;
    jobs_attempt_end (job, w, status == 0 ? "done" : "error");
    if (status == 0)
        s_finish (job, 0, NULL, value.ptr, value.len, false);
    else if (job->retry_on_error && job->retries_left > 0) {
        job->retries_left--;
        log_msg (LOG_INFO, 0, "job %llu: attempt %d failed (error), running it again",
                 (unsigned long long) job->id, job->attempts);
        s_again (job);
    } else {
        const uint8_t *msg;
        size_t len;
        char text[512];
        if (proto_read_str (value, &msg, &len, false) == 0)
            snprintf (text, sizeof text, "%.*s", (int) len, msg);
        else
            snprintf (text, sizeof text, "the function failed");
        s_fail (job, ZMGR_EJOBFAILED, "error", text);
    }
    workers_feed (w);
}


fq_t *jobs_functions (void)
{
    return s_fqs;
}


/* ---- recovery ------------------------------------------------------------------- */

int jobs_restore_submit (uint64_t id, proto_slice_t fn, proto_slice_t args, int64_t priority,
                         int64_t timeout_ms, int64_t ttl_ms, int64_t retries, int64_t flags,
                         int64_t start_wall_ms, proto_slice_t owner_key, proto_slice_t key,
                         proto_slice_t after)
{
    const uint8_t *name;
    size_t len;
    if (id == 0 || jobs_find (id) || proto_read_str (fn, &name, &len, false) != 0 || len == 0
        || len > 64)
        return -1;
    job_t *job = xcalloc (1, sizeof *job);
    job->owner_key = "";
    job->id = id;
    job->fq = s_fq (name, len, true);
    job->state = J_PENDING;
    job->fq->count[J_PENDING]++;
    job->args = blob_from_slice (args);
    job->priority = (int) priority;
    job->timeout_ms = timeout_ms;
    job->ttl_ms = ttl_ms;
    job->retries_left = job->retries0 = (int) retries;
    job->backoff_base_ms = job->backoff_max_ms = -1;
    job->chunk = flags & 1;
    job->notify = flags & 2;
    job->shared = flags & 4;
    const uint8_t *okey;
    size_t olen;
    if (owner_key.ptr && proto_read_str (owner_key, &okey, &olen, false) == 0
        && olen < 64) {
        job->owner_key = jobs_intern ((const char *) okey, olen);
    }
    job->start_wall_ms = start_wall_ms;
    job->created_ms = now_ms ();
    const uint8_t *k;
    size_t klen, nafter;
    proto_slice_t body, item;
    if (key.ptr && proto_read_str (key, &k, &klen, false) == 0 && klen > 0 && klen <= 256) {
        job->ukey = xmalloc (klen + 1);
        memcpy (job->ukey, k, klen);
        job->ukey[klen] = '\0';
        job->ukey_len = klen;
        unique_put (job->owner_key, job->ukey, klen, id);
    }
    if (after.ptr && proto_read_array (after, &nafter, &body) == 0 && nafter > 0
        && nafter <= 1024) {
        job->after = xcalloc (nafter, sizeof *job->after);
        for (size_t i = 0; i < nafter; i++) {
            int64_t dep;
            proto_next (&body, &item);
            if (proto_read_int (item, &dep) == 0 && dep > 0)
                job->after[job->nafter++] = (uint64_t) dep;
        }
    }
    s_insert (job);
    if (id > s_next_id)
        s_next_id = id;
    return 0;
}

int jobs_restore_start (uint64_t id, int64_t attempt)
{
    job_t *job = jobs_find (id);
    if (!job || job->state >= J_DONE)
        return -1;
    jobs_set_state (job, J_RUNNING);
    job->attempts = (int) attempt;
    return 0;
}

int jobs_restore_requeue (uint64_t id, int64_t retries_left, int64_t attempts)
{
    job_t *job = jobs_find (id);
    if (!job || job->state >= J_DONE)
        return -1;
    jobs_set_state (job, J_PENDING);
    job->retries_left = (int) retries_left;
    job->attempts = (int) attempts;
    return 0;
}

/*  The reasons a final job can have, interned (job->reason is static). */
static const char *s_reason (proto_slice_t r)
{
    static const char *known[] = { "error", "timeout", "worker-died", "cancelled", "restart",
                                   "dependency-failed" };
    const uint8_t *s;
    size_t len;
    if (proto_read_str (r, &s, &len, false) != 0 || len == 0)
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen (known[i]) == len && !memcmp (known[i], s, len))
            return known[i];
    return "error";
}

int jobs_restore_finish (uint64_t id, int64_t status, proto_slice_t reason, proto_slice_t result,
                         int64_t final_wall_ms)
{
    job_t *job = jobs_find (id);
    if (!job || job->state >= J_DONE)
        return -1;
    jobs_set_state (job, status == 0                   ? J_DONE
                         : status == ZMGR_ECANCELLED ? J_CANCELLED
                                                     : J_FAILED);
    job->status = (int) status;
    job->reason = s_reason (reason);
    job->result = blob_from_slice (result);
    job->final_wall_ms = final_wall_ms;
    /*  Its args stay until the record that follows says whether it is
     *  dead (EFF_JOB_DEAD keeps them); jobs_recovered drops the rest. */
    return 0;
}

/*  The static name of an attempt's end, from a record ("error" for any
 *  other text). */
static const char *s_end_name (proto_slice_t v)
{
    static const char *known[] = { "done",      "error",   "timeout",
                                   "worker-died", "cancelled", "restart" };
    const uint8_t *s;
    size_t len;
    if (proto_read_str (v, &s, &len, false) == 0)
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strlen (known[i]) == len && !memcmp (known[i], s, len))
                return known[i];
    return "error";
}

static const char *s_interned_str (proto_slice_t v)
{
    const uint8_t *s;
    size_t len;
    if (proto_read_str (v, &s, &len, false) != 0 || len >= 64)
        return "";
    return jobs_intern ((const char *) s, len);
}

static blob_t *s_tail_of (proto_slice_t v)
{
    const uint8_t *s;
    size_t len;
    if (proto_is_nil (v) || proto_read_str (v, &s, &len, true) != 0 || len == 0)
        return NULL;
    return blob_new (s, len);
}

int jobs_restore_attempt (uint64_t id, const proto_slice_t *f)
{
    job_t *job = jobs_find (id);
    int64_t start, end, pid, code, sig;
    bool oom;
    if (!job || proto_read_int (f[0], &start) || proto_read_int (f[1], &end)
        || proto_read_int (f[5], &pid) || proto_read_int (f[6], &code)
        || proto_read_int (f[7], &sig) || proto_read_bool (f[8], &oom))
        return -1;
    job_attempt_t *a = s_attempt_push (job);
    a->start_wall_ms = start;
    a->end_wall_ms = end;
    a->end = s_end_name (f[2]);
    a->worker = s_interned_str (f[3]);
    a->host = s_interned_str (f[4]);
    a->pid = pid;
    a->exit_code = (int) code;
    a->signal = (int) sig;
    a->oom = oom;
    a->tail = s_tail_of (f[9]);
    if (!strcmp (a->end, "worker-died"))
        job->kills++;
    return 0;
}

int jobs_restore_exit (uint64_t id, const proto_slice_t *f)
{
    job_t *job = jobs_find (id);
    int64_t index, code, sig;
    bool oom;
    if (!job || proto_read_int (f[0], &index) || proto_read_int (f[1], &code)
        || proto_read_int (f[2], &sig) || proto_read_bool (f[3], &oom) || index < 0)
        return -1;
    job_attempt_t *a = s_attempt_at (job, (uint32_t) index);
    if (a) {
        a->exit_code = (int) code;
        a->signal = (int) sig;
        a->oom = oom;
        xfree (a->tail);
        a->tail = s_tail_of (f[4]);
    }
    return 0;
}

int jobs_restore_dead (uint64_t id)
{
    job_t *job = jobs_find (id);
    if (!job || job->state != J_FAILED)
        return -1;
    jobs_set_state (job, J_DEAD);
    return 0;
}

int jobs_restore_retry (uint64_t id, int64_t retries_left)
{
    job_t *job = jobs_find (id);
    if (!job || job->state != J_DEAD)
        return -1;
    jobs_set_state (job, J_PENDING);
    job->kills = 0;
    job->attempts = 0;
    job->retries_left = (int) retries_left;
    job->status = 0;
    job->reason = NULL;
    xfree (job->result);
    job->result = NULL;
    return 0;
}

int jobs_restore_policy (uint64_t id, const proto_slice_t *f)
{
    job_t *job = jobs_find (id);
    int64_t retries0, poison, base, max, kills, seen;
    bool roe;
    if (!job || proto_read_int (f[0], &retries0) || proto_read_int (f[1], &poison)
        || proto_read_int (f[2], &base) || proto_read_int (f[3], &max)
        || proto_read_bool (f[4], &roe) || proto_read_int (f[5], &kills)
        || proto_read_int (f[6], &seen))
        return -1;
    job->retries0 = (int) retries0;
    job->poison_kills = (int) poison;
    job->backoff_base_ms = base;
    job->backoff_max_ms = max;
    job->retry_on_error = roe;
    job->kills = (int) kills;
    if (seen >= (int64_t) job->natt && seen <= UINT32_MAX)
        job->natt_seen = (uint32_t) seen;
    return 0;
}

int jobs_restore_backoff (uint64_t id, int64_t retries_left, int64_t attempts,
                          int64_t start_wall_ms)
{
    if (jobs_restore_requeue (id, retries_left, attempts) != 0)
        return -1;
    jobs_find (id)->start_wall_ms = start_wall_ms;
    return 0;
}

int jobs_restore_forget (uint64_t id)
{
    job_t *job = jobs_find (id);
    if (!job)
        return -1;
    s_remove (job);
    return 0;
}

void jobs_restore_seq (uint64_t last_id)
{
    if (last_id > s_next_id)
        s_next_id = last_id;
}

static int s_by_id (const void *a, const void *b)
{
    uint64_t x = (*(job_t *const *) a)->id, y = (*(job_t *const *) b)->id;
    return x < y ? -1 : x > y;
}

void jobs_recovered (void)
{
    if (s_count == 0)
        return;
    /*  In id order, so that jobs of equal priority keep their FIFO order. */
    job_t **all = xmalloc (s_count * sizeof *all);
    size_t n = 0;
    for (size_t i = 0; i < s_nbuckets; i++)
        for (job_t *j = s_table[i]; j; j = j->hnext)
            all[n++] = j;
    qsort (all, n, sizeof *all, s_by_id);
    int64_t now = now_ms (), wall = wall_ms ();
    size_t lost = 0;
    for (size_t i = 0; i < n; i++) {
        job_t *job = all[i];
        if (job->state >= J_DONE) {
            if (job->state != J_DEAD) {
                xfree (job->args);
                job->args = NULL;
            }
            int64_t left = job->final_wall_ms + job->ttl_ms - wall;
            jobs_timer (job, now + (left > 0 ? left : 0));
            continue;
        }
        if (job->state == J_RUNNING) {
            /*  Its attempt died with the broker: run it again, at no cost
             *  to its retries (the restart was not its fault). */
            lost++;
            g_stats.jobs_lost_restart++;
            job->run_wall_ms = 0;   /* not recorded: the record says when it ended */
            jobs_attempt_end (job, NULL, "restart");
            jobs_set_state (job, J_PENDING);
            jobs_record_requeue (job);
        }
        /*  Its dependencies, as they stand now: one forgotten (past its
         *  TTL) had succeeded, as a failure would have failed this job. */
        bool dep_failed = false;
        job->deps_left = 0;
        for (size_t k = 0; k < job->nafter && !dep_failed; k++)
            dep_failed = !s_depend (job, jobs_find (job->after[k]));
        if (dep_failed) {
            if (job->state == J_PENDING)
                jobs_set_state (job, J_DELAYED);
            s_fail (job, ZMGR_EJOBFAILED, "dependency-failed",
                    "a job it runs after had failed");
            continue;
        }
        int64_t delay = job->start_wall_ms ? job->start_wall_ms - wall : 0;
        if (delay > 0 || job->deps_left > 0) {
            jobs_set_state (job, J_DELAYED);
            if (delay > 0)
                jobs_timer (job, now + delay);
        } else
            jobs_ready (job);
    }
    xfree (all);
    log_msg (LOG_NOTICE, 0, "recovered %zu jobs; %zu running attempts were lost to the "
             "restart and are queued again", n, lost);
}

void jobs_snapshot (void)
{
    proto_buf_t *b = store_effect (EFF_JOB_SEQ, 1);
    if (!b)
        return;
    proto_put_uint (b, s_next_id);
    store_effect_end ();
    for (size_t i = 0; i < s_nbuckets; i++)
        for (job_t *j = s_table[i]; j; j = j->hnext) {
            if (j->state >= J_DONE && !j->args) {
                /*  A final job's args are gone: submit it with none. */
                blob_t *none = blob_new ("\x90", 1);
                j->args = none;
                s_record_submit (j);
                j->args = NULL;
                xfree (none);
            } else
                s_record_submit (j);
            for (uint32_t a = 0; a < j->natt; a++)
                s_record_attempt (j, &j->att[a]);
            s_record_policy (j);   /* after the attempts: it sets the kill count */
            if (j->state >= J_DONE) {
                s_record_finish (j);
                if (j->state == J_DEAD)
                    s_record_id (EFF_JOB_DEAD, j);
                continue;
            }
            if (j->state == J_RUNNING)
                jobs_record_start (j);
            else if (j->attempts > 0)
                jobs_record_requeue (j);
        }
}

void jobs_each (void (*fn) (job_t *job, void *arg), void *arg)
{
    for (size_t i = 0; i < s_nbuckets; i++)
        for (job_t *j = s_table[i]; j; j = j->hnext)
            fn (j, arg);
}

/* ---- counters and shutdown --------------------------------------------------- */


size_t jobs_total (void)
{
    return s_count;
}

void jobs_shutdown (void)
{
    for (size_t i = 0; i < s_nbuckets; i++)
        for (job_t *j = s_table[i], *next; j; j = next) {
            next = j->hnext;
            if (j->waiters)
                park_fail_all (j->waiters, ZMGR_ESHUTDOWN, "broker is shutting down");
            s_free (j);
        }
    xfree (s_table);
    s_table = NULL;
    s_nbuckets = s_count = 0;
    while (s_fqs) {
        fq_t *f = s_fqs;
        s_fqs = f->next;
        heap_fini (&f->pending);
        xfree (f->name);
        xfree (f);
    }
    heap_fini (&s_timers);
    s_free_keys ();
    s_spares_free ();
    unique_shutdown ();
    xfree (s_ended);
    s_ended = NULL;
    s_nended = s_ended_cap = 0;
    xfree (s_late);
    s_late = NULL;
    s_nlate = s_late_cap = 0;
    workers_reset ();
}
