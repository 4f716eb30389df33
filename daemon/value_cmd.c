/*  daemon/value_cmd.c - the command half of values: get, set, atomic
 *  add, compare-and-set. Every change is recorded as the value stored. */
#include "cmd.h"
#include "effect.h"
#include "types.h"

static void s_set (const object_t *obj, value_t *v, proto_slice_t val)
{
    value_set (v, val);
    proto_buf_t *b = store_effect_obj (EFF_VALUE_SET, obj, 1);
    if (b) {
        proto_put_raw (b, val.ptr, val.len);
        store_effect_end ();
    }
}

int value_cmd_get (cmd_ctx_t *ctx)
{
    proto_slice_t v;
    if (!value_get (ctx->obj->impl, &v))
        return cmd_error (ctx, ZMGR_ENOTFOUND, "value '%s' was never set", ctx->obj->name);
    proto_put_raw (ctx->out, v.ptr, v.len);
    return 0;
}

int value_cmd_set (cmd_ctx_t *ctx)
{
    s_set (ctx->obj, ctx->obj->impl, ctx->req->args[0]);
    proto_put_nil (ctx->out);
    return 0;
}

int value_cmd_add (cmd_ctx_t *ctx)
{
    value_t *v = ctx->obj->impl;
    proto_slice_t cur;
    bool had = value_get (v, &cur);
    size_t mark = ctx->out->len;
    int rc = num_add (had ? &cur : NULL, ctx->req->args[0], ctx->out);
    if (rc)
        return cmd_error (ctx, rc, rc == ZMGR_EOVERFLOW ? "integer overflow"
                                                        : "add needs numbers (int or float)");
    s_set (ctx->obj, v, (proto_slice_t) { ctx->out->data + mark, ctx->out->len - mark });
    return 0;
}

/*  args: expected, desired[, expect_absent]. Reply [swapped, current]. */
int value_cmd_cas (cmd_ctx_t *ctx)
{
    value_t *v = ctx->obj->impl;
    bool absent = false;
    if (ctx->req->nargs >= 3 && proto_read_bool (ctx->req->args[2], &absent) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "expect_absent must be a boolean");
    proto_slice_t cur;
    bool had = value_get (v, &cur);
    bool match = absent ? !had : had && slice_eq (cur, ctx->req->args[0]);
    if (match)
        s_set (ctx->obj, v, ctx->req->args[1]);
    proto_put_array (ctx->out, 2);
    proto_put_bool (ctx->out, match);
    if (value_get (v, &cur))
        proto_put_raw (ctx->out, cur.ptr, cur.len);
    else
        proto_put_nil (ctx->out);
    return 0;
}
