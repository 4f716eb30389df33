/*  daemon/schedule_cmd.c - the command half of schedules: limit.set,
 *  limit.clear, limit.list, fn.pause, fn.resume, cron.add, cron.remove,
 *  cron.list, and the job listing job.list. State and effects are
 *  schedule.c's and jobs.c's; wire format: PROTOCOL.md section 8b. */
#define _GNU_SOURCE
#include "cmd.h"
#include "jobs.h"
#include "log.h"
#include "schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Argument i as a function name (1-64 bytes of UTF-8): its queue, made
 *  on demand, or NULL with the error set in *rc. */
static fq_t *s_function (cmd_ctx_t *ctx, size_t i, int *rc)
{
    const uint8_t *name;
    size_t len;
    if (proto_read_str (ctx->req->args[i], &name, &len, false) != 0 || len == 0 ||
        len > 64 || !proto_utf8_valid (name, len)) {
        *rc = cmd_error (ctx, ZMGR_EINVAL,
                         "function must be a UTF-8 name of 1 to 64 bytes");
        return NULL;
    }
    return jobs_function (name, len);
}

/*  Argument i as a C string of 1 to max bytes (into buf of max + 1). */
static int s_cstr_arg (cmd_ctx_t *ctx, size_t i, const char *what, char *buf, size_t max,
                       bool empty_ok)
{
    const uint8_t *s;
    size_t len;
    if (proto_read_str (ctx->req->args[i], &s, &len, false) != 0 || len > max ||
        (!empty_ok && len == 0) || memchr (s, 0, len) || !proto_utf8_valid (s, len))
        return cmd_error (ctx, ZMGR_EINVAL,
                          "%s must be a UTF-8 string of %d to %zu bytes", what,
                          empty_ok ? 0 : 1, max);
    memcpy (buf, s, len);
    buf[len] = '\0';
    return 0;
}

static void s_kv_int (proto_buf_t *b, const char *k, int64_t v)
{
    proto_put_cstr (b, k);
    proto_put_int (b, v);
}

static void s_kv_str (proto_buf_t *b, const char *k, const char *v)
{
    proto_put_cstr (b, k);
    proto_put_cstr (b, v);
}

/* ---- limits and pause ------------------------------------------------------------ */

/*  args: function, options {rate, period_ms, concurrency, backoff_base_ms,
 *  backoff_max_ms}. Options left out keep their value; rate or
 *  concurrency 0 removes that limit, a backoff -1 gives it back to the
 *  broker's setting. */
int schedule_cmd_limit_set (cmd_ctx_t *ctx)
{
    int rc = 0;
    fq_t *fq = s_function (ctx, 0, &rc);
    if (!fq)
        return rc;
    int64_t rate = fq->limit.rate,
            period = fq->limit.period_ms ? fq->limit.period_ms : 1000,
            conc = fq->limit.concurrency, base = fq->limit.backoff_base_ms,
            max = fq->limit.backoff_max_ms;
    size_t n;
    proto_slice_t body, k, v;
    if (proto_read_map (ctx->req->args[1], &n, &body) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "limit options must be a map");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *key;
        size_t klen;
        int64_t iv;
        proto_next (&body, &k);
        proto_next (&body, &v);
        if (proto_read_str (k, &key, &klen, false) != 0)
            return cmd_error (ctx, ZMGR_EINVAL, "option names are strings");
        int64_t *dst = klen == 4 && !memcmp (key, "rate", 4)                ? &rate
                       : klen == 9 && !memcmp (key, "period_ms", 9)         ? &period
                       : klen == 11 && !memcmp (key, "concurrency", 11)     ? &conc
                       : klen == 15 && !memcmp (key, "backoff_base_ms", 15) ? &base
                       : klen == 14 && !memcmp (key, "backoff_max_ms", 14)  ? &max
                                                                            : NULL;
        if (!dst)
            return cmd_error (ctx, ZMGR_EINVAL,
                              "unknown limit option '%.*s' (rate, period_ms, "
                              "concurrency, backoff_base_ms, backoff_max_ms)",
                              (int)klen, key);
        bool backoff = dst == &base || dst == &max;
        int64_t lo = dst == &period ? 1 : backoff ? -1 : 0;
        int64_t hi = dst == &period || backoff ? 86400000 : 1000000;
        if (proto_read_int (v, &iv) != 0 || iv < lo || iv > hi)
            return cmd_error (ctx, ZMGR_EINVAL,
                              "limit option %.*s must be an integer from %lld "
                              "to %lld",
                              (int)klen, key, (long long)lo, (long long)hi);
        *dst = iv;
    }
    schedule_limit_set (fq, rate, period, conc, base, max);
    proto_put_nil (ctx->out);
    return 0;
}

/*  args: function. Reply: whether it had a limit or a backoff of its
 *  own. The pause stays. */
int schedule_cmd_limit_clear (cmd_ctx_t *ctx)
{
    int rc = 0;
    fq_t *fq = s_function (ctx, 0, &rc);
    if (!fq)
        return rc;
    bool had = fq->limit.rate || fq->limit.concurrency || limit_has_backoff (&fq->limit);
    if (had)
        schedule_limit_set (fq, 0, 0, 0, -1, -1);
    proto_put_bool (ctx->out, had);
    return 0;
}

/*  Reply: an array of maps, one per function with a limit, a backoff of
 *  its own or paused; backoff_base_ms / backoff_max_ms nil when the
 *  broker's setting applies. */
int schedule_cmd_limit_list (cmd_ctx_t *ctx)
{
    size_t n = 0;
    for (fq_t *f = jobs_functions (); f; f = f->next)
        n += limit_any (&f->limit);
    proto_buf_t *b = ctx->out;
    proto_put_array (b, n);
    for (fq_t *f = jobs_functions (); f; f = f->next) {
        if (!limit_any (&f->limit))
            continue;
        proto_put_map (b, 9);
        s_kv_str (b, "function", f->name);
        s_kv_int (b, "rate", f->limit.rate);
        s_kv_int (b, "period_ms", f->limit.period_ms);
        s_kv_int (b, "concurrency", f->limit.concurrency);
        proto_put_cstr (b, "backoff_base_ms");
        if (f->limit.backoff_base_ms >= 0)
            proto_put_int (b, f->limit.backoff_base_ms);
        else
            proto_put_nil (b);
        proto_put_cstr (b, "backoff_max_ms");
        if (f->limit.backoff_max_ms >= 0)
            proto_put_int (b, f->limit.backoff_max_ms);
        else
            proto_put_nil (b);
        proto_put_cstr (b, "paused");
        proto_put_bool (b, f->limit.paused);
        s_kv_int (b, "running", (int64_t)f->count[J_RUNNING]);
        s_kv_int (b, "pending", (int64_t)f->count[J_PENDING]);
    }
    return 0;
}

static int s_pause (cmd_ctx_t *ctx, bool paused)
{
    int rc = 0;
    fq_t *fq = s_function (ctx, 0, &rc);
    if (!fq)
        return rc;
    proto_put_bool (ctx->out, schedule_pause (fq, paused));
    return 0;
}

/*  args: function. Reply: whether it changed. */
int schedule_cmd_pause (cmd_ctx_t *ctx)
{
    return s_pause (ctx, true);
}

int schedule_cmd_resume (cmd_ctx_t *ctx)
{
    return s_pause (ctx, false);
}

/* ---- cron -------------------------------------------------------------------------- */

/*  args: name, spec, function, args array, [options {tz}]. */
int schedule_cmd_cron_add (cmd_ctx_t *ctx)
{
    char name[65], spec[257], fn[65], tz[65] = "";
    int rc;
    if ((rc = s_cstr_arg (ctx, 0, "the cron entry's name", name, 64, false)) ||
        (rc = s_cstr_arg (ctx, 1, "the cron spec", spec, 256, false)) ||
        (rc = s_cstr_arg (ctx, 2, "function", fn, 64, false)))
        return rc;
    size_t n;
    proto_slice_t body;
    if (proto_read_array (ctx->req->args[3], &n, &body) != 0)
        return cmd_error (ctx, ZMGR_EINVAL,
                          "args must be an array of positional arguments");
    if (ctx->req->nargs >= 5 && !proto_is_nil (ctx->req->args[4])) {
        proto_slice_t opts, k, v;
        size_t nopt;
        if (proto_read_map (ctx->req->args[4], &nopt, &opts) != 0)
            return cmd_error (ctx, ZMGR_EINVAL, "options must be a map");
        for (size_t i = 0; i < nopt; i++) {
            const uint8_t *key, *s;
            size_t klen, len;
            proto_next (&opts, &k);
            proto_next (&opts, &v);
            if (proto_read_str (k, &key, &klen, false) != 0 || klen != 2 ||
                memcmp (key, "tz", 2))
                return cmd_error (ctx, ZMGR_EINVAL,
                                  "unknown cron option (tz is the one)");
            if (proto_read_str (v, &s, &len, false) != 0 || len > 64)
                return cmd_error (ctx, ZMGR_EINVAL, "option tz must be a zone name");
            memcpy (tz, s, len);
            tz[len] = '\0';
        }
    }
    char err[160];
    if (schedule_cron_add (name, spec, tz, fn, ctx->req->args[3], err, sizeof err) != 0)
        return cmd_error (ctx, schedule_cron_find (name) ? ZMGR_EEXISTS : ZMGR_EINVAL,
                          "%s", err);
    schedule_cron_t *c = schedule_cron_find (name);
    proto_put_map (ctx->out, 1);
    proto_put_cstr (ctx->out, "next");
    if (c && c->next_s >= 0)
        proto_put_int (ctx->out, c->next_s * 1000);
    else
        proto_put_nil (ctx->out);
    return 0;
}

/*  args: name. Reply: whether there was one. */
int schedule_cmd_cron_remove (cmd_ctx_t *ctx)
{
    char name[65];
    int rc = s_cstr_arg (ctx, 0, "the cron entry's name", name, 64, false);
    if (rc)
        return rc;
    proto_put_bool (ctx->out, schedule_cron_remove (name));
    return 0;
}

int schedule_cmd_cron_list (cmd_ctx_t *ctx)
{
    size_t n = 0;
    for (schedule_cron_t *c = schedule_cron_list (); c; c = c->next)
        n++;
    proto_buf_t *b = ctx->out;
    /*  A cron job belongs to the broker, whose jobs other keys do not see
     *  (job.status): so their arguments, which may carry a secret, are
     *  shown to admin keys and local peers only. */
    int auth = ctx->peer->auth;
    bool args_shown = auth == AUTH_LOCAL || auth == AUTH_ADMIN;
    proto_put_array (b, n);
    for (schedule_cron_t *c = schedule_cron_list (); c; c = c->next) {
        proto_put_map (b, 10);
        s_kv_str (b, "name", c->name);
        s_kv_str (b, "spec", c->spec);
        s_kv_str (b, "tz", c->tz);
        s_kv_str (b, "function", c->fn);
        proto_put_cstr (b, "args");
        if (args_shown)
            proto_put_raw (b, c->args->data, c->args->len);
        else
            proto_put_nil (b);
        proto_put_cstr (b, "next"); /* wall ms */
        if (c->next_s >= 0)
            proto_put_int (b, c->next_s * 1000);
        else
            proto_put_nil (b);
        proto_put_cstr (b, "last");
        if (c->last_tick_s)
            proto_put_int (b, c->last_tick_s * 1000);
        else
            proto_put_nil (b);
        proto_put_cstr (b, "last_job");
        if (c->last_job)
            proto_put_uint (b, c->last_job);
        else
            proto_put_nil (b);
        s_kv_int (b, "runs", (int64_t)c->runs);
        s_kv_int (b, "skipped", (int64_t)c->skipped);
    }
    return 0;
}

/* ---- the job listing ------------------------------------------------------------------
 */

/*  Every state jobs.c names, however many it has. */
#define S_NSTATES ((int)(sizeof jobs_state_names / sizeof jobs_state_names[0]))
#define S_LIST_DEFAULT 100
#define S_LIST_MAX 1000

typedef struct {
    const cmd_ctx_t *ctx;
    int state;       /* J_*, or -1 for any */
    const char *fn;  /* function, or NULL for any */
    uint64_t before; /* ids below this only, 0: any */
    job_t **found;   /* the matching jobs */
    size_t n, cap;
} s_filter_t;

static void s_match (job_t *job, void *arg)
{
    s_filter_t *f = arg;
    if (f->state >= 0 && job->state != f->state)
        return;
    if (f->fn && strcmp (job->fq->name, f->fn) != 0)
        return;
    if (f->before && job->id >= f->before)
        return;
    int auth = f->ctx->peer->auth;
    if (!job->shared && auth != AUTH_LOCAL && auth != AUTH_ADMIN &&
        strcmp (job->owner_key, f->ctx->peer->key) != 0)
        return; /* another key's job is not listed (as job.status hides it) */
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 256;
        f->found = xrealloc (f->found, f->cap * sizeof *f->found);
    }
    f->found[f->n++] = job;
}

static int s_newest_first (const void *a, const void *b)
{
    uint64_t x = (*(job_t *const *)a)->id, y = (*(job_t *const *)b)->id;
    return x < y ? 1 : x > y ? -1 : 0;
}

/*  args: [options {state, function, limit, before}]. Reply: {jobs: [...],
 *  next: the before of the next page, or nil when this is the last}. */
int schedule_cmd_job_list (cmd_ctx_t *ctx)
{
    s_filter_t f = {.ctx = ctx, .state = -1};
    int64_t limit = S_LIST_DEFAULT;
    char fn[65];
    if (ctx->req->nargs >= 1 && !proto_is_nil (ctx->req->args[0])) {
        size_t n;
        proto_slice_t body, k, v;
        if (proto_read_map (ctx->req->args[0], &n, &body) != 0)
            return cmd_error (ctx, ZMGR_EINVAL, "options must be a map");
        for (size_t i = 0; i < n; i++) {
            const uint8_t *key, *s;
            size_t klen, len;
            int64_t iv;
            proto_next (&body, &k);
            proto_next (&body, &v);
            if (proto_read_str (k, &key, &klen, false) != 0)
                return cmd_error (ctx, ZMGR_EINVAL, "option names are strings");
            if (klen == 5 && !memcmp (key, "state", 5)) {
                f.state = -2;
                if (proto_read_str (v, &s, &len, false) == 0)
                    for (int st = 0; st < S_NSTATES; st++)
                        if (strlen (jobs_state_names[st]) == len &&
                            !memcmp (jobs_state_names[st], s, len))
                            f.state = st;
                if (f.state == -2)
                    return cmd_error (ctx, ZMGR_EINVAL,
                                      "option state must be one of pending, "
                                      "scheduled, running, done, failed, "
                                      "cancelled, dead");
            } else if (klen == 8 && !memcmp (key, "function", 8)) {
                if (proto_read_str (v, &s, &len, false) != 0 || len == 0 || len > 64)
                    return cmd_error (ctx, ZMGR_EINVAL, "option function must be a name");
                memcpy (fn, s, len);
                fn[len] = '\0';
                f.fn = fn;
            } else if (klen == 5 && !memcmp (key, "limit", 5)) {
                if (proto_read_int (v, &limit) != 0 || limit < 1 || limit > S_LIST_MAX)
                    return cmd_error (ctx, ZMGR_EINVAL,
                                      "option limit must be from 1 to %d", S_LIST_MAX);
            } else if (klen == 6 && !memcmp (key, "before", 6)) {
                if (proto_read_int (v, &iv) != 0 || iv < 1)
                    return cmd_error (ctx, ZMGR_EINVAL, "option before must be a job id");
                f.before = (uint64_t)iv;
            } else
                return cmd_error (ctx, ZMGR_EINVAL,
                                  "unknown option '%.*s' (state, function, "
                                  "limit, before)",
                                  (int)klen, key);
        }
    }
    jobs_each (s_match, &f);
    if (f.n)
        qsort (f.found, f.n, sizeof *f.found, s_newest_first);
    size_t shown = f.n < (size_t)limit ? f.n : (size_t)limit;
    proto_buf_t *b = ctx->out;
    int64_t now = now_ms ();
    proto_put_map (b, 2);
    proto_put_cstr (b, "jobs");
    proto_put_array (b, shown);
    for (size_t i = 0; i < shown; i++) {
        job_t *j = f.found[i];
        proto_put_map (b, 7);
        s_kv_int (b, "id", (int64_t)j->id);
        s_kv_str (b, "function", j->fq->name);
        s_kv_str (b, "state", jobs_state_names[j->state]);
        s_kv_int (b, "attempts", j->attempts);
        s_kv_int (b, "age_ms", now - j->created_ms);
        s_kv_str (b, "reason", j->reason ? j->reason : "");
        proto_put_cstr (b, "key");
        if (j->ukey)
            proto_put_str (b, j->ukey, j->ukey_len);
        else
            proto_put_nil (b);
    }
    proto_put_cstr (b, "next");
    if (shown < f.n)
        proto_put_uint (b, f.found[shown - 1]->id);
    else
        proto_put_nil (b);
    xfree (f.found);
    return 0;
}
