/*  daemon/value.c - named values (Python's Value): get, set, atomic add,
 *  compare-and-set. Also num_add, the numeric addition dict.add shares. */
#include "zmgrd.h"

#include <stdlib.h>

typedef struct {
    blob_t *val;   /* owned; NULL until first set */
} value_t;

void value_create (object_t *obj)
{
    obj->impl = xcalloc (1, sizeof (value_t));
}

void value_destroy (object_t *obj)
{
    value_t *v = obj->impl;
    free (v->val);
    free (v);
}

int num_add (const proto_slice_t *stored, proto_slice_t delta, proto_buf_t *out)
{
    bool sf = false, df;
    int64_t si = 0, di;
    double sd = 0, dd;
    int rc;
    if (stored && (rc = proto_read_number (*stored, &sf, &si, &sd)) != 0)
        return rc == ZMGR_EOVERFLOW ? rc : ZMGR_ETYPE;
    if ((rc = proto_read_number (delta, &df, &di, &dd)) != 0)
        return rc == ZMGR_EOVERFLOW ? rc : ZMGR_ETYPE;
    if (!sf && !df) {
        int64_t sum;
        if (__builtin_add_overflow (si, di, &sum))
            return ZMGR_EOVERFLOW;
        proto_put_int (out, sum);
    } else
        proto_put_double (out, (sf ? sd : (double) si) + (df ? dd : (double) di));
    return 0;
}

int value_cmd_get (cmd_ctx_t *ctx)
{
    value_t *v = ctx->obj->impl;
    if (!v->val)
        return cmd_error (ctx, ZMGR_ENOTFOUND, "value '%s' was never set", ctx->obj->name);
    proto_put_raw (ctx->out, v->val->data, v->val->len);
    return 0;
}

int value_cmd_set (cmd_ctx_t *ctx)
{
    value_t *v = ctx->obj->impl;
    free (v->val);
    v->val = blob_from_slice (ctx->req->args[0]);
    proto_put_nil (ctx->out);
    return 0;
}

int value_cmd_add (cmd_ctx_t *ctx)
{
    value_t *v = ctx->obj->impl;
    proto_slice_t cur;
    if (v->val)
        cur = blob_slice (v->val);
    size_t mark = ctx->out->len;
    int rc = num_add (v->val ? &cur : NULL, ctx->req->args[0], ctx->out);
    if (rc)
        return cmd_error (ctx, rc, rc == ZMGR_EOVERFLOW ? "integer overflow"
                                                        : "add needs numbers (int or float)");
    free (v->val);
    v->val = blob_new (ctx->out->data + mark, ctx->out->len - mark);
    return 0;
}

/*  args: expected, desired[, expect_absent]. Reply [swapped, current]. */
int value_cmd_cas (cmd_ctx_t *ctx)
{
    value_t *v = ctx->obj->impl;
    bool absent = false;
    if (ctx->req->nargs >= 3 && proto_read_bool (ctx->req->args[2], &absent) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "expect_absent must be a boolean");
    bool match = absent ? v->val == NULL
                        : v->val && slice_eq (blob_slice (v->val), ctx->req->args[0]);
    if (match) {
        free (v->val);
        v->val = blob_from_slice (ctx->req->args[1]);
    }
    proto_put_array (ctx->out, 2);
    proto_put_bool (ctx->out, match);
    if (v->val)
        proto_put_raw (ctx->out, v->val->data, v->val->len);
    else
        proto_put_nil (ctx->out);
    return 0;
}
