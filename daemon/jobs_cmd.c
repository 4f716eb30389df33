/*  daemon/jobs_cmd.c - the command half of jobs: submit, result,
 *  status, cancel, jobs, workers (clients), and hello, job.done,
 *  job.progress (workers). The table and its transitions are jobs.c's. */
#define _GNU_SOURCE
#include "cmd.h"
#include "config.h"
#include "jobs.h"
#include "log.h"
#include "stats.h"
#include "supervisor.h"
#include "unique.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/*  Reads one option value as an int in [lo, hi]. */
static int s_opt_int (cmd_ctx_t *ctx, proto_slice_t v, const char *key, int64_t lo,
                      int64_t hi, int64_t *out)
{
    if (proto_read_int (v, out) != 0 || *out < lo || *out > hi)
        return cmd_error (ctx, ZMGR_EINVAL, "option %s must be an integer from %lld to %lld",
                          key, (long long) lo, (long long) hi);
    return 0;
}

/*  Jobs a job may run after, at most. */
#define S_MAX_AFTER 64

/*  May this peer see job? A job belongs to the key that submitted it;
 *  admin keys and local peers see every job, and a job submitted with
 *  shared: true is anyone's. */
static bool s_visible (const cmd_ctx_t *ctx, const job_t *job)
{
    int auth = ctx->peer->auth;
    return job->shared || auth == AUTH_LOCAL || auth == AUTH_ADMIN
           || strcmp (job->owner_key, ctx->peer->key) == 0;
}

/*  Reads option after: an array of job ids (or one id). */
static int s_opt_after (cmd_ctx_t *ctx, proto_slice_t v, uint64_t *after, size_t *n)
{
    size_t count;
    proto_slice_t body, item;
    int64_t id;
    if (proto_read_int (v, &id) == 0) {
        if (id <= 0)
            return cmd_error (ctx, ZMGR_EINVAL, "option after: job ids are positive");
        after[0] = (uint64_t) id;
        *n = 1;
        return 0;
    }
    if (proto_read_array (v, &count, &body) != 0 || count > S_MAX_AFTER)
        return cmd_error (ctx, ZMGR_EINVAL, "option after must be an array of at most %d job "
                          "ids", S_MAX_AFTER);
    for (size_t i = 0; i < count; i++) {
        proto_next (&body, &item);
        if (proto_read_int (item, &id) != 0 || id <= 0)
            return cmd_error (ctx, ZMGR_EINVAL, "option after: job ids are positive integers");
        after[i] = (uint64_t) id;
    }
    *n = count;
    return 0;
}

/*  args: function, args array, [options map]. */
int job_cmd_submit (cmd_ctx_t *ctx)
{
    proto_req_t *req = ctx->req;
    const uint8_t *fname;
    size_t flen, n;
    proto_slice_t body;
    if (g_stats.stopping)
        return cmd_error (ctx, ZMGR_ESHUTDOWN, "the broker is shutting down");
    if (proto_read_str (req->args[0], &fname, &flen, false) != 0 || flen == 0 || flen > 64)
        return cmd_error (ctx, ZMGR_EINVAL, "function must be a name of 1 to 64 bytes");
    if (!proto_utf8_valid (fname, flen))   /* listed and echoed as str, as object names */
        return cmd_error (ctx, ZMGR_EINVAL, "the function name is not valid UTF-8");
    if (proto_read_array (req->args[1], &n, &body) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "args must be an array of positional arguments");
    if (flen == 4 && memcmp (fname, "exec", 4) == 0 && !g_cfg.exec_enabled)
        return cmd_error (ctx, ZMGR_EDISABLED,
                          "exec is disabled; start zmgrd with --enable-exec to allow it");
    int64_t priority = 0, timeout = 0, retries = 2, delay = 0, ttl = 3600000, at = 0;
    int64_t poison = 0, base = -1, max = -1;
    bool chunk = false, notify = false, shared = false, retry_on_error = false;
    const uint8_t *ukey = NULL;
    size_t ukey_len = 0, nafter = 0;
    uint64_t after[S_MAX_AFTER];
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
            char name[24] = "";
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
            else if (!strcmp (name, "at_ms"))
                rc = s_opt_int (ctx, v, name, 0, INT64_C (253402300799000), &at);
            else if (!strcmp (name, "key")) {
                if (proto_read_str (v, &ukey, &ukey_len, false) != 0 || ukey_len == 0
                    || ukey_len > 256 || !proto_utf8_valid (ukey, ukey_len))
                    return cmd_error (ctx, ZMGR_EINVAL,
                                      "option key must be a UTF-8 string of 1 to 256 bytes");
            } else if (!strcmp (name, "after"))
                rc = s_opt_after (ctx, v, after, &nafter);
            else if (!strcmp (name, "chunk") || !strcmp (name, "notify")
                     || !strcmp (name, "shared") || !strcmp (name, "retry_on_error")) {
                bool b;
                if (proto_read_bool (v, &b) != 0)
                    return cmd_error (ctx, ZMGR_EINVAL, "option %s must be a boolean", name);
                *(name[0] == 'c'   ? &chunk
                  : name[0] == 'n' ? &notify
                  : name[0] == 's' ? &shared
                                   : &retry_on_error) = b;
            } else if (!strcmp (name, "poison_kills"))
                rc = s_opt_int (ctx, v, name, 1, 1000, &poison);
            else if (!strcmp (name, "backoff_base_ms"))
                rc = s_opt_int (ctx, v, name, 0, 86400000, &base);
            else if (!strcmp (name, "backoff_max_ms"))
                rc = s_opt_int (ctx, v, name, 0, 86400000, &max);
            else
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
    if (at > 0 && delay > 0)
        return cmd_error (ctx, ZMGR_EINVAL, "options at_ms and delay_ms exclude each other");
    /*  A live job of this key's with the unique key: its id, not a new
     *  job. (Another key's job with it is another entry: unique.h.) */
    if (ukey) {
        job_t *same = jobs_find (unique_get (ctx->peer->key, (const char *)ukey, ukey_len));
        if (same) {
            if (notify)
                jobs_watch (same, ctx->peer->session);
            proto_put_uint (ctx->out, same->id);
            return 0;
        }
    }
    for (size_t i = 0; i < nafter; i++) {
        job_t *dep = jobs_find (after[i]);
        if (!dep || !s_visible (ctx, dep))
            return cmd_error (ctx, ZMGR_ENOTFOUND, "no job %llu to run after (unknown, or "
                              "its result expired)", (unsigned long long) after[i]);
    }
    if (jobs_total () >= g_cfg.max_jobs)
        return cmd_error (ctx, ZMGR_ELIMIT, "%zu jobs is the limit", g_cfg.max_jobs);
    job_spec_t spec = {
        .fn = fname, .fn_len = flen, .args = req->args[1], .priority = (int) priority,
        .timeout_ms = timeout, .ttl_ms = ttl, .delay_ms = delay, .retries = (int) retries,
        .chunk = chunk, .notify = notify, .shared = shared, .poison_kills = (int) poison,
        .backoff_base_ms = base, .backoff_max_ms = max, .retry_on_error = retry_on_error,
        .at_wall_ms = at,
        .key = ukey, .key_len = ukey_len, .after = after, .nafter = nafter,
    };
    job_t *job = jobs_submit (&spec, ctx->peer);
    proto_put_uint (ctx->out, job->id);
    return 0;
}

/*  The job named by argument 0, if this peer may see it: a job belongs to
 *  the key that submitted it; admin keys and local peers see every job,
 *  and a job submitted with shared: true is anyone's. Another key's job
 *  is answered as if it did not exist (ENOTFOUND), so that its id tells
 *  nothing (refusals are logged). */
static int s_lookup (cmd_ctx_t *ctx, job_t **job)
{
    int64_t id;
    if (proto_read_int (ctx->req->args[0], &id) != 0 || id <= 0)
        return cmd_error (ctx, ZMGR_EINVAL, "job id must be a positive integer");
    *job = jobs_find ((uint64_t) id);
    int auth = ctx->peer->auth;
    if (*job && !(*job)->shared && auth != AUTH_LOCAL && auth != AUTH_ADMIN
        && strcmp ((*job)->owner_key, ctx->peer->key) != 0) {
        log_msg (LOG_NOTICE, 0, "key %s refused %s of job %lld: submitted by another key",
                 ctx->peer->key, proto_opname (ctx->req->op), (long long) id);
        *job = NULL;
    }
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
    if (job->state > J_DONE) {   /* failed, cancelled or dead */
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
                          jobs_state_names[job->state]);
    if (!job->waiters)   /* most jobs are never waited on this way */
        job->waiters = xcalloc (1, sizeof *job->waiters);
    return cmd_park (ctx, job->waiters, timeout, ZMGR_ETIMEOUT, NULL, NULL);
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

/*  How a worker process ended, in words (for people; the numbers are in
 *  the record too). */
static void s_exit_text (const job_attempt_t *a, char *out, size_t size)
{
    if (a->signal > 0) {
        const char *name = sigabbrev_np (a->signal);
        if (a->oom)
            snprintf (out, size, "killed by the kernel's OOM killer (SIG%s)", name ? name : "?");
        else if (a->signal == SIGKILL)
            snprintf (out, size, "killed by SIGKILL (possibly OOM)");
        else
            snprintf (out, size, "killed by SIG%s (signal %d)", name ? name : "?", a->signal);
    } else if (a->exit_code >= 0)
        snprintf (out, size, "exited with status %d", a->exit_code);
    else
        out[0] = '\0';
}

/*  One attempt record: a map. */
static void s_put_attempt (proto_buf_t *b, const job_attempt_t *a, uint64_t number)
{
    char text[96];
    s_exit_text (a, text, sizeof text);
    proto_put_map (b, 12);
    s_kv_int (b, "attempt", (int64_t) number);
    s_kv_str (b, "end", a->end);
    s_kv_str (b, "worker", a->worker);
    s_kv_str (b, "host", a->host);
    s_kv_int (b, "pid", a->pid);
    proto_put_cstr (b, "started_ms");
    if (a->start_wall_ms > 0)
        proto_put_int (b, a->start_wall_ms);
    else
        proto_put_nil (b);
    s_kv_int (b, "ended_ms", a->end_wall_ms);
    proto_put_cstr (b, "exit_status");
    if (a->exit_code >= 0)
        proto_put_int (b, a->exit_code);
    else
        proto_put_nil (b);
    proto_put_cstr (b, "signal");
    if (a->signal > 0)
        proto_put_int (b, a->signal);
    else
        proto_put_nil (b);
    proto_put_cstr (b, "oom");
    proto_put_bool (b, a->oom);
    s_kv_str (b, "exit", text);
    proto_put_cstr (b, "stderr");
    if (a->tail && proto_utf8_valid (a->tail->data, a->tail->len))
        proto_put_str (b, (const char *) a->tail->data, a->tail->len);
    else if (a->tail)   /* cut mid-character, or not text: as bytes */
        proto_put_bin (b, a->tail->data, a->tail->len);
    else
        proto_put_nil (b);
}

int job_cmd_status (cmd_ctx_t *ctx)
{
    job_t *job;
    int rc = s_lookup (ctx, &job);
    if (rc)
        return rc;
    proto_buf_t *b = ctx->out;
    proto_put_map (b, 14);
    s_kv_int (b, "id", (int64_t) job->id);
    s_kv_str (b, "function", job->fq->name);
    s_kv_str (b, "state", jobs_state_names[job->state]);
    s_kv_str (b, "reason", job->reason ? job->reason : "");
    proto_put_cstr (b, "error");
    if (job->state > J_DONE && job->result)
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
    /*  The scheduling fields, nil when not set: the unique key, when a
     *  delayed (or backing off) job may start (wall ms), its after ids. */
    proto_put_cstr (b, "key");
    if (job->ukey)
        proto_put_str (b, job->ukey, job->ukey_len);
    else
        proto_put_nil (b);
    proto_put_cstr (b, "start_ms");
    if (job->start_wall_ms > 0)
        proto_put_int (b, job->start_wall_ms);
    else
        proto_put_nil (b);
    proto_put_cstr (b, "after");
    if (job->nafter) {
        proto_put_array (b, job->nafter);
        for (size_t i = 0; i < job->nafter; i++)
            proto_put_uint (b, job->after[i]);
    } else
        proto_put_nil (b);
    proto_put_cstr (b, "attempt_log");
    proto_put_array (b, job->natt);
    for (uint32_t i = 0; i < job->natt; i++)
        s_put_attempt (b, &job->att[i], job->natt_seen - job->natt + i + 1);
    return 0;
}

/*  args: id. A dead job back to pending, its attempts fresh: true; false
 *  when it is not dead. */
int job_cmd_retry (cmd_ctx_t *ctx)
{
    job_t *job;
    int rc = s_lookup (ctx, &job);
    if (rc)
        return rc;
    if (job->state != J_DEAD)
        return cmd_error (ctx, ZMGR_EINVAL, "job %llu is %s: only a dead job can be retried",
                          (unsigned long long) job->id, jobs_state_names[job->state]);
    proto_put_bool (ctx->out, jobs_retry (job));
    return 0;
}

int job_cmd_cancel (cmd_ctx_t *ctx)
{
    job_t *job;
    int rc = s_lookup (ctx, &job);
    if (rc)
        return rc;
    bool cancelled = jobs_cancel (job);
    proto_put_bool (ctx->out, cancelled);
    return 0;
}

int job_cmd_jobs (cmd_ctx_t *ctx)
{
    proto_buf_t *b = ctx->out;
    uint64_t total[J_NSTATES] = { 0 };
    size_t nfq = 0, nlonely = 0;
    int64_t oldest = -1, now = now_ms ();
    for (fq_t *f = jobs_functions (); f; f = f->next) {
        for (int s = 0; s < J_NSTATES; s++)
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
    size_t npaused = 0;
    for (fq_t *f = jobs_functions (); f; f = f->next)
        npaused += f->limit.paused;
    /*  "pending" counts scheduled (delayed) jobs too, as it always has;
     *  "scheduled" is their own count. */
    proto_put_map (b, 11);
    s_kv_int (b, "pending", (int64_t) (total[J_PENDING] + total[J_DELAYED]));
    s_kv_int (b, "scheduled", (int64_t) total[J_DELAYED]);
    s_kv_int (b, "running", (int64_t) total[J_RUNNING]);
    s_kv_int (b, "done", (int64_t) total[J_DONE]);
    s_kv_int (b, "failed", (int64_t) total[J_FAILED]);
    s_kv_int (b, "cancelled", (int64_t) total[J_CANCELLED]);
    s_kv_int (b, "dead", (int64_t) total[J_DEAD]);
    proto_put_cstr (b, "by_function");
    proto_put_map (b, nfq);
    for (fq_t *f = jobs_functions (); f; f = f->next) {
        proto_put_cstr (b, f->name);
        proto_put_map (b, 9);
        s_kv_int (b, "pending", (int64_t) (f->count[J_PENDING] + f->count[J_DELAYED]));
        s_kv_int (b, "scheduled", (int64_t) f->count[J_DELAYED]);
        proto_put_cstr (b, "paused");
        proto_put_bool (b, f->limit.paused);
        s_kv_int (b, "running", (int64_t) f->count[J_RUNNING]);
        s_kv_int (b, "done", (int64_t) f->count[J_DONE]);
        s_kv_int (b, "failed", (int64_t) f->count[J_FAILED]);
        s_kv_int (b, "cancelled", (int64_t) f->count[J_CANCELLED]);
        s_kv_int (b, "dead", (int64_t) f->count[J_DEAD]);
        s_kv_int (b, "workers", (int64_t) f->nworkers);
    }
    proto_put_cstr (b, "oldest_pending_ms");
    if (oldest < 0)
        proto_put_nil (b);
    else
        proto_put_int (b, oldest);
    proto_put_cstr (b, "no_worker");
    proto_put_array (b, nlonely);
    for (fq_t *f = jobs_functions (); f; f = f->next)
        if (f->nworkers == 0 && f->count[J_PENDING] + f->count[J_DELAYED] > 0)
            proto_put_cstr (b, f->name);
    /*  Functions paused (zmgr pause): their jobs stay pending. */
    proto_put_cstr (b, "paused");
    proto_put_array (b, npaused);
    for (fq_t *f = jobs_functions (); f; f = f->next)
        if (f->limit.paused)
            proto_put_cstr (b, f->name);
    return 0;
}

int job_cmd_workers (cmd_ctx_t *ctx)
{
    proto_buf_t *b = ctx->out;
    size_t n = 0;
    for (worker_t *w = jobs_workers (); w; w = w->next)
        n++;
    proto_put_array (b, n);
    int64_t now = now_ms ();
    for (worker_t *w = jobs_workers (); w; w = w->next) {
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

/*  Copies a str option into dst, cut at a character boundary to fit:
 *  false when it is not valid UTF-8 (it is listed as a str by workers).
 *  Another type leaves dst as it was. */
static bool s_copy_str (proto_slice_t v, char *dst, size_t size)
{
    const uint8_t *s;
    size_t len;
    if (proto_read_str (v, &s, &len, false) != 0)
        return true;
    if (!proto_utf8_valid (s, len))
        return false;
    size_t n = 0;
    while (n < len) {
        size_t seq = proto_utf8_seq (s + n, len - n);
        if (n + seq >= size)
            break;
        n += seq;
    }
    memcpy (dst, s, n);
    dst[n] = '\0';
    for (char *p = dst; *p; p++)
        if ((unsigned char) *p < 0x20)
            *p = '?';
    return true;
}

int jobs_cmd_worker_hello (cmd_ctx_t *ctx, proto_slice_t options)
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
    const uint8_t *secret = NULL;
    size_t slen = 0;
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
        else if (klen == 4 && (!memcmp (key, "name", 4) || !memcmp (key, "host", 4))) {
            bool is_name = key[0] == 'n';
            if (!s_copy_str (v, is_name ? w->name : w->host, is_name ? sizeof w->name
                                                                   : sizeof w->host)) {
                xfree (w);
                return cmd_error (ctx, ZMGR_EINVAL, "hello: the worker %s is not valid UTF-8",
                                  is_name ? "name" : "host");
            }
        }
        else if (klen == 3 && !memcmp (key, "pid", 3) && proto_read_int (v, &iv) == 0)
            w->pid = iv;
        else if (klen == 6 && !memcmp (key, "secret", 6)
                 && proto_read_str (v, &secret, &slen, false) != 0)
            secret = NULL;
    }
    size_t nf = 0;
    proto_slice_t fbody, f;
    if (functions.ptr && (proto_read_array (functions, &nf, &fbody) != 0 || nf > 4096)) {
        xfree (w);
        return cmd_error (ctx, ZMGR_EINVAL, "hello: functions must be an array of names");
    }
    /*  Checked before any function queue is made, so that a refusal
     *  leaves nothing behind. */
    proto_slice_t rest = fbody;
    for (size_t i = 0; i < nf; i++) {
        const uint8_t *name;
        size_t len;
        proto_next (&rest, &f);
        if (proto_read_str (f, &name, &len, false) == 0 && !proto_utf8_valid (name, len)) {
            xfree (w);
            return cmd_error (ctx, ZMGR_EINVAL, "hello: function %zu's name is not valid "
                              "UTF-8", i + 1);
        }
    }
    w->fqs = xcalloc (nf ? nf : 1, sizeof *w->fqs);
    for (size_t i = 0; i < nf; i++) {
        const uint8_t *name;
        size_t len;
        proto_next (&fbody, &f);
        if (proto_read_str (f, &name, &len, false) != 0 || len == 0 || len > 64)
            continue;
        fq_t *fq = jobs_function (name, len);
        bool dup = false;
        for (size_t j = 0; j < w->nfqs; j++)
            dup = dup || w->fqs[j] == fq;
        if (dup)
            continue;
        fq->nworkers++;
        w->fqs[w->nfqs++] = fq;
    }
    w->running = xcalloc ((size_t) w->credit, sizeof *w->running);
    /*  Local means started by our supervisor, proven by the secret that
     *  spawn was given: what a peer says of its host and pid is only
     *  shown, never trusted (a remote key could claim a local pid and
     *  have that worker killed when its own job overran). */
    w->local = w->pid > 0 && secret && peer->auth != AUTH_CLIENT
               && supervisor_claim ((pid_t) w->pid, secret, slen);
    if (w->pid > 0 && secret && !w->local)
        log_msg (LOG_NOTICE, 0, "session %llu (key %s) claimed to be local worker pid %lld "
                 "with a wrong secret: taken as a remote worker",
                 (unsigned long long) peer->session, peer->key, (long long) w->pid);
    peer->worker = w;
    log_msg (LOG_INFO, 0, "worker %s (%s pid %lld%s) joined with %zu functions, credit %d",
             w->name, w->host, (long long) w->pid, w->local ? ", local" : "", w->nfqs, w->credit);
    jobs_worker_join (w);
    return 0;
}

/*  The current attempt of job id run by this worker, or NULL: args id,
 *  attempt (the attempt token of its job.run). A report for any other
 *  attempt (retried, timed out, cancelled, or run by another session) is
 *  refused: counted in the stats and logged, since it means a worker
 *  went on running an attempt the broker had given up on. */
static job_t *s_current (cmd_ctx_t *ctx, const char *what)
{
    int64_t id, attempt;
    if (!ctx->peer->worker || proto_read_int (ctx->req->args[0], &id) != 0
        || proto_read_int (ctx->req->args[1], &attempt) != 0)
        return NULL;
    job_t *job = jobs_find ((uint64_t) id);
    if (job && job->state == J_RUNNING && job->worker == ctx->peer
        && job->attempts == attempt)
        return job;
    g_stats.jobs_stale++;
    log_msg (LOG_NOTICE, 0, "%s for job %lld attempt %lld from worker %s refused: not the "
             "current attempt (%s)", what, (long long) id, (long long) attempt,
             ctx->peer->worker->name,
             !job                        ? "no such job"
             : job->state != J_RUNNING ? jobs_state_names[job->state]
             : job->overdue            ? "given up on, waiting for its lease to lapse"
             : job->attempts != attempt  ? "a later attempt runs"
                                         : "another worker runs it");
    return NULL;
}

/*  args: id, attempt, status, result-or-message. */
int job_cmd_done (cmd_ctx_t *ctx)
{
    if (!ctx->peer->worker)
        return cmd_error (ctx, ZMGR_EINVAL, "job.done is for workers");
    job_t *job = s_current (ctx, "job.done");
    if (!job) {
        proto_put_nil (ctx->out);
        return 0;
    }
    int64_t status;
    if (proto_read_int (ctx->req->args[2], &status) != 0 || status > 0)
        status = ZMGR_EJOBFAILED;
    jobs_done (ctx->peer->worker, job, (int) status, ctx->req->args[3]);
    proto_put_nil (ctx->out);
    return 0;
}

/*  args: id, attempt. A job that waited in its worker's credit behind
 *  another starts now: its timeout is not eaten by the wait. No reply. */
int job_cmd_start (cmd_ctx_t *ctx)
{
    job_t *job = ctx->peer->worker ? s_current (ctx, "job.start") : NULL;
    if (job)
        jobs_started (job);
    proto_put_nil (ctx->out);
    return 0;
}

/*  args: id, attempt. The attempt is alive: its lease (the run timeout)
 *  starts again. No reply. */
int job_cmd_touch (cmd_ctx_t *ctx)
{
    job_t *job = ctx->peer->worker ? s_current (ctx, "job.touch") : NULL;
    if (job)
        jobs_touch (job);
    proto_put_nil (ctx->out);
    return 0;
}

/*  args: id, attempt, done, total; or id, done, total from a worker that
 *  predates attempt tokens (taken without the check, and no lease). */
int job_cmd_progress (cmd_ctx_t *ctx)
{
    int64_t id, done, total;
    job_t *job = NULL;
    bool token = ctx->req->nargs == 4;
    if (!ctx->peer->worker)
        ;
    else if (token)
        job = s_current (ctx, "job.progress");
    else if (proto_read_int (ctx->req->args[0], &id) == 0 && id > 0) {
        job = jobs_find ((uint64_t) id);
        if (job && (job->state != J_RUNNING || job->worker != ctx->peer))
            job = NULL;
    }
    size_t at = token ? 2 : 1;
    if (job && proto_read_int (ctx->req->args[at], &done) == 0
        && proto_read_int (ctx->req->args[at + 1], &total) == 0 && done >= 0 && total >= 0) {
        job->progress_done = (uint64_t) done;
        job->progress_total = (uint64_t) total;
        if (token)
            jobs_touch (job);
    }
    proto_put_nil (ctx->out);
    return 0;
}

