/*  client/src/schedule.c - limits, pause, cron entries and the job listing
 *  Plain requests (PROTOCOL.md section 8b): limit.set, limit.clear,
 *  limit.list, fn.pause, fn.resume, cron.add, cron.remove, cron.list and
 *  job.list. Each call ends by running the future callbacks its wait made
 *  due (futures_settle), as the other job calls do. */
#include "jobs_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*  Sends the request begun on b and hands over the reply. */
static int s_finish (zmgr_client_t *self, zmgr_value_t **out)
{
    zmgr_value_t *r = NULL;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    if (out)
        *out = r;
    else
        zmgr_value_destroy (&r);
    futures_settle (self);
    return rc;
}

/*  The reply as a boolean into *yes (may be NULL). */
static int s_finish_bool (zmgr_client_t *self, const char *op, bool *yes)
{
    zmgr_value_t *r = NULL;
    int rc = s_finish (self, &r);
    bool v = false;
    if (rc == 0 && zmgr_value_to_bool (r, &v) != 0)
        rc = client_fail (self, ZMGR_EPROTO, "%s reply is not a boolean", op);
    if (yes)
        *yes = rc == 0 && v;
    zmgr_value_destroy (&r);
    return rc;
}

static int s_named (zmgr_client_t *self, int op, const char *opname, const char *what,
                    const char *name, bool *yes)
{
    if (yes)
        *yes = false;
    if (!self)
        return ZMGR_EINVAL;
    if (!name || !*name)
        return client_fail (self, ZMGR_EINVAL, "no %s name", what);
    proto_put_cstr (client_begin (self, op, NULL, 1), name);
    return s_finish_bool (self, opname, yes);
}

static int s_plain (zmgr_client_t *self, int op, zmgr_value_t **out)
{
    if (out)
        *out = NULL;
    if (!self)
        return ZMGR_EINVAL;
    client_begin (self, op, NULL, 0);
    return s_finish (self, out);
}

/* ---- limits and pause ---------------------------------------------------------- */

int zmgr_limit_set (zmgr_client_t *self, const char *function, int64_t rate,
                    int64_t period_ms, int64_t concurrency)
{
    if (!self)
        return ZMGR_EINVAL;
    if (!function || !*function)
        return client_fail (self, ZMGR_EINVAL, "no function name");
    if (rate < 0 || concurrency < 0 || (rate > 0 && period_ms <= 0))
        return client_fail (self, ZMGR_EINVAL,
                            "a limit is a rate per period and a "
                            "concurrency, none negative");
    proto_buf_t *b = client_begin (self, ZMGR_OP_LIMIT_SET, NULL, 2);
    proto_put_cstr (b, function);
    proto_put_map (b, rate > 0 ? 3 : 2);
    proto_put_cstr (b, "rate");
    proto_put_int (b, rate);
    if (rate > 0) {
        proto_put_cstr (b, "period_ms");
        proto_put_int (b, period_ms);
    }
    proto_put_cstr (b, "concurrency");
    proto_put_int (b, concurrency);
    return s_finish (self, NULL);
}

int zmgr_limit_backoff (zmgr_client_t *self, const char *function, int64_t base_ms,
                        int64_t max_ms)
{
    if (!self)
        return ZMGR_EINVAL;
    if (!function || !*function)
        return client_fail (self, ZMGR_EINVAL, "no function name");
    if (base_ms < -1 || max_ms < -1 || base_ms > 86400000 || max_ms > 86400000)
        return client_fail (self, ZMGR_EINVAL,
                            "a backoff is from 0 to 86400000 ms, or -1 for the "
                            "broker's setting");
    proto_buf_t *b = client_begin (self, ZMGR_OP_LIMIT_SET, NULL, 2);
    proto_put_cstr (b, function);
    proto_put_map (b, 2);
    proto_put_cstr (b, "backoff_base_ms");
    proto_put_int (b, base_ms);
    proto_put_cstr (b, "backoff_max_ms");
    proto_put_int (b, max_ms);
    return s_finish (self, NULL);
}

int zmgr_limit_clear (zmgr_client_t *self, const char *function, bool *had)
{
    return s_named (self, ZMGR_OP_LIMIT_CLEAR, "limit.clear", "function", function, had);
}

int zmgr_limits (zmgr_client_t *self, zmgr_value_t **limits)
{
    return s_plain (self, ZMGR_OP_LIMIT_LIST, limits);
}

int zmgr_pause (zmgr_client_t *self, const char *function, bool *changed)
{
    return s_named (self, ZMGR_OP_FN_PAUSE, "fn.pause", "function", function, changed);
}

int zmgr_resume (zmgr_client_t *self, const char *function, bool *changed)
{
    return s_named (self, ZMGR_OP_FN_RESUME, "fn.resume", "function", function, changed);
}

/* ---- cron ---------------------------------------------------------------------------
 */

int zmgr_cron_add (zmgr_client_t *self, const char *name, const char *spec,
                   const char *function, const zmgr_value_t *args, const char *tz,
                   int64_t *next_ms)
{
    if (next_ms)
        *next_ms = 0;
    if (!self)
        return ZMGR_EINVAL;
    if (!name || !*name || !spec || !function || !*function)
        return client_fail (self, ZMGR_EINVAL,
                            "a cron entry needs a name, a spec and a "
                            "function");
    if (args && zmgr_value_kind (args) != ZMGR_VAL_ARRAY)
        return client_fail (self, ZMGR_ETYPE, "job arguments must be an array");
    bool with_tz = tz && *tz;
    proto_buf_t *b = client_begin (self, ZMGR_OP_CRON_ADD, NULL, with_tz ? 5 : 4);
    proto_put_cstr (b, name);
    proto_put_cstr (b, spec);
    proto_put_cstr (b, function);
    if (args)
        proto_put_raw (b, args->data, args->len);
    else
        proto_put_array (b, 0);
    if (with_tz) {
        proto_put_map (b, 1);
        proto_put_cstr (b, "tz");
        proto_put_cstr (b, tz);
    }
    zmgr_value_t *r = NULL;
    int rc = s_finish (self, &r);
    size_t len, n;
    proto_slice_t body, k, v;
    const void *packed = rc == 0 ? zmgr_value_packed (r, &len) : NULL;
    if (packed && next_ms &&
        proto_read_map ((proto_slice_t){(const uint8_t *)packed, len}, &n, &body) == 0)
        for (size_t i = 0; i < n; i++) {
            const uint8_t *key;
            size_t klen;
            int64_t at;
            proto_next (&body, &k);
            proto_next (&body, &v);
            if (proto_read_str (k, &key, &klen, false) == 0 && klen == 4 &&
                !memcmp (key, "next", 4) && proto_read_int (v, &at) == 0)
                *next_ms = at;
        }
    zmgr_value_destroy (&r);
    return rc;
}

int zmgr_cron_remove (zmgr_client_t *self, const char *name, bool *removed)
{
    return s_named (self, ZMGR_OP_CRON_REMOVE, "cron.remove", "cron entry", name,
                    removed);
}

int zmgr_cron_list (zmgr_client_t *self, zmgr_value_t **entries)
{
    return s_plain (self, ZMGR_OP_CRON_LIST, entries);
}

/* ---- the job listing ------------------------------------------------------------------
 */

int zmgr_job_list (zmgr_client_t *self, const char *state, const char *function,
                   int limit, uint64_t before, zmgr_value_t **page)
{
    if (page)
        *page = NULL;
    if (!self)
        return ZMGR_EINVAL;
    size_t n = (state && *state) + (function && *function) + (limit > 0) + (before > 0);
    proto_buf_t *b = client_begin (self, ZMGR_OP_JOB_LIST, NULL, 1);
    proto_put_map (b, n);
    if (state && *state) {
        proto_put_cstr (b, "state");
        proto_put_cstr (b, state);
    }
    if (function && *function) {
        proto_put_cstr (b, "function");
        proto_put_cstr (b, function);
    }
    if (limit > 0) {
        proto_put_cstr (b, "limit");
        proto_put_int (b, limit);
    }
    if (before > 0) {
        proto_put_cstr (b, "before");
        proto_put_uint (b, before);
    }
    return s_finish (self, page);
}
