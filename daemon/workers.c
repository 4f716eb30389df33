/*  daemon/workers.c - the worker registry, credit and dispatch (workers.h)
 *  Connected workers are kept in round-robin order; a worker takes as
 *  many jobs at once as its credit, and runs them in dispatch order. A
 *  job ready in its function's pending heap goes to the least loaded
 *  worker that has the function; a worker with free credit takes the
 *  best pending job among its functions. The job table, its states and
 *  timers are jobs.c's; this file moves jobs between the pending heaps
 *  and the workers' credit slots. Wire format: PROTOCOL.md section 8. */
#define _GNU_SOURCE
#include "workers.h"
#include "log.h"
#include "outbox.h"
#include "supervisor.h"

#include <stdlib.h>
#include <string.h>

static worker_t *s_workers; /* connected workers, round-robin order */
static worker_t *s_workers_tail;
static size_t s_running;      /* jobs running */
static uint64_t s_dispatches; /* jobs sent to workers so far */
static bool s_any_fresh;      /* some worker joined this turn, not fed yet */
static bool s_no_dispatch;    /* shutting down: start nothing */

/* ---- the registry ------------------------------------------------------------ */

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
    proto_put_uint (&b, (uint64_t)job->attempts);
    proto_put_cstr (&b, job->fq->name);
    proto_put_raw (&b, job->args->data, job->args->len);
    proto_put_int (&b, job->timeout_ms);
    proto_put_bool (&b, job->chunk);
    if (!b.oom)
        outbox_put (w->peer->id, w->peer->id_len, b.data, b.len);
    proto_buf_fini (&b);
}

/* ---- dispatch ---------------------------------------------------------------- */

static void s_start (worker_t *w, job_t *job)
{
    job->attempts++;
    job->run_wall_ms = wall_ms ();
    job->dispatched = ++s_dispatches;
    job->worker = w->peer;
    job->progress_done = job->progress_total = 0;
    jobs_set_state (job, J_RUNNING);
    w->running[w->nrunning++] = job;
    s_running++;
    jobs_timer (job, job->timeout_ms > 0 ? now_ms () + job->timeout_ms : -1);
    jobs_record_start (job);
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

/*  Limits (limit.h): a function paused, at its concurrency or out of rate
 *  tokens is passed over. The time its next token comes is kept, so that
 *  the loop wakes then (workers_wake_in) and every worker is fed again;
 *  so it is too when a limited job stops running or a limit changes. */
static int64_t s_rate_wake;   /* monotonic ms a token comes, 0: none awaited */
static bool s_feed_all;       /* feed every worker this turn */

static bool s_may_start (fq_t *fq)
{
    limit_t *l = &fq->limit;
    if (!l->paused && !l->concurrency && !l->rate)
        return true;   /* the common case costs three loads */
    int64_t now = now_ms ();
    if (limit_may_start (l, fq->count[J_RUNNING], now))
        return true;
    int64_t wait = l->paused ? -1 : limit_wait_ms (l, now);
    if (wait > 0 && (!s_rate_wake || now + wait < s_rate_wake))
        s_rate_wake = now + wait;
    return false;
}

void workers_kick (void)
{
    s_feed_all = true;
}

int64_t workers_wake_in (int64_t now)
{
    if (s_feed_all)
        return 0;
    return s_rate_wake ? (s_rate_wake > now ? s_rate_wake - now : 0) : -1;
}

void workers_wake (int64_t now)
{
    if (s_rate_wake && s_rate_wake <= now) {
        s_rate_wake = 0;
        s_feed_all = true;
    }
}

/*  Gives a worker with free credit the best pending job it can run. A busy
 *  worker (credit above 1 queues jobs in it) takes more only when no other
 *  worker for that function is idle, so that work spreads first. */
void workers_feed (worker_t *w)
{
    /*  A worker we killed is dying: what it is handed dies with it. */
    while (!s_no_dispatch && !w->killed && (size_t)w->credit > w->nrunning) {
        fq_t *best = NULL;
        for (size_t i = 0; i < w->nfqs; i++) {
            if (w->nrunning > 0 && s_idle_other (w, w->fqs[i]))
                continue;
            heap_node_t *top = heap_peek (&w->fqs[i]->pending);
            if (top && !s_may_start (w->fqs[i]))
                continue;
            if (top && (!best || top->deadline < heap_peek (&best->pending)->deadline
                        || (top->deadline == heap_peek (&best->pending)->deadline
                            && top->seq < heap_peek (&best->pending)->seq)))
                best = w->fqs[i];
        }
        if (!best)
            return;
        job_t *job = (job_t *) heap_pop (&best->pending);
        if (best->limit.rate)
            limit_took (&best->limit, now_ms ());
        s_start (w, job);
    }
}

/*  A job became ready (in its pending heap): the least loaded worker
 *  that can take it is fed (first in round-robin order among equals). */
void workers_offer (job_t *job)
{
    if (s_no_dispatch || job->fq->nworkers == 0)
        return;
    worker_t *best = NULL;
    for (worker_t *w = s_workers; w; w = w->next)
        if (!w->fresh && (size_t)w->credit > w->nrunning && s_has (w, job->fq) &&
            (!best || w->nrunning < best->nrunning))
            best = w;
    if (best)
        workers_feed (best);
}

/*  Takes a running job off its worker (slot freed, timer cleared). */
worker_t *workers_unrun (job_t *job)
{
    worker_t *w = job->worker ? job->worker->worker : NULL;
    if (w)
        s_slot_remove (w, job);
    if (job->worker) /* not an overdue one (no worker, not counted) */
        s_running--;
    if (job->fq->limit.concurrency)   /* a place is free: for any worker */
        s_feed_all = true;
    job->worker = NULL;
    jobs_timer (job, -1);
    return w;
}

/*  Tells a worker to drop a job (already taken off its list). A local
 *  worker that is running it, rather than holding it queued behind
 *  another (credit above 1), is killed instead: it may be stuck in the
 *  function. It runs its jobs in dispatch order, so the job runs if none
 *  of those still on its list was dispatched earlier. */
void workers_abandon (worker_t *w, job_t *job)
{
    if (!w)
        return;
    bool running = true;
    for (size_t i = 0; i < w->nrunning; i++)
        if (w->running[i]->dispatched < job->dispatched)
            running = false;
    if (w->local && running) {
        w->killed = true;
        supervisor_kill ((pid_t)w->pid);
        return;
    }
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_notice (&b, ZMGR_NOTICE_JOB_CANCEL);
    proto_put_array (&b, 1);
    proto_put_uint (&b, job->id);
    if (!b.oom)
        outbox_put (w->peer->id, w->peer->id_len, b.data, b.len);
    proto_buf_fini (&b);
}

/* ---- joins and departures ------------------------------------------------------ */

void jobs_worker_join (worker_t *w)
{
    w->prev = s_workers_tail;
    if (s_workers_tail)
        s_workers_tail->next = w;
    else
        s_workers = w;
    s_workers_tail = w;
    w->iname = jobs_intern (w->name, strlen (w->name));
    w->ihost = jobs_intern (w->host, strlen (w->host));
    w->fresh = true; /* fed by jobs_feed_fresh, after the hello reply */
    s_any_fresh = true;
}

void jobs_feed_fresh (void)
{
    /*  After the commands of the turn: their replies are out first. */
    jobs_flush_watch ();
    /*  Called every loop turn: nothing to walk unless a worker joined
     *  or a limit let more start. */
    if (!s_any_fresh && !s_feed_all)
        return;
    bool all = s_feed_all;
    s_any_fresh = s_feed_all = false;
    for (worker_t *w = s_workers, *next; w; w = next) {
        next = w->next; /* feeding rotates the list */
        if (w->fresh) {
            w->fresh = false;
            workers_feed (w);
        } else if (all && (size_t) w->credit > w->nrunning)
            workers_feed (w);
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
     *  go to the other workers. A worker runs its jobs one at a time in
     *  dispatch order, so only the one dispatched first had started; the
     *  rest waited in its credit and are charged nothing. A worker says
     *  bye only between jobs, and one we killed was killed for a job
     *  already taken off its list: theirs never started at all. */
    uint64_t first = UINT64_MAX;
    if (!peer->said_bye && !w->killed)
        for (size_t i = 0; i < w->nrunning; i++)
            if (w->running[i]->dispatched < first)
                first = w->running[i]->dispatched;
    /*  A local worker whose session ended without a bye may still run:
     *  stopped (SIGSTOP) past the liveness window, or cut off. It is
     *  killed before its jobs run again, so that an attempt given up on
     *  can neither finish beside the next one nor report twice. */
    if (w->local && !peer->said_bye && !w->killed) {
        w->killed = true;
        supervisor_kill ((pid_t)w->pid);
    }
    while (w->nrunning > 0) {
        job_t *job = w->running[--w->nrunning];
        job->worker = NULL;
        s_running--;
        int64_t deadline = job->timed ? job->tnode.deadline : -1;
        jobs_timer (job, -1);
        if (job->dispatched != first) {
            job->attempts--;
            jobs_record_requeue (job);
            jobs_ready (job);
            continue;
        }
        jobs_attempt_end (job, w, "worker-died");
        if (!w->local) {
            /*  A remote worker gone silent may still run it (stopped, or
             *  cut off): it kills its attempt itself at its deadline, or
             *  once it finds it was stopped past half the liveness window
             *  (libzmgr's watchdog), and the job waits for that: from
             *  the deadline, or from now without a timeout (PROTOCOL.md
             *  section 8). */
            int64_t now = now_ms ();
            jobs_lapse (job, deadline > now ? deadline : now, "worker-died");
        } else
            jobs_attempt_lost (job, "worker-died");
    }
    log_msg (LOG_INFO, 0, "worker %s left after %llu jobs", w->name,
             (unsigned long long)w->done);
    xfree (w->fqs);
    xfree (w->running);
    xfree (w->exit_tail);
    xfree (w);
}

void jobs_stop_dispatch (void)
{
    s_no_dispatch = true;
}

worker_t *jobs_workers (void)
{
    return s_workers;
}

size_t jobs_running (void)
{
    return s_running;
}

void workers_reset (void)
{
    s_running = 0;
    s_no_dispatch = false; /* back to the state of a fresh start */
    s_no_dispatch = false;   /* back to the state of a fresh start */
    s_rate_wake = 0;
    s_feed_all = false;
}
