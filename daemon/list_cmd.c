/*  daemon/list_cmd.c - the command half of lists (Python's list)
 *  Negative indexes count from the end, slices clamp like Python's,
 *  remove/index/count compare values by their canonical msgpack encoding
 *  (commands.c re-packs arguments into it). Every change is recorded as
 *  an effect with the resolved index, so replay needs no Python rules. */
#include "cmd.h"
#include "config.h"
#include "effect.h"
#include "types.h"

#include <string.h>

static int s_room (cmd_ctx_t *ctx, list_t *l, size_t more)
{
    if (list_len (l) + more > g_cfg.max_items || more > g_cfg.max_items)
        return cmd_error (ctx, ZMGR_ELIMIT, "list '%s' would exceed %zu items",
                          ctx->obj->name, g_cfg.max_items);
    return 0;
}

/*  Reads argument i as an index into a list of len items; Python's
 *  negative indexes. ZMGR_EINDEX when out of range. */
static int s_index (cmd_ctx_t *ctx, size_t i, size_t len, size_t *out)
{
    int64_t idx;
    if (proto_read_int (ctx->req->args[i], &idx) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "index must be an integer");
    if (idx < 0)
        idx += (int64_t) len;
    if (idx < 0 || (uint64_t) idx >= len) {
        char shown[CMD_SHOW_MAX];
        return cmd_error (ctx, ZMGR_EINDEX, "list index %s out of range: list '%s' has %zu items",
                          cmd_show (ctx->req->args[i], shown, sizeof shown), ctx->obj->name, len);
    }
    *out = (size_t) idx;
    return 0;
}

/*  Python's clamping of a slice bound (or an insert position). */
static size_t s_clamp (int64_t v, size_t len)
{
    if (v < 0) {
        v += (int64_t) len;
        if (v < 0)
            v = 0;
    }
    if ((uint64_t) v > len)
        v = (int64_t) len;
    return (size_t) v;
}

static int s_bound (cmd_ctx_t *ctx, size_t i, size_t len, size_t dflt, size_t *out)
{
    int64_t v;
    if (i >= ctx->req->nargs || proto_is_nil (ctx->req->args[i])) {
        *out = dflt;
        return 0;
    }
    if (proto_read_int (ctx->req->args[i], &v) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "slice bounds must be integers or nil");
    *out = s_clamp (v, len);
    return 0;
}

/*  Records [kind, name, index, value] (value may be NULL). */
static void s_record (int kind, const object_t *obj, size_t at, const proto_slice_t *v)
{
    proto_buf_t *b = store_effect_obj (kind, obj, v ? 2 : 1);
    if (!b)
        return;
    proto_put_uint (b, at);
    if (v)
        proto_put_raw (b, v->ptr, v->len);
    store_effect_end ();
}

int list_cmd_append (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    int rc = s_room (ctx, l, 1);
    if (rc)
        return rc;
    size_t at = list_len (l);
    list_insert (l, at, ctx->req->args[0]);
    s_record (EFF_LIST_INSERT, ctx->obj, at, &ctx->req->args[0]);
    proto_put_uint (ctx->out, list_len (l));
    return 0;
}

int list_cmd_extend (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t n;
    proto_slice_t body;
    if (proto_read_array (ctx->req->args[0], &n, &body) != 0)
        return cmd_error (ctx, ZMGR_ETYPE, "extend takes an array");
    int rc = s_room (ctx, l, n);
    if (rc)
        return rc;
    list_extend (l, body, n);
    proto_buf_t *b = store_effect_obj (EFF_LIST_EXTEND, ctx->obj, 1);
    if (b) {
        proto_put_raw (b, ctx->req->args[0].ptr, ctx->req->args[0].len);
        store_effect_end ();
    }
    proto_put_uint (ctx->out, list_len (l));
    return 0;
}

int list_cmd_insert (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    int64_t v;
    if (proto_read_int (ctx->req->args[0], &v) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "index must be an integer");
    int rc = s_room (ctx, l, 1);
    if (rc)
        return rc;
    size_t at = s_clamp (v, list_len (l));
    list_insert (l, at, ctx->req->args[1]);
    s_record (EFF_LIST_INSERT, ctx->obj, at, &ctx->req->args[1]);
    proto_put_uint (ctx->out, list_len (l));
    return 0;
}

int list_cmd_get (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t at = 0;
    int rc = s_index (ctx, 0, list_len (l), &at);
    if (rc)
        return rc;
    proto_slice_t v = list_at (l, at);
    proto_put_raw (ctx->out, v.ptr, v.len);
    return 0;
}

int list_cmd_set (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t at = 0;
    int rc = s_index (ctx, 0, list_len (l), &at);
    if (rc)
        return rc;
    list_set (l, at, ctx->req->args[1]);
    s_record (EFF_LIST_SET, ctx->obj, at, &ctx->req->args[1]);
    proto_put_nil (ctx->out);
    return 0;
}

/*  Removes item at, recorded; with reply, the item is the reply. */
static void s_take (cmd_ctx_t *ctx, list_t *l, size_t at, bool reply)
{
    if (reply) {
        proto_slice_t v = list_at (l, at);
        proto_put_raw (ctx->out, v.ptr, v.len);
    }
    list_take (l, at);
    s_record (EFF_LIST_TAKE, ctx->obj, at, NULL);
}

int list_cmd_pop (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t at = 0;
    if (list_len (l) == 0)
        return cmd_error (ctx, ZMGR_EINDEX, "pop from empty list '%s'", ctx->obj->name);
    if (ctx->req->nargs == 0 || proto_is_nil (ctx->req->args[0]))
        at = list_len (l) - 1;
    else {
        int rc = s_index (ctx, 0, list_len (l), &at);
        if (rc)
            return rc;
    }
    s_take (ctx, l, at, true);
    return 0;
}

/*  ValueError of remove and index, naming the item and the list. */
static int s_not_in (cmd_ctx_t *ctx, const char *op)
{
    char shown[CMD_SHOW_MAX];
    return cmd_error (ctx, ZMGR_EVALUE, "list.%s(x): %s not in list '%s'", op,
                      cmd_show (ctx->req->args[0], shown, sizeof shown), ctx->obj->name);
}

int list_cmd_remove (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    int64_t at = list_find (l, ctx->req->args[0], 0, list_len (l));
    if (at < 0)
        return s_not_in (ctx, "remove");
    s_take (ctx, l, (size_t) at, false);
    proto_put_nil (ctx->out);
    return 0;
}

int list_cmd_index (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t from = 0, to = 0;
    int rc = s_bound (ctx, 1, list_len (l), 0, &from);
    if (rc || (rc = s_bound (ctx, 2, list_len (l), list_len (l), &to)))
        return rc;
    int64_t at = list_find (l, ctx->req->args[0], from, to);
    if (at < 0)
        return s_not_in (ctx, "index");
    proto_put_int (ctx->out, at);
    return 0;
}

int list_cmd_count (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    uint64_t n = 0;
    for (size_t i = 0; i < list_len (l); i++)
        n += slice_eq (list_at (l, i), ctx->req->args[0]);
    proto_put_uint (ctx->out, n);
    return 0;
}

int list_cmd_len (cmd_ctx_t *ctx)
{
    proto_put_uint (ctx->out, list_len (ctx->obj->impl));
    return 0;
}

int list_cmd_slice (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t from = 0, to = 0;
    int rc = s_bound (ctx, 0, list_len (l), 0, &from);
    if (rc || (rc = s_bound (ctx, 1, list_len (l), list_len (l), &to)))
        return rc;
    if (to < from)
        to = from;
    size_t bytes = 0;
    for (size_t i = from; i < to; i++)
        bytes += list_at (l, i).len;
    if (bytes > g_cfg.max_msg * 64)
        return cmd_error (ctx, ZMGR_ETOOBIG, "slice of %zu bytes is over the limit of %zu "
                          "(64 x max_msg) for one reply; ask for less",
                          bytes, g_cfg.max_msg * 64);
    proto_put_array (ctx->out, to - from);
    for (size_t i = from; i < to; i++) {
        proto_slice_t v = list_at (l, i);
        proto_put_raw (ctx->out, v.ptr, v.len);
    }
    return 0;
}

int list_cmd_clear (cmd_ctx_t *ctx)
{
    list_clear (ctx->obj->impl);
    proto_buf_t *b = store_effect_obj (EFF_CLEAR, ctx->obj, 0);
    if (b)
        store_effect_end ();
    proto_put_nil (ctx->out);
    return 0;
}
