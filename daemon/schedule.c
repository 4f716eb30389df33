/*  daemon/schedule.c - cron entries, function limits and pause (sched.h)
 *  Cron ticks are wall-clock times: the loop is woken for the earliest
 *  (schedule_next_timeout) and each due entry fires once per wake, however
 *  many of its ticks have passed, so that a late loop, a clock jump or a
 *  restart runs it once and not once per missed tick. A fire that
 *  submits is recorded with its tick and job (EFF_CRON_FIRE): after a
 *  restart the entry knows its last run, so a job still going is not
 *  overlapped and a tick missed in the downtime is caught up once. */
#define _GNU_SOURCE
#include "schedule.h"
#include "config.h"
#include "effect.h"
#include "log.h"
#include "store.h"
#include "workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static schedule_cron_t *s_crons; /* every entry, newest first */
static size_t s_ncrons;

/* ---- effects ------------------------------------------------------------------ */

static void s_record_limit (const fq_t *fq)
{
    proto_buf_t *b = store_effect (EFF_LIMIT_SET, 6);
    if (!b)
        return;
    proto_put_cstr (b, fq->name);
    proto_put_int (b, fq->limit.rate);
    proto_put_int (b, fq->limit.period_ms);
    proto_put_int (b, fq->limit.concurrency);
    proto_put_int (b, fq->limit.backoff_base_ms);
    proto_put_int (b, fq->limit.backoff_max_ms);
    store_effect_end ();
}

static void s_record_pause (const fq_t *fq)
{
    proto_buf_t *b = store_effect (EFF_FN_PAUSE, 2);
    if (!b)
        return;
    proto_put_cstr (b, fq->name);
    proto_put_bool (b, fq->limit.paused);
    store_effect_end ();
}

static void s_record_add (const schedule_cron_t *c)
{
    proto_buf_t *b = store_effect (EFF_CRON_ADD, 6);
    if (!b)
        return;
    proto_put_cstr (b, c->name);
    proto_put_cstr (b, c->spec);
    proto_put_cstr (b, c->tz);
    proto_put_cstr (b, c->fn);
    proto_put_raw (b, c->args->data, c->args->len);
    proto_put_int (b, c->since_s);
    store_effect_end ();
}

static void s_record_fire (const schedule_cron_t *c)
{
    proto_buf_t *b = store_effect (EFF_CRON_FIRE, 3);
    if (!b)
        return;
    proto_put_cstr (b, c->name);
    proto_put_int (b, c->last_tick_s);
    proto_put_uint (b, c->last_job);
    store_effect_end ();
}

/* ---- limits ----------------------------------------------------------------------- */

void schedule_limit_set (fq_t *fq, int64_t rate, int64_t period_ms, int64_t concurrency,
                         int64_t backoff_base_ms, int64_t backoff_max_ms)
{
    limit_set (&fq->limit, rate, period_ms, concurrency, now_ms ());
    limit_set_backoff (&fq->limit, backoff_base_ms, backoff_max_ms);
    s_record_limit (fq);
    workers_kick (); /* a looser limit lets more start now */
}

bool schedule_pause (fq_t *fq, bool paused)
{
    if (fq->limit.paused == paused)
        return false;
    fq->limit.paused = paused;
    s_record_pause (fq);
    if (!paused)
        workers_kick ();
    log_msg (LOG_NOTICE, 0, "function %s %s", fq->name, paused ? "paused" : "resumed");
    return true;
}

/* ---- cron entries ------------------------------------------------------------------ */

static char *s_dup (const char *s)
{
    size_t n = strlen (s);
    char *d = xmalloc (n + 1);
    memcpy (d, s, n + 1);
    return d;
}

/*  A slice's string as a C string of at most max bytes, or NULL. */
static char *s_cstr (proto_slice_t v, size_t max)
{
    const uint8_t *s;
    size_t len;
    if (proto_read_str (v, &s, &len, false) != 0 || len > max || memchr (s, 0, len))
        return NULL;
    char *d = xmalloc (len + 1);
    memcpy (d, s, len);
    d[len] = '\0';
    return d;
}

schedule_cron_t *schedule_cron_find (const char *name)
{
    for (schedule_cron_t *c = s_crons; c; c = c->next)
        if (strcmp (c->name, name) == 0)
            return c;
    return NULL;
}

schedule_cron_t *schedule_cron_list (void)
{
    return s_crons;
}

static void s_free (schedule_cron_t *c)
{
    xfree (c->name);
    xfree (c->spec);
    xfree (c->tz);
    xfree (c->fn);
    xfree (c->args);
    xfree (c);
}

/*  A new entry (not listed yet), or NULL with the reason in err. */
static schedule_cron_t *s_make (const char *name, const char *spec, const char *tz,
                                const char *fn, proto_slice_t args, char *err,
                                size_t err_len)
{
    cron_spec_t parsed;
    if (cron_parse (spec, &parsed, err, err_len) != 0)
        return NULL;
    if (!cron_zone_valid (tz)) {
        snprintf (err, err_len,
                  "unknown time zone '%.64s' (a tz database name, such as "
                  "Europe/Berlin)",
                  tz);
        return NULL;
    }
    schedule_cron_t *c = xcalloc (1, sizeof *c);
    c->name = s_dup (name);
    c->spec = s_dup (spec);
    c->tz = s_dup (tz);
    c->parsed = parsed;
    c->fn = s_dup (fn);
    c->args = blob_from_slice (args);
    c->next_s = -1;
    return c;
}

static void s_link (schedule_cron_t *c)
{
    c->next = s_crons;
    s_crons = c;
    s_ncrons++;
}

int schedule_cron_add (const char *name, const char *spec, const char *tz, const char *fn,
                       proto_slice_t args, char *err, size_t err_len)
{
    if (schedule_cron_find (name)) {
        snprintf (err, err_len, "a cron entry named '%s' exists: remove it first", name);
        return -1;
    }
    if (s_ncrons >= SCHEDULE_MAX_CRON) {
        snprintf (err, err_len, "%d cron entries is the limit", SCHEDULE_MAX_CRON);
        return -1;
    }
    schedule_cron_t *c = s_make (name, spec, tz, fn, args, err, err_len);
    if (!c)
        return -1;
    c->since_s = wall_ms () / 1000;
    c->next_s = cron_next (&c->parsed, c->tz, c->since_s);
    if (c->next_s < 0) {
        /*  "0 0 30 2 *" parses but never runs: an entry that is listed
         *  and never fires is a mistake its author should hear of now. */
        snprintf (err, err_len, "the spec '%s' never matches (no tick in the next 8 years: "
                  "a day that month does not have?)", spec);
        s_free (c);
        return -1;
    }
    s_link (c);
    s_record_add (c);
    log_msg (LOG_INFO, 0, "cron %s: '%s'%s%s runs %s", name, spec, *tz ? " in " : "", tz,
             fn);
    return 0;
}

bool schedule_cron_remove (const char *name)
{
    for (schedule_cron_t **pp = &s_crons; *pp; pp = &(*pp)->next)
        if (strcmp ((*pp)->name, name) == 0) {
            schedule_cron_t *c = *pp;
            *pp = c->next;
            s_ncrons--;
            proto_buf_t *b = store_effect (EFF_CRON_REMOVE, 1);
            if (b) {
                proto_put_cstr (b, name);
                store_effect_end ();
            }
            s_free (c);
            return true;
        }
    return false;
}

/* ---- the timer ------------------------------------------------------------------------
 */

int64_t schedule_next_timeout (void)
{
    int64_t first = -1;
    for (schedule_cron_t *c = s_crons; c; c = c->next)
        if (c->next_s >= 0 && (first < 0 || c->next_s < first))
            first = c->next_s;
    if (first < 0)
        return -1;
    int64_t left = first * 1000 - wall_ms ();
    return left > 0 ? left : 0;
}

/*  A tick of c is due: its job, unless the last one is still going. */
static void s_fire (schedule_cron_t *c, int64_t tick_s)
{
    job_t *last = c->last_job ? jobs_find (c->last_job) : NULL;
    if (last && last->state < J_DONE) {
        c->skipped++;
        log_msg (LOG_INFO, 0, "cron %s: tick skipped, job %llu of the last is still %s",
                 c->name, (unsigned long long)last->id, jobs_state_names[last->state]);
        return;
    }
    if (jobs_total () >= g_cfg.max_jobs) {
        c->skipped++;
        log_msg (LOG_WARNING, 0, "cron %s: tick skipped, the job table is full", c->name);
        return;
    }
    job_spec_t spec = {
        .fn = (const uint8_t *)c->fn,
        .fn_len = strlen (c->fn),
        .args = blob_slice (c->args),
        .ttl_ms = 3600000,
        .retries = 2,
    };
    job_t *job = jobs_submit (&spec, NULL);
    c->last_job = job->id;
    c->last_tick_s = tick_s;
    c->runs++;
    s_record_fire (c);
}

void schedule_expire (void)
{
    if (!s_crons)
        return;
    int64_t wall = wall_ms ();
    for (schedule_cron_t *c = s_crons; c; c = c->next) {
        if (c->next_s < 0 || c->next_s * 1000 > wall)
            continue;
        s_fire (c, c->next_s);
        /*  From now: ticks missed while the loop was late are not run. */
        int64_t from = wall / 1000 > c->next_s ? wall / 1000 : c->next_s;
        c->next_s = cron_next (&c->parsed, c->tz, from);
    }
}

/* ---- recovery
 * -------------------------------------------------------------------------- */

static fq_t *s_fq_of (proto_slice_t fn)
{
    const uint8_t *name;
    size_t len;
    if (proto_read_str (fn, &name, &len, false) != 0 || len == 0 || len > 64)
        return NULL;
    return jobs_function (name, len);
}

int schedule_restore_limit (proto_slice_t fn, int64_t rate, int64_t period_ms,
                            int64_t concurrency, int64_t backoff_base_ms,
                            int64_t backoff_max_ms)
{
    fq_t *fq = s_fq_of (fn);
    if (!fq || rate < 0 || period_ms < 0 || concurrency < 0 || backoff_base_ms < -1 ||
        backoff_max_ms < -1)
        return -1;
    limit_set (&fq->limit, rate, period_ms, concurrency, now_ms ());
    limit_set_backoff (&fq->limit, backoff_base_ms, backoff_max_ms);
    return 0;
}

int schedule_restore_pause (proto_slice_t fn, bool paused)
{
    fq_t *fq = s_fq_of (fn);
    if (!fq)
        return -1;
    fq->limit.paused = paused;
    return 0;
}

int schedule_restore_cron_add (proto_slice_t name, proto_slice_t spec, proto_slice_t tz,
                               proto_slice_t fn, proto_slice_t args, int64_t since_s)
{
    char *n = s_cstr (name, 64), *sp = s_cstr (spec, 256), *z = s_cstr (tz, 64),
         *f = s_cstr (fn, 64);
    int rc = -1;
    char err[128];
    if (n && sp && z && f && *n && *f && !schedule_cron_find (n)) {
        schedule_cron_t *c = s_make (n, sp, z, f, args, err, sizeof err);
        if (c) {
            c->since_s = since_s;
            s_link (c);
        } else /* its zone gone from this host, say: the rest still loads */
            log_msg (LOG_WARNING, 0, "cron %s not restored: %s", n, err);
        rc = 0;
    }
    xfree (n);
    xfree (sp);
    xfree (z);
    xfree (f);
    return rc;
}

int schedule_restore_cron_remove (proto_slice_t name)
{
    char *n = s_cstr (name, 64);
    if (!n)
        return -1;
    schedule_cron_t *c = schedule_cron_find (n);
    if (c)
        for (schedule_cron_t **pp = &s_crons; *pp; pp = &(*pp)->next)
            if (*pp == c) {
                *pp = c->next;
                s_ncrons--;
                s_free (c);
                break;
            }
    xfree (n);
    return 0; /* an entry not restored is removed already */
}

int schedule_restore_cron_fire (proto_slice_t name, int64_t tick_s, uint64_t job)
{
    char *n = s_cstr (name, 64);
    if (!n)
        return -1;
    schedule_cron_t *c = schedule_cron_find (n);
    xfree (n);
    if (!c)
        return 0; /* an entry not restored (its zone is gone): skipped too */
    c->last_tick_s = tick_s;
    c->last_job = job;
    return 0;
}

void schedule_recovered (void)
{
    int64_t now_s = wall_ms () / 1000;
    size_t catchup = 0;
    for (schedule_cron_t *c = s_crons; c; c = c->next) {
        int64_t base = c->last_tick_s > c->since_s ? c->last_tick_s : c->since_s;
        int64_t next = cron_next (&c->parsed, c->tz, base);
        /*  Ticks missed while down: one run now (the first), none for the
         *  rest; then on from now. */
        if (next >= 0 && next <= now_s)
            catchup++;
        c->next_s = next;
    }
    if (s_ncrons)
        log_msg (LOG_NOTICE, 0,
                 "recovered %zu cron entries; %zu missed a tick and run once now",
                 s_ncrons, catchup);
}

void schedule_snapshot (void)
{
    for (fq_t *fq = jobs_functions (); fq; fq = fq->next) {
        if (fq->limit.rate || fq->limit.concurrency || limit_has_backoff (&fq->limit))
            s_record_limit (fq);
        if (fq->limit.paused)
            s_record_pause (fq);
    }
    for (schedule_cron_t *c = s_crons; c; c = c->next) {
        s_record_add (c);
        if (c->last_tick_s)
            s_record_fire (c);
    }
}

void schedule_shutdown (void)
{
    while (s_crons) {
        schedule_cron_t *c = s_crons;
        s_crons = c->next;
        s_free (c);
    }
    s_ncrons = 0;
}
