/*  client/src/jobs.c - the synchronous job calls and the submit options
 *  job.submit, job.result, job.status, job.cancel, jobs and workers as
 *  plain requests (PROTOCOL.md section 8). The options encoding and checks
 *  here serve futures.c and pool.c too. Each call ends by running the
 *  future callbacks its wait made due (futures_settle). */
#include "jobs_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- submit options --------------------------------------------------------- */

void jobs_put_opts (proto_buf_t *b, const zmgr_job_opts_t *o, bool notify, bool chunk)
{
    zmgr_job_opts_t d = ZMGR_JOB_OPTS_INIT;
    if (!o)
        o = &d;
    size_t n = (o->priority != 0) + (o->timeout_ms > 0) + (o->retries >= 0) +
               (o->delay_ms > 0) + (o->ttl_ms > 0) + o->shared + notify + chunk +
               (o->poison_kills > 0) + (o->backoff_base_ms > 0) + (o->backoff_max_ms > 0) +
               o->retry_on_error + (o->key != NULL) + (o->at_ms > 0) + (o->nafter > 0);
    proto_put_map (b, n);
    if (o->poison_kills > 0) {
        proto_put_cstr (b, "poison_kills");
        proto_put_int (b, o->poison_kills);
    }
    if (o->backoff_base_ms > 0) {
        proto_put_cstr (b, "backoff_base_ms");
        proto_put_int (b, o->backoff_base_ms);
    }
    if (o->backoff_max_ms > 0) {
        proto_put_cstr (b, "backoff_max_ms");
        proto_put_int (b, o->backoff_max_ms);
    }
    if (o->retry_on_error) {
        proto_put_cstr (b, "retry_on_error");
        proto_put_bool (b, true);
    }
    if (o->key) {
        proto_put_cstr (b, "key");
        proto_put_cstr (b, o->key);
    }
    if (o->at_ms > 0) {
        proto_put_cstr (b, "at_ms");
        proto_put_int (b, o->at_ms);
    }
    if (o->nafter > 0) {
        proto_put_cstr (b, "after");
        proto_put_array (b, o->nafter);
        for (size_t i = 0; i < o->nafter; i++)
            proto_put_uint (b, o->after[i]);
    }
    if (o->priority != 0) {
        proto_put_cstr (b, "priority");
        proto_put_int (b, o->priority);
    }
    if (o->timeout_ms > 0) {
        proto_put_cstr (b, "timeout_ms");
        proto_put_int (b, o->timeout_ms);
    }
    if (o->retries >= 0) {
        proto_put_cstr (b, "retries");
        proto_put_int (b, o->retries);
    }
    if (o->delay_ms > 0) {
        proto_put_cstr (b, "delay_ms");
        proto_put_int (b, o->delay_ms);
    }
    if (o->ttl_ms > 0) {
        proto_put_cstr (b, "ttl_ms");
        proto_put_int (b, o->ttl_ms);
    }
    if (o->shared) {
        proto_put_cstr (b, "shared");
        proto_put_bool (b, true);
    }
    if (notify) {
        proto_put_cstr (b, "notify");
        proto_put_bool (b, true);
    }
    if (chunk) {
        proto_put_cstr (b, "chunk");
        proto_put_bool (b, true);
    }
}

static bool s_opts_empty (const zmgr_job_opts_t *o)
{
    return !o || (o->priority == 0 && o->timeout_ms <= 0 && o->retries < 0 &&
                  o->delay_ms <= 0 && o->ttl_ms <= 0 && !o->shared && o->poison_kills <= 0 &&
                  o->backoff_base_ms <= 0 && o->backoff_max_ms <= 0 && !o->retry_on_error &&
                  !o->key && o->at_ms <= 0 && o->nafter == 0);
}

/*  Negative times are a caller's bug, refused as the broker refuses them
 *  on the wire rather than read as "none" or "the default". */
int jobs_check_opts (zmgr_client_t *self, const zmgr_job_opts_t *o)
{
    if (!o)
        return 0;
    const char *bad = o->timeout_ms < 0        ? "timeout_ms"
                      : o->delay_ms < 0        ? "delay_ms"
                      : o->ttl_ms < 0          ? "ttl_ms"
                      : o->poison_kills < 0    ? "poison_kills"
                      : o->backoff_base_ms < 0 ? "backoff_base_ms"
                      : o->backoff_max_ms < 0  ? "backoff_max_ms"
                      : o->at_ms < 0           ? "at_ms"
                                               : NULL;
    if (o->nafter > 0 && !o->after)
        return client_fail (self, ZMGR_EINVAL, "job option after is NULL with nafter %zu",
                            o->nafter);
    return bad ? client_fail (self, ZMGR_EINVAL, "job option %s must not be negative",
                              bad)
               : 0;
}

int jobs_check_submit (zmgr_client_t *self, const char *function,
                       const zmgr_value_t *args, const zmgr_job_opts_t *opts)
{
    if (!function || !*function)
        return client_fail (self, ZMGR_EINVAL, "no function name");
    if (args && zmgr_value_kind (args) != ZMGR_VAL_ARRAY)
        return client_fail (self, ZMGR_ETYPE, "job arguments must be an array");
    return jobs_check_opts (self, opts);
}

/* ---- requests --------------------------------------------------------------- */

int zmgr_job_submit (zmgr_client_t *self, const char *function, const zmgr_value_t *args,
                     const zmgr_job_opts_t *opts, uint64_t *id)
{
    if (id)
        *id = 0;
    if (!self)
        return ZMGR_EINVAL;
    int rc = jobs_check_submit (self, function, args, opts);
    if (rc)
        return rc;
    bool with_opts = !s_opts_empty (opts);
    proto_buf_t *b = client_begin (self, ZMGR_OP_JOB_SUBMIT, NULL, with_opts ? 3 : 2);
    proto_put_cstr (b, function);
    if (args)
        proto_put_raw (b, args->data, args->len);
    else
        proto_put_array (b, 0);
    if (with_opts)
        jobs_put_opts (b, opts, false, false);
    zmgr_value_t *r;
    rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    if (rc == 0) {
        int64_t v = 0;
        if (zmgr_value_to_int (r, &v) != 0 || v <= 0)
            rc = client_fail (self, ZMGR_EPROTO, "job.submit reply is not a job id");
        else if (id)
            *id = (uint64_t)v;
    }
    zmgr_value_destroy (&r);
    futures_settle (self);
    return rc;
}

int zmgr_job_result (zmgr_client_t *self, uint64_t id, int timeout_ms,
                     zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    if (!self || !id)
        return ZMGR_EINVAL;
    proto_buf_t *b =
        client_begin (self, ZMGR_OP_JOB_RESULT, NULL, timeout_ms < 0 ? 1 : 2);
    proto_put_uint (b, id);
    if (timeout_ms >= 0)
        proto_put_int (b, timeout_ms);
    zmgr_value_t *r;
    int rc = client_finish (self, client_block_wait (self, timeout_ms), &r);
    if (result)
        *result = r;
    else
        zmgr_value_destroy (&r);
    futures_settle (self);
    return rc;
}

/*  [id] requests: job.status and job.cancel. */
static int s_id_request (zmgr_client_t *self, int op, uint64_t id, zmgr_value_t **r)
{
    proto_put_uint (client_begin (self, op, NULL, 1), id);
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, r);
    futures_settle (self);
    return rc;
}

int zmgr_job_status (zmgr_client_t *self, uint64_t id, zmgr_value_t **status)
{
    if (status)
        *status = NULL;
    if (!self || !id)
        return ZMGR_EINVAL;
    zmgr_value_t *r;
    int rc = s_id_request (self, ZMGR_OP_JOB_STATUS, id, &r);
    if (status)
        *status = r;
    else
        zmgr_value_destroy (&r);
    return rc;
}

int zmgr_job_cancel (zmgr_client_t *self, uint64_t id, bool *cancelled)
{
    if (cancelled)
        *cancelled = false;
    if (!self || !id)
        return ZMGR_EINVAL;
    zmgr_value_t *r;
    int rc = s_id_request (self, ZMGR_OP_JOB_CANCEL, id, &r);
    if (rc == 0) {
        bool yes = false;
        if (zmgr_value_to_bool (r, &yes) != 0)
            rc = client_fail (self, ZMGR_EPROTO, "job.cancel reply is not a boolean");
        else if (cancelled)
            *cancelled = yes;
    }
    zmgr_value_destroy (&r);
    return rc;
}

int zmgr_job_retry (zmgr_client_t *self, uint64_t id)
{
    if (!self || !id)
        return ZMGR_EINVAL;
    zmgr_value_t *r;
    int rc = s_id_request (self, ZMGR_OP_JOB_RETRY, id, &r);
    zmgr_value_destroy (&r);
    return rc;
}

/*  Requests without arguments: jobs and workers. */
static int s_plain (zmgr_client_t *self, int op, zmgr_value_t **out)
{
    if (out)
        *out = NULL;
    if (!self)
        return ZMGR_EINVAL;
    client_begin (self, op, NULL, 0);
    zmgr_value_t *r;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    if (out)
        *out = r;
    else
        zmgr_value_destroy (&r);
    futures_settle (self);
    return rc;
}

int zmgr_jobs (zmgr_client_t *self, zmgr_value_t **stats)
{
    return s_plain (self, ZMGR_OP_JOBS, stats);
}

int zmgr_workers (zmgr_client_t *self, zmgr_value_t **workers)
{
    return s_plain (self, ZMGR_OP_WORKERS, workers);
}
